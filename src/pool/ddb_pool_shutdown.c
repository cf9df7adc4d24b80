/* ddb_pool_shutdown.c — the way to CLOSED: queued tasks are abandoned, idle
 * connections close at once, busy ones get the shutdown grace, then every running
 * task is abandoned; once every socket is closed and every completion delivered, the
 * pool closes its own handles, and the last close callback marks it CLOSED (and frees
 * it if ddb_pool_free came first). The same path ends a pool that failed to open. */
#include "ddb_pool.h"

/* Abandon every running task and close every connection. */
void ddb_pool_close_all(ddb_pool *p)
{
    p->host->timer_stop(p->grace);
    for (int i = 0; i < p->nconns; i++) {
        ddb_conn *c = p->conns[i];
        if (c->task) {
            ddb_task *t = ddb_conn_abort_task(c, "pool is shut down");
            p->nrunning--;
            ddb_pool_fail(p, t, DDB_TASK_ABANDONED, NULL, "pool is shut down while running");
        }
        ddb_conn_close(c);
    }
    ddb_pool_pump_start(p);
}

void ddb_pool_start_shutdown(ddb_pool *p)
{
    ddb_pool_fail_queued(p, DDB_TASK_ABANDONED, "pool is shut down");
    p->host->timer_stop(p->sweep);
    if (p->nrunning > 0 && p->cfg.shutdown_grace > 0) {
        /* Idle connections close now; busy ones get the grace period. */
        for (int i = 0; i < p->nconns; i++)
            if (!p->conns[i]->task)
                ddb_conn_close(p->conns[i]);
        p->host->timer_start(p->grace, (uint64_t)(p->cfg.shutdown_grace * 1000.0));
    } else {
        ddb_pool_close_all(p);
    }
    if (p->live > 0)
        ddb_pool_pump_start(p);
}

void ddb_pool_shutdown(ddb_pool *p)
{
    if (!p || ddb_pool_is_stopping(p))
        return;                 /* idempotent (an open failure already shut down) */
    ddb_pool_set_state(p, DDB_POOL_SHUTDOWN);
    p->host->update_time(p->host_ud);  /* the grace timer starts from here */
    ddb_pool_start_shutdown(p);
}

static int io_pending(const ddb_pool *p)
{
    /* live = streams + fixed handles (3 + one timer per conn) */
    int fixed = 3;
    for (int i = 0; i < p->nconns; i++)
        fixed += p->conns[i]->timer != NULL;
    return p->live - fixed;
}

static void pool_handle_closed_cb(void *arg)
{
    ddb_pool_handle_closed(arg);
}

/* Once every socket is closed and every completion delivered, close the pool's own
 * handles; the last close callback marks the pool CLOSED. */
void ddb_pool_maybe_teardown(ddb_pool *p)
{
    if (!ddb_pool_is_stopping(p) || p->torn_down || p->nrunning > 0 || io_pending(p) > 0)
        return;
    for (int i = 0; i < p->nconns; i++)
        if (p->conns[i]->stream)
            return;
    ddb_pool_deliver(p);
    p->torn_down = 1;
    for (int i = 0; i < p->nconns; i++)
        ddb_conn_close_timer(p->conns[i]);
    p->host->close(p->pump, pool_handle_closed_cb);
    p->host->close(p->sweep, pool_handle_closed_cb);
    p->host->close(p->grace, pool_handle_closed_cb);
}

void ddb_pool_handle_closed(ddb_pool *p)
{
    p->live--;
    if (p->torn_down && p->live == 0) {
        ddb_pool_set_state(p, DDB_POOL_CLOSED);
        if (p->freed)
            ddb_pool_free(p);
        return;
    }
    if (ddb_pool_is_stopping(p) && !p->torn_down)
        ddb_pool_pump_start(p);         /* re-check teardown from the loop */
}

void ddb_pool_grace_cb(void *arg)
{
    ddb_pool_close_all(arg);
}
