/* test_rel_overload.c — a bounded queue under overload (issue 8), loop-thread driver:
 * 8 producer threads push 100 tasks each into a 2-connection pool whose queue holds
 * 8. With the wait policy every submission is accepted (blocking for a slot) and the
 * queue never holds more than its limit; with the fail policy each submission is
 * accepted or refused with DDB_EFULL and nothing else; with a bounded wait each is
 * accepted or refused with DDB_ETIMEDOUT no sooner than the wait and not much later.
 * Every accepted task completes exactly once with its own result. */
#include "pool_support.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { PRODUCERS = 8, PER_PRODUCER = 100, LIMIT = 8, CONNS = 2 };

static ddbmini_proc server;
static double time_scale = 1;

typedef struct phase {
    const char *name;
    ddb_pool_thread *tp;
    int on_full;
    double full_wait;
    atomic_int accepted, refused, other, early, late;
    atomic_int stop_sampling;
    int64_t max_queued;
} phase;

typedef struct producer { phase *ph; int index; } producer;

static void *produce(void *arg)
{
    producer *pr = arg;
    phase *ph = pr->ph;
    for (int i = 0; i < PER_PRODUCER; i++) {
        int64_t value = (int64_t)pr->index * PER_PRODUCER + i;
        char script[64];
        snprintf(script, sizeof script, "sleep(1); %lld", (long long)value);
        ddb_task_spec spec;
        ddb_task_spec_init(&spec);
        spec.text = script;
        spec.on_full = ph->on_full;
        spec.full_wait = ph->full_wait;
        spec.ud = (void *)(intptr_t)(value + 1);
        char err[300];
        double t0 = now_sec();
        int rc = ddb_pool_thread_submit(ph->tp, &spec, NULL, err, sizeof err);
        double waited = now_sec() - t0;
        if (rc == DDB_OK) {
            atomic_fetch_add(&ph->accepted, 1);
        } else if ((rc == DDB_EFULL && ph->on_full == DDB_FULL_FAIL) ||
                   (rc == DDB_ETIMEDOUT && ph->on_full == DDB_FULL_WAIT && ph->full_wait > 0)) {
            atomic_fetch_add(&ph->refused, 1);
            if (rc == DDB_ETIMEDOUT && waited < ph->full_wait * 0.9)
                atomic_fetch_add(&ph->early, 1);
            if (rc == DDB_ETIMEDOUT && waited > ph->full_wait + 1.0 * time_scale)
                atomic_fetch_add(&ph->late, 1);
        } else {
            atomic_fetch_add(&ph->other, 1);
            printf("[%s] unexpected submit result %d: %s\n", ph->name, rc, err);
        }
    }
    return NULL;
}

static void *sample(void *arg)
{
    phase *ph = arg;
    while (!atomic_load(&ph->stop_sampling)) {
        ddb_pool_stats s;
        ddb_pool_thread_stats(ph->tp, &s);
        if (s.queued > ph->max_queued) ph->max_queued = s.queued;
        uv_sleep(2);
    }
    return NULL;
}

static void run_phase(const char *name, int on_full, double full_wait)
{
    phase ph;
    memset(&ph, 0, sizeof ph);
    ph.name = name;
    ph.on_full = on_full;
    ph.full_wait = full_wait;
    ddb_pool_config cfg;
    test_config(&cfg, server.port, CONNS);
    cfg.queue_limit = LIMIT;
    char err[300];
    ph.tp = ddb_pool_thread_start(&cfg, err, sizeof err);
    if (!ph.tp) { CHECK(0, "[%s] start: %s", name, err); return; }

    pthread_t threads[PRODUCERS], sampler;
    producer prs[PRODUCERS];
    pthread_create(&sampler, NULL, sample, &ph);
    double t0 = now_sec();
    for (int i = 0; i < PRODUCERS; i++) {
        prs[i] = (producer){ &ph, i };
        pthread_create(&threads[i], NULL, produce, &prs[i]);
    }
    /* collect completions while the producers run */
    int completed = 0, right = 0, seen_total = PRODUCERS * PER_PRODUCER;
    char *seen = calloc((size_t)seen_total, 1);
    int producers_done = 0;
    while (now_sec() - t0 < 60 * time_scale) {
        if (!producers_done && atomic_load(&ph.accepted) + atomic_load(&ph.refused) +
                                   atomic_load(&ph.other) == seen_total) {
            for (int i = 0; i < PRODUCERS; i++) pthread_join(threads[i], NULL);
            producers_done = 1;
        }
        if (producers_done && completed == atomic_load(&ph.accepted)) break;
        ddb_pool_thread_wait(ph.tp, 0.05);
        ddb_task *out[64];
        int n = ddb_pool_thread_poll(ph.tp, out, 64);
        for (int i = 0; i < n; i++) {
            int64_t v = (intptr_t)ddb_task_ud(out[i]) - 1;
            completed++;
            if (v >= 0 && v < seen_total && seen[v]++ == 0 &&
                ddb_task_state(out[i]) == DDB_TASK_DONE &&
                ddb_int_at(ddb_task_result(out[i]), 0) == v)
                right++;
            ddb_task_unref(out[i]);
        }
    }
    if (!producers_done)
        for (int i = 0; i < PRODUCERS; i++) pthread_join(threads[i], NULL);
    atomic_store(&ph.stop_sampling, 1);
    pthread_join(sampler, NULL);
    ddb_pool_thread_shutdown(ph.tp);
    ddb_task *late[8];
    int stray = ddb_pool_thread_poll(ph.tp, late, 8);
    for (int i = 0; i < stray; i++) ddb_task_unref(late[i]);
    ddb_pool_thread_free(ph.tp);
    free(seen);

    int acc = atomic_load(&ph.accepted), ref = atomic_load(&ph.refused);
    printf("%-22s submitted %d: accepted %d, refused %d, completed %d (right %d), "
           "max queued %lld (limit %d), %.2f s\n", name, seen_total, acc, ref, completed,
           right, (long long)ph.max_queued, LIMIT, now_sec() - t0);
    CHECK(atomic_load(&ph.other) == 0, "[%s] only the configured outcome", name);
    CHECK(acc + ref == seen_total, "[%s] every submission answered", name);
    CHECK(completed == acc && right == acc, "[%s] every accepted task completed once, "
          "right (%d/%d/%d)", name, completed, right, acc);
    CHECK(stray == 0, "[%s] no completion after the drain", name);
    CHECK(ph.max_queued <= LIMIT, "[%s] queue never above its limit (%lld)", name,
          (long long)ph.max_queued);
    if (on_full == DDB_FULL_WAIT && full_wait <= 0)
        CHECK(ref == 0, "[%s] waiting forever refuses nothing", name);
    else
        CHECK(ref > 0 && acc >= LIMIT, "[%s] overload refused some, accepted at least "
              "the limit (%d, %d)", name, ref, acc);
    CHECK(atomic_load(&ph.early) == 0, "[%s] no bounded wait gave up early", name);
    CHECK(atomic_load(&ph.late) == 0, "[%s] no bounded wait overran by > 1 s", name);
}

int main(void)
{
    time_scale = run_time_scale();
    if (ddbmini_start(&server, 0, NULL) != 0) return 1;
    run_phase("wait (forever)", DDB_FULL_WAIT, 0);
    run_phase("fail", DDB_FULL_FAIL, 0);
    run_phase("wait (20 ms)", DDB_FULL_WAIT, 0.02);
    ddbmini_stop(&server);
    printf("test_rel_overload: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
