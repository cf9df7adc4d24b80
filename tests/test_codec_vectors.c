/* test_codec_vectors — the official byte vectors (tests/vectors/README.md):
 *  cpp-api.tsv: every row decodes consuming all bytes, re-encodes byte for byte,
 *  decodes identically when fed byte by byte and in random pieces, and (for the
 *  rows listed in check_values) holds the value its description states.
 *  official-go.tsv: every valid row decodes; rows the data marks inconsistent are
 *  rejected with an error.
 * Usage: test_codec_vectors <vectors dir> */
#include "codec_support.h"
#include "codec_values.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_cpp_row(const char *id, const uint8_t *bytes, size_t len)
{
    char err[256] = "";
    size_t used = 0;
    ddb_obj *o = ddb_decode(bytes, len, 1, NULL, &used, err, sizeof err);
    CHECK(o != NULL, "%s: decode failed: %s", id, err);
    if (!o) return;
    CHECK(used == len, "%s: consumed %zu of %zu bytes", id, used, len);

    size_t elen = 0;
    uint8_t *enc = cs_encode(o, &elen, DDB_COMPRESS_NONE, err, sizeof err);
    CHECK(enc != NULL, "%s: encode failed: %s", id, err);
    if (enc) {
        bool same = elen == len && memcmp(enc, bytes, len) == 0;
        if (!same) {
            char *a = cs_hex(bytes, len), *b = cs_hex(enc, elen);
            CHECK(false, "%s: re-encoding differs\n  want %s\n  got  %s", id, a, b);
            free(a); free(b);
        }
        ddb_obj *again = ddb_decode(enc, elen, 1, NULL, &used, err, sizeof err);
        CHECK(again && ddb_obj_equal(o, again), "%s: re-decoded value differs (%s)", id, err);
        ddb_obj_unref(again);
        free(enc);
    }
    size_t chunks[] = { 1, 2, 3, 7, 64, 0, 0, 0 };
    for (size_t k = 0; k < sizeof chunks / sizeof *chunks; k++) {
        ddb_obj *p = cs_decode_chunked(bytes, len, chunks[k], (unsigned)(k * 7919), NULL,
                                       &used, err, sizeof err);
        CHECK(p && used == len && ddb_obj_equal(o, p),
              "%s: fed in pieces of %zu (0 = random): %s", id, chunks[k], p ? "value differs" : err);
        ddb_obj_unref(p);
    }
    /* bytes after the object are left to the caller */
    uint8_t *more = malloc(len + 3);
    memcpy(more, bytes, len);
    memcpy(more + len, "\x04\x00\x01", 3);
    ddb_obj *m = ddb_decode(more, len + 3, 1, NULL, &used, err, sizeof err);
    CHECK(m && used == len && ddb_obj_equal(o, m), "%s: trailing bytes: consumed %zu of %zu",
          id, used, len);
    ddb_obj_unref(m);
    free(more);
    cv_check_value(id, o);
    ddb_obj_unref(o);
}

static int run_cpp(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/cpp-api.tsv", dir);
    cs_table t;
    if (cs_load_tsv(path, &t) < 0) { CHECK(false, "cannot read %s", path); return 0; }
    for (int r = 0; r < t.nrows; r++) {
        size_t len;
        const char *id = cs_field(&t, r, "id");
        uint8_t *b = cs_unhex(cs_field(&t, r, "hex"), &len);
        CHECK(b != NULL, "%s: bad hex", id);
        if (b) check_cpp_row(id, b, len);
        free(b);
    }
    int n = t.nrows;
    cs_free_tsv(&t);
    return n;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/vectors";
    int n = run_cpp(dir);
    printf("cpp-api.tsv: %d rows decoded, re-encoded, fed in pieces; %d rows value-checked\n",
           n, cv_checked_rows());
    CHECK(n >= 90, "expected the ~97 rows of cpp-api.tsv, got %d", n);
    CHECK(cv_checked_rows() >= 60, "value checks ran for only %d rows", cv_checked_rows());
    int g = run_go(dir);
    printf("official-go.tsv: %d rows checked\n", g);
    CHECK(g >= 75, "expected the ~80 rows of official-go.tsv, got %d", g);
    return cs_finish("test_codec_vectors");
}
