/* ddb_task.h — the task record (private layout behind include/dolphindb/dolphindb.h's ddb_task).
 *
 * A task is created (validated, request body serialized) without touching the pool,
 * so the loop-thread driver can build it on the submitting thread. Everything after
 * creation happens on the loop thread until the task is terminal; from then on it is
 * immutable and readable from any thread holding a reference.
 *
 * The record, its request body and its text are one allocation (ddb_task.c). */
#ifndef DDB_TASK_H
#define DDB_TASK_H

/* Longest timeout, grace or delay accepted anywhere (one year, in seconds): every
 * conversion to uint64 milliseconds stays defined. */
#define DDB_MAX_SECONDS (365.0 * 24 * 3600)

#include <stdatomic.h>
#include <stdint.h>
#include "dolphindb.h"
#include "ddb_buf.h"
#include "ddb_proto.h"

struct ddb_conn;

/* Field order and widths keep the record small: a queue of 100 000 tasks is 100 000
 * records (issue 14: under 250 bytes per queued task). Pointers and 64-bit values
 * first, then 32-bit, then bytes, so the compiler adds no padding in between. */
struct ddb_task {
    atomic_int refcount;
    atomic_int state;                /* DDB_TASK_* */
    int64_t id;
    void *ud;

    /* the request body sits right after the record in its block (ddb_task_body):
     * body text + serialized payload, read-only, never freed or grown */
    size_t body_size;                /* the whole body */
    size_t body_len;                 /* length of the text part (header's count) */

    double timeout;                  /* seconds, 0 none (pool default applied) */
    int64_t max_result_bytes;        /* spec's budget for its result, 0: the pool's */
    uint64_t submit_ms;              /* uv_now at submission */
    uint64_t deadline_ms;            /* 0: none */
    uint64_t end_ms;
    int64_t seqno;                   /* HA: assigned at first dispatch */
    const char *client_id;           /* HA: the first connection's client id (in that
                                        connection, which lives as long as the pool) */

    /* results (written once, before the terminal state is published); what only
     * a failure or the server's output brings is allocated when it comes */
    ddb_obj *result;
    struct ddb_task_out *out;        /* NULL: no error text and no messages */

    /* fetchSize results and progress (loop thread only; ddb_fetch.c) */
    ddb_obj *block;                  /* the block the consumer has not taken yet */
    int64_t bytes_in;                /* response bytes received so far */
    int64_t rows_in;                 /* rows of the blocks received so far */
    int64_t blocks_in;               /* blocks received so far */

    /* pool bookkeeping (loop thread only) */
    struct ddb_task *qprev, *qnext;  /* FIFO queue links */
    struct ddb_task *hnext;          /* id table chain */
    struct ddb_task *dnext;          /* completion delivery list */

    int conn_index;                  /* last connection that ran it, -1 none */
    int resends;                     /* HA resends so far */
    int32_t fetch_size;              /* behavior: rows per block, 0 none */

    uint8_t flag;                    /* behavior: DDB_FLAG_* bits (HA fields come from
                                        seqno and client_id at dispatch) */
    int8_t priority;                 /* behavior: 0..8 */
    int8_t parallelism;              /* behavior: 1..64 */
    uint8_t kind;
    uint8_t has_user_id;
    uint8_t id_assigned;             /* auto id already set (by the thread driver) */
    uint8_t replaced;                /* a newer same-id task took its id */
    uint8_t blockwise;               /* the result came as blocks (docs/PROTOCOL.md §1.8) */
    uint8_t skip_blocks;             /* the consumer left: drop the rest as it comes */
    uint8_t in_queue;
    uint8_t left_queue;              /* has left the queue once (HA re-queues do not
                                        count again toward the thread driver's limit) */
    uint8_t in_table;
};

/* What a task keeps besides its result, only when there is any. */
struct ddb_task_out {
    char *error;                     /* "task <id>: <what> (script: <text>)" */
    char *server_error;              /* the server's own text, for server errors */
    char **msgs;                     /* the server's output lines */
    int nmsgs;
};

/* ddb_task_state_is_terminal(ddb_task_state(t)) for the pool's hot paths, inline. */
static inline int ddb_task_is_over(const struct ddb_task *t)
{
    int st = atomic_load_explicit(&((struct ddb_task *)t)->state, memory_order_acquire);
    return st >= DDB_TASK_DONE && st <= DDB_TASK_ABANDONED;
}

/* The request body: right after the record, in the same block (ddb_task.c). */
static inline const char *ddb_task_body(const struct ddb_task *t)
{
    return (const char *)(t + 1);
}


/* Validate `spec` and build the task (one reference for the caller). NULL with err
 * filled; *code is DDB_EINVAL or DDB_ENOMEM. `default_timeout` comes from the pool. */
ddb_task *ddb_task_create(const ddb_task_spec *spec, double default_timeout,
                          int compress, int *code, char *err, size_t errlen);

/* Store the failure message "task <id>: <what> (script: <text>)" and, for server
 * errors, the server's text. Must be called before the terminal state is set. */
void ddb_task_set_error(ddb_task *t, const char *server_error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Replace the task's output lines with `msgs` (n of them; taken over, freed here if
 * they cannot be kept for want of memory). */
void ddb_task_set_msgs(ddb_task *t, char **msgs, int n);

/* Publish the terminal state (release store); a failure without a message gets the
 * state's name. (Inline: it runs once per task.) */
static inline void ddb_task_finish(ddb_task *t, int state, uint64_t now_ms)
{
    t->end_ms = now_ms;
    if (state != DDB_TASK_DONE && !(t->out && t->out->error))
        ddb_task_set_error(t, NULL, "%s", ddb_task_state_name(state));
    atomic_store_explicit(&t->state, state, memory_order_release);
}

#endif
