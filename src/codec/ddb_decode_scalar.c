/* ddb_decode_scalar.c — the response parser's shortcut for a scalar that arrived
 * whole (docs/PROTOCOL.md §4.1-4.3).
 *
 * Most replies of a busy pool are one scalar (`1+1`, an insert's row count, a
 * flag), and the incremental decoder spends more on its frames, steps and budget
 * bookkeeping than on the few bytes of such a cell. This builds the same object
 * straight from the bytes, or declines: it accepts only what the general decoder
 * would accept too, with the same result, and leaves everything else — other forms
 * and types, input that ends early, bad values, a budget too small — to the general
 * decoder, which then also produces the error message. tests/test_resp_fast.c holds
 * the two against each other. */
#include "ddb_decode_internal.h"

#include <stdlib.h>

static int32_t read_i32(const uint8_t *p, int little_endian)
{
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    return (int32_t)(little_endian ? v : ddb__bswap32(v));
}

/* VOID: one byte, 0 nothing, 1 NULL, 2 default. */
static size_t void_scalar(const uint8_t *p, size_t len, int64_t max_bytes, ddb_obj **out)
{
    if (len < 1 || p[0] > 2 || OBJ_OVERHEAD > max_bytes)
        return 0;
    *out = ddb_void_new(p[0]);
    return *out ? 1 : 0;
}

/* A fixed-width cell, after the 4-byte scale for a DECIMAL. */
static size_t fixed_scalar(const uint8_t *p, size_t len, int type, int little_endian,
                           int64_t max_bytes, ddb_obj **out)
{
    int w = ddb_type_width(type);
    size_t at = 0;
    int32_t scale = 0;
    if (ddb_is_decimal(type)) {
        if (len < 4)
            return 0;
        scale = read_i32(p, little_endian);
        if (scale < 0 || scale > ddb_decimal_max_scale(type))
            return 0;
        at = 4;
    }
    if (len - at < (size_t)w || OBJ_OVERHEAD + w > max_bytes)
        return 0;
    ddb_obj *o = ddb__dec_obj_alloc(DDB_SCALAR, type);
    void *cell = malloc((size_t)w);
    if (!o || !cell) {
        free(o);
        free(cell);
        return 0;
    }
    memcpy(cell, p + at, (size_t)w);
    if ((little_endian != 0) != ddb__host_le())
        ddb__swap_cells(cell, 1, w, ddb__swap_halves(type));
    o->data = cell;
    o->rows = 1;
    o->cap_rows = 1;
    o->scale = scale;
    *out = o;
    return at + (size_t)w;
}

/* A NUL-terminated text cell (STRING, SYMBOL, CODE, ...), stored with the capacities
 * the general decoder gives it: 8 offsets, at least 8 bytes. It charges the budget
 * for 7 of the offsets (the first is counted with the record); under a tighter
 * budget it gives smaller capacities, so such a cell is left to it. */
static size_t text_scalar(const uint8_t *p, size_t len, int type, int64_t max_bytes,
                          ddb_obj **out)
{
    const size_t longest = (size_t)DDB_MAX_STRING_LEN + 1;     /* with its NUL */
    size_t look = len < longest ? len : longest;
    const uint8_t *nul = memchr(p, 0, look);
    if (!nul)
        return 0;
    size_t n = (size_t)(nul - p);
    size_t cap_bytes = n + 1 < 8 ? 8 : n + 1;
    if (OBJ_OVERHEAD + 7 * 8 + (int64_t)cap_bytes > max_bytes)
        return 0;
    ddb_obj *o = ddb__dec_obj_alloc(DDB_SCALAR, type);
    int64_t *offs = malloc(8 * sizeof *offs);
    char *bytes = malloc(cap_bytes);
    if (!o || !offs || !bytes) {
        free(o);
        free(offs);
        free(bytes);
        return 0;
    }
    memcpy(bytes, p, n + 1);
    offs[0] = 0;
    offs[1] = (int64_t)n + 1;
    o->offs = offs;
    o->bytes = bytes;
    o->nbytes = (int64_t)n + 1;
    o->cap_bytes = (int64_t)cap_bytes;
    o->cap_rows = 7;
    o->rows = 1;
    *out = o;
    return n + 1;
}

size_t ddb__decode_scalar(const void *data, size_t len, int little_endian,
                          int64_t max_bytes, ddb_obj **out)
{
    const uint8_t *p = data;
    *out = NULL;
    if (len < 2)
        return 0;
    int type = little_endian ? p[0] : p[1];
    int form = little_endian ? p[1] : p[0];
    if (form != DDB_SCALAR)
        return 0;
    size_t used = 0;
    switch (ddb_type_class_of(type)) {
    case DDB_CLASS_VOID:
        used = void_scalar(p + 2, len - 2, max_bytes, out);
        break;
    case DDB_CLASS_FIXED:
        used = fixed_scalar(p + 2, len - 2, type, little_endian, max_bytes, out);
        break;
    case DDB_CLASS_VARLEN:
    case DDB_CLASS_SYMBOL:
        if (type != DDB_BLOB && type != DDB_FUNCTIONDEF)
            used = text_scalar(p + 2, len - 2, type, max_bytes, out);
        break;
    default:
        break;
    }
    return used ? used + 2 : 0;
}
