/* fuzz_response.c — libFuzzer target for the response-stream parser in ddb_proto.c:
 * header lines, MSG blocks, OK/error lines and the object after them, fed in chunks
 * of fuzzer-chosen sizes (the parser must give the same verdict however the bytes
 * are split) and several responses back to back. Limits are small so a hostile
 * length field cannot make the fuzzer allocate gigabytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ddb_proto.h"

/* Parses `data` as consecutive responses, feeding `chunk` bytes at a time.
 * Returns how many responses completed; *failed is set on DDB_RESP_ERROR. */
static int parse_stream(const uint8_t *data, size_t size, size_t chunk, int *failed)
{
    ddb_limits lim;
    ddb_limits_default(&lim);
    lim.max_object_bytes = 16 << 20;
    ddb_resp r;
    if (ddb_resp_init(&r, &lim) != 0) abort();
    int done = 0;
    *failed = 0;
    size_t off = 0;
    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk;
        size_t used = 0;
        int rc = ddb_resp_feed(&r, data + off, n, &used);
        if (used > n) abort();                     /* never reads past its input */
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
        } else if (used != n) {
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
    int failed_whole, failed_chunked;
    int whole = parse_stream(data + 1, size - 1, size, &failed_whole);
    int chunked = parse_stream(data + 1, size - 1, chunk, &failed_chunked);
    /* chunking must not change how many responses parse or whether the stream fails */
    if (whole != chunked || failed_whole != failed_chunked) abort();
    return 0;
}
