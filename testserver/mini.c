/* mini.c — process-wide state: users, console jobs, the HA retry cache. */
#include "mini.h"
#include "values.h"
#include "ddb_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

mini_state g_mini;

int64_t mini_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mini_state_init(void)
{
    memset(&g_mini, 0, sizeof g_mini);
    pthread_mutex_init(&g_mini.lock, NULL);
    g_mini.compress_method = 1;     /* DDB_COMPRESS_LZ4 */
    g_mini.next_job_id = 1;
    snprintf(g_mini.controller_alias, sizeof g_mini.controller_alias, "controller");
    mini_add_user("admin:123456", 1);
}

void mini_state_free(void)
{
    for (int i = 0; i < MINI_HA_CACHE; i++) {
        free(g_mini.ha[i].result);
        free(g_mini.ha[i].error);
    }
    memset(g_mini.ha, 0, sizeof g_mini.ha);
}

int mini_add_user(const char *spec, int admin)
{
    const char *colon = strchr(spec, ':');
    if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof g_mini.users[0].name ||
        strlen(colon + 1) >= sizeof g_mini.users[0].password)
        return -1;
    pthread_mutex_lock(&g_mini.lock);
    int rc = -1;
    mini_user *u = NULL;
    for (int i = 0; i < g_mini.nusers; i++)
        if (!strncmp(g_mini.users[i].name, spec, (size_t)(colon - spec)) &&
            g_mini.users[i].name[colon - spec] == 0)
            u = &g_mini.users[i];
    if (!u && g_mini.nusers < MINI_MAX_USERS)
        u = &g_mini.users[g_mini.nusers++];
    if (u) {
        snprintf(u->name, sizeof u->name, "%.*s", (int)(colon - spec), spec);
        snprintf(u->password, sizeof u->password, "%s", colon + 1);
        u->admin = admin || !strcmp(u->name, "admin");
        rc = 0;
    }
    pthread_mutex_unlock(&g_mini.lock);
    return rc;
}

int mini_check_login(const char *user, const char *password, int *admin)
{
    int ok = 0;
    pthread_mutex_lock(&g_mini.lock);
    for (int i = 0; !g_mini.faults.reject_login && i < g_mini.nusers; i++)
        if (!strcmp(g_mini.users[i].name, user) && !strcmp(g_mini.users[i].password, password)) {
            ok = 1;
            *admin = g_mini.users[i].admin;
        }
    pthread_mutex_unlock(&g_mini.lock);
    return ok;
}

/* ---- jobs ---- */

/* What snprintf(dst, size, "%s", src) does, without its cost on every request. */
static void copy_text(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = 0;
}

mini_job *jobs_start(int64_t session_id, const char *user, const char *desc, int priority,
                     int parallelism)
{
    mini_job *job = NULL;
    pthread_mutex_lock(&g_mini.lock);
    for (int i = 0; i < MINI_MAX_JOBS && !job; i++)
        if (!g_mini.jobs[i].used)
            job = &g_mini.jobs[i];
    if (job) {
        memset(job, 0, sizeof *job);
        job->used = 1;
        job->session_id = session_id;
        job->job_id = g_mini.next_job_id++;
        job->receive_ms = mini_now_ms();
        job->priority = priority;
        job->parallelism = parallelism;
        /* a request still queued for the pool at SIGTERM (its thread not yet
         * started, e.g. the pool's first use) must not sleep on after it */
        job->cancelled = g_mini.stopping;
        copy_text(job->user, sizeof job->user, user);
        copy_text(job->desc, sizeof job->desc, desc);
        for (char *p = job->desc; *p; p++)
            if (*p == '\n')
                *p = ' ';
    }
    pthread_mutex_unlock(&g_mini.lock);
    return job;
}

void jobs_cancel_all(void)
{
    pthread_mutex_lock(&g_mini.lock);
    g_mini.stopping = 1;
    for (int i = 0; i < MINI_MAX_JOBS; i++)
        if (g_mini.jobs[i].used)
            g_mini.jobs[i].cancelled = 1;
    pthread_mutex_unlock(&g_mini.lock);
}

void jobs_finish(mini_job *job)
{
    if (!job)
        return;
    pthread_mutex_lock(&g_mini.lock);
    job->used = 0;
    pthread_mutex_unlock(&g_mini.lock);
}

/* ---- HA retry cache ---- */

int ha_lookup(const char *client_id, int64_t seq, ddb_obj **result, char **error)
{
    int found = 0;
    char *bytes = NULL;
    size_t len = 0;
    *result = NULL;
    *error = NULL;
    pthread_mutex_lock(&g_mini.lock);
    for (int i = 0; i < MINI_HA_CACHE && !found; i++) {
        mini_ha_entry *e = &g_mini.ha[i];
        if (e->used && !strcmp(e->client_id, client_id) && e->seq_no == -seq) {
            found = 1;
            *error = e->error ? strdup(e->error) : NULL;
            if (e->result && (bytes = malloc(e->result_len))) {
                memcpy(bytes, e->result, e->result_len);
                len = e->result_len;
            }
        }
    }
    pthread_mutex_unlock(&g_mini.lock);
    if (bytes) {
        char err[256];
        *result = ddb_decode(bytes, len, 1, NULL, NULL, err, sizeof err);
        free(bytes);
    }
    return found;
}

void ha_store(const char *client_id, int64_t seq, const ddb_obj *result, const char *error)
{
    ddb_buf enc;
    ddb_buf_init(&enc);
    /* sized before encoding: a tuple repeating a big vector would otherwise be
     * encoded in full (gigabytes) only to find it is not cacheable */
    int64_t size = result ? obj_expanded_bytes(result, MINI_HA_MAX_RESULT) : 0;
    if (size < 0 || size > MINI_HA_MAX_RESULT)
        return;                 /* too big or too deep: never cached */
    if (result) {
        ddb_encoder e;
        ddb_encoder_init(&e);
        char err[256];
        if (ddb_encode(&e, &enc, result, err, sizeof err) || enc.len > MINI_HA_MAX_RESULT) {
            ddb_buf_free(&enc);
            return;             /* not cacheable: a retry will simply run again */
        }
    }
    pthread_mutex_lock(&g_mini.lock);
    mini_ha_entry *slot = NULL;
    for (int i = 0; i < MINI_HA_CACHE && !slot; i++)     /* this client's entry */
        if (g_mini.ha[i].used && !strcmp(g_mini.ha[i].client_id, client_id))
            slot = &g_mini.ha[i];
    for (int i = 0; i < MINI_HA_CACHE && !slot; i++)     /* a free one */
        if (!g_mini.ha[i].used)
            slot = &g_mini.ha[i];
    if (!slot) {                                         /* else the least recent */
        slot = &g_mini.ha[0];
        for (int i = 1; i < MINI_HA_CACHE; i++)
            if (g_mini.ha[i].touched < slot->touched)
                slot = &g_mini.ha[i];
    }
    free(slot->result);
    free(slot->error);
    snprintf(slot->client_id, sizeof slot->client_id, "%s", client_id);
    slot->seq_no = seq;
    slot->result = result ? enc.p : NULL;
    slot->result_len = result ? enc.len : 0;
    if (!result)
        ddb_buf_free(&enc);
    slot->error = error ? strdup(error) : NULL;
    slot->used = 1;
    slot->touched = ++g_mini.ha_clock;
    pthread_mutex_unlock(&g_mini.lock);
}
