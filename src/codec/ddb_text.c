/* ddb_text.c — DolphinDB literal text: the calendar and formatting (see ddb_text.h);
 * parsing is in ddb_text_parse.c.
 *
 * Reads ddb_obj fields directly and keeps its own small tables of cell widths and
 * NULL rules, so it depends on nothing but ddb_buf: ddbmini's parser and the Lua
 * module can both use it, and its tests need no decoder. */
#include "ddb_text.h"
#include "ddb_text_internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef __int128 i128;
typedef unsigned __int128 u128;

/* ------------------------------------------------------------------ calendar */

/* Howard Hinnant's civil algorithms: eras of 400 years (146097 days) make the
 * proleptic Gregorian calendar a pure function of integer division. */
int64_t ddb_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                  /* [0, 399] */
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void ddb_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Floor division (b > 0): pre-1970 values must land on the previous day, not round
 * to 0. Quotient and remainder come without a multiplication, so values near
 * INT64_MIN cannot overflow. */
static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b < 0) ? q - 1 : q;
}

static int64_t floormod(int64_t a, int64_t b)
{
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}

/* ------------------------------------------------------------------ cells */

static int cell_width(int type)
{
    switch (type) {
    case DDB_BOOL: case DDB_CHAR: return 1;
    case DDB_SHORT: return 2;
    case DDB_INT: case DDB_DATE: case DDB_MONTH: case DDB_TIME: case DDB_MINUTE:
    case DDB_SECOND: case DDB_DATETIME: case DDB_DATEHOUR: case DDB_DATEMINUTE:
    case DDB_FLOAT: case DDB_DECIMAL32: case DDB_SYMBOL: return 4;
    case DDB_LONG: case DDB_TIMESTAMP: case DDB_NANOTIME: case DDB_NANOTIMESTAMP:
    case DDB_DOUBLE: case DDB_DECIMAL64: case DDB_DURATION: return 8;
    case DDB_UUID: case DDB_IPADDR: case DDB_INT128: case DDB_DECIMAL128:
    case DDB_COMPLEX: case DDB_POINT: return 16;
    default: return 0;
    }
}

static int is_varlen(int type)
{
    return type == DDB_STRING || type == DDB_BLOB || type == DDB_CODE ||
           type == DDB_HANDLE || type == DDB_DATASOURCE || type == DDB_RESOURCE ||
           type == DDB_FUNCTIONDEF;
}

static int64_t load_int(const void *cell, int width)
{
    switch (width) {
    case 1: { int8_t v; memcpy(&v, cell, 1); return v; }
    case 2: { int16_t v; memcpy(&v, cell, 2); return v; }
    case 4: { int32_t v; memcpy(&v, cell, 4); return v; }
    default: { int64_t v; memcpy(&v, cell, 8); return v; }
    }
}

static i128 load_i128(const void *cell)
{
    uint64_t lo, hi;
    memcpy(&lo, cell, 8);
    memcpy(&hi, (const char *)cell + 8, 8);
    return (i128)(((u128)hi << 64) | lo);
}

static int all_zero(const uint8_t *p, int n)
{
    for (int i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

static int64_t null_of_width(int width)
{
    return width == 1 ? INT8_MIN : width == 2 ? INT16_MIN : width == 4 ? INT32_MIN : INT64_MIN;
}

/* NULL rule of one FIXED cell (docs/PROTOCOL.md §4.3). */
static int cell_is_null(int type, const void *cell)
{
    int w = cell_width(type);
    switch (type) {
    case DDB_FLOAT: { float f; memcpy(&f, cell, 4); return f == DDB_NULL_F32; }
    case DDB_DOUBLE: { double d; memcpy(&d, cell, 8); return d == DDB_NULL_F64; }
    case DDB_UUID: case DDB_IPADDR: case DDB_INT128: return all_zero(cell, 16);
    case DDB_DECIMAL128: return load_i128(cell) == (i128)((u128)1 << 127);
    case DDB_COMPLEX: case DDB_POINT: {
        double a, b;
        memcpy(&a, cell, 8);
        memcpy(&b, (const char *)cell + 8, 8);
        return a == DDB_NULL_F64 && b == DDB_NULL_F64;
    }
    case DDB_DURATION: return load_int(cell, 4) == INT32_MIN;
    default: return w ? load_int(cell, w) == null_of_width(w) : 0;
    }
}

static int put_date(ddb_buf *out, int64_t days)
{
    int64_t y; unsigned m, d;
    ddb_civil_from_days(days, &y, &m, &d);
    return ddb_buf_printf(out, "%04lld.%02u.%02u", (long long)y, m, d);
}

/* Time of day from a count of `unit` per second (1 s, 1000 ms, 1e9 ns): HH:MM:SS and
 * `digits` fraction digits. */
static int put_clock(ddb_buf *out, int64_t v, int64_t per_sec, int digits)
{
    int64_t secs = floordiv(v, per_sec), frac = floormod(v, per_sec);
    int r = ddb_buf_printf(out, "%02lld:%02lld:%02lld", (long long)(secs / 3600),
                           (long long)(secs / 60 % 60), (long long)(secs % 60));
    if (digits) r |= ddb_buf_printf(out, ".%0*lld", digits, (long long)frac);
    return r;
}

/* A timestamp-like value: date, 'T', time of day. */
static int put_stamp(ddb_buf *out, int64_t v, int64_t per_day, int64_t per_sec, int digits)
{
    int r = put_date(out, floordiv(v, per_day));
    r |= ddb_buf_u8(out, 'T');
    return r | put_clock(out, floormod(v, per_day), per_sec, digits);
}

static int put_temporal(ddb_buf *out, int type, int64_t v)
{
    switch (type) {
    case DDB_DATE: return put_date(out, v);
    case DDB_MONTH: {
        return ddb_buf_printf(out, "%04lld.%02lldM", (long long)floordiv(v, 12), (long long)floormod(v, 12) + 1);
    }
    case DDB_TIME: return put_clock(out, v, 1000, 3);
    case DDB_MINUTE:
        return ddb_buf_printf(out, "%02lld:%02lldm", (long long)(v / 60), (long long)(v % 60));
    case DDB_SECOND: return put_clock(out, v, 1, 0);
    case DDB_DATETIME: return put_stamp(out, v, 86400, 1, 0);
    case DDB_TIMESTAMP: return put_stamp(out, v, 86400000LL, 1000, 3);
    case DDB_NANOTIME: return put_clock(out, v, 1000000000LL, 9);
    case DDB_NANOTIMESTAMP: return put_stamp(out, v, 86400000000000LL, 1000000000LL, 9);
    case DDB_DATEHOUR: {
        return put_date(out, floordiv(v, 24)) | ddb_buf_printf(out, "T%02lld", (long long)floormod(v, 24));
    }
    case DDB_DATEMINUTE: {
        int64_t m = floormod(v, 1440);
        return put_date(out, floordiv(v, 1440)) |
               ddb_buf_printf(out, "T%02lld:%02lldm", (long long)(m / 60), (long long)(m % 60));
    }
    default: return -1;
    }
}

/* Shortest "%.Ng" that reads back to the same value. */
static int put_real(ddb_buf *out, double v, int is_float)
{
    char tmp[40];
    if (isnan(v)) return ddb_buf_puts(out, "NaN");
    if (isinf(v)) return ddb_buf_puts(out, v < 0 ? "-inf" : "inf");
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (is_float ? strtof(tmp, NULL) == (float)v : strtod(tmp, NULL) == v) {
            /* %g turns 100 into 1e+02: print whole numbers below 1e17 in full. */
            const char *e = strchr(tmp, 'e');
            int exp10 = e ? atoi(e + 1) : 0;
            if (e && exp10 >= prec && exp10 < 17) snprintf(tmp, sizeof tmp, "%.*g", exp10 + 1, v);
            break;
        }
    }
    return ddb_buf_puts(out, tmp);
}

static int put_u128_decimal(ddb_buf *out, u128 v, int min_digits)
{
    char tmp[48];
    int n = 0;
    do { tmp[n++] = (char)('0' + (int)(v % 10)); v /= 10; } while (v);
    while (n < min_digits) tmp[n++] = '0';
    char rev[48];
    for (int i = 0; i < n; i++) rev[i] = tmp[n - 1 - i];
    return ddb_buf_put(out, rev, (size_t)n);
}

static u128 pow10_u128(int e)
{
    u128 p = 1;
    while (e-- > 0) p *= 10;
    return p;
}

static int put_decimal(ddb_buf *out, i128 v, int scale)
{
    int r = 0;
    u128 mag = v < 0 ? -(u128)v : (u128)v;
    if (v < 0) r |= ddb_buf_u8(out, '-');
    if (scale <= 0) return r | put_u128_decimal(out, mag, 1);
    u128 p = pow10_u128(scale);
    r |= put_u128_decimal(out, mag / p, 1);
    r |= ddb_buf_u8(out, '.');
    return r | put_u128_decimal(out, mag % p, scale);
}

static int put_hex_reversed(ddb_buf *out, const uint8_t *cell, int dashes)
{
    static const char hex[] = "0123456789abcdef";
    char tmp[40];
    int n = 0;
    for (int i = 15; i >= 0; i--) {
        int k = 15 - i;
        if (dashes && (k == 4 || k == 6 || k == 8 || k == 10)) tmp[n++] = '-';
        tmp[n++] = hex[cell[i] >> 4];
        tmp[n++] = hex[cell[i] & 15];
    }
    return ddb_buf_put(out, tmp, (size_t)n);
}

static int put_ipaddr(ddb_buf *out, const uint8_t *c)
{
    if (all_zero(c + 4, 12))
        return ddb_buf_printf(out, "%u.%u.%u.%u", c[3], c[2], c[1], c[0]);
    int r = 0;
    for (int g = 0; g < 8; g++)
        r |= ddb_buf_printf(out, g ? ":%x" : "%x", (unsigned)(c[15 - 2 * g] << 8 | c[14 - 2 * g]));
    return r;
}

/* DURATION units by their code 0..10 (ddb_text_internal.h) */
const char *const ddb__duration_units[DDB_DURATION_UNITS] = {"ns", "us", "ms", "s", "m", "H", "d",
                                                             "w", "M", "y", "B"};

static int put_duration(ddb_buf *out, const void *cell)
{
    int32_t value = (int32_t)load_int(cell, 4), unit = (int32_t)load_int((const char *)cell + 4, 4);
    int r = ddb_buf_printf(out, "%d", value);
    if (unit >= 0 && unit <= 10) return r | ddb_buf_puts(out, ddb__duration_units[unit]);
    char code[4] = {(char)(unit >> 24), (char)(unit >> 16), (char)(unit >> 8), (char)unit};
    return r | ddb_buf_put(out, code, 4);
}

static int put_char(ddb_buf *out, int8_t c)
{
    if (c >= 32 && c < 127) return ddb_buf_u8(out, (uint8_t)c);
    return ddb_buf_printf(out, "%d", c);
}

static int format_fixed(ddb_buf *out, int type, const uint8_t *cell, int scale)
{
    if (cell_is_null(type, cell)) return 0;
    switch (type) {
    case DDB_BOOL: return ddb_buf_puts(out, cell[0] ? "true" : "false");
    case DDB_CHAR: return put_char(out, (int8_t)cell[0]);
    case DDB_SHORT: case DDB_INT: case DDB_LONG:
        return ddb_buf_printf(out, "%lld", (long long)load_int(cell, cell_width(type)));
    case DDB_FLOAT: { float f; memcpy(&f, cell, 4); return put_real(out, f, 1); }
    case DDB_DOUBLE: { double d; memcpy(&d, cell, 8); return put_real(out, d, 0); }
    case DDB_UUID: return put_hex_reversed(out, cell, 1);
    case DDB_INT128: return put_hex_reversed(out, cell, 0);
    case DDB_IPADDR: return put_ipaddr(out, cell);
    case DDB_DECIMAL32: case DDB_DECIMAL64:
        return put_decimal(out, load_int(cell, cell_width(type)), scale);
    case DDB_DECIMAL128: return put_decimal(out, load_i128(cell), scale);
    case DDB_DURATION: return put_duration(out, cell);
    case DDB_COMPLEX: case DDB_POINT: {
        double a, b;
        memcpy(&a, cell, 8);
        memcpy(&b, cell + 8, 8);
        int r = ddb_buf_puts(out, type == DDB_POINT ? "(" : "");
        r |= put_real(out, a, 0);
        if (type == DDB_POINT) r |= ddb_buf_puts(out, ", ");
        else if (b >= 0 || isnan(b)) r |= ddb_buf_u8(out, '+');
        r |= put_real(out, b, 0);
        return r | ddb_buf_puts(out, type == DDB_POINT ? ")" : "i");
    }
    default: return put_temporal(out, type, load_int(cell, cell_width(type)));
    }
}

/* Element type of a vector-like object; array vectors and tables have none. */
static int elem_type(const ddb_obj *v) { return v->type; }

int ddb_format_cell(ddb_buf *out, const ddb_obj *v, int64_t i)
{
    int type = elem_type(v);
    if (i < 0) return -1;
    if (type == DDB_VOID) return 0;
    if (type == DDB_ANY) return v->items && v->items[i] ? ddb_format_obj(out, v->items[i]) : 0;
    if (type == DDB_SYMBOL && v->symbase) {
        int32_t idx;
        memcpy(&idx, (const char *)v->data + 4 * i, 4);
        if (idx < 0 || idx >= v->symbase->n) return -1;
        const ddb_symbase *b = v->symbase;
        return ddb_buf_put(out, b->bytes + b->offs[idx], (size_t)(b->offs[idx + 1] - b->offs[idx] - 1));
    }
    if (is_varlen(type) || type == DDB_SYMBOL) {
        if (!v->offs) return -1;
        return ddb_buf_put(out, v->bytes + v->offs[i], (size_t)(v->offs[i + 1] - v->offs[i] - 1));
    }
    int w = cell_width(type);
    if (!w || !v->data) return -1;
    return format_fixed(out, type, (const uint8_t *)v->data + (size_t)w * (size_t)i, v->scale);
}

/* ------------------------------------------------------------------ objects */

enum { DISPLAY_MAX_ELEMS = 1024 };

static int quoted_type(int type) { return type == DDB_STRING || type == DDB_SYMBOL || type == DDB_BLOB; }

/* One element inside a vector display: strings in double quotes, printable CHARs in
 * single quotes (the C++ API's display), everything else as ddb_format_cell. */
static int format_elem(ddb_buf *out, const ddb_obj *v, int64_t i)
{
    int type = elem_type(v);
    if (type == DDB_CHAR && v->data) {
        int8_t c = ((const int8_t *)v->data)[i];
        if (c == INT8_MIN) return 0;
        if (c >= 32 && c < 127) return ddb_buf_printf(out, "'%c'", c);
        return ddb_buf_printf(out, "%d", c);
    }
    if (type == DDB_ANY && v->items && v->items[i] && v->items[i]->form == DDB_SCALAR &&
        quoted_type(v->items[i]->type))
        v = v->items[i], i = 0, type = v->type;
    if (quoted_type(type)) {
        size_t before = out->len;
        if (ddb_format_cell(out, v, i) < 0) return -1;
        if (out->len == before) return 0;                       /* NULL */
        if (ddb_buf_u8(out, '"') < 0) return -1;
        memmove(out->p + before + 1, out->p + before, out->len - before - 1);
        out->p[before] = '"';
        return ddb_buf_u8(out, '"');
    }
    return ddb_format_cell(out, v, i);
}

static int format_list(ddb_buf *out, const ddb_obj *v, int64_t from, int64_t n,
                       const char *open, const char *sep, const char *close)
{
    int r = ddb_buf_puts(out, open);
    for (int64_t i = 0; i < n && r == 0; i++) {
        if (i) r |= ddb_buf_puts(out, sep);
        if (i == DISPLAY_MAX_ELEMS) { r |= ddb_buf_puts(out, "..."); break; }
        r |= format_elem(out, v, from + i);
    }
    return r | ddb_buf_puts(out, close);
}

static int format_array_vector(ddb_buf *out, const ddb_obj *o)
{
    int r = ddb_buf_u8(out, '[');
    for (int64_t i = 0; i < o->rows && r == 0; i++) {
        if (i) r |= ddb_buf_u8(out, ',');
        if (i == DISPLAY_MAX_ELEMS) { r |= ddb_buf_puts(out, "..."); break; }
        int64_t a = o->row_offs[i], b = o->row_offs[i + 1];
        r |= format_list(out, o->values, a, b - a, "[", ",", "]");
    }
    return r | ddb_buf_u8(out, ']');
}

/* Tables and matrices print as a grid like the C++ API's display: each cell padded
 * to its column's width, columns joined by a space, a dashed line under the header.
 * A matrix with row labels gets a leading label column joined by '|'. `cell` writes
 * one cell; row -1 is the header. */
typedef int (*grid_cell_fn)(ddb_buf *out, const ddb_obj *o, int64_t col, int64_t row);

static int grid_line(ddb_buf *out, ddb_buf *scratch, const ddb_obj *o, grid_cell_fn cell,
                     const size_t *width, int64_t cols, int64_t row, int labels)
{
    int r = 0;
    for (int64_t c = 0; c < cols && r == 0; c++) {
        if (c) r |= ddb_buf_u8(out, labels && c == 1 && row >= 0 ? '|' : ' ');
        scratch->len = 0;
        if (row == -2) {                                   /* the dashed line */
            for (size_t k = 0; k < width[c]; k++) r |= ddb_buf_u8(scratch, labels && c == 0 ? ' ' : '-');
        } else if (!(labels && c == 0 && row < 0)) {
            r |= cell(scratch, o, c, row);
        }
        r |= ddb_buf_put(out, scratch->p, scratch->len);
        for (size_t k = scratch->len; k < width[c]; k++) r |= ddb_buf_u8(out, ' ');
    }
    return r | ddb_buf_u8(out, '\n');
}

static int format_grid(ddb_buf *out, const ddb_obj *o, int64_t cols, int64_t rows,
                       grid_cell_fn cell, int labels)
{
    int64_t shown = rows < DISPLAY_MAX_ELEMS ? rows : DISPLAY_MAX_ELEMS;
    size_t *width = calloc((size_t)cols + 1, sizeof *width);
    ddb_buf scratch;
    ddb_buf_init(&scratch);
    int r = width ? 0 : -1;
    for (int64_t c = 0; c < cols && r == 0; c++) {
        for (int64_t row = -1; row < shown && r == 0; row++) {
            scratch.len = 0;
            if (!(labels && c == 0 && row < 0)) r |= cell(&scratch, o, c, row);
            if (scratch.len > width[c]) width[c] = scratch.len;
        }
    }
    for (int64_t row = -1; row < shown && r == 0; row++) {
        r |= grid_line(out, &scratch, o, cell, width, cols, row, labels);
        if (row == -1) r |= grid_line(out, &scratch, o, cell, width, cols, -2, labels);
    }
    if (r == 0 && shown < rows) r |= ddb_buf_puts(out, "...\n");
    ddb_buf_free(&scratch);
    free(width);
    return r;
}

static int matrix_cell(ddb_buf *out, const ddb_obj *o, int64_t col, int64_t row)
{
    if (o->row_labels && col-- == 0) return ddb_format_cell(out, o->row_labels, row);
    if (row < 0) {
        if (o->col_labels) return ddb_format_cell(out, o->col_labels, col);
        return ddb_buf_printf(out, "#%lld", (long long)col);
    }
    return ddb_format_cell(out, o, col * o->rows + row);
}

static int format_matrix(ddb_buf *out, const ddb_obj *o)
{
    int labels = o->row_labels != NULL;
    return format_grid(out, o, o->cols + labels, o->rows, matrix_cell, labels);
}

static int format_dict(ddb_buf *out, const ddb_obj *o)
{
    int r = 0;
    if (!o->keys || !o->values) return -1;
    for (int64_t i = 0; i < o->keys->rows && r == 0; i++) {
        r |= ddb_format_cell(out, o->keys, i) | ddb_buf_puts(out, "->");
        r |= ddb_format_cell(out, o->values, i) | ddb_buf_u8(out, '\n');
    }
    return r;
}

static int table_cell(ddb_buf *out, const ddb_obj *o, int64_t col, int64_t row)
{
    const ddb_obj *c = o->columns[col];
    if (row < 0) return ddb_buf_puts(out, o->col_names[col]);
    if (c->type >= DDB_ARRAY_BASE && c->row_offs) {
        int64_t a = c->row_offs[row], b = c->row_offs[row + 1];
        return format_list(out, c->values, a, b - a, "[", ",", "]");
    }
    return ddb_format_cell(out, c, row);
}

static int format_table(ddb_buf *out, const ddb_obj *o)
{
    return format_grid(out, o, o->cols, o->rows, table_cell, 0);
}

int ddb_format_obj(ddb_buf *out, const ddb_obj *o)
{
    if (!o) return -1;
    switch (o->form) {
    case DDB_SCALAR: return ddb_format_cell(out, o, 0);
    case DDB_VECTOR:
        if (o->type >= DDB_ARRAY_BASE && o->type < DDB_SYMBOL_BASE_FLAG) return format_array_vector(out, o);
        if (o->type == DDB_ANY) return format_list(out, o, 0, o->rows, "(", ",", ")");
        return format_list(out, o, 0, o->rows, "[", ",", "]");
    case DDB_PAIR: return format_list(out, o, 0, o->rows, "", " : ", "");
    case DDB_MATRIX: return format_matrix(out, o);
    case DDB_SET:
        return o->keys ? format_list(out, o->keys, 0, o->keys->rows, "set(", ",", ")") : -1;
    case DDB_DICTIONARY: case DDB_CHART: return format_dict(out, o);
    case DDB_TABLE: return format_table(out, o);
    case DDB_CHUNK: return ddb_buf_printf(out, "chunk(%lld bytes)", (long long)o->nbytes);
    default: return -1;
    }
}
