/* ddb_text.h — DolphinDB literal text for values: formatting (temporal values print
 * as DolphinDB literals, e.g. 2024.01.02T03:04:05.678) and parsing of the same
 * literals. Shared by ddbmini's script parser, the Lua module's tostring and typed
 * constructors. Sans-I/O, no Lua. */
#ifndef DDB_TEXT_H
#define DDB_TEXT_H

#include "ddb_obj.h"
#include "ddb_buf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Append element i of v as DolphinDB prints it: NULL prints as "" (empty), BOOL as
 * true/false, DATE 2024.01.02, MONTH 2024.01M, TIME 12:30:00.000, MINUTE 12:30m,
 * SECOND 12:30:00, DATETIME 2024.01.02T12:30:00, TIMESTAMP ...T12:30:00.000,
 * NANOTIME 12:30:00.000000000, NANOTIMESTAMP, DATEHOUR 2024.01.02T12,
 * UUID 8-4-4-4-12 hex, IPADDR dotted v4 (top 96 bits zero) or v6, INT128 32 hex,
 * DECIMAL with exactly `scale` decimals, DURATION 3d, FLOAT/DOUBLE shortest
 * round-trip form, strings raw. Returns 0 / -1 on OOM. */
int ddb_format_cell(ddb_buf *out, const ddb_obj *v, int64_t i);
/* Whole object as a short display string (vectors [1,2,3], tables as lines, ...). */
int ddb_format_obj(ddb_buf *out, const ddb_obj *o);

/* Parse a temporal literal of the given type ("2024.01.02", "2024.01M",
 * "12:30:00.000", "2024.01.02T03:04:05.678", "2024.01.02 03:04:05" also accepted).
 * On success stores the raw integer value (days, ms, ns...) and returns 0; -1 if
 * the text is not a valid literal of that type (out-of-range fields included). */
int ddb_parse_temporal(int type, const char *s, size_t len, int64_t *out);
/* Guess the type of a temporal literal by its shape ("2024.01.02" -> DATE,
 * "12:30:00.000" -> TIME, "12:30m" -> MINUTE, ...). -1 if none. */
int ddb_temporal_type_of(const char *s, size_t len);
int ddb_parse_uuid(const char *s, size_t len, uint8_t out[16]);   /* wire byte order */
int ddb_parse_ipaddr(const char *s, size_t len, uint8_t out[16]);
int ddb_parse_int128(const char *s, size_t len, uint8_t out[16]);
/* "3.14" with scale -> unscaled integer (int128 as two int64, lo first). Rounds half
 * away from zero past the scale; -1 on overflow or bad text. */
int ddb_parse_decimal(const char *s, size_t len, int scale, int64_t out[2]);
/* "3d", "10H", "5ms", ... -> value and unit code (docs/PROTOCOL.md §4.5.5). */
int ddb_parse_duration(const char *s, size_t len, int32_t *value, int32_t *unit);

/* Calendar helpers (proleptic Gregorian, days since 1970-01-01). */
int64_t ddb_days_from_civil(int64_t y, unsigned m, unsigned d);
void ddb_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

#ifdef __cplusplus
}
#endif
#endif
