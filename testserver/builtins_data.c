/* builtins_data.c — constructors (table, dict, matrix, set, pair, uuid, ...) and
 * type casts (string, int, long, double, date, timestamp, ...). */
#include "eval.h"
#include "values.h"
#include "ddb_text.h"
#include "tables.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A plain VECTOR with the same cells (pairs become vectors). */
static ddb_obj *as_column(const ddb_obj *o)
{
    if (o->form == DDB_VECTOR)
        return ddb_obj_ref((ddb_obj *)o);
    return vec_slice(o, 0, o->rows);
}

static int bi_table(eval_ctx *ctx, ddb_obj **a, int n, const char *const *labels, ddb_obj **out)
{
    if (n == 3 && a[0]->form == DDB_PAIR)       /* table(capacity:size, names, types) */
        return table_typed(ctx, a, out);
    int64_t rows = -1;
    for (int i = 0; i < n; i++) {
        if (a[i]->form == DDB_SCALAR && a[i]->type != DDB_VOID) {  /* a 1-row column */
            ddb_obj *v = col_copy(a[i]);
            if (!v)
                return ctx_oom(ctx);
            v->form = DDB_VECTOR;
            ddb_obj_unref(a[i]);
            a[i] = v;
        }
        if (!obj_is_vectorlike(a[i]) || a[i]->type >= DDB_ARRAY_BASE + 64)
            return ctx_error(ctx, "The arguments of table must be vectors");
        if (rows >= 0 && a[i]->rows != rows)
            return ctx_error(ctx, "The length of column %s (%lld) doesn't match the table's (%lld)",
                             labels[i] ? labels[i] : "?", (long long)a[i]->rows, (long long)rows);
        rows = a[i]->rows;
    }
    ddb_obj *t = ddb_table_new(rows, n);
    if (!t)
        return ctx_oom(ctx);
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "col%d", i + 1);
        const char *nm = labels[i] ? labels[i] : name;
        for (int j = 0; j < i; j++)
            if (!strcmp(t->col_names[j], nm)) {
                ddb_obj_unref(t);
                return ctx_error(ctx, "Duplicate column name %s", nm);
            }
        free(t->col_names[i]);
        t->col_names[i] = strdup(nm);
        t->columns[i] = as_column(a[i]);
        if (!t->col_names[i] || !t->columns[i]) {
            ddb_obj_unref(t);
            return ctx_oom(ctx);
        }
    }
    *out = t;
    return 0;
}

/* ---- distinct keys (set/dict) ---- */

static uint64_t cell_hash(const ddb_obj *v, int64_t i)
{
    size_t len;
    const unsigned char *p;
    if (ddb_type_class_of(v->type) == DDB_CLASS_FIXED) {
        len = (size_t)ddb_type_width(v->type);
        p = (const unsigned char *)v->data + (size_t)i * len;
    } else
        p = (const unsigned char *)ddb_str_at(v, i, &len);
    uint64_t h = 1469598103934665603ULL;
    for (size_t k = 0; k < len; k++)
        h = (h ^ p[k]) * 1099511628211ULL;
    return h;
}

static int cell_equal(const ddb_obj *v, int64_t i, int64_t j)
{
    if (ddb_type_class_of(v->type) == DDB_CLASS_FIXED) {
        int w = ddb_type_width(v->type);
        return !memcmp((const char *)v->data + i * w, (const char *)v->data + j * w, (size_t)w);
    }
    size_t la, lb;
    const char *x = ddb_str_at(v, i, &la), *y = ddb_str_at(v, j, &lb);
    return la == lb && !memcmp(x, y, la);
}

/* Indices of the first occurrence of each distinct element, in order. */
static int64_t *distinct(const ddb_obj *v, int64_t *count)
{
    int64_t cap = 16;
    while (cap < v->rows * 2)
        cap *= 2;
    int64_t *slots = malloc((size_t)cap * sizeof *slots);
    int64_t *keep = malloc((size_t)(v->rows ? v->rows : 1) * sizeof *keep);
    if (!slots || !keep) {
        free(slots);
        free(keep);
        return NULL;
    }
    memset(slots, -1, (size_t)cap * sizeof *slots);
    int64_t n = 0;
    for (int64_t i = 0; i < v->rows; i++) {
        uint64_t h = cell_hash(v, i) & (uint64_t)(cap - 1);
        while (slots[h] >= 0 && !cell_equal(v, slots[h], i))
            h = (h + 1) & (uint64_t)(cap - 1);
        if (slots[h] < 0) {
            slots[h] = i;
            keep[n++] = i;
        }
    }
    free(slots);
    *count = n;
    return keep;
}

static ddb_obj *gather(const ddb_obj *v, const int64_t *idx, int64_t n)
{
    ddb_obj *r = ddb_vector_new(v->type == DDB_SYMBOL ? DDB_SYMBOL : v->type, 0);
    for (int64_t i = 0; r && i < n; i++) {
        ddb_obj *e = obj_element(v, idx[i]);
        if (!e || vec_append_scalar(r, e)) {
            ddb_obj_unref(r);
            r = NULL;
        }
        ddb_obj_unref(e);
    }
    return r;
}

static int key_type_ok(int t)
{
    return t != DDB_ANY && t != DDB_VOID &&
           (ddb_type_class_of(t) == DDB_CLASS_FIXED || type_is_text(t));
}

static int bi_set(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    const ddb_obj *v = a[0];
    if (!obj_is_vectorlike(v) && v->form != DDB_SCALAR)
        return ctx_error(ctx, "The argument of set must be a vector");
    if (!key_type_ok(v->type))
        return ctx_error(ctx, "A set can't hold %s values", ddb_type_name(v->type));
    ddb_obj *col = v->form == DDB_SCALAR ? NULL : as_column(v);
    if (v->form == DDB_SCALAR) {
        col = ddb_vector_new(v->type, 0);
        if (col && vec_append_scalar(col, v)) {
            ddb_obj_unref(col);
            col = NULL;
        }
    }
    if (!col)
        return ctx_oom(ctx);
    int64_t cnt;
    int64_t *idx = distinct(col, &cnt);
    ddb_obj *keys = idx ? gather(col, idx, cnt) : NULL;
    free(idx);
    ddb_obj_unref(col);
    *out = keys ? ddb_set_new(keys) : NULL;
    return *out ? 0 : ctx_oom(ctx);
}

/* dict(keys, values) or dict(keyType, valueType) (an empty dictionary). */
static int bi_dict(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    ddb_obj *keys, *values;
    if (a[0]->form == DDB_SCALAR && a[1]->form == DDB_SCALAR && a[0]->type == DDB_INT &&
        a[1]->type == DDB_INT) {
        int isnull;
        int kt = (int)cell_i64(a[0], 0, &isnull), vt = (int)cell_i64(a[1], 0, &isnull);
        if (!key_type_ok(kt) || ddb_type_class_of(vt) == DDB_CLASS_INVALID)
            return ctx_error(ctx, "Invalid key or value type for dict");
        keys = ddb_vector_new(kt, 0);
        values = ddb_vector_new(vt, 0);
    } else {
        if (!obj_is_vectorlike(a[0]) || !obj_is_vectorlike(a[1]))
            return ctx_error(ctx, "The arguments of dict must be two vectors or two types");
        if (a[0]->rows != a[1]->rows)
            return ctx_error(ctx, "The keys and values of dict must have the same length");
        if (!key_type_ok(a[0]->type))
            return ctx_error(ctx, "A dictionary key can't be %s", ddb_type_name(a[0]->type));
        int64_t cnt;
        int64_t *idx = distinct(a[0], &cnt);
        if (!idx)
            return ctx_oom(ctx);
        if (cnt != a[0]->rows) {
            free(idx);
            return ctx_error(ctx, "The keys of dict must be distinct");
        }
        free(idx);
        keys = as_column(a[0]);
        values = as_column(a[1]);
    }
    *out = ddb_dict_new(keys, values);
    return *out ? 0 : ctx_oom(ctx);
}

/* matrix(col1, col2, ...): each argument a column of the same type and length. */
static int bi_matrix(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    int t = a[0]->type;
    int64_t rows = obj_len(a[0]);
    for (int i = 0; i < n; i++)
        if (!obj_is_vectorlike(a[i]) || a[i]->type != t || a[i]->rows != rows ||
            ddb_type_class_of(t) != DDB_CLASS_FIXED)
            return ctx_error(ctx, "The columns of a matrix must be vectors of one fixed-width type and length");
    ddb_obj *m = ddb_matrix_new(t, rows, n);
    if (!m)
        return ctx_oom(ctx);
    int w = ddb_type_width(t);
    for (int i = 0; i < n; i++)
        if (rows)
            memcpy((char *)m->data + (size_t)i * rows * w, a[i]->data, (size_t)(rows * w));
    *out = m;
    return 0;
}

static int bi_pair(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    return op_binary(ctx, OP_PAIR, a[0], a[1], out);
}

/* ---- 16-byte literals and BLOB ---- */

static int parse_16(eval_ctx *ctx, ddb_obj **a, int type, const char *fn,
                    int (*parse)(const char *, size_t, uint8_t *), ddb_obj **out)
{
    char cb[2];
    const char *s = obj_text(a[0], cb);
    if (!s)
        return ctx_error(ctx, "The argument of %s must be a string", fn);
    ddb_obj *r = ddb_scalar_new(type);
    if (!r)
        return ctx_oom(ctx);
    if (*s && parse(s, strlen(s), r->data) != 0) {
        ddb_obj_unref(r);
        return ctx_error(ctx, "Invalid %s string: %s", fn, s);
    }
    *out = r;
    return 0;
}
static int bi_uuid(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o) { return parse_16(c, a, DDB_UUID, "uuid", ddb_parse_uuid, o); }
static int bi_ipaddr(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o) { return parse_16(c, a, DDB_IPADDR, "ipaddr", ddb_parse_ipaddr, o); }
static int bi_int128(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o) { return parse_16(c, a, DDB_INT128, "int128", ddb_parse_int128, o); }

static int bi_blob(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    if (a[0]->form != DDB_SCALAR || !type_is_text(a[0]->type))
        return ctx_error(ctx, "The argument of blob must be a string");
    size_t len;
    const char *s = ddb_str_at(a[0], 0, &len);
    *out = ddb_string_new(DDB_BLOB, s, len);
    return *out ? 0 : ctx_oom(ctx);
}

/* decimal32/64/128(x, scale) from a number or a numeric string. */
static int make_decimal(eval_ctx *ctx, ddb_obj **a, int type, ddb_obj **out)
{
    int64_t scale;
    int isnull;
    if (a[1]->form != DDB_SCALAR || !type_is_integer(a[1]->type) ||
        ((scale = cell_i64(a[1], 0, &isnull)), isnull) || scale < 0 || scale > ddb_decimal_max_scale(type))
        return ctx_error(ctx, "The scale of %s must be in [0, %d]", ddb_type_name(type),
                         ddb_decimal_max_scale(type));
    char text[64], cb[2];
    const char *s = obj_text(a[0], cb);
    if (!s && a[0]->form == DDB_SCALAR && type_is_numeric(a[0]->type)) {
        double d = cell_f64(a[0], 0, &isnull);
        if (isnull)
            s = "";
        else {
            snprintf(text, sizeof text, "%.*f", (int)scale, d);   /* rounds at the scale */
            s = text;
        }
    }
    if (!s)
        return ctx_error(ctx, "Can't convert %s to %s", ddb_type_name(a[0]->type), ddb_type_name(type));
    ddb_obj *r = ddb_scalar_new(type);
    if (!r)
        return ctx_oom(ctx);
    r->scale = (int32_t)scale;
    int64_t v[2] = {0, 0};
    if (*s && ddb_parse_decimal(s, strlen(s), (int)scale, v) != 0) {
        ddb_obj_unref(r);
        return ctx_error(ctx, "Can't convert %s to %s", s, ddb_type_name(type));
    }
    if (!*s)
        cell_put_null(r, 0);
    else if (type == DDB_DECIMAL32) {
        if (v[0] > INT32_MAX || v[0] <= INT32_MIN) {
            ddb_obj_unref(r);
            return ctx_error(ctx, "Decimal overflow: %s", s);
        }
        *(int32_t *)r->data = (int32_t)v[0];
    } else if (type == DDB_DECIMAL64)
        *(int64_t *)r->data = v[0];
    else
        memcpy(r->data, v, 16);
    if (*s == 0 && type == DDB_DECIMAL128) {    /* NULL = -2^127 */
        int64_t nul[2] = {0, INT64_MIN};
        memcpy(r->data, nul, 16);
    }
    *out = r;
    return 0;
}
static int bi_dec32(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o) { return make_decimal(c, a, DDB_DECIMAL32, o); }
static int bi_dec64(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o) { return make_decimal(c, a, DDB_DECIMAL64, o); }
static int bi_dec128(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o) { return make_decimal(c, a, DDB_DECIMAL128, o); }

/* ---- casts ---- */

#define NS_SECOND 1000000000LL
#define NS_DAY (86400LL * NS_SECOND)

/* Nanoseconds per unit and whether values count from the epoch (else midnight). */
static int temporal_unit(int t, int64_t *ns, int *epoch)
{
    *epoch = 1;
    switch (t) {
    case DDB_DATE: *ns = NS_DAY; return 0;
    case DDB_DATETIME: *ns = NS_SECOND; return 0;
    case DDB_TIMESTAMP: *ns = 1000000; return 0;
    case DDB_NANOTIMESTAMP: *ns = 1; return 0;
    case DDB_DATEHOUR: *ns = 3600 * NS_SECOND; return 0;
    case DDB_DATEMINUTE: *ns = 60 * NS_SECOND; return 0;
    }
    *epoch = 0;
    switch (t) {
    case DDB_TIME: *ns = 1000000; return 0;
    case DDB_SECOND: *ns = NS_SECOND; return 0;
    case DDB_MINUTE: *ns = 60 * NS_SECOND; return 0;
    case DDB_NANOTIME: *ns = 1; return 0;
    }
    return -1;
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

/* Converts a raw temporal value between temporal types: 0, -1 if the types do
 * not convert, -2 if the value is out of range (the result is NULL). */
static int convert_temporal(int from, int to, int64_t v, int64_t *res)
{
    int64_t ns, unit;
    int epoch_from, epoch_to;
    if (from == to) {
        *res = v;
        return 0;
    }
    if (from == DDB_MONTH) {
        int64_t y = floor_div(v, 12);
        if (__builtin_mul_overflow(ddb_days_from_civil(y, (unsigned)(v - y * 12 + 1), 1), NS_DAY, &ns))
            return -2;
        epoch_from = 1;
    } else {
        if (temporal_unit(from, &unit, &epoch_from))
            return -1;
        if (__builtin_mul_overflow(v, unit, &ns))
            return -2;          /* beyond the nanosecond range: NULL */
    }
    if (to == DDB_MONTH) {
        if (!epoch_from)
            return -1;
        int64_t y;
        unsigned m, d;
        ddb_civil_from_days(floor_div(ns, NS_DAY), &y, &m, &d);
        *res = y * 12 + m - 1;
        return 0;
    }
    if (temporal_unit(to, &unit, &epoch_to))
        return -1;
    if (!epoch_to)
        ns = ((ns % NS_DAY) + NS_DAY) % NS_DAY;
    else if (!epoch_from)
        return -1;
    *res = floor_div(ns, unit);
    return 0;
}

static int cast_cell(eval_ctx *ctx, const ddb_obj *x, int64_t i, ddb_obj *r, int64_t j, int to)
{
    int isnull = x->type == DDB_VOID, rc;
    if (type_is_text(to)) {
        ddb_buf b;
        ddb_buf_init(&b);
        if (!isnull)
            ddb_format_cell(&b, x, i);
        int rc = b.oom || ddb_varlen_append(r, b.p ? b.p : "", b.len) ? ctx_oom(ctx) : 0;
        ddb_buf_free(&b);
        return rc;
    }
    if (!isnull && type_is_text(x->type)) {
        size_t len;
        const char *s = ddb_str_at(x, i, &len);
        char *end;
        if (len == 0)
            isnull = 1;
        else if (type_is_temporal(to) || to == DDB_MONTH) {
            int64_t v;
            if (ddb_parse_temporal(to, s, len, &v) == 0)
                cell_put_i64(r, j, v);
            else
                isnull = 1;
        } else if (type_is_floating(to)) {
            double d = strtod(s, &end);
            if (*end)
                isnull = 1;
            else
                cell_put_f64(r, j, d);
        } else {
            long long v = strtoll(s, &end, 10);
            if (*end)
                isnull = 1;
            else
                cell_put_i64(r, j, to == DDB_BOOL ? v != 0 : v);
        }
    } else if (!isnull && type_is_floating(x->type)) {
        double d = cell_f64(x, i, &isnull);
        if (!isnull && type_is_floating(to))
            cell_put_f64(r, j, d);
        else if (!isnull && type_is_integer(to)) {
            if (to != DDB_BOOL && !(d > -9.2e18 && d < 9.2e18))
                isnull = 1;     /* NaN or beyond the integer range */
            else
                cell_put_i64(r, j, to == DDB_BOOL ? d != 0 : (int64_t)d);
        }
        else if (!isnull)
            return ctx_error(ctx, "Can't convert %s to %s", ddb_type_name(x->type), ddb_type_name(to));
    } else if (!isnull && (type_is_integer(x->type) || type_is_temporal(x->type))) {
        int64_t v = cell_i64(x, i, &isnull);
        if (isnull)
            ;
        else if (type_is_floating(to))
            cell_put_f64(r, j, (double)v);
        else if (type_is_integer(to) || type_is_integer(x->type))
            cell_put_i64(r, j, to == DDB_BOOL ? v != 0 : v);
        else if ((rc = convert_temporal(x->type, to, v, &v)) == 0)
            cell_put_i64(r, j, v);
        else if (rc == -2)
            isnull = 1;
        else
            return ctx_error(ctx, "Can't convert %s to %s", ddb_type_name(x->type), ddb_type_name(to));
    } else if (!isnull)
        return ctx_error(ctx, "Can't convert %s to %s", ddb_type_name(x->type), ddb_type_name(to));
    if (isnull)
        cell_put_null(r, j);
    return 0;
}

static int cast_to(eval_ctx *ctx, const ddb_obj *x, int to, ddb_obj **out);
int value_cast(eval_ctx *ctx, const ddb_obj *x, int to, ddb_obj **out) { return cast_to(ctx, x, to, out); }

static int cast_to(eval_ctx *ctx, const ddb_obj *x, int to, ddb_obj **out)
{
    if (x->form != DDB_SCALAR && !obj_is_vectorlike(x))
        return ctx_error(ctx, "Can't convert a %s to %s", ddb_form_name(x->form), ddb_type_name(to));
    if (x->type == to) {
        *out = ddb_obj_ref((ddb_obj *)x);
        return 0;
    }
    int64_t n = obj_len(x);
    ddb_obj *r;
    int64_t size = type_is_text(to) ? obj_expanded_bytes(x, MAX_FORMAT_EXPANDED) : 0;
    if (size < 0)
        return ctx_error(ctx, "Can't convert a value nested deeper than %d levels to %s",
                         MAX_OBJECT_DEPTH, ddb_type_name(to));
    if (size > MAX_FORMAT_EXPANDED)
        return ctx_error(ctx, "Can't convert a value over %lld bytes to %s",
                         (long long)MAX_FORMAT_EXPANDED, ddb_type_name(to));
    if (type_is_text(to)) {
        r = ddb_vector_new(DDB_STRING, 0);
        for (int64_t i = 0; r && i < n; i++)
            if (cast_cell(ctx, x, i, r, i, to)) {
                ddb_obj_unref(r);
                return -1;
            }
        if (r && x->form == DDB_SCALAR) {
            size_t len;
            const char *s = ddb_str_at(r, 0, &len);
            ddb_obj *sc = ddb_string_new(to, s, len);
            ddb_obj_unref(r);
            r = sc;
        } else if (r && to == DDB_SYMBOL) {
            ddb_obj *sym = ddb_vector_new(DDB_SYMBOL, 0);
            for (int64_t i = 0; sym && i < n; i++) {
                size_t len;
                const char *s = ddb_str_at(r, i, &len);
                if (ddb_symbol_append(sym, s, len)) {
                    ddb_obj_unref(sym);
                    sym = NULL;
                }
            }
            ddb_obj_unref(r);
            r = sym;
        }
        if (!r)
            return ctx_oom(ctx);
        *out = r;
        return 0;
    }
    r = x->form == DDB_SCALAR ? ddb_scalar_new(to) : ddb_vector_new(to, n);
    if (!r)
        return ctx_oom(ctx);
    for (int64_t i = 0; i < n; i++)
        if (cast_cell(ctx, x, x->type == DDB_VOID ? 0 : i, r, i, to)) {
            ddb_obj_unref(r);
            return -1;
        }
    *out = r;
    return 0;
}

#define CAST(fn, type) \
    static int fn(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o) \
    { return cast_to(c, a[0], type, o); }
CAST(bi_bool, DDB_BOOL)
CAST(bi_char, DDB_CHAR)
CAST(bi_short, DDB_SHORT)
CAST(bi_int, DDB_INT)
CAST(bi_long, DDB_LONG)
CAST(bi_float, DDB_FLOAT)
CAST(bi_double, DDB_DOUBLE)
CAST(bi_string, DDB_STRING)
CAST(bi_symbol, DDB_SYMBOL)
CAST(bi_date, DDB_DATE)
CAST(bi_month, DDB_MONTH)
CAST(bi_time, DDB_TIME)
CAST(bi_minute, DDB_MINUTE)
CAST(bi_second, DDB_SECOND)
CAST(bi_datetime, DDB_DATETIME)
CAST(bi_timestamp, DDB_TIMESTAMP)
CAST(bi_nanotime, DDB_NANOTIME)
CAST(bi_nanotimestamp, DDB_NANOTIMESTAMP)
CAST(bi_datehour, DDB_DATEHOUR)

const builtin builtins_data[] = {
    {"table", 1, 64, 0, bi_table},
    {"dict", 2, 2, 0, bi_dict},
    {"matrix", 1, 64, 0, bi_matrix},
    {"set", 1, 1, 0, bi_set},
    {"pair", 2, 2, BI_QUICK, bi_pair},
    {"uuid", 1, 1, BI_QUICK, bi_uuid},
    {"ipaddr", 1, 1, BI_QUICK, bi_ipaddr},
    {"int128", 1, 1, BI_QUICK, bi_int128},
    {"blob", 1, 1, BI_QUICK, bi_blob},
    {"decimal32", 2, 2, BI_QUICK, bi_dec32},
    {"decimal64", 2, 2, BI_QUICK, bi_dec64},
    {"decimal128", 2, 2, BI_QUICK, bi_dec128},
    {"bool", 1, 1, BI_QUICK, bi_bool},
    {"char", 1, 1, BI_QUICK, bi_char},
    {"short", 1, 1, BI_QUICK, bi_short},
    {"int", 1, 1, BI_QUICK, bi_int},
    {"long", 1, 1, BI_QUICK, bi_long},
    {"float", 1, 1, BI_QUICK, bi_float},
    {"double", 1, 1, BI_QUICK, bi_double},
    {"string", 1, 1, BI_QUICK, bi_string},
    {"symbol", 1, 1, BI_QUICK, bi_symbol},
    {"date", 1, 1, BI_QUICK, bi_date},
    {"month", 1, 1, BI_QUICK, bi_month},
    {"time", 1, 1, BI_QUICK, bi_time},
    {"minute", 1, 1, BI_QUICK, bi_minute},
    {"second", 1, 1, BI_QUICK, bi_second},
    {"datetime", 1, 1, BI_QUICK, bi_datetime},
    {"timestamp", 1, 1, BI_QUICK, bi_timestamp},
    {"nanotime", 1, 1, BI_QUICK, bi_nanotime},
    {"nanotimestamp", 1, 1, BI_QUICK, bi_nanotimestamp},
    {"datehour", 1, 1, BI_QUICK, bi_datehour},
    {NULL, 0, 0, 0, NULL}};
