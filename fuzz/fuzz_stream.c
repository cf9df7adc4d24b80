/* fuzz_stream.c — libFuzzer target for the parser of pushed stream messages
 * (src/proto/ddb_stream.c): bytes fed whole and in fuzzer-chosen chunk sizes must give the
 * same messages and the same verdict; an error always says why; the parser never
 * consumes past its input nor holds a message it was not asked for. Limits are small
 * so a hostile count cannot make the fuzzer allocate gigabytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ddb_stream.h"

typedef struct verdict {
    int messages, failed;
    int64_t rows, id_sum;       /* a digest of what was parsed */
} verdict;

static verdict parse(const uint8_t *data, size_t size, size_t chunk)
{
    ddb_limits lim;
    ddb_limits_default(&lim);
    lim.max_object_bytes = 16 << 20;
    ddb_stream_parser *p = ddb_stream_parser_new(&lim);
    if (!p) abort();
    verdict v = {0, 0, 0, 0};
    size_t off = 0;
    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk;
        size_t used = 0;
        int rc = ddb_stream_feed(p, data + off, n, &used);
        if (used > n) abort();
        off += used;
        if (rc == DDB_STREAM_ERROR) {
            if (!ddb_stream_error(p)[0]) abort();
            v.failed = 1;
            break;
        }
        if (rc == DDB_STREAM_MSG) {
            ddb_stream_msg m;
            ddb_stream_take(p, &m);
            if (!m.body || !m.topics || m.rows < 0) abort();
            if (m.rows > 0 && m.first_offset != m.msg_id - m.rows + 1) abort();
            v.messages++;
            v.rows += m.rows;
            v.id_sum += m.msg_id & 0xffff;
            ddb_stream_msg_free(&m);
        } else if (used != n) {
            abort();                /* NEED_MORE consumes everything */
        }
    }
    ddb_stream_parser_free(p);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t chunk = (size_t)(data[0] % 23) + 1;
    verdict whole = parse(data + 1, size - 1, size);
    verdict pieces = parse(data + 1, size - 1, chunk);
    if (memcmp(&whole, &pieces, sizeof whole)) abort();
    return 0;
}
