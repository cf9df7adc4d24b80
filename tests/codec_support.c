/* codec_support.c — see codec_support.h */
#include "codec_support.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cs_failures, cs_checks;

void cs_check(bool ok, const char *file, int line, const char *fmt, ...)
{
    cs_checks++;
    if (ok) return;
    cs_failures++;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cs_finish(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, cs_checks, cs_failures);
    return cs_failures ? 1 : 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

uint8_t *cs_unhex(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    uint8_t *out = malloc(n / 2 + 1);
    size_t k = 0;
    int hi = -1;
    for (size_t i = 0; i < n; i++) {
        if (hex[i] == ' ' || hex[i] == '\n') continue;
        int v = hexval((unsigned char)hex[i]);
        if (v < 0) { free(out); return NULL; }
        if (hi < 0) hi = v;
        else { out[k++] = (uint8_t)(hi << 4 | v); hi = -1; }
    }
    if (hi >= 0) { free(out); return NULL; }
    *len = k;
    return out;
}

char *cs_hex(const uint8_t *p, size_t len)
{
    char *s = malloc(len * 2 + 1);
    for (size_t i = 0; i < len; i++) sprintf(s + 2 * i, "%02x", p[i]);
    s[len * 2] = 0;
    return s;
}

static char **split(char *line, char sep, int *n)
{
    int cap = 8;
    char **f = malloc(sizeof *f * (size_t)cap);
    *n = 0;
    for (char *p = line;;) {
        char *e = strchr(p, sep);
        if (*n == cap) f = realloc(f, sizeof *f * (size_t)(cap *= 2));
        f[(*n)++] = p;
        if (!e) break;
        *e = 0;
        p = e + 1;
    }
    return f;
}

int cs_load_tsv(const char *path, cs_table *t)
{
    memset(t, 0, sizeof *t);
    FILE *fp = fopen(path, "rb");
    if (!fp) return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rcap = 0;
    while ((n = getline(&line, &cap, fp)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (n == 0) continue;
        int nf;
        char **f = split(strdup(line), '\t', &nf);
        if (!t->names) { t->names = f; t->ncols = nf; continue; }
        if (nf < t->ncols) { free(f[0]); free(f); continue; }
        if (t->nrows == rcap) t->rows = realloc(t->rows, sizeof *t->rows * (size_t)(rcap = rcap ? rcap * 2 : 64));
        t->rows[t->nrows++] = f;
    }
    free(line);
    fclose(fp);
    return t->names ? 0 : -1;
}

const char *cs_field(const cs_table *t, int row, const char *name)
{
    for (int c = 0; c < t->ncols; c++)
        if (strcmp(t->names[c], name) == 0) return t->rows[row][c];
    return NULL;
}

void cs_free_tsv(cs_table *t)
{
    for (int r = 0; r < t->nrows; r++) { free(t->rows[r][0]); free(t->rows[r]); }
    if (t->names) { free(t->names[0]); free(t->names); }
    free(t->rows);
    memset(t, 0, sizeof *t);
}

ddb_obj *cs_decode_chunked(const uint8_t *p, size_t len, size_t chunk, unsigned seed,
                           const ddb_limits *lim, size_t *consumed, char *err, size_t errlen)
{
    ddb_decoder *d = ddb_decoder_new(lim);
    ddb_decoder_reset(d, 1);
    size_t off = 0;
    int r = DDB_DEC_NEED_MORE;
    while (r == DDB_DEC_NEED_MORE && off < len) {
        size_t k = chunk;
        if (!chunk) { seed = seed * 1103515245u + 12345u; k = 1 + (seed >> 16) % 37; }
        if (k > len - off) k = len - off;
        size_t used = 0;
        r = ddb_decoder_feed(d, p + off, k, &used);
        if (r == DDB_DEC_NEED_MORE && used != k) {
            snprintf(err, errlen, "NEED_MORE but consumed %zu of %zu", used, k);
            ddb_decoder_free(d);
            return NULL;
        }
        off += used;
    }
    ddb_obj *o = NULL;
    if (r == DDB_DEC_DONE) o = ddb_decoder_take(d);
    else if (r == DDB_DEC_ERROR) snprintf(err, errlen, "%s", ddb_decoder_error(d));
    else snprintf(err, errlen, "truncated (NEED_MORE after all %zu bytes)", len);
    *consumed = off;
    ddb_decoder_free(d);
    return o;
}

uint8_t *cs_encode(const ddb_obj *o, size_t *len, int compress, char *err, size_t errlen)
{
    ddb_encoder e;
    ddb_encoder_init(&e);
    e.compress_tables = compress;
    ddb_buf b;
    ddb_buf_init(&b);
    if (ddb_encode(&e, &b, o, err, errlen) < 0) { ddb_buf_free(&b); return NULL; }
    *len = b.len;
    if (!b.p) b.p = malloc(1);
    return (uint8_t *)b.p;
}
