/* bench_download_c — one big download through the C API, for bench/bench_download.lua.
 *
 *   bench_download_c PORT SCRIPT
 *
 * Opens a one-connection pool to 127.0.0.1:PORT (not counted), runs SCRIPT once,
 * takes its result (the decoded ddb_obj a C user gets) and prints one line
 *   cpu=<client CPU seconds of the run> rss=<peak RSS KiB> base=<RSS KiB before> rows=<n>
 * The CPU is user + system of this process from submission to the result in hand
 * (ddbmini is another process). Not a test: numbers only. */
#include "pool_support.h"

#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench_download_c PORT SCRIPT\n");
        return 2;
    }
    uv_loop_t *loop = uv_default_loop();
    ddb_pool_config cfg;
    test_config(&cfg, atoi(argv[1]), 1);
    cfg.userid = NULL;                  /* as the Lua side: no login */
    ddb_pool *p = open_pool(loop, &cfg);
    if (!p || ddb_pool_state(p) != DDB_POOL_OPEN) {
        fprintf(stderr, "pool open failed: %s\n", p ? ddb_pool_error(p) : "");
        return 1;
    }
    ddb_task *warm = run_script(loop, p, "1+1", 10000);   /* connection fully set up */
    ddb_task_unref(warm);
    long base = max_rss_kb();
    double c0 = cpu_sec();
    ddb_task *t = run_script(loop, p, argv[2], 600000);
    ddb_obj *o = t && ddb_task_state(t) == DDB_TASK_DONE ? ddb_task_take_result(t) : NULL;
    double cpu = cpu_sec() - c0;
    if (!o) {
        fprintf(stderr, "download failed: %s\n", t ? ddb_task_error(t) : "submit failed");
        return 1;
    }
    printf("cpu=%.6f rss=%ld base=%ld rows=%lld\n", cpu, max_rss_kb(), base, (long long)o->rows);
    ddb_obj_unref(o);
    ddb_task_unref(t);
    close_pool(loop, p);
    uv_loop_close(loop);
    return 0;
}
