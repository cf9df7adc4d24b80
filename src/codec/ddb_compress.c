/* ddb_compress.c — delta-of-delta blocks (docs/PROTOCOL.md §4.18.3). LZ4 blocks are plain
 * liblz4 calls made by the encoder and decoder directly.
 *
 * Bit stream: 64-bit words filled from the most significant bit; each word stored
 * in the payload byte order. W = 8 * unit bits for the first value and first delta. */
#include "ddb_codec_internal.h"

#include <stdlib.h>

/* ---------------------------------------------------------------- bit writer */

typedef struct bitw {
    ddb_buf *out;
    uint64_t word;
    int used;                   /* bits in word */
} bitw;

static int put_word_le(ddb_buf *out, uint64_t w)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(w >> (8 * i));
    return ddb_buf_put(out, b, 8);
}

/* Append the low n bits of v (n <= 64), most significant first. */
static int put_bits(bitw *w, uint64_t v, int n)
{
    while (n > 0) {
        int room = 64 - w->used;
        int k = n < room ? n : room;
        uint64_t chunk = (n == 64 && k == 64) ? v : (v >> (n - k)) & ((1ull << k) - 1);
        w->word |= k == 64 ? chunk : chunk << (room - k);
        w->used += k;
        n -= k;
        if (w->used == 64) {
            if (put_word_le(w->out, w->word) < 0) return -1;
            w->word = 0;
            w->used = 0;
        }
    }
    return 0;
}

static uint64_t zigzag(int64_t n) { return ((uint64_t)n << 1) ^ (uint64_t)(n >> 63); }
static int64_t unzigzag(uint64_t z) { return (int64_t)(z >> 1) ^ -(int64_t)(z & 1); }

/* Sign-extended value of an integer cell in host order. */
static int64_t cell_value(const uint8_t *c, int unit)
{
    switch (unit) {
    case 2: { int16_t v; memcpy(&v, c, 2); return v; }
    case 4: { int32_t v; memcpy(&v, c, 4); return v; }
    default: { int64_t v; memcpy(&v, c, 8); return v; }
    }
}

/* Does ZZ(v) fit in W bits (so the W-bit field round-trips)? */
static bool fits_w(int64_t v, int unit)
{
    if (unit == 8) return true;
    return (zigzag(v) >> (8 * unit)) == 0;
}

/* The integer-like types delta-of-delta takes: the encoder offers it for these
 * only, and the decoder refuses it for any other. */
bool ddb__dod_type(int type)
{
    switch (type) {
    case DDB_SHORT: case DDB_INT: case DDB_LONG: case DDB_DATE: case DDB_MONTH:
    case DDB_TIME: case DDB_MINUTE: case DDB_SECOND: case DDB_DATETIME:
    case DDB_TIMESTAMP: case DDB_NANOTIME: case DDB_NANOTIMESTAMP: case DDB_DATEHOUR:
    case DDB_DATEMINUTE: case DDB_DECIMAL32: case DDB_DECIMAL64:
        return true;
    default:
        return false;
    }
}

bool ddb__dod_fits(const void *cells, int64_t n, int unit)
{
    if (unit != 2 && unit != 4 && unit != 8) return false;
    const uint8_t *c = cells;
    int64_t prev = 0, delta = 0;
    int seen = 0;
    for (int64_t i = 0; i < n; i++) {
        if (ddb__int_cell_is_null(c + i * unit, unit)) continue;
        int64_t v = cell_value(c + i * unit, unit), d, dod;
        if (seen == 0) { prev = v; seen = 1; continue; }
        if (__builtin_sub_overflow(v, prev, &d)) return false;
        if (seen == 1) {
            if (!fits_w(d, unit)) return false;
            seen = 2;
        } else if (__builtin_sub_overflow(d, delta, &dod)) {
            return false;
        }
        prev = v;
        delta = d;
    }
    return true;
}

/* The block end: 111110, 64 one-bits, 0, then zero padding to a whole word (one
 * extra zero word when the stream already ends on a word boundary). */
static int put_end(bitw *w)
{
    if (put_bits(w, 0x3e, 6) < 0 || put_bits(w, ~0ull, 64) < 0 || put_bits(w, 0, 1) < 0)
        return -1;
    return put_word_le(w->out, w->word);
}

int ddb_dod_encode(ddb_buf *out, const void *cells, int64_t n, int unit)
{
    if (!ddb__dod_fits(cells, n, unit)) return -1;
    bitw w = { out, 0, 0 };
    const uint8_t *c = cells;
    int W = 8 * unit;
    int64_t i = 0, prev = 0, delta = 0;
    for (int stage = 0; stage < 2; stage++) {       /* first value, then first delta */
        while (i < n && ddb__int_cell_is_null(c + i * unit, unit)) {
            if (put_bits(&w, 0, 1) < 0) return -1;
            i++;
        }
        if (i == n) return put_end(&w);
        int64_t v = cell_value(c + i * unit, unit);
        int64_t field = stage == 0 ? v : v - prev;
        if (stage == 1) delta = field;
        prev = v;
        if (put_bits(&w, 1, 1) < 0 || put_bits(&w, zigzag(field), W) < 0) return -1;
        i++;
    }
    for (; i < n; i++) {
        const uint8_t *cell = c + i * unit;
        int r;
        if (ddb__int_cell_is_null(cell, unit)) {
            r = put_bits(&w, 0x3f, 6);
        } else {
            int64_t v = cell_value(cell, unit), d = v - prev, dod = d - delta;
            if (dod == 0) {
                r = put_bits(&w, 0, 1);
            } else {
                uint64_t z = zigzag(dod) - 1;
                if (z < (1ull << 7)) r = put_bits(&w, 0x2, 2) | put_bits(&w, z, 7);
                else if (z < (1ull << 9)) r = put_bits(&w, 0x6, 3) | put_bits(&w, z, 9);
                else if (z < (1ull << 16)) r = put_bits(&w, 0xe, 4) | put_bits(&w, z, 16);
                else if (z < (1ull << 32)) r = put_bits(&w, 0x1e, 5) | put_bits(&w, z, 32);
                else r = put_bits(&w, 0x3e, 6) | put_bits(&w, z, 64);
            }
            prev = v;
            delta = d;
        }
        if (r < 0) return -1;
    }
    return put_end(&w);
}

/* ---------------------------------------------------------------- bit reader */

typedef struct bitr {
    const uint8_t *p;
    int64_t nwords, word_i;
    int le;
    uint64_t cur;
    int left;                   /* unread bits in cur */
} bitr;

static uint64_t load_word(const bitr *r, int64_t i)
{
    uint64_t v = 0;
    const uint8_t *q = r->p + i * 8;
    for (int k = 0; k < 8; k++)
        v |= (uint64_t)q[r->le ? k : 7 - k] << (8 * k);
    return v;
}

/* Read n bits (n <= 64); false when the stream is exhausted. */
static bool get_bits(bitr *r, int n, uint64_t *out)
{
    uint64_t v = 0;
    while (n > 0) {
        if (r->left == 0) {
            if (r->word_i >= r->nwords) return false;
            r->cur = load_word(r, r->word_i++);
            r->left = 64;
        }
        int k = n < r->left ? n : r->left;
        uint64_t chunk = k == 64 ? r->cur : (r->cur >> (r->left - k)) & ((1ull << k) - 1);
        v = k == 64 ? chunk : (v << k) | chunk;
        r->left -= k;
        n -= k;
    }
    *out = v;
    return true;
}

/* Look at the next n bits (n <= 69 via two calls) without consuming them. */
static bool end_marker_follows(const bitr *r)
{
    bitr t = *r;
    uint64_t a, b;
    return get_bits(&t, 5, &a) && a == 0x1e && get_bits(&t, 64, &b) && b == ~0ull;
}

static void store_cell(uint8_t *cell, int64_t v, int unit, int le)
{
    for (int k = 0; k < unit; k++)
        cell[le ? k : unit - 1 - k] = (uint8_t)((uint64_t)v >> (8 * k));
}

static void store_null(uint8_t *cell, int unit, int le)
{
    int64_t v = unit == 2 ? INT16_MIN : unit == 4 ? INT32_MIN : INT64_MIN;
    store_cell(cell, v, unit, le);
}

/* Decoder arithmetic is modulo 2^64: the encoder never emits a block whose sums
 * overflow, but a hostile one can (the first value plus the first delta as much as
 * any later step), and the cells keep only their low `unit` bytes anyway. */
static int64_t wrap_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }

int64_t ddb__dod_decode_block(const uint8_t *in, size_t inlen, void *cells, int64_t max,
                              int unit, int little_endian)
{
    if ((unit != 2 && unit != 4 && unit != 8) || inlen % 8 != 0) return -1;
    bitr r = { in, (int64_t)(inlen / 8), 0, little_endian, 0, 0 };
    uint8_t *c = cells;
    int W = 8 * unit;
    int64_t n = 0, prev = 0, delta = 0;
    uint64_t bit, v;
    for (int stage = 0; stage < 2; stage++) {         /* first value, first delta */
        for (;;) {
            if (n == max) return n;
            if (!get_bits(&r, 1, &bit)) return -1;
            if (bit == 0) { store_null(c + n++ * unit, unit, little_endian); continue; }
            if (end_marker_follows(&r)) return n;
            if (!get_bits(&r, W, &v)) return -1;
            int64_t x = unit == 8 ? unzigzag(v) : unzigzag(v & ((1ull << W) - 1));
            if (stage == 0) prev = x;
            else { delta = x; prev = wrap_add(prev, x); }
            store_cell(c + n++ * unit, prev, unit, little_endian);
            break;
        }
    }
    static const int field_bits[6] = { 0, 7, 9, 16, 32, 64 };
    while (n < max) {
        int ones = 0;
        while (ones < 6) {
            if (!get_bits(&r, 1, &bit)) return -1;
            if (!bit) break;
            ones++;
        }
        if (ones == 6) { store_null(c + n++ * unit, unit, little_endian); continue; }
        int64_t dod = 0;
        if (ones > 0) {
            if (!get_bits(&r, field_bits[ones], &v)) return -1;
            if (ones == 5 && v == ~0ull) return n;    /* end marker */
            dod = unzigzag(v + 1);
        }
        delta = wrap_add(delta, dod);
        prev = wrap_add(prev, delta);
        store_cell(c + n++ * unit, prev, unit, little_endian);
    }
    return n;
}

int ddb_dod_decode(const void *in, size_t inlen, void *cells, int64_t n, int unit,
                   int little_endian)
{
    int64_t got = ddb__dod_decode_block(in, inlen, cells, n, unit, little_endian);
    return got == n ? 0 : -1;
}
