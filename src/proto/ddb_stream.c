/* ddb_stream.c — subscription requests and the parser of pushed stream messages
 * (ddb_stream.h; the format is described in docs/STREAMING.md, section 5). */
#include "ddb_stream.h"
#include "ddb_proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD_BYTES 17           /* endian, time, msgId */

enum { P_HEAD, P_TOPIC, P_BODY, P_READY, P_FAILED };

/* The column types a topic's schema message announced. */
typedef struct topic_schema {
    char *topic;
    int64_t ncols;
    int *types;
} topic_schema;

struct ddb_stream_parser {
    int state;
    unsigned char head[HEAD_BYTES];
    size_t head_len;
    ddb_buf topic;              /* the topic field so far (NUL appended when done) */
    ddb_decoder *dec;
    ddb_limits limits;
    ddb_stream_msg msg;         /* being built, or ready */
    topic_schema schemas[DDB_STREAM_MAX_SCHEMAS];
    int nschemas, next_evict;
    char error[256];
};

/* ---------------------------------------------------------------- requests */

static int body_call(ddb_buf *body, const char *fn, ddb_obj **args, int n, size_t *body_len,
                     char *errbuf, size_t errlen)
{
    int ok = 1;
    for (int i = 0; i < n; i++)
        ok &= args[i] != NULL;
    int rc = -1;
    if (!ok)
        snprintf(errbuf, errlen, "out of memory");
    else
        rc = ddb_body_function(body, fn, args, n, body_len, errbuf, errlen);
    return rc;
}

static ddb_obj *text(const char *s) { return ddb_string_new(DDB_STRING, s, strlen(s)); }

static int check_sub(const ddb_stream_sub *s, char *errbuf, size_t errlen)
{
    if (!s->table || !s->table[0]) {
        snprintf(errbuf, errlen, "a subscription needs a table name");
        return -1;
    }
    if (s->port < 0 || s->port > 65535) {
        snprintf(errbuf, errlen, "bad subscriber port %d", s->port);
        return -1;
    }
    if (s->offset < -1) {
        snprintf(errbuf, errlen, "the offset must be -1 (new rows) or a row number, not %lld",
                 (long long)s->offset);
        return -1;
    }
    if (s->filter && (s->filter->form != DDB_VECTOR || s->filter->type == DDB_ANY)) {
        snprintf(errbuf, errlen, "the filter must be a vector of values");
        return -1;
    }
    return 0;
}

static void unref_all(ddb_obj **args, int n)
{
    for (int i = 0; i < n; i++)
        ddb_obj_unref(args[i]);
}

int ddb_stream_body_topic(ddb_buf *body, const ddb_stream_sub *s, size_t *body_len,
                          char *errbuf, size_t errlen)
{
    if (check_sub(s, errbuf, errlen))
        return -1;
    ddb_obj *args[2] = {text(s->table), text(s->action ? s->action : "")};
    int rc = body_call(body, "getSubscriptionTopic", args, 2, body_len, errbuf, errlen);
    unref_all(args, 2);
    return rc;
}

int ddb_stream_body_publish(ddb_buf *body, const ddb_stream_sub *s, size_t *body_len,
                            char *errbuf, size_t errlen)
{
    if (check_sub(s, errbuf, errlen))
        return -1;
    ddb_obj *args[7] = {
        text(s->host ? s->host : "localhost"),
        ddb_int_new(DDB_INT, s->port),
        text(s->table),
        text(s->action ? s->action : ""),
        ddb_int_new(DDB_LONG, s->offset),
        s->filter ? ddb_obj_ref((ddb_obj *)s->filter) : ddb_void_new(0),
        ddb_int_new(DDB_BOOL, s->allow_exists != 0),
    };
    int rc = body_call(body, "publishTable", args, 7, body_len, errbuf, errlen);
    unref_all(args, 7);
    return rc;
}

int ddb_stream_body_stop(ddb_buf *body, const ddb_stream_sub *s, size_t *body_len,
                         char *errbuf, size_t errlen)
{
    if (check_sub(s, errbuf, errlen))
        return -1;
    ddb_obj *args[4] = {text(s->host ? s->host : "localhost"), ddb_int_new(DDB_INT, s->port),
                        text(s->table), text(s->action ? s->action : "")};
    int rc = body_call(body, "stopPublishTable", args, 4, body_len, errbuf, errlen);
    unref_all(args, 4);
    return rc;
}

static int is_text_scalar(const ddb_obj *o)
{
    return o && o->form == DDB_SCALAR && (o->type == DDB_STRING || o->type == DDB_SYMBOL);
}

static int is_text_vector(const ddb_obj *o)
{
    return o && o->form == DDB_VECTOR && (o->type == DDB_STRING || o->type == DDB_SYMBOL);
}

int ddb_stream_reply_topic(const ddb_obj *reply, char *out, size_t outlen, char *errbuf, size_t errlen)
{
    const ddb_obj *t = reply;
    if (reply && reply->form == DDB_VECTOR && reply->type == DDB_ANY && reply->rows >= 1)
        t = reply->items[0];
    size_t len = 0;
    const char *s = is_text_scalar(t) ? ddb_str_at(t, 0, &len) : NULL;
    if (!s || len == 0 || len >= outlen) {
        snprintf(errbuf, errlen, s && len ? "the topic is too long"
                                          : "getSubscriptionTopic did not answer (topic, columns)");
        return -1;
    }
    memcpy(out, s, len + 1);
    return 0;
}

int ddb_stream_reply_publish(const ddb_obj *reply, const ddb_obj **columns, const ddb_obj **sites,
                             char *errbuf, size_t errlen)
{
    *columns = *sites = NULL;
    if (is_text_vector(reply)) {
        *columns = reply;
        return 0;
    }
    if (reply && reply->form == DDB_VECTOR && reply->type == DDB_ANY && reply->rows == 2 &&
        is_text_vector(reply->items[0])) {
        *columns = reply->items[0];
        *sites = is_text_vector(reply->items[1]) ? reply->items[1] : NULL;
        return 0;
    }
    snprintf(errbuf, errlen, "publishTable did not answer the column names");
    return -1;
}

/* ---------------------------------------------------------------- parser */

static int fail(ddb_stream_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(ddb_stream_parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->error, sizeof p->error, fmt, ap);
    va_end(ap);
    p->state = P_FAILED;
    return DDB_STREAM_ERROR;
}

ddb_stream_parser *ddb_stream_parser_new(const ddb_limits *lim)
{
    ddb_stream_parser *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (lim)
        p->limits = *lim;
    else
        ddb_limits_default(&p->limits);
    ddb_buf_init(&p->topic);
    if (!(p->dec = ddb_decoder_new(&p->limits))) {
        free(p);
        return NULL;
    }
    return p;
}

static void forget_schemas(ddb_stream_parser *p)
{
    for (int i = 0; i < p->nschemas; i++) {
        free(p->schemas[i].topic);
        free(p->schemas[i].types);
        memset(&p->schemas[i], 0, sizeof p->schemas[i]);
    }
    p->nschemas = p->next_evict = 0;
}

void ddb_stream_msg_free(ddb_stream_msg *m)
{
    free(m->topics);
    ddb_obj_unref(m->body);
    memset(m, 0, sizeof *m);
}

void ddb_stream_parser_reset(ddb_stream_parser *p)
{
    ddb_stream_msg_free(&p->msg);
    forget_schemas(p);
    ddb_buf_free(&p->topic);
    ddb_decoder_reset(p->dec, 1);   /* frees a half-decoded body now */
    p->state = P_HEAD;
    p->head_len = 0;
    p->error[0] = 0;
}

void ddb_stream_parser_free(ddb_stream_parser *p)
{
    if (!p)
        return;
    ddb_stream_parser_reset(p);
    ddb_decoder_free(p->dec);
    free(p);
}

const char *ddb_stream_error(const ddb_stream_parser *p) { return p->error; }

void ddb_stream_take(ddb_stream_parser *p, ddb_stream_msg *m)
{
    if (p->state != P_READY) {
        memset(m, 0, sizeof *m);
        return;
    }
    *m = p->msg;
    memset(&p->msg, 0, sizeof p->msg);
    p->state = P_HEAD;
}

int ddb_stream_topic_at(const char *topics, int i, char *out, size_t outlen)
{
    int count = 0;
    if (outlen)
        out[0] = 0;
    for (const char *s = topics; s;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        if (count == i && outlen)
            snprintf(out, outlen, "%.*s", (int)len, s);
        count++;
        s = comma ? comma + 1 : NULL;
    }
    return count;
}

static int64_t read_i64(const unsigned char *b, int little)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)b[little ? i : 7 - i] << (8 * i);
    return (int64_t)v;
}

/* ---- schemas per topic ---- */

static topic_schema *schema_of(ddb_stream_parser *p, const char *topic)
{
    for (int i = 0; i < p->nschemas; i++)
        if (p->schemas[i].topic && !strcmp(p->schemas[i].topic, topic))
            return &p->schemas[i];
    return NULL;
}

/* The schema of the first listed topic that has one. */
static topic_schema *schema_of_msg(ddb_stream_parser *p, const char *topics)
{
    char one[512];
    int n = ddb_stream_topic_at(topics, 0, one, sizeof one);
    for (int i = 0; i < n; i++) {
        ddb_stream_topic_at(topics, i, one, sizeof one);
        topic_schema *s = schema_of(p, one);
        if (s)
            return s;
    }
    return NULL;
}

/* Records t's column types for topic (replacing what it had; when the table of
 * topics is full the oldest entry goes). 0, or -1 on ENOMEM (the slot is left
 * empty: a NULL topic matches nothing). */
static int remember_schema(ddb_stream_parser *p, const char *topic, const ddb_obj *t)
{
    topic_schema *s = schema_of(p, topic);
    if (!s && p->nschemas < DDB_STREAM_MAX_SCHEMAS)
        s = &p->schemas[p->nschemas++];
    else if (!s) {
        s = &p->schemas[p->next_evict];
        p->next_evict = (p->next_evict + 1) % DDB_STREAM_MAX_SCHEMAS;
    }
    free(s->topic);
    free(s->types);
    s->topic = strdup(topic);
    s->types = malloc(sizeof *s->types * (size_t)(t->cols ? t->cols : 1));
    s->ncols = t->cols;
    if (!s->topic || !s->types) {
        free(s->topic);
        free(s->types);
        memset(s, 0, sizeof *s);
        return -1;
    }
    for (int64_t c = 0; c < t->cols; c++)
        s->types[c] = t->columns[c]->type;
    return 0;
}

/* ---- classifying a body ---- */

static int classify_schema(ddb_stream_parser *p, const ddb_obj *t)
{
    char one[512];
    int n = ddb_stream_topic_at(p->msg.topics, 0, one, sizeof one);
    for (int i = 0; i < n; i++) {
        ddb_stream_topic_at(p->msg.topics, i, one, sizeof one);
        if (remember_schema(p, one, t))
            return fail(p, "out of memory keeping the schema of %s", one);
    }
    p->msg.kind = DDB_STREAM_SCHEMA;
    p->msg.rows = 0;
    return 0;
}

/* An ANY vector of k elements, k = the schema's columns: columns of n rows, or one
 * row (scalars; an array-vector column's cell as a plain vector of its base type). */
static int classify_any(ddb_stream_parser *p, const ddb_obj *v)
{
    topic_schema *s = schema_of_msg(p, p->msg.topics);
    if (!s)
        return fail(p, "a data message for %.200s before its schema message", p->msg.topics);
    if (v->rows != s->ncols)
        return fail(p, "a data message with %lld columns for a table of %lld",
                    (long long)v->rows, (long long)s->ncols);
    int64_t n = -1;
    int cells = 0, columns = 0;
    for (int64_t c = 0; c < v->rows; c++) {
        const ddb_obj *x = v->items[c];
        int arr = s->types[c] >= DDB_ARRAY_BASE && s->types[c] < DDB_SYMBOL_BASE_FLAG;
        if (!x || x->form == DDB_SCALAR || (arr && x->form == DDB_VECTOR && x->type == s->types[c] - DDB_ARRAY_BASE))
            cells++;
        else if (x->form == DDB_VECTOR && (n < 0 || x->rows == n)) {
            n = x->rows;
            columns++;
        } else
            return fail(p, "column %lld of a data message is a %s %s (%lld rows)", (long long)c,
                        ddb_type_name(x->type), ddb_form_name(x->form), (long long)x->rows);
    }
    if (cells && columns)
        return fail(p, "a data message mixes single-row cells and columns");
    p->msg.kind = cells ? DDB_STREAM_ROW : DDB_STREAM_ROWS;
    p->msg.rows = cells ? 1 : n;
    if (p->msg.rows < 1)
        return fail(p, "a data message without rows");
    return 0;
}

static int classify(ddb_stream_parser *p)
{
    const ddb_obj *b = p->msg.body;
    int rc;
    if (b->form == DDB_TABLE && b->rows == 0)
        rc = classify_schema(p, b);
    else if (b->form == DDB_TABLE) {
        p->msg.kind = DDB_STREAM_TABLE;
        p->msg.rows = b->rows;
        rc = 0;
    } else if (b->form == DDB_VECTOR && b->type == DDB_ANY && b->rows > 0)
        rc = classify_any(p, b);
    else if (b->form == DDB_SCALAR && b->type == DDB_STRING) {
        p->msg.kind = DDB_STREAM_SERVER_ERROR;
        p->msg.rows = 0;
        rc = 0;
    } else
        return fail(p, "unexpected message body: %s %s", ddb_type_name(b->type), ddb_form_name(b->form));
    if (rc)
        return rc;
    if (p->msg.rows > 0 && (p->msg.msg_id < p->msg.rows - 1))
        return fail(p, "message id %lld is below its %lld rows", (long long)p->msg.msg_id,
                    (long long)p->msg.rows);
    /* msg_id >= rows - 1 >= 0 here, so no overflow; a 0-row message names the next
     * offset (saturated: a hostile msgId may be INT64_MAX) */
    if (p->msg.rows > 0)
        p->msg.first_offset = p->msg.msg_id - p->msg.rows + 1;
    else
        p->msg.first_offset = p->msg.msg_id == INT64_MAX ? INT64_MAX : p->msg.msg_id + 1;
    return 0;
}

/* ---- feeding ---- */

static int feed_head(ddb_stream_parser *p, const unsigned char *d, size_t len, size_t *used)
{
    size_t take = HEAD_BYTES - p->head_len;
    if (take > len)
        take = len;
    memcpy(p->head + p->head_len, d, take);
    p->head_len += take;
    *used += take;
    if (p->head_len < HEAD_BYTES)
        return 0;
    if (p->head[0] > 1)
        return fail(p, "bad endian byte %u at the start of a message", p->head[0]);
    int little = p->head[0];
    p->msg.little_endian = little;
    p->msg.time = read_i64(p->head + 1, little);
    p->msg.msg_id = read_i64(p->head + 9, little);
    p->head_len = 0;
    ddb_buf_reset(&p->topic);
    p->state = P_TOPIC;
    return 0;
}

static int feed_topic(ddb_stream_parser *p, const unsigned char *d, size_t len, size_t *used)
{
    const unsigned char *nul = memchr(d, 0, len);
    size_t take = nul ? (size_t)(nul - d) : len;
    if (p->topic.len + take > DDB_STREAM_MAX_TOPIC)
        return fail(p, "a message topic longer than %d bytes", DDB_STREAM_MAX_TOPIC);
    if (ddb_buf_put(&p->topic, d, take))
        return fail(p, "out of memory reading a topic");
    *used += take;
    if (!nul)
        return 0;
    *used += 1;
    if (p->topic.len == 0)
        return fail(p, "a message without a topic");
    if (!(p->msg.topics = malloc(p->topic.len + 1)))
        return fail(p, "out of memory reading a topic");
    memcpy(p->msg.topics, p->topic.p, p->topic.len);
    p->msg.topics[p->topic.len] = 0;
    ddb_buf_free(&p->topic);    /* a long topic's buffer is not kept */
    ddb_decoder_reset(p->dec, p->msg.little_endian);   /* fresh symbol-base scope */
    p->state = P_BODY;
    return 0;
}

static int feed_body(ddb_stream_parser *p, const unsigned char *d, size_t len, size_t *used)
{
    size_t n = 0;
    int rc = ddb_decoder_feed(p->dec, d, len, &n);
    *used += n;
    if (rc == DDB_DEC_ERROR)
        return fail(p, "bad message body: %s", ddb_decoder_error(p->dec));
    if (rc == DDB_DEC_NEED_MORE)
        return 0;
    p->msg.body = ddb_decoder_take(p->dec);
    if (!p->msg.body)
        return fail(p, "out of memory decoding a message");
    if (classify(p))
        return DDB_STREAM_ERROR;
    p->state = P_READY;
    return 0;
}

int ddb_stream_feed(ddb_stream_parser *p, const void *data, size_t len, size_t *consumed)
{
    const unsigned char *d = data;
    size_t used = 0;
    *consumed = 0;
    if (p->state == P_FAILED)
        return DDB_STREAM_ERROR;
    while (p->state != P_READY && used < len) {
        int rc;
        switch (p->state) {
        case P_HEAD: rc = feed_head(p, d + used, len - used, &used); break;
        case P_TOPIC: rc = feed_topic(p, d + used, len - used, &used); break;
        default: rc = feed_body(p, d + used, len - used, &used); break;
        }
        if (rc) {
            *consumed = used;
            ddb_stream_msg_free(&p->msg);
            return DDB_STREAM_ERROR;
        }
    }
    *consumed = used;
    return p->state == P_READY ? DDB_STREAM_MSG : DDB_STREAM_NEED_MORE;
}
