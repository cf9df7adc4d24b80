/* ddb_pool.h — the pool's private layout (connections reach it only through the
 * ddb_conn_events table it hands them, see ddb_conn.h). */
#ifndef DDB_POOL_H
#define DDB_POOL_H

#include "dolphindb.h"
#include "ddb_conn.h"
#include "ddb_host.h"
#include "ddb_task.h"

typedef struct ddb_site_rt {
    char host[256];
    int port;
} ddb_site_rt;

struct ddb_pool {
    const ddb_host_vt *host;        /* clock, timers, pump, streams (ddb_host.h) */
    void *host_ud;
    ddb_pool_config cfg;            /* strings below are owned copies */
    ddb_conn_settings conn_set;     /* what every connection reads (points into cfg) */
    char *userid, *password, *initial_script;
    char *ssl_ca_file, *ssl_server_name;
    ddb_tls_opts tls;               /* what the connections' streams use (enable_ssl) */
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
    ddb_host_handle *pump;          /* delivers completions, drives shutdown,
                                       resumes paused reading */
    int resume_pending;             /* some connection paused its reading */
    int pump_on;                    /* started and not stopped since (no host call
                                       to start it twice or stop it stopped) */
    int in_read;                    /* inside a connection's read (set by a response):
                                       its read_done hands completions over, the pump
                                       need not */
    ddb_host_handle *sweep;         /* queued-task deadlines */
    ddb_host_handle *grace;         /* shutdown grace for running tasks */
    uint64_t sweep_at;              /* when `sweep` fires, 0 if idle */
    int live;                       /* open handles + pending requests */
    int torn_down;                  /* pool handles are closing */
    int freed;                      /* ddb_pool_free called: free at CLOSED */
    int dispatching;
    int nready;                     /* connections READY (kept by ddb_conn.c) */

    int64_t seqno;                  /* HA: last request number */

    /* load balancing over a cluster's discovered nodes (ddb_cluster.c) */
    int cluster;                    /* loadBalance without a site list */
    int cluster_due;                /* the next handshake asks for the nodes */
    int cluster_busy;               /* one is asking */
    int deferred;                   /* connections 1.. wait for the first answer */

    /* loop-thread driver hooks (NULL inline) */
    void (*on_dequeue)(struct ddb_pool *p, void *ud);
    void *hook_ud;
    ddb_state_cb on_state;          /* ddb_pool_on_state(): every state change */
    void *state_ud;

    struct ddb_pins *pins;          /* pinned connections (ddb_pin.c), NULL: none yet */
};

/* ddb_pool_new on any host (ddb_host.h): ddb_pool_new(loop, ...) is this with the
 * libuv host; the Lua module uses it for the queue host inside nginx. */
ddb_pool *ddb_pool_new_host(const ddb_host_vt *host, void *host_ud,
                            const ddb_pool_config *cfg, char *err, size_t errlen);

/* Copy `in` to `out` (cap bytes, always terminated) with every occurrence of the
 * pool's password replaced by "***": no text the client builds may carry it. */
void ddb_pool_redact(const ddb_pool *p, const char *in, char *out, size_t cap);
int ddb_pool_is_stopping(const ddb_pool *p);

/* Every state change goes through here so the host hears of it without polling. */
static inline void ddb_pool_set_state(ddb_pool *p, int state)
{
    if (p->state == state)
        return;
    p->state = state;
    if (p->on_state)
        p->on_state(p, state, p->state_ud);
}

static inline uint64_t ddb_pool_now_ms(const ddb_pool *p)
{
    return p->host->now_ms(p->host_ud);
}

/* ---- ddb_log.c: the event log (dolphindb.h, ddb_log_cb) ---- */
static inline int ddb_pool_logs(const ddb_pool *p, int level)
{
    return level >= p->conn_set.log_min;    /* DDB_LOG_OFF when there is no hook */
}
void ddb_pool_log(ddb_pool *p, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ddb_pool_log_line(ddb_pool *p, int level, const char *line);

/* ---- ddb_ha.c ---- */
int ddb_ha_build_sites(ddb_pool *p, const ddb_pool_config *cfg, char *err, size_t errlen);
int ddb_ha_initial_site(const ddb_pool *p, int conn_index);
/* Next site for a connection's next attempt (HA / load balance). */
int ddb_pool_next_site(ddb_pool *p, int site);

/* ---- ddb_cluster.c ---- */
int ddb_cluster_discover_due(ddb_pool *p);
void ddb_cluster_discovered(ddb_pool *p, ddb_conn *c, const ddb_resp *r);
int ddb_cluster_next_site(ddb_pool *p, int failed);
/* Move c (READY) to its node if the site list changed under it; 1 if it moved. */
int ddb_cluster_settle(ddb_pool *p, ddb_conn *c);
/* Start the connections held back until the cluster's nodes were known. */
void ddb_pool_start_deferred(ddb_pool *p);

/* ---- ddb_pool.c: queue, dispatch, completions (also used by ddb_thread.c) ---- */
void ddb_pool_complete(ddb_pool *p, ddb_task *t, int state);
/* Hand every completed task to its callback now; start the pump (it delivers from
 * the loop, and drives the shutdown). */
void ddb_pool_deliver(ddb_pool *p);
void ddb_pool_pump_start(ddb_pool *p);
void ddb_pool_pump_cb(void *pool);
/* t goes back to the head of the queue (an HA resend); the caller dispatches. */
void ddb_pool_requeue(ddb_pool *p, ddb_task *t);
int ddb_pool_any_conn_alive(const ddb_pool *p);
/* Attempts one connection may make before it is DEAD (opening: the pool's open). */
int ddb_pool_attempt_budget(const ddb_pool *p, int opening);
/* The table every connection reports through. */
extern const ddb_conn_events ddb_pool_conn_events;
/* Resume paused connections from the pump, on the next loop iteration. */
void ddb_pool_resume_later(ddb_pool *p);
/* A block of t's fetchSize result arrived on c (ddb_fetch.c); 1: c waits for the
 * consumer, 0: read on. Takes b's reference. */
int ddb_pool_block_arrived(ddb_pool *p, struct ddb_conn *c, ddb_task *t, ddb_obj *b);
int ddb_pool_enqueue(ddb_pool *p, ddb_task *t, char *err, size_t errlen);
/* ddb_pin.c: run t (not queued) on c, READY, at once; give idle connections work. */
void ddb_pool_run_on(ddb_pool *p, ddb_conn *c, ddb_task *t);
void ddb_pool_dispatch(ddb_pool *p);
/* Queue length / limit checks for the thread driver. */
int64_t ddb_pool_queue_limit(const ddb_pool *p);

/* ---- ddb_pool_faults.c ---- */
/* Ends t in `state` (FAILED, CANCELLED, ABANDONED) with these messages, the password
 * taken out of both. */
void ddb_pool_fail(ddb_pool *p, ddb_task *t, int state, const char *server_error,
                   const char *what);
void ddb_pool_fail_queued(ddb_pool *p, int state, const char *what);
/* What a connection reports (ddb_conn_events): t's connection broke or t timed out
 * on it; c gave up (DEAD); c's server is not trusted. */
void ddb_pool_task_lost(ddb_pool *p, ddb_conn *c, ddb_task *t, const char *why);
void ddb_pool_task_timed_out(ddb_pool *p, ddb_conn *c, ddb_task *t);
void ddb_pool_conn_dead(ddb_pool *p, ddb_conn *c);
void ddb_pool_conn_untrusted(ddb_pool *p, ddb_conn *c);
/* Queued tasks' deadlines: the sweep timer fires at `at` (ms) at the latest. */
void ddb_pool_arm_sweep(ddb_pool *p, uint64_t at);
void ddb_pool_sweep_cb(void *pool);

/* ---- ddb_pool_ids.c: the user's task ids ---- */
/* Enters t (with a user id) in the table, replacing a task of the same id; -1: out of
 * memory. */
int ddb_pool_ids_put(ddb_pool *p, ddb_task *t);
void ddb_pool_ids_free(ddb_pool *p);

/* ---- ddb_pool_shutdown.c ---- */
void ddb_pool_start_shutdown(ddb_pool *p);
/* Abandon every running task and close every connection. */
void ddb_pool_close_all(ddb_pool *p);
/* Close the pool's own handles once nothing is left to wait for (when stopping). */
void ddb_pool_maybe_teardown(ddb_pool *p);
/* One of the pool's handles (or a connection's) has closed. */
void ddb_pool_handle_closed(ddb_pool *p);
void ddb_pool_grace_cb(void *pool);

#endif
