/* test_pool_basic.c — the inline pool against ddbmini over real sockets: open,
 * every task kind, results, server errors, print output, clearMemory, options,
 * session ids, stats, login, initial script, concurrency timing, completion
 * callbacks exactly once. */
#include "pool_support.h"

#include <stdlib.h>
#include <string.h>

static ddbmini_proc server;
static uv_loop_t *loop;

/* ---- callback bookkeeping: every task's callback runs exactly once ---- */
typedef struct cb_count { int calls; int state; } cb_count;
static int callbacks_total;

static void count_cb(ddb_pool *p, ddb_task *t, void *task_ud, void *pool_ud)
{
    callbacks_total++;
    if (task_ud) {
        cb_count *c = task_ud;
        c->calls++;
        c->state = ddb_task_state(t);
    }
}

static ddb_task *submit(ddb_pool *p, ddb_task_spec *spec, int expect_rc, char *err)
{
    ddb_task *t = NULL;
    char buf[300];
    int rc = ddb_pool_submit(p, spec, &t, err ? err : buf, 300);
    CHECK(rc == expect_rc, "submit '%s': rc %d want %d (%s)", spec->text, rc, expect_rc,
          err ? err : buf);
    return t;
}

static void test_open_and_sessions(void)
{
    ddb_pool_config cfg;
    test_config(&cfg, server.port, 4);
    ddb_pool *p = open_pool(loop, &cfg);
    CHECK(p && ddb_pool_state(p) == DDB_POOL_OPEN, "pool opens (%s)",
          p ? ddb_pool_error(p) : "NULL");
    ddb_pool_stats st;
    ddb_pool_get_stats(p, &st);
    CHECK(st.conns == 4 && st.conns_ready == 4 && st.queued == 0, "4 READY connections");
    for (int i = 0; i < 4; i++) {
        const char *sid = ddb_pool_session_id(p, i);
        CHECK(sid[0] && strspn(sid, "0123456789") == strlen(sid), "session id %d '%s'", i,
              sid);
        for (int j = 0; j < i; j++)
            CHECK(strcmp(sid, ddb_pool_session_id(p, j)) != 0, "session ids differ");
        ddb_conn_info ci;
        CHECK(ddb_pool_conn_info(p, i, &ci) == DDB_OK && ci.state == DDB_CONN_READY &&
              ci.port == server.port && strcmp(ci.host, "127.0.0.1") == 0, "conn info %d", i);
    }
    ddb_conn_info ci;
    CHECK(ddb_pool_conn_info(p, 4, &ci) == DDB_EINVAL, "conn info out of range");
    CHECK(strcmp(ddb_pool_session_id(p, 9), "") == 0, "session id out of range");
    close_pool(loop, p);

    /* The caller did not run the loop for longer than connect_timeout: the pool must
     * not start its timers from the stale loop clock. */
    cfg.connect_timeout = 1;
    uv_sleep(1500);
    p = open_pool(loop, &cfg);
    CHECK(ddb_pool_state(p) == DDB_POOL_OPEN, "open after an idle loop: %s",
          ddb_pool_error(p));
    close_pool(loop, p);
    printf("ok  open: 4 connections READY, distinct session ids, conn info, stale clock\n");
}

static void test_kinds_and_results(void)
{
    ddb_pool_config cfg;
    test_config(&cfg, server.port, 1);
    cfg.on_complete = count_cb;
    ddb_pool *p = open_pool(loop, &cfg);

    ddb_task *t = run_script(loop, p, "1+1", 3000);
    CHECK(t && ddb_task_state(t) == DDB_TASK_DONE && task_int(t) == 2, "1+1 = 2");
    CHECK(t && ddb_task_id(t) < 0 && !ddb_task_has_user_id(t), "auto id is negative");
    CHECK(t && ddb_task_error(t) == NULL && ddb_task_conn_index(t) == 0, "no error");
    CHECK(t && strcmp(ddb_task_text(t), "1+1") == 0 && ddb_task_elapsed(t) >= 0 &&
          ddb_task_elapsed(t) < 3, "text and elapsed");
    ddb_obj *taken = ddb_task_take_result(t);
    CHECK(taken && ddb_int_at(taken, 0) == 2 && ddb_task_result(t) == NULL,
          "take_result transfers the object");
    ddb_obj_unref(taken);
    ddb_task_unref(t);
    CHECK(!strcmp(ddb_task_state_name(DDB_TASK_ABANDONED), "ABANDONED") &&
          !strcmp(ddb_pool_state_name(DDB_POOL_OPEN), "OPEN") &&
          !strcmp(ddb_conn_state_name(DDB_CONN_BACKOFF), "BACKOFF") &&
          !strcmp(ddb_task_state_name(42), "UNKNOWN") && ddb_pool_conn_count(p) == 1 &&
          ddb_task_state_is_terminal(DDB_TASK_DONE) &&
          !ddb_task_state_is_terminal(DDB_TASK_RUNNING), "names and counts");

    /* function call with serialized arguments */
    ddb_obj *args[2] = { ddb_int_new(DDB_INT, 40), ddb_int_new(DDB_INT, 2) };
    ddb_task_spec spec;
    ddb_task_spec_init(&spec);
    spec.kind = DDB_KIND_FUNCTION;
    spec.text = "add";
    spec.args = args;
    spec.nargs = 2;
    t = submit(p, &spec, DDB_OK, NULL);
    run_until(loop, task_done, t, 3000);
    CHECK(ddb_task_state(t) == DDB_TASK_DONE && task_int(t) == 42, "add(40, 2) = 42 (%s)",
          ddb_task_error(t) ? ddb_task_error(t) : "");
    ddb_task_unref(t);

    /* upload then read back on the same (only) connection, memory kept */
    ddb_obj *vals[1] = { ddb_int_new(DDB_INT, 77) };
    const char *names[1] = { "uploaded" };
    ddb_task_spec_init(&spec);
    spec.kind = DDB_KIND_UPLOAD;
    spec.text = "uploaded";
    spec.names = names;
    spec.args = vals;
    spec.nargs = 1;
    spec.clear_memory = 0;
    t = submit(p, &spec, DDB_OK, NULL);
    run_until(loop, task_done, t, 3000);
    CHECK(ddb_task_state(t) == DDB_TASK_DONE, "upload done (%s)",
          ddb_task_error(t) ? ddb_task_error(t) : "");
    ddb_task_unref(t);
    t = run_script(loop, p, "uploaded + 1", 3000);
    CHECK(task_int(t) == 78, "uploaded variable visible: %lld", task_int(t));
    ddb_task_unref(t);
    ddb_obj_unref(args[0]);
    ddb_obj_unref(args[1]);
    ddb_obj_unref(vals[0]);

    /* server error: message, script and task id all in the error */
    ddb_task_spec_init(&spec);
    spec.text = "1 +* 2";
    spec.has_id = 1;
    spec.id = 31;
    t = submit(p, &spec, DDB_OK, NULL);
    run_until(loop, task_done, t, 3000);
    const char *e = ddb_task_error(t);
    CHECK(ddb_task_state(t) == DDB_TASK_FAILED && e && strstr(e, "task 31") &&
          strstr(e, "1 +* 2") && ddb_task_server_error(t) &&
          strstr(e, ddb_task_server_error(t)), "server error reported: %s", e ? e : "");
    CHECK(ddb_task_result(t) == NULL, "no result on failure");
    ddb_task_unref(t);

    /* print output arrives as messages, in order */
    t = run_script(loop, p, "print(\"hello\"); print(\"world\"); 5", 3000);
    CHECK(task_int(t) == 5 && ddb_task_msg_count(t) == 2 &&
          strcmp(ddb_task_msg(t, 0), "hello") == 0 && strcmp(ddb_task_msg(t, 1), "world") == 0,
          "print messages (%d)", t ? ddb_task_msg_count(t) : -1);
    CHECK(ddb_task_msg(t, 2) == NULL, "message out of range");
    ddb_task_unref(t);

    /* an empty script is a legal task and completes (no sentinel games) */
    t = run_script(loop, p, "", 3000);
    CHECK(t && ddb_task_state_is_terminal(ddb_task_state(t)), "empty script completes (%s)",
          t ? ddb_task_state_name(ddb_task_state(t)) : "NULL");
    ddb_task_unref(t);

    /* clearMemory: default on: a variable made by a task is gone afterwards */
    t = run_script(loop, p, "tmpv = 5; tmpv", 3000);
    CHECK(task_int(t) == 5, "tmpv = 5");
    ddb_task_unref(t);
    t = run_script(loop, p, "tmpv", 3000);
    CHECK(ddb_task_state(t) == DDB_TASK_FAILED, "default clearMemory released tmpv");
    ddb_task_unref(t);
    ddb_task_spec_init(&spec);
    spec.text = "keepv = 6";
    spec.clear_memory = 0;
    t = submit(p, &spec, DDB_OK, NULL);
    run_until(loop, task_done, t, 3000);
    ddb_task_unref(t);
    t = run_script(loop, p, "keepv", 3000);
    CHECK(task_int(t) == 6, "clearMemory=0 kept keepv");
    ddb_task_unref(t);

    ddb_pool_stats st;
    ddb_pool_get_stats(p, &st);
    CHECK(st.done >= 8 && st.failed >= 2 && st.queued == 0 && st.running == 0,
          "stats done %lld failed %lld", (long long)st.done, (long long)st.failed);
    int before = callbacks_total;
    close_pool(loop, p);
    CHECK(callbacks_total == before, "no extra callbacks at shutdown");
    printf("ok  script, function, upload, server error, print, empty script, clearMemory\n");
}

static void test_options(void)
{
    ddb_pool_config cfg;
    test_config(&cfg, server.port, 1);
    ddb_pool *p = open_pool(loop, &cfg);
    ddb_task_spec spec;
    char err[300];
    ddb_task_spec_init(&spec);
    spec.text = "1";
    spec.priority = 9;
    submit(p, &spec, DDB_EINVAL, err);
    CHECK(strstr(err, "priority"), "priority message: %s", err);
    spec.priority = 8;
    spec.parallelism = 0;
    submit(p, &spec, DDB_EINVAL, err);
    CHECK(strstr(err, "parallelism"), "parallelism message: %s", err);
    spec.parallelism = 2;
    spec.fetch_size = 8191;      /* 0 or >= 8192 */
    submit(p, &spec, DDB_EINVAL, err);
    CHECK(strstr(err, "fetchSize"), "fetchSize message: %s", err);
    spec.fetch_size = 0;
    spec.has_id = 1;
    spec.id = -5;
    submit(p, &spec, DDB_EINVAL, err);
    CHECK(strstr(err, "id"), "negative user id: %s", err);
    spec.has_id = 0;
    spec.timeout = 1e300;           /* would overflow the uint64 milliseconds */
    submit(p, &spec, DDB_EINVAL, err);
    CHECK(strstr(err, "timeout"), "huge timeout: %s", err);
    spec.timeout = 0.0 / 0.0;
    submit(p, &spec, DDB_EINVAL, err);
    CHECK(strstr(err, "timeout"), "NaN timeout: %s", err);
    spec.timeout = 0;
    spec.kind = DDB_KIND_FUNCTION;
    spec.text = "bad\nname";
    submit(p, &spec, DDB_EINVAL, err);
    spec.kind = DDB_KIND_SCRIPT;
    spec.text = "3";
    ddb_task *t = submit(p, &spec, DDB_OK, NULL);      /* priority 8, parallelism 2 */
    run_until(loop, task_done, t, 3000);
    CHECK(task_int(t) == 3, "task with priority 8 parallelism 2 runs");
    ddb_task_unref(t);
    /* the server sees them: its job list shows this very job's priority/parallelism */
    spec.text = "getConsoleJobs()";
    spec.priority = 7;
    spec.parallelism = 3;
    t = submit(p, &spec, DDB_OK, NULL);
    run_until(loop, task_done, t, 3000);
    const ddb_obj *jobs = ddb_task_result(t);
    int seen = 0;
    for (int64_t c = 0; jobs && jobs->form == DDB_TABLE && c < jobs->cols; c++)
        for (int64_t r = 0; r < jobs->rows; r++) {
            if (!strcmp(jobs->col_names[c], "priority") && ddb_int_at(jobs->columns[c], r) == 7)
                seen |= 1;
            if (!strcmp(jobs->col_names[c], "parallelism") &&
                ddb_int_at(jobs->columns[c], r) == 3)
                seen |= 2;
        }
    CHECK(seen == 3, "server saw priority 7 and parallelism 3 (%s)",
          ddb_task_error(t) ? ddb_task_error(t) : "");
    ddb_task_unref(t);
    CHECK(ddb_pool_submit(p, NULL, NULL, err, sizeof err) == DDB_EINVAL, "NULL spec");
    close_pool(loop, p);

    ddb_pool_config bad;
    test_config(&bad, server.port, 0);
    CHECK(ddb_pool_new(loop, &bad, err, sizeof err) == NULL && strstr(err, "threadNum"),
          "threadNum 0 rejected: %s", err);
    test_config(&bad, 0, 1);
    CHECK(ddb_pool_new(loop, &bad, err, sizeof err) == NULL && strstr(err, "port"),
          "port 0 rejected: %s", err);
    double huge[] = { 1e300, 1.0 / 0.0, -1, 0.0 / 0.0 };
    for (int k = 0; k < 4; k++) {
        test_config(&bad, server.port, 1);
        if (k == 2)
            bad.shutdown_grace = huge[k];
        else
            bad.connect_timeout = huge[k];
        CHECK(ddb_pool_new(loop, &bad, err, sizeof err) == NULL && strstr(err, "timeouts"),
              "timeout %g rejected: %s", huge[k], err);
        test_config(&bad, server.port, 1);
        bad.task_timeout = huge[k];
        CHECK(ddb_pool_new(loop, &bad, err, sizeof err) == NULL && strstr(err, "timeouts"),
              "task_timeout %g rejected: %s", huge[k], err);
    }
    printf("ok  option validation (priority, parallelism, fetchSize, ids, config)\n");
}

static int both_reconnected(void *ud)
{
    ddb_conn_info ci;
    for (int i = 0; i < 2; i++)
        if (ddb_pool_conn_info(ud, i, &ci) != DDB_OK || ci.reconnects < 1 ||
            ci.state != DDB_CONN_READY)
            return 0;
    return 1;
}

static void test_login_and_initial_script(void)
{
    ddb_pool_config cfg;
    test_config(&cfg, server.port, 2);
    cfg.initial_script = "initVar = 40";
    ddb_pool *p = open_pool(loop, &cfg);
    CHECK(ddb_pool_state(p) == DDB_POOL_OPEN, "login + initial script open");
    for (int i = 0; i < 4; i++) {
        ddb_task *t = run_script(loop, p, "initVar + 2", 3000);
        CHECK(task_int(t) == 42, "initial script ran on every connection (%s)",
              ddb_task_error(t) ? ddb_task_error(t) : "");
        ddb_task_unref(t);
    }
    /* after a reconnect (cancel closes the session) login + initial script run again */
    ddb_task_spec spec;
    ddb_task_spec_init(&spec);
    spec.text = "sleep(3000); 1";
    ddb_task *slow[2];
    for (int i = 0; i < 2; i++)
        slow[i] = submit(p, &spec, DDB_OK, NULL);
    run_for(loop, 100);
    for (int i = 0; i < 2; i++) {
        CHECK(ddb_task_cancel(p, slow[i]) == DDB_OK, "cancel running %d", i);
        ddb_task_unref(slow[i]);
    }
    for (int i = 0; i < 4; i++) {
        ddb_task *t = run_script(loop, p, "initVar + 2", 3000);
        CHECK(task_int(t) == 42, "initial script re-run after reconnect (%s)",
              ddb_task_error(t) ? ddb_task_error(t) : "");
        ddb_task_unref(t);
    }
    /* The four tasks may all have run on whichever connection came back first: wait
     * for the other one to finish its own reconnect before counting. */
    CHECK(run_until(loop, both_reconnected, p, 3000), "both connections came back");
    ddb_conn_info ci;
    CHECK(ddb_pool_conn_info(p, 0, &ci) == DDB_OK && ci.reconnects == 1 &&
          ddb_pool_conn_info(p, 1, &ci) == DDB_OK && ci.reconnects == 1,
          "both connections reconnected once");
    close_pool(loop, p);

    cfg.initial_script = NULL;
    cfg.login_in_connect = 1;
    p = open_pool(loop, &cfg);
    CHECK(ddb_pool_state(p) == DDB_POOL_OPEN, "login lines in connect");
    close_pool(loop, p);

    cfg.login_in_connect = 0;
    cfg.password = "wrong";
    p = open_pool(loop, &cfg);
    const char *e = ddb_pool_error(p);
    char hp[64];
    snprintf(hp, sizeof hp, "127.0.0.1:%d", server.port);
    CHECK(ddb_pool_state(p) >= DDB_POOL_FAILED && strstr(e, hp) && strstr(e, "login"),
          "bad password: %s", e);
    close_pool(loop, p);
    printf("ok  login (function and connect lines), initial script, bad password\n");
}

/* compress = 1 sets flag 64: ddbmini answers with compressed table columns, which
 * must decode to the same table as the plain answer. */
static void test_compress(void)
{
    const char *script = "table(1..5000 as a, take(`x`y`z, 5000) as b, 0.5 * (1..5000) as c)";
    ddb_task *res[2];
    for (int comp = 0; comp < 2; comp++) {
        ddb_pool_config cfg;
        test_config(&cfg, server.port, 1);
        cfg.compress = comp;
        ddb_pool *p = open_pool(loop, &cfg);
        res[comp] = run_script(loop, p, script, 5000);
        close_pool(loop, p);
    }
    const ddb_obj *plain = ddb_task_result(res[0]), *packed = ddb_task_result(res[1]);
    CHECK(plain && packed && plain->form == DDB_TABLE && plain->rows == 5000 &&
          ddb_obj_equal(plain, packed), "compressed reply decodes to the same table (%s)",
          ddb_task_error(res[1]) ? ddb_task_error(res[1]) : "");
    ddb_task_unref(res[0]);
    ddb_task_unref(res[1]);
    /* a result bigger than max_result_bytes is refused, the pool goes on */
    ddb_pool_config cfg;
    test_config(&cfg, server.port, 1);
    cfg.max_result_bytes = 4096;
    ddb_pool *p = open_pool(loop, &cfg);
    ddb_task *big = run_script(loop, p, "1..100000", 5000);
    const char *e = ddb_task_error(big);
    CHECK(ddb_task_state(big) == DDB_TASK_FAILED && e && strstr(e, "protocol error"),
          "oversized result rejected: %s", e ? e : "(none)");
    ddb_task_unref(big);
    ddb_task *small = run_script(loop, p, "1..10", 5000);
    CHECK(ddb_task_state(small) == DDB_TASK_DONE && ddb_task_result(small)->rows == 10,
          "small result after the refusal");
    ddb_task_unref(small);
    close_pool(loop, p);
    printf("ok  compress flag: a 5000-row table arrives identical; max_result_bytes\n");
}

typedef struct many { ddb_task *t[8]; int n; } many;

static int all_done(void *ud)
{
    many *m = ud;
    for (int i = 0; i < m->n; i++)
        if (!task_done(m->t[i]))
            return 0;
    return 1;
}

static double run_sleeps(ddb_pool *p, int n, const char *script)
{
    many m = { .n = n };
    double t0 = now_sec();
    for (int i = 0; i < n; i++) {
        ddb_task_spec spec;
        ddb_task_spec_init(&spec);
        spec.text = script;
        m.t[i] = submit(p, &spec, DDB_OK, NULL);
    }
    run_until(loop, all_done, &m, 10000);
    double el = now_sec() - t0;
    for (int i = 0; i < n; i++) {
        CHECK(ddb_task_state(m.t[i]) == DDB_TASK_DONE && task_int(m.t[i]) == 2,
              "sleep task %d", i);
        ddb_task_unref(m.t[i]);
    }
    return el;
}

static void test_concurrency_timing(void)
{
    ddb_pool_config cfg;
    test_config(&cfg, server.port, 4);
    ddb_pool *p = open_pool(loop, &cfg);
    double four = run_sleeps(p, 4, "sleep(1000); 1+1");
    CHECK(four > 0.95 && four < 1.6, "four sleep(1000) on 4 connections: %.3f s", four);
    double eight = run_sleeps(p, 8, "sleep(1000); 1+1");
    CHECK(eight > 1.95 && eight < 2.8, "eight sleep(1000) on 4 connections: %.3f s", eight);
    close_pool(loop, p);
    printf("ok  4 x sleep(1000) on 4 connections %.2f s, 8 x on 4 %.2f s\n", four, eight);
}

static void test_callbacks_exactly_once(void)
{
    ddb_pool_config cfg;
    test_config(&cfg, server.port, 3);
    cfg.on_complete = count_cb;
    ddb_pool *p = open_pool(loop, &cfg);
    enum { N = 300 };
    static cb_count counts[N];
    ddb_task *tasks[N];
    for (int i = 0; i < N; i++) {
        ddb_task_spec spec;
        ddb_task_spec_init(&spec);
        spec.text = i % 7 == 0 ? "undefinedThing" : i % 5 == 0 ? "sleep(20); 1" : "1+1";
        spec.ud = &counts[i];
        spec.timeout = i % 11 == 0 ? 0.001 : 0;
        tasks[i] = submit(p, &spec, DDB_OK, NULL);
    }
    /* cancel some, shut down with the rest in flight */
    for (int i = 0; i < N; i += 13)
        ddb_task_cancel(p, tasks[i]);
    run_for(loop, 30);
    close_pool(loop, p);
    int ok = 1;
    for (int i = 0; i < N; i++) {
        if (counts[i].calls != 1 || !ddb_task_state_is_terminal(ddb_task_state(tasks[i])) ||
            counts[i].state != ddb_task_state(tasks[i]))
            ok = 0;
        ddb_task_unref(tasks[i]);
    }
    CHECK(ok, "every one of %d tasks: one callback, terminal state", N);
    printf("ok  %d mixed tasks (errors, timeouts, cancels, shutdown): one callback each\n", N);
}

/* ddb_pool_free on a live pool: it shuts down, calls no more callbacks, and frees
 * itself from the last close callback; the loop ends with nothing left open. */
static void test_free_while_open(void)
{
    uv_loop_t own;
    uv_loop_init(&own);
    ddb_pool_config cfg;
    test_config(&cfg, server.port, 2);
    cfg.on_complete = count_cb;
    ddb_pool *p = open_pool(&own, &cfg);
    static cb_count counts[6];
    ddb_task *t[6];
    for (int i = 0; i < 6; i++) {
        ddb_task_spec spec;
        ddb_task_spec_init(&spec);
        spec.text = "sleep(2000); 1";
        spec.ud = &counts[i];
        t[i] = submit(p, &spec, DDB_OK, NULL);
    }
    run_for(&own, 50);
    double t0 = now_sec();
    ddb_pool_free(p);
    uv_run(&own, UV_RUN_DEFAULT);           /* returns once every handle is closed */
    int abandoned = 0, calls = 0;
    for (int i = 0; i < 6; i++) {
        abandoned += ddb_task_state(t[i]) == DDB_TASK_ABANDONED;
        calls += counts[i].calls;
        ddb_task_unref(t[i]);
    }
    CHECK(abandoned == 6 && calls == 0 && now_sec() - t0 < 1.0,
          "free while open: %d abandoned, %d callbacks, %.2f s", abandoned, calls,
          now_sec() - t0);
    CHECK(uv_loop_close(&own) == 0, "no handle left on the loop");
    printf("ok  ddb_pool_free on an open pool: tasks abandoned, no callbacks, loop empty\n");
}

/* The state hook reports each change once, in order, without polling: a good open
 * (OPEN, SHUTDOWN, CLOSED) and a refused login (FAILED, CLOSED: a failed open shuts
 * the pool down by itself, so no SHUTDOWN of its own). */
typedef struct state_log { int states[8]; int n; } state_log;

static void log_state(ddb_pool *p, int state, void *ud)
{
    state_log *log = ud;
    CHECK(ddb_pool_state(p) == state, "the hook sees the new state");
    if (log->n < 8)
        log->states[log->n] = state;
    log->n++;
}

static int logged(void *ud)
{
    const state_log *log = ud;
    return log->n > 0 && log->states[log->n - 1] == DDB_POOL_CLOSED;
}

static int opened(void *ud)
{
    return ((state_log *)ud)->n > 0;
}

static void test_state_hook(void)
{
    for (int bad = 0; bad < 2; bad++) {
        ddb_pool_config cfg;
        test_config(&cfg, server.port, 2);
        if (bad)
            cfg.password = "wrong";
        char err[300];
        ddb_pool *p = ddb_pool_new(loop, &cfg, err, sizeof err);
        CHECK(p != NULL, "pool created: %s", err);
        state_log log = { .n = 0 };
        ddb_pool_on_state(p, log_state, &log);
        CHECK(run_until(loop, opened, &log, 5000), "the open is reported");
        /* a failed open may be CLOSED within the same iteration already */
        CHECK(log.states[0] == (bad ? DDB_POOL_FAILED : DDB_POOL_OPEN) && (bad || log.n == 1),
              "%s open reported first (%d calls)", bad ? "a failed" : "an", log.n);
        ddb_pool_shutdown(p);
        CHECK(run_until(loop, logged, &log, 5000), "the close is reported");
        int want_good[] = { DDB_POOL_OPEN, DDB_POOL_SHUTDOWN, DDB_POOL_CLOSED };
        int want_bad[] = { DDB_POOL_FAILED, DDB_POOL_CLOSED };
        const int *want = bad ? want_bad : want_good;
        int nwant = bad ? 2 : 3;
        int same = log.n == nwant;
        for (int i = 0; same && i < nwant; i++)
            same = log.states[i] == want[i];
        CHECK(same, "%s: states reported in order, each once (%d calls)",
              bad ? "failed open" : "good open", log.n);
        ddb_pool_free(p);
    }
    printf("ok  state hook: open, failed open, shutdown, closed\n");
}

int main(void)
{
    if (ddbmini_start(&server, 0, NULL)) {
        printf("FAIL cannot start ddbmini\n");
        return 1;
    }
    loop = uv_default_loop();
    test_open_and_sessions();
    test_kinds_and_results();
    test_options();
    test_login_and_initial_script();
    test_state_hook();
    test_compress();
    test_concurrency_timing();
    test_callbacks_exactly_once();
    test_free_while_open();
    ddbmini_stop(&server);
    CHECK(uv_loop_close(loop) == 0, "every handle closed (uv_loop_close)");
    printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
