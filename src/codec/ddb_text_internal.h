/* ddb_text_internal.h — what the formatting (ddb_text.c) and the parsing
 * (ddb_text_parse.c) of literal text share. */
#ifndef DDB_TEXT_INTERNAL_H
#define DDB_TEXT_INTERNAL_H

/* A DURATION's unit suffixes, by unit code 0..10. */
#define DDB_DURATION_UNITS 11
extern const char *const ddb__duration_units[DDB_DURATION_UNITS];

#endif
