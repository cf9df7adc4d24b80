/* ddb_obj.c — the object model: type facts, lifetimes, constructors, appenders,
 * accessors (see ddb_obj.h for the storage rules). */
#include "ddb_codec_internal.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- type facts */

static const char *const type_names[44] = {
    "VOID", "BOOL", "CHAR", "SHORT", "INT", "LONG", "DATE", "MONTH", "TIME", "MINUTE",
    "SECOND", "DATETIME", "TIMESTAMP", "NANOTIME", "NANOTIMESTAMP", "FLOAT", "DOUBLE",
    "SYMBOL", "STRING", "UUID", "FUNCTIONDEF", "HANDLE", "CODE", "DATASOURCE",
    "RESOURCE", "ANY", "COMPRESS", "DICTIONARY", "DATEHOUR", "DATEMINUTE", "IPADDR",
    "INT128", "BLOB", "DECIMAL", "COMPLEX", "POINT", "DURATION", "DECIMAL32",
    "DECIMAL64", "DECIMAL128", "OBJECT", "IOTANY", "INSTRUMENT", "MKTDATA"
};

/* Names of array-vector types (64 + base) for the fixed-width bases. */
static const char *const array_names[40] = {
    [DDB_BOOL] = "BOOL[]", [DDB_CHAR] = "CHAR[]", [DDB_SHORT] = "SHORT[]",
    [DDB_INT] = "INT[]", [DDB_LONG] = "LONG[]", [DDB_DATE] = "DATE[]",
    [DDB_MONTH] = "MONTH[]", [DDB_TIME] = "TIME[]", [DDB_MINUTE] = "MINUTE[]",
    [DDB_SECOND] = "SECOND[]", [DDB_DATETIME] = "DATETIME[]",
    [DDB_TIMESTAMP] = "TIMESTAMP[]", [DDB_NANOTIME] = "NANOTIME[]",
    [DDB_NANOTIMESTAMP] = "NANOTIMESTAMP[]", [DDB_FLOAT] = "FLOAT[]",
    [DDB_DOUBLE] = "DOUBLE[]", [DDB_UUID] = "UUID[]", [DDB_DATEHOUR] = "DATEHOUR[]",
    [DDB_DATEMINUTE] = "DATEMINUTE[]", [DDB_IPADDR] = "IPADDR[]",
    [DDB_INT128] = "INT128[]", [DDB_COMPLEX] = "COMPLEX[]", [DDB_POINT] = "POINT[]",
    [DDB_DURATION] = "DURATION[]", [DDB_DECIMAL32] = "DECIMAL32[]",
    [DDB_DECIMAL64] = "DECIMAL64[]", [DDB_DECIMAL128] = "DECIMAL128[]",
};

static const char *const form_names[9] = {
    "SCALAR", "VECTOR", "PAIR", "MATRIX", "SET", "DICTIONARY", "TABLE", "CHART", "CHUNK"
};

/* Width of a fixed-width cell type, 0 if not fixed-width. */
static int fixed_width(int type)
{
    switch (type) {
    case DDB_BOOL: case DDB_CHAR: return 1;
    case DDB_SHORT: return 2;
    case DDB_INT: case DDB_DATE: case DDB_MONTH: case DDB_TIME: case DDB_MINUTE:
    case DDB_SECOND: case DDB_DATETIME: case DDB_FLOAT: case DDB_DATEHOUR:
    case DDB_DATEMINUTE: case DDB_DECIMAL32: return 4;
    case DDB_LONG: case DDB_TIMESTAMP: case DDB_NANOTIME: case DDB_NANOTIMESTAMP:
    case DDB_DOUBLE: case DDB_DURATION: case DDB_DECIMAL64: return 8;
    case DDB_UUID: case DDB_IPADDR: case DDB_INT128: case DDB_COMPLEX: case DDB_POINT:
    case DDB_DECIMAL128: return 16;
    default: return 0;
    }
}

ddb_type_class ddb_type_class_of(int type)
{
    if (type == DDB_VOID) return DDB_CLASS_VOID;
    if (fixed_width(type)) return DDB_CLASS_FIXED;
    switch (type) {
    case DDB_SYMBOL: return DDB_CLASS_SYMBOL;
    case DDB_STRING: case DDB_BLOB: case DDB_CODE: case DDB_HANDLE: case DDB_DATASOURCE:
    case DDB_RESOURCE: case DDB_FUNCTIONDEF: return DDB_CLASS_VARLEN;
    case DDB_ANY: return DDB_CLASS_ANY;
    default: break;
    }
    if (type > DDB_ARRAY_BASE && type < DDB_ARRAY_BASE + 40 &&
        fixed_width(type - DDB_ARRAY_BASE))
        return DDB_CLASS_ARRAY;
    return DDB_CLASS_INVALID;
}

int ddb_type_width(int type)
{
    if (type == DDB_SYMBOL) return 4;
    return fixed_width(type);
}

const char *ddb_type_name(int type)
{
    if (type >= 0 && type < 44) return type_names[type];
    if (type > DDB_ARRAY_BASE && type < DDB_ARRAY_BASE + 40 &&
        array_names[type - DDB_ARRAY_BASE])
        return array_names[type - DDB_ARRAY_BASE];
    return "UNKNOWN";
}

int ddb_type_from_name(const char *name)
{
    if (!name) return -1;
    for (int t = 0; t < 44; t++)
        if (strcasecmp(name, type_names[t]) == 0) return t;
    for (int t = 0; t < 40; t++)
        if (array_names[t] && strcasecmp(name, array_names[t]) == 0)
            return DDB_ARRAY_BASE + t;
    return -1;
}

const char *ddb_form_name(int form)
{
    return form >= 0 && form < 9 ? form_names[form] : "UNKNOWN";
}

int ddb_is_decimal(int type)
{
    return type == DDB_DECIMAL32 || type == DDB_DECIMAL64 || type == DDB_DECIMAL128;
}

int ddb_decimal_max_scale(int type)
{
    switch (type) {
    case DDB_DECIMAL32: return 9;
    case DDB_DECIMAL64: return 18;
    case DDB_DECIMAL128: return 38;
    default: return -1;
    }
}

int ddb__swap_halves(int type)
{
    return (type == DDB_DURATION || type == DDB_COMPLEX || type == DDB_POINT) ? 2 : 1;
}

void ddb__swap_cells(void *cells, int64_t n, int width, int halves)
{
    uint8_t *p = cells;
    int unit = width / halves;
    int64_t units = n * halves;
    for (int64_t i = 0; i < units; i++, p += unit) {
        for (int a = 0, b = unit - 1; a < b; a++, b--) {
            uint8_t t = p[a]; p[a] = p[b]; p[b] = t;
        }
    }
}

int64_t ddb__cell_count(const ddb_obj *o)
{
    if (o->form == DDB_SCALAR) return 1;
    if (o->form == DDB_MATRIX) return o->rows * o->cols;
    return o->rows;
}

int64_t ddb__grow(void **p, int64_t *cap, int64_t need, size_t size)
{
    if (need <= *cap) return 0;
    int64_t ncap = *cap < 8 ? 8 : *cap;
    while (ncap < need) {
        if (ncap > INT64_MAX / 2) return -1;
        ncap *= 2;
    }
    if ((uint64_t)ncap > SIZE_MAX / size) return -1;
    void *q = realloc(*p, (size_t)ncap * size);
    if (!q) return -1;
    int64_t added = (ncap - *cap) * (int64_t)size;
    *p = q;
    *cap = ncap;
    return added;
}

/* ---------------------------------------------------------------- lifetimes */

ddb_obj *ddb__obj_alloc(int form, int type)
{
    ddb_obj *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->refcount = 1;
    o->form = (uint8_t)form;
    o->type = (uint8_t)type;
    o->cols = 1;
    return o;
}

ddb_obj *ddb_obj_ref(ddb_obj *o)
{
    if (o) o->refcount++;
    return o;
}

/* Objects whose last reference is being dropped, waiting to be freed. Freeing
 * walks this list instead of recursing: ddbmini scripts can nest tuples (x = (x, 1)
 * in a loop) far deeper than a thread's stack, and a recursive free crashed. */
typedef struct free_list {
    ddb_obj **v;
    int64_t n, cap;
    ddb_obj *first[32];         /* no allocation for ordinary objects */
} free_list;

static void free_object(ddb_obj *o, free_list *l);

/* Drops one reference to a child; a child that reaches zero joins the list. */
static void drop_child(free_list *l, ddb_obj *c)
{
    if (!c || --c->refcount > 0) return;
    if (l->n == l->cap) {
        int64_t cap = l->cap * 2;
        ddb_obj **v = l->v == l->first ? malloc((size_t)cap * sizeof *v)
                                       : realloc(l->v, (size_t)cap * sizeof *v);
        if (!v) {               /* out of memory: free this one subtree recursively */
            free_object(c, l);
            return;
        }
        if (l->v == l->first) memcpy(v, l->first, sizeof l->first);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = c;
}

/* Frees o's own memory; its children go through drop_child. */
static void free_object(ddb_obj *o, free_list *l)
{
    free(o->data);
    free(o->offs);
    free(o->bytes);
    ddb_symbase_unref(o->symbase);
    if (o->items) {
        for (int64_t i = 0; i < o->cap_rows; i++) drop_child(l, o->items[i]);
        free(o->items);
    }
    free(o->row_offs);
    drop_child(l, o->values);
    drop_child(l, o->row_labels);
    drop_child(l, o->col_labels);
    drop_child(l, o->keys);
    free(o->name);
    if (o->form == DDB_TABLE) {
        for (int64_t i = 0; i < o->cols; i++) {
            if (o->col_names) free(o->col_names[i]);
            if (o->columns) drop_child(l, o->columns[i]);
        }
    }
    free(o->col_names);
    free(o->columns);
    free(o->col_compress);
    free(o);
}

void ddb_obj_unref(ddb_obj *o)
{
    if (!o || --o->refcount > 0) return;
    free_list l;
    l.v = l.first;
    l.n = 0;
    l.cap = (int64_t)(sizeof l.first / sizeof *l.first);
    free_object(o, &l);
    while (l.n > 0) free_object(l.v[--l.n], &l);
    if (l.v != l.first) free(l.v);
}

ddb_symbase *ddb_symbase_new(void)
{
    ddb_symbase *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->refcount = 1;
    if (ddb__symbase_push(b, "", 0) < 0) { free(b); return NULL; }
    return b;
}

void ddb_symbase_ref(ddb_symbase *b)
{
    if (b) b->refcount++;
}

void ddb_symbase_unref(ddb_symbase *b)
{
    if (!b || --b->refcount > 0) return;
    free(b->offs);
    free(b->bytes);
    free(b->index);
    free(b);
}

/* ---------------------------------------------------------------- symbol bases */

static uint32_t text_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

int ddb__symbase_push(ddb_symbase *b, const char *s, size_t len)
{
    int64_t cap_n = b->cap_n;
    if (ddb__grow((void **)&b->offs, &cap_n, (int64_t)b->n + 2, sizeof(int64_t)) < 0)
        return -1;
    b->cap_n = (int32_t)(cap_n > INT32_MAX ? INT32_MAX : cap_n);
    int64_t used = b->n ? b->offs[b->n] : 0;
    if (ddb__grow((void **)&b->bytes, &b->cap_bytes, used + (int64_t)len + 1, 1) < 0)
        return -1;
    if (b->n == 0) b->offs[0] = 0;
    memcpy(b->bytes + used, s, len);
    b->bytes[used + (int64_t)len] = 0;
    b->n++;
    b->offs[b->n] = used + (int64_t)len + 1;
    return 0;
}

static void index_insert(ddb_symbase *b, int32_t entry)
{
    const char *s = b->bytes + b->offs[entry];
    size_t len = (size_t)(b->offs[entry + 1] - b->offs[entry] - 1);
    uint32_t mask = (uint32_t)b->index_cap - 1;
    uint32_t h = text_hash(s, len) & mask;
    while (b->index[h] >= 0) h = (h + 1) & mask;
    b->index[h] = entry;
}

static int index_rebuild(ddb_symbase *b, int32_t cap)
{
    int32_t *idx = malloc((size_t)cap * sizeof *idx);
    if (!idx) return -1;
    for (int32_t i = 0; i < cap; i++) idx[i] = -1;
    free(b->index);
    b->index = idx;
    b->index_cap = cap;
    for (int32_t e = 0; e < b->n; e++) index_insert(b, e);
    return 0;
}

int32_t ddb__symbase_intern(ddb_symbase *b, const char *s, size_t len)
{
    if ((int64_t)b->n * 2 + 2 > b->index_cap) {
        int32_t cap = b->index_cap ? b->index_cap : 16;
        while (cap < b->n * 2 + 2) cap *= 2;
        if (index_rebuild(b, cap) < 0) return -1;
    }
    uint32_t mask = (uint32_t)b->index_cap - 1;
    uint32_t h = text_hash(s, len) & mask;
    for (; b->index[h] >= 0; h = (h + 1) & mask) {
        int32_t e = b->index[h];
        size_t elen = (size_t)(b->offs[e + 1] - b->offs[e] - 1);
        if (elen == len && memcmp(b->bytes + b->offs[e], s, len) == 0) return e;
    }
    if (b->n >= DDB_MAX_SYMBASE) return -1;
    if (ddb__symbase_push(b, s, len) < 0) return -1;
    b->index[h] = b->n - 1;
    return b->n - 1;
}

/* ---------------------------------------------------------------- constructors */

static int init_varlen(ddb_obj *o, int64_t n)
{
    o->offs = malloc((size_t)(n + 1) * sizeof(int64_t));
    o->bytes = calloc((size_t)n + 1, 1);
    if (!o->offs || !o->bytes) return -1;
    for (int64_t i = 0; i <= n; i++) o->offs[i] = i;
    o->nbytes = n;
    o->cap_rows = n;
    o->cap_bytes = n + 1;
    return 0;
}

/* Storage for n cells of the object's type (FIXED/SYMBOL/VARLEN/ANY). */
static int init_cells(ddb_obj *o, int64_t n)
{
    switch (ddb_type_class_of(o->type)) {
    case DDB_CLASS_FIXED:
        o->cap_rows = n;
        if (n == 0) return 0;
        o->data = ddb__big_calloc((size_t)n, (size_t)fixed_width(o->type));
        return o->data ? 0 : -1;
    case DDB_CLASS_VARLEN:
        return init_varlen(o, n);
    case DDB_CLASS_SYMBOL:
        o->symbase = ddb_symbase_new();
        if (!o->symbase) return -1;
        o->cap_rows = n;
        if (n == 0) return 0;
        o->data = ddb__big_calloc((size_t)n, 4);
        return o->data ? 0 : -1;
    case DDB_CLASS_ANY:
        o->cap_rows = n;
        if (n == 0) return 0;
        o->items = calloc((size_t)n, sizeof *o->items);
        if (!o->items) return -1;
        for (int64_t i = 0; i < n; i++)
            if (!(o->items[i] = ddb_void_new(1))) return -1;
        return 0;
    case DDB_CLASS_VOID:
        return 0;
    default:
        return -1;
    }
}

ddb_obj *ddb_vector_new(int type, int64_t n)
{
    if (n < 0) return NULL;
    if (ddb_type_class_of(type) == DDB_CLASS_ARRAY)
        return ddb_array_vector_new(type - DDB_ARRAY_BASE, n, 0);
    ddb_obj *o = ddb__obj_alloc(DDB_VECTOR, type);
    if (!o) return NULL;
    o->rows = n;
    if (init_cells(o, n) < 0) { ddb_obj_unref(o); return NULL; }
    return o;
}

ddb_obj *ddb_symbol_vector_new(int64_t n, int32_t nd, const char *const *syms, const size_t *lens)
{
    if (nd < 0 || nd >= DDB_MAX_SYMBASE) return NULL;
    ddb_obj *v = ddb_vector_new(DDB_SYMBOL, n);
    if (!v) return NULL;
    for (int32_t k = 0; k < nd; k++)      /* entry k + 1, or the symbol was "" or seen */
        if (ddb__symbase_intern(v->symbase, syms[k], lens[k]) != k + 1) {
            ddb_obj_unref(v);
            return NULL;
        }
    return v;
}

/* Write the NULL sentinel of a fixed-width type into one cell. */
static void set_null_cell(int type, void *cell)
{
    int w = fixed_width(type);
    memset(cell, 0, (size_t)w);
    switch (type) {
    case DDB_BOOL: case DDB_CHAR: *(int8_t *)cell = DDB_NULL_I8; break;
    case DDB_SHORT: { int16_t v = DDB_NULL_I16; memcpy(cell, &v, 2); break; }
    case DDB_FLOAT: { float v = DDB_NULL_F32; memcpy(cell, &v, 4); break; }
    case DDB_DOUBLE: { double v = DDB_NULL_F64; memcpy(cell, &v, 8); break; }
    case DDB_COMPLEX: case DDB_POINT: {
        double v = DDB_NULL_F64; memcpy(cell, &v, 8); memcpy((char *)cell + 8, &v, 8);
        break;
    }
    case DDB_DURATION: { int32_t v = DDB_NULL_I32; memcpy(cell, &v, 4); break; }
    case DDB_UUID: case DDB_IPADDR: case DDB_INT128: break;
    case DDB_DECIMAL128: {
        __int128 v = (__int128)((unsigned __int128)1 << 127);
        memcpy(cell, &v, 16);
        break;
    }
    default:
        if (w == 4) { int32_t v = DDB_NULL_I32; memcpy(cell, &v, 4); }
        else if (w == 8) { int64_t v = DDB_NULL_I64; memcpy(cell, &v, 8); }
    }
}

ddb_obj *ddb_scalar_new(int type)
{
    ddb_type_class c = ddb_type_class_of(type);
    if (c == DDB_CLASS_VOID) return ddb_void_new(1);
    if (c == DDB_CLASS_SYMBOL || c == DDB_CLASS_VARLEN) return ddb_string_new(type, "", 0);
    if (c != DDB_CLASS_FIXED) return NULL;
    ddb_obj *o = ddb__obj_alloc(DDB_SCALAR, type);
    if (!o) return NULL;
    o->rows = 1;
    if (init_cells(o, 1) < 0) { ddb_obj_unref(o); return NULL; }
    set_null_cell(type, o->data);
    return o;
}

ddb_obj *ddb_void_new(int void_kind)
{
    ddb_obj *o = ddb__obj_alloc(DDB_SCALAR, DDB_VOID);
    if (!o) return NULL;
    o->rows = 1;
    o->void_kind = (uint8_t)void_kind;
    return o;
}

ddb_obj *ddb_int_new(int type, int64_t v)
{
    int w = fixed_width(type);
    if (!w || type == DDB_FLOAT || type == DDB_DOUBLE) return NULL;
    ddb_obj *o = ddb__obj_alloc(DDB_SCALAR, type);
    if (!o) return NULL;
    o->rows = 1;
    if (init_cells(o, 1) < 0) { ddb_obj_unref(o); return NULL; }
    if (w == 16) {
        __int128 wide = v;        /* sign-extended, as DECIMAL128 needs */
        memcpy(o->data, &wide, 16);
    } else if (w == 8 && type == DDB_DURATION) {
        int32_t cnt = (int32_t)v;  /* count only; unit 0 */
        memcpy(o->data, &cnt, 4);
    } else if (w == 8) {
        memcpy(o->data, &v, 8);
    } else if (w == 4) {
        int32_t x = (int32_t)v; memcpy(o->data, &x, 4);
    } else if (w == 2) {
        int16_t x = (int16_t)v; memcpy(o->data, &x, 2);
    } else {
        int8_t x = (int8_t)v; memcpy(o->data, &x, 1);
    }
    return o;
}

ddb_obj *ddb_double_new(int type, double v)
{
    if (type != DDB_FLOAT && type != DDB_DOUBLE) return NULL;
    ddb_obj *o = ddb__obj_alloc(DDB_SCALAR, type);
    if (!o) return NULL;
    o->rows = 1;
    if (init_cells(o, 1) < 0) { ddb_obj_unref(o); return NULL; }
    if (type == DDB_FLOAT) { float f = (float)v; memcpy(o->data, &f, 4); }
    else memcpy(o->data, &v, 8);
    return o;
}

ddb_obj *ddb_string_new(int type, const char *s, size_t len)
{
    ddb_type_class c = ddb_type_class_of(type);
    if (c != DDB_CLASS_VARLEN && c != DDB_CLASS_SYMBOL) return NULL;
    ddb_obj *o = ddb__obj_alloc(DDB_SCALAR, type);
    if (!o) return NULL;
    o->offs = malloc(2 * sizeof(int64_t));
    o->bytes = malloc(len + 1);
    if (!o->offs || !o->bytes) { ddb_obj_unref(o); return NULL; }
    if (len) memcpy(o->bytes, s, len);
    o->bytes[len] = 0;
    o->offs[0] = 0;
    o->offs[1] = (int64_t)len + 1;
    o->nbytes = (int64_t)len + 1;
    o->rows = 1;
    o->cap_rows = 1;
    o->cap_bytes = (int64_t)len + 1;
    return o;
}

ddb_obj *ddb_matrix_new(int type, int64_t rows, int64_t cols)
{
    if (rows < 0 || cols < 0 || (rows && cols > INT64_MAX / rows)) return NULL;
    ddb_obj *o = ddb__obj_alloc(DDB_MATRIX, type);
    if (!o) return NULL;
    o->rows = rows;
    o->cols = cols;
    if (init_cells(o, rows * cols) < 0) { ddb_obj_unref(o); return NULL; }
    return o;
}

ddb_obj *ddb_array_vector_new(int base_type, int64_t rows, int64_t total_values)
{
    if (rows < 0 || total_values < 0 || ddb_type_class_of(base_type) != DDB_CLASS_FIXED)
        return NULL;
    ddb_obj *o = ddb__obj_alloc(DDB_VECTOR, DDB_ARRAY_BASE + base_type);
    if (!o) return NULL;
    o->rows = rows;
    o->row_offs = calloc((size_t)rows + 1, sizeof(int64_t));
    o->values = ddb_vector_new(base_type, total_values);
    if (!o->row_offs || !o->values) { ddb_obj_unref(o); return NULL; }
    o->cap_rows = rows;
    return o;
}

ddb_obj *ddb_table_new(int64_t rows, int64_t cols)
{
    if (rows < 0 || cols < 0) return NULL;
    ddb_obj *o = ddb__obj_alloc(DDB_TABLE, DDB_VOID);
    if (!o) return NULL;
    o->rows = rows;
    o->cols = cols;
    o->name = strdup("");
    o->col_names = calloc((size_t)cols + 1, sizeof *o->col_names);
    o->columns = calloc((size_t)cols + 1, sizeof *o->columns);
    if (!o->name || !o->col_names || !o->columns) { ddb_obj_unref(o); return NULL; }
    for (int64_t i = 0; i < cols; i++)
        if (!(o->col_names[i] = strdup(""))) { ddb_obj_unref(o); return NULL; }
    return o;
}

ddb_obj *ddb_set_new(ddb_obj *keys)
{
    if (!keys) return NULL;
    ddb_obj *o = ddb__obj_alloc(DDB_SET, keys->type);
    if (!o) { ddb_obj_unref(keys); return NULL; }
    o->keys = keys;
    o->rows = keys->rows;
    return o;
}

ddb_obj *ddb_dict_new(ddb_obj *keys, ddb_obj *values)
{
    if (!keys || !values) { ddb_obj_unref(keys); ddb_obj_unref(values); return NULL; }
    ddb_obj *o = ddb__obj_alloc(DDB_DICTIONARY, values->type);
    if (!o) { ddb_obj_unref(keys); ddb_obj_unref(values); return NULL; }
    o->keys = keys;
    o->values = values;
    o->rows = keys->rows;
    return o;
}

/* ---------------------------------------------------------------- appenders */

int ddb_varlen_append(ddb_obj *v, const char *s, size_t len)
{
    if (v->symbase && v->type == DDB_SYMBOL) return ddb_symbol_append(v, s, len);
    if (ddb_type_class_of(v->type) != DDB_CLASS_VARLEN && v->type != DDB_SYMBOL) return -1;
    int64_t cap = v->cap_rows + 1;   /* offs holds cap_rows + 1 entries */
    if (ddb__grow((void **)&v->offs, &cap, v->rows + 2, sizeof(int64_t)) < 0) return -1;
    v->cap_rows = cap - 1;
    if (ddb__grow((void **)&v->bytes, &v->cap_bytes, v->nbytes + (int64_t)len + 1, 1) < 0)
        return -1;
    if (v->rows == 0) v->offs[0] = 0;
    if (len) memcpy(v->bytes + v->nbytes, s, len);
    v->nbytes += (int64_t)len + 1;
    v->bytes[v->nbytes - 1] = 0;
    v->rows++;
    v->offs[v->rows] = v->nbytes;
    return 0;
}

int ddb_symbol_append(ddb_obj *v, const char *s, size_t len)
{
    if (v->type != DDB_SYMBOL || !v->symbase) return -1;
    int32_t e = ddb__symbase_intern(v->symbase, s, len);
    if (e < 0) return -1;
    if (ddb__grow(&v->data, &v->cap_rows, v->rows + 1, 4) < 0) return -1;
    memcpy((char *)v->data + v->rows * 4, &e, 4);
    v->rows++;
    return 0;
}

int ddb_fixed_append(ddb_obj *v, const void *cell)
{
    int w = fixed_width(v->type);
    if (!w) return -1;
    if (ddb__grow(&v->data, &v->cap_rows, v->rows + 1, (size_t)w) < 0) return -1;
    memcpy((char *)v->data + v->rows * w, cell, (size_t)w);
    v->rows++;
    return 0;
}

int ddb_fixed_append_n(ddb_obj *v, const void *cells, int64_t n)
{
    int w = fixed_width(v->type);
    if (!w || n < 0) return -1;
    if (n == 0) return 0;
    if (ddb__grow(&v->data, &v->cap_rows, v->rows + n, (size_t)w) < 0) return -1;
    memcpy((char *)v->data + v->rows * w, cells, (size_t)(n * w));
    v->rows += n;
    return 0;
}

int ddb_symbol_append_n(ddb_obj *v, const ddb_obj *src, int64_t n)
{
    if (v->type != DDB_SYMBOL || !v->symbase || src->type != DDB_SYMBOL || !src->symbase ||
        n < 0 || n > ddb__cell_count(src))
        return -1;
    if (n == 0) return 0;
    const ddb_symbase *b = src->symbase;
    int32_t *map = calloc((size_t)b->n, sizeof *map);   /* src entry -> v's entry + 1 */
    if (!map || ddb__grow(&v->data, &v->cap_rows, v->rows + n, 4) < 0) {
        free(map);
        return -1;
    }
    int32_t *out = (int32_t *)v->data + v->rows;
    for (int64_t i = 0; i < n; i++) {
        int32_t k;
        memcpy(&k, (const char *)src->data + i * 4, 4);
        if (k < 0 || k >= b->n) { free(map); return -1; }
        if (!map[k]) {
            int32_t e = ddb__symbase_intern(v->symbase, b->bytes + b->offs[k],
                                            (size_t)(b->offs[k + 1] - b->offs[k] - 1));
            if (e < 0) { free(map); return -1; }
            map[k] = e + 1;
        }
        out[i] = map[k] - 1;
    }
    free(map);
    v->rows += n;
    return 0;
}

/* ---------------------------------------------------------------- access */

bool ddb__int_cell_is_null(const void *cell, int unit)
{
    switch (unit) {
    case 1: return *(const int8_t *)cell == DDB_NULL_I8;
    case 2: { int16_t v; memcpy(&v, cell, 2); return v == DDB_NULL_I16; }
    case 4: { int32_t v; memcpy(&v, cell, 4); return v == DDB_NULL_I32; }
    case 8: { int64_t v; memcpy(&v, cell, 8); return v == DDB_NULL_I64; }
    default: return false;
    }
}

static bool fixed_cell_is_null(int type, const uint8_t *cell)
{
    static const uint8_t zero16[16];
    switch (type) {
    case DDB_FLOAT: { float f; memcpy(&f, cell, 4); return f == DDB_NULL_F32; }
    case DDB_DOUBLE: { double d; memcpy(&d, cell, 8); return d == DDB_NULL_F64; }
    case DDB_COMPLEX: case DDB_POINT: {
        double a, b;
        memcpy(&a, cell, 8); memcpy(&b, cell + 8, 8);
        return a == DDB_NULL_F64 && b == DDB_NULL_F64;
    }
    case DDB_DURATION: return ddb__int_cell_is_null(cell, 4);
    case DDB_UUID: case DDB_IPADDR: case DDB_INT128: return memcmp(cell, zero16, 16) == 0;
    case DDB_DECIMAL128: {
        uint8_t null128[16] = {0};
        null128[15] = 0x80;
        return memcmp(cell, null128, 16) == 0;
    }
    default: return ddb__int_cell_is_null(cell, fixed_width(type));
    }
}

int ddb_is_null(const ddb_obj *v, int64_t i)
{
    if (!v || i < 0 || i >= ddb__cell_count(v)) return 1;
    switch (ddb_type_class_of(v->type)) {
    case DDB_CLASS_VOID: return 1;
    case DDB_CLASS_FIXED:
        return fixed_cell_is_null(v->type,
                                  (const uint8_t *)v->data + i * fixed_width(v->type));
    case DDB_CLASS_SYMBOL: case DDB_CLASS_VARLEN: {
        size_t len = 0;
        const char *s = ddb_str_at(v, i, &len);
        return !s || len == 0;
    }
    case DDB_CLASS_ANY:
        return v->items[i] == NULL ||
               (v->items[i]->form == DDB_SCALAR && v->items[i]->type == DDB_VOID);
    default:
        return 0;
    }
}

const char *ddb_str_at(const ddb_obj *v, int64_t i, size_t *len)
{
    if (len) *len = 0;
    if (!v || i < 0 || i >= ddb__cell_count(v)) return NULL;
    if (v->symbase && v->data) {
        int32_t e;
        memcpy(&e, (const char *)v->data + i * 4, 4);
        if (e < 0 || e >= v->symbase->n) return NULL;
        const ddb_symbase *b = v->symbase;
        if (len) *len = (size_t)(b->offs[e + 1] - b->offs[e] - 1);
        return b->bytes + b->offs[e];
    }
    if (!v->offs) return NULL;
    if (len) *len = (size_t)(v->offs[i + 1] - v->offs[i] - 1);
    return v->bytes + v->offs[i];
}

int64_t ddb_int_at(const ddb_obj *v, int64_t i)
{
    if (!v || !v->data || i < 0 || i >= ddb__cell_count(v)) return 0;
    int w = fixed_width(v->type);
    const char *c = (const char *)v->data + i * w;
    switch (v->type) {
    case DDB_FLOAT: { float f; memcpy(&f, c, 4); return (int64_t)f; }
    case DDB_DOUBLE: { double d; memcpy(&d, c, 8); return (int64_t)d; }
    case DDB_DURATION: { int32_t x; memcpy(&x, c, 4); return x; }
    default: break;
    }
    switch (w) {
    case 1: return *(const int8_t *)c;
    case 2: { int16_t x; memcpy(&x, c, 2); return x; }
    case 4: { int32_t x; memcpy(&x, c, 4); return x; }
    case 8: case 16: { int64_t x; memcpy(&x, c, 8); return x; }   /* low 64 bits */
    default: return 0;
    }
}

double ddb_double_at(const ddb_obj *v, int64_t i)
{
    if (!v || !v->data || i < 0 || i >= ddb__cell_count(v)) return 0;
    const char *c = (const char *)v->data + i * fixed_width(v->type);
    double x;
    switch (v->type) {
    case DDB_FLOAT: { float f; memcpy(&f, c, 4); return f; }
    case DDB_DOUBLE: memcpy(&x, c, 8); return x;
    case DDB_DECIMAL128: { __int128 w; memcpy(&w, c, 16); x = (double)w; break; }
    default: x = (double)ddb_int_at(v, i); break;
    }
    if (ddb_is_decimal(v->type) && v->scale > 0) {
        /* one division by an exact power of ten (exact up to 1e22) rounds once */
        double p = 1;
        for (int s = 0; s < v->scale; s++) p *= 10.0;
        x /= p;
    }
    return x;
}
