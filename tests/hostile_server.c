/* hostile_server.c — a scriptable DolphinDB-protocol server that misbehaves on
 * purpose, for tests/test_hostile.c and spec/hostile_spec.lua.
 *
 *   hostile_server MODE [ARG]      prints "hostile listening on 127.0.0.1:PORT"
 *
 * Every connection gets its own forked child (blocking I/O keeps each mode a few
 * lines; a child dies with its parent). The connect request and login are answered
 * normally (except in `login-echo`), then each request gets the MODE's answer:
 *
 *   ok           an INT scalar 42 (ARG: delay in ms before answering)
 *   garbage      bytes that are no DolphinDB response
 *   truncate     a valid header and half an INT vector, then close
 *   slowloris    a valid response, one byte every 50 ms, never finishing
 *   silence      nothing (the client's task timeout must fire)
 *   huge         a DOUBLE vector declaring 2^28 rows (2 GiB), then silence
 *   huge-slow    an INT vector declaring 100 000 000 rows, 1 KiB of it, then silence
 *   big-stall    an INT vector declaring 100 000 000 rows, ARG MB of it (default 60),
 *                then silence (the client's task timeout must free what arrived)
 *   void-vector  an ANY vector of 200 VOID vectors of 10 000 000 rows (~2 KB)
 *   void-table   a table of 200 VOID columns of 10 000 000 rows (~3 KB)
 *   msg-empty    MSG blocks with empty text, forever
 *   msg-tiny     MSG blocks of one byte, forever
 *   rst          answers ARG requests per connection (default 1); after the last
 *                one sends FIN, then resets the connection (RST)
 *   login-echo   refuses the login, quoting its arguments (user and password)
 *
 * Not a test itself; the tests start it on an ephemeral port. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *mode;
static int arg;

static int put(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t k = write(fd, s, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        s += k;
        n -= (size_t)k;
    }
    return 0;
}

static int get(int fd, void *p, size_t n)
{
    char *s = p;
    while (n) {
        ssize_t k = read(fd, s, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        s += k;
        n -= (size_t)k;
    }
    return 0;
}

static int get_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        char c;
        if (get(fd, &c, 1)) return -1;
        if (c == '\n') break;
        if (n + 1 < cap) buf[n++] = c;
    }
    buf[n] = 0;
    return 0;
}

/* One argument object of a `function` request: scalars of the types a client sends
 * for login (STRING/SYMBOL text, BOOL and other fixed widths). Appends its text. */
static int skip_scalar(int fd, char *text, size_t cap)
{
    unsigned char h[2];
    if (get(fd, h, 2)) return -1;
    int type = h[0];
    if (type == 18 || type == 17) {
        size_t n = strlen(text);
        for (;;) {
            char c;
            if (get(fd, &c, 1)) return -1;
            if (!c) break;
            if (n + 1 < cap) text[n++] = c;
        }
        text[n] = 0;
        return 0;
    }
    static const int width[] = { 1, 1, 1, 2, 4, 8, 4, 4, 4, 4, 4, 4, 8, 8, 8, 4, 8 };
    unsigned char cell[16];
    if (type > 16) return -1;
    return get(fd, cell, (size_t)width[type]);
}

/* Read one request. *kind: 0 connect, 1 login, 2 anything else. `args` gets the
 * login arguments (or the connect body's login lines), comma separated. */
static int read_request(int fd, int *kind, char *args, size_t cap)
{
    char line[512];
    if (get_line(fd, line, sizeof line)) return -1;
    char *sp = strchr(line, ' ');
    sp = sp ? strchr(sp + 1, ' ') : NULL;
    long len = sp ? strtol(sp + 1, NULL, 10) : -1;
    if (len < 0 || len > (64 << 20)) return -1;
    char *body = malloc((size_t)len + 1);
    if (!body || get(fd, body, (size_t)len)) {
        free(body);
        return -1;
    }
    body[len] = 0;
    args[0] = 0;
    *kind = 2;
    if (strncmp(body, "connect", 7) == 0) {
        *kind = 0;
        snprintf(args, cap, "%s", body + 7);
        for (char *p = args; *p; p++)
            if (*p == '\n') *p = ',';
    } else if (strncmp(body, "function\n", 9) == 0) {
        int n = 0;
        char *name = body + 9, *nl = strchr(name, '\n');
        if (nl) {
            *nl = 0;
            n = atoi(nl + 1);
        }
        if (strcmp(name, "login") == 0) *kind = 1;
        for (int i = 0; i < n; i++) {
            if (i) strncat(args, ",", cap - strlen(args) - 1);
            if (skip_scalar(fd, args, cap)) {
                free(body);
                return -1;
            }
        }
    }
    free(body);
    return 0;
}

static int ok_header(int fd, int objects)
{
    char h[64];
    int n = snprintf(h, sizeof h, "7 %d 1\nOK\n", objects);
    return put(fd, h, (size_t)n);
}

static void le32(unsigned char *p, int32_t v)
{
    uint32_t u = (uint32_t)v;
    p[0] = (unsigned char)u; p[1] = (unsigned char)(u >> 8);
    p[2] = (unsigned char)(u >> 16); p[3] = (unsigned char)(u >> 24);
}

/* type, form, rows, cols of a vector header */
static void vec_header(unsigned char *p, int type, int rows)
{
    p[0] = (unsigned char)type; p[1] = 1;
    le32(p + 2, rows);
    le32(p + 6, 1);
}

static int send_int42(int fd)
{
    unsigned char o[6] = { 4, 0, 42, 0, 0, 0 };
    return ok_header(fd, 1) || put(fd, o, sizeof o);
}

static int void_bomb(int fd, int as_table)
{
    enum { N = 200, ROWS = 10000000 };
    static unsigned char buf[8192];
    size_t n = 0;
    if (as_table) {
        buf[n++] = 0; buf[n++] = 6;                     /* table header */
        le32(buf + n, ROWS); le32(buf + n + 4, N); n += 8;
        buf[n++] = 't'; buf[n++] = 0;
        for (int i = 0; i < N; i++) n += (size_t)sprintf((char *)buf + n, "c%d", i) + 1;
    } else {
        vec_header(buf, 25, N);                         /* ANY vector */
        n = 10;
    }
    for (int i = 0; i < N; i++) {
        vec_header(buf + n, 0, ROWS);
        n += 10;
    }
    return ok_header(fd, 1) || put(fd, buf, n);
}

static void flood(int fd, const char *block, size_t len)
{
    char buf[65000];
    size_t n = 0;
    while (n + len <= sizeof buf) {
        memcpy(buf + n, block, len);
        n += len;
    }
    while (put(fd, buf, n) == 0) {}
}

static void reset(int fd)
{
    struct linger l = { 1, 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

/* After ARG answers: the last answer, FIN and at once RST. A client that reads the
 * answer after the RST arrived finds its socket in CLOSE_WAIT with the error EPIPE,
 * and its next write raises SIGPIPE unless the process is protected. */
static void rst(int fd, int *answered)
{
    send_int42(fd);
    if (++*answered < (arg > 0 ? arg : 1))
        return;
    shutdown(fd, SHUT_WR);                      /* FIN */
    reset(fd);                                  /* RST */
    _exit(0);
}

/* The answer to one task request; returns -1 to end the connection. */
static int answer(int fd, int *answered)
{
    unsigned char v[1024 + 10];
    if (strcmp(mode, "ok") == 0) {
        if (arg > 0) usleep((useconds_t)arg * 1000);
        return send_int42(fd);
    }
    if (strcmp(mode, "garbage") == 0)
        return put(fd, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
    if (strcmp(mode, "truncate") == 0) {
        vec_header(v, 4, 1000);
        memset(v + 10, 1, 40);
        ok_header(fd, 1);
        put(fd, v, 50);
        return -1;
    }
    if (strcmp(mode, "slowloris") == 0) {
        static const char r[] = "7 1 1\nOK\n";
        for (;;) {
            for (const char *p = r; *p; p++) {
                if (put(fd, p, 1)) return -1;
                usleep(50000);
            }
            vec_header(v, 4, 1 << 20);
            for (int i = 0; i < 10; i++) {
                if (put(fd, v + i, 1)) return -1;
                usleep(50000);
            }
            for (;;) {
                if (put(fd, "\1", 1)) return -1;
                usleep(50000);
            }
        }
    }
    if (strcmp(mode, "huge") == 0 || strcmp(mode, "huge-slow") == 0) {
        int slow = mode[4] == '-';
        vec_header(v, slow ? 4 : 16, slow ? 100000000 : 1 << 28);
        memset(v + 10, 7, 1024);
        if (ok_header(fd, 1) || put(fd, v, slow ? sizeof v : 10)) return -1;
        return 0;                               /* then silence */
    }
    if (strcmp(mode, "big-stall") == 0) {
        static unsigned char mb[1 << 20];
        vec_header(v, 4, 100000000);
        if (ok_header(fd, 1) || put(fd, v, 10)) return -1;
        for (int i = 0; i < (arg > 0 ? arg : 60); i++)
            if (put(fd, mb, sizeof mb)) return -1;
        return 0;                               /* then silence */
    }
    if (strcmp(mode, "void-vector") == 0) return void_bomb(fd, 0);
    if (strcmp(mode, "void-table") == 0) return void_bomb(fd, 1);
    if (strcmp(mode, "msg-empty") == 0) flood(fd, "MSG\n", 5);
    if (strcmp(mode, "msg-tiny") == 0) flood(fd, "MSG\nx", 6);
    if (strcmp(mode, "rst") == 0) {
        rst(fd, answered);
        return 0;
    }
    return strcmp(mode, "silence") == 0 ? 0 : -1;
}

static void serve(int fd)
{
    char args[1024];
    int kind, answered = 0;
    while (read_request(fd, &kind, args, sizeof args) == 0) {
        int bad_login = strcmp(mode, "login-echo") == 0;
        if (kind == 0 && bad_login && strstr(args, "login")) {
            char e[1200];
            int n = snprintf(e, sizeof e, "7 0 1\nThe user name or password is incorrect "
                             "(connect%s)\n", args);
            put(fd, e, (size_t)n);
        } else if (kind == 0) {
            ok_header(fd, 0);
        } else if (kind == 1 && bad_login) {
            char e[1200];
            int n = snprintf(e, sizeof e, "7 0 1\nlogin(%s): The user name or password "
                             "is incorrect\n", args);
            put(fd, e, (size_t)n);
        } else if (kind == 1) {
            unsigned char t[3] = { 1, 0, 1 };
            if (ok_header(fd, 1) || put(fd, t, 3)) break;
        } else if (answer(fd, &answered)) {
            break;
        }
    }
    _exit(0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: hostile_server MODE [ARG]\n");
        return 2;
    }
    mode = argv[1];
    arg = argc > 2 ? atoi(argv[2]) : 0;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGCHLD, SIG_IGN);                   /* children reap themselves */
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 128) ||
        getsockname(ls, (struct sockaddr *)&a, &alen)) {
        perror("hostile_server");
        return 1;
    }
    printf("hostile listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    pid_t parent = getpid();
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) continue;
            return 1;
        }
        if (fork() == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) _exit(0);
            close(ls);
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            serve(fd);
        }
        close(fd);
    }
}
