/* ddb_stream.h — streaming subscriptions without I/O (docs/STREAMING.md).
 *
 * Two halves:
 *  - the requests a subscriber sends: bodies of getSubscriptionTopic, publishTable and
 *    stopPublishTable function requests (the caller adds the header line with
 *    ddb_req_header, using DDB_FLAG_REVERSE_STREAMING on a reverse-mode connection);
 *  - a parser for what the publisher pushes afterwards on that connection: fed bytes
 *    in pieces of any size, it yields one message at a time (header fields and the
 *    decoded body, classified), never reading past the message it completes.
 *
 * Memory is bounded: a topic line is capped (DDB_STREAM_MAX_TOPIC), the body by the
 * decoder's limits, and the schemas remembered per topic by DDB_STREAM_MAX_SCHEMAS.
 * After DDB_STREAM_ERROR the connection must be dropped (there is no length prefix,
 * so no way to skip a bad message) and the parser reset before reuse.
 *
 *   ddb_stream_parser *p = ddb_stream_parser_new(NULL);
 *   while (have bytes) {
 *       size_t used;
 *       int rc = ddb_stream_feed(p, bytes, n, &used);   bytes += used; n -= used;
 *       if (rc == DDB_STREAM_MSG) { ddb_stream_msg m; ddb_stream_take(p, &m); ...;
 *                                   ddb_stream_msg_free(&m); }
 *       else if (rc == DDB_STREAM_ERROR) { log ddb_stream_error(p); close; }
 *   }
 */
#ifndef DDB_STREAM_H
#define DDB_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include "ddb_buf.h"
#include "ddb_codec.h"
#include "ddb_obj.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Request flag bit of a reverse-mode subscription connection: set on every request of
 * it, `connect` included (docs/STREAMING.md, section 2). */
#define DDB_FLAG_REVERSE_STREAMING 131072

#define DDB_STREAM_MAX_TOPIC (64 * 1024)   /* bytes of the topic field, NUL excluded */
#define DDB_STREAM_MAX_SCHEMAS 256         /* topics whose schema is remembered */

/* ---------------- requests ---------------- */

typedef struct ddb_stream_sub {
    const char *host;           /* publishTable's host argument ("localhost" is fine
                                   in reverse mode); NULL: "localhost" */
    int port;                   /* 0: reverse mode (the only mode of current servers) */
    const char *table;          /* shared stream table */
    const char *action;         /* subscription name; NULL: "" */
    int64_t offset;             /* -1: new rows only; N >= 0: from row N */
    const ddb_obj *filter;      /* vector of filter-column values, or NULL */
    int allow_exists;           /* BOOL, always sent (7 arguments, as the C++ client) */
} ddb_stream_sub;

/* Body builders in the form of ddb_body_function: append the body to `body`, set
 * *body_len to the length the header line must announce. 0, or -1 with errbuf. */
int ddb_stream_body_topic(ddb_buf *body, const ddb_stream_sub *s, size_t *body_len,
                          char *errbuf, size_t errlen);
int ddb_stream_body_publish(ddb_buf *body, const ddb_stream_sub *s, size_t *body_len,
                            char *errbuf, size_t errlen);
int ddb_stream_body_stop(ddb_buf *body, const ddb_stream_sub *s, size_t *body_len,
                         char *errbuf, size_t errlen);

/* getSubscriptionTopic's reply (topic, columns): copies the topic into out.
 * 0, or -1 with errbuf when the reply has another shape. */
int ddb_stream_reply_topic(const ddb_obj *reply, char *out, size_t outlen,
                           char *errbuf, size_t errlen);
/* publishTable's reply: the column names (borrowed), and the HA sites (borrowed,
 * NULL when the table is no HA table). 0, or -1 with errbuf. */
int ddb_stream_reply_publish(const ddb_obj *reply, const ddb_obj **columns,
                             const ddb_obj **sites, char *errbuf, size_t errlen);

/* ---------------- pushed messages ---------------- */

enum {
    DDB_STREAM_NEED_MORE = 0,   /* every byte given was consumed; feed more */
    DDB_STREAM_MSG = 1,         /* one message complete: ddb_stream_take it */
    DDB_STREAM_ERROR = -1       /* malformed: ddb_stream_error() says why */
};

typedef enum ddb_stream_kind {
    DDB_STREAM_SCHEMA = 1,      /* a 0-row table: column names and types */
    DDB_STREAM_ROWS,            /* ANY vector of columns, `rows` >= 1 each */
    DDB_STREAM_ROW,             /* single-row tuple: ANY vector of scalars (an
                                   array-vector column as a plain vector) */
    DDB_STREAM_TABLE,           /* a table of `rows` > 0 rows */
    DDB_STREAM_SERVER_ERROR     /* a STRING scalar: the publisher reports an error */
} ddb_stream_kind;

typedef struct ddb_stream_msg {
    ddb_stream_kind kind;
    int little_endian;          /* the header's endian byte */
    int64_t time;               /* header send time (ns since the epoch, unconfirmed) */
    int64_t msg_id;             /* offset of the last row of the message */
    int64_t rows;               /* rows carried (0 for a schema or an error) */
    int64_t first_offset;       /* msg_id - rows + 1; the next resume offset is msg_id + 1 */
    char *topics;               /* the topic field as sent (may list several, ',') */
    ddb_obj *body;              /* the decoded object (owned) */
} ddb_stream_msg;

typedef struct ddb_stream_parser ddb_stream_parser;

/* lim NULL: codec defaults (ddb_limits_default). NULL on ENOMEM. */
ddb_stream_parser *ddb_stream_parser_new(const ddb_limits *lim);
void ddb_stream_parser_free(ddb_stream_parser *p);
/* Back to "before the first message": drops a half-read message and the schemas. */
void ddb_stream_parser_reset(ddb_stream_parser *p);
/* Consumes at most len bytes and never past the message it completes. While a
 * message waits to be taken it consumes nothing and returns DDB_STREAM_MSG again. */
int ddb_stream_feed(ddb_stream_parser *p, const void *data, size_t len, size_t *consumed);
/* After DDB_STREAM_MSG: moves the message into *m (the caller frees it). */
void ddb_stream_take(ddb_stream_parser *p, ddb_stream_msg *m);
void ddb_stream_msg_free(ddb_stream_msg *m);
const char *ddb_stream_error(const ddb_stream_parser *p);

/* The i-th topic of a message's topic field (split on ','), copied into out.
 * Returns the number of topics; out gets "" past the end. */
int ddb_stream_topic_at(const char *topics, int i, char *out, size_t outlen);

#ifdef __cplusplus
}
#endif
#endif
