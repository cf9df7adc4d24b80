/* ddb_pool_faults.c — how tasks fail: a running task whose connection was lost (HA
 * sends it again) or timed out, a connection that gave up for good (DEAD) or whose
 * server is not trusted, queued tasks past their deadline. Every message a failure
 * gives the caller goes through ddb_pool_fail, which takes the password out. None of
 * this is on a task's usual path (ddb_pool.c). */
#include "ddb_pool.h"
#include "ddb_pin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ failing a task */

void ddb_pool_redact(const ddb_pool *p, const char *in, char *out, size_t cap)
{
    const char *pw = p->password;
    size_t n = pw ? strlen(pw) : 0, k = 0;
    if (cap == 0)
        return;
    while (*in && k + 1 < cap) {
        if (n && strncmp(in, pw, n) == 0) {
            for (const char *r = "***"; *r && k + 1 < cap; r++)
                out[k++] = *r;
            in += n;
        } else {
            out[k++] = *in++;
        }
    }
    out[k] = 0;
}

/* A copy of s without the password (NULL for NULL; s itself when there is no
 * password or it is absent, else malloc'd into *tmp). */
static const char *redacted(const ddb_pool *p, const char *s, char **tmp)
{
    *tmp = NULL;
    if (!s || !p->password || !p->password[0] || !strstr(s, p->password))
        return s;
    size_t cap = strlen(s) + 1;             /* "***" is never longer than 3 bytes of
                                               the password it replaces... */
    if (strlen(p->password) < 3)
        cap = cap * 3;                      /* ...unless the password is shorter */
    *tmp = malloc(cap);
    if (!*tmp)
        return "(message withheld: it quoted the password)";
    ddb_pool_redact(p, s, *tmp, cap);
    return *tmp;
}

void ddb_pool_fail(ddb_pool *p, ddb_task *t, int state, const char *server_error,
                   const char *what)
{
    char *a, *b;
    const char *serr = redacted(p, server_error, &a), *w = redacted(p, what, &b);
    ddb_task_set_error(t, serr, "%s", w ? w : "");   /* (every caller gives a what) */
    free(a);
    free(b);
    ddb_pool_complete(p, t, state);
}

void ddb_pool_fail_queued(ddb_pool *p, int state, const char *what)
{
    while (p->qhead)
        ddb_pool_fail(p, p->qhead, state, NULL, what);
}

/* ------------------------------------------------------------------ from connections */

void ddb_pool_task_lost(ddb_pool *p, ddb_conn *c, ddb_task *t, const char *why)
{
    p->nrunning--;
    /* (not a fetchSize task that handed blocks over: a resend would repeat them) */
    if (p->cfg.high_availability && !ddb_pool_is_stopping(p) && t->resends < p->nsites + 1 &&
        t->blocks_in == 0 && !(p->pins && ddb_pin_holds(p, c->index))) {
        /* HA: resend on the next READY connection; the negated seqNo lets the server
         * recognise a request it already executed (docs/PROTOCOL.md §2.6). */
        t->resends++;
        ddb_pool_log(p, DDB_LOG_INFO, "task %lld: its connection was lost; sent again "
                     "(resend %d)", (long long)t->id, t->resends);
        ddb_pool_requeue(p, t);
        ddb_pool_dispatch(p);
        return;
    }
    char what[400];
    snprintf(what, sizeof what, "connection lost while running: %s", why);
    ddb_pool_fail(p, t, ddb_pool_is_stopping(p) ? DDB_TASK_ABANDONED : DDB_TASK_FAILED, NULL,
                  what);
    if (ddb_pool_is_stopping(p) && p->nrunning == 0)
        ddb_pool_close_all(p);
    ddb_pool_dispatch(p);
}

void ddb_pool_task_timed_out(ddb_pool *p, ddb_conn *c, ddb_task *t)
{
    p->nrunning--;
    char what[200];
    snprintf(what, sizeof what, "timed out after %.3g s (connection %.100s:%d recycled)",
             t->timeout, c->host, c->port);
    ddb_pool_log(p, DDB_LOG_WARN, "task %lld %s", (long long)t->id, what);
    ddb_pool_fail(p, t, DDB_TASK_FAILED, NULL, what);
}

void ddb_pool_conn_dead(ddb_pool *p, ddb_conn *c)
{
    if (p->state == DDB_POOL_OPENING && !c->open_counted) {
        snprintf(p->error, sizeof p->error, "cannot open the pool: %.480s", c->last_error);
        ddb_pool_log(p, DDB_LOG_ERROR, "%s", p->error);
        ddb_pool_set_state(p, DDB_POOL_FAILED);
        ddb_pool_fail_queued(p, DDB_TASK_FAILED, p->error);
        ddb_pool_start_shutdown(p);
        return;
    }
    if (p->deferred)
        ddb_pool_start_deferred(p);     /* connection 0 gave up before the cluster's
                                           nodes were known: the others try now */
    if (!ddb_pool_any_conn_alive(p)) {
        /* Nothing can run the queue: fail it now rather than let it hang. */
        char what[600];
        snprintf(what, sizeof what, "no live connection (last error: %.500s)", c->last_error);
        if (p->qhead)
            ddb_pool_log(p, DDB_LOG_ERROR, "%lld queued task(s) failed: %s",
                         (long long)p->nqueued, what);
        ddb_pool_fail_queued(p, DDB_TASK_FAILED, what);
    }
}

/* Every connection is DEAD or failed the server's certificate check last time: no
 * task can run until someone fixes a certificate or the configuration, so fail the
 * queue with the reason instead of letting it wait (the connections keep retrying; a
 * server that is just down still makes tasks wait, as documented). With one site a
 * connection trying again meets the same certificate; with several (HA) it counts
 * only while it backs off, as its next try may reach another server. */
void ddb_pool_conn_untrusted(ddb_pool *p, ddb_conn *c)
{
    for (int i = 0; i < p->nconns; i++) {
        const ddb_conn *o = p->conns[i];
        int refused = o->untrusted && (p->nsites == 1 || o->state == DDB_CONN_BACKOFF);
        if (o->state != DDB_CONN_DEAD && !refused)
            return;
    }
    char what[620];
    snprintf(what, sizeof what, "no trusted connection (%.500s; the pool keeps trying)",
             c->last_error);
    ddb_pool_fail_queued(p, DDB_TASK_FAILED, what);
}

/* ------------------------------------------------------------------ queued deadlines */

/* Why no connection is up (a connection's last error), or NULL when one is: a task
 * that timed out in the queue says what kept it there (server down, TLS refused). */
static const char *queue_blocker(const ddb_pool *p)
{
    const char *why = NULL;
    for (int i = 0; i < p->nconns; i++) {
        const ddb_conn *c = p->conns[i];
        if (c->state == DDB_CONN_READY || c->state == DDB_CONN_BUSY)
            return NULL;
        if (!why && c->last_error[0])
            why = c->last_error;
    }
    return why;
}

void ddb_pool_sweep_cb(void *arg)
{
    ddb_pool *p = arg;
    uint64_t now = ddb_pool_now_ms(p), next = 0;
    p->sweep_at = 0;
    for (ddb_task *t = p->qhead, *nx; t; t = nx) {
        nx = t->qnext;
        if (!t->deadline_ms)
            continue;
        if (t->deadline_ms <= now) {
            char what[600];
            const char *why = queue_blocker(p);
            snprintf(what, sizeof what, "timed out after %.3g s while queued%s%.500s%s",
                     t->timeout, why ? " (no connection is up: " : "", why ? why : "",
                     why ? ")" : "");
            ddb_pool_fail(p, t, DDB_TASK_FAILED, NULL, what);
        } else if (!next || t->deadline_ms < next) {
            next = t->deadline_ms;
        }
    }
    if (next)
        ddb_pool_arm_sweep(p, next);
}

void ddb_pool_arm_sweep(ddb_pool *p, uint64_t at)
{
    if (p->torn_down || (p->sweep_at && p->sweep_at <= at))
        return;
    uint64_t now = ddb_pool_now_ms(p);
    p->sweep_at = at;
    p->host->timer_start(p->sweep, at > now ? at - now : 0);
}
