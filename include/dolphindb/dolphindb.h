/* dolphindb.h — public C API of the DolphinDB client core: an asynchronous connection
 * pool on libuv. No Lua here; the Lua binding and examples/seed_pool.c build on it.
 *
 * Model
 * -----
 * A pool owns `thread_num` TCP connections to one or more DolphinDB nodes. Callers
 * submit tasks (a script, a function call with arguments, or a variable upload). Each
 * task waits in one FIFO queue until a connection in the READY state is free, runs
 * there (one request per connection at a time), and ends in exactly ONE terminal
 * state: DONE, FAILED, CANCELLED or ABANDONED (by shutdown). For every accepted task
 * the completion callback is called exactly once, when it reaches its terminal state.
 *
 * Two ways to drive the pool:
 *   1. Inline: the pool lives on a uv_loop_t the caller owns and runs (ddb_pool_*).
 *      Every pool function must be called on the loop's thread. The completion
 *      callback is called only from inside uv_run(), never from inside a ddb_* call,
 *      so a caller may queue completions and resume its own coroutines after uv_run
 *      returns.
 *   2. Loop thread: the pool runs on a libuv loop in a thread the pool starts
 *      (ddb_pool_thread_*). Submission and cancellation are thread-safe; completed
 *      tasks are pushed to a queue and signalled on a file descriptor the caller
 *      polls (nginx: a cosocket / pump), then popped with ddb_pool_thread_poll().
 *
 * Tasks are handles (ddb_task *) with a reference count. A task returned by submit
 * carries one reference owned by the caller; release it with ddb_task_unref() when
 * done. After a task is terminal its state, result, error and messages never change,
 * so they may be read from any thread that holds a reference.
 *
 * Task ids. Every task has a 64-bit id (ddb_task_id()):
 *   - a user id (>= 0) given in the spec (Python's addTask). User ids live in the
 *     pool's id table: ddb_pool_find() looks them up. Submitting a new task with an id
 *     already in the table REPLACES the older task: the older one is cancelled if it is
 *     still queued, its result is discarded if it already finished or is running (it
 *     still completes once, its callback is still called), and the id now names the
 *     new task.
 *   - otherwise an automatic id (< 0, counting down from -1) that is never reused
 *     and never enters the id table, so auto ids and user ids cannot collide.
 *
 * Defaults (documented choices, see docs/DESIGN.md "Task semantics"):
 *   clear_memory = 1 for every kind of submission (Python's run default; Python's
 *   addTask default of False is NOT copied), priority 4, parallelism 64, no fetch
 *   size (block-wise results are rejected with DDB_EINVAL), no timeout unless the
 *   pool config sets one.
 *
 * Cancelling a RUNNING task closes its connection and opens a new one (re-login,
 * initial script); the task ends CANCELLED immediately. Chosen over running
 * cancelConsoleJob from a side connection because it needs no extra connection or
 * job-id lookup and always frees the pool's connection at once. A server keeps
 * executing the job of a closed session, so (cancel_on_server, the default) the
 * reconnected connection first asks the same node to cancel the jobs of the session
 * it abandoned (getConsoleJobs filtered by that session id, then cancelConsoleJob),
 * as an urgent request, before it takes tasks again; a task timeout works the same
 * way.
 *
 * High availability: every request carries the clientId of the connection that
 * first sent it and a sequence number; when the connection breaks the task is
 * re-sent (at most nsites + 1 times) with the NEGATED sequence number so a server
 * that already executed it answers from its cache. <NotLeader>host:port answers
 * move that connection to the named node and re-run the task there.
 *
 * SIGPIPE. libuv writes to sockets with write(), and a write on a connection the
 * server reset (for instance a FIN followed by an RST) raises SIGPIPE, whose default
 * action kills the process. The library therefore never leaves SIGPIPE at its
 * default: ddb_pool_new() and ddb_pool_thread_start() call ddb_ignore_sigpipe(),
 * which sets it to SIG_IGN when (and only when) it is SIG_DFL, as network runtimes
 * (Go, Node, nginx) do; a handler the application installed is kept. The loop
 * thread of ddb_pool_thread_* also blocks SIGPIPE for itself, so it is safe even if
 * the application restores the default later. An application that needs SIGPIPE's
 * default action for its own pipes after creating a pool must run the pool on the
 * loop-thread driver (its inline loop would be exposed again).
 *
 * Errors: functions returning int return 0 (DDB_OK) or a negative DDB_E* code and,
 * where an `err` buffer is taken, a one-line message naming what failed.
 */
#ifndef DOLPHINDB_H
#define DOLPHINDB_H

#include <stddef.h>
#include <stdint.h>
#include "ddb_obj.h"

#ifdef __cplusplus
extern "C" {
#endif

struct uv_loop_s;                       /* libuv's uv_loop_t */

/* ---------------------------------------------------------------- return codes */
enum {
    DDB_OK = 0,
    DDB_EINVAL = -1,        /* invalid argument or option (message says which) */
    DDB_ENOMEM = -2,        /* allocation failed */
    DDB_ESHUTDOWN = -3,     /* the pool is shut down (or its open failed) */
    DDB_EFULL = -4,         /* the bounded queue is full (policy DDB_FULL_FAIL, or the
                               inline driver, which never blocks) */
    DDB_ENOTFOUND = -5,     /* no task with that user id */
    DDB_ESTATE = -6,        /* operation not valid in the task's current state */
    DDB_ETIMEDOUT = -7      /* a blocking wait (thread driver only) timed out */
};

/* ---------------------------------------------------------------- task states */
enum {   /* task states (ddb_task_state()) */
    DDB_TASK_QUEUED = 0,    /* accepted, waiting for a free READY connection */
    DDB_TASK_RUNNING = 1,   /* request sent on a connection, response pending */
    DDB_TASK_DONE = 2,      /* terminal: success; ddb_task_result() may hold an object */
    DDB_TASK_FAILED = 3,    /* terminal: server error, connection error, timeout */
    DDB_TASK_CANCELLED = 4, /* terminal: ddb_task_cancel() or replaced by a same-id task */
    DDB_TASK_ABANDONED = 5  /* terminal: the pool was shut down before it finished */
};

const char *ddb_task_state_name(int state);     /* "QUEUED", "DONE", ... */
int ddb_task_state_is_terminal(int state);      /* 1 for DONE..ABANDONED */

/* ---------------------------------------------------------------- pool config */
typedef struct ddb_site {
    const char *host;       /* host name or IPv4/IPv6 literal */
    int port;
} ddb_site;

/* Queue-full policy for bounded queues. */
enum { DDB_FULL_FAIL = 0, DDB_FULL_WAIT = 1 };

typedef struct ddb_task ddb_task;
typedef struct ddb_pool ddb_pool;

/* Called exactly once per accepted task when it reaches a terminal state (inline
 * driver: from inside uv_run on the loop thread). `task` is borrowed: take a
 * reference with ddb_task_ref() to keep it beyond the call. `task_ud` is the spec's
 * `ud`; `pool_ud` is the config's `cb_ud`. The callback may call any ddb_pool_* /
 * ddb_task_* function (including submit) but must not free the pool. */
typedef void (*ddb_complete_cb)(ddb_pool *pool, ddb_task *task, void *task_ud,
                                void *pool_ud);

/* Log levels of the pool's events (ddb_pool_config.log_level). */
enum { DDB_LOG_DEBUG = 0, DDB_LOG_INFO = 1, DDB_LOG_WARN = 2, DDB_LOG_ERROR = 3,
       DDB_LOG_OFF = 4 };
const char *ddb_log_level_name(int level);      /* "debug", "info", "warn", "error" */

/* The pool's event log: connection opened, lost, reconnected, failed over to another
 * site, gave up, login refused, a running task cancelled or timed out, ... The core
 * does no I/O of its own: it formats one line (no trailing newline, never quoting
 * the password) and hands it here. Inline driver: called on the loop thread, inside
 * the loop's callbacks or inside the ddb_pool_* / ddb_task_cancel call that caused
 * the event; loop-thread driver: on the pool's thread. Record the line and return:
 * call no ddb_* function from it. `msg` is borrowed for the call. */
typedef void (*ddb_log_cb)(ddb_pool *pool, int level, const char *msg, void *ud);

enum {   /* ddb_pool_config.login_method */
    DDB_LOGIN_AUTO = 0,         /* SCRAM; the encrypted login where SCRAM is not offered */
    DDB_LOGIN_SCRAM = 1,        /* SCRAM-SHA-256 only */
    DDB_LOGIN_ENCRYPTED = 2,    /* getDynamicPublicKey + login(RSA(user), RSA(pw), true) */
    DDB_LOGIN_PLAIN = 3         /* login(user, pw, false): the password in clear */
};

typedef struct ddb_pool_config {
    const char *host;           /* entry node (required unless `sites` is given) */
    int port;                   /* entry port */
    int thread_num;             /* number of connections, >= 1 (default 10) */
    const char *userid;         /* NULL or "": no login */
    const char *password;
    int login_method;           /* DDB_LOGIN_AUTO (default): SCRAM, else the
                                   RSA-encrypted login; never plain text unless
                                   DDB_LOGIN_PLAIN is chosen (docs/SECURITY.md) */
    int login_in_connect;       /* 1: send login lines inside `connect` (R3 style);
                                   0 (default): function login(user, pwd, false) */
    const char *initial_script; /* run after every (re)connect + login; NULL: none */

    int reconnect;              /* 1: a broken connection reconnects (default 1) */
    int try_reconnect_nums;     /* rounds of reconnect attempts (one attempt per site
                                   per round) before a broken connection is marked
                                   DEAD; -1 unlimited (default -1). The initial open
                                   makes max(1, try_reconnect_nums) rounds, never an
                                   unbounded number. When every connection is DEAD,
                                   queued tasks fail ("no live connection ...") and
                                   the next submit starts a fresh bounded attempt. */
    int open_lazily;            /* 1: the open never fails: the pool is OPEN at once,
                                   its connections keep trying (with the back-off,
                                   try_reconnect_nums rounds, -1 for ever) until the
                                   server answers, and tasks wait in the queue
                                   meanwhile. Implies reconnect. For long-lived hosts
                                   (nginx workers); default 0 */
    double reconnect_delay;     /* first back-off delay in seconds (default 0.1);
                                   doubles per failed attempt up to 2 s */
    double connect_timeout;     /* seconds for TCP connect + handshake + login
                                   (default 10) */
    int keepalive_sec;          /* TCP keep-alive idle seconds; 0 disables (default 30) */

    int high_availability;      /* 1: requests carry clientId + seqNo; a task whose
                                   connection breaks is re-sent (negated seqNo) on
                                   a reconnected connection, possibly another site;
                                   <NotLeader> redirects are followed */
    const ddb_site *sites;      /* HA / load-balance site list (may be NULL); the entry
                                   host:port is added first if not in the list */
    int nsites;
    int load_balance;           /* with sites: connection i starts on site i mod
                                   nsites (that spread happens with more than one
                                   site anyway, HA or not). Without sites: connection
                                   0 asks the entry node for the cluster's nodes
                                   (rpc(getControllerAlias(), getClusterPerf)), the
                                   live data and compute nodes become the site list
                                   and the other connections start spread over them
                                   (fewest of the pool's first, then least loaded);
                                   a failed attempt moves a connection to the node
                                   with fewest and the list is asked again (a node
                                   that left it loses its idle connections). A
                                   server that cannot answer leaves the pool on the
                                   entry node (a warning in the event log) */
    int compress;               /* 1: set the compress flag (64): the server may send
                                   compressed tables (decoded transparently) */

    int queue_limit;            /* max queued (not running) tasks; 0 = unbounded.
                                   Loop-thread driver: counts tasks submitted and not
                                   yet started (including those in transit). */
    double task_timeout;        /* default per-task timeout in seconds; 0 = none.
                                   Measured from submission; a task that times out
                                   while RUNNING fails and its connection is
                                   recycled (closed and reopened). */
    double shutdown_grace;      /* seconds running tasks may still finish after
                                   ddb_pool_shutdown(); then they are ABANDONED and
                                   their connections closed (default 0: abandon now) */

    ddb_complete_cb on_complete; /* may be NULL (then poll task states) */
    ddb_complete_cb on_block;   /* a block of a fetch_size task is ready to take
                                   (inline pool; same rules as on_complete); may be
                                   NULL */
    void *cb_ud;

    int64_t max_result_bytes;   /* memory one decoded result may take before the
                                   response is rejected (the task fails, the
                                   connection is replaced); 0: DDB_DEFAULT_MAX_RESULT
                                   (1 GiB). Every cell counts, VOID cells too (8 bytes
                                   each: what expanding them costs), so a few bytes
                                   from the server cannot declare gigabytes. Memory
                                   is committed only as bytes arrive. Guards against a
                                   hostile or broken server; see docs/SECURITY.md. */

    /* TLS on the API port (servers with enableHTTPS). Unlike the official clients
     * the default is to verify the certificate chain and the server's name. */
    int enable_ssl;             /* 1: TLS from the first byte; default 0 */
    int ssl_verify;             /* 1 (default): verify chain and name; 0: encrypt only */
    const char *ssl_ca_file;    /* PEM CA bundle; NULL: the system's trust store */
    const char *ssl_server_name;/* name to verify (and SNI); NULL: the host/site name */

    int cancel_on_server;       /* 1 (default): a running task cancelled or timed out
                                   has its server job cancelled too: the connection,
                                   reconnected to the same node, sends
                                   cancelConsoleJob for the jobs of the session it
                                   abandoned (urgent) before taking tasks again.
                                   Best effort; the outcome goes to the event log */

    ddb_log_cb on_log;          /* event log; NULL (default): no event is even formatted */
    void *log_ud;
    int log_level;              /* DDB_LOG_*: events below it are skipped (WARN) */
} ddb_pool_config;

/* Set SIGPIPE to SIG_IGN if its action is the default (see "SIGPIPE" above).
 * Returns 1 when it changed it, 0 when it left an application's choice alone, -1 on
 * error. Called by every pool constructor and by the Lua module when it is loaded. */
int ddb_ignore_sigpipe(void);

/* Default per-result budget of a pool (max_result_bytes = 0). */
#define DDB_DEFAULT_MAX_RESULT ((int64_t)1 << 30)

/* Fill `cfg` with the defaults documented above (host NULL, port 8848). */
void ddb_pool_config_init(ddb_pool_config *cfg);

/* ---------------------------------------------------------------- task spec */
enum {   /* ddb_task_spec.kind */
    DDB_KIND_SCRIPT = 0,        /* run `text` as a script */
    DDB_KIND_FUNCTION = 1,      /* call function `text` with args[0..nargs) */
    DDB_KIND_UPLOAD = 2         /* bind names[i] = args[i] in the session (the pool
                                   picks the connection, so this is useful mainly
                                   with thread_num = 1 or clear_memory = 0 + an
                                   initial script; returns no object) */
};

typedef struct ddb_task_spec {
    int kind;                   /* DDB_KIND_* */
    const char *text;           /* script text or function name (NUL-terminated,
                                   must not be NULL; an empty script is a legal
                                   script and runs like any other) */
    ddb_obj *const *args;       /* FUNCTION / UPLOAD objects (borrowed: the pool takes
                                   its own references / serializes at submit) */
    int nargs;
    const char *const *names;   /* UPLOAD: nargs variable names */

    int has_id;                 /* 1: `id` is a user id (>= 0), see "Task ids" */
    int64_t id;

    int clear_memory;           /* -1: default (1); 0 or 1 */
    int priority;               /* -1: default (4); 0..8 */
    int parallelism;            /* -1: default (64); 1..64 */
    int fetch_size;             /* 0: the result arrives whole; >= DDB_MIN_FETCH_SIZE:
                                   a table result arrives in blocks of at most this
                                   many rows, handed over one at a time (see
                                   "Block-wise results"; inline pool only) */
    double timeout;             /* seconds; 0: pool default; < 0: no timeout */
    int on_full;                /* DDB_FULL_FAIL / DDB_FULL_WAIT (thread driver: wait
                                   blocks the submitting thread; inline: always
                                   DDB_EFULL, never blocks: wait for a completion
                                   callback, which frees a slot, and submit again) */
    double full_wait;           /* DDB_FULL_WAIT: max seconds to block; <= 0 forever */
    int64_t max_result_bytes;   /* this task's result budget (see the pool config);
                                   0: the pool's max_result_bytes */
    void *ud;                   /* passed back to the completion callback */
} ddb_task_spec;

/* Fill `spec` with defaults: SCRIPT, no args, auto id, all options default. */
void ddb_task_spec_init(ddb_task_spec *spec);

/* ---------------------------------------------------------------- tasks */
ddb_task *ddb_task_ref(ddb_task *t);            /* returns t; thread-safe */
void ddb_task_unref(ddb_task *t);               /* NULL-safe; thread-safe */

int ddb_task_state(const ddb_task *t);          /* DDB_TASK_* (atomic read) */
int64_t ddb_task_id(const ddb_task *t);         /* user id (>= 0) or auto id (< 0) */
int ddb_task_has_user_id(const ddb_task *t);
void *ddb_task_ud(const ddb_task *t);           /* the spec's ud */
const char *ddb_task_text(const ddb_task *t);   /* script / function name */

/* Terminal DONE: the decoded result (borrowed; ddb_obj_ref() to keep it), or NULL
 * when the server returned no object (e.g. an upload, a void function).
 * Not DONE: NULL. */
ddb_obj *ddb_task_result(const ddb_task *t);
/* Like ddb_task_result but transfers the task's reference to the caller (the task
 * then reports NULL). Only on the thread that owns the task's completion. */
ddb_obj *ddb_task_take_result(ddb_task *t);

/* FAILED / CANCELLED / ABANDONED: a one-line message that names the task id, the
 * script (shortened to 200 bytes) and what happened, e.g.
 *   "task 12: server error: Syntax Error: [line #1] ... (script: foo bar)"
 *   "task -3: connection to 127.0.0.1:8848 lost while running (script: ...)"
 * DONE / not terminal: NULL. */
const char *ddb_task_error(const ddb_task *t);
/* The server's own error text when the failure was a server error line, else NULL. */
const char *ddb_task_server_error(const ddb_task *t);

/* print() output (MSG blocks) the server sent while this task ran, in order. */
int ddb_task_msg_count(const ddb_task *t);
const char *ddb_task_msg(const ddb_task *t, int i);   /* NULL when out of range */

/* Seconds from submission to the terminal state (0 while not terminal). */
double ddb_task_elapsed(const ddb_task *t);

/* ---------------------------------------------------------------- block-wise results
 * A task submitted with fetch_size >= DDB_MIN_FETCH_SIZE to the inline pool gets a
 * table result as a sequence of blocks (docs/PROTOCOL.md §1.8). The connection hands
 * over one block at a time and reads nothing more until the consumer took it, so
 * memory holds about one block whatever the result's size; the task holds its
 * connection until the last block was read. on_block (ddb_pool_config) tells when a
 * block is ready. The task ends DONE with ddb_task_result NULL after the last block
 * (ddb_task_blockwise 1), or DONE with the whole object when the server sent the
 * result in one piece (not a table), or FAILED/CANCELLED as any task. Loop thread
 * only. */
#define DDB_MIN_FETCH_SIZE 8192

/* The ready block (a reference for the caller), or NULL when none is ready; taking it
 * lets the connection read the next one (from the loop, later: never inside this
 * call). A block received before the task ended can still be taken after. */
ddb_obj *ddb_task_take_block(ddb_pool *p, ddb_task *t);
/* The consumer is gone: drop the ready block and every later one as it arrives; the
 * response is still read to its end (the protocol has no way to stop it), so the
 * connection and its session stay usable. A no-op on a task that ended. */
void ddb_task_skip_blocks(ddb_pool *p, ddb_task *t);
/* 1 when the result came (is coming) as blocks. */
int ddb_task_blockwise(const ddb_task *t);
/* Response bytes received so far (all of them, header and print output included),
 * and the rows received so far: of the blocks (block-wise), or of a DONE whole
 * result (table or vector; 0 for other forms), -1 while unknown. */
int64_t ddb_task_bytes_received(const ddb_task *t);
int64_t ddb_task_rows_received(const ddb_task *t);
/* Index of the connection that ran (or is running) the task, -1 if none. With the
 * loop-thread driver read it only once the task is terminal. */
int ddb_task_conn_index(const ddb_task *t);

/* ---------------------------------------------------------------- inline pool */
enum {   /* pool states (ddb_pool_state()) */
    DDB_POOL_OPENING = 0,   /* connections are being opened */
    DDB_POOL_OPEN = 1,      /* every connection reached READY once */
    DDB_POOL_FAILED = 2,    /* open failed: ddb_pool_error() names host:port and why;
                               queued tasks failed; the pool is shutting down */
    DDB_POOL_SHUTDOWN = 3,  /* ddb_pool_shutdown() called; handles closing */
    DDB_POOL_CLOSED = 4     /* every libuv handle closed: ddb_pool_free() is cheap */
};

/* Create a pool on `loop` and start opening its connections concurrently. Returns
 * NULL with `err` filled on an invalid config. The open finishes while the caller
 * runs the loop: ddb_pool_on_state() reports when it leaves DDB_POOL_OPENING, or
 * check ddb_pool_state() between iterations, e.g.
 *     while (ddb_pool_state(p) == DDB_POOL_OPENING) uv_run(loop, UV_RUN_ONCE);
 * Tasks may be submitted at once; they wait in the queue until connections are READY
 * (and fail if the open fails). The config (strings, sites) is copied. */
ddb_pool *ddb_pool_new(struct uv_loop_s *loop, const ddb_pool_config *cfg,
                       char *err, size_t errlen);

int ddb_pool_state(const ddb_pool *p);          /* DDB_POOL_* */
const char *ddb_pool_state_name(int state);

/* State hook: called once per change of ddb_pool_state() (OPENING -> OPEN or FAILED,
 * -> SHUTDOWN, -> CLOSED), so a host waits for the open or the close without polling.
 * It runs where the change happens: inside the loop's callbacks, and for SHUTDOWN
 * inside ddb_pool_shutdown() / ddb_pool_free() themselves. Record the change and
 * return: call no ddb_pool_* function from it but ddb_pool_state / ddb_pool_error.
 * A change that happened before the hook was set is not replayed: read
 * ddb_pool_state() after setting it (an open can fail inside ddb_pool_new). CLOSED is
 * the last call; after it the pool may be freed. NULL removes the hook. */
typedef void (*ddb_state_cb)(ddb_pool *pool, int state, void *ud);
void ddb_pool_on_state(ddb_pool *p, ddb_state_cb cb, void *ud);
/* Replace the event log hook and its level (NULL or DDB_LOG_OFF: none). Inline
 * driver only, on the loop's thread. */
void ddb_pool_on_log(ddb_pool *p, ddb_log_cb cb, void *ud, int level);
/* The open failure (DDB_POOL_FAILED) or "" */
const char *ddb_pool_error(const ddb_pool *p);

/* Submit a task. On success returns DDB_OK and *out holds a new reference (out may be
 * NULL if the caller does not want the handle; the pool keeps its own). Never blocks.
 * Errors: DDB_EINVAL (bad spec: message says which field), DDB_ESHUTDOWN,
 * DDB_EFULL, DDB_ENOMEM (argument serialization failed). A rejected task has no
 * callback. */
int ddb_pool_submit(ddb_pool *p, const ddb_task_spec *spec, ddb_task **out,
                    char *err, size_t errlen);

/* Cancel a task: QUEUED → CANCELLED (removed from the queue); RUNNING → CANCELLED
 * (its connection is closed and reopened). DDB_ESTATE if already terminal. */
int ddb_task_cancel(ddb_pool *p, ddb_task *t);

/* Look up a user id: returns a NEW reference (ddb_task_unref it) or NULL. */
ddb_task *ddb_pool_find(ddb_pool *p, int64_t user_id);
/* Remove a user id from the id table (Python's getData semantics: a fetched result is
 * released). A still-queued or running task keeps running and still completes.
 * DDB_ENOTFOUND if the id is unknown. */
int ddb_pool_forget(ddb_pool *p, int64_t user_id);

/* Shut down (idempotent): stop accepting tasks; queued tasks end ABANDONED with
 * "pool is shut down"; running tasks get `shutdown_grace` seconds, then end
 * ABANDONED; reconnect attempts stop; every handle is closed. Keep running the loop
 * until ddb_pool_state() is DDB_POOL_CLOSED (callbacks are still delivered). */
void ddb_pool_shutdown(ddb_pool *p);

/* Free the pool. If it is not CLOSED yet it is shut down and the memory is released
 * from the last close callback (keep running the loop; no more callbacks are called
 * after ddb_pool_free — tasks still pending are ABANDONED silently, their handles
 * stay valid for holders of references). */
void ddb_pool_free(ddb_pool *p);

/* ---------------------------------------------------------------- pool inspection */
enum {   /* connection states (ddb_conn_info.state) */
    DDB_CONN_IDLE = 0,          /* not started / closed */
    DDB_CONN_CONNECTING = 1,    /* TCP connect in progress */
    DDB_CONN_HANDSHAKE = 2,     /* connect / login / initial script in progress */
    DDB_CONN_READY = 3,         /* free: can take a task */
    DDB_CONN_BUSY = 4,          /* running a task */
    DDB_CONN_BACKOFF = 5,       /* waiting before the next reconnect attempt */
    DDB_CONN_DEAD = 6,          /* gave up (reconnect off or attempts exhausted) */
    DDB_CONN_CLOSING = 7
};
const char *ddb_conn_state_name(int state);

typedef struct ddb_conn_info {
    int state;                  /* DDB_CONN_* */
    char host[256];
    int port;
    char session_id[32];        /* decimal, "" before the first connect reply */
    int64_t tasks_run;          /* requests completed on this connection */
    int64_t reconnects;         /* successful reconnects */
    char last_error[256];       /* last connection-level error, "" if none */
} ddb_conn_info;

typedef struct ddb_pool_stats {
    int64_t queued, running;            /* now */
    int64_t done, failed, cancelled, abandoned;  /* totals since creation */
    int conns, conns_ready, conns_busy; /* connection counts by state */
} ddb_pool_stats;

void ddb_pool_get_stats(const ddb_pool *p, ddb_pool_stats *out);
int ddb_pool_conn_count(const ddb_pool *p);
/* DDB_EINVAL when i is out of range. */
int ddb_pool_conn_info(const ddb_pool *p, int i, ddb_conn_info *out);
/* Session id of connection i (like Python's getSessionId, one per connection). */
const char *ddb_pool_session_id(const ddb_pool *p, int i);

/* ---------------------------------------------------------------- loop-thread pool */
/* docs/DESIGN.md "nginx" option A: the pool runs on its own loop thread. Thread-safe. */
typedef struct ddb_pool_thread ddb_pool_thread;

/* Start the thread and open the pool; blocks until the open completes. Returns NULL
 * with `err` filled (naming host:port) when the config is invalid or the open failed.
 * cfg->on_complete and cfg->on_block must be NULL (completions go through the queue
 * below; fetch_size is refused: block-wise results need the inline pool). */
ddb_pool_thread *ddb_pool_thread_start(const ddb_pool_config *cfg,
                                       char *err, size_t errlen);

/* A file descriptor that becomes readable when completed tasks are waiting. Do not
 * read or close it; ddb_pool_thread_poll() drains it. */
int ddb_pool_thread_fd(const ddb_pool_thread *tp);

/* Thread-safe submit; same contract as ddb_pool_submit. With spec->on_full ==
 * DDB_FULL_WAIT and a full queue it blocks up to spec->full_wait seconds
 * (DDB_ETIMEDOUT). *out receives a new reference. */
int ddb_pool_thread_submit(ddb_pool_thread *tp, const ddb_task_spec *spec,
                           ddb_task **out, char *err, size_t errlen);

/* Pop up to `max` completed tasks into out[] (each a NEW reference the caller must
 * unref). Returns the number popped (0 when none). Never blocks. */
int ddb_pool_thread_poll(ddb_pool_thread *tp, ddb_task **out, int max);

/* Block until at least one completion is queued or `timeout` seconds pass
 * (< 0: forever). Returns 1 when completions are waiting, 0 on timeout. */
int ddb_pool_thread_wait(ddb_pool_thread *tp, double timeout);

/* Thread-safe cancel (asynchronous: the task's completion follows). */
int ddb_pool_thread_cancel(ddb_pool_thread *tp, ddb_task *t);
/* Thread-safe user-id lookup / forget (run on the loop thread, waits for it). */
ddb_task *ddb_pool_thread_find(ddb_pool_thread *tp, int64_t user_id);
int ddb_pool_thread_forget(ddb_pool_thread *tp, int64_t user_id);
/* Snapshot of the stats (waits for the loop thread). */
void ddb_pool_thread_stats(ddb_pool_thread *tp, ddb_pool_stats *out);
/* Session id of connection i copied into buf ("" if out of range). */
void ddb_pool_thread_session_id(ddb_pool_thread *tp, int i, char *buf, size_t len);

/* Shut down the pool and join the thread (idempotent, blocks until every handle is
 * closed; every task has completed and is in the completion queue afterwards). */
void ddb_pool_thread_shutdown(ddb_pool_thread *tp);
/* Shut down if needed, drop queued completions, free. */
void ddb_pool_thread_free(ddb_pool_thread *tp);

#ifdef __cplusplus
}
#endif
#endif
