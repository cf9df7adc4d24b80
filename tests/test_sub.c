/* test_sub.c — the subscription core (src/pool/ddb_sub.h) on the libuv host against
 * ddbmini over real sockets, without Lua: rows appended in many inserts come as
 * deliveries exactly once and in order; batches are gathered (batch_size) and a slow
 * taker pauses the socket (max_queued_rows); after the publisher drops the
 * subscriber it resubscribes at the next offset; single-row tuples; refusals (no
 * such table, nobody listening) end it with a clear error; closing it releases every
 * handle (uv_loop_close succeeds; valgrind checks the memory). DDB_TIME_SCALE
 * (default 1) stretches every deadline (scripts/valgrind.sh gives 20). */
#include <stdlib.h>
#include <string.h>

#include "ddb_pool.h"
#include "ddb_sub.h"
#include "pool_support.h"

static uv_loop_t *loop;
static ddbmini_proc server;
static ddb_pool *pool;
static int g_scale = 1;         /* DDB_TIME_SCALE */
#define MS(n) ((n) * g_scale)

typedef struct taker {
    ddb_sub *sub;
    int notified;
    int64_t next_id;            /* the id expected next (ids equal offsets) */
    int64_t deliveries, max_rows, max_queued;
    int slow;                   /* take only while reading is paused (or all came) */
    int saw_pause, bad;
} taker;

static void on_notify(void *ud) { ((taker *)ud)->notified++; }

static void script(const char *text)
{
    ddb_task *t = run_script(loop, pool, text, MS(10000));
    CHECK(t && ddb_task_state(t) == DDB_TASK_DONE, "%s: %s", text, t ? ddb_task_error(t) : "not submitted");
    if (t) ddb_task_unref(t);
}

static void append(const char *table, int64_t first, int64_t n)
{
    char s[300];
    snprintf(s, sizeof s, "insert into %s values(%lld..%lld, symbol(string((%lld..%lld) %% 5)), "
             "string(%lld..%lld))", table, (long long)first, (long long)(first + n - 1),
             (long long)first, (long long)(first + n - 1), (long long)first, (long long)(first + n - 1));
    script(s);
}

static void make_table(const char *name)
{
    char s[200];
    snprintf(s, sizeof s, "t = streamTable(1:0, `id`sym`s, [INT, SYMBOL, STRING]); share t as %s", name);
    script(s);
}

/* Checks one delivery's rows: consecutive ids from next_id, sym and s derived. */
static void check_delivery(taker *k, const ddb_sub_delivery *d)
{
    const ddb_obj *t = d->table;
    if (!t || t->form != DDB_TABLE || t->cols != 3 || t->rows != d->rows ||
        strcmp(t->col_names[0], "id") || strcmp(t->col_names[2], "s")) {
        k->bad++;
        return;
    }
    for (int64_t r = 0; r < t->rows; r++, k->next_id++) {
        size_t len;
        char want[32];
        snprintf(want, sizeof want, "%lld", (long long)k->next_id);
        const char *s = ddb_str_at(t->columns[2], r, &len);
        const char *sym = ddb_str_at(t->columns[1], r, &len);
        if (ddb_int_at(t->columns[0], r) != k->next_id || !s || strcmp(s, want) ||
            !sym || atoi(sym) != k->next_id % 5)
            k->bad++;
    }
    if (d->last_offset != k->next_id - 1) k->bad++;
    if (d->rows > k->max_rows) k->max_rows = d->rows;
    k->deliveries++;
}

static int took(void *ud, int64_t upto)
{
    taker *k = ud;
    ddb_sub_stats st;
    ddb_sub_stats_get(k->sub, &st);
    if (st.queued_rows > k->max_queued) k->max_queued = st.queued_rows;
    k->saw_pause |= st.paused;
    if (k->slow && !st.paused && st.rows < upto) return 0;
    ddb_sub_delivery d;
    while (ddb_sub_take(k->sub, &d)) {
        check_delivery(k, &d);
        ddb_obj_unref(d.table);
    }
    return k->next_id >= upto;
}

static int64_t g_upto;
static int took_all(void *ud) { return took(ud, g_upto); }

static int subscribed_or_dead(void *ud)
{
    ddb_sub_stats st;
    ddb_sub_stats_get(((taker *)ud)->sub, &st);
    return st.state == DDB_SUB_STREAMING || st.state == DDB_SUB_DEAD;
}

static void base_cfg(ddb_sub_cfg *c, int port, const char *table)
{
    *c = (ddb_sub_cfg){ .host = "127.0.0.1", .port = port, .table = table, .action = "c",
                        .offset = 0, .resub = 1, .connect_timeout_ms = MS(3000),
                        .backoff_ms = 20, .backoff_max_ms = 500, .throttle_ms = 20,
                        .max_queued_rows = 1 << 20, .userid = "admin", .password = "123456" };
}

static ddb_sub *start(taker *k, const ddb_sub_cfg *c)
{
    char err[200];
    memset(k, 0, sizeof *k);
    k->sub = ddb_sub_new(&ddb_uv_host, loop, c, on_notify, k, err, sizeof err);
    CHECK(k->sub != NULL, "ddb_sub_new: %s", err);
    if (!k->sub) return NULL;
    ddb_sub_start(k->sub);
    run_until(loop, subscribed_or_dead, k, MS(5000));
    return k->sub;
}

static void finish(taker *k)
{
    ddb_sub_close(k->sub);
    run_for(loop, MS(30));      /* the close callbacks free it */
}

static void test_batches_pause_and_resub(void)
{
    make_table("s1");
    append("s1", 0, 100);
    ddb_sub_cfg c;
    base_cfg(&c, server.port, "s1");
    c.batch_size = 250;
    c.max_queued_rows = 400;
    taker k;
    if (!start(&k, &c)) return;
    ddb_sub_stats st;
    ddb_sub_stats_get(k.sub, &st);
    CHECK(st.state == DDB_SUB_STREAMING && st.subscribed, "subscribed (%s)", st.last_error);
    CHECK(strstr(st.topic, "/s1/c") != NULL, "topic %s", st.topic);
    for (int i = 1; i < 40; i++) append("s1", i * 100, 100);
    k.slow = 1;                 /* a slow taker: rows pile up to the pause */
    g_upto = 4000;
    CHECK(run_until(loop, took_all, &k, MS(10000)), "4000 rows taken (next id %lld)", (long long)k.next_id);
    CHECK(k.bad == 0, "rows in order, exactly once, offsets right (%d bad)", k.bad);
    CHECK(k.max_rows >= 250, "batches gathered (largest %lld rows)", (long long)k.max_rows);
    CHECK(k.saw_pause, "reading paused at the limit");
    CHECK(k.max_queued < 400 + 4000, "paused near the limit (max queued %lld)", (long long)k.max_queued);
    CHECK(k.notified > 0, "notified");
    /* the publisher drops us twice while rows flow */
    k.slow = 0;
    for (int round = 0; round < 2; round++) {
        script("faultDropSubscribers(\"s1\")");
        append("s1", 4000 + round * 500, 500);
    }
    g_upto = 5000;
    CHECK(run_until(loop, took_all, &k, MS(10000)), "5000 rows after the drops (next id %lld)", (long long)k.next_id);
    CHECK(k.bad == 0, "exactly once across drops (%d bad)", k.bad);
    ddb_sub_stats_get(k.sub, &st);
    CHECK(st.reconnects >= 1 && st.next_offset == 5000, "resubscribed %lld times, next offset %lld",
          (long long)st.reconnects, (long long)st.next_offset);
    finish(&k);
}

static void test_tuples(void)
{
    make_table("s2");
    ddb_sub_cfg c;
    base_cfg(&c, server.port, "s2");
    taker k;
    if (!start(&k, &c)) return;
    script("faultStreamRowTuples(true)");
    append("s2", 0, 20);
    script("faultStreamRowTuples(false)");
    g_upto = 20;
    CHECK(run_until(loop, took_all, &k, MS(5000)), "20 tuple rows (next id %lld)", (long long)k.next_id);
    CHECK(k.bad == 0 && k.deliveries == 20, "one delivery per tuple (%lld), %d bad",
          (long long)k.deliveries, k.bad);
    finish(&k);
}

static void test_refusals(void)
{
    ddb_sub_cfg c;
    base_cfg(&c, server.port, "no_such_table");
    taker k;
    if (start(&k, &c)) {
        ddb_sub_stats st;
        ddb_sub_stats_get(k.sub, &st);
        CHECK(st.state == DDB_SUB_DEAD && !st.subscribed && strstr(st.last_error, "no_such_table"),
              "unknown table: %s", st.last_error);
        finish(&k);
    }
    ddbmini_proc gone;
    if (ddbmini_start(&gone, 0, NULL)) return;
    int port = gone.port;
    ddbmini_stop(&gone);
    base_cfg(&c, port, "s1");
    if (start(&k, &c)) {
        ddb_sub_stats st;
        ddb_sub_stats_get(k.sub, &st);
        CHECK(st.state == DDB_SUB_DEAD && st.last_error[0], "nobody listening: %s", st.last_error);
        finish(&k);
    }
    base_cfg(&c, server.port, "s1");
    c.password = "wrong";
    if (start(&k, &c)) {
        ddb_sub_stats st;
        ddb_sub_stats_get(k.sub, &st);
        CHECK(st.state == DDB_SUB_DEAD && strstr(st.last_error, "login failed"), "bad password: %s",
              st.last_error);
        CHECK(!strstr(st.last_error, "wrong"), "the password is not in the error");
        finish(&k);
    }
}

int main(void)
{
    if (ddbmini_start(&server, 0, NULL)) {
        printf("FAIL cannot start ddbmini\n");
        return 1;
    }
    const char *scale = getenv("DDB_TIME_SCALE");
    if (scale && atoi(scale) > 1) g_scale = atoi(scale);
    loop = uv_default_loop();
    ddb_pool_config cfg;
    test_config(&cfg, server.port, 2);
    cfg.connect_timeout *= g_scale;
    pool = open_pool(loop, &cfg);
    CHECK(pool && ddb_pool_state(pool) == DDB_POOL_OPEN, "pool open");
    if (pool) {
        test_batches_pause_and_resub();
        test_tuples();
        test_refusals();
    }
    close_pool(loop, pool);
    ddbmini_stop(&server);
    run_for(loop, MS(50));
    CHECK(uv_loop_close(loop) == 0, "every handle closed (uv_loop_close)");
    printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
