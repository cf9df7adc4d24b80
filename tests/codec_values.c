/* codec_values.c — the values stated by cpp-api.tsv's descriptions and scripts. */
#include "codec_values.h"
#include "codec_support.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checked;
static const char *cur;         /* row id for messages */

int cv_checked_rows(void) { return checked; }

#define DAY_2024_01_15 19737
#define MS_2024_01_15T13_30_10_008 1705325410008LL

static bool shape(const ddb_obj *o, int form, int type, int64_t rows)
{
    bool ok = o->form == form && o->type == type && o->rows == rows;
    CHECK(ok, "%s: expected %s %s of %lld, got %s %s of %lld", cur, ddb_type_name(type),
          ddb_form_name(form), (long long)rows, ddb_type_name(o->type),
          ddb_form_name(o->form), (long long)o->rows);
    return ok;
}

/* Integer-like cells; `nulls` marks NULL positions with 'N'. */
static void ints(const ddb_obj *o, int form, int type, int64_t n, const char *nulls, ...)
{
    if (!shape(o, form, type, n)) return;
    va_list ap;
    va_start(ap, nulls);
    for (int64_t i = 0; i < n; i++) {
        bool is_null = nulls && nulls[i] == 'N';
        int64_t want = va_arg(ap, int64_t);
        CHECK(ddb_is_null(o, i) == is_null, "%s[%lld]: null flag %d", cur, (long long)i,
              ddb_is_null(o, i));
        if (!is_null)
            CHECK(ddb_int_at(o, i) == want, "%s[%lld]: %lld, expected %lld", cur, (long long)i,
                  (long long)ddb_int_at(o, i), (long long)want);
    }
    va_end(ap);
}

static void doubles(const ddb_obj *o, int form, int type, int64_t n, const char *nulls, ...)
{
    if (!shape(o, form, type, n)) return;
    va_list ap;
    va_start(ap, nulls);
    for (int64_t i = 0; i < n; i++) {
        bool is_null = nulls && nulls[i] == 'N';
        double want = va_arg(ap, double);
        CHECK(ddb_is_null(o, i) == is_null, "%s[%lld]: null flag", cur, (long long)i);
        if (!is_null)
            CHECK(ddb_double_at(o, i) == want, "%s[%lld]: %.17g, expected %.17g", cur,
                  (long long)i, ddb_double_at(o, i), want);
    }
    va_end(ap);
}

static void strs(const ddb_obj *o, int form, int type, int64_t n, ...)
{
    if (!shape(o, form, type, n)) return;
    va_list ap;
    va_start(ap, n);
    for (int64_t i = 0; i < n; i++) {
        const char *want = va_arg(ap, const char *);
        size_t len;
        const char *s = ddb_str_at(o, i, &len);
        CHECK(s && len == strlen(want) && memcmp(s, want, len) == 0,
              "%s[%lld]: \"%s\", expected \"%s\"", cur, (long long)i, s ? s : "(null)", want);
        CHECK(ddb_is_null(o, i) == (want[0] == 0), "%s[%lld]: null flag", cur, (long long)i);
    }
    va_end(ap);
}

/* 16-byte cell whose canonical text is the big-endian hex of the integer. */
static void cell128(const ddb_obj *o, int64_t i, const char *hex_text)
{
    size_t len;
    uint8_t *b = cs_unhex(hex_text, &len);
    uint8_t want[16];
    for (int k = 0; k < 16; k++) want[k] = b[15 - k];
    CHECK(memcmp((const uint8_t *)o->data + 16 * i, want, 16) == 0, "%s[%lld]: 128-bit cell",
          cur, (long long)i);
    free(b);
}

static void null_scalar(const ddb_obj *o, int type, int scale)
{
    if (!shape(o, DDB_SCALAR, type, 1)) return;
    CHECK(ddb_is_null(o, 0), "%s: not NULL", cur);
    CHECK(o->scale == scale, "%s: scale %d, expected %d", cur, o->scale, scale);
}

static const ddb_obj *col(const ddb_obj *t, int c, const char *name)
{
    CHECK(strcmp(t->col_names[c], name) == 0, "%s: column %d named %s, expected %s", cur, c,
          t->col_names[c], name);
    return t->columns[c];
}

static void check_scalars(const char *id, const ddb_obj *o)
{
    const int S = DDB_SCALAR;
    if (!strcmp(id, "scalar_bool")) ints(o, S, DDB_BOOL, 1, NULL, (int64_t)1);
    else if (!strcmp(id, "scalar_char")) ints(o, S, DDB_CHAR, 1, NULL, (int64_t)97);
    else if (!strcmp(id, "scalar_short")) ints(o, S, DDB_SHORT, 1, NULL, (int64_t)1234);
    else if (!strcmp(id, "scalar_int")) ints(o, S, DDB_INT, 1, NULL, (int64_t)42);
    else if (!strcmp(id, "scalar_int_negative")) ints(o, S, DDB_INT, 1, NULL, (int64_t)-7);
    else if (!strcmp(id, "scalar_long")) ints(o, S, DDB_LONG, 1, NULL, (int64_t)1234567890123LL);
    else if (!strcmp(id, "scalar_float")) doubles(o, S, DDB_FLOAT, 1, NULL, 3.5);
    else if (!strcmp(id, "scalar_double")) doubles(o, S, DDB_DOUBLE, 1, NULL, 3.14159);
    else if (!strcmp(id, "scalar_date")) ints(o, S, DDB_DATE, 1, NULL, (int64_t)DAY_2024_01_15);
    else if (!strcmp(id, "scalar_month")) ints(o, S, DDB_MONTH, 1, NULL, (int64_t)(2024 * 12));
    else if (!strcmp(id, "scalar_time")) ints(o, S, DDB_TIME, 1, NULL, (int64_t)48610008);
    else if (!strcmp(id, "scalar_minute")) ints(o, S, DDB_MINUTE, 1, NULL, (int64_t)810);
    else if (!strcmp(id, "scalar_second")) ints(o, S, DDB_SECOND, 1, NULL, (int64_t)48610);
    else if (!strcmp(id, "scalar_datetime"))
        ints(o, S, DDB_DATETIME, 1, NULL, (int64_t)DAY_2024_01_15 * 86400 + 48610);
    else if (!strcmp(id, "scalar_timestamp"))
        ints(o, S, DDB_TIMESTAMP, 1, NULL, (int64_t)MS_2024_01_15T13_30_10_008);
    else if (!strcmp(id, "scalar_nanotime"))
        ints(o, S, DDB_NANOTIME, 1, NULL, (int64_t)48610008007006LL);
    else if (!strcmp(id, "scalar_nanotimestamp"))
        ints(o, S, DDB_NANOTIMESTAMP, 1, NULL, (int64_t)1705325410008007006LL);
    else if (!strcmp(id, "scalar_datehour"))
        ints(o, S, DDB_DATEHOUR, 1, NULL, (int64_t)DAY_2024_01_15 * 24 + 13);
    else if (!strcmp(id, "scalar_string")) strs(o, S, DDB_STRING, 1, "hello");
    else if (!strcmp(id, "scalar_string_empty")) strs(o, S, DDB_STRING, 1, "");
    else if (!strcmp(id, "scalar_string_unicode"))
        strs(o, S, DDB_STRING, 1, "\xe4\xb8\xad\xe6\x96\x87 \xc3\xbcn\xc3\xaf""c\xc3\xb6""d\xc3\xa9 \xf0\x9f\x98\x80");
    else if (!strcmp(id, "scalar_string_long")) {
        char want[5001];
        for (int i = 0; i < 5000; i++) want[i] = (char)('0' + i % 10);
        want[5000] = 0;
        strs(o, S, DDB_STRING, 1, want);
    } else if (!strcmp(id, "scalar_blob")) strs(o, S, DDB_BLOB, 1, "hello blob");
    else if (!strcmp(id, "scalar_uuid")) {
        if (shape(o, S, DDB_UUID, 1)) cell128(o, 0, "5d212a78cc48e3b14235b4d91473ee87");
    } else if (!strcmp(id, "scalar_ipaddr_v4")) {
        if (shape(o, S, DDB_IPADDR, 1)) cell128(o, 0, "000000000000000000000000c0a8010d");
    } else if (!strcmp(id, "scalar_ipaddr_v6")) {
        if (shape(o, S, DDB_IPADDR, 1)) cell128(o, 0, "20010db885a308d313198a2e03707348");
    } else if (!strcmp(id, "scalar_int128")) {
        if (shape(o, S, DDB_INT128, 1)) cell128(o, 0, "e1671797c52e15f763380b45e841ec32");
    } else if (!strcmp(id, "scalar_decimal32")) {
        ints(o, S, DDB_DECIMAL32, 1, NULL, (int64_t)314);
        CHECK(o->scale == 2 && ddb_double_at(o, 0) == 3.14, "%s: scale/value", id);
    } else if (!strcmp(id, "scalar_decimal64")) {
        ints(o, S, DDB_DECIMAL64, 1, NULL, (int64_t)-123456789);
        CHECK(o->scale == 4, "%s: scale %d", id, o->scale);
    } else if (!strcmp(id, "scalar_decimal128")) {
        if (shape(o, S, DDB_DECIMAL128, 1)) {
            __int128 v, want = (__int128)1234567890123456789LL * 100000000000LL + 123456789;
            memcpy(&v, o->data, 16);
            CHECK(v == want && o->scale == 10, "%s: unscaled value / scale", id);
        }
    } else if (!strcmp(id, "scalar_void_null")) {
        CHECK(o->form == S && o->type == DDB_VOID && o->void_kind == 1, "%s: VOID NULL", id);
    } else {
        return;
    }
    checked++;
}

static void check_nulls(const char *id, const ddb_obj *o)
{
    static const struct { const char *id; int type, scale; } rows[] = {
        {"null_bool", DDB_BOOL, 0}, {"null_char", DDB_CHAR, 0}, {"null_short", DDB_SHORT, 0},
        {"null_int", DDB_INT, 0}, {"null_long", DDB_LONG, 0}, {"null_float", DDB_FLOAT, 0},
        {"null_double", DDB_DOUBLE, 0}, {"null_date", DDB_DATE, 0},
        {"null_month", DDB_MONTH, 0}, {"null_time", DDB_TIME, 0},
        {"null_minute", DDB_MINUTE, 0}, {"null_second", DDB_SECOND, 0},
        {"null_datetime", DDB_DATETIME, 0}, {"null_timestamp", DDB_TIMESTAMP, 0},
        {"null_nanotime", DDB_NANOTIME, 0}, {"null_nanotimestamp", DDB_NANOTIMESTAMP, 0},
        {"null_datehour", DDB_DATEHOUR, 0}, {"null_string", DDB_STRING, 0},
        {"null_blob", DDB_BLOB, 0}, {"null_uuid", DDB_UUID, 0}, {"null_ipaddr", DDB_IPADDR, 0},
        {"null_int128", DDB_INT128, 0}, {"null_decimal32", DDB_DECIMAL32, 3},
        {"null_decimal64", DDB_DECIMAL64, 8}, {"null_decimal128", DDB_DECIMAL128, 20},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
        if (!strcmp(id, rows[i].id)) { null_scalar(o, rows[i].type, rows[i].scale); checked++; }
}

static void check_vectors(const char *id, const ddb_obj *o)
{
    const int V = DDB_VECTOR;
    typedef int64_t I;
    if (!strcmp(id, "vec_bool")) ints(o, V, DDB_BOOL, 3, "..N", (I)1, (I)0, (I)0);
    else if (!strcmp(id, "vec_char")) ints(o, V, DDB_CHAR, 3, "..N", (I)97, (I)122, (I)0);
    else if (!strcmp(id, "vec_short")) ints(o, V, DDB_SHORT, 3, "..N", (I)1, (I)-2, (I)0);
    else if (!strcmp(id, "vec_int")) ints(o, V, DDB_INT, 3, "..N", (I)1, (I)2, (I)0);
    else if (!strcmp(id, "vec_long")) ints(o, V, DDB_LONG, 3, "..N", (I)1, (I)-2, (I)0);
    else if (!strcmp(id, "vec_float")) doubles(o, V, DDB_FLOAT, 3, "..N", 1.5, -2.25, 0.0);
    else if (!strcmp(id, "vec_double")) doubles(o, V, DDB_DOUBLE, 3, ".N.", 1.5, 0.0, -2.25);
    else if (!strcmp(id, "vec_date")) ints(o, V, DDB_DATE, 3, "..N", (I)DAY_2024_01_15, (I)0, (I)0);
    else if (!strcmp(id, "vec_timestamp"))
        ints(o, V, DDB_TIMESTAMP, 2, ".N", (I)MS_2024_01_15T13_30_10_008, (I)0);
    else if (!strcmp(id, "vec_nanotimestamp"))
        ints(o, V, DDB_NANOTIMESTAMP, 2, "..", (I)1705325410008007006LL, (I)1);
    else if (!strcmp(id, "vec_string")) strs(o, V, DDB_STRING, 3, "a", "", "hello world");
    else if (!strcmp(id, "vec_symbol")) {
        strs(o, V, DDB_SYMBOL, 4, "AAPL", "MSFT", "AAPL", "GOOG");
        CHECK(o->symbase && o->symbase->n == 4, "%s: symbol base of 4 entries", id);
    } else if (!strcmp(id, "vec_blob")) strs(o, V, DDB_BLOB, 3, "abc", "", "de");
    else if (!strcmp(id, "vec_uuid")) {
        if (shape(o, V, DDB_UUID, 2)) {
            cell128(o, 0, "5d212a78cc48e3b14235b4d91473ee87");
            CHECK(!ddb_is_null(o, 0) && ddb_is_null(o, 1), "%s: nulls", id);
        }
    } else if (!strcmp(id, "vec_ipaddr")) {
        if (shape(o, V, DDB_IPADDR, 3)) {
            cell128(o, 0, "0000000000000000000000000a000001");
            cell128(o, 1, "00000000000000000000000000000001");
            CHECK(ddb_is_null(o, 2), "%s: third is NULL", id);
        }
    } else if (!strcmp(id, "vec_decimal32")) {
        ints(o, V, DDB_DECIMAL32, 3, "..N", (I)123, (I)-456, (I)0);
        CHECK(o->scale == 2, "%s: scale", id);
    } else if (!strcmp(id, "vec_decimal64")) {
        ints(o, V, DDB_DECIMAL64, 2, "..", (I)1, (I)-99999500000LL);
        CHECK(o->scale == 6, "%s: scale", id);
    } else if (!strcmp(id, "vec_any")) {
        if (shape(o, V, DDB_ANY, 4)) {
            cur = "vec_any[0]"; ints(o->items[0], DDB_SCALAR, DDB_INT, 1, NULL, (I)1);
            cur = "vec_any[1]"; strs(o->items[1], DDB_SCALAR, DDB_STRING, 1, "a");
            cur = "vec_any[2]"; doubles(o->items[2], DDB_SCALAR, DDB_DOUBLE, 1, NULL, 2.5);
            cur = "vec_any[3]"; ints(o->items[3], V, DDB_INT, 2, NULL, (I)1, (I)2);
        }
    } else if (!strcmp(id, "vec_int_empty")) shape(o, V, DDB_INT, 0);
    else if (!strcmp(id, "vec_string_empty")) shape(o, V, DDB_STRING, 0);
    else if (!strcmp(id, "vec_symbol_empty")) shape(o, V, DDB_SYMBOL, 0);
    else if (!strcmp(id, "vec_any_empty")) shape(o, V, DDB_ANY, 0);
    else if (!strcmp(id, "arrvec_int")) {
        if (shape(o, V, DDB_ARRAY_BASE + DDB_INT, 2)) {
            CHECK(o->row_offs[0] == 0 && o->row_offs[1] == 2 && o->row_offs[2] == 5,
                  "%s: row offsets", id);
            ints(o->values, V, DDB_INT, 5, NULL, (I)1, (I)2, (I)3, (I)4, (I)5);
        }
    } else if (!strcmp(id, "arrvec_double")) {
        if (shape(o, V, DDB_ARRAY_BASE + DDB_DOUBLE, 2)) {
            CHECK(o->row_offs[1] == 2 && o->row_offs[2] == 5, "%s: row offsets", id);
            doubles(o->values, V, DDB_DOUBLE, 5, ".N...", 1.5, 0.0, 2.5, 3.5, 4.5);
        }
    } else if (!strcmp(id, "pair_int")) ints(o, DDB_PAIR, DDB_INT, 2, NULL, (I)1, (I)5);
    else if (!strcmp(id, "pair_string")) strs(o, DDB_PAIR, DDB_STRING, 2, "a", "b");
    else return;
    checked++;
}

static void check_containers(const char *id, const ddb_obj *o)
{
    typedef int64_t I;
    const int V = DDB_VECTOR;
    if (!strcmp(id, "matrix_int") || !strcmp(id, "matrix_int_labels")) {
        CHECK(o->form == DDB_MATRIX && o->rows == 2 && o->cols == 3, "%s: 2x3 matrix", id);
        for (int i = 0; i < 6; i++) CHECK(ddb_int_at(o, i) == i + 1, "%s: cell %d", id, i);
        if (!strcmp(id, "matrix_int_labels") && o->row_labels && o->col_labels) {
            strs(o->row_labels, V, DDB_STRING, 2, "r1", "r2");
            strs(o->col_labels, V, DDB_STRING, 3, "c1", "c2", "c3");
        } else {
            CHECK(!strcmp(id, "matrix_int") == (!o->row_labels && !o->col_labels), "%s: labels", id);
        }
    } else if (!strcmp(id, "matrix_double")) {
        CHECK(o->form == DDB_MATRIX && o->rows == 2 && o->cols == 2, "%s: 2x2", id);
        CHECK(ddb_double_at(o, 0) == 1.5 && ddb_double_at(o, 1) == 2.5 &&
              ddb_double_at(o, 2) == 3.5 && ddb_is_null(o, 3), "%s: cells", id);
    } else if (!strcmp(id, "set_int")) {
        ddb_obj *k = ddb_vector_new(DDB_INT, 0);
        for (int32_t v = 1; v <= 3; v++) ddb_fixed_append(k, &v);
        ddb_obj *want = ddb_set_new(k);
        CHECK(ddb_obj_equal(o, want), "%s: set {1,2,3}", id);
        ddb_obj_unref(want);
    } else if (!strcmp(id, "dict_string_int")) {
        ddb_obj *k = ddb_vector_new(DDB_STRING, 0), *v = ddb_vector_new(DDB_INT, 0);
        int32_t one = 1, two = 2;
        ddb_varlen_append(k, "b", 1); ddb_fixed_append(v, &two);   /* any order */
        ddb_varlen_append(k, "a", 1); ddb_fixed_append(v, &one);
        ddb_obj *want = ddb_dict_new(k, v);
        CHECK(ddb_obj_equal(o, want), "%s: {a:1, b:2}", id);
        int32_t three = 3;
        memcpy(want->values->data, &three, 4);     /* a different value must not compare equal */
        CHECK(!ddb_obj_equal(o, want), "%s: {a:1, b:3} must differ", id);
        ddb_obj_unref(want);
    } else if (!strcmp(id, "table_small")) {
        if (shape(o, DDB_TABLE, o->type, 2) && o->cols == 2) {
            ints(col(o, 0, "a"), V, DDB_INT, 2, NULL, (I)1, (I)2);
            strs(col(o, 1, "b"), V, DDB_STRING, 2, "x", "y");
        }
    } else if (!strcmp(id, "table_symbol")) {
        if (shape(o, DDB_TABLE, o->type, 3) && o->cols == 3) {
            ints(col(o, 0, "id"), V, DDB_INT, 3, NULL, (I)1, (I)2, (I)3);
            strs(col(o, 1, "sym"), V, DDB_SYMBOL, 3, "A", "B", "A");
            doubles(col(o, 2, "price"), V, DDB_DOUBLE, 3, "..N", 1.5, 2.5, 0.0);
        }
    } else if (!strcmp(id, "table_empty")) {
        CHECK(o->form == DDB_TABLE && o->rows == 0 && o->cols == 2, "%s: 0 x 2 table", id);
    } else if (!strcmp(id, "table_100rows")) {
        if (!(shape(o, DDB_TABLE, o->type, 100) && o->cols == 8)) return;
        const char *names[8] = { "id", "sym", "date", "ts", "price", "flag", "big", "note" };
        const char *syms[3] = { "AAPL", "MSFT", "GOOG" };
        for (int c = 0; c < 8; c++) col(o, c, names[c]);
        for (int i = 0; i < 100; i++) {
            size_t len;
            char note[16];
            snprintf(note, sizeof note, "note%d", i % 10 + 1);
            const char *s = ddb_str_at(o->columns[1], i, &len);
            const char *n = ddb_str_at(o->columns[7], i, &len);
            bool ok = ddb_int_at(o->columns[0], i) == i + 1 && strcmp(s, syms[i % 3]) == 0 &&
                      ddb_int_at(o->columns[2], i) == 19723 + i &&
                      ddb_int_at(o->columns[3], i) == 19723LL * 86400000 + 34200000 + i * 1000LL &&
                      ddb_double_at(o->columns[4], i) == (i + 1) * 1.5 &&
                      ddb_int_at(o->columns[5], i) == ((i + 1) % 2 == 0) &&
                      ddb_int_at(o->columns[6], i) == (i + 1) * 1000000000000LL &&
                      strcmp(n, note) == 0;
            CHECK(ok, "%s: row %d", id, i);
        }
    } else {
        return;
    }
    checked++;
}

void cv_check_value(const char *id, const ddb_obj *o)
{
    cur = id;
    int before = checked;
    check_scalars(id, o);
    if (checked == before) check_nulls(id, o);
    if (checked == before) check_vectors(id, o);
    if (checked == before) check_containers(id, o);
}
