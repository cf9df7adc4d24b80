/* fuzz_response.c — libFuzzer target for the response-stream parser in ddb_proto.c:
 * header lines, MSG blocks, OK/error lines and the object after them, fed in chunks
 * of fuzzer-chosen sizes (the parser must give the same verdict however the bytes
 * are split) and several responses back to back. Limits are small so a hostile
 * length field cannot make the fuzzer allocate gigabytes. With the first byte's top
 * bit set every response is parsed in block-wise mode (fetchSize, docs/PROTOCOL.md
 * §1.8): blocks are taken one at a time and must number the same however the
 * bytes are split. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ddb_proto.h"

/* Parses `data` as consecutive responses, feeding `chunk` bytes at a time (in fetch
 * mode when `fetch`). Returns how many responses completed; *failed is set on
 * DDB_RESP_ERROR; *blocks counts the blocks handed over. */
static int parse_stream(const uint8_t *data, size_t size, size_t chunk, int fetch,
                        int *failed, long *blocks)
{
    ddb_limits lim;
    ddb_limits_default(&lim);
    lim.max_object_bytes = 16 << 20;
    ddb_resp r;
    if (ddb_resp_init(&r, &lim) != 0) abort();
    int done = 0;
    *failed = 0;
    *blocks = 0;
    ddb_resp_set_fetch(&r, fetch);
    size_t off = 0, in_chunk = 0, n = 0;
    int after_block = 0;                           /* a last block ends the input: the
                                                      response's end is one feed away */
    while (off < size || after_block) {
        if (in_chunk == 0)                         /* a new chunk starts here */
            n = size - off < chunk ? size - off : chunk;
        size_t left = n - in_chunk;
        size_t used = 0;
        int rc = ddb_resp_feed(&r, data + off, left, &used);
        after_block = rc == DDB_RESP_BLOCK;
        if (used > left) abort();                  /* never reads past its input */
        if (rc == DDB_RESP_BLOCK) {                /* the rest of the chunk follows */
            ddb_obj *b = ddb_resp_take_obj(&r);
            if (!b || !r.blockwise) abort();       /* a block is an object, in block mode */
            ddb_obj_unref(b);
            ++*blocks;
            off += used;
            in_chunk += used;
            if (in_chunk == n) in_chunk = 0;
            continue;
        }
        in_chunk = 0;
        if (rc == DDB_RESP_ERROR) {
            if (r.parse_error[0] == '\0') abort(); /* an error always says why */
            *failed = 1;
            break;
        }
        off += used;
        if (rc == DDB_RESP_DONE) {
            done++;
            if (r.is_error && r.error == NULL) abort();
            ddb_obj_unref(ddb_resp_take_obj(&r));
            int nm = 0;
            char **msgs = ddb_resp_take_msgs(&r, &nm);
            for (int i = 0; i < nm; i++) free(msgs[i]);
            free(msgs);
            free(ddb_resp_take_error(&r));
            ddb_resp_reset(&r);
            ddb_resp_set_fetch(&r, fetch);
        } else if (used != left) {
            abort();                               /* NEED_MORE consumes everything */
        }
    }
    ddb_resp_free(&r);
    return done;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t chunk = (size_t)(data[0] % 17) + 1;
    int fetch = data[0] >> 7;
    int failed_whole, failed_chunked;
    long blocks_whole, blocks_chunked;
    int whole = parse_stream(data + 1, size - 1, size, fetch, &failed_whole, &blocks_whole);
    int chunked = parse_stream(data + 1, size - 1, chunk, fetch, &failed_chunked,
                               &blocks_chunked);
    /* chunking must not change how many responses (and blocks) parse or whether the
     * stream fails */
    if (whole != chunked || failed_whole != failed_chunked) abort();
    if (!failed_whole && blocks_whole != blocks_chunked) abort();
    return 0;
}
