/* ddb_uv.c — the libuv host of the pool core (ddb_host.h): uv_now for the clock,
 * uv_timer_t for timers, uv_idle_t for the pump, uv_tcp_t (after uv_getaddrinfo when
 * the name is not an address) for streams. Each handle is heap-allocated and freed
 * in its close callback, the only place libuv allows it. */
#include "ddb_host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <uv.h>

struct ddb_host_handle {
    union {
        uv_handle_t handle;
        uv_timer_t timer;
        uv_idle_t idle;
    } u;
    ddb_host_fn fn, closed;
    void *arg;
};

static uint64_t uvh_now_ms(void *host) { return uv_now(host); }
static void uvh_update_time(void *host) { uv_update_time(host); }

static ddb_host_handle *make(ddb_host_fn fn, void *arg)
{
    ddb_host_handle *h = calloc(1, sizeof *h);
    if (h) {
        h->fn = fn;
        h->arg = arg;
    }
    return h;
}

static void timer_fired(uv_timer_t *t)
{
    ddb_host_handle *h = t->data;
    h->fn(h->arg);
}

static ddb_host_handle *uvh_timer_new(void *host, ddb_host_fn fire, void *arg)
{
    ddb_host_handle *h = make(fire, arg);
    if (h && uv_timer_init(host, &h->u.timer)) {
        free(h);
        return NULL;
    }
    if (h)
        h->u.handle.data = h;
    return h;
}

static void uvh_timer_start(ddb_host_handle *h, uint64_t ms)
{
    uv_timer_start(&h->u.timer, timer_fired, ms, 0);
}

static void uvh_timer_stop(ddb_host_handle *h) { uv_timer_stop(&h->u.timer); }

static void idle_ran(uv_idle_t *i)
{
    ddb_host_handle *h = i->data;
    h->fn(h->arg);
}

static ddb_host_handle *uvh_pump_new(void *host, ddb_host_fn run, void *arg)
{
    ddb_host_handle *h = make(run, arg);
    if (h && uv_idle_init(host, &h->u.idle)) {
        free(h);
        return NULL;
    }
    if (h)
        h->u.handle.data = h;
    return h;
}

static void uvh_pump_start(ddb_host_handle *h) { uv_idle_start(&h->u.idle, idle_ran); }
static void uvh_pump_stop(ddb_host_handle *h) { uv_idle_stop(&h->u.idle); }

static void handle_closed(uv_handle_t *uh)
{
    ddb_host_handle *h = uh->data;
    ddb_host_fn closed = h->closed;
    void *arg = h->arg;
    free(h);
    if (closed)
        closed(arg);
}

static void uvh_close(ddb_host_handle *h, ddb_host_fn closed)
{
    h->closed = closed;
    uv_close(&h->u.handle, handle_closed);
}

/* ------------------------------------------------------------------ streams */

struct ddb_host_stream {
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_getaddrinfo_t gai;
    const ddb_stream_cbs *cbs;
    void *arg;
    int keepalive_sec, port;
    int tcp_open;               /* until the tcp handle's close callback */
    int resolving;              /* a uv_getaddrinfo is in flight */
    int closed_by_user;         /* stream_close called: report nothing more */
    int dead;                   /* failed was reported */
    ddb_tls *tls;               /* NULL: plain TCP */
    int tls_ready;              /* handshake done: `connected` was reported */
    int fd_known;               /* fd holds the socket (try_writev) */
    uv_os_fd_t fd;
    ddb_host_fn closed;
    void *closed_arg;
    char rbuf[65536];
};

typedef struct uv_stream_write {
    uv_write_t req;
    ddb_buf head;
    ddb_host_fn release;
    void *rel_arg;
    ddb_host_stream *s;
} uv_stream_write;

/* The stream's memory goes once libuv let go of everything it started. */
static void stream_maybe_free(ddb_host_stream *s)
{
    if (!s->closed_by_user || s->tcp_open || s->resolving)
        return;
    ddb_host_fn closed = s->closed;
    void *arg = s->closed_arg;
    ddb_tls_free(s->tls);
    free(s);
    if (closed)
        closed(arg);
}

static void report_failed(ddb_host_stream *s, const char *why)
{
    if (s->closed_by_user || s->dead)
        return;
    s->dead = 1;
    s->cbs->failed(s->arg, why);
}

static void tcp_closed(uv_handle_t *h)
{
    ddb_host_stream *s = h->data;
    s->tcp_open = 0;
    stream_maybe_free(s);
}

static const char *send_owned(ddb_host_stream *s, ddb_buf *bytes);

/* Sends the ciphertext the TLS engine has produced. 0, or -1 (failure reported). */
static int tls_flush(ddb_host_stream *s)
{
    ddb_buf out;
    ddb_buf_init(&out);
    if (ddb_tls_take_output(s->tls, &out) == 0) {
        ddb_buf_free(&out);
        return 0;
    }
    const char *why = send_owned(s, &out);
    if (why) {
        report_failed(s, why);
        return -1;
    }
    return 0;
}

static int deliver_plain(void *ud, const char *p, size_t n)
{
    ddb_host_stream *s = ud;
    s->cbs->data(s->arg, p, n);
    return s->closed_by_user || s->dead;    /* the user let go: stop */
}

/* Ciphertext arrived: advance the handshake, or decrypt and deliver. */
static void tls_input(ddb_host_stream *s, const char *p, size_t n)
{
    char err[300];
    if (ddb_tls_feed(s->tls, p, n)) {
        report_failed(s, "TLS: out of memory");
        return;
    }
    if (!s->tls_ready) {
        int rc = ddb_tls_handshake(s->tls, err, sizeof err);
        if (tls_flush(s))
            return;
        if (rc < 0) {
            report_failed(s, err);
            return;
        }
        if (rc == 0)
            return;
        s->tls_ready = 1;
        s->cbs->connected(s->arg);
        if (s->closed_by_user || s->dead)
            return;
    }
    if (ddb_tls_read(s->tls, deliver_plain, s, err, sizeof err) && !s->closed_by_user)
        report_failed(s, err);
    else if (!s->closed_by_user && !s->dead)
        tls_flush(s);           /* TLS 1.3 may answer (key updates, tickets) */
}

static void stream_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    ddb_host_stream *s = h->data;
    buf->base = s->rbuf;            /* (what uv_buf_init does, without the call) */
    buf->len = sizeof s->rbuf;
}

static void stream_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    ddb_host_stream *s = st->data;
    if (nread == 0 || s->closed_by_user || s->dead)
        return;
    if (nread < 0) {
        if (s->tls && !s->tls_ready)    /* most likely a server without TLS */
            report_failed(s, nread == UV_EOF ? "TLS handshake failed: the server closed "
                                               "the connection (does it speak TLS?)"
                                             : "TLS handshake failed: connection reset");
        else
            report_failed(s, nread == UV_EOF ? "the server closed the connection"
                                             : uv_strerror((int)nread));
        return;
    }
    if (s->tls)
        tls_input(s, buf->base, (size_t)nread);
    else
        s->cbs->data(s->arg, buf->base, (size_t)nread);
}

/* Connecting to a local port where nothing listens, Linux may pick that very port as
 * the source and join the socket to itself (TCP simultaneous open): the connect
 * "succeeds" and the pool would talk to itself. Such a socket's own and peer
 * addresses are the same; 1 (why filled) when they are, so it counts as a failed
 * attempt and the usual back-off applies. */
static int self_connected(uv_tcp_t *tcp, char *why, size_t len)
{
    struct sockaddr_storage me, peer;
    int nme = sizeof me, npeer = sizeof peer;
    memset(&me, 0, sizeof me);
    memset(&peer, 0, sizeof peer);
    if (uv_tcp_getsockname(tcp, (struct sockaddr *)&me, &nme) ||
        uv_tcp_getpeername(tcp, (struct sockaddr *)&peer, &npeer) || nme != npeer)
        return 0;
    char ip[64] = "?";
    int port;
    if (me.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&me, *b = (struct sockaddr_in *)&peer;
        if (a->sin_port != b->sin_port || a->sin_addr.s_addr != b->sin_addr.s_addr)
            return 0;
        uv_ip4_name(a, ip, sizeof ip);
        port = ntohs(a->sin_port);
    } else if (me.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&me, *b = (struct sockaddr_in6 *)&peer;
        if (a->sin6_port != b->sin6_port || memcmp(&a->sin6_addr, &b->sin6_addr, 16))
            return 0;
        uv_ip6_name(a, ip, sizeof ip);
        port = ntohs(a->sin6_port);
    } else {
        return 0;
    }
    snprintf(why, len, "connected to itself (nothing listens on %s:%d)", ip, port);
    return 1;
}

static void connected(uv_connect_t *req, int status)
{
    ddb_host_stream *s = req->data;
    if (s->closed_by_user || status == UV_ECANCELED)
        return;
    char why[160];
    if (status < 0) {
        snprintf(why, sizeof why, "connect failed: %s", uv_strerror(status));
        report_failed(s, why);
        return;
    }
    if (self_connected(&s->tcp, why, sizeof why)) {
        report_failed(s, why);
        return;
    }
    uv_tcp_nodelay(&s->tcp, 1);
    if (s->keepalive_sec > 0)
        uv_tcp_keepalive(&s->tcp, 1, (unsigned)s->keepalive_sec);
    int rc = uv_read_start((uv_stream_t *)&s->tcp, stream_alloc, stream_read);
    if (rc) {
        snprintf(why, sizeof why, "cannot read: %s", uv_strerror(rc));
        report_failed(s, why);
        return;
    }
    if (!s->tls) {
        s->cbs->connected(s->arg);
        return;
    }
    /* TLS: `connected` waits for the handshake (tls_input) */
    if (ddb_tls_handshake(s->tls, why, sizeof why) < 0) {
        report_failed(s, why);
        return;
    }
    tls_flush(s);
}

static int start_connect(ddb_host_stream *s, const struct sockaddr *addr)
{
    return uv_tcp_connect(&s->creq, &s->tcp, addr, connected);
}

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    ddb_host_stream *s = req->data;
    s->resolving = 0;
    if (!s->closed_by_user) {
        char why[160];
        int rc = status < 0 ? status : !res ? UV_EAI_NONAME : 0;
        if (rc) {
            snprintf(why, sizeof why, "cannot resolve host: %s", uv_strerror(rc));
            report_failed(s, why);
        } else if ((rc = start_connect(s, res->ai_addr)) != 0) {
            snprintf(why, sizeof why, "connect failed: %s", uv_strerror(rc));
            report_failed(s, why);
        }
    }
    if (res)
        uv_freeaddrinfo(res);
    stream_maybe_free(s);
}

static ddb_host_stream *uvh_stream_open(void *host, const char *name, int port,
                                        int keepalive_sec, const ddb_tls_opts *tls,
                                        const ddb_stream_cbs *cbs, void *arg, char *err,
                                        size_t errlen)
{
    ddb_host_stream *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (tls && !(s->tls = ddb_tls_new(tls, name, err, errlen))) {
        free(s);
        return NULL;
    }
    s->cbs = cbs;
    s->arg = arg;
    s->keepalive_sec = keepalive_sec;
    s->port = port;
    s->tcp.data = s;
    s->creq.data = s;
    s->gai.data = s;
    /* The handle exists from the start (libuv makes the socket only at connect), so
     * every stream ends in a close callback and stream_close never reports inline. */
    int rc = uv_tcp_init(host, &s->tcp);
    if (rc) {
        snprintf(err, errlen, "socket: %s", uv_strerror(rc));
        ddb_tls_free(s->tls);
        free(s);
        return NULL;
    }
    s->tcp_open = 1;
    struct sockaddr_storage ss;
    if (uv_ip4_addr(name, port, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(name, port, (struct sockaddr_in6 *)&ss) == 0) {
        rc = start_connect(s, (struct sockaddr *)&ss);
        if (rc)
            snprintf(err, errlen, "connect failed: %s", uv_strerror(rc));
    } else {
        char service[16];
        snprintf(service, sizeof service, "%d", port);
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
        rc = uv_getaddrinfo(host, &s->gai, resolved, name, service, &hints);
        if (rc)
            snprintf(err, errlen, "cannot resolve host: %s", uv_strerror(rc));
        else
            s->resolving = 1;
    }
    if (rc) {
        s->closed_by_user = 1;  /* nobody hears of it: the caller has the error */
        uv_close((uv_handle_t *)&s->tcp, tcp_closed);
        return NULL;
    }
    return s;
}

static void write_done(uv_write_t *req, int status)
{
    uv_stream_write *w = req->data;
    ddb_host_stream *s = w->s;
    if (w->release)
        w->release(w->rel_arg);
    ddb_buf_free(&w->head);
    free(w);
    if (status < 0 && status != UV_ECANCELED)
        report_failed(s, uv_strerror(status));
}

/* Most requests fit the socket buffer and go out at once with uv_try_write (no
 * request object, no callback); the rest is queued with uv_write. */
static const char *plain_write(ddb_host_stream *s, ddb_buf *head, const char *body,
                               size_t body_len, ddb_host_fn release, void *rel_arg);

/* Takes over `bytes` (sent, or freed on failure). NULL or why it failed. */
static const char *send_owned(ddb_host_stream *s, ddb_buf *bytes)
{
    return plain_write(s, bytes, NULL, 0, NULL, NULL);
}

/* TLS: the plaintext is encrypted at once (OpenSSL copies it), so it is released
 * here; the ciphertext goes out as an owned buffer. */
static const char *tls_write(ddb_host_stream *s, ddb_buf *head, const char *body,
                             size_t body_len, ddb_host_fn release, void *rel_arg)
{
    static char err[300];       /* loop thread only; read before the next call */
    int rc = ddb_tls_write(s->tls, head->p, head->len, err, sizeof err) ||
             (body_len && ddb_tls_write(s->tls, body, body_len, err, sizeof err));
    ddb_buf_free(head);
    ddb_buf_init(head);
    if (release)
        release(rel_arg);
    if (rc)
        return err;
    ddb_buf out;
    ddb_buf_init(&out);
    ddb_tls_take_output(s->tls, &out);
    return send_owned(s, &out);
}

static const char *uvh_stream_write(ddb_host_stream *s, ddb_buf *head, const char *body,
                                    size_t body_len, ddb_host_fn release, void *rel_arg)
{
    if (s->tls)
        return tls_write(s, head, body, body_len, release, rel_arg);
    return plain_write(s, head, body, body_len, release, rel_arg);
}

static const char *plain_write(ddb_host_stream *s, ddb_buf *head, const char *body,
                               size_t body_len, ddb_host_fn release, void *rel_arg)
{
    uv_stream_t *st = (uv_stream_t *)&s->tcp;
    uv_buf_t bufs[2] = { uv_buf_init(head->p, (unsigned)head->len) };
    int n = 1;
    if (body_len)
        bufs[n++] = uv_buf_init((char *)body, (unsigned)body_len);
    size_t total = head->len + body_len;
    int wrote = uv_try_write(st, bufs, (unsigned)n);     /* EAGAIN behind queued writes */
    const char *why = NULL;
    if (wrote >= 0 && (size_t)wrote == total)
        goto sent;
    if (wrote < 0 && wrote != UV_EAGAIN) {
        why = uv_strerror(wrote);
        goto sent;
    }
    size_t skip = wrote > 0 ? (size_t)wrote : 0;
    int first = 0;
    while (first < n && skip >= bufs[first].len) {
        skip -= bufs[first].len;
        first++;
    }
    bufs[first].base += skip;
    bufs[first].len -= skip;
    uv_stream_write *w = calloc(1, sizeof *w);
    if (!w) {
        why = "out of memory";
        goto sent;
    }
    w->head = *head;            /* bufs may point into it: it lives until write_done */
    ddb_buf_init(head);
    w->release = release;
    w->rel_arg = rel_arg;
    w->s = s;
    w->req.data = w;
    int rc = uv_write(&w->req, st, bufs + first, (unsigned)(n - first), write_done);
    if (rc == 0)
        return NULL;
    *head = w->head;
    free(w);
    why = uv_strerror(rc);
sent:
    ddb_buf_free(head);
    ddb_buf_init(head);
    if (release)
        release(rel_arg);
    return why;
}

/* What uv_try_write does for a TCP stream, without its generic checks (~70
 * instructions a request): with writes queued it is EAGAIN, as there; otherwise one
 * writev on the socket. Borrowed writes are requests, sent only once the handshake
 * is done, so the stream is connected (were it not, writev would say so). The
 * socket is asked of libuv once: a handle keeps its socket until uv_close, which
 * only stream_close calls, after marking the stream closed_by_user. A stream without
 * a socket goes through uv_try_write, which says why. Bytes written, or a libuv
 * error code. */
static ssize_t try_writev(ddb_host_stream *s, const char *head, size_t head_len,
                          const char *body, size_t body_len)
{
    if (s->tcp.write_queue_size != 0)
        return UV_EAGAIN;
    if (!s->fd_known && !s->closed_by_user && uv_fileno((uv_handle_t *)&s->tcp, &s->fd) == 0)
        s->fd_known = 1;
    uv_os_fd_t fd = s->fd;
    if (!s->fd_known || s->closed_by_user) {
        uv_buf_t bufs[2] = { uv_buf_init((char *)head, (unsigned)head_len),
                             uv_buf_init((char *)body, (unsigned)body_len) };
        return uv_try_write((uv_stream_t *)&s->tcp, bufs, body_len ? 2 : 1);
    }
    struct iovec iov[2] = { { (void *)head, head_len }, { (void *)body, body_len } };
    ssize_t n;
    do
        n = writev(fd, iov, body_len ? 2 : 1);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return n;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ? UV_EAGAIN
                                                                       : uv_translate_sys_error(errno);
}

/* Head and body borrowed: what goes out at once is never copied (most requests), and
 * body's owner is asked to keep it (retain) only when part of it must wait; the rest
 * of head is copied into an owned buffer and queued as stream_write does. */
static const char *uvh_stream_write_borrowed(ddb_host_stream *s, const char *head,
                                             size_t head_len, const char *body,
                                             size_t body_len, ddb_host_fn retain,
                                             ddb_host_fn release, void *arg)
{
    size_t sent = 0;
    if (!s->tls) {
        ssize_t wrote = try_writev(s, head, head_len, body, body_len);
        if (wrote < 0 && wrote != UV_EAGAIN)
            return uv_strerror((int)wrote);
        sent = wrote > 0 ? (size_t)wrote : 0;
        if (sent == head_len + body_len)
            return NULL;
    }
    ddb_buf rest;
    ddb_buf_init(&rest);
    if (sent < head_len && ddb_buf_put(&rest, head + sent, head_len - sent))
        return "out of memory";
    if (retain)
        retain(arg);
    size_t skip = sent > head_len ? sent - head_len : 0;     /* body bytes already out */
    return uvh_stream_write(s, &rest, body ? body + skip : NULL, body_len - skip, release,
                            arg);
}

static const char *uvh_stream_pause(ddb_host_stream *s, int paused)
{
    if (s->dead)
        return NULL;
    if (paused) {
        uv_read_stop((uv_stream_t *)&s->tcp);
        return NULL;
    }
    int rc = uv_read_start((uv_stream_t *)&s->tcp, stream_alloc, stream_read);
    return rc && rc != UV_EALREADY ? uv_strerror(rc) : NULL;
}

static void uvh_stream_close(ddb_host_stream *s, ddb_host_fn closed, void *arg)
{
    s->closed_by_user = 1;
    s->closed = closed;
    s->closed_arg = arg;
    if (s->resolving)
        uv_cancel((uv_req_t *)&s->gai);     /* resolved() comes with UV_ECANCELED */
    uv_close((uv_handle_t *)&s->tcp, tcp_closed);
}

const ddb_host_vt ddb_uv_host = {
    .now_ms = uvh_now_ms, .update_time = uvh_update_time,
    .timer_new = uvh_timer_new, .timer_start = uvh_timer_start,
    .timer_stop = uvh_timer_stop, .pump_new = uvh_pump_new,
    .pump_start = uvh_pump_start, .pump_stop = uvh_pump_stop, .close = uvh_close,
    .stream_open = uvh_stream_open, .stream_write = uvh_stream_write,
    .stream_write_borrowed = uvh_stream_write_borrowed,
    .stream_pause = uvh_stream_pause, .stream_close = uvh_stream_close,
};
