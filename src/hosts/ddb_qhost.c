/* ddb_qhost.c — the queue host (ddb_qhost.h): intents out, reports in.
 *
 * Timers and pumps are a flat array scanned when asked (a pool has 3 of them plus one
 * timer per connection: tens, not thousands). Streams are found by id in another
 * flat array. Closing never calls back inline: the closed callbacks wait in a
 * deferred list that ddb_qhost_run empties. */
#include "ddb_qhost.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ddb_host_handle {
    ddb_qhost *q;
    int is_pump;
    int armed;
    uint64_t due;               /* timers: when it fires (host clock, ms) */
    unsigned armed_in_run;      /* run number it was armed in: fires in a later run */
    ddb_host_fn fn, closed;
    void *arg;
};

typedef struct qchunk {
    struct qchunk *next;
    ddb_buf head;
    const char *body;
    size_t body_len;
    ddb_host_fn release;
    void *rel_arg;
} qchunk;

struct ddb_host_stream {
    ddb_qhost *q;
    int64_t id;
    char *name;
    int port, keepalive_sec;
    int tls, tls_verify;        /* the driver does the TLS (a cosocket's sslhandshake) */
    char *tls_name;             /* name to verify; NULL: `name` */
    int dead;                   /* failed was reported */
    int output_flagged;         /* a DDB_Q_OUTPUT intent is queued and not served */
    const ddb_stream_cbs *cbs;
    void *arg;
    qchunk *out_head, *out_tail;
};

typedef struct deferred {
    ddb_host_fn fn;
    void *arg;
} deferred;

struct ddb_qhost {
    uint64_t now;
    unsigned run_no;
    ddb_host_handle **handles;
    size_t nhandles, cap_handles;
    ddb_host_stream **streams;
    size_t nstreams, cap_streams;
    int64_t next_id;
    ddb_qintent *intents;
    size_t nintents, cap_intents;
    deferred *later;
    size_t nlater, cap_later;
};

/* Grows *arr (of elem-sized items, *cap of them) to hold one more; 0 or -1. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, c * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = c;
    return 0;
}

static uint64_t clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A deferred call that cannot be queued (out of memory) is made at once: late is
 * worse than early only for re-entrancy, and the callers tolerate that better than
 * a lost close. */
static void defer(ddb_qhost *q, ddb_host_fn fn, void *arg)
{
    if (!fn)
        return;
    if (grow((void **)&q->later, &q->cap_later, q->nlater, sizeof *q->later)) {
        fn(arg);
        return;
    }
    q->later[q->nlater++] = (deferred){ fn, arg };
}

/* An intent the driver cannot be told of leaves a connection without its socket:
 * report the stream failed instead (deferred, as every report). */
static void stream_failed_later(void *s);

static void push_intent(ddb_qhost *q, int op, ddb_host_stream *s)
{
    if (grow((void **)&q->intents, &q->cap_intents, q->nintents, sizeof *q->intents)) {
        if (op != DDB_Q_CLOSE)
            defer(q, stream_failed_later, s);
        return;
    }
    q->intents[q->nintents++] = (ddb_qintent){ op, s->id };
}

/* ------------------------------------------------------------------ clock, timers, pumps */

static uint64_t qh_now_ms(void *host) { return ((ddb_qhost *)host)->now; }
static void qh_update_time(void *host) { ((ddb_qhost *)host)->now = clock_ms(); }

static ddb_host_handle *handle_new(ddb_qhost *q, int is_pump, ddb_host_fn fn, void *arg)
{
    if (grow((void **)&q->handles, &q->cap_handles, q->nhandles, sizeof *q->handles))
        return NULL;
    ddb_host_handle *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    *h = (ddb_host_handle){ .q = q, .is_pump = is_pump, .fn = fn, .arg = arg };
    q->handles[q->nhandles++] = h;
    return h;
}

static ddb_host_handle *qh_timer_new(void *host, ddb_host_fn fire, void *arg)
{
    return handle_new(host, 0, fire, arg);
}

static void qh_timer_start(ddb_host_handle *h, uint64_t ms)
{
    h->armed = 1;
    h->due = h->q->now + ms;
    h->armed_in_run = h->q->run_no;
}

static void qh_timer_stop(ddb_host_handle *h) { h->armed = 0; }

static ddb_host_handle *qh_pump_new(void *host, ddb_host_fn run, void *arg)
{
    return handle_new(host, 1, run, arg);
}

static void qh_pump_start(ddb_host_handle *h)
{
    if (!h->armed)
        h->armed_in_run = h->q->run_no;
    h->armed = 1;
}

static void qh_pump_stop(ddb_host_handle *h) { h->armed = 0; }

static void release_handle(void *arg)
{
    ddb_host_handle *h = arg;
    ddb_host_fn closed = h->closed;
    void *harg = h->arg;
    free(h);
    if (closed)
        closed(harg);
}

static void qh_close(ddb_host_handle *h, ddb_host_fn closed)
{
    ddb_qhost *q = h->q;
    for (size_t i = 0; i < q->nhandles; i++) {
        if (q->handles[i] == h) {
            q->handles[i] = q->handles[--q->nhandles];
            break;
        }
    }
    h->armed = 0;
    h->closed = closed;
    defer(q, release_handle, h);
}

/* The next handle to run in this run: a started pump, or the earliest timer that is
 * due; never one armed during this very run (a 0 ms timer re-armed by its own
 * callback would otherwise spin here forever). */
static ddb_host_handle *next_due(ddb_qhost *q)
{
    ddb_host_handle *best = NULL;
    for (size_t i = 0; i < q->nhandles; i++) {
        ddb_host_handle *h = q->handles[i];
        if (!h->armed || h->armed_in_run == q->run_no)
            continue;
        if (h->is_pump)
            return h;
        if (h->due <= q->now && (!best || h->due < best->due))
            best = h;
    }
    return best;
}

static void run_deferred(ddb_qhost *q)
{
    /* A callback may defer more: take the list as it is now, run it, repeat. */
    while (q->nlater) {
        size_t n = q->nlater;
        deferred *batch = malloc(n * sizeof *batch);
        if (!batch) {
            deferred d = q->later[--q->nlater];
            d.fn(d.arg);
            continue;
        }
        memcpy(batch, q->later, n * sizeof *batch);
        q->nlater = 0;
        for (size_t i = 0; i < n; i++)
            batch[i].fn(batch[i].arg);
        free(batch);
    }
}

void ddb_qhost_run(ddb_qhost *q)
{
    q->now = clock_ms();
    q->run_no++;
    run_deferred(q);
    ddb_host_handle *h;
    while ((h = next_due(q)) != NULL) {
        if (!h->is_pump)
            h->armed = 0;       /* one-shot; a pump stays started until stopped */
        else
            h->armed_in_run = q->run_no;
        h->fn(h->arg);
    }
    run_deferred(q);
}

int64_t ddb_qhost_next_ms(ddb_qhost *q)
{
    if (q->nlater)
        return 0;
    int64_t best = -1;
    uint64_t now = clock_ms();
    for (size_t i = 0; i < q->nhandles; i++) {
        ddb_host_handle *h = q->handles[i];
        if (!h->armed)
            continue;
        if (h->is_pump)
            return 0;
        int64_t left = h->due > now ? (int64_t)(h->due - now) : 0;
        if (best < 0 || left < best)
            best = left;
    }
    return best;
}

/* ------------------------------------------------------------------ streams */

static ddb_host_stream *find_stream(const ddb_qhost *q, int64_t id)
{
    for (size_t i = 0; i < q->nstreams; i++)
        if (q->streams[i]->id == id)
            return q->streams[i];
    return NULL;
}

static ddb_host_stream *qh_stream_open(void *host, const char *name, int port,
                                       int keepalive_sec, const ddb_tls_opts *tls,
                                       const ddb_stream_cbs *cbs, void *arg, char *err,
                                       size_t errlen)
{
    ddb_qhost *q = host;
    ddb_host_stream *s = calloc(1, sizeof *s);
    char *copy = strdup(name);
    char *tls_name = tls && tls->server_name ? strdup(tls->server_name) : NULL;
    if (tls && tls->server_name && !tls_name) {
        free(copy);
        copy = NULL;
    }
    if (!s || !copy ||
        grow((void **)&q->streams, &q->cap_streams, q->nstreams, sizeof *q->streams) ||
        grow((void **)&q->intents, &q->cap_intents, q->nintents, sizeof *q->intents)) {
        free(s);
        free(copy);
        free(tls_name);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    *s = (ddb_host_stream){ .q = q, .id = ++q->next_id, .name = copy, .port = port,
                            .keepalive_sec = keepalive_sec, .cbs = cbs, .arg = arg,
                            .tls = tls != NULL, .tls_verify = tls && tls->verify,
                            .tls_name = tls_name };
    q->streams[q->nstreams++] = s;
    push_intent(q, DDB_Q_OPEN, s);
    return s;
}

static void drop_output(ddb_host_stream *s)
{
    qchunk *c = s->out_head;
    s->out_head = s->out_tail = NULL;
    while (c) {
        qchunk *next = c->next;
        if (c->release)
            c->release(c->rel_arg);
        ddb_buf_free(&c->head);
        free(c);
        c = next;
    }
}

static const char *qh_stream_write(ddb_host_stream *s, ddb_buf *head, const char *body,
                                   size_t body_len, ddb_host_fn release, void *rel_arg)
{
    qchunk *c = calloc(1, sizeof *c);
    if (!c) {
        ddb_buf_free(head);
        ddb_buf_init(head);
        if (release)
            release(rel_arg);
        return "out of memory";
    }
    c->head = *head;
    ddb_buf_init(head);
    c->body = body;
    c->body_len = body_len;
    c->release = release;
    c->rel_arg = rel_arg;
    if (s->out_tail)
        s->out_tail->next = c;
    else
        s->out_head = c;
    s->out_tail = c;
    if (!s->output_flagged) {
        s->output_flagged = 1;
        push_intent(s->q, DDB_Q_OUTPUT, s);
    }
    return NULL;
}

static const char *qh_stream_pause(ddb_host_stream *s, int paused)
{
    push_intent(s->q, paused ? DDB_Q_PAUSE : DDB_Q_RESUME, s);
    return NULL;
}

static void forget_stream(ddb_host_stream *s)
{
    ddb_qhost *q = s->q;
    for (size_t i = 0; i < q->nstreams; i++) {
        if (q->streams[i] == s) {
            q->streams[i] = q->streams[--q->nstreams];
            break;
        }
    }
    drop_output(s);
    free(s->name);
    free(s->tls_name);
    free(s);
}

static void qh_stream_close(ddb_host_stream *s, ddb_host_fn closed, void *arg)
{
    ddb_qhost *q = s->q;
    push_intent(q, DDB_Q_CLOSE, s);
    forget_stream(s);
    defer(q, closed, arg);
}

static void stream_failed_later(void *arg)
{
    ddb_host_stream *s = arg;
    /* still ours? (it may have been closed since) */
    for (size_t i = 0; i < s->q->nstreams; i++)
        if (s->q->streams[i] == s) {
            ddb_qhost_failed(s->q, s->id, "out of memory queueing a socket operation");
            return;
        }
}

/* ------------------------------------------------------------------ the driver's side */

size_t ddb_qhost_take(ddb_qhost *q, ddb_qintent *out, size_t cap)
{
    size_t n = q->nintents < cap ? q->nintents : cap;
    memcpy(out, q->intents, n * sizeof *out);
    memmove(q->intents, q->intents + n, (q->nintents - n) * sizeof *out);
    q->nintents -= n;
    return n;
}

int ddb_qhost_target(ddb_qhost *q, int64_t id, const char **name, int *port,
                     int *keepalive_sec)
{
    ddb_host_stream *s = find_stream(q, id);
    if (!s)
        return -1;
    *name = s->name;
    *port = s->port;
    *keepalive_sec = s->keepalive_sec;
    return 0;
}

int ddb_qhost_target_tls(ddb_qhost *q, int64_t id, int *tls, int *verify,
                         const char **server_name)
{
    ddb_host_stream *s = find_stream(q, id);
    if (!s)
        return -1;
    *tls = s->tls;
    *verify = s->tls_verify;
    *server_name = s->tls_name ? s->tls_name : s->name;
    return 0;
}

void ddb_qhost_connected(ddb_qhost *q, int64_t id)
{
    ddb_host_stream *s = find_stream(q, id);
    if (s && !s->dead)
        s->cbs->connected(s->arg);
}

void ddb_qhost_data(ddb_qhost *q, int64_t id, const char *p, size_t n)
{
    ddb_host_stream *s = find_stream(q, id);
    if (s && !s->dead && n > 0)
        s->cbs->data(s->arg, p, n);
}

void ddb_qhost_failed(ddb_qhost *q, int64_t id, const char *why)
{
    ddb_host_stream *s = find_stream(q, id);
    if (!s || s->dead)
        return;
    s->dead = 1;
    drop_output(s);
    s->cbs->failed(s->arg, why);
}

int64_t ddb_qhost_output(ddb_qhost *q, int64_t id,
                         void (*put)(void *ud, const char *p, size_t n), void *ud)
{
    ddb_host_stream *s = find_stream(q, id);
    if (!s)
        return -1;
    int64_t total = 0;
    for (qchunk *c = s->out_head; c; c = c->next) {
        if (c->head.len)
            put(ud, c->head.p, c->head.len);
        if (c->body_len)
            put(ud, c->body, c->body_len);
        total += (int64_t)(c->head.len + c->body_len);
    }
    s->output_flagged = 0;
    drop_output(s);
    return total;
}

int64_t ddb_qhost_next_due(const ddb_qhost *q)
{
    if (q->nlater)
        return (int64_t)q->now;
    int64_t best = -1;
    for (size_t i = 0; i < q->nhandles; i++) {
        const ddb_host_handle *h = q->handles[i];
        if (!h->armed)
            continue;
        int64_t due = h->is_pump ? (int64_t)q->now : (int64_t)h->due;
        if (best < 0 || due < best)
            best = due;
    }
    return best;
}

uint64_t ddb_qhost_now(ddb_qhost *q)
{
    q->now = clock_ms();
    return q->now;
}

void ddb_qhost_counts(const ddb_qhost *q, int *streams, int *handles)
{
    *streams = (int)q->nstreams;
    *handles = (int)q->nhandles + (int)q->nlater;
}

ddb_qhost *ddb_qhost_new(void)
{
    ddb_qhost *q = calloc(1, sizeof *q);
    if (q)
        q->now = clock_ms();
    return q;
}

void ddb_qhost_free(ddb_qhost *q)
{
    if (!q)
        return;
    run_deferred(q);
    while (q->nstreams)
        forget_stream(q->streams[q->nstreams - 1]);
    for (size_t i = 0; i < q->nhandles; i++)
        free(q->handles[i]);
    free(q->handles);
    free(q->streams);
    free(q->intents);
    free(q->later);
    free(q);
}

const ddb_host_vt ddb_qhost_vt = {
    .now_ms = qh_now_ms, .update_time = qh_update_time,
    .timer_new = qh_timer_new, .timer_start = qh_timer_start,
    .timer_stop = qh_timer_stop, .pump_new = qh_pump_new,
    .pump_start = qh_pump_start, .pump_stop = qh_pump_stop, .close = qh_close,
    .stream_open = qh_stream_open, .stream_write = qh_stream_write,
    .stream_pause = qh_stream_pause, .stream_close = qh_stream_close,
};
