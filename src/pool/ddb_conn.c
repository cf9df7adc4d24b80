/* ddb_conn.c — one connection over a host's stream and timer (ddb_host.h): connect with timeout, handshake, login,
 * initial script, one request at a time, per-request deadline, reconnect with
 * back-off. See ddb_conn.h for the state machine. */
#include "ddb_conn.h"
#include "dolphindb.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void begin_attempt(ddb_conn *c);
static void attempt_failed(ddb_conn *c, const char *fmt, const char *detail);
static void conn_broken(ddb_conn *c, const char *what);
static void conn_timer_cb(void *arg);

#define HOST(c) ((c)->set->host)
#define HOST_UD(c) ((c)->set->host_ud)

/* Every state change, so the owner's count of READY connections stays exact (its
 * dispatch stops looking once none is left). */
static void set_state(ddb_conn *c, int state)
{
    *c->set->nready += (state == DDB_CONN_READY) - (c->state == DDB_CONN_READY);
    c->state = state;
}

/* One line for the owner's event log; nothing is formatted below its level. */
static void conn_log(ddb_conn *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void conn_log(ddb_conn *c, int level, const char *fmt, ...)
{
    if (level < c->set->log_min)
        return;
    char line[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->ev->log(c->owner, level, line);
}

int ddb_conn_init(ddb_conn *c, const ddb_conn_events *ev, void *owner,
                  const ddb_conn_settings *set, int index, int site)
{
    memset(c, 0, sizeof *c);
    c->ev = ev;
    c->owner = owner;
    c->set = set;
    c->index = index;
    c->site = site;
    set_state(c, DDB_CONN_IDLE);
    c->little_endian = 1;
    ddb_ha_client_id(c->client_id, sizeof c->client_id);
    ddb_limits lim;
    ddb_limits_default(&lim);
    lim.max_object_bytes = set->max_result_bytes > 0 ? set->max_result_bytes
                                                     : DDB_DEFAULT_MAX_RESULT;
    if (ddb_resp_init(&c->resp, &lim))
        return -1;
    c->timer = HOST(c)->timer_new(HOST_UD(c), conn_timer_cb, c);
    if (!c->timer) {
        ddb_resp_free(&c->resp);
        return -1;
    }
    ev->handle_opened(owner);
    return 0;
}

static void stream_closed(void *arg)
{
    ddb_conn *c = arg;                  /* a connection lives as long as its owner */
    c->ev->handle_closed(c->owner);
}

static void close_stream(ddb_conn *c)
{
    /* Whatever the abandoned response had decoded so far is garbage now: free it
     * at once rather than when the next response starts. */
    ddb_resp_reset(&c->resp);
    ddb_login_free(&c->login);      /* an exchange cut short: wipe what it held */
    c->paused = 0;
    c->blocked = 0;
    ddb_buf_free(&c->stash);
    ddb_buf_init(&c->stash);
    if (!c->stream)
        return;
    ddb_host_stream *s = c->stream;
    c->stream = NULL;
    HOST(c)->stream_close(s, stream_closed, c);
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

static void retain_task(void *t) { ddb_task_ref(t); }
static void release_task(void *t) { ddb_task_unref(t); }

/* Write `head` and, when t is given, its body (the task stays referenced while the
 * host holds the body: most requests go out at once and need no reference). Takes
 * over head's memory, except c->head's, which stays for the next request when the
 * host can borrow it. NULL or why it failed. */
static const char *send_request(ddb_conn *c, ddb_buf *head, ddb_task *t)
{
    const char *body = t ? ddb_task_body(t) : NULL;
    size_t body_len = t ? t->body_size : 0;
    ddb_host_fn release = t ? release_task : NULL;
    if (head == &c->head && HOST(c)->stream_write_borrowed) {
        const char *why = HOST(c)->stream_write_borrowed(c->stream, head->p, head->len,
                                                         body, body_len,
                                                         t ? retain_task : NULL, release, t);
        ddb_buf_reset(head);
        return why;
    }
    return HOST(c)->stream_write(c->stream, head, body, body_len, release,
                                 t ? ddb_task_ref(t) : NULL);
}

/* Every reply carries the session id (a few validated digits, NUL-terminated in the
 * parser's array of the same size): a copy of the whole array, as it runs once per
 * task (snprintf cost ~15 % of a task's instructions, strnlen + memcpy still 1.5 %). */
static void copy_session_id(ddb_conn *c, const ddb_resp *r)
{
    _Static_assert(sizeof c->session_id == sizeof r->session_id, "session id sizes");
    memcpy(c->session_id, r->session_id, sizeof c->session_id);
}

/* ------------------------------------------------------------------ handshake */

/* Opened, reconnected, or failed over: a reconnect that landed on another node than
 * the last one is a failover, worth a warning. */
static void log_ready(ddb_conn *c)
{
    if (!c->ever_ready)
        conn_log(c, DDB_LOG_INFO, "connection %d open on %s:%d (session %s)", c->index,
                 c->host, c->port, c->session_id);
    else if (c->moving)
        conn_log(c, DDB_LOG_INFO, "connection %d moved from %s:%d to %s:%d (load "
                 "balancing; session %s)", c->index, c->ready_host, c->ready_port, c->host,
                 c->port, c->session_id);
    else if (c->port != c->ready_port || strcmp(c->host, c->ready_host) != 0)
        conn_log(c, DDB_LOG_WARN, "connection %d failed over from %s:%d to %s:%d "
                 "(session %s)", c->index, c->ready_host, c->ready_port, c->host, c->port,
                 c->session_id);
    else
        conn_log(c, DDB_LOG_INFO, "connection %d reconnected to %s:%d (session %s)",
                 c->index, c->host, c->port, c->session_id);
    snprintf(c->ready_host, sizeof c->ready_host, "%s", c->host);
    c->ready_port = c->port;
    c->moving = 0;
}

static void become_ready(ddb_conn *c)
{
    HOST(c)->timer_stop(c->timer);
    log_ready(c);
    if (c->ever_ready)
        c->reconnects++;
    c->ever_ready = 1;
    c->attempts = 0;
    c->redirects = 0;
    set_state(c, DDB_CONN_READY);
    c->untrusted = 0;
    c->last_error[0] = 0;
    c->ev->ready(c->owner, c);
}

/* ---- cancelling an abandoned job on the server ------------------------------------
 * Closing a connection does not stop its job: the server runs it to the end in the
 * old session. So after a cancel or timeout the reconnected connection, when it is
 * back on the same node, asks for the jobs of that session to be cancelled (the
 * session id is all the client knows of its request; getConsoleJobs maps it to the
 * root job ids cancelConsoleJob takes) before it takes tasks again. */

/* Is a cancel due on this attempt? One aimed at another node is dropped. */
static int cancel_wanted(ddb_conn *c)
{
    if (!c->cancel_session[0])
        return 0;
    if (c->port == c->cancel_port && strcmp(c->host, c->cancel_host) == 0)
        return 1;
    conn_log(c, DDB_LOG_INFO, "connection %d: the job of session %s on %s:%d is not "
             "cancelled: reconnected to %s:%d instead", c->index, c->cancel_session,
             c->cancel_host, c->cancel_port, c->host, c->port);
    c->cancel_session[0] = 0;
    return 0;
}

static int cancel_request(ddb_conn *c, ddb_buf *head, char *err, size_t errlen)
{
    char script[320];
    /* One request: list the session's jobs, cancel them, answer how many. */
    snprintf(script, sizeof script,
             "ddbAbandonedJobs_ = exec rootJobId from getConsoleJobs() where sessionId = %s\n"
             "if (size(ddbAbandonedJobs_) > 0) cancelConsoleJob(ddbAbandonedJobs_)\n"
             "size(ddbAbandonedJobs_)", c->cancel_session);
    ddb_behavior b;
    ddb_behavior_default(&b);
    b.flag = DDB_FLAG_URGENT | DDB_FLAG_CLEAR_MEMORY;   /* ahead of queued jobs */
    b.priority = 8;
    return ddb_req_script(head, c->session_id, &b, script, strlen(script), err, errlen);
}

/* The cancel's answer: logged, never fatal (the connection is fine either way). */
static void cancel_reply(ddb_conn *c)
{
    ddb_resp *r = &c->resp;
    if (r->is_error)
        conn_log(c, DDB_LOG_WARN, "connection %d: cancelling the abandoned job of session "
                 "%s on %s:%d failed: %.300s", c->index, c->cancel_session, c->host,
                 c->port, r->error);
    else
        conn_log(c, DDB_LOG_INFO, "connection %d: cancelled %lld job(s) of the abandoned "
                 "session %s on %s:%d", c->index,
                 r->obj && r->obj->form == DDB_SCALAR ? (long long)ddb_int_at(r->obj, 0) : -1LL,
                 c->cancel_session, c->host, c->port);
    c->cancel_session[0] = 0;
}

/* Load balancing (ddb_cluster.c): the cluster's nodes and their load, asked of the
 * controller as the official clients do. */
static int discover_request(ddb_conn *c, ddb_buf *head, char *err, size_t errlen)
{
    static const char script[] = "rpc(getControllerAlias(), getClusterPerf)";
    ddb_behavior b;
    ddb_behavior_default(&b);
    b.flag = DDB_FLAG_CLEAR_MEMORY;
    return ddb_req_script(head, c->session_id, &b, script, sizeof script - 1, err, errlen);
}

/* Send the next handshake request after `done_step`, or become READY. */
static void handshake_next(ddb_conn *c, int done_step)
{
    const ddb_conn_settings *p = c->set;
    ddb_buf head;
    char err[480];
    int rc = 0;
    ddb_buf_init(&head);
    ddb_resp_reset(&c->resp);
    int want_login = p->userid && p->userid[0] && !p->login_in_connect;
    if (done_step == HS_CONNECT && want_login) {
        rc = ddb_login_start(&c->login, p->login_method, p->userid, p->password,
                             c->session_id, &head, err, sizeof err) != DDB_LOGIN_MORE;
        c->hs_step = HS_LOGIN;
    } else if (done_step < HS_INIT && p->initial_script && p->initial_script[0]) {
        ddb_behavior b;
        ddb_behavior_default(&b);
        rc = ddb_req_script(&head, c->session_id, &b, p->initial_script,
                            strlen(p->initial_script), err, sizeof err);
        c->hs_step = HS_INIT;
    } else if (done_step < HS_CANCEL && cancel_wanted(c)) {
        rc = cancel_request(c, &head, err, sizeof err);
        c->hs_step = HS_CANCEL;
    } else if (done_step < HS_DISCOVER && c->ev->discover_due(c->owner)) {
        rc = discover_request(c, &head, err, sizeof err);
        c->hs_step = HS_DISCOVER;
    } else {
        ddb_buf_free(&head);
        become_ready(c);
        return;
    }
    const char *why = rc ? err : send_request(c, &head, NULL);
    if (why) {
        ddb_buf_free(&head);
        attempt_failed(c, "cannot send the handshake: %s", why);
    }
}

/* The login exchange took a reply: send its next request, go on, or give up (bad
 * credentials or a refused method will not heal by retrying). */
static void login_step(ddb_conn *c)
{
    ddb_buf head;
    char err[480];
    ddb_buf_init(&head);
    int rc = ddb_login_reply(&c->login, &c->resp, &head, err, sizeof err);
    ddb_resp_reset(&c->resp);
    if (rc == DDB_LOGIN_DONE) {
        ddb_login_free(&c->login);
        handshake_next(c, HS_LOGIN);
        return;
    }
    const char *why = rc == DDB_LOGIN_MORE ? send_request(c, &head, NULL) : NULL;
    if (rc == DDB_LOGIN_MORE && !why)
        return;
    ddb_buf_free(&head);
    ddb_login_free(&c->login);
    if (why) {
        attempt_failed(c, "cannot send the handshake: %s", why);
        return;
    }
    char msg[290];
    snprintf(msg, sizeof msg, "login failed: %.240s (loginMethod %s)", err,
             ddb_login_method_name(c->set->login_method));
    set_error(c, "%s", msg);
    conn_log(c, DDB_LOG_ERROR, "connection %d: %s; not retried (the credentials or the "
             "login method must change)", c->index, c->last_error);
    close_stream(c);
    HOST(c)->timer_stop(c->timer);
    set_state(c, DDB_CONN_DEAD);
    c->ev->dead(c->owner, c);
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
    copy_session_id(c, r);
    c->little_endian = r->little_endian;
    if (c->hs_step == HS_CANCEL) {
        cancel_reply(c);
        handshake_next(c, HS_CANCEL);
        return;
    }
    if (c->hs_step == HS_DISCOVER) {      /* answered either way: the connection is fine */
        c->ev->discovered(c->owner, c, r);
        handshake_next(c, HS_DISCOVER);
        return;
    }
    if (r->is_error && c->set->high_availability &&
        ddb_parse_not_leader(r->error, host, sizeof host, &port)) {
        ddb_conn_redirect(c, host, port);
        return;
    }
    if (c->hs_step == HS_LOGIN) {
        login_step(c);
        return;
    }
    static const char *steps[] = { "connect", "login", "initial script" };
    if (r->is_error || is_bool_false(r->obj)) {
        char msg[220];
        snprintf(msg, sizeof msg, "%s failed: %s", steps[c->hs_step],
                 r->is_error ? r->error : "the server answered false");
        set_error(c, "%s", msg);
        conn_log(c, DDB_LOG_ERROR, "connection %d: %s; not retried", c->index,
                 c->last_error);
        /* Bad credentials or a failing initial script will not heal by retrying. */
        close_stream(c);
        HOST(c)->timer_stop(c->timer);
        set_state(c, DDB_CONN_DEAD);
        c->ev->dead(c->owner, c);
        return;
    }
    handshake_next(c, c->hs_step);
}

/* ------------------------------------------------------------------ reading */

static void task_reply(ddb_conn *c)
{
    ddb_task *t = c->task;
    c->task = NULL;
    if (t->deadline_ms)                 /* ddb_conn_run armed the timer only then */
        HOST(c)->timer_stop(c->timer);
    c->tasks_run++;
    copy_session_id(c, &c->resp);
    set_state(c, DDB_CONN_READY);
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
    uint64_t now = HOST(c)->now_ms(HOST_UD(c));
    if (now != c->burst_at) {
        c->burst_at = now;
        c->burst = 0;
    }
    c->burst += n;
    if (c->burst < READ_BURST || !c->stream)
        return;
    HOST(c)->stream_pause(c->stream, 1);
    c->paused = 1;
    c->ev->resume_later(c->owner);
}

static void on_read(ddb_conn *c, const char *p, size_t nread);

/* Feed the bytes stashed behind a block; true when the connection still wants to read
 * (no new pause, still open). */
static int feed_stash(ddb_conn *c)
{
    if (c->stash.len == 0)
        return 1;
    ddb_buf bytes = c->stash;       /* on_read may stash again */
    ddb_buf_init(&c->stash);
    ddb_host_stream *s = c->stream; /* a broken one is replaced by a new stream */
    on_read(c, bytes.p, bytes.len);
    ddb_buf_free(&bytes);
    c->ev->read_done(c->owner);
    return c->stream == s && !c->paused;
}

void ddb_conn_resume(ddb_conn *c)
{
    if (!c->paused || !c->stream || c->blocked)
        return;
    c->paused = 0;
    c->burst = 0;
    if (!feed_stash(c))
        return;
    const char *why = HOST(c)->stream_pause(c->stream, 0);
    if (why)
        conn_broken(c, why);
}

void ddb_conn_unblock(ddb_conn *c)
{
    c->blocked = 0;
}

/* A block of a fetchSize result arrived; `rest` follows it in this read. Returns 1
 * to feed the rest now (the response ended, or its blocks are being skipped), 0 when
 * reading waits for the consumer. */
static int block_arrived(ddb_conn *c, const char *rest, size_t nrest)
{
    ddb_obj *b = ddb_resp_take_obj(&c->resp);
    ddb_task *t = c->task;
    c->blocked = 1;                 /* before the report: a consumer may take it inside */
    int wait = c->ev->block(c->owner, c, t, b);
    if (c->task != t || !c->stream)
        return 0;                   /* cancelled inside the report: this read is over */
    if (!wait || c->resp.blocks_left == 0 || !c->blocked) {
        c->blocked = 0;
        return 1;
    }
    /* The consumer has it: read nothing more until it asks (bounded memory: the
     * rest of this read waits in the stash, the server's bytes in the socket). */
    if (nrest && ddb_buf_put(&c->stash, rest, nrest)) {
        conn_broken(c, "out of memory keeping a block's trailing bytes");
        return 0;
    }
    if (!c->paused) {
        HOST(c)->stream_pause(c->stream, 1);
        c->paused = 1;
    }
    return 0;
}

/* Stream report: bytes arrived. */
static void stream_data(void *arg, const char *p, size_t n)
{
    ddb_conn *c = arg;
    on_read(c, p, n);
    c->ev->read_done(c->owner);     /* hand completions over outside any core call */
}

static void on_read(ddb_conn *c, const char *p, size_t nread)
{
    if (c->state != DDB_CONN_BUSY && c->state != DDB_CONN_HANDSHAKE) {
        conn_broken(c, "unexpected bytes from the server while idle");
        return;
    }
    size_t used = 0;
    int msgs_before = c->resp.nmsgs;
    int rc;
    while ((rc = ddb_resp_feed(&c->resp, p, nread, &used)) == DDB_RESP_BLOCK) {
        c->task->bytes_in += (int64_t)used;
        p += used;
        nread -= used;
        if (!block_arrived(c, p, nread))
            return;                     /* the consumer has it; the rest waits */
    }
    if (c->task && rc != DDB_RESP_ERROR)
        c->task->bytes_in += (int64_t)(rc == DDB_RESP_NEED_MORE ? nread : used);
    if (rc == DDB_RESP_ERROR) {
        char msg[220];
        snprintf(msg, sizeof msg, "protocol error: %s", c->resp.parse_error);
        conn_broken(c, msg);
        return;
    }
    if (rc == DDB_RESP_NEED_MORE) {
        size_t blocks = (size_t)(c->resp.nmsgs - msgs_before);
        pace_reading(c, nread + blocks * MSG_BLOCK_WORK);
        return;
    }
    if (used != nread) {
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

/* Stream report: TCP is up; the handshake starts with the connect request. */
static void stream_connected(void *arg)
{
    ddb_conn *c = arg;
    set_state(c, DDB_CONN_HANDSHAKE);
    c->hs_step = HS_CONNECT;
    ddb_resp_reset(&c->resp);
    const ddb_conn_settings *p = c->set;
    ddb_buf head;
    char err[200];
    ddb_buf_init(&head);
    const char *user = p->login_in_connect ? p->userid : NULL;
    head.secret = user != NULL;     /* the password in clear: wiped once sent */
    int flag = p->compress ? DDB_FLAG_COMPRESS : 0;
    const char *why = ddb_req_connect(&head, flag, user, p->password, err, sizeof err)
                      ? err : send_request(c, &head, NULL);
    if (why) {
        ddb_buf_free(&head);
        attempt_failed(c, "cannot send connect: %s", why);
    }
}

/* Stream report: connect failed, or an open connection broke. */
static void stream_failed(void *arg, const char *why)
{
    conn_broken(arg, why);
}

static const ddb_stream_cbs conn_stream_cbs = {
    .connected = stream_connected, .data = stream_data, .failed = stream_failed,
};

static void begin_attempt(ddb_conn *c)
{
    if (c->ev->is_stopping(c->owner))
        return;
    c->retargeted = 0;
    if (!c->redirected) {
        const char *host;
        c->ev->site(c->owner, c->site, &host, &c->port);
        snprintf(c->host, sizeof c->host, "%s", host);
    }
    set_state(c, DDB_CONN_CONNECTING);
    HOST(c)->timer_start(c->timer, c->ev->connect_timeout_ms(c->owner));
    char err[200];
    c->stream = HOST(c)->stream_open(HOST_UD(c), c->host, c->port, c->set->keepalive_sec,
                                     c->set->tls,
                                     &conn_stream_cbs, c, err, sizeof err);
    if (!c->stream) {
        attempt_failed(c, "%s", err);
        return;
    }
    c->ev->handle_opened(c->owner);
}

/* A connect/handshake attempt failed: back off and retry, or give up (DEAD). */
static void attempt_failed(ddb_conn *c, const char *fmt, const char *detail)
{
    if (c->state == DDB_CONN_HANDSHAKE && c->hs_step == HS_DISCOVER) {
        c->hs_step = HS_CONNECT;
        c->ev->discovered(c->owner, c, NULL);  /* no answer: another handshake asks */
    }
    set_error(c, fmt, detail);
    close_stream(c);
    HOST(c)->timer_stop(c->timer);
    if (c->ev->is_stopping(c->owner)) {
        set_state(c, DDB_CONN_IDLE);
        return;
    }
    c->attempts++;
    if (c->redirected)
        c->redirected = 0;      /* the redirect target failed: back to the site list */
    else if (!c->retargeted)
        c->site = c->ev->next_site(c->owner, c->site);
    if (c->max_attempts > 0 && c->attempts >= c->max_attempts) {
        conn_log(c, DDB_LOG_ERROR, "connection %d gave up after %d attempt(s): %s",
                 c->index, c->attempts, c->last_error);
        set_state(c, DDB_CONN_DEAD);
        c->ev->dead(c->owner, c);
        return;
    }
    set_state(c, DDB_CONN_BACKOFF);
    uint64_t wait = c->ev->backoff_ms(c->owner, c->attempts);
    /* The first failure of a series is news; the retries while a node stays down are
     * not (one line per back-off would flood the log). */
    conn_log(c, c->attempts == 1 ? DDB_LOG_WARN : DDB_LOG_DEBUG, "connection %d: attempt "
             "%d failed: %s; next attempt in %.3g s", c->index, c->attempts, c->last_error,
             (double)wait / 1000.0);
    HOST(c)->timer_start(c->timer, wait);
    c->untrusted = strncmp(detail, DDB_TLS_UNTRUSTED, strlen(DDB_TLS_UNTRUSTED)) == 0;
    if (c->untrusted && c->ev->untrusted)     /* optional for an owner */
        c->ev->untrusted(c->owner, c);
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
    conn_log(c, DDB_LOG_WARN, "connection %d lost: %s%s", c->index, c->last_error,
             t ? " (while running a task)" : "");
    c->task = NULL;
    close_stream(c);
    HOST(c)->timer_stop(c->timer);
    if (c->ev->is_stopping(c->owner)) {
        set_state(c, DDB_CONN_IDLE);
    } else if (c->set->reconnect) {
        c->attempts = 0;
        begin_attempt(c);       /* first retry at once; back-off after failures */
    } else {
        set_state(c, DDB_CONN_DEAD);
    }
    char why[sizeof c->last_error];
    snprintf(why, sizeof why, "%s", c->last_error);
    if (t)
        c->ev->lost(c->owner, c, t, why);
    if (c->state == DDB_CONN_DEAD)
        c->ev->dead(c->owner, c);
}

static void conn_timer_cb(void *arg)
{
    ddb_conn *c = arg;
    char secs[32];
    switch (c->state) {
    case DDB_CONN_CONNECTING:
    case DDB_CONN_HANDSHAKE:
        if (c->state == DDB_CONN_HANDSHAKE && c->hs_step == HS_CANCEL) {
            /* not again on the next attempt: the connection must come back */
            conn_log(c, DDB_LOG_WARN, "connection %d: cancelling the abandoned job of "
                     "session %s on %s:%d got no answer", c->index, c->cancel_session,
                     c->host, c->port);
            c->cancel_session[0] = 0;
        }
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
    ddb_behavior b;
    ddb_behavior_default(&b);
    b.flag = t->flag;
    b.priority = t->priority;
    b.parallelism = t->parallelism;
    b.fetch_size = t->fetch_size;
    if (c->set->high_availability) {
        /* A resend keeps the clientId of the connection that first sent it, so the
         * server can match -seqNo against what that client executed
         * (docs/PROTOCOL.md §2.6). */
        if (t->seqno == 0) {
            t->seqno = c->ev->next_seqno(c->owner);
            t->client_id = c->client_id;
        }
        b.client_id = t->client_id;
        b.seqno = t->resends ? -t->seqno : t->seqno;   /* §2.6: a resend is negated */
    }
    ddb_buf *head = &c->head;   /* kept from the last request, left empty by send_request
                                   (or freed on failure): no allocation */
    char err[200];
    c->task = t;
    set_state(c, DDB_CONN_BUSY);
    t->conn_index = c->index;
    ddb_resp_reset(&c->resp);
    ddb_resp_set_max_bytes(&c->resp, t->max_result_bytes);
    ddb_resp_set_fetch(&c->resp, t->fetch_size > 0);
    const char *kind = "API2";
    int rc = ddb_req_header(head, kind, c->session_id, t->body_len, &b, err, sizeof err);
    const char *why = NULL;
    if (rc == 0 && (why = send_request(c, head, t)) != NULL)
        snprintf(err, sizeof err, "%s", why);
    if (rc || why) {
        ddb_buf_free(head);
        char what[240];
        snprintf(what, sizeof what, "cannot send the request: %s", err);
        conn_broken(c, what);
        return;
    }
    if (t->deadline_ms) {
        uint64_t left = t->deadline_ms > now_ms ? t->deadline_ms - now_ms : 1;
        HOST(c)->timer_start(c->timer, left);
    }
}

ddb_task *ddb_conn_abort_task(ddb_conn *c, const char *why)
{
    ddb_task *t = c->task;
    if (t && c->set->cancel_on_server && c->session_id[0]) {
        snprintf(c->cancel_session, sizeof c->cancel_session, "%s", c->session_id);
        snprintf(c->cancel_host, sizeof c->cancel_host, "%s", c->host);
        c->cancel_port = c->port;
    }
    c->task = NULL;
    set_error(c, "request abandoned: %s", why);
    close_stream(c);
    HOST(c)->timer_stop(c->timer);
    c->attempts = 0;
    if (!c->ev->is_stopping(c->owner))
        begin_attempt(c);       /* a fresh session replaces the one we walked away from */
    else
        set_state(c, DDB_CONN_IDLE);
    return t;
}

void ddb_conn_move(ddb_conn *c)
{
    close_stream(c);
    HOST(c)->timer_stop(c->timer);
    c->redirected = 0;
    c->attempts = 0;
    c->moving = 1;
    begin_attempt(c);
}

void ddb_conn_redirect(ddb_conn *c, const char *host, int port)
{
    if (++c->redirects > 8) {
        /* Nodes pointing at each other: back off like any failed attempt. */
        c->redirects = 0;
        attempt_failed(c, "%s", "too many <NotLeader> redirects");
        return;
    }
    conn_log(c, DDB_LOG_INFO, "connection %d: %s:%d is not the leader; redirected to "
             "%.200s:%d", c->index, c->host, c->port, host, port);
    close_stream(c);
    HOST(c)->timer_stop(c->timer);
    snprintf(c->host, sizeof c->host, "%s", host);
    c->port = port;
    c->redirected = 1;
    begin_attempt(c);
}

void ddb_conn_close(ddb_conn *c)
{
    close_stream(c);
    if (c->timer)
        HOST(c)->timer_stop(c->timer);
    set_state(c, DDB_CONN_CLOSING);
}

static void timer_closed(void *arg)
{
    ddb_conn *c = arg;
    c->ev->handle_closed(c->owner);
}

void ddb_conn_close_timer(ddb_conn *c)
{
    if (c->timer) {
        ddb_host_handle *t = c->timer;
        c->timer = NULL;
        HOST(c)->close(t, timer_closed);
    }
}

void ddb_conn_free(ddb_conn *c)
{
    ddb_buf_free(&c->stash);
    ddb_buf_free(&c->head);
    ddb_login_free(&c->login);
    ddb_resp_free(&c->resp);
    free(c);
}
