/* codec_go_rows.c — official-go.tsv: byte strings from the Go API's tests. Rows are
 * whole objects, bodies without their 2-byte header, bare cells, whole responses and
 * streaming messages; each is unwrapped per its description and decoded. Rows whose
 * data is inconsistent (the description says so) must be rejected with an error. */
#include "codec_support.h"
#include "codec_values.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Descriptions of rows holding inconsistent data (pair of 3, column length that
 * differs from the table's rows, 3 column labels for 1 column). */
static const char *const inconsistent[] = {
    "NOTE test data: column length",
    "NOTE test data: a real pair",
    "NOTE test data: 3 column labels",
    "(test data: 3 column labels)",
    "STRING pair rows=3",
    "TABLE rows=1 cols=1 name \"table\" column \"col\" = STRING vector of 3",
    "STRING matrix, label flag 3, row labels, column labels, data header, rows=3 cols=1",
    "TABLE rows=0 name \"table\"",
};
static int rejected_rows, decoded_rows;

static bool is_inconsistent(const char *desc)
{
    for (size_t i = 0; i < sizeof inconsistent / sizeof *inconsistent; i++)
        if (strstr(desc, inconsistent[i])) return true;
    return false;
}

/* Decode a whole object that must use exactly len bytes (or be rejected). */
static void expect_object(int line, const char *desc, const uint8_t *p, size_t len, int le)
{
    char err[256] = "";
    size_t used = 0;
    ddb_obj *o = ddb_decode(p, len, le, NULL, &used, err, sizeof err);
    if (is_inconsistent(desc)) {
        CHECK(o == NULL && err[0], "go row %d must be rejected: %s", line, desc);
        if (!o) { rejected_rows++; printf("  go row %d rejected as expected: %s\n", line, err); }
    } else {
        CHECK(o != NULL, "go row %d: %s: %s", line, desc, err);
        if (o) {
            CHECK(used == len, "go row %d: consumed %zu of %zu", line, used, len);
            decoded_rows++;
        }
        /* the same bytes fed one at a time */
        size_t used2 = 0;
        ddb_decoder *d = ddb_decoder_new(NULL);
        ddb_decoder_reset(d, le);
        int r = DDB_DEC_NEED_MORE;
        for (size_t i = 0; i < len && r == DDB_DEC_NEED_MORE; i++) {
            size_t u = 0;
            r = ddb_decoder_feed(d, p + i, 1, &u);
            used2 += u;
        }
        ddb_obj *o2 = r == DDB_DEC_DONE ? ddb_decoder_take(d) : NULL;
        CHECK(ddb_obj_equal(o, o2) && used2 == used, "go row %d: byte-by-byte differs", line);
        ddb_obj_unref(o2);
        ddb_decoder_free(d);
    }
    ddb_obj_unref(o);
}

/* "<session> <nobjects> <endian>\n" "OK\n" [object] */
static void response_row(int line, const char *desc, const uint8_t *p, size_t len)
{
    const uint8_t *nl = memchr(p, '\n', len);
    CHECK(nl != NULL, "go row %d: no header line", line);
    if (!nl) return;
    char hdr[128] = "";
    memcpy(hdr, p, (size_t)(nl - p) < sizeof hdr - 1 ? (size_t)(nl - p) : sizeof hdr - 1);
    long sid, nobj;
    int endian, fields = sscanf(hdr, "%ld %ld %d", &sid, &nobj, &endian);
    if (fields != 3) {
        CHECK(strstr(desc, "malformed") != NULL, "go row %d: header \"%s\"", line, hdr);
        printf("  go row %d: header \"%s\" has %d fields: not a response (protocol layer)\n",
               line, hdr, fields);
        return;
    }
    const uint8_t *st = nl + 1, *nl2 = memchr(st, '\n', len - (size_t)(st - p));
    CHECK(nl2 != NULL, "go row %d: no status line", line);
    if (!nl2) return;
    bool ok = nl2 - st == 2 && memcmp(st, "OK", 2) == 0;
    size_t rest = len - (size_t)(nl2 + 1 - p);
    if (!ok) {
        CHECK(rest == 0 && strstr(desc, "failure"), "go row %d: error status with body", line);
        return;
    }
    CHECK((nobj == 0) == (rest == 0), "go row %d: %ld objects but %zu bytes follow", line,
          nobj, rest);
    if (nobj > 0) expect_object(line, desc, nl2 + 1, rest, endian);
    else decoded_rows++;
}

/* endian byte, int64 session, int64 message id, topic C string, object */
static void stream_row(int line, const char *desc, const uint8_t *p, size_t len)
{
    const uint8_t *nul = len > 17 ? memchr(p + 17, 0, len - 17) : NULL;
    CHECK(nul != NULL, "go row %d: no topic", line);
    if (nul) expect_object(line, desc, nul + 1, len - (size_t)(nul + 1 - p), p[0]);
}

/* "payload only (header XX YY stripped" */
static void payload_row(int line, const char *desc, const uint8_t *p, size_t len)
{
    unsigned a, b;
    const char *h = strstr(desc, "(header ");
    CHECK(h && sscanf(h, "(header %x %x", &a, &b) == 2, "go row %d: no header in description", line);
    if (!h) return;
    uint8_t *buf = malloc(len + 2);
    buf[0] = (uint8_t)a;
    buf[1] = (uint8_t)b;
    memcpy(buf + 2, p, len);
    expect_object(line, desc, buf, len + 2, 1);
    free(buf);
}

/* Bare cells: wrap them in a scalar or vector header of the type the description
 * names ("DOUBLE vector data, ..." / "INT cell 10 ..."). */
static void cells_row(int line, const char *desc, const uint8_t *p, size_t len)
{
    char name[32] = "";
    sscanf(desc, "%31s", name);
    int type = ddb_type_from_name(name);
    if (strstr(desc, "COMPRESS-typed") || strstr(desc, "count array only")) return;
    CHECK(type >= 0, "go row %d: unknown type %s", line, name);
    if (type < 0) return;
    bool vector = strstr(desc, "vector data") != NULL;
    uint8_t buf[256];
    size_t pre = 0;
    buf[pre++] = (uint8_t)type;
    buf[pre++] = vector ? DDB_VECTOR : DDB_SCALAR;
    if (vector) {
        int w = ddb_type_width(type);
        int32_t rows = w ? (int32_t)(len / (size_t)w) : 1, one = 1;
        memcpy(buf + pre, &rows, 4); memcpy(buf + pre + 4, &one, 4);
        pre += 8;
    }
    if (type == DDB_FUNCTIONDEF) buf[pre++] = 0;   /* Go omits the kind byte */
    CHECK(pre + len <= sizeof buf, "go row %d: too long", line);
    memcpy(buf + pre, p, len);
    expect_object(line, desc, buf, pre + len, 1);
}

/* Array-vector count arrays: 4 counts of width 2 or 4 -> an INT[] of zeros. */
static void counts_row(int line, const char *desc, const uint8_t *p, size_t len)
{
    int cb = (int)(len / 4);
    ddb_buf b;
    ddb_buf_init(&b);
    ddb_buf_u8(&b, DDB_ARRAY_BASE + DDB_INT);
    ddb_buf_u8(&b, DDB_VECTOR);
    ddb_buf_i32(&b, 4);
    ddb_buf_i32(&b, 1);
    ddb_buf_i16(&b, 4);
    ddb_buf_u8(&b, (uint8_t)cb);
    ddb_buf_u8(&b, 0);
    ddb_buf_put(&b, p, len);
    int64_t total = 0;
    for (int i = 0; i < 4; i++) {
        uint32_t c = 0;
        memcpy(&c, p + i * cb, (size_t)cb);
        total += c;
    }
    for (int64_t i = 0; i < total; i++) ddb_buf_i32(&b, 0);
    char err[256] = "";
    size_t used;
    ddb_obj *o = ddb_decode(b.p, b.len, 1, NULL, &used, err, sizeof err);
    CHECK(o && used == b.len && o->rows == 4 && o->row_offs[4] == total,
          "go row %d: counts %s: %s", line, desc, err);
    if (o) decoded_rows++;
    ddb_obj_unref(o);
    ddb_buf_free(&b);
}

int run_go(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/official-go.tsv", dir);
    cs_table t;
    if (cs_load_tsv(path, &t) < 0) { CHECK(false, "cannot read %s", path); return 0; }
    for (int r = 0; r < t.nrows; r++) {
        const char *desc = cs_field(&t, r, "description");
        int line = r + 2;
        size_t len;
        uint8_t *p = cs_unhex(cs_field(&t, r, "hex"), &len);
        CHECK(p != NULL, "go row %d: bad hex", line);
        if (!p) continue;
        if (strstr(desc, "full response") || strstr(desc, "mock response"))
            response_row(line, desc, p, len);
        else if (strstr(desc, "streaming push message"))
            stream_row(line, desc, p, len);
        else if (strstr(desc, "full object") || strstr(desc, "element of an ANY vector"))
            expect_object(line, desc, p, len, 1);
        else if (strstr(desc, "payload only"))
            payload_row(line, desc, p, len);
        else if (strstr(desc, "count array only"))
            counts_row(line, desc, p, len);
        else if (strstr(desc, "COMPRESS-typed")) {
            uint8_t obj[3] = { DDB_COMPRESS, DDB_SCALAR, p[0] };
            char err[128];
            ddb_obj *o = ddb_decode(obj, 3, 1, NULL, NULL, err, sizeof err);
            CHECK(!o, "go row %d: a COMPRESS scalar must be rejected", line);
            ddb_obj_unref(o);
            rejected_rows++;
        } else
            cells_row(line, desc, p, len);
        free(p);
    }
    printf("official-go.tsv: %d decoded, %d rejected as inconsistent or not objects\n",
           decoded_rows, rejected_rows);
    CHECK(rejected_rows == 9, "expected 9 rejected rows, got %d", rejected_rows);
    int n = t.nrows;
    cs_free_tsv(&t);
    return n;
}
