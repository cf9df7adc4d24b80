/* test_ddbmini_stream.c — ddbmini's stream tables and reverse-mode publishing, over
 * real sockets: a blocking subscriber (requests built by src/proto/ddb_stream.c, pushes
 * read with its parser) against rows appended from another connection. Offsets -1,
 * 0, N and past the end, filters, stopPublishTable, a publisher that drops its
 * subscribers mid-stream (resubscribing at the next offset: no duplicate, no gap),
 * lost leadership (<NotLeader>), and the refusals.
 * usage: test_ddbmini_stream path/to/ddbmini */
#include "ddbmini_harness.h"
#include "ddb_proto.h"
#include "ddb_stream.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *BIN;
static mini_proc g_proc;
static int g_kept_listener = -1, g_kept_fd = -1;   /* open while ddbmini stops */
static int g_expect_sites;      /* HA sites publishTable's reply should list */
static int g_login;             /* subscribers log in on connect */

/* ---------------------------------------------------------------- a subscriber */

typedef struct subscriber {
    mini_client c;
    ddb_stream_parser *parser;
    char topic[512];
    int eof;
    /* rows received so far: their offsets and qty cells, in arrival order */
    int64_t *offsets;
    int32_t *qty;
    char (*sym)[8];
    int64_t n, cap;
    int64_t last_id;            /* msgId of the last complete data message, -1 none */
    int schemas;
    int tuples;                 /* single-row tuple messages among them */
    int joined;                 /* messages naming a second topic */
} subscriber;

static void admin(mini_client *c)
{
    open_client(c, &g_proc);
    CHECK(mini_client_script(c, "login(\"admin\", \"123456\")", NULL) == MINI_OK, "admin login: %s", c->error);
}

static int call_body(mini_client *c, int (*build)(ddb_buf *, const ddb_stream_sub *, size_t *, char *, size_t),
                     const ddb_stream_sub *s, ddb_obj **reply)
{
    ddb_buf body;
    ddb_buf_init(&body);
    size_t text_len = 0;
    char err[256];
    if (build(&body, s, &text_len, err, sizeof err)) {
        snprintf(c->error, sizeof c->error, "%s", err);
        ddb_buf_free(&body);
        return MINI_IO_ERROR;
    }
    int rc = mini_client_send(c, body.p, text_len, body.p + text_len, body.len - text_len);
    ddb_buf_free(&body);
    return rc ? rc : mini_client_read(c, reply);
}

/* Opens a reverse-mode connection (flag 131072 on every request) and subscribes.
 * Returns MINI_OK, or the failure with sub->c.error set. */
static int subscribe(subscriber *sub, const char *table, const char *action, int64_t offset,
                     const ddb_obj *filter, int allow_exists)
{
    memset(sub, 0, sizeof *sub);
    sub->last_id = -1;
    sub->parser = ddb_stream_parser_new(NULL);
    if (mini_client_open(&sub->c, "127.0.0.1", g_proc.port))
        return MINI_IO_ERROR;
    sub->c.timeout_ms = 5000;
    snprintf(sub->c.behavior, sizeof sub->c.behavior, "%d_1_4_64", DDB_FLAG_REVERSE_STREAMING);
    int rc = g_login ? mini_client_connect_login(&sub->c, "admin", "123456") : mini_client_connect(&sub->c);
    ddb_stream_sub s = {.port = 0, .table = table, .action = action, .offset = offset,
                        .filter = filter, .allow_exists = allow_exists};
    ddb_obj *reply = NULL;
    if (rc == MINI_OK)
        rc = call_body(&sub->c, ddb_stream_body_topic, &s, &reply);
    char err[256];
    if (rc == MINI_OK && ddb_stream_reply_topic(reply, sub->topic, sizeof sub->topic, err, sizeof err))
        CHECK(0, "getSubscriptionTopic: %s", err);
    ddb_obj_unref(reply);
    reply = NULL;
    if (rc == MINI_OK)
        rc = call_body(&sub->c, ddb_stream_body_publish, &s, &reply);
    const ddb_obj *cols, *sites;
    if (rc == MINI_OK)
        CHECK(ddb_stream_reply_publish(reply, &cols, &sites, err, sizeof err) == 0 && cols->rows == 3 &&
              !strcmp(ddb_str_at(cols, 2, NULL), "qty") &&
              (g_expect_sites ? sites && sites->rows == g_expect_sites : !sites),
              "publishTable's reply: the column names (and %d sites)", g_expect_sites);
    ddb_obj_unref(reply);
    return rc;
}

static void unsubscribe_local(subscriber *sub)
{
    mini_client_close(&sub->c);
    ddb_stream_parser_free(sub->parser);
    free(sub->offsets);
    free(sub->qty);
    free(sub->sym);
    memset(sub, 0, sizeof *sub);
}

static void record_rows(subscriber *sub, const ddb_stream_msg *m)
{
    const ddb_obj *b = m->body;
    if (sub->n + m->rows > sub->cap) {
        sub->cap = (sub->n + m->rows) * 2;
        sub->offsets = realloc(sub->offsets, sizeof *sub->offsets * (size_t)sub->cap);
        sub->qty = realloc(sub->qty, sizeof *sub->qty * (size_t)sub->cap);
        sub->sym = realloc(sub->sym, sizeof *sub->sym * (size_t)sub->cap);
    }
    for (int64_t r = 0; r < m->rows; r++) {
        sub->offsets[sub->n] = m->first_offset + r;
        sub->qty[sub->n] = (int32_t)ddb_int_at(b->items[2], r);
        snprintf(sub->sym[sub->n], sizeof sub->sym[0], "%s", ddb_str_at(b->items[0], r, NULL));
        sub->n++;
    }
    sub->last_id = m->msg_id;
}

/* Feeds the parser from the socket until one message completes. 1: a message
 * (recorded), 0: nothing within timeout_ms, -1: the connection ended (sub->eof). */
static int next_message(subscriber *sub, int timeout_ms)
{
    mini_client *c = &sub->c;
    for (;;) {
        while (c->in_pos < c->in.len) {
            size_t used;
            int rc = ddb_stream_feed(sub->parser, c->in.p + c->in_pos, c->in.len - c->in_pos, &used);
            c->in_pos += used;
            if (rc == DDB_STREAM_ERROR) {
                CHECK(0, "parser: %s", ddb_stream_error(sub->parser));
                sub->eof = 1;
                return -1;
            }
            if (rc == DDB_STREAM_MSG) {
                ddb_stream_msg m;
                ddb_stream_take(sub->parser, &m);
                char first[512];
                int ntopics = ddb_stream_topic_at(m.topics, 0, first, sizeof first);
                CHECK(!strcmp(first, sub->topic), "pushed topic %s is getSubscriptionTopic's %s", m.topics,
                      sub->topic);
                sub->joined += ntopics > 1;
                if (m.kind == DDB_STREAM_SCHEMA)
                    sub->schemas++;
                else {
                    CHECK(m.kind == DDB_STREAM_ROWS || m.kind == DDB_STREAM_ROW, "data messages (%d)", m.kind);
                    CHECK(sub->schemas == 1, "the schema came first");
                    sub->tuples += m.kind == DDB_STREAM_ROW;
                    if (m.kind == DDB_STREAM_ROWS || m.kind == DDB_STREAM_ROW)
                        record_rows(sub, &m);
                }
                ddb_stream_msg_free(&m);
                return 1;
            }
        }
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int r = poll(&pfd, 1, timeout_ms);
        if (r == 0)
            return 0;
        if (ddb_buf_reserve(&c->in, 1 << 16))
            return -1;
        if (c->in_pos == c->in.len)
            c->in.len = c->in_pos = 0;
        ssize_t got = recv(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len, 0);
        if (got <= 0) {
            sub->eof = 1;
            return -1;
        }
        c->in.len += (size_t)got;
    }
}

/* Reads until `rows` rows in all have arrived (or 5 s pass without a message). */
static void wait_rows(subscriber *sub, int64_t rows)
{
    while (sub->n < rows && next_message(sub, 5000) == 1)
        ;
    CHECK(sub->n == rows, "%s: %lld rows arrived, %lld expected", sub->topic, (long long)sub->n, (long long)rows);
}

/* Nothing more arrives within ms (a closed connection counts as nothing). */
static int quiet_for(subscriber *sub, int ms)
{
    int64_t before = sub->n;
    int rc;
    while ((rc = next_message(sub, ms)) == 1)
        ;
    return sub->n == before;
}

static int wait_eof(subscriber *sub)
{
    for (int i = 0; i < 1000 && !sub->eof; i++)
        if (next_message(sub, 5000) == 0)
            break;
    return sub->eof;
}

static void run_ok(mini_client *c, const char *script)
{
    const char *r = run_text(c, script);
    CHECK(strncmp(r, "ERROR", 5) != 0, "%s: %s", script, r);
}

static int subscriber_count(mini_client *adm)
{
    ddb_obj *o = NULL;
    int n = -1;
    if (mini_client_script(adm, "getStreamingStat()[\"pubTables\"]", &o) == MINI_OK && o && o->form == DDB_TABLE)
        n = (int)o->rows;
    ddb_obj_unref(o);
    return n;
}

/* Polls until the server lists `want` subscriptions (closing is asynchronous). */
static int await_subscribers(mini_client *adm, int want)
{
    for (int i = 0; i < 200; i++) {
        if (subscriber_count(adm) == want)
            return 1;
        poll(NULL, 0, 10);
    }
    return 0;
}

/* ---------------------------------------------------------------- cases */

static void test_basic_and_offsets(mini_client *adm)
{
    run_ok(adm, "st = streamTable(1000:0, `sym`price`qty, [SYMBOL, DOUBLE, INT]); share st as trades");
    subscriber live;
    CHECK(subscribe(&live, "trades", "live", -1, NULL, 0) == MINI_OK, "subscribe: %s", live.c.error);
    CHECK(next_message(&live, 5000) == 1 && live.schemas == 1, "the schema message arrives first");
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%d:local/trades/live", g_proc.port);
    CHECK(!strcmp(live.topic, want), "topic %s", live.topic);
    run_ok(adm, "insert into trades values(`AAPL, 10.5, 100)");
    run_ok(adm, "tableInsert(trades, `MSFT`IBM`AAPL, [20.25, 30.0, 11.0], [200, 300, 101])");
    run_ok(adm, "t = table(`GOOG`MSFT as sym, [1.0, 2.0] as price, [400, 201] as qty); append!(trades, t)");
    wait_rows(&live, 6);
    static const int32_t qty[] = {100, 200, 300, 101, 400, 201};
    static const char *const sym[] = {"AAPL", "MSFT", "IBM", "AAPL", "GOOG", "MSFT"};
    int in_order = live.n == 6;
    for (int i = 0; in_order && i < 6; i++)
        in_order = live.offsets[i] == i && live.qty[i] == qty[i] && !strcmp(live.sym[i], sym[i]);
    CHECK(in_order, "exactly the appended rows, in order, at offsets 0..5");
    CHECK(live.last_id == 5, "the last msgId is the last row's offset (%lld)", (long long)live.last_id);

    /* offsets: 0 = from the start, N = from row N, -1 and past the end = new rows only */
    subscriber from0, from4, newonly, past;
    CHECK(subscribe(&from0, "trades", "from0", 0, NULL, 0) == MINI_OK, "offset 0: %s", from0.c.error);
    CHECK(subscribe(&from4, "trades", "from4", 4, NULL, 0) == MINI_OK, "offset 4: %s", from4.c.error);
    CHECK(subscribe(&newonly, "trades", "newonly", -1, NULL, 0) == MINI_OK, "offset -1: %s", newonly.c.error);
    CHECK(subscribe(&past, "trades", "past", 1000, NULL, 0) == MINI_OK, "offset 1000: %s", past.c.error);
    wait_rows(&from0, 6);
    wait_rows(&from4, 2);
    CHECK(from4.n == 2 && from4.offsets[0] == 4 && from4.qty[0] == 400 && from4.qty[1] == 201, "from row 4");
    CHECK(quiet_for(&newonly, 200) && newonly.n == 0 && newonly.schemas == 1, "-1: the schema, no old rows");
    CHECK(quiet_for(&past, 100) && past.n == 0, "past the end: no old rows");
    run_ok(adm, "insert into trades values(`TSLA, 5.0, 500)");
    subscriber *all[] = {&live, &from0, &from4, &newonly, &past};
    int64_t expect[] = {7, 7, 3, 1, 1};
    for (int i = 0; i < 5; i++) {
        wait_rows(all[i], expect[i]);
        int64_t k = all[i]->n - 1;
        CHECK(k >= 0 && all[i]->offsets[k] == 6 && all[i]->qty[k] == 500, "%s gets row 6", all[i]->topic);
    }
    CHECK(subscriber_count(adm) == 5, "5 subscriptions listed (%d)", subscriber_count(adm));

    /* unsubscribe: stopPublishTable ends the push and closes the connection */
    run_ok(adm, "stopPublishTable(\"localhost\", 0, \"trades\", \"from4\")");
    CHECK(wait_eof(&from4), "stopPublishTable closes the push connection");
    /* a subscriber that simply hangs up is forgotten too */
    mini_client_close(&past.c);
    CHECK(await_subscribers(adm, 3), "stopped and closed subscriptions are gone (%d)", subscriber_count(adm));
    run_ok(adm, "insert into trades values(`NFLX, 6.0, 600)");
    wait_rows(&live, 8);
    CHECK(from4.n == 3, "nothing after stopPublishTable");
    /* latency: an insert, then its push (both round trips, loopback) */
    enum { ROUNDS = 200 };
    double t0 = now_s();
    int64_t had = live.n;
    for (int i = 0; i < ROUNDS; i++) {
        run_ok(adm, "insert into trades values(`LAT, 1.0, 1)");
        wait_rows(&live, had + i + 1);
    }
    double per = (now_s() - t0) / ROUNDS;
    printf("latency: insert + push of one row %.0f us\n", per * 1e6);
    for (int i = 0; i < 5; i++)
        unsubscribe_local(all[i]);
    CHECK(await_subscribers(adm, 0), "all gone after the clients closed");
}

static void test_filter(mini_client *adm)
{
    ddb_obj *filter = ddb_vector_new(DDB_STRING, 0);
    ddb_varlen_append(filter, "MSFT", 4);
    ddb_varlen_append(filter, "TSLA", 4);
    subscriber f;
    int rc = subscribe(&f, "trades", "filtered", 0, filter, 0);
    CHECK(rc == MINI_SERVER_ERROR && strstr(f.c.error, "setStreamTableFilterColumn"),
          "a filter needs the filter column: %s", f.c.error);
    unsubscribe_local(&f);
    run_ok(adm, "setStreamTableFilterColumn(trades, `sym)");
    CHECK(subscribe(&f, "trades", "filtered", 0, filter, 0) == MINI_OK, "filtered: %s", f.c.error);
    wait_rows(&f, 3);       /* MSFT at 1 and 5, TSLA at 6 */
    run_ok(adm, "tableInsert(trades, `AAPL`MSFT`IBM, [1.0, 2.0, 3.0], [700, 701, 702])");
    wait_rows(&f, 4);
    int only = 1;
    for (int64_t i = 0; i < f.n; i++)
        only &= !strcmp(f.sym[i], "MSFT") || !strcmp(f.sym[i], "TSLA");
    CHECK(only && f.qty[0] == 200 && f.qty[1] == 201 && f.qty[2] == 500 && f.qty[3] == 701,
          "only the filtered rows, in order");
    /* 8 rows, the 200 of the latency loop, then AAPL MSFT IBM: MSFT is row 209 */
    CHECK(f.last_id == 209, "msgId is the offset of the last matching row (%lld)", (long long)f.last_id);
    unsubscribe_local(&f);
    ddb_obj *ints = ddb_vector_new(DDB_INT, 1);
    CHECK(subscribe(&f, "trades", "badfilter", 0, ints, 0) == MINI_SERVER_ERROR && strstr(f.c.error, "filter"),
          "INT values for a SYMBOL filter column are refused: %s", f.c.error);
    unsubscribe_local(&f);
    ddb_obj_unref(ints);
    ddb_obj_unref(filter);
}

/* The publisher drops the connection while a large backlog is in flight (32 MB:
 * more than the socket buffers and ddbmini's per-subscriber queue hold, so the cut
 * falls mid-stream); the client resubscribes at last msgId + 1 and must see every
 * row once, in order. */
#define TOTAL 2000001
static void test_drop_and_resubscribe(mini_client *adm)
{
    run_ok(adm, "big = streamTable(1000:0, `sym`price`qty, [SYMBOL, DOUBLE, INT]); share big as bigs");
    run_ok(adm, "n = 2000000; tableInsert(bigs, take(`A`B`C, n), double(0..(n-1)), 0..(n-1))");
    subscriber s;
    CHECK(subscribe(&s, "bigs", "resub", 0, NULL, 0) == MINI_OK, "subscribe: %s", s.c.error);
    while (s.n < 20000 && next_message(&s, 5000) == 1)
        ;
    ddb_obj *o = NULL;
    CHECK(mini_client_script(adm, "faultDropSubscribers(\"bigs\")", &o) == MINI_OK && o && ddb_int_at(o, 0) == 1,
          "one subscriber dropped");
    ddb_obj_unref(o);
    run_ok(adm, "tableInsert(bigs, `D, 1.0, 2000000)");    /* a row while it is away */
    CHECK(wait_eof(&s), "the dropped subscriber sees the connection end");
    int64_t got = s.n, resume = s.last_id + 1;
    CHECK(got < TOTAL - 1, "dropped mid-stream (after %lld rows)", (long long)got);
    printf("drop: the first connection delivered %lld rows, the resubscription the rest\n", (long long)got);
    /* resubscribe on a new connection with the same action, keeping the rows */
    subscriber again;
    CHECK(subscribe(&again, "bigs", "resub", resume, NULL, 0) == MINI_OK, "resubscribe: %s", again.c.error);
    double t0 = now_s();
    wait_rows(&again, TOTAL - resume);
    double secs = now_s() - t0;
    printf("resubscribed: %lld rows in %.3f s (%.1f M rows/s, subscribe included)\n", (long long)again.n, secs,
           secs > 0 ? (double)again.n / secs / 1e6 : 0.0);
    int exact = s.n + again.n == TOTAL;
    for (int64_t i = 0; exact && i < s.n; i++)
        exact = s.offsets[i] == i && s.qty[i] == i;
    for (int64_t i = 0; exact && i < again.n; i++)
        exact = again.offsets[i] == resume + i && again.qty[i] == resume + i;
    CHECK(exact, "no duplicate, no gap: %lld + %lld rows", (long long)s.n, (long long)again.n);
    unsubscribe_local(&s);
    unsubscribe_local(&again);
}

/* ddbmini's resident memory in KiB (from /proc), -1 if unknown. */
static long server_rss_kib(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)g_proc.pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kib = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kib;
}

/* Subscribers that never read: ddbmini queues a bounded amount for each (the rest
 * waits in the table), and keeps serving the others. */
static void test_back_pressure(mini_client *adm)
{
    enum { STALLED = 8 };
    subscriber idle[STALLED];
    long before = server_rss_kib();
    for (int i = 0; i < STALLED; i++) {
        char action[16];
        snprintf(action, sizeof action, "idle%d", i);
        CHECK(subscribe(&idle[i], "bigs", action, 0, NULL, 0) == MINI_OK, "idle subscriber: %s", idle[i].c.error);
    }
    subscriber live;
    CHECK(subscribe(&live, "bigs", "reader", 1999000, NULL, 0) == MINI_OK, "reader: %s", live.c.error);
    wait_rows(&live, 1001);         /* served while the others are stuck */
    poll(NULL, 0, 300);             /* let ddbmini fill what it will */
    long after = server_rss_kib();
    /* unbounded queues would hold 8 x 32 MB of encoded rows (about 250 MB measured);
     * the bound leaves room for a sanitizer's allocator */
    CHECK(before > 0 && after - before < 200 * 1024, "memory for %d stalled subscribers: %ld KiB", STALLED,
          after - before);
    ddb_obj *stat = NULL;
    int bounded = mini_client_script(adm, "getStreamingStat()[\"pubTables\"]", &stat) == MINI_OK &&
                  stat && stat->form == DDB_TABLE && stat->cols == 5 && stat->rows == STALLED + 1;
    int64_t most = 0;
    for (int64_t r = 0; bounded && r < stat->rows; r++) {
        int64_t q = ddb_int_at(stat->columns[4], r);
        most = q > most ? q : most;
    }
    CHECK(bounded && most > 1000000 && most <= (5 << 20), "queued bytes per subscriber: at most %lld", (long long)most);
    ddb_obj_unref(stat);
    printf("back-pressure: %d stalled subscribers of a 32 MB backlog cost ddbmini %ld KiB\n", STALLED,
           after - before);
    for (int i = 0; i < STALLED; i++)
        unsubscribe_local(&idle[i]);
    unsubscribe_local(&live);
    CHECK(await_subscribers(adm, 0), "stalled subscribers are gone once they close");
}

/* Writers on four connections append at once: the subscriber sees every row once,
 * at consecutive offsets, each writer's rows in the order it wrote them. */
#define WRITERS 4
#define WRITES 300

static void *writer(void *arg)
{
    int k = (int)(intptr_t)arg;
    mini_client c;
    if (mini_client_open(&c, "127.0.0.1", g_proc.port) || mini_client_connect(&c) != MINI_OK)
        return (void *)1;
    intptr_t failed = 0;
    for (int i = 0; i < WRITES && !failed; i++) {
        char script[128];
        snprintf(script, sizeof script, "insert into conc values(`W%d, %d.5, %d)", k, i, k * 100000 + i);
        failed = mini_client_script(&c, script, NULL) != MINI_OK;
    }
    mini_client_close(&c);
    return (void *)failed;
}

static void test_concurrent_writers(mini_client *adm)
{
    run_ok(adm, "c = streamTable(1:0, `sym`price`qty, [SYMBOL, DOUBLE, INT]); share c as conc");
    subscriber s;
    CHECK(subscribe(&s, "conc", "all", -1, NULL, 0) == MINI_OK, "subscribe: %s", s.c.error);
    pthread_t th[WRITERS];
    for (int k = 0; k < WRITERS; k++)
        pthread_create(&th[k], NULL, writer, (void *)(intptr_t)k);
    int failed = 0;
    for (int k = 0; k < WRITERS; k++) {
        void *rc;
        pthread_join(th[k], &rc);
        failed |= rc != NULL;
    }
    CHECK(!failed, "every writer's inserts succeeded");
    wait_rows(&s, WRITERS * WRITES);
    int next[WRITERS] = {0}, ok = 1;
    for (int64_t i = 0; ok && i < s.n; i++) {
        int k = s.qty[i] / 100000, j = s.qty[i] % 100000;
        ok = s.offsets[i] == i && k >= 0 && k < WRITERS && j == next[k]++;
    }
    CHECK(ok, "consecutive offsets, each writer's rows in order, none twice");
    unsubscribe_local(&s);
}

/* A listening socket on 127.0.0.1; its port in *port. */
static int listen_local(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 4) ||
        getsockname(fd, (struct sockaddr *)&a, &len)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* Listen mode: publishTable on a plain connection names a port; ddbmini connects
 * back to it and pushes there. */
static void test_listen_mode(mini_client *adm)
{
    int port = 0, lfd = listen_local(&port);
    CHECK(lfd >= 0, "a listening socket");
    if (lfd < 0)
        return;
    mini_client req;
    open_client(&req, &g_proc);
    ddb_stream_sub s = {.host = "127.0.0.1", .port = port, .table = "conc", .action = "back", .offset = 0};
    ddb_obj *reply = NULL;
    CHECK(call_body(&req, ddb_stream_body_publish, &s, &reply) == MINI_OK, "publishTable to a port: %s", req.error);
    ddb_obj_unref(reply);
    struct pollfd pfd = {.fd = lfd, .events = POLLIN};
    int cfd = poll(&pfd, 1, 5000) == 1 ? accept(lfd, NULL, NULL) : -1;
    CHECK(cfd >= 0, "ddbmini connected back");
    if (cfd >= 0) {
        subscriber sub;
        memset(&sub, 0, sizeof sub);
        sub.last_id = -1;
        sub.parser = ddb_stream_parser_new(NULL);
        sub.c.fd = cfd;
        snprintf(sub.topic, sizeof sub.topic, "127.0.0.1:%d:local/conc/back", g_proc.port);
        wait_rows(&sub, WRITERS * WRITES);      /* the rows test_concurrent_writers wrote */
        CHECK(sub.schemas == 1 && sub.n > 0 && sub.offsets[0] == 0 && sub.offsets[sub.n - 1] == sub.n - 1,
              "schema, then every row from offset 0");
        run_ok(adm, "insert into conc values(`L, 1.0, 7)");
        wait_rows(&sub, WRITERS * WRITES + 1);
        CHECK(call_body(&req, ddb_stream_body_stop, &s, NULL) == MINI_OK, "stopPublishTable: %s", req.error);
        CHECK(wait_eof(&sub), "stopPublishTable closes the connection ddbmini opened");
        unsubscribe_local(&sub);
    }
    /* a subscriber that is not listening: the subscription ends by itself */
    close(lfd);
    CHECK(call_body(&req, ddb_stream_body_publish, &s, NULL) == MINI_OK, "publishTable to a closed port: %s",
          req.error);
    CHECK(await_subscribers(adm, 0), "a refused connect-back ends the subscription");
    /* one left connected back, and one in reverse mode, when ddbmini stops (main) */
    g_kept_listener = listen_local(&port);
    s.port = port;
    CHECK(call_body(&req, ddb_stream_body_publish, &s, NULL) == MINI_OK, "kept: %s", req.error);
    pfd.fd = g_kept_listener;
    g_kept_fd = poll(&pfd, 1, 5000) == 1 ? accept(g_kept_listener, NULL, NULL) : -1;
    CHECK(g_kept_fd >= 0, "kept listen-mode subscription connected");
    mini_client_close(&req);
}

/* The test hooks for client parsers: one row per message as a tuple of scalars, and
 * a second topic joined to the first. */
static void test_tuple_and_joined_topics(mini_client *adm)
{
    run_ok(adm, "tu = streamTable(1:0, `sym`price`qty, [SYMBOL, DOUBLE, INT]); share tu as tup");
    run_ok(adm, "tableInsert(tup, `A`B, [1.0, 2.0], [10, 11])");
    run_ok(adm, "faultStreamRowTuples(true); faultStreamJoinTopic(\"h:1:n/tup/other\")");
    subscriber s;
    CHECK(subscribe(&s, "tup", "t", 0, NULL, 0) == MINI_OK, "subscribe: %s", s.c.error);
    wait_rows(&s, 2);
    run_ok(adm, "insert into tup values(`C, 3.0, 12)");
    wait_rows(&s, 3);
    CHECK(s.tuples == 3 && s.qty[0] == 10 && s.qty[2] == 12 && !strcmp(s.sym[1], "B") && s.offsets[2] == 2,
          "three single-row tuples at offsets 0..2 (%d)", s.tuples);
    CHECK(s.joined == 4, "every push names the joined topic too (%d)", s.joined);
    run_ok(adm, "faultReset()");
    run_ok(adm, "insert into tup values(`D, 4.0, 13)");
    wait_rows(&s, 4);
    CHECK(s.tuples == 3 && s.joined == 4, "faultReset: columns and one topic again");
    unsubscribe_local(&s);
}

static void test_not_leader(mini_client *adm)
{
    subscriber s;
    CHECK(subscribe(&s, "trades", "ha", -1, NULL, 0) == MINI_OK, "subscribe: %s", s.c.error);
    CHECK(next_message(&s, 5000) == 1, "schema");
    run_ok(adm, "faultStreamNotLeader(\"127.0.0.1:9999\")");
    CHECK(wait_eof(&s), "losing leadership drops the subscriber");
    unsubscribe_local(&s);
    CHECK(subscribe(&s, "trades", "ha", -1, NULL, 0) == MINI_SERVER_ERROR, "refused on a follower");
    char host[64];
    int port = 0;
    CHECK(ddb_parse_not_leader(s.c.error, host, sizeof host, &port) == 1 && !strcmp(host, "127.0.0.1") &&
          port == 9999, "<NotLeader>127.0.0.1:9999: %s", s.c.error);
    unsubscribe_local(&s);
    run_ok(adm, "faultStreamNotLeader(\"\")");
    CHECK(subscribe(&s, "trades", "ha", -1, NULL, 0) == MINI_OK, "leader again: %s", s.c.error);
    unsubscribe_local(&s);
    /* an HA stream table's reply lists the raft group's sites */
    run_ok(adm, "faultStreamSites(\"127.0.0.1:9001:n1,127.0.0.1:9002:n2\")");
    g_expect_sites = 2;
    CHECK(subscribe(&s, "trades", "ha2", -1, NULL, 0) == MINI_OK, "HA reply: %s", s.c.error);
    CHECK(next_message(&s, 5000) == 1 && s.schemas == 1, "pushes as usual");
    g_expect_sites = 0;
    unsubscribe_local(&s);
    run_ok(adm, "faultStreamSites(\"\")");
}

static void test_refusals(mini_client *adm)
{
    subscriber s;
    CHECK(subscribe(&s, "nosuch", "x", -1, NULL, 0) == MINI_SERVER_ERROR && strstr(s.c.error, "nosuch"),
          "unknown table: %s", s.c.error);
    unsubscribe_local(&s);
    run_ok(adm, "pt = table(1 2 as qty); share pt as plainT");
    CHECK(subscribe(&s, "plainT", "x", -1, NULL, 0) == MINI_SERVER_ERROR && strstr(s.c.error, "not a stream table"),
          "a plain shared table: %s", s.c.error);
    unsubscribe_local(&s);
    /* publishTable without the reverse flag, and with a listening port */
    mini_client c;
    open_client(&c, &g_proc);
    const char *r = run_text(&c, "publishTable(\"localhost\", 0, \"trades\", \"x\")");
    CHECK(strstr(r, "131072") != NULL, "port 0 without flag 131072: %s", r);
    r = run_text(&c, "publishTable(\"no.such.host\", 8900, \"trades\", \"x\")");
    CHECK(strstr(r, "IPv4") != NULL, "listen mode to a host name: %s", r);
    r = run_text(&c, "getSubscriptionTopic(\"nosuch\", \"x\")");
    CHECK(strstr(r, "ERROR") != NULL, "getSubscriptionTopic of an unknown table: %s", r);
    mini_client_close(&c);
    /* a request that subscribes and then fails leaves no subscription and a usable
     * connection; one request subscribes once */
    CHECK(mini_client_open(&c, "127.0.0.1", g_proc.port) == 0, "open");
    snprintf(c.behavior, sizeof c.behavior, "%d_1_4_64", DDB_FLAG_REVERSE_STREAMING);
    CHECK(mini_client_connect(&c) == MINI_OK, "flagged connect: %s", c.error);
    r = run_text(&c, "publishTable(\"localhost\", 0, \"trades\", \"late\"); noSuchFunction()");
    CHECK(strstr(r, "noSuchFunction") != NULL, "the request fails: %s", r);
    r = run_text(&c, "1+1");
    CHECK(!strcmp(r, "2"), "the connection still answers requests: %s", r);
    r = run_text(&c, "publishTable(\"localhost\", 0, \"trades\", \"p1\"); publishTable(\"localhost\", 0, \"trades\", \"p2\")");
    CHECK(strstr(r, "one subscription") != NULL, "twice in one request: %s", r);
    CHECK(await_subscribers(adm, 0), "neither left a subscription (%d)", subscriber_count(adm));
    mini_client_close(&c);
    /* subscribers that hang up before (or while) the reply comes: nothing is left */
    for (int i = 0; i < 20; i++) {
        subscriber gone;
        memset(&gone, 0, sizeof gone);
        CHECK(mini_client_open(&gone.c, "127.0.0.1", g_proc.port) == 0, "open");
        snprintf(gone.c.behavior, sizeof gone.c.behavior, "%d_1_4_64", DDB_FLAG_REVERSE_STREAMING);
        CHECK(mini_client_connect(&gone.c) == MINI_OK, "connect: %s", gone.c.error);
        ddb_stream_sub s = {.table = "trades", .action = "gone", .offset = 0};
        ddb_buf body;
        ddb_buf_init(&body);
        size_t text_len;
        char err[128];
        if (ddb_stream_body_publish(&body, &s, &text_len, err, sizeof err) == 0)
            mini_client_send(&gone.c, body.p, text_len, body.p + text_len, body.len - text_len);
        ddb_buf_free(&body);
        if (i % 2)
            poll(NULL, 0, 1);       /* sometimes after the reply went out */
        mini_client_close(&gone.c);
    }
    CHECK(await_subscribers(adm, 0), "hung-up subscribers leave nothing (%d)", subscriber_count(adm));
    /* the same topic twice: refused, unless allowExists (which replaces the first) */
    subscriber a, b;
    CHECK(subscribe(&a, "trades", "dup", -1, NULL, 0) == MINI_OK, "first: %s", a.c.error);
    CHECK(subscribe(&b, "trades", "dup", -1, NULL, 0) == MINI_SERVER_ERROR && strstr(b.c.error, "already exists"),
          "second: %s", b.c.error);
    unsubscribe_local(&b);
    CHECK(subscribe(&b, "trades", "dup", -1, NULL, 1) == MINI_OK, "allowExists: %s", b.c.error);
    CHECK(wait_eof(&a), "allowExists replaced the first subscription");
    run_ok(adm, "insert into trades values(`X, 1.0, 900)");
    wait_rows(&b, 1);
    /* dropping the table ends its subscriptions */
    run_ok(adm, "undef(\"trades\", SHARED)");
    CHECK(wait_eof(&b), "undef ends the subscription");
    unsubscribe_local(&a);
    unsubscribe_local(&b);
    CHECK(await_subscribers(adm, 0), "none left");
}

/* With --require-login the streaming calls need a logged-in connection; a
 * subscriber that logs in on its flagged connection gets its rows. */
static void test_require_login(void)
{
    static const char *const args[] = {"--require-login", NULL};
    mini_proc main_proc = g_proc;
    if (mini_proc_start(&g_proc, BIN, args)) {
        CHECK(0, "start ddbmini --require-login");
        g_proc = main_proc;
        return;
    }
    mini_client adm;
    admin(&adm);
    run_ok(&adm, "st = streamTable(1:0, `sym`price`qty, [SYMBOL, DOUBLE, INT]); share st as secured");
    subscriber s;
    CHECK(subscribe(&s, "secured", "a", -1, NULL, 0) == MINI_SERVER_ERROR && strstr(s.c.error, "Login"),
          "refused before login: %s", s.c.error);
    unsubscribe_local(&s);
    g_login = 1;
    CHECK(subscribe(&s, "secured", "a", -1, NULL, 0) == MINI_OK, "logged in: %s", s.c.error);
    g_login = 0;
    run_ok(&adm, "insert into secured values(`S, 1.0, 5)");
    wait_rows(&s, 1);
    unsubscribe_local(&s);
    mini_client_close(&adm);
    CHECK(mini_proc_stop(&g_proc) == 0, "--require-login ddbmini exits cleanly");
    g_proc = main_proc;
}

/* --stream-max-rows: an insert past the retention cap fails whole. */
static void test_retention_cap(void)
{
    static const char *const args[] = {"--stream-max-rows", "10", NULL};
    mini_proc main_proc = g_proc;
    if (mini_proc_start(&g_proc, BIN, args)) {
        CHECK(0, "start ddbmini --stream-max-rows 10");
        g_proc = main_proc;
        return;
    }
    mini_client c;
    open_client(&c, &g_proc);
    run_ok(&c, "st = streamTable(1:0, `v, [INT]); share st as capped; tableInsert(capped, 1..8)");
    const char *r = run_text(&c, "tableInsert(capped, 9..13)");
    CHECK(strstr(r, "at most 10 rows") != NULL, "past the cap: %s", r);
    r = run_text(&c, "exec count(*) from capped");
    CHECK(!strcmp(r, "8"), "nothing of the refused insert was kept: %s", r);
    r = run_text(&c, "tableInsert(capped, 9..10)");
    CHECK(!strcmp(r, "2"), "up to the cap: %s", r);
    mini_client_close(&c);
    CHECK(mini_proc_stop(&g_proc) == 0, "exits cleanly");
    g_proc = main_proc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s path/to/ddbmini\n", argv[0]);
        return 2;
    }
    BIN = argv[1];
    test_require_login();
    test_retention_cap();
    if (mini_proc_start(&g_proc, BIN, NULL)) {
        fprintf(stderr, "cannot start %s\n", BIN);
        return 1;
    }
    mini_client adm;
    admin(&adm);
    test_basic_and_offsets(&adm);
    test_filter(&adm);
    test_drop_and_resubscribe(&adm);
    test_back_pressure(&adm);
    test_concurrent_writers(&adm);
    test_listen_mode(&adm);
    test_tuple_and_joined_topics(&adm);
    test_not_leader(&adm);
    test_refusals(&adm);
    subscriber kept;
    run_ok(&adm, "k = streamTable(1:0, `sym`price`qty, [SYMBOL, DOUBLE, INT]); share k as kept");
    CHECK(subscribe(&kept, "kept", "k", -1, NULL, 0) == MINI_OK, "kept: %s", kept.c.error);
    mini_client_close(&adm);
    CHECK(mini_proc_stop(&g_proc) == 0, "ddbmini exits cleanly with subscribers of both modes connected");
    CHECK(wait_eof(&kept), "and their connections close");
    unsubscribe_local(&kept);
    if (g_kept_fd >= 0)
        close(g_kept_fd);
    if (g_kept_listener >= 0)
        close(g_kept_listener);
    return finish("test_ddbmini_stream");
}
