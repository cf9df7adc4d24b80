/* test_pool_thread.c — the loop-thread driver: thread-safe submit from several
 * threads, completions through the eventfd + queue, cancel, user ids, stats, the
 * bounded queue with wait/fail/timeout, shutdown with queued work, open failure. */
#include "pool_support.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

static ddbmini_proc server;

typedef struct submitter {
    ddb_pool_thread *tp;
    int n, base, failures;
} submitter;

static void submit_many(void *arg)
{
    submitter *s = arg;
    for (int i = 0; i < s->n; i++) {
        ddb_task_spec spec;
        ddb_task_spec_init(&spec);
        spec.text = "1+1";
        spec.ud = (void *)(intptr_t)(s->base + i + 1);
        char err[200];
        if (ddb_pool_thread_submit(s->tp, &spec, NULL, err, sizeof err) != DDB_OK)
            s->failures++;
    }
}

static ddb_task *submit(ddb_pool_thread *tp, const char *script, int has_id, int64_t id)
{
    ddb_task_spec spec;
    ddb_task_spec_init(&spec);
    spec.text = script;
    spec.has_id = has_id;
    spec.id = id;
    ddb_task *t = NULL;
    char err[200];
    CHECK(ddb_pool_thread_submit(tp, &spec, &t, err, sizeof err) == DDB_OK, "submit %s: %s",
          script, err);
    return t;
}

/* Wait (poll on the fd) until `want` completions were popped; returns how many. */
static int drain(ddb_pool_thread *tp, int want, int timeout_ms, int *done_ok, char *seen)
{
    int got = 0;
    double deadline = now_sec() + timeout_ms / 1000.0;
    while (got < want && now_sec() < deadline) {
        struct pollfd pfd = { .fd = ddb_pool_thread_fd(tp), .events = POLLIN };
        poll(&pfd, 1, 100);
        ddb_task *out[64];
        int n;
        while ((n = ddb_pool_thread_poll(tp, out, 64)) > 0) {
            for (int i = 0; i < n; i++) {
                if (done_ok && ddb_task_state(out[i]) == DDB_TASK_DONE &&
                    ddb_int_at(ddb_task_result(out[i]), 0) == 2)
                    (*done_ok)++;
                intptr_t k = (intptr_t)ddb_task_ud(out[i]);
                if (seen && k > 0)
                    seen[k - 1]++;
                ddb_task_unref(out[i]);
            }
            got += n;
        }
    }
    return got;
}

static void test_many_threads(void)
{
    ddb_pool_config cfg;
    test_config(&cfg, server.port, 4);
    char err[300];
    ddb_pool_thread *tp = ddb_pool_thread_start(&cfg, err, sizeof err);
    CHECK(tp != NULL, "thread pool starts: %s", err);
    if (!tp)
        return;
    CHECK(ddb_pool_thread_fd(tp) >= 0, "completion fd");
    CHECK(ddb_pool_thread_wait(tp, 0.05) == 0, "nothing completed yet");
    enum { PER = 1000 };
    submitter s[2] = { { tp, PER, 0, 0 }, { tp, PER, PER, 0 } };
    uv_thread_t th[2];
    for (int i = 0; i < 2; i++)
        uv_thread_create(&th[i], submit_many, &s[i]);
    static char seen[2 * PER];
    int ok = 0;
    int got = drain(tp, 2 * PER, 20000, &ok, seen);
    for (int i = 0; i < 2; i++)
        uv_thread_join(&th[i]);
    int once = 1;
    for (int i = 0; i < 2 * PER; i++)
        once &= seen[i] == 1;
    CHECK(s[0].failures == 0 && s[1].failures == 0, "all submits accepted");
    CHECK(got == 2 * PER && ok == 2 * PER && once, "2000 completions from 2 threads, each "
          "once (got %d, ok %d)", got, ok);
    ddb_pool_stats st;
    ddb_pool_thread_stats(tp, &st);
    CHECK(st.done == 2 * PER && st.queued == 0 && st.conns_ready == 4, "stats after the run");
    char sid[32];
    ddb_pool_thread_session_id(tp, 0, sid, sizeof sid);
    CHECK(sid[0] != 0, "session id of connection 0: %s", sid);
    ddb_pool_thread_session_id(tp, 99, sid, sizeof sid);
    CHECK(sid[0] == 0, "session id out of range");

    /* auto ids are given at submission, so the submitting thread can read them */
    ddb_task *a1 = submit(tp, "6", 0, 0), *a2 = submit(tp, "7", 0, 0);
    CHECK(ddb_task_id(a1) < 0 && ddb_task_id(a2) == ddb_task_id(a1) - 1,
          "auto ids at submit: %lld %lld", (long long)ddb_task_id(a1),
          (long long)ddb_task_id(a2));
    drain(tp, 2, 3000, NULL, NULL);
    ddb_task_unref(a1);
    ddb_task_unref(a2);

    /* user ids, find, forget */
    ddb_task *t = submit(tp, "5", 1, 77);
    CHECK(ddb_pool_thread_wait(tp, 3) == 1, "wait sees the completion");
    drain(tp, 1, 3000, NULL, NULL);
    ddb_task *f = ddb_pool_thread_find(tp, 77);
    CHECK(f == t && ddb_task_state(t) == DDB_TASK_DONE, "find user id 77");
    ddb_task_unref(f);
    CHECK(ddb_pool_thread_forget(tp, 77) == DDB_OK && ddb_pool_thread_find(tp, 77) == NULL &&
          ddb_pool_thread_forget(tp, 77) == DDB_ENOTFOUND, "forget 77");
    ddb_task_unref(t);

    /* cancel a running task from this thread */
    t = submit(tp, "sleep(5000); 1", 0, 0);
    uv_sleep(150);
    double t0 = now_sec();
    CHECK(ddb_pool_thread_cancel(tp, t) == DDB_OK, "cancel posted");
    drain(tp, 1, 3000, NULL, NULL);
    CHECK(ddb_task_state(t) == DDB_TASK_CANCELLED && now_sec() - t0 < 1.0,
          "running task cancelled from another thread");
    CHECK(ddb_pool_thread_cancel(tp, t) == DDB_ESTATE, "cancel a finished task: ESTATE");
    ddb_task_unref(t);
    ddb_pool_thread_free(tp);
    printf("ok  thread driver: 2 submitting threads x %d tasks, fd-signalled completions, "
           "ids, cancel, stats\n", PER);
}

static void test_bounded_queue(void)
{
    ddb_pool_config cfg;
    test_config(&cfg, server.port, 1);
    cfg.queue_limit = 2;
    char err[300];
    ddb_pool_thread *tp = ddb_pool_thread_start(&cfg, err, sizeof err);
    if (!tp) {
        CHECK(0, "start: %s", err);
        return;
    }
    ddb_task *t[3] = { submit(tp, "sleep(400); 1", 0, 0), NULL, NULL };
    uv_sleep(100);                          /* the first one is running now */
    t[1] = submit(tp, "2", 0, 0);
    t[2] = submit(tp, "3", 0, 0);
    ddb_task_spec spec;
    ddb_task_spec_init(&spec);
    spec.text = "4";
    CHECK(ddb_pool_thread_submit(tp, &spec, NULL, err, sizeof err) == DDB_EFULL,
          "full queue, fail policy: %s", err);
    spec.on_full = DDB_FULL_WAIT;
    spec.full_wait = 0.05;
    CHECK(ddb_pool_thread_submit(tp, &spec, NULL, err, sizeof err) == DDB_ETIMEDOUT,
          "full queue, short wait: %s", err);
    spec.full_wait = 5;
    double t0 = now_sec();
    ddb_task *w = NULL;
    CHECK(ddb_pool_thread_submit(tp, &spec, &w, err, sizeof err) == DDB_OK,
          "full queue, wait policy: accepted once space frees (%s)", err);
    double waited = now_sec() - t0;
    CHECK(waited > 0.1 && waited < 2, "waited %.2f s for space", waited);
    drain(tp, 4, 5000, NULL, NULL);
    for (int i = 0; i < 3; i++) {
        CHECK(ddb_int_at(ddb_task_result(t[i]), 0) == i + 1, "task %d", i);
        ddb_task_unref(t[i]);
    }
    CHECK(ddb_task_state(w) == DDB_TASK_DONE, "waited-for task ran");
    ddb_task_unref(w);
    ddb_pool_thread_free(tp);
    printf("ok  thread driver bounded queue: fail, wait with timeout, wait until space\n");
}

static void test_shutdown_and_failure(void)
{
    ddb_pool_config cfg;
    test_config(&cfg, server.port, 2);
    char err[300];
    ddb_pool_thread *tp = ddb_pool_thread_start(&cfg, err, sizeof err);
    if (!tp) {
        CHECK(0, "start: %s", err);
        return;
    }
    enum { N = 200 };
    ddb_task *t[N];
    for (int i = 0; i < N; i++)
        t[i] = submit(tp, "sleep(3000); 1", 0, 0);
    uv_sleep(100);
    double t0 = now_sec();
    ddb_pool_thread_shutdown(tp);
    ddb_pool_thread_shutdown(tp);           /* idempotent */
    CHECK(now_sec() - t0 < 2, "shutdown returns promptly");
    ddb_task_spec spec;
    ddb_task_spec_init(&spec);
    spec.text = "1";
    spec.fetch_size = 8192;         /* blocks are handed over on the loop thread only */
    CHECK(ddb_pool_thread_submit(tp, &spec, NULL, err, sizeof err) == DDB_EINVAL &&
          strstr(err, "fetchSize"), "fetch_size refused: %s", err);
    spec.fetch_size = 0;
    CHECK(ddb_pool_thread_submit(tp, &spec, NULL, err, sizeof err) == DDB_ESHUTDOWN,
          "submit after shutdown: %s", err);
    int got = drain(tp, N, 1000, NULL, NULL);
    int abandoned = 0;
    for (int i = 0; i < N; i++) {
        abandoned += ddb_task_state(t[i]) == DDB_TASK_ABANDONED;
        ddb_task_unref(t[i]);
    }
    CHECK(got == N && abandoned == N, "all %d completions queued and ABANDONED (%d, %d)", N,
          got, abandoned);
    ddb_pool_thread_free(tp);

    /* open failure */
    ddbmini_proc gone;
    if (ddbmini_start(&gone, 0, NULL) == 0) {
        int port = gone.port;
        ddbmini_stop(&gone);
        test_config(&cfg, port, 2);
        tp = ddb_pool_thread_start(&cfg, err, sizeof err);
        char hp[64];
        snprintf(hp, sizeof hp, "127.0.0.1:%d", port);
        CHECK(tp == NULL && strstr(err, hp), "start failure names %s: %s", hp, err);
    }
    test_config(&cfg, server.port, 1);
    cfg.on_complete = (ddb_complete_cb)1;
    CHECK(ddb_pool_thread_start(&cfg, err, sizeof err) == NULL && strstr(err, "on_complete"),
          "on_complete rejected: %s", err);
    cfg.on_complete = NULL;
    cfg.on_block = (ddb_complete_cb)1;
    CHECK(ddb_pool_thread_start(&cfg, err, sizeof err) == NULL && strstr(err, "on_block"),
          "on_block rejected: %s", err);
    printf("ok  thread driver: shutdown with %d queued (all completed ABANDONED), open "
           "failure\n", N);
}

int main(void)
{
    if (ddbmini_start(&server, 0, NULL)) {
        printf("FAIL cannot start ddbmini\n");
        return 1;
    }
    test_many_threads();
    test_bounded_queue();
    test_shutdown_and_failure();
    ddbmini_stop(&server);
    printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
