/* bench_proto.c — the per-request protocol work of a small task, each beside its
 * baseline measured in the same run:
 *
 *   request header   behavior unchanged (the cached text) / behavior changing every
 *                    request (formatted each time: what every request cost before)
 *   response parse   whole reply with the shortcut / the same bytes through the
 *                    general states (ddb_resp.general_only), for an INT and a STRING
 *                    scalar, plus a reply split in two feeds (always general) and a
 *                    one-row table (always general)
 *
 *   bench_proto [ops [runs]]        (defaults: 1000000 operations, median of 5 runs)
 *
 * Nanoseconds per operation, median of the runs; the machine's load moves them all
 * alike, so read the ratios. Not a test: numbers only. */
#include "ddb_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct header_case { int alternate; } header_case;

/* One request line per op into a reused buffer, as a connection would write it. */
static long run_header(const header_case *hc, long ops)
{
    ddb_buf out;
    ddb_buf_init(&out);
    ddb_behavior b[2];
    ddb_behavior_default(&b[0]);
    b[0].flag = DDB_FLAG_CLEAR_MEMORY;
    b[1] = b[0];
    b[1].flag |= DDB_FLAG_COMPRESS;
    long bytes = 0;
    for (long i = 0; i < ops; i++) {
        ddb_buf_reset(&out);
        ddb_req_header(&out, "API2", "3626924543655852294", 3,
                       &b[hc->alternate ? i & 1 : 0], NULL, 0);
        bytes += (long)out.len;
    }
    ddb_buf_free(&out);
    return bytes;
}

typedef struct resp_case {
    const char *bytes;
    size_t len;
    size_t split;               /* 0: one feed */
    int general_only;
} resp_case;

/* One reply per op through a reused parser, the object taken and released. */
static long run_resp(const resp_case *rc, long ops)
{
    ddb_resp r;
    if (ddb_resp_init(&r, NULL))
        return -1;
    r.general_only = rc->general_only;
    long ok = 0;
    for (long i = 0; i < ops; i++) {
        size_t used = 0, at = 0;
        ddb_resp_reset(&r);
        int st = DDB_RESP_NEED_MORE;
        if (rc->split) {
            st = ddb_resp_feed(&r, rc->bytes, rc->split, &used);
            at = used;
        }
        if (st == DDB_RESP_NEED_MORE)
            st = ddb_resp_feed(&r, rc->bytes + at, rc->len - at, &used);
        ddb_obj *o = ddb_resp_take_obj(&r);
        ok += st == DDB_RESP_DONE && o;
        ddb_obj_unref(o);
    }
    ddb_resp_free(&r);
    return ok;
}

typedef struct bench {
    const char *name;
    long (*run_header)(const header_case *, long);
    long (*run_resp)(const resp_case *, long);
    header_case hc;
    resp_case rc;
    double samples[32];
} bench;

/* A one-row table of INT, DOUBLE, STRING and TIMESTAMP columns, as a reply: a small
 * query result, decoded by the general path (five objects). */
static char *table_reply(size_t *len)
{
    static const int types[] = { DDB_INT, DDB_DOUBLE, DDB_STRING, DDB_TIMESTAMP };
    static const char *const names[] = { "id", "price", "sym", "ts" };
    ddb_obj *t = ddb_table_new(1, 4);
    for (int c = 0; t && c < 4; c++) {
        free(t->col_names[c]);
        t->col_names[c] = strdup(names[c]);
        t->columns[c] = ddb_vector_new(types[c], 1);
    }
    ddb_buf out;
    ddb_buf_init(&out);
    ddb_buf_puts(&out, "3626924543655852294 1 1\nOK\n");
    ddb_encoder enc;
    ddb_encoder_init(&enc);
    char err[200];
    int bad = !t || ddb_encode(&enc, &out, t, err, sizeof err) || out.oom;
    ddb_obj_unref(t);
    if (bad) {
        ddb_buf_free(&out);
        return NULL;
    }
    *len = out.len;
    return out.p;
}

#define INT_REPLY "3626924543655852294 1 1\nOK\n\x04\x00\x02\x00\x00\x00"
#define STR_REPLY "3626924543655852294 1 1\nOK\n\x12\x00hello\x00"

int main(int argc, char **argv)
{
    long ops = argc > 1 ? atol(argv[1]) : 1000000;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    if (ops <= 0) ops = 1000000;
    if (runs <= 0 || runs > 32) runs = 5;
    size_t table_len = 0;
    char *table = table_reply(&table_len);
    if (!table) {
        printf("bench_proto: cannot build the table reply\n");
        return 1;
    }
    bench b[] = {
        { "header, behavior unchanged (cached)", run_header, NULL, { 0 }, { 0 }, { 0 } },
        { "header, behavior changing (formatted)", run_header, NULL, { 1 }, { 0 }, { 0 } },
        { "INT reply, shortcut", NULL, run_resp, { 0 },
          { INT_REPLY, sizeof INT_REPLY - 1, 0, 0 }, { 0 } },
        { "INT reply, general path", NULL, run_resp, { 0 },
          { INT_REPLY, sizeof INT_REPLY - 1, 0, 1 }, { 0 } },
        { "INT reply split in two feeds", NULL, run_resp, { 0 },
          { INT_REPLY, sizeof INT_REPLY - 1, 10, 0 }, { 0 } },
        { "STRING reply, shortcut", NULL, run_resp, { 0 },
          { STR_REPLY, sizeof STR_REPLY - 1, 0, 0 }, { 0 } },
        { "STRING reply, general path", NULL, run_resp, { 0 },
          { STR_REPLY, sizeof STR_REPLY - 1, 0, 1 }, { 0 } },
        { "1-row table reply (general path)", NULL, run_resp, { 0 },
          { table, table_len, 0, 0 }, { 0 } },
    };
    int nb = (int)(sizeof b / sizeof *b);
    for (int r = 0; r < runs; r++)          /* interleaved: load hits all alike */
        for (int i = 0; i < nb; i++) {
            double t0 = now_ns();
            long check = b[i].run_header ? b[i].run_header(&b[i].hc, ops)
                                         : b[i].run_resp(&b[i].rc, ops);
            b[i].samples[r] = (now_ns() - t0) / (double)ops;
            if (check <= 0 || (b[i].run_resp && check != ops)) {
                printf("bench_proto: %s failed (%ld of %ld)\n", b[i].name, check, ops);
                return 1;
            }
        }
    printf("bench_proto: %ld operations per run, median of %d runs\n", ops, runs);
    printf("%-40s %10s %12s\n", "operation", "ns/op", "vs baseline");
    for (int i = 0; i < nb; i++)
        qsort(b[i].samples, (size_t)runs, sizeof(double), cmp_double);
    /* each measured case is followed by its baseline: header 0 vs 1, INT 2 vs 3,
     * split vs general 4 vs 3, STRING 5 vs 6 */
    static const int baseline[] = { 1, -1, 3, -1, 3, 6, -1, -2 };   /* -2: none */
    for (int i = 0; i < nb; i++) {
        double med = b[i].samples[runs / 2];
        if (baseline[i] >= 0)
            printf("%-40s %10.1f %11.2fx\n", b[i].name, med,
                   med / b[baseline[i]].samples[runs / 2]);
        else
            printf("%-40s %10.1f %12s\n", b[i].name, med,
                   baseline[i] == -1 ? "(baseline)" : "");
    }
    free(table);
    return 0;
}
