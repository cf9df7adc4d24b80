/* seed_pool.c — the seed's first example (docs/DESIGN.md "The seed examples") in C on
 * the public API: four `sleep(2000);1+i` tasks on a 4-connection pool finish
 * together after about 2 s, with results 2, 4, 6, 8.
 *
 *   DDB_HOST=127.0.0.1 DDB_PORT=8848 ./seed_pool          a running server
 *   DDBMINI=build/ddbmini ./seed_pool                     starts ddbmini itself
 *
 * Exit status 0 when the results are right and the four tasks ran concurrently. */
#include <dolphindb.h>
#include <uv.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static double t_start;
static int finished;

static double now(void)
{
    return (double)uv_hrtime() / 1e9;
}

/* Called from inside uv_run, once per task. */
static void on_complete(ddb_pool *pool, ddb_task *task, void *task_ud, void *pool_ud)
{
    finished++;
    const ddb_obj *v = ddb_task_result(task);
    if (v)
        printf("[%.3f s] %s -> %lld\n", now() - t_start, ddb_task_text(task),
               (long long)ddb_int_at(v, 0));
    else
        printf("[%.3f s] %s -> %s\n", now() - t_start, ddb_task_text(task),
               ddb_task_error(task) ? ddb_task_error(task) : "no result");
}

/* Start ddbmini on a free port and return it (0 on failure). */
static int spawn_ddbmini(const char *exe, pid_t *pid)
{
    int fds[2];
    if (pipe(fds))
        return 0;
    *pid = fork();
    if (*pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(exe, exe, "--port", "0", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[128] = "";
    size_t n = 0;
    while (n < sizeof line - 1 && read(fds[0], line + n, 1) == 1 && line[n] != '\n')
        n++;
    line[n] = 0;
    close(fds[0]);              /* ddbmini prints this one line only */
    const char *colon = strrchr(line, ':');
    return colon ? atoi(colon + 1) : 0;
}

int main(void)
{
    const char *host = getenv("DDB_HOST") ? getenv("DDB_HOST") : "127.0.0.1";
    int port = getenv("DDB_PORT") ? atoi(getenv("DDB_PORT")) : 8848;
    pid_t server = 0;
    if (!getenv("DDB_PORT") && getenv("DDBMINI")) {
        port = spawn_ddbmini(getenv("DDBMINI"), &server);
        if (!port) {
            fprintf(stderr, "cannot start %s\n", getenv("DDBMINI"));
            return 1;
        }
    }

    uv_loop_t loop;
    uv_loop_init(&loop);
    ddb_pool_config cfg;
    ddb_pool_config_init(&cfg);
    cfg.host = host;
    cfg.port = port;
    cfg.thread_num = 4;                     /* DBConnectionPool("localhost", 8848, 4) */
    cfg.on_complete = on_complete;
    char err[300];
    ddb_pool *pool = ddb_pool_new(&loop, &cfg, err, sizeof err);
    if (!pool) {
        fprintf(stderr, "pool: %s\n", err);
        return 1;
    }
    while (ddb_pool_state(pool) == DDB_POOL_OPENING)
        uv_run(&loop, UV_RUN_ONCE);
    int rc = 1;
    if (ddb_pool_state(pool) != DDB_POOL_OPEN) {
        fprintf(stderr, "%s\n", ddb_pool_error(pool));
        goto out;
    }

    const char *scripts[4] = { "sleep(2000);1+1", "sleep(2000);1+3", "sleep(2000);1+5",
                               "sleep(2000);1+7" };
    ddb_task *tasks[4];
    t_start = now();
    for (int i = 0; i < 4; i++) {
        ddb_task_spec spec;
        ddb_task_spec_init(&spec);
        spec.text = scripts[i];
        if (ddb_pool_submit(pool, &spec, &tasks[i], err, sizeof err) != DDB_OK) {
            fprintf(stderr, "submit: %s\n", err);
            goto out;
        }
    }
    while (finished < 4)                    /* the loop runs only while we wait */
        uv_run(&loop, UV_RUN_ONCE);
    double elapsed = now() - t_start;
    printf("time: %.3f s\n", elapsed);
    rc = 0;
    for (int i = 0; i < 4; i++) {
        const ddb_obj *v = ddb_task_result(tasks[i]);
        long long got = v ? (long long)ddb_int_at(v, 0) : -1;
        printf("%lld\n", got);
        if (got != 2 * (i + 1))
            rc = 1;
        ddb_task_unref(tasks[i]);
    }
    if (elapsed > 3.0) {
        fprintf(stderr, "the four tasks did not run concurrently\n");
        rc = 1;
    }
out:
    ddb_pool_shutdown(pool);                /* pool.shutDown() */
    while (ddb_pool_state(pool) != DDB_POOL_CLOSED)
        uv_run(&loop, UV_RUN_ONCE);
    ddb_pool_free(pool);
    uv_loop_close(&loop);
    if (server) {
        kill(server, SIGTERM);
        waitpid(server, NULL, 0);
    }
    return rc;
}
