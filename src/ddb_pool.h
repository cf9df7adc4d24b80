/* ddb_pool.h — the pool's private layout and the calls between pool and connection. */
#ifndef DDB_POOL_H
#define DDB_POOL_H

#include <uv.h>
#include "dolphindb.h"
#include "ddb_conn.h"
#include "ddb_task.h"

typedef struct ddb_site_rt {
    char host[256];
    int port;
} ddb_site_rt;

struct ddb_pool {
    uv_loop_t *loop;
    ddb_pool_config cfg;            /* strings below are owned copies */
    char *userid, *password, *initial_script;
    ddb_site_rt *sites;             /* entry first, then the configured sites */
    int nsites;
    int state;                      /* DDB_POOL_* */
    char error[512];

    ddb_conn **conns;
    int nconns;
    int open_pending;               /* connections not yet READY once */

    ddb_task *qhead, *qtail;        /* FIFO of QUEUED tasks */
    int64_t nqueued, nrunning;
    int64_t ndone, nfailed, ncancelled, nabandoned;

    ddb_task **idtab;               /* user id → task, chained */
    size_t idcap, idcount;
    int64_t next_auto_id;           /* -1, -2, ... */

    ddb_task *dhead, *dtail;        /* terminal tasks awaiting their callback */
    uv_idle_t pump;                 /* delivers completions, drives shutdown,
                                       resumes paused reading */
    int resume_pending;             /* some connection paused its reading */
    uv_timer_t sweep;               /* queued-task deadlines */
    uv_timer_t grace;               /* shutdown grace for running tasks */
    uint64_t sweep_at;              /* when `sweep` fires, 0 if idle */
    int live;                       /* open handles + pending requests */
    int torn_down;                  /* pool handles are closing */
    int freed;                      /* ddb_pool_free called: free at CLOSED */
    int dispatching;

    int64_t seqno;                  /* HA: last request number */

    /* loop-thread driver hooks (NULL inline) */
    void (*on_dequeue)(struct ddb_pool *p, void *ud);
    void *hook_ud;
    ddb_state_cb on_state;          /* ddb_pool_on_state(): every state change */
    void *state_ud;
};

/* ---- called by connections (ddb_conn.c) ---- */
void ddb_pool_conn_ready(ddb_pool *p, ddb_conn *c);
/* A response for c->task arrived (is_error or obj in c->resp). */
void ddb_pool_task_response(ddb_pool *p, ddb_conn *c, ddb_task *t);
/* The connection broke while t ran (t already detached from c). */
void ddb_pool_task_conn_lost(ddb_pool *p, ddb_conn *c, ddb_task *t, const char *why);
/* The running task's deadline passed; t is already detached (c reconnects). */
void ddb_pool_task_timed_out(ddb_pool *p, ddb_conn *c, ddb_task *t);
/* Copy `in` to `out` (cap bytes, always terminated) with every occurrence of the
 * pool's password replaced by "***": no text the client builds may carry it. */
void ddb_pool_redact(const ddb_pool *p, const char *in, char *out, size_t cap);
/* End of a read callback: deliver the completions it produced (see ddb_pool.c). */
void ddb_pool_flush(ddb_pool *p);
/* A connection paused its reading: resume it from the pump, next iteration. */
void ddb_pool_resume_later(ddb_pool *p);
/* The connection gave up (DEAD). */
void ddb_pool_conn_dead(ddb_pool *p, ddb_conn *c);
/* A libuv handle or request of the pool finished closing. */
void ddb_pool_handle_closed(ddb_pool *p);
/* Next site for a connection's next attempt (HA / load balance). */
int ddb_pool_next_site(ddb_pool *p, int site);
int ddb_pool_is_stopping(const ddb_pool *p);
/* Milliseconds for the connect + handshake deadline and first back-off delay. */
uint64_t ddb_pool_connect_timeout_ms(const ddb_pool *p);
uint64_t ddb_pool_backoff_ms(const ddb_pool *p, int attempt);

/* ---- ddb_ha.c ---- */
int ddb_ha_build_sites(ddb_pool *p, const ddb_pool_config *cfg, char *err, size_t errlen);
int ddb_ha_initial_site(const ddb_pool *p, int conn_index);
void ddb_ha_client_id(char *out, size_t outlen);

/* ---- queue / completion internals shared with ddb_thread.c ---- */
void ddb_pool_complete(ddb_pool *p, ddb_task *t, int state);
int ddb_pool_enqueue(ddb_pool *p, ddb_task *t, char *err, size_t errlen);
/* Queue length / limit checks for the thread driver. */
int64_t ddb_pool_queue_limit(const ddb_pool *p);

#endif
