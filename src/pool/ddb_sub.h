/* ddb_sub.h — one streaming subscription (docs/STREAMING.md) on a host (ddb_host.h).
 *
 * It opens its own connection in reverse mode (flag DDB_FLAG_REVERSE_STREAMING),
 * logs in with the connection's login exchange (ddb_login.h), asks the topic
 * (getSubscriptionTopic), subscribes (publishTable) and then only reads: pushed
 * messages go through ddb_stream's parser and become deliveries, tables with the
 * schema's column names, one per message or one per batch (batch_size rows, or what
 * came within throttle_ms). The owner is told through `notify` (never re-entering it
 * from inside an owner's call) and takes deliveries with ddb_sub_take.
 *
 * States: CONNECTING → HANDSHAKE (connect, login, topic, publish) → STREAMING; a
 * failure before the first publishTable succeeded ends it (DEAD: the subscribe call
 * fails). Later, with resub a broken connection reconnects (at once, then with
 * back-off), following <NotLeader> redirects, and publishes again from the offset
 * after the last message received, so no row comes twice and none is skipped; without
 * resub it goes DEAD. Messages already received stay deliverable after a break.
 *
 * Memory: deliveries wait for the owner; past max_queued_rows the socket is paused
 * (TCP back-pressure on the publisher) until the owner took enough. */
#ifndef DDB_SUB_H
#define DDB_SUB_H

#include <stdint.h>
#include "ddb_host.h"
#include "ddb_obj.h"

typedef struct ddb_sub ddb_sub;

enum {
    DDB_SUB_CONNECTING = 1, DDB_SUB_HANDSHAKE, DDB_SUB_STREAMING, DDB_SUB_BACKOFF,
    DDB_SUB_DEAD, DDB_SUB_CLOSED
};

typedef struct ddb_sub_cfg {
    const char *host;
    int port;
    const char *table, *action;
    int64_t offset;                 /* -1: new rows only; N: from row N */
    const ddb_obj *filter;          /* vector of filter values or NULL (referenced) */
    const char *userid, *password;  /* NULL/"" user: no login */
    int login_method;               /* DDB_LOGIN_* */
    const ddb_tls_opts *tls;        /* NULL: plain TCP (copied) */
    int keepalive_sec;
    int resub;
    uint64_t connect_timeout_ms;
    uint64_t backoff_ms, backoff_max_ms;    /* first delay after a failed retry, cap */
    int64_t batch_size;             /* 0: one delivery per message */
    uint64_t throttle_ms;           /* a partial batch waits at most this long */
    int64_t max_queued_rows;        /* pause reading past this many undelivered rows */
    int64_t max_object_bytes;       /* one message's body; 0: the codec default */
} ddb_sub_cfg;

/* `notify(ud)`: deliveries wait, or the state changed (subscribed, DEAD). Called
 * from the host's reports only. */
typedef void (*ddb_sub_notify)(void *ud);

/* One delivery: a table (owned by the taker) and its offsets. */
typedef struct ddb_sub_delivery {
    ddb_obj *table;
    int64_t rows;
    int64_t last_offset;            /* msgId of its last message */
    int64_t messages;               /* pushed messages it gathers */
} ddb_sub_delivery;

typedef struct ddb_sub_stats {
    int state;
    int subscribed;                 /* publishTable succeeded at least once */
    int64_t messages, rows;         /* received (data messages, rows) */
    int64_t last_offset;            /* msgId of the last message received, -1 none */
    int64_t next_offset;            /* where a resubscription starts */
    int64_t reconnects;             /* successful resubscriptions */
    int64_t queued_rows;            /* received, not yet taken */
    int paused;                     /* reading stopped: queued_rows reached the limit */
    const char *topic;              /* "" until known */
    const char *host;               /* node currently targeted */
    int port;
    const char *last_error;         /* "" when none */
} ddb_sub_stats;

/* A new subscription (not started). NULL with err when it cannot be made. */
ddb_sub *ddb_sub_new(const ddb_host_vt *host, void *host_ud, const ddb_sub_cfg *cfg,
                     ddb_sub_notify notify, void *ud, char *err, size_t errlen);
void ddb_sub_start(ddb_sub *s);
/* Moves the oldest delivery into *d: 1, or 0 when none waits. */
int ddb_sub_take(ddb_sub *s, ddb_sub_delivery *d);
void ddb_sub_stats_get(const ddb_sub *s, ddb_sub_stats *st);
/* Ends it: nothing is reported or delivered after this call; undelivered rows are
 * dropped. The memory goes once the host let go of the stream and timers. */
void ddb_sub_close(ddb_sub *s);

/* The rows of `n` message bodies (ddb_stream_kind ROWS, ROW or TABLE; `rows` in
 * all) as one table with the schema's names and column types (ddb_sub_rows.c).
 * NULL with err (message and schema disagree, out of memory). */
ddb_obj *ddb_sub_table(const ddb_obj *schema, ddb_obj *const *bodies, int n, int64_t rows,
                       char *err, size_t errlen);

#endif
