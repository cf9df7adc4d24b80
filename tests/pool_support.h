/* pool_support.h — helpers for the pool tests: start/stop ddbmini on an ephemeral
 * port, drive a libuv loop until a condition holds, run one task synchronously. */
#ifndef POOL_SUPPORT_H
#define POOL_SUPPORT_H

#include <stdio.h>
#include <sys/types.h>
#include <uv.h>
#include "dolphindb.h"

extern int g_checks, g_failures;     /* defined in pool_support.c */
#include "check.h"

typedef struct ddbmini_proc {
    pid_t pid;
    int port;
    char log[64];               /* the server's stdout/stderr */
} ddbmini_proc;

/* Start $DDBMINI (default: the build's ddbmini) with --port `port` (0 = ephemeral)
 * and extra args (NULL-terminated, may be NULL). Waits up to 5 s for the
 * "ddbmini listening on HOST:PORT" line. Returns 0 or -1 (message printed). */
int ddbmini_start(ddbmini_proc *m, int port, const char *const *extra);
void ddbmini_stop(ddbmini_proc *m);     /* SIGTERM, then SIGKILL after 2 s; reaps */
void ddbmini_kill(ddbmini_proc *m);     /* SIGKILL now; reaps */

/* Run `loop` until pred(ud) is true or timeout_ms passes. Returns 1 if pred held. */
int run_until(uv_loop_t *loop, int (*pred)(void *ud), void *ud, int timeout_ms);
/* Run the loop for about `ms` milliseconds. */
void run_for(uv_loop_t *loop, int ms);

/* A config for 127.0.0.1:port, logged in as admin (fault switches need it). */
void test_config(ddb_pool_config *cfg, int port, int nconns);
/* Create the pool and drive the loop until it leaves OPENING (10 s max). */
ddb_pool *open_pool(uv_loop_t *loop, const ddb_pool_config *cfg);
/* Shut down, drive the loop to CLOSED, free. Checks that it closes within 5 s. */
void close_pool(uv_loop_t *loop, ddb_pool *p);

/* Submit a script and wait for its terminal state (timeout_ms). Returns the task
 * (caller unrefs) or NULL when submit failed (err filled). */
ddb_task *run_script(uv_loop_t *loop, ddb_pool *p, const char *script, int timeout_ms);
int task_done(void *task);              /* pred: terminal */
/* Submit a script with a timeout in seconds (0: none), checking the submit succeeds.
 * The task (caller unrefs), or NULL. */
ddb_task *submit_script(ddb_pool *p, const char *script, double timeout);
/* The task's error text, "(no error)" when it has none or there is no task. */
const char *task_err(const ddb_task *t);
/* The INT-like scalar result of a DONE task, or INT64_MIN. */
long long task_int(const ddb_task *t);

double now_sec(void);
double cpu_sec(void);                   /* CPU time (user + system) of this process */
long max_rss_kb(void);                  /* its peak resident set so far, KiB */

/* How much slower than plain this run is, for timing limits: DDB_TIME_SCALE when
 * set (valgrind runs use 20), else 3 in an ASan build, else 1. */
double run_time_scale(void);

#endif
