/* builtins_core.c — general built-ins: echo, typestr, size, sum, take, rand, sleep,
 * print, arithmetic by name, version and node probes. */
#include "eval.h"
#include "values.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#define MAX_GENERATED MAX_GENERATED_ROWS     /* elements one take()/rand() may build */

/* Bytes that `cnt` strings drawn from x may take at most (longest element). */
static int varlen_too_big(const ddb_obj *x, int64_t cnt)
{
    int64_t longest = 0;
    for (int64_t i = 0; i < obj_len(x); i++) {
        size_t len;
        ddb_str_at(x, i, &len);
        longest = (int64_t)len > longest ? (int64_t)len : longest;
    }
    return cnt > 0 && longest + 1 > MAX_GENERATED_BYTES / cnt;
}

/* ---- per-thread PRNG (xoshiro256**, seeded from the kernel) ---- */

static _Thread_local uint64_t rng_s[4];
static _Thread_local int rng_ready;

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(void)
{
    if (!rng_ready) {
        if (getrandom(rng_s, sizeof rng_s, 0) != sizeof rng_s)
            rng_s[0] = (uint64_t)(uintptr_t)&rng_s, rng_s[1] = 0x9E3779B97F4A7C15ULL;
        rng_s[2] |= 1;
        rng_ready = 1;
    }
    uint64_t r = rotl(rng_s[1] * 5, 7) * 9, t = rng_s[1] << 17;
    rng_s[2] ^= rng_s[0];
    rng_s[3] ^= rng_s[1];
    rng_s[1] ^= rng_s[2];
    rng_s[0] ^= rng_s[3];
    rng_s[2] ^= t;
    rng_s[3] = rotl(rng_s[3], 45);
    return r;
}

static double rng_unit(void) { return (double)(rng_next() >> 11) * 0x1.0p-53; }

/* n doubles in [0, lim): the same generator with its state kept in registers. */
static void rng_fill_doubles(double *d, int64_t n, double lim)
{
    rng_next();                 /* seeds on first use */
    uint64_t s0 = rng_s[0], s1 = rng_s[1], s2 = rng_s[2], s3 = rng_s[3];
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = rotl(s1 * 5, 7) * 9, t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = rotl(s3, 45);
        d[i] = (double)(r >> 11) * 0x1.0p-53 * lim;
    }
    rng_s[0] = s0, rng_s[1] = s1, rng_s[2] = s2, rng_s[3] = s3;
}

/* ---- helpers ---- */

static int scalar_int_arg(eval_ctx *ctx, const ddb_obj *o, const char *fn, const char *what,
                          int64_t *v)
{
    int isnull;
    if (o->form != DDB_SCALAR || !type_is_integer(o->type) || ((*v = cell_i64(o, 0, &isnull)), isnull))
        return ctx_error(ctx, "The %s of %s must be a non-null integer scalar", what, fn);
    return 0;
}

/* ---- the functions ---- */

static int bi_echo(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    *out = ddb_obj_ref(a[0]);
    return 0;
}

static int type_string(const ddb_obj *o, char *buf, size_t len)
{
    const char *t = ddb_type_name(o->type);
    switch (o->form) {
    case DDB_SCALAR: return snprintf(buf, len, "%s", t);
    case DDB_VECTOR:
        return snprintf(buf, len, "%s%s VECTOR",
                        ddb_type_class_of(o->type) == DDB_CLASS_FIXED ? "FAST " : "", t);
    case DDB_PAIR: return snprintf(buf, len, "%s PAIR", t);
    case DDB_MATRIX: return snprintf(buf, len, "FAST %s MATRIX", t);
    case DDB_SET: return snprintf(buf, len, "%s SET", o->keys ? ddb_type_name(o->keys->type) : t);
    case DDB_DICTIONARY:
        return snprintf(buf, len, "%s->%s DICTIONARY", o->keys ? ddb_type_name(o->keys->type) : "?", t);
    case DDB_TABLE: return snprintf(buf, len, "IN-MEMORY TABLE");
    default: return snprintf(buf, len, "%s %s", t, ddb_form_name(o->form));
    }
}

static int bi_typestr(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    char buf[128];
    type_string(a[0], buf, sizeof buf);
    *out = ddb_string_new(DDB_STRING, buf, strlen(buf));
    return *out ? 0 : ctx_oom(ctx);
}

static int bi_size(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    const ddb_obj *o = a[0];
    int64_t sz = o->form == DDB_SCALAR ? 1
                 : o->form == DDB_SET || o->form == DDB_DICTIONARY ? (o->keys ? o->keys->rows : 0)
                 : o->form == DDB_MATRIX ? o->rows * o->cols
                 : o->rows;
    *out = ddb_int_new(DDB_INT, sz);
    return *out ? 0 : ctx_oom(ctx);
}

static int bi_sum(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    const ddb_obj *o = a[0];
    if ((o->form != DDB_SCALAR && !obj_is_vectorlike(o) && o->form != DDB_MATRIX) ||
        !type_is_numeric(o->type))
        return ctx_error(ctx, "The argument of sum must be numeric");
    int64_t cnt = o->form == DDB_MATRIX ? o->rows * o->cols : obj_len(o);
    int64_t nonnull = 0, isum = 0;
    double dsum = 0;
    int floating = type_is_floating(o->type);
    for (int64_t i = 0; i < cnt; i++) {
        int isnull;
        if (floating) {
            double d = cell_f64(o, i, &isnull);
            if (!isnull)
                dsum += d, nonnull++;
        } else {
            int64_t v = cell_i64(o, i, &isnull);
            if (!isnull)
                isum = (int64_t)((uint64_t)isum + (uint64_t)v), nonnull++;
        }
    }
    /* integers add up in 64 bits and come back as LONG: sum(1..100000) would
     * overflow an INT */
    int rt = floating ? DDB_DOUBLE : DDB_LONG;
    ddb_obj *r = ddb_scalar_new(rt);
    if (!r)
        return ctx_oom(ctx);
    if (!nonnull)
        cell_put_null(r, 0);
    else if (floating)
        cell_put_f64(r, 0, dsum);
    else
        cell_put_i64(r, 0, isum);
    *out = r;
    return 0;
}

static int by_op(eval_ctx *ctx, int op, ddb_obj **a, ddb_obj **out)
{
    return op_binary(ctx, op, a[0], a[1], out);
}
static int bi_add(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o) { return by_op(c, OP_ADD, a, o); }
static int bi_sub(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o) { return by_op(c, OP_SUB, a, o); }
static int bi_mul(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o) { return by_op(c, OP_MUL, a, o); }
static int bi_div(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o) { return by_op(c, OP_DIV, a, o); }
static int bi_mod(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o) { return by_op(c, OP_MOD, a, o); }

/* take(x, n): n copies of a scalar, or a vector repeated cyclically to n elements. */
static int bi_take(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    int64_t cnt;
    if (scalar_int_arg(ctx, a[1], "take", "second argument", &cnt))
        return -1;
    if (cnt < 0 || cnt > MAX_GENERATED)
        return ctx_error(ctx, "The count of take must be between 0 and %lld", MAX_GENERATED);
    const ddb_obj *x = a[0];
    if (x->form != DDB_SCALAR && !obj_is_vectorlike(x))
        return ctx_error(ctx, "The first argument of take must be a scalar or a vector");
    int64_t src = obj_len(x);
    if (src == 0 && cnt > 0)
        return ctx_error(ctx, "Can't take from an empty vector");
    ddb_type_class cls = obj_class(x);
    ddb_obj *r;
    if (cls == DDB_CLASS_VARLEN && varlen_too_big(x, cnt))
        return ctx_error(ctx, "The result of take would exceed %lld bytes", MAX_GENERATED_BYTES);
    if (x->form == DDB_SCALAR && x->type == DDB_SYMBOL) {
        size_t len;
        const char *s = ddb_str_at(x, 0, &len);
        r = ddb_vector_new(DDB_SYMBOL, 0);
        for (int64_t i = 0; r && i < cnt; i++)
            if (ddb_symbol_append(r, s, len)) {
                ddb_obj_unref(r);
                r = NULL;
            }
    } else if (cls == DDB_CLASS_FIXED || cls == DDB_CLASS_SYMBOL) {
        r = ddb_vector_new(x->type, cnt);
        if (!r)
            return ctx_oom(ctx);
        int w = ddb_type_width(x->type);
        for (int64_t i = 0; i < cnt; i++)
            memcpy((char *)r->data + i * w, (const char *)x->data + (i % src) * w, (size_t)w);
        r->scale = x->scale;
        if (cls == DDB_CLASS_SYMBOL) {
            ddb_symbase_ref(x->symbase);
            ddb_symbase_unref(r->symbase);
            r->symbase = x->symbase;
        }
    } else if (cls == DDB_CLASS_VARLEN) {
        r = ddb_vector_new(x->type, 0);
        for (int64_t i = 0; r && i < cnt; i++) {
            size_t len;
            const char *s = ddb_str_at(x, i % src, &len);
            if (ddb_varlen_append(r, s, len)) {
                ddb_obj_unref(r);
                r = NULL;
            }
        }
    } else if (cls == DDB_CLASS_ANY) {
        r = ddb_vector_new(DDB_ANY, cnt);
        for (int64_t i = 0; r && i < cnt; i++) {
            ddb_obj_unref(r->items[i]);
            r->items[i] = ddb_obj_ref(x->form == DDB_SCALAR ? (ddb_obj *)x : x->items[i % src]);
        }
    } else
        r = ddb_vector_new(DDB_VOID, cnt);
    if (!r)
        return ctx_oom(ctx);
    *out = r;
    return 0;
}

/* rand(x, count): x an integer -> ints in [0, x); a float -> doubles in [0, x);
 * a vector -> random elements of it. */
static int bi_rand(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    int64_t cnt = 1;
    if (n == 2 && scalar_int_arg(ctx, a[1], "rand", "count", &cnt))
        return -1;
    if (cnt < 0 || cnt > MAX_GENERATED)
        return ctx_error(ctx, "The count of rand must be between 0 and %lld", MAX_GENERATED);
    const ddb_obj *x = a[0];
    ddb_obj *r = NULL;
    int isnull;
    if (x->form == DDB_SCALAR && type_is_integer(x->type)) {
        int64_t lim = cell_i64(x, 0, &isnull);
        if (isnull || lim <= 0)
            return ctx_error(ctx, "The first argument of rand must be positive");
        int t = x->type == DDB_LONG ? DDB_LONG : DDB_INT;
        r = n == 2 ? ddb_vector_new(t, cnt) : ddb_scalar_new(t);
        for (int64_t i = 0; r && i < cnt; i++)
            cell_put_i64(r, i, (int64_t)(rng_next() % (uint64_t)lim));
    } else if (x->form == DDB_SCALAR && type_is_floating(x->type)) {
        double lim = cell_f64(x, 0, &isnull);
        if (isnull || !(lim > 0))
            return ctx_error(ctx, "The first argument of rand must be positive");
        r = n == 2 ? ddb_vector_new(x->type, cnt) : ddb_scalar_new(x->type);
        if (r && x->type == DDB_DOUBLE)       /* the common big case: straight into the array */
            rng_fill_doubles(r->data, cnt, lim);
        for (int64_t i = 0; r && x->type != DDB_DOUBLE && i < cnt; i++)
            cell_put_f64(r, i, rng_unit() * lim);
    } else if (obj_is_vectorlike(x) && x->rows > 0) {
        ddb_type_class cls = obj_class(x);
        if (cls == DDB_CLASS_FIXED || cls == DDB_CLASS_SYMBOL) {
            r = ddb_vector_new(x->type, cnt);
            int w = ddb_type_width(x->type);
            for (int64_t i = 0; r && i < cnt; i++)
                memcpy((char *)r->data + i * w,
                       (const char *)x->data + (int64_t)(rng_next() % (uint64_t)x->rows) * w, (size_t)w);
            if (r && cls == DDB_CLASS_SYMBOL) {
                ddb_symbase_ref(x->symbase);
                ddb_symbase_unref(r->symbase);
                r->symbase = x->symbase;
            }
        } else if (cls == DDB_CLASS_VARLEN) {
            if (varlen_too_big(x, cnt))
                return ctx_error(ctx, "The result of rand would exceed %lld bytes", MAX_GENERATED_BYTES);
            r = ddb_vector_new(x->type, 0);
            for (int64_t i = 0; r && i < cnt; i++) {
                size_t len;
                const char *s = ddb_str_at(x, (int64_t)(rng_next() % (uint64_t)x->rows), &len);
                if (ddb_varlen_append(r, s, len)) {
                    ddb_obj_unref(r);
                    r = NULL;
                }
            }
        } else
            return ctx_error(ctx, "rand doesn't support a vector of %s", ddb_type_name(x->type));
        if (r && n == 1) {          /* rand(vector) alone picks one element */
            ddb_obj *e = obj_element(r, 0);
            ddb_obj_unref(r);
            r = e;
        }
    } else
        return ctx_error(ctx, "The first argument of rand must be a positive number or a vector");
    if (!r)
        return ctx_oom(ctx);
    *out = r;
    return 0;
}

static int bi_sleep(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    int isnull;
    if (a[0]->form != DDB_SCALAR || !type_is_numeric(a[0]->type))
        return ctx_error(ctx, "The argument of sleep must be a number of milliseconds");
    double ms = cell_f64(a[0], 0, &isnull);
    if (isnull || ms < 0)
        return ctx_error(ctx, "The argument of sleep must be a non-negative number");
    return ctx_sleep(ctx, ms > 1e12 ? (int64_t)1e12 : (int64_t)ms);
}

static int bi_print(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    for (int i = 0; i < n; i++)
        if (ctx_print(ctx, a[i]))
            return -1;
    return 0;
}

static int bi_version(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    *out = ddb_string_new(DDB_STRING, MINI_VERSION, strlen(MINI_VERSION));
    return *out ? 0 : ctx_oom(ctx);
}

static int bi_true(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    *out = ddb_int_new(DDB_BOOL, 1);
    return *out ? 0 : ctx_oom(ctx);
}

static int bi_isnull(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    const ddb_obj *x = a[0];
    if (x->form != DDB_SCALAR && !obj_is_vectorlike(x))
        return ctx_error(ctx, "isNull expects a scalar or a vector");
    int64_t cnt = obj_len(x);
    ddb_obj *r = x->form == DDB_SCALAR ? ddb_scalar_new(DDB_BOOL) : ddb_vector_new(DDB_BOOL, cnt);
    if (!r)
        return ctx_oom(ctx);
    for (int64_t i = 0; i < cnt; i++)
        cell_put_i64(r, i, x->type == DDB_VOID || ddb_is_null(x, i));
    *out = r;
    return 0;
}

const builtin builtins_core[] = {
    {"echo", 1, 1, BI_QUICK, bi_echo},
    {"typestr", 1, 1, BI_QUICK, bi_typestr},
    {"size", 1, 1, BI_QUICK, bi_size},
    {"sum", 1, 1, BI_QUICK, bi_sum},
    {"add", 2, 2, BI_QUICK, bi_add},
    {"sub", 2, 2, BI_QUICK, bi_sub},
    {"mul", 2, 2, BI_QUICK, bi_mul},
    {"div", 2, 2, BI_QUICK, bi_div},
    {"mod", 2, 2, BI_QUICK, bi_mod},
    {"take", 2, 2, 0, bi_take},
    {"rand", 1, 2, 0, bi_rand},
    {"sleep", 1, 1, 0, bi_sleep},
    {"print", 1, 16, 0, bi_print},
    {"version", 0, 0, BI_NO_LOGIN | BI_QUICK, bi_version},
    {"isNodeInitialized", 0, 0, BI_NO_LOGIN | BI_QUICK, bi_true},
    {"isNull", 1, 1, BI_QUICK, bi_isnull},
    {NULL, 0, 0, 0, NULL}};
