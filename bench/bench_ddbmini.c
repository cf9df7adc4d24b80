/* bench_ddbmini.c — what one small request costs ddbmini itself.
 *
 *   bench_ddbmini [options]
 *     --requests N      requests per measurement (default 100000)
 *     --conns LIST      comma-separated connection counts (default 1,8)
 *     --runs R          rounds; every figure is the median over them (default 5)
 *     --depth D         requests in flight per connection (default 1: one request,
 *                       its response, the next; D > 1 pipelines)
 *     --script TEXT     the script sent (default 1+1; its result must be INT 2)
 *     --server PATH     the ddbmini binary (default: the build's, or $DDBMINI)
 *     --compare PATH    also measure another ddbmini binary (e.g. an older build),
 *                       rounds interleaved with the first
 *     --port P --pid Q  use a running server instead (Q: its pid, for CPU figures)
 *     --floor           also measure a bare epoll server (a forked child that only
 *                       frames requests and writes a canned `1+1` reply): the
 *                       kernel's share, what no server can go below on this machine
 *     --callgrind [M]   instructions per request instead: ddbmini runs under
 *                       valgrind --tool=callgrind twice, with W and W+M requests
 *                       (default M 20000, W 2000), and the difference is divided by M
 *     -- ARGS           further arguments for ddbmini (e.g. --threads 4)
 *
 * The client is one thread polling K blocking sockets, so it takes as little of the
 * machine's CPU as it can; requests are written by hand (docs/PROTOCOL.md §1.2) the way
 * the pool writes them (API2, clearMemory), responses are checked byte by byte.
 * ddbmini's CPU time is utime+stime of its process from /proc/PID/stat, read before
 * and after each measurement (all threads; 10 ms ticks, so keep N large). Not a
 * test: numbers only. No library from this project is used, so it builds and runs
 * against any ddbmini. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#ifndef DDBMINI_PATH
#define DDBMINI_PATH "ddbmini"
#endif

#define MAX_CONNS 256
#define MAX_EXTRA 32

typedef struct options {
    long requests;
    int conns[16], nconns;
    int runs, depth;
    const char *script;
    const char *server;
    int port, pid;
    long callgrind;             /* 0: off, else M */
    int floor;                  /* also measure the bare echo server */
    const char *compare;        /* also measure this ddbmini binary */
    const char *extra[MAX_EXTRA];
    int nextra;
} options;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_ddbmini: %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
    exit(1);
}

/* ---------------------------------------------------------------- the server */

typedef struct server {
    pid_t pid;
    int port;
} server;

/* Starts argv[0] with its stdout on a pipe and waits for "... listening on H:P". */
static server spawn_server(char *const argv[])
{
    int fd[2];
    if (pipe(fd))
        die("pipe");
    server s = { fork(), 0 };
    if (s.pid < 0)
        die("fork");
    if (s.pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    char line[512];
    size_t len = 0;
    ssize_t k;
    while (len < sizeof line - 1 && (k = read(fd[0], line + len, 1)) == 1 && line[len] != '\n')
        len++;
    line[len] = 0;
    close(fd[0]);               /* ddbmini prints nothing more */
    const char *colon = strrchr(line, ':');
    if (!strstr(line, "listening on") || !colon) {
        fprintf(stderr, "bench_ddbmini: %s did not start (got \"%s\")\n", argv[0], line);
        exit(1);
    }
    s.port = atoi(colon + 1);
    return s;
}

static void stop_server(server *s)
{
    int st;
    kill(s->pid, SIGTERM);
    waitpid(s->pid, &st, 0);
}

/* utime + stime of a whole process (every thread), in seconds. */
static int proc_cpu(int pid, double *user, double *sys)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');     /* the command name may hold spaces */
    unsigned long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    double tick = (double)sysconf(_SC_CLK_TCK);
    *user = ut / tick;
    *sys = st / tick;
    return 0;
}

/* ---------------------------------------------------------------- the client */

typedef struct conn {
    int fd;
    char sid[32];
    char in[65536];
    size_t len;
    long to_send, pending;      /* requests not yet sent / sent and unanswered */
} conn;

static const char *g_script = "1+1";
static long g_errors;
static char g_first_error[256];

static void fail(const char *fmt, const char *detail)
{
    if (!g_errors++)
        snprintf(g_first_error, sizeof g_first_error, fmt, detail);
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            die("send");
        p += k;
        n -= (size_t)k;
    }
}

/* The pool's request: API2, this session, clearMemory (16), default behavior. */
static void send_script(conn *c, int count)
{
    char req[65536], body[2048];
    int blen = snprintf(body, sizeof body, "script\n%s", g_script);
    size_t len = 0;
    for (int i = 0; i < count; i++)
        len += (size_t)snprintf(req + len, sizeof req - len, "API2 %s %d / 16_1_4_64\n%s",
                                c->sid, blen, body);
    send_all(c->fd, req, len);
}

/* The length of one whole response at p, 0 when incomplete. The result of the
 * script must be the INT scalar 2. */
static size_t take_response(conn *c, char *p, size_t len)
{
    char *lf1 = memchr(p, '\n', len);
    char *lf2 = lf1 ? memchr(lf1 + 1, '\n', len - (size_t)(lf1 + 1 - p)) : NULL;
    if (!lf2)
        return 0;
    size_t head = (size_t)(lf2 + 1 - p);
    if (strncmp(lf1 + 1, "OK\n", 3)) {
        *lf2 = 0;
        fail("error response: %s", lf1 + 1);
        return head;
    }
    int count = 0;
    if (sscanf(p, "%31s %d", c->sid, &count) != 2 || count > 1) {
        fail("bad response header%s", "");
        return head;
    }
    if (count == 0)
        return head;
    if (len < head + 6)
        return 0;
    static const unsigned char two[6] = { 4, 0, 2, 0, 0, 0 };
    if (memcmp(p + head, two, 6))
        fail("the result is not INT 2%s", "");
    return head + 6;
}

/* Reads what is there and sends a request for every response it completed. */
static void on_readable(conn *c)
{
    ssize_t k = recv(c->fd, c->in + c->len, sizeof c->in - c->len, 0);
    if (k <= 0)
        die("recv (the server closed the connection)");
    c->len += (size_t)k;
    size_t off = 0, used;
    long answered = 0;
    while (c->pending > 0 && (used = take_response(c, c->in + off, c->len - off))) {
        off += used;
        c->pending--;
        answered++;
    }
    memmove(c->in, c->in + off, c->len - off);
    c->len -= off;
    int more = (int)(answered < c->to_send ? answered : c->to_send);
    if (more > 0) {
        send_script(c, more);
        c->to_send -= more;
        c->pending += more;
    }
}

static void open_conn(conn *c, int port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa))
        die("connect");
    static const char hello[] = "API2 0 8 / 0_1_4_64\nconnect\n";
    send_all(c->fd, hello, sizeof hello - 1);
    c->len = 0;
    for (;;) {                  /* "<sid> 0 1\nOK\n" */
        ssize_t k = recv(c->fd, c->in + c->len, sizeof c->in - c->len, 0);
        if (k <= 0)
            die("connect response");
        c->len += (size_t)k;
        char *lf1 = memchr(c->in, '\n', c->len);
        if (lf1 && memchr(lf1 + 1, '\n', c->len - (size_t)(lf1 + 1 - c->in)))
            break;
    }
    sscanf(c->in, "%31s", c->sid);
    c->len = 0;
}

/* n requests spread over k connections, at most depth in flight on each. */
static double run_requests(int port, int k, long n, int depth)
{
    static conn cs[MAX_CONNS];
    struct pollfd pf[MAX_CONNS];
    for (int i = 0; i < k; i++) {
        open_conn(&cs[i], port);
        cs[i].to_send = n / k + (i < n % k);
        cs[i].pending = 0;
        pf[i].fd = cs[i].fd;
        pf[i].events = POLLIN;
    }
    double t0 = now_s();
    for (int i = 0; i < k; i++) {
        int first = cs[i].to_send < depth ? (int)cs[i].to_send : depth;
        if (first > 0)
            send_script(&cs[i], first);
        cs[i].to_send -= first;
        cs[i].pending = first;
    }
    for (int busy = k; busy > 0;) {
        if (poll(pf, (nfds_t)k, 30000) <= 0)
            die("poll (no response for 30 s)");
        busy = 0;
        for (int i = 0; i < k; i++) {
            if (pf[i].revents)
                on_readable(&cs[i]);
            busy += cs[i].pending > 0;
        }
    }
    double dt = now_s() - t0;
    for (int i = 0; i < k; i++)
        close(cs[i].fd);
    return dt;
}

/* ---------------------------------------------------------------- measuring */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void build_argv(const options *o, const char **argv, int under_valgrind, const char *out)
{
    int n = 0;
    static char outopt[300];
    if (under_valgrind) {
        snprintf(outopt, sizeof outopt, "--callgrind-out-file=%s", out);
        argv[n++] = "valgrind";
        argv[n++] = "--tool=callgrind";
        argv[n++] = "--quiet";
        argv[n++] = outopt;
    }
    argv[n++] = o->server;
    argv[n++] = "--port";
    argv[n++] = "0";
    for (int i = 0; i < o->nextra; i++)
        argv[n++] = o->extra[i];
    argv[n] = NULL;
}

typedef struct target {
    server srv;
    const char *title;
    double v[5][16][64];        /* cpu, user, sys, requests/s, client: [conns][round] */
} target;

/* One measurement of one server: o->requests over k connections. */
static void measure_once(const options *o, target *t, int i, int k, int r)
{
    double u0 = 0, s0 = 0, u1 = 0, s1 = 0;
    int have = t->srv.pid > 0 && proc_cpu(t->srv.pid, &u0, &s0) == 0;
    double c0 = self_cpu();
    double dt = run_requests(t->srv.port, k, o->requests, o->depth);
    t->v[4][i][r] = (self_cpu() - c0) / o->requests * 1e6;
    have = have && proc_cpu(t->srv.pid, &u1, &s1) == 0;
    t->v[1][i][r] = have ? (u1 - u0) / o->requests * 1e6 : -1;
    t->v[2][i][r] = have ? (s1 - s0) / o->requests * 1e6 : -1;
    t->v[0][i][r] = have ? t->v[1][i][r] + t->v[2][i][r] : -1;
    t->v[3][i][r] = o->requests / dt;
}

/* Rounds interleave the servers and the connection counts, so that the machine's
 * load drifts over all of them alike; medians over the rounds. */
static void measure(const options *o, target *ts, int n)
{
    for (int t = 0; t < n; t++)
        run_requests(ts[t].srv.port, 1, 2000, 1);      /* warm-up: pages, thread pool */
    for (int r = 0; r < o->runs; r++)
        for (int i = 0; i < o->nconns; i++)
            for (int t = 0; t < n; t++)
                measure_once(o, &ts[t], i, o->conns[i], r);
    for (int t = 0; t < n; t++) {
        printf("%s: %ld x `%s` per measurement, depth %d, median of %d\n", ts[t].title,
               o->requests, o->script, o->depth, o->runs);
        printf("%6s %14s %10s %10s %12s %16s\n", "conns", "server us/req", "user", "sys",
               "requests/s", "client us/req");
        for (int i = 0; i < o->nconns; i++) {
            printf("%6d", o->conns[i]);
            for (int m = 0; m < 5; m++)
                printf(m == 3 ? " %12.0f" : m == 4 ? " %16.2f" : m == 0 ? " %14.2f" : " %10.2f",
                       median(ts[t].v[m][i], o->runs));
            printf("\n");
        }
    }
    fflush(stdout);
}

/* ---------------------------------------------------------------- the floor */

/* Answers every complete request in buf (header line + body); returns bytes used. */
static size_t echo_requests(int fd, char *buf, size_t len)
{
    static const char ok[] = "1 1 1\nOK\n\x04\x00\x02\x00\x00\x00", hello[] = "1 0 1\nOK\n";
    size_t off = 0;
    for (;;) {
        char *lf = memchr(buf + off, '\n', len - off);
        if (!lf)
            return off;
        *lf = 0;
        const char *sp = strchr(buf + off, ' ');
        sp = sp ? strchr(sp + 1, ' ') : NULL;
        size_t body = sp ? (size_t)atol(sp + 1) : 0, head = (size_t)(lf + 1 - (buf + off));
        *lf = '\n';
        if (len - off < head + body)
            return off;
        int connect = body >= 7 && !memcmp(lf + 1, "connect", 7);
        if (write(fd, connect ? hello : ok, connect ? sizeof hello - 1 : sizeof ok - 1) < 0)
            return len;
        off += head + body;
    }
}

/* A forked child: one epoll loop, read, frame, one write per request. */
static server spawn_floor(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    socklen_t sl = sizeof sa;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, 128) ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl))
        die("floor server socket");
    server s = { fork(), ntohs(sa.sin_port) };
    if (s.pid < 0)
        die("fork");
    if (s.pid > 0) {
        close(lfd);
        return s;
    }
    enum { FDS = 1024 };
    static char bufs[FDS][4096];
    static size_t lens[FDS];
    int ep = epoll_create1(0), one = 1;
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd }, evs[64];
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        int n = epoll_wait(ep, evs, 64, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c = accept(lfd, NULL, NULL);
                if (c < 0 || c >= FDS)
                    _exit(1);
                setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                ev.data.fd = c;
                lens[c] = 0;
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                continue;
            }
            ssize_t k = read(fd, bufs[fd] + lens[fd], sizeof bufs[fd] - lens[fd]);
            if (k <= 0) {
                close(fd);
                continue;
            }
            lens[fd] += (size_t)k;
            size_t used = echo_requests(fd, bufs[fd], lens[fd]);
            memmove(bufs[fd], bufs[fd] + used, lens[fd] - used);
            lens[fd] -= used;
        }
    }
}

/* The "totals:" (or "summary:") line of a callgrind output file. */
static double callgrind_total(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    double total = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "totals:", 7) || (total < 0 && !strncmp(line, "summary:", 8)))
            total = atof(strchr(line, ':') + 1);
    if (f)
        fclose(f);
    return total;
}

/* Ir of a ddbmini run (start, warm requests, n more, exit) under callgrind. */
static double callgrind_run(const options *o, int k, long warm, long n, const char *out)
{
    const char *argv[MAX_EXTRA + 8];
    build_argv(o, argv, 1, out);
    server srv = spawn_server((char *const *)argv);
    run_requests(srv.port, k, warm, 1);
    if (n)
        run_requests(srv.port, k, n, o->depth);
    stop_server(&srv);
    return callgrind_total(out);
}

static void measure_callgrind(const options *o)
{
    long warm = 2000, m = o->callgrind;
    char out[64];
    snprintf(out, sizeof out, "/tmp/bench_ddbmini.%d.callgrind", (int)getpid());
    printf("ddbmini under callgrind: instructions per `%s` (runs with %ld and %ld requests,"
           " difference / %ld)\n", o->script, warm, warm + m, m);
    printf("%6s %16s\n", "conns", "instr/request");
    for (int i = 0; i < o->nconns; i++) {
        int k = o->conns[i];
        double a = callgrind_run(o, k, warm, 0, out);
        double b = callgrind_run(o, k, warm, m, out);
        printf("%6d %16.0f\n", k, a < 0 || b < 0 ? -1 : (b - a) / m);
        fflush(stdout);
    }
    unlink(out);
}

/* ---------------------------------------------------------------- options */

static void parse_conns(options *o, const char *s)
{
    o->nconns = 0;
    for (const char *p = s; *p && o->nconns < 16;) {
        int k = atoi(p);
        if (k < 1 || k > MAX_CONNS) {
            fprintf(stderr, "bench_ddbmini: connection counts are 1..%d\n", MAX_CONNS);
            exit(2);
        }
        o->conns[o->nconns++] = k;
        p = strchr(p, ',');
        if (!p)
            break;
        p++;
    }
}

static void parse_options(int argc, char **argv, options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--")) {
            while (++i < argc && o->nextra < MAX_EXTRA)
                o->extra[o->nextra++] = argv[i];
        } else if (!strcmp(a, "--floor")) {
            o->floor = 1;
        } else if (!strcmp(a, "--callgrind")) {
            o->callgrind = v && atol(v) > 0 ? atol(argv[++i]) : 20000;
        } else if (!v) {
            fprintf(stderr, "bench_ddbmini: %s needs a value (see the top of bench_ddbmini.c)\n", a);
            exit(2);
        } else {
            i++;
            if (!strcmp(a, "--requests")) o->requests = atol(v);
            else if (!strcmp(a, "--conns")) parse_conns(o, v);
            else if (!strcmp(a, "--runs")) o->runs = atoi(v);
            else if (!strcmp(a, "--depth")) o->depth = atoi(v);
            else if (!strcmp(a, "--script")) o->script = v;
            else if (!strcmp(a, "--server")) o->server = v;
            else if (!strcmp(a, "--compare")) o->compare = v;
            else if (!strcmp(a, "--port")) o->port = atoi(v);
            else if (!strcmp(a, "--pid")) o->pid = atoi(v);
            else {
                fprintf(stderr, "bench_ddbmini: unknown option %s\n", a);
                exit(2);
            }
        }
    }
    if (o->requests < 1 || o->runs < 1 || o->runs > 64 || o->depth < 1 || o->depth > 32 ||
        strlen(o->script) > 1000) {
        fprintf(stderr, "bench_ddbmini: bad --requests, --runs (1..64), --depth (1..32) or --script\n");
        exit(2);
    }
}

static target start_target(options *o, const char *binary, const char *title)
{
    const char *args[MAX_EXTRA + 8];
    const char *saved = o->server;
    o->server = binary;
    build_argv(o, args, 0, NULL);
    o->server = saved;
    return (target){ spawn_server((char *const *)args), title, {{{0}}} };
}

int main(int argc, char **argv)
{
    options o = { .requests = 100000, .conns = { 1, 8 }, .nconns = 2, .runs = 5, .depth = 1,
                  .script = "1+1" };
    o.server = getenv("DDBMINI") ? getenv("DDBMINI") : DDBMINI_PATH;
    parse_options(argc, argv, &o);
    g_script = o.script;
    signal(SIGPIPE, SIG_IGN);
    if (o.callgrind) {
        measure_callgrind(&o);
    } else if (o.port) {
        static target t;
        t.srv = (server){ o.pid, o.port };
        t.title = "ddbmini";
        measure(&o, &t, 1);
    } else {
        static target ts[3];
        int n = 0;
        ts[n++] = start_target(&o, o.server, "ddbmini");
        if (o.compare)
            ts[n++] = start_target(&o, o.compare, o.compare);
        if (o.floor)
            ts[n++] = (target){ spawn_floor(), "bare epoll server (the floor)", {{{0}}} };
        measure(&o, ts, n);
        for (int i = 0; i < n; i++)
            stop_server(&ts[i].srv);
    }
    if (g_errors)
        printf("ERRORS: %ld (first: %s)\n", g_errors, g_first_error);
    return g_errors ? 1 : 0;
}
