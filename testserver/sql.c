/* sql.c — select/exec over in-memory, shared and DFS tables (the N_SQL node of
 * parser_sql.inc): column expressions and aggregates evaluated with the table's
 * columns bound by name, where, group by (groups come out sorted by key, as the
 * server's), order by (stable, NULL first), top/limit. */
#include "tables.h"
#include "values.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SQL_ITEMS 256

typedef struct sort_keys {
    ddb_obj **v;
    const int *desc;
    int n;
} sort_keys;

static int row_cmp(const sort_keys *k, int64_t a, int64_t b)
{
    for (int i = 0; i < k->n; i++) {
        int c = cell_cmp(k->v[i], a, k->v[i], b);
        if (c)
            return k->desc && k->desc[i] ? -c : c;
    }
    return 0;
}

/* Stable merge sort of row numbers. */
static void merge_sort(const sort_keys *k, int64_t *idx, int64_t *tmp, int64_t n)
{
    if (n < 2)
        return;
    int64_t h = n / 2;
    merge_sort(k, idx, tmp, h);
    merge_sort(k, idx + h, tmp, n - h);
    int64_t i = 0, j = h, o = 0;
    while (i < h && j < n)
        tmp[o++] = row_cmp(k, idx[j], idx[i]) < 0 ? idx[j++] : idx[i++];
    while (i < h)
        tmp[o++] = idx[i++];
    while (j < n)
        tmp[o++] = idx[j++];
    memcpy(idx, tmp, (size_t)n * sizeof *idx);
}

static int64_t *sorted_rows(const sort_keys *k, int64_t n)
{
    int64_t *idx = malloc((size_t)(n + 1) * sizeof *idx), *tmp = malloc((size_t)(n + 1) * sizeof *tmp);
    if (idx && tmp) {
        for (int64_t i = 0; i < n; i++)
            idx[i] = i;
        merge_sort(k, idx, tmp, n);
    } else {
        free(idx);
        idx = NULL;
    }
    free(tmp);
    return idx;
}

/* Binds t's columns by name (and `*` for count(*)) for the expressions evaluated next. */
static int bind_columns(eval_ctx *ctx, var_list *l, const ddb_obj *t)
{
    for (int64_t c = 0; c < t->cols; c++)
        if (vars_set(l, t->col_names[c], t->columns[c], 0))
            return ctx_oom(ctx);
    if (t->cols && vars_set(l, "*", t->columns[0], 0))
        return ctx_oom(ctx);
    return 0;
}

/* Evaluates e over the columns of t. */
static int eval_over(eval_ctx *ctx, const ddb_obj *t, node *e, ddb_obj **out)
{
    var_list cols = {0};
    var_list *saved = ctx->columns;
    int rc = bind_columns(ctx, &cols, t);
    ctx->columns = &cols;
    if (!rc)
        rc = eval_expr(ctx, e, out);
    ctx->columns = saved;
    vars_free(&cols);
    if (!rc && !*out)
        rc = ctx_error(ctx, "A select item returned nothing");
    return rc;
}

/* The name the server gives a select item: its alias, its column, or f_col. */
static void item_name(const node *e, int i, char *buf, size_t len)
{
    if (e->kind == N_AS && e->op != NODE_NAMED)
        snprintf(buf, len, "%s", e->name);
    else if (e->kind == N_VAR)
        snprintf(buf, len, "%s", e->name);
    else if (e->kind == N_CALL && e->a->kind == N_VAR && e->nkids == 1 && e->kids[0]->kind == N_VAR)
        snprintf(buf, len, !strcmp(e->kids[0]->name, "*") ? "%s" : "%s_%s", e->a->name, e->kids[0]->name);
    else
        snprintf(buf, len, "col%d", i + 1);
}

static node *item_expr(node *e) { return e->kind == N_AS && e->op != NODE_NAMED ? e->a : e; }

/* A table of the given columns (takes the references). */
static int make_table(eval_ctx *ctx, ddb_obj **cols, char names[][128], int n, ddb_obj **out)
{
    int64_t rows = 0;
    for (int i = 0; i < n; i++)
        rows = cols[i]->rows > rows ? cols[i]->rows : rows;
    ddb_obj *t = ddb_table_new(rows, n);
    for (int i = 0; i < n; i++) {
        if (t) {
            free(t->col_names[i]);
            t->col_names[i] = strdup(names[i]);
            t->columns[i] = cols[i];
        } else
            ddb_obj_unref(cols[i]);
        cols[i] = NULL;
    }
    if (!t)
        return ctx_oom(ctx);
    for (int i = 0; i < n; i++)
        if (!t->col_names[i]) {
            ddb_obj_unref(t);
            return ctx_oom(ctx);
        }
    *out = t;
    return 0;
}

/* A value made a column of `rows` rows: vectors as they are, scalars repeated. */
static int as_column(eval_ctx *ctx, ddb_obj *v, int64_t rows, ddb_obj **out)
{
    if (obj_is_vectorlike(v) && v->rows == rows) {
        *out = v->form == DDB_VECTOR ? ddb_obj_ref(v) : vec_slice(v, 0, v->rows);
        return *out ? 0 : ctx_oom(ctx);
    }
    if (v->form != DDB_SCALAR)
        return ctx_error(ctx, "The select item's length (%lld) doesn't match the table's (%lld)",
                         (long long)obj_len(v), (long long)rows);
    size_t len = 0;
    if (type_is_text(v->type))
        ddb_str_at(v, 0, &len);
    if ((int64_t)(len + 1) * rows > MAX_GENERATED_BYTES)
        return ctx_error(ctx, "The select item would take more than %lld bytes", MAX_GENERATED_BYTES);
    ddb_obj *c = ddb_vector_new(v->type == DDB_VOID ? DDB_INT : v->type, 0);
    for (int64_t r = 0; c && r < rows; r++)
        if (col_append(c, v, 0)) {
            ddb_obj_unref(c);
            c = NULL;
        }
    if (c)
        c->scale = v->scale;
    *out = c;
    return c ? 0 : ctx_oom(ctx);
}

/* The rows of t where cond holds. */
static int apply_where(eval_ctx *ctx, ddb_obj *t, node *cond, ddb_obj **out)
{
    ddb_obj *m;
    if (eval_over(ctx, t, cond, &m))
        return -1;
    if (!type_is_integer(m->type) || (m->form != DDB_SCALAR && obj_len(m) != t->rows)) {
        ddb_obj_unref(m);
        return ctx_error(ctx, "The where condition must be a BOOL scalar or a vector as long as the table");
    }
    int64_t *rows = malloc((size_t)(t->rows + 1) * sizeof *rows), k = 0;
    if (!rows) {
        ddb_obj_unref(m);
        return ctx_oom(ctx);
    }
    for (int64_t r = 0; r < t->rows; r++) {
        int isnull;
        int64_t v = cell_i64(m, m->form == DDB_SCALAR ? 0 : r, &isnull);
        if (!isnull && v)
            rows[k++] = r;
    }
    ddb_obj_unref(m);
    *out = table_gather(t, rows, k);
    free(rows);
    return *out ? 0 : ctx_oom(ctx);
}

/* select/exec without group by. */
static int plain_items(eval_ctx *ctx, node *n, ddb_obj *t, ddb_obj **out)
{
    if (n->nkids == 1 && n->kids[0]->kind == N_VAR && !strcmp(n->kids[0]->name, "*")) {
        *out = ddb_obj_ref(t);
        return 0;
    }
    ddb_obj *vals[MAX_SQL_ITEMS] = {0}, *cols[MAX_SQL_ITEMS] = {0};
    char (*nm)[128] = calloc(MAX_SQL_ITEMS, 128);
    int rc = nm ? 0 : ctx_oom(ctx), all_scalar = 1;
    for (int i = 0; !rc && i < n->nkids; i++) {
        item_name(n->kids[i], i, nm[i], 128);
        rc = eval_over(ctx, t, item_expr(n->kids[i]), &vals[i]);
        all_scalar &= !rc && vals[i]->form == DDB_SCALAR;
    }
    int64_t rows = all_scalar ? 1 : t->rows;
    for (int i = 0; !rc && i < n->nkids; i++)
        rc = as_column(ctx, vals[i], rows, &cols[i]);
    for (int i = 0; i < n->nkids; i++)
        ddb_obj_unref(vals[i]);
    if (!rc)
        rc = make_table(ctx, cols, nm, n->nkids, out);
    for (int i = 0; i < n->nkids; i++)
        ddb_obj_unref(cols[i]);
    free(nm);
    return rc;
}

/* select/exec ... group by keys: one row per distinct key, sorted by key. */
static int grouped_items(eval_ctx *ctx, node *n, node *group, ddb_obj *t, ddb_obj **out)
{
    int nk = group->nkids, ni = n->nkids, total = nk + ni;
    if (total > MAX_SQL_ITEMS)
        return ctx_error(ctx, "Too many select items");
    ddb_obj *keys[MAX_SQL_ITEMS] = {0}, *cols[MAX_SQL_ITEMS] = {0};
    char (*nm)[128] = calloc(MAX_SQL_ITEMS, 128);
    int rc = nm ? 0 : ctx_oom(ctx);
    for (int k = 0; !rc && k < nk; k++) {
        item_name(group->kids[k], k, nm[k], 128);
        ddb_obj *v = NULL;
        rc = eval_over(ctx, t, group->kids[k], &v) || as_column(ctx, v, t->rows, &keys[k]);
        ddb_obj_unref(v);
    }
    sort_keys sk = {keys, NULL, nk};
    int64_t *idx = rc ? NULL : sorted_rows(&sk, t->rows);
    if (!rc && !idx)
        rc = ctx_oom(ctx);
    for (int i = 0; !rc && i < total; i++)
        if (!(cols[i] = ddb_vector_new(i < nk ? keys[i]->type : DDB_VOID, 0)))
            rc = ctx_oom(ctx);
        else if (i < nk)
            cols[i]->scale = keys[i]->scale;
    for (int i = 0; !rc && i < ni; i++)
        item_name(n->kids[i], i, nm[nk + i], 128);
    for (int64_t g0 = 0, g1; !rc && g0 < t->rows; g0 = g1) {
        for (g1 = g0 + 1; g1 < t->rows && row_cmp(&sk, idx[g0], idx[g1]) == 0; g1++)
            ;
        for (int k = 0; !rc && k < nk; k++)
            rc = col_append(cols[k], keys[k], idx[g0]) ? ctx_oom(ctx) : 0;
        ddb_obj *sub = rc ? NULL : table_gather(t, idx + g0, g1 - g0);
        if (!rc && !sub)
            rc = ctx_oom(ctx);
        for (int i = 0; !rc && i < ni; i++) {
            ddb_obj *v = NULL;
            rc = eval_over(ctx, sub, item_expr(n->kids[i]), &v);
            if (!rc && v->form != DDB_SCALAR)
                rc = ctx_error(ctx, "A select item with group by must give one value per group");
            ddb_obj **c = &cols[nk + i];
            if (!rc && (*c)->type == DDB_VOID && v->type != DDB_VOID) {
                ddb_obj *typed = ddb_vector_new(v->type, 0);   /* the first group types it */
                for (int64_t r = 0; typed && r < (*c)->rows; r++)
                    if (col_append(typed, *c, r))
                        ddb_obj_unref(typed), typed = NULL;
                if (typed)
                    typed->scale = v->scale;
                ddb_obj_unref(*c);
                *c = typed;
            }
            if (!rc && *c && (*c)->type == DDB_VOID && v->type == DDB_VOID)
                (*c)->rows++;                   /* NULL so far: a VOID column has no cells */
            else if (!rc && *c && v->type != (*c)->type &&
                     !(type_is_text(v->type) && type_is_text((*c)->type)))
                rc = ctx_error(ctx, "A select item gives %s in one group and %s in another",
                               ddb_type_name((*c)->type), ddb_type_name(v->type));
            else if (!rc && (!*c || col_append(*c, v, 0)))
                rc = ctx_oom(ctx);
            ddb_obj_unref(v);
        }
        ddb_obj_unref(sub);
    }
    free(idx);
    for (int k = 0; k < nk; k++)
        ddb_obj_unref(keys[k]);
    if (!rc)
        rc = make_table(ctx, cols, nm, total, out);
    for (int i = 0; i < total; i++)
        ddb_obj_unref(cols[i]);
    free(nm);
    return rc;
}

/* order by: the result's rows sorted by expressions over the result's columns
 * (and, without group by, the source's columns row by row). */
static int apply_order(eval_ctx *ctx, node *order, ddb_obj *src, ddb_obj **res)
{
    int n = order->nkids;
    ddb_obj *keys[MAX_SQL_ITEMS] = {0};
    int desc[MAX_SQL_ITEMS];
    if (n > MAX_SQL_ITEMS)
        return ctx_error(ctx, "Too many order by items");
    int rc = 0;
    for (int i = 0; !rc && i < n; i++) {
        node *w = order->kids[i];
        desc[i] = !strcmp(w->name, "desc");
        ddb_obj *v = NULL;
        const ddb_obj *scope = *res;
        if (src && w->a->kind == N_VAR && table_col_index(*res, w->a->name) < 0)
            scope = src;
        rc = eval_over(ctx, scope, w->a, &v) || as_column(ctx, v, (*res)->rows, &keys[i]);
        ddb_obj_unref(v);
    }
    sort_keys sk = {keys, desc, n};
    int64_t *idx = rc ? NULL : sorted_rows(&sk, (*res)->rows);
    if (!rc && !idx)
        rc = ctx_oom(ctx);
    ddb_obj *sorted = rc ? NULL : table_gather(*res, idx, (*res)->rows);
    if (!rc && !sorted)
        rc = ctx_oom(ctx);
    free(idx);
    for (int i = 0; i < n; i++)
        ddb_obj_unref(keys[i]);
    if (!rc) {
        ddb_obj_unref(*res);
        *res = sorted;
    }
    return rc;
}

static int apply_limit(eval_ctx *ctx, node *lim, ddb_obj **res)
{
    ddb_obj *v = NULL;
    if (eval_expr(ctx, lim, &v))
        return -1;
    if (!v || v->type == DDB_VOID) {
        ddb_obj_unref(v);
        return 0;
    }
    int isnull;
    int64_t k = type_is_integer(v->type) && v->form == DDB_SCALAR ? cell_i64(v, 0, &isnull) : -1;
    ddb_obj_unref(v);
    if (k < 0)
        return ctx_error(ctx, "top/limit must be a non-negative integer");
    if (k >= (*res)->rows)
        return 0;
    int64_t *idx = malloc((size_t)(k + 1) * sizeof *idx);
    for (int64_t i = 0; idx && i < k; i++)
        idx[i] = i;
    ddb_obj *cut = idx ? table_gather(*res, idx, k) : NULL;
    free(idx);
    if (!cut)
        return ctx_oom(ctx);
    ddb_obj_unref(*res);
    *res = cut;
    return 0;
}

/* exec: one item gives its column (a scalar for an aggregate without group by). */
static int exec_result(eval_ctx *ctx, node *n, int grouped, ddb_obj **res)
{
    if (n->nkids != 1 || (*res)->cols < 1)
        return 0;
    ddb_obj *col = (*res)->columns[(*res)->cols - 1];
    ddb_obj *v = !grouped && (*res)->rows == 1 && n->kids[0]->kind != N_VAR &&
                         item_expr(n->kids[0])->kind == N_CALL
                     ? obj_element(col, 0) : ddb_obj_ref(col);
    if (!v)
        return ctx_oom(ctx);
    ddb_obj_unref(*res);
    *res = v;
    return 0;
}

int sql_eval(eval_ctx *ctx, node *n, ddb_obj **out)
{
    if (n->nkids > MAX_SQL_ITEMS)
        return ctx_error(ctx, "Too many select items");
    ddb_obj *from = NULL, *t = NULL, *res = NULL;
    if (eval_expr(ctx, n->a, &from))
        return -1;
    if (!from || from->form != DDB_TABLE) {
        ddb_obj_unref(from);
        return ctx_error(ctx, "The from clause must be a table");
    }
    int rc = table_snapshot(ctx, from, &t);
    ddb_obj_unref(from);
    if (rc)
        return -1;
    node *group = n->c->kids[0], *order = n->c->kids[1], *limit = n->c->kids[2];
    if (n->b) {
        ddb_obj *f = NULL;
        rc = apply_where(ctx, t, n->b, &f);
        ddb_obj_unref(t);
        t = f;
    }
    if (!rc)
        rc = group->nkids ? grouped_items(ctx, n, group, t, &res) : plain_items(ctx, n, t, &res);
    if (!rc && order->nkids)
        rc = apply_order(ctx, order, group->nkids || res->rows != t->rows ? NULL : t, &res);
    if (!rc)
        rc = apply_limit(ctx, limit, &res);
    if (!rc && n->op == 1)
        rc = exec_result(ctx, n, group->nkids > 0, &res);
    ddb_obj_unref(t);
    if (rc) {
        ddb_obj_unref(res);
        return -1;
    }
    if (res && res->form == DDB_TABLE && res->fkind) {  /* a result is a plain table */
        ddb_obj *copy = table_gather(res, NULL, 0);
        ddb_obj_unref(res);
        if (!(res = copy))
            return ctx_oom(ctx);
    }
    *out = res;
    return 0;
}
