/* test_ddbmini_protocol.c — ddbmini's protocol handling over real sockets: framing
 * variants, sessions, login, function calls and uploads (either byte order), echo
 * round trips of every form, behavior flags (clearMemory, async, fetchSize,
 * compress), priority/parallelism validation, HA seqNo retries, framing errors.
 * usage: test_ddbmini_protocol path/to/ddbmini */
#include "ddbmini_harness.h"
#include "ddb_codec.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

static mini_proc P;

/* Writes raw bytes on the socket (whole request built by the test). */
#include <sys/socket.h>
static void write_bytes(mini_client *c, const void *p, size_t n)
{
    CHECK(send(c->fd, p, n, MSG_NOSIGNAL) == (ssize_t)n, "send %zu raw bytes", n);
}

static ddb_obj *script_obj(mini_client *c, const char *s)
{
    ddb_obj *o = NULL;
    int rc = mini_client_script(c, s, &o);
    CHECK(rc == MINI_OK, "script [%s] ok (got %d: %s)", s, rc, c->error);
    return o;
}

static int64_t int_of(const ddb_obj *o)
{
    return o && o->form == DDB_SCALAR ? ddb_int_at(o, 0) : -999;
}

static void test_handshakes(void)
{
    mini_client c;
    CHECK(mini_client_open(&c, "127.0.0.1", P.port) == 0, "open");
    CHECK(mini_client_connect(&c) == MINI_OK, "connect: %s", c.error);
    CHECK(c.session_id > 0, "positive session id %lld", (long long)c.session_id);
    int64_t sid = c.session_id;
    ddb_obj *o = script_obj(&c, "1+1");
    CHECK(int_of(o) == 2, "1+1 = 2");
    CHECK(c.session_id == sid, "same session id on every response");
    ddb_obj_unref(o);
    mini_client_close(&c);

    /* the first request may be a script without connect (docs/PROTOCOL.md §2.6) */
    mini_client_open(&c, "127.0.0.1", P.port);
    o = script_obj(&c, "40+2");
    CHECK(int_of(o) == 42 && c.session_id > 0 && c.session_id != sid, "script first: new session");
    ddb_obj_unref(o);
    mini_client_close(&c);

    /* connect carrying login lines: OK + BOOL true; wrong password: error line */
    mini_client_open(&c, "127.0.0.1", P.port);
    CHECK(mini_client_connect_login(&c, "admin", "123456") == MINI_OK, "connect+login: %s", c.error);
    mini_client_close(&c);
    mini_client_open(&c, "127.0.0.1", P.port);
    CHECK(mini_client_connect_login(&c, "admin", "nope") == MINI_SERVER_ERROR &&
              !strcmp(c.error, "The user name or password is incorrect."),
          "connect with a wrong password: [%s]", c.error);
    o = script_obj(&c, "1");
    CHECK(int_of(o) == 1, "connection usable after a refused login");
    ddb_obj_unref(o);
    mini_client_close(&c);

    /* Go style: API2, empty session id (two spaces), API for connect (C++ style) */
    mini_client_open(&c, "127.0.0.1", P.port);
    const char go[] = "API2  10 / 0_1_4_64\nscript\n1+1";
    write_bytes(&c, go, sizeof go - 1);
    CHECK(mini_client_read(&c, &o) == MINI_OK && int_of(o) == 2, "empty session id accepted");
    ddb_obj_unref(o);
    const char cpp[] = "API 0 8 / 32_1_4_2__0\nconnect\n";
    write_bytes(&c, cpp, sizeof cpp - 1);
    CHECK(mini_client_read(&c, &o) == MINI_OK && !o, "C++ style connect");
    const char old[] = "API 0 10\nscript\n2+2";       /* no behavior string at all */
    write_bytes(&c, old, sizeof old - 1);
    CHECK(mini_client_read(&c, &o) == MINI_OK && int_of(o) == 4, "no behavior string");
    ddb_obj_unref(o);
    const char unknown[] = "API2 0 7\nfoobar\n";
    write_bytes(&c, unknown, sizeof unknown - 1);
    CHECK(mini_client_read(&c, &o) == MINI_SERVER_ERROR && strstr(c.error, "Unknown request type"),
          "unknown command answered with an error line: [%s]", c.error);
    o = script_obj(&c, "3");
    CHECK(int_of(o) == 3, "usable after an unknown command");
    ddb_obj_unref(o);
    mini_client_close(&c);
}

static void test_msg_blocks(void)
{
    mini_client c;
    open_client(&c, &P);
    ddb_obj *o = script_obj(&c, "print(\"hello\"); print(1 2 3); 7");
    CHECK(int_of(o) == 7 && c.nmsgs == 2, "API2: two MSG blocks (got %d)", c.nmsgs);
    CHECK(c.msgs.p && !strncmp(c.msgs.p, "hello\n", 6) && strstr(c.msgs.p, "1") && strstr(c.msgs.p, "3"),
          "MSG texts: [%.*s]",
          (int)c.msgs.len, c.msgs.p ? c.msgs.p : "");
    ddb_obj_unref(o);
    /* MSG blocks go out while the script still runs */
    const char *slow = "script\nprint(\"early\"); sleep(1000); print(\"late\"); 9";
    double t0 = now_s();
    CHECK(mini_client_send(&c, slow, strlen(slow), NULL, 0) == 0, "send slow print");
    struct pollfd pfd = {.fd = c.fd, .events = POLLIN};
    CHECK(poll(&pfd, 1, 700) == 1, "the first MSG block arrives before the script ends");
    double first = now_s() - t0;
    CHECK(mini_client_read(&c, &o) == MINI_OK && int_of(o) == 9 && c.nmsgs == 2, "then the rest");
    CHECK(first < 0.7 && now_s() - t0 >= 0.95, "MSG after %.3f s, response after %.3f s", first, now_s() - t0);
    ddb_obj_unref(o);
    c.kind = "API";
    o = script_obj(&c, "print(\"hello\"); 8");
    CHECK(int_of(o) == 8 && c.nmsgs == 0, "API: no MSG blocks");
    ddb_obj_unref(o);
    mini_client_close(&c);
}

static void test_functions_and_uploads(void)
{
    mini_client c;
    open_client(&c, &P);
    ddb_obj *args[2] = {ddb_int_new(DDB_INT, 1), ddb_int_new(DDB_INT, 2)};
    ddb_obj *o = NULL;
    CHECK(mini_client_call(&c, "add", args, 2, &o) == MINI_OK && int_of(o) == 3, "add(1,2) = 3");
    ddb_obj_unref(o);
    CHECK(mini_client_call(&c, "add", args, 1, &o) == MINI_SERVER_ERROR &&
              !strcmp(c.error, "The function [add] expects 2 argument(s), but the actual number of arguments is: 1"),
          "arity error: [%s]", c.error);
    CHECK(mini_client_call(&c, "nosuch", args, 1, &o) == MINI_SERVER_ERROR &&
              !strcmp(c.error, "Can't recognize function name nosuch"), "unknown: [%s]", c.error);

    /* Go/Rust form: LF after the endianness digit, counted in the length */
    const char lf[] = "API2 0 17 / 0_1_4_64\nfunction\nadd\n2\n1\n\x04\x00\x05\x00\x00\x00\x04\x00\x06\x00\x00\x00";
    write_bytes(&c, lf, sizeof lf - 1);
    CHECK(mini_client_read(&c, &o) == MINI_OK && int_of(o) == 11, "trailing LF form");
    ddb_obj_unref(o);
    /* big-endian arguments (<e> = 0): the int16 header swaps too */
    const char be[] = "API2 0 16 / 0_1_4_64\nfunction\nadd\n2\n0\x00\x04\x00\x00\x00\x07\x00\x04\x00\x00\x00\x08";
    write_bytes(&c, be, sizeof be - 1);
    CHECK(mini_client_read(&c, &o) == MINI_OK && int_of(o) == 15, "big-endian arguments");
    ddb_obj_unref(o);
    /* zero-argument call and partial application as the function name */
    CHECK(mini_client_call(&c, "version", NULL, 0, &o) == MINI_OK && o && o->type == DDB_STRING, "version()");
    ddb_obj_unref(o);
    CHECK(mini_client_call(&c, "add{10}", args, 1, &o) == MINI_OK && int_of(o) == 11, "add{10}(1)");
    ddb_obj_unref(o);

    /* uploads, then use them from scripts and function calls */
    const char *names[2] = {"x", "t"};
    ddb_obj *vals[2] = {ddb_int_new(DDB_INT, 42), NULL};
    vals[1] = script_obj(&c, "table(1..3 as a, `x`y`z as s)");
    CHECK(mini_client_upload(&c, names, vals, 2) == MINI_OK, "upload x, t: %s", c.error);
    o = script_obj(&c, "x + size(t)");
    CHECK(int_of(o) == 45, "uploaded values usable (%lld)", (long long)int_of(o));
    ddb_obj_unref(o);
    o = script_obj(&c, "objs()");
    CHECK(o && o->form == DDB_TABLE && o->rows == 2, "objs() lists 2 variables");
    ddb_obj_unref(o);
    /* C# style trailing comma in the names; Go style: no behavior string, LF at the end */
    const char cs[] = "API2 0 16\nvariable\ny,\n1\n1\n\x04\x00\x09\x00\x00\x00";
    write_bytes(&c, cs, sizeof cs - 1);
    CHECK(mini_client_read(&c, &o) == MINI_OK && !o, "upload with trailing comma, no behavior");
    o = script_obj(&c, "y");
    CHECK(int_of(o) == 9, "y uploaded");
    ddb_obj_unref(o);
    const char bad[] = "API2 0 18\nvariable\na,b,c\n1\n1\x04\x00\x09\x00\x00\x00";
    write_bytes(&c, bad, sizeof bad - 1);
    CHECK(mini_client_read(&c, &o) == MINI_SERVER_ERROR, "names/values count mismatch is an error");
    ddb_obj_unref(vals[0]);
    ddb_obj_unref(vals[1]);
    ddb_obj_unref(args[0]);
    ddb_obj_unref(args[1]);
    mini_client_close(&c);

    /* sessions are separate */
    open_client(&c, &P);
    CHECK(mini_client_script(&c, "x", &o) == MINI_SERVER_ERROR, "x is not visible in another session");
    mini_client_close(&c);
}

/* Every form/type: made by the server, sent back through echo() and an upload. */
static void test_round_trips(void)
{
    static const char *const scripts[] = {
        "1", "NULL", "true", "'a'", "7h", "1l", "2.5", "1.5f", "\"str\"", "`sym", "2024.01.02",
        "2024.01M", "12:30:00.123", "12:30m", "12:30:00", "2024.01.02T12:30:00",
        "2024.01.02T12:30:00.123", "12:30:00.000000001", "2024.01.02T12:30:00.000000001",
        "2024.01.02T03", "uuid(\"5d212a78-cc48-e3b1-4235-b4d91473ee87\")", "ipaddr(\"10.0.0.1\")",
        "int128(\"e1671797c52e15f763380b45e841ec32\")", "blob(\"ab\")", "decimal32(3.14, 2)",
        "decimal64(-1.5, 4)", "decimal128(\"1.00\", 2)", "1 2 NULL", "`a`b`a", "[\"x\", \"\"]",
        "1.5 NULL", "true false", "2024.01.01 2024.01.02", "(1, \"a\", 2.5, [1, 2])", "1:5",
        "matrix(1 2, 3 4)", "set(1 2 3)", "dict(`a`b, 1 2)", "dict(INT, DOUBLE)",
        "table(1..3 as id, `a`b`c as s, 1.5 2.5 NULL as v, [\"x\",\"y\",\"z\"] as t)",
        "table(take(`a`b, 4) as s1, take(`b`c, 4) as s2)", "1..100000",
    };
    mini_client c;
    open_client(&c, &P);
    for (size_t i = 0; i < sizeof scripts / sizeof *scripts; i++) {
        ddb_obj *v = script_obj(&c, scripts[i]), *e = NULL, *u = NULL;
        if (!v)
            continue;
        int rc = mini_client_call(&c, "echo", &v, 1, &e);
        CHECK(rc == MINI_OK && e && ddb_obj_equal(v, e), "echo round trip of %s (%s)", scripts[i], c.error);
        const char *name = "rt";
        rc = mini_client_upload(&c, &name, &v, 1);
        CHECK(rc == MINI_OK, "upload of %s: %s", scripts[i], c.error);
        u = script_obj(&c, "rt");
        CHECK(u && ddb_obj_equal(v, u), "upload round trip of %s", scripts[i]);
        ddb_obj_unref(v);
        ddb_obj_unref(e);
        ddb_obj_unref(u);
    }
    mini_client_close(&c);
}

static void test_flags(void)
{
    mini_client c;
    open_client(&c, &P);
    ddb_obj *o = NULL;
    /* clearMemory (16): variables the request created go; older ones stay */
    CHECK(mini_client_script(&c, "keep = 5", NULL) == MINI_OK, "keep = 5");
    snprintf(c.behavior, sizeof c.behavior, "16_1_4_64");
    o = script_obj(&c, "tmp = 1; keep = keep + 1; tmp + keep");
    CHECK(int_of(o) == 7, "clearMemory request still returns its value");
    ddb_obj_unref(o);
    const char *name = "up";
    ddb_obj *one = ddb_int_new(DDB_INT, 1);
    CHECK(mini_client_upload(&c, &name, &one, 1) == MINI_OK, "upload with clearMemory");
    snprintf(c.behavior, sizeof c.behavior, "0_1_4_64");
    CHECK(mini_client_script(&c, "tmp", &o) == MINI_SERVER_ERROR, "tmp released by clearMemory");
    CHECK(mini_client_script(&c, "up", &o) == MINI_SERVER_ERROR, "upload released by clearMemory");
    o = script_obj(&c, "keep");
    CHECK(int_of(o) == 6, "pre-existing variable kept (and updated)");
    ddb_obj_unref(o);
    o = script_obj(&c, "objs()");
    CHECK(o && o->rows == 1, "objs() shows only keep after clearMemory");
    ddb_obj_unref(o);

    /* async (4): no response at all; the next response belongs to the next request */
    snprintf(c.behavior, sizeof c.behavior, "4_1_4_64");
    const char *body = "script\nasyncVar = 99";
    CHECK(mini_client_send(&c, body, strlen(body), NULL, 0) == 0, "send async");
    const char up[] = "variable\nup\n1\n1";
    const char payload[] = "\x04\x00\x01\x00\x00\x00";
    CHECK(mini_client_send(&c, up, sizeof up - 1, payload, sizeof payload - 1) == 0, "async upload");
    snprintf(c.behavior, sizeof c.behavior, "0_1_4_64");
    o = script_obj(&c, "asyncVar + up");
    CHECK(int_of(o) == 100, "async requests ran and sent nothing (%lld)", (long long)int_of(o));
    ddb_obj_unref(o);
    ddb_obj_unref(one);

    /* priority and parallelism validated; unsupported flags refused */
    snprintf(c.behavior, sizeof c.behavior, "0_1_9_64");
    CHECK(mini_client_script(&c, "1", &o) == MINI_SERVER_ERROR && strstr(c.error, "priority"), "priority 9: [%s]", c.error);
    snprintf(c.behavior, sizeof c.behavior, "0_1_4_65");
    CHECK(mini_client_script(&c, "1", &o) == MINI_SERVER_ERROR && strstr(c.error, "parallelism"), "parallelism 65");
    snprintf(c.behavior, sizeof c.behavior, "0_1_4_0");
    CHECK(mini_client_script(&c, "1", &o) == MINI_SERVER_ERROR, "parallelism 0");
    snprintf(c.behavior, sizeof c.behavior, "8_1_4_64");
    CHECK(mini_client_script(&c, "1", &o) == MINI_SERVER_ERROR, "pickle flag refused");
    snprintf(c.behavior, sizeof c.behavior, "0_1_0_1");
    o = script_obj(&c, "1");
    CHECK(int_of(o) == 1, "priority 0 / parallelism 1 accepted");
    ddb_obj_unref(o);

    /* fetchSize: block-wise ANY vector of tables; < 8192 refused; non-table refused */
    snprintf(c.behavior, sizeof c.behavior, "0_1_4_64__8192");
    o = script_obj(&c, "table(1..20000 as id, take(`a`b, 20000) as s)");
    CHECK(o && o->form == DDB_VECTOR && o->type == DDB_ANY && o->rows == 3, "3 blocks");
    if (o && o->type == DDB_ANY && o->rows == 3) {
        CHECK(o->items[0]->form == DDB_TABLE && o->items[0]->rows == 8192, "block 1: 8192 rows");
        CHECK(o->items[2]->rows == 20000 - 2 * 8192, "block 3: the rest");
        CHECK(ddb_int_at(o->items[2]->columns[0], 0) == 16385, "block 3 starts at 16385");
    }
    ddb_obj_unref(o);
    snprintf(c.behavior, sizeof c.behavior, "32_1_4_64__8192");
    o = script_obj(&c, "table(1..10 as id)");
    CHECK(o && o->type == DDB_ANY && o->rows == 1 && o->items[0]->rows == 10, "small table: one block");
    ddb_obj_unref(o);
    snprintf(c.behavior, sizeof c.behavior, "0_1_4_64__100");
    CHECK(mini_client_script(&c, "table(1..10 as id)", &o) == MINI_SERVER_ERROR, "fetchSize 100 refused");
    snprintf(c.behavior, sizeof c.behavior, "0_1_4_64__8192");
    CHECK(mini_client_script(&c, "1 2 3", &o) == MINI_SERVER_ERROR, "fetchSize on a vector refused");
    snprintf(c.behavior, sizeof c.behavior, "0_1_4_64__0");
    o = script_obj(&c, "5");
    CHECK(int_of(o) == 5, "fetchSize 0 = off");
    ddb_obj_unref(o);

    /* compress (64): tables come back compressed and decode to the same value */
    snprintf(c.behavior, sizeof c.behavior, "0_1_4_64");
    const char *tbl = "table(1..5000 as id, take(`a`b`c, 5000) as s, take(1.5 NULL, 5000) as v)";
    ddb_obj *plain = script_obj(&c, tbl);
    snprintf(c.behavior, sizeof c.behavior, "64_1_4_64");
    body = "script\ntable(1..5000 as id, take(`a`b`c, 5000) as s, take(1.5 NULL, 5000) as v)";
    mini_client_send(&c, body, strlen(body), NULL, 0);
    char head[64];
    int ok = 0;
    /* header line + OK, then the table: its first column must be compressed (type 26) */
    size_t hl = 0;
    while (hl < sizeof head - 1 && mini_client_read_raw(&c, head + hl, 1) == 0 && head[hl] != '\n')
        hl++;
    char okline[3];
    if (mini_client_read_raw(&c, okline, 3) == 0 && !memcmp(okline, "OK\n", 3)) {
        unsigned char th[10];
        mini_client_read_raw(&c, th, 10);
        char names[16];
        mini_client_read_raw(&c, names, 1 + 3 + 2 + 2);     /* "" "id" "s" "v" */
        unsigned char colh[2];
        mini_client_read_raw(&c, colh, 2);
        ok = th[1] == DDB_TABLE && colh[0] == DDB_COMPRESS && colh[1] == DDB_VECTOR;
        CHECK(ok, "compressed table: table type %u, first column header %02x %02x", th[0], colh[0], colh[1]);
    } else
        CHECK(0, "compressed response status");
    mini_client_close(&c);
    open_client(&c, &P);
    snprintf(c.behavior, sizeof c.behavior, "64_1_4_64");
    o = script_obj(&c, tbl);
    CHECK(o && plain && ddb_obj_equal(o, plain), "compressed table decodes to the same value");
    ddb_obj_unref(o);
    snprintf(c.behavior, sizeof c.behavior, "64_1_4_64__8192");
    o = script_obj(&c, "table(1..10000 as id)");
    CHECK(o && o->type == DDB_ANY && o->rows == 2 && o->items[1]->rows == 10000 - 8192,
          "compressed + fetchSize blocks");
    ddb_obj_unref(o);
    ddb_obj_unref(plain);
    mini_client_close(&c);
}

static void test_ha_retry(void)
{
    mini_client c;
    open_client(&c, &P);
    CHECK(mini_client_script(&c, "n = 0", NULL) == MINI_OK, "n = 0");
    snprintf(c.behavior, sizeof c.behavior, "0_1_4_64____5f1c-client_1");
    ddb_obj *o = script_obj(&c, "n = n + 1; n");
    CHECK(int_of(o) == 1, "seq 1 runs");
    ddb_obj_unref(o);
    snprintf(c.behavior, sizeof c.behavior, "0_1_4_64____5f1c-client_-1");
    o = script_obj(&c, "n = n + 1; n");
    CHECK(int_of(o) == 1, "retry of seq 1 returns the cached result (%lld)", (long long)int_of(o));
    ddb_obj_unref(o);
    snprintf(c.behavior, sizeof c.behavior, "0_1_4_64");
    o = script_obj(&c, "n");
    CHECK(int_of(o) == 1, "the retry did not run again");
    ddb_obj_unref(o);
    snprintf(c.behavior, sizeof c.behavior, "32_1_4_64__0__5f1c-client_-7");
    o = script_obj(&c, "n = n + 1; n");
    CHECK(int_of(o) == 2, "a retry of an unknown seqNo runs");
    ddb_obj_unref(o);
    snprintf(c.behavior, sizeof c.behavior, "0_1_4_64____5f1c-client_2");
    CHECK(mini_client_script(&c, "nosuchvar", &o) == MINI_SERVER_ERROR, "seq 2 fails");
    snprintf(c.behavior, sizeof c.behavior, "0_1_4_64____5f1c-client_-2");
    CHECK(mini_client_script(&c, "n", &o) == MINI_SERVER_ERROR && strstr(c.error, "nosuchvar"),
          "retry of a failed request returns the same error: [%s]", c.error);
    /* an HA request whose result expands past every cap (a tuple repeating a 4 MB
     * vector) gets the clear error and the server stays up; the cache sizes such a
     * result before encoding it */
    snprintf(c.behavior, sizeof c.behavior, "0_1_4_64____5f1c-client_3");
    CHECK(mini_client_script(&c, "v = 1..1000000; take((v, v), 1000)", &o) == MINI_SERVER_ERROR &&
          strstr(c.error, "bytes to serialize"), "oversized HA result: [%s]", c.error);
    snprintf(c.behavior, sizeof c.behavior, "0_1_4_64");
    o = script_obj(&c, "n");
    CHECK(int_of(o) == 2, "the session still answers after an oversized HA result");
    ddb_obj_unref(o);
    mini_client_close(&c);
}

static void expect_closed(const char *what, const void *bytes, size_t n)
{
    mini_client c;
    open_client(&c, &P);
    write_bytes(&c, bytes, n);
    CHECK(mini_client_wait_closed(&c, 5000), "%s closes the connection (%s)", what, c.error);
    mini_client_close(&c);
}

static void test_framing_errors(void)
{
    static const char bad_kind[] = "FOO 0 1\nx";
    expect_closed("an unknown request kind", bad_kind, sizeof bad_kind - 1);
    static const char bad_len[] = "API2 0 abc\nscript\n1";
    expect_closed("a non-numeric length", bad_len, sizeof bad_len - 1);
    static const char huge[] = "API2 0 999999999999 / 0_1_4_64\nscript\n1";
    expect_closed("a body length over the cap", huge, sizeof huge - 1);
    static const char fields[] = "API2 0 1 x\n1";
    expect_closed("a header with 4 fields", fields, sizeof fields - 1);
    static const char badfn[] = "API2 0 17 / 0_1_4_64\nfunction\nadd\nxx\n1";
    expect_closed("a function body with a bad count", badfn, sizeof badfn - 1);
    static const char badobj[] = "API2 0 16 / 0_1_4_64\nfunction\necho\n1\n1\x4d\x00\x00\x00\x00\x00";
    expect_closed("an undecodable argument", badobj, sizeof badobj - 1);
    static const char nul[] = "API2 0 9 / 0_1_4_64\nscript\n\0x";
    expect_closed("a NUL byte in the body", nul, sizeof nul - 1);
    size_t n = 70 * 1024;
    char *longline = malloc(n);
    memset(longline, 'A', n);
    memcpy(longline, "API2 0 1 / ", 11);
    expect_closed("a header line over 64 KiB", longline, n);
    free(longline);
    /* a bad behavior string is not fatal: it is answered with an error line */
    mini_client c;
    open_client(&c, &P);
    static const char badbeh[] = "API2 0 8 / x_1_4_64\nscript\n1";
    write_bytes(&c, badbeh, sizeof badbeh - 1);
    ddb_obj *o = NULL;
    CHECK(mini_client_read(&c, &o) == MINI_SERVER_ERROR, "bad behavior field: error line");
    o = script_obj(&c, "2");
    CHECK(int_of(o) == 2, "usable afterwards");
    ddb_obj_unref(o);
    mini_client_close(&c);
}

static void test_require_login(const char *bin)
{
    mini_proc q;
    const char *args[] = {"--require-login", "--user", "bob:pw", NULL};
    if (mini_proc_start(&q, bin, args)) {
        CHECK(0, "start with --require-login");
        return;
    }
    mini_client c;
    open_client(&c, &q);
    ddb_obj *o = NULL;
    CHECK(mini_client_script(&c, "1+1", &o) == MINI_SERVER_ERROR &&
              !strcmp(c.error, "Login is required for script execution with client authentication enabled"),
          "script before login: [%s]", c.error);
    const char *name = "v";
    ddb_obj *one = ddb_int_new(DDB_INT, 1);
    CHECK(mini_client_upload(&c, &name, &one, 1) == MINI_SERVER_ERROR, "upload before login refused");
    CHECK(mini_client_call(&c, "version", NULL, 0, &o) == MINI_OK, "version() allowed before login");
    ddb_obj_unref(o);
    CHECK(mini_client_call(&c, "scramClientFirst", &one, 1, &o) == MINI_SERVER_ERROR &&
              strstr(c.error, "expects 2 argument(s)"), "scram reached before login: [%s]", c.error);
    CHECK(mini_client_script(&c, "login('bob', 'bad')", &o) == MINI_SERVER_ERROR &&
              strstr(c.error, "The user name or password is incorrect."), "wrong password: [%s]", c.error);
    CHECK(mini_client_script(&c, "login('bob', 'pw')", &o) == MINI_OK, "login as script: %s", c.error);
    o = script_obj(&c, "1+1");
    CHECK(int_of(o) == 2, "scripts work after login");
    ddb_obj_unref(o);
    CHECK(mini_client_script(&c, "faultReset()", &o) == MINI_SERVER_ERROR, "bob is not an admin");
    CHECK(mini_client_script(&c, "logout()", &o) == MINI_OK, "logout");
    CHECK(mini_client_script(&c, "1", &o) == MINI_SERVER_ERROR, "scripts refused after logout");
    ddb_obj *cred[2] = {ddb_string_new(DDB_STRING, "admin", 5), ddb_string_new(DDB_STRING, "123456", 6)};
    CHECK(mini_client_call(&c, "login", cred, 2, &o) == MINI_OK, "login as a function call");
    CHECK(mini_client_script(&c, "faultReset()", &o) == MINI_OK, "admin may use fault switches");
    mini_client_close(&c);
    mini_client_open(&c, "127.0.0.1", q.port);
    CHECK(mini_client_connect_login(&c, "bob", "pw") == MINI_OK, "connect with login lines");
    o = script_obj(&c, "3");
    CHECK(int_of(o) == 3, "logged in through connect");
    ddb_obj_unref(o);
    mini_client_close(&c);
    ddb_obj_unref(cred[0]);
    ddb_obj_unref(cred[1]);
    ddb_obj_unref(one);
    CHECK(mini_proc_stop(&q) == 0, "exit 0");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s ddbmini\n", argv[0]);
        return 2;
    }
    if (mini_proc_start(&P, argv[1], NULL))
        return 1;
    struct {
        const char *name;
        void (*fn)(void);
    } parts[] = {{"handshakes", test_handshakes}, {"MSG blocks", test_msg_blocks},
                 {"functions and uploads", test_functions_and_uploads},
                 {"round trips", test_round_trips}, {"flags", test_flags},
                 {"HA retry", test_ha_retry}, {"framing errors", test_framing_errors}};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        double t0 = now_s();
        parts[i].fn();
        printf("%-24s %.3f s\n", parts[i].name, now_s() - t0);
    }
    test_require_login(argv[1]);
    CHECK(mini_proc_stop(&P) == 0, "ddbmini exits 0 on SIGTERM");
    return finish("test_ddbmini_protocol");
}
