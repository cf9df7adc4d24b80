/* test_codec_obj — the object model API: type facts, constructors and their NULLs,
 * appenders, accessors, equality rules (sets/dictionaries by content, SYMBOL vs
 * STRING by text), and encoder refusals. */
#include "codec_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void type_facts(void)
{
    CHECK(!strcmp(ddb_type_name(DDB_INT), "INT"), "INT name");
    CHECK(!strcmp(ddb_type_name(DDB_ARRAY_BASE + DDB_DOUBLE), "DOUBLE[]"), "DOUBLE[] name");
    CHECK(!strcmp(ddb_type_name(DDB_DECIMAL128), "DECIMAL128"), "DECIMAL128 name");
    CHECK(!strcmp(ddb_type_name(200), "UNKNOWN"), "unknown name");
    CHECK(ddb_type_from_name("nanotimestamp") == DDB_NANOTIMESTAMP, "from_name case-insensitive");
    CHECK(ddb_type_from_name("INT[]") == DDB_ARRAY_BASE + DDB_INT, "from_name INT[]");
    CHECK(ddb_type_from_name("nope") == -1, "from_name unknown");
    for (int t = 0; t < 128; t++) {
        const char *n = ddb_type_name(t);
        if (strcmp(n, "UNKNOWN")) CHECK(ddb_type_from_name(n) == t, "name round trip %d %s", t, n);
    }
    CHECK(ddb_type_width(DDB_BOOL) == 1 && ddb_type_width(DDB_SHORT) == 2 &&
          ddb_type_width(DDB_DATE) == 4 && ddb_type_width(DDB_TIMESTAMP) == 8 &&
          ddb_type_width(DDB_UUID) == 16 && ddb_type_width(DDB_DURATION) == 8 &&
          ddb_type_width(DDB_SYMBOL) == 4 && ddb_type_width(DDB_STRING) == 0, "widths");
    CHECK(ddb_type_class_of(DDB_STRING) == DDB_CLASS_VARLEN &&
          ddb_type_class_of(DDB_SYMBOL) == DDB_CLASS_SYMBOL &&
          ddb_type_class_of(DDB_ANY) == DDB_CLASS_ANY &&
          ddb_type_class_of(DDB_ARRAY_BASE + DDB_INT) == DDB_CLASS_ARRAY &&
          ddb_type_class_of(DDB_ARRAY_BASE + DDB_STRING) == DDB_CLASS_INVALID &&
          ddb_type_class_of(DDB_COMPRESS) == DDB_CLASS_INVALID, "classes");
    CHECK(ddb_decimal_max_scale(DDB_DECIMAL64) == 18 && ddb_decimal_max_scale(DDB_INT) == -1,
          "decimal scales");
    CHECK(!strcmp(ddb_form_name(DDB_DICTIONARY), "DICTIONARY"), "form name");
}

static void constructors(void)
{
    static const int types[] = { DDB_BOOL, DDB_CHAR, DDB_SHORT, DDB_INT, DDB_LONG, DDB_DATE,
                                 DDB_TIMESTAMP, DDB_FLOAT, DDB_DOUBLE, DDB_UUID, DDB_IPADDR,
                                 DDB_INT128, DDB_COMPLEX, DDB_POINT, DDB_DURATION,
                                 DDB_DECIMAL32, DDB_DECIMAL64, DDB_DECIMAL128, DDB_STRING,
                                 DDB_SYMBOL, DDB_BLOB, DDB_VOID };
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        ddb_obj *s = ddb_scalar_new(types[i]);
        CHECK(s && ddb_is_null(s, 0), "%s scalar is NULL", ddb_type_name(types[i]));
        ddb_obj_unref(s);
    }
    ddb_obj *i = ddb_int_new(DDB_INT, -5), *d = ddb_double_new(DDB_DOUBLE, 2.5);
    ddb_obj *s = ddb_string_new(DDB_STRING, "hi", 2);
    size_t len;
    CHECK(ddb_int_at(i, 0) == -5 && !ddb_is_null(i, 0), "int scalar");
    CHECK(ddb_double_at(d, 0) == 2.5, "double scalar");
    CHECK(!strcmp(ddb_str_at(s, 0, &len), "hi") && len == 2, "string scalar");
    ddb_obj *dec = ddb_int_new(DDB_DECIMAL128, -100);
    dec->scale = 2;
    CHECK(ddb_double_at(dec, 0) == -1.0, "DECIMAL128 -1.00");
    ddb_obj_unref(i); ddb_obj_unref(d); ddb_obj_unref(s); ddb_obj_unref(dec);

    ddb_obj *v = ddb_vector_new(DDB_STRING, 3);
    CHECK(v->rows == 3 && ddb_is_null(v, 2) && !strcmp(ddb_str_at(v, 1, &len), ""), "3 empty strings");
    ddb_obj_unref(v);
    v = ddb_vector_new(DDB_ANY, 2);
    CHECK(v->items[1] && v->items[1]->type == DDB_VOID && ddb_is_null(v, 1), "ANY of VOIDs");
    ddb_obj_unref(v);
    v = ddb_vector_new(DDB_SYMBOL, 2);
    CHECK(v->symbase && v->symbase->n == 1 && ddb_is_null(v, 0), "SYMBOL vector with base {\"\"}");
    ddb_obj_unref(v);
    ddb_obj *m = ddb_matrix_new(DDB_INT, 2, 3);
    CHECK(m->form == DDB_MATRIX && m->rows == 2 && m->cols == 3 && ddb_int_at(m, 5) == 0, "matrix");
    ddb_obj_unref(m);
    ddb_obj *a = ddb_array_vector_new(DDB_INT, 2, 3);
    CHECK(a->type == DDB_ARRAY_BASE + DDB_INT && a->values->rows == 3 && a->row_offs[2] == 0, "array vector");
    ddb_obj_unref(a);
    CHECK(ddb_vector_new(DDB_INT, -1) == NULL, "negative length refused");
}

static void appenders(void)
{
    ddb_obj *v = ddb_vector_new(DDB_SYMBOL, 0);
    const char *words[] = { "b", "a", "b", "", "a", "c" };
    for (int i = 0; i < 6; i++) ddb_symbol_append(v, words[i], strlen(words[i]));
    CHECK(v->rows == 6 && v->symbase->n == 4, "interning: 3 symbols + \"\" (base %d)", v->symbase->n);
    size_t len;
    CHECK(!strcmp(ddb_str_at(v, 4, &len), "a") && ddb_is_null(v, 3), "symbol access");
    for (int i = 0; i < 5000; i++) {
        char s[16];
        int n = snprintf(s, sizeof s, "k%d", i % 700);
        ddb_varlen_append(v, s, (size_t)n);      /* on a SYMBOL vector: interns */
    }
    CHECK(v->rows == 5006 && v->symbase->n == 704, "5000 appends, 700 distinct");
    ddb_obj *w = ddb_vector_new(DDB_STRING, 0);
    for (int i = 0; i < 6; i++) ddb_varlen_append(w, words[i], strlen(words[i]));
    for (int i = 0; i < 5000; i++) {
        char s[16];
        int n = snprintf(s, sizeof s, "k%d", i % 700);
        ddb_varlen_append(w, s, (size_t)n);
    }
    CHECK(ddb_obj_equal(v, w), "SYMBOL and STRING vectors compare by text");
    ddb_varlen_append(w, "x", 1);
    CHECK(!ddb_obj_equal(v, w), "different lengths differ");
    ddb_obj_unref(v);
    ddb_obj_unref(w);
    ddb_obj *f = ddb_vector_new(DDB_LONG, 0);
    for (int64_t i = 0; i < 10000; i++) ddb_fixed_append(f, &i);
    CHECK(f->rows == 10000 && ddb_int_at(f, 9999) == 9999, "fixed appends");
    ddb_obj *g = ddb_vector_new(DDB_LONG, 0);                  /* bulk: two runs */
    CHECK(ddb_fixed_append_n(g, f->data, 6000) == 0 &&
          ddb_fixed_append_n(g, (int64_t *)f->data + 6000, 4000) == 0 &&
          ddb_fixed_append_n(g, f->data, 0) == 0, "bulk fixed appends");
    CHECK(ddb_obj_equal(f, g), "bulk fixed appends equal cell by cell ones");
    ddb_obj *s = ddb_vector_new(DDB_STRING, 0);
    CHECK(ddb_fixed_append_n(s, f->data, 1) == -1, "bulk fixed append refuses a STRING vector");
    ddb_obj_unref(s);
    ddb_obj_unref(g);
    ddb_obj_unref(f);
    /* bulk symbol appends: src's entries mapped into dst's base, each interned once */
    ddb_obj *src = ddb_vector_new(DDB_SYMBOL, 0), *dst = ddb_vector_new(DDB_SYMBOL, 0),
            *want = ddb_vector_new(DDB_SYMBOL, 0);
    const char *d0[] = { "c", "z" };
    for (int i = 0; i < 2; i++) {
        ddb_symbol_append(dst, d0[i], 1);
        ddb_symbol_append(want, d0[i], 1);
    }
    for (int i = 0; i < 3000; i++) {
        char t[16];
        int n = i % 11 == 0 ? 0 : snprintf(t, sizeof t, "s%d", i % 37);
        ddb_symbol_append(src, t, (size_t)n);
        ddb_symbol_append(want, t, (size_t)n);
    }
    ddb_symbol_append(src, "c", 1);
    ddb_symbol_append(want, "c", 1);
    CHECK(ddb_symbol_append_n(dst, src, src->rows) == 0, "bulk symbol append");
    CHECK(dst->rows == 3003 && ddb_obj_equal(dst, want), "bulk symbol append: same text");
    CHECK(dst->symbase->n == want->symbase->n, "bulk symbol append: no duplicate entries (%d, %d)",
          dst->symbase->n, want->symbase->n);
    CHECK(ddb_symbol_append_n(dst, want, want->rows + 1) == -1, "more rows than src has: refused");
    ddb_obj *l = ddb_vector_new(DDB_LONG, 1);
    CHECK(ddb_symbol_append_n(dst, l, 1) == -1, "a LONG source: refused");
    ddb_obj_unref(l);
    ddb_obj_unref(src);
    ddb_obj_unref(dst);
    ddb_obj_unref(want);
}

/* ddb_symbol_vector_new: the base is "" then the given symbols, the indices 0 until
 * the caller fills them; an empty or repeated symbol, or too many, refused. */
static void symbol_vectors(void)
{
    const char *syms[] = { "b", "a" };
    const size_t lens[] = { 1, 1 };
    ddb_obj *v = ddb_symbol_vector_new(4, 2, syms, lens);
    CHECK(v && v->rows == 4 && v->symbase->n == 3, "symbol vector: 4 rows, base \"\", b, a");
    size_t len = 9;
    CHECK(v && strcmp(ddb_str_at(v, 0, &len), "") == 0 && len == 0, "indices start at 0 (\"\")");
    int32_t idx[] = { 1, 2, 0, 1 };
    memcpy(v->data, idx, sizeof idx);
    ddb_obj *w = ddb_vector_new(DDB_SYMBOL, 0);
    const char *text[] = { "b", "a", "", "b" };
    for (int i = 0; i < 4; i++) ddb_symbol_append(w, text[i], strlen(text[i]));
    CHECK(ddb_obj_equal(v, w), "filled indices read as the symbols");
    ddb_symbol_append(v, "a", 1);                           /* the base's index was built */
    CHECK(v->rows == 5 && v->symbase->n == 3 && ((int32_t *)v->data)[4] == 2, "append interns into it");
    ddb_obj_unref(v);
    ddb_obj_unref(w);
    const char *dup[] = { "x", "x" }, *empty[] = { "x", "" };
    const size_t dlens[] = { 1, 1 }, elens[] = { 1, 0 };
    CHECK(ddb_symbol_vector_new(1, 2, dup, dlens) == NULL, "a repeated symbol: refused");
    CHECK(ddb_symbol_vector_new(1, 2, empty, elens) == NULL, "an empty symbol: refused");
    CHECK(ddb_symbol_vector_new(1, -1, syms, lens) == NULL, "a negative count: refused");
    CHECK(ddb_symbol_vector_new(1, DDB_MAX_SYMBASE, syms, lens) == NULL, "a base too big: refused");
    ddb_obj *none = ddb_symbol_vector_new(0, 0, NULL, NULL);
    CHECK(none && none->rows == 0 && none->symbase->n == 1, "no rows, no symbols");
    ddb_obj_unref(none);
}

static ddb_obj *int_vec(int n, const int32_t *vals)
{
    ddb_obj *v = ddb_vector_new(DDB_INT, 0);
    for (int i = 0; i < n; i++) ddb_fixed_append(v, &vals[i]);
    return v;
}

static void equality(void)
{
    int32_t a[] = { 1, 2, 3 }, b[] = { 3, 1, 2 }, c[] = { 3, 1, 4 };
    ddb_obj *s1 = ddb_set_new(int_vec(3, a)), *s2 = ddb_set_new(int_vec(3, b));
    ddb_obj *s3 = ddb_set_new(int_vec(3, c));
    CHECK(ddb_obj_equal(s1, s2) && !ddb_obj_equal(s1, s3), "sets compare as sets");
    ddb_obj *d1 = ddb_dict_new(int_vec(3, a), int_vec(3, b));
    int32_t b2[] = { 2, 3, 1 };   /* keys 3,1,2 -> values 2,3,1 is the same map */
    ddb_obj *d2 = ddb_dict_new(int_vec(3, b), int_vec(3, b2));
    ddb_obj *d3 = ddb_dict_new(int_vec(3, b), int_vec(3, a));
    CHECK(ddb_obj_equal(d1, d2), "dictionaries compare as maps");
    CHECK(!ddb_obj_equal(d1, d3), "a different mapping differs");
    ddb_obj_unref(s1); ddb_obj_unref(s2); ddb_obj_unref(s3);
    ddb_obj_unref(d1); ddb_obj_unref(d2); ddb_obj_unref(d3);
    ddb_obj *x = ddb_int_new(DDB_INT, 1), *y = ddb_int_new(DDB_LONG, 1);
    CHECK(!ddb_obj_equal(x, y), "INT 1 and LONG 1 are different objects");
    ddb_obj_unref(x); ddb_obj_unref(y);
}

static void encoder_refusals(void)
{
    char err[256] = "";
    size_t len;
    char *big = malloc(DDB_MAX_STRING_LEN + 1);
    memset(big, 'a', DDB_MAX_STRING_LEN + 1);
    ddb_obj *s = ddb_string_new(DDB_STRING, big, DDB_MAX_STRING_LEN + 1);
    uint8_t *e = cs_encode(s, &len, 0, err, sizeof err);
    CHECK(!e && strstr(err, "longer than the protocol allows"), "long string refused: %s", err);
    free(e); ddb_obj_unref(s);
    s = ddb_string_new(DDB_STRING, big, DDB_MAX_STRING_LEN);
    e = cs_encode(s, &len, 0, err, sizeof err);
    CHECK(e && len == DDB_MAX_STRING_LEN + 3, "longest string accepted");
    free(e); ddb_obj_unref(s);
    free(big);
    s = ddb_string_new(DDB_STRING, "a\0b", 3);
    e = cs_encode(s, &len, 0, err, sizeof err);
    CHECK(!e && strstr(err, "NUL"), "embedded NUL refused: %s", err);
    free(e); ddb_obj_unref(s);
    ddb_obj *t = ddb_table_new(2, 1);
    t->columns[0] = ddb_vector_new(DDB_INT, 3);
    e = cs_encode(t, &len, 0, err, sizeof err);
    CHECK(!e && strstr(err, "has 3 rows"), "table column length refused: %s", err);
    free(e); ddb_obj_unref(t);
    /* a failed encode leaves the buffer as it was */
    ddb_buf b;
    ddb_buf_init(&b);
    ddb_buf_puts(&b, "keep");
    ddb_encoder enc;
    ddb_encoder_init(&enc);
    s = ddb_string_new(DDB_STRING, "a\0b", 3);
    CHECK(ddb_encode(&enc, &b, s, err, sizeof err) < 0 && b.len == 4, "buffer rolled back");
    ddb_obj_unref(s);
    ddb_buf_free(&b);
}

/* Forms and types the official vectors do not cover: decode all bytes, re-encode
 * byte for byte (or, for a Java-style table type byte, to an equal value). */
static void odd_objects(void)
{
    static const struct { const char *what, *hex; bool exact; } cases[] = {
        { "VOID matrix 2x3", "0003 00 0003 02000000 03000000", true },
        { "VOID vector", "0001 05000000 01000000", true },
        { "ANY pair", "1902 02000000 01000000 0400 01000000 1200 6100", true },
        { "plain SYMBOL matrix", "1103 00 1103 02000000 01000000 6100 6200", true },
        { "FUNCTIONDEF scalar", "1400 03 6600", true },
        { "CHUNK", "0008 0300 616263", true },
        { "CHART", "1907 1201 01000000 01000000 7400 1901 01000000 01000000 0400 01000000", true },
        { "VOID scalar default", "0000 02", true },
        { "DURATION vector", "2401 02000000 01000000 0a000000 05000000 03000000 06000000", true },
        { "COMPLEX matrix 1x1", "2203 00 2203 01000000 01000000 000000000000f03f 0000000000000040", true },
        { "ANY matrix 1x2", "1903 00 1903 01000000 02000000 0400 01000000 1200 6100", true },
        { "BLOB pair", "2002 02000000 01000000 01000000 61 00000000", true },
        { "Java table type byte 27", "1b06 01000000 01000000 00 6100 0401 01000000 01000000 07000000", false },
        { "DECIMAL64 matrix", "2603 00 2603 01000000 01000000 02000000 7b00000000000000", true },
        { "DECIMAL32 matrix 2x3", "2503 00 2503 02000000 03000000 02000000"
          " 01000000 02000000 03000000 04000000 05000000 06000000", true },
        { "DECIMAL128 matrix 2x0", "2703 00 2703 02000000 00000000 05000000", true },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t len, used = 0, elen = 0;
        char err[256] = "";
        uint8_t *b = cs_unhex(cases[i].hex, &len);
        ddb_obj *o = ddb_decode(b, len, 1, NULL, &used, err, sizeof err);
        CHECK(o && used == len, "%s: decode: %s", cases[i].what, err);
        uint8_t *e = o ? cs_encode(o, &elen, 0, err, sizeof err) : NULL;
        CHECK(!o || e, "%s: encode: %s", cases[i].what, err);
        if (e && cases[i].exact)
            CHECK(elen == len && memcmp(e, b, len) == 0, "%s: re-encoding differs", cases[i].what);
        if (e) {
            ddb_obj *back = ddb_decode(e, elen, 1, NULL, &used, err, sizeof err);
            CHECK(ddb_obj_equal(o, back), "%s: re-decoded value differs", cases[i].what);
            ddb_obj_unref(back);
        }
        free(e);
        free(b);
        ddb_obj_unref(o);
    }
}

/* A DECIMAL matrix is rows, cols, scale, then every cell (docs/PROTOCOL.md §4.11): the
 * decoder once went from the scale to the cells without keeping the column count,
 * so a 2x3 matrix came back as 2x1 (and 2x0 read cells from nowhere). */
static void decimal_matrix_dims(void)
{
    static const struct { const char *hex; int64_t rows, cols; int32_t scale; } cases[] = {
        { "2503 00 2503 02000000 03000000 02000000 010000000200000003000000"
          "040000000500000006000000", 2, 3, 2 },
        { "2603 01 0401 02000000 01000000 0700000008000000 2603 02000000 02000000 01000000"
          " 0100000000000000 0200000000000000 0300000000000000 0400000000000000", 2, 2, 1 },
        { "2703 00 2703 02000000 00000000 05000000", 2, 0, 5 },
        { "2503 00 2503 00000000 04000000 03000000", 0, 4, 3 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t len, used = 0;
        char err[256] = "";
        uint8_t *b = cs_unhex(cases[i].hex, &len);
        for (size_t chunk = 0; chunk <= 1; chunk++) {     /* one shot, then byte by byte */
            ddb_obj *o = chunk ? cs_decode_chunked(b, len, 1, 0, NULL, &used, err, sizeof err)
                               : ddb_decode(b, len, 1, NULL, &used, err, sizeof err);
            CHECK(o && used == len, "decimal matrix %zu: decode: %s", i, err);
            CHECK(o && o->form == DDB_MATRIX && o->rows == cases[i].rows &&
                  o->cols == cases[i].cols && o->scale == cases[i].scale,
                  "decimal matrix %zu: %lld x %lld scale %d", i, o ? (long long)o->rows : -1,
                  o ? (long long)o->cols : -1, o ? o->scale : -1);
            if (o && o->cols == 2 && o->rows == 2)
                CHECK(ddb_int_at(o, 3) == 4, "decimal matrix %zu: last cell", i);
            ddb_obj_unref(o);
        }
        free(b);
    }
}

/* Empty and NULL feeds at every kind of pause point are harmless. */
static void empty_feeds(void)
{
    static const char *hexes[] = { "1200 616200", "2000 03000000 616263", "0401 02000000 01000000 0100000002000000" };
    for (int i = 0; i < 3; i++) {
        size_t len, used, total = 0;
        uint8_t *b = cs_unhex(hexes[i], &len);
        ddb_decoder *d = ddb_decoder_new(NULL);
        ddb_decoder_reset(d, 1);
        int r = DDB_DEC_NEED_MORE;
        for (size_t k = 0; k < len && r == DDB_DEC_NEED_MORE; k++) {
            r = ddb_decoder_feed(d, NULL, 0, &used);
            CHECK(r == DDB_DEC_NEED_MORE && used == 0, "empty feed %d at %zu", i, k);
            r = ddb_decoder_feed(d, b + k, 1, &used);
            total += used;
        }
        CHECK(r == DDB_DEC_DONE && total == len, "object %d done after byte feeds", i);
        ddb_obj_unref(ddb_decoder_take(d));
        ddb_decoder_free(d);
        free(b);
    }
}

/* Freeing walks a list, not the C stack: a chain of ANY vectors a million deep
 * (ddbmini builds one from x = (x, 1) per line) crashed the recursive free. The
 * chain shares one leaf too, which must outlive the chain by its own reference. */
static void deep_free(void)
{
    ddb_obj *leaf = ddb_int_new(DDB_INT, 7), *x = ddb_obj_ref(leaf);
    for (int i = 0; i < 1000000 && x; i++) {
        ddb_obj *t = ddb_vector_new(DDB_ANY, 2);
        if (!t) break;
        ddb_obj_unref(t->items[0]);
        ddb_obj_unref(t->items[1]);
        t->items[0] = x;                /* takes the reference */
        t->items[1] = ddb_obj_ref(leaf);
        x = t;
    }
    CHECK(x && x->type == DDB_ANY, "deep chain built");
    ddb_obj_unref(x);
    CHECK(leaf->refcount == 1 && *(int32_t *)leaf->data == 7, "shared leaf survives (refcount %d)",
          leaf->refcount);
    ddb_obj_unref(leaf);
}

int main(void)
{
    empty_feeds();
    odd_objects();
    decimal_matrix_dims();
    type_facts();
    constructors();
    appenders();
    symbol_vectors();
    equality();
    encoder_refusals();
    deep_free();
    return cs_finish("test_codec_obj");
}
