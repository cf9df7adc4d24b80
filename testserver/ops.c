/* ops.c — DolphinDB operators over scalars and vectors.
 *
 * Rules (as the real server): element-wise on vectors, scalars broadcast, vectors
 * must have equal length; arithmetic with a NULL gives NULL; int / int is DOUBLE;
 * small integers promote to INT, LONG wins over INT, floating wins over integers;
 * DATE + 1 stays a DATE, DATE - DATE is an INT count; comparisons treat NULL as the
 * smallest value (so NULL == NULL is true) and never return NULL; `a:b` builds a
 * pair and `a..b` an inclusive integer range. */
#include "eval.h"
#include "values.h"

#include <math.h>
#include <string.h>

#define MAX_RANGE MAX_GENERATED_ROWS     /* elements a..b may build */

static const char *op_text(int op)
{
    static const char *const names[] = {"", "+", "-", "*", "/", "%", "==", "!=", "<", "<=",
                                        ">", ">=", "&&", "||", "!", "-", ":", ".."};
    return op > 0 && op < (int)(sizeof names / sizeof *names) ? names[op] : "?";
}

static int is_cmp(int op) { return op >= OP_EQ && op <= OP_GE; }

static int int_rank(int t) { return t == DDB_LONG ? DDB_LONG : DDB_INT; }

/* Result type of an arithmetic/comparison op on element types ta, tb; -1 if the
 * combination is not supported. *floating: compute in double. */
static int result_type(int op, int ta, int tb, int *floating)
{
    *floating = type_is_floating(ta) || type_is_floating(tb);
    if (ta == DDB_VOID)
        ta = tb;
    if (tb == DDB_VOID)
        tb = ta;
    if (ta == DDB_VOID)
        return is_cmp(op) ? DDB_BOOL : DDB_VOID;
    if (is_cmp(op)) {
        if (type_is_text(ta) && type_is_text(tb))
            return DDB_BOOL;
        int oka = type_is_numeric(ta) || type_is_temporal(ta);
        int okb = type_is_numeric(tb) || type_is_temporal(tb);
        return oka && okb ? DDB_BOOL : -1;
    }
    if (op == OP_AND || op == OP_OR)
        return type_is_numeric(ta) && type_is_numeric(tb) ? DDB_BOOL : -1;
    if (type_is_text(ta) && type_is_text(tb))
        return op == OP_ADD ? DDB_STRING : -1;
    if (type_is_temporal(ta) || type_is_temporal(tb)) {
        if (op == OP_ADD && type_is_temporal(ta) && type_is_integer(tb))
            return ta;
        if (op == OP_ADD && type_is_integer(ta) && type_is_temporal(tb))
            return tb;
        if (op == OP_SUB && type_is_temporal(ta) && type_is_integer(tb))
            return ta;
        if (op == OP_SUB && ta == tb)
            return type_is_int64(ta) ? DDB_LONG : DDB_INT;
        return -1;
    }
    if (!type_is_numeric(ta) || !type_is_numeric(tb))
        return -1;
    if (op == OP_DIV)
        return (ta == DDB_FLOAT && tb == DDB_FLOAT) ? DDB_FLOAT : DDB_DOUBLE;
    if (*floating)
        return (ta == DDB_DOUBLE || tb == DDB_DOUBLE || type_is_int64(ta) || type_is_int64(tb))
                   ? DDB_DOUBLE : DDB_FLOAT;
    return int_rank(ta) == DDB_LONG || int_rank(tb) == DDB_LONG ? DDB_LONG : DDB_INT;
}

static double fmod_floor(double a, double b)
{
    double r = fmod(a, b);
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

static int64_t int_op(int op, int64_t a, int64_t b, int *isnull)
{
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;     /* wrap like the server, no UB */
    switch (op) {
    case OP_ADD: return (int64_t)(ua + ub);
    case OP_SUB: return (int64_t)(ua - ub);
    case OP_MUL: return (int64_t)(ua * ub);
    case OP_MOD:
        if (b == 0 || (a == INT64_MIN && b == -1)) {
            *isnull = b == 0;
            return 0;
        } else {
            int64_t r = a % b;
            return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
        }
    }
    return 0;
}

static double float_op(int op, double a, double b, int *isnull)
{
    switch (op) {
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    case OP_DIV:
        if (b == 0) {
            *isnull = 1;
            return 0;
        }
        return a / b;
    case OP_MOD:
        if (b == 0) {
            *isnull = 1;
            return 0;
        }
        return fmod_floor(a, b);
    }
    return 0;
}

static int cmp_result(int op, int c)
{
    switch (op) {
    case OP_EQ: return c == 0;
    case OP_NE: return c != 0;
    case OP_LT: return c < 0;
    case OP_LE: return c <= 0;
    case OP_GT: return c > 0;
    default: return c >= 0;
    }
}

static int text_cmp(const ddb_obj *a, int64_t i, const ddb_obj *b, int64_t j)
{
    return strcmp(ddb_str_at(a, i, NULL), ddb_str_at(b, j, NULL));
}

static int elem_cmp(const ddb_obj *a, int64_t i, const ddb_obj *b, int64_t j, int floating)
{
    int na, nb;
    if (floating) {
        double x = cell_f64(a, i, &na), y = cell_f64(b, j, &nb);
        if (na || nb)
            return na && nb ? 0 : na ? -1 : 1;
        return x < y ? -1 : x > y;
    }
    int64_t x = a->type == DDB_VOID ? 0 : cell_i64(a, i, &na);
    int64_t y = b->type == DDB_VOID ? 0 : cell_i64(b, j, &nb);
    if (a->type == DDB_VOID)
        na = 1;
    if (b->type == DDB_VOID)
        nb = 1;
    if (na || nb)
        return na && nb ? 0 : na ? -1 : 1;
    return x < y ? -1 : x > y;
}

static int concat_strings(eval_ctx *ctx, const ddb_obj *a, const ddb_obj *b, int64_t n,
                          int scalar, ddb_obj **out)
{
    int64_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        size_t la, lb;
        ddb_str_at(a, a->form == DDB_SCALAR ? 0 : i, &la);
        ddb_str_at(b, b->form == DDB_SCALAR ? 0 : i, &lb);
        total += (int64_t)(la + lb + 1);
        if (total > MAX_GENERATED_BYTES)
            return ctx_error(ctx, "The result of + would exceed %lld bytes", MAX_GENERATED_BYTES);
    }
    ddb_obj *r = ddb_vector_new(DDB_STRING, 0);
    ddb_buf tmp;
    ddb_buf_init(&tmp);
    for (int64_t i = 0; r && i < n; i++) {
        size_t la, lb;
        const char *sa = ddb_str_at(a, a->form == DDB_SCALAR ? 0 : i, &la);
        const char *sb = ddb_str_at(b, b->form == DDB_SCALAR ? 0 : i, &lb);
        ddb_buf_reset(&tmp);
        ddb_buf_put(&tmp, sa, la);
        ddb_buf_put(&tmp, sb, lb);
        if (tmp.oom || ddb_varlen_append(r, tmp.p ? tmp.p : "", tmp.len)) {
            ddb_obj_unref(r);
            r = NULL;
        }
    }
    ddb_buf_free(&tmp);
    if (r && scalar) {
        size_t len;
        const char *s = ddb_str_at(r, 0, &len);
        ddb_obj *sc = ddb_string_new(DDB_STRING, s, len);
        ddb_obj_unref(r);
        r = sc;
    }
    if (!r)
        return ctx_oom(ctx);
    *out = r;
    return 0;
}

static int make_pair(eval_ctx *ctx, const ddb_obj *a, const ddb_obj *b, ddb_obj **out)
{
    if (a->form != DDB_SCALAR || b->form != DDB_SCALAR)
        return ctx_error(ctx, "The operands of a pair must be scalars");
    ddb_obj *items[2] = {(ddb_obj *)a, (ddb_obj *)b};
    ddb_obj *v;
    if (make_vector(ctx, items, 2, &v))
        return -1;
    if (v->type == DDB_ANY) {
        ddb_obj_unref(v);
        return ctx_error(ctx, "The operands of a pair must have the same type");
    }
    v->form = DDB_PAIR;
    *out = v;
    return 0;
}

static int make_range(eval_ctx *ctx, const ddb_obj *a, const ddb_obj *b, ddb_obj **out)
{
    int na, nb;
    /* 2024.01.01..2024.01.03: a range of one temporal type counts in its unit */
    int temporal = a->type == b->type && (type_is_temporal(a->type) || a->type == DDB_MONTH);
    if (a->form != DDB_SCALAR || b->form != DDB_SCALAR ||
        (!temporal && (!type_is_integer(a->type) || !type_is_integer(b->type))))
        return ctx_error(ctx, "The operands of .. must be integer scalars");
    int64_t lo = cell_i64(a, 0, &na), hi = cell_i64(b, 0, &nb);
    if (na || nb)
        return ctx_error(ctx, "The operands of .. can't be NULL");
    uint64_t span = hi >= lo ? (uint64_t)hi - (uint64_t)lo : (uint64_t)lo - (uint64_t)hi;
    int64_t n = span >= (uint64_t)MAX_RANGE ? MAX_RANGE + 1 : (int64_t)span + 1;
    if (n > MAX_RANGE)
        return ctx_error(ctx, "The range %lld..%lld is too large", (long long)lo, (long long)hi);
    int type = temporal ? a->type : a->type == DDB_LONG || b->type == DDB_LONG ? DDB_LONG : DDB_INT;
    ddb_obj *v = ddb_vector_new(type, n);
    if (!v)
        return ctx_oom(ctx);
    int64_t step = hi >= lo ? 1 : -1;
    if (!type_is_int64(type)) {
        int32_t *d = v->data;
        for (int64_t i = 0; i < n; i++)
            d[i] = (int32_t)(lo + step * i);
    } else {
        int64_t *d = v->data;
        for (int64_t i = 0; i < n; i++)
            d[i] = lo + step * i;
    }
    *out = v;
    return 0;
}

static int elementwise(eval_ctx *ctx, int op, const ddb_obj *a, const ddb_obj *b, ddb_obj **out)
{
    int floating;
    int rt = result_type(op, a->type, b->type, &floating);
    if (rt < 0)
        return ctx_error(ctx, "The operator %s doesn't support data types %s and %s", op_text(op),
                         ddb_type_name(a->type), ddb_type_name(b->type));
    int64_t la = obj_len(a), lb = obj_len(b);
    int scalar = a->form == DDB_SCALAR && b->form == DDB_SCALAR;
    if (a->form != DDB_SCALAR && b->form != DDB_SCALAR && la != lb)
        return ctx_error(ctx, "Incompatible vector size: %lld and %lld", (long long)la,
                         (long long)lb);
    int64_t n = a->form == DDB_SCALAR ? lb : la;
    if (rt == DDB_VOID) {
        *out = scalar ? ddb_void_new(1) : ddb_vector_new(DDB_VOID, n);
        return *out ? 0 : ctx_oom(ctx);
    }
    if (rt == DDB_STRING)
        return concat_strings(ctx, a, b, n, scalar, out);
    ddb_obj *r = scalar ? ddb_scalar_new(rt) : ddb_vector_new(rt, n);
    if (!r)
        return ctx_oom(ctx);
    int text = type_is_text(a->type) && type_is_text(b->type);
    int avoid = a->type == DDB_VOID, bvoid = b->type == DDB_VOID;
    int sa = a->form == DDB_SCALAR, sb = b->form == DDB_SCALAR;
    for (int64_t i = 0; i < n; i++) {
        int64_t ia = sa ? 0 : i, ib = sb ? 0 : i;
        if (is_cmp(op)) {
            int c = text ? text_cmp(a, ia, b, ib) : elem_cmp(a, ia, b, ib, floating);
            cell_put_i64(r, i, cmp_result(op, c));
            continue;
        }
        int na = avoid, nb = bvoid, isnull = 0;
        if (op == OP_AND || op == OP_OR) {
            double x = avoid ? 0 : cell_f64(a, ia, &na), y = bvoid ? 0 : cell_f64(b, ib, &nb);
            if (na || nb)
                cell_put_null(r, i);
            else
                cell_put_i64(r, i, op == OP_AND ? (x != 0 && y != 0) : (x != 0 || y != 0));
        } else if (type_is_floating(rt) || floating) {
            double x = avoid ? 0 : cell_f64(a, ia, &na), y = bvoid ? 0 : cell_f64(b, ib, &nb);
            double v = na || nb ? 0 : float_op(op, x, y, &isnull);
            if (na || nb || isnull || (type_is_integer(rt) && !(v > -9.2e18 && v < 9.2e18)))
                cell_put_null(r, i);
            else if (type_is_floating(rt))
                cell_put_f64(r, i, v);
            else
                cell_put_i64(r, i, (int64_t)v);
        } else {
            int64_t x = avoid ? 0 : cell_i64(a, ia, &na), y = bvoid ? 0 : cell_i64(b, ib, &nb);
            int64_t v = na || nb ? 0 : int_op(op, x, y, &isnull);
            if (na || nb || isnull)
                cell_put_null(r, i);
            else
                cell_put_i64(r, i, v);
        }
    }
    *out = r;
    return 0;
}

int op_binary(eval_ctx *ctx, int op, const ddb_obj *a, const ddb_obj *b, ddb_obj **out)
{
    if (op == OP_PAIR)
        return make_pair(ctx, a, b, out);
    if (op == OP_RANGE)
        return make_range(ctx, a, b, out);
    if ((a->form != DDB_SCALAR && !obj_is_vectorlike(a)) ||
        (b->form != DDB_SCALAR && !obj_is_vectorlike(b)) || a->type == DDB_ANY ||
        b->type == DDB_ANY)
        return ctx_error(ctx, "The operator %s doesn't support data forms %s and %s", op_text(op),
                         ddb_form_name(a->form), ddb_form_name(b->form));
    /* A VOID vector costs no wire bytes, so an uploaded 10-byte header can claim a
     * billion rows: the result of an element-wise operator is capped like a..b. */
    if (obj_len(a) > MAX_RANGE || obj_len(b) > MAX_RANGE)
        return ctx_error(ctx, "The operator %s: the result would exceed %lld elements",
                         op_text(op), (long long)MAX_RANGE);
    return elementwise(ctx, op, a, b, out);
}

int op_unary(eval_ctx *ctx, int op, const ddb_obj *a, ddb_obj **out)
{
    ddb_obj *zero_or_false = ddb_int_new(op == OP_NEG ? DDB_INT : DDB_BOOL, 0);
    if (!zero_or_false)
        return ctx_oom(ctx);
    int rc;
    if (op == OP_NEG) {
        if (type_is_floating(a->type)) {          /* keep FLOAT a FLOAT */
            ddb_obj_unref(zero_or_false);
            zero_or_false = ddb_double_new(a->type, 0);
        } else if (a->type == DDB_LONG) {
            ddb_obj_unref(zero_or_false);
            zero_or_false = ddb_int_new(DDB_LONG, 0);
        }
        rc = zero_or_false ? op_binary(ctx, OP_SUB, zero_or_false, a, out) : ctx_oom(ctx);
    } else
        rc = op_binary(ctx, OP_EQ, a, zero_or_false, out);
    ddb_obj_unref(zero_or_false);
    if (rc == 0 && op == OP_NEG && a->type != DDB_VOID && !type_is_floating(a->type) &&
        (*out)->type != a->type && type_is_integer(a->type) && a->type != DDB_BOOL) {
        /* -1h stays SHORT, -1c CHAR */
        ddb_obj *r = a->form == DDB_SCALAR ? ddb_scalar_new(a->type) : ddb_vector_new(a->type, a->rows);
        if (!r) {
            ddb_obj_unref(*out);
            return ctx_oom(ctx);
        }
        for (int64_t i = 0; i < obj_len(a); i++) {
            int isnull;
            int64_t v = cell_i64(*out, i, &isnull);
            if (isnull)
                cell_put_null(r, i);
            else
                cell_put_i64(r, i, v);
        }
        ddb_obj_unref(*out);
        *out = r;
    }
    return rc;
}

/* ---- vector literals ---- */

static int common_type(ddb_obj **items, int n)
{
    int t = -1, first = 0;
    for (int i = 0; i < n; i++) {
        if (items[i]->form != DDB_SCALAR)
            return DDB_ANY;
        int u = items[i]->type;
        if (u == DDB_VOID)
            continue;
        if (t >= 0 && t == u && items[i]->scale != items[first]->scale)
            return DDB_ANY;     /* decimals of different scales: no one cell layout */
        if (t < 0 || t == u) {
            if (t < 0)
                first = i;
            t = u;
        } else if (type_is_numeric(t) && type_is_numeric(u)) {
            int f;
            t = result_type(OP_ADD, t, u, &f);
            if (type_is_integer(t) && (items[i]->type == DDB_BOOL))
                return DDB_ANY;
        } else if (type_is_text(t) && type_is_text(u))
            t = DDB_STRING;
        else
            return DDB_ANY;
    }
    return t < 0 ? DDB_ANY : t;
}

int make_vector(eval_ctx *ctx, ddb_obj **items, int n, ddb_obj **out)
{
    int t = common_type(items, n);
    ddb_obj *v;
    if (t == DDB_ANY || ddb_type_class_of(t) == DDB_CLASS_VARLEN || t == DDB_SYMBOL) {
        if (t == DDB_ANY) {
            v = ddb_vector_new(DDB_ANY, n);
            for (int i = 0; v && i < n; i++) {
                ddb_obj_unref(v->items[i]);
                v->items[i] = ddb_obj_ref(items[i]);
            }
        } else {
            v = ddb_vector_new(t, 0);
            for (int i = 0; v && i < n; i++) {
                size_t len = 0;
                const char *s = items[i]->type == DDB_VOID ? "" : ddb_str_at(items[i], 0, &len);
                if ((t == DDB_SYMBOL ? ddb_symbol_append(v, s, len) : ddb_varlen_append(v, s, len))) {
                    ddb_obj_unref(v);
                    v = NULL;
                }
            }
        }
        if (!v)
            return ctx_oom(ctx);
        *out = v;
        return 0;
    }
    v = ddb_vector_new(t, n);
    if (!v)
        return ctx_oom(ctx);
    for (int i = 0; i < n; i++)         /* a DECIMAL vector keeps its items' scale */
        if (items[i]->type == t)
            v->scale = items[i]->scale;
    for (int i = 0; i < n; i++) {
        const ddb_obj *it = items[i];
        int isnull = it->type == DDB_VOID;
        if (!isnull && it->type == t)
            memcpy((char *)v->data + (size_t)i * ddb_type_width(t), it->data, (size_t)ddb_type_width(t));
        else if (isnull)
            cell_put_null(v, i);
        else if (type_is_floating(t)) {
            double d = cell_f64(it, 0, &isnull);
            if (isnull)
                cell_put_null(v, i);
            else
                cell_put_f64(v, i, d);
        } else {
            int64_t x = cell_i64(it, 0, &isnull);
            if (isnull)
                cell_put_null(v, i);
            else
                cell_put_i64(v, i, x);
        }
    }
    *out = v;
    return 0;
}
