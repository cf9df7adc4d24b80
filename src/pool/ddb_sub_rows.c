/* ddb_sub_rows.c — the rows of pushed stream messages as one table (ddb_sub.h).
 *
 * A data message is an ANY vector of columns without names; the schema message gave
 * the names and types. A delivery (one message, or a batch of several) becomes one
 * table with the schema's names: a single message's columns are shared by reference,
 * several are copied into fresh columns of the schema's types. A single-row tuple
 * (ANY vector of scalars, an array-vector cell as a plain vector) is copied the same
 * way, so every delivery has ordinary typed columns. */
#include "ddb_sub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Column c of a message body (see ddb_stream_kind). */
static const ddb_obj *column_of(const ddb_obj *body, int64_t c)
{
    if (body->form == DDB_TABLE)
        return c < body->cols ? body->columns[c] : NULL;
    return c < body->rows ? body->items[c] : NULL;
}

/* Rows one piece adds to an array-vector column: an array vector's rows, or one row
 * (the tuple form's plain vector). Values likewise. */
static int64_t piece_rows(const ddb_obj *src, int is_array)
{
    if (is_array && src->type < DDB_ARRAY_BASE) return 1;
    return src->form == DDB_SCALAR ? 1 : src->rows;
}

static int append_fixed(ddb_obj *dst, int64_t *at, const ddb_obj *src)
{
    int w = ddb_type_width(dst->type);
    int64_t n = piece_rows(src, 0);
    if (n) memcpy((char *)dst->data + *at * w, src->data, (size_t)(n * w));
    *at += n;
    return 0;
}

static int append_text(ddb_obj *dst, const ddb_obj *src)
{
    int64_t n = piece_rows(src, 0);
    for (int64_t i = 0; i < n; i++) {
        size_t len;
        const char *s = ddb_str_at(src, i, &len);
        if (!s || ddb_varlen_append(dst, s, len) < 0) return -1;
    }
    return 0;
}

static int append_any(ddb_obj *dst, int64_t *at, const ddb_obj *src)
{
    int64_t n = piece_rows(src, 0);
    for (int64_t i = 0; i < n; i++) {
        ddb_obj_unref(dst->items[*at]);
        dst->items[(*at)++] = ddb_obj_ref(src->form == DDB_SCALAR ? (ddb_obj *)src
                                                                  : src->items[i]);
    }
    return 0;
}

/* Array vectors: the flat values are copied, the row offsets shifted. */
static ddb_obj *concat_array(int type, int32_t scale, const ddb_obj **src, int n)
{
    int base = type - DDB_ARRAY_BASE, w = ddb_type_width(base);
    int64_t rows = 0, values = 0;
    for (int i = 0; i < n; i++) {
        rows += piece_rows(src[i], 1);
        values += src[i]->type < DDB_ARRAY_BASE ? src[i]->rows : src[i]->values->rows;
    }
    ddb_obj *v = ddb_array_vector_new(base, rows, values);
    if (!v) return NULL;
    v->values->scale = scale;
    int64_t r = 0, at = 0;
    for (int i = 0; i < n; i++) {
        const ddb_obj *s = src[i];
        int plain = s->type < DDB_ARRAY_BASE;
        const ddb_obj *vals = plain ? s : s->values;
        int64_t k = piece_rows(s, 1);
        for (int64_t j = 0; j < k; j++)
            v->row_offs[r + j + 1] = at + (plain ? vals->rows : s->row_offs[j + 1]);
        if (vals->rows)
            memcpy((char *)v->values->data + at * w, vals->data, (size_t)(vals->rows * w));
        at += vals->rows;
        r += k;
    }
    return v;
}

/* One column of the schema's type made of the pieces' columns, in order. */
static ddb_obj *concat_column(const ddb_obj *like, const ddb_obj **src, int n,
                              char *err, size_t errlen)
{
    int type = like->type;
    ddb_type_class cls = ddb_type_class_of(type);
    for (int i = 0; i < n; i++) {
        int t = src[i]->type;
        int ok = t == type || (cls == DDB_CLASS_ARRAY && t == type - DDB_ARRAY_BASE) ||
                 (type == DDB_SYMBOL && t == DDB_STRING) || cls == DDB_CLASS_ANY;
        if (!ok) {
            snprintf(err, errlen, "a message's column has type %s, the schema says %s",
                     ddb_type_name(t), ddb_type_name(type));
            return NULL;
        }
    }
    if (cls == DDB_CLASS_ARRAY) return concat_array(type, like->values ? like->values->scale : 0, src, n);
    int64_t rows = 0;
    for (int i = 0; i < n; i++) rows += piece_rows(src[i], 0);
    int text = cls == DDB_CLASS_VARLEN || cls == DDB_CLASS_SYMBOL;
    ddb_obj *v = ddb_vector_new(type, text ? 0 : rows);
    if (!v) return NULL;
    v->scale = like->scale;
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        int rc = cls == DDB_CLASS_FIXED ? append_fixed(v, &at, src[i])
               : text ? append_text(v, src[i])
               : cls == DDB_CLASS_ANY ? append_any(v, &at, src[i]) : -1;
        if (rc < 0) {
            ddb_obj_unref(v);
            snprintf(err, errlen, "cannot build a column of type %s", ddb_type_name(type));
            return NULL;
        }
    }
    return v;
}

static int set_name(ddb_obj *t, int64_t c, const char *name)
{
    char *copy = strdup(name ? name : "");
    if (!copy) return -1;
    free(t->col_names[c]);
    t->col_names[c] = copy;
    return 0;
}

ddb_obj *ddb_sub_table(const ddb_obj *schema, ddb_obj *const *bodies, int n, int64_t rows,
                       char *err, size_t errlen)
{
    err[0] = 0;
    int64_t cols = schema->cols;
    ddb_obj *t = ddb_table_new(rows, cols);
    const ddb_obj **src = calloc((size_t)n + 1, sizeof *src);
    if (!t || !src) goto oom;
    int share = n == 1;     /* one message: its columns as they are, when typed so */
    for (int64_t c = 0; c < cols; c++) {
        if (set_name(t, c, schema->col_names[c]) < 0) goto oom;
        for (int i = 0; i < n; i++) {
            src[i] = column_of(bodies[i], c);
            if (!src[i]) {
                snprintf(err, errlen, "a message has fewer columns than the schema");
                goto fail;
            }
        }
        int tuple_cell = src[0]->form == DDB_SCALAR ||
                         (src[0]->type < DDB_ARRAY_BASE && schema->columns[c]->type >= DDB_ARRAY_BASE);
        t->columns[c] = share && !tuple_cell && src[0]->type == schema->columns[c]->type
                            ? ddb_obj_ref((ddb_obj *)src[0])
                            : concat_column(schema->columns[c], src, n, err, errlen);
        if (!t->columns[c]) {
            if (!err[0]) snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    free(src);
    return t;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    free(src);
    ddb_obj_unref(t);
    return NULL;
}
