/* ddb_proto.h — the DolphinDB API protocol without I/O (docs/PROTOCOL.md §1-3, §5).
 *
 * Request builders append one complete request to a ddb_buf. The response parser is
 * fed whatever bytes arrived, in chunks of any size, and says when one response is
 * complete: optional MSG blocks (print output), the header line, the OK or error
 * line, then the object through the codec's incremental decoder. It never reads past
 * the end of the response, so the caller keeps any extra bytes (there should be none:
 * the protocol has no pipelining).
 */
#ifndef DDB_PROTO_H
#define DDB_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include "ddb_buf.h"
#include "ddb_obj.h"
#include "ddb_codec.h"

/* Request flag bits (docs/PROTOCOL.md §3.2) this client may set. */
enum {
    DDB_FLAG_URGENT = 1,
    DDB_FLAG_CLEAR_MEMORY = 16,
    DDB_FLAG_API_CLIENT = 32,
    DDB_FLAG_COMPRESS = 64
};

/* Behavior string fields (§3.1). */
typedef struct ddb_behavior {
    int flag;                   /* DDB_FLAG_* bits */
    int priority;               /* 0..8 */
    int parallelism;            /* 1..64 */
    int fetch_size;             /* 0 = none */
    const char *client_id;      /* HA: UUID text, NULL = none */
    int64_t seqno;              /* HA: request number, negative on a resend */
} ddb_behavior;

/* flag 0, priority 4, parallelism 64, no fetch size, no client id. (Inline: every
 * task and every request starts from it.) */
static inline void ddb_behavior_default(ddb_behavior *b)
{
    *b = (ddb_behavior){ .priority = 4, .parallelism = 64 };
}

/* Write the behavior string (no leading " / ") into out; returns its length, or -1 if
 * it does not fit. Format: flag_1_priority_parallelism[__fetchSize][__clientId_seqNo]
 * with empty fields where one is skipped (Java style, §3.1). */
int ddb_behavior_format(const ddb_behavior *b, char *out, size_t outlen);

/* Split form, used by the pool: the body (+ payload) is built once at submit and the
 * header line (session id, behavior, seqNo) at dispatch. Body builders append to
 * `body` and store the length of the text part (what the header's length counts) in
 * *text_len; they return 0 or -1 with errbuf filled and nothing appended. */
int ddb_body_script(ddb_buf *body, const char *text, size_t text_len, size_t *body_len,
                    char *errbuf, size_t errlen);
int ddb_body_function(ddb_buf *body, const char *name, ddb_obj *const *args, int nargs,
                      size_t *body_len, char *errbuf, size_t errlen);
int ddb_body_upload(ddb_buf *body, const char *const *names, ddb_obj *const *values,
                    int n, size_t *body_len, char *errbuf, size_t errlen);
/* `<kind> <sid> <body_len> / <behavior>\n` ("0" for an empty/NULL sid). */
int ddb_req_header(ddb_buf *out, const char *kind, const char *session_id,
                   size_t body_len, const ddb_behavior *b, char *errbuf, size_t errlen);


/* `API 0 <len> / <flag>_1_4_2\nconnect\n[login\n<user>\n<pwd>\nfalse]`.
 * user NULL or "": no login lines. Returns 0, or -1 with errbuf filled (a user or
 * password containing LF/NUL cannot be sent in this form). */
int ddb_req_connect(ddb_buf *out, int flag, const char *user, const char *pwd,
                    char *errbuf, size_t errlen);

/* `API2 <sid> <len> / <behavior>\nscript\n<text>` (text without NUL bytes). */
int ddb_req_script(ddb_buf *out, const char *session_id, const ddb_behavior *b,
                   const char *text, size_t text_len, char *errbuf, size_t errlen);

/* `API2 <sid> <len> / <behavior>\nfunction\n<name>\n<n>\n1` + n encoded objects. */
int ddb_req_function(ddb_buf *out, const char *session_id, const ddb_behavior *b,
                     const char *name, ddb_obj *const *args, int nargs,
                     char *errbuf, size_t errlen);

/* `API2 <sid> <len> / <behavior>\nvariable\n<a,b,..>\n<n>\n1` + n encoded objects.
 * Names are checked: a letter first, then letters, digits or '_'. */
int ddb_req_upload(ddb_buf *out, const char *session_id, const ddb_behavior *b,
                   const char *const *names, ddb_obj *const *values, int n,
                   char *errbuf, size_t errlen);

/* ---------------- response parser ---------------- */

enum {
    DDB_RESP_NEED_MORE = 0,     /* all bytes consumed, response not complete */
    DDB_RESP_DONE = 1,          /* one response complete (*consumed bytes used) */
    DDB_RESP_BLOCK = 2,         /* fetch mode: one block complete in obj (*consumed
                                   bytes used); take it, then feed the rest */
    DDB_RESP_ERROR = -1         /* malformed stream: the connection must be closed */
};

/* Caps that keep a hostile peer from making us allocate without bound. */
#define DDB_RESP_MAX_HEADER_LINE 128        /* "<sid> <count> <e>" */
#define DDB_RESP_MAX_STATUS_LINE (1 << 20)  /* OK or an error message */
#define DDB_RESP_MAX_MSG_BYTES   (16 << 20) /* all MSG blocks of one response, each
                                               counted with DDB_RESP_MSG_OVERHEAD */
#define DDB_RESP_MAX_MSGS        100000     /* MSG blocks in one response */
#define DDB_RESP_MSG_OVERHEAD    32         /* what an empty block costs us (the
                                               pointer, the allocation) */

typedef struct ddb_resp {
    /* results, valid after DDB_RESP_DONE */
    char session_id[32];        /* decimal text from the header */
    int little_endian;          /* from the header */
    int object_count;           /* 0 or 1 as announced (0 for errors) */
    int is_error;               /* status line was not OK */
    char *error;                /* the server's error line (malloc'd) or NULL */
    ddb_obj *obj;               /* decoded object (owned) or NULL */
    char **msgs;                /* MSG texts in arrival order (owned) */
    int nmsgs;

    /* parse error text after DDB_RESP_ERROR */
    char parse_error[160];

    /* private state */
    int state;
    ddb_buf line;               /* bytes of the line / MSG text being read */
    size_t msg_bytes;
    int msgs_cap;
    ddb_buf msg_text;           /* MSG texts so far, each NUL-terminated */
    size_t *msg_offs;           /* where each starts in msg_text */
    ddb_decoder *dec;
    ddb_limits limits;
    int64_t budget;             /* ddb_resp_set_max_bytes, 0: limits' */
    int dec_busy;               /* the decoder has been given an object since reset */
    int fetch;                  /* ddb_resp_set_fetch: an ANY vector arrives in blocks */
    int blockwise;              /* the reply was an ANY header + blocks (§1.8) */
    int64_t blocks_total;       /* as the header announced */
    int64_t blocks_left;        /* not yet decoded */
    int block_open;             /* the decoder has started the next block */
    int general_only;           /* tests: never take the whole-response shortcut */
} ddb_resp;

/* lim NULL: codec defaults. Returns 0 or -1 (ENOMEM). */
int ddb_resp_init(ddb_resp *r, const ddb_limits *lim);
void ddb_resp_free(ddb_resp *r);
/* Prepare for the next response: frees the previous results and anything a response
 * left half-parsed (a partly decoded object, a long line), so an abandoned response
 * (timeout, cancel, broken connection) holds no memory. */
void ddb_resp_reset(ddb_resp *r);
/* The byte budget of the next object (ddb_limits.max_object_bytes); <= 0 keeps the
 * one given at init. Call after ddb_resp_reset, before feeding. */
static inline void ddb_resp_set_max_bytes(ddb_resp *r, int64_t max_bytes)
{
    r->budget = max_bytes;
}
/* Block-wise mode for the next response (docs/PROTOCOL.md §1.8): when its object is
 * an ANY vector (the header a fetchSize request gets for a table), each element is
 * decoded as an object of its own and handed over with DDB_RESP_BLOCK, one at a time,
 * so only one block is in memory; the response ends (DONE, obj NULL, blockwise 1)
 * after the last. Any other object is decoded whole as usual. Call after
 * ddb_resp_reset, before feeding (ddb_proto_blocks.c). */
static inline void ddb_resp_set_fetch(ddb_resp *r, int on)
{
    r->fetch = on != 0;
}
/* Feed bytes; see DDB_RESP_*. */
int ddb_resp_feed(ddb_resp *r, const void *p, size_t len, size_t *consumed);
/* Ownership transfers after DONE (the parser forgets them). */
static inline ddb_obj *ddb_resp_take_obj(ddb_resp *r)
{
    ddb_obj *o = r->obj;
    r->obj = NULL;
    return o;
}
char **ddb_resp_take_msgs(ddb_resp *r, int *n);
char *ddb_resp_take_error(ddb_resp *r);

/* The `<NotLeader>host:port[:alias]` redirect in an error line: fills host/port and
 * returns 1; 0 if the message is no redirect. */
int ddb_parse_not_leader(const char *msg, char *host, size_t hostlen, int *port);

#endif
