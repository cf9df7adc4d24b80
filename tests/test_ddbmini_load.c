/* test_ddbmini_load.c — ddbmini under load: concurrent sleeping sessions must not
 * block each other, 100 connections at once, back-to-back requests, start-up time,
 * and streaming of a 10-million-row table (throughput printed).
 * usage: test_ddbmini_load path/to/ddbmini */
#include "ddbmini_harness.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Sanitizer builds (this test is built like ddbmini) start several times slower. */
#if defined(__SANITIZE_ADDRESS__)
#define START_LIMIT_S 0.5
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define START_LIMIT_S 0.5
#endif
#endif
#ifndef START_LIMIT_S
#define START_LIMIT_S 0.1
#endif

static mini_proc P;

static void test_concurrent_sleep(void)
{
    enum { N = 4 };
    mini_client c[N];
    for (int i = 0; i < N; i++)
        open_client(&c[i], &P);
    const char *body = "script\nsleep(2000);1+1";
    double t0 = now_s();
    for (int i = 0; i < N; i++)
        CHECK(mini_client_send(&c[i], body, strlen(body), NULL, 0) == 0, "send %d", i);
    for (int i = 0; i < N; i++) {
        ddb_obj *o = NULL;
        CHECK(mini_client_read(&c[i], &o) == MINI_OK && o && ddb_int_at(o, 0) == 2, "result %d", i);
        ddb_obj_unref(o);
    }
    double dt = now_s() - t0;
    printf("4 x sleep(2000) concurrently: %.3f s\n", dt);
    CHECK(dt < 3.5 && dt >= 1.95, "4 concurrent sleep(2000) take ~2 s, not 8 (%.3f s)", dt);
    for (int i = 0; i < N; i++)
        mini_client_close(&c[i]);
}

static void test_many_connections(void)
{
    enum { N = 100 };
    static mini_client c[N];
    double t0 = now_s();
    for (int i = 0; i < N; i++)
        open_client(&c[i], &P);
    const char *body = "script\nsleep(200); x = 7; x";
    for (int i = 0; i < N; i++)
        CHECK(mini_client_send(&c[i], body, strlen(body), NULL, 0) == 0, "send %d", i);
    int ok = 0, distinct = 1;
    for (int i = 0; i < N; i++) {
        ddb_obj *o = NULL;
        if (mini_client_read(&c[i], &o) == MINI_OK && o && ddb_int_at(o, 0) == 7)
            ok++;
        ddb_obj_unref(o);
        for (int j = 0; j < i; j++)
            distinct &= c[i].session_id != c[j].session_id;
    }
    double dt = now_s() - t0;
    printf("100 connections, sleep(200) each: %.3f s\n", dt);
    CHECK(ok == N, "%d of %d connections answered", ok, N);
    CHECK(distinct, "100 distinct session ids");
    CHECK(dt < 3.0, "100 sleeping sessions ran concurrently (%.3f s)", dt);
    const char *t = run_text(&c[0], "perf = getClusterPerf(); perf[\"connectionNum\"]");
    CHECK(!strcmp(t, "[100]"), "connectionNum = 100: %s", t);
    for (int i = 0; i < N; i++)
        mini_client_close(&c[i]);
}

static void test_back_to_back(void)
{
    mini_client c;
    open_client(&c, &P);
    /* two requests in one write: answered one after the other, in order */
    const char two[] = "API2 0 19 / 0_1_4_64\nscript\nsleep(50); 1API2 0 8 / 0_1_4_64\nscript\n2";
    CHECK(send(c.fd, two, sizeof two - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof two - 1), "send two");
    ddb_obj *a = NULL, *b = NULL;
    CHECK(mini_client_read(&c, &a) == MINI_OK && a && ddb_int_at(a, 0) == 1, "first answer first");
    CHECK(mini_client_read(&c, &b) == MINI_OK && b && ddb_int_at(b, 0) == 2, "then the second");
    ddb_obj_unref(a);
    ddb_obj_unref(b);
    mini_client_close(&c);
}

/* getConsoleJobs() sees a running job; cancelConsoleJob() ends it; SIGTERM does not
 * wait for a long sleep. */
static void test_jobs(const char *bin)
{
    mini_client a, b;
    open_client(&a, &P);
    open_client(&b, &P);
    const char *body = "script\nsleep(20000); 1";
    double t0 = now_s();
    CHECK(mini_client_send(&a, body, strlen(body), NULL, 0) == 0, "send the sleeper");
    ddb_obj *jobs = NULL;
    char id[32] = "";
    for (int tries = 0; tries < 100 && !id[0]; tries++) {
        ddb_obj_unref(jobs);
        jobs = NULL;
        CHECK(mini_client_script(&b, "getConsoleJobs()", &jobs) == MINI_OK, "getConsoleJobs");
        for (int64_t r = 0; jobs && jobs->form == DDB_TABLE && r < jobs->rows; r++)
            if (ddb_int_at(jobs->columns[2], r) == a.session_id)
                snprintf(id, sizeof id, "%s", ddb_str_at(jobs->columns[3], r, NULL));
    }
    ddb_obj_unref(jobs);
    CHECK(id[0], "the sleeping job is listed");
    char cancel[96];
    snprintf(cancel, sizeof cancel, "cancelConsoleJob(\"%s\")", id);
    CHECK(mini_client_script(&b, cancel, NULL) == MINI_OK, "cancelConsoleJob: %s", b.error);
    ddb_obj *o = NULL;
    CHECK(mini_client_read(&a, &o) == MINI_SERVER_ERROR && strstr(a.error, "cancelled"),
          "the cancelled job fails: [%s]", a.error);
    CHECK(now_s() - t0 < 5, "cancelled quickly (%.3f s)", now_s() - t0);
    mini_client_close(&a);
    mini_client_close(&b);

    mini_proc q;
    if (mini_proc_start(&q, bin, NULL))
        return;
    open_client(&a, &q);
    CHECK(mini_client_send(&a, body, strlen(body), NULL, 0) == 0, "send a long sleep");
    usleep(100000);
    t0 = now_s();
    CHECK(mini_proc_stop(&q) == 0, "SIGTERM during a sleep: exit 0");
    CHECK(now_s() - t0 < 2, "and promptly (%.3f s)", now_s() - t0);
    mini_client_close(&a);
}

static void test_startup(const char *bin)
{
    double best = 1e9;
    for (int i = 0; i < 5; i++) {
        mini_proc q;
        double t0 = now_s();
        if (mini_proc_start(&q, bin, NULL)) {
            CHECK(0, "start");
            return;
        }
        double dt = now_s() - t0;
        best = dt < best ? dt : best;
        CHECK(mini_proc_stop(&q) == 0, "exit 0");
    }
    printf("start-up (fork to listening line), best of 5: %.1f ms\n", best * 1e3);
    CHECK(best < START_LIMIT_S, "starts in under %.0f ms (%.1f ms)", START_LIMIT_S * 1e3, best * 1e3);
}

/* 10M INT + 10M DOUBLE: raw bytes counted as they arrive, then decoded once. */
static void test_large_result(void)
{
    const long long rows = 10000000;
    const char *script = "table(1..10000000 as id, rand(100.0, 10000000) as v)";
    mini_client c;
    open_client(&c, &P);
    char body[128];
    int n = snprintf(body, sizeof body, "script\n%s", script);
    double t0 = now_s();
    mini_client_send(&c, body, (size_t)n, NULL, 0);
    char head[64];
    size_t hl = 0;
    while (hl < sizeof head - 1 && mini_client_read_raw(&c, head + hl, 1) == 0 && head[hl] != '\n')
        hl++;
    head[hl] = 0;
    double first = now_s() - t0;
    size_t expect = 3 + 10 + 1 + 3 + 2 + (10 + rows * 4) + (10 + rows * 8);
    size_t got = 0;
    static char buf[1 << 20];
    while (got < expect) {
        size_t want = expect - got < sizeof buf ? expect - got : sizeof buf;
        if (mini_client_read_raw(&c, buf, want))
            break;
        got += want;
    }
    double dt = now_s() - t0;
    printf("10M-row table: first byte after %.3f s (evaluation), %.1f MB in %.3f s in all; "
           "streaming %.0f MB/s after the first byte\n", first, (got + hl + 1) / 1e6, dt,
           (got + hl + 1) / 1e6 / (dt - first));
    CHECK(got == expect, "received the whole table: %zu of %zu bytes", got, expect);
    /* nothing follows the object */
    struct pollfd pfd = {.fd = c.fd, .events = POLLIN};
    CHECK(poll(&pfd, 1, 100) == 0 && c.in_pos == c.in.len, "no bytes after the object");
    /* decode it through the client as well */
    ddb_obj *o = NULL;
    t0 = now_s();
    int rc = mini_client_script(&c, script, &o);
    printf("10M-row table received and decoded: %.3f s\n", now_s() - t0);
    CHECK(rc == MINI_OK && o && o->form == DDB_TABLE && o->rows == rows, "decoded 10M rows");
    if (o && o->form == DDB_TABLE && o->rows == rows) {
        CHECK(ddb_int_at(o->columns[0], rows - 1) == rows, "last id");
        double v = ddb_double_at(o->columns[1], 12345);
        CHECK(v >= 0 && v < 100, "rand(100.0) in [0, 100): %f", v);
    }
    ddb_obj_unref(o);
    /* the same with fetchSize: many blocks straight from the columns */
    snprintf(c.behavior, sizeof c.behavior, "0_1_4_64__1000000");
    t0 = now_s();
    rc = mini_client_script(&c, script, &o);
    printf("10M-row table in 1M-row blocks: %.3f s\n", now_s() - t0);
    CHECK(rc == MINI_OK && o && o->type == DDB_ANY && o->rows == 10, "10 blocks");
    ddb_obj_unref(o);
    mini_client_close(&c);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s ddbmini\n", argv[0]);
        return 2;
    }
    test_startup(argv[1]);
    if (mini_proc_start(&P, argv[1], NULL))
        return 1;
    test_back_to_back();
    test_jobs(argv[1]);
    test_concurrent_sleep();
    test_many_connections();
    if (!getenv("DDBMINI_SKIP_LARGE"))
        test_large_result();
    CHECK(mini_proc_stop(&P) == 0, "ddbmini exits 0 on SIGTERM");
    return finish("test_ddbmini_load");
}
