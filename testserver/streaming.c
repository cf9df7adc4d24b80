/* streaming.c — the subscription list and the publisher of ddbmini: reverse mode
 * (pushes over the subscriber's own connection) and listen mode (ddbmini connects
 * back to the subscriber). See streaming.h; the wire format is in docs/STREAMING.md,
 * sections 4-5. */
#include "streaming.h"
#include "ddb_codec.h"
#include "tables.h"
#include "values.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct stream_sub {
    int id;                     /* > 0 while the slot is used */
    int slot;                   /* store entry of the stream table, and its generation */
    unsigned gen;
    char table[128], action[128];
    char topic[512];            /* host:port:alias/table/action */
    int64_t next;               /* offset of the next row to look at */
    int filter_col;             /* -1: every row */
    ddb_obj *filter;            /* the values a row's filter cell must be among */
    uv_stream_t *out;           /* NULL until the reply to publishTable is out */
    stream_close_fn close;
    void *close_arg;
    int schema_sent;
    int closing;                /* the loop thread closes its connection */
    size_t queued;              /* bytes handed to uv_write and not yet written */
    struct sockaddr_in dial_to; /* listen mode: where to connect back */
    struct dial *dial;          /* listen mode: the connection ddbmini opened */
} stream_sub;

/* A connection ddbmini opened to a listen-mode subscriber. */
typedef struct dial {
    uv_tcp_t tcp;
    uv_connect_t req;
    int id;                     /* its subscription */
    int closing;                /* uv_close was called: the close callback frees it */
} dial;

static struct {
    pthread_mutex_t lock;
    int ready;                  /* `wake` initialized (not in the fuzzers) */
    uv_async_t wake;
    char site[200];             /* host:port:alias of this node */
    int next_id;
    uv_loop_t *loop;
    stream_sub subs[STREAM_MAX_SUBS];
} g_stream = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The request being evaluated on this thread (streaming_request_begin/end). */
static _Thread_local int64_t tl_flag;
static _Thread_local int tl_created;

static void pump(void);
static void streaming_drop_id(int id);

static void lock(void) { pthread_mutex_lock(&g_stream.lock); }
static void unlock(void) { pthread_mutex_unlock(&g_stream.lock); }

/* Under the lock: streaming_shutdown may be closing the handle on the loop thread. */
static void wake(void)
{
    lock();
    if (g_stream.ready)
        uv_async_send(&g_stream.wake);
    unlock();
}

static void sub_clear(stream_sub *s)
{
    ddb_obj_unref(s->filter);
    memset(s, 0, sizeof *s);
}

static stream_sub *sub_by_id(int id)
{
    for (int i = 0; id > 0 && i < STREAM_MAX_SUBS; i++)
        if (g_stream.subs[i].id == id)
            return &g_stream.subs[i];
    return NULL;
}

/* ---------------------------------------------------------------- listen mode */

static void on_dial_closed(uv_handle_t *h) { free(h->data); }

static void dial_close(dial *d)
{
    if (!d || d->closing)
        return;
    d->closing = 1;
    uv_close((uv_handle_t *)&d->tcp, on_dial_closed);
}

static void close_dial(void *arg) { dial_close(arg); }

static void on_dial_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char sink[4096];         /* a subscriber has nothing to say: discarded */
    *buf = uv_buf_init(sink, sizeof sink);
}

static void on_dial_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    dial *d = s->data;
    if (nread >= 0)
        return;
    lock();                         /* the subscriber hung up */
    stream_sub *sub = sub_by_id(d->id);
    if (sub)
        sub->closing = 1;
    unlock();
    if (!sub)
        dial_close(d);
    pump();
}

static void on_dialed(uv_connect_t *req, int status)
{
    dial *d = req->data;
    if (d->closing)
        return;                     /* shut down meanwhile */
    lock();
    stream_sub *s = sub_by_id(d->id);
    int ok = s && status == 0 && !s->closing;
    if (ok) {
        s->out = (uv_stream_t *)&d->tcp;
        s->close = close_dial;
        s->close_arg = d;
        s->dial = NULL;             /* closed through s->close from now on */
    } else if (s)
        sub_clear(s);               /* refused: the subscription ends */
    unlock();
    if (ok && uv_read_start((uv_stream_t *)&d->tcp, on_dial_alloc, on_dial_read) == 0) {
        pump();
        return;
    }
    if (ok)
        streaming_drop_id(d->id);
    else
        dial_close(d);
}

/* Starts the connections back to new listen-mode subscribers (loop thread). */
static void dial_new(void)
{
    lock();
    for (int i = 0; g_stream.loop && i < STREAM_MAX_SUBS; i++) {
        stream_sub *s = &g_stream.subs[i];
        if (!s->id || !s->dial_to.sin_port || s->dial || s->out || s->closing)
            continue;
        dial *d = calloc(1, sizeof *d);
        if (!d || uv_tcp_init(g_stream.loop, &d->tcp)) {
            free(d);
            s->closing = 1;
            continue;
        }
        d->id = s->id;
        d->tcp.data = d->req.data = d;
        s->dial = d;
        if (uv_tcp_connect(&d->req, &d->tcp, (const struct sockaddr *)&s->dial_to, on_dialed)) {
            s->dial = NULL;
            s->closing = 1;
            dial_close(d);
        }
    }
    unlock();
}

/* ---------------------------------------------------------------- server side */

static void on_wake(uv_async_t *a) { pump(); }

void streaming_init(uv_loop_t *loop, const char *host, int port)
{
    char alias[64] = "local";
    pthread_mutex_lock(&g_mini.lock);
    for (int i = 0; i < g_mini.nnodes; i++)
        if (g_mini.nodes[i].self)
            snprintf(alias, sizeof alias, "%s", g_mini.nodes[i].alias);
    pthread_mutex_unlock(&g_mini.lock);
    snprintf(g_stream.site, sizeof g_stream.site, "%s:%d:%s", host, port, alias);
    g_stream.loop = loop;
    if (uv_async_init(loop, &g_stream.wake, on_wake) == 0)
        g_stream.ready = 1;
}

void streaming_shutdown(void)
{
    lock();
    for (int i = 0; i < STREAM_MAX_SUBS; i++) {
        stream_sub *s = &g_stream.subs[i];
        dial_close(s->dial);                        /* still connecting */
        if (s->out && s->close == close_dial)
            dial_close(s->close_arg);               /* connected back */
        sub_clear(s);
    }
    int ready = g_stream.ready;
    g_stream.ready = 0;
    unlock();
    if (ready)
        uv_close((uv_handle_t *)&g_stream.wake, NULL);
}

void streaming_request_begin(int64_t flag)
{
    tl_flag = flag;
    tl_created = 0;
}

int streaming_request_end(void)
{
    int id = tl_created;
    tl_flag = 0;
    tl_created = 0;
    return id;
}

int streaming_attach(int id, uv_stream_t *out, stream_close_fn close, void *arg)
{
    lock();
    stream_sub *s = sub_by_id(id);
    int ok = s && !s->closing;
    if (ok) {
        s->out = out;
        s->close = close;
        s->close_arg = arg;
    } else if (s)
        sub_clear(s);
    unlock();
    if (ok)
        pump();
    return ok ? 0 : -1;
}

void streaming_detach(int id)
{
    lock();
    stream_sub *s = sub_by_id(id);
    if (s)
        sub_clear(s);
    unlock();
}

/* ---------------------------------------------------------------- tables side */

int streaming_check_room(eval_ctx *ctx, const ddb_obj *t, int64_t more)
{
    if (t->fkind != TBL_STREAM)
        return 0;
    pthread_mutex_lock(&g_mini.lock);
    int64_t cap = g_mini.stream_max_rows > 0 ? g_mini.stream_max_rows : STREAM_MAX_ROWS;
    pthread_mutex_unlock(&g_mini.lock);
    if (t->rows + more > cap)
        return ctx_error(ctx, "ddbmini keeps at most %lld rows of a stream table", (long long)cap);
    return 0;
}

void streaming_wake(void) { wake(); }

/* ---------------------------------------------------------------- publishing */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The stream table of s, or NULL when it was dropped (lock and store lock held). */
static store_table *sub_table(const stream_sub *s)
{
    store_table *e = store_at(s->slot);
    if (!e->used || e->gen != s->gen || !e->t || e->t->fkind != TBL_STREAM)
        return NULL;
    return e;
}

static int row_passes(const stream_sub *s, const ddb_obj *t, int64_t r)
{
    if (s->filter_col < 0)
        return 1;
    for (int64_t j = 0; j < s->filter->rows; j++)
        if (cell_cmp(t->columns[s->filter_col], r, s->filter, j) == 0)
            return 1;
    return 0;
}

/* Row 0 of a column as the tuple form sends it: a scalar, or for an array-vector
 * column the row's values as a plain vector of its base type (docs/STREAMING.md,
 * section 5.2). NULL when out of memory. */
static ddb_obj *tuple_cell(const ddb_obj *col)
{
    if (obj_class(col) != DDB_CLASS_ARRAY)
        return obj_element(col, 0);
    int base = col->type - DDB_ARRAY_BASE, w = ddb_type_width(base);
    int64_t from = col->row_offs[0], n = col->row_offs[1] - from;
    ddb_obj *v = ddb_vector_new(base, n);
    if (!v)
        return NULL;
    v->scale = col->values->scale;
    if (n)
        memcpy(v->data, (const char *)col->values->data + from * w, (size_t)(n * w));
    return v;
}

/* The next data body of s: up to STREAM_BATCH_ROWS rows from s->next on (filtered),
 * as an ANY vector of columns (tuple: one row, as an ANY vector of scalars); *msg_id
 * the offset of its last row. NULL when no row is ready; *scanned says whether
 * s->next moved. */
static ddb_obj *next_batch(stream_sub *s, const ddb_obj *t, int tuple, int64_t *msg_id, int *scanned)
{
    int64_t rows[STREAM_BATCH_ROWS];
    int64_t n = 0, r = s->next, end = t->rows, limit = tuple ? 1 : STREAM_BATCH_ROWS;
    if (end - r > STREAM_SCAN_ROWS)
        end = r + STREAM_SCAN_ROWS;
    for (; r < end && n < limit; r++)
        if (row_passes(s, t, r))
            rows[n++] = r;
    *scanned = r > s->next;
    s->next = r;
    if (n == 0)
        return NULL;
    *msg_id = rows[n - 1];
    ddb_obj *part = table_gather(t, rows, n);
    ddb_obj *body = part ? ddb_vector_new(DDB_ANY, t->cols) : NULL;
    for (int64_t c = 0; body && c < t->cols; c++) {
        ddb_obj *cell = tuple ? tuple_cell(part->columns[c]) : NULL;
        ddb_obj_unref(body->items[c]);
        body->items[c] = cell ? cell : ddb_obj_ref(part->columns[c]);
    }
    ddb_obj_unref(part);
    return body;
}

/* One message: endian, time, msgId, topic + NUL, then the body (docs/STREAMING.md, section 5.1). */
static int encode_message(ddb_buf *b, int64_t msg_id, const char *topic, const ddb_obj *body)
{
    int64_t t = now_ns();
    ddb_buf_u8(b, 1);
    ddb_buf_put(b, &t, 8);
    ddb_buf_put(b, &msg_id, 8);
    ddb_buf_put(b, topic, strlen(topic) + 1);
    ddb_encoder e;
    ddb_encoder_init(&e);          /* a fresh symbol-base scope per message */
    char err[256];
    return ddb_encode(&e, b, body, err, sizeof err);
}

typedef struct push_write {
    uv_write_t w;
    int id;
    size_t len;
    char *bytes;
} push_write;

static void on_push_written(uv_write_t *w, int status)
{
    push_write *pw = (push_write *)w;
    lock();
    stream_sub *s = sub_by_id(pw->id);
    if (s) {
        s->queued -= pw->len;
        if (status < 0)
            s->closing = 1;
    }
    unlock();
    free(pw->bytes);
    free(pw);
    if (s)
        pump();
}

static void send_bytes(int id, uv_stream_t *out, ddb_buf *b)
{
    push_write *pw = malloc(sizeof *pw);
    int ok = pw != NULL;
    if (ok) {
        pw->id = id;
        pw->len = b->len;
        pw->bytes = b->p;
        uv_buf_t ub = uv_buf_init(b->p, (unsigned)b->len);
        ok = uv_write(&pw->w, out, &ub, 1, on_push_written) == 0;
    }
    lock();
    stream_sub *s = sub_by_id(id);
    if (s && ok)
        s->queued += b->len;
    else if (s)
        s->closing = 1;
    unlock();
    if (!ok) {
        free(pw);
        ddb_buf_free(b);
    }
}

/* The test hooks that shape messages (faultStreamRowTuples, faultStreamJoinTopic). */
typedef struct shape {
    int tuple;
    char join[128];
} shape;

/* Sends one message to subscriber i if it has one ready and room for it.
 * Returns 1 when something moved. Loop thread. */
static int serve(int i, const shape *h)
{
    ddb_obj *body = NULL;
    int64_t msg_id = 0;
    int scanned = 0, id = 0;
    char topic[sizeof g_stream.subs[0].topic];
    const char *join = h->join;
    uv_stream_t *out = NULL;
    store_lock();
    lock();
    stream_sub *s = &g_stream.subs[i];
    if (s->id && s->out && !s->closing && s->queued < STREAM_QUEUE_BYTES) {
        store_table *e = sub_table(s);
        if (!e)
            s->closing = 1;             /* the table was dropped */
        else if (!s->schema_sent) {
            static const int64_t no_rows[1];
            body = table_gather(e->t, no_rows, 0);
            msg_id = s->next - 1;       /* ddbmini's choice: the offset before the first row */
            s->schema_sent = body != NULL;
            scanned = 1;
        } else
            body = next_batch(s, e->t, h->tuple, &msg_id, &scanned);
        id = s->id;
        out = s->out;
        memcpy(topic, s->topic, sizeof topic);
        if (!body && scanned && s->schema_sent == 0)
            s->closing = 1;             /* out of memory */
    }
    unlock();
    store_unlock();
    if (body) {
        ddb_buf b;
        ddb_buf_init(&b);
        char topics[sizeof topic + sizeof h->join + 1];
        snprintf(topics, sizeof topics, "%s%s%s", topic, join[0] ? "," : "", join);
        if (encode_message(&b, msg_id, topics, body) == 0)
            send_bytes(id, out, &b);
        else {
            ddb_buf_free(&b);
            lock();
            if ((s = sub_by_id(id)))
                s->closing = 1;
            unlock();
        }
        ddb_obj_unref(body);
    }
    return body != NULL || scanned;
}

/* Closes the connections of subscriptions marked closing (outside the lock: the
 * close function detaches, which takes it). Pending ones are simply dropped. */
static void close_marked(void)
{
    stream_close_fn fns[STREAM_MAX_SUBS];
    void *args[STREAM_MAX_SUBS];
    int n = 0;
    lock();
    for (int i = 0; i < STREAM_MAX_SUBS; i++) {
        stream_sub *s = &g_stream.subs[i];
        if (s->id && s->closing && s->out) {
            fns[n] = s->close;
            args[n++] = s->close_arg;
            sub_clear(s);
        } else if (s->id && s->closing && s->dial) {
            dial_close(s->dial);    /* still connecting: on_dialed sees `closing` */
            sub_clear(s);
        }
    }
    unlock();
    for (int i = 0; i < n; i++)
        fns[i](args[i]);
}

/* Indexes of the subscriptions that are connected and not closing. */
static int connected_subs(int *idx)
{
    int n = 0;
    lock();
    for (int i = 0; i < STREAM_MAX_SUBS; i++)
        if (g_stream.subs[i].id && g_stream.subs[i].out && !g_stream.subs[i].closing)
            idx[n++] = i;
    unlock();
    return n;
}

/* Sends what is ready, one message per subscriber per round, until nothing moves
 * (no rows left, or every queue full: the write callbacks pump again). */
static void pump(void)
{
    dial_new();
    shape h;
    pthread_mutex_lock(&g_mini.lock);
    h.tuple = g_mini.faults.stream_tuples;
    memcpy(h.join, g_mini.faults.stream_join_topic, sizeof h.join);
    pthread_mutex_unlock(&g_mini.lock);
    int idx[STREAM_MAX_SUBS];
    for (int progress = 1; progress;) {
        progress = 0;
        int n = connected_subs(idx);
        for (int k = 0; k < n; k++)
            progress |= serve(idx[k], &h);
    }
    close_marked();
}

/* ---------------------------------------------------------------- the list */

const char *streaming_site(void) { return g_stream.site; }

int64_t streaming_request_flag(void) { return tl_flag; }

/* Puts s into a free slot unless its topic is taken (allowExists replaces the old
 * subscription). Returns the new id, or 0 with ctx->err set. */
static int add_sub(eval_ctx *ctx, stream_sub *s, int allow_exists)
{
    stream_sub *slot = NULL, *old = NULL;
    lock();
    for (int i = 0; i < STREAM_MAX_SUBS; i++) {
        stream_sub *x = &g_stream.subs[i];
        if (x->id && !x->closing && !strcmp(x->topic, s->topic))
            old = x;
        else if (!x->id && !slot)
            slot = x;
    }
    int id = 0;
    if (old && !allow_exists)
        ctx_error(ctx, "The subscription %s already exists", s->topic);
    else if (!slot)
        ctx_error(ctx, "ddbmini serves at most %d subscriptions", STREAM_MAX_SUBS);
    else {
        if (old)
            old->closing = 1;
        if (++g_stream.next_id <= 0)
            g_stream.next_id = 1;
        s->id = id = g_stream.next_id;
        *slot = *s;
    }
    unlock();
    if (old && id)
        wake();
    return id;
}

int streaming_subscribe(eval_ctx *ctx, stream_spec *spec, int allow_exists)
{
    stream_sub s;
    memset(&s, 0, sizeof s);
    memcpy(s.table, spec->table, sizeof s.table);
    memcpy(s.action, spec->action, sizeof s.action);
    snprintf(s.topic, sizeof s.topic, "%s/%s/%s", g_stream.site, spec->table, spec->action);
    s.slot = spec->slot;
    s.gen = spec->gen;
    s.next = spec->next;
    s.filter_col = spec->filter_col;
    s.filter = spec->filter;
    s.dial_to = spec->dial_to;
    if (!spec->dial_to.sin_port && tl_created)
        return ctx_error(ctx, "A connection carries one subscription: publishTable was called already");
    int id = add_sub(ctx, &s, allow_exists);
    if (!id)
        return -1;
    spec->filter = NULL;            /* the subscription owns it now */
    if (spec->dial_to.sin_port)
        wake();                     /* listen mode: the loop connects back */
    else
        tl_created = id;            /* reverse mode: this connection carries it */
    return 0;
}

void streaming_stop(const char *table, const char *action)
{
    lock();
    for (int i = 0; i < STREAM_MAX_SUBS; i++) {
        stream_sub *s = &g_stream.subs[i];
        if (s->id && !strcmp(s->table, table) && !strcmp(s->action, action))
            s->closing = 1;
    }
    unlock();
    wake();
}

ddb_obj *streaming_stat_table(void)
{
    static const char *const names[] = {"tableName", "subscriber", "msgOffset", "actions", "queuedBytes"};
    ddb_obj *t = ddb_table_new(0, 5);
    for (int c = 0; t && c < 5; c++) {
        free(t->col_names[c]);
        t->col_names[c] = strdup(names[c]);
        t->columns[c] = ddb_vector_new(c == 2 || c == 4 ? DDB_LONG : DDB_STRING, 0);
        if (!t->col_names[c] || !t->columns[c]) {
            ddb_obj_unref(t);
            t = NULL;
        }
    }
    int fail = !t;
    lock();
    for (int i = 0; !fail && i < STREAM_MAX_SUBS; i++) {
        const stream_sub *s = &g_stream.subs[i];
        if (!s->id || s->closing)
            continue;
        fail = ddb_varlen_append(t->columns[0], s->table, strlen(s->table)) ||
               ddb_varlen_append(t->columns[1], s->topic, strlen(s->topic)) ||
               ddb_fixed_append(t->columns[2], &s->next) ||
               ddb_varlen_append(t->columns[3], s->action, strlen(s->action)) ||
               ddb_fixed_append(t->columns[4], &(int64_t){(int64_t)s->queued});
        t->rows = t->columns[0]->rows;
    }
    unlock();
    if (fail) {
        ddb_obj_unref(t);
        return NULL;
    }
    return t;
}

/* Marks the subscriptions (of one table, or all) for closing; returns how many. */
static void streaming_drop_id(int id)
{
    lock();
    stream_sub *s = sub_by_id(id);
    if (s)
        s->closing = 1;
    unlock();
    pump();
}

int streaming_drop(const char *table)
{
    int n = 0;
    lock();
    for (int i = 0; i < STREAM_MAX_SUBS; i++) {
        stream_sub *s = &g_stream.subs[i];
        if (s->id && !s->closing && (!table || !strcmp(s->table, table))) {
            s->closing = 1;
            n++;
        }
    }
    unlock();
    wake();
    return n;
}

