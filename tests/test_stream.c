/* test_stream.c — the pushed-message parser and the subscription request bodies
 * (src/proto/ddb_stream.h) on bytes alone: the worked example of docs/STREAMING.md (section 10) split at
 * every byte boundary, a big-endian message, the single-row form, and malformed
 * input (each must give a clear error, never a crash or a hang). */
#include "ddb_stream.h"
#include "ddb_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_checks, g_failures;

#include "check.h"

/* ---- the worked example: trades(sym SYMBOL, price DOUBLE, qty INT) ---- */

static const char TOPIC[] = "192.168.1.10:8848:node1/trades/act1";

static const unsigned char SCHEMA_MSG[] = {
    0x01,
    0xf2, 0x67, 0x78, 0x58, 0xb7, 0x68, 0xa6, 0x17,             /* time */
    0x04, 0, 0, 0, 0, 0, 0, 0,                                  /* msgId 4 */
    '1', '9', '2', '.', '1', '6', '8', '.', '1', '.', '1', '0', ':', '8', '8', '4', '8', ':',
    'n', 'o', 'd', 'e', '1', '/', 't', 'r', 'a', 'd', 'e', 's', '/', 'a', 'c', 't', '1', 0,
    0x00, 0x06, 0, 0, 0, 0, 0x03, 0, 0, 0, 0x00,                /* table 0x3, name "" */
    's', 'y', 'm', 0, 'p', 'r', 'i', 'c', 'e', 0, 'q', 't', 'y', 0,
    0x11, 0x01, 0, 0, 0, 0, 0x01, 0, 0, 0,                      /* SYMBOL[] 0 rows */
    0x10, 0x01, 0, 0, 0, 0, 0x01, 0, 0, 0,                      /* DOUBLE[] */
    0x04, 0x01, 0, 0, 0, 0, 0x01, 0, 0, 0,                      /* INT[] */
};

static const unsigned char DATA_MSG[] = {
    0x01,
    0xf2, 0x67, 0x78, 0x58, 0xb7, 0x68, 0xa6, 0x17,
    0x06, 0, 0, 0, 0, 0, 0, 0,                                  /* msgId 6 */
    '1', '9', '2', '.', '1', '6', '8', '.', '1', '.', '1', '0', ':', '8', '8', '4', '8', ':',
    'n', 'o', 'd', 'e', '1', '/', 't', 'r', 'a', 'd', 'e', 's', '/', 'a', 'c', 't', '1', 0,
    0x19, 0x01, 0x03, 0, 0, 0, 0x01, 0, 0, 0,                   /* ANY, 3 columns */
    0x91, 0x01, 0x02, 0, 0, 0, 0x01, 0, 0, 0,                   /* symbol-base vector */
    0, 0, 0, 0, 0x03, 0, 0, 0, 0x00, 'A', 'A', 'P', 'L', 0, 'M', 'S', 'F', 'T', 0,
    0x01, 0, 0, 0, 0x02, 0, 0, 0,
    0x10, 0x01, 0x02, 0, 0, 0, 0x01, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0x25, 0x40, 0, 0, 0, 0, 0, 0x40, 0x34, 0x40,
    0x04, 0x01, 0x02, 0, 0, 0, 0x01, 0, 0, 0, 0x64, 0, 0, 0, 0xc8, 0, 0, 0,
};

/* Feeds len bytes in pieces cut at `cuts` (ascending, within (0,len)); collects up
 * to max messages. Returns the count, or -1 on a parse error (*err). */
static int parse_pieces(ddb_stream_parser *p, const unsigned char *b, size_t len, const size_t *cuts,
                        int ncuts, ddb_stream_msg *out, int max, const char **err)
{
    int got = 0;
    size_t start = 0;
    for (int k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : len;
        while (start < end) {
            size_t used;
            int rc = ddb_stream_feed(p, b + start, end - start, &used);
            start += used;
            if (rc == DDB_STREAM_ERROR) {
                *err = ddb_stream_error(p);
                return -1;
            }
            if (rc == DDB_STREAM_MSG) {
                if (got < max)
                    ddb_stream_take(p, &out[got]);
                else {
                    ddb_stream_msg m;
                    ddb_stream_take(p, &m);
                    ddb_stream_msg_free(&m);
                }
                got++;
            } else if (used == 0)
                break;
        }
    }
    return got;
}

static void check_example(const ddb_stream_msg *m, const char *how)
{
    CHECK(m[0].kind == DDB_STREAM_SCHEMA, "%s: first is the schema (%d)", how, m[0].kind);
    CHECK(m[0].msg_id == 4 && m[0].time == 1704164645678901234LL && m[0].little_endian == 1,
          "%s: schema header %lld %lld", how, (long long)m[0].msg_id, (long long)m[0].time);
    CHECK(m[0].topics && !strcmp(m[0].topics, TOPIC), "%s: topic", how);
    CHECK(m[0].body && m[0].body->form == DDB_TABLE && m[0].body->cols == 3 &&
          !strcmp(m[0].body->col_names[1], "price"), "%s: schema columns", how);
    CHECK(m[1].kind == DDB_STREAM_ROWS && m[1].rows == 2 && m[1].msg_id == 6 && m[1].first_offset == 5,
          "%s: data header kind %d rows %lld id %lld", how, m[1].kind, (long long)m[1].rows,
          (long long)m[1].msg_id);
    const ddb_obj *b = m[1].body;
    if (!b || b->rows != 3)
        return;
    CHECK(!strcmp(ddb_str_at(b->items[0], 0, NULL), "AAPL") && !strcmp(ddb_str_at(b->items[0], 1, NULL), "MSFT"),
          "%s: sym", how);
    CHECK(ddb_double_at(b->items[1], 0) == 10.5 && ddb_double_at(b->items[1], 1) == 20.25, "%s: price", how);
    CHECK(ddb_int_at(b->items[2], 0) == 100 && ddb_int_at(b->items[2], 1) == 200, "%s: qty", how);
}

static void test_example_every_split(void)
{
    unsigned char all[sizeof SCHEMA_MSG + sizeof DATA_MSG];
    memcpy(all, SCHEMA_MSG, sizeof SCHEMA_MSG);
    memcpy(all + sizeof SCHEMA_MSG, DATA_MSG, sizeof DATA_MSG);
    CHECK(sizeof SCHEMA_MSG == 108 && sizeof DATA_MSG == 144, "the example's sizes");
    ddb_stream_parser *p = ddb_stream_parser_new(NULL);
    int bad = 0;
    for (size_t cut = 0; cut <= sizeof all; cut++) {
        ddb_stream_msg m[3] = {{0}};
        const char *err = NULL;
        size_t cuts[1] = {cut};
        int n = parse_pieces(p, all, sizeof all, cuts, 1, m, 3, &err);
        if (n != 2) {
            bad++;
            CHECK(0, "split at %zu: %d messages (%s)", cut, n, err ? err : "");
        } else {
            char how[32];
            snprintf(how, sizeof how, "split at %zu", cut);
            int before = g_failures;
            check_example(m, how);
            bad += g_failures != before;
        }
        for (int i = 0; i < 3; i++)
            ddb_stream_msg_free(&m[i]);
        ddb_stream_parser_reset(p);
    }
    CHECK(bad == 0, "every split point parses");
    /* one byte at a time */
    size_t cuts[sizeof all];
    for (size_t i = 0; i < sizeof all - 1; i++)
        cuts[i] = i + 1;
    ddb_stream_msg m[2] = {{0}};
    const char *err = NULL;
    CHECK(parse_pieces(p, all, sizeof all, cuts, (int)sizeof all - 1, m, 2, &err) == 2, "byte by byte");
    check_example(m, "byte by byte");
    ddb_stream_msg_free(&m[0]);
    ddb_stream_msg_free(&m[1]);
    /* feeding while a message waits to be taken consumes nothing */
    ddb_stream_parser_reset(p);
    size_t used;
    CHECK(ddb_stream_feed(p, all, sizeof all, &used) == DDB_STREAM_MSG && used == sizeof SCHEMA_MSG,
          "stops at the end of a message (%zu)", used);
    CHECK(ddb_stream_feed(p, all + used, sizeof all - used, &used) == DDB_STREAM_MSG && used == 0,
          "an untaken message holds the parser");
    ddb_stream_parser_free(p);
}

/* ---- hand-built messages ---- */

typedef struct bytes {
    unsigned char b[4096];
    size_t n;
} bytes;

static void put(bytes *x, const void *p, size_t n)
{
    memcpy(x->b + x->n, p, n);
    x->n += n;
}
static void put_u8(bytes *x, unsigned v) { x->b[x->n++] = (unsigned char)v; }
static void put_i32(bytes *x, int32_t v, int little)
{
    for (int i = 0; i < 4; i++)
        put_u8(x, (unsigned)((uint32_t)v >> (8 * (little ? i : 3 - i))) & 0xff);
}
/* An object's type and form: a 16-bit number (form << 8 | type) in the byte order. */
static void put_kind(bytes *x, int type, int form, int little)
{
    put_u8(x, (unsigned)(little ? type : form));
    put_u8(x, (unsigned)(little ? form : type));
}
static void put_i64(bytes *x, int64_t v, int little)
{
    for (int i = 0; i < 8; i++)
        put_u8(x, (unsigned)((uint64_t)v >> (8 * (little ? i : 7 - i))) & 0xff);
}
static void header(bytes *x, int little, int64_t id, const char *topic)
{
    put_u8(x, little);
    put_i64(x, 123456789, little);
    put_i64(x, id, little);
    put(x, topic, strlen(topic) + 1);
}
/* table(v INT) with the given rows */
static void int_table(bytes *x, int little, const int32_t *v, int n)
{
    put_kind(x, 0, 6, little);
    put_i32(x, n, little); put_i32(x, 1, little);
    put(x, "\0v", 3);
    put_kind(x, 4, 1, little);
    put_i32(x, n, little); put_i32(x, 1, little);
    for (int i = 0; i < n; i++)
        put_i32(x, v[i], little);
}
static void any_of_ints(bytes *x, const int32_t *v, int n, int scalar)
{
    put_u8(x, 25); put_u8(x, 1);
    put_i32(x, 1, 1); put_i32(x, 1, 1);
    if (scalar) {
        put_u8(x, 4); put_u8(x, 0);
        put_i32(x, v[0], 1);
        return;
    }
    put_u8(x, 4); put_u8(x, 1);
    put_i32(x, n, 1); put_i32(x, 1, 1);
    for (int i = 0; i < n; i++)
        put_i32(x, v[i], 1);
}

/* Parses x whole; returns the result of the last feed and the messages. */
static int parse_all(const bytes *x, ddb_stream_msg *m, int max, int *count, const char **err)
{
    ddb_stream_parser *p = ddb_stream_parser_new(NULL);
    const char *e = NULL;
    int n = parse_pieces(p, x->b, x->n, NULL, 0, m, max, &e);
    static char errcopy[256];
    snprintf(errcopy, sizeof errcopy, "%s", e ? e : "");
    *err = errcopy;
    *count = n;
    ddb_stream_parser_free(p);
    return n < 0 ? DDB_STREAM_ERROR : DDB_STREAM_MSG;
}

static void free_msgs(ddb_stream_msg *m, int n)
{
    for (int i = 0; i < n; i++)
        ddb_stream_msg_free(&m[i]);
}

static void test_big_endian_and_forms(void)
{
    bytes x = {{0}, 0};
    int32_t none[1] = {0}, three[3] = {7, 8, 9}, one[1] = {42};
    header(&x, 0, -1, "h:1:a/t/x,h:1:a/t/y");   /* big-endian, two topics */
    int_table(&x, 0, none, 0);
    header(&x, 0, 12, "h:1:a/t/x,h:1:a/t/y");
    int_table(&x, 0, three, 3);                 /* a table with rows */
    header(&x, 1, 13, "h:1:a/t/y");
    any_of_ints(&x, one, 1, 1);                 /* the single-row tuple */
    header(&x, 1, 15, "h:1:a/t/x");
    any_of_ints(&x, three, 2, 0);
    header(&x, 1, 15, "h:1:a/t/x");
    put_u8(&x, 18); put_u8(&x, 0);              /* STRING scalar: a pushed error */
    put(&x, "error.x: gone", 14);
    ddb_stream_msg m[8] = {{0}};
    int n;
    const char *err;
    parse_all(&x, m, 8, &n, &err);
    CHECK(n == 5, "5 hand-built messages (%d: %s)", n, err);
    if (n == 5) {
        CHECK(m[0].kind == DDB_STREAM_SCHEMA && m[0].little_endian == 0 && m[0].msg_id == -1 &&
              m[0].time == 123456789, "big-endian schema header");
        CHECK(m[1].kind == DDB_STREAM_TABLE && m[1].rows == 3 && m[1].first_offset == 10 &&
              ddb_int_at(m[1].body->columns[0], 2) == 9, "big-endian table body");
        CHECK(m[2].kind == DDB_STREAM_ROW && m[2].rows == 1 && m[2].first_offset == 13, "single-row form");
        CHECK(m[3].kind == DDB_STREAM_ROWS && m[3].rows == 2 && m[3].first_offset == 14, "columns form");
        CHECK(m[4].kind == DDB_STREAM_SERVER_ERROR && !strcmp(ddb_str_at(m[4].body, 0, NULL), "error.x: gone"),
              "a pushed error text");
        char one_topic[64];
        CHECK(ddb_stream_topic_at(m[0].topics, 1, one_topic, sizeof one_topic) == 2 &&
              !strcmp(one_topic, "h:1:a/t/y"), "topics split on ','");
    }
    free_msgs(m, n > 0 ? n : 0);
}

/* Appends one message whose body the codec encodes. */
static void encoded(bytes *x, int64_t id, const char *topic, const ddb_obj *body)
{
    header(x, 1, id, topic);
    ddb_buf b;
    ddb_buf_init(&b);
    ddb_encoder e;
    ddb_encoder_init(&e);
    char err[128];
    if (ddb_encode(&e, &b, body, err, sizeof err) == 0 && x->n + b.len <= sizeof x->b)
        put(x, b.p, b.len);
    ddb_buf_free(&b);
}

/* A table (id INT, v INT[]): rows as columns (an array vector), and the single-row
 * form where the array column's cell is a plain INT vector. */
static void test_array_vector_column(void)
{
    ddb_obj *schema = ddb_table_new(0, 2);
    free(schema->col_names[0]);
    free(schema->col_names[1]);
    schema->col_names[0] = strdup("id");
    schema->col_names[1] = strdup("v");
    schema->columns[0] = ddb_vector_new(DDB_INT, 0);
    schema->columns[1] = ddb_array_vector_new(DDB_INT, 0, 0);
    /* two rows: id [1, 2], v [[10, 11], [12]] */
    ddb_obj *ids = ddb_vector_new(DDB_INT, 2), *arr = ddb_array_vector_new(DDB_INT, 2, 3);
    ((int32_t *)ids->data)[0] = 1;
    ((int32_t *)ids->data)[1] = 2;
    arr->row_offs[1] = 2;
    arr->row_offs[2] = 3;
    for (int i = 0; i < 3; i++)
        ((int32_t *)arr->values->data)[i] = 10 + i;
    ddb_obj *cols = ddb_vector_new(DDB_ANY, 2);
    ddb_obj_unref(cols->items[0]);
    ddb_obj_unref(cols->items[1]);
    cols->items[0] = ids;
    cols->items[1] = arr;
    /* one row in tuple form: id 3, v [13, 14] */
    ddb_obj *one = ddb_vector_new(DDB_ANY, 2), *cell = ddb_vector_new(DDB_INT, 2);
    ((int32_t *)cell->data)[0] = 13;
    ((int32_t *)cell->data)[1] = 14;
    ddb_obj_unref(one->items[0]);
    ddb_obj_unref(one->items[1]);
    one->items[0] = ddb_int_new(DDB_INT, 3);
    one->items[1] = cell;
    bytes x = {{0}, 0};
    encoded(&x, 1, "a", schema);
    encoded(&x, 3, "a", cols);
    encoded(&x, 4, "a", one);
    ddb_stream_msg m[4] = {{0}};
    int n;
    const char *err;
    parse_all(&x, m, 4, &n, &err);
    CHECK(n == 3, "array-vector stream: 3 messages (%d: %s)", n, err);
    if (n == 3) {
        CHECK(m[0].kind == DDB_STREAM_SCHEMA && m[0].body->columns[1]->type == DDB_ARRAY_BASE + DDB_INT,
              "schema with an INT[] column");
        CHECK(m[1].kind == DDB_STREAM_ROWS && m[1].rows == 2 && m[1].first_offset == 2 &&
              m[1].body->items[1]->row_offs[1] == 2, "two rows, the array column as an array vector");
        CHECK(m[2].kind == DDB_STREAM_ROW && m[2].rows == 1 && m[2].first_offset == 4 &&
              m[2].body->items[1]->rows == 2, "single-row form: the array cell is a plain vector");
    }
    free_msgs(m, 4);
    ddb_obj_unref(schema);
    ddb_obj_unref(cols);
    ddb_obj_unref(one);
}

/* One malformed stream: expects an error whose text contains `want`. */
static void expect_error(const bytes *x, const char *want, const char *what)
{
    ddb_stream_msg m[4] = {{0}};
    int n;
    const char *err;
    int rc = parse_all(x, m, 4, &n, &err);
    CHECK(rc == DDB_STREAM_ERROR && strstr(err, want), "%s: got '%s'", what, err);
    free_msgs(m, 4);
}

static void test_malformed(void)
{
    int32_t none[1] = {0}, two[2] = {1, 2};
    bytes x = {{0}, 0};
    header(&x, 2, 0, "t");
    expect_error(&x, "endian", "bad endian byte");

    x.n = 0;
    header(&x, 1, 1, "t");
    any_of_ints(&x, two, 2, 0);
    expect_error(&x, "before its schema", "data before the schema");

    x.n = 0;
    header(&x, 1, -1, "t");
    int_table(&x, 1, none, 0);
    header(&x, 1, 0, "t");
    any_of_ints(&x, two, 2, 0);
    expect_error(&x, "below its 2 rows", "msgId smaller than the rows");

    x.n = 0;
    header(&x, 1, -1, "");
    expect_error(&x, "without a topic", "empty topic");

    /* extreme msgIds: no overflow (the sanitizer build checks) */
    x.n = 0;
    header(&x, 1, INT64_MAX, "t");
    int_table(&x, 1, none, 0);
    header(&x, 1, INT64_MAX, "t");
    any_of_ints(&x, two, 2, 0);
    header(&x, 1, INT64_MIN, "t");
    int_table(&x, 1, none, 0);
    {
        ddb_stream_msg m[4] = {{0}};
        int n;
        const char *err;
        parse_all(&x, m, 4, &n, &err);
        CHECK(n == 3 && m[0].first_offset == INT64_MAX && m[1].first_offset == INT64_MAX - 1 &&
              m[2].first_offset == INT64_MIN + 1, "extreme msgIds (%d: %s)", n, err);
        free_msgs(m, 4);
    }

    x.n = 0;
    header(&x, 1, 0, "t");
    put_u8(&x, 4); put_u8(&x, 0); put_i32(&x, 5, 1);
    expect_error(&x, "unexpected message body", "an INT scalar body");

    x.n = 0;
    header(&x, 1, 0, "t");
    put_u8(&x, 50); put_u8(&x, 1);     /* no type 50 */
    expect_error(&x, "bad message body", "undecodable body");

    /* a schema of 2 columns, then data with 1 */
    x.n = 0;
    header(&x, 1, -1, "t");
    put_u8(&x, 0); put_u8(&x, 6); put_i32(&x, 0, 1); put_i32(&x, 2, 1);
    put(&x, "\0a\0b", 5);
    for (int c = 0; c < 2; c++) {
        put_u8(&x, 4); put_u8(&x, 1); put_i32(&x, 0, 1); put_i32(&x, 1, 1);
    }
    header(&x, 1, 1, "t");
    any_of_ints(&x, two, 2, 0);
    expect_error(&x, "1 columns for a table of 2", "column count");

    /* an endless topic: refused at the cap, not buffered forever */
    ddb_stream_parser *p = ddb_stream_parser_new(NULL);
    unsigned char chunk[4096];
    memset(chunk, 'a', sizeof chunk);
    unsigned char head[17] = {1};
    size_t used;
    int rc = ddb_stream_feed(p, head, sizeof head, &used);
    long fed = 0;
    while (rc == DDB_STREAM_NEED_MORE && fed < (1L << 24)) {
        rc = ddb_stream_feed(p, chunk, sizeof chunk, &used);
        fed += (long)sizeof chunk;
    }
    CHECK(rc == DDB_STREAM_ERROR && strstr(ddb_stream_error(p), "topic longer") && fed <= DDB_STREAM_MAX_TOPIC + 4096,
          "topic cap after %ld bytes: %s", fed, ddb_stream_error(p));
    CHECK(ddb_stream_feed(p, chunk, 1, &used) == DDB_STREAM_ERROR && used == 0, "errors are sticky");
    ddb_stream_parser_reset(p);
    CHECK(ddb_stream_feed(p, SCHEMA_MSG, sizeof SCHEMA_MSG, &used) == DDB_STREAM_MSG, "usable after reset");
    ddb_stream_msg m;
    ddb_stream_take(p, &m);
    ddb_stream_msg_free(&m);
    /* a body over the byte budget */
    ddb_limits lim;
    ddb_limits_default(&lim);
    lim.max_object_bytes = 1000;
    ddb_stream_parser *small = ddb_stream_parser_new(&lim);
    x.n = 0;
    header(&x, 1, 0, "t");
    put_u8(&x, 4); put_u8(&x, 1); put_i32(&x, 1 << 20, 1); put_i32(&x, 1, 1);
    rc = ddb_stream_feed(small, x.b, x.n, &used);
    CHECK(rc == DDB_STREAM_ERROR, "a body over the limits is refused early: %s", ddb_stream_error(small));
    ddb_stream_parser_free(small);
    /* truncated input: no message, no error, everything consumed */
    ddb_stream_parser_reset(p);
    CHECK(ddb_stream_feed(p, DATA_MSG, sizeof DATA_MSG - 1, &used) == DDB_STREAM_NEED_MORE &&
          used == sizeof DATA_MSG - 1, "a cut message waits for more");
    ddb_stream_parser_free(p);
}

/* ---- requests ---- */

static void test_requests(void)
{
    /* the publishTable body in section 10 of docs/STREAMING.md: "function\npublishTable\n7\n1" + 7 args */
    static const unsigned char args[] = {
        0x12, 0x00, '1', '9', '2', '.', '1', '6', '8', '.', '1', '.', '2', '0', 0,
        0x04, 0x00, 0, 0, 0, 0,
        0x12, 0x00, 't', 'r', 'a', 'd', 'e', 's', 0,
        0x12, 0x00, 'a', 'c', 't', '1', 0,
        0x05, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0x00, 0x00, 0x00,
        0x01, 0x00, 0x00,
    };
    static const char text[] = "function\npublishTable\n7\n1";
    ddb_stream_sub s = {.host = "192.168.1.20", .port = 0, .table = "trades", .action = "act1", .offset = -1};
    ddb_buf b;
    ddb_buf_init(&b);
    size_t text_len = 0;
    char err[256];
    CHECK(ddb_stream_body_publish(&b, &s, &text_len, err, sizeof err) == 0, "publish body: %s", err);
    CHECK(text_len == 25 && b.len == 25 + sizeof args && !memcmp(b.p, text, 25) && !memcmp(b.p + 25, args, sizeof args),
          "publishTable body matches the worked example (%zu, %zu bytes)", text_len, b.len);
    /* and a whole request with the reverse flag */
    ddb_buf req;
    ddb_buf_init(&req);
    ddb_behavior beh;
    ddb_behavior_default(&beh);
    beh.flag = DDB_FLAG_REVERSE_STREAMING;
    CHECK(ddb_req_header(&req, "API2", "1166953221", text_len, &beh, err, sizeof err) == 0 &&
          req.len >= 24 && !memcmp(req.p, "API2 1166953221 25 / 131072_1_4_64\n", 35),
          "the request line: %.*s", (int)req.len, req.p);
    ddb_buf_free(&req);

    ddb_buf_reset(&b);
    s.allow_exists = 1;
    ddb_obj *filter = ddb_vector_new(DDB_STRING, 0);
    ddb_varlen_append(filter, "AAPL", 4);
    s.filter = filter;
    CHECK(ddb_stream_body_publish(&b, &s, &text_len, err, sizeof err) == 0, "with a filter: %s", err);
    /* the body's objects decode back to the arguments */
    size_t off = text_len, used;
    int ok = 1;
    ddb_obj *got[7] = {0};
    for (int i = 0; i < 7 && ok; i++) {
        got[i] = ddb_decode(b.p + off, b.len - off, 1, NULL, &used, err, sizeof err);
        ok = got[i] != NULL;
        off += ok ? used : 0;
    }
    CHECK(ok && off == b.len && got[5]->form == DDB_VECTOR && !strcmp(ddb_str_at(got[5], 0, NULL), "AAPL") &&
          ddb_int_at(got[6], 0) == 1, "filter vector and allowExists in the body");
    for (int i = 0; i < 7; i++)
        ddb_obj_unref(got[i]);

    ddb_buf_reset(&b);
    CHECK(ddb_stream_body_stop(&b, &s, &text_len, err, sizeof err) == 0 &&
          !memcmp(b.p, "function\nstopPublishTable\n4\n1", text_len), "stopPublishTable body");
    ddb_buf_reset(&b);
    CHECK(ddb_stream_body_topic(&b, &s, &text_len, err, sizeof err) == 0 &&
          !memcmp(b.p, "function\ngetSubscriptionTopic\n2\n1", text_len), "getSubscriptionTopic body");
    /* bad arguments are refused before anything is appended */
    ddb_buf_reset(&b);
    ddb_stream_sub bad = s;
    bad.table = "";
    CHECK(ddb_stream_body_publish(&b, &bad, &text_len, err, sizeof err) == -1 && b.len == 0, "no table");
    bad = s;
    bad.offset = -5;
    CHECK(ddb_stream_body_publish(&b, &bad, &text_len, err, sizeof err) == -1 && strstr(err, "offset"), "offset -5");
    ddb_obj_unref(filter);
    ddb_buf_free(&b);

    /* replies */
    ddb_obj *reply = ddb_vector_new(DDB_ANY, 2);
    ddb_obj_unref(reply->items[0]);
    reply->items[0] = ddb_string_new(DDB_STRING, TOPIC, strlen(TOPIC));
    char topic[128];
    CHECK(ddb_stream_reply_topic(reply, topic, sizeof topic, err, sizeof err) == 0 && !strcmp(topic, TOPIC),
          "topic from (topic, columns)");
    CHECK(ddb_stream_reply_topic(reply, topic, 8, err, sizeof err) == -1, "topic too long for the buffer");
    const ddb_obj *cols, *sites;
    CHECK(ddb_stream_reply_publish(reply, &cols, &sites, err, sizeof err) == -1, "(topic, VOID) is no publish reply");
    ddb_obj_unref(reply);
}

int main(void)
{
    test_example_every_split();
    test_big_endian_and_forms();
    test_array_vector_column();
    test_malformed();
    test_requests();
    printf("test_stream: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
