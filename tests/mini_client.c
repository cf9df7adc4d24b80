/* mini_client.c — see mini_client.h. */
#include "mini_client.h"
#include "ddb_codec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(mini_client *c, const char *fmt, const char *arg)
{
    snprintf(c->error, sizeof c->error, fmt, arg);
    return MINI_IO_ERROR;
}

int mini_client_open(mini_client *c, const char *host, int port)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->kind = "API2";
    c->timeout_ms = 30000;
    snprintf(c->behavior, sizeof c->behavior, "0_1_4_64");
    ddb_buf_init(&c->in);
    ddb_buf_init(&c->msgs);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return fail(c, "bad address %s", host);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0)
        return fail(c, "connect: %s", strerror(errno));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return 0;
}

void mini_client_close(mini_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    ddb_buf_free(&c->in);
    ddb_buf_free(&c->msgs);
}

static int write_all(mini_client *c, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return fail(c, "send: %s", strerror(errno));
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

int mini_client_send(mini_client *c, const char *body, size_t body_len, const void *payload,
                     size_t payload_len)
{
    char head[256];
    int n = c->behavior[0]
                ? snprintf(head, sizeof head, "%s %lld %zu / %s\n", c->kind, (long long)c->session_id,
                           body_len, c->behavior)
                : snprintf(head, sizeof head, "%s %lld %zu\n", c->kind, (long long)c->session_id, body_len);
    if (write_all(c, head, (size_t)n) || write_all(c, body, body_len))
        return MINI_IO_ERROR;
    return payload_len ? write_all(c, payload, payload_len) : 0;
}

/* Reads more bytes into c->in; 0, or -1 on EOF/timeout/error. */
static int fill(mini_client *c)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    int r = poll(&pfd, 1, c->timeout_ms);
    if (r == 0)
        return fail(c, "timeout waiting for the server%s", "");
    if (r < 0)
        return fail(c, "poll: %s", strerror(errno));
    if (c->in_pos == c->in.len)
        c->in.len = c->in_pos = 0;
    if (ddb_buf_reserve(&c->in, 1 << 20))    /* big reads: fewer syscalls on large results */
        return fail(c, "out of memory%s", "");
    ssize_t got = recv(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len, 0);
    if (got == 0)
        return fail(c, "connection closed by the server%s", "");
    if (got < 0)
        return fail(c, "recv: %s", strerror(errno));
    c->in.len += (size_t)got;
    return 0;
}

/* Next LF- or NUL-terminated piece into out (without the terminator). */
static int read_until(mini_client *c, char term, char *out, size_t cap)
{
    for (;;) {
        if (c->in_pos == c->in.len && fill(c))     /* also: c->in.p may still be NULL */
            return -1;
        const char *start = c->in.p + c->in_pos;
        const char *end = memchr(start, term, c->in.len - c->in_pos);
        if (end) {
            size_t n = (size_t)(end - start);
            if (n >= cap)
                return fail(c, "response line too long%s", "");
            memcpy(out, start, n);
            out[n] = 0;
            c->in_pos += n + 1;
            return 0;
        }
        if (c->in.len - c->in_pos >= cap)
            return fail(c, "response line too long%s", "");
        if (fill(c))
            return -1;
    }
}

int mini_client_read_raw(mini_client *c, void *buf, size_t n)
{
    if (n == 0)
        return 0;
    while (c->in.len - c->in_pos < n)
        if (fill(c))
            return -1;
    memcpy(buf, c->in.p + c->in_pos, n);
    c->in_pos += n;
    return 0;
}

static int read_object(mini_client *c, int little, ddb_obj **obj)
{
    ddb_decoder *d = ddb_decoder_new(NULL);
    if (!d)
        return fail(c, "out of memory%s", "");
    ddb_decoder_reset(d, little);
    for (;;) {
        size_t used = 0;
        int rc = c->in.len > c->in_pos
                     ? ddb_decoder_feed(d, c->in.p + c->in_pos, c->in.len - c->in_pos, &used)
                     : DDB_DEC_NEED_MORE;
        c->in_pos += used;
        if (rc == DDB_DEC_DONE) {
            *obj = ddb_decoder_take(d);
            ddb_decoder_free(d);
            return 0;
        }
        if (rc == DDB_DEC_ERROR) {
            fail(c, "bad object: %s", ddb_decoder_error(d));
            ddb_decoder_free(d);
            return -1;
        }
        if (fill(c)) {
            ddb_decoder_free(d);
            return -1;
        }
    }
}

int mini_client_read(mini_client *c, ddb_obj **obj)
{
    static _Thread_local char line[1 << 16];   /* one per thread: tests run clients in threads */
    if (obj)
        *obj = NULL;
    ddb_buf_reset(&c->msgs);
    c->nmsgs = 0;
    c->error[0] = 0;
    for (;;) {
        if (read_until(c, '\n', line, sizeof line))
            return MINI_IO_ERROR;
        if (strcmp(line, "MSG"))
            break;
        if (read_until(c, '\0', line, sizeof line))
            return MINI_IO_ERROR;
        ddb_buf_puts(&c->msgs, line);
        ddb_buf_u8(&c->msgs, '\n');
        c->nmsgs++;
    }
    long long sid;
    int count, little;
    char extra;
    if (sscanf(line, "%lld %d %d%c", &sid, &count, &little, &extra) != 3 || count < 0 || count > 1)
        return fail(c, "bad response header: %.200s", line);
    c->session_id = sid;
    if (read_until(c, '\n', line, sizeof line))
        return MINI_IO_ERROR;
    if (strcmp(line, "OK")) {
        snprintf(c->error, sizeof c->error, "%.1000s", line);
        return MINI_SERVER_ERROR;
    }
    if (count == 0)
        return MINI_OK;
    ddb_obj *o = NULL;
    if (read_object(c, little, &o))
        return MINI_IO_ERROR;
    if (obj)
        *obj = o;
    else
        ddb_obj_unref(o);
    return MINI_OK;
}

static int request(mini_client *c, const char *body, size_t len, const ddb_buf *payload, ddb_obj **obj)
{
    if (mini_client_send(c, body, len, payload ? payload->p : NULL, payload ? payload->len : 0))
        return MINI_IO_ERROR;
    return mini_client_read(c, obj);
}

int mini_client_connect(mini_client *c)
{
    return request(c, "connect\n", 8, NULL, NULL);
}

int mini_client_connect_login(mini_client *c, const char *user, const char *password)
{
    char body[512];
    int n = snprintf(body, sizeof body, "connect\nlogin\n%s\n%s\nfalse", user, password);
    ddb_obj *o = NULL;
    int rc = request(c, body, (size_t)n, NULL, &o);
    if (rc == MINI_OK && o && o->type == DDB_BOOL && *(int8_t *)o->data != 1)
        rc = fail(c, "login refused%s", "");
    ddb_obj_unref(o);
    return rc;
}

int mini_client_script(mini_client *c, const char *script, ddb_obj **obj)
{
    size_t len = strlen(script);
    char *body = malloc(len + 8);
    if (!body)
        return fail(c, "out of memory%s", "");
    memcpy(body, "script\n", 7);
    memcpy(body + 7, script, len);
    int rc = request(c, body, len + 7, NULL, obj);
    free(body);
    return rc;
}

static int encode_all(mini_client *c, ddb_obj *const *vals, int n, ddb_buf *out)
{
    ddb_encoder e;
    ddb_encoder_init(&e);
    char err[256];
    for (int i = 0; i < n; i++)
        if (ddb_encode(&e, out, vals[i], err, sizeof err))
            return fail(c, "encode: %s", err);
    return 0;
}

int mini_client_call(mini_client *c, const char *fn, ddb_obj *const *args, int nargs, ddb_obj **obj)
{
    ddb_buf body, payload;
    ddb_buf_init(&body);
    ddb_buf_init(&payload);
    ddb_buf_printf(&body, "function\n%s\n%d\n1", fn, nargs);
    int rc = encode_all(c, args, nargs, &payload);
    if (rc == 0)
        rc = request(c, body.p, body.len, &payload, obj);
    ddb_buf_free(&body);
    ddb_buf_free(&payload);
    return rc;
}

int mini_client_upload(mini_client *c, const char *const *names, ddb_obj *const *vals, int n)
{
    ddb_buf body, payload;
    ddb_buf_init(&body);
    ddb_buf_init(&payload);
    ddb_buf_puts(&body, "variable\n");
    for (int i = 0; i < n; i++)
        ddb_buf_printf(&body, "%s%s", i ? "," : "", names[i]);
    ddb_buf_printf(&body, "\n%d\n1", n);
    int rc = encode_all(c, vals, n, &payload);
    if (rc == 0)
        rc = request(c, body.p, body.len, &payload, NULL);
    ddb_buf_free(&body);
    ddb_buf_free(&payload);
    return rc;
}

int mini_client_wait_closed(mini_client *c, int timeout_ms)
{
    int saved = c->timeout_ms;
    c->timeout_ms = timeout_ms;
    int closed = 0;
    for (;;) {
        c->in_pos = c->in.len;      /* discard whatever arrives */
        if (fill(c)) {
            closed = strstr(c->error, "closed") != NULL || strstr(c->error, "reset") != NULL;
            break;
        }
    }
    c->timeout_ms = saved;
    return closed;
}
