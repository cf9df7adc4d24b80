/* soak.c — N tasks of mixed sizes through an 8-connection pool while ddbmini is
 * killed (SIGKILL) and restarted K times. Asserts: every task ends exactly once (none
 * lost), every DONE result is right, every failure names a connection loss or a
 * timeout, and after warm-up the process's RSS, open file descriptors and libuv
 * handles are flat.
 *
 *   build-rel/soak                      1 000 000 tasks, 50 kills (a few minutes)
 *   build-rel/soak 20000 2              the short run (ctest rel_soak_short)
 *
 * Mixed sizes: 60% tiny scripts, 30% function calls with an INT vector argument of
 * up to 20 000 elements, 10% scripts returning a 50 000-element vector (200 KB). */
#include "pool_support.h"

#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW 256                  /* tasks in flight */

static uv_loop_t *loop;
static ddb_pool *pool;
static int64_t ntasks, submitted, ended, succeeded, failed_clear, unclear, wrong;

static int is_asan(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 1;
#endif
#endif
    return 0;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return resident * 4;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n - 1;                   /* the DIR's own descriptor */
}

static void count_handle(uv_handle_t *h, void *arg) { (void)h; (*(int *)arg)++; }
static int count_handles(void)
{
    int n = 0;
    uv_walk(loop, count_handle, &n);
    return n;
}

/* What task number k runs, and the INT it must return (or the vector's length). */
static void on_complete(ddb_pool *p, ddb_task *t, void *task_ud, void *pool_ud)
{
    (void)p; (void)pool_ud;
    int64_t k = (intptr_t)task_ud;
    ended++;
    int st = ddb_task_state(t);
    if (st == DDB_TASK_DONE) {
        const ddb_obj *o = ddb_task_result(t);
        int ok;
        if (k % 10 == 9)
            ok = o && o->form == DDB_VECTOR && o->rows == 50000 && ddb_int_at(o, 49999) == k;
        else if (k % 10 >= 6)
            ok = o && o->form == DDB_SCALAR && ddb_int_at(o, 0) == k % 20000 + 1;
        else
            ok = o && o->form == DDB_SCALAR && ddb_int_at(o, 0) == k + 1;
        if (ok) succeeded++;
        else if (wrong++ < 5) printf("wrong result for task %lld\n", (long long)k);
        return;
    }
    const char *e = ddb_task_error(t);
    if (e && (strstr(e, "connection lost") || strstr(e, "timed out") ||
              strstr(e, "no live connection")))
        failed_clear++;
    else if (unclear++ < 5)
        printf("unclear failure of task %lld: %s\n", (long long)k, e ? e : "(none)");
}

static void submit_next(void)
{
    int64_t k = submitted;
    char script[64];
    ddb_task_spec spec;
    ddb_task_spec_init(&spec);
    ddb_obj *arg = NULL;
    if (k % 10 == 9) {
        snprintf(script, sizeof script, "take(%lld, 50000)", (long long)k);
        spec.text = script;
    } else if (k % 10 >= 6) {
        int64_t n = k % 20000 + 1;
        arg = ddb_vector_new(DDB_INT, n);
        memset(arg->data, 0, (size_t)n * 4);
        spec.kind = DDB_KIND_FUNCTION;
        spec.text = "size";
        spec.args = &arg;
        spec.nargs = 1;
    } else {
        snprintf(script, sizeof script, "%lld + 1", (long long)k);
        spec.text = script;
    }
    spec.timeout = 30;
    spec.ud = (void *)(intptr_t)k;
    char err[300];
    int rc = ddb_pool_submit(pool, &spec, NULL, err, sizeof err);
    ddb_obj_unref(arg);
    CHECK(rc == DDB_OK, "submit task %lld: %s", (long long)k, err);
    submitted++;
}

static int all_ready(void *ud)
{
    (void)ud;
    ddb_pool_stats s;
    ddb_pool_get_stats(pool, &s);
    return s.conns_ready == s.conns;
}

int main(int argc, char **argv)
{
    ntasks = argc > 1 ? atoll(argv[1]) : 1000000;
    int nkills = argc > 2 ? atoi(argv[2]) : 50;
    signal(SIGPIPE, SIG_IGN);
    loop = uv_default_loop();
    ddbmini_proc m;
    if (ddbmini_start(&m, 0, NULL) != 0) return 1;
    ddb_pool_config cfg;
    test_config(&cfg, m.port, 8);
    cfg.reconnect = 1;
    cfg.on_complete = on_complete;
    pool = open_pool(loop, &cfg);
    CHECK(ddb_pool_state(pool) == DDB_POOL_OPEN, "pool opened: %s", ddb_pool_error(pool));

    int64_t warm = ntasks / 10, next_kill = ntasks / (nkills + 1), kills = 0;
    long rss_warm = 0, rss_max = 0;
    int fds_warm = 0, handles_warm = 0;
    double t0 = now_sec();
    while (ended < ntasks && g_failures == 0) {
        while (submitted < ntasks && submitted - ended < WINDOW) submit_next();
        uv_run(loop, UV_RUN_ONCE);
        if (!rss_warm && ended >= warm) {
            run_until(loop, all_ready, NULL, 10000);
            rss_warm = rss_kb(), fds_warm = count_fds(), handles_warm = count_handles();
        }
        if (rss_warm && rss_kb() > rss_max) rss_max = rss_kb();
        if (kills < nkills && ended >= next_kill * (kills + 1)) {
            ddbmini_kill(&m);
            kills++;
            run_for(loop, 50);
            if (ddbmini_start(&m, m.port, NULL) != 0) { CHECK(0, "restart ddbmini"); break; }
        }
    }
    double el = now_sec() - t0;
    run_until(loop, all_ready, NULL, 10000);
    long rss_end = rss_kb();
    int fds_end = count_fds(), handles_end = count_handles();
    printf("soak: %lld tasks in %.1f s (%.0f/s), %lld kills: %lld succeeded, %lld failed "
           "with a clear error, %lld unclear, %lld wrong, %lld lost\n",
           (long long)ntasks, el, ntasks / el, (long long)kills, (long long)succeeded,
           (long long)failed_clear, (long long)unclear, (long long)wrong,
           (long long)(submitted - ended));
    printf("soak: after warm-up RSS %ld KB -> max %ld KB, end %ld KB; fds %d -> %d; "
           "libuv handles %d -> %d\n", rss_warm, rss_max, rss_end, fds_warm, fds_end,
           handles_warm, handles_end);
    CHECK(ended == submitted && submitted == ntasks, "no task lost (%lld of %lld ended)",
          (long long)ended, (long long)submitted);
    CHECK(succeeded + failed_clear == ntasks, "every task succeeded or failed clearly");
    CHECK(wrong == 0 && unclear == 0, "no wrong result, no unclear failure");
    CHECK(kills == nkills, "%lld of %d kills done", (long long)kills, nkills);
    CHECK(succeeded >= ntasks * 9 / 10, "most tasks succeeded (%lld)", (long long)succeeded);
    CHECK(fds_end == fds_warm, "fd count flat (%d -> %d)", fds_warm, fds_end);
    CHECK(handles_end == handles_warm, "handle count flat (%d -> %d)", handles_warm, handles_end);
    /* allocator and ASan quarantine noise: flat means within 16 MB + 25 % */
    long rss_limit = rss_warm + 16384 + rss_warm / 4;
    if (!is_asan())
        CHECK(rss_max <= rss_limit, "RSS flat after warm-up (%ld KB, limit %ld KB)",
              rss_max, rss_limit);
    close_pool(loop, pool);
    ddbmini_stop(&m);
    uv_loop_close(loop);
    printf("soak: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
