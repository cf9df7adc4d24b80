/* ddb_pool.c — the pool's core: the FIFO queue, dispatch to READY connections,
 * completions and their delivery, what a connection reports when it is READY or a
 * task is answered, submit and cancel: everything on a task's usual path, kept in one
 * file so that the compiler inlines it (src/core.cmake: -fno-semantic-interposition).
 * Inline driver (the caller's uv_loop_t); ddb_thread.c runs the same pool on a loop
 * thread. The rest of the pool, file by file: ddb_pool_new.c (create, free),
 * ddb_pool_shutdown.c, ddb_pool_faults.c (tasks that fail: connection lost, timeouts,
 * no live or trusted connection; messages without the password), ddb_pool_ids.c
 * (user task ids), ddb_pool_info.c, ddb_ha.c, ddb_cluster.c, ddb_fetch.c, ddb_pin.c.
 *
 * Reference counting: the pool holds one reference on every task from enqueue until
 * its completion callback has run, plus one while the task is in the user-id table.
 * Completions are queued and delivered at the end of the read callback that completed
 * them (flush) or else from the host's pump (ddb_host.h: a uv_idle with libuv), so
 * the callback never runs inside a ddb_* call, only inside the loop. */
#include "ddb_pool.h"
#include "ddb_pin.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR(...) do { if (err && errlen) snprintf(err, errlen, __VA_ARGS__); } while (0)

int ddb_pool_is_stopping(const ddb_pool *p)
{
    return p->state >= DDB_POOL_FAILED;
}

static uint64_t connect_timeout_ms(const ddb_pool *p)
{
    return (uint64_t)(p->cfg.connect_timeout * 1000.0) + 1;
}

static uint64_t backoff_ms(const ddb_pool *p, int attempt)
{
    double d = p->cfg.reconnect_delay * pow(2.0, attempt > 1 ? attempt - 1 : 0);
    return (uint64_t)((d < 2.0 ? d : 2.0) * 1000.0);
}

int64_t ddb_pool_queue_limit(const ddb_pool *p)
{
    return p->cfg.queue_limit;
}

/* Attempts one connection may make before it is DEAD: per round every site once. */
int ddb_pool_attempt_budget(const ddb_pool *p, int opening)
{
    int rounds = p->cfg.try_reconnect_nums;
    if ((opening && !p->cfg.open_lazily) || !p->cfg.reconnect)
        rounds = rounds > 0 ? rounds : 1;       /* the open never retries forever */
    return rounds > 0 ? rounds * p->nsites : 0;
}

/* ------------------------------------------------------------------ queue */

static void queue_push(ddb_pool *p, ddb_task *t, int at_head)
{
    t->qprev = t->qnext = NULL;
    if (at_head) {
        t->qnext = p->qhead;
        if (p->qhead)
            p->qhead->qprev = t;
        else
            p->qtail = t;
        p->qhead = t;
    } else {
        t->qprev = p->qtail;
        if (p->qtail)
            p->qtail->qnext = t;
        else
            p->qhead = t;
        p->qtail = t;
    }
    t->in_queue = 1;
    p->nqueued++;
}

static void queue_remove(ddb_pool *p, ddb_task *t)
{
    if (!t->in_queue)
        return;
    if (t->qprev)
        t->qprev->qnext = t->qnext;
    else
        p->qhead = t->qnext;
    if (t->qnext)
        t->qnext->qprev = t->qprev;
    else
        p->qtail = t->qprev;
    t->qprev = t->qnext = NULL;
    t->in_queue = 0;
    p->nqueued--;
    if (p->on_dequeue && !t->left_queue)
        p->on_dequeue(p, p->hook_ud);
    t->left_queue = 1;
}

/* ------------------------------------------------------------------ completion */

/* The pump's host handle, started and stopped only when that changes something: with
 * 8 connections each read completes one task, and a start and a stop per task were
 * ~5 % of the pool's instructions. */
static void pump_start(ddb_pool *p)
{
    if (!p->pump_on) {
        p->pump_on = 1;
        p->host->pump_start(p->pump);
    }
}

static void pump_stop(ddb_pool *p)
{
    if (p->pump_on) {
        p->pump_on = 0;
        p->host->pump_stop(p->pump);
    }
}

void ddb_pool_complete(ddb_pool *p, ddb_task *t, int state)
{
    if (ddb_task_is_over(t))
        return;                 /* never twice: exactly one terminal state */
    queue_remove(p, t);
    switch (state) {
    case DDB_TASK_DONE: p->ndone++; break;
    case DDB_TASK_FAILED: p->nfailed++; break;
    case DDB_TASK_CANCELLED: p->ncancelled++; break;
    default: p->nabandoned++; break;
    }
    ddb_task_finish(t, state, ddb_pool_now_ms(p));
    t->dnext = NULL;
    if (p->dtail)
        p->dtail->dnext = t;
    else
        p->dhead = t;
    p->dtail = t;
    if (!p->torn_down && !p->in_read)   /* in a read, its read_done delivers */
        pump_start(p);
}

static void deliver(ddb_pool *p)
{
    while (p->dhead) {
        ddb_task *t = p->dhead;
        p->dhead = t->dnext;
        if (!p->dhead)
            p->dtail = NULL;
        t->dnext = NULL;
        if (p->cfg.on_complete && !p->freed)
            p->cfg.on_complete(p, t, t->ud, p->cfg.cb_ud);
        ddb_task_unref(t);      /* the pool's "active" reference */
    }
}

/* Called by a connection at the end of its read callback, which never runs inside a
 * ddb_* call: hand over what that read completed now rather than from the pump on the
 * next iteration. Then the pump (an active idle handle makes the loop poll with a zero
 * timeout, one extra epoll_wait per task) stops unless something else needs it. */
static void flush(ddb_pool *p)
{
    p->in_read = 0;
    if (!p->dhead)
        return;
    deliver(p);
    if (!p->dhead && !p->resume_pending && !ddb_pool_is_stopping(p))
        pump_stop(p);
}

static void resume_later(ddb_pool *p)
{
    p->resume_pending = 1;
    if (!p->torn_down)
        pump_start(p);
}

void ddb_pool_resume_later(ddb_pool *p)
{
    resume_later(p);
}

/* (for ddb_pool_shutdown.c and ddb_pool_new.c: here these stay static, so that the
 * path every task takes inlines them) */
void ddb_pool_pump_start(ddb_pool *p) { pump_start(p); }
void ddb_pool_deliver(ddb_pool *p) { deliver(p); }

void ddb_pool_pump_cb(void *arg)
{
    ddb_pool *p = arg;
    if (p->resume_pending) {
        p->resume_pending = 0;
        for (int i = 0; i < p->nconns; i++)
            ddb_conn_resume(p->conns[i]);
    }
    deliver(p);
    pump_stop(p);
    if (ddb_pool_is_stopping(p))
        ddb_pool_maybe_teardown(p);
}

/* ------------------------------------------------------------------ dispatch */

/* One pass over the connections from index `from` on (wrapping around), each READY
 * one taking the queue's head: giving a task makes no connection READY (a failed send
 * reconnects), so one pass is enough. It stops as soon as no connection is READY
 * (p->nready): with every connection busy and tasks queued, the one that just
 * answered, passed as `from`, is the only one, and the scan ends there. */
#ifndef NDEBUG
/* Debug builds (the sanitizer runs) check the count ddb_conn.c keeps at every use. */
static int ready_count_ok(const ddb_pool *p)
{
    int n = 0;
    for (int i = 0; i < p->nconns; i++)
        n += p->conns[i]->state == DDB_CONN_READY;
    return n == p->nready;
}
#endif

static void dispatch_from(ddb_pool *p, int from)
{
    if (p->dispatching || p->state > DDB_POOL_OPEN)
        return;                 /* a synchronous send failure re-enters: the loop goes on */
    assert(ready_count_ok(p));
    p->dispatching = 1;
    for (int i = 0, k = from; i < p->nconns && p->qhead && p->nready > 0; i++) {
        ddb_conn *c = p->conns[k];
        k = k + 1 < p->nconns ? k + 1 : 0;
        if (c->state != DDB_CONN_READY || (p->pins && ddb_pin_holds(p, c->index)))
            continue;           /* (a pinned connection runs only its pin's tasks) */
        ddb_task *t = p->qhead;
        queue_remove(p, t);
        atomic_store(&t->state, DDB_TASK_RUNNING);
        p->nrunning++;
        ddb_conn_run(c, t, t->deadline_ms ? ddb_pool_now_ms(p) : 0);  /* (only a deadline
                                                                         reads it) */
    }
    p->dispatching = 0;
}

static void dispatch(ddb_pool *p)
{
    dispatch_from(p, 0);
}

void ddb_pool_dispatch(ddb_pool *p) { dispatch(p); }

/* t goes back to the head of the queue (resent: HA); the caller dispatches. */
void ddb_pool_requeue(ddb_pool *p, ddb_task *t)
{
    atomic_store(&t->state, DDB_TASK_QUEUED);
    queue_push(p, t, 1);
}

void ddb_pool_run_on(ddb_pool *p, ddb_conn *c, ddb_task *t)
{
    p->host->update_time(p->host_ud);
    t->id = p->next_auto_id--;
    uint64_t now = ddb_pool_now_ms(p);
    t->submit_ms = now;
    if (t->timeout > 0)
        t->deadline_ms = now + (uint64_t)(t->timeout * 1000.0 + 0.5);
    t->left_queue = 1;          /* never queued: nothing for the thread driver to count */
    ddb_task_ref(t);            /* the pool's "active" reference, as ddb_pool_enqueue */
    atomic_store(&t->state, DDB_TASK_RUNNING);
    p->nrunning++;
    ddb_conn_run(c, t, now);
}

static int any_conn_alive(const ddb_pool *p)
{
    for (int i = 0; i < p->nconns; i++)
        if (p->conns[i]->state != DDB_CONN_DEAD)
            return 1;
    return 0;
}

int ddb_pool_any_conn_alive(const ddb_pool *p) { return any_conn_alive(p); }

/* ------------------------------------------------------------------ from connections */

static void conn_ready(ddb_pool *p, ddb_conn *c)
{
    c->max_attempts = ddb_pool_attempt_budget(p, 0);  /* later breaks: the runtime budget */
    if (p->pins)
        ddb_pin_reconnected(p, c);              /* a pin's session is gone */
    if (!c->open_counted) {
        c->open_counted = 1;
        if (--p->open_pending == 0 && p->state == DDB_POOL_OPENING)
            ddb_pool_set_state(p, DDB_POOL_OPEN);
    }
    if (ddb_pool_is_stopping(p)) {
        ddb_conn_close(c);
        ddb_pool_maybe_teardown(p);
        return;
    }
    if (p->cluster && ddb_cluster_settle(p, c))
        return;                 /* its node changed while it connected */
    dispatch(p);
}

static void task_response(ddb_pool *p, ddb_conn *c, ddb_task *t)
{
    ddb_resp *r = &c->resp;
    char host[256];
    int port;
    p->in_read = 1;             /* a response comes from a read: its read_done delivers */
    p->nrunning--;
    if (r->msgs || r->nmsgs || t->out) {  /* most replies bring no output lines */
        int n = 0;
        char **msgs = ddb_resp_take_msgs(r, &n);
        ddb_task_set_msgs(t, msgs, n);
    }
    if (r->is_error && p->cfg.high_availability && !ddb_pool_is_stopping(p) &&
        ddb_parse_not_leader(r->error, host, sizeof host, &port) && t->resends < 8 &&
        !(p->pins && ddb_pin_holds(p, c->index))) {
        /* Not executed there: run it again on the leader (same seqNo is fine, but
         * a negated one is harmless and guards against a half-done request). */
        t->resends++;
        ddb_pool_requeue(p, t);
        ddb_conn_redirect(c, host, port);
        dispatch(p);
        return;
    }
    if (t->replaced) {
        ddb_pool_fail(p, t, DDB_TASK_CANCELLED, NULL,
                      "replaced by a newer task with the same id (result discarded)");
    } else if (r->is_error) {
        char what[1200];
        snprintf(what, sizeof what, "server error: %s", r->error);
        ddb_pool_fail(p, t, DDB_TASK_FAILED, r->error, what);
    } else {
        t->result = ddb_resp_take_obj(r);
        ddb_pool_complete(p, t, DDB_TASK_DONE);
    }
    if (p->pins)
        ddb_pin_answered(p, c, t);      /* a claim: c is its pin's from now on */
    if (ddb_pool_is_stopping(p)) {
        ddb_conn_close(c);
        if (p->nrunning == 0)
            ddb_pool_close_all(p);
        ddb_pool_maybe_teardown(p);
        return;
    }
    if (p->cluster)
        ddb_cluster_settle(p, c);       /* its node left the list while it ran */
    dispatch_from(p, c->index);
}

/* ------------------------------------------------------------------ connection events */

/* The table every connection reports through (ddb_conn.h); `o` is the pool. */
static void ev_ready(void *o, ddb_conn *c) { conn_ready(o, c); }
static void ev_response(void *o, ddb_conn *c, ddb_task *t) { task_response(o, c, t); }
static void ev_lost(void *o, ddb_conn *c, ddb_task *t, const char *why)
{
    ddb_pool_task_lost(o, c, t, why);
}
static void ev_timed_out(void *o, ddb_conn *c, ddb_task *t)
{
    ddb_pool_task_timed_out(o, c, t);
}
static void ev_dead(void *o, ddb_conn *c) { ddb_pool_conn_dead(o, c); }
static void ev_untrusted(void *o, ddb_conn *c) { ddb_pool_conn_untrusted(o, c); }
static void ev_handle_opened(void *o) { ((ddb_pool *)o)->live++; }
static void ev_handle_closed(void *o) { ddb_pool_handle_closed(o); }
static void ev_read_done(void *o) { flush(o); }
static void ev_resume_later(void *o) { resume_later(o); }
static int ev_block(void *o, ddb_conn *c, ddb_task *t, ddb_obj *b)
{
    return ddb_pool_block_arrived(o, c, t, b);
}
static int ev_is_stopping(void *o) { return ddb_pool_is_stopping(o); }
static int ev_next_site(void *o, int site) { return ddb_pool_next_site(o, site); }
static void ev_site(void *o, int site, const char **host, int *port)
{
    const ddb_pool *p = o;
    *host = p->sites[site].host;
    *port = p->sites[site].port;
}
static uint64_t ev_connect_timeout_ms(void *o) { return connect_timeout_ms(o); }
static uint64_t ev_backoff_ms(void *o, int attempt) { return backoff_ms(o, attempt); }
static int64_t ev_next_seqno(void *o) { return ++((ddb_pool *)o)->seqno; }
static void ev_redact(void *o, const char *in, char *out, size_t cap)
{
    ddb_pool_redact(o, in, out, cap);
}
static void ev_log(void *o, int level, const char *msg) { ddb_pool_log_line(o, level, msg); }
static int ev_discover_due(void *o) { return ddb_cluster_discover_due(o); }
static void ev_discovered(void *o, ddb_conn *c, const ddb_resp *r)
{
    ddb_cluster_discovered(o, c, r);
}

const ddb_conn_events ddb_pool_conn_events = {
    .ready = ev_ready, .response = ev_response, .lost = ev_lost,
    .timed_out = ev_timed_out, .dead = ev_dead, .untrusted = ev_untrusted,
    .handle_opened = ev_handle_opened,
    .handle_closed = ev_handle_closed, .read_done = ev_read_done,
    .resume_later = ev_resume_later, .block = ev_block, .is_stopping = ev_is_stopping,
    .next_site = ev_next_site, .site = ev_site, .connect_timeout_ms = ev_connect_timeout_ms,
    .backoff_ms = ev_backoff_ms, .next_seqno = ev_next_seqno, .redact = ev_redact,
    .log = ev_log, .discover_due = ev_discover_due, .discovered = ev_discovered,
};

/* ------------------------------------------------------------------ submit */

/* `give`: the caller hands its own reference over as the pool's "active" one (a
 * submit that returns no task), rather than the pool taking one more. */
static int enqueue(ddb_pool *p, ddb_task *t, int give, char *err, size_t errlen)
{
    p->host->update_time(p->host_ud);  /* the caller may have been busy outside the loop */
    if (ddb_pool_is_stopping(p)) {
        ERR("pool is shut down%s%s", p->error[0] ? ": " : "", p->error);
        return DDB_ESHUTDOWN;
    }
    if (p->cfg.queue_limit && p->nqueued >= p->cfg.queue_limit) {
        ERR("queue is full (%d tasks waiting)", p->cfg.queue_limit);
        return DDB_EFULL;
    }
    if (!t->has_user_id) {
        if (!t->id_assigned)
            t->id = p->next_auto_id--;
    } else if (ddb_pool_ids_put(p, t)) {
        ERR("out of memory for the task id table");
        return DDB_ENOMEM;
    }
    if (!any_conn_alive(p)) {
        /* Every connection gave up earlier: give them a fresh bounded attempt. */
        for (int i = 0; i < p->nconns; i++)
            ddb_conn_start(p->conns[i], ddb_pool_attempt_budget(p, 0)
                                        ? ddb_pool_attempt_budget(p, 0) : p->nsites);
    }
    uint64_t now = ddb_pool_now_ms(p);
    t->submit_ms = now;
    if (t->timeout > 0) {
        t->deadline_ms = now + (uint64_t)(t->timeout * 1000.0 + 0.5);
        ddb_pool_arm_sweep(p, t->deadline_ms);
    }
    if (!give)
        ddb_task_ref(t);        /* the pool's "active" reference */
    /* Tasks already waiting mean no connection is READY: every way a connection
     * becomes READY (conn_ready, task_response) dispatches, and a dispatch ends with
     * an empty queue or no READY connection. So only a first task needs the scan. */
    int first = p->qhead == NULL;
    queue_push(p, t, 0);
    if (first)
        dispatch(p);
    return DDB_OK;
}

int ddb_pool_enqueue(ddb_pool *p, ddb_task *t, char *err, size_t errlen)
{
    return enqueue(p, t, 0, err, errlen);
}

int ddb_pool_submit(ddb_pool *p, const ddb_task_spec *spec, ddb_task **out, char *err,
                    size_t errlen)
{
    int code;
    if (out)
        *out = NULL;
    if (!p) {
        ERR("pool is NULL");
        return DDB_EINVAL;
    }
    if (ddb_pool_is_stopping(p)) {
        ERR("pool is shut down%s%s", p->error[0] ? ": " : "", p->error);
        return DDB_ESHUTDOWN;
    }
    ddb_task *t = ddb_task_create(spec, p->cfg.task_timeout, p->cfg.compress, &code, err,
                                  errlen);
    if (!t)
        return code;
    code = enqueue(p, t, out == NULL, err, errlen);  /* (it may have completed by now) */
    if (code != DDB_OK)
        ddb_task_unref(t);
    else if (out)
        *out = t;
    return code;
}

int ddb_task_cancel(ddb_pool *p, ddb_task *t)
{
    p->host->update_time(p->host_ud);  /* the reconnect's timers start from here */
    int st = ddb_task_state(t);
    if (st == DDB_TASK_QUEUED && t->in_queue) {
        ddb_pool_fail(p, t, DDB_TASK_CANCELLED, NULL, "cancelled while queued");
        return DDB_OK;
    }
    if (st == DDB_TASK_RUNNING && t->conn_index >= 0 && t->conn_index < p->nconns &&
        p->conns[t->conn_index]->task == t) {
        ddb_conn *c = p->conns[t->conn_index];
        ddb_conn_abort_task(c, "cancelled");
        p->nrunning--;
        char what[200];
        snprintf(what, sizeof what, "cancelled while running (connection %.100s:%d closed "
                 "and reopened)", c->host, c->port);
        ddb_pool_log(p, DDB_LOG_INFO, "task %lld %s", (long long)t->id, what);
        ddb_pool_fail(p, t, DDB_TASK_CANCELLED, NULL, what);
        return DDB_OK;
    }
    return DDB_ESTATE;
}
