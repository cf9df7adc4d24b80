/* ddb_codec.h — serialize and deserialize DolphinDB objects (docs/PROTOCOL.md §4).
 * Sans-I/O: plain functions over buffers. */
#ifndef DDB_CODEC_H
#define DDB_CODEC_H

#include "ddb_obj.h"
#include "ddb_buf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------- limits ---------------- */
typedef struct ddb_limits {
    int64_t max_object_bytes;   /* total memory one decoded object may take; default 4 GiB */
    int max_depth;              /* nesting of ANY/dict/table; default 64 */
} ddb_limits;
void ddb_limits_default(ddb_limits *lim);

/* ---------------- incremental decoder ---------------- */
enum {
    DDB_DEC_NEED_MORE = 0,      /* every byte given was consumed; feed more */
    DDB_DEC_DONE = 1,           /* one object complete; *consumed says how many bytes */
    DDB_DEC_ERROR = -1          /* ddb_decoder_error() says why; decoder must be reset */
};

typedef struct ddb_decoder ddb_decoder;

ddb_decoder *ddb_decoder_new(const ddb_limits *lim);  /* lim NULL: defaults */
void ddb_decoder_free(ddb_decoder *d);
/* Start a new top-level object. little_endian: the byte order of the object
 * (1 or 0). A fresh symbol-base scope starts here. */
void ddb_decoder_reset(ddb_decoder *d, int little_endian);
/* Feed the next bytes. Consumes at most `len` bytes and never more than the object
 * needs; data after the object is left for the caller. Resumes exactly where the
 * previous call stopped (no re-parsing); column cells are copied straight into the
 * object's final arrays. */
int ddb_decoder_feed(ddb_decoder *d, const void *p, size_t len, size_t *consumed);
/* After DDB_DEC_DONE: hand over the object (caller owns the reference). */
ddb_obj *ddb_decoder_take(ddb_decoder *d);
/* After DDB_DEC_ERROR: a one-line message such as
 * "invalid data type 77 in a VECTOR header at byte 0". */
const char *ddb_decoder_error(const ddb_decoder *d);
/* Compressed vectors (docs/PROTOCOL.md §4.18) this decoder decoded since it was made,
 * of one method (DDB_COMPRESS_LZ4 or DDB_COMPRESS_DELTA; 0 for anything else). */
int64_t ddb_decoder_compressed(const ddb_decoder *d, int method);

/* The response parser's shortcut: a complete scalar of a common type (VOID,
 * fixed-width incl. DECIMAL, text other than BLOB/FUNCTIONDEF) at the start of
 * `p`, within `max_bytes` of decoded size. Returns the bytes it used with *out set,
 * or 0 (and *out NULL) to leave the bytes to the incremental decoder, which gives
 * the same object, or the error, for anything declined here. */
size_t ddb__decode_scalar(const void *p, size_t len, int little_endian,
                          int64_t max_bytes, ddb_obj **out);

/* One-shot helper: decode one object from a complete buffer.
 * Returns the object (and *consumed) or NULL with errbuf filled. */
ddb_obj *ddb_decode(const void *p, size_t len, int little_endian,
                    const ddb_limits *lim, size_t *consumed,
                    char *errbuf, size_t errlen);

/* ---------------- encoder ---------------- */
enum { DDB_COMPRESS_NONE = 0, DDB_COMPRESS_LZ4 = 1, DDB_COMPRESS_DELTA = 2 };

typedef struct ddb_encoder {
    int next_symbase_id;        /* C++ convention: counts up within one request */
    int compress_tables;        /* DDB_COMPRESS_*: table columns compressed (not SYMBOL) */
} ddb_encoder;
void ddb_encoder_init(ddb_encoder *e);      /* ids from 0, no compression */

/* Append the object's bytes (little-endian) to `out`. Returns 0, or -1 with errbuf
 * filled (unserializable object, e.g. a string longer than the protocol allows). */
int ddb_encode(ddb_encoder *e, ddb_buf *out, const ddb_obj *o,
               char *errbuf, size_t errlen);

/* About how many bytes ddb_encode writes for o, uncompressed (exact for vectors,
 * scalars and tables of fixed-width and symbol cells; a floor for the rest): what a
 * request's buffer starts with, so that a big argument is not encoded through a
 * chain of reallocations, each possibly a copy. */
size_t ddb_encode_size_hint(const ddb_obj *o);

/* ---------------- compression (docs/PROTOCOL.md §4.18) ---------------- */
/* Used by the decoder and by ddbmini's compressed replies; exposed for tests. */
int ddb_dod_encode(ddb_buf *out, const void *cells, int64_t n, int unit);  /* one block */
int ddb_dod_decode(const void *in, size_t inlen, void *cells, int64_t n, int unit,
                   int little_endian);                                     /* 0 / -1 */

#ifdef __cplusplus
}
#endif
#endif
