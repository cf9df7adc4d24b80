/* builtins_streaming.c — the streaming built-ins of ddbmini: streamTable,
 * setStreamTableFilterColumn, getSubscriptionTopic, publishTable, stopPublishTable,
 * getStreamingStat and the streaming fault switches. The subscriptions themselves
 * and the pushing live in streaming.c (docs/STREAMING.md, section 8). */
#include "streaming.h"
#include "tables.h"
#include "values.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    char table[128], action[128] = "", topic[512];
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
    snprintf(topic, sizeof topic, "%s/%s/%s", streaming_site(), table, action);
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
    struct sockaddr_in dial_to; /* listen mode; port 0: reverse mode */
    char table[128], action[128];
    int64_t offset;
    const ddb_obj *filter;      /* NULL: none */
    int allow_exists;
} publish_args;

static int parse_publish(eval_ctx *ctx, ddb_obj **a, int n, publish_args *p)
{
    static const char fn[] = "publishTable";
    int64_t port = -1;
    char host[64];
    memset(p, 0, sizeof *p);
    if (text_arg(ctx, a[0], fn, "host", host, sizeof host) || int_arg(ctx, a[1], fn, "port", -1, &port) ||
        text_arg(ctx, a[2], fn, "table name", p->table, sizeof p->table) ||
        (n > 3 && text_arg(ctx, a[3], fn, "action name", p->action, sizeof p->action)) ||
        int_arg(ctx, n > 4 ? a[4] : a[1], fn, "offset", -1, &p->offset))
        return -1;
    if (n <= 4)
        p->offset = -1;
    if (port < 0 || port > 65535)
        return ctx_error(ctx, "publishTable: bad port %lld", (long long)port);
    if (port > 0 && uv_ip4_addr(strcmp(host, "localhost") ? host : "127.0.0.1", (int)port, &p->dial_to))
        return ctx_error(ctx, "publishTable: ddbmini connects back to IPv4 addresses (or localhost) only, "
                              "not %s", host);
    if (port == 0 && !(streaming_request_flag() & STREAM_FLAG_REVERSE))
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
static int bind_table(eval_ctx *ctx, stream_spec *s, const publish_args *p, ddb_obj **names)
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

/* The reply to publishTable: the column names, or for a pretend HA stream table
 * (faultStreamSites) the tuple (columns, sites). Takes names. */
static int ha_reply(eval_ctx *ctx, ddb_obj *names, ddb_obj **out)
{
    char list[256];
    pthread_mutex_lock(&g_mini.lock);
    memcpy(list, g_mini.faults.stream_sites, sizeof list);
    pthread_mutex_unlock(&g_mini.lock);
    if (!list[0]) {
        *out = names;
        return 0;
    }
    ddb_obj *sites = ddb_vector_new(DDB_STRING, 0);
    int fail = !sites;
    for (char *p = list, *comma; !fail && p; p = comma ? comma + 1 : NULL) {
        comma = strchr(p, ',');
        fail = ddb_varlen_append(sites, p, comma ? (size_t)(comma - p) : strlen(p));
    }
    *out = fail ? NULL : ddb_vector_new(DDB_ANY, 2);
    if (!*out) {
        ddb_obj_unref(sites);
        ddb_obj_unref(names);
        return ctx_oom(ctx);
    }
    ddb_obj_unref((*out)->items[0]);
    ddb_obj_unref((*out)->items[1]);
    (*out)->items[0] = names;
    (*out)->items[1] = sites;
    return 0;
}

/* publishTable(host, port, tableName, [actionName], [offset], [filter], [allowExists],
 * [resetOffset], [udpMulticast]) -> the column names. Port 0 (reverse mode): the
 * connection then carries the pushes; a port (listen mode): ddbmini connects back
 * to host:port and pushes there. */
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
    stream_spec s;
    memset(&s, 0, sizeof s);
    memcpy(s.table, p.table, sizeof s.table);
    memcpy(s.action, p.action, sizeof s.action);
    s.dial_to = p.dial_to;
    ddb_obj *names = NULL;
    store_lock();
    int rc = bind_table(ctx, &s, &p, &names);
    store_unlock();
    if (rc) {
        ddb_obj_unref(names);
        return -1;
    }
    s.filter = p.filter ? col_copy(p.filter) : NULL;
    if (p.filter && !s.filter)
        rc = ctx_oom(ctx);
    else
        rc = streaming_subscribe(ctx, &s, p.allow_exists);
    ddb_obj_unref(s.filter);            /* NULL when the subscription took it */
    if (rc) {
        ddb_obj_unref(names);
        return -1;
    }
    return ha_reply(ctx, names, out);
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
    streaming_stop(table, action);
    return 0;
}

/* getStreamingStat(): a dictionary whose `pubTables` lists the live subscriptions
 * (tableName, subscriber = topic, msgOffset = next offset to send, actions, and
 * ddbmini's queuedBytes). */
int bi_get_streaming_stat(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    ddb_obj *t = streaming_stat_table();
    ddb_obj *keys = t ? ddb_vector_new(DDB_STRING, 0) : NULL;
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

/* faultDropSubscribers([tableName]): the push connections close at once, a message
 * possibly cut half-way (what a publisher crash looks like). Returns the count. */
int bi_fault_drop_subscribers(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    char table[128];
    if (n > 0 && text_arg(ctx, a[0], "faultDropSubscribers", "table name", table, sizeof table))
        return -1;
    *out = ddb_int_new(DDB_INT, streaming_drop(n > 0 ? table : NULL));
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

/* faultStreamSites("h:p:alias,..."): publishTable answers (columns, sites) as for a
 * high-availability stream table ("" turns it off). */
int bi_fault_stream_sites(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    char sites[256];
    if (text_arg(ctx, a[0], "faultStreamSites", "site list", sites, sizeof sites))
        return -1;
    pthread_mutex_lock(&g_mini.lock);
    memcpy(g_mini.faults.stream_sites, sites, sizeof sites);
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
        streaming_drop(NULL);
    return 0;
}
