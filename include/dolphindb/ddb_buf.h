/* ddb_buf.h — a growable byte buffer, the encoder's output and the connection's
 * outbound queue. Grows geometrically; never shrinks until freed. */
#ifndef DDB_BUF_H
#define DDB_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct ddb_buf {
    char *p;
    size_t len, cap;
    int oom;                    /* sticky: set once an allocation failed */
    int secret;                 /* credentials inside: wiped when freed or moved */
} ddb_buf;

void ddb_buf_init(ddb_buf *b);
void ddb_buf_free(ddb_buf *b);                  /* a secret buffer is wiped first */
void ddb_buf_reset(ddb_buf *b);                 /* len = 0, keeps capacity */
int ddb_buf_reserve(ddb_buf *b, size_t extra);  /* 0 or -1 (and oom = 1) */
int ddb_buf_put(ddb_buf *b, const void *p, size_t n);
int ddb_buf_puts(ddb_buf *b, const char *s);    /* without the NUL */
int ddb_buf_printf(ddb_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int ddb_buf_u8(ddb_buf *b, uint8_t v);
int ddb_buf_i16(ddb_buf *b, int16_t v);         /* little-endian */
int ddb_buf_i32(ddb_buf *b, int32_t v);
int ddb_buf_i64(ddb_buf *b, int64_t v);

#endif
