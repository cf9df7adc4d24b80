/* test_pool_fetch.c — block-wise results (fetch_size) through the inline pool's C API
 * against ddbmini over real sockets: on_block reports each block once, the connection
 * reads the next only after ddb_task_take_block, the blocks add up to the table, the
 * task ends DONE and blockwise, a skipped fetch drains and frees its connection, the
 * progress counters, and fetch_size validation. */
#include "pool_support.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static ddbmini_proc server;
static uv_loop_t *loop;

typedef struct watch {
    int blocks_reported;
    int completed;
    int cancel_in_report;       /* cancel the task from inside on_block */
} watch;

static void on_block(ddb_pool *p, ddb_task *t, void *task_ud, void *pool_ud)
{
    (void)task_ud;
    watch *w = pool_ud;
    w->blocks_reported++;
    if (w->cancel_in_report)
        CHECK(ddb_task_cancel(p, t) == DDB_OK, "cancel inside on_block");
}

static void on_complete(ddb_pool *p, ddb_task *t, void *task_ud, void *pool_ud)
{
    (void)p, (void)t, (void)task_ud;
    ((watch *)pool_ud)->completed++;
}

typedef struct waiter {
    ddb_task *t;
    watch *w;
    int seen;
} waiter;

/* a new block was reported, or the task ended */
static int block_or_end(void *ud)
{
    waiter *x = ud;
    return x->w->blocks_reported > x->seen || ddb_task_state_is_terminal(ddb_task_state(x->t));
}

static ddb_task *submit_fetch(ddb_pool *p, const char *script, int fetch)
{
    ddb_task_spec spec;
    ddb_task_spec_init(&spec);
    spec.text = script;
    spec.fetch_size = fetch;
    ddb_task *t = NULL;
    char err[300];
    int rc = ddb_pool_submit(p, &spec, &t, err, sizeof err);
    CHECK(rc == DDB_OK, "submit fetch: %s", err);
    return t;
}

/* A one-connection pool that reports blocks and completions to w, with a fetch of
 * `script` in blocks of 8192 rows submitted as *t. NULL (the pool closed again)
 * when the submit failed. */
static ddb_pool *open_fetching(watch *w, const char *script, ddb_task **t)
{
    ddb_pool_config cfg;
    test_config(&cfg, server.port, 1);
    cfg.connect_timeout = 30;        /* valgrind on a loaded machine is slow to log in */
    cfg.on_block = on_block;
    cfg.on_complete = on_complete;
    cfg.cb_ud = w;
    ddb_pool *p = open_pool(loop, &cfg);
    *t = submit_fetch(p, script, 8192);
    if (!*t) {
        close_pool(loop, p);
        return NULL;
    }
    return p;
}

static void test_blocks(void)
{
    watch w = {0, 0, 0};
    ddb_task *t;
    ddb_pool *p = open_fetching(&w, "table(1..100000 as id)", &t);
    if (!p)
        return;
    waiter x = { t, &w, 0 };
    int64_t rows = 0, expect = 1, blocks = 0;
    for (;;) {
        CHECK(run_until(loop, block_or_end, &x, 10000), "a block or the end comes");
        if (blocks == 0) {
            run_for(loop, 100);     /* not taken: the connection reads nothing more */
            CHECK(w.blocks_reported == 1, "one block until it is taken (%d)",
                  w.blocks_reported);
        }
        ddb_obj *b = ddb_task_take_block(p, t);
        if (!b) {
            CHECK(ddb_task_state_is_terminal(ddb_task_state(t)), "no block: the task ended");
            break;
        }
        x.seen = w.blocks_reported;
        blocks++;
        CHECK(b->form == DDB_TABLE && b->rows <= 8192, "block %lld: %lld rows", (long long)blocks,
              (long long)b->rows);
        for (int64_t i = 0; i < b->rows; i++, expect++)
            if (ddb_int_at(b->columns[0], i) != expect) {
                CHECK(0, "row %lld holds %lld", (long long)expect,
                      (long long)ddb_int_at(b->columns[0], i));
                break;
            }
        rows += b->rows;
        ddb_obj_unref(b);
    }
    CHECK(rows == 100000 && blocks == 13, "%lld rows in %lld blocks", (long long)rows,
          (long long)blocks);
    CHECK(ddb_task_state(t) == DDB_TASK_DONE && ddb_task_blockwise(t) && !ddb_task_result(t),
          "DONE, blockwise, no whole result (%s)", ddb_task_error(t) ? ddb_task_error(t) : "");
    CHECK(ddb_task_rows_received(t) == 100000 && ddb_task_bytes_received(t) > 400000,
          "progress: %lld rows, %lld bytes", (long long)ddb_task_rows_received(t),
          (long long)ddb_task_bytes_received(t));
    ddb_task_unref(t);
    close_pool(loop, p);
    printf("ok  13 blocks of <= 8192 rows, one report each, DONE blockwise\n");
}

static void test_skip_and_validation(void)
{
    watch w = {0, 0, 0};
    ddb_task *t;
    ddb_pool *p = open_fetching(&w, "table(1..1000000 as id)", &t);
    if (!p)
        return;
    waiter x = { t, &w, 0 };
    CHECK(run_until(loop, block_or_end, &x, 10000), "first block");
    ddb_task_skip_blocks(p, t);
    ddb_task *next = run_script(loop, p, "1+1", 10000);
    CHECK(next && task_int(next) == 2, "the next task runs after the drain");
    CHECK(ddb_task_state(t) == DDB_TASK_DONE && w.blocks_reported == 1,
          "skipped fetch DONE, no more reports (%d)", w.blocks_reported);
    ddb_task_unref(next);
    ddb_task_unref(t);

    ddb_task_spec spec;
    ddb_task_spec_init(&spec);
    spec.text = "1";
    char err[300];
    int bad[] = { 1, 8191, -5 };
    for (int i = 0; i < 3; i++) {
        spec.fetch_size = bad[i];
        CHECK(ddb_pool_submit(p, &spec, NULL, err, sizeof err) == DDB_EINVAL &&
              strstr(err, "fetchSize"), "fetch_size %d refused: %s", bad[i], err);
    }
    spec.fetch_size = 8192;
    spec.kind = DDB_KIND_UPLOAD;
    CHECK(ddb_pool_submit(p, &spec, NULL, err, sizeof err) == DDB_EINVAL, "upload refused");
    close_pool(loop, p);
    printf("ok  skip drains and frees the connection; bad fetch sizes refused\n");
}

/* The callback may call the pool (as on_complete): a cancel inside it ends the read. */
static void test_cancel_in_report(void)
{
    watch w = {0, 0, 1};
    ddb_task *t;
    ddb_pool *p = open_fetching(&w, "table(1..1000000 as id)", &t);
    if (!p)
        return;
    CHECK(run_until(loop, task_done, t, 10000), "the cancelled task ends");
    CHECK(ddb_task_state(t) == DDB_TASK_CANCELLED && w.blocks_reported == 1,
          "CANCELLED after one report (%s, %d)", ddb_task_state_name(ddb_task_state(t)),
          w.blocks_reported);
    w.cancel_in_report = 0;
    ddb_task *next = run_script(loop, p, "3+4", 10000);
    CHECK(next && task_int(next) == 7, "the pool runs the next task");
    ddb_task_unref(next);
    ddb_task_unref(t);
    close_pool(loop, p);
    printf("ok  cancel inside on_block: the task ends CANCELLED, the pool goes on\n");
}

int main(void)
{
    loop = uv_default_loop();
    if (ddbmini_start(&server, 0, NULL) != 0)
        return 1;
    test_blocks();
    test_skip_and_validation();
    test_cancel_in_report();
    ddbmini_stop(&server);
    printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
