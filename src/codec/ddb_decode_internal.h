/* ddb_decode_internal.h — the incremental decoder's state, shared by
 * ddb_decode.c (the state machine) and ddb_decode_compressed.c (type 26). */
#ifndef DDB_DECODE_INTERNAL_H
#define DDB_DECODE_INTERNAL_H

#include "ddb_codec_internal.h"

#include <stdlib.h>

/* One object under construction. The decoder keeps an explicit stack of these so a
 * feed can stop anywhere and resume without recursion or re-parsing. */
typedef struct frame {
    uint8_t st;                 /* state (enum in ddb_decode.c) */
    uint8_t after;              /* state to enter when the cells are complete */
    uint8_t form, wtype;        /* form and wire type byte of this object */
    uint8_t mat_flags;          /* matrix label flags */
    uint8_t count_bytes;        /* array vector: current block's count width */
    int64_t start;              /* byte offset of the object's header */
    ddb_obj *obj;               /* the object being built */
    ddb_obj *child_a, *child_b; /* finished parts: labels, dictionary keys */
    int64_t rows, cols;         /* declared dimensions */
    int64_t n, i;               /* cells (items, columns, entries) expected / done */
    uint8_t *dst;               /* bulk copy target (fixed, when arr is NULL) */
    int64_t left;               /* bulk bytes still to copy */
    void **arr;                 /* growing bulk target: the object's array pointer */
    int64_t arr_cap;            /* bytes allocated in *arr */
    int64_t arr_end;            /* bytes *arr holds once the bulk copy is complete */
    int64_t arr_limit;          /* most bytes *arr may grow to (>= arr_end) */
    int64_t data_at;            /* byte offset where the bulk cells began */
    int64_t blob_len;           /* BLOB cell: bytes still to copy */
    ddb_symbase *base;          /* symbol base being read or used */
    int32_t base_id;
    int64_t blk_rows;           /* array vector: rows in the current block */
    int64_t rows_done;          /* array vector: rows described so far */
    uint8_t *tmp;               /* array-vector counts or compressed payload */
    int64_t tmp_cap, tmp_len;
    int64_t cap_a, cap_b;       /* table: capacity of col_names / columns */
    uint8_t comp[20];           /* compressed vector: fixed header after colCount */
    const uint8_t *pay;         /* compressed payload: f->tmp, or the input itself */
    int64_t pay_len;
} frame;

struct ddb_decoder {
    ddb_limits lim;
    int le;                     /* byte order of the object */
    bool swap;                  /* le differs from the host */
    int status;                 /* DDB_DEC_* of the last feed, or 2 after take */
    const uint8_t *in;          /* the current feed's unread bytes */
    size_t avail;
    int64_t pos;                /* bytes of this object consumed so far */
    int64_t mark;               /* offset of the field being read (for errors) */
    uint8_t scratch[32];        /* a small field split across feeds */
    size_t scratch_len;
    char *str;                  /* a string split across feeds */
    int64_t str_len, str_cap;
    frame *stack;
    int depth, stack_cap;
    ddb_obj *child;             /* object just finished by the popped frame */
    ddb_obj *result;
    int64_t charged;            /* bytes allocated for the object being built */
    int64_t compressed[3];      /* compressed vectors decoded, by method (1 LZ4, 2 DELTA) */
    struct scope_entry { int32_t id; ddb_symbase *base; } *scope;
    int nscope, scope_cap;
    char err[256];
};

/* The byte budget of the object after the next reset (ddb_resp_set_max_bytes:
 * a per-task budget); <= 0 is ignored. */
void ddb__decoder_set_budget(ddb_decoder *d, int64_t max_bytes);
/* What one VOID cell is counted as: it costs no byte on the wire and none in the
 * decoded object, but every consumer that expands it pays at least a slot (a Lua
 * array entry is 8 bytes), so a few bytes declaring billions of them must not pass
 * as free. */
#define VOID_CELL_COST 8

/* Error: formats the message, appends " at byte N" and marks the decoder failed. */
int ddb__dec_fail(ddb_decoder *d, int64_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Account for `bytes` more of allocation; fails when over max_object_bytes. */
int ddb__dec_charge(ddb_decoder *d, int64_t bytes, int64_t at);
void ddb__dec_uncharge(ddb_decoder *d, int64_t bytes);
/* Grow an array to hold `need` elements within the object's byte budget. */
int ddb__dec_grow(ddb_decoder *d, void **p, int64_t *cap, int64_t need, size_t size);
int32_t ddb__dec_rd32(const ddb_decoder *d, const uint8_t *p);

/* States of a frame (see ddb_decode.c) and step results. */
enum {
    ST_HEADER, ST_SCALAR, ST_VOID_BYTE, ST_FKIND, ST_SCALE, ST_CELLS, ST_VEC_DIMS,
    ST_SYM_HDR, ST_SYM_ENTRIES, ST_SYM_CHECK, ST_ANY_ITEM, ST_ANY_GOT,
    ST_ARR_BLOCK, ST_ARR_COUNTS, ST_ARR_VALUES, ST_MAT_FLAGS, ST_MAT_ROWLBL,
    ST_MAT_COLLBL, ST_MAT_COLGOT, ST_MAT_HDR2, ST_MAT_DIMS, ST_MAT_CHECK, ST_SET_GOT, ST_DICT_KEYS,
    ST_DICT_VALUES, ST_TABLE_DIMS, ST_TABLE_NAME, ST_TABLE_COLNAME, ST_TABLE_COL,
    ST_TABLE_GOT, ST_CHUNK_SIZE, ST_CHUNK_BODY, ST_COMP_HDR, ST_COMP_BODY,
    ST_SYMBOLIZE, ST_DONE
};

/* step results */
enum { GO = 0, WAIT = 1, FAIL = 2 };

#define OBJ_OVERHEAD ((int64_t)sizeof(ddb_obj))

/* A fresh record as ddb__obj_alloc makes it (zeroed, refcount 1, cols 1) but from
 * malloc: glibc's calloc bypasses the per-thread cache and costs several times as
 * much, and a reply makes one record per column. (Assigning a whole struct keeps
 * the compiler from folding malloc + zeroing back into calloc.) */
static inline ddb_obj *ddb__dec_obj_alloc(int form, int type)
{
    ddb_obj *o = malloc(sizeof *o);
    if (o)
        *o = (ddb_obj){ .refcount = 1, .form = (uint8_t)form, .type = (uint8_t)type,
                        .cols = 1 };
    return o;
}

/* Shared input and building primitives (ddb_decode.c). */
const uint8_t *ddb__dec_take(ddb_decoder *d, size_t n);
/* Bulk copy into f->dst (fixed target) or into a growing array set up by
 * ddb__dec_bulk_into. GO when complete, WAIT for more input, FAIL (out of memory). */
int ddb__dec_bulk(ddb_decoder *d, frame *f);
/* Set up a bulk copy of `need` bytes appended at byte `have` of *arr, which has
 * `cap` bytes allocated and may grow up to `limit` bytes (the caller has charged
 * the budget for that). Memory is allocated only as bytes arrive, so a count that
 * is declared but never sent costs nothing. After completion f->arr_cap is the
 * array's real allocation. */
void ddb__dec_bulk_into(ddb_decoder *d, frame *f, void **arr, int64_t have, int64_t need,
                        int64_t cap, int64_t limit);
int ddb__dec_read_str(ddb_decoder *d, const char **s, int64_t *len);
int ddb__dec_new_obj(ddb_decoder *d, frame *f, int form, int type);
int ddb__dec_push(ddb_decoder *d);
int ddb__dec_cells_begin(ddb_decoder *d, frame *f, int after);
int16_t ddb__dec_rd16(const ddb_decoder *d, const uint8_t *p);

/* Steps of the container forms (ddb_decode_forms.c). */
int ddb__step_any_item(ddb_decoder *d, frame *f);
int ddb__step_any_got(ddb_decoder *d, frame *f);
int ddb__step_arr_block(ddb_decoder *d, frame *f);
int ddb__step_arr_counts(ddb_decoder *d, frame *f);
int ddb__step_arr_values(ddb_decoder *d, frame *f);
int ddb__step_mat_flags(ddb_decoder *d, frame *f);
int ddb__step_mat_labels(ddb_decoder *d, frame *f);
int ddb__step_mat_hdr2(ddb_decoder *d, frame *f);
int ddb__step_mat_dims(ddb_decoder *d, frame *f);
int ddb__step_set_got(ddb_decoder *d, frame *f);
int ddb__step_dict(ddb_decoder *d, frame *f);
int ddb__step_table_dims(ddb_decoder *d, frame *f);
int ddb__step_table_names(ddb_decoder *d, frame *f);
int ddb__step_table_col(ddb_decoder *d, frame *f);
int ddb__step_chunk(ddb_decoder *d, frame *f);
int ddb__step_comp(ddb_decoder *d, frame *f);

/* Steps of SYMBOL vectors (ddb_decode_symbols.c): the symbol base's header and
 * entries, the indices; symbolize gives a SYMBOL vector read as strings a base. */
int ddb__step_sym_hdr(ddb_decoder *d, frame *f);
int ddb__step_sym_entries(ddb_decoder *d, frame *f);
int ddb__step_sym_indices(ddb_decoder *d, frame *f);
int ddb__step_symbolize(ddb_decoder *d, frame *f);

/* Compressed vectors (ddb_decode_compressed.c): the frame has read byteSize and
 * colCount (rows/cols) and the 20-byte header into f->comp, and f->pay holds the
 * byteSize - 20 block bytes. Builds f->obj; returns 0 or -1 (decoder failed). */
int ddb__dec_compressed(ddb_decoder *d, frame *f);

#endif
