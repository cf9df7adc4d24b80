/* ddb_pool.c — the pool: config, open, FIFO queue, dispatch to READY connections,
 * task ids, completions, cancel, timeouts, shutdown. Inline driver (the caller's
 * uv_loop_t); ddb_thread.c runs the same pool on a loop thread.
 *
 * Reference counting: the pool holds one reference on every task from enqueue until
 * its completion callback has run, plus one while the task is in the user-id table.
 * Completions are queued and delivered at the end of the read callback that completed
 * them (flush) or else from the host's pump (ddb_host.h: a uv_idle with libuv), so
 * the callback never runs inside a ddb_* call, only inside the loop. */
#include "ddb_pool.h"
#include "ddb_auth.h"
#include "ddb_pin.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define ERR(...) do { if (err && errlen) snprintf(err, errlen, __VA_ARGS__); } while (0)

static void dispatch(ddb_pool *p);
static void maybe_teardown(ddb_pool *p);
static void handle_closed(ddb_pool *p);
static const ddb_conn_events conn_events;
static void close_all_conns(ddb_pool *p);
static void start_shutdown(ddb_pool *p);

/* Every state change goes through here so the host hears of it without polling. */
static void set_state(ddb_pool *p, int state)
{
    if (p->state == state)
        return;
    p->state = state;
    if (p->on_state)
        p->on_state(p, state, p->state_ud);
}

static uint64_t now_ms(const ddb_pool *p)
{
    return p->host->now_ms(p->host_ud);
}

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
static int attempt_budget(const ddb_pool *p, int opening)
{
    int rounds = p->cfg.try_reconnect_nums;
    if ((opening && !p->cfg.open_lazily) || !p->cfg.reconnect)
        rounds = rounds > 0 ? rounds : 1;       /* the open never retries forever */
    return rounds > 0 ? rounds * p->nsites : 0;
}

/* ------------------------------------------------------------------ id table */

static size_t id_slot(const ddb_pool *p, int64_t id)
{
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (p->idcap - 1);
}

static ddb_task *id_find(const ddb_pool *p, int64_t id)
{
    if (!p->idcap)
        return NULL;
    for (ddb_task *t = p->idtab[id_slot(p, id)]; t; t = t->hnext)
        if (t->id == id)
            return t;
    return NULL;
}

static int id_grow(ddb_pool *p)
{
    size_t cap = p->idcap ? p->idcap * 2 : 64;
    ddb_task **tab = calloc(cap, sizeof *tab);
    if (!tab)
        return -1;
    size_t old = p->idcap;
    ddb_task **otab = p->idtab;
    p->idtab = tab;
    p->idcap = cap;
    for (size_t i = 0; i < old; i++)
        for (ddb_task *t = otab[i], *next; t; t = next) {
            next = t->hnext;
            size_t s = id_slot(p, t->id);
            t->hnext = tab[s];
            tab[s] = t;
        }
    free(otab);
    return 0;
}

static int id_insert(ddb_pool *p, ddb_task *t)
{
    if (p->idcount >= p->idcap && id_grow(p))
        return -1;
    size_t s = id_slot(p, t->id);
    t->hnext = p->idtab[s];
    p->idtab[s] = t;
    t->in_table = 1;
    p->idcount++;
    ddb_task_ref(t);
    return 0;
}

static void id_remove(ddb_pool *p, ddb_task *t)
{
    ddb_task **pp = &p->idtab[id_slot(p, t->id)];
    while (*pp && *pp != t)
        pp = &(*pp)->hnext;
    if (*pp) {
        *pp = t->hnext;
        t->hnext = NULL;
        t->in_table = 0;
        p->idcount--;
        ddb_task_unref(t);
    }
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

static void pump_cb(void *arg);

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
    ddb_task_finish(t, state, now_ms(p));
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

static void pump_cb(void *arg)
{
    ddb_pool *p = arg;
    if (p->resume_pending) {
        p->resume_pending = 0;
        for (int i = 0; i < p->nconns; i++)
            ddb_conn_resume(p->conns[i]);
    }
    deliver(p);
    pump_stop(p);
    maybe_teardown(p);
}

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

static void fail_with(ddb_pool *p, ddb_task *t, int state, const char *server_error,
                      const char *what)
{
    char *a, *b;
    const char *serr = redacted(p, server_error, &a), *w = redacted(p, what, &b);
    ddb_task_set_error(t, serr, "%s", w);
    free(a);
    free(b);
    ddb_pool_complete(p, t, state);
}

static void fail_queued(ddb_pool *p, int state, const char *what)
{
    while (p->qhead)
        fail_with(p, p->qhead, state, NULL, what);
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
        ddb_conn_run(c, t, t->deadline_ms ? now_ms(p) : 0);   /* (only a deadline reads it) */
    }
    p->dispatching = 0;
}

static void dispatch(ddb_pool *p)
{
    dispatch_from(p, 0);
}

void ddb_pool_dispatch(ddb_pool *p) { dispatch(p); }

void ddb_pool_run_on(ddb_pool *p, ddb_conn *c, ddb_task *t)
{
    p->host->update_time(p->host_ud);
    t->id = p->next_auto_id--;
    uint64_t now = now_ms(p);
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

/* ------------------------------------------------------------------ from connections */

static void conn_ready(ddb_pool *p, ddb_conn *c)
{
    c->max_attempts = attempt_budget(p, 0);     /* later breaks: the runtime budget */
    if (p->pins)
        ddb_pin_reconnected(p, c);              /* a pin's session is gone */
    if (!c->open_counted) {
        c->open_counted = 1;
        if (--p->open_pending == 0 && p->state == DDB_POOL_OPENING)
            set_state(p, DDB_POOL_OPEN);
    }
    if (ddb_pool_is_stopping(p)) {
        ddb_conn_close(c);
        maybe_teardown(p);
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
        atomic_store(&t->state, DDB_TASK_QUEUED);
        queue_push(p, t, 1);
        ddb_conn_redirect(c, host, port);
        dispatch(p);
        return;
    }
    if (t->replaced) {
        fail_with(p, t, DDB_TASK_CANCELLED, NULL,
                  "replaced by a newer task with the same id (result discarded)");
    } else if (r->is_error) {
        char what[1200];
        snprintf(what, sizeof what, "server error: %s", r->error);
        fail_with(p, t, DDB_TASK_FAILED, r->error, what);
    } else {
        t->result = ddb_resp_take_obj(r);
        ddb_pool_complete(p, t, DDB_TASK_DONE);
    }
    if (p->pins)
        ddb_pin_answered(p, c, t);      /* a claim: c is its pin's from now on */
    if (ddb_pool_is_stopping(p)) {
        ddb_conn_close(c);
        if (p->nrunning == 0)
            close_all_conns(p);
        maybe_teardown(p);
        return;
    }
    if (p->cluster)
        ddb_cluster_settle(p, c);       /* its node left the list while it ran */
    dispatch_from(p, c->index);
}

static void task_conn_lost(ddb_pool *p, ddb_conn *c, ddb_task *t, const char *why)
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
        atomic_store(&t->state, DDB_TASK_QUEUED);
        queue_push(p, t, 1);
        dispatch(p);
        return;
    }
    char what[400];
    snprintf(what, sizeof what, "connection lost while running: %s", why);
    fail_with(p, t, ddb_pool_is_stopping(p) ? DDB_TASK_ABANDONED : DDB_TASK_FAILED, NULL,
              what);
    if (ddb_pool_is_stopping(p) && p->nrunning == 0)
        close_all_conns(p);
    dispatch(p);
}

static void task_timed_out(ddb_pool *p, ddb_conn *c, ddb_task *t)
{
    p->nrunning--;
    char what[200];
    snprintf(what, sizeof what, "timed out after %.3g s (connection %.100s:%d recycled)",
             t->timeout, c->host, c->port);
    ddb_pool_log(p, DDB_LOG_WARN, "task %lld %s", (long long)t->id, what);
    fail_with(p, t, DDB_TASK_FAILED, NULL, what);
}

static void conn_dead(ddb_pool *p, ddb_conn *c)
{
    if (p->state == DDB_POOL_OPENING && !c->open_counted) {
        snprintf(p->error, sizeof p->error, "cannot open the pool: %.480s", c->last_error);
        ddb_pool_log(p, DDB_LOG_ERROR, "%s", p->error);
        set_state(p, DDB_POOL_FAILED);
        fail_queued(p, DDB_TASK_FAILED, p->error);
        start_shutdown(p);
        return;
    }
    if (p->deferred)
        ddb_pool_start_deferred(p);     /* connection 0 gave up before the cluster's
                                           nodes were known: the others try now */
    if (!any_conn_alive(p)) {
        /* Nothing can run the queue: fail it now rather than let it hang. */
        char what[600];
        snprintf(what, sizeof what, "no live connection (last error: %.500s)", c->last_error);
        if (p->qhead)
            ddb_pool_log(p, DDB_LOG_ERROR, "%lld queued task(s) failed: %s",
                         (long long)p->nqueued, what);
        fail_queued(p, DDB_TASK_FAILED, what);
    }
}

/* Every connection is DEAD or failed the server's certificate check last time: no
 * task can run until someone fixes a certificate or the configuration, so fail the
 * queue with the reason instead of letting it wait (the connections keep retrying; a
 * server that is just down still makes tasks wait, as documented). With one site a
 * connection trying again meets the same certificate; with several (HA) it counts
 * only while it backs off, as its next try may reach another server. */
static void conn_untrusted(ddb_pool *p, ddb_conn *c)
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
    fail_queued(p, DDB_TASK_FAILED, what);
}

static void handle_closed(ddb_pool *p)
{
    p->live--;
    if (p->torn_down && p->live == 0) {
        set_state(p, DDB_POOL_CLOSED);
        if (p->freed)
            ddb_pool_free(p);
        return;
    }
    if (ddb_pool_is_stopping(p) && !p->torn_down)
        pump_start(p);                  /* re-check teardown from the loop */
}

/* ------------------------------------------------------------------ connection events */

/* The table every connection reports through (ddb_conn.h); `o` is the pool. */
static void ev_ready(void *o, ddb_conn *c) { conn_ready(o, c); }
static void ev_response(void *o, ddb_conn *c, ddb_task *t) { task_response(o, c, t); }
static void ev_lost(void *o, ddb_conn *c, ddb_task *t, const char *why)
{
    task_conn_lost(o, c, t, why);
}
static void ev_timed_out(void *o, ddb_conn *c, ddb_task *t) { task_timed_out(o, c, t); }
static void ev_dead(void *o, ddb_conn *c) { conn_dead(o, c); }
static void ev_untrusted(void *o, ddb_conn *c) { conn_untrusted(o, c); }
static void ev_handle_opened(void *o) { ((ddb_pool *)o)->live++; }
static void ev_handle_closed(void *o) { handle_closed(o); }
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

static const ddb_conn_events conn_events = {
    .ready = ev_ready, .response = ev_response, .lost = ev_lost,
    .timed_out = ev_timed_out, .dead = ev_dead, .untrusted = ev_untrusted,
    .handle_opened = ev_handle_opened,
    .handle_closed = ev_handle_closed, .read_done = ev_read_done,
    .resume_later = ev_resume_later, .block = ev_block, .is_stopping = ev_is_stopping,
    .next_site = ev_next_site, .site = ev_site, .connect_timeout_ms = ev_connect_timeout_ms,
    .backoff_ms = ev_backoff_ms, .next_seqno = ev_next_seqno, .redact = ev_redact,
    .log = ev_log, .discover_due = ev_discover_due, .discovered = ev_discovered,
};

static void fill_conn_settings(ddb_pool *p)
{
    ddb_conn_settings *s = &p->conn_set;
    s->nready = &p->nready;
    s->host = p->host;
    s->host_ud = p->host_ud;
    s->userid = p->userid;
    s->password = p->password;
    s->initial_script = p->initial_script;
    s->login_in_connect = p->cfg.login_in_connect;
    s->login_method = p->cfg.login_method;
    s->tls = p->cfg.enable_ssl ? &p->tls : NULL;
    s->compress = p->cfg.compress;
    s->high_availability = p->cfg.high_availability;
    s->reconnect = p->cfg.reconnect;
    s->keepalive_sec = p->cfg.keepalive_sec;
    s->connect_timeout = p->cfg.connect_timeout;
    s->max_result_bytes = p->cfg.max_result_bytes;
    s->log_min = p->cfg.on_log ? p->cfg.log_level : DDB_LOG_OFF;
    s->cancel_on_server = p->cfg.cancel_on_server;
}

/* ------------------------------------------------------------------ timers */

static void arm_sweep(ddb_pool *p, uint64_t at);

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

static void sweep_cb(void *arg)
{
    ddb_pool *p = arg;
    uint64_t now = now_ms(p), next = 0;
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
            fail_with(p, t, DDB_TASK_FAILED, NULL, what);
        } else if (!next || t->deadline_ms < next) {
            next = t->deadline_ms;
        }
    }
    if (next)
        arm_sweep(p, next);
}

static void arm_sweep(ddb_pool *p, uint64_t at)
{
    if (p->torn_down || (p->sweep_at && p->sweep_at <= at))
        return;
    uint64_t now = now_ms(p);
    p->sweep_at = at;
    p->host->timer_start(p->sweep, at > now ? at - now : 0);
}

static void grace_cb(void *arg)
{
    close_all_conns(arg);
}

/* ------------------------------------------------------------------ create */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void free_strings(ddb_pool *p)
{
    free(p->userid);
    if (p->password)            /* kept for every (re)connect's login until now */
        ddb_wipe(p->password, strlen(p->password));
    free(p->password);
    free(p->initial_script);
    free(p->ssl_ca_file);
    free(p->ssl_server_name);
}

static int validate(const ddb_pool_config *cfg, char *err, size_t errlen)
{
    if (!cfg) {
        ERR("config is NULL");
        return -1;
    }
    if (cfg->thread_num < 1 || cfg->thread_num > 4096) {
        ERR("threadNum %d out of range 1..4096", cfg->thread_num);
        return -1;
    }
    /* Upper bound: seconds become uint64 milliseconds; a year is plenty and keeps
     * every conversion defined. NaN fails every comparison. */
    if (!(cfg->connect_timeout > 0 && cfg->connect_timeout <= DDB_MAX_SECONDS) ||
        !(cfg->reconnect_delay >= 0 && cfg->reconnect_delay <= DDB_MAX_SECONDS) ||
        !(cfg->task_timeout >= 0 && cfg->task_timeout <= DDB_MAX_SECONDS) ||
        !(cfg->shutdown_grace >= 0 && cfg->shutdown_grace <= DDB_MAX_SECONDS)) {
        ERR("timeouts must be within 0..%g s (connect_timeout > 0)", DDB_MAX_SECONDS);
        return -1;
    }
    if (cfg->max_result_bytes < 0) {
        ERR("max_result_bytes must be >= 0");
        return -1;
    }
    if (cfg->queue_limit < 0 || cfg->keepalive_sec < 0 || cfg->try_reconnect_nums < -1 ||
        cfg->try_reconnect_nums == 0) {
        ERR("queue_limit and keepalive_sec must be >= 0, tryReconnectNums -1 or >= 1");
        return -1;
    }
    if (cfg->userid && cfg->userid[0] && cfg->login_in_connect &&
        (strchr(cfg->userid, '\n') || (cfg->password && strchr(cfg->password, '\n')))) {
        ERR("user name or password contains a line feed");
        return -1;
    }
    if (cfg->log_level < DDB_LOG_DEBUG || cfg->log_level > DDB_LOG_OFF) {
        ERR("log_level must be one of DDB_LOG_DEBUG .. DDB_LOG_OFF");
        return -1;
    }
    if (cfg->login_method < DDB_LOGIN_AUTO || cfg->login_method > DDB_LOGIN_PLAIN) {
        ERR("login_method must be one of DDB_LOGIN_AUTO, _SCRAM, _ENCRYPTED, _PLAIN");
        return -1;
    }
    return 0;
}

static int init_handles(ddb_pool *p)
{
    const ddb_host_vt *h = p->host;
    p->pump = h->pump_new(p->host_ud, pump_cb, p);
    p->sweep = h->timer_new(p->host_ud, sweep_cb, p);
    p->grace = h->timer_new(p->host_ud, grace_cb, p);
    if (p->pump && p->sweep && p->grace) {
        p->live += 3;
        return 0;
    }
    /* released without a report: the pool's memory goes away before the host lets go */
    ddb_host_handle *made[3] = { p->pump, p->sweep, p->grace };
    for (int i = 0; i < 3; i++)
        if (made[i])
            h->close(made[i], NULL);
    return -1;
}

int ddb_ignore_sigpipe(void)
{
    /* libuv writes to sockets with write()/writev(), which raise SIGPIPE on a
     * connection the peer reset (a socket in CLOSE_WAIT that then got an RST fails
     * the next write with EPIPE). The default action kills the process, so, as
     * network runtimes do, turn the default into "ignore"; a handler or an explicit
     * choice of the application is left alone. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) != 0)
        return -1;
    if ((sa.sa_flags & SA_SIGINFO) || sa.sa_handler != SIG_DFL)
        return 0;
    sa.sa_handler = SIG_IGN;
    sa.sa_flags = 0;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGPIPE, &sa, NULL) == 0 ? 1 : -1;
}

ddb_pool *ddb_pool_new(struct uv_loop_s *loop, const ddb_pool_config *cfg, char *err,
                       size_t errlen)
{
    if (!loop) {
        ERR("loop is NULL");
        return NULL;
    }
    return ddb_pool_new_host(&ddb_uv_host, loop, cfg, err, errlen);
}

ddb_pool *ddb_pool_new_host(const ddb_host_vt *host, void *host_ud,
                            const ddb_pool_config *cfg, char *err, size_t errlen)
{
    if (validate(cfg, err, errlen))
        return NULL;
    ddb_ignore_sigpipe();
    ddb_pool *p = calloc(1, sizeof *p);
    if (!p) {
        ERR("out of memory");
        return NULL;
    }
    p->host = host;
    p->host_ud = host_ud;
    p->cfg = *cfg;
    if (cfg->open_lazily)
        p->cfg.reconnect = 1;       /* healing is reconnecting */
    p->userid = dup_or_null(cfg->userid);
    p->password = strdup(cfg->password ? cfg->password : "");
    p->initial_script = dup_or_null(cfg->initial_script);
    p->ssl_ca_file = dup_or_null(cfg->ssl_ca_file);
    p->ssl_server_name = dup_or_null(cfg->ssl_server_name);
    p->tls = (ddb_tls_opts){ .verify = cfg->ssl_verify, .ca_file = p->ssl_ca_file,
                             .server_name = p->ssl_server_name };
    p->cfg.ssl_ca_file = p->cfg.ssl_server_name = NULL;
    p->cfg.host = NULL;
    p->cfg.sites = NULL;
    p->next_auto_id = -1;
    if (ddb_ha_build_sites(p, cfg, err, errlen)) {
        free_strings(p);
        free(p->sites);
        free(p);
        return NULL;
    }
    /* From here on, failures are reported through the normal shutdown path so the
     * handles already opened are closed properly. */
    int n = cfg->thread_num;
    p->conns = calloc((size_t)n, sizeof *p->conns);
    if (!p->conns || init_handles(p)) {
        /* idle/timer init only fails on a broken loop; nothing is open yet */
        ERR("cannot initialise the pool's timers");
        free(p->conns);
        free_strings(p);
        free(p->sites);
        free(p);
        return NULL;
    }
    p->state = DDB_POOL_OPENING;
    fill_conn_settings(p);
    /* The caller may not have run the loop for a while: timers started from a stale
     * clock would fire at once ("connect timed out" after 0 s). */
    p->host->update_time(p->host_ud);
    for (int i = 0; i < n; i++) {
        ddb_conn *c = malloc(sizeof *c);
        if (!c || ddb_conn_init(c, &conn_events, p, &p->conn_set, i,
                                ddb_ha_initial_site(p, i))) {
            free(c);
            ERR("cannot initialise connection %d", i);
            p->freed = 1;
            set_state(p, DDB_POOL_FAILED);
            start_shutdown(p);
            return NULL;
        }
        p->conns[p->nconns++] = c;
    }
    p->open_pending = n;
    if (cfg->open_lazily)
        set_state(p, DDB_POOL_OPEN);    /* tasks queue until a connection is READY */
    /* loadBalance without sites: connection 0 asks for the cluster's nodes first,
     * the others start once they are known (ddb_cluster.c) */
    p->cluster = p->cluster_due = cfg->load_balance && cfg->nsites <= 0;
    p->deferred = p->cluster && n > 1;
    for (int i = 0; i < (p->deferred ? 1 : n); i++)    /* concurrently */
        ddb_conn_start(p->conns[i], attempt_budget(p, 1));
    return p;
}

void ddb_pool_start_deferred(ddb_pool *p)
{
    if (!p->deferred)
        return;
    p->deferred = 0;
    if (ddb_pool_is_stopping(p))
        return;
    for (int i = 1; i < p->nconns; i++)
        ddb_conn_start(p->conns[i], attempt_budget(p, 1));
}

int ddb_pool_state(const ddb_pool *p) { return p->state; }

void ddb_pool_on_state(ddb_pool *p, ddb_state_cb cb, void *ud)
{
    p->on_state = cb;
    p->state_ud = ud;
}
const char *ddb_pool_error(const ddb_pool *p) { return p->error; }

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
    } else {
        ddb_task *old = id_find(p, t->id);
        if (old) {
            old->replaced = 1;
            id_remove(p, old);
            if (ddb_task_state(old) == DDB_TASK_QUEUED)
                fail_with(p, old, DDB_TASK_CANCELLED, NULL,
                          "replaced by a newer task with the same id");
        }
        if (id_insert(p, t)) {
            ERR("out of memory for the task id table");
            return DDB_ENOMEM;
        }
    }
    if (!any_conn_alive(p)) {
        /* Every connection gave up earlier: give them a fresh bounded attempt. */
        for (int i = 0; i < p->nconns; i++)
            ddb_conn_start(p->conns[i], attempt_budget(p, 0) ? attempt_budget(p, 0)
                                                              : p->nsites);
    }
    uint64_t now = now_ms(p);
    t->submit_ms = now;
    if (t->timeout > 0) {
        t->deadline_ms = now + (uint64_t)(t->timeout * 1000.0 + 0.5);
        arm_sweep(p, t->deadline_ms);
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
        fail_with(p, t, DDB_TASK_CANCELLED, NULL, "cancelled while queued");
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
        fail_with(p, t, DDB_TASK_CANCELLED, NULL, what);
        return DDB_OK;
    }
    return DDB_ESTATE;
}

ddb_task *ddb_pool_find(ddb_pool *p, int64_t user_id)
{
    return ddb_task_ref(id_find(p, user_id));
}

int ddb_pool_forget(ddb_pool *p, int64_t user_id)
{
    ddb_task *t = id_find(p, user_id);
    if (!t)
        return DDB_ENOTFOUND;
    id_remove(p, t);
    return DDB_OK;
}

/* ------------------------------------------------------------------ shutdown */

/* Abandon every running task and close every connection. */
static void close_all_conns(ddb_pool *p)
{
    p->host->timer_stop(p->grace);
    for (int i = 0; i < p->nconns; i++) {
        ddb_conn *c = p->conns[i];
        if (c->task) {
            ddb_task *t = ddb_conn_abort_task(c, "pool is shut down");
            p->nrunning--;
            fail_with(p, t, DDB_TASK_ABANDONED, NULL, "pool is shut down while running");
        }
        ddb_conn_close(c);
    }
    pump_start(p);
}

static void start_shutdown(ddb_pool *p)
{
    fail_queued(p, DDB_TASK_ABANDONED, "pool is shut down");
    p->host->timer_stop(p->sweep);
    if (p->nrunning > 0 && p->cfg.shutdown_grace > 0) {
        /* Idle connections close now; busy ones get the grace period. */
        for (int i = 0; i < p->nconns; i++)
            if (!p->conns[i]->task)
                ddb_conn_close(p->conns[i]);
        p->host->timer_start(p->grace, (uint64_t)(p->cfg.shutdown_grace * 1000.0));
    } else {
        close_all_conns(p);
    }
    if (p->live > 0)
        pump_start(p);
}

void ddb_pool_shutdown(ddb_pool *p)
{
    if (!p || ddb_pool_is_stopping(p))
        return;                 /* idempotent (an open failure already shut down) */
    set_state(p, DDB_POOL_SHUTDOWN);
    p->host->update_time(p->host_ud);  /* the grace timer starts from here */
    start_shutdown(p);
}

static int io_pending(const ddb_pool *p)
{
    /* live = streams + fixed handles (3 + one timer per conn) */
    int fixed = 3;
    for (int i = 0; i < p->nconns; i++)
        fixed += p->conns[i]->timer != NULL;
    return p->live - fixed;
}

static void pool_handle_closed_cb(void *arg)
{
    handle_closed(arg);
}

/* Once every socket is closed and every completion delivered, close the pool's own
 * handles; the last close callback marks the pool CLOSED. */
static void maybe_teardown(ddb_pool *p)
{
    if (!ddb_pool_is_stopping(p) || p->torn_down || p->nrunning > 0 || io_pending(p) > 0)
        return;
    for (int i = 0; i < p->nconns; i++)
        if (p->conns[i]->stream)
            return;
    deliver(p);
    p->torn_down = 1;
    for (int i = 0; i < p->nconns; i++)
        ddb_conn_close_timer(p->conns[i]);
    p->host->close(p->pump, pool_handle_closed_cb);
    p->host->close(p->sweep, pool_handle_closed_cb);
    p->host->close(p->grace, pool_handle_closed_cb);
}

void ddb_pool_free(ddb_pool *p)
{
    if (!p)
        return;
    if (p->state != DDB_POOL_CLOSED) {
        p->freed = 1;           /* finish closing; the last close callback frees */
        if (!ddb_pool_is_stopping(p)) {
            set_state(p, DDB_POOL_SHUTDOWN);
            start_shutdown(p);
        }
        return;
    }
    deliver(p);
    for (size_t i = 0; i < p->idcap; i++)
        for (ddb_task *t = p->idtab[i], *nx; t; t = nx) {
            nx = t->hnext;
            ddb_task_unref(t);
        }
    free(p->idtab);
    ddb_pin_free(p);
    for (int i = 0; i < p->nconns; i++)
        ddb_conn_free(p->conns[i]);
    free(p->conns);
    free(p->sites);
    free_strings(p);
    free(p);
}
