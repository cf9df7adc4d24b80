/* codec_support.h — helpers for the codec's C tests: hex, TSV vector files,
 * checks that count failures, chunked feeding. */
#ifndef CODEC_SUPPORT_H
#define CODEC_SUPPORT_H

#include "ddb_codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern int cs_failures, cs_checks;

#define CHECK(cond, ...) cs_check((cond), __FILE__, __LINE__, __VA_ARGS__)
void cs_check(bool ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Print the summary line and return the process exit status. */
int cs_finish(const char *name);

/* Hex text (spaces allowed) to bytes; caller frees. NULL on a bad digit. */
uint8_t *cs_unhex(const char *hex, size_t *len);
char *cs_hex(const uint8_t *p, size_t len);     /* caller frees */

/* A TSV file with a header line: rows of fields addressed by column name. */
typedef struct cs_table {
    int ncols, nrows;
    char **names;
    char ***rows;               /* rows[r][c] */
} cs_table;
int cs_load_tsv(const char *path, cs_table *t);  /* 0 or -1 */
const char *cs_field(const cs_table *t, int row, const char *name);
void cs_free_tsv(cs_table *t);

/* Decode by feeding `chunk`-sized pieces (chunk 0: random sizes from seed).
 * Returns the object or NULL with err filled; *consumed counts bytes taken. */
ddb_obj *cs_decode_chunked(const uint8_t *p, size_t len, size_t chunk, unsigned seed,
                           const ddb_limits *lim, size_t *consumed, char *err, size_t errlen);
/* Encode with a fresh encoder; returns bytes (caller frees) or NULL. */
uint8_t *cs_encode(const ddb_obj *o, size_t *len, int compress, char *err, size_t errlen);

#endif
