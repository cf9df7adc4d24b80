/* test_pool_pin.c — pinning one of the pool's connections (src/pool/ddb_pin.h) through
 * the inline pool's C API against ddbmini over real sockets: a claim binds the
 * connection that answers it; the pin's tasks run there one at a time and see its
 * session's variables; the pool's other tasks all run on the other connection
 * meanwhile; unpin gives the connection back; a dropped connection loses the pin and
 * its task is not re-sent (even with high availability); misuse is refused. */
#include "pool_support.h"
#include "ddb_pin.h"

#include <stdint.h>
#include <string.h>

static ddbmini_proc server;
static uv_loop_t *loop;

static ddb_task *submit(ddb_pool *p, int64_t pin, const char *script, int *rc)
{
    ddb_task_spec spec;
    ddb_task_spec_init(&spec);
    spec.text = script;
    spec.clear_memory = pin ? 0 : -1;   /* a pin is for keeping variables */
    ddb_task *t = NULL;
    char err[300] = "";
    *rc = pin ? ddb_pool_pin_submit(p, pin, &spec, &t, err, sizeof err)
              : ddb_pool_submit(p, &spec, &t, err, sizeof err);
    return t;
}

static ddb_task *wait_for(ddb_task *t)
{
    if (t)
        CHECK(run_until(loop, task_done, t, 10000), "task ended");
    return t;
}

/* Claims a pin; returns it (> 0) or 0. */
static int64_t claim(ddb_pool *p)
{
    int rc;
    ddb_task *t = submit(p, 0, "1", &rc);
    CHECK(rc == DDB_OK && t, "claim submitted");
    if (!t)
        return 0;
    char err[200];
    CHECK(ddb_pool_pin_claim(p, t, err, sizeof err) == DDB_OK, "claim marked: %s", err);
    wait_for(t);
    int64_t pin = ddb_pool_pin_take(p, t);
    CHECK(ddb_pool_pin_take(p, t) == 0, "a claim gives its pin once");
    ddb_task_unref(t);
    return pin;
}

static long long pinned_int(ddb_pool *p, int64_t pin, const char *script)
{
    int rc;
    ddb_task *t = wait_for(submit(p, pin, script, &rc));
    CHECK(rc == DDB_OK, "pinned submit of %s: %d", script, rc);
    long long v = t ? task_int(t) : INT64_MIN;
    ddb_task_unref(t);
    return v;
}

static void test_pin_session_and_exclusive(void)
{
    ddb_pool_config cfg;
    test_config(&cfg, server.port, 2);
    cfg.connect_timeout = 30;        /* valgrind on a loaded machine is slow to log in */
    ddb_pool *p = open_pool(loop, &cfg);
    int64_t pin = claim(p);
    CHECK(pin > 0, "pinned");
    int me = ddb_pool_pin_conn(p, pin);
    CHECK(me == 0 || me == 1, "the pin's connection: %d", me);
    CHECK(ddb_pool_pin_alive(p, pin) == 1, "alive");
    CHECK(pinned_int(p, pin, "x = 40; x") == 40, "define x on the pin");

    ddb_task *others[8];
    int rc;
    for (int i = 0; i < 8; i++)
        others[i] = submit(p, 0, "sleep(10); 7", &rc);
    /* the pin answers while the other connection works the queue */
    CHECK(pinned_int(p, pin, "x + 2") == 42, "x persists on the pin");
    ddb_task *busy = submit(p, pin, "sleep(100); 1", &rc);
    CHECK(rc == DDB_OK, "a long pinned task");
    ddb_task *second = submit(p, pin, "1", &rc);
    CHECK(rc == DDB_ESTATE && !second, "one pinned task at a time: %d", rc);
    wait_for(busy);
    ddb_task_unref(busy);
    for (int i = 0; i < 8; i++) {
        wait_for(others[i]);
        CHECK(task_int(others[i]) == 7, "pool task %d", i);
        CHECK(ddb_task_conn_index(others[i]) == 1 - me, "pool task %d ran beside the pin", i);
        ddb_task_unref(others[i]);
    }

    ddb_task_spec spec;
    ddb_task_spec_init(&spec);
    spec.text = "1";
    spec.has_id = 1;
    spec.id = 5;
    ddb_task *t = NULL;
    char err[300];
    CHECK(ddb_pool_pin_submit(p, pin, &spec, &t, err, sizeof err) == DDB_EINVAL && !t, "no task id");
    CHECK(ddb_pool_pin_submit(p, pin + 100, &spec, &t, err, sizeof err) == DDB_EINVAL, "unknown pin");

    CHECK(ddb_pool_unpin(p, pin) == DDB_OK, "unpinned");
    CHECK(ddb_pool_unpin(p, pin) == DDB_EINVAL, "unpinned once");
    CHECK(ddb_pool_pin_alive(p, pin) == -1, "released: unknown");
    t = submit(p, pin, "1", &rc);
    CHECK(rc == DDB_EINVAL && !t, "no task on a released pin");
    /* the connection takes the pool's tasks again */
    int seen[2] = {0, 0};
    for (int i = 0; i < 8; i++)
        others[i] = submit(p, 0, "sleep(20); 1", &rc);
    for (int i = 0; i < 8; i++) {
        wait_for(others[i]);
        int ci = ddb_task_conn_index(others[i]);
        if (ci == 0 || ci == 1)
            seen[ci]++;
        ddb_task_unref(others[i]);
    }
    CHECK(seen[me] > 0 && seen[1 - me] > 0, "both connections ran tasks: %d %d", seen[0], seen[1]);

    /* a finished task cannot claim; a task that was no claim has no pin */
    ddb_task *done = run_script(loop, p, "1", 10000);
    CHECK(ddb_pool_pin_claim(p, done, err, sizeof err) == DDB_EINVAL, "claim of an ended task");
    CHECK(ddb_pool_pin_take(p, done) == 0, "no pin for a plain task");
    ddb_task_unref(done);
    close_pool(loop, p);
}

static void test_pin_lost(int ha)
{
    ddb_pool_config cfg;
    test_config(&cfg, server.port, 2);
    cfg.connect_timeout = 30;
    cfg.reconnect = 1;
    cfg.high_availability = ha;
    ddb_pool *p = open_pool(loop, &cfg);
    ddb_task *mk = run_script(loop, p, "share(table(1:0, `k, [INT]), `pinhits); 1", 10000);
    ddb_task_unref(mk);
    int64_t pin = claim(p);
    CHECK(pin > 0, "pinned (ha %d)", ha);
    int rc;
    ddb_task *arm = wait_for(submit(p, pin, "faultDropAfter(0)", &rc));
    CHECK(arm && ddb_task_state(arm) == DDB_TASK_DONE, "the next response breaks its connection");
    ddb_task_unref(arm);
    ddb_task *t = wait_for(submit(p, pin, "insert into pinhits values(1); 1", &rc));
    CHECK(t && ddb_task_state(t) == DDB_TASK_FAILED, "the pinned task failed with its connection (ha %d)", ha);
    ddb_task_unref(t);
    CHECK(ddb_pool_pin_alive(p, pin) == 0, "the pin is lost (ha %d)", ha);
    t = submit(p, pin, "1", &rc);
    CHECK(rc == DDB_ESTATE && !t, "nothing is sent on a lost pin: %d", rc);
    ddb_task *n = run_script(loop, p, "exec count(*) from pinhits", 10000);
    CHECK(n && task_int(n) == 1, "the insert ran once, not re-sent (ha %d): %lld", ha, n ? task_int(n) : -1);
    ddb_task_unref(n);
    CHECK(ddb_pool_unpin(p, pin) == DDB_OK, "a lost pin is released too");
    ddb_task *u = run_script(loop, p, "undef(`pinhits, SHARED); 1", 10000);
    ddb_task_unref(u);
    close_pool(loop, p);
}

int main(void)
{
    loop = uv_default_loop();
    if (ddbmini_start(&server, 0, NULL))
        return 1;
    test_pin_session_and_exclusive();
    test_pin_lost(0);
    test_pin_lost(1);
    ddbmini_stop(&server);
    uv_loop_close(loop);
    printf("test_pool_pin: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures != 0;
}
