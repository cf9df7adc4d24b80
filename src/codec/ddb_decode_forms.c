/* ddb_decode_forms.c — the decoder's container forms: ANY vectors, array vectors,
 * matrices, sets, dictionaries, tables, chunks and the gathering of compressed
 * payloads (state machine steps driven by ddb_decode.c). */
#include "ddb_decode_internal.h"

#include <stdlib.h>

/* ---------------------------------------------------------------- ANY vectors */

/* Next element of an ANY vector (or ANY matrix): a complete object of its own. */
int ddb__step_any_item(ddb_decoder *d, frame *f)
{
    if (f->i == f->n) {
        f->obj->rows = f->n;
        f->st = f->after;
        return GO;
    }
    f->st = ST_ANY_GOT;
    return ddb__dec_push(d);
}

int ddb__step_any_got(ddb_decoder *d, frame *f)
{
    ddb_obj *o = f->obj, *child = d->child;
    d->child = NULL;
    int64_t old = o->cap_rows;
    if (ddb__dec_grow(d, (void **)&o->items, &o->cap_rows, f->i + 1, sizeof *o->items) != GO) {
        ddb_obj_unref(child);
        return FAIL;
    }
    memset(o->items + old, 0, (size_t)(o->cap_rows - old) * sizeof *o->items);
    o->items[f->i++] = child;
    f->st = ST_ANY_ITEM;
    return GO;
}

/* ---------------------------------------------------------------- array vectors */

int ddb__step_arr_block(ddb_decoder *d, frame *f)
{
    ddb_obj *o = f->obj;
    if (f->rows_done == 0 && !o->row_offs) {
        if (ddb__dec_grow(d, (void **)&o->row_offs, &o->cap_rows, 1, 8) != GO) return FAIL;
        o->row_offs[0] = 0;
    }
    if (f->rows_done == f->rows) {
        o->rows = f->rows;
        f->st = ST_DONE;
        return GO;
    }
    const uint8_t *p = ddb__dec_take(d, 4);
    if (!p) return WAIT;
    f->blk_rows = (uint16_t)ddb__dec_rd16(d, p);
    f->count_bytes = p[2];
    if (f->count_bytes != 1 && f->count_bytes != 2 && f->count_bytes != 4)
        return ddb__dec_fail(d, d->mark, "array vector block countBytes %d (must be 1, 2 or 4)",
                             f->count_bytes);
    if (f->blk_rows == 0 || f->blk_rows > f->rows - f->rows_done)
        return ddb__dec_fail(d, d->mark, "array vector block of %lld rows (%lld rows left)",
                             (long long)f->blk_rows, (long long)(f->rows - f->rows_done));
    if (ddb__dec_grow(d, (void **)&f->tmp, &f->tmp_cap, f->blk_rows * f->count_bytes, 1) != GO)
        return FAIL;
    f->dst = f->tmp;
    f->left = f->blk_rows * f->count_bytes;
    f->data_at = d->pos;
    f->st = ST_ARR_COUNTS;
    return GO;
}

static uint32_t count_at(const ddb_decoder *d, const uint8_t *p, int width)
{
    if (width == 1) return p[0];
    if (width == 2) return (uint16_t)ddb__dec_rd16(d, p);
    return (uint32_t)ddb__dec_rd32(d, p);
}

int ddb__step_arr_counts(ddb_decoder *d, frame *f)
{
    int r = ddb__dec_bulk(d, f);
    if (r != GO) return r;
    ddb_obj *o = f->obj, *v = o->values;
    if (ddb__dec_grow(d, (void **)&o->row_offs, &o->cap_rows, f->rows_done + f->blk_rows + 1,
                      8) != GO)
        return FAIL;
    int64_t total = o->row_offs[f->rows_done];
    for (int64_t r = 0; r < f->blk_rows; r++) {
        total += count_at(d, f->tmp + r * f->count_bytes, f->count_bytes);
        o->row_offs[f->rows_done + r + 1] = total;
    }
    int w = ddb_type_width(v->type);
    int64_t first = v->rows;
    if (total - first > (d->lim.max_object_bytes - d->charged) / w)
        return ddb__dec_fail(d, f->data_at, "array vector of %lld values exceeds max_object_bytes (%lld)",
                             (long long)total, (long long)d->lim.max_object_bytes);
    /* Reserve the budget geometrically (as ddb__dec_grow would) but allocate only as
     * the values arrive: counts alone may declare billions of values. */
    int64_t limit = v->cap_rows;
    if (total > limit) {
        limit = limit > total / 2 ? limit * 2 : total;
        int64_t budget = (d->lim.max_object_bytes - d->charged) / w;
        if (limit - v->cap_rows > budget) limit = v->cap_rows + budget;
        d->charged += (limit - v->cap_rows) * w;
    }
    ddb__dec_bulk_into(d, f, &v->data, first * w, (total - first) * w, v->cap_rows * w,
                       limit * w);
    f->n = total;                     /* values expected once this block is in */
    f->st = ST_ARR_VALUES;
    return GO;
}

int ddb__step_arr_values(ddb_decoder *d, frame *f)
{
    int r = ddb__dec_bulk(d, f);
    if (r != GO) return r;
    ddb_obj *v = f->obj->values;
    int w = ddb_type_width(v->type);
    ddb__dec_uncharge(d, f->arr_limit - f->arr_cap);   /* reserved but not allocated */
    v->cap_rows = f->arr_cap / w;
    if (d->swap && f->n > v->rows)
        ddb__swap_cells((uint8_t *)v->data + v->rows * w, f->n - v->rows, w,
                        ddb__swap_halves(v->type));
    v->rows = f->n;
    f->rows_done += f->blk_rows;
    f->st = ST_ARR_BLOCK;
    return GO;
}

/* ---------------------------------------------------------------- matrix */

static int take_child_vector(ddb_decoder *d, frame *f, ddb_obj **slot, const char *what)
{
    ddb_obj *c = d->child;
    d->child = NULL;
    *slot = c;
    if (c->form != DDB_VECTOR)
        return ddb__dec_fail(d, d->pos, "%s must be a VECTOR, got a %s", what,
                             ddb_form_name(c->form));
    return GO;
}

int ddb__step_mat_flags(ddb_decoder *d, frame *f)
{
    const uint8_t *p = ddb__dec_take(d, 1);
    if (!p) return WAIT;
    f->mat_flags = p[0];
    if (f->mat_flags & ~3u)
        return ddb__dec_fail(d, d->mark, "invalid matrix label flags 0x%02x", f->mat_flags);
    if (f->mat_flags & 1) { f->st = ST_MAT_ROWLBL; return ddb__dec_push(d); }
    f->st = ST_MAT_COLLBL;
    return GO;
}

int ddb__step_mat_labels(ddb_decoder *d, frame *f)
{
    if (f->st == ST_MAT_ROWLBL) {
        if (take_child_vector(d, f, &f->child_a, "matrix row labels") != GO) return FAIL;
        f->st = ST_MAT_COLLBL;
        return GO;
    }
    if (f->st == ST_MAT_COLGOT) {
        if (take_child_vector(d, f, &f->child_b, "matrix column labels") != GO) return FAIL;
        f->st = ST_MAT_HDR2;
        return GO;
    }
    if (f->mat_flags & 2) { f->st = ST_MAT_COLGOT; return ddb__dec_push(d); }
    f->st = ST_MAT_HDR2;
    return GO;
}

int ddb__step_mat_hdr2(ddb_decoder *d, frame *f)
{
    const uint8_t *p = ddb__dec_take(d, 2);
    if (!p) return WAIT;
    int t = d->le ? p[0] : p[1];
    if (t != f->wtype)
        return ddb__dec_fail(d, d->mark, "matrix data header has type %d, outer header %d",
                             t, f->wtype);
    f->st = ST_MAT_DIMS;
    return GO;
}

int ddb__step_mat_dims(ddb_decoder *d, frame *f)
{
    /* Back here after a DECIMAL matrix's scale (see below): the cells follow. The
     * scale step alone would begin them with ST_DONE and skip ST_MAT_CHECK, which
     * sets the column count. */
    if (f->obj) return ddb__dec_cells_begin(d, f, ST_MAT_CHECK);
    const uint8_t *p = ddb__dec_take(d, 8);
    if (!p) return WAIT;
    int32_t rows = ddb__dec_rd32(d, p), cols = ddb__dec_rd32(d, p + 4);
    if (rows < 0 || cols < 0)
        return ddb__dec_fail(d, d->mark, "negative MATRIX dimensions %d x %d", rows, cols);
    if (f->child_a && f->child_a->rows != rows)
        return ddb__dec_fail(d, d->mark, "matrix has %d rows but %lld row labels", rows,
                             (long long)f->child_a->rows);
    if (f->child_b && f->child_b->rows != cols)
        return ddb__dec_fail(d, d->mark, "matrix has %d columns but %lld column labels", cols,
                             (long long)f->child_b->rows);
    if (ddb__dec_new_obj(d, f, DDB_MATRIX, f->wtype) != GO) return FAIL;
    ddb_obj *o = f->obj;
    o->row_labels = f->child_a;
    o->col_labels = f->child_b;
    f->child_a = f->child_b = NULL;
    f->rows = rows;
    f->cols = cols;
    f->n = (int64_t)rows * cols;
    f->blob_len = -1;
    if (ddb_is_decimal(f->wtype)) {     /* rows, cols, scale, cells (docs/PROTOCOL.md §4.11) */
        f->st = ST_SCALE;
        f->after = ST_MAT_DIMS;
        return GO;
    }
    return ddb__dec_cells_begin(d, f, ST_MAT_CHECK);
}

/* ---------------------------------------------------------------- set, dictionary */

int ddb__step_set_got(ddb_decoder *d, frame *f)
{
    ddb_obj *keys;
    if (take_child_vector(d, f, &f->child_a, "set keys") != GO) return FAIL;
    keys = f->child_a;
    if (ddb__dec_new_obj(d, f, DDB_SET, keys->type) != GO) return FAIL;
    f->obj->keys = keys;
    f->obj->rows = keys->rows;
    f->child_a = NULL;
    f->st = ST_DONE;
    return GO;
}

int ddb__step_dict(ddb_decoder *d, frame *f)
{
    if (f->st == ST_DICT_KEYS) {
        if (take_child_vector(d, f, &f->child_a, "dictionary keys") != GO) return FAIL;
        f->st = ST_DICT_VALUES;
        return ddb__dec_push(d);
    }
    if (take_child_vector(d, f, &f->child_b, "dictionary values") != GO) return FAIL;
    if (f->child_a->rows != f->child_b->rows)
        return ddb__dec_fail(d, f->start, "dictionary has %lld keys but %lld values",
                             (long long)f->child_a->rows, (long long)f->child_b->rows);
    if (ddb__dec_new_obj(d, f, f->form, f->child_b->type) != GO) return FAIL;
    f->obj->keys = f->child_a;
    f->obj->values = f->child_b;
    f->obj->rows = f->child_a->rows;
    f->child_a = f->child_b = NULL;
    f->st = ST_DONE;
    return GO;
}

/* ---------------------------------------------------------------- table */

int ddb__step_table_dims(ddb_decoder *d, frame *f)
{
    const uint8_t *p = ddb__dec_take(d, 8);
    if (!p) return WAIT;
    int32_t rows = ddb__dec_rd32(d, p), cols = ddb__dec_rd32(d, p + 4);
    if (rows < 0 || cols < 0)
        return ddb__dec_fail(d, d->mark, "negative TABLE dimensions %d rows x %d columns",
                             rows, cols);
    if (ddb__dec_new_obj(d, f, DDB_TABLE, DDB_VOID) != GO) return FAIL;
    f->obj->rows = rows;
    f->obj->cols = 0;               /* slots filled so far; the declared count is f->cols */
    f->rows = rows;
    f->cols = cols;
    f->i = 0;
    f->st = ST_TABLE_NAME;
    return GO;
}

static char *dup_charged(ddb_decoder *d, const char *s, int64_t len)
{
    if (ddb__dec_charge(d, len + 1, d->mark) != GO) return NULL;
    char *c = malloc((size_t)len + 1);
    if (!c) { ddb__dec_fail(d, d->mark, "out of memory"); return NULL; }
    memcpy(c, s, (size_t)len);
    c[len] = 0;
    return c;
}

int ddb__step_table_names(ddb_decoder *d, frame *f)
{
    ddb_obj *o = f->obj;
    const char *s;
    int64_t len;
    if (f->st == ST_TABLE_NAME) {
        int r = ddb__dec_read_str(d, &s, &len);
        if (r != GO) return r;
        if (!(o->name = dup_charged(d, s, len))) return FAIL;
        f->st = ST_TABLE_COLNAME;
    }
    while (f->i < f->cols) {
        int r = ddb__dec_read_str(d, &s, &len);
        if (r != GO) return r;
        if (ddb__dec_grow(d, (void **)&o->col_names, &f->cap_a, f->i + 1, sizeof(char *)) != GO ||
            ddb__dec_grow(d, (void **)&o->columns, &f->cap_b, f->i + 1, sizeof(ddb_obj *)) != GO)
            return FAIL;
        o->columns[f->i] = NULL;
        o->col_names[f->i] = dup_charged(d, s, len);
        o->cols = ++f->i;
        if (!o->col_names[f->i - 1]) return FAIL;
    }
    f->i = 0;
    f->st = ST_TABLE_COL;
    return GO;
}

int ddb__step_table_col(ddb_decoder *d, frame *f)
{
    ddb_obj *o = f->obj;
    if (f->st == ST_TABLE_GOT) {
        ddb_obj *c = d->child;
        d->child = NULL;
        o->columns[f->i] = c;
        if (c->form != DDB_VECTOR)
            return ddb__dec_fail(d, d->pos, "table column %lld ('%s') is a %s, not a VECTOR",
                                 (long long)f->i, o->col_names[f->i], ddb_form_name(c->form));
        if (c->rows != f->rows)
            return ddb__dec_fail(d, d->pos, "table column %lld ('%s') has %lld rows, expected %lld",
                                 (long long)f->i, o->col_names[f->i], (long long)c->rows,
                                 (long long)f->rows);
        f->i++;
    }
    if (f->i == f->cols) { f->st = ST_DONE; return GO; }
    f->st = ST_TABLE_GOT;
    return ddb__dec_push(d);
}

/* ---------------------------------------------------------------- chunk, compressed */

int ddb__step_chunk(ddb_decoder *d, frame *f)
{
    if (f->st == ST_CHUNK_SIZE) {
        const uint8_t *p = ddb__dec_take(d, 2);
        if (!p) return WAIT;
        int16_t size = ddb__dec_rd16(d, p);
        if (size < 0) return ddb__dec_fail(d, d->mark, "negative CHUNK size %d", size);
        if (ddb__dec_new_obj(d, f, DDB_CHUNK, f->wtype) != GO) return FAIL;
        if (ddb__dec_charge(d, size + 1, d->mark) != GO) return FAIL;
        if (!(f->obj->bytes = malloc((size_t)size + 1)))
            return ddb__dec_fail(d, d->mark, "out of memory");
        f->obj->nbytes = size;
        f->obj->bytes[size] = 0;
        f->dst = (uint8_t *)f->obj->bytes;
        f->left = size;
        f->st = ST_CHUNK_BODY;
    }
    int r = ddb__dec_bulk(d, f);
    if (r != GO) return r;
    f->st = ST_DONE;
    return GO;
}

int ddb__step_comp(ddb_decoder *d, frame *f)
{
    if (f->st == ST_COMP_HDR) {
        if (f->rows < 20)
            return ddb__dec_fail(d, f->start + 2,
                                 "compressed vector byteSize %lld is smaller than its 20-byte header",
                                 (long long)f->rows);
        const uint8_t *p = ddb__dec_take(d, 20);
        if (!p) return WAIT;
        memcpy(f->comp, p, 20);
        f->tmp_len = 0;
        f->left = f->rows - 20;
        f->data_at = d->pos;
        f->st = ST_COMP_BODY;
    }
    if (f->tmp_len == 0 && (int64_t)d->avail >= f->left) {
        /* The whole payload is in this feed: inflate it in place, no copy. */
        f->pay = d->in;
        f->pay_len = f->left;
        int rc = ddb__dec_compressed(d, f);
        d->in += f->left; d->avail -= (size_t)f->left; d->pos += f->left;
        f->left = 0;
        if (rc < 0) return FAIL;
        f->st = ST_DONE;
        return GO;
    }
    /* The payload grows only as its bytes arrive (byteSize is unchecked input). */
    while (f->left > 0) {
        if (d->avail == 0) return WAIT;
        int64_t k = f->left < (int64_t)d->avail ? f->left : (int64_t)d->avail;
        if (ddb__dec_grow(d, (void **)&f->tmp, &f->tmp_cap, f->tmp_len + k, 1) != GO)
            return FAIL;
        memcpy(f->tmp + f->tmp_len, d->in, (size_t)k);
        f->tmp_len += k; f->left -= k;
        d->in += k; d->avail -= (size_t)k; d->pos += k;
    }
    f->pay = f->tmp;
    f->pay_len = f->tmp_len;
    if (ddb__dec_compressed(d, f) < 0) return FAIL;
    ddb__dec_uncharge(d, f->tmp_cap);
    free(f->tmp);
    f->tmp = NULL;
    f->tmp_cap = f->tmp_len = 0;
    f->st = ST_DONE;
    return GO;
}

