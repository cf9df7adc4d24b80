/* ddb_thread.c — the loop-thread driver (docs/DESIGN.md "nginx", option A).
 *
 * The pool runs unchanged on a private uv_loop_t in a thread of its own. Other threads
 * talk to it through an inbox (mutex + uv_async_t): submit, cancel, and "call"
 * messages that run a function on the loop thread and wait for it. Completed tasks go
 * to a mutex-protected queue and an eventfd becomes readable, so an nginx worker (or
 * any poll loop) can wait for completions without a thread of its own.
 *
 * Tasks are created (validated and serialized) on the submitting thread, so the loop
 * thread only links them in. The bounded-queue check happens here, at submission,
 * against `admitted` = tasks in the inbox + tasks queued in the pool. */
#include "ddb_pool.h"

#include <uv.h>

#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define ERR(...) do { if (err && errlen) snprintf(err, errlen, __VA_ARGS__); } while (0)

enum { MSG_SUBMIT, MSG_CANCEL, MSG_CALL, MSG_SHUTDOWN };

typedef struct call_req {
    void (*fn)(ddb_pool *p, void *arg);
    void *arg;
    int done;
} call_req;

typedef struct thread_msg {
    int kind;
    ddb_task *task;
    call_req *call;
    struct thread_msg *next;
} thread_msg;

struct ddb_pool_thread {
    uv_loop_t loop;
    uv_async_t wake;
    uv_thread_t thread;
    ddb_pool *pool;
    ddb_pool_config cfg;            /* the caller's values (queue_limit, timeouts) */

    uv_mutex_t mu;
    uv_cond_t changed;              /* completions, queue space, calls, open state */
    thread_msg *in_head, *in_tail;
    ddb_task **done;                /* FIFO of completed tasks (references) */
    size_t done_head, done_len, done_cap;
    int efd;
    int64_t admitted;
    int64_t next_auto_id;           /* ids are given here, before the handle escapes */
    int open_finished;
    int shutting, loop_exited, joined;
    int wake_closed;                /* no more messages can be delivered */
};

/* ------------------------------------------------------------------ loop thread */

static void push_completion(ddb_pool *p, ddb_task *t, void *task_ud, void *ud)
{
    ddb_pool_thread *tp = ud;
    uv_mutex_lock(&tp->mu);
    if (tp->done_len == tp->done_cap) {
        size_t cap = tp->done_cap ? tp->done_cap * 2 : 256;
        ddb_task **d = malloc(cap * sizeof *d);
        if (!d) {
            /* Cannot queue it: the completion is lost to pollers, but the task handle
             * the submitter holds still shows the terminal state. */
            uv_mutex_unlock(&tp->mu);
            return;
        }
        for (size_t i = 0; i < tp->done_len; i++)
            d[i] = tp->done[(tp->done_head + i) % tp->done_cap];
        free(tp->done);
        tp->done = d;
        tp->done_cap = cap;
        tp->done_head = 0;
    }
    tp->done[(tp->done_head + tp->done_len) % tp->done_cap] = ddb_task_ref(t);
    if (tp->done_len++ == 0) {
        uint64_t one = 1;
        ssize_t rc = write(tp->efd, &one, sizeof one);
        (void)rc;               /* EAGAIN only when the counter is already huge */
    }
    uv_cond_broadcast(&tp->changed);
    uv_mutex_unlock(&tp->mu);
}

static void on_dequeue(ddb_pool *p, void *ud)
{
    ddb_pool_thread *tp = ud;
    uv_mutex_lock(&tp->mu);
    tp->admitted--;
    uv_cond_broadcast(&tp->changed);
    uv_mutex_unlock(&tp->mu);
}

static void handle_submit(ddb_pool_thread *tp, ddb_task *t)
{
    char err[300];
    int rc = ddb_pool_enqueue(tp->pool, t, err, sizeof err);
    if (rc != DDB_OK) {
        /* Accepted by submit but the pool is closing: it still completes once. */
        on_dequeue(tp->pool, tp);
        ddb_task_ref(t);        /* the pool's active reference, dropped at delivery */
        ddb_task_set_error(t, NULL, "%s", err);
        ddb_pool_complete(tp->pool, t, rc == DDB_ESHUTDOWN ? DDB_TASK_ABANDONED
                                                           : DDB_TASK_FAILED);
    }
    ddb_task_unref(t);          /* the inbox's reference */
}

static void wake_cb(uv_async_t *h)
{
    ddb_pool_thread *tp = h->data;
    uv_mutex_lock(&tp->mu);
    thread_msg *m = tp->in_head;
    tp->in_head = tp->in_tail = NULL;
    uv_mutex_unlock(&tp->mu);
    while (m) {
        thread_msg *next = m->next;
        switch (m->kind) {
        case MSG_SUBMIT:
            handle_submit(tp, m->task);
            break;
        case MSG_CANCEL:
            ddb_task_cancel(tp->pool, m->task);
            ddb_task_unref(m->task);
            break;
        case MSG_CALL:
            m->call->fn(tp->pool, m->call->arg);
            uv_mutex_lock(&tp->mu);
            m->call->done = 1;
            uv_cond_broadcast(&tp->changed);
            uv_mutex_unlock(&tp->mu);
            break;
        case MSG_SHUTDOWN:
            ddb_pool_shutdown(tp->pool);
            break;
        }
        free(m);
        m = next;
    }
}

static void open_finished(ddb_pool_thread *tp)
{
    uv_mutex_lock(&tp->mu);
    tp->open_finished = 1;
    uv_cond_broadcast(&tp->changed);
    uv_mutex_unlock(&tp->mu);
}

/* The pool's state hook (on the loop thread): wake the starter once the open settled;
 * once the pool's last handle closed, close ours so uv_run returns and the thread
 * ends. */
static void pool_state_changed(ddb_pool *p, int state, void *ud)
{
    ddb_pool_thread *tp = ud;
    (void)p;
    if (state != DDB_POOL_CLOSED) {
        if (state != DDB_POOL_OPENING)
            open_finished(tp);
        return;
    }
    uv_mutex_lock(&tp->mu);
    tp->wake_closed = 1;
    uv_mutex_unlock(&tp->mu);
    uv_close((uv_handle_t *)&tp->wake, NULL);
}

static void thread_main(void *arg)
{
    ddb_pool_thread *tp = arg;
    /* Every socket write happens on this thread: with SIGPIPE blocked here a reset
     * connection fails the write with EPIPE even if the application later restores
     * the default action (the signal stays pending on this thread, harmlessly). */
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    uv_run(&tp->loop, UV_RUN_DEFAULT);
    uv_mutex_lock(&tp->mu);
    tp->loop_exited = 1;
    tp->open_finished = 1;
    uv_cond_broadcast(&tp->changed);
    uv_mutex_unlock(&tp->mu);
}

/* ------------------------------------------------------------------ callers */

static int post(ddb_pool_thread *tp, thread_msg *m)
{
    /* caller holds tp->mu; after wake_closed the message stays unrun and is freed by
     * ddb_pool_thread_free */
    m->next = NULL;
    if (tp->in_tail)
        tp->in_tail->next = m;
    else
        tp->in_head = m;
    tp->in_tail = m;
    return tp->wake_closed ? -1 : uv_async_send(&tp->wake);
}

static void free_thread(ddb_pool_thread *tp)
{
    uv_mutex_destroy(&tp->mu);
    uv_cond_destroy(&tp->changed);
    if (tp->efd >= 0)
        close(tp->efd);
    free(tp->done);
    free(tp);
}

ddb_pool_thread *ddb_pool_thread_start(const ddb_pool_config *cfg, char *err,
                                       size_t errlen)
{
    if (!cfg) {
        ERR("config is NULL");
        return NULL;
    }
    if (cfg->on_complete || cfg->on_block) {
        ERR("on_complete and on_block must be NULL for the loop-thread driver (poll the queue)");
        return NULL;
    }
    ddb_pool_thread *tp = calloc(1, sizeof *tp);
    if (!tp) {
        ERR("out of memory");
        return NULL;
    }
    tp->cfg = *cfg;
    tp->next_auto_id = -1;
    tp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (tp->efd < 0 || uv_mutex_init(&tp->mu) || uv_cond_init(&tp->changed)) {
        ERR("cannot create the completion eventfd or locks: %s", strerror(errno));
        if (tp->efd >= 0)
            close(tp->efd);
        free(tp);
        return NULL;
    }
    if (uv_loop_init(&tp->loop)) {
        ERR("cannot create the libuv loop");
        free_thread(tp);
        return NULL;
    }
    ddb_pool_config pc = *cfg;
    pc.queue_limit = 0;             /* enforced at submission, see `admitted` */
    pc.on_complete = push_completion;
    pc.cb_ud = tp;
    tp->pool = ddb_pool_new(&tp->loop, &pc, err, errlen);
    if (!tp->pool) {
        uv_run(&tp->loop, UV_RUN_DEFAULT);     /* nothing is open; close cleanly */
        uv_loop_close(&tp->loop);
        free_thread(tp);
        return NULL;
    }
    tp->pool->on_dequeue = on_dequeue;
    tp->pool->hook_ud = tp;
    ddb_pool_on_state(tp->pool, pool_state_changed, tp);
    uv_async_init(&tp->loop, &tp->wake, wake_cb);
    tp->wake.data = tp;
    if (ddb_pool_state(tp->pool) != DDB_POOL_OPENING)
        tp->open_finished = 1;      /* failed inside ddb_pool_new: no hook call came */
    if (uv_thread_create(&tp->thread, thread_main, tp)) {
        ERR("cannot start the loop thread");
        ddb_pool_shutdown(tp->pool);
        uv_run(&tp->loop, UV_RUN_DEFAULT);
        ddb_pool_free(tp->pool);
        uv_loop_close(&tp->loop);
        free_thread(tp);
        return NULL;
    }
    uv_mutex_lock(&tp->mu);
    while (!tp->open_finished)
        uv_cond_wait(&tp->changed, &tp->mu);
    uv_mutex_unlock(&tp->mu);
    /* The pool state is stable to read here: FAILED/OPEN are only left by shutdown,
     * which only this API triggers. */
    if (ddb_pool_state(tp->pool) != DDB_POOL_OPEN) {
        ERR("%s", ddb_pool_error(tp->pool)[0] ? ddb_pool_error(tp->pool)
                                              : "the pool failed to open");
        ddb_pool_thread_free(tp);
        return NULL;
    }
    return tp;
}

int ddb_pool_thread_fd(const ddb_pool_thread *tp)
{
    return tp->efd;
}

static int wait_for_space(ddb_pool_thread *tp, const ddb_task_spec *spec)
{
    /* caller holds tp->mu */
    int64_t limit = tp->cfg.queue_limit;
    if (!limit || tp->admitted < limit)
        return DDB_OK;
    if (spec->on_full != DDB_FULL_WAIT)
        return DDB_EFULL;
    uint64_t deadline = spec->full_wait > 0 ?
                        uv_hrtime() + (uint64_t)(spec->full_wait * 1e9) : 0;
    while (tp->admitted >= limit && !tp->shutting) {
        if (!deadline) {
            uv_cond_wait(&tp->changed, &tp->mu);
            continue;
        }
        uint64_t now = uv_hrtime();
        if (now >= deadline || uv_cond_timedwait(&tp->changed, &tp->mu, deadline - now))
            return tp->admitted >= limit ? DDB_ETIMEDOUT : DDB_OK;
    }
    return tp->shutting ? DDB_ESHUTDOWN : DDB_OK;
}

int ddb_pool_thread_submit(ddb_pool_thread *tp, const ddb_task_spec *spec,
                           ddb_task **out, char *err, size_t errlen)
{
    int code;
    if (out)
        *out = NULL;
    if (spec && spec->fetch_size) {
        ERR("fetchSize needs the inline pool (blocks are handed over on the loop thread)");
        return DDB_EINVAL;
    }
    ddb_task *t = ddb_task_create(spec, tp->cfg.task_timeout, tp->cfg.compress, &code,
                                  err, errlen);
    if (!t)
        return code;
    thread_msg *m = calloc(1, sizeof *m);
    if (!m) {
        ddb_task_unref(t);
        ERR("out of memory");
        return DDB_ENOMEM;
    }
    uv_mutex_lock(&tp->mu);
    code = tp->shutting ? DDB_ESHUTDOWN : wait_for_space(tp, spec);
    if (code == DDB_OK) {
        tp->admitted++;
        if (!t->has_user_id) {
            t->id = tp->next_auto_id--;
            t->id_assigned = 1;
        }
        m->kind = MSG_SUBMIT;
        m->task = ddb_task_ref(t);
        post(tp, m);
    }
    uv_mutex_unlock(&tp->mu);
    if (code != DDB_OK) {
        free(m);
        ddb_task_unref(t);
        if (code == DDB_EFULL)
            ERR("queue is full (%d tasks waiting)", tp->cfg.queue_limit);
        else if (code == DDB_ETIMEDOUT)
            ERR("queue stayed full for %.3g s", spec->full_wait);
        else
            ERR("pool is shut down");
        return code;
    }
    if (out)
        *out = t;
    else
        ddb_task_unref(t);
    return DDB_OK;
}

int ddb_pool_thread_poll(ddb_pool_thread *tp, ddb_task **out, int max)
{
    int n = 0;
    uv_mutex_lock(&tp->mu);
    while (n < max && tp->done_len > 0) {
        out[n++] = tp->done[tp->done_head];
        tp->done_head = (tp->done_head + 1) % tp->done_cap;
        tp->done_len--;
    }
    if (tp->done_len == 0) {
        uint64_t v;
        ssize_t rc = read(tp->efd, &v, sizeof v);  /* drain: fd readable again on push */
        (void)rc;
    }
    uv_mutex_unlock(&tp->mu);
    return n;
}

int ddb_pool_thread_wait(ddb_pool_thread *tp, double timeout)
{
    uint64_t deadline = timeout >= 0 ? uv_hrtime() + (uint64_t)(timeout * 1e9) : 0;
    uv_mutex_lock(&tp->mu);
    while (tp->done_len == 0 && !(tp->loop_exited && tp->in_head == NULL)) {
        if (timeout < 0) {
            uv_cond_wait(&tp->changed, &tp->mu);
            continue;
        }
        uint64_t now = uv_hrtime();
        if (now >= deadline || uv_cond_timedwait(&tp->changed, &tp->mu, deadline - now))
            break;
    }
    int ready = tp->done_len > 0;
    uv_mutex_unlock(&tp->mu);
    return ready;
}

int ddb_pool_thread_cancel(ddb_pool_thread *tp, ddb_task *t)
{
    if (ddb_task_state_is_terminal(ddb_task_state(t)))
        return DDB_ESTATE;
    thread_msg *m = calloc(1, sizeof *m);
    if (!m)
        return DDB_ENOMEM;
    m->kind = MSG_CANCEL;
    m->task = ddb_task_ref(t);
    uv_mutex_lock(&tp->mu);
    int code = tp->wake_closed ? DDB_ESHUTDOWN : DDB_OK;
    if (code == DDB_OK)
        post(tp, m);
    uv_mutex_unlock(&tp->mu);
    if (code != DDB_OK) {
        ddb_task_unref(t);
        free(m);
    }
    return code;
}

/* Run fn on the loop thread and wait; after the loop has exited, run it here (the
 * pool is no longer touched by anyone else then). */
static void call_on_loop(ddb_pool_thread *tp, void (*fn)(ddb_pool *, void *), void *arg)
{
    call_req req = { fn, arg, 0 };
    thread_msg *m = calloc(1, sizeof *m);
    uv_mutex_lock(&tp->mu);
    if (tp->wake_closed || !m) {
        while (tp->wake_closed && !tp->loop_exited)
            uv_cond_wait(&tp->changed, &tp->mu);
        uv_mutex_unlock(&tp->mu);
        free(m);
        fn(tp->pool, arg);
        return;
    }
    m->kind = MSG_CALL;
    m->call = &req;
    post(tp, m);
    while (!req.done)
        uv_cond_wait(&tp->changed, &tp->mu);
    uv_mutex_unlock(&tp->mu);
}

typedef struct find_arg { int64_t id; ddb_task *found; int rc; } find_arg;

static void do_find(ddb_pool *p, void *a)
{
    find_arg *f = a;
    f->found = ddb_pool_find(p, f->id);
}

static void do_forget(ddb_pool *p, void *a)
{
    find_arg *f = a;
    f->rc = ddb_pool_forget(p, f->id);
}

static void do_stats(ddb_pool *p, void *a)
{
    ddb_pool_get_stats(p, a);
}

typedef struct sid_arg { int i; char *buf; size_t len; } sid_arg;

static void do_session_id(ddb_pool *p, void *a)
{
    sid_arg *s = a;
    snprintf(s->buf, s->len, "%s", ddb_pool_session_id(p, s->i));
}

ddb_task *ddb_pool_thread_find(ddb_pool_thread *tp, int64_t user_id)
{
    find_arg f = { user_id, NULL, 0 };
    call_on_loop(tp, do_find, &f);
    return f.found;
}

int ddb_pool_thread_forget(ddb_pool_thread *tp, int64_t user_id)
{
    find_arg f = { user_id, NULL, 0 };
    call_on_loop(tp, do_forget, &f);
    return f.rc;
}

void ddb_pool_thread_stats(ddb_pool_thread *tp, ddb_pool_stats *out)
{
    call_on_loop(tp, do_stats, out);
}

void ddb_pool_thread_session_id(ddb_pool_thread *tp, int i, char *buf, size_t len)
{
    sid_arg s = { i, buf, len };
    if (len)
        buf[0] = 0;
    call_on_loop(tp, do_session_id, &s);
}

void ddb_pool_thread_shutdown(ddb_pool_thread *tp)
{
    if (!tp)
        return;
    uv_mutex_lock(&tp->mu);
    if (!tp->shutting) {
        tp->shutting = 1;
        thread_msg *m = calloc(1, sizeof *m);
        if (m) {
            m->kind = MSG_SHUTDOWN;
            post(tp, m);
        }
        uv_cond_broadcast(&tp->changed);       /* wake submitters waiting for space */
    }
    int join = !tp->joined;
    tp->joined = 1;
    uv_mutex_unlock(&tp->mu);
    if (join)
        uv_thread_join(&tp->thread);
}

void ddb_pool_thread_free(ddb_pool_thread *tp)
{
    if (!tp)
        return;
    ddb_pool_thread_shutdown(tp);
    /* Messages posted after the loop exited were never run: release them. */
    for (thread_msg *m = tp->in_head, *nx; m; m = nx) {
        nx = m->next;
        ddb_task_unref(m->task);
        free(m);
    }
    ddb_pool_free(tp->pool);
    uv_loop_close(&tp->loop);
    for (size_t i = 0; i < tp->done_len; i++)
        ddb_task_unref(tp->done[(tp->done_head + i) % tp->done_cap]);
    free_thread(tp);
}
