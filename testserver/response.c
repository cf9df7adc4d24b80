/* response.c — turning a result object into response bytes.
 *
 * Big results must stream: a fixed-width column is not copied into an encode
 * buffer but written straight from its cell array (the segment keeps a reference to
 * the column). Everything else goes through the shared encoder (ddb_encode). With
 * fetchSize a table becomes an ANY-vector header plus tables of at most fetchSize
 * rows (docs/PROTOCOL.md §1.8); with the compress flag tables are encoded compressed. */
#include "server.h"
#include "values.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void response_init(response *resp)
{
    memset(resp, 0, sizeof *resp);
    ddb_buf_init(&resp->head);
}

void response_free(response *resp)
{
    for (int i = 0; i < resp->nsegs; i++) {
        free(resp->segs[i].owned);
        ddb_obj_unref(resp->segs[i].keep);
    }
    free(resp->segs);
    ddb_buf_free(&resp->head);
    memset(resp, 0, sizeof *resp);
}

size_t response_total(const response *resp)
{
    size_t n = resp->head.len;
    for (int i = 0; i < resp->nsegs; i++)
        n += resp->segs[i].len;
    return n;
}

static segment *new_segment(response *resp)
{
    if (resp->nsegs == resp->cap) {
        int cap = resp->cap ? resp->cap * 2 : 16;
        segment *s = realloc(resp->segs, (size_t)cap * sizeof *s);
        if (!s)
            return NULL;
        resp->segs = s;
        resp->cap = cap;
    }
    segment *s = &resp->segs[resp->nsegs++];
    memset(s, 0, sizeof *s);
    return s;
}

int response_add_owned(response *resp, ddb_buf *b)
{
    if (b->oom) {
        ddb_buf_free(b);
        return -1;
    }
    if (b->len == 0) {
        ddb_buf_free(b);
        return 0;
    }
    segment *s = new_segment(resp);
    if (!s) {
        ddb_buf_free(b);
        return -1;
    }
    s->owned = b->p;
    s->p = b->p;
    s->len = b->len;
    ddb_buf_init(b);
    return 0;
}

static int add_borrowed(response *resp, const ddb_obj *keep, const void *p, size_t len)
{
    if (len == 0)
        return 0;
    segment *s = new_segment(resp);
    if (!s)
        return -1;
    s->keep = ddb_obj_ref((ddb_obj *)keep);
    s->p = p;
    s->len = len;
    return 0;
}

/* A vector whose cells can go to the wire as they sit in memory. */
static int streamable_vector(const ddb_obj *o)
{
    return (o->form == DDB_VECTOR || o->form == DDB_PAIR) &&
           ddb_type_class_of(o->type) == DDB_CLASS_FIXED && o->type < DDB_ARRAY_BASE &&
           o->rows <= INT32_MAX;
}

/* Header + rows [r0, r1) of a fixed-width vector, cells borrowed. */
static int add_vector_rows(response *resp, const ddb_obj *v, int form, int64_t r0, int64_t r1)
{
    ddb_buf h;
    ddb_buf_init(&h);
    ddb_buf_u8(&h, v->type);
    ddb_buf_u8(&h, (uint8_t)form);
    ddb_buf_i32(&h, (int32_t)(r1 - r0));
    ddb_buf_i32(&h, 1);
    if (ddb_is_decimal(v->type))
        ddb_buf_i32(&h, v->scale);
    int w = ddb_type_width(v->type);
    if (response_add_owned(resp, &h))
        return -1;
    if (r1 == r0)
        return 0;               /* an empty vector has no cell array at all */
    return add_borrowed(resp, v, (const char *)v->data + r0 * w, (size_t)((r1 - r0) * w));
}

static int encode_owned(response *resp, ddb_encoder *enc, const ddb_obj *o, char *err, size_t errlen)
{
    /* this path copies: a tuple repeating one big vector would be copied as often
     * as it repeats (found by fuzz_ddbmini_script) */
    int64_t size = obj_expanded_bytes(o, MAX_GENERATED_BYTES);
    if (size < 0 || size > MAX_GENERATED_BYTES) {
        if (size < 0)
            snprintf(err, errlen, "The result is nested deeper than %d levels", MAX_OBJECT_DEPTH);
        else
            snprintf(err, errlen, "The result would take more than %lld bytes to serialize",
                     (long long)MAX_GENERATED_BYTES);
        return -1;
    }
    ddb_buf b;
    ddb_buf_init(&b);
    if (ddb_encode(enc, &b, o, err, errlen)) {
        ddb_buf_free(&b);
        return -1;
    }
    if (response_add_owned(resp, &b)) {
        snprintf(err, errlen, "Out of memory");
        return -1;
    }
    return 0;
}

static int all_columns_streamable(const ddb_obj *t)
{
    for (int64_t c = 0; c < t->cols; c++)
        if (!streamable_vector(t->columns[c]))
            return 0;
    return 1;
}

/* Table rows [r0, r1) with every column fixed-width: headers owned, cells borrowed. */
static int add_table_rows(response *resp, const ddb_obj *t, int64_t r0, int64_t r1)
{
    ddb_buf h;
    ddb_buf_init(&h);
    ddb_buf_u8(&h, 0);
    ddb_buf_u8(&h, DDB_TABLE);
    ddb_buf_i32(&h, (int32_t)(r1 - r0));
    ddb_buf_i32(&h, (int32_t)t->cols);
    ddb_buf_put(&h, t->name ? t->name : "", strlen(t->name ? t->name : "") + 1);
    for (int64_t c = 0; c < t->cols; c++)
        ddb_buf_put(&h, t->col_names[c], strlen(t->col_names[c]) + 1);
    if (response_add_owned(resp, &h))
        return -1;
    for (int64_t c = 0; c < t->cols; c++)
        if (add_vector_rows(resp, t->columns[c], DDB_VECTOR, r0, r1))
            return -1;
    return 0;
}

/* A new table holding rows [r0, r1) (columns sliced). */
static ddb_obj *table_slice(const ddb_obj *t, int64_t r0, int64_t r1)
{
    ddb_obj *s = ddb_table_new(r1 - r0, t->cols);
    for (int64_t c = 0; s && c < t->cols; c++) {
        free(s->col_names[c]);
        s->col_names[c] = strdup(t->col_names[c]);
        s->columns[c] = vec_slice(t->columns[c], r0, r1);
        if (!s->col_names[c] || !s->columns[c]) {
            ddb_obj_unref(s);
            s = NULL;
        }
    }
    return s;
}

static int add_blocks(response *resp, ddb_encoder *enc, const ddb_obj *t, int64_t fetch,
                      char *err, size_t errlen)
{
    int64_t blocks = t->rows ? (t->rows + fetch - 1) / fetch : 1;
    ddb_buf h;
    ddb_buf_init(&h);
    ddb_buf_u8(&h, DDB_ANY);
    ddb_buf_u8(&h, DDB_VECTOR);
    ddb_buf_i32(&h, (int32_t)blocks);
    ddb_buf_i32(&h, 1);
    if (response_add_owned(resp, &h))
        goto oom;
    int direct = all_columns_streamable(t) && !enc->compress_tables;
    for (int64_t b = 0; b < blocks; b++) {
        int64_t r0 = b * fetch, r1 = r0 + fetch < t->rows ? r0 + fetch : t->rows;
        if (direct) {
            if (add_table_rows(resp, t, r0, r1))
                goto oom;
            continue;
        }
        ddb_obj *slice = table_slice(t, r0, r1);
        if (!slice)
            goto oom;
        int rc = encode_owned(resp, enc, slice, err, errlen);
        ddb_obj_unref(slice);
        if (rc)
            return -1;
    }
    return 0;
oom:
    snprintf(err, errlen, "Out of memory");
    return -1;
}

int response_small_scalar(const ddb_obj *o, int64_t fetch_size)
{
    return fetch_size == 0 && o->form == DDB_SCALAR && ddb_type_class_of(o->type) == DDB_CLASS_FIXED &&
           !ddb_is_decimal(o->type) && o->data;
}

/* The encoder's bytes for such a scalar (cells are little-endian in memory, as the
 * borrowed vector cells above assume). */
void response_put_scalar(ddb_buf *b, const ddb_obj *o)
{
    ddb_buf_u8(b, o->type);
    ddb_buf_u8(b, DDB_SCALAR);
    ddb_buf_put(b, o->data, (size_t)ddb_type_width(o->type));
}

int response_add_object(response *resp, const ddb_obj *o, int64_t fetch_size, int compress,
                        char *err, size_t errlen)
{
    ddb_encoder enc;
    ddb_encoder_init(&enc);
    if (compress) {
        pthread_mutex_lock(&g_mini.lock);
        enc.compress_tables = g_mini.compress_method;
        pthread_mutex_unlock(&g_mini.lock);
    }
    if ((o->form == DDB_TABLE && o->rows > INT32_MAX) ||
        ((o->form == DDB_VECTOR || o->form == DDB_PAIR) && o->rows > INT32_MAX)) {
        snprintf(err, errlen, "The result has too many rows to serialize");
        return -1;
    }
    if (fetch_size > 0) {
        if (o->form != DDB_TABLE) {
            snprintf(err, errlen, "fetchSize is only supported when the result is a table");
            return -1;
        }
        return add_blocks(resp, &enc, o, fetch_size, err, errlen);
    }
    int rc;
    if (streamable_vector(o))
        rc = add_vector_rows(resp, o, o->form, 0, o->rows);
    else if (o->form == DDB_TABLE && !compress && all_columns_streamable(o))
        rc = add_table_rows(resp, o, 0, o->rows);
    else
        return encode_owned(resp, &enc, o, err, errlen);
    if (rc)
        snprintf(err, errlen, "Out of memory");
    return rc;
}
