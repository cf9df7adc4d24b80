/* ddb_text_parse.c — DolphinDB literal text: parsing temporal, UUID, INT128, IPADDR,
 * DECIMAL and DURATION literals (see ddb_text.h; formatting is in ddb_text.c). Every
 * reader fails closed: text that is not exactly one literal is refused. */
#include "ddb_text.h"
#include "ddb_text_internal.h"

#include <stdint.h>
#include <string.h>
typedef __int128 i128;
typedef unsigned __int128 u128;

static int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* ------------------------------------------------------------------ parsing */

/* A cursor over the text being parsed; every reader fails closed. */
typedef struct scan { const char *p, *end; } scan;

static int digits(scan *s, int min, int max, int64_t *v)
{
    int n = 0;
    *v = 0;
    while (s->p < s->end && n < max && *s->p >= '0' && *s->p <= '9') {
        *v = *v * 10 + (*s->p++ - '0');
        n++;
    }
    return n >= min ? n : -1;
}

static int lit(scan *s, char c)
{
    if (s->p < s->end && *s->p == c) { s->p++; return 1; }
    return 0;
}

static int at_end(const scan *s) { return s->p == s->end; }

/* YYYY.MM.DD -> days */
static int scan_date(scan *s, int64_t *days)
{
    int64_t y, m, d;
    if (digits(s, 4, 4, &y) < 0 || !lit(s, '.') || digits(s, 2, 2, &m) < 0 || !lit(s, '.') ||
        digits(s, 2, 2, &d) < 0)
        return -1;
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, (unsigned)m)) return -1;
    *days = ddb_days_from_civil(y, (unsigned)m, (unsigned)d);
    return 0;
}

/* HH:MM[:SS[.fraction]] -> value in 10^-frac_max seconds. need_sec: seconds required. */
static int scan_clock(scan *s, int need_sec, int frac_max, int64_t *v)
{
    int64_t h, m, sec = 0, frac = 0;
    if (digits(s, 2, 2, &h) < 0 || !lit(s, ':') || digits(s, 2, 2, &m) < 0) return -1;
    if (h > 23 || m > 59) return -1;
    if (need_sec) {
        if (!lit(s, ':') || digits(s, 2, 2, &sec) < 0 || sec > 59) return -1;
        if (frac_max && lit(s, '.')) {
            int n = digits(s, 1, frac_max, &frac);
            if (n < 0) return -1;
            for (; n < frac_max; n++) frac *= 10;
        }
    }
    int64_t scale = 1;
    for (int i = 0; i < frac_max; i++) scale *= 10;
    *v = ((h * 60 + m) * 60 + sec) * scale + frac;
    return 0;
}

static int date_time_sep(scan *s) { return lit(s, 'T') || lit(s, ' '); }

int ddb_parse_temporal(int type, const char *text, size_t len, int64_t *out)
{
    scan s = {text, text + len};
    int64_t days = 0, t = 0, v;
    switch (type) {
    case DDB_DATE:
        if (scan_date(&s, &v) < 0) return -1;
        break;
    case DDB_MONTH: {
        int64_t y, m;
        if (digits(&s, 4, 4, &y) < 0 || !lit(&s, '.') || digits(&s, 2, 2, &m) < 0) return -1;
        lit(&s, 'M');
        if (m < 1 || m > 12) return -1;
        v = y * 12 + m - 1;
        break;
    }
    case DDB_TIME:
        if (scan_clock(&s, 1, 3, &v) < 0) return -1;
        break;
    case DDB_MINUTE:
        if (scan_clock(&s, 0, 0, &t) < 0) return -1;
        lit(&s, 'm');
        v = t / 60;
        break;
    case DDB_SECOND:
        if (scan_clock(&s, 1, 0, &v) < 0) return -1;
        break;
    case DDB_NANOTIME:
        if (scan_clock(&s, 1, 9, &v) < 0) return -1;
        break;
    case DDB_DATETIME: case DDB_TIMESTAMP: case DDB_NANOTIMESTAMP: {
        static const int frac[] = {[DDB_DATETIME] = 0, [DDB_TIMESTAMP] = 3, [DDB_NANOTIMESTAMP] = 9};
        static const int64_t per_day[] = {[DDB_DATETIME] = 86400, [DDB_TIMESTAMP] = 86400000LL,
                                          [DDB_NANOTIMESTAMP] = 86400000000000LL};
        if (scan_date(&s, &days) < 0 || !date_time_sep(&s) || scan_clock(&s, 1, frac[type], &t) < 0)
            return -1;
        if (type == DDB_NANOTIMESTAMP && (days > 106751 || days < -106752)) return -1;
        v = days * per_day[type] + t;
        if (type == DDB_DATETIME && (v > INT32_MAX || v <= INT32_MIN)) return -1;
        break;
    }
    case DDB_DATEHOUR: {
        int64_t h;
        if (scan_date(&s, &days) < 0 || !date_time_sep(&s) || digits(&s, 2, 2, &h) < 0 || h > 23)
            return -1;
        v = days * 24 + h;
        break;
    }
    case DDB_DATEMINUTE:
        if (scan_date(&s, &days) < 0 || !date_time_sep(&s) || scan_clock(&s, 0, 0, &t) < 0) return -1;
        lit(&s, 'm');
        v = days * 1440 + t / 60;
        break;
    default:
        return -1;
    }
    if (!at_end(&s)) return -1;
    *out = v;
    return 0;
}

/* Shape first, then a full parse decides: a shape alone would accept 2024.02.30. */
int ddb_temporal_type_of(const char *s, size_t len)
{
    const char *dot = memchr(s, '.', len), *colon = memchr(s, ':', len);
    int has_date = len >= 10 && dot == s + 4 && s[7] == '.';
    int candidates[3], n = 0;
    if (has_date) {
        if (len == 10) candidates[n++] = DDB_DATE;
        else if (len == 13) candidates[n++] = DDB_DATEHOUR;
        else if (len == 19) candidates[n++] = DDB_DATETIME;
        else if (len > 20 && len <= 23) candidates[n++] = DDB_TIMESTAMP;
        else if (len > 23) candidates[n++] = DDB_NANOTIMESTAMP;
    } else if (len == 8 && dot == s + 4 && s[7] == 'M') {
        candidates[n++] = DDB_MONTH;
    } else if (colon == s + 2) {
        if (len == 6 && s[5] == 'm') candidates[n++] = DDB_MINUTE;
        else if (len == 8) candidates[n++] = DDB_SECOND;
        else if (len > 9 && len <= 12) candidates[n++] = DDB_TIME;
        else if (len > 12) candidates[n++] = DDB_NANOTIME;
    }
    int64_t v;
    for (int i = 0; i < n; i++)
        if (ddb_parse_temporal(candidates[i], s, len, &v) == 0) return candidates[i];
    return -1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* 32 hex digits (most significant first), dashes allowed where `dash_at` says,
 * into little-endian wire bytes. */
static int parse_hex128(const char *s, size_t len, int dashes, uint8_t out[16])
{
    uint8_t tmp[16] = {0};
    size_t need = dashes ? 36 : 32;
    if (len == 0) { memset(out, 0, 16); return 0; }        /* "" is the NULL value */
    if (len != need) return -1;
    int nib = 0;
    for (size_t i = 0; i < len; i++) {
        if (dashes && (i == 8 || i == 13 || i == 18 || i == 23)) {
            if (s[i] != '-') return -1;
            continue;
        }
        int h = hexval(s[i]);
        if (h < 0) return -1;
        int byte = 15 - nib / 2;
        tmp[byte] = (uint8_t)(tmp[byte] | (nib % 2 ? h : h << 4));
        nib++;
    }
    memcpy(out, tmp, 16);
    return 0;
}

int ddb_parse_uuid(const char *s, size_t len, uint8_t out[16]) { return parse_hex128(s, len, 1, out); }

int ddb_parse_int128(const char *s, size_t len, uint8_t out[16]) { return parse_hex128(s, len, 0, out); }

static int parse_ipv4(const char *s, size_t len, uint8_t out[16])
{
    scan sc = {s, s + len};
    uint8_t tmp[16] = {0};
    for (int i = 0; i < 4; i++) {
        int64_t part;
        if ((i && !lit(&sc, '.')) || digits(&sc, 1, 3, &part) < 0 || part > 255) return -1;
        tmp[3 - i] = (uint8_t)part;
    }
    if (!at_end(&sc)) return -1;
    memcpy(out, tmp, 16);
    return 0;
}

/* IPv6 with at most one "::"; groups are 1-4 hex digits. */
static int parse_ipv6(const char *s, size_t len, uint8_t out[16])
{
    uint16_t head[8], tail[8];
    int nh = 0, nt = 0, gap = 0;
    size_t i = 0;
    if (len >= 2 && s[0] == ':' && s[1] == ':') { gap = 1; i = 2; }
    while (i < len) {
        unsigned g = 0;
        int nd = 0;
        while (i < len && nd < 5 && hexval(s[i]) >= 0) g = g * 16 + (unsigned)hexval(s[i++]), nd++;
        if (nd == 0 || nd > 4 || nh + nt >= 8) return -1;
        if (gap) tail[nt++] = (uint16_t)g; else head[nh++] = (uint16_t)g;
        if (i == len) break;
        if (s[i] != ':') return -1;
        i++;
        if (i < len && s[i] == ':') {
            if (gap) return -1;
            gap = 1;
            i++;
        } else if (i == len) {
            return -1;                                       /* trailing single ':' */
        }
    }
    if (gap ? nh + nt > 7 : nh != 8) return -1;
    uint16_t groups[8] = {0};
    for (int k = 0; k < nh; k++) groups[k] = head[k];
    for (int k = 0; k < nt; k++) groups[8 - nt + k] = tail[k];
    for (int k = 0; k < 8; k++) {
        out[15 - 2 * k] = (uint8_t)(groups[k] >> 8);
        out[14 - 2 * k] = (uint8_t)groups[k];
    }
    return 0;
}

int ddb_parse_ipaddr(const char *s, size_t len, uint8_t out[16])
{
    if (len == 0) { memset(out, 0, 16); return 0; }
    if (memchr(s, ':', len)) return parse_ipv6(s, len, out);
    return parse_ipv4(s, len, out);
}

int ddb_parse_decimal(const char *s, size_t len, int scale, int64_t out[2])
{
    static const u128 limit = ((u128)1 << 127) - 1;
    size_t i = 0;
    int neg = 0, ndig = 0, frac_digits = 0, round_up = 0, seen_dot = 0;
    u128 mag = 0;
    if (scale < 0 || scale > 38) return -1;
    if (i < len && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    for (; i < len; i++) {
        char c = s[i];
        if (c == '.' && !seen_dot) { seen_dot = 1; continue; }
        if (c < '0' || c > '9') return -1;
        ndig++;
        if (seen_dot && frac_digits >= scale) {
            /* Past the scale: only the first dropped digit decides (half away from
             * zero on the magnitude); later ones are syntax-checked and discarded. */
            if (frac_digits++ == scale) round_up = c >= '5';
            continue;
        }
        if (seen_dot) frac_digits++;
        if (mag > (limit - (u128)(c - '0')) / 10) return -1;
        mag = mag * 10 + (u128)(c - '0');
    }
    if (ndig == 0) return -1;
    for (int k = frac_digits < scale ? frac_digits : scale; k < scale; k++) {
        if (mag > limit / 10) return -1;
        mag *= 10;
    }
    if (round_up) {
        if (mag == limit) return -1;
        mag++;
    }
    i128 v = neg ? -(i128)mag : (i128)mag;
    out[0] = (int64_t)(uint64_t)(u128)v;
    out[1] = (int64_t)(uint64_t)((u128)v >> 64);
    return 0;
}

int ddb_parse_duration(const char *s, size_t len, int32_t *value, int32_t *unit)
{
    scan sc = {s, s + len};
    int neg = lit(&sc, '-');
    int64_t v;
    if (digits(&sc, 1, 10, &v) < 0 || v > INT32_MAX) return -1;
    size_t ulen = (size_t)(sc.end - sc.p);
    for (int u = 0; u <= 10; u++) {
        if (ulen == strlen(ddb__duration_units[u]) && memcmp(sc.p, ddb__duration_units[u], ulen) == 0) {
            *value = (int32_t)(neg ? -v : v);
            *unit = u;
            return 0;
        }
    }
    if (ulen != 4) return -1;
    uint32_t code = 0;
    for (int k = 0; k < 4; k++) {
        if (sc.p[k] < 'A' || sc.p[k] > 'Z') return -1;     /* exchange codes: XNYS, XSHG */
        code = code << 8 | (uint8_t)sc.p[k];
    }
    *value = (int32_t)(neg ? -v : v);
    *unit = (int32_t)code;
    return 0;
}
