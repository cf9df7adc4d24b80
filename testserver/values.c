/* values.c — typed cell access over the shared object model (see values.h). */
#include "values.h"

#include <string.h>

int type_is_integer(int t) { return t >= DDB_BOOL && t <= DDB_LONG; }
int type_is_floating(int t) { return t == DDB_FLOAT || t == DDB_DOUBLE; }
int type_is_numeric(int t) { return type_is_integer(t) || type_is_floating(t); }
int type_is_text(int t) { return t == DDB_STRING || t == DDB_SYMBOL; }
int type_is_temporal(int t)
{
    return (t >= DDB_DATE && t <= DDB_NANOTIMESTAMP) || t == DDB_DATEHOUR || t == DDB_DATEMINUTE;
}
int type_is_int64(int t)
{
    return t == DDB_LONG || t == DDB_TIMESTAMP || t == DDB_NANOTIME || t == DDB_NANOTIMESTAMP;
}

ddb_type_class obj_class(const ddb_obj *o)
{
    if (o->type == DDB_SYMBOL && !o->symbase)
        return DDB_CLASS_VARLEN;
    return ddb_type_class_of(o->type);
}

int64_t obj_len(const ddb_obj *o)
{
    if (o->form == DDB_SCALAR)
        return 1;
    if (o->form == DDB_VECTOR || o->form == DDB_PAIR)
        return o->rows;
    return 0;
}

int obj_is_vectorlike(const ddb_obj *o) { return o->form == DDB_VECTOR || o->form == DDB_PAIR; }

int obj_is_void(const ddb_obj *o) { return o->type == DDB_VOID && o->form == DDB_SCALAR; }

int64_t cell_i64(const ddb_obj *o, int64_t i, int *isnull)
{
    int64_t v;
    /* Only fixed-width cells are numbers: a SYMBOL scalar is a string (no `data`) even
     * though SYMBOL has a 4-byte width as a symbol-vector index. */
    int width = ddb_type_class_of(o->type) == DDB_CLASS_FIXED && o->data
                ? ddb_type_width(o->type) : 0;
    switch (width) {
    case 1: {
        int8_t x = ((const int8_t *)o->data)[i];
        *isnull = x == DDB_NULL_I8;
        v = x;
        break;
    }
    case 2: {
        int16_t x = ((const int16_t *)o->data)[i];
        *isnull = x == DDB_NULL_I16;
        v = x;
        break;
    }
    case 4: {
        int32_t x = ((const int32_t *)o->data)[i];
        *isnull = x == DDB_NULL_I32;
        v = x;
        break;
    }
    case 8: {
        int64_t x = ((const int64_t *)o->data)[i];
        *isnull = x == DDB_NULL_I64;
        v = x;
        break;
    }
    default:
        *isnull = 1;
        v = 0;
    }
    return v;
}

double cell_f64(const ddb_obj *o, int64_t i, int *isnull)
{
    if (o->type == DDB_DOUBLE) {
        double x = ((const double *)o->data)[i];
        *isnull = x == DDB_NULL_F64;
        return x;
    }
    if (o->type == DDB_FLOAT) {
        float x = ((const float *)o->data)[i];
        *isnull = x == DDB_NULL_F32;
        return x;
    }
    if (o->type == DDB_VOID) {
        *isnull = 1;
        return 0;
    }
    return (double)cell_i64(o, i, isnull);
}

void cell_put_i64(ddb_obj *o, int64_t i, int64_t v)
{
    switch (ddb_type_width(o->type)) {
    case 1: ((int8_t *)o->data)[i] = (int8_t)v; break;
    case 2: ((int16_t *)o->data)[i] = (int16_t)v; break;
    case 4: ((int32_t *)o->data)[i] = (int32_t)v; break;
    case 8: ((int64_t *)o->data)[i] = v; break;
    }
}

void cell_put_f64(ddb_obj *o, int64_t i, double v)
{
    if (o->type == DDB_DOUBLE)
        ((double *)o->data)[i] = v;
    else
        ((float *)o->data)[i] = (float)v;
}

void cell_put_null(ddb_obj *o, int64_t i)
{
    if (o->type == DDB_DOUBLE)
        ((double *)o->data)[i] = DDB_NULL_F64;
    else if (o->type == DDB_FLOAT)
        ((float *)o->data)[i] = DDB_NULL_F32;
    else if (ddb_type_class_of(o->type) == DDB_CLASS_FIXED) {
        int w = ddb_type_width(o->type);
        if (w == 1 || w == 2 || w == 4 || w == 8)
            cell_put_i64(o, i, w == 1 ? DDB_NULL_I8 : w == 2 ? DDB_NULL_I16 : w == 4 ? DDB_NULL_I32 : DDB_NULL_I64);
        else
            memset((char *)o->data + i * w, 0, (size_t)w);
    }
}

ddb_obj *obj_element(const ddb_obj *o, int64_t i)
{
    switch (obj_class(o)) {
    case DDB_CLASS_ANY:
        return ddb_obj_ref(o->items[i]);
    case DDB_CLASS_VOID:
        return ddb_void_new(1);
    case DDB_CLASS_VARLEN:
    case DDB_CLASS_SYMBOL: {
        size_t n;
        const char *s = ddb_str_at(o, i, &n);
        return ddb_string_new(o->type, s, n);
    }
    case DDB_CLASS_FIXED: {
        ddb_obj *r = ddb_scalar_new(o->type);
        if (!r)
            return NULL;
        int w = ddb_type_width(o->type);
        memcpy(r->data, (const char *)o->data + i * w, (size_t)w);
        r->scale = o->scale;
        return r;
    }
    default:
        return NULL;
    }
}

int vec_append_scalar(ddb_obj *vec, const ddb_obj *s)
{
    switch (ddb_type_class_of(vec->type)) {
    case DDB_CLASS_SYMBOL:
    case DDB_CLASS_VARLEN: {
        size_t n;
        const char *str = ddb_str_at(s, 0, &n);
        return vec->type == DDB_SYMBOL && vec->symbase ? ddb_symbol_append(vec, str, n)
                                                       : ddb_varlen_append(vec, str, n);
    }
    case DDB_CLASS_FIXED:
        return ddb_fixed_append(vec, s->data);
    default:
        return -1;
    }
}

ddb_obj *vec_slice(const ddb_obj *v, int64_t r0, int64_t r1)
{
    int64_t n = r1 - r0;
    ddb_type_class cls = obj_class(v);
    if (cls == DDB_CLASS_FIXED || cls == DDB_CLASS_SYMBOL) {
        ddb_obj *r = ddb_vector_new(v->type, n);
        if (!r)
            return NULL;
        int w = ddb_type_width(v->type);
        if (n)
            memcpy(r->data, (const char *)v->data + r0 * w, (size_t)(n * w));
        r->scale = v->scale;
        if (cls == DDB_CLASS_SYMBOL) {
            ddb_symbase_ref(v->symbase);
            ddb_symbase_unref(r->symbase);
            r->symbase = v->symbase;
        }
        return r;
    }
    if (cls == DDB_CLASS_VARLEN) {
        ddb_obj *r = ddb_vector_new(v->type, 0);
        for (int64_t i = r0; r && i < r1; i++) {
            size_t len;
            const char *s = ddb_str_at(v, i, &len);
            if (ddb_varlen_append(r, s, len)) {
                ddb_obj_unref(r);
                r = NULL;
            }
        }
        return r;
    }
    if (cls == DDB_CLASS_ANY) {
        ddb_obj *r = ddb_vector_new(DDB_ANY, n);
        for (int64_t i = 0; r && i < n; i++) {
            ddb_obj_unref(r->items[i]);
            r->items[i] = ddb_obj_ref(v->items[r0 + i]);
        }
        return r;
    }
    if (cls == DDB_CLASS_VOID)
        return ddb_vector_new(DDB_VOID, n);
    return NULL;
}

const char *obj_text(const ddb_obj *o, char buf[2])
{
    if (o->form != DDB_SCALAR)
        return NULL;
    if (type_is_text(o->type))
        return ddb_str_at(o, 0, NULL);
    if (o->type == DDB_CHAR) {
        buf[0] = *(const char *)o->data;
        buf[1] = 0;
        return buf;
    }
    return NULL;
}

int obj_truth(const ddb_obj *o)
{
    if (o->form != DDB_SCALAR)
        return -2;
    if (obj_is_void(o))
        return -1;
    int isnull;
    if (type_is_numeric(o->type)) {
        double d = cell_f64(o, 0, &isnull);
        return isnull ? -1 : d != 0;
    }
    return -2;
}

/* acc + b, saturating at cap + 1 (the caller only asks "more than cap?"). */
static int64_t add_capped(int64_t acc, int64_t b, int64_t cap)
{
    return b > cap - acc ? cap + 1 : acc + b;
}

/* Bytes of o's own cells (not its children): scalars, vectors, pairs, matrices. */
static int64_t own_cell_bytes(const ddb_obj *o, int64_t cap)
{
    if (o->form != DDB_SCALAR && o->form != DDB_VECTOR && o->form != DDB_PAIR &&
        o->form != DDB_MATRIX)
        return 0;
    int64_t rows = o->rows > 0 ? o->rows : 0, cols = o->cols > 0 ? o->cols : 1, cells;
    if (__builtin_mul_overflow(rows, cols, &cells))
        return cap + 1;
    switch (obj_class(o)) {
    case DDB_CLASS_FIXED: {
        int64_t bytes;
        return __builtin_mul_overflow(cells, (int64_t)ddb_type_width(o->type), &bytes) ? cap + 1 : bytes;
    }
    case DDB_CLASS_VARLEN:
        return o->nbytes;
    case DDB_CLASS_SYMBOL:
        return add_capped(cells * 4 > cap ? cap + 1 : cells * 4,
                          o->symbase && o->symbase->offs ? o->symbase->offs[o->symbase->n] : 0, cap);
    default:
        return cells;           /* ANY/array headers; their contents are children */
    }
}

/* Adds child's expanded bytes to acc; -1 (too deep) wins over any size. */
static int64_t add_child(int64_t acc, const ddb_obj *child, int64_t cap, int depth);

static int64_t expanded(const ddb_obj *o, int64_t cap, int depth)
{
    if (!o)
        return 0;
    if (depth > MAX_OBJECT_DEPTH)
        return -1;
    int64_t acc = add_capped(16, own_cell_bytes(o, cap), cap);      /* 16: a header */
    if (o->items && obj_class(o) == DDB_CLASS_ANY)
        for (int64_t i = 0; i < o->rows && acc >= 0 && acc <= cap; i++)
            acc = add_child(acc, o->items[i], cap, depth);
    const ddb_obj *kids[] = {o->values, o->keys, o->row_labels, o->col_labels};
    for (size_t k = 0; k < sizeof kids / sizeof *kids && acc >= 0 && acc <= cap; k++)
        acc = add_child(acc, kids[k], cap, depth);
    for (int64_t c = 0; o->columns && c < o->cols && acc >= 0 && acc <= cap; c++)
        acc = add_child(acc, o->columns[c], cap, depth);
    return acc;
}

static int64_t add_child(int64_t acc, const ddb_obj *child, int64_t cap, int depth)
{
    int64_t b = expanded(child, cap - acc, depth + 1);
    return b < 0 ? -1 : add_capped(acc, b, cap);
}

int64_t obj_expanded_bytes(const ddb_obj *o, int64_t cap) { return expanded(o, cap, 1); }
