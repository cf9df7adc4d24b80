/* test_codec_compress — delta-of-delta against docs/PROTOCOL.md §4.18.4 and E39/E40,
 * random delta-of-delta round trips (NULLs, extremes, several blocks, both byte
 * orders), and compressed tables (LZ4 and delta) of every column type encoded then
 * decoded (one-shot and in pieces) back to an equal value. */
#include "codec_support.h"
#include "ddb_codec_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static void known_block(const char *what, const int32_t *vals, int n, const char *hex)
{
    size_t len;
    uint8_t *want = cs_unhex(hex, &len);
    ddb_buf b;
    ddb_buf_init(&b);
    CHECK(ddb_dod_encode(&b, vals, n, 4) == 0, "%s: encode", what);
    CHECK(b.len == len && memcmp(b.p, want, len) == 0, "%s: bytes differ", what);
    int32_t back[8];
    CHECK(ddb_dod_decode(want, len, back, n, 4, 1) == 0 && memcmp(back, vals, 4 * (size_t)n) == 0,
          "%s: decode", what);
    ddb_buf_free(&b);
    free(want);
}

static void store(void *cell, int unit, int64_t v)
{
    if (unit == 2) { int16_t x = (int16_t)v; memcpy(cell, &x, 2); }
    else if (unit == 4) { int32_t x = (int32_t)v; memcpy(cell, &x, 4); }
    else memcpy(cell, &v, 8);
}

/* One random block: a walk with small or large steps, NULLs and extremes. */
static void dod_roundtrip(int unit, int64_t n, int pattern)
{
    int64_t lo = unit == 2 ? INT16_MIN : unit == 4 ? INT32_MIN : INT64_MIN;
    int64_t hi = unit == 2 ? INT16_MAX : unit == 4 ? INT32_MAX : INT64_MAX;
    uint8_t *cells = malloc((size_t)(n * unit) + 1), *back = malloc((size_t)(n * unit) + 1);
    int64_t v = (int64_t)(next() % 1000);
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = next();
        if (pattern == 0) v += (int64_t)(r % 7) - 3;                  /* smooth */
        else if (pattern == 1) v += (int64_t)(r % 200001) - 100000;  /* jumpy */
        else v = (int64_t)r;                                         /* anything */
        if (v < lo + 1 || v > hi) v = (int64_t)(r % 1000);
        if (pattern == 2 && unit < 8) v = lo + 1 + (int64_t)(r % (uint64_t)(hi - lo));
        int64_t x = v;
        if (r % 11 == 0) x = lo;                                     /* NULL */
        else if (r % 97 == 0) x = (r & 1) ? hi : lo + 1;             /* extremes */
        store(cells + i * unit, unit, x);
    }
    ddb_buf b;
    ddb_buf_init(&b);
    int rc = ddb_dod_encode(&b, cells, n, unit);
    CHECK(rc == (ddb__dod_fits(cells, n, unit) ? 0 : -1), "dod unit %d pattern %d: fits vs encode",
          unit, pattern);
    if (rc == 0) {
        CHECK(b.len % 8 == 0, "dod: whole words");
        CHECK(ddb_dod_decode(b.p, b.len, back, n, unit, 1) == 0 &&
              memcmp(back, cells, (size_t)(n * unit)) == 0,
              "dod unit %d pattern %d n %lld: round trip", unit, pattern, (long long)n);
        /* big-endian payload: words and cells byte-swapped */
        ddb__swap_cells(b.p, (int64_t)b.len / 8, 8, 1);
        ddb__swap_cells(cells, n, unit, 1);
        CHECK(ddb_dod_decode(b.p, b.len, back, n, unit, 0) == 0 &&
              memcmp(back, cells, (size_t)(n * unit)) == 0,
              "dod unit %d big-endian round trip", unit);
    }
    ddb_buf_free(&b);
    free(cells);
    free(back);
}

/* A column of `type` with random values, NULL every 7th row. */
static ddb_obj *random_column(int type, int64_t rows)
{
    ddb_type_class c = ddb_type_class_of(type);
    if (c == DDB_CLASS_ARRAY) {
        int base = type - DDB_ARRAY_BASE;
        int w = ddb_type_width(base);
        ddb_obj *a = ddb_array_vector_new(base, rows, 0);
        for (int64_t r = 0; r < rows; r++) {
            int64_t k = (int64_t)(next() % 4);
            for (int64_t j = 0; j < k; j++) {
                uint8_t cell[16];
                for (int q = 0; q < w; q++) cell[q] = (uint8_t)next();
                ddb_fixed_append(a->values, cell);
            }
            a->row_offs[r + 1] = a->values->rows;
        }
        return a;
    }
    ddb_obj *v = ddb_vector_new(type, 0);
    int w = ddb_type_width(type);
    int64_t walk = (int64_t)(next() % 100000);
    for (int64_t i = 0; i < rows; i++) {
        if (c == DDB_CLASS_FIXED) {
            uint8_t cell[16];
            walk += (int64_t)(next() % 2000);
            if (type == DDB_FLOAT) { float f = (float)walk / 8; memcpy(cell, &f, 4); }
            else if (type == DDB_DOUBLE) { double d = (double)walk / 8; memcpy(cell, &d, 8); }
            else if (w >= 8) { memset(cell, 0, 16); memcpy(cell, &walk, 8); }
            else store(cell, w == 1 ? 2 : w, walk % (w == 1 ? 100 : w == 2 ? 30000 : 1 << 30));
            if (w == 1) cell[0] = (uint8_t)(walk % 100);
            if (i % 7 == 3) {                       /* a NULL */
                ddb_obj *n = ddb_scalar_new(type);
                memcpy(cell, n->data, (size_t)w);
                ddb_obj_unref(n);
            }
            ddb_fixed_append(v, cell);
        } else {
            char s[32];
            int len = i % 7 == 3 ? 0 : snprintf(s, sizeof s, "s%lld", (long long)(next() % 500));
            if (type == DDB_SYMBOL) ddb_symbol_append(v, s, (size_t)len);
            else ddb_varlen_append(v, s, (size_t)len);
        }
    }
    if (ddb_is_decimal(type)) v->scale = 3;
    return v;
}

static void compressed_table(int method, int64_t rows)
{
    static const int types[] = {
        DDB_BOOL, DDB_CHAR, DDB_SHORT, DDB_INT, DDB_LONG, DDB_DATE, DDB_MONTH, DDB_TIME,
        DDB_MINUTE, DDB_SECOND, DDB_DATETIME, DDB_TIMESTAMP, DDB_NANOTIME,
        DDB_NANOTIMESTAMP, DDB_FLOAT, DDB_DOUBLE, DDB_SYMBOL, DDB_STRING, DDB_UUID,
        DDB_DATEHOUR, DDB_IPADDR, DDB_INT128, DDB_BLOB, DDB_DECIMAL32, DDB_DECIMAL64,
        DDB_DECIMAL128, DDB_ARRAY_BASE + DDB_INT, DDB_ARRAY_BASE + DDB_DOUBLE,
        DDB_ARRAY_BASE + DDB_DECIMAL64,
    };
    int ncols = (int)(sizeof types / sizeof *types);
    ddb_obj *t = ddb_table_new(rows, ncols);
    for (int c = 0; c < ncols; c++) {
        t->columns[c] = random_column(types[c], rows);
        if (types[c] == DDB_ARRAY_BASE + DDB_DECIMAL64) t->columns[c]->scale = t->columns[c]->values->scale = 4;
        free(t->col_names[c]);
        t->col_names[c] = strdup(ddb_type_name(types[c]));
    }
    char err[256] = "";
    size_t len = 0, used = 0;
    uint8_t *bytes = cs_encode(t, &len, method, err, sizeof err);
    CHECK(bytes != NULL, "compressed table (method %d, %lld rows): encode: %s", method,
          (long long)rows, err);
    if (bytes) {
        CHECK(bytes[0] == 8 && bytes[1] == DDB_TABLE, "compressed table: header 08 06");
        ddb_obj *back = ddb_decode(bytes, len, 1, NULL, &used, err, sizeof err);
        CHECK(back && used == len, "compressed table method %d: decode: %s", method, err);
        CHECK(ddb_obj_equal(t, back), "compressed table method %d rows %lld: value differs",
              method, (long long)rows);
        ddb_obj_unref(back);
        back = cs_decode_chunked(bytes, len, 0, 5, NULL, &used, err, sizeof err);
        CHECK(back && ddb_obj_equal(t, back), "compressed table in pieces: %s", err);
        ddb_obj_unref(back);
        size_t plain_len = 0;
        uint8_t *plain = cs_encode(t, &plain_len, DDB_COMPRESS_NONE, err, sizeof err);
        printf("  compressed table, method %s, %lld rows x %d columns: %zu bytes (plain %zu)\n",
               method == DDB_COMPRESS_LZ4 ? "LZ4" : "delta", (long long)rows, ncols, len,
               plain_len);
        free(plain);
    }
    free(bytes);
    ddb_obj_unref(t);
}

/* Per-column methods (the table's col_compress, as the batched writer sets them):
 * each column goes as asked, a plain column inside the compressed table form
 * included; the decoder counts what it met by method. */
static void per_column_methods(void)
{
    static const int types[] = { DDB_INT, DDB_DOUBLE, DDB_TIMESTAMP, DDB_STRING, DDB_SYMBOL,
                                 DDB_LONG };
    static const uint8_t methods[] = { DDB_COMPRESS_DELTA, DDB_COMPRESS_LZ4, DDB_COMPRESS_DELTA,
                                       DDB_COMPRESS_NONE, DDB_COMPRESS_LZ4, DDB_COMPRESS_NONE };
    int ncols = (int)(sizeof types / sizeof *types);
    ddb_obj *t = ddb_table_new(3000, ncols);
    for (int c = 0; c < ncols; c++) {
        t->columns[c] = random_column(types[c], 3000);
        free(t->col_names[c]);
        t->col_names[c] = strdup(ddb_type_name(types[c]));
    }
    t->col_compress = malloc(sizeof methods);
    memcpy(t->col_compress, methods, sizeof methods);
    char err[256] = "";
    size_t len = 0, used = 0;
    uint8_t *bytes = cs_encode(t, &len, DDB_COMPRESS_NONE, err, sizeof err);   /* the table decides */
    CHECK(bytes && bytes[0] == 8 && bytes[1] == DDB_TABLE, "per-column methods: compressed form: %s", err);
    ddb_decoder *d = ddb_decoder_new(NULL);
    ddb_decoder_reset(d, 1);
    int rc = bytes ? ddb_decoder_feed(d, bytes, len, &used) : DDB_DEC_ERROR;
    CHECK(rc == DDB_DEC_DONE && used == len, "per-column methods: decode: %s", ddb_decoder_error(d));
    ddb_obj *back = rc == DDB_DEC_DONE ? ddb_decoder_take(d) : NULL;
    CHECK(back && ddb_obj_equal(t, back), "per-column methods: value differs");
    /* INT and TIMESTAMP by delta; DOUBLE by LZ4; SYMBOL is never compressed */
    CHECK(ddb_decoder_compressed(d, DDB_COMPRESS_DELTA) == 2 &&
          ddb_decoder_compressed(d, DDB_COMPRESS_LZ4) == 1 && ddb_decoder_compressed(d, 0) == 0,
          "per-column methods: decoded %lld delta, %lld LZ4",
          (long long)ddb_decoder_compressed(d, DDB_COMPRESS_DELTA),
          (long long)ddb_decoder_compressed(d, DDB_COMPRESS_LZ4));
    ddb_obj_unref(back);
    ddb_decoder_free(d);
    free(bytes);
    memset(t->col_compress, 0, sizeof methods);                 /* all 0: the plain form */
    bytes = cs_encode(t, &len, DDB_COMPRESS_NONE, err, sizeof err);
    CHECK(bytes && bytes[0] == 0 && bytes[1] == DDB_TABLE, "per-column methods all 0: plain table");
    free(bytes);
    ddb_obj_unref(t);
}

/* A first delta too wide for W bits must fall back to LZ4 and still round-trip. */
static void delta_fallback(void)
{
    int32_t cells[3] = { INT32_MIN + 1, INT32_MAX, 0 };
    CHECK(!ddb__dod_fits(cells, 3, 4), "first delta of 2^32-2 must not fit 32 bits");
    ddb_obj *t = ddb_table_new(3, 1);
    t->columns[0] = ddb_vector_new(DDB_INT, 3);
    memcpy(t->columns[0]->data, cells, sizeof cells);
    char err[128];
    size_t len, used;
    uint8_t *b = cs_encode(t, &len, DDB_COMPRESS_DELTA, err, sizeof err);
    CHECK(b && b[13 + 2 + 10] == 1, "fallback column uses method 1 (LZ4)");
    ddb_obj *back = b ? ddb_decode(b, len, 1, NULL, &used, err, sizeof err) : NULL;
    CHECK(ddb_obj_equal(t, back), "fallback round trip: %s", err);
    ddb_obj_unref(back);
    ddb_obj_unref(t);
    free(b);
    int64_t l[2] = { INT64_MIN + 1, INT64_MAX };
    ddb_buf bb;
    ddb_buf_init(&bb);
    CHECK(ddb_dod_encode(&bb, l, 2, 8) == -1, "a LONG delta overflowing 64 bits is refused");
    ddb_buf_free(&bb);
}

/* A hostile block whose first value plus first delta overflows 64 bits decodes
 * modulo 2^64, like every later step (the encoder never writes one: it refuses
 * such deltas). Bits: 1, ZZ(INT64_MAX) in 64 bits, 1, ZZ(2) in 64 bits, zero
 * padding; words little-endian. Found by fuzz_ddbmini_request under UBSan. */
static void dod_first_delta_wraps(void)
{
    size_t len;
    uint8_t *blk = cs_unhex("ffffffffffffffff 0100000000000040 0000000000000000", &len);
    int64_t back[2] = { 0, 0 };
    CHECK(ddb_dod_decode(blk, len, back, 2, 8, 1) == 0, "overflowing first delta: decode");
    CHECK(back[0] == INT64_MAX && back[1] == INT64_MIN + 1,
          "overflowing first delta wraps: %lld %lld", (long long)back[0], (long long)back[1]);
    free(blk);
}

int main(void)
{
    int32_t e39[5] = { 1, 2, 3, INT32_MIN, 5 }, e40[3] = { 10, 20, 30 };
    known_block("§4.18.4/E39 [1,2,3,NULL,5]", e39, 5,
                "00000040010000 80ffffffffff7ec09f0000000000ffffff");
    known_block("E40 [10,20,30]", e40, 3, "0500004 00a000080ffffffffffff7f1f00000000000080ff");
    int32_t nulls[4] = { INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN };
    known_block("all NULL", nulls, 4, "ffffffffffffbf0f000000000000c0ff");
    int runs = 0;
    int64_t sizes[] = { 0, 1, 2, 3, 17, 1000, 16384 };
    for (int u = 2; u <= 8; u *= 2)
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
            for (int p = 0; p < 3; p++) { dod_roundtrip(u, sizes[s], p); runs++; }
    printf("delta-of-delta: %d random round trips (units 2/4/8, both byte orders)\n", runs);
    delta_fallback();
    dod_first_delta_wraps();
    per_column_methods();
    compressed_table(DDB_COMPRESS_LZ4, 50);
    compressed_table(DDB_COMPRESS_DELTA, 50);
    compressed_table(DDB_COMPRESS_LZ4, 40000);
    compressed_table(DDB_COMPRESS_DELTA, 40000);
    compressed_table(DDB_COMPRESS_DELTA, 0);
    return cs_finish("test_codec_compress");
}
