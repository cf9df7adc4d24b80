/* ddb_decode.c — the incremental object decoder (docs/PROTOCOL.md §4).
 *
 * A resumable state machine over an explicit stack of frames (one per object under
 * construction). Each feed consumes every byte it is given unless the object ends
 * first; small fields split across feeds are gathered in a scratch buffer, column
 * cells are copied straight into the object's final array, strings are scanned
 * with memchr. Nothing is allocated from a count that has not been checked against
 * the object's byte budget (ddb_limits.max_object_bytes); strings, items, columns
 * and array-vector values grow only as their bytes actually arrive. The steps of
 * the container forms are in ddb_decode_forms.c, of SYMBOL vectors in
 * ddb_decode_symbols.c, of compressed vectors in ddb_decode_compressed.c. */
#include "ddb_decode_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>


/* ---------------------------------------------------------------- errors, budget */

int ddb__dec_fail(ddb_decoder *d, int64_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(d->err, sizeof d->err, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof d->err)
        snprintf(d->err + n, sizeof d->err - (size_t)n, " at byte %lld", (long long)at);
    d->status = DDB_DEC_ERROR;
    return FAIL;
}

int ddb__dec_charge(ddb_decoder *d, int64_t bytes, int64_t at)
{
    if (bytes > d->lim.max_object_bytes - d->charged)
        return ddb__dec_fail(d, at, "object exceeds max_object_bytes (%lld)",
                             (long long)d->lim.max_object_bytes);
    d->charged += bytes;
    return GO;
}

void ddb__dec_uncharge(ddb_decoder *d, int64_t bytes) { d->charged -= bytes; }

int ddb__dec_grow(ddb_decoder *d, void **p, int64_t *cap, int64_t need, size_t size)
{
    if (need <= *cap) return GO;
    int64_t budget = (d->lim.max_object_bytes - d->charged) / (int64_t)size;
    if (need - *cap > budget)
        return ddb__dec_fail(d, d->mark, "object exceeds max_object_bytes (%lld)",
                             (long long)d->lim.max_object_bytes);
    int64_t ncap = *cap < 8 ? 8 : (*cap > INT64_MAX / 2 ? INT64_MAX : *cap * 2);
    if (ncap < need) ncap = need;
    if (ncap - *cap > budget) ncap = *cap + budget;     /* never past the budget */
    void *q = realloc(*p, (size_t)ncap * size);
    if (!q) return ddb__dec_fail(d, d->mark, "out of memory");
    d->charged += (ncap - *cap) * (int64_t)size;
    *p = q;
    *cap = ncap;
    return GO;
}

int32_t ddb__dec_rd32(const ddb_decoder *d, const uint8_t *p)
{
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    if (!d->le) v = ddb__bswap32(v);
    return (int32_t)v;
}

int16_t ddb__dec_rd16(const ddb_decoder *d, const uint8_t *p)
{
    uint16_t v = (uint16_t)(p[0] | p[1] << 8);
    if (!d->le) v = ddb__bswap16(v);
    return (int16_t)v;
}

/* ---------------------------------------------------------------- input primitives */

/* n contiguous bytes of input (n <= sizeof scratch), or NULL after stashing what
 * there is. A resumed call must ask for the same n. */
const uint8_t *ddb__dec_take(ddb_decoder *d, size_t n)
{
    if (d->scratch_len == 0) {
        d->mark = d->pos;
        if (d->avail >= n) {
            const uint8_t *p = d->in;
            d->in += n; d->avail -= n; d->pos += (int64_t)n;
            return p;
        }
    }
    size_t k = n - d->scratch_len;
    if (k > d->avail) k = d->avail;
    if (k) memcpy(d->scratch + d->scratch_len, d->in, k);   /* d->in may be NULL */
    d->scratch_len += k; d->in += k; d->avail -= k; d->pos += (int64_t)k;
    if (d->scratch_len < n) return NULL;
    d->scratch_len = 0;
    return d->scratch;
}

/* A growing bulk array starts at one chunk (or at the whole input of this feed, if
 * larger) and doubles as cell bytes arrive, so memory committed for a declared but
 * unsent count stays O(bytes received). */
#define BULK_CHUNK ((int64_t)64 << 10)
/* Arrays of BULK_BIG bytes or more grow by BULK_BIG_FACTOR into fresh 2 MiB-aligned
 * huge-page memory (ddb__big_alloc) plus one copy; the larger factor keeps the copies
 * and extra page faults to ~1/15 of the data, which keeps decoding in 64 KiB pieces
 * close to the speed of allocating the whole array up front. A step that would
 * land within 2x of the final size goes to the final size. Committed memory stays
 * below 2 x BULK_BIG_FACTOR x the bytes received (plus one chunk). */
#define BULK_BIG ((int64_t)4 << 20)
#define BULK_BIG_FACTOR 16

/* Make room after byte `at` of the growing array. When the array is still empty and
 * the rest of its bytes are already in this feed (a one-shot decode), allocate the
 * final size at once with ddb__big_alloc (2 MiB aligned, huge pages). Otherwise grow
 * with realloc, x2 (or to what this feed can bring), capped at arr_limit: glibc
 * moves large blocks with mremap, without copying, so decoding in small pieces
 * stays linear; big results are then marked for huge pages like the one-shot path,
 * on their 2 MiB-aligned interior, since realloc keeps no alignment. */
static int bulk_grow(ddb_decoder *d, frame *f, int64_t at)
{
    int64_t avail = (int64_t)d->avail;
    if (!*f->arr && at == 0 && avail >= f->left) {
        void *p = ddb__big_alloc((size_t)f->arr_end);
        if (!p) return ddb__dec_fail(d, d->pos, "out of memory");
        *f->arr = p;
        f->arr_cap = f->arr_end;
        return GO;
    }
    int64_t want = at + (avail + BULK_CHUNK - 1) / BULK_CHUNK * BULK_CHUNK;
    if (want < at + BULK_CHUNK) want = at + BULK_CHUNK;
    int factor = f->arr_cap >= BULK_BIG ? BULK_BIG_FACTOR : 2;
    int64_t ncap = f->arr_cap > INT64_MAX / factor ? INT64_MAX : f->arr_cap * factor;
    if (ncap < want) ncap = want;
    if (ncap > f->arr_limit / 2) ncap = f->arr_limit;  /* no near-final step: saves a copy */
    if (ncap > f->arr_limit) ncap = f->arr_limit;
    void *q;
    if (ncap >= BULK_BIG) {                 /* fresh huge-page memory + one copy */
        q = ddb__big_alloc((size_t)ncap);
        if (q && at) memcpy(q, *f->arr, (size_t)at);
        if (q) free(*f->arr);
    } else {
        q = realloc(*f->arr, (size_t)ncap);
    }
    if (!q) return ddb__dec_fail(d, d->pos, "out of memory");
    *f->arr = q;
    f->arr_cap = ncap;
    return GO;
}

void ddb__dec_bulk_into(ddb_decoder *d, frame *f, void **arr, int64_t have, int64_t need,
                        int64_t cap, int64_t limit)
{
    (void)d;
    f->arr = arr;
    f->arr_cap = cap;
    f->arr_end = have + need;
    f->arr_limit = limit;
    f->left = need;
    f->dst = NULL;
}

/* Copy up to f->left bytes to f->dst, or into the growing array f->arr. */
int ddb__dec_bulk(ddb_decoder *d, frame *f)
{
    while (f->left > 0 && d->avail > 0) {
        int64_t room = f->left;
        if (f->arr) {
            int64_t at = f->arr_end - f->left;
            if (at >= f->arr_cap && bulk_grow(d, f, at) != GO) return FAIL;
            f->dst = (uint8_t *)*f->arr + at;
            if (room > f->arr_cap - at) room = f->arr_cap - at;
        }
        size_t k = room < (int64_t)d->avail ? (size_t)room : d->avail;
        memcpy(f->dst, d->in, k);
        f->dst += k; f->left -= (int64_t)k;
        d->in += k; d->avail -= k; d->pos += (int64_t)k;
    }
    if (f->left > 0) return WAIT;
    f->arr = NULL;                     /* arr_cap stays readable for the caller */
    return GO;
}

/* Read a NUL-terminated string. Returns GO with *s and *len set (valid until the next
 * input call), WAIT when more input is needed, FAIL when too long. */
int ddb__dec_read_str(ddb_decoder *d, const char **s, int64_t *len)
{
    if (d->str_len == 0) d->mark = d->pos;
    const uint8_t *nul = d->avail ? memchr(d->in, 0, d->avail) : NULL;
    size_t k = nul ? (size_t)(nul - d->in) : d->avail;
    if (d->str_len + (int64_t)k > DDB_MAX_STRING_LEN)
        return ddb__dec_fail(d, d->mark, "string longer than %d bytes", DDB_MAX_STRING_LEN);
    if (nul && d->str_len == 0) {          /* whole string in this feed: no copy */
        *s = (const char *)d->in;
        *len = (int64_t)k;
    } else {
        if (d->str_len + (int64_t)k + 1 > d->str_cap) {
            int64_t cap = d->str_cap ? d->str_cap : 256;
            while (cap < d->str_len + (int64_t)k + 1) cap *= 2;
            char *q = realloc(d->str, (size_t)cap);
            if (!q) return ddb__dec_fail(d, d->mark, "out of memory");
            d->str = q; d->str_cap = cap;
        }
        if (k) memcpy(d->str + d->str_len, d->in, k);
        d->str_len += (int64_t)k;
        if (!nul) {
            d->in += k; d->avail -= k; d->pos += (int64_t)k;
            return WAIT;
        }
        *s = d->str;
        *len = d->str_len;
    }
    d->in += k + 1; d->avail -= k + 1; d->pos += (int64_t)k + 1;
    d->str_len = 0;
    return GO;
}

/* ---------------------------------------------------------------- building */

int ddb__dec_new_obj(ddb_decoder *d, frame *f, int form, int type)
{
    if (ddb__dec_charge(d, OBJ_OVERHEAD, f->start) != GO) return FAIL;
    f->obj = ddb__dec_obj_alloc(form, type);
    if (!f->obj) return ddb__dec_fail(d, f->start, "out of memory");
    return GO;
}

/* Append one VARLEN element (s may alias d->str). */
static int varlen_push(ddb_decoder *d, ddb_obj *o, const char *s, int64_t len)
{
    int64_t cap = o->cap_rows + 1;
    if (ddb__dec_grow(d, (void **)&o->offs, &cap, o->rows + 2, sizeof(int64_t)) != GO)
        return FAIL;
    o->cap_rows = cap - 1;
    if (ddb__dec_grow(d, (void **)&o->bytes, &o->cap_bytes, o->nbytes + len + 1, 1) != GO)
        return FAIL;
    if (o->rows == 0) o->offs[0] = 0;
    memcpy(o->bytes + o->nbytes, s, (size_t)len);
    o->nbytes += len + 1;
    o->bytes[o->nbytes - 1] = 0;
    o->rows++;
    o->offs[o->rows] = o->nbytes;
    return GO;
}

static void frame_clear(frame *f)
{
    ddb_obj_unref(f->obj);
    ddb_obj_unref(f->child_a);
    ddb_obj_unref(f->child_b);
    ddb_symbase_unref(f->base);
    free(f->tmp);
    memset(f, 0, sizeof *f);
}

int ddb__dec_push(ddb_decoder *d)
{
    if (d->depth >= d->lim.max_depth)
        return ddb__dec_fail(d, d->pos, "nesting deeper than max_depth (%d)",
                             d->lim.max_depth);
    if (d->depth == d->stack_cap) {
        int cap = d->stack_cap ? d->stack_cap * 2 : 8;
        frame *q = realloc(d->stack, (size_t)cap * sizeof *q);
        if (!q) return ddb__dec_fail(d, d->pos, "out of memory");
        d->stack = q;
        d->stack_cap = cap;
    }
    frame *f = &d->stack[d->depth++];
    memset(f, 0, sizeof *f);
    f->st = ST_HEADER;
    f->start = d->pos;
    return GO;
}

/* ---------------------------------------------------------------- cells */

/* Prepare storage for f->n cells of f->obj's type and enter ST_CELLS. Fixed-width
 * cells are checked against the budget now, but their array is allocated as the
 * bytes arrive (ddb__dec_bulk); strings, blobs and items grow one at a time. */
int ddb__dec_cells_begin(ddb_decoder *d, frame *f, int after)
{
    ddb_obj *o = f->obj;
    f->after = (uint8_t)after;
    f->i = 0;
    int w = ddb_type_width(o->type);
    ddb_type_class c = ddb_type_class_of(o->type);
    if (c == DDB_CLASS_FIXED) {
        if (f->n > (d->lim.max_object_bytes - d->charged) / w)
            return ddb__dec_fail(d, f->start, "%lld cells of %s exceed max_object_bytes (%lld)",
                                 (long long)f->n, ddb_type_name(o->type),
                                 (long long)d->lim.max_object_bytes);
        d->charged += f->n * w;         /* the budget is reserved for the declared count */
        ddb__dec_bulk_into(d, f, &o->data, 0, f->n * w, 0, f->n * w);
    } else if (c == DDB_CLASS_ANY) {
        f->st = ST_ANY_ITEM;
        return GO;
    } else if (c == DDB_CLASS_VOID) {   /* no bytes on the wire, but not free */
        if (f->n > (d->lim.max_object_bytes - d->charged) / VOID_CELL_COST)
            return ddb__dec_fail(d, f->start, "%lld VOID cells exceed max_object_bytes (%lld)",
                                 (long long)f->n, (long long)d->lim.max_object_bytes);
        d->charged += f->n * VOID_CELL_COST;
        o->rows = f->n;
        f->st = f->after;
        return GO;
    }
    f->st = ST_CELLS;
    return GO;
}

/* Whether this VARLEN type's cells are length-prefixed. */
static bool is_blob(int type) { return type == DDB_BLOB; }

static int step_cells(ddb_decoder *d, frame *f)
{
    ddb_obj *o = f->obj;
    if (ddb_type_class_of(o->type) == DDB_CLASS_FIXED) {
        int r = ddb__dec_bulk(d, f);
        if (r != GO) return r;
        o->cap_rows = f->n;             /* arr_cap == f->n * width once complete */
        if (d->swap)
            ddb__swap_cells(o->data, f->n, ddb_type_width(o->type),
                            ddb__swap_halves(o->type));
        o->rows = f->form == DDB_MATRIX ? f->rows : f->n;
        f->st = f->after;
        return GO;
    }
    while (f->i < f->n) {                         /* VARLEN, one element at a time */
        if (is_blob(o->type)) {
            if (f->blob_len < 0) {                /* length prefix not read yet */
                const uint8_t *p = ddb__dec_take(d, 4);
                if (!p) return WAIT;
                int32_t len = ddb__dec_rd32(d, p);
                if (len < 0) return ddb__dec_fail(d, d->mark, "negative BLOB length %d", len);
                f->blob_len = len;
                int64_t cap = o->cap_rows + 1;
                if (ddb__dec_grow(d, (void **)&o->offs, &cap, o->rows + 2, 8) != GO)
                    return FAIL;
                o->cap_rows = cap - 1;
                if (o->rows == 0) o->offs[0] = 0;
            }
            int64_t k = f->blob_len < (int64_t)d->avail ? f->blob_len : (int64_t)d->avail;
            if (ddb__dec_grow(d, (void **)&o->bytes, &o->cap_bytes, o->nbytes + k + 1, 1) != GO)
                return FAIL;
            if (k) memcpy(o->bytes + o->nbytes, d->in, (size_t)k);
            o->nbytes += k; f->blob_len -= k;
            d->in += k; d->avail -= (size_t)k; d->pos += k;
            if (f->blob_len > 0) return WAIT;
            o->bytes[o->nbytes++] = 0;
            o->rows++;
            o->offs[o->rows] = o->nbytes;
            f->blob_len = -1;
        } else {
            const char *s;
            int64_t len;
            int r = ddb__dec_read_str(d, &s, &len);
            if (r != GO) return r;
            if (varlen_push(d, o, s, len) != GO) return FAIL;
        }
        f->i++;
    }
    f->st = f->after;
    return GO;
}

/* ---------------------------------------------------------------- headers */

static int check_scale(ddb_decoder *d, int type, int32_t scale)
{
    int max = ddb_decimal_max_scale(type);
    if (scale < 0 || scale > max)
        return ddb__dec_fail(d, d->mark, "invalid %s scale %d (valid 0..%d)",
                             ddb_type_name(type), scale, max);
    return GO;
}

static bool scalar_type_ok(int t)
{
    ddb_type_class c = ddb_type_class_of(t);
    return c == DDB_CLASS_FIXED || c == DDB_CLASS_VARLEN || c == DDB_CLASS_SYMBOL ||
           c == DDB_CLASS_VOID;
}

static int step_header(ddb_decoder *d, frame *f)
{
    const uint8_t *p = ddb__dec_take(d, 2);
    if (!p) return WAIT;
    f->wtype = d->le ? p[0] : p[1];
    f->form = d->le ? p[1] : p[0];
    int t = f->wtype;
    switch (f->form) {
    case DDB_SCALAR:
        if (!scalar_type_ok(t))
            return ddb__dec_fail(d, f->start, "invalid data type %d in a SCALAR header", t);
        f->st = ST_SCALAR;
        return GO;
    case DDB_VECTOR: case DDB_PAIR:
        if (t != DDB_COMPRESS && t != DDB_SYMBOL + DDB_SYMBOL_BASE_FLAG &&
            (ddb_type_class_of(t) == DDB_CLASS_INVALID || t == DDB_FUNCTIONDEF))
            return ddb__dec_fail(d, f->start, "invalid data type %d in a %s header", t,
                                 ddb_form_name(f->form));
        f->st = ST_VEC_DIMS;
        return GO;
    case DDB_MATRIX:
        if (!scalar_type_ok(t) && t != DDB_ANY)
            return ddb__dec_fail(d, f->start, "invalid data type %d in a MATRIX header", t);
        f->st = ST_MAT_FLAGS;
        return GO;
    case DDB_SET:
        f->st = ST_SET_GOT;
        return ddb__dec_push(d);            /* f is stale after a push */
    case DDB_DICTIONARY: case DDB_CHART:
        f->st = ST_DICT_KEYS;
        return ddb__dec_push(d);
    case DDB_TABLE:
        f->st = ST_TABLE_DIMS;
        return GO;
    case DDB_CHUNK:
        f->st = ST_CHUNK_SIZE;
        return GO;
    default:
        return ddb__dec_fail(d, f->start, "unsupported data form %d (type %d)", f->form, t);
    }
}

static int step_scalar(ddb_decoder *d, frame *f)
{
    int t = f->wtype;
    if (t == DDB_VOID) { f->st = ST_VOID_BYTE; return GO; }
    if (ddb__dec_new_obj(d, f, DDB_SCALAR, t) != GO) return FAIL;
    f->n = 1;
    f->blob_len = -1;
    if (ddb_is_decimal(t)) { f->st = ST_SCALE; f->after = ST_CELLS; return GO; }
    if (t == DDB_FUNCTIONDEF) { f->st = ST_FKIND; return GO; }
    return ddb__dec_cells_begin(d, f, ST_DONE);
}

static int step_vec_dims(ddb_decoder *d, frame *f)
{
    const uint8_t *p = ddb__dec_take(d, 8);
    if (!p) return WAIT;
    int32_t rows = ddb__dec_rd32(d, p), cols = ddb__dec_rd32(d, p + 4);
    int t = f->wtype;
    f->rows = rows;
    f->cols = cols;
    if (t == DDB_COMPRESS) { f->st = ST_COMP_HDR; return GO; }
    const char *fname = ddb_form_name(f->form);
    if (rows < 0)
        return ddb__dec_fail(d, d->mark, "negative row count %d in a %s header", rows, fname);
    if (f->form == DDB_PAIR && rows != 2)
        return ddb__dec_fail(d, d->mark, "PAIR with %d elements (must be 2)", rows);
    f->n = rows;
    f->blob_len = -1;
    if (t == DDB_SYMBOL + DDB_SYMBOL_BASE_FLAG) {
        if (ddb__dec_new_obj(d, f, f->form, DDB_SYMBOL) != GO) return FAIL;
        f->st = ST_SYM_HDR;
        return GO;
    }
    ddb_type_class c = ddb_type_class_of(t);
    if (c == DDB_CLASS_INVALID || t == DDB_FUNCTIONDEF)
        return ddb__dec_fail(d, f->start, "invalid data type %d in a %s header", t, fname);
    if (ddb__dec_new_obj(d, f, f->form, t) != GO) return FAIL;
    if (c == DDB_CLASS_VOID) {
        /* Counted at what expanding it costs (VOID_CELL_COST), so a table of many
         * huge VOID columns exhausts the result's budget like real cells would. */
        if (rows > (d->lim.max_object_bytes - d->charged) / VOID_CELL_COST)
            return ddb__dec_fail(d, f->start, "%d VOID cells exceed max_object_bytes (%lld)",
                                 rows, (long long)d->lim.max_object_bytes);
        d->charged += (int64_t)rows * VOID_CELL_COST;
        f->obj->rows = rows;
        f->st = ST_DONE;
        return GO;
    }
    if (c == DDB_CLASS_ARRAY) {
        int base = t - DDB_ARRAY_BASE;
        if (ddb__dec_charge(d, OBJ_OVERHEAD, f->start) != GO) return FAIL;
        f->obj->values = ddb__dec_obj_alloc(DDB_VECTOR, base);
        if (!f->obj->values) return ddb__dec_fail(d, f->start, "out of memory");
        f->obj->cols = 1;
        f->rows_done = 0;
        f->st = ddb_is_decimal(base) ? ST_SCALE : ST_ARR_BLOCK;
        f->after = ST_ARR_BLOCK;
        return GO;
    }
    if (ddb_is_decimal(t)) { f->st = ST_SCALE; f->after = ST_CELLS; return GO; }
    return ddb__dec_cells_begin(d, f, t == DDB_SYMBOL ? ST_SYMBOLIZE : ST_DONE);
}

/* Scale of a decimal scalar/vector/matrix/array vector; then f->after. */
static int step_scale(ddb_decoder *d, frame *f)
{
    const uint8_t *p = ddb__dec_take(d, 4);
    if (!p) return WAIT;
    int32_t scale = ddb__dec_rd32(d, p);
    ddb_obj *o = f->obj;
    int base = ddb_type_class_of(o->type) == DDB_CLASS_ARRAY ? o->type - DDB_ARRAY_BASE
                                                             : o->type;
    if (check_scale(d, base, scale) != GO) return FAIL;
    o->scale = scale;
    if (o->values) o->values->scale = scale;
    if (f->after == ST_CELLS) return ddb__dec_cells_begin(d, f, ST_DONE);
    f->st = f->after;
    return GO;
}

/* ---------------------------------------------------------------- driver */

/* The frame on top finished: hand its object to the parent or to the caller. */
static void pop_frame(ddb_decoder *d, frame *f)
{
    ddb_obj *o = f->obj;
    f->obj = NULL;
    frame_clear(f);
    d->depth--;
    if (d->depth == 0) {
        d->result = o;
        d->status = DDB_DEC_DONE;
    } else {
        d->child = o;
    }
}

static int step(ddb_decoder *d, frame *f)
{
    switch (f->st) {
    case ST_HEADER: return step_header(d, f);
    case ST_SCALAR: return step_scalar(d, f);
    case ST_VOID_BYTE: {
        const uint8_t *p = ddb__dec_take(d, 1);
        if (!p) return WAIT;
        if (p[0] > 2) return ddb__dec_fail(d, d->mark, "invalid VOID scalar byte %d", p[0]);
        if (ddb__dec_charge(d, OBJ_OVERHEAD, f->start) != GO) return FAIL;
        if (!(f->obj = ddb_void_new(p[0]))) return ddb__dec_fail(d, f->start, "out of memory");
        f->st = ST_DONE;
        return GO;
    }
    case ST_FKIND: {
        const uint8_t *p = ddb__dec_take(d, 1);
        if (!p) return WAIT;
        f->obj->fkind = p[0];
        return ddb__dec_cells_begin(d, f, ST_DONE);
    }
    case ST_SCALE: return step_scale(d, f);
    case ST_CELLS: return step_cells(d, f);
    case ST_VEC_DIMS: return step_vec_dims(d, f);
    case ST_SYM_HDR: return ddb__step_sym_hdr(d, f);
    case ST_SYM_ENTRIES: return ddb__step_sym_entries(d, f);
    case ST_SYM_CHECK: return ddb__step_sym_indices(d, f);
    case ST_ANY_ITEM: return ddb__step_any_item(d, f);
    case ST_ANY_GOT: return ddb__step_any_got(d, f);
    case ST_ARR_BLOCK: return ddb__step_arr_block(d, f);
    case ST_ARR_COUNTS: return ddb__step_arr_counts(d, f);
    case ST_ARR_VALUES: return ddb__step_arr_values(d, f);
    case ST_MAT_FLAGS: return ddb__step_mat_flags(d, f);
    case ST_MAT_ROWLBL: case ST_MAT_COLLBL: case ST_MAT_COLGOT: return ddb__step_mat_labels(d, f);
    case ST_MAT_HDR2: return ddb__step_mat_hdr2(d, f);
    case ST_MAT_DIMS: return ddb__step_mat_dims(d, f);
    case ST_MAT_CHECK:
        f->obj->rows = f->rows;
        f->obj->cols = f->cols;
        f->st = f->obj->type == DDB_SYMBOL ? ST_SYMBOLIZE : ST_DONE;
        return GO;
    case ST_SET_GOT: return ddb__step_set_got(d, f);
    case ST_DICT_KEYS: case ST_DICT_VALUES: return ddb__step_dict(d, f);
    case ST_TABLE_DIMS: return ddb__step_table_dims(d, f);
    case ST_TABLE_NAME: case ST_TABLE_COLNAME: return ddb__step_table_names(d, f);
    case ST_TABLE_COL: case ST_TABLE_GOT: return ddb__step_table_col(d, f);
    case ST_CHUNK_SIZE: case ST_CHUNK_BODY: return ddb__step_chunk(d, f);
    case ST_COMP_HDR: case ST_COMP_BODY: return ddb__step_comp(d, f);
    case ST_SYMBOLIZE: return ddb__step_symbolize(d, f);
    case ST_DONE: pop_frame(d, f); return GO;
    default: return ddb__dec_fail(d, d->pos, "decoder in an invalid state %d", f->st);
    }
}

void ddb_limits_default(ddb_limits *lim)
{
    lim->max_object_bytes = (int64_t)4 << 30;
    lim->max_depth = 64;
}

void ddb__decoder_set_budget(ddb_decoder *d, int64_t max_bytes)
{
    if (max_bytes > 0) d->lim.max_object_bytes = max_bytes;
}

/* A string buffer grown past this (long strings split across feeds) is freed with
 * the object rather than kept for the next one. */
#define KEEP_STR_BYTES ((int64_t)64 << 10)

static void release_state(ddb_decoder *d)
{
    if (d->str_cap > KEEP_STR_BYTES) {
        free(d->str);
        d->str = NULL;
        d->str_cap = 0;
    }
    for (int i = 0; i < d->depth; i++) frame_clear(&d->stack[i]);
    d->depth = 0;
    ddb_obj_unref(d->child);
    ddb_obj_unref(d->result);
    d->child = d->result = NULL;
    for (int i = 0; i < d->nscope; i++) ddb_symbase_unref(d->scope[i].base);
    d->nscope = 0;
}

ddb_decoder *ddb_decoder_new(const ddb_limits *lim)
{
    ddb_decoder *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    if (lim) d->lim = *lim;
    else ddb_limits_default(&d->lim);
    if (d->lim.max_depth < 1) d->lim.max_depth = 1;
    if (d->lim.max_object_bytes < 0) d->lim.max_object_bytes = 0;
    ddb_decoder_reset(d, 1);
    return d;
}

void ddb_decoder_free(ddb_decoder *d)
{
    if (!d) return;
    release_state(d);
    free(d->stack);
    free(d->scope);
    free(d->str);
    free(d);
}

void ddb_decoder_reset(ddb_decoder *d, int little_endian)
{
    release_state(d);
    d->le = little_endian ? 1 : 0;
    d->swap = (d->le != 0) != ddb__host_le();
    d->status = DDB_DEC_NEED_MORE;
    d->pos = d->mark = 0;
    d->scratch_len = 0;
    d->str_len = 0;
    d->charged = 0;
    d->err[0] = 0;
    ddb__dec_push(d);              /* the top-level object; cannot fail at depth 0 but OOM */
}

int ddb_decoder_feed(ddb_decoder *d, const void *p, size_t len, size_t *consumed)
{
    size_t dummy;
    if (!consumed) consumed = &dummy;
    *consumed = 0;
    if (d->status == DDB_DEC_ERROR) return DDB_DEC_ERROR;
    if (d->status == DDB_DEC_DONE) return DDB_DEC_DONE;
    if (d->status != DDB_DEC_NEED_MORE || d->depth == 0) {
        ddb__dec_fail(d, d->pos, "decoder used after its object was taken (reset it first)");
        return DDB_DEC_ERROR;
    }
    static const uint8_t nothing[1];
    d->in = p ? p : nothing;        /* no arithmetic on a NULL pointer */
    d->avail = p ? len : 0;
    int r = GO;
    while (d->depth > 0) {
        r = step(d, &d->stack[d->depth - 1]);
        if (r != GO) break;
    }
    *consumed = (p ? len : 0) - d->avail;
    d->in = NULL;
    d->avail = 0;
    if (r == FAIL) return DDB_DEC_ERROR;
    return d->status;
}

ddb_obj *ddb_decoder_take(ddb_decoder *d)
{
    if (d->status != DDB_DEC_DONE) return NULL;
    ddb_obj *o = d->result;
    d->result = NULL;
    d->status = 2;              /* taken: a new object needs a reset */
    return o;
}

const char *ddb_decoder_error(const ddb_decoder *d)
{
    return d->err[0] ? d->err : "no error";
}

int64_t ddb_decoder_compressed(const ddb_decoder *d, int method)
{
    return method == 1 || method == 2 ? d->compressed[method] : 0;
}

ddb_obj *ddb_decode(const void *p, size_t len, int little_endian, const ddb_limits *lim,
                    size_t *consumed, char *errbuf, size_t errlen)
{
    size_t used = 0;
    ddb_decoder *d = ddb_decoder_new(lim);
    if (!d) {
        if (errbuf && errlen) snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    ddb_decoder_reset(d, little_endian);
    int r = ddb_decoder_feed(d, p, len, &used);
    ddb_obj *o = NULL;
    if (r == DDB_DEC_DONE) {
        o = ddb_decoder_take(d);
    } else if (errbuf && errlen) {
        if (r == DDB_DEC_NEED_MORE)
            snprintf(errbuf, errlen, "truncated: the object needs more than the %zu bytes given",
                     len);
        else
            snprintf(errbuf, errlen, "%s", ddb_decoder_error(d));
    }
    if (consumed) *consumed = used;
    ddb_decoder_free(d);
    return o;
}
