/* test_resp_fast.c — the response parser's whole-response shortcut against its general
 * path (src/proto/ddb_proto.c, src/codec/ddb_decode_scalar.c).
 *
 * Every scalar type (and types no scalar may have), in both byte orders, with valid
 * and invalid cells, under generous and tight byte budgets, is wrapped in a response
 * and parsed three ways: whole with the shortcut, whole with the general path only
 * (ddb_resp.general_only), and split in two at every byte. Every truncation and
 * single-byte mutation of each response goes through both paths too. The outcomes
 * must be identical: return code, bytes consumed, header fields, error texts and the
 * object down to its stored capacities. The test also checks that the shortcut is
 * really taken for the common types, or the comparison would prove nothing. */
#include "ddb_proto.h"
#include "check.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_checks, g_failures;

/* What one parse produced, for comparison. */
typedef struct outcome {
    int rc;
    size_t consumed;
    int fast;                       /* the decoder was never used: the shortcut ran */
    char sid[32];
    int le, count, is_error;
    char error[64], parse_error[160];
    ddb_obj *obj;
} outcome;

static void outcome_free(outcome *o) { ddb_obj_unref(o->obj); }

/* Feed `bytes` in pieces cut at `cuts` (ascending, n of them), stopping at DONE or
 * ERROR the way a connection does. */
static outcome parse(const uint8_t *bytes, size_t len, const size_t *cuts, int ncuts,
                     int general_only, int64_t budget)
{
    outcome out;
    memset(&out, 0, sizeof out);
    ddb_resp r;
    if (ddb_resp_init(&r, NULL)) {
        out.rc = -99;
        return out;
    }
    ddb_resp_set_max_bytes(&r, budget);
    r.general_only = general_only;
    size_t at = 0;
    out.rc = DDB_RESP_NEED_MORE;
    for (int i = 0; i <= ncuts && out.rc == DDB_RESP_NEED_MORE; i++) {
        size_t end = i < ncuts ? cuts[i] : len, used = 0;
        out.rc = ddb_resp_feed(&r, bytes + at, end - at, &used);
        out.consumed += used;
        at = end;
    }
    out.fast = !r.dec_busy;
    snprintf(out.sid, sizeof out.sid, "%s", r.session_id);
    out.le = r.little_endian;
    out.count = r.object_count;
    out.is_error = r.is_error;
    snprintf(out.error, sizeof out.error, "%s", r.error ? r.error : "");
    snprintf(out.parse_error, sizeof out.parse_error, "%s", r.parse_error);
    out.obj = out.rc == DDB_RESP_DONE ? ddb_resp_take_obj(&r) : NULL;
    ddb_resp_free(&r);
    return out;
}

static int same_bytes(const void *a, const void *b, size_t n)
{
    return n == 0 || (a && b && memcmp(a, b, n) == 0);
}

/* Objects equal down to storage: a scalar's cell bytes (NaN payloads included) and,
 * when `caps`, the capacities the appenders rely on (the general decoder's depend
 * on how the bytes were split, so only whole-feed parses compare them). */
static int same_obj(const ddb_obj *a, const ddb_obj *b, int caps)
{
    if (!a || !b)
        return a == b;
    if (a->form != b->form || a->type != b->type || a->scale != b->scale ||
        a->rows != b->rows || a->cols != b->cols || a->void_kind != b->void_kind ||
        a->fkind != b->fkind ||
        (caps && (a->cap_rows != b->cap_rows || a->cap_bytes != b->cap_bytes)) ||
        a->nbytes != b->nbytes || !same_bytes(a->bytes, b->bytes, (size_t)a->nbytes))
        return 0;
    if (ddb_type_class_of(a->type) == DDB_CLASS_FIXED && a->form == DDB_SCALAR)
        return same_bytes(a->data, b->data, (size_t)ddb_type_width(a->type));
    if (a->offs || b->offs)
        return a->offs && b->offs && same_bytes(a->offs, b->offs, 2 * sizeof *a->offs);
    return ddb_obj_equal(a, b);
}

static int same_outcome(const outcome *a, const outcome *b, int caps)
{
    /* after an error the parser says nothing about bytes consumed (the connection is
     * closed), so only a success's count is compared */
    return a->rc == b->rc && (a->rc == DDB_RESP_ERROR || a->consumed == b->consumed) &&
           !strcmp(a->sid, b->sid) &&
           a->le == b->le && a->count == b->count && a->is_error == b->is_error &&
           !strcmp(a->error, b->error) && !strcmp(a->parse_error, b->parse_error) &&
           same_obj(a->obj, b->obj, caps);
}

static int fast_hits, compared;

/* A byte string literal (it may hold NULs) and its length. */
#define LIT(s) { s, sizeof s - 1 }

/* The response against itself: whole with the shortcut, whole without, split at
 * every byte, and (when `deep`) every truncation. Returns whether the shortcut ran. */
static int differential(const char *what, const uint8_t *bytes, size_t len,
                        int64_t budget, int deep)
{
    outcome fast = parse(bytes, len, NULL, 0, 0, budget);
    outcome slow = parse(bytes, len, NULL, 0, 1, budget);
    int took = fast.fast && fast.rc == DDB_RESP_DONE && fast.count == 1;
    fast_hits += took;
    compared++;
    CHECK(same_outcome(&fast, &slow, 1), "%s: shortcut rc %d used %zu '%s' / general rc %d "
          "used %zu '%s'", what, fast.rc, fast.consumed, fast.parse_error, slow.rc,
          slow.consumed, slow.parse_error);
    CHECK(!slow.fast || slow.count == 0 || slow.rc != DDB_RESP_DONE,
          "%s: general_only took the shortcut", what);
    for (size_t k = 1; deep && k < len; k++) {
        outcome split = parse(bytes, len, &k, 1, 0, budget);
        CHECK(same_outcome(&split, &slow, 0), "%s: split at byte %zu differs", what, k);
        outcome_free(&split);
        outcome part = parse(bytes, k, NULL, 0, 0, budget);
        outcome part_slow = parse(bytes, k, NULL, 0, 1, budget);
        CHECK(same_outcome(&part, &part_slow, 1), "%s: first %zu bytes differ", what, k);
        outcome_free(&part);
        outcome_free(&part_slow);
    }
    outcome_free(&fast);
    outcome_free(&slow);
    return took;
}

/* "<sid> 1 <e>\nOK\n" + object + a byte that belongs to no response (the parser
 * must not take it). */
static size_t wrap(uint8_t *out, const char *sid, int le, const uint8_t *obj, size_t n)
{
    int h = sprintf((char *)out, "%s 1 %d\nOK\n", sid, le);
    memcpy(out + h, obj, n);
    out[h + n] = 0xEE;
    return (size_t)h + n + 1;
}

/* The object bytes of a scalar of `type`: header, then `cell` (already in the wire's
 * byte order) of `cell_len` bytes. */
static size_t scalar_bytes(uint8_t *out, int type, int le, const uint8_t *cell,
                           size_t cell_len)
{
    out[0] = (uint8_t)(le ? type : DDB_SCALAR);
    out[1] = (uint8_t)(le ? DDB_SCALAR : type);
    memcpy(out + 2, cell, cell_len);
    return 2 + cell_len;
}

static unsigned rng = 12345;
static unsigned next_rand(void) { rng = rng * 1103515245u + 12345u; return rng >> 8; }

/* Cells to try for a type: a few of its shapes, in the wire's byte order. */
static int cells_for(int type, int le, uint8_t cells[][40], size_t *lens)
{
    int n = 0;
    ddb_type_class c = ddb_type_class_of(type);
    if (type == DDB_VOID) {
        for (int b = 0; b < 4; b++) {
            cells[n][0] = (uint8_t)b;
            lens[n++] = 1;
        }
        return n;
    }
    if (c == DDB_CLASS_FIXED) {
        int w = ddb_type_width(type);
        int at = 0;
        for (int v = 0; v < 4; v++) {
            at = 0;
            if (ddb_is_decimal(type)) {     /* scales: valid, max, max + 1, -1 */
                int32_t scale = v == 0 ? 2 : v == 1 ? ddb_decimal_max_scale(type)
                              : v == 2 ? ddb_decimal_max_scale(type) + 1 : -1;
                for (int i = 0; i < 4; i++)
                    cells[n][le ? i : 3 - i] = (uint8_t)((uint32_t)scale >> (8 * i));
                at = 4;
            }
            for (int i = 0; i < w; i++)     /* random, all-ones (NULL-like), zero */
                cells[n][at + i] = v == 1 ? 0xFF : v == 3 ? 0 : (uint8_t)next_rand();
            lens[n++] = (size_t)(at + w);
        }
        return n;
    }
    static const char *const texts[] = { "", "x", "1234567", "12345678", "hello world" };
    for (int i = 0; i < 5; i++) {
        size_t k = strlen(texts[i]);
        if (type == DDB_BLOB) {             /* length-prefixed */
            for (int b = 0; b < 4; b++)
                cells[n][le ? b : 3 - b] = (uint8_t)(k >> (8 * b));
            memcpy(cells[n] + 4, texts[i], k);
            lens[n++] = 4 + k;
        } else if (type == DDB_FUNCTIONDEF) {
            cells[n][0] = 0;
            memcpy(cells[n] + 1, texts[i], k + 1);
            lens[n++] = k + 2;
        } else {
            memcpy(cells[n], texts[i], k + 1);
            lens[n++] = k + 1;
        }
    }
    return n;
}

/* Scalars of every type code 0..40 plus array, symbol-base and out-of-range codes,
 * both byte orders, under a default, a tight and a too-small budget. */
static void test_all_scalar_types(void)
{
    static const int extra_types[] = { 64 + DDB_INT, 145, 200, 255 };
    int types[41 + 4], ntypes = 0;
    for (int t = 0; t <= 40; t++)
        types[ntypes++] = t;
    for (int i = 0; i < 4; i++)
        types[ntypes++] = extra_types[i];
    int hit_types = 0, fast_types = 0;
    for (int ti = 0; ti < ntypes; ti++) {
        int type = types[ti], taken = 0;
        for (int le = 0; le <= 1; le++) {
            uint8_t cells[8][40];
            size_t lens[8];
            int ncells = type > 40 ? 1 : cells_for(type, le, cells, lens);
            if (type > 40) {
                memset(cells[0], 1, 16);
                lens[0] = 16;
            }
            for (int ci = 0; ci < ncells; ci++) {
                uint8_t obj[64], resp[128];
                size_t olen = scalar_bytes(obj, type, le, cells[ci], lens[ci]);
                size_t rlen = wrap(resp, ci & 1 ? "1234567890123456789012345678901" : "7",
                                   le, obj, olen);
                /* 0: the limits' budget; then around what the object needs: its
                 * record, a cell of 1..16 bytes, or 8 offsets and 8+ text bytes */
                static const int64_t over[] = { 0, -1, 0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17,
                                                55, 56, 57, 63, 64, 65, 66, 67, 68, 69,
                                                71, 72, 73, 80 };
                int nb = (int)(sizeof over / sizeof *over);
                for (int bi = 0; bi < nb; bi++) {
                    int64_t budget = bi ? (int64_t)sizeof(ddb_obj) + over[bi] : 0;
                    char what[96];
                    snprintf(what, sizeof what, "type %d %s cell %d budget %lld", type,
                             le ? "LE" : "BE", ci, (long long)budget);
                    taken |= differential(what, resp, rlen, budget, bi == 0);
                }
            }
        }
        hit_types++;
        fast_types += taken;
        int common = type == DDB_BOOL || type == DDB_INT || type == DDB_LONG ||
                     type == DDB_DOUBLE || type == DDB_STRING || type == DDB_SYMBOL ||
                     type == DDB_TIMESTAMP || type == DDB_DECIMAL64 || type == DDB_VOID ||
                     type == DDB_UUID || type == DDB_INT128;
        CHECK(!common || taken, "type %d never took the shortcut", type);
    }
    printf("ok  %d type codes, %d responses: shortcut equal to the general path whole, "
           "split at every byte and truncated at every byte (%d of them took the "
           "shortcut, for %d types)\n", hit_types, compared, fast_hits, fast_types);
}

/* Every single-byte change of a few responses, and responses the shortcut must leave
 * alone (MSG blocks, errors, headers it does not own). */
static void test_mutations(void)
{
    static const char *const hex_objs[] = {
        "0400 02000000",                    /* INT 2 */
        "1000 000000000000f03f",            /* DOUBLE 1.0 */
        "1200 616263 00",                   /* STRING "abc" */
        "2600 02000000 3930000000000000",   /* DECIMAL64 123.45 */
        "0000 01",                          /* VOID NULL */
        "0401 02000000 01000000 05000000 06000000",  /* INT vector [5,6] */
    };
    static const uint8_t interesting[] = { 0, 1, '0', '1', '9', ' ', '\n', 'K', 'M', 0x7F,
                                           0x80, 0xFF, 4, 6, 0x12, 0x20, '/', ':', 0xB9,
                                           0xBA, 0xC6, 0xCF, 0xD0 };
    /* a short session id, and one as long as the server's (read 8 digits at a time) */
    static const char *const sids[] = { "31", "3626924543655852294" };
    int before = compared;
    for (int i = 0; i < 12; i++) {
        uint8_t obj[64], resp[128], mut[128];
        size_t olen = 0;
        for (const char *h = hex_objs[i % 6]; *h;) {
            unsigned v;
            if (*h == ' ') { h++; continue; }
            sscanf(h, "%2x", &v);
            obj[olen++] = (uint8_t)v;
            h += 2;
        }
        size_t rlen = wrap(resp, sids[i / 6], 1, obj, olen);
        for (size_t at = 0; at < rlen; at++)
            for (size_t k = 0; k < sizeof interesting; k++) {
                memcpy(mut, resp, rlen);
                mut[at] = interesting[k];
                char what[64];
                snprintf(what, sizeof what, "object %d sid %d byte %zu = 0x%02x", i % 6,
                         i / 6, at, interesting[k]);
                differential(what, mut, rlen, 0, at % 5 == 0);
            }
    }
    static const struct { const char *s; size_t n; } others[] = {
        LIT("MSG\nhello\0" "5 1 1\nOK\n\x04\x00\x02\x00\x00\x00"),
        LIT("5 0 1\nOK\n"),
        LIT("5 1 1\nNot OK at all\n"),
        LIT("5 2 1\nOK\n\x04\x00\x02\x00\x00\x00"),
        LIT("5 001 1\nOK\n\x04\x00\x02\x00\x00\x00"),
        LIT("5 1 0\nOK\n\x00\x04\x00\x00\x00\x02"),
        LIT("5 1 2\nOK\n\x04\x00\x02\x00\x00\x00"),
        LIT("5  1 1\nOK\n\x04\x00\x02\x00\x00\x00"),
        LIT(" 5 1 1\nOK\n\x04\x00\x02\x00\x00\x00"),
        LIT("5 1 1 \nOK\n\x04\x00\x02\x00\x00\x00"),
        LIT("5 1 1\nOK \n\x04\x00\x02\x00\x00\x00"),
        LIT("12345678901234567890123456789012 1 1\nOK\n\x04\x00\x02\x00\x00\x00"),
        LIT("5 1234 1\nOK\n"),
        LIT("5 0001 1\nOK\n\x04\x00\x02\x00\x00\x00"),
    };
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        char what[32];
        snprintf(what, sizeof what, "special response %zu", i);
        differential(what, (const uint8_t *)others[i].s, others[i].n, 0, 1);
    }
    printf("ok  %d mutated and special responses: shortcut equal to the general path\n",
           compared - before);
}

/* Two responses back to back on one parser, as a connection sees them: the shortcut
 * must leave nothing behind (state, decoder) that changes the next one. */
static void test_reuse(void)
{
    static const char a[] = "5 1 1\nOK\n\x04\x00\x07\x00\x00\x00";
    static const char b[] = "5 1 1\nOK\n\x04\x01"            /* INT vector [9] */
                            "\x01\x00\x00\x00\x01\x00\x00\x00\x09\x00\x00\x00";
    ddb_resp r;
    CHECK(ddb_resp_init(&r, NULL) == 0, "init");
    for (int round = 0; round < 4; round++) {
        const char *s = round & 1 ? b : a;
        size_t n = round & 1 ? sizeof b - 1 : sizeof a - 1, used = 0;
        ddb_resp_reset(&r);
        int rc = ddb_resp_feed(&r, s, round == 2 ? 3 : n, &used);
        if (round == 2)             /* a partial feed, then the rest */
            rc = ddb_resp_feed(&r, s + 3, n - 3, &used);
        ddb_obj *o = ddb_resp_take_obj(&r);
        int64_t want = round & 1 ? 9 : 7;
        CHECK(rc == DDB_RESP_DONE && o && ddb_int_at(o, 0) == want,
              "round %d: rc %d value %lld", round, rc,
              o ? (long long)ddb_int_at(o, 0) : -1);
        ddb_obj_unref(o);
    }
    ddb_resp_free(&r);
    printf("ok  one parser, shortcut and general responses in turn\n");
}

/* A stream of responses back to back (a fuzz corpus input), fed `chunk` bytes at a
 * time: a digest of every outcome in order, for comparison. */
static void stream_digest(const uint8_t *data, size_t size, size_t chunk, int general_only,
                          char *out, size_t outlen)
{
    ddb_limits lim;
    ddb_limits_default(&lim);
    lim.max_object_bytes = 16 << 20;
    ddb_resp r;
    size_t at = 0, w = 0;
    out[0] = 0;
    if (ddb_resp_init(&r, &lim))
        return;
    r.general_only = general_only;
    while (at < size && w + 300 < outlen) {
        size_t n = size - at < chunk ? size - at : chunk, used = 0;
        int rc = ddb_resp_feed(&r, data + at, n, &used);
        if (rc == DDB_RESP_ERROR) {
            w += (size_t)snprintf(out + w, outlen - w, "E:%s;", r.parse_error);
            break;
        }
        at += used;
        if (rc == DDB_RESP_DONE) {
            ddb_obj *o = ddb_resp_take_obj(&r);
            w += (size_t)snprintf(out + w, outlen - w, "D:%s/%d/%d/%d/%.40s/%d:%d:%lld;",
                                  r.session_id, r.little_endian, r.object_count, r.nmsgs,
                                  r.error ? r.error : "", o ? o->form : -1,
                                  o ? o->type : -1, o ? (long long)o->rows : -1);
            ddb_obj_unref(o);
            ddb_resp_reset(&r);
            r.general_only = general_only;
        }
    }
    ddb_resp_free(&r);
}

/* The response fuzzer's corpus: each input, whole and in chunks of 1..17 bytes, gives
 * the same outcomes with and without the shortcut. */
static void test_corpus(const char *dir)
{
    DIR *d = dir ? opendir(dir) : NULL;
    CHECK(d != NULL, "cannot open the corpus directory %s", dir ? dir : "(none given)");
    if (!d)
        return;
    int files = 0, bad = 0;
    static char a[1 << 16], b[1 << 16];
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        static uint8_t data[1 << 17];
        size_t n = fread(data, 1, sizeof data, f);
        fclose(f);
        files++;
        for (size_t chunk = 1; chunk <= 18; chunk++) {
            size_t c = chunk == 18 ? n + 1 : chunk;
            stream_digest(data, n, c, 0, a, sizeof a);
            stream_digest(data, n, c, 1, b, sizeof b);
            if (strcmp(a, b)) {
                bad++;
                printf("  %s, chunks of %zu: shortcut '%.200s' / general '%.200s'\n",
                       e->d_name, c, a, b);
            }
        }
    }
    closedir(d);
    CHECK(files > 0 && bad == 0, "%d of %d corpus inputs differ", bad, files);
    if (files && !bad)
        printf("ok  %d fuzz corpus inputs: same outcomes with and without the shortcut, "
               "whole and in chunks of 1..17 bytes\n", files);
}

int main(int argc, char **argv)
{
    test_all_scalar_types();
    test_mutations();
    test_reuse();
    test_corpus(argc > 1 ? argv[1] : NULL);
    printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
