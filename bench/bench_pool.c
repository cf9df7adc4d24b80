/* bench_pool.c — throughput and cost of the libuv pool against ddbmini.
 *
 *   bench_pool [tasks [conns]]   (default 100000 tasks; conns 1, 4, 8, 32)
 *
 * For pool sizes 1, 4, 8 and 32: `tasks` `1+1` scripts through the inline pool (all
 * submitted at once, completions counted in the callback), then the same requests
 * through a minimal blocking raw-socket client (one thread per connection, same
 * connection count, same request bytes and parser, no pool, no libuv). Prints tasks/s
 * for both, their ratio, and the client CPU time per task (user + system of this
 * process; ddbmini runs in a child process and is not counted). Finally the peak
 * RSS with `tasks` tasks queued at once. Not a test: numbers only.
 *
 *   bench_pool --port P --mode pool|raw [--conns C] [--tasks N]
 *
 * One measurement against a ddbmini already listening on 127.0.0.1:P (started by
 * bench/bench_tasks.sh, so that callgrind and strace see the client process only):
 * prints one line "mode=.. conns=.. tasks=.. wall_s=.. cpu_s=.. errors=..". */
#include "ddb_proto.h"
#include "pool_support.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdlib.h>
#include <string.h>

static uv_loop_t *loop;
static long completed, failed;

static long current_rss_kb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Every result is checked, as the raw client checks its own. */
static void on_done(ddb_pool *p, ddb_task *t, void *task_ud, void *pool_ud)
{
    completed++;
    const ddb_obj *o = ddb_task_result(t);
    if (ddb_task_state(t) != DDB_TASK_DONE || !o || ddb_int_at(o, 0) != 2)
        failed++;
}

static int all_completed(void *n)
{
    return completed >= *(long *)n;
}

typedef struct result { double wall, cpu; long errors; } result;

static result run_pool(int port, int size, long n)
{
    result r = { 0, 0, 0 };
    ddb_pool_config cfg;
    test_config(&cfg, port, size);
    cfg.userid = NULL;              /* the baseline does not log in either */
    cfg.on_complete = on_done;
    ddb_pool *p = open_pool(loop, &cfg);
    if (!p || ddb_pool_state(p) != DDB_POOL_OPEN) {
        printf("pool open failed: %s\n", p ? ddb_pool_error(p) : "");
        r.errors = n;
        return r;
    }
    completed = failed = 0;
    ddb_task_spec spec;
    ddb_task_spec_init(&spec);
    spec.text = "1+1";
    double w0 = now_sec(), c0 = cpu_sec();
    char err[200];
    for (long i = 0; i < n; i++)
        if (ddb_pool_submit(p, &spec, NULL, err, sizeof err) != DDB_OK) {
            printf("submit: %s\n", err);
            break;
        }
    run_until(loop, all_completed, &n, 600000);
    r.wall = now_sec() - w0;
    r.cpu = cpu_sec() - c0;
    r.errors = failed + (n - completed);
    close_pool(loop, p);
    return r;
}

typedef struct raw_worker {
    int port;
    long n, errors;
    char first_error[200];
} raw_worker;

/* The baseline: a blocking socket, the same sans-I/O request builder and response
 * parser as the pool, one request at a time. (tests/mini_client.c is not usable from
 * several threads: it reads lines into a static buffer.) */
typedef struct raw_conn {
    int fd;
    ddb_resp resp;
    char sid[32];
    char buf[65536];
} raw_conn;

static int raw_send(raw_conn *c, const ddb_buf *b)
{
    size_t off = 0;
    while (off < b->len) {
        ssize_t k = send(c->fd, b->p + off, b->len - off, MSG_NOSIGNAL);
        if (k <= 0)
            return -1;
        off += (size_t)k;
    }
    return 0;
}

static int raw_read(raw_conn *c)
{
    ddb_resp_reset(&c->resp);
    for (;;) {
        ssize_t k = recv(c->fd, c->buf, sizeof c->buf, 0);
        if (k <= 0)
            return -1;
        size_t used;
        int rc = ddb_resp_feed(&c->resp, c->buf, (size_t)k, &used);
        if (rc == DDB_RESP_ERROR)
            return -1;
        if (rc == DDB_RESP_DONE) {
            snprintf(c->sid, sizeof c->sid, "%s", c->resp.session_id);
            return c->resp.is_error ? -1 : 0;
        }
    }
}

static int raw_open(raw_conn *c, int port)
{
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", port, &sa);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (ddb_resp_init(&c->resp, NULL) || connect(c->fd, (struct sockaddr *)&sa, sizeof sa))
        return -1;
    ddb_buf b;
    ddb_buf_init(&b);
    int rc = ddb_req_connect(&b, 0, NULL, NULL, NULL, 0) || raw_send(c, &b) || raw_read(c);
    ddb_buf_free(&b);
    return rc ? -1 : 0;
}

static void raw_thread(void *arg)
{
    raw_worker *w = arg;
    raw_conn *c = calloc(1, sizeof *c);
    if (raw_open(c, w->port)) {
        snprintf(w->first_error, sizeof w->first_error, "cannot connect");
        w->errors = w->n;
    }
    ddb_behavior beh;
    ddb_behavior_default(&beh);
    beh.flag = DDB_FLAG_CLEAR_MEMORY;           /* as the pool sends by default */
    ddb_buf b;
    ddb_buf_init(&b);
    for (long i = 0; i < w->n && !w->errors; i++) {
        ddb_buf_reset(&b);
        ddb_req_script(&b, c->sid, &beh, "1+1", 3, NULL, 0);
        if (raw_send(c, &b) || raw_read(c) || !c->resp.obj || ddb_int_at(c->resp.obj, 0) != 2) {
            snprintf(w->first_error, sizeof w->first_error, "request %ld failed", i);
            w->errors = w->n - i;
        }
    }
    ddb_buf_free(&b);
    close(c->fd);
    ddb_resp_free(&c->resp);
    free(c);
}

static result run_raw(int port, int size, long n)
{
    result r = { 0, 0, 0 };
    raw_worker *w = calloc((size_t)size, sizeof *w);
    uv_thread_t *th = calloc((size_t)size, sizeof *th);
    double w0 = now_sec(), c0 = cpu_sec();
    for (int i = 0; i < size; i++) {
        w[i].port = port;
        w[i].n = n / size + (i < n % size);
        uv_thread_create(&th[i], raw_thread, &w[i]);
    }
    for (int i = 0; i < size; i++) {
        uv_thread_join(&th[i]);
        r.errors += w[i].errors;
        if (w[i].errors && i == 0)
            printf("raw client errors (%ld on connection 0): %s\n", w[i].errors,
                   w[i].first_error);
    }
    r.wall = now_sec() - w0;
    r.cpu = cpu_sec() - c0;
    free(w);
    free(th);
    return r;
}

static void queued_rss(int port, long n)
{
    ddb_pool_config cfg;
    test_config(&cfg, port, 1);
    cfg.userid = NULL;
    cfg.on_complete = on_done;
    ddb_pool *p = open_pool(loop, &cfg);
    long before = current_rss_kb();
    ddb_task_spec spec;
    ddb_task_spec_init(&spec);
    spec.text = "sleep(60000); 1+1";
    char err[200];
    for (long i = 0; i < n; i++)
        ddb_pool_submit(p, &spec, NULL, err, sizeof err);
    run_for(loop, 50);
    ddb_pool_stats st;
    ddb_pool_get_stats(p, &st);
    long after = current_rss_kb();
    close_pool(loop, p);
    printf("RSS with %lld tasks queued: %ld KiB (before queueing %ld KiB, %.0f bytes per "
           "queued task); peak RSS so far %ld KiB\n", (long long)st.queued, after, before,
           (after - before) * 1024.0 / (double)n, max_rss_kb());
}

/* --port mode: one run against an external server, one line of figures. */
static int external_run(int argc, char **argv)
{
    int port = 0, conns = 8;
    long n = 20000;
    const char *mode = "pool";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--mode")) mode = argv[i + 1];
        else if (!strcmp(argv[i], "--conns")) conns = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--tasks")) n = atol(argv[i + 1]);
        else {
            fprintf(stderr, "bench_pool: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (port <= 0 || conns <= 0 || n <= 0 || (strcmp(mode, "pool") && strcmp(mode, "raw"))) {
        fprintf(stderr, "usage: bench_pool --port P --mode pool|raw [--conns C] [--tasks N]\n");
        return 2;
    }
    loop = uv_default_loop();
    result r = strcmp(mode, "pool") ? run_raw(port, conns, n) : run_pool(port, conns, n);
    printf("mode=%s conns=%d tasks=%ld wall_s=%.6f cpu_s=%.6f errors=%ld\n", mode, conns, n,
           r.wall, r.cpu, r.errors);
    uv_loop_close(loop);
    return r.errors ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strncmp(argv[1], "--", 2))
        return external_run(argc, argv);
    long n = argc > 1 ? atol(argv[1]) : 100000;
    if (n <= 0)
        n = 100000;
    ddbmini_proc server;
    const char *extra[] = { "--threads", "64", NULL };
    if (ddbmini_start(&server, 0, extra)) {
        printf("cannot start ddbmini\n");
        return 1;
    }
    loop = uv_default_loop();
    printf("bench_pool: %ld x \"1+1\" against ddbmini on 127.0.0.1:%d\n", n, server.port);
    printf("%5s %12s %12s %7s %14s %14s %7s\n", "conns", "pool task/s", "raw task/s",
           "ratio", "pool cpu us/t", "raw cpu us/t", "errors");
    queued_rss(server.port, n);             /* first, before the runs grow the heap */
    int sizes[] = { 1, 4, 8, 32 };
    int nsizes = 4;
    if (argc > 2 && atoi(argv[2]) > 0) {
        sizes[0] = atoi(argv[2]);
        nsizes = 1;
    }
    for (int i = 0; i < nsizes; i++) {
        result p = run_pool(server.port, sizes[i], n);
        result r = run_raw(server.port, sizes[i], n);
        printf("%5d %12.0f %12.0f %7.2f %14.2f %14.2f %7ld\n", sizes[i], n / p.wall,
               n / r.wall, (n / p.wall) / (n / r.wall), p.cpu / n * 1e6, r.cpu / n * 1e6,
               p.errors + r.errors);
        fflush(stdout);
    }
    ddbmini_stop(&server);
    uv_loop_close(loop);
    return 0;
}
