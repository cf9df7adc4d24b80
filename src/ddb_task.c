/* ddb_task.c — task records: creation from a spec, accessors, refcounting. */
#include "ddb_task.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR(...) do { if (err && errlen) snprintf(err, errlen, __VA_ARGS__); } while (0)

const char *ddb_task_state_name(int state)
{
    static const char *names[] = { "QUEUED", "RUNNING", "DONE", "FAILED", "CANCELLED",
                                   "ABANDONED" };
    return state >= 0 && state <= DDB_TASK_ABANDONED ? names[state] : "UNKNOWN";
}

int ddb_task_state_is_terminal(int state)
{
    return state >= DDB_TASK_DONE && state <= DDB_TASK_ABANDONED;
}

void ddb_task_spec_init(ddb_task_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    spec->kind = DDB_KIND_SCRIPT;
    spec->text = "";
    spec->clear_memory = -1;
    spec->priority = -1;
    spec->parallelism = -1;
    spec->on_full = DDB_FULL_FAIL;
}

static int check_options(const ddb_task_spec *s, char *err, size_t errlen)
{
    if (s->kind < DDB_KIND_SCRIPT || s->kind > DDB_KIND_UPLOAD) {
        ERR("invalid task kind %d", s->kind);
        return -1;
    }
    if (!s->text) {
        ERR("task text (script or function name) is NULL");
        return -1;
    }
    if (s->has_id && s->id < 0) {
        ERR("invalid task id %lld: user ids must be >= 0", (long long)s->id);
        return -1;
    }
    if (s->clear_memory < -1 || s->clear_memory > 1) {
        ERR("clearMemory must be true or false");
        return -1;
    }
    if (s->priority != -1 && (s->priority < 0 || s->priority > 8)) {
        ERR("priority %d out of range 0..8", s->priority);
        return -1;
    }
    if (s->parallelism != -1 && (s->parallelism < 1 || s->parallelism > 64)) {
        ERR("parallelism %d out of range 1..64", s->parallelism);
        return -1;
    }
    if (s->fetch_size != 0) {
        ERR("fetchSize is not supported by this pool (block-wise results would pin a "
            "connection); use 0");
        return -1;
    }
    if (!(s->timeout <= DDB_MAX_SECONDS) || !(s->full_wait <= DDB_MAX_SECONDS)) {
        ERR("timeout must be a number of seconds <= %g", DDB_MAX_SECONDS);
        return -1;
    }
    if (s->max_result_bytes < 0) {
        ERR("max_result_bytes must be >= 0 (0: the pool's)");
        return -1;
    }
    if (s->nargs < 0 || (s->nargs > 0 && !s->args)) {
        ERR("invalid argument count %d", s->nargs);
        return -1;
    }
    if (s->kind == DDB_KIND_SCRIPT && s->nargs) {
        ERR("a script task takes no arguments (use a function task)");
        return -1;
    }
    return 0;
}

static int build_body(ddb_task *t, const ddb_task_spec *s, char *err, size_t errlen)
{
    switch (s->kind) {
    case DDB_KIND_SCRIPT:
        return ddb_body_script(&t->body, s->text, strlen(s->text), &t->body_len, err,
                               errlen);
    case DDB_KIND_FUNCTION:
        return ddb_body_function(&t->body, s->text, s->args, s->nargs, &t->body_len, err,
                                 errlen);
    default:
        return ddb_body_upload(&t->body, s->names, s->args, s->nargs, &t->body_len, err,
                               errlen);
    }
}

ddb_task *ddb_task_create(const ddb_task_spec *s, double default_timeout, int compress,
                          int *code, char *err, size_t errlen)
{
    *code = DDB_EINVAL;
    if (!s) {
        ERR("task spec is NULL");
        return NULL;
    }
    if (check_options(s, err, errlen))
        return NULL;
    ddb_task *t = calloc(1, sizeof *t);
    if (!t || !(t->text = strdup(s->text))) {
        free(t);
        *code = DDB_ENOMEM;
        ERR("out of memory creating a task");
        return NULL;
    }
    atomic_init(&t->refcount, 1);
    atomic_init(&t->state, DDB_TASK_QUEUED);
    t->kind = s->kind;
    t->has_user_id = s->has_id;
    t->id = s->id;
    t->ud = s->ud;
    t->conn_index = -1;
    ddb_buf_init(&t->body);
    ddb_behavior_default(&t->behavior);
    if (s->clear_memory != 0)          /* default: clear (see dolphindb.h) */
        t->behavior.flag |= DDB_FLAG_CLEAR_MEMORY;
    if (compress)
        t->behavior.flag |= DDB_FLAG_COMPRESS;
    if (s->priority >= 0)
        t->behavior.priority = s->priority;
    if (s->parallelism >= 0)
        t->behavior.parallelism = s->parallelism;
    t->timeout = s->timeout > 0 ? s->timeout : s->timeout < 0 ? 0 : default_timeout;
    t->max_result_bytes = s->max_result_bytes;
    if (build_body(t, s, err, errlen)) {
        *code = t->body.oom ? DDB_ENOMEM : DDB_EINVAL;
        ddb_task_unref(t);
        return NULL;
    }
    /* Shrink to fit: a queue of 100 000 short scripts should not keep 100 000
     * mostly empty 256-byte buffers. */
    if (t->body.cap > t->body.len + 32) {
        char *fit = realloc(t->body.p, t->body.len ? t->body.len : 1);
        if (fit) {
            t->body.p = fit;
            t->body.cap = t->body.len ? t->body.len : 1;
        }
    }
    *code = DDB_OK;
    return t;
}

ddb_task *ddb_task_ref(ddb_task *t)
{
    if (t)
        atomic_fetch_add_explicit(&t->refcount, 1, memory_order_relaxed);
    return t;
}

void ddb_task_unref(ddb_task *t)
{
    if (!t || atomic_fetch_sub_explicit(&t->refcount, 1, memory_order_acq_rel) != 1)
        return;
    free(t->text);
    ddb_buf_free(&t->body);
    ddb_obj_unref(t->result);
    free(t->error);
    free(t->server_error);
    for (int i = 0; i < t->nmsgs; i++)
        free(t->msgs[i]);
    free(t->msgs);
    free(t);
}

void ddb_task_set_error(ddb_task *t, const char *server_error, const char *fmt, ...)
{
    char what[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    /* One line: the script is shortened and its line feeds shown as spaces. */
    char script[204];
    size_t n = strlen(t->text);
    size_t k = n > 200 ? 200 : n;
    for (size_t i = 0; i < k; i++)
        script[i] = t->text[i] == '\n' || t->text[i] == '\r' ? ' ' : t->text[i];
    strcpy(script + k, n > 200 ? "..." : "");
    size_t len = strlen(what) + strlen(script) + 64;
    free(t->error);
    t->error = malloc(len);
    if (t->error)
        snprintf(t->error, len, "task %lld: %s (%s: %s)", (long long)t->id, what,
                 t->kind == DDB_KIND_SCRIPT ? "script" : t->kind == DDB_KIND_FUNCTION ?
                 "function" : "upload", script);
    free(t->server_error);
    t->server_error = server_error ? strdup(server_error) : NULL;
}

void ddb_task_finish(ddb_task *t, int state, uint64_t now_ms)
{
    t->end_ms = now_ms;
    if (state != DDB_TASK_DONE && !t->error)
        ddb_task_set_error(t, NULL, "%s", ddb_task_state_name(state));
    atomic_store_explicit(&t->state, state, memory_order_release);
}

int ddb_task_state(const ddb_task *t)
{
    return atomic_load_explicit(&((ddb_task *)t)->state, memory_order_acquire);
}

int64_t ddb_task_id(const ddb_task *t) { return t->id; }
int ddb_task_has_user_id(const ddb_task *t) { return t->has_user_id; }
void *ddb_task_ud(const ddb_task *t) { return t->ud; }
const char *ddb_task_text(const ddb_task *t) { return t->text; }
int ddb_task_conn_index(const ddb_task *t) { return t->conn_index; }

ddb_obj *ddb_task_result(const ddb_task *t)
{
    return ddb_task_state(t) == DDB_TASK_DONE ? t->result : NULL;
}

ddb_obj *ddb_task_take_result(ddb_task *t)
{
    if (ddb_task_state(t) != DDB_TASK_DONE)
        return NULL;
    ddb_obj *o = t->result;
    t->result = NULL;
    return o;
}

const char *ddb_task_error(const ddb_task *t)
{
    int st = ddb_task_state(t);
    return ddb_task_state_is_terminal(st) && st != DDB_TASK_DONE ? t->error : NULL;
}

const char *ddb_task_server_error(const ddb_task *t)
{
    return ddb_task_error(t) ? t->server_error : NULL;
}

int ddb_task_msg_count(const ddb_task *t)
{
    return ddb_task_state_is_terminal(ddb_task_state(t)) ? t->nmsgs : 0;
}

const char *ddb_task_msg(const ddb_task *t, int i)
{
    return i >= 0 && i < ddb_task_msg_count(t) ? t->msgs[i] : NULL;
}

double ddb_task_elapsed(const ddb_task *t)
{
    if (!ddb_task_state_is_terminal(ddb_task_state(t)))
        return 0;
    return (double)(t->end_ms - t->submit_ms) / 1000.0;
}
