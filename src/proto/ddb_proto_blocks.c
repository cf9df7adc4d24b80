/* ddb_proto_blocks.c — block-wise results (docs/PROTOCOL.md §1.8): the parser's
 * states for a response to a request that carried a fetchSize.
 *
 * Such a response's single object is, for a table, an ANY-vector header
 * `19 01 <int32 n> <int32 1>` followed by n complete objects (tables of at most
 * fetchSize rows). The official clients read that header and then each element
 * lazily, as an object of its own; so do we: each element gets a fresh decoder
 * (its own symbol-base scope and byte budget) and is handed over on its own
 * (DDB_RESP_BLOCK), so memory holds one block, never the whole result. Any other
 * first object (the server sent the result whole) is decoded as usual. */
#include "ddb_proto_internal.h"

#include <string.h>

#define ANY_HEADER_BYTES 10     /* type, form, rows, cols */

static int32_t read_i32(const unsigned char *b, int little_endian)
{
    uint32_t v = little_endian
        ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24
        : (uint32_t)b[3] | (uint32_t)b[2] << 8 | (uint32_t)b[1] << 16 | (uint32_t)b[0] << 24;
    return (int32_t)v;
}

/* The 2-byte object header names an ANY vector. In big-endian responses the
 * 16-bit header is swapped too (form first). */
static int is_any_vector(const ddb_resp *r)
{
    const unsigned char *b = (const unsigned char *)r->line.p;
    int type = r->little_endian ? b[0] : b[1], form = r->little_endian ? b[1] : b[0];
    return type == DDB_ANY && form == DDB_VECTOR;
}

/* Not blocks: the 2 header bytes go to the decoder, which then takes the rest. */
static int whole_object(ddb_resp *r)
{
    size_t used = 0;
    ddb__resp_begin_object(r);
    int rc = ddb_decoder_feed(r->dec, r->line.p, 2, &used);
    ddb_buf_reset(&r->line);
    if (rc == DDB_DEC_ERROR)
        return ddb__resp_fail(r, "bad object in response: %s", ddb_decoder_error(r->dec));
    if (rc == DDB_DEC_DONE) {
        r->obj = ddb_decoder_take(r->dec);
        r->state = ST_DONE;
        return 0;
    }
    r->state = ST_OBJECT;
    return 0;
}

int ddb__blocks_head(ddb_resp *r, const char *p, size_t len, size_t *used)
{
    size_t want = r->line.len < 2 ? 2 : ANY_HEADER_BYTES;
    size_t take = want - r->line.len;
    if (take > len)
        take = len;
    *used = take;
    if (ddb_buf_put(&r->line, p, take))
        return ddb__resp_fail(r, "%s", "out of memory reading a block header");
    if (r->line.len < 2)
        return 0;
    if (!is_any_vector(r))
        return whole_object(r);
    if (r->line.len < ANY_HEADER_BYTES)
        return 0;
    const unsigned char *b = (const unsigned char *)r->line.p;
    int32_t rows = read_i32(b + 2, r->little_endian), cols = read_i32(b + 6, r->little_endian);
    ddb_buf_reset(&r->line);
    if (rows < 0 || cols < 0)
        return ddb__resp_fail(r, "%s", "bad block-wise result: negative block count");
    r->blockwise = 1;
    r->blocks_total = r->blocks_left = (int64_t)rows * cols;   /* as C++ counts them */
    r->block_open = 0;
    r->state = r->blocks_left ? ST_BLOCK : ST_DONE;
    return 0;
}

int ddb__blocks_step(ddb_resp *r, const char *p, size_t len, size_t *used)
{
    if (!r->block_open) {
        ddb__resp_begin_object(r);
        r->block_open = 1;
    }
    int rc = ddb_decoder_feed(r->dec, p, len, used);
    if (rc == DDB_DEC_ERROR)
        return ddb__resp_fail(r, "bad block in response: %s", ddb_decoder_error(r->dec));
    if (rc != DDB_DEC_DONE)
        return 0;
    if (r->obj)                 /* the caller did not take the previous one */
        ddb_obj_unref(r->obj);
    r->obj = ddb_decoder_take(r->dec);
    r->block_open = 0;
    if (--r->blocks_left == 0)
        r->state = ST_DONE;
    return DDB_RESP_BLOCK;
}
