/* test_pool_faults.c — terminal states under stress and faults: timeouts (running,
 * queued, stalled server), cancel (queued, running), id reuse, bounded queue,
 * shutdown with 10 000 queued + 8 running, open failure, a server that drops the
 * connection mid-response or sends garbage, ddbmini killed and restarted, and a
 * pool without reconnect whose only node died. */
#include "pool_support.h"

#include <stdlib.h>
#include <string.h>

static ddbmini_proc server;
static uv_loop_t *loop;

static ddb_task *submit_spec(ddb_pool *p, const char *script, int has_id, int64_t id,
                             double timeout)
{
    ddb_task_spec spec;
    ddb_task_spec_init(&spec);
    spec.text = script;
    spec.has_id = has_id;
    spec.id = id;
    spec.timeout = timeout;
    ddb_task *t = NULL;
    char err[300];
    int rc = ddb_pool_submit(p, &spec, &t, err, sizeof err);
    CHECK(rc == DDB_OK, "submit '%s': %s", script, err);
    return t;
}

static void test_timeouts(void)
{
    ddb_pool_config cfg;
    test_config(&cfg, server.port, 1);
    ddb_pool *p = open_pool(loop, &cfg);
    double t0 = now_sec();
    ddb_task *slow = submit_spec(p, "sleep(3000); 1", 0, 0, 0.3);
    ddb_task *queued = submit_spec(p, "2", 0, 0, 0.1);
    run_until(loop, task_done, queued, 3000);
    CHECK(ddb_task_state(queued) == DDB_TASK_FAILED && strstr(task_err(queued), "while queued"),
          "queued task timed out: %s", task_err(queued));
    run_until(loop, task_done, slow, 3000);
    double el = now_sec() - t0;
    CHECK(ddb_task_state(slow) == DDB_TASK_FAILED && strstr(task_err(slow), "timed out") &&
          el < 1.0, "running task timed out after %.2f s: %s", el, task_err(slow));
    ddb_task_unref(slow);
    ddb_task_unref(queued);
    ddb_task *after = run_script(loop, p, "1+1", 3000);
    CHECK(task_int(after) == 2, "connection recycled and usable after a timeout");
    ddb_task_unref(after);
    ddb_conn_info ci;
    ddb_pool_conn_info(p, 0, &ci);
    CHECK(ci.reconnects >= 1, "timed-out connection was reopened (%lld)",
          (long long)ci.reconnects);

    /* pool-wide default timeout, and a task opting out with a negative timeout */
    close_pool(loop, p);
    cfg.task_timeout = 0.2;
    p = open_pool(loop, &cfg);
    ddb_task *a = run_script(loop, p, "sleep(1000); 1", 3000);
    CHECK(ddb_task_state(a) == DDB_TASK_FAILED && strstr(task_err(a), "timed out"),
          "pool default timeout applies: %s", task_err(a));
    ddb_task *b = submit_spec(p, "sleep(400); 7", 0, 0, -1);
    run_until(loop, task_done, b, 3000);
    CHECK(task_int(b) == 7, "timeout -1 disables the pool default (%s)", task_err(b));
    ddb_task_unref(a);
    ddb_task_unref(b);
    close_pool(loop, p);
    printf("ok  timeouts: running (connection recycled), queued, pool default, opt-out\n");
}

static void test_cancel(void)
{
    ddb_pool_config cfg;
    test_config(&cfg, server.port, 1);
    ddb_pool *p = open_pool(loop, &cfg);
    char sid_before[32];
    snprintf(sid_before, sizeof sid_before, "%s", ddb_pool_session_id(p, 0));
    ddb_task *running = submit_spec(p, "sleep(5000); 1", 0, 0, 0);
    ddb_task *queued = submit_spec(p, "2", 0, 0, 0);
    run_for(loop, 100);
    CHECK(ddb_task_state(running) == DDB_TASK_RUNNING, "first task running");
    CHECK(ddb_task_cancel(p, queued) == DDB_OK && ddb_task_state(queued) == DDB_TASK_CANCELLED,
          "cancel a queued task");
    double t0 = now_sec();
    CHECK(ddb_task_cancel(p, running) == DDB_OK &&
          ddb_task_state(running) == DDB_TASK_CANCELLED, "cancel a running task");
    CHECK(ddb_task_cancel(p, running) == DDB_ESTATE, "second cancel: ESTATE");
    ddb_task *next = run_script(loop, p, "3", 3000);
    CHECK(task_int(next) == 3 && now_sec() - t0 < 1.0,
          "connection reopened at once after cancel (%.2f s)", now_sec() - t0);
    CHECK(strcmp(sid_before, ddb_pool_session_id(p, 0)) != 0, "new session after cancel");
    CHECK(strstr(task_err(running), "cancelled while running"), "%s", task_err(running));
    ddb_task_unref(running);
    ddb_task_unref(queued);
    ddb_task_unref(next);
    ddb_pool_stats st;
    ddb_pool_get_stats(p, &st);
    CHECK(st.cancelled == 2, "stats: 2 cancelled");
    close_pool(loop, p);
    printf("ok  cancel: queued, running (session replaced), twice -> ESTATE\n");
}

static void test_id_reuse(void)
{
    ddb_pool_config cfg;
    test_config(&cfg, server.port, 1);
    ddb_pool *p = open_pool(loop, &cfg);
    /* a queued task replaced by a same-id task is cancelled at once */
    ddb_task *blocker = submit_spec(p, "sleep(300); 0", 0, 0, 0);
    ddb_task *old = submit_spec(p, "1", 1, 7, 0);
    ddb_task *neu = submit_spec(p, "2", 1, 7, 0);
    CHECK(ddb_task_state(old) == DDB_TASK_CANCELLED && strstr(task_err(old), "replaced"),
          "queued same-id task replaced: %s", task_err(old));
    ddb_task *found = ddb_pool_find(p, 7);
    CHECK(found == neu, "id 7 names the new task");
    ddb_task_unref(found);
    run_until(loop, task_done, neu, 3000);
    CHECK(task_int(neu) == 2 && ddb_task_id(neu) == 7 && ddb_task_has_user_id(neu),
          "new id-7 task result");
    /* a running task replaced: it finishes, its result is discarded */
    ddb_task *run1 = submit_spec(p, "sleep(200); 10", 1, 12, 0);
    run_for(loop, 50);
    ddb_task *run2 = submit_spec(p, "20", 1, 12, 0);
    run_until(loop, task_done, run2, 3000);
    CHECK(ddb_task_state(run1) == DDB_TASK_CANCELLED && ddb_task_result(run1) == NULL &&
          strstr(task_err(run1), "replaced"), "running same-id task's result discarded: %s",
          task_err(run1));
    CHECK(task_int(run2) == 20, "replacement result");
    /* a finished task replaced: the id simply moves on */
    ddb_task *run3 = submit_spec(p, "30", 1, 12, 0);
    run_until(loop, task_done, run3, 3000);
    found = ddb_pool_find(p, 12);
    CHECK(found == run3 && task_int(run2) == 20, "finished task keeps its own result");
    ddb_task_unref(found);
    CHECK(ddb_pool_forget(p, 12) == DDB_OK && ddb_pool_find(p, 12) == NULL &&
          ddb_pool_forget(p, 12) == DDB_ENOTFOUND, "forget then unknown");
    ddb_task *tasks[] = { blocker, old, neu, run1, run2, run3 };
    for (int i = 0; i < 6; i++)
        ddb_task_unref(tasks[i]);
    close_pool(loop, p);
    printf("ok  id reuse: queued cancelled, running discarded, finished moved; find/forget\n");
}

static void test_queue_limit(void)
{
    ddb_pool_config cfg;
    test_config(&cfg, server.port, 1);
    cfg.queue_limit = 2;
    ddb_pool *p = open_pool(loop, &cfg);
    ddb_task *t[3];
    t[0] = submit_spec(p, "sleep(200); 1", 0, 0, 0);
    t[1] = submit_spec(p, "2", 0, 0, 0);
    t[2] = submit_spec(p, "3", 0, 0, 0);
    ddb_task_spec spec;
    ddb_task_spec_init(&spec);
    spec.text = "4";
    char err[300];
    ddb_task *x = NULL;
    CHECK(ddb_pool_submit(p, &spec, &x, err, sizeof err) == DDB_EFULL && !x &&
          strstr(err, "full"), "bounded queue full: %s", err);
    for (int i = 0; i < 3; i++) {
        run_until(loop, task_done, t[i], 3000);
        CHECK(task_int(t[i]) == i + 1, "queued task %d ran", i);
        ddb_task_unref(t[i]);
    }
    close_pool(loop, p);
    printf("ok  bounded queue: DDB_EFULL when full, queued tasks still run\n");
}

static int count_state(ddb_task **t, int n, int state)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += ddb_task_state(t[i]) == state;
    return k;
}

static void test_shutdown_big(void)
{
    enum { QUEUED = 10000, RUNNING = 8, N = QUEUED + RUNNING };
    ddb_pool_config cfg;
    test_config(&cfg, server.port, RUNNING);
    ddb_pool *p = open_pool(loop, &cfg);
    ddb_task **t = malloc(N * sizeof *t);
    for (int i = 0; i < N; i++)
        t[i] = submit_spec(p, "sleep(5000); 1", 0, 0, 0);
    run_for(loop, 100);
    ddb_pool_stats st;
    ddb_pool_get_stats(p, &st);
    CHECK(st.running == RUNNING && st.queued == QUEUED, "8 running, 10000 queued (%lld, %lld)",
          (long long)st.running, (long long)st.queued);
    double t0 = now_sec();
    ddb_pool_shutdown(p);
    ddb_pool_shutdown(p);                   /* idempotent */
    char err[300];
    ddb_task_spec spec;
    ddb_task_spec_init(&spec);
    spec.text = "1";
    CHECK(ddb_pool_submit(p, &spec, NULL, err, sizeof err) == DDB_ESHUTDOWN &&
          strstr(err, "shut down"), "submit after shutdown: %s", err);
    close_pool(loop, p);
    double el = now_sec() - t0;
    CHECK(count_state(t, N, DDB_TASK_ABANDONED) == N, "all %d tasks ABANDONED (%d)", N,
          count_state(t, N, DDB_TASK_ABANDONED));
    CHECK(strstr(task_err(t[N - 1]), "pool is shut down"), "%s", task_err(t[N - 1]));
    CHECK(el < 2.0, "shutdown took %.2f s", el);
    for (int i = 0; i < N; i++)
        ddb_task_unref(t[i]);
    free(t);

    /* with a grace period running tasks may finish */
    cfg.thread_num = 2;
    cfg.shutdown_grace = 2;
    p = open_pool(loop, &cfg);
    ddb_task *g[4];
    for (int i = 0; i < 4; i++)
        g[i] = submit_spec(p, "sleep(300); 5", 0, 0, 0);
    run_for(loop, 50);
    close_pool(loop, p);
    CHECK(count_state(g, 4, DDB_TASK_DONE) == 2 && count_state(g, 4, DDB_TASK_ABANDONED) == 2,
          "grace: 2 running finished, 2 queued abandoned");
    for (int i = 0; i < 4; i++)
        ddb_task_unref(g[i]);
    printf("ok  shutdown: 10000 queued + 8 running all ABANDONED in %.2f s; grace lets running "
           "finish\n", el);
}

static void test_open_failure(void)
{
    ddbmini_proc gone;
    if (ddbmini_start(&gone, 0, NULL))
        return;
    int port = gone.port;
    ddbmini_stop(&gone);                    /* nobody listens there now */
    ddb_pool_config cfg;
    test_config(&cfg, port, 3);
    char err[300];
    ddb_pool *p = ddb_pool_new(loop, &cfg, err, sizeof err);
    ddb_task *early = submit_spec(p, "1", 0, 0, 0);
    run_until(loop, task_done, early, 5000);
    char hp[64];
    snprintf(hp, sizeof hp, "127.0.0.1:%d", port);
    CHECK(ddb_pool_state(p) >= DDB_POOL_FAILED && strstr(ddb_pool_error(p), hp),
          "open failure names host:port: %s", ddb_pool_error(p));
    CHECK(ddb_task_state(early) == DDB_TASK_FAILED && strstr(task_err(early), hp),
          "task submitted while opening fails: %s", task_err(early));
    ddb_task_unref(early);
    close_pool(loop, p);
    printf("ok  open failure: clear error naming %s; queued task failed\n", hp);
}

/* Connection 0 came back after a restart (the task that waited may have run on the
 * other connection before connection 0's next attempt). */
static int conn0_reconnected(void *p)
{
    ddb_conn_info ci;
    return ddb_pool_conn_info(p, 0, &ci) == 0 && ci.reconnects >= 1 && ci.state == DDB_CONN_READY;
}

static int all_ready(void *p)
{
    ddb_pool_stats st;
    ddb_pool_get_stats(p, &st);
    return st.conns_ready == st.conns;
}

/* Fault switches hit the next response of ANY session, handshakes included, so arm
 * them only when every connection is idle. */
static ddb_task *arm(ddb_pool *p, const char *fault)
{
    CHECK(run_until(loop, all_ready, p, 3000), "all connections READY before %s", fault);
    ddb_task *t = run_script(loop, p, fault, 3000);
    CHECK(t && ddb_task_state(t) == DDB_TASK_DONE, "arm %s: %s", fault, task_err(t));
    return t;
}

static void test_server_faults(void)
{
    ddb_pool_config cfg;
    test_config(&cfg, server.port, 2);
    ddb_pool *p = open_pool(loop, &cfg);
    char hp[64];
    snprintf(hp, sizeof hp, "127.0.0.1:%d", server.port);

    /* drop mid-response: the task that got it fails clearly, the other is unharmed */
    ddb_task_unref(arm(p, "faultDropAfter(5)"));
    ddb_task *hit = submit_spec(p, "sleep(100); 1+1", 0, 0, 0);
    ddb_task *other = submit_spec(p, "sleep(400); 2+2", 0, 0, 0);
    run_until(loop, task_done, other, 3000);
    run_until(loop, task_done, hit, 3000);
    CHECK(ddb_task_state(hit) == DDB_TASK_FAILED && strstr(task_err(hit), "connection lost") &&
          strstr(task_err(hit), hp), "dropped mid-response: %s", task_err(hit));
    CHECK(task_int(other) == 4, "the other task is unharmed (%s)", task_err(other));
    ddb_task_unref(hit);
    ddb_task_unref(other);

    /* stall (60 s; "faultStall(-1)" as a script stalls its own reply in this ddbmini):
     * the task timeout ends it, the pool goes on */
    ddb_task_unref(arm(p, "faultStall(60000)"));
    ddb_task *stalled = submit_spec(p, "1", 0, 0, 0.5);
    run_until(loop, task_done, stalled, 3000);
    CHECK(ddb_task_state(stalled) == DDB_TASK_FAILED && strstr(task_err(stalled), "timed out"),
          "stalled server hits the task timeout: %s", task_err(stalled));
    ddb_task_unref(stalled);

    /* garbage instead of a response: protocol error, connection replaced */
    ddb_task_unref(arm(p, "faultGarbage(64)"));
    ddb_task *junk = run_script(loop, p, "1", 3000);
    CHECK(ddb_task_state(junk) == DDB_TASK_FAILED &&
          (strstr(task_err(junk), "protocol error") || strstr(task_err(junk), "connection lost")),
          "garbage response: %s", task_err(junk));
    ddb_task_unref(junk);

    for (int i = 0; i < 4; i++) {
        ddb_task *ok = run_script(loop, p, "6*7", 3000);
        CHECK(task_int(ok) == 42, "pool healthy after faults (%s)", task_err(ok));
        ddb_task_unref(ok);
    }
    close_pool(loop, p);
    printf("ok  server faults: drop mid-response, stall + timeout, garbage; pool recovers\n");
}

/* A broken connection that cannot come back must not swallow tasks; everything runs
 * on the healthy one (docs/DESIGN.md "Pool semantics", no task sink). */
static void test_no_task_sink(void)
{
    ddb_pool_config cfg;
    test_config(&cfg, server.port, 2);
    ddb_pool *p = open_pool(loop, &cfg);
    ddb_task_unref(arm(p, "faultRefuse(true)"));       /* new connections die at once */
    ddb_task_unref(arm(p, "faultDropAfter(5)"));
    ddb_task *victim = run_script(loop, p, "1", 3000);
    CHECK(ddb_task_state(victim) == DDB_TASK_FAILED, "the dropped task fails (%s)",
          task_err(victim));
    int broken = ddb_task_conn_index(victim);
    ddb_task_unref(victim);
    int ok = 0, on_broken = 0;
    for (int i = 0; i < 20; i++) {
        ddb_task *t = run_script(loop, p, "2+3", 3000);
        ok += task_int(t) == 5;
        on_broken += ddb_task_conn_index(t) == broken;
        ddb_task_unref(t);
    }
    ddb_conn_info ci;
    ddb_pool_conn_info(p, broken, &ci);
    CHECK(ok == 20 && on_broken == 0 && ci.state != DDB_CONN_READY,
          "20 tasks all ran on the healthy connection (ok %d, on broken %d, broken is %s: %s)",
          ok, on_broken, ddb_conn_state_name(ci.state), ci.last_error);
    ddb_task *reset = run_script(loop, p, "faultReset()", 3000);
    ddb_task_unref(reset);
    ddb_pool_stats st;
    for (int i = 0; i < 60; i++) {         /* back-off is capped at 2 s */
        run_for(loop, 100);
        ddb_pool_get_stats(p, &st);
        if (st.conns_ready == 2)
            break;
    }
    CHECK(st.conns_ready == 2, "the broken connection came back after the fault cleared");
    close_pool(loop, p);
    printf("ok  a connection that cannot reconnect takes no task; it rejoins later\n");
}

/* The event log (ddb_pool_config.on_log): every line, "level: line\n", appended. */
static char log_text[16384];
static void record_log(ddb_pool *p, int level, const char *msg, void *ud)
{
    (void)p;
    (void)ud;
    size_t n = strlen(log_text);
    snprintf(log_text + n, sizeof log_text - n, "%s: %s\n", ddb_log_level_name(level), msg);
}

static void test_kill_and_restart(void)
{
    ddbmini_proc srv;
    if (ddbmini_start(&srv, 0, NULL)) {
        CHECK(0, "start a private ddbmini");
        return;
    }
    int port = srv.port;
    ddb_pool_config cfg;
    test_config(&cfg, port, 2);
    cfg.on_log = record_log;
    cfg.log_level = DDB_LOG_INFO;
    log_text[0] = 0;
    ddb_pool *p = open_pool(loop, &cfg);
    char sid[32];
    snprintf(sid, sizeof sid, "%s", ddb_pool_session_id(p, 0));
    ddb_task *inflight = submit_spec(p, "sleep(5000); 1", 0, 0, 0);
    run_for(loop, 100);
    ddbmini_kill(&srv);
    run_until(loop, task_done, inflight, 3000);
    CHECK(ddb_task_state(inflight) == DDB_TASK_FAILED &&
          strstr(task_err(inflight), "connection lost"), "running task when the server died: %s",
          task_err(inflight));
    ddb_task *later = submit_spec(p, "1+2", 0, 0, 10);
    run_for(loop, 400);                     /* reconnect attempts fail meanwhile */
    CHECK(ddb_task_state(later) == DDB_TASK_QUEUED, "task waits while no connection is READY");
    ddbmini_proc again;
    CHECK(ddbmini_start(&again, port, NULL) == 0, "restart ddbmini on port %d", port);
    run_until(loop, task_done, later, 8000);
    CHECK(task_int(later) == 3, "task ran after the restart (%s)", task_err(later));
    run_until(loop, conn0_reconnected, p, 5000);
    ddb_conn_info ci;
    ddb_pool_conn_info(p, 0, &ci);
    CHECK(ci.reconnects >= 1 && strcmp(sid, ci.session_id) != 0,
          "reconnected with a new session (%lld)", (long long)ci.reconnects);
    char want[3][80];
    snprintf(want[0], sizeof want[0], "info: connection 0 open on 127.0.0.1:%d", port);
    snprintf(want[1], sizeof want[1], "warn: connection 0 lost: 127.0.0.1:%d", port);
    snprintf(want[2], sizeof want[2], "info: connection 0 reconnected to 127.0.0.1:%d", port);
    for (int i = 0; i < 3; i++)
        CHECK(strstr(log_text, want[i]) != NULL, "event log has '%s':\n%s", want[i], log_text);
    CHECK(strstr(log_text, "123456") == NULL, "no password in the event log");
    ddb_pool_on_log(p, NULL, NULL, DDB_LOG_OFF);
    ddb_task_unref(inflight);
    ddb_task_unref(later);
    close_pool(loop, p);

    /* without reconnect: the dead connection takes no task; queued work fails */
    cfg.reconnect = 0;
    cfg.thread_num = 1;
    p = open_pool(loop, &cfg);
    ddbmini_kill(&again);
    run_for(loop, 200);
    ddb_task *none = submit_spec(p, "1", 0, 0, 0);
    run_until(loop, task_done, none, 5000);
    CHECK(ddb_task_state(none) == DDB_TASK_FAILED && strstr(task_err(none), "no live connection"),
          "no live connection: %s", task_err(none));
    CHECK(strstr(log_text, "error: 1 queued task(s) failed: no live connection") != NULL,
          "event log reports the failed queue:\n%s", log_text);
    ddb_task_unref(none);
    close_pool(loop, p);
    printf("ok  ddbmini killed: running task fails clearly, queued one runs after restart; "
           "no-reconnect pool fails fast\n");
}

int main(void)
{
    if (ddbmini_start(&server, 0, NULL)) {
        printf("FAIL cannot start ddbmini\n");
        return 1;
    }
    loop = uv_default_loop();
    test_timeouts();
    test_cancel();
    test_id_reuse();
    test_queue_limit();
    test_shutdown_big();
    test_open_failure();
    test_server_faults();
    test_no_task_sink();
    test_kill_and_restart();
    ddbmini_stop(&server);
    CHECK(uv_loop_close(loop) == 0, "every handle closed (uv_loop_close)");
    printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
