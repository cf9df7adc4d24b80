/* ddb_conn.h — one DolphinDB connection (private to the pool), on whatever host the
 * pool was given (ddb_host.h): it asks the host for a stream and a timer and reacts
 * to their reports; it does no I/O of its own.
 *
 * States (DDB_CONN_*): IDLE → CONNECTING (TCP) → HANDSHAKE (connect request, login,
 * initial script) → READY ⇄ BUSY (one request at a time); on any failure the socket
 * is closed and the connection goes to BACKOFF, then reconnects (new session,
 * re-login, initial script), until its attempts are exhausted: DEAD. Only READY
 * connections receive tasks, so a broken connection never swallows work.
 *
 * Each attempt opens a fresh host stream, closed (never reused) when the attempt
 * ends; the connection's own timer lives as long as the pool. */
#ifndef DDB_CONN_H
#define DDB_CONN_H

#include "ddb_host.h"
#include "ddb_login.h"
#include "ddb_task.h"
#include "ddb_proto.h"

struct ddb_conn;

/* What a connection reports to its owner (the pool) and asks of it. The connection
 * knows its owner only through this table, so it does not depend on the pool's
 * layout; `owner` is passed back unchanged. Reports may re-enter the connection (a
 * READY report can hand it a task): a connection touches nothing of itself after a
 * report but what the report's contract leaves it. */
typedef struct ddb_conn_events {
    /* ---- reports */
    void (*ready)(void *owner, struct ddb_conn *c);             /* became READY */
    /* A response for t arrived (is_error or obj in c->resp); c is READY again. */
    void (*response)(void *owner, struct ddb_conn *c, ddb_task *t);
    /* The connection broke while t ran (t already detached from c). */
    void (*lost)(void *owner, struct ddb_conn *c, ddb_task *t, const char *why);
    /* The running task's deadline passed; t is detached and c reconnects. */
    void (*timed_out)(void *owner, struct ddb_conn *c, ddb_task *t);
    void (*dead)(void *owner, struct ddb_conn *c);              /* gave up: DEAD */
    /* An attempt failed the server's certificate check (c->untrusted set); the
     * connection still retries with the back-off. May be NULL. */
    void (*untrusted)(void *owner, struct ddb_conn *c);
    /* A host stream or timer was opened / finished closing: the owner counts them
     * to know when everything is closed. */
    void (*handle_opened)(void *owner);
    void (*handle_closed)(void *owner);
    /* The end of a read callback, outside any call of the owner's: a good moment to
     * hand completions over. (Every `response` comes from a read, so read_done
     * follows it.) */
    void (*read_done)(void *owner);
    /* Block-wise result (fetchSize): block b (a reference for the owner) of t
     * arrived. Returns 1 when reading must wait for ddb_conn_unblock (the consumer
     * has it), 0 to read on (the rest is being skipped). */
    int (*block)(void *owner, struct ddb_conn *c, ddb_task *t, ddb_obj *b);
    /* Reading was paused: call ddb_conn_resume on the next loop iteration. */
    void (*resume_later)(void *owner);
    /* ---- questions */
    int (*is_stopping)(void *owner);            /* shutting down: no new attempts */
    int (*next_site)(void *owner, int site);    /* site of the next attempt (HA) */
    void (*site)(void *owner, int site, const char **host, int *port);
    uint64_t (*connect_timeout_ms)(void *owner);    /* connect + handshake deadline */
    uint64_t (*backoff_ms)(void *owner, int attempt);
    int64_t (*next_seqno)(void *owner);         /* HA request numbers, per owner */
    /* One line for the event log (the owner strips the password); called only for
     * levels >= settings.log_min. */
    void (*log)(void *owner, int level, const char *msg);
    /* Load balancing over a cluster (ddb_cluster.c): should this handshake ask for
     * the cluster's nodes? (1 marks the discovery in flight.) Its answer, or NULL
     * when the attempt failed before it came; the owner may retarget c->site. */
    int (*discover_due)(void *owner);
    void (*discovered)(void *owner, struct ddb_conn *c, const ddb_resp *r);
    /* Copy `in` to `out` (cap bytes, terminated) with the password replaced. */
    void (*redact)(void *owner, const char *in, char *out, size_t cap);
} ddb_conn_events;

/* The owner's settings every connection reads (owned by the owner, outlives it). */
typedef struct ddb_conn_settings {
    const ddb_host_vt *host;            /* streams, timers, clock */
    void *host_ud;
    const char *userid, *password;      /* password never NULL ("" for none) */
    const char *initial_script;         /* NULL or "" for none */
    int login_method;                   /* DDB_LOGIN_* */
    const ddb_tls_opts *tls;            /* NULL: plain TCP */
    int login_in_connect, compress, high_availability, reconnect;
    int keepalive_sec;
    double connect_timeout;             /* seconds, for messages */
    int64_t max_result_bytes;           /* 0: DDB_DEFAULT_MAX_RESULT */
    int log_min;                        /* DDB_LOG_*: lower events are not formatted */
    int cancel_on_server;               /* cancel an abandoned job on its node */
    int *nready;                        /* the owner's count of READY connections,
                                           kept by every state change */
} ddb_conn_settings;

enum { HS_CONNECT, HS_LOGIN, HS_INIT, HS_CANCEL, HS_DISCOVER };   /* in this order */

typedef struct ddb_conn {
    const ddb_conn_events *ev;
    void *owner;
    const ddb_conn_settings *set;
    int index;
    int state;                      /* DDB_CONN_* */
    int site;                       /* index into pool->sites of the current target */
    char host[256];
    int port;
    int redirected;                 /* host/port come from a <NotLeader> redirect */

    ddb_host_stream *stream;        /* current stream, NULL when none */
    ddb_host_handle *timer;         /* handshake deadline, back-off, task deadline */

    ddb_resp resp;
    int hs_step;                    /* HS_* while HANDSHAKE */
    ddb_login login;                /* the login exchange while hs_step is HS_LOGIN */
    ddb_task *task;                 /* running task (pool holds the reference) */
    char session_id[32];
    char client_id[40];             /* HA: this connection's client id (UUID) */
    ddb_buf head;                   /* the request line, reused (stream_write_borrowed) */
    int little_endian;

    int attempts;                   /* failed attempts since the last success */
    int redirects;                  /* <NotLeader> hops since the last success */
    int max_attempts;               /* 0: unlimited */
    int ever_ready;
    int open_counted;               /* pool: counted toward the open */
    int untrusted;                  /* the last attempt failed the certificate check */
    int64_t tasks_run, reconnects;
    char ready_host[256];           /* where it was READY last (tells a failover) */
    /* A running task was abandoned (cancel, timeout): its job goes on in this session
     * on that node until the reconnected connection cancels it there (HS_CANCEL). */
    char cancel_session[32];        /* "" when nothing is to be cancelled */
    char cancel_host[256];
    int cancel_port;
    int moving;                     /* ddb_conn_move: the next READY is planned */
    int retargeted;                 /* the owner gave c->site a new node during this
                                       attempt: a failure keeps it (not next_site) */
    int ready_port;
    int paused;                     /* reading stopped until the next loop iteration */
    int blocked;                    /* paused until the consumer took the last block */
    ddb_buf stash;                  /* bytes read past that block, fed on resume */
    uint64_t burst_at;              /* host clock of the iteration `burst` counts */
    size_t burst;                   /* bytes parsed in that iteration */
    char last_error[560];
} ddb_conn;

/* Set up the connection (timer, parser). Returns 0 or -1. */
int ddb_conn_init(ddb_conn *c, const ddb_conn_events *ev, void *owner,
                  const ddb_conn_settings *set, int index, int site);
/* Start connecting (IDLE/DEAD → CONNECTING) with a fresh attempt budget. */
void ddb_conn_start(ddb_conn *c, int max_attempts);
/* Send `t` (READY → BUSY). The caller has set t->state RUNNING. now_ms is read only
 * when t has a deadline (the caller may pass 0 otherwise). */
void ddb_conn_run(ddb_conn *c, ddb_task *t, uint64_t now_ms);
/* Drop the running task (cancel/timeout): the socket is closed and the connection
 * reconnects at once. Returns the detached task (the caller finishes it). */
ddb_task *ddb_conn_abort_task(ddb_conn *c, const char *why);
/* Switch to another node (a <NotLeader> redirect): close and reconnect there. */
void ddb_conn_redirect(ddb_conn *c, const char *host, int port);
/* Load balancing: close and reconnect to c->site (an idle or handshaking
 * connection whose node the owner changed). */
void ddb_conn_move(ddb_conn *c);
/* Start reading again after a pause (from the pool's idle pump). */
void ddb_conn_resume(ddb_conn *c);
/* The consumer took the block: read on (the owner resumes it later, from its pump,
 * through ddb_conn_resume, so nothing is reported inside the caller's call). */
void ddb_conn_unblock(ddb_conn *c);
/* Close for good (shutdown): socket, pending resolve, timer stopped. */
void ddb_conn_close(ddb_conn *c);
/* Release the timer handle (teardown; after ddb_conn_close). */
void ddb_conn_close_timer(ddb_conn *c);
void ddb_conn_free(ddb_conn *c);   /* memory only, after every close callback */

/* A random UUID for the HA clientId (ddb_ha.c). */
void ddb_ha_client_id(char *out, size_t outlen);

#endif
