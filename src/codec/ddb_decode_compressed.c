/* ddb_decode_compressed.c — compressed vectors (type 26, docs/PROTOCOL.md §4.18).
 *
 * The whole compressed payload has been gathered (its size is in the header). We
 * inflate the blocks into one buffer that starts with a synthesized ordinary vector
 * header, then decode that buffer with a nested decoder, so every element type the
 * plain decoder knows (including array vectors and strings) works compressed too. */
#include "ddb_decode_internal.h"

#include <lz4.h>
#include <stdlib.h>

#define LZ4_BLOCK_MAX 65536

typedef struct outbuf {
    uint8_t *p;
    int64_t len, cap;
} outbuf;

static void put_u32(uint8_t *p, uint32_t v, int le)
{
    for (int k = 0; k < 4; k++) p[le ? k : 3 - k] = (uint8_t)(v >> (8 * k));
}

/* Header of the equivalent plain vector, in the payload's byte order. */
static int64_t write_prefix(uint8_t *p, int type, int32_t rows, int32_t cols, int32_t scale,
                            bool decimal, int le)
{
    p[le ? 0 : 1] = (uint8_t)type;
    p[le ? 1 : 0] = DDB_VECTOR;
    put_u32(p + 2, (uint32_t)rows, le);
    put_u32(p + 6, (uint32_t)cols, le);
    if (!decimal) return 10;
    put_u32(p + 10, (uint32_t)scale, le);
    return 14;
}

static int inflate_lz4(ddb_decoder *d, outbuf *o, const uint8_t *src, int32_t blen, int64_t at)
{
    int64_t room = LZ4_BLOCK_MAX;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (ddb__dec_grow(d, (void **)&o->p, &o->cap, o->len + room, 1) != 0) return -1;
        int got = LZ4_decompress_safe((const char *)src, (char *)o->p + o->len, blen,
                                      (int)room);
        if (got >= 0) { o->len += got; return 0; }
        /* A writer other than C++ may put more than 64 KiB in a block. */
        int64_t bigger = (int64_t)blen * 255 + 16;
        if (bigger <= room || bigger > INT32_MAX) break;
        room = bigger;
    }
    ddb__dec_fail(d, at, "corrupt LZ4 block of %d bytes in a compressed vector", blen);
    return -1;
}

/* Run a nested decoder over the inflated buffer and adopt its object. */
static int decode_inflated(ddb_decoder *d, frame *f, const outbuf *o, int le, int type)
{
    ddb_limits sub = d->lim;
    sub.max_object_bytes = d->lim.max_object_bytes - d->charged;
    sub.max_depth = d->lim.max_depth - d->depth + 1;
    ddb_decoder *s = ddb_decoder_new(&sub);
    if (!s) return ddb__dec_fail(d, f->start, "out of memory"), -1;
    ddb_decoder_reset(s, le);
    size_t used = 0;
    int r = ddb_decoder_feed(s, o->p, (size_t)o->len, &used);
    int64_t charged = s->charged;
    if (r == DDB_DEC_DONE) f->obj = ddb_decoder_take(s);
    if (r == DDB_DEC_ERROR)
        ddb__dec_fail(d, f->start, "compressed %s vector: %s", ddb_type_name(type),
                      ddb_decoder_error(s));
    ddb_decoder_free(s);
    if (r == DDB_DEC_ERROR) return -1;
    if (r != DDB_DEC_DONE)
        return ddb__dec_fail(d, f->start, "compressed %s vector: decompressed data too short",
                             ddb_type_name(type)), -1;
    if ((int64_t)used != o->len)
        return ddb__dec_fail(d, f->start, "compressed %s vector: %lld bytes left after its elements",
                             ddb_type_name(type), (long long)(o->len - (int64_t)used)), -1;
    d->charged += charged;
    return 0;
}

/* The next block of the payload: 1 with src/blen/at set, 0 at the end, -1 on error. */
static int next_block(ddb_decoder *d, frame *f, int64_t *off, const uint8_t **src,
                      int32_t *blen, int64_t *at)
{
    if (*off >= f->pay_len) return 0;
    *at = f->data_at + *off;
    if (f->pay_len - *off < 4)
        return ddb__dec_fail(d, *at, "truncated block length in a compressed vector"), -1;
    uint32_t word = (uint32_t)ddb__dec_rd32(d, f->pay + *off);
    int64_t lsn = (word & 0x80000000u) ? 8 : 0;   /* an LSN follows the block */
    *blen = (int32_t)(word & 0x7fffffffu);
    *off += 4;
    if (*blen > f->pay_len - *off - lsn)
        return ddb__dec_fail(d, *at, "compressed block of %d bytes overruns the vector", *blen), -1;
    *src = f->pay + *off;
    *off += *blen + lsn;
    return 1;
}

/* Fixed-width cells inflate straight into the vector's final array. */
static int inflate_fixed(ddb_decoder *d, frame *f, int method, int type, int16_t scale,
                         int32_t count, int le)
{
    int64_t width = ddb_type_width(type), bytes = (int64_t)count * width;
    if (bytes > d->lim.max_object_bytes - d->charged - (int64_t)sizeof(ddb_obj))
        return ddb__dec_fail(d, f->start, "%d cells of %s exceed max_object_bytes (%lld)", count,
                             ddb_type_name(type), (long long)d->lim.max_object_bytes), -1;
    ddb_obj *o = ddb__dec_obj_alloc(DDB_VECTOR, type);
    uint8_t *cells = bytes ? ddb__big_alloc((size_t)bytes) : NULL;
    if (!o || (bytes && !cells)) {
        ddb_obj_unref(o);
        free(cells);
        return ddb__dec_fail(d, f->start, "out of memory"), -1;
    }
    d->charged += bytes + (int64_t)sizeof(ddb_obj);
    o->data = cells;
    o->cap_rows = o->rows = count;
    o->scale = scale;
    f->obj = o;                 /* owned by the frame from here on, even on error */
    int64_t off = 0, filled = 0, at = f->start;
    const uint8_t *src;
    int32_t blen;
    int r;
    uint8_t none[1];            /* target of an empty vector: no arithmetic on NULL */
    while ((r = next_block(d, f, &off, &src, &blen, &at)) == 1) {
        uint8_t *dst = cells ? cells + filled : none;
        if (method == 1) {
            int64_t room = bytes - filled;
            int got = LZ4_decompress_safe((const char *)src, (char *)dst, blen,
                                          room > INT32_MAX ? INT32_MAX : (int)room);
            if (got < 0)
                return ddb__dec_fail(d, at, "corrupt LZ4 block of %d bytes (or more data "
                                     "than %d %s cells)", blen, count, ddb_type_name(type)), -1;
            filled += got;
        } else {
            int64_t got = ddb__dod_decode_block(src, (size_t)blen, dst,
                                                count - filled / width, (int)width, le);
            if (got < 0)
                return ddb__dec_fail(d, at, "corrupt delta-of-delta block of %d bytes", blen), -1;
            filled += got * width;
        }
    }
    if (r < 0) return -1;
    if (filled != bytes) {
        if (method == 2)
            return ddb__dec_fail(d, f->start, "delta-of-delta blocks hold %lld of %d elements",
                                 (long long)(filled / width), count), -1;
        return ddb__dec_fail(d, f->start, "compressed %s vector: decompressed data too short "
                             "(%lld of %lld bytes)", ddb_type_name(type), (long long)filled,
                             (long long)bytes), -1;
    }
    if ((le != 0) != ddb__host_le())
        ddb__swap_cells(cells, count, (int)width, ddb__swap_halves(type));
    return 0;
}

/* Strings, blobs and array vectors: inflate into one buffer behind a synthesized
 * plain vector header, then decode that buffer. */
static int inflate_other(ddb_decoder *d, frame *f, int type, int16_t scale, int32_t extra,
                         int32_t count, int le)
{
    bool arr = ddb_type_class_of(type) == DDB_CLASS_ARRAY;
    int base = arr ? type - DDB_ARRAY_BASE : type;
    outbuf o = { NULL, 0, 0 };
    int rc = -1;
    if (ddb__dec_grow(d, (void **)&o.p, &o.cap, 14, 1) != 0) goto done;
    o.len = write_prefix(o.p, type, count, arr && extra > 0 ? extra : 1, scale,
                         ddb_is_decimal(base), le);
    int64_t off = 0, at = f->start;
    const uint8_t *src;
    int32_t blen;
    int r;
    while ((r = next_block(d, f, &off, &src, &blen, &at)) == 1)
        if (inflate_lz4(d, &o, src, blen, at) < 0) goto done;
    if (r == 0) rc = decode_inflated(d, f, &o, le, type);
done:
    ddb__dec_uncharge(d, o.cap);
    free(o.p);
    return rc;
}

int ddb__dec_compressed(ddb_decoder *d, frame *f)
{
    const uint8_t *h = f->comp;
    int le = h[1] & 1;
    int method = h[3], type = h[4], unit = h[5];
    int16_t scale = (int16_t)(d->le ? (h[6] | h[7] << 8) : (h[7] | h[6] << 8));
    int32_t extra = ddb__dec_rd32(d, h + 8);
    int32_t count = ddb__dec_rd32(d, h + 12);
    int64_t at = f->start;
    ddb_type_class c = ddb_type_class_of(type);
    bool arr = c == DDB_CLASS_ARRAY;
    int base = arr ? type - DDB_ARRAY_BASE : type;

    if (count < 0)
        return ddb__dec_fail(d, at, "compressed vector with negative element count %d", count), -1;
    if (method != 1 && method != 2)
        return ddb__dec_fail(d, at, "unknown compression method %d", method), -1;
    if ((c != DDB_CLASS_FIXED && c != DDB_CLASS_VARLEN && !arr) || type == DDB_FUNCTIONDEF)
        return ddb__dec_fail(d, at, "data type %d cannot be compressed", type), -1;
    if (ddb_is_decimal(base) && (scale < 0 || scale > ddb_decimal_max_scale(base)))
        return ddb__dec_fail(d, at, "invalid %s scale %d in a compressed vector",
                             ddb_type_name(base), scale), -1;
    if (method == 2 && (!ddb__dod_type(type) || unit != ddb_type_width(type)))
        return ddb__dec_fail(d, at, "delta-of-delta compression of %s with unit %d",
                             ddb_type_name(type), unit), -1;
    if (!ddb_is_decimal(base)) scale = 0;
    int rc = c == DDB_CLASS_FIXED ? inflate_fixed(d, f, method, type, scale, count, le)
                                  : inflate_other(d, f, type, scale, extra, count, le);
    if (rc == 0) d->compressed[method]++;
    return rc;
}
