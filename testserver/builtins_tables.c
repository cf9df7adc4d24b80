/* builtins_tables.c — the write path's built-ins: share, tableInsert, append!,
 * insert into, keyedTable, indexedTable, upsert!, tableUpsert, schema, undef, and
 * the aggregates select/exec use (count, sum, avg, min, max, first, last). */
#include "streaming.h"
#include "tables.h"
#include "values.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INSERT_COLS 64      /* the call argument limit of eval.c */

/* Runs fn on the table t stands for: t itself, or (under the store lock) the
 * stored table of a shared/DFS handle. */
typedef int (*target_fn)(eval_ctx *ctx, ddb_obj *t, store_table *e, void *arg);

static int on_target(eval_ctx *ctx, ddb_obj *t, const char *fn_name, target_fn fn, void *arg)
{
    if (t->form != DDB_TABLE)
        return ctx_error(ctx, "The first argument of %s must be a table", fn_name);
    if (!is_handle(t))
        return fn(ctx, t, NULL, arg);
    store_lock();
    store_table *e = store_entry(t);
    int rc = e ? fn(ctx, e->t, e, arg)
               : ctx_error(ctx, "The table %s has been dropped or undefined", t->name ? t->name : "");
    store_unlock();
    return rc;
}

/* ---- inserts ---- */

typedef struct insert_arg {
    ddb_obj **data;
    int n;
    int64_t rows;
    ddb_obj *fit;               /* made before the lock (a handle's target), or NULL */
    dfs_plan *plan;             /* its partition check, made before the lock too */
} insert_arg;

static int do_insert(eval_ctx *ctx, ddb_obj *t, store_table *e, void *arg)
{
    insert_arg *ia = arg;
    ddb_obj *fit = ia->fit;
    if (fit) {
        ia->fit = NULL;
        if (t->rows + fit->rows > MAX_GENERATED_ROWS) {   /* the handle had 0 rows */
            ddb_obj_unref(fit);
            return ctx_error(ctx, "A table can't hold more than %lld rows in ddbmini", MAX_GENERATED_ROWS);
        }
    } else if (table_fit(ctx, t, ia->data, ia->n, &fit))
        return -1;
    int rc = !e || e->db < 0 ? 0 : ia->plan ? dfs_apply_plan(ctx, e, fit, ia->plan) : dfs_check_rows(ctx, e, fit);
    if (!rc && e)
        rc = streaming_check_room(ctx, t, fit->rows);
    if (!rc)
        rc = table_append_rows(ctx, t, fit);
    if (!rc && e && t->fkind == TBL_STREAM && fit->rows > 0)
        streaming_wake();     /* the publisher pushes them to subscribers */
    ia->rows = fit->rows;
    ddb_obj_unref(fit);
    return rc;
}

/* Inserts into t. A shared or DFS table's handle carries its column types (they
 * never change), so the rows are converted to them before taking the store lock:
 * concurrent inserts convert in parallel and hold the lock only to append. */
static int insert_rows(eval_ctx *ctx, ddb_obj *t, const char *fn_name, insert_arg *ia)
{
    if (is_handle(t) && table_fit(ctx, t, ia->data, ia->n, &ia->fit))
        return -1;
    int rc = ia->fit ? dfs_plan_rows(ctx, t, ia->fit, &ia->plan) : 0;
    if (!rc)
        rc = on_target(ctx, t, fn_name, do_insert, ia);
    ddb_obj_unref(ia->fit);     /* not taken when the table was dropped meanwhile */
    dfs_plan_free(ia->plan);
    ia->fit = NULL;
    ia->plan = NULL;
    return rc;
}

static int bi_table_insert(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    insert_arg ia = {a + 1, n - 1, 0, NULL, NULL};
    if (insert_rows(ctx, a[0], "tableInsert", &ia))
        return -1;
    *out = ddb_int_new(DDB_INT, ia.rows);
    return *out ? 0 : ctx_oom(ctx);
}

static int bi_append(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    insert_arg ia = {a + 1, 1, 0, NULL, NULL};
    if (insert_rows(ctx, a[0], "append!", &ia))
        return -1;
    *out = ddb_obj_ref(a[0]);
    return 0;
}

/* insert into t [(cols)] values (...): the parser passes the column list (or NULL)
 * second; values of unlisted columns are NULL. */
static int bi_insert_into(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    if (a[1]->type == DDB_VOID) {
        insert_arg ia = {a + 2, n - 2, 0, NULL, NULL};
        return insert_rows(ctx, a[0], "insert into", &ia);
    }
    ddb_obj *shape;
    if (table_snapshot(ctx, a[0], &shape))  /* column names and types */
        return -1;
    if (shape->form != DDB_TABLE || a[1]->rows != n - 2 || shape->cols > MAX_INSERT_COLS) {
        ddb_obj_unref(shape);
        return ctx_error(ctx, "The number of columns and values of insert into must match");
    }
    ddb_obj *cols[MAX_INSERT_COLS];
    int ok = 1;
    for (int64_t c = 0; c < shape->cols; c++) {
        cols[c] = NULL;
        for (int64_t k = 0; k < a[1]->rows; k++)
            if (!strcmp(ddb_str_at(a[1], k, NULL), shape->col_names[c]))
                cols[c] = ddb_obj_ref(a[2 + k]);
        if (!cols[c] && !(cols[c] = ddb_void_new(1)))
            ok = 0;
    }
    int64_t ncols = shape->cols;
    ddb_obj_unref(shape);
    insert_arg ia = {cols, (int)ncols, 0, NULL, NULL};
    int rc = ok ? insert_rows(ctx, a[0], "insert into", &ia) : ctx_oom(ctx);
    for (int64_t c = 0; c < ncols; c++)
        ddb_obj_unref(cols[c]);
    return rc;
}

/* ---- share / undef ---- */

static int bi_share(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    char cbuf[2];
    const char *name = obj_text(a[1], cbuf);
    if (a[0]->form != DDB_TABLE || is_handle(a[0]))
        return ctx_error(ctx, "share only supports an in-memory table");
    if (!name || !name[0])
        return ctx_error(ctx, "The shared name must be a non-empty string");
    ddb_obj *copy = table_gather(a[0], NULL, 0);
    if (!copy)
        return ctx_oom(ctx);
    copy->fkind = a[0]->fkind;
    copy->scale = a[0]->scale;
    ddb_obj *h = NULL;
    store_lock();
    int exists = 0, idx = -1;
    for (int i = 0; i < MAX_STORE_TABLES; i++)
        exists |= store_at(i)->used && store_at(i)->db < 0 && !strcmp(store_at(i)->name, name);
    if (!exists && (idx = store_add(name, -1, copy)) >= 0)
        h = store_handle(idx);
    store_unlock();
    if (exists || idx < 0) {
        ddb_obj_unref(copy);
        return exists ? ctx_error(ctx, "The shared table %s already exists", name)
                      : ctx_error(ctx, "ddbmini holds at most %d shared and DFS tables", MAX_STORE_TABLES);
    }
    if (!h)
        return ctx_oom(ctx);
    /* the variable that was shared now names the shared table, as on the server */
    var_list *vars = ctx->locals ? ctx->locals : &ctx->sess->vars;
    if (l[0] && l[0][0] != '=' && vars_get(vars, l[0]) == a[0] &&
        vars_set(vars, l[0], h, ctx->sess->request_no)) {
        ddb_obj_unref(h);
        return ctx_oom(ctx);
    }
    ddb_obj_unref(h);
    return 0;
}

/* undef(name, SHARED) drops a shared table. */
static int bi_undef(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    char cbuf[2];
    const char *name = obj_text(a[0], cbuf);
    if (!name || n < 2)
        return ctx_error(ctx, "ddbmini's undef only drops shared tables: undef(name, SHARED)");
    store_lock();
    int found = 0;
    for (int i = 0; i < MAX_STORE_TABLES; i++)
        if (store_at(i)->used && store_at(i)->db < 0 && !strcmp(store_at(i)->name, name)) {
            store_remove(i);
            found = 1;
        }
    store_unlock();
    if (found)
        streaming_wake();           /* subscribers of a dropped stream table end */
    return found ? 0 : ctx_error(ctx, "The shared variable %s doesn't exist", name);
}

/* ---- keyed / indexed tables ---- */

static int make_keyed(eval_ctx *ctx, int kind, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    const char *fn = kind == TBL_KEYED ? "keyedTable" : "indexedTable";
    if (!type_is_text(a[0]->type) || (a[0]->form != DDB_SCALAR && a[0]->form != DDB_VECTOR))
        return ctx_error(ctx, "The key columns of %s must be a STRING or SYMBOL", fn);
    ddb_obj *t = NULL;
    if (n == 2 && a[1]->form == DDB_TABLE) {
        if (is_handle(a[1]) || !(t = table_gather(a[1], NULL, 0)))
            return is_handle(a[1]) ? ctx_error(ctx, "%s needs an in-memory table", fn) : ctx_oom(ctx);
    } else if (call_named(ctx, "table", a + 1, n - 1, l + 1, &t))
        return -1;
    uint32_t mask = 0;
    for (int64_t k = 0; k < obj_len(a[0]); k++) {
        const char *name = ddb_str_at(a[0], k, NULL);
        int c = table_col_index(t, name);
        if (c < 0 || c >= MAX_KEY_COLS) {
            ddb_obj_unref(t);
            return c < 0 ? ctx_error(ctx, "The key column %s doesn't exist in the table", name)
                         : ctx_error(ctx, "ddbmini's key columns must be among the first %d", MAX_KEY_COLS);
        }
        mask |= 1u << c;
    }
    t->fkind = (uint8_t)kind;
    t->scale = (int32_t)mask;
    *out = t;
    return 0;
}

static int bi_keyed(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o) { return make_keyed(c, TBL_KEYED, a, n, l, o); }
static int bi_indexed(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o) { return make_keyed(c, TBL_INDEXED, a, n, l, o); }

/* ---- upsert ---- */

typedef struct upsert_arg {
    ddb_obj *data;
    int ignore_null;
    const ddb_obj *key_names;   /* keyColNames, or NULL */
    int64_t inserted, updated;
} upsert_arg;

static int do_upsert(eval_ctx *ctx, ddb_obj *t, store_table *e, void *arg)
{
    upsert_arg *ua = arg;
    int keys[MAX_KEY_COLS + MAX_LEVELS], nkeys = table_keys(t, keys);
    if (ua->key_names && (!e || e->db < 0) && nkeys == 0)
        nkeys = 0;                          /* keyColNames only applies to DFS tables */
    if (e && e->db >= 0) {
        nkeys = 0;
        for (int64_t k = 0; ua->key_names && k < obj_len(ua->key_names) && nkeys < MAX_KEY_COLS; k++) {
            int c = table_col_index(t, ddb_str_at(ua->key_names, k, NULL));
            if (c < 0)
                return ctx_error(ctx, "The column %s doesn't exist in the table",
                                 ddb_str_at(ua->key_names, k, NULL));
            keys[nkeys++] = c;
        }
        for (int lv = 0; lv < e->nlevels; lv++) {   /* the partition columns are keys too */
            int dup = 0;
            for (int k = 0; k < nkeys; k++)
                dup |= keys[k] == e->part_col[lv];
            if (!dup)
                keys[nkeys++] = e->part_col[lv];
        }
    }
    if (nkeys == 0)
        return ctx_error(ctx, "upsert! only supports keyed tables, indexed tables and DFS tables "
                              "(a DFS table needs keyColNames)");
    ddb_obj *fit;
    if (table_fit(ctx, t, &ua->data, 1, &fit))
        return -1;
    int rc = e && e->db >= 0 ? dfs_check_rows(ctx, e, fit) : 0;
    if (!rc)
        rc = table_upsert_rows(ctx, t, fit, keys, nkeys, ua->ignore_null, &ua->inserted, &ua->updated);
    ddb_obj_unref(fit);
    return rc;
}

/* upsert!(obj, newData, [ignoreNull], [keyColNames], [sortColumns]), positional
 * or named (ignoreNull=..., keyColNames=..., sortColumns=...). */
static int run_upsert(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, upsert_arg *ua,
                      const char *fn)
{
    static const char *const names[] = {"obj", "newData", "ignoreNull", "keyColNames", "sortColumns"};
    ddb_obj *slot[5] = {0};
    for (int i = 0, pos = 0; i < n; i++) {
        int at = pos;
        if (l[i] && l[i][0] == '=') {
            for (at = 0; at < 5 && strcmp(names[at], l[i] + 1); at++)
                ;
            if (at == 5)
                return ctx_error(ctx, "The function [%s] doesn't have a parameter named %s", fn, l[i] + 1);
        } else
            pos++;
        if (at >= 5)
            return ctx_error(ctx, "The function [%s] expects 2~5 argument(s)", fn);
        slot[at] = a[i];
    }
    if (!slot[0] || !slot[1])
        return ctx_error(ctx, "The function [%s] needs obj and newData", fn);
    if (slot[1]->form != DDB_TABLE)
        return ctx_error(ctx, "The newData of %s must be a table", fn);
    ua->data = slot[1];
    ua->ignore_null = slot[2] ? obj_truth(slot[2]) == 1 : 0;
    ua->key_names = slot[3] && slot[3]->type != DDB_VOID ? slot[3] : NULL;
    if (ua->key_names && !type_is_text(ua->key_names->type))
        return ctx_error(ctx, "keyColNames must be a STRING or SYMBOL vector");
    return on_target(ctx, slot[0], fn, do_upsert, ua);
}

static int bi_upsert(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    upsert_arg ua = {0};
    if (run_upsert(ctx, a, n, l, &ua, "upsert!"))
        return -1;
    *out = ddb_obj_ref(a[0]);
    return 0;
}

static int bi_table_upsert(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    upsert_arg ua = {0};
    if (run_upsert(ctx, a, n, l, &ua, "tableUpsert"))
        return -1;
    ddb_obj *p = ddb_vector_new(DDB_LONG, 2);
    if (!p)
        return ctx_oom(ctx);
    p->form = DDB_PAIR;
    cell_put_i64(p, 0, ua.inserted);
    cell_put_i64(p, 1, ua.updated);
    *out = p;
    return 0;
}

/* ---- schema ---- */

static int dict_put(ddb_obj *keys, ddb_obj *vals, const char *k, ddb_obj *v)
{
    if (!v)
        return -1;
    ddb_obj **items = realloc(vals->items, (size_t)(vals->rows + 1) * sizeof *items);
    if (!items || ddb_varlen_append(keys, k, strlen(k))) {
        if (items)
            vals->items = items;
        ddb_obj_unref(v);
        return -1;
    }
    vals->items = items;
    vals->items[vals->rows++] = v;
    vals->cap_rows = vals->rows;
    return 0;
}

static int do_schema(eval_ctx *ctx, ddb_obj *t, store_table *e, void *arg)
{
    ddb_obj *keys = ddb_vector_new(DDB_STRING, 0), *vals = ddb_vector_new(DDB_ANY, 0);
    int rc = keys && vals ? dict_put(keys, vals, "colDefs", table_coldefs(t)) : -1;
    int kc[MAX_KEY_COLS], nk = table_keys(t, kc);
    if (!rc && nk) {
        ddb_obj *kn = ddb_vector_new(DDB_STRING, 0);
        for (int k = 0; kn && k < nk; k++)
            if (ddb_varlen_append(kn, t->col_names[kc[k]], strlen(t->col_names[kc[k]]))) {
                ddb_obj_unref(kn);
                kn = NULL;
            }
        rc = dict_put(keys, vals, "keyColumns", kn);
    }
    if (!rc && e && e->db >= 0)
        rc = dfs_schema_fields(ctx, e, keys, vals);
    ddb_obj *d = !rc ? ddb_dict_new(keys, vals) : NULL;
    if (!d) {
        if (rc == 0 || !ctx->err[0]) {
            ddb_obj_unref(keys);
            ddb_obj_unref(vals);
            return ctx_oom(ctx);
        }
        ddb_obj_unref(keys);
        ddb_obj_unref(vals);
        return -1;
    }
    d->type = DDB_ANY;
    *(ddb_obj **)arg = d;
    return 0;
}

static int bi_schema(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    return on_target(ctx, a[0], "schema", do_schema, out);
}

/* ---- aggregates ---- */

static int agg_arg(eval_ctx *ctx, const ddb_obj *o, const char *fn)
{
    if (o->form != DDB_SCALAR && !obj_is_vectorlike(o))
        return ctx_error(ctx, "The argument of %s must be a scalar or a vector", fn);
    return 0;
}

/* count(x): the non-NULL elements; count(*) in a select: the rows; a table: rows. */
static int bi_count(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    const ddb_obj *o = a[0];
    int64_t cnt = 0;
    if (o->form == DDB_TABLE || (l[0] && !strcmp(l[0], "*")))
        cnt = o->rows;
    else if (o->form == DDB_SET || o->form == DDB_DICTIONARY)
        cnt = o->keys ? o->keys->rows : 0;
    else if (o->form == DDB_MATRIX)
        cnt = o->rows * o->cols;
    else if (o->form == DDB_SCALAR)
        cnt = !ddb_is_null(o, 0) && o->type != DDB_VOID;
    else if (o->type == DDB_ANY)
        cnt = o->rows;
    else
        for (int64_t i = 0; i < obj_len(o); i++)
            cnt += !ddb_is_null(o, i);
    *out = ddb_int_new(DDB_INT, cnt);
    return *out ? 0 : ctx_oom(ctx);
}

static int bi_avg(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    const ddb_obj *o = a[0];
    if (agg_arg(ctx, o, "avg"))
        return -1;
    if (!type_is_numeric(o->type) && !ddb_is_decimal(o->type) && o->type != DDB_VOID)
        return ctx_error(ctx, "The argument of avg must be numeric");
    double s = 0;
    int64_t cnt = 0;
    for (int64_t i = 0; o->type != DDB_VOID && i < obj_len(o); i++)
        if (!ddb_is_null(o, i))
            s += ddb_double_at(o, i), cnt++;
    *out = cnt ? ddb_double_new(DDB_DOUBLE, s / (double)cnt) : ddb_scalar_new(DDB_DOUBLE);
    if (*out && !cnt)
        cell_put_null(*out, 0);
    return *out ? 0 : ctx_oom(ctx);
}

/* min/max (dir -1/+1), first/last (dir 0 / 2): an element of the vector. */
static int pick(eval_ctx *ctx, ddb_obj **a, const char *fn, int dir, ddb_obj **out)
{
    const ddb_obj *o = a[0];
    if (agg_arg(ctx, o, fn))
        return -1;
    if (o->form == DDB_SCALAR || o->type == DDB_VOID) {
        *out = ddb_obj_ref(a[0]);
        return 0;
    }
    if ((dir == -1 || dir == 1) && obj_class(o) != DDB_CLASS_FIXED && !type_is_text(o->type))
        return ctx_error(ctx, "The argument of %s must be numeric, temporal or text", fn);
    int64_t best = -1, len = obj_len(o);
    if (dir == 0 || dir == 2)
        best = len ? (dir == 0 ? 0 : len - 1) : -1;
    else
        for (int64_t i = 0; i < len; i++)
            if (!ddb_is_null(o, i) && (best < 0 || cell_cmp(o, i, o, best) * dir > 0))
                best = i;
    if (best >= 0)
        *out = obj_element(o, best);
    else {                                  /* empty or all NULL: a NULL of the type */
        ddb_obj *one = ddb_vector_new(o->type, 1);
        if (one && obj_class(one) == DDB_CLASS_FIXED)
            cell_put_null(one, 0);
        *out = one ? obj_element(one, 0) : NULL;
        ddb_obj_unref(one);
    }
    return *out ? 0 : ctx_oom(ctx);
}

static int bi_min(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o) { return pick(c, a, "min", -1, o); }
static int bi_max(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o) { return pick(c, a, "max", 1, o); }
static int bi_first(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o) { return pick(c, a, "first", 0, o); }
static int bi_last(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o) { return pick(c, a, "last", 2, o); }

/* typestr of a DFS table handle: not "IN-MEMORY TABLE" (the C++ MTW refuses
 * several threads for an in-memory table). The wording is ddbmini's guess. Other
 * values go to the core typestr. */
static int bi_typestr(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    const char *text = NULL;
    if (is_handle(a[0])) {
        store_lock();
        store_table *e = store_entry(a[0]);
        text = !e || e->db < 0 ? NULL : e->nlevels ? "SEGMENTED DFS TABLE" : "DFS TABLE";
        store_unlock();
    }
    if (text) {
        *out = ddb_string_new(DDB_STRING, text, strlen(text));
        return *out ? 0 : ctx_oom(ctx);
    }
    if (tables_resolve_args(ctx, a, 1))
        return -1;
    for (const builtin *b = builtins_core; b->name; b++)
        if (!strcmp(b->name, "typestr"))
            return b->fn(ctx, a, n, l, out);
    return ctx_error(ctx, "typestr is missing");
}

const builtin builtins_tables[] = {
    {"typestr", 1, 1, BI_TABLES, bi_typestr},
    {"tableInsert", 2, 64, BI_TABLES, bi_table_insert},
    {"append!", 2, 2, BI_TABLES, bi_append},
    {"__insertInto", 2, 64, BI_TABLES, bi_insert_into},
    {"share", 2, 2, 0, bi_share},
    {"undef", 1, 2, 0, bi_undef},
    {"keyedTable", 2, 64, 0, bi_keyed},
    {"indexedTable", 2, 64, 0, bi_indexed},
    {"upsert!", 2, 5, BI_TABLES, bi_upsert},
    {"tableUpsert", 2, 5, BI_TABLES, bi_table_upsert},
    {"schema", 1, 1, BI_TABLES, bi_schema},
    /* streaming (streaming.c) */
    {"streamTable", 1, 64, 0, bi_stream_table},
    {"setStreamTableFilterColumn", 2, 2, BI_TABLES, bi_set_filter_column},
    {"getSubscriptionTopic", 1, 3, 0, bi_get_subscription_topic},
    {"publishTable", 3, 9, 0, bi_publish_table},
    {"stopPublishTable", 3, 6, 0, bi_stop_publish_table},
    {"getStreamingStat", 0, 0, 0, bi_get_streaming_stat},
    {"faultDropSubscribers", 0, 1, BI_ADMIN | BI_CONTROL, bi_fault_drop_subscribers},
    {"faultStreamNotLeader", 1, 1, BI_ADMIN | BI_CONTROL, bi_fault_stream_not_leader},
    {"faultStreamRowTuples", 1, 1, BI_ADMIN | BI_CONTROL, bi_fault_stream_tuples},
    {"faultStreamJoinTopic", 1, 1, BI_ADMIN | BI_CONTROL, bi_fault_stream_join_topic},
    {"faultStreamSites", 1, 1, BI_ADMIN | BI_CONTROL, bi_fault_stream_sites},
    {"count", 1, 1, 0, bi_count},
    {"avg", 1, 1, 0, bi_avg},
    {"min", 1, 1, 0, bi_min},
    {"max", 1, 1, 0, bi_max},
    {"first", 1, 1, 0, bi_first},
    {"last", 1, 1, 0, bi_last},
    {NULL, 0, 0, 0, NULL}};
