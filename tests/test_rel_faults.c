/* test_rel_faults.c — the fault suite of issue 8 on the public C API against ddbmini.
 *
 * Every scenario opens a pool with reconnect on, submits tasks around one injected
 * fault and then checks, for every accepted task, that it reached exactly one
 * terminal state (completion callback called once) within its deadline; the task hit
 * by the fault failed with an error naming the cause; tasks not hit by it succeeded;
 * and the pool serves again once the server is back. A table sums it up; "lost"
 * (a task that never ended, or whose callback did not run exactly once) must be 0
 * and so must "unclear" (a failure whose message does not name an expected cause).
 *
 * DDB_TIME_SCALE (default 1, 3 under sanitizers) stretches every deadline. */
#include "pool_support.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TASKS 256

typedef struct scenario {
    const char *name;
    int faults;
    int submitted, succeeded, failed_clear, unclear, lost;
    int settled;                        /* tasks before this index were classified */
    ddb_task *tasks[MAX_TASKS];
    const char *causes[MAX_TASKS];      /* NULL: must succeed; else a substring */
    int cb_calls[MAX_TASKS];
} scenario;

static uv_loop_t *loop;
static double time_scale = 1;
static scenario *cur;
static scenario rows[16];
static int nrows;

static int ms(int base) { return (int)(base * time_scale); }

static void on_complete(ddb_pool *p, ddb_task *t, void *task_ud, void *pool_ud)
{
    (void)p; (void)t; (void)pool_ud;
    intptr_t i = (intptr_t)task_ud;     /* index + 1; 0: a helper task (fault switch) */
    if (i > 0) cur->cb_calls[i - 1]++;
}

static scenario *begin(const char *name)
{
    cur = &rows[nrows++];
    memset(cur, 0, sizeof *cur);
    cur->name = name;
    return cur;
}

static void config(ddb_pool_config *cfg, int port, int nconns)
{
    test_config(cfg, port, nconns);
    cfg->reconnect = 1;
    cfg->on_complete = on_complete;
    cfg->connect_timeout = 2 * time_scale;
}

/* Submits `script`; `cause` NULL means it must succeed, else its error must contain
 * `cause`. timeout in seconds (0: none). */
static ddb_task *submit(ddb_pool *p, const char *script, double timeout, const char *cause)
{
    if (cur->submitted >= MAX_TASKS) abort();
    ddb_task_spec spec;
    ddb_task_spec_init(&spec);
    spec.text = script;
    spec.timeout = timeout > 0 ? timeout * time_scale : -1;
    spec.ud = (void *)(intptr_t)(cur->submitted + 1);
    ddb_task *t = NULL;
    char err[300];
    int rc = ddb_pool_submit(p, &spec, &t, err, sizeof err);
    CHECK(rc == DDB_OK, "[%s] submit '%s': %s", cur->name, script, err);
    if (rc != DDB_OK) return NULL;
    cur->causes[cur->submitted] = cause;
    cur->tasks[cur->submitted++] = t;
    return t;
}

static int all_terminal(void *ud)
{
    scenario *s = ud;
    for (int i = s->settled; i < s->submitted; i++)
        if (!ddb_task_state_is_terminal(ddb_task_state(s->tasks[i])) || s->cb_calls[i] == 0)
            return 0;
    return 1;
}

/* Waits for every task, classifies it and releases it. */
static void settle(int timeout_ms)
{
    run_until(loop, all_terminal, cur, ms(timeout_ms));
    run_for(loop, 20);      /* a second callback would show up now */
    for (int i = cur->settled; i < cur->submitted; i++) {
        ddb_task *t = cur->tasks[i];
        int st = ddb_task_state(t);
        const char *err = ddb_task_error(t);
        if (!ddb_task_state_is_terminal(st) || cur->cb_calls[i] != 1) {
            cur->lost++;
            CHECK(0, "[%s] task %d '%s' lost: state %s, %d callbacks", cur->name, i,
                  ddb_task_text(t), ddb_task_state_name(st), cur->cb_calls[i]);
        } else if (st == DDB_TASK_DONE && !cur->causes[i]) {
            cur->succeeded++;
        } else if (st != DDB_TASK_DONE && cur->causes[i] && err &&
                   strstr(err, cur->causes[i])) {
            cur->failed_clear++;
        } else {
            cur->unclear++;
            CHECK(0, "[%s] task %d '%s': %s, wanted %s (error: %s)", cur->name, i,
                  ddb_task_text(t), ddb_task_state_name(st),
                  cur->causes[i] ? cur->causes[i] : "success", err ? err : "none");
        }
        ddb_task_unref(t);
    }
    cur->settled = cur->submitted;
}

/* The pool serves again: a fresh task succeeds within `timeout_ms`. */
static void check_recovers(ddb_pool *p, int timeout_ms)
{
    ddb_task *t = submit(p, "40 + 2", 0, NULL);
    run_until(loop, task_done, t, ms(timeout_ms));
    CHECK(task_int(t) == 42, "[%s] pool serves again after the fault (%s)", cur->name,
          ddb_task_error(t) ? ddb_task_error(t) : ddb_task_state_name(ddb_task_state(t)));
}

static void admin(ddb_pool *p, const char *script)
{
    ddb_task *t = run_script(loop, p, script, ms(3000));
    CHECK(t && ddb_task_state(t) == DDB_TASK_DONE, "fault switch '%s': %s", script,
          t && ddb_task_error(t) ? ddb_task_error(t) : "not done");
    ddb_task_unref(t);
}

/* Checks that `t` ended (failed) within `limit_s` seconds of its submission. */
static void check_deadline(ddb_task *t, double limit_s, const char *what)
{
    if (!t) return;
    double el = ddb_task_elapsed(t);
    CHECK(el > 0 && el <= limit_s * time_scale, "[%s] %s ended after %.2f s (limit %.2f s)",
          cur->name, what, el, limit_s * time_scale);
    ddb_task_unref(t);
}

/* An extra reference so the task outlives settle(); check_deadline releases it. */
static ddb_task *keep(ddb_task *t) { return t ? ddb_task_ref(t) : NULL; }

/* FAILED, or already shutting down / closed after failing, with a reason. */
static int open_failed(const ddb_pool *p)
{
    int st = ddb_pool_state(p);
    return st != DDB_POOL_OPEN && st != DDB_POOL_OPENING && ddb_pool_error(p)[0];
}

static int start_server(ddbmini_proc *m, int port, const char *const *args)
{
    int rc = ddbmini_start(m, port, args);
    CHECK(rc == 0, "ddbmini started on port %d", port);
    return rc;
}

/* ---------------------------------------------------------------- scenarios */

static void killed_mid_response(void)
{
    begin("killed mid-response");
    ddbmini_proc m;
    if (start_server(&m, 0, NULL)) return;
    ddb_pool_config cfg;
    config(&cfg, m.port, 4);
    ddb_pool *p = open_pool(loop, &cfg);
    for (int i = 0; i < 8; i++) submit(p, "1 + 1", 0, NULL);
    settle(3000);
    /* print() output is a MSG block sent before the result: the response has begun */
    ddb_task *hit = keep(submit(p, "print(\"started\"); sleep(10000); 1", 5, "lost while running"));
    run_for(loop, ms(400));
    ddbmini_kill(&m);
    cur->faults++;
    run_for(loop, ms(200));                     /* the pool sees every socket close */
    submit(p, "2 + 2", 10, NULL);               /* queued while the server is down */
    if (start_server(&m, m.port, NULL) == 0) {
        settle(8000);
        check_deadline(hit, 1.5, "the task hit by the kill");
        check_recovers(p, 5000);
        settle(1000);
    }
    close_pool(loop, p);
    ddbmini_stop(&m);
}

static void killed_mid_request(void)
{
    begin("killed mid-request");
    ddbmini_proc m;
    if (start_server(&m, 0, NULL)) return;
    ddb_pool_config cfg;
    config(&cfg, m.port, 2);
    ddb_pool *p = open_pool(loop, &cfg);
    /* a stopped server reads nothing: a 32 MB upload stays half-sent in the socket */
    kill(m.pid, SIGSTOP);
    int64_t n = 8 << 20;
    ddb_obj *big = ddb_vector_new(DDB_INT, n);
    memset(big->data, 0, (size_t)n * 4);
    ddb_task_spec spec;
    ddb_task_spec_init(&spec);
    spec.kind = DDB_KIND_FUNCTION;
    spec.text = "size";
    spec.args = &big;
    spec.nargs = 1;
    spec.timeout = 5 * time_scale;
    spec.ud = (void *)(intptr_t)(cur->submitted + 1);
    ddb_task *hit = NULL;
    char err[300];
    CHECK(ddb_pool_submit(p, &spec, &hit, err, sizeof err) == DDB_OK, "big submit: %s", err);
    ddb_obj_unref(big);
    if (hit) {
        cur->causes[cur->submitted] = "lost while running";
        cur->tasks[cur->submitted++] = ddb_task_ref(hit);
    }
    run_for(loop, ms(300));
    CHECK(hit && ddb_task_state(hit) == DDB_TASK_RUNNING, "[%s] the upload is in flight",
          cur->name);
    ddbmini_kill(&m);
    cur->faults++;
    run_for(loop, ms(200));
    if (start_server(&m, m.port, NULL) == 0) {
        submit(p, "3 + 3", 10, NULL);
        settle(8000);
        check_deadline(hit, 2, "the half-sent request");
        hit = NULL;
        check_recovers(p, 5000);
        settle(1000);
    }
    ddb_task_unref(hit);
    close_pool(loop, p);
    ddbmini_stop(&m);
}

static void killed_idle_and_restarted(void)
{
    begin("killed idle, restarted");
    ddbmini_proc m;
    if (start_server(&m, 0, NULL)) return;
    ddb_pool_config cfg;
    config(&cfg, m.port, 4);
    ddb_pool *p = open_pool(loop, &cfg);
    for (int i = 0; i < 4; i++) submit(p, "1", 0, NULL);
    settle(3000);
    for (int round = 0; round < 2; round++) {
        ddbmini_kill(&m);
        cur->faults++;
        run_for(loop, ms(300));                  /* the pool notices and backs off */
        /* submitted while down: one with a short deadline fails naming it, the rest
         * wait in the queue and run once the server is back */
        submit(p, "5", 0.3, "while queued");
        for (int i = 0; i < 6; i++) submit(p, "6 * 7", 15, NULL);
        run_for(loop, ms(600));
        if (start_server(&m, m.port, NULL)) break;
        settle(10000);
    }
    check_recovers(p, 5000);
    settle(1000);
    close_pool(loop, p);
    ddbmini_stop(&m);
}

static void stalled_response(void)
{
    begin("stalled response");
    ddbmini_proc m;
    if (start_server(&m, 0, NULL)) return;
    ddb_pool_config cfg;
    config(&cfg, m.port, 3);
    ddb_pool *p = open_pool(loop, &cfg);
    admin(p, "faultStall(-1)");                  /* the next response is never sent */
    cur->faults++;
    ddb_task *hit = keep(submit(p, "1", 0.5, "timed out"));
    run_for(loop, 50);
    for (int i = 0; i < 10; i++) submit(p, "sleep(20); 7", 10, NULL);
    settle(5000);
    check_deadline(hit, 1.5, "the stalled task");
    check_recovers(p, 3000);
    settle(1000);
    close_pool(loop, p);
    ddbmini_stop(&m);
}

static void garbage_bytes(void)
{
    begin("garbage bytes");
    ddbmini_proc m;
    if (start_server(&m, 0, NULL)) return;
    ddb_pool_config cfg;
    config(&cfg, m.port, 3);
    ddb_pool *p = open_pool(loop, &cfg);
    for (int k = 0; k < 3; k++) {
        admin(p, k == 0 ? "faultGarbage(10)" : k == 1 ? "faultGarbage(70000)" : "faultGarbage(1)");
        cur->faults++;
        ddb_task *hit = submit(p, "1", 5, "protocol error");
        run_for(loop, 50);
        for (int i = 0; i < 5; i++) submit(p, "sleep(10); 8", 10, NULL);
        settle(6000);
        (void)hit;
    }
    check_recovers(p, 3000);
    settle(1000);
    close_pool(loop, p);
    ddbmini_stop(&m);
}

static void connection_refused(void)
{
    begin("connection refused");
    ddbmini_proc m;
    if (start_server(&m, 0, NULL)) return;
    int port = m.port;
    ddbmini_stop(&m);                           /* nobody listens on `port` now */
    ddb_pool_config cfg;
    config(&cfg, port, 2);
    cfg.try_reconnect_nums = 2;
    double t0 = now_sec();
    ddb_pool *p = open_pool(loop, &cfg);
    cur->faults++;
    CHECK(open_failed(p) && strstr(ddb_pool_error(p), "refused"),
          "[%s] open fails naming the cause: %s", cur->name, ddb_pool_error(p));
    CHECK(now_sec() - t0 < 3 * time_scale, "[%s] open gave up after %.2f s", cur->name,
          now_sec() - t0);
    close_pool(loop, p);
    /* an open pool whose server goes away: bounded rounds, then queued tasks fail */
    if (start_server(&m, port, NULL)) return;
    p = open_pool(loop, &cfg);
    ddbmini_stop(&m);
    cur->faults++;
    run_for(loop, ms(200));
    submit(p, "1", 10, "no live connection");
    settle(8000);
    if (start_server(&m, port, NULL) == 0) {
        check_recovers(p, 5000);                /* the next submit tries afresh */
        settle(1000);
    }
    close_pool(loop, p);
    ddbmini_stop(&m);
}

static void slow_accept(void)
{
    begin("slow accept");
    ddbmini_proc m;
    const char *args[] = { "--accept-delay", "1500", NULL };
    if (start_server(&m, 0, args)) return;
    ddb_pool_config cfg;
    config(&cfg, m.port, 2);
    cfg.connect_timeout = 0.4;
    cfg.try_reconnect_nums = 1;
    double t0 = now_sec();
    ddb_pool *p = open_pool(loop, &cfg);
    cur->faults++;
    CHECK(open_failed(p) && strstr(ddb_pool_error(p), "timed out"),
          "[%s] a short connect timeout fails naming it: %s", cur->name, ddb_pool_error(p));
    CHECK(now_sec() - t0 < 1.4 * time_scale, "[%s] gave up after %.2f s", cur->name,
          now_sec() - t0);
    close_pool(loop, p);
    config(&cfg, m.port, 2);
    cfg.connect_timeout = 5;
    p = open_pool(loop, &cfg);                  /* a patient pool gets through */
    CHECK(ddb_pool_state(p) == DDB_POOL_OPEN, "[%s] patient pool opens: %s", cur->name,
          ddb_pool_error(p));
    for (int i = 0; i < 4; i++) submit(p, "9", 10, NULL);
    settle(5000);
    close_pool(loop, p);
    ddbmini_stop(&m);
}

static void login_refused(void)
{
    begin("login refused");
    ddbmini_proc m;
    if (start_server(&m, 0, NULL)) return;
    ddb_pool_config cfg;
    config(&cfg, m.port, 2);
    ddb_pool *adm = open_pool(loop, &cfg);
    config(&cfg, m.port, 1);
    ddb_pool *running = open_pool(loop, &cfg);
    admin(adm, "faultRejectLogin(true)");
    cur->faults++;
    config(&cfg, m.port, 2);
    cfg.try_reconnect_nums = 1;
    ddb_pool *p = open_pool(loop, &cfg);
    CHECK(open_failed(p) &&
          strstr(ddb_pool_error(p), "user name or password is incorrect") &&
          !strstr(ddb_pool_error(p), "123456"),
          "[%s] open fails with the server's reason, no password: %s", cur->name,
          ddb_pool_error(p));
    close_pool(loop, p);
    /* a running pool whose connection must log in again while logins fail */
    p = running;
    /* cancelling a running task makes its connection reconnect (and log in again) */
    ddb_task *running_task = submit(p, "sleep(5000); 1", 10, "cancelled");
    run_for(loop, ms(200));
    CHECK(running_task && ddb_task_cancel(p, running_task) == DDB_OK, "[%s] cancel", cur->name);
    cur->faults++;
    settle(5000);
    /* a refused login is not retried (the password will not get better): the queued
     * task fails naming it, and the next submit after the fix starts afresh */
    submit(p, "10 + 1", 15, "login failed");
    run_for(loop, ms(500));
    admin(adm, "faultRejectLogin(false)");
    settle(10000);
    check_recovers(p, 5000);
    settle(1000);
    close_pool(loop, p);
    close_pool(loop, adm);
    ddbmini_stop(&m);
}

static void not_leader_storm(void)
{
    begin("NotLeader storm");
    ddbmini_proc a, b;
    if (start_server(&a, 0, NULL)) return;
    if (start_server(&b, 0, NULL)) { ddbmini_stop(&a); return; }
    char a_addr[64], b_addr[64];
    snprintf(a_addr, sizeof a_addr, "127.0.0.1:%d", a.port);
    snprintf(b_addr, sizeof b_addr, "127.0.0.1:%d", b.port);
    ddbmini_stop(&a);
    ddbmini_stop(&b);
    /* each names the other as the leader: a redirect loop */
    const char *args_a[] = { "--not-leader", b_addr, NULL };
    const char *args_b[] = { "--not-leader", a_addr, NULL };
    if (start_server(&a, a.port, args_a)) return;
    if (start_server(&b, b.port, args_b)) { ddbmini_stop(&a); return; }
    cur->faults++;
    ddb_site sites[2] = { { "127.0.0.1", a.port }, { "127.0.0.1", b.port } };
    ddb_pool_config cfg;
    config(&cfg, a.port, 2);
    cfg.userid = NULL;              /* login is a function call: it would be redirected */
    cfg.password = NULL;
    cfg.high_availability = 1;
    cfg.sites = sites;
    cfg.nsites = 2;
    ddb_pool *p = open_pool(loop, &cfg);
    for (int i = 0; i < 4; i++) submit(p, "1", 3, "NotLeader");
    settle(8000);
    /* B becomes a real leader: the pool follows A's redirect to it */
    ddbmini_stop(&b);
    if (start_server(&b, b.port, NULL) == 0) {
        check_recovers(p, 8000);
        settle(1000);
    }
    close_pool(loop, p);
    ddbmini_stop(&a);
    ddbmini_stop(&b);
}

static void print_table(void)
{
    int tot[6] = { 0 };
    printf("\n%-24s %7s %9s %9s %13s %7s %5s\n", "fault", "faults", "submitted",
           "succeeded", "failed(clear)", "unclear", "lost");
    for (int i = 0; i < nrows; i++) {
        scenario *s = &rows[i];
        printf("%-24s %7d %9d %9d %13d %7d %5d\n", s->name, s->faults, s->submitted,
               s->succeeded, s->failed_clear, s->unclear, s->lost);
        int v[6] = { s->faults, s->submitted, s->succeeded, s->failed_clear, s->unclear, s->lost };
        for (int k = 0; k < 6; k++) tot[k] += v[k];
    }
    printf("%-24s %7d %9d %9d %13d %7d %5d\n\n", "TOTAL", tot[0], tot[1], tot[2], tot[3],
           tot[4], tot[5]);
    CHECK(tot[5] == 0, "no task lost (%d)", tot[5]);
    CHECK(tot[4] == 0, "every failure names its cause (%d unclear)", tot[4]);
    CHECK(tot[1] == tot[2] + tot[3] + tot[4] + tot[5], "every task accounted for");
}

int main(void)
{
    time_scale = run_time_scale();
    signal(SIGPIPE, SIG_IGN);
    loop = uv_default_loop();
    killed_mid_response();
    killed_mid_request();
    killed_idle_and_restarted();
    stalled_response();
    garbage_bytes();
    connection_refused();
    slow_accept();
    login_refused();
    not_leader_storm();
    print_table();
    uv_loop_close(loop);
    printf("test_rel_faults: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
