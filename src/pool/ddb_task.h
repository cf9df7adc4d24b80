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

struct ddb_task {
    atomic_int refcount;
    atomic_int state;                /* DDB_TASK_* */
    uint8_t kind;                    /* (bytes: 100 000 queued tasks are 100 000 records) */
    uint8_t has_user_id;
    uint8_t id_assigned;             /* auto id already set (by the thread driver) */
    int64_t id;
    void *ud;
    char *text;                      /* script or function name (in t's block) */

    ddb_buf body;                    /* body text + serialized payload (in t's block:
                                        read-only, never freed or grown) */
    size_t body_len;                 /* length of the text part (header's count) */
    ddb_behavior behavior;           /* flag, priority, parallelism (no HA fields) */

    double timeout;                  /* seconds, 0 none (pool default applied) */
    int64_t max_result_bytes;        /* spec's budget for its result, 0: the pool's */
    uint64_t submit_ms;              /* uv_now at submission */
    uint64_t deadline_ms;            /* 0: none */
    uint64_t end_ms;
    int conn_index;                  /* last connection that ran it, -1 none */
    int64_t seqno;                   /* HA: assigned at first dispatch */
    const char *client_id;           /* HA: the first connection's client id (in that
                                        connection, which lives as long as the pool) */
    int resends;                     /* HA resends so far */
    int replaced;                    /* a newer same-id task took its id */

    /* results (written once, before the terminal state is published) */
    ddb_obj *result;
    char *error;
    char *server_error;
    char **msgs;
    int nmsgs;

    /* fetchSize results and progress (loop thread only; ddb_fetch.c) */
    ddb_obj *block;                  /* the block the consumer has not taken yet */
    int64_t bytes_in;                /* response bytes received so far */
    int64_t rows_in;                 /* rows of the blocks received so far */
    int64_t blocks_in;               /* blocks received so far */
    int blockwise;                   /* the result came as blocks (docs/PROTOCOL.md §1.8) */
    int skip_blocks;                 /* the consumer left: drop the rest as it comes */

    /* pool bookkeeping (loop thread only) */
    struct ddb_task *qprev, *qnext;  /* FIFO queue links */
    int in_queue;
    int left_queue;                  /* has left the queue once (HA re-queues do not
                                        count again toward the thread driver's limit) */
    struct ddb_task *hnext;          /* id table chain */
    int in_table;
    struct ddb_task *dnext;          /* completion delivery list */
};

/* Validate `spec` and build the task (one reference for the caller). NULL with err
 * filled; *code is DDB_EINVAL or DDB_ENOMEM. `default_timeout` comes from the pool. */
ddb_task *ddb_task_create(const ddb_task_spec *spec, double default_timeout,
                          int compress, int *code, char *err, size_t errlen);

/* Store the failure message "task <id>: <what> (script: <text>)" and, for server
 * errors, the server's text. Must be called before the terminal state is set. */
void ddb_task_set_error(ddb_task *t, const char *server_error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Publish the terminal state (release store). */
void ddb_task_finish(ddb_task *t, int state, uint64_t now_ms);

#endif
