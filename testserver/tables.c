/* tables.c — typed in-memory tables, inserts with type fitting, keyed/indexed
 * tables and upserts, schema's colDefs, and the store of shared/DFS tables
 * (see tables.h). */
#include "tables.h"
#include "values.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- cells */

int cell_cmp(const ddb_obj *a, int64_t i, const ddb_obj *b, int64_t j)
{
    int an = ddb_is_null(a, i), bn = ddb_is_null(b, j);
    if (an || bn)
        return an && bn ? 0 : an ? -1 : 1;
    ddb_type_class ca = obj_class(a), cb = obj_class(b);
    if ((ca == DDB_CLASS_VARLEN || ca == DDB_CLASS_SYMBOL) &&
        (cb == DDB_CLASS_VARLEN || cb == DDB_CLASS_SYMBOL)) {
        size_t la, lb;
        const char *sa = ddb_str_at(a, i, &la), *sb = ddb_str_at(b, j, &lb);
        int c = memcmp(sa, sb, la < lb ? la : lb);
        return c ? (c < 0 ? -1 : 1) : la < lb ? -1 : la > lb;
    }
    if (ca != DDB_CLASS_FIXED || cb != DDB_CLASS_FIXED)
        return 0;
    if (type_is_floating(a->type) || type_is_floating(b->type) || ddb_is_decimal(a->type) ||
        ddb_is_decimal(b->type)) {
        double x = ddb_double_at(a, i), y = ddb_double_at(b, j);
        return x < y ? -1 : x > y;
    }
    int w = ddb_type_width(a->type);
    if (w == 16 && ddb_type_width(b->type) == 16) {
        int c = memcmp((const char *)a->data + i * 16, (const char *)b->data + j * 16, 16);
        return c < 0 ? -1 : c > 0;
    }
    int n1, n2;
    int64_t x = cell_i64(a, i, &n1), y = cell_i64(b, j, &n2);
    return x < y ? -1 : x > y;
}

uint64_t cell_hash64(const ddb_obj *v, int64_t i)
{
    const unsigned char *p;
    size_t len;
    if (obj_class(v) == DDB_CLASS_FIXED) {
        len = (size_t)ddb_type_width(v->type);
        p = (const unsigned char *)v->data + i * (int64_t)len;
    } else if (obj_class(v) == DDB_CLASS_VARLEN || obj_class(v) == DDB_CLASS_SYMBOL)
        p = (const unsigned char *)ddb_str_at(v, i, &len);
    else
        return 0;
    uint64_t h = 1469598103934665603ULL;       /* FNV-1a */
    for (size_t k = 0; k < len; k++)
        h = (h ^ p[k]) * 1099511628211ULL;
    return h;
}

/* ---------------------------------------------------------------- columns */

/* Row i of the array vector src (of dst's type; a VOID src is an empty row) added to
 * the array vector dst. cap_rows counts the rows row_offs has room for. */
static int array_row_append(ddb_obj *dst, const ddb_obj *src, int64_t i)
{
    if (src->type != DDB_VOID && (src->type != dst->type || !src->values))
        return -1;
    if (dst->rows + 1 > dst->cap_rows) {
        int64_t cap = dst->cap_rows < 8 ? 16 : dst->cap_rows * 2;
        int64_t *offs = realloc(dst->row_offs, (size_t)(cap + 1) * sizeof *offs);
        if (!offs)
            return -1;
        dst->row_offs = offs;
        dst->cap_rows = cap;
    }
    if (src->type != DDB_VOID) {
        int w = ddb_type_width(src->values->type);
        for (int64_t k = src->row_offs[i]; k < src->row_offs[i + 1]; k++)
            if (ddb_fixed_append(dst->values, (const char *)src->values->data + k * w))
                return -1;
    }
    dst->row_offs[++dst->rows] = dst->values->rows;
    return 0;
}

int col_append(ddb_obj *dst, const ddb_obj *src, int64_t i)
{
    switch (obj_class(dst)) {
    case DDB_CLASS_FIXED:
        if (src->type == DDB_VOID) {            /* a NULL cell */
            if (ddb_fixed_append(dst, (char[16]){0}))
                return -1;
            cell_put_null(dst, dst->rows - 1);
            return 0;
        }
        if (ddb_type_width(src->type) != ddb_type_width(dst->type) || obj_class(src) != DDB_CLASS_FIXED)
            return -1;                          /* callers pass cells of dst's type */
        return ddb_fixed_append(dst, (const char *)src->data + i * ddb_type_width(src->type));
    case DDB_CLASS_VARLEN:
    case DDB_CLASS_SYMBOL: {
        size_t len = 0;
        const char *s = src->type == DDB_VOID ? "" : ddb_str_at(src, i, &len);
        return dst->type == DDB_SYMBOL && dst->symbase ? ddb_symbol_append(dst, s, len)
                                                       : ddb_varlen_append(dst, s, len);
    }
    case DDB_CLASS_ANY: {
        ddb_obj *e = obj_element(src, i);
        if (!e)
            return -1;
        ddb_obj **items = realloc(dst->items, (size_t)(dst->rows + 1) * sizeof *items);
        if (!items) {
            ddb_obj_unref(e);
            return -1;
        }
        dst->items = items;
        dst->items[dst->rows++] = e;
        dst->cap_rows = dst->rows;
        return 0;
    }
    case DDB_CLASS_ARRAY:
        return array_row_append(dst, src, i);
    default:
        return -1;
    }
}

/* An empty vector of v's type (its own symbol base for SYMBOL). */
static ddb_obj *col_empty(int type, int scale)
{
    ddb_obj *r = ddb_vector_new(type, 0);
    if (r)
        r->scale = scale;
    return r;
}

static ddb_obj *col_gather(const ddb_obj *v, const int64_t *rows, int64_t n)
{
    ddb_obj *r = col_empty(v->type, v->scale);
    if (r && obj_class(v) == DDB_CLASS_FIXED && !rows) {   /* the common bulk case */
        ddb_obj *full = ddb_vector_new(v->type, n);
        if (full && n)
            memcpy(full->data, v->data, (size_t)(n * ddb_type_width(v->type)));
        if (full)
            full->scale = v->scale;
        ddb_obj_unref(r);
        return full;
    }
    for (int64_t k = 0; r && k < n; k++)
        if (col_append(r, v, rows ? rows[k] : k)) {
            ddb_obj_unref(r);
            r = NULL;
        }
    return r;
}

ddb_obj *col_copy(const ddb_obj *v) { return col_gather(v, NULL, v->rows); }

int table_col_index(const ddb_obj *t, const char *name)
{
    for (int64_t c = 0; c < t->cols; c++)
        if (!strcmp(t->col_names[c], name))
            return (int)c;
    return -1;
}

int dict_lookup(eval_ctx *ctx, const ddb_obj *d, const ddb_obj *key, ddb_obj **out)
{
    if (key->form != DDB_SCALAR || !d->keys || !d->values)
        return ctx_error(ctx, "A dictionary is indexed by one key");
    for (int64_t i = 0; i < d->keys->rows; i++)
        if (!cell_cmp(d->keys, i, key, 0) && !ddb_is_null(d->keys, i) == !ddb_is_null(key, 0) &&
            (type_is_text(d->keys->type) == type_is_text(key->type))) {
            *out = obj_element(d->values, i);
            return *out ? 0 : ctx_oom(ctx);
        }
    *out = ddb_void_new(1);
    return *out ? 0 : ctx_oom(ctx);
}

ddb_obj *table_gather(const ddb_obj *t, const int64_t *rows, int64_t n)
{
    ddb_obj *r = ddb_table_new(rows ? n : t->rows, t->cols);
    for (int64_t c = 0; r && c < t->cols; c++) {
        free(r->col_names[c]);
        r->col_names[c] = strdup(t->col_names[c]);
        r->columns[c] = col_gather(t->columns[c], rows, rows ? n : t->rows);
        if (!r->col_names[c] || !r->columns[c]) {
            ddb_obj_unref(r);
            r = NULL;
        }
    }
    if (r && t->name && t->name[0]) {
        free(r->name);
        r->name = strdup(t->name);
    }
    return r;
}

/* Cuts a column back to n rows (undoing a partial append). */
static void col_truncate(ddb_obj *v, int64_t n)
{
    if (v->rows <= n)
        return;
    if (obj_class(v) == DDB_CLASS_VARLEN)
        v->nbytes = v->offs[n];
    if (obj_class(v) == DDB_CLASS_ANY)
        for (int64_t i = n; i < v->rows; i++)
            ddb_obj_unref(v->items[i]);
    v->rows = n;
}

/* Makes column c of t safe to grow in place: not shared with another object and
 * with a symbol base of its own. */
static int own_column(ddb_obj *t, int64_t c)
{
    ddb_obj *v = t->columns[c];
    if (v->refcount == 1 && (!v->symbase || v->symbase->refcount == 1) && v->form == DDB_VECTOR)
        return 0;
    ddb_obj *copy = col_copy(v);
    if (!copy)
        return -1;
    ddb_obj_unref(v);
    t->columns[c] = copy;
    return 0;
}

/* ---------------------------------------------------------------- table(n:0, names, types) */

static int type_arg(eval_ctx *ctx, const ddb_obj *types, int64_t i, int *type)
{
    if (type_is_text(types->type)) {
        size_t len;
        const char *s = ddb_str_at(types, i, &len);
        *type = ddb_type_from_name(s);
    } else if (type_is_integer(types->type)) {
        int isnull;
        *type = (int)cell_i64(types, i, &isnull);
    } else
        *type = -1;
    if (*type <= DDB_VOID || *type == DDB_ANY || (*type > DDB_DECIMAL128 && *type < DDB_ARRAY_BASE) ||
        *type >= DDB_ARRAY_BASE + 64 || ddb_type_class_of(*type) == DDB_CLASS_INVALID)
        return ctx_error(ctx, "Invalid data type for the column %lld of the table", (long long)i + 1);
    return 0;
}

int table_typed(eval_ctx *ctx, ddb_obj **a, ddb_obj **out)
{
    const ddb_obj *names = a[1], *types = a[2];
    int isnull;
    int64_t size = cell_i64(a[0], 1, &isnull);
    if (!type_is_integer(a[0]->type) || isnull || size < 0 || size > MAX_GENERATED_ROWS)
        return ctx_error(ctx, "The size of the table must be a non-negative integer");
    if (!type_is_text(names->type) || (names->form != DDB_VECTOR && names->form != DDB_SCALAR))
        return ctx_error(ctx, "The column names must be a STRING or SYMBOL vector");
    int64_t n = obj_len(names);
    if (n != obj_len(types) || n < 1 || n > MAX_TABLE_COLS)
        return ctx_error(ctx, "The number of column names and column types must be the same "
                              "(1 to %d columns)", MAX_TABLE_COLS);
    ddb_obj *t = ddb_table_new(size, n);
    if (!t)
        return ctx_oom(ctx);
    int64_t bytes = 0;
    for (int64_t c = 0; c < n; c++) {
        int type;
        size_t len;
        const char *nm = ddb_str_at(names, c, &len);
        if (type_arg(ctx, types, c, &type) || table_col_index(t, nm) >= 0) {
            if (table_col_index(t, nm) >= 0)
                ctx_error(ctx, "Duplicate column name %s", nm);
            ddb_obj_unref(t);
            return -1;
        }
        int w = ddb_type_width(type);
        bytes += size * (w > 0 ? w : 9);        /* strings: an offset and a NUL per row */
        if (bytes > MAX_GENERATED_BYTES) {
            ddb_obj_unref(t);
            return ctx_error(ctx, "The table would take more than %lld bytes", MAX_GENERATED_BYTES);
        }
        free(t->col_names[c]);
        t->col_names[c] = strdup(nm);
        t->columns[c] = ddb_vector_new(type, size);    /* size rows of default (0) cells */
        if (!t->col_names[c] || !t->columns[c]) {
            ddb_obj_unref(t);
            return ctx_oom(ctx);
        }
        if (ddb_type_class_of(type) == DDB_CLASS_FIXED)
            for (int64_t r = 0; r < size; r++)
                cell_put_null(t->columns[c], r);
    }
    *out = t;
    return 0;
}

/* ---------------------------------------------------------------- fitting */

/* The type categories the official writers check, with ddbmini's rule on top: numbers (LOGICAL,
 * INTEGRAL, FLOATING) convert into each other as the server's casts do. */
static int category(int t)
{
    if (t == DDB_VOID)
        return 0;
    if (type_is_numeric(t))
        return 1;
    if (type_is_temporal(t) || t == DDB_MONTH)
        return 2;
    if (t == DDB_STRING || t == DDB_SYMBOL || t == DDB_BLOB)
        return 3;
    if (t == DDB_UUID || t == DDB_INT128 || t == DDB_IPADDR)
        return 4;
    if (ddb_is_decimal(t))
        return 5;
    return 6 + t;
}

/* Column src made into a vector of type `type` with n rows (a scalar repeats). */
static int fit_column(eval_ctx *ctx, const ddb_obj *target, const char *name, const ddb_obj *src,
                      int64_t n, ddb_obj **out)
{
    int to = target->type;
    if (src->form != DDB_SCALAR && !obj_is_vectorlike(src))
        return ctx_error(ctx, "Failed to append data to column '%s': expecting a vector", name);
    int from = src->type;
    int same = from == to || (type_is_text(from) && type_is_text(to) && to != DDB_BLOB) ||
               from == DDB_VOID;
    if (!same && (category(from) != category(to) || category(to) >= 4))
        return ctx_error(ctx, "Failed to append data to column '%s' with error: Incompatible type. "
                              "Expected: %s, Actual: %s", name, ddb_type_name(to), ddb_type_name(from));
    if (ddb_is_decimal(to) && src->scale != target->scale && from != DDB_VOID)
        return ctx_error(ctx, "Failed to append data to column '%s' with error: the scale %d "
                              "differs from the column's %d", name, src->scale, target->scale);
    if (src->form == DDB_SCALAR && type_is_text(from)) {   /* one string repeated n times */
        size_t len = 0;
        ddb_str_at(src, 0, &len);
        if ((int64_t)(len + 1) * n > MAX_GENERATED_BYTES)
            return ctx_error(ctx, "The values to insert would take more than %lld bytes", MAX_GENERATED_BYTES);
    }
    if (from == to && src->form == DDB_VECTOR && src->rows == n && src->scale == target->scale &&
        (obj_class(src) == DDB_CLASS_FIXED || (to == DDB_SYMBOL && src->symbase))) {
        *out = ddb_obj_ref((ddb_obj *)src);   /* already the column's type: shared, read only */
        return 0;
    }
    ddb_obj *conv = NULL;
    if (same)
        conv = ddb_obj_ref((ddb_obj *)src);
    else if (value_cast(ctx, src, to, &conv))
        return -1;
    ddb_obj *col = col_empty(to, target->scale);
    for (int64_t i = 0; col && i < n; i++)
        if (col_append(col, conv, conv->form == DDB_SCALAR || conv->type == DDB_VOID ? 0 : i)) {
            ddb_obj_unref(col);
            col = NULL;
        }
    ddb_obj_unref(conv);
    if (!col)
        return ctx_oom(ctx);
    *out = col;
    return 0;
}

int table_fit(eval_ctx *ctx, const ddb_obj *t, ddb_obj **data, int n, ddb_obj **fit)
{
    const ddb_obj *const *cols = (const ddb_obj *const *)data;
    int64_t ncols = n;
    if (n == 1 && data[0]->form == DDB_TABLE) {
        cols = (const ddb_obj *const *)data[0]->columns;
        ncols = data[0]->cols;
    } else if (n == 1 && data[0]->form == DDB_VECTOR && data[0]->type == DDB_ANY && t->cols > 1) {
        cols = (const ddb_obj *const *)data[0]->items;     /* a tuple of columns */
        ncols = data[0]->rows;
    }
    if (ncols != t->cols)
        return ctx_error(ctx, "The number of columns of the table to insert must be the same as "
                              "that of the original table.");
    int64_t rows = -1;
    for (int64_t c = 0; c < ncols; c++) {
        int64_t len = cols[c]->form == DDB_SCALAR ? 1 : obj_len(cols[c]);
        if (cols[c]->form != DDB_SCALAR && rows >= 0 && len != rows && rows != 1 && len != 1)
            return ctx_error(ctx, "Inconsistent length of values to insert (column %s)", t->col_names[c]);
        if (len > rows)
            rows = len;
    }
    if (rows < 0)
        rows = 0;
    ddb_obj *r = ddb_table_new(rows, t->cols);
    if (!r)
        return ctx_oom(ctx);
    for (int64_t c = 0; c < t->cols; c++) {
        free(r->col_names[c]);
        if (!(r->col_names[c] = strdup(t->col_names[c]))) {
            ddb_obj_unref(r);
            return ctx_oom(ctx);
        }
        int64_t len = cols[c]->form == DDB_SCALAR ? 1 : obj_len(cols[c]);
        ddb_obj *src = (ddb_obj *)cols[c];
        if (len == 1 && rows != 1 && cols[c]->form != DDB_SCALAR) /* one value for every row */
            src = obj_element(cols[c], 0);
        else
            ddb_obj_ref(src);
        int rc = src ? fit_column(ctx, t->columns[c], t->col_names[c], src, rows, &r->columns[c])
                     : ctx_oom(ctx);
        ddb_obj_unref(src);
        if (rc) {
            ddb_obj_unref(r);
            return -1;
        }
    }
    if (t->rows + rows > MAX_GENERATED_ROWS) {
        ddb_obj_unref(r);
        return ctx_error(ctx, "A table can't hold more than %lld rows in ddbmini", MAX_GENERATED_ROWS);
    }
    *fit = r;
    return 0;
}

/* ---------------------------------------------------------------- appends and upserts */

/* Many rounds of a long upsert can take a while: honour cancelConsoleJob. */
static int cancelled_job(eval_ctx *ctx)
{
    return ctx->job && ctx->job->cancelled ? ctx_error(ctx, "The task was cancelled.") : 0;
}

/* Rows 0..n-1 of src appended to dst in one copy, when both hold the same fixed-width
 * cells (1), or 0 to leave it to col_append, cell by cell; -1: no memory. Inserts
 * run under the store lock: this is most of an insert's time there. */
static int append_run(ddb_obj *dst, const ddb_obj *src, int64_t n)
{
    if (src->type != dst->type || src->scale != dst->scale || src->form != DDB_VECTOR || src->rows < n)
        return 0;
    if (dst->type == DDB_SYMBOL && dst->symbase && src->symbase)   /* each symbol interned once */
        return ddb_symbol_append_n(dst, src, n) ? -1 : 1;
    if (obj_class(dst) != DDB_CLASS_FIXED)
        return 0;
    return ddb_fixed_append_n(dst, src->data, n) ? -1 : 1;
}

static int append_plain(eval_ctx *ctx, ddb_obj *t, const ddb_obj *fit, const int64_t *rows, int64_t n)
{
    int64_t old = t->rows;
    for (int64_t c = 0; c < t->cols; c++)
        if (own_column(t, c))
            return ctx_oom(ctx);
    for (int64_t c = 0; c < t->cols; c++) {
        int run = rows ? 0 : append_run(t->columns[c], fit->columns[c], n);
        if (run < 0) {
            for (int64_t d = 0; d < c; d++)
                col_truncate(t->columns[d], old);
            return ctx_oom(ctx);
        }
        for (int64_t k = 0; k < n && !run; k++)
            if (col_append(t->columns[c], fit->columns[c], rows ? rows[k] : k)) {
                for (int64_t d = 0; d <= c; d++)
                    col_truncate(t->columns[d], old);
                return ctx_oom(ctx);
            }
    }
    t->rows = old + n;
    return 0;
}

int table_keys(const ddb_obj *t, int *keys)
{
    int n = 0;
    if (t->fkind != TBL_KEYED && t->fkind != TBL_INDEXED)
        return 0;
    for (int c = 0; c < MAX_KEY_COLS && c < t->cols; c++)
        if ((uint32_t)t->scale & (1u << c))
            keys[n++] = c;
    return n;
}

int table_append_rows(eval_ctx *ctx, ddb_obj *t, const ddb_obj *fit)
{
    int keys[MAX_KEY_COLS];
    int nkeys = table_keys(t, keys);
    if (nkeys) {
        int64_t ins, upd;
        return table_upsert_rows(ctx, t, fit, keys, nkeys, 0, &ins, &upd);
    }
    return append_plain(ctx, t, fit, NULL, fit->rows);
}

/* An open-addressing index of keys: a slot holds r + 1 for row r of the target
 * table, -(k + 1) for the k-th new row to insert, 0 when empty. */
typedef struct key_index {
    int64_t *slot;
    int64_t mask;
    const ddb_obj *t, *fit;
    const int64_t *fresh;
    const int *keys;
    int nkeys;
} key_index;

static uint64_t row_hash(const ddb_obj *t, int64_t r, const int *keys, int nkeys)
{
    uint64_t h = 0;
    for (int k = 0; k < nkeys; k++)
        h = h * 31 + cell_hash64(t->columns[keys[k]], r);
    return h ^ (h >> 29);
}

static int rows_equal(const ddb_obj *a, int64_t i, const ddb_obj *b, int64_t j, const int *keys, int nkeys)
{
    for (int k = 0; k < nkeys; k++)
        if (cell_cmp(a->columns[keys[k]], i, b->columns[keys[k]], j))
            return 0;
    return 1;
}

/* The slot value matching row j of b, or 0 after storing `add` in the empty slot
 * (add 0: store nothing). */
static int64_t index_probe(key_index *ix, const ddb_obj *b, int64_t j, int64_t add)
{
    uint64_t h = row_hash(b, j, ix->keys, ix->nkeys);
    for (int64_t s = (int64_t)(h & (uint64_t)ix->mask);; s = (s + 1) & ix->mask) {
        int64_t v = ix->slot[s];
        if (!v) {
            ix->slot[s] = add;
            return 0;
        }
        const ddb_obj *a = v > 0 ? ix->t : ix->fit;
        int64_t row = v > 0 ? v - 1 : ix->fresh[-v - 1];
        if (rows_equal(a, row, b, j, ix->keys, ix->nkeys))
            return v;
    }
}

/* Column c of t with the updates from[r] (row of fit, or -1) applied. */
static int apply_updates(ddb_obj *t, int64_t c, const ddb_obj *fit, const int64_t *from, int ignore_null)
{
    ddb_obj *dst = t->columns[c];
    const ddb_obj *src = fit->columns[c];
    if (obj_class(dst) == DDB_CLASS_FIXED) {
        int w = ddb_type_width(dst->type);
        for (int64_t r = 0; r < t->rows; r++)
            if (from[r] >= 0 && !(ignore_null && ddb_is_null(src, from[r])))
                memcpy((char *)dst->data + r * w, (const char *)src->data + from[r] * w, (size_t)w);
        return 0;
    }
    ddb_obj *col = col_empty(dst->type, dst->scale);    /* text: rebuild the column */
    for (int64_t r = 0; col && r < t->rows; r++) {
        int take = from[r] >= 0 && !(ignore_null && ddb_is_null(src, from[r]));
        if (col_append(col, take ? src : dst, take ? from[r] : r)) {
            ddb_obj_unref(col);
            col = NULL;
        }
    }
    if (!col)
        return -1;
    ddb_obj_unref(dst);
    t->columns[c] = col;
    return 0;
}

/* Upserts the rows of fit from j0 on up to the first key that repeats one of those
 * rows; returns where it stopped (fit->rows when done) or -1. A repeated key
 * starts a new round, so the rows apply in order (ignoreNull merges correctly). */
static int64_t upsert_round(eval_ctx *ctx, ddb_obj *t, const ddb_obj *fit, int64_t j0, const int *keys,
                            int nkeys, int ignore_null, int64_t *inserted, int64_t *updated)
{
    int64_t total = t->rows + fit->rows - j0, cap = 16;
    while (cap < total * 2)
        cap <<= 1;
    int64_t *fresh = malloc((size_t)(fit->rows - j0 + 1) * sizeof *fresh);
    int64_t *from = malloc((size_t)(t->rows + 1) * sizeof *from);
    key_index ix = {calloc((size_t)cap, sizeof(int64_t)), cap - 1, t, fit, fresh, keys, nkeys};
    if (!ix.slot || !fresh || !from) {
        free(ix.slot), free(fresh), free(from);
        return ctx_oom(ctx);
    }
    for (int64_t r = 0; r < t->rows; r++) {     /* a duplicate key in t: its first row counts */
        from[r] = -1;
        index_probe(&ix, t, r, r + 1);
    }
    int64_t nfresh = 0, upd = 0, j = j0;
    for (; j < fit->rows; j++) {
        int64_t v = index_probe(&ix, fit, j, -(nfresh + 1));
        if (v < 0 || (v > 0 && from[v - 1] >= 0))
            break;                              /* this key came earlier in the round */
        if (v > 0) {
            upd++;
            from[v - 1] = j;
        } else
            fresh[nfresh++] = j;
    }
    free(ix.slot);
    int rc = 0;
    for (int64_t c = 0; c < t->cols && !rc; c++)
        rc = own_column(t, c) || (upd && apply_updates(t, c, fit, from, ignore_null)) ? -1 : 0;
    free(from);
    rc = rc ? ctx_oom(ctx) : append_plain(ctx, t, fit, fresh, nfresh);
    free(fresh);
    *inserted += nfresh;
    *updated += upd;
    return rc ? -1 : j;
}

int table_upsert_rows(eval_ctx *ctx, ddb_obj *t, const ddb_obj *fit, const int *keys, int nkeys,
                      int ignore_null, int64_t *inserted, int64_t *updated)
{
    *inserted = *updated = 0;
    for (int64_t j = 0; j < fit->rows;) {
        if ((j = upsert_round(ctx, t, fit, j, keys, nkeys, ignore_null, inserted, updated)) < 0)
            return -1;
        if (cancelled_job(ctx))
            return -1;
    }
    return 0;
}

ddb_obj *table_coldefs(const ddb_obj *t)
{
    ddb_obj *r = ddb_table_new(t->cols, 5);
    const char *names[] = {"name", "typeString", "typeInt", "extra", "comment"};
    int types[] = {DDB_STRING, DDB_STRING, DDB_INT, DDB_INT, DDB_STRING};
    for (int c = 0; r && c < 5; c++) {
        free(r->col_names[c]);
        r->col_names[c] = strdup(names[c]);
        r->columns[c] = col_empty(types[c], 0);
        if (!r->col_names[c] || !r->columns[c]) {
            ddb_obj_unref(r);
            return NULL;
        }
    }
    for (int64_t c = 0; r && c < t->cols; c++) {
        const ddb_obj *v = t->columns[c];
        const char *tn = ddb_type_name(v->type);
        char buf[64];
        if (ddb_is_decimal(v->type)) {      /* the server writes DECIMAL32(2) */
            snprintf(buf, sizeof buf, "%s(%d)", tn, v->scale);
            tn = buf;
        }
        int32_t ti = v->type, extra = ddb_is_decimal(v->type) ? v->scale : DDB_NULL_I32;
        if (ddb_varlen_append(r->columns[0], t->col_names[c], strlen(t->col_names[c])) ||
            ddb_varlen_append(r->columns[1], tn, strlen(tn)) || ddb_fixed_append(r->columns[2], &ti) ||
            ddb_fixed_append(r->columns[3], &extra) || ddb_varlen_append(r->columns[4], "", 0)) {
            ddb_obj_unref(r);
            return NULL;
        }
    }
    return r;
}

/* ---------------------------------------------------------------- the store */

static pthread_mutex_t g_store_lock = PTHREAD_MUTEX_INITIALIZER;
static store_table g_tables[MAX_STORE_TABLES];

void store_lock(void) { pthread_mutex_lock(&g_store_lock); }
void store_unlock(void) { pthread_mutex_unlock(&g_store_lock); }
store_table *store_at(int index) { return &g_tables[index]; }

int is_handle(const ddb_obj *o) { return o && o->form == DDB_TABLE && o->fkind == TBL_HANDLE; }

store_table *store_entry(const ddb_obj *h)
{
    int slot = h->scale & 0xfff;
    unsigned gen = (unsigned)h->scale >> 12;
    if (slot >= MAX_STORE_TABLES || !g_tables[slot].used || (g_tables[slot].gen & 0x7ffff) != gen)
        return NULL;
    return &g_tables[slot];
}

int store_add(const char *name, int db, ddb_obj *t)
{
    for (int i = 0; i < MAX_STORE_TABLES; i++)
        if (!g_tables[i].used) {
            store_table *e = &g_tables[i];
            unsigned gen = e->gen + 1;
            memset(e, 0, sizeof *e);
            e->used = 1;
            e->gen = gen;
            snprintf(e->name, sizeof e->name, "%s", name);
            e->db = db;
            e->t = t;
            return i;
        }
    return -1;
}

void store_remove(int index)
{
    ddb_obj_unref(g_tables[index].t);
    g_tables[index].t = NULL;
    g_tables[index].used = 0;
}

ddb_obj *store_handle(int index)
{
    const store_table *e = &g_tables[index];
    ddb_obj *h = ddb_table_new(0, e->t->cols);
    for (int64_t c = 0; h && c < e->t->cols; c++) {
        free(h->col_names[c]);
        h->col_names[c] = strdup(e->t->col_names[c]);
        h->columns[c] = col_empty(e->t->columns[c]->type, e->t->columns[c]->scale);
        if (!h->col_names[c] || !h->columns[c]) {
            ddb_obj_unref(h);
            return NULL;
        }
    }
    if (h) {
        free(h->name);
        h->name = strdup(e->name);
        h->fkind = TBL_HANDLE;
        h->scale = (int32_t)(index | (int)((e->gen & 0x7ffff) << 12));
    }
    return h;
}

ddb_obj *tables_shared_handle(const char *name)
{
    ddb_obj *h = NULL;
    store_lock();
    for (int i = 0; i < MAX_STORE_TABLES && !h; i++)
        if (g_tables[i].used && g_tables[i].db < 0 && !strcmp(g_tables[i].name, name))
            h = store_handle(i);
    store_unlock();
    return h;
}

int table_snapshot(eval_ctx *ctx, ddb_obj *t, ddb_obj **out)
{
    if (!is_handle(t)) {
        *out = ddb_obj_ref(t);
        return 0;
    }
    store_lock();
    store_table *e = store_entry(t);
    ddb_obj *copy = e ? table_gather(e->t, NULL, 0) : NULL;
    if (copy && e->t->fkind != TBL_HANDLE) {
        copy->fkind = e->t->fkind;
        copy->scale = e->t->scale;
    }
    store_unlock();
    if (!e)
        return ctx_error(ctx, "The table %s has been dropped or undefined", t->name ? t->name : "");
    if (!copy)
        return ctx_oom(ctx);
    *out = copy;
    return 0;
}

int tables_resolve_args(eval_ctx *ctx, ddb_obj **args, int n)
{
    for (int i = 0; i < n; i++)
        if (is_handle(args[i])) {
            ddb_obj *copy = NULL;
            if (table_snapshot(ctx, args[i], &copy))
                return -1;
            ddb_obj_unref(args[i]);
            args[i] = copy;
        }
    return 0;
}

int tables_resolve_result(eval_ctx *ctx, ddb_obj **out)
{
    if (!is_handle(*out))
        return 0;
    if (tables_resolve_args(ctx, out, 1))
        return -1;
    (*out)->fkind = TBL_PLAIN;              /* the client sees a plain table */
    (*out)->scale = 0;
    return 0;
}

void tables_reset(void)
{
    store_lock();
    for (int i = 0; i < MAX_STORE_TABLES; i++)
        if (g_tables[i].used)
            store_remove(i);
    dfs_reset();
    store_unlock();
}
