/* test_codec_random — differential test of the codec on seeded random objects of
 * every form (scalar, vector, pair, matrix with labels, set, dictionary, table, ANY
 * vectors nested, array vectors) and type (integers, floats, temporal, DECIMAL32/64/
 * 128, UUID/IPADDR/INT128, COMPLEX/POINT, DURATION, STRING/SYMBOL/BLOB, VOID, NULLs).
 *
 * (a) codec: encode, decode (one shot, and fed in random pieces), re-encode: the
 *     bytes must be identical and the values equal; tables also go through both
 *     compressed encodings and must decode to the same value;
 * (c) ddbmini: a share of them is sent as the argument of `echo` (ddbmini's identity
 *     function) over a real socket and must come back as the same bytes.
 *
 * Usage: test_codec_random <ddbmini binary> [count] (default 10000). DDB_RANDOM_SEED sets the base
 * seed (default fixed); object i is made from seed base + i, and a failure prints
 * both, so DDB_RANDOM_SEED=<base + i> with count 1 replays just that object. */
#include "codec_support.h"
#undef CHECK
#include "ddbmini_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- random numbers */

typedef struct rng { uint64_t s; } rng;

static uint64_t next(rng *r)
{
    r->s ^= r->s >> 12; r->s ^= r->s << 25; r->s ^= r->s >> 27;   /* xorshift64* */
    return r->s * 0x2545F4914F6CDD1DULL;
}

static void rng_seed(rng *r, uint64_t seed)
{
    r->s = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
    if (!r->s) r->s = 1;
    for (int i = 0; i < 4; i++) next(r);
}

static int below(rng *r, int n) { return (int)(next(r) % (uint64_t)n); }
static int chance(rng *r, int percent) { return below(r, 100) < percent; }

/* ---------------------------------------------------------------- types */

static const int FIXED_TYPES[] = {
    DDB_BOOL, DDB_CHAR, DDB_SHORT, DDB_INT, DDB_LONG, DDB_DATE, DDB_MONTH, DDB_TIME,
    DDB_MINUTE, DDB_SECOND, DDB_DATETIME, DDB_TIMESTAMP, DDB_NANOTIME, DDB_NANOTIMESTAMP,
    DDB_DATEHOUR, DDB_FLOAT, DDB_DOUBLE, DDB_UUID, DDB_IPADDR, DDB_INT128, DDB_COMPLEX,
    DDB_POINT, DDB_DURATION, DDB_DECIMAL32, DDB_DECIMAL64, DDB_DECIMAL128,
};
#define NFIXED (int)(sizeof FIXED_TYPES / sizeof *FIXED_TYPES)

/* Any cell type a vector can have (no ANY, no array). */
static int cell_type(rng *r)
{
    int k = below(r, NFIXED + 4);
    if (k < NFIXED) return FIXED_TYPES[k];
    static const int text[] = { DDB_STRING, DDB_SYMBOL, DDB_BLOB, DDB_VOID };
    return text[k - NFIXED];
}

/* A random valid cell of a fixed type, NULL now and then. */
static void random_cell(rng *r, int type, uint8_t *cell)
{
    int w = ddb_type_width(type);
    if (chance(r, 10)) {                 /* the type's NULL, as the library writes it */
        ddb_obj *n = ddb_scalar_new(type);
        memcpy(cell, n->data, (size_t)w);
        ddb_obj_unref(n);
        return;
    }
    for (int i = 0; i < w; i += 8) {
        uint64_t x = next(r);
        memcpy(cell + i, &x, (size_t)(w - i < 8 ? w - i : 8));
    }
    if (type == DDB_BOOL) cell[0] &= 1;
    if (type == DDB_DURATION) { int32_t unit = below(r, 11); memcpy(cell + 4, &unit, 4); }
    if (type == DDB_FLOAT || type == DDB_DOUBLE) {
        /* mostly ordinary values (incl. -0.0 and integral ones); sometimes raw bits */
        double d = chance(r, 20) ? -0.0 : chance(r, 30) ? (double)below(r, 1000)
                                                       : (double)(int64_t)next(r) / 1e6;
        if (!chance(r, 10)) {
            if (type == DDB_FLOAT) { float f = (float)d; memcpy(cell, &f, 4); }
            else memcpy(cell, &d, 8);
        }
    }
}

static void random_text(rng *r, char *buf, size_t *len, int allow_nul)
{
    *len = (size_t)below(r, 12);
    for (size_t i = 0; i < *len; i++) {
        buf[i] = (char)(1 + below(r, 255));
        if (allow_nul && chance(r, 10)) buf[i] = 0;
    }
}

static int random_scale(rng *r, int type)
{
    return ddb_is_decimal(type) ? below(r, ddb_decimal_max_scale(type) + 1) : 0;
}

/* ---------------------------------------------------------------- objects */

static ddb_obj *gen_obj(rng *r, int depth);

/* A vector (form VECTOR) of n cells of `type`; ANY vectors hold random objects. */
static ddb_obj *gen_vector(rng *r, int type, int64_t n, int depth)
{
    ddb_obj *v = ddb_vector_new(type, type == DDB_ANY ? n : 0);
    switch (ddb_type_class_of(type)) {
    case DDB_CLASS_FIXED: {
        uint8_t cell[16];
        v->scale = random_scale(r, type);
        for (int64_t i = 0; i < n; i++) { random_cell(r, type, cell); ddb_fixed_append(v, cell); }
        break;
    }
    case DDB_CLASS_VARLEN: case DDB_CLASS_SYMBOL:
        for (int64_t i = 0; i < n; i++) {
            char buf[16];
            size_t len;
            random_text(r, buf, &len, type == DDB_BLOB);
            if (type == DDB_SYMBOL && chance(r, 50) && i > 0) {
                size_t l0;                       /* symbols repeat: the base is shared */
                const char *s = ddb_str_at(v, below(r, (int)i), &l0);
                memcpy(buf, s, l0);
                len = l0;
            }
            ddb_varlen_append(v, buf, len);
        }
        break;
    case DDB_CLASS_ANY:
        for (int64_t i = 0; i < n; i++) {
            ddb_obj_unref(v->items[i]);
            v->items[i] = gen_obj(r, depth + 1);
        }
        break;
    case DDB_CLASS_VOID:
        v->rows = n;
        break;
    default:
        break;
    }
    return v;
}

static ddb_obj *gen_scalar(rng *r)
{
    int type = cell_type(r);
    if (type == DDB_VOID) return ddb_void_new(below(r, 3));
    if (ddb_type_class_of(type) != DDB_CLASS_FIXED) {      /* a SYMBOL scalar is plain text */
        char buf[16];
        size_t len;
        random_text(r, buf, &len, type == DDB_BLOB);
        return ddb_string_new(type, buf, len);
    }
    ddb_obj *v = gen_vector(r, type, 1, 0);
    v->form = DDB_SCALAR;
    return v;
}

/* An array vector of `rows` rows of 0..4 values each. */
static ddb_obj *gen_array_vector(rng *r, int64_t rows)
{
    int base = FIXED_TYPES[below(r, NFIXED)];
    int64_t *counts = calloc((size_t)rows + 1, sizeof *counts), total = 0;
    for (int64_t i = 0; i < rows; i++) total += counts[i] = below(r, 5);
    ddb_obj *a = ddb_array_vector_new(base, rows, total);
    a->scale = a->values->scale = random_scale(r, base);   /* the encoder reads the outer */
    int w = ddb_type_width(base);
    for (int64_t i = 0; i < total; i++) random_cell(r, base, (uint8_t *)a->values->data + i * w);
    for (int64_t i = 0; i < rows; i++) a->row_offs[i + 1] = a->row_offs[i] + counts[i];
    free(counts);
    return a;
}

/* A plain column: any cell type, ANY now and then, an array vector now and then. */
static ddb_obj *gen_column(rng *r, int64_t rows, int depth)
{
    if (chance(r, 10) && depth < 3) return gen_vector(r, DDB_ANY, rows, depth);
    return gen_vector(r, cell_type(r), rows, depth);
}

static ddb_obj *gen_matrix(rng *r)
{
    int type = cell_type(r);
    int64_t rows = below(r, 4), cols = below(r, 4);
    ddb_obj *m = gen_vector(r, type, rows * cols, 0);
    m->form = DDB_MATRIX;                 /* column-major cells of the vector */
    m->rows = rows;
    m->cols = cols;
    if (chance(r, 30)) m->row_labels = gen_vector(r, cell_type(r), rows, 0);
    if (chance(r, 30)) m->col_labels = gen_vector(r, cell_type(r), cols, 0);
    return m;
}

static int key_type(rng *r)
{
    int t;
    do t = cell_type(r); while (t == DDB_VOID);
    return t;
}

static ddb_obj *gen_table(rng *r, int depth)
{
    int64_t rows = below(r, 6), cols = below(r, 5);
    ddb_obj *t = ddb_table_new(rows, cols);
    char buf[16];
    size_t len;
    random_text(r, buf, &len, 0);
    free(t->name);
    t->name = strndup(buf, len);
    for (int64_t c = 0; c < cols; c++) {
        random_text(r, buf, &len, 0);
        free(t->col_names[c]);
        t->col_names[c] = strndup(buf, len);
        t->columns[c] = chance(r, 15) ? gen_array_vector(r, rows) : gen_column(r, rows, depth);
    }
    return t;
}

static ddb_obj *gen_obj(rng *r, int depth)
{
    int form = depth >= 3 ? 0 : below(r, 10);
    switch (form) {
    case 1: return gen_column(r, below(r, 8), depth);
    case 2: {
        ddb_obj *p = gen_column(r, 2, depth);
        p->form = DDB_PAIR;
        return p;
    }
    case 3: return gen_matrix(r);
    case 4: return ddb_set_new(gen_vector(r, key_type(r), below(r, 6), depth));
    case 5: {
        int64_t n = below(r, 6);
        return ddb_dict_new(gen_vector(r, key_type(r), n, depth), gen_column(r, n, depth));
    }
    case 6: return gen_table(r, depth);
    case 7: return gen_vector(r, DDB_ANY, below(r, 5), depth);
    case 8: return gen_array_vector(r, below(r, 6));
    default: return gen_scalar(r);
    }
}

/* ---------------------------------------------------------------- checks */

static const char *g_what;
static unsigned long long g_seed;

static void report(const char *step, const char *err, const uint8_t *a, size_t alen,
                   const uint8_t *b, size_t blen)
{
    char *ha = a ? cs_hex(a, alen > 400 ? 400 : alen) : NULL;
    char *hb = b ? cs_hex(b, blen > 400 ? 400 : blen) : NULL;
    fprintf(stderr, "  %s: seed %llu (%s): %s\n    sent     %s\n    got back %s\n", step, g_seed,
            g_what, err ? err : "", ha ? ha : "-", hb ? hb : "-");
    free(ha);
    free(hb);
}

/* (a): one object through the codec. Returns its encoding (caller frees) or NULL. */
static uint8_t *codec_round(const ddb_obj *o, size_t *len, unsigned chunk_seed)
{
    char err[256] = "";
    size_t used = 0, len2 = 0;
    uint8_t *b = cs_encode(o, len, 0, err, sizeof err);
    CHECK(b != NULL, "encode failed: seed %llu: %s", g_seed, err);
    if (!b) return NULL;
    for (int pass = 0; pass < 2; pass++) {
        ddb_obj *d = pass ? cs_decode_chunked(b, *len, 0, chunk_seed, NULL, &used, err, sizeof err)
                          : ddb_decode(b, *len, 1, NULL, &used, err, sizeof err);
        CHECK(d && used == *len, "decode (%s) failed: seed %llu: %s", pass ? "pieces" : "one shot",
              g_seed, err);
        if (!d) { report("decode", err, b, *len, NULL, 0); continue; }
        uint8_t *b2 = cs_encode(d, &len2, 0, err, sizeof err);
        int same = b2 && len2 == *len && memcmp(b, b2, *len) == 0;
        CHECK(same, "re-encoding differs: seed %llu", g_seed);
        if (!same) report("re-encode", err, b, *len, b2, len2);
        CHECK(ddb_obj_equal(o, d), "decoded value differs: seed %llu", g_seed);
        free(b2);
        ddb_obj_unref(d);
    }
    if (o->form == DDB_TABLE) {
        for (int method = DDB_COMPRESS_LZ4; method <= DDB_COMPRESS_DELTA; method++) {
            size_t clen = 0;
            uint8_t *c = cs_encode(o, &clen, method, err, sizeof err);
            ddb_obj *d = c ? ddb_decode(c, clen, 1, NULL, &used, err, sizeof err) : NULL;
            CHECK(d && used == clen && ddb_obj_equal(o, d), "compressed table (%d): seed %llu: %s",
                  method, g_seed, err);
            ddb_obj_unref(d);
            free(c);
        }
    }
    return b;
}

/* (c): the same object as echo's argument over the socket. */
static void echo_round(mini_client *c, ddb_obj *o, const uint8_t *b, size_t len)
{
    ddb_obj *back = NULL;
    char err[256] = "";
    int rc = mini_client_call(c, "echo", &o, 1, &back);
    CHECK(rc == MINI_OK && back, "echo failed: seed %llu (%s): %s", g_seed, g_what, c->error);
    if (rc != MINI_OK || !back) { report("echo", c->error, b, len, NULL, 0); ddb_obj_unref(back); return; }
    size_t blen = 0;
    uint8_t *bb = cs_encode(back, &blen, 0, err, sizeof err);
    int same = bb && blen == len && memcmp(b, bb, len) == 0;
    CHECK(same, "echo came back different: seed %llu (%s)", g_seed, g_what);
    if (!same) report("echo", err, b, len, bb, blen);
    free(bb);
    ddb_obj_unref(back);
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: %s <ddbmini> [count]\n", argv[0]); return 2; }
    long count = argc > 2 ? atol(argv[2]) : 10000;
    const char *env = getenv("DDB_RANDOM_SEED");
    unsigned long long base = env && *env ? strtoull(env, NULL, 10) : 20261206ULL;
    printf("test_codec_random: %ld objects from seed %llu (DDB_RANDOM_SEED)\n", count, base);

    mini_proc server;
    CHECK(mini_proc_start(&server, argv[1], NULL) == 0, "ddbmini starts");
    mini_client c;
    open_client(&c, &server);

    static const char *form_names[] = { "scalar", "vector", "pair", "matrix", "set",
                                        "dictionary", "table", "ANY vector", "array vector",
                                        "scalar" };
    long per_form[10] = { 0 }, echoed = 0;
    double t0 = now_s();
    for (long i = 0; i < count; i++) {
        rng r;
        g_seed = base + (unsigned long long)i;
        rng_seed(&r, g_seed);
        int form = below(&r, 10);       /* peeked only to count forms */
        rng_seed(&r, g_seed);
        per_form[form]++;
        g_what = form_names[form];
        ddb_obj *o = gen_obj(&r, 0);
        size_t len = 0;
        uint8_t *b = codec_round(o, &len, (unsigned)g_seed);
        if (b && i % 3 == 0) {
            int before = g_failures;
            echo_round(&c, o, b, len);
            echoed++;
            if (g_failures > before) {        /* the stream may be out of step: start over */
                mini_client_close(&c);
                open_client(&c, &server);
            }
        }
        free(b);
        ddb_obj_unref(o);
        if (g_failures > 20) { fprintf(stderr, "too many failures, stopping\n"); break; }
    }
    printf("  forms:");
    for (int f = 0; f < 9; f++) printf(" %s %ld", form_names[f], per_form[f] + (f == 0 ? per_form[9] : 0));
    printf("; %ld echoed through ddbmini; %.1f s\n", echoed, now_s() - t0);
    mini_client_close(&c);
    CHECK(mini_proc_stop(&server) == 0, "ddbmini stops cleanly");
    return finish("test_codec_random");
}
