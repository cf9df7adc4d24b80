/* test_pool_ha.c — high availability and load balance against several ddbmini
 * instances: connections spread round-robin over sites, failover when a node dies
 * (a running task is resent elsewhere), <NotLeader> redirects during the handshake
 * and for a task, and the negated seqNo that lets a server answer a resend from its
 * cache instead of running the request twice. */
#include "pool_support.h"

#include <stdlib.h>
#include <string.h>

static uv_loop_t *loop;

static int conns_on(ddb_pool *p, int port)
{
    int k = 0;
    for (int i = 0; i < ddb_pool_conn_count(p); i++) {
        ddb_conn_info ci;
        ddb_pool_conn_info(p, i, &ci);
        k += ci.port == port && ci.state == DDB_CONN_READY;
    }
    return k;
}

typedef struct on_port { ddb_pool *p; int port, want; } on_port;

static int enough_on(void *ud)
{
    on_port *o = ud;
    return conns_on(o->p, o->port) >= o->want;
}

static void test_spread_and_failover(void)
{
    ddbmini_proc a, b;
    if (ddbmini_start(&a, 0, NULL) || ddbmini_start(&b, 0, NULL)) {
        CHECK(0, "start two ddbmini instances");
        return;
    }
    ddb_site sites[1] = { { "127.0.0.1", b.port } };
    ddb_pool_config cfg;
    test_config(&cfg, a.port, 4);
    cfg.high_availability = 1;
    cfg.sites = sites;
    cfg.nsites = 1;
    ddb_pool *p = open_pool(loop, &cfg);
    CHECK(ddb_pool_state(p) == DDB_POOL_OPEN, "HA pool opens: %s", ddb_pool_error(p));
    CHECK(conns_on(p, a.port) == 2 && conns_on(p, b.port) == 2,
          "4 connections spread 2/2 over two sites (%d/%d)", conns_on(p, a.port),
          conns_on(p, b.port));

    /* tasks running on every connection while node A dies */
    ddb_task *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = submit_script(p, "sleep(600); 5", 0);
    run_for(loop, 150);
    ddbmini_kill(&a);
    on_port all_b = { p, b.port, 4 };
    CHECK(run_until(loop, enough_on, &all_b, 8000), "all connections moved to the live node");
    for (int i = 0; i < 4; i++) {
        run_until(loop, task_done, t[i], 5000);
        CHECK(task_int(t[i]) == 5, "task %d survived the failover (%s)", i, task_err(t[i]));
        ddb_task_unref(t[i]);
    }
    for (int i = 0; i < 8; i++) {
        ddb_task *x = run_script(loop, p, "1+1", 3000);
        CHECK(task_int(x) == 2, "after failover (%s)", task_err(x));
        ddb_task_unref(x);
    }
    close_pool(loop, p);
    ddbmini_stop(&b);
    ddbmini_stop(&a);
    printf("ok  HA: connections spread 2/2; node killed: running tasks resent, all on the "
           "live node\n");
}

static void test_not_leader(void)
{
    ddbmini_proc leader, follower, plain;
    if (ddbmini_start(&leader, 0, NULL)) {
        CHECK(0, "start leader");
        return;
    }
    char lead[64];
    snprintf(lead, sizeof lead, "127.0.0.1:%d", leader.port);
    const char *fargs[] = { "--leader", lead, NULL };
    if (ddbmini_start(&follower, 0, fargs) || ddbmini_start(&plain, 0, NULL)) {
        CHECK(0, "start follower/plain");
        return;
    }

    /* the handshake (login) is redirected: every connection ends on the leader */
    ddb_pool_config cfg;
    test_config(&cfg, follower.port, 2);
    cfg.high_availability = 1;
    ddb_pool *p = open_pool(loop, &cfg);
    CHECK(ddb_pool_state(p) == DDB_POOL_OPEN && conns_on(p, leader.port) == 2,
          "handshake followed <NotLeader> to %s (%s)", lead, ddb_pool_error(p));
    ddb_task *x = run_script(loop, p, "3*3", 3000);
    CHECK(task_int(x) == 9, "task on the leader (%s)", task_err(x));
    ddb_task_unref(x);
    close_pool(loop, p);

    /* a task answered <NotLeader> is re-run on the leader */
    test_config(&cfg, plain.port, 2);
    cfg.high_availability = 1;
    p = open_pool(loop, &cfg);
    char arm[128];
    snprintf(arm, sizeof arm, "faultNotLeader(\"%s\")", lead);
    x = run_script(loop, p, arm, 3000);
    CHECK(ddb_task_state(x) == DDB_TASK_DONE, "arm NotLeader: %s", task_err(x));
    ddb_task_unref(x);
    x = run_script(loop, p, "4*4", 5000);
    ddb_conn_info ci;
    ddb_pool_conn_info(p, ddb_task_conn_index(x), &ci);
    CHECK(task_int(x) == 16 && ci.port == leader.port, "task redirected to the leader "
          "(port %d, %s)", ci.port, task_err(x));
    ddb_task_unref(x);
    close_pool(loop, p);

    /* without HA the redirect is an ordinary, clearly reported error */
    cfg.high_availability = 0;
    cfg.login_in_connect = 0;
    cfg.userid = NULL;
    cfg.port = follower.port;
    p = open_pool(loop, &cfg);
    x = run_script(loop, p, "1", 3000);
    CHECK(ddb_task_state(x) == DDB_TASK_FAILED && strstr(task_err(x), "<NotLeader>"),
          "non-HA pool reports the redirect: %s", task_err(x));
    ddb_task_unref(x);
    close_pool(loop, p);
    ddbmini_stop(&plain);
    ddbmini_stop(&follower);
    ddbmini_stop(&leader);
    printf("ok  <NotLeader>: handshake and task redirects followed with HA, reported without\n");
}

/* Two nodes naming each other as leader: the pool must give up, not spin. */
static void test_redirect_loop(void)
{
    ddbmini_proc a, b;
    if (ddbmini_start(&a, 0, NULL) || ddbmini_start(&b, 0, NULL)) {
        CHECK(0, "start two ddbmini instances");
        return;
    }
    ddbmini_proc *nodes[2] = { &a, &b };
    for (int i = 0; i < 2; i++) {
        ddb_pool_config cfg;
        test_config(&cfg, nodes[i]->port, 1);
        ddb_pool *ctl = open_pool(loop, &cfg);
        char arm[128];
        snprintf(arm, sizeof arm, "faultNotLeader(\"127.0.0.1:%d\")", nodes[1 - i]->port);
        ddb_task *x = run_script(loop, ctl, arm, 3000);
        CHECK(ddb_task_state(x) == DDB_TASK_DONE, "arm %s: %s", arm, task_err(x));
        ddb_task_unref(x);
        close_pool(loop, ctl);
    }
    ddb_pool_config cfg;
    test_config(&cfg, a.port, 1);
    cfg.high_availability = 1;
    cfg.try_reconnect_nums = 2;
    double t0 = now_sec();
    ddb_pool *p = open_pool(loop, &cfg);
    CHECK(ddb_pool_state(p) >= DDB_POOL_FAILED && strstr(ddb_pool_error(p), "redirects") &&
          now_sec() - t0 < 5, "redirect loop ends the open: %s", ddb_pool_error(p));
    close_pool(loop, p);
    ddbmini_stop(&a);
    ddbmini_stop(&b);
    printf("ok  <NotLeader> loop between two nodes: bounded, clear error\n");
}

static void test_resend_dedup(void)
{
    ddbmini_proc s;
    if (ddbmini_start(&s, 0, NULL)) {
        CHECK(0, "start ddbmini");
        return;
    }
    ddb_pool_config cfg;
    test_config(&cfg, s.port, 1);
    cfg.high_availability = 1;
    ddb_pool *p = open_pool(loop, &cfg);
    ddb_task *x = run_script(loop, p, "faultDropAfter(5)", 3000);
    ddb_task_unref(x);
    /* Executed once (2 s), reply dropped, resent with -seqNo on a new connection:
     * the server answers from its cache at once instead of sleeping again (which
     * would take 4 s in total). */
    double t0 = now_sec();
    x = submit_script(p, "sleep(2000); 8", 0);
    run_until(loop, task_done, x, 6000);
    double el = now_sec() - t0;
    CHECK(task_int(x) == 8, "HA resend after a dropped reply succeeds (%s)", task_err(x));
    CHECK(el < 3.3, "resend answered from the server's cache: %.2f s", el);
    ddb_conn_info ci;
    ddb_pool_conn_info(p, 0, &ci);
    CHECK(ci.reconnects >= 1, "the connection was reopened");
    ddb_task_unref(x);
    close_pool(loop, p);
    ddbmini_stop(&s);
    printf("ok  HA resend with negated seqNo: answered from the server cache in %.2f s\n", el);
}

int main(void)
{
    loop = uv_default_loop();
    test_spread_and_failover();
    test_not_leader();
    test_redirect_loop();
    test_resend_dedup();
    CHECK(uv_loop_close(loop) == 0, "every handle closed (uv_loop_close)");
    printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
