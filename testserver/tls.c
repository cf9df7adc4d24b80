/* tls.c — TLS for ddbmini from the first byte, on the same port (docs/SECURITY.md,
 * "TLS"). Each accepted connection gets a relay: the client's TCP stream carries
 * TLS records, OpenSSL works on memory BIOs inside the loop, and the plaintext goes
 * through a socketpair to an ordinary ddbmini connection, which never knows TLS is
 * there. That keeps server.c's framing and zero-copy writing untouched at the cost
 * of one copy per byte, which a test server can afford.
 *
 * Flow control: a relay stops reading one side while more than RELAY_HIGH bytes
 * wait to be written to the other, so a slow reader holds no unbounded buffer. A
 * client that has not finished its handshake after HANDSHAKE_MS is dropped. */
#include "server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RELAY_CHUNK (64 * 1024)
#define RELAY_HIGH (4 * 1024 * 1024)
#define RELAY_LOW (1024 * 1024)
#define HANDSHAKE_MS 10000
#define FLUSH_MS 2000

static SSL_CTX *g_ctx;

typedef struct relay {
    uv_tcp_t net;               /* the client: TLS records */
    uv_pipe_t plain;            /* our end of the socketpair: plaintext */
    uv_timer_t timer;           /* handshake deadline, then the last flush's */
    uv_shutdown_t shut;
    SSL *ssl;
    BIO *in, *out;              /* network -> OpenSSL, OpenSSL -> network */
    int handles;
    int closing;
    int ready;                  /* handshake finished, plaintext flows */
    int net_paused, plain_paused;   /* reading stopped for flow control */
    int finishing;              /* ddbmini hung up: flushing to the client */
} relay;

typedef struct relay_write {
    uv_write_t w;
    relay *r;
    char data[];
} relay_write;

static void relay_close(relay *r);
static void on_flush_timeout(uv_timer_t *t);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_net_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void on_plain_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

/* Flow control: pause or resume reading one side. */
static void set_paused(relay *r, uv_stream_t *s, int *paused, int pause)
{
    if (r->closing || r->finishing || *paused == pause)
        return;
    *paused = pause;
    if (pause)
        uv_read_stop(s);
    else if (uv_read_start(s, on_alloc, s == (uv_stream_t *)&r->net ? on_net_read : on_plain_read) < 0)
        relay_close(r);
}

/* ---------------------------------------------------------------- set-up */

static int ssl_fail(char *err, size_t errlen, const char *what, const char *file)
{
    char why[256];
    ERR_error_string_n(ERR_get_error(), why, sizeof why);
    snprintf(err, errlen, "%s %s: %s", what, file, why);
    ERR_clear_error();
    return -1;
}

int tls_setup(const char *cert_file, const char *key_file, char *err, size_t errlen)
{
    g_ctx = SSL_CTX_new(TLS_server_method());
    if (!g_ctx)
        return ssl_fail(err, errlen, "cannot create the TLS context", "");
    SSL_CTX_set_min_proto_version(g_ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(g_ctx, cert_file) != 1)
        return ssl_fail(err, errlen, "cannot load the certificate", cert_file);
    if (SSL_CTX_use_PrivateKey_file(g_ctx, key_file, SSL_FILETYPE_PEM) != 1)
        return ssl_fail(err, errlen, "cannot load the private key", key_file);
    if (SSL_CTX_check_private_key(g_ctx) != 1)
        return ssl_fail(err, errlen, "the private key does not match the certificate", cert_file);
    return 0;
}

int tls_enabled(void) { return g_ctx != NULL; }

void tls_free(void)
{
    SSL_CTX_free(g_ctx);
    g_ctx = NULL;
}

/* ---------------------------------------------------------------- closing */

static void on_relay_closed(uv_handle_t *h)
{
    relay *r = h->data;
    if (--r->handles == 0) {
        SSL_free(r->ssl);       /* frees both BIOs */
        free(r);
    }
}

static void relay_close(relay *r)
{
    if (r->closing)
        return;
    r->closing = 1;
    uv_close((uv_handle_t *)&r->net, on_relay_closed);
    uv_close((uv_handle_t *)&r->plain, on_relay_closed);
    uv_close((uv_handle_t *)&r->timer, on_relay_closed);
}

/* ---------------------------------------------------------------- writing */

static void on_net_written(uv_write_t *w, int status);
static void on_plain_written(uv_write_t *w, int status);

static int send_copy(relay *r, uv_stream_t *to, const char *p, size_t n, uv_write_cb cb)
{
    relay_write *rw = malloc(sizeof *rw + n);
    if (!rw)
        return -1;
    rw->r = r;
    memcpy(rw->data, p, n);
    uv_buf_t b = uv_buf_init(rw->data, (unsigned)n);
    if (uv_write(&rw->w, to, &b, 1, cb) < 0) {
        free(rw);
        return -1;
    }
    return 0;
}

/* Sends what OpenSSL has written into the outgoing BIO (records, alerts). */
static int flush_net(relay *r)
{
    char *p;
    long n = BIO_get_mem_data(r->out, &p);
    if (n <= 0 || r->closing)
        return 0;
    int rc = send_copy(r, (uv_stream_t *)&r->net, p, (size_t)n, on_net_written);
    (void)BIO_reset(r->out);
    if (!rc && r->ready && r->net.write_queue_size > RELAY_HIGH)   /* the client reads slowly */
        set_paused(r, (uv_stream_t *)&r->plain, &r->plain_paused, 1);
    return rc;
}

static void on_net_written(uv_write_t *w, int status)
{
    relay_write *rw = (relay_write *)w;
    relay *r = rw->r;
    free(rw);
    if (status < 0) {
        relay_close(r);
        return;
    }
    if (r->ready && r->net.write_queue_size < RELAY_LOW)
        set_paused(r, (uv_stream_t *)&r->plain, &r->plain_paused, 0);
}

static void on_plain_written(uv_write_t *w, int status)
{
    relay_write *rw = (relay_write *)w;
    relay *r = rw->r;
    free(rw);
    if (status < 0)
        relay_close(r);
    else if (r->plain.write_queue_size < RELAY_LOW)  /* ddbmini caught up */
        set_paused(r, (uv_stream_t *)&r->net, &r->net_paused, 0);
}

/* ---------------------------------------------------------------- client -> server */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(RELAY_CHUNK);
    buf->len = buf->base ? RELAY_CHUNK : 0;
}

/* Runs the handshake, then hands every decrypted byte to the connection. */
static void decrypt_available(relay *r)
{
    if (!r->ready) {
        int rc = SSL_do_handshake(r->ssl);
        if (rc != 1) {
            int e = SSL_get_error(r->ssl, rc);
            flush_net(r);       /* an alert, if OpenSSL made one */
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                relay_close(r); /* not TLS, or a failed handshake: just hang up */
            return;
        }
        r->ready = 1;
        uv_timer_stop(&r->timer);
        uv_read_start((uv_stream_t *)&r->plain, on_alloc, on_plain_read);
    }
    char buf[16 * 1024];
    for (;;) {
        int n = SSL_read(r->ssl, buf, sizeof buf);
        if (n > 0) {
            if (send_copy(r, (uv_stream_t *)&r->plain, buf, (size_t)n, on_plain_written))
                break;
            continue;
        }
        int e = SSL_get_error(r->ssl, n);
        flush_net(r);           /* e.g. TLS 1.3 tickets, or a key update answer */
        if (e != SSL_ERROR_WANT_READ)
            relay_close(r);     /* close_notify or a protocol error */
        return;
    }
    relay_close(r);
}

static void on_net_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    relay *r = s->data;
    if (n < 0 || r->closing) {
        free(buf->base);
        relay_close(r);
        return;
    }
    if (n > 0 && BIO_write(r->in, buf->base, (int)n) != (int)n) {
        free(buf->base);
        relay_close(r);
        return;
    }
    free(buf->base);
    decrypt_available(r);
    if (r->plain.write_queue_size > RELAY_HIGH)     /* ddbmini is busy: wait */
        set_paused(r, (uv_stream_t *)&r->net, &r->net_paused, 1);
}

/* ---------------------------------------------------------------- server -> client */

static void on_net_shutdown(uv_shutdown_t *req, int status) { relay_close(req->data); }

/* ddbmini hung up: the client gets the rest of what was written (e.g. a response
 * cut short by a drop fault) and a close_notify, then the relay closes. A client
 * that does not read gets FLUSH_MS before it is cut off. */
static void finish_relay(relay *r)
{
    r->finishing = 1;
    uv_read_stop((uv_stream_t *)&r->plain);
    SSL_shutdown(r->ssl);
    flush_net(r);
    r->shut.data = r;
    if (uv_shutdown(&r->shut, (uv_stream_t *)&r->net, on_net_shutdown) < 0)
        relay_close(r);
    else
        uv_timer_start(&r->timer, on_flush_timeout, FLUSH_MS, 0);
}

static void on_plain_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    relay *r = s->data;
    if (n < 0 || r->closing) {
        free(buf->base);
        if (!r->closing && n == UV_EOF)
            finish_relay(r);
        else
            relay_close(r);
        return;
    }
    int ok = n == 0 || SSL_write(r->ssl, buf->base, (int)n) == (int)n;
    free(buf->base);
    if (!ok || flush_net(r))
        relay_close(r);
}

/* ---------------------------------------------------------------- accepting */

static void on_handshake_timeout(uv_timer_t *t) { relay_close(t->data); }
static void on_flush_timeout(uv_timer_t *t) { relay_close(t->data); }

/* *fd_owned: the pipe took the plaintext fd (closing the relay closes it). */
static int relay_init(relay *r, uv_stream_t *listener, int fd, int *fd_owned)
{
    uv_loop_t *loop = listener->loop;
    uv_tcp_init(loop, &r->net);
    uv_pipe_init(loop, &r->plain, 0);
    uv_timer_init(loop, &r->timer);
    r->net.data = r->plain.data = r->timer.data = r;
    r->handles = 3;
    if (uv_accept(listener, (uv_stream_t *)&r->net) < 0 || uv_pipe_open(&r->plain, fd) < 0)
        return -1;
    *fd_owned = 1;
    r->ssl = SSL_new(g_ctx);
    r->in = BIO_new(BIO_s_mem());
    r->out = BIO_new(BIO_s_mem());
    if (!r->ssl || !r->in || !r->out) {
        BIO_free(r->in);
        BIO_free(r->out);
        return -1;
    }
    BIO_set_mem_eof_return(r->in, -1);      /* empty means "wait", not EOF */
    SSL_set_bio(r->ssl, r->in, r->out);
    SSL_set_accept_state(r->ssl);
    uv_tcp_nodelay(&r->net, 1);
    uv_timer_start(&r->timer, on_handshake_timeout, HANDSHAKE_MS, 0);
    return uv_read_start((uv_stream_t *)&r->net, on_alloc, on_net_read) < 0 ? -1 : 0;
}

static void free_handle(uv_handle_t *h) { free(h); }

/* Takes the pending connection off the listener without serving it. */
static void drop_pending(uv_stream_t *listener)
{
    uv_tcp_t *t = malloc(sizeof *t);
    if (!t)
        return;
    uv_tcp_init(listener->loop, t);
    uv_accept(listener, (uv_stream_t *)t);
    uv_close((uv_handle_t *)t, free_handle);
}

int tls_accept(uv_stream_t *listener)
{
    int sv[2], fd_owned = 0;
    relay *r = calloc(1, sizeof *r);
    if (!r || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        free(r);
        drop_pending(listener);     /* else libuv stops accepting until someone does */
        return -1;
    }
    if (relay_init(r, listener, sv[1], &fd_owned) < 0) {
        if (!fd_owned)
            close(sv[1]);
        close(sv[0]);
        relay_close(r);
        return -1;
    }
    return sv[0];
}
