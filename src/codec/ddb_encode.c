/* ddb_encode.c — object encoder, little-endian, byte-compatible with the official
 * C++ API (docs/PROTOCOL.md §4; tests/vectors/cpp-api.tsv):
 *   - SYMBOL vectors get a fresh symbol base each, "" first, then the symbols in
 *     order of first appearance; ids count up per ddb_encoder (tables count from 0);
 *   - an empty SYMBOL vector is written as type 17 with no base;
 *   - an array vector's cols field holds the total number of values.
 * Tables may be written in the compressed form (type byte 8, §4.18). */
#include "ddb_codec_internal.h"

#include <lz4.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define LZ4_BLOCK_MAX 65536

typedef struct enc {
    ddb_encoder *e;
    char *err;
    size_t errlen;
} enc;

static int fail(enc *E, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(enc *E, const char *fmt, ...)
{
    if (E->err && E->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(E->err, E->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int oom(enc *E) { return fail(E, "out of memory while encoding"); }

static int put_hdr(ddb_buf *b, int type, int form)
{
    return ddb_buf_u8(b, (uint8_t)type) | ddb_buf_u8(b, (uint8_t)form);
}

/* n cells of `type` from host order to little-endian. */
static int put_cells(ddb_buf *b, const void *cells, int64_t n, int type)
{
    int w = ddb_type_width(type);
    size_t bytes = (size_t)(n * w);
    if (ddb__host_le() || w == 1) return ddb_buf_put(b, cells, bytes);
    if (ddb_buf_reserve(b, bytes) < 0) return -1;
    memcpy(b->p + b->len, cells, bytes);
    ddb__swap_cells(b->p + b->len, n, w, ddb__swap_halves(type));
    b->len += bytes;
    return 0;
}

static int put_str(enc *E, ddb_buf *b, const char *s, size_t len)
{
    if (len > DDB_MAX_STRING_LEN)
        return fail(E, "string of %zu bytes is longer than the protocol allows (%d)", len,
                    DDB_MAX_STRING_LEN);
    if (memchr(s, 0, len)) return fail(E, "string contains a NUL byte");
    if (ddb_buf_put(b, s, len) < 0 || ddb_buf_u8(b, 0) < 0) return oom(E);
    return 0;
}

/* Element i of a VARLEN/SYMBOL object as the wire writes it. */
static int put_text_cell(enc *E, ddb_buf *b, const ddb_obj *o, int64_t i)
{
    size_t len;
    const char *s = ddb_str_at(o, i, &len);
    if (!s) { s = ""; len = 0; }
    if (o->type == DDB_BLOB) {
        if (len > INT32_MAX) return fail(E, "BLOB of %zu bytes is too long", len);
        if (ddb_buf_i32(b, (int32_t)len) < 0 || ddb_buf_put(b, s, len) < 0) return oom(E);
        return 0;
    }
    return put_str(E, b, s, len);
}

static int encode_obj(enc *E, ddb_buf *b, const ddb_obj *o, int *ids);

static int put_dims(ddb_buf *b, int64_t rows, int64_t cols)
{
    return ddb_buf_i32(b, (int32_t)rows) | ddb_buf_i32(b, (int32_t)cols);
}

static int check_dims(enc *E, int64_t rows, int64_t cols)
{
    if (rows < 0 || rows > INT32_MAX || cols < 0 || cols > INT32_MAX)
        return fail(E, "dimensions %lld x %lld do not fit the protocol's int32 fields",
                    (long long)rows, (long long)cols);
    return 0;
}

/* n cells of a plain (non-symbol-base) object, after its dims and scale. */
static int put_body_cells(enc *E, ddb_buf *b, const ddb_obj *o, int64_t n, int *ids)
{
    switch (ddb_type_class_of(o->type)) {
    case DDB_CLASS_VOID:
        return 0;
    case DDB_CLASS_FIXED:
        if (n && !o->data) return fail(E, "%s object without cells", ddb_type_name(o->type));
        return put_cells(b, o->data, n, o->type) < 0 ? oom(E) : 0;
    case DDB_CLASS_VARLEN: case DDB_CLASS_SYMBOL:
        for (int64_t i = 0; i < n; i++)
            if (put_text_cell(E, b, o, i) < 0) return -1;
        return 0;
    case DDB_CLASS_ANY:
        for (int64_t i = 0; i < n; i++) {
            const ddb_obj *it = o->items ? o->items[i] : NULL;
            if (!it) {
                if (put_hdr(b, DDB_VOID, DDB_SCALAR) < 0 || ddb_buf_u8(b, 1) < 0) return oom(E);
            } else if (encode_obj(E, b, it, ids) < 0) {
                return -1;
            }
        }
        return 0;
    default:
        return fail(E, "cannot encode cells of type %s", ddb_type_name(o->type));
    }
}

/* ---------------------------------------------------------------- symbols */

/* The C++ layout: entry 0 = "", then symbols in order of first appearance. */
static int put_symbol_vector(enc *E, ddb_buf *b, const ddb_obj *o, int *ids)
{
    int64_t n = o->rows;
    if (n == 0) {                         /* C++: type 17, no base */
        if (put_hdr(b, DDB_SYMBOL, o->form) < 0 || put_dims(b, 0, 1) < 0) return oom(E);
        return 0;
    }
    ddb_symbase *tmp = NULL;
    const int32_t *idx = o->data;
    const ddb_symbase *base = o->symbase;
    int32_t *owned_idx = NULL;
    if (!base || !o->data) {              /* strings: intern them first */
        tmp = ddb_symbase_new();
        owned_idx = malloc((size_t)n * 4);
        if (!tmp || !owned_idx) goto nomem;
        for (int64_t i = 0; i < n; i++) {
            size_t len;
            const char *s = ddb_str_at(o, i, &len);
            owned_idx[i] = ddb__symbase_intern(tmp, s ? s : "", s ? len : 0);
            if (owned_idx[i] < 0) goto nomem;
        }
        idx = owned_idx;
        base = tmp;
    }
    int32_t *remap = malloc((size_t)base->n * 4);
    int32_t *order = malloc(((size_t)base->n + 1) * 4);
    if (!remap || !order) { free(remap); free(order); goto nomem; }
    for (int32_t e = 0; e < base->n; e++) remap[e] = -1;
    int32_t newn = 1;
    order[0] = -1;
    for (int64_t i = 0; i < n; i++) {
        int32_t e = idx[i];
        if (e < 0 || e >= base->n) {
            free(remap); free(order); free(owned_idx); ddb_symbase_unref(tmp);
            return fail(E, "symbol index %d outside its base", e);
        }
        if (remap[e] >= 0) continue;
        if (base->offs[e + 1] - base->offs[e] == 1) { remap[e] = 0; continue; }
        remap[e] = newn;
        order[newn++] = e;
    }
    int rc = 0;
    if (put_hdr(b, DDB_SYMBOL + DDB_SYMBOL_BASE_FLAG, o->form) < 0 || put_dims(b, n, 1) < 0 ||
        ddb_buf_i32(b, (*ids)++) < 0 || ddb_buf_i32(b, newn) < 0 || ddb_buf_u8(b, 0) < 0)
        rc = oom(E);
    for (int32_t k = 1; rc == 0 && k < newn; k++) {
        int32_t e = order[k];
        rc = put_str(E, b, base->bytes + base->offs[e],
                     (size_t)(base->offs[e + 1] - base->offs[e] - 1));
    }
    if (rc == 0 && ddb_buf_reserve(b, (size_t)n * 4) < 0) rc = oom(E);
    if (rc == 0) {                        /* reserved: written in place, no call per row */
        unsigned char *out = (unsigned char *)b->p + b->len;
        for (int64_t i = 0; i < n; i++) {
            uint32_t e = (uint32_t)remap[idx[i]];
            if (!ddb__host_le()) e = ddb__bswap32(e);
            memcpy(out + 4 * i, &e, 4);
        }
        b->len += (size_t)n * 4;
    }
    free(remap);
    free(order);
    free(owned_idx);
    ddb_symbase_unref(tmp);
    return rc;
nomem:
    free(owned_idx);
    ddb_symbase_unref(tmp);
    return oom(E);
}

/* ---------------------------------------------------------------- array vectors */

static int put_array_vector(enc *E, ddb_buf *b, const ddb_obj *o)
{
    const ddb_obj *v = o->values;
    int base = o->type - DDB_ARRAY_BASE;
    int64_t total = o->rows ? o->row_offs[o->rows] : 0;
    if (check_dims(E, o->rows, total) < 0) return -1;
    if (put_hdr(b, o->type, DDB_VECTOR) < 0 || put_dims(b, o->rows, total) < 0) return oom(E);
    if (ddb_is_decimal(base) && ddb_buf_i32(b, o->scale) < 0) return oom(E);
    int w = ddb_type_width(base);
    for (int64_t r0 = 0; r0 < o->rows; r0 += 65535) {
        int64_t nr = o->rows - r0 < 65535 ? o->rows - r0 : 65535;
        int64_t maxc = 0;
        for (int64_t r = r0; r < r0 + nr; r++) {
            int64_t c = o->row_offs[r + 1] - o->row_offs[r];
            if (c < 0 || c > UINT32_MAX) return fail(E, "array vector row %lld has %lld values",
                                                     (long long)r, (long long)c);
            if (c > maxc) maxc = c;
        }
        int cb = maxc <= 0xff ? 1 : maxc <= 0xffff ? 2 : 4;
        if (ddb_buf_i16(b, (int16_t)(uint16_t)nr) < 0 || ddb_buf_u8(b, (uint8_t)cb) < 0 ||
            ddb_buf_u8(b, 0) < 0)
            return oom(E);
        for (int64_t r = r0; r < r0 + nr; r++) {
            uint32_t c = (uint32_t)(o->row_offs[r + 1] - o->row_offs[r]);
            int rc = cb == 1 ? ddb_buf_u8(b, (uint8_t)c)
                   : cb == 2 ? ddb_buf_i16(b, (int16_t)(uint16_t)c)
                             : ddb_buf_i32(b, (int32_t)c);
            if (rc < 0) return oom(E);
        }
        int64_t from = o->row_offs[r0], to = o->row_offs[r0 + nr];
        if (to > from && put_cells(b, (const char *)v->data + from * w, to - from, base) < 0)
            return oom(E);
    }
    return 0;
}

/* ---------------------------------------------------------------- forms */

static int put_vector(enc *E, ddb_buf *b, const ddb_obj *o, int *ids)
{
    if (ddb_type_class_of(o->type) == DDB_CLASS_ARRAY) return put_array_vector(E, b, o);
    if (check_dims(E, o->rows, 1) < 0) return -1;
    if (o->type == DDB_SYMBOL) return put_symbol_vector(E, b, o, ids);
    if (ddb_type_class_of(o->type) == DDB_CLASS_INVALID || o->type == DDB_FUNCTIONDEF)
        return fail(E, "cannot encode a %s %s", ddb_type_name(o->type), ddb_form_name(o->form));
    if (put_hdr(b, o->type, o->form) < 0 || put_dims(b, o->rows, 1) < 0) return oom(E);
    if (ddb_is_decimal(o->type) && ddb_buf_i32(b, o->scale) < 0) return oom(E);
    return put_body_cells(E, b, o, o->rows, ids);
}

static int put_scalar(enc *E, ddb_buf *b, const ddb_obj *o)
{
    ddb_type_class c = ddb_type_class_of(o->type);
    if (put_hdr(b, o->type, DDB_SCALAR) < 0) return oom(E);
    switch (c) {
    case DDB_CLASS_VOID:
        return ddb_buf_u8(b, o->void_kind) < 0 ? oom(E) : 0;
    case DDB_CLASS_FIXED:
        if (ddb_is_decimal(o->type) && ddb_buf_i32(b, o->scale) < 0) return oom(E);
        return put_body_cells(E, b, o, 1, NULL);
    case DDB_CLASS_VARLEN: case DDB_CLASS_SYMBOL:
        if (o->type == DDB_FUNCTIONDEF && ddb_buf_u8(b, o->fkind) < 0) return oom(E);
        return put_text_cell(E, b, o, 0);
    default:
        return fail(E, "cannot encode a %s scalar", ddb_type_name(o->type));
    }
}

static int put_matrix(enc *E, ddb_buf *b, const ddb_obj *o, int *ids)
{
    if (check_dims(E, o->rows, o->cols) < 0) return -1;
    int flags = (o->row_labels ? 1 : 0) | (o->col_labels ? 2 : 0);
    if (put_hdr(b, o->type, DDB_MATRIX) < 0 || ddb_buf_u8(b, (uint8_t)flags) < 0) return oom(E);
    if (o->row_labels && encode_obj(E, b, o->row_labels, ids) < 0) return -1;
    if (o->col_labels && encode_obj(E, b, o->col_labels, ids) < 0) return -1;
    if (put_hdr(b, o->type, DDB_MATRIX) < 0 || put_dims(b, o->rows, o->cols) < 0) return oom(E);
    if (ddb_is_decimal(o->type) && ddb_buf_i32(b, o->scale) < 0) return oom(E);
    return put_body_cells(E, b, o, o->rows * o->cols, ids);
}

static int put_compressed_column(enc *E, ddb_buf *b, const ddb_obj *col, int method);

/* The method column c is sent with: the table's own choice, else the encoder's. */
static int column_method(const enc *E, const ddb_obj *o, int64_t c)
{
    return o->col_compress ? o->col_compress[c] : E->e->compress_tables;
}

static int put_table(enc *E, ddb_buf *b, const ddb_obj *o)
{
    if (check_dims(E, o->rows, o->cols) < 0) return -1;
    int compress = 0;               /* the compressed table form when any column is */
    for (int64_t c = 0; c < o->cols && !compress; c++) compress = column_method(E, o, c);
    if (put_hdr(b, compress ? 8 : 0, DDB_TABLE) < 0 || put_dims(b, o->rows, o->cols) < 0)
        return oom(E);
    if (put_str(E, b, o->name ? o->name : "", o->name ? strlen(o->name) : 0) < 0) return -1;
    for (int64_t c = 0; c < o->cols; c++) {
        const char *n = o->col_names && o->col_names[c] ? o->col_names[c] : "";
        if (put_str(E, b, n, strlen(n)) < 0) return -1;
    }
    int ids = 0;                          /* C++: symbol-base ids restart for a table */
    for (int64_t c = 0; c < o->cols; c++) {
        const ddb_obj *col = o->columns ? o->columns[c] : NULL;
        if (!col) return fail(E, "table column %lld is missing", (long long)c);
        if (col->rows != o->rows)
            return fail(E, "table column %lld has %lld rows, the table %lld", (long long)c,
                        (long long)col->rows, (long long)o->rows);
        int method = column_method(E, o, c);
        int rc = method ? put_compressed_column(E, b, col, method)
                        : encode_obj(E, b, col, &ids);
        if (rc < 0) return -1;
    }
    return 0;
}

static int encode_obj(enc *E, ddb_buf *b, const ddb_obj *o, int *ids)
{
    if (!o) return fail(E, "cannot encode a NULL object");
    switch (o->form) {
    case DDB_SCALAR: return put_scalar(E, b, o);
    case DDB_VECTOR: case DDB_PAIR: return put_vector(E, b, o, ids);
    case DDB_MATRIX: return put_matrix(E, b, o, ids);
    case DDB_SET:
        if (put_hdr(b, o->keys ? o->keys->type : o->type, DDB_SET) < 0) return oom(E);
        return encode_obj(E, b, o->keys, ids);
    case DDB_DICTIONARY: case DDB_CHART:
        if (!o->keys || !o->values) return fail(E, "dictionary without keys or values");
        if (put_hdr(b, o->values->type, o->form) < 0) return oom(E);
        if (encode_obj(E, b, o->keys, ids) < 0) return -1;
        return encode_obj(E, b, o->values, ids);
    case DDB_TABLE: return put_table(E, b, o);
    case DDB_CHUNK:
        if (o->nbytes < 0 || o->nbytes > INT16_MAX)
            return fail(E, "CHUNK body of %lld bytes does not fit its int16 size",
                        (long long)o->nbytes);
        if (put_hdr(b, o->type, DDB_CHUNK) < 0 || ddb_buf_i16(b, (int16_t)o->nbytes) < 0 ||
            ddb_buf_put(b, o->bytes, (size_t)o->nbytes) < 0)
            return oom(E);
        return 0;
    default:
        return fail(E, "cannot encode data form %d", o->form);
    }
}

static size_t hint(const ddb_obj *o, int depth)
{
    if (!o || depth > 64) return 16;
    size_t head = 2 + 8 + 4;                  /* type, form, dims; a scale */
    int64_t cells = o->form == DDB_MATRIX ? o->rows * o->cols : o->rows;
    switch (o->form) {
    case DDB_SCALAR: case DDB_VECTOR: case DDB_PAIR: case DDB_MATRIX:
        switch (ddb_type_class_of(o->type)) {
        case DDB_CLASS_FIXED: return head + (size_t)cells * (size_t)ddb_type_width(o->type);
        case DDB_CLASS_SYMBOL:
            return head + 8 + (size_t)cells * 4 + (o->symbase ? (size_t)o->symbase->offs[o->symbase->n] : 0);
        case DDB_CLASS_VARLEN: return head + (size_t)(o->nbytes > 0 ? o->nbytes : 0) + 4 * (size_t)cells;
        default: return head + 2 * (size_t)(cells > 0 ? cells : 0);
        }
    case DDB_TABLE: {
        size_t n = head + 1;
        for (int64_t c = 0; c < o->cols; c++) {
            n += 1 + (o->col_names && o->col_names[c] ? strlen(o->col_names[c]) : 0);
            n += hint(o->columns ? o->columns[c] : NULL, depth + 1);
        }
        return n;
    }
    default:
        return head;
    }
}

size_t ddb_encode_size_hint(const ddb_obj *o) { return hint(o, 0); }

void ddb_encoder_init(ddb_encoder *e)
{
    e->next_symbase_id = 0;
    e->compress_tables = DDB_COMPRESS_NONE;
}

int ddb_encode(ddb_encoder *e, ddb_buf *out, const ddb_obj *o, char *errbuf, size_t errlen)
{
    enc E = { e, errbuf, errlen };
    size_t mark = out->len;
    int rc = encode_obj(&E, out, o, &e->next_symbase_id);
    if (rc == 0 && out->oom) rc = oom(&E);
    if (rc < 0) {
        out->len = mark;        /* leave no half-written object behind */
        if (out->oom) { out->oom = 0; }
    }
    return rc;
}

/* ---------------------------------------------------------------- compressed columns */

/* Length of the plain vector prefix (header, rows, cols, scale). */
static size_t plain_prefix(const ddb_obj *col)
{
    int base = ddb_type_class_of(col->type) == DDB_CLASS_ARRAY ? col->type - DDB_ARRAY_BASE
                                                               : col->type;
    return ddb_is_decimal(base) ? 14 : 10;
}

/* Split a cell stream into LZ4 blocks of at most 64 KiB of whole cells. */
static int lz4_blocks(enc *E, ddb_buf *blocks, const ddb_obj *col, const char *s, size_t n)
{
    int w = ddb_type_width(col->type);
    size_t off = 0;
    bool varlen = ddb_type_class_of(col->type) != DDB_CLASS_FIXED;
    if (n && n < (size_t)INT32_MAX &&      /* room for all blocks at once */
        ddb_buf_reserve(blocks, (size_t)LZ4_compressBound((int)n) + 4 * (n / 32768 + 2)) < 0)
        return oom(E);
    while (off < n) {
        size_t len;
        if (!varlen) {
            size_t per = (size_t)(LZ4_BLOCK_MAX / w) * (size_t)w;
            len = n - off < per ? n - off : per;
        } else if (col->type == DDB_STRING || col->type == DDB_SYMBOL ||
                   ddb_type_class_of(col->type) == DDB_CLASS_VARLEN) {
            /* whole cells: NUL-terminated strings or length-prefixed blobs */
            len = 0;
            while (off + len < n) {
                size_t cell;
                if (col->type == DDB_BLOB) {
                    int32_t bl;
                    memcpy(&bl, s + off + len, 4);
                    cell = 4 + (size_t)bl;
                } else {
                    cell = strlen(s + off + len) + 1;
                }
                if (len && len + cell > LZ4_BLOCK_MAX) break;
                len += cell;
            }
        } else {
            len = n - off < LZ4_BLOCK_MAX ? n - off : LZ4_BLOCK_MAX;
        }
        int bound = LZ4_compressBound((int)len);
        if (ddb_buf_reserve(blocks, (size_t)bound + 4) < 0) return oom(E);
        int got = LZ4_compress_default(s + off, blocks->p + blocks->len + 4, (int)len, bound);
        if (got <= 0) return fail(E, "LZ4 compression failed");
        uint8_t le[4] = { (uint8_t)got, (uint8_t)(got >> 8), (uint8_t)(got >> 16),
                          (uint8_t)(got >> 24) };
        memcpy(blocks->p + blocks->len, le, 4);
        blocks->len += 4 + (size_t)got;
        off += len;
    }
    return 0;
}

static int dod_blocks(enc *E, ddb_buf *blocks, const ddb_obj *col)
{
    int w = ddb_type_width(col->type);
    int64_t per = LZ4_BLOCK_MAX / w;
    ddb_buf one;
    ddb_buf_init(&one);
    for (int64_t i = 0; i < col->rows; i += per) {
        int64_t k = col->rows - i < per ? col->rows - i : per;
        ddb_buf_reset(&one);
        if (ddb_dod_encode(&one, (const char *)col->data + i * w, k, w) < 0 ||
            ddb_buf_i32(blocks, (int32_t)one.len) < 0 ||
            ddb_buf_put(blocks, one.p, one.len) < 0) {
            ddb_buf_free(&one);
            return fail(E, "delta-of-delta compression failed");
        }
    }
    ddb_buf_free(&one);
    return 0;
}

static int put_compressed_column(enc *E, ddb_buf *b, const ddb_obj *col, int method)
{
    ddb_type_class c = ddb_type_class_of(col->type);
    int ids = 0;
    if (col->form != DDB_VECTOR || col->type == DDB_SYMBOL || c == DDB_CLASS_ANY ||
        c == DDB_CLASS_VOID)
        return encode_obj(E, b, col, &ids);      /* C++ never compresses these */
    int w = ddb_type_width(col->type);
    bool dod = method == DDB_COMPRESS_DELTA && ddb__dod_type(col->type) &&
               ddb__host_le() && ddb__dod_fits(col->data, col->rows, w);
    ddb_buf plain, blocks;
    ddb_buf_init(&plain);
    ddb_buf_init(&blocks);
    int rc = 0;
    if (dod) {
        rc = dod_blocks(E, &blocks, col);
    } else if (c == DDB_CLASS_FIXED && ddb__host_le()) {
        /* the cells are already the wire's little-endian stream */
        rc = lz4_blocks(E, &blocks, col, col->data, (size_t)(col->rows * w));
    } else {
        rc = encode_obj(E, &plain, col, &ids);
        size_t pre = plain_prefix(col);
        if (rc == 0) rc = lz4_blocks(E, &blocks, col, plain.p + pre, plain.len - pre);
    }
    if (rc == 0 && blocks.len > (size_t)INT32_MAX - 20)
        rc = fail(E, "compressed column too large");
    if (rc == 0) {
        int32_t extra = c == DDB_CLASS_ARRAY ? (int32_t)(col->rows ? col->row_offs[col->rows] : 0)
                                             : col->scale;
        uint8_t unit = c == DDB_CLASS_FIXED ? (uint8_t)w : 0xff;
        if (put_hdr(b, DDB_COMPRESS, DDB_VECTOR) < 0 ||
            ddb_buf_i32(b, (int32_t)(20 + blocks.len)) < 0 || ddb_buf_i32(b, 1) < 0 ||
            ddb_buf_u8(b, 0) < 0 || ddb_buf_u8(b, 1) < 0 || ddb_buf_u8(b, 0xff) < 0 ||
            ddb_buf_u8(b, dod ? 2 : 1) < 0 || ddb_buf_u8(b, col->type) < 0 ||
            ddb_buf_u8(b, unit) < 0 || ddb_buf_i16(b, (int16_t)col->scale) < 0 ||
            ddb_buf_i32(b, extra) < 0 || ddb_buf_i32(b, (int32_t)col->rows) < 0 ||
            ddb_buf_i32(b, -1) < 0 || ddb_buf_put(b, blocks.p, blocks.len) < 0)
            rc = oom(E);
    }
    ddb_buf_free(&plain);
    ddb_buf_free(&blocks);
    return rc;
}
