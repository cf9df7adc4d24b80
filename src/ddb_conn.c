/* ddb_conn.c — one connection on libuv: connect with timeout, handshake, login,
 * initial script, one request at a time, per-request deadline, reconnect with
 * back-off. See ddb_conn.h for the state machine. */
#include "ddb_conn.h"
#include "dolphindb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct conn_write {
    uv_write_t req;
    ddb_buf head;                   /* header line (+ whole handshake requests) */
    ddb_task *task;                 /* keeps the task's body alive until written */
    ddb_sock *sock;
} conn_write;

typedef struct conn_resolve {
    uv_getaddrinfo_t req;
    ddb_conn *conn;
    unsigned gen;
} conn_resolve;

static void begin_attempt(ddb_conn *c);
static void attempt_failed(ddb_conn *c, const char *fmt, const char *detail);
static void conn_broken(ddb_conn *c, const char *what);
static void conn_timer_cb(uv_timer_t *timer);
static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

int ddb_conn_init(ddb_conn *c, const ddb_conn_events *ev, void *owner,
                  const ddb_conn_settings *set, int index, int site)
{
    memset(c, 0, sizeof *c);
    c->ev = ev;
    c->owner = owner;
    c->set = set;
    c->index = index;
    c->site = site;
    c->state = DDB_CONN_IDLE;
    c->little_endian = 1;
    ddb_ha_client_id(c->client_id, sizeof c->client_id);
    ddb_limits lim;
    ddb_limits_default(&lim);
    lim.max_object_bytes = set->max_result_bytes > 0 ? set->max_result_bytes
                                                     : DDB_DEFAULT_MAX_RESULT;
    if (ddb_resp_init(&c->resp, &lim))
        return -1;
    if (uv_timer_init(set->loop, &c->timer))
        return -1;
    c->timer.data = c;
    c->timer_open = 1;
    ev->handle_opened(owner);
    return 0;
}

static void sock_closed(uv_handle_t *h)
{
    ddb_sock *s = h->data;
    const ddb_conn_events *ev = s->ev;
    void *owner = s->owner;
    free(s);
    ev->handle_closed(owner);
}

static void close_sock(ddb_conn *c)
{
    ddb_sock *s = c->sock;
    /* Whatever the abandoned response had decoded so far is garbage now: free it
     * at once rather than when the next response starts. */
    ddb_resp_reset(&c->resp);
    c->paused = 0;
    if (!s)
        return;
    c->sock = NULL;
    s->conn = NULL;
    uv_close((uv_handle_t *)&s->tcp, sock_closed);
}

static void set_error(ddb_conn *c, const char *fmt, const char *detail)
{
    char what[300], line[sizeof c->last_error];
    snprintf(what, sizeof what, fmt, detail);
    snprintf(line, sizeof line, "%.200s:%d: %.300s", c->host, c->port, what);
    /* A server may quote the login arguments in its error */
    c->ev->redact(c->owner, line, c->last_error, sizeof c->last_error);
}

/* ------------------------------------------------------------------ writing */

static void write_done(uv_write_t *req, int status)
{
    conn_write *w = req->data;
    ddb_sock *s = w->sock;
    ddb_task_unref(w->task);
    ddb_buf_free(&w->head);
    free(w);
    if (status < 0 && status != UV_ECANCELED && s->conn)
        conn_broken(s->conn, uv_strerror(status));
}

/* Write `head` and, when t is given, its body. Takes over head's memory (leaves
 * *head empty). Most requests fit the socket buffer and go out at once with
 * uv_try_write (no request object, no callback); the rest is queued with uv_write. */
static int send_request(ddb_conn *c, ddb_buf *head, ddb_task *t)
{
    uv_stream_t *stream = (uv_stream_t *)&c->sock->tcp;
    uv_buf_t bufs[2] = { uv_buf_init(head->p, (unsigned)head->len) };
    int n = 1;
    if (t)
        bufs[n++] = uv_buf_init(t->body.p, (unsigned)t->body.len);
    size_t total = head->len + (t ? t->body.len : 0);
    int wrote = uv_try_write(stream, bufs, (unsigned)n);
    if (wrote >= 0 && (size_t)wrote == total) {
        ddb_buf_free(head);
        ddb_buf_init(head);
        return 0;
    }
    if (wrote < 0 && wrote != UV_EAGAIN) {
        ddb_buf_free(head);
        ddb_buf_init(head);
        return wrote;
    }
    size_t skip = wrote > 0 ? (size_t)wrote : 0;
    int first = 0;
    while (first < n && skip >= bufs[first].len) {
        skip -= bufs[first].len;
        first++;
    }
    bufs[first].base += skip;
    bufs[first].len -= skip;
    conn_write *w = calloc(1, sizeof *w);
    if (!w) {
        ddb_buf_free(head);
        ddb_buf_init(head);
        return UV_ENOMEM;
    }
    w->head = *head;            /* bufs may point into it: it lives until write_done */
    ddb_buf_init(head);
    w->task = ddb_task_ref(t);
    w->sock = c->sock;
    w->req.data = w;
    int rc = uv_write(&w->req, stream, bufs + first, (unsigned)(n - first), write_done);
    if (rc) {
        ddb_task_unref(w->task);
        ddb_buf_free(&w->head);
        free(w);
    }
    return rc;
}

/* ------------------------------------------------------------------ handshake */

static void become_ready(ddb_conn *c)
{
    uv_timer_stop(&c->timer);
    if (c->ever_ready)
        c->reconnects++;
    c->ever_ready = 1;
    c->attempts = 0;
    c->redirects = 0;
    c->state = DDB_CONN_READY;
    c->last_error[0] = 0;
    c->ev->ready(c->owner, c);
}

/* Send the next handshake request after `done_step`, or become READY. */
static void handshake_next(ddb_conn *c, int done_step)
{
    const ddb_conn_settings *p = c->set;
    ddb_buf head;
    char err[200];
    int rc = 0;
    ddb_buf_init(&head);
    ddb_resp_reset(&c->resp);
    int want_login = p->userid && p->userid[0] && !p->login_in_connect;
    if (done_step == HS_CONNECT && want_login) {
        ddb_obj *args[3] = { ddb_string_new(DDB_STRING, p->userid, strlen(p->userid)),
                             ddb_string_new(DDB_STRING, p->password, strlen(p->password)),
                             ddb_int_new(DDB_BOOL, 0) };
        ddb_behavior b;
        ddb_behavior_default(&b);
        rc = args[0] && args[1] && args[2] ?
             ddb_req_function(&head, c->session_id, &b, "login", args, 3, err, sizeof err) :
             -1;
        for (int i = 0; i < 3; i++)
            ddb_obj_unref(args[i]);
        c->hs_step = HS_LOGIN;
    } else if (done_step != HS_INIT && p->initial_script && p->initial_script[0]) {
        ddb_behavior b;
        ddb_behavior_default(&b);
        rc = ddb_req_script(&head, c->session_id, &b, p->initial_script,
                            strlen(p->initial_script), err, sizeof err);
        c->hs_step = HS_INIT;
    } else {
        ddb_buf_free(&head);
        become_ready(c);
        return;
    }
    if (rc || send_request(c, &head, NULL)) {
        ddb_buf_free(&head);
        attempt_failed(c, "cannot send the handshake: %s", rc ? err : "write failed");
    }
}

static int is_bool_false(const ddb_obj *o)
{
    return o && o->form == DDB_SCALAR && o->type == DDB_BOOL && ddb_int_at(o, 0) == 0;
}

static void handshake_reply(ddb_conn *c)
{
    ddb_resp *r = &c->resp;
    char host[256];
    int port;
    snprintf(c->session_id, sizeof c->session_id, "%s", r->session_id);
    c->little_endian = r->little_endian;
    if (r->is_error && c->set->high_availability &&
        ddb_parse_not_leader(r->error, host, sizeof host, &port)) {
        ddb_conn_redirect(c, host, port);
        return;
    }
    static const char *steps[] = { "connect", "login", "initial script" };
    if (r->is_error || is_bool_false(r->obj)) {
        char msg[220];
        snprintf(msg, sizeof msg, "%s failed: %s", steps[c->hs_step],
                 r->is_error ? r->error : "the server answered false");
        set_error(c, "%s", msg);
        /* Bad credentials or a failing initial script will not heal by retrying. */
        close_sock(c);
        uv_timer_stop(&c->timer);
        c->state = DDB_CONN_DEAD;
        c->ev->dead(c->owner, c);
        return;
    }
    handshake_next(c, c->hs_step);
}

/* ------------------------------------------------------------------ reading */

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    ddb_sock *s = h->data;
    if (s->conn)
        *buf = uv_buf_init(s->conn->rbuf, sizeof s->conn->rbuf);
    else
        *buf = uv_buf_init(NULL, 0);
}

static void task_reply(ddb_conn *c)
{
    ddb_task *t = c->task;
    c->task = NULL;
    uv_timer_stop(&c->timer);
    c->tasks_run++;
    snprintf(c->session_id, sizeof c->session_id, "%s", c->resp.session_id);
    c->state = DDB_CONN_READY;
    c->ev->response(c->owner, c, t);    /* may redirect c or give it a new task */
}

/* Bytes one connection may have parsed per loop iteration. libuv reads up to 32
 * buffers (2 MiB) from a socket per iteration; a server streaming without pause (an
 * MSG flood, a huge result) would hold the loop that long per connection and make
 * every other timer late. Past this, reading stops and resumes from the pool's idle
 * pump on the next iteration, after its timers ran. */
#define READ_BURST ((size_t)256 << 10)

/* What one MSG block costs the loop (an allocation), in bytes of bulk data: a flood
 * of empty blocks is mostly allocations, not copying. */
#define MSG_BLOCK_WORK 256

static void pace_reading(ddb_conn *c, size_t n)
{
    uint64_t now = uv_now(c->set->loop);
    if (now != c->burst_at) {
        c->burst_at = now;
        c->burst = 0;
    }
    c->burst += n;
    if (c->burst < READ_BURST || !c->sock)
        return;
    uv_read_stop((uv_stream_t *)&c->sock->tcp);
    c->paused = 1;
    c->ev->resume_later(c->owner);
}

void ddb_conn_resume(ddb_conn *c)
{
    if (!c->paused || !c->sock)
        return;
    c->paused = 0;
    c->burst = 0;
    int rc = uv_read_start((uv_stream_t *)&c->sock->tcp, alloc_cb, read_cb);
    if (rc)
        conn_broken(c, uv_strerror(rc));
}

static void on_read(ddb_conn *c, ssize_t nread, const uv_buf_t *buf);

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    ddb_sock *s = stream->data;
    ddb_conn *c = s->conn;
    if (!c || nread == 0)
        return;
    const ddb_conn_events *ev = c->ev;
    void *owner = c->owner;
    on_read(c, nread, buf);
    ev->read_done(owner);       /* c may be reused by now: only the owner is told */
}

static void on_read(ddb_conn *c, ssize_t nread, const uv_buf_t *buf)
{
    if (nread < 0) {
        conn_broken(c, nread == UV_EOF ? "the server closed the connection"
                                       : uv_strerror((int)nread));
        return;
    }
    if (c->state != DDB_CONN_BUSY && c->state != DDB_CONN_HANDSHAKE) {
        conn_broken(c, "unexpected bytes from the server while idle");
        return;
    }
    size_t used = 0;
    int msgs_before = c->resp.nmsgs;
    int rc = ddb_resp_feed(&c->resp, buf->base, (size_t)nread, &used);
    if (rc == DDB_RESP_ERROR) {
        char msg[220];
        snprintf(msg, sizeof msg, "protocol error: %s", c->resp.parse_error);
        conn_broken(c, msg);
        return;
    }
    if (rc == DDB_RESP_NEED_MORE) {
        size_t blocks = (size_t)(c->resp.nmsgs - msgs_before);
        pace_reading(c, (size_t)nread + blocks * MSG_BLOCK_WORK);
        return;
    }
    if (used != (size_t)nread) {
        /* A request/response protocol never sends more than one response. */
        conn_broken(c, "protocol error: unexpected bytes after a response");
        return;
    }
    if (c->state == DDB_CONN_HANDSHAKE)
        handshake_reply(c);
    else
        task_reply(c);
}

/* ------------------------------------------------------------------ connecting */

static void connect_cb(uv_connect_t *req, int status)
{
    ddb_sock *s = req->data;
    ddb_conn *c = s->conn;
    if (!c || status == UV_ECANCELED)
        return;
    if (status < 0) {
        attempt_failed(c, "connect failed: %s", uv_strerror(status));
        return;
    }
    uv_tcp_nodelay(&s->tcp, 1);
    if (c->set->keepalive_sec > 0)
        uv_tcp_keepalive(&s->tcp, 1, (unsigned)c->set->keepalive_sec);
    int rc = uv_read_start((uv_stream_t *)&s->tcp, alloc_cb, read_cb);
    if (rc) {
        attempt_failed(c, "cannot read: %s", uv_strerror(rc));
        return;
    }
    c->state = DDB_CONN_HANDSHAKE;
    c->hs_step = HS_CONNECT;
    ddb_resp_reset(&c->resp);
    const ddb_conn_settings *p = c->set;
    ddb_buf head;
    char err[200] = "write failed";
    ddb_buf_init(&head);
    const char *user = p->login_in_connect ? p->userid : NULL;
    int flag = p->compress ? DDB_FLAG_COMPRESS : 0;
    if (ddb_req_connect(&head, flag, user, p->password, err, sizeof err) ||
        send_request(c, &head, NULL)) {
        ddb_buf_free(&head);
        attempt_failed(c, "cannot send connect: %s", err);
    }
}

static void connect_to(ddb_conn *c, const struct sockaddr *addr)
{
    ddb_sock *s = calloc(1, sizeof *s);
    if (!s) {
        attempt_failed(c, "%s", "out of memory");
        return;
    }
    s->ev = c->ev;
    s->owner = c->owner;
    s->conn = c;
    s->tcp.data = s;
    s->creq.data = s;
    int rc = uv_tcp_init(c->set->loop, &s->tcp);
    if (rc) {
        free(s);
        attempt_failed(c, "socket: %s", uv_strerror(rc));
        return;
    }
    c->ev->handle_opened(c->owner);
    c->sock = s;
    rc = uv_tcp_connect(&s->creq, &s->tcp, addr, connect_cb);
    if (rc)
        attempt_failed(c, "connect failed: %s", uv_strerror(rc));
}

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    conn_resolve *r = req->data;
    ddb_conn *c = r->conn;
    int current = c->attempt_gen == r->gen && c->state == DDB_CONN_CONNECTING &&
                  !c->ev->is_stopping(c->owner);
    free(r);
    if (current) {
        if (status < 0 || !res)
            attempt_failed(c, "cannot resolve host: %s", uv_strerror(status));
        else
            connect_to(c, res->ai_addr);
    }
    if (res)
        uv_freeaddrinfo(res);
    c->ev->handle_closed(c->owner);     /* c lives as long as its owner */
}

static void begin_attempt(ddb_conn *c)
{
    if (c->ev->is_stopping(c->owner))
        return;
    if (!c->redirected) {
        const char *host;
        c->ev->site(c->owner, c->site, &host, &c->port);
        snprintf(c->host, sizeof c->host, "%s", host);
    }
    c->attempt_gen++;
    c->state = DDB_CONN_CONNECTING;
    uv_timer_start(&c->timer, conn_timer_cb, c->ev->connect_timeout_ms(c->owner), 0);
    struct sockaddr_storage ss;
    if (uv_ip4_addr(c->host, c->port, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(c->host, c->port, (struct sockaddr_in6 *)&ss) == 0) {
        connect_to(c, (struct sockaddr *)&ss);
        return;
    }
    conn_resolve *r = calloc(1, sizeof *r);
    if (!r) {
        attempt_failed(c, "%s", "out of memory");
        return;
    }
    r->conn = c;
    r->gen = c->attempt_gen;
    r->req.data = r;
    char port[16];
    snprintf(port, sizeof port, "%d", c->port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    int rc = uv_getaddrinfo(c->set->loop, &r->req, resolved, c->host, port, &hints);
    if (rc) {
        free(r);
        attempt_failed(c, "cannot resolve host: %s", uv_strerror(rc));
        return;
    }
    c->ev->handle_opened(c->owner);
}

/* A connect/handshake attempt failed: back off and retry, or give up (DEAD). */
static void attempt_failed(ddb_conn *c, const char *fmt, const char *detail)
{
    set_error(c, fmt, detail);
    close_sock(c);
    uv_timer_stop(&c->timer);
    c->attempt_gen++;           /* a resolver reply still in flight is now stale */
    if (c->ev->is_stopping(c->owner)) {
        c->state = DDB_CONN_IDLE;
        return;
    }
    c->attempts++;
    if (c->redirected)
        c->redirected = 0;      /* the redirect target failed: back to the site list */
    else
        c->site = c->ev->next_site(c->owner, c->site);
    if (c->max_attempts > 0 && c->attempts >= c->max_attempts) {
        c->state = DDB_CONN_DEAD;
        c->ev->dead(c->owner, c);
        return;
    }
    c->state = DDB_CONN_BACKOFF;
    uv_timer_start(&c->timer, conn_timer_cb, c->ev->backoff_ms(c->owner, c->attempts), 0);
}

/* An established connection broke (READY, BUSY or during the handshake). */
static void conn_broken(ddb_conn *c, const char *what)
{
    if (c->state == DDB_CONN_HANDSHAKE || c->state == DDB_CONN_CONNECTING) {
        attempt_failed(c, "%s", what);
        return;
    }
    set_error(c, "%s", what);
    ddb_task *t = c->task;
    c->task = NULL;
    close_sock(c);
    uv_timer_stop(&c->timer);
    if (c->ev->is_stopping(c->owner)) {
        c->state = DDB_CONN_IDLE;
    } else if (c->set->reconnect) {
        c->attempts = 0;
        begin_attempt(c);       /* first retry at once; back-off after failures */
    } else {
        c->state = DDB_CONN_DEAD;
    }
    char why[sizeof c->last_error];
    snprintf(why, sizeof why, "%s", c->last_error);
    if (t)
        c->ev->lost(c->owner, c, t, why);
    if (c->state == DDB_CONN_DEAD)
        c->ev->dead(c->owner, c);
}

static void conn_timer_cb(uv_timer_t *timer)
{
    ddb_conn *c = timer->data;
    char secs[32];
    switch (c->state) {
    case DDB_CONN_CONNECTING:
    case DDB_CONN_HANDSHAKE:
        snprintf(secs, sizeof secs, "%.3g s", c->set->connect_timeout);
        attempt_failed(c, "connect timed out after %s", secs);
        break;
    case DDB_CONN_BACKOFF:
        begin_attempt(c);
        break;
    case DDB_CONN_BUSY: {
        ddb_task *t = ddb_conn_abort_task(c, "timed out");
        if (t)
            c->ev->timed_out(c->owner, c, t);
        break;
    }
    default:
        break;
    }
}

/* ------------------------------------------------------------------ public to pool */

void ddb_conn_start(ddb_conn *c, int max_attempts)
{
    c->attempts = 0;
    c->max_attempts = max_attempts;
    begin_attempt(c);
}

void ddb_conn_run(ddb_conn *c, ddb_task *t, uint64_t now_ms)
{
    ddb_behavior b = t->behavior;
    if (c->set->high_availability) {
        /* A resend keeps the clientId of the connection that first sent it, so the
         * server can match -seqNo against what that client executed
         * (docs/PROTOCOL.md §2.6). */
        if (t->seqno == 0) {
            t->seqno = c->ev->next_seqno(c->owner);
            memcpy(t->client_id, c->client_id, sizeof t->client_id);
        }
        b.client_id = t->client_id;
        b.seqno = t->resends ? -t->seqno : t->seqno;   /* §2.6: a resend is negated */
    }
    ddb_buf head;
    char err[200];
    ddb_buf_init(&head);
    c->task = t;
    c->state = DDB_CONN_BUSY;
    t->conn_index = c->index;
    ddb_resp_reset(&c->resp);
    ddb_resp_set_max_bytes(&c->resp, t->max_result_bytes);
    const char *kind = "API2";
    int rc = ddb_req_header(&head, kind, c->session_id, t->body_len, &b, err, sizeof err);
    if (rc == 0 && (rc = send_request(c, &head, t)) != 0)
        snprintf(err, sizeof err, "%s", uv_strerror(rc));
    if (rc) {
        ddb_buf_free(&head);
        char what[240];
        snprintf(what, sizeof what, "cannot send the request: %s", err);
        conn_broken(c, what);
        return;
    }
    if (t->deadline_ms) {
        uint64_t left = t->deadline_ms > now_ms ? t->deadline_ms - now_ms : 1;
        uv_timer_start(&c->timer, conn_timer_cb, left, 0);
    }
}

ddb_task *ddb_conn_abort_task(ddb_conn *c, const char *why)
{
    ddb_task *t = c->task;
    c->task = NULL;
    set_error(c, "request abandoned: %s", why);
    close_sock(c);
    uv_timer_stop(&c->timer);
    c->attempts = 0;
    if (!c->ev->is_stopping(c->owner))
        begin_attempt(c);       /* a fresh session replaces the one we walked away from */
    else
        c->state = DDB_CONN_IDLE;
    return t;
}

void ddb_conn_redirect(ddb_conn *c, const char *host, int port)
{
    if (++c->redirects > 8) {
        /* Nodes pointing at each other: back off like any failed attempt. */
        c->redirects = 0;
        attempt_failed(c, "%s", "too many <NotLeader> redirects");
        return;
    }
    close_sock(c);
    uv_timer_stop(&c->timer);
    snprintf(c->host, sizeof c->host, "%s", host);
    c->port = port;
    c->redirected = 1;
    begin_attempt(c);
}

void ddb_conn_close(ddb_conn *c)
{
    close_sock(c);
    c->attempt_gen++;
    if (c->timer_open)
        uv_timer_stop(&c->timer);
    c->state = DDB_CONN_CLOSING;
}

static void timer_closed(uv_handle_t *h)
{
    ddb_conn *c = h->data;
    c->ev->handle_closed(c->owner);
}

void ddb_conn_close_timer(ddb_conn *c)
{
    if (c->timer_open) {
        c->timer_open = 0;
        uv_close((uv_handle_t *)&c->timer, timer_closed);
    }
}

void ddb_conn_free(ddb_conn *c)
{
    ddb_resp_free(&c->resp);
    free(c);
}
