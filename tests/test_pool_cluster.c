/* test_pool_cluster.c — the pool's cluster-facing extras at the C level, under
 * valgrind too (deadlines are generous): the event log hook, a running task's job
 * cancelled on the server after cancel_on_server, and load_balance without sites
 * discovering a pretend cluster (one live node, one that refuses connections). */
#include "pool_support.h"

#include <stdlib.h>
#include <string.h>

static uv_loop_t *loop;

static char log_text[32768];
static void record_log(ddb_pool *p, int level, const char *msg, void *ud)
{
    (void)p;
    (void)ud;
    size_t n = strlen(log_text);
    snprintf(log_text + n, sizeof log_text - n, "%s: %s\n", ddb_log_level_name(level), msg);
}

static long long jobs_of(ddb_pool *watcher, const char *session)
{
    char script[160];
    snprintf(script, sizeof script,
             "size(exec rootJobId from getConsoleJobs() where sessionId = %s)", session);
    ddb_task *t = run_script(loop, watcher, script, 20000);
    long long n = t ? task_int(t) : -1;
    ddb_task_unref(t);
    return n;
}

/* cancel_on_server (the default): the reconnected connection cancels the job. */
static void test_server_cancel(int port)
{
    ddb_pool_config cfg;
    test_config(&cfg, port, 1);
    cfg.connect_timeout = 30;       /* valgrind on a loaded machine: the login is slow */
    cfg.on_log = record_log;
    cfg.log_level = DDB_LOG_INFO;
    log_text[0] = 0;
    ddb_pool *p = open_pool(loop, &cfg), *watcher = open_pool(loop, &cfg);
    char session[32];
    snprintf(session, sizeof session, "%s", ddb_pool_session_id(p, 0));
    ddb_task_spec spec;
    ddb_task_spec_init(&spec);
    spec.text = "sleep(30000); 1";
    ddb_task *t = NULL;
    char err[200];
    if (ddb_pool_submit(p, &spec, &t, err, sizeof err) != DDB_OK) {
        CHECK(0, "submit: %s", err);
        close_pool(loop, p);
        close_pool(loop, watcher);
        return;
    }
    long long before = 0;
    for (int i = 0; i < 100 && before == 0; i++)
        before = jobs_of(watcher, session);
    CHECK(before == 1, "the job runs on the server (%lld)", before);
    CHECK(ddb_task_cancel(p, t) == DDB_OK, "cancel the running task");
    double t0 = now_sec();
    long long left = 1;
    while (left != 0 && now_sec() - t0 < 20)
        left = jobs_of(watcher, session);
    CHECK(left == 0, "the server job is gone (%lld left)", left);
    ddb_task *after = run_script(loop, p, "1 + 2", 20000);
    CHECK(task_int(after) == 3, "the connection serves again");
    char want[120];
    snprintf(want, sizeof want, "info: connection 0: cancelled 1 job(s) of the abandoned "
             "session %s", session);
    CHECK(strstr(log_text, want) != NULL, "the log says so:\n%s", log_text);
    ddb_task_unref(after);
    ddb_task_unref(t);
    close_pool(loop, p);
    close_pool(loop, watcher);
    printf("ok  a cancelled running task's job is cancelled on the server\n");
}

static int all_ready_on(void *ud)
{
    ddb_pool *p = ud;
    for (int i = 0; i < ddb_pool_conn_count(p); i++) {
        ddb_conn_info ci;
        ddb_pool_conn_info(p, i, &ci);
        if (ci.state != DDB_CONN_READY)
            return 0;
    }
    return 1;
}

/* load_balance without sites: node b is listed but refuses connections, so the
 * connections assigned to it move to a, the node holding fewest. */
static void test_discovery(int port)
{
    ddb_pool_config cfg;
    test_config(&cfg, port, 4);
    cfg.connect_timeout = 30;
    cfg.load_balance = 1;
    cfg.reconnect_delay = 0.02;
    cfg.on_log = record_log;
    cfg.log_level = DDB_LOG_DEBUG;
    log_text[0] = 0;
    ddb_pool *p = open_pool(loop, &cfg);
    CHECK(run_until(loop, all_ready_on, p, 30000), "every connection up");
    for (int i = 0; i < ddb_pool_conn_count(p); i++) {
        ddb_conn_info ci;
        ddb_pool_conn_info(p, i, &ci);
        CHECK(ci.port == port, "connection %d on the live node (port %d)", i, ci.port);
    }
    CHECK(strstr(log_text, "info: load balancing over 2 node(s)") != NULL,
          "the cluster's two nodes were read:\n%s", log_text);
    CHECK(strstr(log_text, "127.0.0.1:1: connect failed") != NULL,
          "connections were sent to node b and failed:\n%s", log_text);
    ddb_task *t = run_script(loop, p, "getNodeAlias()", 20000);
    CHECK(t && ddb_task_state(t) == DDB_TASK_DONE, "a task runs");
    ddb_task_unref(t);
    close_pool(loop, p);
    printf("ok  load_balance discovers the cluster and leaves a dead node\n");
}

int main(void)
{
    ddbmini_proc server;
    const char *const cluster[] = { "--cluster", "self:a,127.0.0.1:1:b", NULL };
    if (ddbmini_start(&server, 0, cluster)) {
        printf("FAIL cannot start ddbmini\n");
        return 1;
    }
    loop = uv_default_loop();
    test_server_cancel(server.port);
    test_discovery(server.port);
    ddbmini_stop(&server);
    CHECK(uv_loop_close(loop) == 0, "every handle closed (uv_loop_close)");
    printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
