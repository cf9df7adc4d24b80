/* ddb_buf.c — growable byte buffer (see ddb_buf.h). */
#define _DEFAULT_SOURCE         /* explicit_bzero */
#include "ddb_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ddb_buf_init(ddb_buf *b) { b->p = NULL; b->len = b->cap = 0; b->oom = b->secret = 0; }

/* explicit_bzero: a wipe the compiler may not drop as a dead store before free(). */
void ddb_buf_free(ddb_buf *b)
{
    if (b->secret && b->p)
        explicit_bzero(b->p, b->cap);
    free(b->p);
    ddb_buf_init(b);
}

/* A secret buffer grows by copy and wipe: realloc could leave the old bytes behind. */
static char *grow_secret(ddb_buf *b, size_t cap)
{
    char *p = malloc(cap);
    if (p && b->p) {
        memcpy(p, b->p, b->len);
        explicit_bzero(b->p, b->cap);
        free(b->p);
    }
    return p;
}

void ddb_buf_reset(ddb_buf *b) { b->len = 0; }

int ddb_buf_reserve(ddb_buf *b, size_t extra)
{
    if (b->oom) return -1;
    if (extra <= b->cap - b->len) return 0;
    if (extra > SIZE_MAX / 2 - b->len) { b->oom = 1; return -1; }
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;    /* geometric: appends stay amortized O(1) */
    char *p = b->secret ? grow_secret(b, cap)
                        : b->p ? realloc(b->p, cap) : malloc(cap);    /* malloc: the short way */
    if (!p) { b->oom = 1; return -1; }
    b->p = p;
    b->cap = cap;
    return 0;
}

int ddb_buf_put(ddb_buf *b, const void *p, size_t n)
{
    if (ddb_buf_reserve(b, n) < 0) return -1;
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

int ddb_buf_puts(ddb_buf *b, const char *s) { return ddb_buf_put(b, s, strlen(s)); }

int ddb_buf_printf(ddb_buf *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    if ((size_t)n < sizeof small) return ddb_buf_put(b, small, (size_t)n);
    if (ddb_buf_reserve(b, (size_t)n + 1) < 0) return -1;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int ddb_buf_u8(ddb_buf *b, uint8_t v) { return ddb_buf_put(b, &v, 1); }

/* Little-endian regardless of the host: write byte by byte. */
static int put_le(ddb_buf *b, uint64_t v, int n)
{
    uint8_t tmp[8];
    for (int i = 0; i < n; i++) tmp[i] = (uint8_t)(v >> (8 * i));
    return ddb_buf_put(b, tmp, (size_t)n);
}

int ddb_buf_i16(ddb_buf *b, int16_t v) { return put_le(b, (uint16_t)v, 2); }
int ddb_buf_i32(ddb_buf *b, int32_t v) { return put_le(b, (uint32_t)v, 4); }
int ddb_buf_i64(ddb_buf *b, int64_t v) { return put_le(b, (uint64_t)v, 8); }
