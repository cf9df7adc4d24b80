/* test_codec_examples — the worked examples E1..E40 and the one-line objects L1..L23
 * of tests/vectors/protocol-examples.tsv (tests/vectors/README.md): each decodes using
 * all its bytes and re-encodes byte for byte, except where the examples' writer is not
 * the C++ one we mirror: E35 (a reused symbol base; C++ never reuses), E37..E39
 * (stand-alone compressed vectors; C++ compresses only tables) and the plain
 * type-17 SYMBOL vector — those must re-decode to an equal value. E40 (a compressed
 * table) re-encodes exactly with delta-of-delta table compression on.
 * Usage: test_codec_examples <vectors dir> */
#include "codec_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int examples;

static void check_example(const char *name, const char *hex)
{
    size_t len, used = 0, elen = 0;
    char err[256] = "";
    uint8_t *b = cs_unhex(hex, &len);
    CHECK(b != NULL, "%s: bad hex", name);
    if (!b) return;
    examples++;
    ddb_obj *o = ddb_decode(b, len, 1, NULL, &used, err, sizeof err);
    CHECK(o && used == len, "%s: decode: %s (used %zu of %zu)", name, err, used, len);
    bool exact = !strstr(name, "E35.") && !strstr(name, "E37.") && !strstr(name, "E38.") &&
                 !strstr(name, "E39.") && !strstr(name, "as plain strings");
    int compress = strstr(name, "E40.") ? DDB_COMPRESS_DELTA : DDB_COMPRESS_NONE;
    uint8_t *e = o ? cs_encode(o, &elen, compress, err, sizeof err) : NULL;
    CHECK(!o || e, "%s: encode: %s", name, err);
    if (o && e) {
        if (exact && !(elen == len && memcmp(e, b, len) == 0)) {
            char *h = cs_hex(e, elen);
            CHECK(false, "%s: re-encoding differs\n  got %s", name, h);
            free(h);
        }
        ddb_obj *again = ddb_decode(e, elen, 1, NULL, &used, err, sizeof err);
        CHECK(ddb_obj_equal(o, again), "%s: re-decoded value differs (%s)", name, err);
        ddb_obj_unref(again);
    }
    /* a few values the headings state */
    if (o && strstr(name, "E39.")) {
        CHECK(o->rows == 5 && ddb_int_at(o, 0) == 1 && ddb_int_at(o, 2) == 3 &&
              ddb_is_null(o, 3) && ddb_int_at(o, 4) == 5, "%s: [1,2,3,NULL,5]", name);
    } else if (o && strstr(name, "E38.")) {
        bool ok = o->rows == 40;
        for (int i = 0; ok && i < 40; i++) ok = ddb_int_at(o, i) == i % 4;
        CHECK(ok, "%s: 0,1,2,3 x 10", name);
    } else if (o && strstr(name, "E37.")) {
        CHECK(o->rows == 3 && ddb_int_at(o, 2) == 3, "%s: [1,2,3]", name);
    } else if (o && strstr(name, "E40.")) {
        size_t l;
        CHECK(o->rows == 3 && ddb_int_at(o->columns[0], 1) == 20 &&
              ddb_int_at(o->columns[0], 2) == 30 &&
              !strcmp(ddb_str_at(o->columns[1], 2, &l), "b"), "%s: v/s columns", name);
    } else if (o && strstr(name, "E35.")) {
        size_t l;
        CHECK(!strcmp(ddb_str_at(o->columns[1], 0, &l), "y") &&
              !strcmp(ddb_str_at(o->columns[0], 0, &l), "x"), "%s: shared base", name);
    } else if (o && strstr(name, "E32.")) {
        CHECK(o->rows == 3 && o->row_offs[1] == 1 && o->row_offs[2] == 1 &&
              o->row_offs[3] == 3 && ddb_is_null(o->values, 2), "%s: rows", name);
    } else if (o && strstr(name, "E16.")) {
        CHECK(ddb_double_at(o, 0) == -1.0 && o->scale == 2, "%s: -1.00", name);
    }
    free(e);
    ddb_obj_unref(o);
    free(b);
}

int main(int argc, char **argv)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/protocol-examples.tsv", argc > 1 ? argv[1] : "tests/vectors");
    cs_table t;
    if (cs_load_tsv(path, &t) < 0) {
        CHECK(false, "cannot read %s", path);
        return cs_finish("test_codec_examples");
    }
    for (int r = 0; r < t.nrows; r++) {
        /* "E35. Table whose ..." : check_example recognises the exceptions by name */
        char name[300];
        snprintf(name, sizeof name, "%s. %s", cs_field(&t, r, "id"), cs_field(&t, r, "description"));
        check_example(name, cs_field(&t, r, "hex"));
    }
    cs_free_tsv(&t);
    printf("protocol-examples.tsv: %d examples decoded and re-encoded\n", examples);
    CHECK(examples >= 60, "expected ~63 examples, found %d", examples);
    return cs_finish("test_codec_examples");
}
