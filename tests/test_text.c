/* test_text.c — literal formatting and parsing (ddb_text.h).
 * Usage: test_text [path/to/cpp-api.tsv]
 * Checks: calendar helpers over a wide range, format/parse round trips for every
 * temporal type (incl. NULLs, pre-1970 and edge dates), invalid literals rejected,
 * UUID/IPADDR/INT128/DECIMAL/DURATION text both ways, shortest floats, and the
 * `rendering` column of the official C++ vectors for scalar rows. */
#include "ddb_text.h"
#include "check.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_checks, g_failures;

/* A one-cell scalar over caller memory: the text layer only reads fields. */
static ddb_obj scalar_over(int type, void *cell, int scale)
{
    ddb_obj o;
    memset(&o, 0, sizeof o);
    o.refcount = 1;
    o.form = DDB_SCALAR;
    o.type = (uint8_t)type;
    o.rows = o.cols = 1;
    o.scale = scale;
    o.data = cell;
    return o;
}

static char *fmt_cell(int type, void *cell, int scale)
{
    static char text[256];
    ddb_buf b;
    ddb_buf_init(&b);
    ddb_obj o = scalar_over(type, cell, scale);
    int r = ddb_format_cell(&b, &o, 0);
    snprintf(text, sizeof text, "%s%.*s", r < 0 ? "<error>" : "", (int)b.len, b.p ? b.p : "");
    ddb_buf_free(&b);
    return text;
}

static char *fmt_int(int type, int64_t v)
{
    union { int8_t i8; int16_t i16; int32_t i32; int64_t i64; } cell;
    switch (type) {
    case DDB_BOOL: case DDB_CHAR: cell.i8 = (int8_t)v; break;
    case DDB_SHORT: cell.i16 = (int16_t)v; break;
    case DDB_LONG: case DDB_TIMESTAMP: case DDB_NANOTIME: case DDB_NANOTIMESTAMP:
    case DDB_DECIMAL64: cell.i64 = v; break;
    default: cell.i32 = (int32_t)v;
    }
    return fmt_cell(type, &cell, 0);
}

static void test_calendar(void)
{
    int bad = 0;
    for (int64_t days = -800000; days <= 800000; days += 7) {
        int64_t y; unsigned m, d;
        ddb_civil_from_days(days, &y, &m, &d);
        if (ddb_days_from_civil(y, m, d) != days) bad++;
    }
    CHECK(bad == 0, "civil round trip failed %d times", bad);
    CHECK(ddb_days_from_civil(1970, 1, 1) == 0, "epoch");
    CHECK(ddb_days_from_civil(1969, 12, 31) == -1, "day before epoch");
    CHECK(ddb_days_from_civil(2024, 1, 15) == 19737, "2024.01.15");
    CHECK(ddb_days_from_civil(2000, 3, 1) - ddb_days_from_civil(2000, 2, 28) == 2, "2000 is leap");
    CHECK(ddb_days_from_civil(1900, 3, 1) - ddb_days_from_civil(1900, 2, 28) == 1, "1900 is not");
    printf("calendar: civil round trip over +-2190 years, leap rules\n");
}

struct temporal_case { int type; int64_t raw; const char *text; };

static const struct temporal_case temporal_cases[] = {
    {DDB_DATE, 19724, "2024.01.02"}, {DDB_DATE, 0, "1970.01.01"}, {DDB_DATE, -1, "1969.12.31"},
    {DDB_DATE, 11016, "2000.02.29"}, {DDB_DATE, -25567, "1900.01.01"},
    {DDB_DATE, 2932896, "9999.12.31"}, {DDB_DATE, -719162, "0001.01.01"},
    {DDB_MONTH, 24288, "2024.01M"}, {DDB_MONTH, 23639, "1969.12M"},
    {DDB_TIME, 48610008, "13:30:10.008"}, {DDB_TIME, 0, "00:00:00.000"},
    {DDB_TIME, 86399999, "23:59:59.999"},
    {DDB_MINUTE, 810, "13:30m"}, {DDB_SECOND, 48610, "13:30:10"},
    {DDB_DATETIME, 1705325410, "2024.01.15T13:30:10"}, {DDB_DATETIME, -1, "1969.12.31T23:59:59"},
    {DDB_TIMESTAMP, 1705325410008LL, "2024.01.15T13:30:10.008"},
    {DDB_TIMESTAMP, -1, "1969.12.31T23:59:59.999"},
    {DDB_TIMESTAMP, 1704165845678LL, "2024.01.02T03:24:05.678"},
    {DDB_NANOTIME, 48610008007006LL, "13:30:10.008007006"},
    {DDB_NANOTIMESTAMP, 1705325410008007006LL, "2024.01.15T13:30:10.008007006"},
    {DDB_NANOTIMESTAMP, -1, "1969.12.31T23:59:59.999999999"},
    {DDB_NANOTIMESTAMP, 1, "1970.01.01T00:00:00.000000001"},
    {DDB_DATEHOUR, 473379, "2024.01.02T03"}, {DDB_DATEHOUR, -1, "1969.12.31T23"},
};

static void test_temporal(void)
{
    size_t n = sizeof temporal_cases / sizeof temporal_cases[0];
    for (size_t i = 0; i < n; i++) {
        const struct temporal_case *c = &temporal_cases[i];
        const char *got = fmt_int(c->type, c->raw);
        CHECK(strcmp(got, c->text) == 0, "type %d %lld formats as '%s', want '%s'",
              c->type, (long long)c->raw, got, c->text);
        int64_t back = 0;
        int r = ddb_parse_temporal(c->type, c->text, strlen(c->text), &back);
        CHECK(r == 0 && back == c->raw, "parse '%s' -> %d %lld, want %lld", c->text, r,
              (long long)back, (long long)c->raw);
        CHECK(ddb_temporal_type_of(c->text, strlen(c->text)) == c->type,
              "type of '%s' is %d, want %d", c->text, ddb_temporal_type_of(c->text, strlen(c->text)), c->type);
    }
    printf("temporal: %zu format/parse/shape round trips\n", n);

    /* NULLs print empty. */
    int types[] = {DDB_DATE, DDB_MONTH, DDB_TIME, DDB_MINUTE, DDB_SECOND, DDB_DATETIME,
                   DDB_TIMESTAMP, DDB_NANOTIME, DDB_NANOTIMESTAMP, DDB_DATEHOUR, DDB_INT,
                   DDB_LONG, DDB_SHORT, DDB_CHAR, DDB_BOOL};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        int w = types[i] == DDB_BOOL || types[i] == DDB_CHAR ? 1 : types[i] == DDB_SHORT ? 2 :
                (types[i] == DDB_LONG || types[i] == DDB_TIMESTAMP || types[i] == DDB_NANOTIME ||
                 types[i] == DDB_NANOTIMESTAMP) ? 8 : 4;
        int64_t nullv = w == 1 ? INT8_MIN : w == 2 ? INT16_MIN : w == 4 ? INT32_MIN : INT64_MIN;
        const char *got = fmt_int(types[i], nullv);
        CHECK(got[0] == 0, "NULL of type %d prints '%s'", types[i], got);
    }
    float fnull = DDB_NULL_F32;
    double dnull = DDB_NULL_F64;
    CHECK(fmt_cell(DDB_FLOAT, &fnull, 0)[0] == 0, "FLOAT NULL prints empty");
    CHECK(fmt_cell(DDB_DOUBLE, &dnull, 0)[0] == 0, "DOUBLE NULL prints empty");
    printf("nulls: every integer-like, temporal and real NULL prints empty\n");

    /* Extreme raw values print something (no overflow: UBSan checks this run). */
    int64_t extremes[] = {INT64_MIN + 1, INT64_MAX, INT32_MIN + 1, INT32_MAX, -86400001};
    int temporal[] = {DDB_DATE, DDB_MONTH, DDB_TIME, DDB_MINUTE, DDB_SECOND, DDB_DATETIME,
                      DDB_TIMESTAMP, DDB_NANOTIME, DDB_NANOTIMESTAMP, DDB_DATEHOUR, DDB_DATEMINUTE};
    for (size_t i = 0; i < sizeof temporal / sizeof temporal[0]; i++)
        for (size_t k = 0; k < sizeof extremes / sizeof extremes[0]; k++) {
            int64_t v = extremes[k];
            int wide = temporal[i] == DDB_TIMESTAMP || temporal[i] == DDB_NANOTIME || temporal[i] == DDB_NANOTIMESTAMP;
            if (!wide && (v < INT32_MIN + 1 || v > INT32_MAX)) continue;
            CHECK(fmt_int(temporal[i], v)[0] != 0, "type %d raw %lld prints empty", temporal[i], (long long)v);
        }
    CHECK(strcmp(fmt_int(DDB_TIMESTAMP, INT64_MIN + 1), "-292275055.05.16T16:47:04.193") == 0,
          "earliest timestamp: %s", fmt_int(DDB_TIMESTAMP, INT64_MIN + 1));
    printf("extremes: 64-bit and 32-bit limits of every temporal type format without overflow\n");

    /* Invalid literals. */
    struct { int type; const char *text; } bad[] = {
        {DDB_DATE, "2024.02.30"}, {DDB_DATE, "2023.02.29"}, {DDB_DATE, "2024.13.01"},
        {DDB_DATE, "2024.00.10"}, {DDB_DATE, "2024.1.2"}, {DDB_DATE, "2024.01.02x"},
        {DDB_DATE, ""}, {DDB_SECOND, "25:00:00"}, {DDB_SECOND, "12:60:00"},
        {DDB_SECOND, "12:00:60"}, {DDB_TIME, "24:00:00.000"}, {DDB_TIME, "12:00:00.0001"},
        {DDB_MINUTE, "12:61m"}, {DDB_MONTH, "2024.13M"}, {DDB_DATETIME, "2024.01.02T25:00:00"},
        {DDB_DATETIME, "2040.01.01T00:00:00"}, {DDB_TIMESTAMP, "2024.01.02X12:00:00.000"},
        {DDB_NANOTIMESTAMP, "2300.01.01T00:00:00.000000000"}, {DDB_DATEHOUR, "2024.01.02T24"},
        {DDB_NANOTIME, "12:00:00.1234567890"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v;
        CHECK(ddb_parse_temporal(bad[i].type, bad[i].text, strlen(bad[i].text), &v) < 0,
              "'%s' accepted as type %d", bad[i].text, bad[i].type);
    }
    CHECK(ddb_temporal_type_of("2024.02.30", 10) < 0, "shape of an invalid date");
    CHECK(ddb_temporal_type_of("hello", 5) < 0, "shape of a word");
    printf("invalid: %zu bad literals rejected\n", sizeof bad / sizeof bad[0]);

    /* Accepted variants. */
    int64_t v = 0;
    CHECK(ddb_parse_temporal(DDB_DATETIME, "2024.01.02 03:04:05", 19, &v) == 0 &&
          v == 19724LL * 86400 + 3 * 3600 + 4 * 60 + 5, "space separator");
    CHECK(ddb_parse_temporal(DDB_TIMESTAMP, "2024.01.02T03:04:05", 19, &v) == 0 &&
          v == (19724LL * 86400 + 11045) * 1000, "timestamp without fraction");
    CHECK(ddb_parse_temporal(DDB_TIMESTAMP, "2024.01.02T03:04:05.6", 21, &v) == 0 &&
          v % 1000 == 600, "short fraction is right-padded");
    CHECK(ddb_parse_temporal(DDB_MONTH, "2024.01", 7, &v) == 0 && v == 24288, "month without M");
    CHECK(ddb_parse_temporal(DDB_MINUTE, "13:30", 5, &v) == 0 && v == 810, "minute without m");
    printf("variants: space separator, missing fraction, short fraction, optional suffixes\n");
}

static void test_hex128(void)
{
    uint8_t b[16];
    const char *u = "5d212a78-cc48-e3b1-4235-b4d91473ee87";
    CHECK(ddb_parse_uuid(u, strlen(u), b) == 0 && b[0] == 0x87 && b[15] == 0x5d, "uuid bytes");
    CHECK(strcmp(fmt_cell(DDB_UUID, b, 0), u) == 0, "uuid text: %s", fmt_cell(DDB_UUID, b, 0));
    CHECK(ddb_parse_uuid("5d212a78cc48-e3b1-4235-b4d91473ee87x", 36, b) < 0, "bad uuid");
    CHECK(ddb_parse_uuid("zd212a78-cc48-e3b1-4235-b4d91473ee87", 36, b) < 0, "bad hex");
    const char *i = "e1671797c52e15f763380b45e841ec32";
    CHECK(ddb_parse_int128(i, 32, b) == 0 && b[0] == 0x32 && b[15] == 0xe1, "int128 bytes");
    CHECK(strcmp(fmt_cell(DDB_INT128, b, 0), i) == 0, "int128 text");
    CHECK(ddb_parse_int128(i, 31, b) < 0, "short int128");
    CHECK(ddb_parse_uuid("", 0, b) == 0 && fmt_cell(DDB_UUID, b, 0)[0] == 0, "uuid NULL");

    struct { const char *in, *out; } ips[] = {
        {"192.168.1.13", "192.168.1.13"}, {"0.0.0.1", "0.0.0.1"},
        {"2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3:8d3:1319:8a2e:370:7348"},
        {"::1", "0.0.0.1"}, {"fe80::1", "fe80:0:0:0:0:0:0:1"}, {"1::", "1:0:0:0:0:0:0:0"},
    };
    for (size_t k = 0; k < sizeof ips / sizeof ips[0]; k++) {
        int r = ddb_parse_ipaddr(ips[k].in, strlen(ips[k].in), b);
        CHECK(r == 0 && strcmp(fmt_cell(DDB_IPADDR, b, 0), ips[k].out) == 0, "ip %s -> %s",
              ips[k].in, r ? "<rejected>" : fmt_cell(DDB_IPADDR, b, 0));
    }
    const char *badip[] = {"256.1.1.1", "1.2.3", "1.2.3.4.5", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "a.b.c.d", ":1"};
    for (size_t k = 0; k < sizeof badip / sizeof badip[0]; k++)
        CHECK(ddb_parse_ipaddr(badip[k], strlen(badip[k]), b) < 0, "ip '%s' accepted", badip[k]);
    CHECK(ddb_parse_ipaddr("127.0.0.1", 9, b) == 0 && b[0] == 1 && b[3] == 127, "127.0.0.1 bytes");
    printf("uuid/int128/ipaddr: text <-> wire bytes, v4/v6, NULL, bad input\n");
}

static void test_decimal(void)
{
    struct { const char *in; int scale; int64_t lo, hi; const char *out; } cases[] = {
        {"3.14", 2, 314, 0, "3.14"}, {"-12345.6789", 4, -123456789, -1, "-12345.6789"},
        {"1", 4, 10000, 0, "1.0000"}, {"-1", 4, -10000, -1, "-1.0000"},
        {"0.000001", 6, 1, 0, "0.000001"}, {"1.005", 2, 101, 0, "1.01"},
        {"-1.005", 2, -101, -1, "-1.01"}, {"1.004", 2, 100, 0, "1.00"}, {"7", 0, 7, 0, "7"},
        {"2.5", 0, 3, 0, "3"}, {".5", 1, 5, 0, "0.5"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int64_t v[2] = {0, 0};
        int r = ddb_parse_decimal(cases[k].in, strlen(cases[k].in), cases[k].scale, v);
        CHECK(r == 0 && v[0] == cases[k].lo && v[1] == cases[k].hi, "decimal %s scale %d -> %lld,%lld",
              cases[k].in, cases[k].scale, (long long)v[0], (long long)v[1]);
        const char *t = fmt_cell(DDB_DECIMAL128, v, cases[k].scale);
        CHECK(strcmp(t, cases[k].out) == 0, "decimal128 text %s, want %s", t, cases[k].out);
    }
    const char *big = "12345678901234567890.0123456789";
    int64_t v[2];
    CHECK(ddb_parse_decimal(big, strlen(big), 10, v) == 0 && strcmp(fmt_cell(DDB_DECIMAL128, v, 10), big) == 0,
          "decimal128 big: %s", fmt_cell(DDB_DECIMAL128, v, 10));
    const char *huge = "999999999999999999999999999999999999999";     /* 39 digits > 2^127 */
    CHECK(ddb_parse_decimal(huge, strlen(huge), 0, v) < 0, "decimal overflow");
    CHECK(ddb_parse_decimal("1", 1, 39, v) < 0, "scale 39");
    CHECK(ddb_parse_decimal("1.2.3", 5, 2, v) < 0 && ddb_parse_decimal("", 0, 2, v) < 0 &&
          ddb_parse_decimal("-", 1, 2, v) < 0 && ddb_parse_decimal("1e5", 3, 2, v) < 0, "bad decimals");
    int32_t d32 = 314;
    CHECK(strcmp(fmt_cell(DDB_DECIMAL32, &d32, 2), "3.14") == 0, "decimal32");
    int64_t d64 = -99999500000LL;
    CHECK(strcmp(fmt_cell(DDB_DECIMAL64, &d64, 6), "-99999.500000") == 0, "decimal64");
    int32_t n32 = INT32_MIN;
    CHECK(fmt_cell(DDB_DECIMAL32, &n32, 3)[0] == 0, "decimal32 NULL");
    printf("decimal: parse with rounding, exact-scale text, 128-bit, overflow, NULL\n");
}

/* Digits past the scale: the first dropped digit rounds half away from zero, the
 * rest are discarded (they used to leak into the value: "3.1400000000000001" at
 * scale 2 gave 3140000000000001). `want` is the unscaled integer as text, or NULL
 * when the input must be refused. */
static void check_decimal_parse(const char *in, int scale, const char *want)
{
    int64_t v[2] = {0x5a5a, 0x5a5a};
    int r = ddb_parse_decimal(in, strlen(in), scale, v);
    if (!want) {
        CHECK(r < 0, "decimal '%.60s' scale %d accepted as %s, want refusal", in, scale,
              fmt_cell(DDB_DECIMAL128, v, 0));
        return;
    }
    const char *got = r == 0 ? fmt_cell(DDB_DECIMAL128, v, 0) : "<refused>";
    CHECK(r == 0 && strcmp(got, want) == 0, "decimal '%.60s' scale %d -> %s, want %s", in, scale, got, want);
}

static void test_decimal_rounding(void)
{
    struct { const char *in; int scale; const char *want; } cases[] = {
        /* the reported case and long tails */
        {"3.1400000000000001", 2, "314"}, {"-3.1400000000000001", 2, "-314"},
        {"3.1499999999999999999999999", 2, "315"}, {"3.1449999999999999999999999", 2, "314"},
        {"0.99999999999999999999999999999999999999999999999", 2, "100"},
        {"-0.99999999999999999999999999999999999999999999999", 2, "-100"},
        {"2.4999999999999999999999", 0, "2"}, {"-2.5000000000000000000001", 0, "-3"},
        {"0.0049999999999999", 2, "0"}, {"12.3456789012345678901234567890123456789", 4, "123457"},
        {"1.00000000000000000000000000000000000000000000000000000000000009", 3, "1000"},
        /* half away from zero on the first dropped digit, symmetric for negatives */
        {"3.145", 2, "315"}, {"-3.145", 2, "-315"}, {"3.144999", 2, "314"}, {"-3.144999", 2, "-314"},
        {"3.146", 2, "315"}, {"3.15", 2, "315"}, {"0.005", 2, "1"}, {"-0.005", 2, "-1"},
        {"-0.004", 2, "0"}, {"0.004", 2, "0"}, {"+0.005", 2, "1"}, {"9.995", 2, "1000"},
        {"-9.995", 2, "-1000"}, {"0.5", 0, "1"}, {"-0.5", 0, "-1"}, {"0.49", 0, "0"},
        {"3.5", 0, "4"}, {"-3.5", 0, "-4"}, {"3.4999", 0, "3"}, {"-3.4999", 0, "-3"},
        /* integers, no point, a trailing point, leading zeros, zeros */
        {"42", 3, "42000"}, {"-42", 3, "-42000"}, {"007", 1, "70"}, {"1.", 2, "100"},
        {"0", 0, "0"}, {"-0", 2, "0"}, {"-0.000", 2, "0"}, {"7", 0, "7"}, {"-7", 0, "-7"},
        {"000000000000000000000000000000000000000000000000001.5", 1, "15"},
        /* fewer fractional digits than the scale: padded */
        {"1.5", 6, "1500000"}, {".25", 4, "2500"}, {"-.25", 4, "-2500"},
        /* scale 38 limits: 2^127-1 = 170141183460469231731687303715884105727 */
        {"1", 38, "100000000000000000000000000000000000000"},
        {"-1", 38, "-100000000000000000000000000000000000000"},
        {"2", 38, NULL}, {"-2", 38, NULL},
        {"1.70141183460469231731687303715884105727", 38, "170141183460469231731687303715884105727"},
        {"-1.70141183460469231731687303715884105727", 38, "-170141183460469231731687303715884105727"},
        {"1.70141183460469231731687303715884105728", 38, NULL},
        {"1.701411834604692317316873037158841057265", 38, "170141183460469231731687303715884105727"},
        {"1.701411834604692317316873037158841057264999", 38, "170141183460469231731687303715884105726"},
        {"1.701411834604692317316873037158841057275", 38, NULL},
        {"0.000000000000000000000000000000000000015", 38, "2"},
        {"-0.000000000000000000000000000000000000015", 38, "-2"},
        {"0.000000000000000000000000000000000000004", 38, "0"},
        /* scale 0 limits */
        {"170141183460469231731687303715884105727", 0, "170141183460469231731687303715884105727"},
        {"-170141183460469231731687303715884105727", 0, "-170141183460469231731687303715884105727"},
        {"170141183460469231731687303715884105728", 0, NULL},
        {"-170141183460469231731687303715884105728", 0, NULL},          /* -2^127 is NULL */
        {"170141183460469231731687303715884105727.4999", 0, "170141183460469231731687303715884105727"},
        {"170141183460469231731687303715884105727.5", 0, NULL},         /* rounds past the range */
        {"17014118346046923173168730371588410572.7", 1, "170141183460469231731687303715884105727"},
        {"17014118346046923173168730371588410572.75", 1, NULL},
        {"1000000000000000000000000000000000000000", 0, NULL},
        /* bad text, including digits past the scale; exponents are not accepted */
        {"1e-3", 3, NULL}, {"1E5", 0, NULL}, {"3.14e0", 2, NULL}, {".", 2, NULL}, {"+", 2, NULL},
        {"--1", 2, NULL}, {"+-1", 2, NULL}, {" 1", 2, NULL}, {"1 ", 2, NULL}, {"1..2", 2, NULL},
        {"3.14x", 2, NULL}, {"3.1400000000000001x", 2, NULL}, {"3.141.5", 2, NULL}, {"1,5", 2, NULL},
        {"1", -1, NULL}, {"1", 39, NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        check_decimal_parse(cases[k].in, cases[k].scale, cases[k].want);

    /* a 5000-digit tail: only the first dropped digit matters, and it is not slow */
    static char tail[5010];
    memcpy(tail, "-2.71", 5);
    memset(tail + 5, '9', sizeof tail - 6);
    tail[sizeof tail - 1] = 0;
    check_decimal_parse(tail, 2, "-272");
    tail[5] = '4';
    check_decimal_parse(tail, 2, "-271");
    tail[sizeof tail - 2] = 'z';
    check_decimal_parse(tail, 2, NULL);

    /* the length argument bounds the text: no reading past it */
    int64_t v[2];
    CHECK(ddb_parse_decimal("3.14159", 4, 2, v) == 0 && v[0] == 314 && v[1] == 0, "decimal length bound");
    CHECK(ddb_parse_decimal("3.145junk", 5, 2, v) == 0 && v[0] == 315 && v[1] == 0, "decimal length bound 2");
    CHECK(ddb_parse_decimal("-0.004", 6, 2, v) == 0 && v[0] == 0 && v[1] == 0, "negative zero is plain zero");
    printf("decimal rounding: %zu cases past the scale, signs, scale 0/38 limits, overflow, bad text, long tails\n",
           sizeof cases / sizeof cases[0] + 3);
}

static void test_duration(void)
{
    const char *units[] = {"ns", "us", "ms", "s", "m", "H", "d", "w", "M", "y", "B"};
    for (int u = 0; u <= 10; u++) {
        char text[16];
        snprintf(text, sizeof text, "%d%s", 3 + u, units[u]);
        int32_t cell[2] = {0, 0};
        int r = ddb_parse_duration(text, strlen(text), &cell[0], &cell[1]);
        CHECK(r == 0 && cell[0] == 3 + u && cell[1] == u, "duration %s", text);
        CHECK(strcmp(fmt_cell(DDB_DURATION, cell, 0), text) == 0, "duration text %s", fmt_cell(DDB_DURATION, cell, 0));
    }
    int32_t cell[2];
    CHECK(ddb_parse_duration("2XNYS", 5, &cell[0], &cell[1]) == 0 && cell[1] == 0x584e5953, "calendar unit");
    CHECK(strcmp(fmt_cell(DDB_DURATION, cell, 0), "2XNYS") == 0, "calendar text");
    CHECK(ddb_parse_duration("3", 1, &cell[0], &cell[1]) < 0 && ddb_parse_duration("d", 1, &cell[0], &cell[1]) < 0 &&
          ddb_parse_duration("3x", 2, &cell[0], &cell[1]) < 0 && ddb_parse_duration("3xnys", 5, &cell[0], &cell[1]) < 0 &&
          ddb_parse_duration("9999999999d", 11, &cell[0], &cell[1]) < 0, "bad durations");
    printf("duration: every unit, trading calendar code, bad input\n");
}

static void test_reals(void)
{
    struct { double v; const char *t; } d[] = {{3.14159, "3.14159"}, {0.1, "0.1"}, {1.5, "1.5"},
        {-2.25, "-2.25"}, {1.0 / 3, "0.3333333333333333"}, {100, "100"}, {1e300, "1e+300"}};
    for (size_t k = 0; k < sizeof d / sizeof d[0]; k++)
        CHECK(strcmp(fmt_cell(DDB_DOUBLE, &d[k].v, 0), d[k].t) == 0, "double %s", fmt_cell(DDB_DOUBLE, &d[k].v, 0));
    float f = 3.5f, g = 0.1f;
    CHECK(strcmp(fmt_cell(DDB_FLOAT, &f, 0), "3.5") == 0, "float 3.5");
    CHECK(strcmp(fmt_cell(DDB_FLOAT, &g, 0), "0.1") == 0, "float 0.1: %s", fmt_cell(DDB_FLOAT, &g, 0));
    int bad = 0;
    srand(7);
    for (int k = 0; k < 20000; k++) {
        uint64_t bits = ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^ (uint64_t)rand();
        double x;
        memcpy(&x, &bits, 8);
        if (x != x || x == DDB_NULL_F64 || x > DBL_MAX || x < -DBL_MAX) continue;
        if (strtod(fmt_cell(DDB_DOUBLE, &x, 0), NULL) != x) bad++;
    }
    CHECK(bad == 0, "%d random doubles do not round-trip", bad);
    printf("reals: shortest text for known values, 20000 random doubles round-trip\n");
}

/* Scalar rows of the official vectors: build the cell from hex and compare with
 * `rendering`, skipping the rows whose display convention differs (BOOL 1/0, NULLs
 * of 16-byte types shown as zeros by the C++ API; we print NULL as empty). */
static int hexval_for_test(char c)
{
    return c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0';
}

static int unhex(const char *h, uint8_t *out, size_t max)
{
    size_t n = strlen(h) / 2;
    if (n > max) return -1;
    for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(hexval_for_test(h[2 * i]) << 4 | hexval_for_test(h[2 * i + 1]));
    return (int)n;
}

static void test_vectors(const char *path)
{
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "cannot open %s", path);
    if (!f) return;
    static char line[1 << 16];
    int compared = 0;
    while (fgets(line, sizeof line, f)) {
        char *fields[5], *save = NULL;
        line[strcspn(line, "\n")] = 0;
        int nf = 0;
        for (char *p = line; nf < 5; nf++) {
            fields[nf] = p;
            char *tab = strchr(p, '\t');
            if (!tab) { nf++; break; }
            *tab = 0;
            p = tab + 1;
        }
        (void)save;
        if (nf < 5 || strcmp(fields[0], "id") == 0) continue;
        uint8_t bytes[64];
        int n = unhex(fields[3], bytes, sizeof bytes);
        if (n < 3 || bytes[1] != DDB_SCALAR) continue;
        int type = bytes[0], scale = 0, off = 2;
        if (type == DDB_BOOL || type == DDB_VOID || type == DDB_STRING || type == DDB_SYMBOL ||
            type == DDB_BLOB) continue;
        if (type >= DDB_DECIMAL32 && type <= DDB_DECIMAL128) {
            memcpy(&scale, bytes + 2, 4);
            off = 6;
        }
        int all0 = 1;
        for (int k = off; k < n; k++) all0 &= bytes[k] == 0;
        if (all0 && (type == DDB_UUID || type == DDB_IPADDR || type == DDB_INT128)) continue;
        uint8_t cell[16] = {0};
        memcpy(cell, bytes + off, (size_t)(n - off) < sizeof cell ? (size_t)(n - off) : sizeof cell);
        const char *got = fmt_cell(type, cell, scale);
        CHECK(strcmp(got, fields[4]) == 0, "%s: '%s', C++ API shows '%s'", fields[0], got, fields[4]);
        compared++;
    }
    fclose(f);
    CHECK(compared >= 40, "only %d scalar rows compared", compared);
    printf("vectors: %d scalar renderings equal the C++ API's\n", compared);
}


static char *fmt_obj(const ddb_obj *o)
{
    static char text[512];
    ddb_buf b;
    ddb_buf_init(&b);
    int r = ddb_format_obj(&b, o);
    snprintf(text, sizeof text, "%s%.*s", r < 0 ? "<error>" : "", (int)b.len, b.p ? b.p : "");
    ddb_buf_free(&b);
    return text;
}

/* Objects built over stack memory, checked against the C++ API's renderings. */
static void test_display(void)
{
    int32_t ints[6] = {1, 2, INT32_MIN, 4, 5, 6};
    ddb_obj vec = scalar_over(DDB_INT, ints, 0);
    vec.form = DDB_VECTOR;
    vec.rows = 3;
    CHECK(strcmp(fmt_obj(&vec), "[1,2,]") == 0, "int vector: %s", fmt_obj(&vec));
    vec.form = DDB_PAIR;
    vec.rows = 2;
    CHECK(strcmp(fmt_obj(&vec), "1 : 2") == 0, "pair: %s", fmt_obj(&vec));

    int64_t offs[4] = {0, 2, 3, 15};
    char bytes[] = "a\0\0hello world";
    ddb_obj strs = scalar_over(DDB_STRING, NULL, 0);
    strs.form = DDB_VECTOR;
    strs.rows = 3;
    strs.offs = offs;
    strs.bytes = bytes;
    CHECK(strcmp(fmt_obj(&strs), "[\"a\",,\"hello world\"]") == 0, "string vector: %s", fmt_obj(&strs));

    int32_t cells[6] = {1, 2, 3, 4, 5, 6};
    ddb_obj m = scalar_over(DDB_INT, cells, 0);
    m.form = DDB_MATRIX;
    m.rows = 2;
    m.cols = 3;
    CHECK(strcmp(fmt_obj(&m), "#0 #1 #2\n-- -- --\n1  3  5 \n2  4  6 \n") == 0, "matrix: %s", fmt_obj(&m));

    int32_t id[2] = {1, 2};
    int64_t soffs[3] = {0, 2, 4};
    char sbytes[] = "x\0y";
    ddb_obj c1 = scalar_over(DDB_INT, id, 0), c2 = scalar_over(DDB_STRING, NULL, 0);
    c1.form = c2.form = DDB_VECTOR;
    c1.rows = c2.rows = 2;
    c2.offs = soffs;
    c2.bytes = sbytes;
    char *names[2] = {"a", "b"};
    ddb_obj *cols[2] = {&c1, &c2};
    ddb_obj t = scalar_over(DDB_VOID, NULL, 0);
    t.form = DDB_TABLE;
    t.rows = 2;
    t.cols = 2;
    t.col_names = names;
    t.columns = cols;
    CHECK(strcmp(fmt_obj(&t), "a b\n- -\n1 x\n2 y\n") == 0, "table: %s", fmt_obj(&t));
    printf("display: vector, pair, string vector, matrix and table as the C++ API shows them\n");
}

int main(int argc, char **argv)
{
    test_calendar();
    test_temporal();
    test_hex128();
    test_decimal();
    test_decimal_rounding();
    test_duration();
    test_reals();
    test_display();
    if (argc > 1) test_vectors(argv[1]);
    else { g_failures++; fprintf(stderr, "FAIL: no cpp-api.tsv path given\n"); }
    printf("test_text: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
