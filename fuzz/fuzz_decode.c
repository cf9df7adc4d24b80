/* fuzz_decode — libFuzzer target for the incremental decoder.
 * Each input is decoded in both byte orders, one-shot and split in three pieces at
 * data-derived points; both ways must agree (status, bytes consumed, value). The
 * object budget is 64 MiB so a hostile count cannot exhaust memory. A decoded
 * object is also encoded (must not crash). */
#include "ddb_codec.h"

#include <stdlib.h>
#include <string.h>

static int decode_split(const uint8_t *p, size_t len, int le, const ddb_limits *lim,
                        size_t cut1, size_t cut2, ddb_obj **out, size_t *consumed)
{
    ddb_decoder *d = ddb_decoder_new(lim);
    ddb_decoder_reset(d, le);
    size_t cuts[3] = { cut1, cut2, len }, off = 0;
    int r = DDB_DEC_NEED_MORE;
    for (int i = 0; i < 3 && r == DDB_DEC_NEED_MORE; i++) {
        size_t used = 0;
        r = ddb_decoder_feed(d, p + off, cuts[i] - off, &used);
        if (r == DDB_DEC_NEED_MORE && used != cuts[i] - off) abort();   /* must take all */
        off += used;
    }
    *out = r == DDB_DEC_DONE ? ddb_decoder_take(d) : NULL;
    if (r == DDB_DEC_ERROR && strlen(ddb_decoder_error(d)) == 0) abort();
    *consumed = off;
    ddb_decoder_free(d);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ddb_limits lim = { (int64_t)64 << 20, 64 };
    size_t a = size ? (data[0] * 131u + size / 3) % (size + 1) : 0;
    size_t b = a + (size > a ? (data[size - 1] * 7u) % (size - a + 1) : 0);
    for (int le = 1; le >= 0; le--) {
        char err[256];
        size_t used1 = 0, used2 = 0;
        ddb_obj *o1 = ddb_decode(data, size, le, &lim, &used1, err, sizeof err);
        ddb_obj *o2 = NULL;
        int r = decode_split(data, size, le, &lim, a, b, &o2, &used2);
        if ((o1 != NULL) != (r == DDB_DEC_DONE)) abort();
        if (o1 && (used1 != used2 || !ddb_obj_equal(o1, o2))) abort();
        if (!o1 && err[0] == 0) abort();
        if (o1) {
            ddb_encoder e;
            ddb_encoder_init(&e);
            ddb_buf out;
            ddb_buf_init(&out);
            ddb_encode(&e, &out, o1, err, sizeof err);
            ddb_buf_free(&out);
        }
        ddb_obj_unref(o1);
        ddb_obj_unref(o2);
    }
    return 0;
}
