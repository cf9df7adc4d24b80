/* bench_decode — decoder throughput against memcpy of the same bytes.
 *
 * Builds a table (INT, DOUBLE, TIMESTAMP, SYMBOL with 100 distinct values), encodes
 * it, then decodes it one-shot and fed in 64 KiB pieces; prints the median GB/s of
 * several runs beside memcpy of the same number of bytes into fresh memory (what the
 * decoder has to do) and into memory already touched (the hardware ceiling), and
 * the ratios. Then tables of 25, 50 and 100 MB fed in 64 KiB pieces: the time per
 * MB must stay flat (no quadratic re-parsing).
 * Usage: bench_decode [rows (default 10000000)] [runs (default 5)] */
#include "ddb_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* Fresh memory allocated the way the decoder allocates big columns. */
static char *huge_alloc(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, (size_t)2 << 20, bytes) != 0) return NULL;
    madvise(p, bytes, MADV_HUGEPAGE);
    return p;
}

static ddb_obj *build_table(int64_t rows)
{
    ddb_obj *t = ddb_table_new(rows, 4);
    const char *names[4] = { "id", "price", "ts", "sym" };
    for (int c = 0; c < 4; c++) { free(t->col_names[c]); t->col_names[c] = strdup(names[c]); }
    ddb_obj *id = ddb_vector_new(DDB_INT, rows), *px = ddb_vector_new(DDB_DOUBLE, rows);
    ddb_obj *ts = ddb_vector_new(DDB_TIMESTAMP, rows), *sym = ddb_vector_new(DDB_SYMBOL, 0);
    int32_t *ip = id->data;
    double *dp = px->data;
    int64_t *tp = ts->data;
    for (int64_t i = 0; i < rows; i++) {
        ip[i] = (int32_t)i;
        dp[i] = (double)i * 0.25;
        tp[i] = 1704067200000LL + i * 10;
        char s[16];
        int n = snprintf(s, sizeof s, "SYM%02d", (int)(i % 100));
        ddb_symbol_append(sym, s, (size_t)n);
    }
    t->columns[0] = id; t->columns[1] = px; t->columns[2] = ts; t->columns[3] = sym;
    return t;
}

static ddb_obj *decode_pieces(const char *p, size_t len, size_t piece)
{
    ddb_decoder *d = ddb_decoder_new(NULL);
    ddb_decoder_reset(d, 1);
    size_t off = 0, used;
    int r = DDB_DEC_NEED_MORE;
    while (r == DDB_DEC_NEED_MORE && off < len) {
        size_t k = len - off < piece ? len - off : piece;
        r = ddb_decoder_feed(d, p + off, k, &used);
        off += used;
    }
    ddb_obj *o = r == DDB_DEC_DONE ? ddb_decoder_take(d) : NULL;
    if (!o) fprintf(stderr, "decode failed: %s\n", ddb_decoder_error(d));
    ddb_decoder_free(d);
    return o;
}

int main(int argc, char **argv)
{
    int64_t rows = argc > 1 ? atoll(argv[1]) : 10000000;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    if (runs < 1 || runs > 50) runs = 5;
    ddb_obj *t = build_table(rows);
    ddb_encoder e;
    ddb_encoder_init(&e);
    ddb_buf b;
    ddb_buf_init(&b);
    char err[256];
    if (ddb_encode(&e, &b, t, err, sizeof err) < 0) { fprintf(stderr, "%s\n", err); return 1; }
    ddb_obj_unref(t);
    double gb = (double)b.len / 1e9;
    printf("table: %lld rows (INT, DOUBLE, TIMESTAMP, SYMBOL x100), %.1f MB encoded\n",
           (long long)rows, (double)b.len / 1e6);

    double fresh[50], hfresh[50], warm[50], one[50], pieces[50];
    char *dst = malloc(b.len);
    memset(dst, 1, b.len);
    for (int r = 0; r < runs; r++) {
        double t0 = now();
        char *f = malloc(b.len);
        memcpy(f, b.p, b.len);
        __asm__ volatile("" : : "r"(f) : "memory");   /* keep the copy */
        fresh[r] = now() - t0;
        free(f);
        t0 = now();
        f = huge_alloc(b.len);
        memcpy(f, b.p, b.len);
        __asm__ volatile("" : : "r"(f) : "memory");
        hfresh[r] = now() - t0;
        free(f);
        t0 = now();
        memcpy(dst, b.p, b.len);
        warm[r] = now() - t0;
        t0 = now();
        ddb_obj *o = ddb_decode(b.p, b.len, 1, NULL, NULL, err, sizeof err);
        one[r] = now() - t0;
        if (!o) { fprintf(stderr, "decode failed: %s\n", err); return 1; }
        ddb_obj_unref(o);
        t0 = now();
        o = decode_pieces(b.p, b.len, 65536);
        pieces[r] = now() - t0;
        if (!o) return 1;
        ddb_obj_unref(o);
    }
    double mf = gb / median(fresh, runs), mw = gb / median(warm, runs);
    double mh = gb / median(hfresh, runs);
    double d1 = gb / median(one, runs), dp = gb / median(pieces, runs);
    printf("memcpy into fresh memory : %6.2f GB/s\n", mf);
    printf("memcpy into fresh huge-page memory (as the decoder allocates): %6.2f GB/s\n", mh);
    printf("memcpy into touched memory: %6.2f GB/s\n", mw);
    printf("decode one-shot          : %6.2f GB/s  (%.2f x fresh memcpy, %.2f x huge-page "
           "memcpy, %.2f x touched)\n", d1, d1 / mf, d1 / mh, d1 / mw);
    printf("decode in 64 KiB pieces  : %6.2f GB/s  (%.2f x fresh memcpy, %.2f x huge-page "
           "memcpy, %.2f x touched)\n", dp, dp / mf, dp / mh, dp / mw);
    free(dst);

    /* the same table sent compressed (LZ4, then delta-of-delta where it applies) */
    t = build_table(rows);
    for (int m = DDB_COMPRESS_LZ4; m <= DDB_COMPRESS_DELTA; m++) {
        ddb_buf cb;
        ddb_buf_init(&cb);
        ddb_encoder_init(&e);
        e.compress_tables = m;
        double t0 = now();
        ddb_encode(&e, &cb, t, err, sizeof err);
        double enc = now() - t0;
        double times[50];
        for (int r = 0; r < runs; r++) {
            t0 = now();
            ddb_obj *o = ddb_decode(cb.p, cb.len, 1, NULL, NULL, err, sizeof err);
            times[r] = now() - t0;
            if (!o) { fprintf(stderr, "decode failed: %s\n", err); return 1; }
            ddb_obj_unref(o);
        }
        double md = median(times, runs);
        printf("compressed (%s): %.1f MB on the wire, encode %.0f ms, decode %.0f ms "
               "(%.2f GB/s of table data)\n", m == DDB_COMPRESS_LZ4 ? "LZ4" : "delta",
               (double)cb.len / 1e6, enc * 1e3, md * 1e3, gb / md);
        ddb_buf_free(&cb);
    }
    ddb_obj_unref(t);
    ddb_buf_free(&b);

    /* linearity: 25/50/100 MB tables fed in 64 KiB pieces */
    for (int mb = 25; mb <= 100; mb *= 2) {
        int64_t n = (int64_t)mb * 1000000 / 24;   /* ~24 encoded bytes per row */
        ddb_obj *tt = build_table(n);
        ddb_buf bb;
        ddb_buf_init(&bb);
        ddb_encoder_init(&e);
        ddb_encode(&e, &bb, tt, err, sizeof err);
        ddb_obj_unref(tt);
        double times[50];
        for (int r = 0; r < runs; r++) {
            double t0 = now();
            ddb_obj *o = decode_pieces(bb.p, bb.len, 65536);
            times[r] = now() - t0;
            ddb_obj_unref(o);
        }
        double m = median(times, runs);
        printf("%5.1f MB in 64 KiB pieces: %7.1f ms, %.2f ms per MB\n", (double)bb.len / 1e6,
               m * 1e3, m * 1e3 / ((double)bb.len / 1e6));
        ddb_buf_free(&bb);
    }
    return 0;
}
