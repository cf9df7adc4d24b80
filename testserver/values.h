/* values.h — small helpers over ddb_obj used by the evaluator and the built-ins:
 * typed cell access with NULL detection, type classes, element extraction. */
#ifndef DDBMINI_VALUES_H
#define DDBMINI_VALUES_H

#include <stdint.h>
#include "ddb_obj.h"

/* String bytes, and elements, one operation (take, rand, a..b, string +, v[index])
 * may build. Fuzzing lowers them so one input stays fast. */
#ifdef DDBMINI_FUZZ
#define MAX_GENERATED_BYTES (64LL << 20)
#define MAX_GENERATED_ROWS 100000LL
#else
#define MAX_GENERATED_BYTES (1LL << 30)
#define MAX_GENERATED_ROWS 200000000LL
#endif

/* Formatting writes at most about 6 text bytes per cell byte (a BOOL prints as
 * "false,"): an object is formatted (print, string()) only when its expanded size
 * is within this, so the text stays within MAX_GENERATED_BYTES. */
#define MAX_FORMAT_EXPANDED (MAX_GENERATED_BYTES / 8)
/* Deepest object ddbmini sends or formats: the decoders' default max_depth
 * (ddb_limits_default), so a client would refuse anything deeper anyway. */
#define MAX_OBJECT_DEPTH 64

int type_is_integer(int t);     /* BOOL CHAR SHORT INT LONG */
int type_is_floating(int t);    /* FLOAT DOUBLE */
int type_is_temporal(int t);    /* DATE .. NANOTIMESTAMP, DATEHOUR, DATEMINUTE */
int type_is_numeric(int t);     /* integer or floating */
int type_is_text(int t);        /* STRING SYMBOL */
int type_is_int64(int t);       /* stored in 8 bytes as an integer */
/* Storage class of an object's cells: a SYMBOL scalar is VARLEN (no symbol base). */
ddb_type_class obj_class(const ddb_obj *o);

/* Elements of a scalar (1), vector/pair (rows), else 0. */
int64_t obj_len(const ddb_obj *o);
int obj_is_vectorlike(const ddb_obj *o);    /* VECTOR or PAIR */

/* FIXED integer-like cell (integers, temporals); *isnull set. */
int64_t cell_i64(const ddb_obj *o, int64_t i, int *isnull);
/* numeric cell as double (integers and floats); *isnull set. */
double cell_f64(const ddb_obj *o, int64_t i, int *isnull);
void cell_put_i64(ddb_obj *o, int64_t i, int64_t v);   /* integer-like types */
void cell_put_f64(ddb_obj *o, int64_t i, double v);    /* FLOAT/DOUBLE */
void cell_put_null(ddb_obj *o, int64_t i);             /* FIXED types */

/* Element i as a new scalar object (ANY items are referenced). */
ddb_obj *obj_element(const ddb_obj *o, int64_t i);
/* Append a scalar of a compatible type to a vector built with n = 0. 0 / -1. */
int vec_append_scalar(ddb_obj *vec, const ddb_obj *scalar);
/* Rows [r0, r1) of a vector as a new vector (same type, symbol base shared). */
ddb_obj *vec_slice(const ddb_obj *v, int64_t r0, int64_t r1);
/* An upper bound of the bytes o takes once expanded for the wire or for text, ANY
 * items counted every time they appear: a tuple can hold the same big vector a
 * million times at the cost of a million pointers, so its expanded size is not
 * bounded by its memory. Counting stops past cap (the result is then > cap).
 * -1 when o nests deeper than MAX_OBJECT_DEPTH: the encoder and the formatter
 * recurse per level, and a script can nest tuples a million deep. */
int64_t obj_expanded_bytes(const ddb_obj *o, int64_t cap);
/* A VOID scalar meaning "nothing/NULL". */
int obj_is_void(const ddb_obj *o);
/* Text of a STRING/SYMBOL/CHAR scalar (CHAR written into buf[2]); NULL otherwise. */
const char *obj_text(const ddb_obj *o, char buf[2]);
/* A scalar's truth value for if/&&/||: -1 NULL, 0 false, 1 true, -2 not a scalar. */
int obj_truth(const ddb_obj *o);

#endif
