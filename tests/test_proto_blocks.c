/* test_proto_blocks.c — the response parser's block-wise mode (docs/PROTOCOL.md §1.8)
 * on hand-written bytes: example R13 (a 3-row table as 2 blocks) fed whole, byte by
 * byte and in random chunks, one block handed over at a time; a reply that is not an
 * ANY vector decoded whole; error lines; big-endian headers; bad block headers. */
#include "ddb_proto.h"
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int g_checks, g_failures;

/* R13: "1166953221 1 1\nOK\n", ANY header (2 blocks), table a=[1,2], table a=[3]. */
static const char R13[] =
    "31 31 36 36 39 35 33 32 32 31 20 31 20 31 0a 4f 4b 0a 19 01 02 00 00 00 01 00 00 00"
    " 00 06 02 00 00 00 01 00 00 00 00 61 00 04 01 02 00 00 00 01 00 00 00 01 00 00 00"
    " 02 00 00 00 00 06 01 00 00 00 01 00 00 00 00 61 00 04 01 01 00 00 00 01 00 00 00"
    " 03 00 00 00";

/* What feeding produced: the blocks (first cell of each row of column 0) in order. */
typedef struct outcome {
    int rc;                 /* the final DDB_RESP_* */
    int nblocks;
    int64_t rows[8];
    int32_t cells[16];
    int ncells;
    size_t used;
} outcome;

static void take_block(ddb_resp *r, outcome *o)
{
    ddb_obj *b = ddb_resp_take_obj(r);
    CHECK(b && b->form == DDB_TABLE, "a block is a table");
    if (!b || b->form != DDB_TABLE)
        return;
    if (o->nblocks < 8)
        o->rows[o->nblocks] = b->rows;
    o->nblocks++;
    ddb_obj *col = b->cols > 0 ? b->columns[0] : NULL;
    for (int64_t i = 0; col && i < col->rows && o->ncells < 16; i++)
        o->cells[o->ncells++] = (int32_t)ddb_int_at(col, i);
    ddb_obj_unref(b);
}

/* Feed `n` bytes in chunks (mode 0 whole, 1 byte by byte, 2 random), taking each
 * block as it comes and feeding the rest of the chunk after it. */
static outcome feed(ddb_resp *r, const unsigned char *p, size_t n, int mode)
{
    outcome o;
    memset(&o, 0, sizeof o);
    size_t pos = 0;
    int rc = DDB_RESP_NEED_MORE;
    while (pos < n || rc == DDB_RESP_BLOCK) {
        size_t chunk = mode == 0 ? n - pos : mode == 1 ? 1 : 1 + (size_t)rand() % 9;
        if (chunk > n - pos)
            chunk = n - pos;
        size_t off = 0;
        do {
            size_t used = 0;
            rc = ddb_resp_feed(r, p + pos + off, chunk - off, &used);
            off += used;
            if (rc == DDB_RESP_BLOCK)
                take_block(r, &o);
        } while (rc == DDB_RESP_BLOCK);
        pos += off;
        if (rc != DDB_RESP_NEED_MORE)
            break;
        if (off != chunk) {
            rc = -99;       /* NEED_MORE must consume everything */
            break;
        }
    }
    o.rc = rc;
    o.used = pos;
    return o;
}

static const char *mode_name(int mode)
{
    static const char *names[] = { "whole", "byte by byte", "random chunks" };
    return names[mode];
}

static void test_r13(void)
{
    unsigned char bytes[256];
    size_t n = check_unhex(R13, bytes);
    for (int mode = 0; mode < 3; mode++) {
        for (int rep = 0; rep < (mode == 2 ? 50 : 1); rep++) {
            ddb_resp r;
            ddb_resp_init(&r, NULL);
            ddb_resp_set_fetch(&r, 1);
            outcome o = feed(&r, bytes, n, mode);
            CHECK(o.rc == DDB_RESP_DONE && o.used == n, "R13 %s: rc %d used %zu/%zu (%s)",
                  mode_name(mode), o.rc, o.used, n, r.parse_error);
            CHECK(o.nblocks == 2 && o.rows[0] == 2 && o.rows[1] == 1, "R13 %s: blocks %d",
                  mode_name(mode), o.nblocks);
            CHECK(o.ncells == 3 && o.cells[0] == 1 && o.cells[1] == 2 && o.cells[2] == 3,
                  "R13 %s: cells", mode_name(mode));
            CHECK(r.blockwise && r.blocks_total == 2 && !r.obj && !r.is_error,
                  "R13 %s: ends blockwise with no object", mode_name(mode));
            /* the parser is ready for the next response after a reset */
            ddb_resp_reset(&r);
            CHECK(!r.fetch && !r.blockwise, "reset clears fetch mode");
            ddb_resp_free(&r);
        }
    }
    /* without fetch mode the same bytes are one ANY vector of two tables */
    ddb_resp r;
    ddb_resp_init(&r, NULL);
    outcome o = feed(&r, bytes, n, 0);
    CHECK(o.rc == DDB_RESP_DONE && o.nblocks == 0 && r.obj && r.obj->type == DDB_ANY &&
          r.obj->rows == 2, "R13 without fetch: one ANY vector");
    ddb_resp_free(&r);
    printf("ok  R13 block by block (whole, byte by byte, random chunks)\n");
}

/* A reply whose object is not an ANY vector, in fetch mode: decoded whole. */
static void expect_whole(const char *name, const char *hex, int form, int type)
{
    unsigned char bytes[256];
    size_t n = check_unhex(hex, bytes);
    for (int mode = 0; mode < 3; mode++) {
        ddb_resp r;
        ddb_resp_init(&r, NULL);
        ddb_resp_set_fetch(&r, 1);
        outcome o = feed(&r, bytes, n, mode);
        CHECK(o.rc == DDB_RESP_DONE && o.used == n && o.nblocks == 0 && !r.blockwise,
              "%s %s: rc %d (%s)", name, mode_name(mode), o.rc, r.parse_error);
        CHECK(r.obj && r.obj->form == form && r.obj->type == type, "%s %s: the object",
              name, mode_name(mode));
        ddb_resp_free(&r);
    }
    printf("ok  %s in fetch mode: decoded whole\n", name);
}

static void expect_rc(const char *name, const char *hex, int want, const char *needle)
{
    unsigned char bytes[256];
    size_t n = check_unhex(hex, bytes);
    ddb_resp r;
    ddb_resp_init(&r, NULL);
    ddb_resp_set_fetch(&r, 1);
    outcome o = feed(&r, bytes, n, 1);
    CHECK(o.rc == want, "%s: rc %d want %d", name, o.rc, want);
    if (needle)
        CHECK(strstr(r.parse_error, needle) || (r.error && strstr(r.error, needle)),
              "%s: message '%s' / '%s'", name, r.parse_error, r.error ? r.error : "");
    ddb_resp_free(&r);
    printf("ok  %s\n", name);
}

int main(void)
{
    srand(4242);
    test_r13();
    /* "7 1 1\nOK\n" + INT scalar 2 (E1-style), and + INT vector [1, 2] */
    expect_whole("a scalar", "37 20 31 20 31 0a 4f 4b 0a 04 00 02 00 00 00", DDB_SCALAR, DDB_INT);
    expect_whole("a vector", "37 20 31 20 31 0a 4f 4b 0a 04 01 02 00 00 00 01 00 00 00 01 00 00 00"
                 " 02 00 00 00", DDB_VECTOR, DDB_INT);
    /* big-endian: "7 1 0\n", header swapped (01 19), counts big-endian; 1 block */
    {
        unsigned char bytes[128];
        size_t n = check_unhex("37 20 31 20 30 0a 4f 4b 0a 01 19 00 00 00 01 00 00 00 01"
                         " 06 00 00 00 00 01 00 00 00 01 00 61 00 01 04 00 00 00 01 00 00 00 01"
                         " 00 00 00 07", bytes);
        ddb_resp r;
        ddb_resp_init(&r, NULL);
        ddb_resp_set_fetch(&r, 1);
        outcome o = feed(&r, bytes, n, 1);
        CHECK(o.rc == DDB_RESP_DONE && o.nblocks == 1 && o.ncells == 1 && o.cells[0] == 7,
              "big-endian blocks: rc %d blocks %d (%s)", o.rc, o.nblocks, r.parse_error);
        ddb_resp_free(&r);
        printf("ok  big-endian block header\n");
    }
    expect_rc("an error line in fetch mode", "37 20 30 20 31 0a 62 61 64 0a", DDB_RESP_DONE, "bad");
    expect_rc("zero blocks", "37 20 31 20 31 0a 4f 4b 0a 19 01 00 00 00 00 01 00 00 00",
              DDB_RESP_DONE, NULL);
    expect_rc("a negative block count",
              "37 20 31 20 31 0a 4f 4b 0a 19 01 ff ff ff ff 01 00 00 00", DDB_RESP_ERROR,
              "negative block count");
    expect_rc("a bad block", "37 20 31 20 31 0a 4f 4b 0a 19 01 01 00 00 00 01 00 00 00 04 7f",
              DDB_RESP_ERROR, "bad block");
    expect_rc("a bad first object", "37 20 31 20 31 0a 4f 4b 0a 04 7f", DDB_RESP_ERROR,
              "bad object");
    printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
