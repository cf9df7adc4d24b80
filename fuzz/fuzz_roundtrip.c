/* fuzz_roundtrip — decode, encode, decode again: the two values must be equal and
 * the re-encoding must be stable (encode(decode(encode(x))) == encode(x)). Also
 * encodes tables with LZ4 and delta-of-delta compression and checks they decode
 * back to the same value. */
#include "ddb_codec.h"

#include <stdlib.h>
#include <string.h>

static ddb_obj *reencode_decode(const ddb_obj *o, int compress, ddb_buf *out)
{
    char err[256];
    ddb_encoder e;
    ddb_encoder_init(&e);
    e.compress_tables = compress;
    ddb_buf_reset(out);
    if (ddb_encode(&e, out, o, err, sizeof err) < 0) return NULL;
    ddb_limits lim = { (int64_t)256 << 20, 256 };
    size_t used = 0;
    ddb_obj *back = ddb_decode(out->p, out->len, 1, &lim, &used, err, sizeof err);
    if (!back || used != out->len) abort();         /* our own bytes must decode fully */
    return back;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ddb_limits lim = { (int64_t)64 << 20, 64 };
    char err[256];
    ddb_obj *o = ddb_decode(data, size, 1, &lim, NULL, err, sizeof err);
    if (!o) return 0;
    ddb_buf first, second;
    ddb_buf_init(&first);
    ddb_buf_init(&second);
    ddb_obj *back = reencode_decode(o, DDB_COMPRESS_NONE, &first);
    if (back) {
        if (!ddb_obj_equal(o, back)) abort();
        ddb_obj *again = reencode_decode(back, DDB_COMPRESS_NONE, &second);
        if (!again || first.len != second.len || memcmp(first.p, second.p, first.len) != 0)
            abort();
        ddb_obj_unref(again);
        for (int m = DDB_COMPRESS_LZ4; m <= DDB_COMPRESS_DELTA; m++) {
            ddb_obj *c = reencode_decode(o, m, &second);
            if (!c || !ddb_obj_equal(o, c)) abort();
            ddb_obj_unref(c);
        }
    }
    ddb_obj_unref(back);
    ddb_obj_unref(o);
    ddb_buf_free(&first);
    ddb_buf_free(&second);
    return 0;
}
