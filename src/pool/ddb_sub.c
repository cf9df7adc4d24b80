/* ddb_sub.c — a streaming subscription over a host's stream and timers (ddb_sub.h):
 * the handshake (connect, login, getSubscriptionTopic, publishTable), pushed messages
 * into deliveries, batching, resubscription with back-off. */
#include "ddb_sub.h"
#include "ddb_auth.h"
#include "ddb_login.h"
#include "ddb_proto.h"
#include "ddb_stream.h"
#include "dolphindb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { STEP_CONNECT, STEP_LOGIN, STEP_TOPIC, STEP_PUBLISH };

#define MAX_SITES 16            /* HA fail-over candidates kept from publishTable */

/* One delivery waiting for the owner. */
typedef struct queued {
    struct queued *next;
    ddb_sub_delivery d;
} queued;

struct ddb_sub {
    const ddb_host_vt *host;
    void *host_ud;
    ddb_sub_cfg cfg;                /* strings below are our copies */
    ddb_tls_opts tls;
    ddb_sub_notify notify;
    void *ud;
    int state, step;
    char target[256];               /* node of the current attempt */
    int target_port, redirected, redirects, attempts;
    /* an HA stream table's sites (publishTable's reply): site 0 is the configured
     * node, 1..nsites these; a failed attempt moves to the next */
    char sites[MAX_SITES][256];
    int site_ports[MAX_SITES];
    int nsites, site;
    ddb_host_stream *stream;
    ddb_host_handle *timer, *throttle;
    int open_handles;               /* host handles not yet released */
    int paused;

    ddb_resp resp;
    ddb_login login;
    char session_id[32];
    ddb_stream_parser *parser;
    ddb_obj *schema;                /* the last schema message's table */

    ddb_obj **batch;                /* bodies gathered for the next delivery */
    int nbatch, cap_batch;
    int64_t batch_rows, batch_last;
    queued *head, *tail;            /* deliveries the owner has not taken */

    int subscribed;
    int64_t next_offset, last_offset, messages, rows, reconnects, queued_rows;
    char topic[512];
    char last_error[640];
};

static void begin_attempt(ddb_sub *s);
static void broken(ddb_sub *s, const char *fmt, const char *detail);

/* ------------------------------------------------------------------ lifetime */

static void maybe_free(ddb_sub *s)
{
    if (s->state != DDB_SUB_CLOSED || s->open_handles > 0) return;
    ddb_resp_free(&s->resp);
    ddb_login_free(&s->login);
    ddb_stream_parser_free(s->parser);
    ddb_obj_unref(s->schema);
    ddb_obj_unref((ddb_obj *)s->cfg.filter);
    for (int i = 0; i < s->nbatch; i++) ddb_obj_unref(s->batch[i]);
    free(s->batch);
    while (s->head) {
        queued *q = s->head;
        s->head = q->next;
        ddb_obj_unref(q->d.table);
        free(q);
    }
    free((char *)s->cfg.host);
    free((char *)s->cfg.table);
    free((char *)s->cfg.action);
    free((char *)s->cfg.userid);
    if (s->cfg.password) ddb_wipe((char *)s->cfg.password, strlen(s->cfg.password));
    free((char *)s->cfg.password);
    free((char *)s->tls.ca_file);
    free((char *)s->tls.server_name);
    free(s);
}

static void handle_closed(void *arg)
{
    ddb_sub *s = arg;
    s->open_handles--;
    maybe_free(s);
}

static void close_stream(ddb_sub *s)
{
    ddb_resp_reset(&s->resp);
    ddb_login_free(&s->login);
    ddb_stream_parser_reset(s->parser);
    s->paused = 0;
    if (!s->stream) return;
    ddb_host_stream *st = s->stream;
    s->stream = NULL;
    s->host->stream_close(st, handle_closed, s);
}

static char *dup_or_null(const char *p, int *failed)
{
    if (!p) return NULL;
    char *c = strdup(p);
    if (!c) *failed = 1;
    return c;
}

static int copy_cfg(ddb_sub *s, const ddb_sub_cfg *cfg)
{
    int failed = 0;
    s->cfg = *cfg;
    s->cfg.host = dup_or_null(cfg->host, &failed);
    s->cfg.table = dup_or_null(cfg->table, &failed);
    s->cfg.action = dup_or_null(cfg->action ? cfg->action : "", &failed);
    s->cfg.userid = dup_or_null(cfg->userid, &failed);
    s->cfg.password = dup_or_null(cfg->password ? cfg->password : "", &failed);
    s->cfg.filter = ddb_obj_ref((ddb_obj *)cfg->filter);
    s->cfg.tls = NULL;
    if (cfg->tls) {
        s->tls.verify = cfg->tls->verify;
        s->tls.ca_file = dup_or_null(cfg->tls->ca_file, &failed);
        s->tls.server_name = dup_or_null(cfg->tls->server_name, &failed);
        s->cfg.tls = &s->tls;
    }
    return failed ? -1 : 0;
}

static void timer_fired(void *arg);
static void throttle_fired(void *arg);

ddb_sub *ddb_sub_new(const ddb_host_vt *host, void *host_ud, const ddb_sub_cfg *cfg,
                     ddb_sub_notify notify, void *ud, char *err, size_t errlen)
{
    ddb_sub *s = calloc(1, sizeof *s);
    if (!s) goto oom;
    s->host = host;
    s->host_ud = host_ud;
    s->notify = notify;
    s->ud = ud;
    s->state = DDB_SUB_CLOSED;          /* what maybe_free needs if setting up fails */
    s->next_offset = cfg->offset;
    s->last_offset = -1;
    ddb_limits lim;
    ddb_limits_default(&lim);
    if (cfg->max_object_bytes > 0) lim.max_object_bytes = cfg->max_object_bytes;
    /* a zeroed ddb_resp frees cleanly, so maybe_free undoes any prefix of this */
    if (copy_cfg(s, cfg) || ddb_resp_init(&s->resp, &lim) ||
        !(s->parser = ddb_stream_parser_new(&lim))) {
        maybe_free(s);
        goto oom;
    }
    s->timer = host->timer_new(host_ud, timer_fired, s);
    s->throttle = s->timer ? host->timer_new(host_ud, throttle_fired, s) : NULL;
    s->open_handles = (s->timer != NULL) + (s->throttle != NULL);
    if (!s->throttle) {
        if (s->timer) host->close(s->timer, handle_closed);
        if (!s->timer) maybe_free(s);
        snprintf(err, errlen, "cannot make a timer");
        return NULL;
    }
    s->state = DDB_SUB_CONNECTING;
    return s;
oom:
    snprintf(err, errlen, "out of memory");
    return NULL;
}

void ddb_sub_close(ddb_sub *s)
{
    if (s->state == DDB_SUB_CLOSED) return;
    s->state = DDB_SUB_CLOSED;
    close_stream(s);
    ddb_host_handle *t = s->timer, *th = s->throttle;
    s->timer = s->throttle = NULL;
    s->host->close(t, handle_closed);
    s->host->close(th, handle_closed);
}

/* ------------------------------------------------------------------ errors */

static void set_error(ddb_sub *s, const char *fmt, const char *detail)
{
    char what[400];
    snprintf(what, sizeof what, fmt, detail);
    snprintf(s->last_error, sizeof s->last_error, "%.200s:%d: %.400s", s->target,
             s->target_port, what);
}

static int build_batch(ddb_sub *s, char *err, size_t errlen);

/* Give up: nothing more will come (what was received stays takeable). */
static void go_dead(ddb_sub *s)
{
    char err[300];
    build_batch(s, err, sizeof err);    /* a bad batch is dropped with the stream */
    close_stream(s);
    s->host->timer_stop(s->timer);
    s->state = DDB_SUB_DEAD;
    s->notify(s->ud);
}

/* The attempt or the stream failed: retry (resub, once subscribed) or give up. */
static void broken(ddb_sub *s, const char *fmt, const char *detail)
{
    set_error(s, fmt, detail);
    close_stream(s);
    s->host->timer_stop(s->timer);
    if (!s->subscribed || !s->cfg.resub) {
        go_dead(s);
        return;
    }
    if (s->redirected) s->redirected = 0;   /* the redirect target failed: back home */
    else if (s->state != DDB_SUB_STREAMING && s->nsites) s->site = (s->site + 1) % (s->nsites + 1);
    uint64_t delay = s->cfg.backoff_ms;
    for (int i = 1; i < s->attempts && delay < s->cfg.backoff_max_ms; i++) delay *= 2;
    if (delay > s->cfg.backoff_max_ms) delay = s->cfg.backoff_max_ms;
    s->state = DDB_SUB_BACKOFF;
    s->host->timer_start(s->timer, s->attempts++ ? delay : 1);
}

static void redirect(ddb_sub *s, const char *host, int port)
{
    if (++s->redirects > 8) {
        s->redirects = 0;
        broken(s, "%s", "too many <NotLeader> redirects");
        return;
    }
    close_stream(s);
    snprintf(s->target, sizeof s->target, "%s", host);
    s->target_port = port;
    s->redirected = 1;
    begin_attempt(s);
}

static void timer_fired(void *arg)
{
    ddb_sub *s = arg;
    if (s->state == DDB_SUB_BACKOFF) {
        begin_attempt(s);
    } else if (s->state == DDB_SUB_CONNECTING || s->state == DDB_SUB_HANDSHAKE) {
        char secs[32];
        snprintf(secs, sizeof secs, "%.3g s", (double)s->cfg.connect_timeout_ms / 1000);
        broken(s, "subscribing timed out after %s", secs);
    }
}

/* ------------------------------------------------------------------ requests */

/* Sends head (taken over) and body; NULL or why not. */
static const char *send_head(ddb_sub *s, ddb_buf *head)
{
    return s->host->stream_write(s->stream, head, NULL, 0, NULL, NULL);
}

static int stream_call(ddb_sub *s, int step, char *err, size_t errlen)
{
    typedef int (*builder)(ddb_buf *, const ddb_stream_sub *, size_t *, char *, size_t);
    ddb_stream_sub req = {
        .host = "localhost", .port = 0, .table = s->cfg.table, .action = s->cfg.action,
        .offset = s->next_offset, .filter = s->cfg.filter, .allow_exists = 0,
    };
    builder build = step == STEP_TOPIC ? ddb_stream_body_topic : ddb_stream_body_publish;
    ddb_buf body, head;
    ddb_buf_init(&body);
    ddb_buf_init(&head);
    size_t text_len;
    ddb_behavior b;
    ddb_behavior_default(&b);
    b.flag = DDB_FLAG_REVERSE_STREAMING;
    int rc = build(&body, &req, &text_len, err, errlen) ||
             ddb_req_header(&head, "API2", s->session_id, text_len, &b, err, errlen) ||
             ddb_buf_put(&head, body.p, body.len);
    ddb_buf_free(&body);
    const char *why = rc ? NULL : send_head(s, &head);
    if (why) snprintf(err, errlen, "%s", why);
    if (rc || why) ddb_buf_free(&head);
    s->step = step;
    return rc || why ? -1 : 0;
}

/* The handshake step after `done`: login (when a user is set), topic, publish. */
static void next_step(ddb_sub *s, int done)
{
    char err[480];
    ddb_buf head;
    ddb_buf_init(&head);
    ddb_resp_reset(&s->resp);
    if (done == STEP_CONNECT && s->cfg.userid && s->cfg.userid[0]) {
        s->step = STEP_LOGIN;
        const char *why = NULL;
        if (ddb_login_start(&s->login, s->cfg.login_method, s->cfg.userid, s->cfg.password,
                            s->session_id, &head, err, sizeof err) != DDB_LOGIN_MORE ||
            (why = send_head(s, &head)) != NULL) {
            ddb_buf_free(&head);
            broken(s, "cannot log in: %s", why ? why : err);
        }
        return;
    }
    int step = done == STEP_TOPIC ? STEP_PUBLISH : STEP_TOPIC;
    if (stream_call(s, step, err, sizeof err) < 0)
        broken(s, "cannot send the request: %s", err);
}

static void login_reply(ddb_sub *s)
{
    ddb_buf head;
    char err[480];
    ddb_buf_init(&head);
    int rc = ddb_login_reply(&s->login, &s->resp, &head, err, sizeof err);
    ddb_resp_reset(&s->resp);
    if (rc == DDB_LOGIN_DONE) {
        ddb_login_free(&s->login);
        next_step(s, STEP_LOGIN);
        return;
    }
    const char *why = rc == DDB_LOGIN_MORE ? send_head(s, &head) : NULL;
    if (rc == DDB_LOGIN_MORE && !why) return;
    ddb_buf_free(&head);
    if (why) {
        broken(s, "cannot log in: %s", why);
        return;
    }
    /* bad credentials will not heal by retrying */
    set_error(s, "login failed: %.300s", err);
    go_dead(s);
}

static void subscribed(ddb_sub *s)
{
    s->host->timer_stop(s->timer);
    if (s->subscribed) s->reconnects++;
    s->subscribed = 1;
    s->redirects = 0;       /* attempts: reset by the first rows (add_rows), so a
                               message that breaks every stream backs off */
    s->state = DDB_SUB_STREAMING;
    s->last_error[0] = 0;
    s->notify(s->ud);
}

/* The "host:port:alias" sites of an HA stream table's publishTable reply: where to
 * resubscribe when the node fails (docs/STREAMING.md, sections 3 and 6). */
static void keep_sites(ddb_sub *s, const ddb_obj *reply)
{
    const ddb_obj *cols, *sites;
    char err[120];
    if (ddb_stream_reply_publish(reply, &cols, &sites, err, sizeof err) < 0 || !sites) return;
    s->nsites = 0;
    for (int64_t i = 0; i < sites->rows && s->nsites < MAX_SITES; i++) {
        size_t len;
        const char *site = ddb_str_at(sites, i, &len);
        const char *colon = site ? memchr(site, ':', len) : NULL;
        int port = colon ? atoi(colon + 1) : 0;
        size_t hlen = colon ? (size_t)(colon - site) : 0;
        if (!hlen || hlen >= sizeof s->sites[0] || port < 1 || port > 65535) continue;
        memcpy(s->sites[s->nsites], site, hlen);
        s->sites[s->nsites][hlen] = 0;
        s->site_ports[s->nsites++] = port;
    }
    if (s->site > s->nsites) s->site = 0;
}

static void handshake_reply(ddb_sub *s)
{
    ddb_resp *r = &s->resp;
    char host[256], err[300];
    int port;
    snprintf(s->session_id, sizeof s->session_id, "%s", r->session_id);
    if (r->is_error && ddb_parse_not_leader(r->error, host, sizeof host, &port)) {
        redirect(s, host, port);
        return;
    }
    if (s->step == STEP_LOGIN) {
        login_reply(s);
        return;
    }
    static const char *what[] = { "connect", "login", "getSubscriptionTopic", "publishTable" };
    if (r->is_error) {
        snprintf(err, sizeof err, "%s failed: %.250s", what[s->step], r->error);
        set_error(s, "%s", err);
        /* an unknown table or a refused subscription: retrying will not help unless
         * the subscription had worked before (a node restarting) */
        if (!s->subscribed) go_dead(s); else broken(s, "%s", err);
        return;
    }
    if (s->step == STEP_TOPIC &&
        ddb_stream_reply_topic(r->obj, s->topic, sizeof s->topic, err, sizeof err) < 0) {
        broken(s, "getSubscriptionTopic: %s", err);
        return;
    }
    if (s->step == STEP_PUBLISH) {
        keep_sites(s, r->obj);
        ddb_resp_reset(&s->resp);
        subscribed(s);
        return;
    }
    next_step(s, s->step);
}

/* ------------------------------------------------------------------ deliveries */

static void queue_delivery(ddb_sub *s, ddb_obj *table)
{
    queued *q = malloc(sizeof *q);
    if (!q) {                       /* lost rows: say so rather than skip silently */
        snprintf(s->last_error, sizeof s->last_error, "out of memory: rows dropped");
        s->queued_rows -= s->batch_rows;
        ddb_obj_unref(table);
        return;
    }
    q->next = NULL;
    q->d = (ddb_sub_delivery){ .table = table, .rows = s->batch_rows,
                               .last_offset = s->batch_last, .messages = s->nbatch };
    if (s->tail) s->tail->next = q; else s->head = q;
    s->tail = q;
}

/* The gathered bodies become one delivery: 0, or -1 with err (they are dropped). */
static int build_batch(ddb_sub *s, char *err, size_t errlen)
{
    if (!s->nbatch) return 0;
    s->host->timer_stop(s->throttle);
    ddb_obj *t = ddb_sub_table(s->schema, s->batch, s->nbatch, s->batch_rows, err, errlen);
    for (int i = 0; i < s->nbatch; i++) ddb_obj_unref(s->batch[i]);
    if (t) queue_delivery(s, t);
    else s->queued_rows -= s->batch_rows;
    s->nbatch = 0;
    s->batch_rows = 0;
    return t ? 0 : -1;
}

/* build_batch, or the stream is broken: 0 or -1. */
static int flush_batch(ddb_sub *s)
{
    char err[300];
    if (build_batch(s, err, sizeof err) == 0) return 0;
    broken(s, "bad message: %s", err);
    return -1;
}

static void throttle_fired(void *arg)
{
    ddb_sub *s = arg;
    if (flush_batch(s) == 0) s->notify(s->ud);
}

static int add_rows(ddb_sub *s, ddb_stream_msg *m)
{
    if (!s->schema) {
        broken(s, "%s", "rows before the schema message");
        return -1;
    }
    if (s->nbatch == s->cap_batch) {
        int cap = s->cap_batch ? s->cap_batch * 2 : 16;
        ddb_obj **b = realloc(s->batch, (size_t)cap * sizeof *b);
        if (!b) {
            broken(s, "%s", "out of memory");
            return -1;
        }
        s->batch = b;
        s->cap_batch = cap;
    }
    s->attempts = 0;                    /* progress: the next break retries at once */
    s->batch[s->nbatch++] = m->body;
    m->body = NULL;
    s->batch_rows += m->rows;
    s->batch_last = m->msg_id;
    s->messages++;
    s->rows += m->rows;
    s->queued_rows += m->rows;
    s->last_offset = m->msg_id;
    s->next_offset = m->msg_id + 1;     /* a resubscription starts after it */
    if (s->cfg.batch_size <= 0 || s->batch_rows >= s->cfg.batch_size)
        return flush_batch(s);
    if (s->nbatch == 1) s->host->timer_start(s->throttle, s->cfg.throttle_ms);
    return 0;
}

/* One pushed message. 0, or -1 (the stream is broken). */
static int on_message(ddb_sub *s, ddb_stream_msg *m)
{
    switch (m->kind) {
    case DDB_STREAM_SCHEMA:
        ddb_obj_unref(s->schema);
        s->schema = m->body;
        m->body = NULL;
        return 0;
    case DDB_STREAM_SERVER_ERROR: {
        size_t len;
        const char *txt = ddb_str_at(m->body, 0, &len);
        broken(s, "the publisher reports: %.300s", txt ? txt : "");
        return -1;
    }
    default:
        return add_rows(s, m);
    }
}

static void pace(ddb_sub *s)
{
    if (s->stream && !s->paused && s->cfg.max_queued_rows > 0 &&
        s->queued_rows >= s->cfg.max_queued_rows) {
        s->host->stream_pause(s->stream, 1);
        s->paused = 1;
    }
}

static void feed_stream(ddb_sub *s, const char *p, size_t n)
{
    while (n > 0 && s->state == DDB_SUB_STREAMING) {
        size_t used = 0;
        int rc = ddb_stream_feed(s->parser, p, n, &used);
        p += used;
        n -= used;
        if (rc == DDB_STREAM_ERROR) {
            broken(s, "bad message: %s", ddb_stream_error(s->parser));
            return;
        }
        if (rc != DDB_STREAM_MSG) return;
        ddb_stream_msg m;
        ddb_stream_take(s->parser, &m);
        int bad = on_message(s, &m);
        ddb_stream_msg_free(&m);
        if (bad) return;
    }
}

/* ------------------------------------------------------------------ stream reports */

static void stream_data(void *arg, const char *p, size_t n)
{
    ddb_sub *s = arg;
    int had = s->head != NULL;
    if (s->state == DDB_SUB_HANDSHAKE) {
        size_t used = 0;
        int rc = ddb_resp_feed(&s->resp, p, n, &used);
        if (rc == DDB_RESP_ERROR) {
            broken(s, "protocol error: %s", s->resp.parse_error);
            return;
        }
        if (rc == DDB_RESP_NEED_MORE) return;
        p += used;
        n -= used;
        handshake_reply(s);
        if (s->state == DDB_SUB_HANDSHAKE && n > 0) {
            broken(s, "%s", "protocol error: unexpected bytes after a response");
            return;
        }
    }
    if (s->state == DDB_SUB_STREAMING) feed_stream(s, p, n);
    pace(s);
    if (!had && s->head) s->notify(s->ud);
}

static void stream_connected(void *arg)
{
    ddb_sub *s = arg;
    s->state = DDB_SUB_HANDSHAKE;
    s->step = STEP_CONNECT;
    ddb_resp_reset(&s->resp);
    ddb_buf head;
    char err[200];
    ddb_buf_init(&head);
    const char *why = ddb_req_connect(&head, DDB_FLAG_REVERSE_STREAMING, NULL, "", err,
                                      sizeof err) ? err : send_head(s, &head);
    if (why) {
        ddb_buf_free(&head);
        broken(s, "cannot send connect: %s", why);
    }
}

static void stream_failed(void *arg, const char *why)
{
    broken(arg, "%s", why);
}

static const ddb_stream_cbs sub_stream_cbs = {
    .connected = stream_connected, .data = stream_data, .failed = stream_failed,
};

static void begin_attempt(ddb_sub *s)
{
    if (!s->redirected) {
        int site = s->site;
        snprintf(s->target, sizeof s->target, "%s", site ? s->sites[site - 1] : s->cfg.host);
        s->target_port = site ? s->site_ports[site - 1] : s->cfg.port;
    }
    s->state = DDB_SUB_CONNECTING;
    s->session_id[0] = 0;
    s->host->timer_start(s->timer, s->cfg.connect_timeout_ms);
    char err[200];
    s->stream = s->host->stream_open(s->host_ud, s->target, s->target_port,
                                     s->cfg.keepalive_sec, s->cfg.tls, &sub_stream_cbs, s,
                                     err, sizeof err);
    if (!s->stream) {
        broken(s, "%s", err);
        return;
    }
    s->open_handles++;
}

/* ------------------------------------------------------------------ the owner's calls */

void ddb_sub_start(ddb_sub *s)
{
    if (s->state == DDB_SUB_CONNECTING && !s->stream) begin_attempt(s);
}

int ddb_sub_take(ddb_sub *s, ddb_sub_delivery *d)
{
    queued *q = s->head;
    if (!q || s->state == DDB_SUB_CLOSED) return 0;
    s->head = q->next;
    if (!s->head) s->tail = NULL;
    *d = q->d;
    free(q);
    s->queued_rows -= d->rows;
    if (s->paused && s->stream && s->queued_rows < s->cfg.max_queued_rows / 2) {
        s->paused = 0;
        const char *why = s->host->stream_pause(s->stream, 0);
        if (why) broken(s, "%s", why);
    }
    return 1;
}

void ddb_sub_stats_get(const ddb_sub *s, ddb_sub_stats *st)
{
    *st = (ddb_sub_stats){
        .state = s->state, .subscribed = s->subscribed, .messages = s->messages,
        .rows = s->rows, .last_offset = s->last_offset, .next_offset = s->next_offset,
        .reconnects = s->reconnects, .queued_rows = s->queued_rows, .paused = s->paused,
        .topic = s->topic,
        .host = s->target[0] ? s->target : s->cfg.host, .port = s->target_port,
        .last_error = s->last_error,
    };
}
