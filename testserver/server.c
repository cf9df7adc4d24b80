/* server.c — libuv side of ddbmini: accept, request framing, hand-off of each
 * request to the thread pool, and bounded-chunk writing of responses (with the
 * fault switches applied). One session per connection; one request at a time per
 * connection: reading pauses while a request runs on the pool or its response is
 * being written. Quick requests (quick.c) are evaluated on the loop thread itself:
 * the hand-off to the pool costs far more than they do. */
#include "server.h"
#include "streaming.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define READ_CHUNK (64 * 1024)
#define WRITE_CHUNK (4 * 1024 * 1024)   /* bytes handed to one uv_write */
#define WRITE_BUFS 32

/* ST_PUSHING: a reverse-mode subscription's connection (streaming.c writes to it). */
enum { ST_HEADER, ST_BODY, ST_PAYLOAD, ST_RUNNING, ST_WRITING, ST_STALLED, ST_PUSHING };

typedef struct conn conn;

struct mini_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    int port;
    int stopping;
    conn *conns;                /* doubly linked list of open connections */
};

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_async_t msg_async;       /* the evaluating thread has MSG blocks to send */
    pthread_mutex_t msg_lock;
    ddb_buf msg_pending;
    uv_work_t work;
    uv_write_t wreq;
    mini_server *srv;
    conn *prev, *next;
    int open_handles;           /* closed via uv_close; the conn is freed at zero */
    int working;                /* a request is on the thread pool */
    int closing;
    int state;
    session sess;
    ddb_buf rbuf;
    size_t rpos;
    size_t body_need;
    request req;
    ddb_decoder *dec;
    int64_t compressed_seen[3]; /* the decoder's counts already added to g_mini */
    response resp;
    /* writer */
    int seg;                    /* -1: the head buffer */
    size_t seg_off;
    int64_t written;
    mini_fault_plan plan;
    char *garbage;
    uv_buf_t bufs[WRITE_BUFS];
    /* streaming: the subscription the running request created (set by the pool
     * thread), and the one this connection carries once the reply is out */
    int work_sub;
    int push_sub;
};

static void process_input(conn *c);
static void write_next(conn *c);
static void begin_reading(conn *c);

/* ---------------------------------------------------------------- closing */

static void maybe_free(conn *c)
{
    if (c->open_handles > 0 || c->working)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else if (c->srv->conns == c)
        c->srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_lock(&g_mini.lock);
    g_mini.connections--;
    pthread_mutex_unlock(&g_mini.lock);
    request_free(&c->req);
    response_free(&c->resp);
    ddb_decoder_free(c->dec);
    ddb_buf_free(&c->rbuf);
    session_free(&c->sess);
    free(c->garbage);
    ddb_buf_free(&c->msg_pending);
    pthread_mutex_destroy(&c->msg_lock);
    free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    conn *c = h->data;
    c->open_handles--;
    maybe_free(c);
}

static void conn_close(conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    if (c->push_sub)
        streaming_detach(c->push_sub);
    c->push_sub = 0;
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->msg_async, on_handle_closed);
}

/* ---------------------------------------------------------------- live MSG blocks */

typedef struct msg_write {
    uv_write_t w;
    char *bytes;
} msg_write;

static void on_msg_written(uv_write_t *w, int status)
{
    msg_write *m = (msg_write *)w;      /* never touches the conn: it may be closing */
    free(m->bytes);
    free(m);
}

/* Loop thread: writes whatever MSG blocks the evaluating thread has queued. Writes
 * on one stream go out in order, so they always precede the response. */
static void flush_msgs(conn *c)
{
    pthread_mutex_lock(&c->msg_lock);
    ddb_buf b = c->msg_pending;
    ddb_buf_init(&c->msg_pending);
    pthread_mutex_unlock(&c->msg_lock);
    msg_write *m = b.len && !c->closing ? malloc(sizeof *m) : NULL;
    if (!m) {
        ddb_buf_free(&b);
        return;
    }
    m->bytes = b.p;
    uv_buf_t ub = uv_buf_init(b.p, (unsigned)b.len);
    if (uv_write(&m->w, (uv_stream_t *)&c->tcp, &ub, 1, on_msg_written) < 0) {
        free(b.p);
        free(m);
        conn_close(c);
    }
}

static void on_msg_async(uv_async_t *a) { flush_msgs(a->data); }

/* Evaluating thread: hand the blocks printed so far to the loop. */
static void msg_from_worker(void *arg, ddb_buf *msgs)
{
    conn *c = arg;
    pthread_mutex_lock(&c->msg_lock);
    ddb_buf_put(&c->msg_pending, msgs->p, msgs->len);
    pthread_mutex_unlock(&c->msg_lock);
    ddb_buf_reset(msgs);
    uv_async_send(&c->msg_async);
}

/* ---------------------------------------------------------------- writing */

/* The request is done with: back to reading headers. */
static void reset_request(conn *c)
{
    response_free(&c->resp);
    free(c->garbage);
    c->garbage = NULL;
    request_free(&c->req);
    c->state = ST_HEADER;
}

static void close_from_streaming(void *arg) { conn_close(arg); }

/* The reply to publishTable is out: from now on the publisher writes and the
 * client only listens; reading goes on only to notice it hanging up. */
static void become_pusher(conn *c)
{
    c->state = ST_PUSHING;
    c->rbuf.len = c->rpos = 0;
    if (streaming_attach(c->push_sub, (uv_stream_t *)&c->tcp, close_from_streaming, c)) {
        conn_close(c);
        return;
    }
    begin_reading(c);
}

/* After an asynchronous response: read again and serve what already arrived. */
static void finish_response(conn *c)
{
    reset_request(c);
    if (c->closing)
        return;
    if (c->push_sub) {
        become_pusher(c);
        return;
    }
    begin_reading(c);
    process_input(c);
}

static void on_write(uv_write_t *w, int status)
{
    conn *c = w->data;
    if (status < 0 || c->closing) {
        conn_close(c);
        return;
    }
    if (c->plan.drop_after >= 0 && c->written >= c->plan.drop_after) {
        conn_close(c);          /* fault: the connection dies mid-response */
        return;
    }
    write_next(c);
}

/* Piece `seg` of the response (-1: the head); 0 past the last one. */
static int piece(const conn *c, int seg, const char **p, size_t *len)
{
    if (seg < 0) {
        *p = c->resp.head.p;
        *len = c->resp.head.len;
    } else if (seg < c->resp.nsegs) {
        *p = c->resp.segs[seg].p;
        *len = c->resp.segs[seg].len;
    } else
        return 0;
    return 1;
}

/* Points c->bufs at up to WRITE_CHUNK bytes from the writer's position on (never
 * past a drop fault's limit). Returns the number of buffers, *total their bytes. */
static int gather(conn *c, size_t *total)
{
    int seg = c->seg, nb = 0;
    size_t off = c->seg_off, sum = 0;
    int64_t limit = c->plan.drop_after >= 0 ? c->plan.drop_after - c->written : INT64_MAX;
    const char *p;
    size_t len;
    while (nb < WRITE_BUFS && sum < WRITE_CHUNK && (int64_t)sum < limit && piece(c, seg, &p, &len)) {
        size_t take = len - off;
        if (take > WRITE_CHUNK - sum)
            take = WRITE_CHUNK - sum;
        if ((int64_t)take > limit - (int64_t)sum)
            take = (size_t)(limit - (int64_t)sum);
        if (take > 0)
            c->bufs[nb++] = uv_buf_init((char *)p + off, (unsigned)take);
        sum += take;
        off += take;
        if (off == len) {
            seg++;
            off = 0;
        }
    }
    *total = sum;
    return nb;
}

/* Moves the writer's position n bytes on. */
static void advance(conn *c, size_t n)
{
    const char *p;
    size_t len;
    c->written += (int64_t)n;
    while (n > 0 && piece(c, c->seg, &p, &len)) {
        size_t rest = len - c->seg_off;
        if (n < rest) {
            c->seg_off += n;
            return;
        }
        n -= rest;
        c->seg++;
        c->seg_off = 0;
    }
}

/* Hands up to WRITE_CHUNK bytes to one uv_write; ends the response when all is out. */
static void write_next(conn *c)
{
    size_t total;
    int nb = gather(c, &total);
    if (nb == 0) {
        if (c->plan.drop_after >= 0 && c->written >= c->plan.drop_after &&
            response_total(&c->resp) > (size_t)c->plan.drop_after) {
            conn_close(c);
            return;
        }
        finish_response(c);
        return;
    }
    advance(c, total);
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, c->bufs, (unsigned)nb, on_write) < 0)
        conn_close(c);
}

/* Writes what the socket takes right now (no write request, no callback):
 * 1 when that was the whole response, 0 when some is left, -1 on an error. */
static int write_now(conn *c)
{
    size_t total;
    int nb = gather(c, &total);
    int n = nb ? uv_try_write((uv_stream_t *)&c->tcp, c->bufs, (unsigned)nb) : 0;
    if (n == UV_EAGAIN)
        return 0;
    if (n < 0)
        return -1;
    advance(c, (size_t)n);
    const char *p;
    size_t len;
    return !piece(c, c->seg, &p, &len);
}

static void rewind_writer(conn *c)
{
    c->seg = -1;
    c->seg_off = 0;
    c->written = 0;
}

static void start_writing(conn *c)
{
    c->state = ST_WRITING;
    rewind_writer(c);
    if (c->plan.garbage_bytes > 0) {
        /* fault: random bytes instead of the response (kept as the only segment) */
        size_t n = (size_t)c->plan.garbage_bytes;
        c->garbage = malloc(n);
        if (!c->garbage) {
            conn_close(c);
            return;
        }
        for (size_t off = 0; off < n;) {
            ssize_t got = getrandom(c->garbage + off, n - off, 0);
            if (got <= 0)
                break;
            off += (size_t)got;
        }
        c->garbage[0] = (char)0xff;     /* never a valid session-id digit */
        c->garbage[n - 1] = '\n';      /* line readers fail on it at once, no wait */
        response_free(&c->resp);
        response_init(&c->resp);
        ddb_buf_put(&c->resp.head, c->garbage, n);
    }
    write_next(c);
}

static void on_stall_done(uv_timer_t *t)
{
    conn *c = t->data;
    start_writing(c);
}

/* ---------------------------------------------------------------- executing */

/* What the fault switches do to this response (one-shot ones are used up). */
static void take_plan(conn *c)
{
    memset(&c->plan, 0, sizeof c->plan);
    c->plan.drop_after = -1;
    if (!c->resp.control)
        faults_take(&c->plan);
}

static int plain_plan(const conn *c)
{
    return c->plan.drop_after < 0 && c->plan.stall_ms == 0 && c->plan.garbage_bytes == 0;
}

/* Reading is stopped: the response goes out through the write callbacks, held back
 * first if a stall fault says so. */
static void send_planned(conn *c)
{
    if (c->plan.stall_ms < 0) {     /* stall forever: the response never comes */
        c->state = ST_STALLED;
        begin_reading(c);           /* only to notice the client hanging up */
        return;
    }
    if (c->plan.stall_ms > 0) {
        c->state = ST_STALLED;
        uv_timer_start(&c->timer, on_stall_done, (uint64_t)c->plan.stall_ms, 0);
        return;
    }
    start_writing(c);
}

static void work_cb(uv_work_t *w)
{
    conn *c = w->data;
    streaming_request_begin(c->req.b.flag);
    request_execute(&c->sess, &c->req, &c->resp);
    c->work_sub = streaming_request_end();
    if (c->work_sub && c->resp.failed) {
        streaming_detach(c->work_sub);  /* publishTable ran, the request failed later */
        c->work_sub = 0;
    }
}

static void after_work_cb(uv_work_t *w, int status)
{
    conn *c = w->data;
    c->working = 0;
    if (c->work_sub && c->closing)
        streaming_detach(c->work_sub);     /* the client left before the reply */
    else
        c->push_sub = c->work_sub;
    c->work_sub = 0;
    if (c->closing) {
        maybe_free(c);
        return;
    }
    flush_msgs(c);              /* blocks whose async wake-up has not run yet */
    if (c->resp.no_reply) {
        finish_response(c);
        return;
    }
    take_plan(c);
    send_planned(c);
}

/* A quick request (quick.c), evaluated here on the loop thread. Reading goes on
 * and the response usually leaves in one uv_try_write: then it returns 1 and the
 * caller parses the next request. Otherwise reading stops until the response is
 * out, as for the pool's requests. */
static int run_quick(conn *c)
{
    c->req.msg_cb = NULL;       /* print output would precede the response anyway */
    request_execute(&c->sess, &c->req, &c->resp);
    if (c->resp.no_reply) {
        reset_request(c);
        return 1;
    }
    take_plan(c);
    int rc = 0;
    if (plain_plan(c)) {
        rewind_writer(c);
        rc = write_now(c);
    }
    if (rc < 0) {
        conn_close(c);
        return 0;
    }
    if (rc == 1) {
        reset_request(c);
        return 1;
    }
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (plain_plan(c)) {
        c->state = ST_WRITING;      /* the rest, from where uv_try_write stopped */
        write_next(c);
    } else
        send_planned(c);
    return 0;
}

/* Runs a complete request: quick ones at once, the others on the thread pool.
 * Returns 1 when the connection is ready for its next request. */
static int dispatch(conn *c)
{
    c->state = ST_RUNNING;
    response_init(&c->resp);
    if (request_prepare(&c->sess, &c->req))
        return run_quick(c);
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->work.data = c;
    c->working = 1;
    c->req.msg_cb = msg_from_worker;
    c->req.msg_arg = c;
    if (uv_queue_work(c->srv->loop, &c->work, work_cb, after_work_cb) < 0) {
        c->working = 0;
        conn_close(c);
    }
    return 0;
}

/* ---------------------------------------------------------------- framing */

static void framing_error(conn *c, const char *why)
{
    (void)why;                  /* the protocol has no way to report it: close */
    conn_close(c);
}

static int read_header(conn *c)
{
    const char *start = c->rbuf.p + c->rpos;
    size_t avail = c->rbuf.len - c->rpos;
    const char *lf = memchr(start, '\n', avail);
    if (!lf) {
        if (avail > MINI_MAX_HEADER_LINE)
            framing_error(c, "header line too long");
        return 0;
    }
    size_t len = (size_t)(lf - start);
    if (len > MINI_MAX_HEADER_LINE) {
        framing_error(c, "header line too long");
        return 0;
    }
    char err[128];
    if (request_parse_header(&c->req, start, len, &c->body_need, err, sizeof err)) {
        framing_error(c, err);
        return 0;
    }
    c->rpos += len + 1;
    c->state = ST_BODY;
    return 1;
}

static int read_body(conn *c)
{
    if (c->rbuf.len - c->rpos < c->body_need)
        return 0;
    c->req.body = malloc(c->body_need + 1);
    if (!c->req.body) {
        framing_error(c, "out of memory");
        return 0;
    }
    memcpy(c->req.body, c->rbuf.p + c->rpos, c->body_need);
    c->req.body[c->body_need] = 0;
    c->req.body_len = c->body_need;
    c->rpos += c->body_need;
    char err[128];
    if (request_parse_body(&c->req, err, sizeof err)) {
        framing_error(c, err);
        return 0;
    }
    if (c->req.nobjs > 0) {
        ddb_decoder_reset(c->dec, c->req.little);
        c->state = ST_PAYLOAD;
        return 1;
    }
    return dispatch(c);
}

/* Adds the compressed vectors the decoder met since the last call to the server's
 * totals. */
static void count_compressed(conn *c)
{
    for (int m = 1; m <= 2; m++) {
        int64_t now = ddb_decoder_compressed(c->dec, m);
        if (now == c->compressed_seen[m])
            continue;
        pthread_mutex_lock(&g_mini.lock);
        g_mini.compressed_in[m] += now - c->compressed_seen[m];
        pthread_mutex_unlock(&g_mini.lock);
        c->compressed_seen[m] = now;
    }
}

static int read_payload(conn *c)
{
    while (c->req.ngot < c->req.nobjs) {
        size_t avail = c->rbuf.len - c->rpos, used = 0;
        if (avail == 0)
            return 0;
        int rc = ddb_decoder_feed(c->dec, c->rbuf.p + c->rpos, avail, &used);
        c->rpos += used;
        if (rc == DDB_DEC_ERROR) {
            framing_error(c, ddb_decoder_error(c->dec));
            return 0;
        }
        if (rc == DDB_DEC_NEED_MORE)
            return 0;
        c->req.objs[c->req.ngot++] = ddb_decoder_take(c->dec);
        ddb_decoder_reset(c->dec, c->req.little);   /* fresh symbol-base scope per object */
    }
    count_compressed(c);
    return dispatch(c);
}

static void compact(conn *c)
{
    if (c->rpos == c->rbuf.len) {
        c->rbuf.len = 0;
        c->rpos = 0;
    } else if (c->rpos > (1 << 20)) {
        memmove(c->rbuf.p, c->rbuf.p + c->rpos, c->rbuf.len - c->rpos);
        c->rbuf.len -= c->rpos;
        c->rpos = 0;
    }
}

static void process_input(conn *c)
{
    int progress = 1;
    while (progress && !c->closing) {
        switch (c->state) {
        case ST_HEADER: progress = read_header(c); break;
        case ST_BODY: progress = read_body(c); break;
        case ST_PAYLOAD: progress = read_payload(c); break;
        default: progress = 0;
        }
    }
    compact(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    conn *c = h->data;
    if (ddb_buf_reserve(&c->rbuf, READ_CHUNK)) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    *buf = uv_buf_init(c->rbuf.p + c->rbuf.len, (unsigned)(c->rbuf.cap - c->rbuf.len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn *c = s->data;
    if (nread < 0) {
        conn_close(c);          /* EOF or error: the session goes away */
        return;
    }
    c->rbuf.len += (size_t)nread;
    if (c->state == ST_PUSHING)
        c->rbuf.len = 0;        /* a subscriber has nothing to say: ignored */
    if (c->state == ST_HEADER || c->state == ST_BODY || c->state == ST_PAYLOAD)
        process_input(c);
}

/* ---------------------------------------------------------------- accepting */

static void begin_reading(conn *c)
{
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
        conn_close(c);
}

static void on_accept_delay_done(uv_timer_t *t) { begin_reading(t->data); }

/* Plain TCP, or (--tls-cert) the plaintext end of a TLS relay (tls.c). */
static int accept_stream(uv_stream_t *server, conn *c)
{
    if (!tls_enabled())
        return uv_accept(server, (uv_stream_t *)&c->tcp);
    int fd = tls_accept(server);
    if (fd >= 0 && uv_tcp_open(&c->tcp, fd) < 0) {
        close(fd);
        return -1;
    }
    return fd < 0 ? -1 : 0;
}

static void on_connection(uv_stream_t *server, int status)
{
    mini_server *srv = server->data;
    if (status < 0)
        return;
    conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->srv = srv;
    ddb_limits lim;
    ddb_limits_default(&lim);
    lim.max_object_bytes = MINI_MAX_OBJECT;    /* one uploaded argument */
    c->dec = ddb_decoder_new(&lim);
    session_init(&c->sess);
    ddb_buf_init(&c->rbuf);
    ddb_buf_init(&c->msg_pending);
    pthread_mutex_init(&c->msg_lock, NULL);
    uv_tcp_init(srv->loop, &c->tcp);
    uv_timer_init(srv->loop, &c->timer);
    uv_async_init(srv->loop, &c->msg_async, on_msg_async);
    c->tcp.data = c->timer.data = c->msg_async.data = c;
    c->open_handles = 3;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    pthread_mutex_lock(&g_mini.lock);
    g_mini.connections++;
    pthread_mutex_unlock(&g_mini.lock);
    if (accept_stream(server, c) < 0 || !c->dec || faults_refuse()) {
        conn_close(c);          /* --refuse: accepted, then closed at once */
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    int64_t delay = faults_accept_delay();
    if (delay > 0)
        uv_timer_start(&c->timer, on_accept_delay_done, (uint64_t)delay, 0);
    else
        begin_reading(c);
}

static void on_failed_listener_closed(uv_handle_t *h) { free(h->data); }

mini_server *server_start(uv_loop_t *loop, const char *host, int port, char *err, size_t errlen)
{
    mini_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->loop = loop;
    struct sockaddr_in addr;
    int rc = uv_ip4_addr(host, port, &addr);
    if (rc == 0 && (rc = uv_tcp_init(loop, &s->listener)) != 0)
        s->listener.loop = NULL;
    s->listener.data = s;
    if (rc == 0)
        rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, 1024, on_connection);
    if (rc == 0) {
        struct sockaddr_in bound;
        int len = sizeof bound;
        rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &len);
        s->port = ntohs(bound.sin_port);
    }
    if (rc) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, uv_strerror(rc));
        if (s->listener.loop)       /* initialized: free once libuv is done with it */
            uv_close((uv_handle_t *)&s->listener, on_failed_listener_closed);
        else
            free(s);
        return NULL;
    }
    streaming_init(loop, host, s->port);
    return s;
}

int server_port(const mini_server *s) { return s->port; }

void server_free(mini_server *s) { free(s); }

void server_stop(mini_server *s)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    for (conn *c = s->conns; c; c = c->next)
        conn_close(c);
    streaming_shutdown();
    uv_close((uv_handle_t *)&s->listener, NULL);
}
