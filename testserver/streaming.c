/* streaming.c — stream tables, subscriptions and the reverse-mode publisher of
 * ddbmini (streaming.h; the wire format is in docs/STREAMING.md, sections 4-5). */
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
} stream_sub;

static struct {
    pthread_mutex_t lock;
    int ready;                  /* `wake` initialized (not in the fuzzers) */
    uv_async_t wake;
    char site[200];             /* host:port:alias of this node */
    int next_id;
    stream_sub subs[STREAM_MAX_SUBS];
} g_stream = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The request being evaluated on this thread (streaming_request_begin/end). */
static _Thread_local int64_t tl_flag;
static _Thread_local int tl_created;

static void pump(void);

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
    if (uv_async_init(loop, &g_stream.wake, on_wake) == 0)
        g_stream.ready = 1;
}

void streaming_shutdown(void)
{
    lock();
    for (int i = 0; i < STREAM_MAX_SUBS; i++)
        sub_clear(&g_stream.subs[i]);
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
    if (t->fkind == TBL_STREAM && t->rows + more > STREAM_MAX_ROWS)
        return ctx_error(ctx, "ddbmini keeps at most %lld rows of a stream table", (long long)STREAM_MAX_ROWS);
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
        ddb_obj *cell = tuple ? obj_element(part->columns[c], 0) : NULL;
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

/* Sends one message to subscriber i if it has one ready and room for it.
 * Returns 1 when something moved. Loop thread. */
static int serve(int i)
{
    ddb_obj *body = NULL;
    int64_t msg_id = 0;
    int scanned = 0, id = 0;
    char topic[sizeof g_stream.subs[0].topic], join[128];
    uv_stream_t *out = NULL;
    pthread_mutex_lock(&g_mini.lock);     /* the test hooks: tuple rows, a joined topic */
    int tuple = g_mini.faults.stream_tuples;
    memcpy(join, g_mini.faults.stream_join_topic, sizeof join);
    pthread_mutex_unlock(&g_mini.lock);
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
            body = next_batch(s, e->t, tuple, &msg_id, &scanned);
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
        char topics[sizeof topic + sizeof join + 1];
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
        }
    }
    unlock();
    for (int i = 0; i < n; i++)
        fns[i](args[i]);
}

static void pump(void)
{
    for (int progress = 1; progress;) {
        progress = 0;
        for (int i = 0; i < STREAM_MAX_SUBS; i++)
            progress |= serve(i);
    }
    close_marked();
}

/* ---------------------------------------------------------------- built-ins */

static int text_arg(eval_ctx *ctx, const ddb_obj *o, const char *fn, const char *what, char *buf, size_t len)
{
    char cb[2];
    const char *s = o->form == DDB_SCALAR ? obj_text(o, cb) : NULL;
    if (!s)
        return ctx_error(ctx, "%s: the %s must be a string", fn, what);
    if (strlen(s) >= len)
        return ctx_error(ctx, "%s: the %s is too long", fn, what);
    snprintf(buf, len, "%s", s);
    return 0;
}

static int int_arg(eval_ctx *ctx, const ddb_obj *o, const char *fn, const char *what, int64_t dflt, int64_t *v)
{
    int isnull = 0;
    if (obj_is_void(o)) {
        *v = dflt;
        return 0;
    }
    if (o->form != DDB_SCALAR || !type_is_integer(o->type))
        return ctx_error(ctx, "%s: the %s must be an integer", fn, what);
    *v = cell_i64(o, 0, &isnull);
    if (isnull)
        *v = dflt;
    return 0;
}

/* The store entry of the shared stream table `name` (store lock held), or NULL
 * with ctx->err set. */
static store_table *find_stream(eval_ctx *ctx, const char *name, int *slot)
{
    for (int i = 0; i < MAX_STORE_TABLES; i++) {
        store_table *e = store_at(i);
        if (e->used && e->db < 0 && !strcmp(e->name, name)) {
            if (e->t->fkind != TBL_STREAM) {
                ctx_error(ctx, "%s is not a stream table", name);
                return NULL;
            }
            *slot = i;
            return e;
        }
    }
    ctx_error(ctx, "Can't find the shared stream table %s", name);
    return NULL;
}

static ddb_obj *column_names(const ddb_obj *t)
{
    ddb_obj *v = ddb_vector_new(DDB_STRING, 0);
    for (int64_t c = 0; v && c < t->cols; c++)
        if (ddb_varlen_append(v, t->col_names[c], strlen(t->col_names[c]))) {
            ddb_obj_unref(v);
            return NULL;
        }
    return v;
}

/* streamTable(...): the arguments of table(...), a table marked as a stream table. */
int bi_stream_table(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    const builtin *table = builtin_find("table");
    if (!table || table->fn(ctx, a, n, l, out))
        return -1;
    if ((*out)->refcount > 1) {         /* not ours alone to mark */
        ddb_obj *copy = table_gather(*out, NULL, 0);
        ddb_obj_unref(*out);
        if (!(*out = copy))
            return ctx_oom(ctx);
    }
    (*out)->fkind = TBL_STREAM;
    return 0;
}

/* setStreamTableFilterColumn(streamTable, columnName) */
int bi_set_filter_column(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    static const char fn[] = "setStreamTableFilterColumn";
    char col[128];
    if (text_arg(ctx, a[1], fn, "column name", col, sizeof col))
        return -1;
    if (!is_handle(a[0]))
        return ctx_error(ctx, "%s: the first argument must be a shared stream table", fn);
    store_lock();
    store_table *e = store_entry(a[0]);
    int c = e && e->t->fkind == TBL_STREAM ? table_col_index(e->t, col) : -2;
    int type = c >= 0 ? e->t->columns[c]->type : 0;
    int ok = c >= 0 && (type_is_text(type) || type_is_integer(type) || type_is_temporal(type));
    if (ok)
        e->stream_filter = c + 1;
    store_unlock();
    if (c == -2)
        return ctx_error(ctx, "%s: the first argument must be a shared stream table", fn);
    if (c < 0)
        return ctx_error(ctx, "%s: the stream table has no column %s", fn, col);
    return ok ? 0 : ctx_error(ctx, "%s: the filter column must be of a text, integral or temporal type", fn);
}

/* getSubscriptionTopic(tableName, actionName) -> (topic, column names) */
int bi_get_subscription_topic(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    static const char fn[] = "getSubscriptionTopic";
    char table[128], action[128] = "", topic[sizeof g_stream.subs[0].topic];
    if (text_arg(ctx, a[0], fn, "table name", table, sizeof table) ||
        (n > 1 && text_arg(ctx, a[1], fn, "action name", action, sizeof action)))
        return -1;
    int slot;
    store_lock();
    store_table *e = find_stream(ctx, table, &slot);
    ddb_obj *names = e ? column_names(e->t) : NULL;
    store_unlock();
    if (!e)
        return -1;
    snprintf(topic, sizeof topic, "%s/%s/%s", g_stream.site, table, action);
    ddb_obj *t = ddb_string_new(DDB_STRING, topic, strlen(topic));
    *out = names && t ? ddb_vector_new(DDB_ANY, 2) : NULL;
    if (!*out) {
        ddb_obj_unref(names);
        ddb_obj_unref(t);
        return ctx_oom(ctx);
    }
    ddb_obj_unref((*out)->items[0]);
    ddb_obj_unref((*out)->items[1]);
    (*out)->items[0] = t;
    (*out)->items[1] = names;
    return 0;
}

/* The arguments of publishTable after host and port, checked. */
typedef struct publish_args {
    char table[128], action[128];
    int64_t offset;
    const ddb_obj *filter;      /* NULL: none */
    int allow_exists;
} publish_args;

static int parse_publish(eval_ctx *ctx, ddb_obj **a, int n, publish_args *p)
{
    static const char fn[] = "publishTable";
    int64_t port = -1;
    memset(p, 0, sizeof *p);
    if (int_arg(ctx, a[1], fn, "port", -1, &port) ||
        text_arg(ctx, a[2], fn, "table name", p->table, sizeof p->table) ||
        (n > 3 && text_arg(ctx, a[3], fn, "action name", p->action, sizeof p->action)) ||
        int_arg(ctx, n > 4 ? a[4] : a[1], fn, "offset", -1, &p->offset))
        return -1;
    if (n <= 4)
        p->offset = -1;
    if (port != 0)
        return ctx_error(ctx, "ddbmini publishes in reverse mode only: call publishTable with port 0 "
                              "on a connection whose requests carry flag %d", STREAM_FLAG_REVERSE);
    if (!(tl_flag & STREAM_FLAG_REVERSE))
        return ctx_error(ctx, "publishTable with port 0 needs a connection whose requests carry flag %d "
                              "(reverse streaming)", STREAM_FLAG_REVERSE);
    if (p->offset < -1)
        return ctx_error(ctx, "publishTable: the offset must be -1 or a row number, not %lld", (long long)p->offset);
    if (n > 5 && !obj_is_void(a[5])) {
        if (a[5]->form != DDB_VECTOR || obj_class(a[5]) == DDB_CLASS_ANY || obj_class(a[5]) == DDB_CLASS_ARRAY)
            return ctx_error(ctx, "publishTable: the filter must be a vector of values");
        p->filter = a[5];
    }
    if (n > 6 && (p->allow_exists = obj_truth(a[6])) < 0)
        return ctx_error(ctx, "publishTable: allowExists must be a boolean");
    return 0;
}

/* Fills s from the stream table (store lock held): first offset, filter column. */
static int bind_table(eval_ctx *ctx, stream_sub *s, const publish_args *p, ddb_obj **names)
{
    int slot;
    store_table *e = find_stream(ctx, p->table, &slot);
    if (!e)
        return -1;
    s->slot = slot;
    s->gen = e->gen;
    s->next = p->offset < 0 || p->offset > e->t->rows ? e->t->rows : p->offset;
    s->filter_col = -1;
    if (p->filter) {
        if (!e->stream_filter)
            return ctx_error(ctx, "The filter column of stream table %s is not set: call "
                                  "setStreamTableFilterColumn first", p->table);
        s->filter_col = e->stream_filter - 1;
        int ct = e->t->columns[s->filter_col]->type, ft = p->filter->type;
        if (!(type_is_text(ct) && type_is_text(ft)) && !((type_is_integer(ct) || type_is_temporal(ct)) &&
                                                         (type_is_integer(ft) || type_is_temporal(ft))))
            return ctx_error(ctx, "The filter values of type %s don't fit the filter column %s of type %s",
                             ddb_type_name(ft), e->t->col_names[s->filter_col], ddb_type_name(ct));
    }
    if (!(*names = column_names(e->t)))
        return ctx_oom(ctx);
    return 0;
}

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

/* publishTable(host, port, tableName, [actionName], [offset], [filter], [allowExists],
 * [resetOffset], [udpMulticast]) -> the column names; the connection then carries
 * the pushes (reverse mode). */
int bi_publish_table(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    char notleader[160];
    pthread_mutex_lock(&g_mini.lock);
    snprintf(notleader, sizeof notleader, "%s", g_mini.faults.stream_not_leader);
    pthread_mutex_unlock(&g_mini.lock);
    if (notleader[0])
        return ctx_error(ctx, "<NotLeader>%s", notleader);
    if (n > 8 && obj_truth(a[8]) == 1)
        return ctx_error(ctx, "ddbmini doesn't publish over UDP multicast");
    publish_args p;
    if (parse_publish(ctx, a, n, &p))
        return -1;
    stream_sub s;
    memset(&s, 0, sizeof s);
    snprintf(s.table, sizeof s.table, "%s", p.table);
    snprintf(s.action, sizeof s.action, "%s", p.action);
    snprintf(s.topic, sizeof s.topic, "%s/%s/%s", g_stream.site, p.table, p.action);
    ddb_obj *names = NULL;
    store_lock();
    int rc = bind_table(ctx, &s, &p, &names);
    store_unlock();
    if (rc) {
        ddb_obj_unref(names);
        return -1;
    }
    s.filter = p.filter ? col_copy(p.filter) : NULL;
    int id = 0;
    if (p.filter && !s.filter)
        ctx_oom(ctx);
    else
        id = add_sub(ctx, &s, p.allow_exists);
    if (!id) {
        ddb_obj_unref(s.filter);
        ddb_obj_unref(names);
        return -1;
    }
    tl_created = id;
    *out = names;
    return 0;
}

/* stopPublishTable(host, port, tableName, actionName, [internal], [udp]): ends the
 * subscription and closes its push connection. Nothing to stop is no error (clients
 * call it after the connection broke). */
int bi_stop_publish_table(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    static const char fn[] = "stopPublishTable";
    char table[128], action[128] = "";
    if (text_arg(ctx, a[2], fn, "table name", table, sizeof table) ||
        (n > 3 && text_arg(ctx, a[3], fn, "action name", action, sizeof action)))
        return -1;
    lock();
    for (int i = 0; i < STREAM_MAX_SUBS; i++) {
        stream_sub *s = &g_stream.subs[i];
        if (s->id && !strcmp(s->table, table) && !strcmp(s->action, action))
            s->closing = 1;
    }
    unlock();
    wake();
    return 0;
}

/* getStreamingStat(): a dictionary whose `pubTables` lists the live subscriptions
 * (tableName, subscriber = topic, msgOffset = next offset to send, actions). */
int bi_get_stream_subscribers(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    static const char *const names[] = {"tableName", "subscriber", "msgOffset", "actions"};
    ddb_obj *t = ddb_table_new(0, 4);
    for (int c = 0; t && c < 4; c++) {
        free(t->col_names[c]);
        t->col_names[c] = strdup(names[c]);
        t->columns[c] = ddb_vector_new(c == 2 ? DDB_LONG : DDB_STRING, 0);
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
               ddb_varlen_append(t->columns[3], s->action, strlen(s->action));
        t->rows = t->columns[0]->rows;
    }
    unlock();
    ddb_obj *keys = fail ? NULL : ddb_vector_new(DDB_STRING, 0);
    ddb_obj *vals = keys ? ddb_vector_new(DDB_ANY, 1) : NULL;
    if (!vals || ddb_varlen_append(keys, "pubTables", 9)) {
        ddb_obj_unref(t);
        ddb_obj_unref(keys);
        ddb_obj_unref(vals);
        return ctx_oom(ctx);
    }
    ddb_obj_unref(vals->items[0]);
    vals->items[0] = t;
    *out = ddb_dict_new(keys, vals);
    return *out ? 0 : ctx_oom(ctx);
}

/* Marks the subscriptions (of one table, or all) for closing; returns how many. */
static int drop_subscribers(const char *table)
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

/* faultDropSubscribers([tableName]): the push connections close at once, a message
 * possibly cut half-way (what a publisher crash looks like). Returns the count. */
int bi_fault_drop_subscribers(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    char table[128];
    if (n > 0 && text_arg(ctx, a[0], "faultDropSubscribers", "table name", table, sizeof table))
        return -1;
    *out = ddb_int_new(DDB_INT, drop_subscribers(n > 0 ? table : NULL));
    return *out ? 0 : ctx_oom(ctx);
}

/* faultStreamRowTuples(bool): data messages carry one row each, as a tuple of
 * scalars (the form listen-mode servers use for single rows). */
int bi_fault_stream_tuples(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    int on = obj_truth(a[0]);
    if (on < 0)
        return ctx_error(ctx, "faultStreamRowTuples: the argument must be a boolean");
    pthread_mutex_lock(&g_mini.lock);
    g_mini.faults.stream_tuples = on;
    pthread_mutex_unlock(&g_mini.lock);
    return 0;
}

/* faultStreamJoinTopic("other"): pushed messages name "<topic>,other" (one push
 * serving several subscriptions); "" turns it off. */
int bi_fault_stream_join_topic(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    char extra[128];
    if (text_arg(ctx, a[0], "faultStreamJoinTopic", "topic", extra, sizeof extra))
        return -1;
    pthread_mutex_lock(&g_mini.lock);
    snprintf(g_mini.faults.stream_join_topic, sizeof g_mini.faults.stream_join_topic, "%s", extra);
    pthread_mutex_unlock(&g_mini.lock);
    return 0;
}

/* faultStreamNotLeader("host:port"): this node loses the leadership of its stream
 * tables: every subscription is dropped and publishTable answers
 * <NotLeader>host:port ("" makes it the leader again). */
int bi_fault_stream_not_leader(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    char target[128];
    if (text_arg(ctx, a[0], "faultStreamNotLeader", "leader", target, sizeof target))
        return -1;
    pthread_mutex_lock(&g_mini.lock);
    snprintf(g_mini.faults.stream_not_leader, sizeof g_mini.faults.stream_not_leader, "%s", target);
    pthread_mutex_unlock(&g_mini.lock);
    if (target[0])
        drop_subscribers(NULL);
    return 0;
}
