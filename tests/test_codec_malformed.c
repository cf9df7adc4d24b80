/* test_codec_malformed — bad input gets a clear one-line error, never a crash, a
 * hang or an unbounded allocation; truncated input is NEED_MORE, never an error.
 * Usage: test_codec_malformed <vectors dir> */
#include "codec_support.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define CS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CS_ASAN 1
#endif
#endif
#ifdef CS_ASAN
#include <sanitizer/allocator_interface.h>
#endif

/* Decode hex; expect an error containing `want` (and "at byte"). */
static void expect_error_lim(const char *what, const char *hex, const char *want,
                             const ddb_limits *lim)
{
    size_t len;
    uint8_t *b = cs_unhex(hex, &len);
    char err[256] = "";
    ddb_obj *o = ddb_decode(b, len, 1, lim, NULL, err, sizeof err);
    CHECK(o == NULL, "%s: must fail", what);
    CHECK(strstr(err, want) != NULL, "%s: error \"%s\" lacks \"%s\"", what, err, want);
    CHECK(strstr(err, "at byte") != NULL || strstr(err, "truncated"), "%s: \"%s\" names no offset",
          what, err);
    printf("  %-44s -> %s\n", what, err);
    ddb_obj_unref(o);
    free(b);
}
static void expect_error(const char *what, const char *hex, const char *want)
{
    expect_error_lim(what, hex, want, NULL);
}

/* Every proper prefix is NEED_MORE with all bytes consumed; the one-shot decoder
 * says "truncated"; feeding the rest afterwards completes the same object. */
static int truncations(const uint8_t *b, size_t len, const char *what)
{
    char err[256];
    ddb_obj *whole = ddb_decode(b, len, 1, NULL, NULL, err, sizeof err);
    int bad = 0;
    for (size_t k = 0; k < len; k++) {
        ddb_decoder *d = ddb_decoder_new(NULL);
        ddb_decoder_reset(d, 1);
        size_t used = 0;
        int r = ddb_decoder_feed(d, b, k, &used);
        if (r != DDB_DEC_NEED_MORE || used != k) bad++;
        size_t used2 = 0;
        r = ddb_decoder_feed(d, b + k, len - k, &used2);
        ddb_obj *o = r == DDB_DEC_DONE ? ddb_decoder_take(d) : NULL;
        if (!o || used2 != len - k || !ddb_obj_equal(o, whole)) bad++;
        ddb_obj_unref(o);
        ddb_decoder_free(d);
        ddb_obj *t = ddb_decode(b, k, 1, NULL, NULL, err, sizeof err);
        if (t || !strstr(err, "truncated")) bad++;
        ddb_obj_unref(t);
    }
    CHECK(bad == 0, "%s: %d truncation checks failed", what, bad);
    ddb_obj_unref(whole);
    return (int)len;
}

static void truncation_suite(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/cpp-api.tsv", dir);
    cs_table t;
    CHECK(cs_load_tsv(path, &t) == 0, "cannot read %s", path);
    int offsets = 0, rows = 0;
    for (int r = 0; r < t.nrows; r++) {
        size_t len;
        uint8_t *b = cs_unhex(cs_field(&t, r, "hex"), &len);
        if (len > 2000) { free(b); continue; }   /* the two big rows: quadratic here */
        offsets += truncations(b, len, cs_field(&t, r, "id"));
        rows++;
        free(b);
    }
    cs_free_tsv(&t);
    const char *compressed[] = {   /* E39, E40 of tests/vectors/protocol-examples.tsv */
        "1a0130000000010000000001ff02040400000000000005000000ffffffff18000000000000400100"
        "0080ffffffffff7ec09f0000000000ffffff",
        "0806030000000200000000760073001a0130000000010000000001ff020404000000000000030000"
        "00ffffffff18000000050000400a000080ffffffffffff7f1f00000000000080ff91010300000001"
        "00000000000000030000000061006200010000000100000002000000",
    };
    for (int i = 0; i < 2; i++) {
        size_t len;
        uint8_t *b = cs_unhex(compressed[i], &len);
        CHECK(b != NULL, "compressed example %d hex", i);
        if (b) offsets += truncations(b, len, i ? "E40" : "E39");
        free(b);
        rows++;
    }
    printf("truncation: %d objects cut at every one of %d offsets: NEED_MORE, resumable, "
           "one-shot says truncated\n", rows, offsets);
}

static void structural_errors(void)
{
    expect_error("invalid type in a vector", "3201 01000000 01000000 00", "invalid data type 50");
    expect_error("legacy DECIMAL id 33", "2101 01000000 01000000 00", "invalid data type 33");
    expect_error("COMPRESS scalar", "1a00 01", "invalid data type 26 in a SCALAR");
    expect_error("ANY scalar", "1900 00", "invalid data type 25 in a SCALAR");
    expect_error("unsupported form 9", "0409 00", "unsupported data form 9");
    expect_error("form 200", "04c8 00", "unsupported data form 200");
    expect_error("negative vector rows", "0401 ffffffff 01000000", "negative row count -1");
    expect_error("pair of 3", "0402 03000000 01000000 010000000200000003000000", "PAIR with 3");
    expect_error("negative table dims", "0006 ffffffff 01000000", "negative TABLE");
    expect_error("negative matrix dims", "0403 00 0403 02000000 feffffff", "negative MATRIX");
    expect_error("bad matrix label flags", "0403 04", "label flags 0x04");
    expect_error("matrix data type differs", "0403 00 0503 01000000 01000000", "matrix data header");
    expect_error("matrix label count", "0403 01 0401 03000000 01000000 010000000200000003000000"
                 "0403 02000000 01000000 0100000002000000", "2 rows but 3 row labels");
    expect_error("negative BLOB length", "2000 ffffffff", "negative BLOB length -1");
    expect_error("negative chunk size", "0008 ffff", "negative CHUNK size");
    expect_error("VOID scalar byte 3", "0000 03", "invalid VOID scalar byte 3");
    expect_error("table column rows", "0006 02000000 01000000 00 6100 0401 01000000 01000000 05000000",
                 "has 1 rows, expected 2");
    expect_error("table column is a scalar", "0006 01000000 01000000 00 6100 0400 05000000",
                 "is a SCALAR, not a VECTOR");
    expect_error("dictionary length mismatch", "0405 0401 01000000 01000000 01000000"
                 "0401 02000000 01000000 0100000002000000", "1 keys but 2 values");
    expect_error("set of a scalar", "0404 0400 01000000", "set keys must be a VECTOR");
    expect_error("array vector countBytes 3", "4401 01000000 01000000 0100 0300", "countBytes 3");
    expect_error("array vector block too big", "4401 01000000 01000000 0200 0100 0101",
                 "block of 2 rows (1 rows left)");
    expect_error("array vector empty block", "4401 01000000 01000000 0000 0100", "block of 0 rows");
}

static void symbol_errors(void)
{
    expect_error("symbol base reuse of unknown id", "9101 01000000 01000000 07000000 00000000 00000000",
                 "symbol base id 7 reused (size 0) but never defined");
    expect_error("symbol index beyond base", "9101 02000000 01000000 00000000 02000000 00 6100"
                 "01000000 02000000", "symbol index 2 outside the symbol base of 2 entries at byte 25");
    expect_error("negative symbol index", "9101 01000000 01000000 00000000 01000000 00 ffffffff",
                 "symbol index -1 outside");
    expect_error("symbol base too large", "9101 01000000 01000000 00000000 01002000",
                 "symbol base size 2097153 out of range");
    expect_error("negative symbol base size", "9101 01000000 01000000 00000000 ffffffff",
                 "symbol base size -1");
    /* a base defined in one column is usable by the next; ids are per top-level object */
    size_t len, used;
    char err[256];
    uint8_t *b = cs_unhex("9101 01000000 01000000 00000000 00000000 00000000", &len);
    ddb_obj *o = ddb_decode(b, len, 1, NULL, &used, err, sizeof err);
    CHECK(!o && strstr(err, "never defined"), "a base from an earlier object is not in scope");
    ddb_obj_unref(o);
    free(b);
}

static void decimal_errors(void)
{
    expect_error("DECIMAL32 scale 10", "2500 0a000000 01000000", "invalid DECIMAL32 scale 10 (valid 0..9)");
    expect_error("DECIMAL64 scale 19", "2601 01000000 01000000 13000000", "invalid DECIMAL64 scale 19");
    expect_error("DECIMAL128 scale 39", "2700 27000000", "invalid DECIMAL128 scale 39 (valid 0..38)");
    expect_error("negative decimal scale", "2500 ffffffff", "scale -1");
    expect_error("decimal array scale", "6501 01000000 01000000 0a000000", "invalid DECIMAL32 scale 10");
    expect_error("compressed decimal scale", "1a01 14000000 01000000 0001ff01 25 04 0a00 00000000"
                 "00000000 ffffffff", "invalid DECIMAL32 scale 10 in a compressed vector");
}

static void limit_errors(void)
{
    ddb_limits small = { 1000, 64 };
    expect_error_lim("INT vector beyond max_object_bytes", "0401 00010000 01000000", "max_object_bytes (1000)", &small);
    expect_error("INT vector of 2^31-1 rows (4 GiB default)", "0401 ffffff7f 01000000", "exceed max_object_bytes");
    /* strings: the budget is hit as bytes arrive, not from the declared count */
    ddb_buf b;
    ddb_buf_init(&b);
    ddb_buf_put(&b, "\x12\x01\xff\xff\xff\x7f\x01\x00\x00\x00", 10);
    for (int i = 0; i < 400; i++) ddb_buf_put(&b, "abcdefg", 8);
    char err[256];
    ddb_obj *o = ddb_decode(b.p, b.len, 1, &small, NULL, err, sizeof err);
    CHECK(!o && strstr(err, "max_object_bytes"), "STRING vector beyond the budget: %s", err);
    printf("  %-44s -> %s\n", "STRING vector beyond max_object_bytes", err);
    /* a huge declared count with few bytes is just NEED_MORE (nothing allocated) */
    ddb_decoder *d = ddb_decoder_new(NULL);
    ddb_decoder_reset(d, 1);
    size_t used;
    int r = ddb_decoder_feed(d, b.p, 200, &used);
    CHECK(r == DDB_DEC_NEED_MORE && used == 200, "2^31 strings declared: NEED_MORE");
    ddb_decoder_free(d);
    ddb_buf_reset(&b);
    ddb_buf_put(&b, "\x19\x01\xff\xff\xff\x7f\x01\x00\x00\x00", 10);
    for (int i = 0; i < 100; i++) ddb_buf_put(&b, "\x04\x00\x01\x00\x00\x00", 6);
    o = ddb_decode(b.p, b.len, 1, &small, NULL, err, sizeof err);
    CHECK(!o && strstr(err, "max_object_bytes"), "ANY vector of many scalars: %s", err);
    /* a string longer than the protocol allows */
    ddb_buf_reset(&b);
    ddb_buf_put(&b, "\x12\x00", 2);
    for (int i = 0; i < DDB_MAX_STRING_LEN / 64 + 2; i++)
        ddb_buf_put(&b, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 64);
    o = ddb_decode(b.p, b.len, 1, NULL, NULL, err, sizeof err);
    CHECK(!o && strstr(err, "string longer than 262143 bytes at byte 2"), "long string: %s", err);
    printf("  %-44s -> %s\n", "STRING of 256 KiB", err);
    /* nesting: ANY inside ANY ... */
    ddb_buf_reset(&b);
    for (int i = 0; i < 70; i++) ddb_buf_put(&b, "\x19\x01\x01\x00\x00\x00\x01\x00\x00\x00", 10);
    ddb_buf_put(&b, "\x04\x00\x01\x00\x00\x00", 6);
    o = ddb_decode(b.p, b.len, 1, NULL, NULL, err, sizeof err);
    CHECK(!o && strstr(err, "nesting deeper than max_depth (64)"), "deep ANY: %s", err);
    printf("  %-44s -> %s\n", "ANY nested 70 deep", err);
    ddb_limits deep = { (int64_t)1 << 30, 80 };
    o = ddb_decode(b.p, b.len, 1, &deep, NULL, err, sizeof err);
    CHECK(o != NULL, "ANY nested 70 deep within max_depth 80: %s", o ? "" : err);
    ddb_obj_unref(o);
    ddb_buf_free(&b);
}

static void compressed_errors(void)
{
    const char *hdr = "1a01 %s 01000000 0001ff%s 04 04 0000 00000000 %s ffffffff %s";
    char hex[512];
    snprintf(hex, sizeof hex, hdr, "10000000", "01", "01000000", "");
    expect_error("compressed byteSize < 20", hex, "smaller than its 20-byte header");
    snprintf(hex, sizeof hex, hdr, "14000000", "03", "01000000", "");
    expect_error("compression method 3", hex, "unknown compression method 3");
    snprintf(hex, sizeof hex, hdr, "1d000000", "01", "01000000", "05000000 ffffffffff");
    expect_error("garbage LZ4 block", hex, "corrupt LZ4 block");
    snprintf(hex, sizeof hex, hdr, "1d000000", "01", "01000000", "40000000 ffffffffff");
    expect_error("block overruns byteSize", hex, "overruns the vector");
    snprintf(hex, sizeof hex, hdr, "1d000000", "01", "02000000", "05000000 4001000000");
    expect_error("LZ4 payload too short", hex, "decompressed data too short");
    snprintf(hex, sizeof hex, hdr, "24000000", "02", "05000000", "0c000000 0000004001000080ffffffff");
    expect_error("truncated delta block", hex, "corrupt delta-of-delta block");
    snprintf(hex, sizeof hex, hdr, "14000000", "02", "05000000", "");
    expect_error("delta blocks missing", hex, "hold 0 of 5 elements");
    snprintf(hex, sizeof hex, hdr, "1d000000", "01", "00000000", "05000000 4001000000");
    expect_error("LZ4 data for an empty vector", hex, "more data than 0 INT cells");
    snprintf(hex, sizeof hex, hdr, "19000000", "01", "00000000", "01000000 00");
    size_t len, used;
    uint8_t *b = cs_unhex(hex, &len);
    char err[256] = "";
    ddb_obj *o = ddb_decode(b, len, 1, NULL, &used, err, sizeof err);
    CHECK(o && o->rows == 0 && used == len, "empty compressed vector with an empty block: %s", err);
    ddb_obj_unref(o);
    free(b);
    expect_error("compressed SYMBOL", "1a01 14000000 01000000 0001ff01 11 04 0000 00000000 00000000 ffffffff",
                 "data type 17 cannot be compressed");
    expect_error("delta of DOUBLE", "1a01 14000000 01000000 0001ff02 10 08 0000 00000000 00000000 ffffffff",
                 "delta-of-delta compression of DOUBLE");
}

static void reset_after_error(void)
{
    ddb_decoder *d = ddb_decoder_new(NULL);
    ddb_decoder_reset(d, 1);
    size_t used;
    CHECK(ddb_decoder_feed(d, "\x32\x01\x00\x00", 4, &used) == DDB_DEC_ERROR, "error state");
    CHECK(ddb_decoder_feed(d, "\x04\x00\x01\x00\x00\x00", 6, &used) == DDB_DEC_ERROR,
          "an errored decoder stays errored until reset");
    ddb_decoder_reset(d, 1);
    CHECK(ddb_decoder_feed(d, "\x04\x00\x01\x00\x00\x00\xff", 7, &used) == DDB_DEC_DONE &&
          used == 6, "after reset: DONE consuming exactly the object's 6 bytes");
    ddb_obj *o = ddb_decoder_take(d);
    CHECK(o && ddb_int_at(o, 0) == 1, "value after reset");
    ddb_obj_unref(o);
    CHECK(ddb_decoder_feed(d, "\x04", 1, &used) == DDB_DEC_ERROR &&
          strstr(ddb_decoder_error(d), "reset"), "feeding a taken decoder asks for a reset");
    /* big-endian objects: INT vector [1, NULL] and a STRING scalar */
    ddb_decoder_reset(d, 0);
    const char be[] = "\x01\x04\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x01\x80\x00\x00\x00";
    CHECK(ddb_decoder_feed(d, be, 18, &used) == DDB_DEC_DONE, "big-endian INT vector");
    o = ddb_decoder_take(d);
    CHECK(o && o->rows == 2 && ddb_int_at(o, 0) == 1 && ddb_is_null(o, 1), "big-endian cells swapped");
    ddb_obj_unref(o);
    ddb_decoder_free(d);
}

/* Big-endian objects (the reader swaps every number after copying). */
static void big_endian(void)
{
    static const struct { const char *what, *hex, *le_equivalent; } cases[] = {
        { "SYMBOL vector", "0191 00000003 00000001 00000000 00000003 00610062 00 00000001 00000002 00000001",
          "9101030000000100000000000000030000000061006200010000000200000001000000" },
        { "INT[] with 2-byte counts", "0144 00000002 00000005 0002 02 00 0003 0002"
          "00000001 00000002 00000003 00000004 00000005",
          "4401020000000500000002000100030201000000020000000300000004000000 05000000" },
        { "DECIMAL128 -1.00", "0027 00000002 ffffffffffffffffffffffffffffff9c",
          "2700020000009cffffffffffffffffffffffffffffff" },
        { "DURATION 3d", "0024 00000003 00000006", "24000300000006000000" },
        { "COMPLEX 1+2i", "0022 3ff0000000000000 4000000000000000",
          "2200000000000000f03f0000000000000040" },
        { "delta-of-delta INT [1,2,3,NULL,5], big-endian payload",
          "011a 00000030 00000001 00 00 ff 02 04 04 0000 00000000 00000005 ffffffff 00000018"
          "8000000140000000 9fc07effffffffff ffffff0000000000",
          "0401050000000100000001000000020000000300000000000080 05000000" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t blen, llen, used;
        char err[256] = "";
        uint8_t *be = cs_unhex(cases[i].hex, &blen), *le = cs_unhex(cases[i].le_equivalent, &llen);
        ddb_obj *a = ddb_decode(be, blen, 0, NULL, &used, err, sizeof err);
        CHECK(a && used == blen, "big-endian %s: %s", cases[i].what, err);
        ddb_obj *b = ddb_decode(le, llen, 1, NULL, NULL, err, sizeof err);
        CHECK(b && ddb_obj_equal(a, b), "big-endian %s equals its little-endian twin", cases[i].what);
        ddb_obj_unref(a); ddb_obj_unref(b);
        free(be); free(le);
    }
    printf("big-endian: %zu objects decode equal to their little-endian twins\n",
           sizeof cases / sizeof *cases);
}

/* ---------------------------------------------------------------- declared counts */

/* Bytes currently allocated by this process (the sanitizer's allocator under ASan). */
static int64_t heap_in_use(void)
{
#ifdef CS_ASAN
    return (int64_t)__sanitizer_get_current_allocated_bytes();
#else
    struct mallinfo2 mi = mallinfo2();
    return (int64_t)(mi.uordblks + mi.hblkhd);
#endif
}

#define FEW_MIB ((int64_t)4 << 20)

/* Feed `len` bytes to a fresh decoder: it must want more and have allocated less than
 * FEW_MIB for it. Returns the decoder (still holding the partial object). */
static ddb_decoder *feed_partial(const char *what, const void *p, size_t len)
{
    int64_t before = heap_in_use();
    ddb_decoder *d = ddb_decoder_new(NULL);
    ddb_decoder_reset(d, 1);
    size_t used = 0;
    int r = ddb_decoder_feed(d, p, len, &used);
    int64_t grew = heap_in_use() - before;
    CHECK(r == DDB_DEC_NEED_MORE && used == len, "%s: NEED_MORE after %zu bytes (r=%d, used=%zu)",
          what, len, r, used);
    CHECK(grew < FEW_MIB, "%s: %lld bytes allocated for %zu bytes of input", what, (long long)grew,
          len);
    printf("  %-44s -> NEED_MORE, %lld KiB allocated for %zu bytes\n", what,
           (long long)(grew >> 10), len);
    return d;
}

static void put_i32(ddb_buf *b, int32_t v) { ddb_buf_put(b, &v, 4); }   /* host is LE */

/* An INT vector claiming 500M rows (2 GB): header and a few cells cost kilobytes. */
static void huge_int_vector(void)
{
    ddb_buf b;
    ddb_buf_init(&b);
    ddb_buf_put(&b, "\x04\x01", 2);
    put_i32(&b, 500000000);
    put_i32(&b, 1);
    ddb_decoder_free(feed_partial("INT vector of 500M rows, header only", b.p, b.len));
    for (int32_t i = 0; i < 64; i++) put_i32(&b, i);
    ddb_decoder_free(feed_partial("INT vector of 500M rows, 64 cells", b.p, b.len));
    ddb_buf_free(&b);
}

/* A 3M-row LONG vector: first a few cells (little memory), then the rest in one piece
 * or in 64 KiB pieces; both complete to the right values. */
static void growing_vector_completes(void)
{
    const int32_t rows = 3000000;
    ddb_buf b;
    ddb_buf_init(&b);
    ddb_buf_put(&b, "\x05\x01", 2);
    put_i32(&b, rows);
    put_i32(&b, 1);
    for (int64_t i = 0; i < rows; i++) {
        int64_t v = i * 7 - 5;
        ddb_buf_put(&b, &v, 8);
    }
    for (int pieces = 0; pieces < 2; pieces++) {
        size_t head = 10 + 8 * 10;
        ddb_decoder *d = feed_partial(pieces ? "LONG 3M rows, then 64 KiB pieces"
                                             : "LONG 3M rows, then the rest at once",
                                      b.p, head);
        size_t off = head, used = 0;
        int r = DDB_DEC_NEED_MORE;
        while (r == DDB_DEC_NEED_MORE && off < b.len) {
            size_t k = pieces ? (b.len - off < 65536 ? b.len - off : 65536) : b.len - off;
            r = ddb_decoder_feed(d, b.p + off, k, &used);
            off += used;
        }
        ddb_obj *o = r == DDB_DEC_DONE ? ddb_decoder_take(d) : NULL;
        int bad = 0;
        for (int64_t i = 0; o && i < rows; i++) bad += ddb_int_at(o, i) != i * 7 - 5;
        CHECK(o && o->rows == rows && bad == 0 && off == b.len,
              "growing LONG vector (%s) decodes to its values (%d wrong)",
              pieces ? "pieces" : "rest", bad);
        ddb_obj_unref(o);
        ddb_decoder_free(d);
    }
    ddb_buf_free(&b);
}

/* A table of 300M rows with three fixed-width columns: only the first column's
 * header and a few cells have arrived. */
static void huge_table(void)
{
    ddb_buf b;
    ddb_buf_init(&b);
    ddb_buf_put(&b, "\x00\x06", 2);
    put_i32(&b, 300000000);
    put_i32(&b, 3);
    ddb_buf_put(&b, "t\0a\0b\0c\0", 8);
    ddb_buf_put(&b, "\x10\x01", 2);          /* DOUBLE column */
    put_i32(&b, 300000000);
    put_i32(&b, 1);
    for (int i = 0; i < 32; i++) ddb_buf_put(&b, "\0\0\0\0\0\0\xf0\x3f", 8);
    ddb_decoder_free(feed_partial("table of 3 x 300M-row columns, 32 cells", b.p, b.len));
    ddb_buf_free(&b);
}

/* ANY vector claiming 2^31-1 items, three INT scalars sent. */
static void huge_any_vector(void)
{
    ddb_buf b;
    ddb_buf_init(&b);
    ddb_buf_put(&b, "\x19\x01\xff\xff\xff\x7f\x01\x00\x00\x00", 10);
    for (int i = 0; i < 3; i++) ddb_buf_put(&b, "\x04\x00\x01\x00\x00\x00", 6);
    ddb_decoder_free(feed_partial("ANY vector of 2^31-1 items, 3 sent", b.p, b.len));
    ddb_buf_free(&b);
}

/* Array vector (INT[]): two rows whose counts claim 100M values each. */
static void huge_array_vector(void)
{
    ddb_buf b;
    ddb_buf_init(&b);
    ddb_buf_put(&b, "\x44\x01", 2);
    put_i32(&b, 2);
    put_i32(&b, 1);
    ddb_buf_put(&b, "\x02\x00\x04\x00", 4);
    put_i32(&b, 100000000);
    put_i32(&b, 100000000);
    for (int32_t i = 0; i < 16; i++) put_i32(&b, i);
    ddb_decoder_free(feed_partial("INT[] counts claiming 200M values", b.p, b.len));
    ddb_buf_free(&b);
}

/* Symbol vector with a one-entry base, claiming 400M indices. */
static void huge_symbol_vector(void)
{
    ddb_buf b;
    ddb_buf_init(&b);
    ddb_buf_put(&b, "\x91\x01", 2);
    put_i32(&b, 400000000);
    put_i32(&b, 1);
    put_i32(&b, 0);                            /* base id */
    put_i32(&b, 1);                            /* one entry */
    ddb_buf_put(&b, "", 1);
    for (int i = 0; i < 16; i++) put_i32(&b, 0);
    ddb_decoder_free(feed_partial("SYMBOL vector of 400M indices", b.p, b.len));
    ddb_buf_free(&b);
}

static void declared_counts(void)
{
    huge_int_vector();
    growing_vector_completes();
    huge_table();
    huge_any_vector();
    huge_array_vector();
    huge_symbol_vector();
}

int main(int argc, char **argv)
{
    big_endian();
    truncation_suite(argc > 1 ? argv[1] : "tests/vectors");
    structural_errors();
    symbol_errors();
    decimal_errors();
    limit_errors();
    compressed_errors();
    reset_after_error();
    declared_counts();
    return cs_finish("test_codec_malformed");
}
