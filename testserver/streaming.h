/* streaming.h — ddbmini's stream tables and their publisher (docs/STREAMING.md).
 *
 * A stream table is an ordinary in-memory table marked TBL_STREAM; once shared, every
 * row appended to it keeps its number (its offset) for good. A client subscribes in
 * reverse mode: on a connection whose requests carry flag 131072 it calls
 * publishTable(host, 0, table, action, offset, filter, ...); after the reply has
 * been written the connection stops taking requests and ddbmini pushes messages over
 * it (the schema first, then batches of rows) until the subscription ends. With a
 * non-zero port (listen mode) ddbmini connects back to host:port instead and
 * pushes there.
 *
 * Threads: publishTable and the other built-ins run on evaluation threads and only
 * change the subscription list under its lock; all writing happens on the loop
 * thread, woken through one uv_async. The store lock (tables.h) is always taken
 * before the subscription lock, never the other way round. */
#ifndef DDBMINI_STREAMING_H
#define DDBMINI_STREAMING_H

#include <stdint.h>
#include <uv.h>
#include "eval.h"

#define STREAM_FLAG_REVERSE 131072      /* request flag of a reverse-mode connection */
#define STREAM_MAX_SUBS 256             /* subscriptions in the process */
#define STREAM_BATCH_ROWS 1024          /* rows per data message at most */
#define STREAM_SCAN_ROWS 65536          /* rows a filter scan looks at per turn */
#define STREAM_MAX_ROWS (16LL << 20)    /* retention: rows a stream table may hold
                                           (default of --stream-max-rows) */
#define STREAM_QUEUE_BYTES (4u << 20)   /* unwritten bytes per subscriber before
                                           ddbmini waits for the socket (TCP back-pressure) */

/* ---- the server's side (server.c) ---- */
void streaming_init(uv_loop_t *loop, const char *host, int port);
void streaming_shutdown(void);          /* closes the wake-up handle, drops everything */
/* Around request_execute on an evaluation thread: the request's flag (publishTable
 * checks it), then the id of the subscription the request created (0: none). */
void streaming_request_begin(int64_t flag);
int streaming_request_end(void);
/* The response to publishTable is out: the connection becomes subscription id's
 * push channel. `close` ends the connection (called on the loop thread). 0, or -1
 * when the subscription is gone (stopped meanwhile): close the connection. */
typedef void (*stream_close_fn)(void *arg);
int streaming_attach(int id, uv_stream_t *out, stream_close_fn close, void *arg);
/* The connection of subscription id closes (or never got the reply): forget it. */
void streaming_detach(int id);

/* ---- the tables' side (builtins_tables.c) ---- */
/* Before rows are appended to a stored stream table: refuses going past the
 * retention cap. Store lock held. */
int streaming_check_room(eval_ctx *ctx, const ddb_obj *t, int64_t more);
/* Wakes the publisher (rows were added, a table dropped); any thread. */
void streaming_wake(void);

/* ---- the subscription list (builtins_streaming.c) ---- */
/* A subscription as publishTable sets it up. */
typedef struct stream_spec {
    char table[128], action[128];
    int slot;                   /* store entry of the stream table and its generation */
    unsigned gen;
    int64_t next;               /* first offset to send */
    int filter_col;             /* -1: every row */
    ddb_obj *filter;            /* filter values, or NULL; taken on success */
    struct sockaddr_in dial_to; /* listen mode: the subscriber's address; port 0:
                                   reverse mode (the running request's connection) */
} stream_spec;
const char *streaming_site(void);           /* host:port:alias of this node */
int64_t streaming_request_flag(void);       /* the flag of this thread's request */
/* Adds the subscription unless its topic exists (allowExists replaces the old one)
 * and marks it as created by the running request. 0, or -1 with ctx->err set. */
int streaming_subscribe(eval_ctx *ctx, stream_spec *spec, int allow_exists);
void streaming_stop(const char *table, const char *action);
/* Closes the subscriptions of one table (NULL: all); returns how many. */
int streaming_drop(const char *table);
/* The live subscriptions: tableName, subscriber (topic), msgOffset, actions, and
 * ddbmini's own queuedBytes (written to libuv, not yet to the socket). */
ddb_obj *streaming_stat_table(void);

/* ---- built-ins (builtins_streaming.c, listed in builtins_tables[]) ---- */
int bi_stream_table(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out);
int bi_set_filter_column(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out);
int bi_get_subscription_topic(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out);
int bi_publish_table(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out);
int bi_stop_publish_table(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out);
int bi_get_streaming_stat(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out);
int bi_fault_drop_subscribers(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out);
int bi_fault_stream_tuples(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out);
int bi_fault_stream_join_topic(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out);
int bi_fault_stream_sites(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out);
int bi_fault_stream_not_leader(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out);

#endif
