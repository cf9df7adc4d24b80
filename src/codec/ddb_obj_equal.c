/* ddb_obj_equal.c — deep value equality. Dictionaries and sets compare as maps and
 * sets (their order on the wire is a hash-table order); SYMBOL and STRING compare by
 * text; fixed cells compare bit for bit (so NaN equals the same NaN). */
#include "ddb_codec_internal.h"

#include <stdlib.h>

static bool is_text(int type)
{
    return type == DDB_SYMBOL || type == DDB_STRING;
}

static bool same_type(const ddb_obj *a, const ddb_obj *b)
{
    if (a->type == b->type) return true;
    return is_text(a->type) && is_text(b->type);
}

/* Element i of a equals element j of b; a and b have the same_type. */
static bool elem_equal(const ddb_obj *a, int64_t i, const ddb_obj *b, int64_t j)
{
    switch (ddb_type_class_of(a->type)) {
    case DDB_CLASS_VOID:
        return true;
    case DDB_CLASS_FIXED: {
        int w = ddb_type_width(a->type);
        return memcmp((const char *)a->data + i * w, (const char *)b->data + j * w,
                      (size_t)w) == 0;
    }
    case DDB_CLASS_SYMBOL: case DDB_CLASS_VARLEN: {
        size_t la, lb;
        const char *sa = ddb_str_at(a, i, &la), *sb = ddb_str_at(b, j, &lb);
        if (!sa || !sb) return sa == sb;
        return la == lb && memcmp(sa, sb, la) == 0;
    }
    case DDB_CLASS_ANY:
        return ddb_obj_equal(a->items[i], b->items[j]);
    case DDB_CLASS_ARRAY: {
        int64_t na = a->row_offs[i + 1] - a->row_offs[i];
        int64_t nb = b->row_offs[j + 1] - b->row_offs[j];
        if (na != nb) return false;
        for (int64_t k = 0; k < na; k++)
            if (!elem_equal(a->values, a->row_offs[i] + k, b->values, b->row_offs[j] + k))
                return false;
        return true;
    }
    default:
        return false;
    }
}

/* Hash of an element consistent with elem_equal (ANY elements all hash alike, so
 * lookups among them degrade to a scan, which is still correct). */
static uint32_t elem_hash(const ddb_obj *v, int64_t i)
{
    const uint8_t *p = NULL;
    size_t len = 0;
    switch (ddb_type_class_of(v->type)) {
    case DDB_CLASS_FIXED:
        len = (size_t)ddb_type_width(v->type);
        p = (const uint8_t *)v->data + i * (int64_t)len;
        break;
    case DDB_CLASS_SYMBOL: case DDB_CLASS_VARLEN:
        p = (const uint8_t *)ddb_str_at(v, i, &len);
        break;
    case DDB_CLASS_ANY: {          /* scalar items hash by their cell, others alike */
        const ddb_obj *it = v->items[i];
        if (!it || it->form != DDB_SCALAR || it->type == DDB_ANY) return 0;
        return elem_hash(it, 0) ^ it->type;
    }
    default:
        return 0;
    }
    uint32_t h = 2166136261u;
    for (size_t k = 0; p && k < len; k++) h = (h ^ p[k]) * 16777619u;
    return h;
}

/* For each key of a: the index of the equal key in b, or -1. Fills map[a->rows].
 * Returns -1 on allocation failure. */
static int match_keys(const ddb_obj *a, const ddb_obj *b, int64_t *map)
{
    int64_t n = b->rows, cap = 16;
    while (cap < n * 2) cap *= 2;
    int64_t *slot = malloc((size_t)cap * sizeof *slot);
    if (!slot) return -1;
    for (int64_t k = 0; k < cap; k++) slot[k] = -1;
    for (int64_t j = 0; j < n; j++) {
        int64_t h = elem_hash(b, j) & (cap - 1);
        while (slot[h] >= 0) h = (h + 1) & (cap - 1);
        slot[h] = j;
    }
    for (int64_t i = 0; i < a->rows; i++) {
        map[i] = -1;
        for (int64_t h = elem_hash(a, i) & (cap - 1); slot[h] >= 0; h = (h + 1) & (cap - 1))
            if (elem_equal(a, i, b, slot[h])) { map[i] = slot[h]; break; }
    }
    free(slot);
    return 0;
}

static bool vector_equal(const ddb_obj *a, const ddb_obj *b)
{
    if (!same_type(a, b) || a->rows != b->rows || a->scale != b->scale) return false;
    if (a->form == DDB_MATRIX &&
        (a->cols != b->cols || !ddb_obj_equal(a->row_labels, b->row_labels) ||
         !ddb_obj_equal(a->col_labels, b->col_labels)))
        return false;
    if (a->type == DDB_VOID)        /* no cells: a VOID vector is all NULLs */
        return a->form != DDB_SCALAR || a->void_kind == b->void_kind;
    if (a->type == DDB_FUNCTIONDEF && a->fkind != b->fkind) return false;
    int64_t n = ddb__cell_count(a);
    for (int64_t i = 0; i < n; i++)
        if (!elem_equal(a, i, b, i)) return false;
    return true;
}

/* Sets and dictionaries: same size and every key of a is in b (keys are distinct),
 * with an equal value for dictionaries. */
static bool keyed_equal(const ddb_obj *a, const ddb_obj *b)
{
    const ddb_obj *ka = a->keys, *kb = b->keys;
    if (!ka || !kb) return ka == kb;
    if (ka->rows != kb->rows || !same_type(ka, kb)) return false;
    const ddb_obj *va = a->values, *vb = b->values;
    if (a->form != DDB_SET) {
        if (!va || !vb || !same_type(va, vb) || va->scale != vb->scale) return false;
        if (va->rows != ka->rows || vb->rows != kb->rows) return false;
    }
    if (ka->type == DDB_VOID && kb->type == DDB_VOID)     /* every key is NULL */
        return a->form == DDB_SET || ddb_obj_equal(va, vb);
    /* Same order (the common case, and the only sound answer when keys repeat). */
    bool in_order = true;
    for (int64_t i = 0; in_order && i < ka->rows; i++)
        in_order = elem_equal(ka, i, kb, i) && (a->form == DDB_SET || elem_equal(va, i, vb, i));
    if (in_order) return true;
    int64_t *map = malloc(((size_t)ka->rows + 1) * sizeof *map);
    if (!map || match_keys(ka, kb, map) < 0) { free(map); return false; }
    bool eq = true;
    for (int64_t i = 0; eq && i < ka->rows; i++) {
        if (map[i] < 0) eq = false;
        else if (a->form != DDB_SET && !elem_equal(va, i, vb, map[i])) eq = false;
    }
    free(map);
    return eq;
}

static bool table_equal(const ddb_obj *a, const ddb_obj *b)
{
    if (a->rows != b->rows || a->cols != b->cols) return false;
    if (strcmp(a->name ? a->name : "", b->name ? b->name : "") != 0) return false;
    for (int64_t c = 0; c < a->cols; c++) {
        if (strcmp(a->col_names[c] ? a->col_names[c] : "",
                   b->col_names[c] ? b->col_names[c] : "") != 0)
            return false;
        if (!ddb_obj_equal(a->columns[c], b->columns[c])) return false;
    }
    return true;
}

static bool array_vector_equal(const ddb_obj *a, const ddb_obj *b)
{
    if (a->type != b->type || a->rows != b->rows || a->scale != b->scale) return false;
    for (int64_t i = 0; i < a->rows; i++)
        if (!elem_equal(a, i, b, i)) return false;
    return true;
}

int ddb_obj_equal(const ddb_obj *a, const ddb_obj *b)
{
    if (!a || !b) return a == b;
    if (a == b) return 1;
    if (a->form != b->form) return 0;
    switch (a->form) {
    case DDB_SCALAR: case DDB_VECTOR: case DDB_PAIR: case DDB_MATRIX:
        if (ddb_type_class_of(a->type) == DDB_CLASS_ARRAY) return array_vector_equal(a, b);
        return vector_equal(a, b);
    case DDB_SET: case DDB_DICTIONARY: case DDB_CHART:
        return keyed_equal(a, b);
    case DDB_TABLE:
        return table_equal(a, b);
    case DDB_CHUNK:
        return a->type == b->type && a->nbytes == b->nbytes &&
               (a->nbytes == 0 || memcmp(a->bytes, b->bytes, (size_t)a->nbytes) == 0);
    default:
        return 0;
    }
}
