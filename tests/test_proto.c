/* test_proto.c — the sans-I/O protocol layer on hand-written bytes (docs/PROTOCOL.md §7.3):
 * request builders byte for byte, the response parser fed whole, one byte at a time
 * and in random chunks, and malformed streams rejected with a clear message. */
#include "ddb_proto.h"
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_checks, g_failures;

static void expect_bytes(const char *what, const ddb_buf *b, const char *hex)
{
    unsigned char want[512];
    size_t n = check_unhex(hex, want);
    int same = b->len == n && memcmp(b->p, want, n) == 0;
    CHECK(same, "%s: got %zu bytes '%.*s', want %zu bytes", what, b->len, (int)b->len,
          b->p, n);
    if (same)
        printf("ok  %s (%zu bytes match docs/PROTOCOL.md)\n", what, n);
}

/* A secret buffer (login lines) grows by copy and wipe instead of realloc: the
 * request built through several growths is byte for byte the plain one. */
static void test_secret_request(void)
{
    char pw[1500], err[200];
    for (size_t i = 0; i < sizeof pw - 1; i++)
        pw[i] = (char)('a' + i % 26);
    pw[sizeof pw - 1] = 0;
    ddb_buf plain, secret;
    ddb_buf_init(&plain);
    ddb_buf_init(&secret);
    secret.secret = 1;
    int rc = ddb_req_connect(&plain, 0, "admin", pw, err, sizeof err) |
             ddb_req_connect(&secret, 0, "admin", pw, err, sizeof err);
    CHECK(rc == 0 && secret.len == plain.len && secret.len > 1500 &&
          memcmp(secret.p, plain.p, plain.len) == 0 && secret.secret,
          "a secret connect request equals the plain one (%zu / %zu bytes)", secret.len,
          plain.len);
    ddb_buf_free(&secret);
    CHECK(secret.p == NULL && secret.secret == 0, "freed and reset");
    ddb_buf_free(&plain);
    printf("ok  a secret buffer grows by copy and wipe (%zu-byte password)\n", strlen(pw));
}

static void test_requests(void)
{
    ddb_buf b;
    char err[200];
    ddb_buf_init(&b);

    CHECK(ddb_req_connect(&b, 0, NULL, NULL, err, sizeof err) == 0, "connect");
    expect_bytes("R1 connect", &b,
                 "41 50 49 20 30 20 38 20 2f 20 30 5f 31 5f 34 5f 32 0a 63 6f 6e 6e 65 63 74 0a");

    ddb_buf_reset(&b);
    CHECK(ddb_req_connect(&b, 0, "admin", "123456", err, sizeof err) == 0, "connect+login");
    expect_bytes("R3 connect with login lines", &b,
                 "41 50 49 20 30 20 33 32 20 2f 20 30 5f 31 5f 34 5f 32 0a 63 6f 6e 6e 65 63 74 0a "
                 "6c 6f 67 69 6e 0a 61 64 6d 69 6e 0a 31 32 33 34 35 36 0a 66 61 6c 73 65");

    ddb_buf_reset(&b);
    CHECK(ddb_req_connect(&b, 0, "ad\nmin", "x", err, sizeof err) == -1 &&
          strstr(err, "line feed"), "LF in user rejected: %s", err);

    ddb_behavior beh;
    ddb_behavior_default(&beh);
    beh.flag = DDB_FLAG_CLEAR_MEMORY;
    ddb_buf_reset(&b);
    CHECK(ddb_req_script(&b, "1166953221", &beh, "1+1", 3, err, sizeof err) == 0, "script");
    expect_bytes("R5 script 1+1 with clearMemory", &b,
                 "41 50 49 32 20 31 31 36 36 39 35 33 32 32 31 20 31 30 20 2f 20 31 36 5f 31 5f "
                 "34 5f 36 34 0a 73 63 72 69 70 74 0a 31 2b 31");

    ddb_buf_reset(&b);
    CHECK(ddb_req_script(&b, "1", &beh, "a\0b", 3, err, sizeof err) == -1 &&
          strstr(err, "NUL"), "NUL in script rejected");
    CHECK(b.len == 0, "nothing written for a rejected script");

    ddb_behavior_default(&beh);
    ddb_obj *args[2] = { ddb_int_new(DDB_INT, 1), ddb_int_new(DDB_INT, 2) };
    ddb_buf_reset(&b);
    CHECK(ddb_req_function(&b, "1166953221", &beh, "add", args, 2, err, sizeof err) == 0,
          "function: %s", err);
    expect_bytes("R7 function add(1, 2)", &b,
                 "41 50 49 32 20 31 31 36 36 39 35 33 32 32 31 20 31 36 20 2f 20 30 5f 31 5f 34 "
                 "5f 36 34 0a 66 75 6e 63 74 69 6f 6e 0a 61 64 64 0a 32 0a 31 04 00 01 00 00 00 "
                 "04 00 02 00 00 00");
    ddb_obj_unref(args[0]);
    ddb_obj_unref(args[1]);

    ddb_obj *login[2] = { ddb_string_new(DDB_STRING, "admin", 5),
                          ddb_string_new(DDB_STRING, "123456", 6) };
    ddb_buf_reset(&b);
    CHECK(ddb_req_function(&b, "1166953221", &beh, "login", login, 2, err, sizeof err) == 0,
          "login");
    expect_bytes("R9 login function", &b,
                 "41 50 49 32 20 31 31 36 36 39 35 33 32 32 31 20 31 38 20 2f 20 30 5f 31 5f 34 "
                 "5f 36 34 0a 66 75 6e 63 74 69 6f 6e 0a 6c 6f 67 69 6e 0a 32 0a 31 12 00 61 64 "
                 "6d 69 6e 00 12 00 31 32 33 34 35 36 00");
    ddb_obj_unref(login[0]);
    ddb_obj_unref(login[1]);

    ddb_obj *vals[2] = { ddb_int_new(DDB_INT, 42), ddb_vector_new(DDB_DOUBLE, 1) };
    ((double *)vals[1]->data)[0] = 1.5;
    const char *names[2] = { "x", "t" };
    ddb_buf_reset(&b);
    CHECK(ddb_req_upload(&b, "1166953221", &beh, names, vals, 2, err, sizeof err) == 0,
          "upload: %s", err);
    expect_bytes("R10 upload x, t", &b,
                 "41 50 49 32 20 31 31 36 36 39 35 33 32 32 31 20 31 36 20 2f 20 30 5f 31 5f 34 "
                 "5f 36 34 0a 76 61 72 69 61 62 6c 65 0a 78 2c 74 0a 32 0a 31 04 00 2a 00 00 00 "
                 "10 01 01 00 00 00 01 00 00 00 00 00 00 00 00 00 f8 3f");
    const char *bad[2] = { "x", "1t" };
    ddb_buf_reset(&b);
    CHECK(ddb_req_upload(&b, "1", &beh, bad, vals, 2, err, sizeof err) == -1 &&
          strstr(err, "1t"), "bad variable name rejected: %s", err);
    ddb_obj_unref(vals[0]);
    ddb_obj_unref(vals[1]);

    char s[160];
    ddb_behavior_default(&beh);
    ddb_behavior_format(&beh, s, sizeof s);
    CHECK(strcmp(s, "0_1_4_64") == 0, "default behavior %s", s);
    beh.fetch_size = 8192;
    ddb_behavior_format(&beh, s, sizeof s);
    CHECK(strcmp(s, "0_1_4_64__8192") == 0, "fetch size behavior %s", s);
    beh.client_id = "5d212a78-cc48-e3b1-4235-b4d91473ee87";
    beh.seqno = -7;
    ddb_behavior_format(&beh, s, sizeof s);
    CHECK(strcmp(s, "0_1_4_64__8192__5d212a78-cc48-e3b1-4235-b4d91473ee87_-7") == 0,
          "HA+fetch behavior %s", s);
    beh.fetch_size = 0;
    beh.flag = 16;
    beh.priority = 8;
    beh.parallelism = 2;
    beh.seqno = 3;
    ddb_behavior_format(&beh, s, sizeof s);
    CHECK(strcmp(s, "16_1_8_2____5d212a78-cc48-e3b1-4235-b4d91473ee87_3") == 0,
          "HA behavior %s", s);
    printf("ok  behavior strings (defaults, fetchSize, HA clientId/seqNo)\n");

    /* The hand-written formatter against printf's output on random and extreme
     * values, and the too-small buffer refused rather than cut. */
    const long long extremes[] = { 0, 1, -1, 9, 10, -10, 2147483647LL, -2147483647LL - 1,
                                   9223372036854775807LL, -9223372036854775807LL - 1 };
    for (int i = 0; i < 2000; i++) {
        ddb_behavior r;
        ddb_behavior_default(&r);
        r.flag = rand() % 100000;
        r.priority = rand() % 20 - 5;
        r.parallelism = rand();
        r.fetch_size = (i % 3 == 0) ? rand() % 100000 : 0;
        r.client_id = (i % 2) ? "abc-123" : NULL;
        r.seqno = (i < 10) ? extremes[i] : (long long)rand() * (rand() % 2 ? 1 : -1);
        char want[200], got[200];
        if (r.client_id)
            snprintf(want, sizeof want, r.fetch_size > 0 ? "%d_1_%d_%d__%d__%s_%lld"
                                                        : "%d_1_%d_%d__%.0d__%s_%lld",
                     r.flag, r.priority, r.parallelism, r.fetch_size, r.client_id,
                     (long long)r.seqno);
        else if (r.fetch_size > 0)
            snprintf(want, sizeof want, "%d_1_%d_%d__%d", r.flag, r.priority, r.parallelism,
                     r.fetch_size);
        else
            snprintf(want, sizeof want, "%d_1_%d_%d", r.flag, r.priority, r.parallelism);
        int n = ddb_behavior_format(&r, got, sizeof got);
        CHECK(n == (int)strlen(want) && strcmp(got, want) == 0, "behavior %s, want %s", got, want);
        CHECK(ddb_behavior_format(&r, got, strlen(want)) == -1, "a cut behavior was accepted");
        CHECK(ddb_behavior_format(&r, got, strlen(want) + 1) == n, "an exact fit was refused");
    }
    ddb_buf_reset(&b);
    ddb_behavior_default(&beh);
    CHECK(ddb_req_script(&b, "12345", &beh, "1+1", 3, err, sizeof err) == 0 &&
          b.len == strlen("API2 12345 10 / 0_1_4_64\nscript\n1+1") &&
          memcmp(b.p, "API2 12345 10 / 0_1_4_64\nscript\n1+1", b.len) == 0,
          "script request %.*s", (int)b.len, b.p);
    printf("ok  behavior strings against printf (random, extremes, exact fits)\n");
    ddb_buf_free(&b);
}

/* Feed `n` bytes in chunks chosen by `mode`: 0 whole, 1 byte by byte, 2 random. */
static int feed_all(ddb_resp *r, const unsigned char *p, size_t n, int mode,
                    size_t *total_used)
{
    size_t pos = 0;
    int rc = DDB_RESP_NEED_MORE;
    while (pos < n) {
        size_t chunk = mode == 0 ? n - pos : mode == 1 ? 1 : 1 + (size_t)rand() % 7;
        if (chunk > n - pos)
            chunk = n - pos;
        size_t used = 0;
        rc = ddb_resp_feed(r, p + pos, chunk, &used);
        pos += used;
        if (rc != DDB_RESP_NEED_MORE)
            break;
        if (used != chunk)
            return -99;     /* NEED_MORE must consume everything */
    }
    *total_used = pos;
    return rc;
}

typedef void (*resp_check)(ddb_resp *r, const char *how);

static void run_resp(const char *name, const char *hex, int expect_rc, resp_check fn)
{
    unsigned char bytes[1024];
    size_t n = check_unhex(hex, bytes);
    static const char *modes[] = { "whole", "byte-by-byte", "random chunks" };
    for (int mode = 0; mode < 3; mode++) {
        for (int rep = 0; rep < (mode == 2 ? 20 : 1); rep++) {
            ddb_resp r;
            ddb_resp_init(&r, NULL);
            size_t used = 0;
            int rc = feed_all(&r, bytes, n, mode, &used);
            CHECK(rc == expect_rc, "%s %s: rc %d want %d (%s)", name, modes[mode], rc,
                  expect_rc, r.parse_error);
            if (rc == DDB_RESP_DONE)
                CHECK(used == n, "%s %s: consumed %zu of %zu", name, modes[mode], used, n);
            if (fn)
                fn(&r, modes[mode]);
            ddb_resp_free(&r);
        }
    }
    printf("ok  %s (whole, byte by byte, random chunks)\n", name);
}

static void check_r2(ddb_resp *r, const char *how)
{
    CHECK(strcmp(r->session_id, "1166953221") == 0 && !r->is_error && !r->obj &&
          r->little_endian, "R2 %s", how);
}

static void check_bool_true(ddb_resp *r, const char *how)
{
    CHECK(r->obj && r->obj->type == DDB_BOOL && r->obj->form == DDB_SCALAR &&
          ddb_int_at(r->obj, 0) == 1, "R4 %s", how);
}

static void check_int(ddb_resp *r, const char *how, int64_t v)
{
    CHECK(r->obj && r->obj->type == DDB_INT && ddb_int_at(r->obj, 0) == v &&
          !r->is_error && r->nmsgs == 0, "INT %lld %s", (long long)v, how);
}

static void check_r6(ddb_resp *r, const char *how) { check_int(r, how, 2); }

static void check_r11(ddb_resp *r, const char *how)
{
    CHECK(r->is_error && r->error &&
          strcmp(r->error, "Syntax Error: [line #1] Cannot recognize the token foo") == 0 &&
          !r->obj, "R11 %s: %s", how, r->error ? r->error : "(none)");
}

static void check_r12(ddb_resp *r, const char *how)
{
    CHECK(r->nmsgs == 1 && strcmp(r->msgs[0], "hello") == 0 && !r->is_error, "R12 %s", how);
}

static void check_two_msgs(ddb_resp *r, const char *how)
{
    CHECK(r->nmsgs == 2 && strcmp(r->msgs[0], "a") == 0 && r->msgs[1][0] == 0 &&
          r->obj && ddb_int_at(r->obj, 0) == 3, "two MSG blocks %s", how);
    int n;
    char **m = ddb_resp_take_msgs(r, &n);
    CHECK(n == 2 && r->nmsgs == 0, "take msgs");
    for (int i = 0; i < n; i++)
        free(m[i]);
    free(m);
}

static void check_big_endian(ddb_resp *r, const char *how)
{
    CHECK(!r->little_endian && r->obj && ddb_int_at(r->obj, 0) == 2, "big-endian INT %s",
          how);
}

static void check_error_with_count(ddb_resp *r, const char *how)
{
    CHECK(r->is_error && r->object_count == 0 && !r->obj, "error line with count 1 %s", how);
}

static void check_parse_error(const char *name, const char *hex, const char *needle)
{
    unsigned char bytes[1024];
    size_t n = check_unhex(hex, bytes);
    for (int mode = 0; mode < 2; mode++) {
        ddb_resp r;
        ddb_resp_init(&r, NULL);
        size_t used;
        int rc = feed_all(&r, bytes, n, mode, &used);
        CHECK(rc == DDB_RESP_ERROR && strstr(r.parse_error, needle), "%s: rc %d '%s'",
              name, rc, r.parse_error);
        /* once failed, it stays failed */
        CHECK(ddb_resp_feed(&r, "x", 1, &used) == DDB_RESP_ERROR, "%s sticky", name);
        ddb_resp_free(&r);
    }
    printf("ok  rejects %s\n", name);
}

static void test_responses(void)
{
    run_resp("R2 connect reply", "31 31 36 36 39 35 33 32 32 31 20 30 20 31 0a 4f 4b 0a",
             DDB_RESP_DONE, check_r2);
    run_resp("R4 BOOL true reply",
             "31 31 36 36 39 35 33 32 32 31 20 31 20 31 0a 4f 4b 0a 01 00 01",
             DDB_RESP_DONE, check_bool_true);
    run_resp("R6 INT 2 reply",
             "31 31 36 36 39 35 33 32 32 31 20 31 20 31 0a 4f 4b 0a 04 00 02 00 00 00",
             DDB_RESP_DONE, check_r6);
    run_resp("R11 error reply",
             "31 31 36 36 39 35 33 32 32 31 20 30 20 31 0a 53 79 6e 74 61 78 20 45 72 72 6f 72 3a "
             "20 5b 6c 69 6e 65 20 23 31 5d 20 43 61 6e 6e 6f 74 20 72 65 63 6f 67 6e 69 7a 65 20 "
             "74 68 65 20 74 6f 6b 65 6e 20 66 6f 6f 0a", DDB_RESP_DONE, check_r11);
    run_resp("R12 MSG then reply",
             "4d 53 47 0a 68 65 6c 6c 6f 00 31 31 36 36 39 35 33 32 32 31 20 30 20 31 0a 4f 4b 0a",
             DDB_RESP_DONE, check_r12);
    /* MSG "a", MSG "" (empty text), then "7 1 1\nOK\n" INT 3 */
    run_resp("two MSG blocks (one empty) then an object",
             "4d 53 47 0a 61 00 4d 53 47 0a 00 37 20 31 20 31 0a 4f 4b 0a 04 00 03 00 00 00",
             DDB_RESP_DONE, check_two_msgs);
    /* "7 1 0\nOK\n" + big-endian INT 2: header bytes swap too (00 04) */
    run_resp("big-endian object",
             "37 20 31 20 30 0a 4f 4b 0a 00 04 00 00 00 02", DDB_RESP_DONE, check_big_endian);
    /* error line with count 1 (Go mocks do this): no object may be read */
    run_resp("error line with object count 1",
             "37 20 31 20 31 0a 62 61 64 0a", DDB_RESP_DONE, check_error_with_count);
    /* truncated: stops at NEED_MORE */
    run_resp("truncated object", "37 20 31 20 31 0a 4f 4b 0a 04 00 02 00",
             DDB_RESP_NEED_MORE, NULL);

    /* Two responses back to back: the first DONE leaves the second untouched. */
    unsigned char two[64];
    size_t n = check_unhex("37 20 30 20 31 0a 4f 4b 0a 37 20 31 20 31 0a 4f 4b 0a 04 00 05 00 00 00",
                      two);
    ddb_resp r;
    ddb_resp_init(&r, NULL);
    size_t used;
    CHECK(ddb_resp_feed(&r, two, n, &used) == DDB_RESP_DONE && used == 9, "first of two");
    ddb_resp_reset(&r);
    size_t used2;
    CHECK(ddb_resp_feed(&r, two + used, n - used, &used2) == DDB_RESP_DONE &&
          used + used2 == n, "second of two");
    ddb_obj *o = ddb_resp_take_obj(&r);
    CHECK(o && ddb_int_at(o, 0) == 5 && r.obj == NULL, "take obj");
    ddb_obj_unref(o);
    ddb_resp_free(&r);
    printf("ok  two responses in one buffer are split exactly\n");

    check_parse_error("a header with 2 fields", "37 20 31 0a 4f 4b 0a", "malformed");
    check_parse_error("a header with 4 fields", "37 20 31 20 31 20 31 0a 4f 4b 0a", "malformed");
    check_parse_error("a non-numeric session id", "37 61 20 30 20 31 0a", "not a");
    check_parse_error("an endianness digit 2", "37 20 30 20 32 0a", "malformed");
    check_parse_error("an empty header line", "0a", "malformed");
    check_parse_error("an HTTP reply (no LF needed to reject it)", "48 54 54 50", "not a");
    check_parse_error("a letter inside the header", "31 32 61", "not a");
    check_parse_error("MSX instead of MSG", "4d 53 58", "not a");
    check_parse_error("two spaces in the header", "37 20 20 30 20 31 0a", "malformed");
    check_parse_error("an object count of 2", "37 20 32 20 31 0a 4f 4b 0a", "more than one");
    check_parse_error("a bad object type", "37 20 31 20 31 0a 4f 4b 0a 4d 00 00 00",
                      "bad object");
    /* 200 bytes without LF: HTTP-like garbage must not be buffered forever */
    char garbage[700] = "";
    for (int i = 0; i < 200; i++)
        strcat(garbage, "31 ");
    check_parse_error("a header line over the cap", garbage, "too long");
}

static void test_not_leader(void)
{
    char host[64];
    int port = 0;
    CHECK(ddb_parse_not_leader("<NotLeader>10.0.0.2:8848", host, sizeof host, &port) &&
          strcmp(host, "10.0.0.2") == 0 && port == 8848, "NotLeader host:port");
    CHECK(ddb_parse_not_leader("<NotLeader>node2:9000:alias2", host, sizeof host, &port) &&
          strcmp(host, "node2") == 0 && port == 9000, "NotLeader host:port:alias");
    CHECK(!ddb_parse_not_leader("Syntax Error", host, sizeof host, &port), "no redirect");
    CHECK(!ddb_parse_not_leader("<NotLeader>nohost", host, sizeof host, &port), "no port");
    CHECK(!ddb_parse_not_leader("<NotLeader>h:99999", host, sizeof host, &port), "bad port");
    printf("ok  <NotLeader> redirect parsing\n");
}

/* Mutated valid responses and random bytes, in random chunks: the parser must end in
 * a defined state (no crash, no over-consumption; sanitizers watch memory), and a
 * DONE response must be internally consistent. */
static void test_mutations(void)
{
    static const char *seeds[] = {
        "31 31 36 36 39 35 33 32 32 31 20 31 20 31 0a 4f 4b 0a 04 00 02 00 00 00",
        ("4d 53 47 0a 68 65 6c 6c 6f 00 37 20 31 20 31 0a 4f 4b 0a 12 01 02 00 00 00 01 00 00 "
         "00 61 00 62 63 00"),
        "37 20 31 20 31 0a 4f 4b 0a 19 01 02 00 00 00 01 00 00 00 04 00 01 00 00 00 12 00 78 00",
        "37 20 30 20 31 0a 53 79 6e 74 61 78 0a",
    };
    int done = 0, errors = 0, more = 0;
    for (int iter = 0; iter < 20000; iter++) {
        unsigned char buf[256];
        size_t n;
        if (iter % 5 == 4) {
            n = (size_t)rand() % sizeof buf;
            for (size_t i = 0; i < n; i++)
                buf[i] = (unsigned char)rand();
        } else {
            n = check_unhex(seeds[iter % 4], buf);
            int flips = 1 + rand() % 3;
            for (int k = 0; k < flips; k++)
                buf[(size_t)rand() % n] = (unsigned char)rand();
            if (rand() % 4 == 0)
                n = (size_t)rand() % (n + 1);       /* truncate */
        }
        ddb_resp r;
        ddb_resp_init(&r, NULL);
        size_t used = 0;
        int rc = feed_all(&r, buf, n, 2, &used);
        if (rc == DDB_RESP_DONE) {
            done++;
            CHECK(used <= n && (r.is_error ? r.error != NULL && r.obj == NULL
                                           : (r.obj != NULL) == (r.object_count == 1)),
                  "consistent DONE at iteration %d", iter);
        } else if (rc == DDB_RESP_ERROR) {
            errors++;
            CHECK(r.parse_error[0] != 0, "error with a message at iteration %d", iter);
        } else {
            more++;
            CHECK(rc == DDB_RESP_NEED_MORE && used == n, "need more at iteration %d (%d)",
                  iter, rc);
        }
        ddb_resp_free(&r);
    }
    printf("ok  20000 mutated/random streams: %d done, %d rejected, %d incomplete\n", done,
           errors, more);
}

/* The header as formatted without any cache: ddb_behavior_format and the documented
 * line layout. */
static void fresh_header(char *out, size_t n, const char *sid, size_t body_len,
                         const ddb_behavior *b)
{
    char beh[160];
    int len = ddb_behavior_format(b, beh, sizeof beh);
    snprintf(out, n, "API2 %s %zu / %.*s\n", sid, body_len, len < 0 ? 0 : len, beh);
}

static int header_matches(const char *sid, size_t body_len, const ddb_behavior *b)
{
    ddb_buf got;
    char want[256], err[200], beh[160];
    ddb_buf_init(&got);
    fresh_header(want, sizeof want, sid, body_len, b);
    /* what must be refused: a client id with a separator, a behavior over 159 bytes */
    int refuse = (b->client_id && strpbrk(b->client_id, "_ \n")) ||
                 ddb_behavior_format(b, beh, sizeof beh) < 0;
    int rc = ddb_req_header(&got, "API2", sid, body_len, b, err, sizeof err);
    int ok = refuse ? rc == -1 && got.len == 0 && err[0]
                    : rc == 0 && got.len == strlen(want) && memcmp(got.p, want, got.len) == 0;
    if (!ok)
        printf("  header for flag %d priority %d parallelism %d fetch %d client %s: got "
               "'%.*s', want '%s'\n", b->flag, b->priority, b->parallelism, b->fetch_size,
               b->client_id ? b->client_id : "-", (int)got.len, got.p ? got.p : "", want);
    ddb_buf_free(&got);
    return ok;
}

/* ddb_req_header reuses the behavior text of the previous request while flag,
 * priority, parallelism and fetch size are unchanged. Every combination the pool can
 * send is formatted twice in a row (the second from the cache) and between them the
 * walk changes one field at a time, forwards then backwards, so a cache keyed on
 * too few fields hands back a stale text and fails here; HA requests in between
 * must neither use nor spoil it. */
static void test_header_cache(void)
{
    static const int fetch[] = { 0, 8192, -3 };
    static const char *const clients[] = {
        NULL, "5f3d2c1a-0b9e-4d7c-8a6f-1e2d3c4b5a69", "", "has_underscore", "has space",
        "line\nfeed",
        /* 120 bytes: fits with a short prefix and seqNo, not with long ones */
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
        "0123456789abcdef0123456789abcdef0123456789abcdef01234567",
    };
    static const int64_t seqnos[] = { 0, 1, -7, 123456789012345, INT64_MIN, INT64_MAX };
    int nclients = (int)(sizeof clients / sizeof *clients);
    int bad = 0, n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int mask = 0; mask < 16; mask++)
            for (int prio = 0; prio <= 8; prio++)
                for (int par = 1; par <= 64; par++)
                    for (int f = 0; f < 3; f++)
                        for (int c = 0; c < nclients; c++) {
                            int m = pass ? 15 - mask : mask;
                            ddb_behavior b;
                            ddb_behavior_default(&b);
                            b.flag = (m & 1 ? DDB_FLAG_URGENT : 0) |
                                     (m & 2 ? DDB_FLAG_CLEAR_MEMORY : 0) |
                                     (m & 4 ? DDB_FLAG_API_CLIENT : 0) |
                                     (m & 8 ? DDB_FLAG_COMPRESS : 0);
                            b.priority = pass ? 8 - prio : prio;
                            b.parallelism = pass ? 65 - par : par;
                            b.fetch_size = fetch[pass ? 2 - f : f];
                            b.client_id = clients[c];
                            b.seqno = seqnos[(n / 2) % 6];
                            if (c >= 2 && (prio + par) % 8)
                                continue;   /* the odd clients on a sample only */
                            for (int again = 0; again < 2; again++) {
                                bad += !header_matches(again ? "1234567" : "0",
                                                       (size_t)n, &b);
                                n++;
                            }
                        }
    /* A NULL behavior is the default one, and an odd flag value round-trips too. */
    ddb_behavior def, odd;
    ddb_behavior_default(&def);
    ddb_buf got;
    char want[256], err[200];
    ddb_buf_init(&got);
    fresh_header(want, sizeof want, "0", 3, &def);
    CHECK(ddb_req_header(&got, "API2", NULL, 3, NULL, err, sizeof err) == 0 &&
          got.len == strlen(want) && memcmp(got.p, want, got.len) == 0,
          "NULL behavior: got '%.*s', want '%s'", (int)got.len, got.p, want);
    ddb_buf_free(&got);
    odd = def;
    odd.flag = -2147483647 - 1;
    odd.priority = 2147483647;
    odd.parallelism = -2147483647 - 1;
    odd.fetch_size = 2147483647;
    bad += !header_matches("42", (size_t)-1, &odd) + !header_matches("42", 0, &odd);
    odd.client_id = clients[6];         /* long prefix + long id: over 159 bytes */
    odd.seqno = INT64_MIN;
    bad += !header_matches("42", 1, &odd);
    odd.seqno = 1;
    bad += !header_matches("42", 1, &odd);
    n += 2;
    /* the edge: "16_1_4_64____<id>_1" of 159 bytes fits, of 160 does not */
    char edge[160];
    ddb_behavior e;
    ddb_behavior_default(&e);
    e.flag = DDB_FLAG_CLEAR_MEMORY;
    e.seqno = 1;
    e.client_id = edge;
    for (size_t id_len = 142; id_len <= 146; id_len++) {
        memset(edge, 'a', id_len);
        edge[id_len] = 0;
        bad += !header_matches("42", 1, &e);
        n++;
    }
    CHECK(bad == 0, "%d of %d headers differ from a fresh formatting", bad, n + 2);
    if (!bad)
        printf("ok  request header: %d headers from the behavior cache equal fresh "
               "formatting\n", n + 2);
}

int main(void)
{
    srand(12345);
    test_requests();
    test_secret_request();
    test_header_cache();
    test_responses();
    test_not_leader();
    test_mutations();
    printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
