/* ddb_conn.h — one DolphinDB connection on libuv (private to the pool).
 *
 * States (DDB_CONN_*): IDLE → CONNECTING (TCP) → HANDSHAKE (connect request, login,
 * initial script) → READY ⇄ BUSY (one request at a time); on any failure the socket
 * is closed and the connection goes to BACKOFF, then reconnects (new session,
 * re-login, initial script), until its attempts are exhausted: DEAD. Only READY
 * connections receive tasks, so a broken connection never swallows work.
 *
 * Each attempt uses a fresh heap-allocated socket (ddb_sock) that is freed in its
 * close callback; the connection's own timer lives as long as the pool. */
#ifndef DDB_CONN_H
#define DDB_CONN_H

#include <uv.h>
#include "ddb_task.h"
#include "ddb_proto.h"

struct ddb_pool;
struct ddb_conn;

typedef struct ddb_sock {
    uv_tcp_t tcp;
    uv_connect_t creq;
    struct ddb_pool *pool;
    struct ddb_conn *conn;          /* NULL once detached (closing) */
} ddb_sock;

enum { HS_CONNECT, HS_LOGIN, HS_INIT };

typedef struct ddb_conn {
    struct ddb_pool *pool;
    int index;
    int state;                      /* DDB_CONN_* */
    int site;                       /* index into pool->sites of the current target */
    char host[256];
    int port;
    int redirected;                 /* host/port come from a <NotLeader> redirect */

    ddb_sock *sock;                 /* current socket, NULL when none */
    unsigned attempt_gen;           /* bumps per attempt: stale resolver replies */
    uv_timer_t timer;               /* handshake deadline, back-off, task deadline */
    int timer_open;

    ddb_resp resp;
    int hs_step;                    /* HS_* while HANDSHAKE */
    ddb_task *task;                 /* running task (pool holds the reference) */
    char session_id[32];
    char client_id[40];             /* HA: this connection's client id (UUID) */
    int little_endian;

    int attempts;                   /* failed attempts since the last success */
    int redirects;                  /* <NotLeader> hops since the last success */
    int max_attempts;               /* 0: unlimited */
    int ever_ready;
    int open_counted;               /* pool: counted toward the open */
    int64_t tasks_run, reconnects;
    int paused;                     /* reading stopped until the next loop iteration */
    uint64_t burst_at;              /* uv_now of the iteration `burst` counts */
    size_t burst;                   /* bytes parsed in that iteration */
    char last_error[560];
    char rbuf[65536];
} ddb_conn;

/* Set up the connection (timer, parser). Returns 0 or -1. */
int ddb_conn_init(ddb_conn *c, struct ddb_pool *pool, int index, int site);
/* Start connecting (IDLE/DEAD → CONNECTING) with a fresh attempt budget. */
void ddb_conn_start(ddb_conn *c, int max_attempts);
/* Send `t` (READY → BUSY). The caller has set t->state RUNNING. */
void ddb_conn_run(ddb_conn *c, ddb_task *t, uint64_t now_ms);
/* Drop the running task (cancel/timeout): the socket is closed and the connection
 * reconnects at once. Returns the detached task (the caller finishes it). */
ddb_task *ddb_conn_abort_task(ddb_conn *c, const char *why);
/* Switch to another node (a <NotLeader> redirect): close and reconnect there. */
void ddb_conn_redirect(ddb_conn *c, const char *host, int port);
/* Start reading again after a pause (from the pool's idle pump). */
void ddb_conn_resume(ddb_conn *c);
/* Close for good (shutdown): socket, pending resolve, timer stopped. */
void ddb_conn_close(ddb_conn *c);
/* Release the timer handle (teardown; after ddb_conn_close). */
void ddb_conn_close_timer(ddb_conn *c);
void ddb_conn_free(ddb_conn *c);   /* memory only, after every close callback */

#endif
