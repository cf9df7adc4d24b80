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
    if (s->fetch_size != 0 && s->fetch_size < DDB_MIN_FETCH_SIZE) {
        /* the official clients' floor; the server refuses smaller ones too */
        ERR("fetchSize must be 0 (off) or at least %d rows, got %d", DDB_MIN_FETCH_SIZE,
            s->fetch_size);
        return -1;
    }
    if (s->fetch_size != 0 && s->kind == DDB_KIND_UPLOAD) {
        ERR("fetchSize applies to scripts and function calls, not uploads");
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

/* A task is one allocation: the record, then the request body, then the task's text
 * (script or function name). ddb_task_body and ddb_task_text find both in the block;
 * they are never freed on their own (the body is not a growable buffer once built).
 * A script's block is sized exactly and written at once; a call's or an upload's is
 * built in a ddb_buf so the encoder can append arguments of any size to it. Only then
 * is the record at its start filled in (appending may move the block). */

/* Start of the body: right after the record, which keeps the alignment malloc gave. */
#define BODY_AT sizeof(ddb_task)

/* A script's block, sized exactly: the record, then "script\n<text>" (what
 * ddb_body_script writes; the text came from strlen, so it holds no NUL to refuse)
 * and a NUL, so the text is read in place (ddb_task_text). *size: the body's. */
static char *script_block(const char *text, size_t text_len, size_t *size)
{
    static const char cmd[] = "script\n";
    if (text_len > SIZE_MAX / 4 - BODY_AT)
        return NULL;
    char *p = malloc(BODY_AT + sizeof cmd + text_len);      /* sizeof cmd: + the NUL */
    if (!p)
        return NULL;
    memcpy(p + BODY_AT, cmd, sizeof cmd - 1);
    memcpy(p + BODY_AT + sizeof cmd - 1, text, text_len);
    p[BODY_AT + sizeof cmd - 1 + text_len] = '\0';
    *size = sizeof cmd - 1 + text_len;
    return p;
}

/* A call's or an upload's block starts with a guess (the arguments' bytes are known
 * only once encoded; the buffer grows geometrically past it): name, count and a few
 * bytes per argument, capped so that a wrong argument count cannot ask for a huge
 * block before encoding says so. */
static int block_start(ddb_buf *block, const ddb_task_spec *s, size_t text_len)
{
    if (text_len > SIZE_MAX / 4 - BODY_AT)
        return -1;
    size_t per_args = s->nargs > 128 ? 128 * 32 : (size_t)s->nargs * 32;
    for (int i = 0; i < s->nargs && i < 128; i++)      /* big arguments: their size */
        per_args += ddb_encode_size_hint(s->args[i]);
    if (per_args > SIZE_MAX / 4)
        return -1;
    size_t guess = 2 * text_len + 64 + per_args;
    ddb_buf_init(block);
    block->p = malloc(BODY_AT + guess);
    if (!block->p)
        return -1;
    block->cap = BODY_AT + guess;
    block->len = BODY_AT;
    return 0;
}

static int build_body(ddb_buf *block, const ddb_task_spec *s, size_t *body_len, char *err,
                      size_t errlen)
{
    if (s->kind == DDB_KIND_FUNCTION)
        return ddb_body_function(block, s->text, s->args, s->nargs, body_len, err, errlen);
    return ddb_body_upload(block, s->names, s->args, s->nargs, body_len, err, errlen);
}

/* Give back what the guess over-allocated, as the shrink-to-fit of the separate
 * body buffer did: a queue of 100 000 tasks should not keep their slack. */
static void block_fit(ddb_buf *block)
{
    if (block->cap <= block->len + 32)
        return;
    char *fit = realloc(block->p, block->len);
    if (fit) {
        block->p = fit;
        block->cap = block->len;
    }
}

static void task_init(ddb_task *t, const ddb_task_spec *s, double default_timeout,
                      int compress)
{
    memset(t, 0, sizeof *t);
    atomic_init(&t->refcount, 1);
    atomic_init(&t->state, DDB_TASK_QUEUED);
    t->kind = s->kind;
    t->has_user_id = s->has_id;
    t->id = s->id;
    t->ud = s->ud;
    t->conn_index = -1;
    /* the behavior fields, narrowed (check_options bounded each one) */
    ddb_behavior b;
    ddb_behavior_default(&b);
    if (s->clear_memory != 0)          /* default: clear (see dolphindb.h) */
        b.flag |= DDB_FLAG_CLEAR_MEMORY;
    if (compress)
        b.flag |= DDB_FLAG_COMPRESS;
    if (s->priority >= 0)
        b.priority = s->priority;
    if (s->parallelism >= 0)
        b.parallelism = s->parallelism;
    t->flag = (uint8_t)b.flag;
    t->priority = (int8_t)b.priority;
    t->parallelism = (int8_t)b.parallelism;
    t->fetch_size = s->fetch_size;
    t->timeout = s->timeout > 0 ? s->timeout : s->timeout < 0 ? 0 : default_timeout;
    t->max_result_bytes = s->max_result_bytes;
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
    size_t text_len = strlen(s->text), body_len = 0, body_size = 0;
    char *p;
    if (s->kind == DDB_KIND_SCRIPT) {
        p = script_block(s->text, text_len, &body_size);
        body_len = body_size;
    } else {
        ddb_buf block;
        if (block_start(&block, s, text_len)) {
            p = NULL;
        } else if (build_body(&block, s, &body_len, err, errlen)) {
            *code = block.oom ? DDB_ENOMEM : DDB_EINVAL;
            ddb_buf_free(&block);
            return NULL;
        } else {
            body_size = block.len - BODY_AT;
            /* the text after the body, NUL-terminated (ddb_task_text) */
            if (ddb_buf_put(&block, s->text, text_len + 1))
                ddb_buf_free(&block);
            else
                block_fit(&block);
            p = block.p;
        }
    }
    if (!p) {
        *code = DDB_ENOMEM;
        ERR("out of memory creating a task");
        return NULL;
    }
    ddb_task *t = (ddb_task *)(void *)p;
    task_init(t, s, default_timeout, compress);
    t->body_size = body_size;
    t->body_len = body_len;
    *code = DDB_OK;
    return t;
}

ddb_task *ddb_task_ref(ddb_task *t)
{
    if (t)
        atomic_fetch_add_explicit(&t->refcount, 1, memory_order_relaxed);
    return t;
}

static void free_msgs(char **msgs, int n)
{
    for (int i = 0; i < n; i++)
        free(msgs[i]);
    free(msgs);
}

void ddb_task_unref(ddb_task *t)
{
    if (!t || atomic_fetch_sub_explicit(&t->refcount, 1, memory_order_acq_rel) != 1)
        return;
    ddb_obj_unref(t->result);       /* text and body live in t's own block */
    if (t->block)
        ddb_obj_unref(t->block);
    if (t->out) {
        free(t->out->error);
        free(t->out->server_error);
        free_msgs(t->out->msgs, t->out->nmsgs);
        free(t->out);
    }
    free(t);
}

/* The extension, allocated on first use; NULL when out of memory. */
static struct ddb_task_out *task_out(ddb_task *t)
{
    if (!t->out)
        t->out = calloc(1, sizeof *t->out);
    return t->out;
}

void ddb_task_set_msgs(ddb_task *t, char **msgs, int n)
{
    if (!msgs && !t->out)
        return;                     /* nothing before, nothing now: no allocation */
    struct ddb_task_out *o = task_out(t);
    if (!o) {
        free_msgs(msgs, n);         /* out of memory: the lines are lost, not leaked */
        return;
    }
    free_msgs(o->msgs, o->nmsgs);
    o->msgs = msgs;
    o->nmsgs = msgs ? n : 0;
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
    const char *text = ddb_task_text(t);
    size_t n = strlen(text);
    size_t k = n > 200 ? 200 : n;
    for (size_t i = 0; i < k; i++)
        script[i] = text[i] == '\n' || text[i] == '\r' ? ' ' : text[i];
    strcpy(script + k, n > 200 ? "..." : "");
    size_t len = strlen(what) + strlen(script) + 64;
    struct ddb_task_out *o = task_out(t);
    if (!o)
        return;                     /* out of memory: the task fails without its text */
    free(o->error);
    o->error = malloc(len);
    if (o->error)
        snprintf(o->error, len, "task %lld: %s (%s: %s)", (long long)t->id, what,
                 t->kind == DDB_KIND_SCRIPT ? "script" : t->kind == DDB_KIND_FUNCTION ?
                 "function" : "upload", script);
    free(o->server_error);
    o->server_error = server_error ? strdup(server_error) : NULL;
}

int ddb_task_state(const ddb_task *t)
{
    return atomic_load_explicit(&((ddb_task *)t)->state, memory_order_acquire);
}

int64_t ddb_task_id(const ddb_task *t) { return t->id; }
int ddb_task_has_user_id(const ddb_task *t) { return t->has_user_id; }
void *ddb_task_ud(const ddb_task *t) { return t->ud; }
/* The text follows the body; a script's body ends with the script itself
 * ("script\n<text>", append_text), so there it points into the body. */
const char *ddb_task_text(const ddb_task *t)
{
    static const char cmd[] = "script\n";
    const char *body = ddb_task_body(t);
    return t->kind == DDB_KIND_SCRIPT ? body + sizeof cmd - 1 : body + t->body_size;
}
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
    return ddb_task_state_is_terminal(st) && st != DDB_TASK_DONE && t->out ? t->out->error : NULL;
}

const char *ddb_task_server_error(const ddb_task *t)
{
    return ddb_task_error(t) ? t->out->server_error : NULL;
}

int ddb_task_msg_count(const ddb_task *t)
{
    return ddb_task_state_is_terminal(ddb_task_state(t)) && t->out ? t->out->nmsgs : 0;
}

const char *ddb_task_msg(const ddb_task *t, int i)
{
    return i >= 0 && i < ddb_task_msg_count(t) ? t->out->msgs[i] : NULL;
}

double ddb_task_elapsed(const ddb_task *t)
{
    if (!ddb_task_state_is_terminal(ddb_task_state(t)))
        return 0;
    return (double)(t->end_ms - t->submit_ms) / 1000.0;
}
