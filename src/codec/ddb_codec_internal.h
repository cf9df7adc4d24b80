/* ddb_codec_internal.h — helpers shared by the codec's own .c files only
 * (object model, decoder, encoder, compression). Not a public API. */
#ifndef DDB_CODEC_INTERNAL_H
#define DDB_CODEC_INTERNAL_H

#include "ddb_codec.h"

#include <stdbool.h>
#include <string.h>

/* Cells stored in an object's flat arrays: 1 for a scalar, rows for vectors and
 * pairs, rows*cols for a matrix. */
int64_t ddb__cell_count(const ddb_obj *o);

/* A fresh, zeroed object with refcount 1 and cols 1. */
ddb_obj *ddb__obj_alloc(int form, int type);

/* Column arrays: large ones are 2 MiB aligned and marked for transparent huge
 * pages, so filling them costs one page fault per 2 MiB instead of per 4 KiB (page
 * faults dominate filling fresh memory: decoding, building, splitting). Freed with
 * free() like any other. ddb__big_calloc: the same, zeroed; NULL on overflow. */
void *ddb__big_alloc(size_t bytes);
void *ddb__big_calloc(size_t n, size_t size);

/* Intern text in a symbol base; returns its entry number or -1 (ENOMEM). */
int32_t ddb__symbase_intern(ddb_symbase *b, const char *s, size_t len);
/* Append an entry without interning (the decoder reads bases as given). */
int ddb__symbase_push(ddb_symbase *b, const char *s, size_t len);

/* Grow *p (elements of `size` bytes, *cap of them) to hold at least `need`;
 * geometric. Returns the number of bytes added (>= 0) or -1 on failure. */
int64_t ddb__grow(void **p, int64_t *cap, int64_t need, size_t size);

/* Byte order helpers. */
static inline uint16_t ddb__bswap16(uint16_t v) { return (uint16_t)((v >> 8) | (v << 8)); }
static inline uint32_t ddb__bswap32(uint32_t v) { return __builtin_bswap32(v); }
static inline uint64_t ddb__bswap64(uint64_t v) { return __builtin_bswap64(v); }
static inline bool ddb__host_le(void)
{
    return __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
}
/* Reverse the bytes of each of n cells of `width` bytes; 16-byte cells are whole
 * 128-bit integers and COMPLEX/POINT/DURATION pairs are two halves (`half`). */
void ddb__swap_cells(void *cells, int64_t n, int width, int halves);
/* The swap unit for a type: {width, halves}. DURATION: 2 x int32; COMPLEX/POINT:
 * 2 x double; others 1 whole cell. */
int ddb__swap_halves(int type);

/* LZ4 / delta-of-delta block helpers (ddb_compress.c). */
/* Decode one delta-of-delta block into at most `max` cells written in the payload
 * byte order; returns the number of cells decoded or -1. */
int64_t ddb__dod_decode_block(const uint8_t *in, size_t inlen, void *cells,
                              int64_t max, int unit, int little_endian);
/* Whether the type is one delta-of-delta takes (integer-like cells). */
bool ddb__dod_type(int type);
/* Whether delta-of-delta can encode these cells losslessly (first delta fits W bits,
 * no delta overflows 64 bits). */
bool ddb__dod_fits(const void *cells, int64_t n, int unit);
/* Is this cell the integer NULL sentinel of width `unit`? */
bool ddb__int_cell_is_null(const void *cell, int unit);

#endif
