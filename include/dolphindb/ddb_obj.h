/* ddb_obj.h — the DolphinDB object model shared by every layer.
 *
 * No I/O, no loop, no Lua. A ddb_obj is a reference-counted, immutable-after-build
 * value of any data form and type (docs/PROTOCOL.md §4). Column data lives in flat arrays
 * in the host's byte order, exactly as the wire lays them out in little-endian, so the
 * decoder can copy bytes straight in and a Lua FFI view can point at them.
 *
 * Storage by type class (see ddb_type_class()):
 *   FIXED   BOOL..DOUBLE, temporal, DECIMAL32/64/128, UUID/IPADDR/INT128, COMPLEX,
 *           POINT, DURATION: `data` holds n cells of ddb_type_width() bytes each.
 *   VARLEN  STRING, SYMBOL (plain), BLOB, CODE, HANDLE, DATASOURCE, RESOURCE,
 *           FUNCTIONDEF: `offs` (n+1 int64) into `bytes`; element i is
 *           bytes[offs[i] .. offs[i+1]-1) and bytes[offs[i+1]-1] is always a NUL, so
 *           element i is also a C string (BLOBs may hold NULs: use the length).
 *           A FUNCTIONDEF scalar keeps its kind byte in `fkind`.
 *   SYMBOL  vector form with a symbol base: `data` holds n int32 indices into
 *           `symbase` (entry 0 is ""). A SYMBOL *scalar* is VARLEN.
 *   ANY     `items` holds n child objects (a NULL element is a VOID scalar).
 *   VOID    no data; a VOID scalar keeps its byte (0 nothing, 1 NULL, 2 default).
 *
 * Forms:
 *   SCALAR  n = 1 element, stored like a 1-row vector.
 *   VECTOR / PAIR  n = rows elements (a PAIR has rows 2).
 *   Array vector: form VECTOR, type = DDB_ARRAY_BASE + base type. `rows` rows;
 *           `row_offs` (rows+1 int64) index into `values`, a VECTOR of the base type.
 *   MATRIX  rows x cols cells, column-major, in the vector storage above; optional
 *           `row_labels` / `col_labels` vectors.
 *   SET     `keys` is a VECTOR.
 *   DICTIONARY / CHART  `keys` and `values` are VECTORs of equal length; the object's
 *           type is the value type.
 *   TABLE   `rows` x `cols`; `name`, `col_names[cols]`, `columns[cols]` (VECTORs).
 *   CHUNK   kept as its raw body bytes in `bytes`/`nbytes` (offs unused).
 */
#ifndef DDB_OBJ_H
#define DDB_OBJ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ddb_form {
    DDB_SCALAR = 0, DDB_VECTOR = 1, DDB_PAIR = 2, DDB_MATRIX = 3, DDB_SET = 4,
    DDB_DICTIONARY = 5, DDB_TABLE = 6, DDB_CHART = 7, DDB_CHUNK = 8
} ddb_form;

typedef enum ddb_type {
    DDB_VOID = 0, DDB_BOOL = 1, DDB_CHAR = 2, DDB_SHORT = 3, DDB_INT = 4, DDB_LONG = 5,
    DDB_DATE = 6, DDB_MONTH = 7, DDB_TIME = 8, DDB_MINUTE = 9, DDB_SECOND = 10,
    DDB_DATETIME = 11, DDB_TIMESTAMP = 12, DDB_NANOTIME = 13, DDB_NANOTIMESTAMP = 14,
    DDB_FLOAT = 15, DDB_DOUBLE = 16, DDB_SYMBOL = 17, DDB_STRING = 18, DDB_UUID = 19,
    DDB_FUNCTIONDEF = 20, DDB_HANDLE = 21, DDB_CODE = 22, DDB_DATASOURCE = 23,
    DDB_RESOURCE = 24, DDB_ANY = 25, DDB_COMPRESS = 26, DDB_DICT_T = 27,
    DDB_DATEHOUR = 28, DDB_DATEMINUTE = 29, DDB_IPADDR = 30, DDB_INT128 = 31,
    DDB_BLOB = 32, DDB_COMPLEX = 34, DDB_POINT = 35, DDB_DURATION = 36,
    DDB_DECIMAL32 = 37, DDB_DECIMAL64 = 38, DDB_DECIMAL128 = 39,
    DDB_ARRAY_BASE = 64,            /* array vector of base t has type 64 + t */
    DDB_SYMBOL_BASE_FLAG = 128      /* wire only: 145 = symbol vector with a base */
} ddb_type;

typedef enum ddb_type_class {
    DDB_CLASS_VOID, DDB_CLASS_FIXED, DDB_CLASS_VARLEN, DDB_CLASS_SYMBOL,
    DDB_CLASS_ANY, DDB_CLASS_ARRAY, DDB_CLASS_INVALID
} ddb_type_class;

/* NULL sentinels (docs/PROTOCOL.md §4.3). */
#define DDB_NULL_I8   INT8_MIN
#define DDB_NULL_I16  INT16_MIN
#define DDB_NULL_I32  INT32_MIN
#define DDB_NULL_I64  INT64_MIN
#define DDB_NULL_F32  (-3.4028234663852886e+38f)   /* -FLT_MAX */
#define DDB_NULL_F64  (-1.7976931348623157e+308)   /* -DBL_MAX */

/* Upper bounds the codec enforces regardless of configured limits. */
#define DDB_MAX_STRING_LEN  (256 * 1024 - 1)        /* STRING/SYMBOL cell, bytes */
#define DDB_MAX_SYMBASE     (1 << 21)               /* symbol base entries */

typedef struct ddb_symbase {
    int refcount;
    int32_t n;                  /* entries; entry 0 is "" */
    int64_t *offs;              /* n+1, same layout as VARLEN */
    char *bytes;
    /* codec-private (appended; zero when unused): spare capacity and the interning
     * index that ddb_symbol_append keeps; never read these from other layers. */
    int32_t cap_n;
    int64_t cap_bytes;
    int32_t *index;             /* open-addressing table of entry numbers, -1 empty */
    int32_t index_cap;          /* power of two, 0 = not built */
} ddb_symbase;

typedef struct ddb_obj ddb_obj;
struct ddb_obj {
    int refcount;
    uint8_t form;               /* ddb_form */
    uint8_t type;               /* ddb_type; never 145 (that is wire-only) */
    uint8_t void_kind;          /* VOID scalar byte: 0 nothing, 1 NULL, 2 default */
    uint8_t fkind;              /* FUNCTIONDEF kind */
    int32_t scale;              /* DECIMAL scale; 0 otherwise */
    int64_t rows;               /* elements (vector/pair/scalar=1), matrix/table rows */
    int64_t cols;               /* matrix/table columns; 1 otherwise */

    void *data;                 /* FIXED cells or SYMBOL indices */
    int64_t *offs;              /* VARLEN offsets (n+1) */
    char *bytes;                /* VARLEN bytes; CHUNK raw body */
    int64_t nbytes;             /* used bytes in `bytes` */
    ddb_symbase *symbase;       /* SYMBOL vectors */
    ddb_obj **items;            /* ANY elements */

    int64_t *row_offs;          /* array vector: rows+1 offsets into values */
    ddb_obj *values;            /* array vector flat values */

    ddb_obj *row_labels, *col_labels;   /* MATRIX, may be NULL */
    ddb_obj *keys;              /* SET, DICTIONARY, CHART */
    /* DICTIONARY/CHART values reuse `values` */

    char *name;                 /* TABLE name ("" usually) */
    char **col_names;           /* TABLE */
    ddb_obj **columns;          /* TABLE */

    /* codec-private (appended): allocated capacity used by the appenders —
     * cells/offsets (cap_rows) and VARLEN bytes (cap_bytes). */
    int64_t cap_rows;
    int64_t cap_bytes;

    /* TABLE: how the encoder sends each column (cols entries, DDB_COMPRESS_* of
     * ddb_codec.h; 0 uncompressed), or NULL for the encoder's own setting. Owned
     * (freed with the table). The batched writer's compressMethods. */
    uint8_t *col_compress;
};

/* ---- type facts ---- */
ddb_type_class ddb_type_class_of(int type);     /* for element types incl. 64+t */
int ddb_type_width(int type);                   /* FIXED cell width; 4 for SYMBOL idx; 0 otherwise */
const char *ddb_type_name(int type);            /* "INT", "DOUBLE[]", "SYMBOL", ...; "UNKNOWN" */
int ddb_type_from_name(const char *name);       /* inverse (case-insensitive); -1 if unknown */
const char *ddb_form_name(int form);            /* "SCALAR", "VECTOR", ... */
int ddb_is_decimal(int type);                   /* DECIMAL32/64/128 (base type) */
int ddb_decimal_max_scale(int type);            /* 9, 18, 38; -1 if not decimal */

/* ---- lifetime ---- */
ddb_obj *ddb_obj_ref(ddb_obj *o);               /* returns o; NULL-safe */
void ddb_obj_unref(ddb_obj *o);                 /* frees at zero; NULL-safe */
ddb_symbase *ddb_symbase_new(void);
void ddb_symbase_ref(ddb_symbase *b);
void ddb_symbase_unref(ddb_symbase *b);

/* ---- construction (all return NULL on allocation failure) ---- */
/* A vector/pair/scalar/matrix of `type` with n elements, FIXED cells zeroed,
 * VARLEN with n empty strings (offs filled, bytes = n NULs), ANY with n VOID
 * scalars, SYMBOL with all indices 0 and a base holding only "". */
ddb_obj *ddb_vector_new(int type, int64_t n);
ddb_obj *ddb_scalar_new(int type);               /* one element, value NULL */
ddb_obj *ddb_void_new(int void_kind);
ddb_obj *ddb_int_new(int type, int64_t v);       /* any FIXED integer-like type */
ddb_obj *ddb_double_new(int type, double v);     /* FLOAT or DOUBLE */
ddb_obj *ddb_string_new(int type, const char *s, size_t len); /* VARLEN scalar */
ddb_obj *ddb_matrix_new(int type, int64_t rows, int64_t cols);
ddb_obj *ddb_array_vector_new(int base_type, int64_t rows, int64_t total_values);
ddb_obj *ddb_table_new(int64_t rows, int64_t cols); /* names "" and columns NULL to fill */
ddb_obj *ddb_set_new(ddb_obj *keys);             /* takes the reference */
ddb_obj *ddb_dict_new(ddb_obj *keys, ddb_obj *values); /* takes both references */

/* Build a VARLEN vector element by element: reserve the vector with n = 0 via
 * ddb_vector_new(type, 0), then append; rows grows. Returns 0 or -1 (ENOMEM). */
int ddb_varlen_append(ddb_obj *v, const char *s, size_t len);
/* Symbol vectors: append a symbol, interning it in the vector's base. */
int ddb_symbol_append(ddb_obj *v, const char *s, size_t len);
/* Append any fixed cell (width bytes) to a FIXED vector built with n = 0. */
int ddb_fixed_append(ddb_obj *v, const void *cell);
/* Append n cells at once (n * width bytes). */
int ddb_fixed_append_n(ddb_obj *v, const void *cells, int64_t n);
/* A symbol vector of n rows, every index 0 (""), whose base holds "" and then the nd
 * distinct, non-empty symbols syms[k] (lens[k] bytes) as entries 1..nd, for a caller
 * that deduplicated them itself and fills the indices (data) next. NULL: no memory,
 * nd out of 0..DDB_MAX_SYMBASE-1, or a symbol empty or repeated. */
ddb_obj *ddb_symbol_vector_new(int64_t n, int32_t nd, const char *const *syms, const size_t *lens);
/* Append rows 0..n-1 of the symbol vector src to the symbol vector v, interning each
 * distinct symbol of src once. -1: no memory, or src is not such a vector. */
int ddb_symbol_append_n(ddb_obj *v, const ddb_obj *src, int64_t n);

/* ---- element access ---- */
int ddb_is_null(const ddb_obj *v, int64_t i);    /* element i of a vector/scalar */
const char *ddb_str_at(const ddb_obj *v, int64_t i, size_t *len); /* VARLEN or SYMBOL */
int64_t ddb_int_at(const ddb_obj *v, int64_t i);  /* integer-like FIXED, widened */
double ddb_double_at(const ddb_obj *v, int64_t i); /* numeric FIXED (decimals scaled) */

/* Deep equality of value (dictionary/set compared as maps/sets; symbol vs string
 * vectors compare by text). Returns 1 if equal. */
int ddb_obj_equal(const ddb_obj *a, const ddb_obj *b);

#ifdef __cplusplus
}
#endif
#endif
