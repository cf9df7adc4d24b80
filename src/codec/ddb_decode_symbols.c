/* ddb_decode_symbols.c — the decoder's SYMBOL vectors (state machine steps driven by
 * ddb_decode.c): a symbol base (its entries, or a reference to one an earlier column
 * of the same top-level object defined: the scope), then indices checked against it;
 * and a plain SYMBOL vector sent as strings, given a symbol base so that every SYMBOL
 * vector has one layout. */
#include "ddb_decode_internal.h"

#include <stdlib.h>

static int symbase_push(ddb_decoder *d, ddb_symbase *b, const char *s, int64_t len)
{
    int64_t before = (int64_t)b->cap_n * 8 + b->cap_bytes;
    if (ddb__dec_charge(d, len + 1 + 16, d->mark) != GO) return FAIL;   /* pre-check */
    if (ddb__symbase_push(b, s, (size_t)len) < 0)
        return ddb__dec_fail(d, d->mark, "out of memory");
    ddb__dec_uncharge(d, len + 1 + 16);
    return ddb__dec_charge(d, (int64_t)b->cap_n * 8 + b->cap_bytes - before, d->mark);
}

/* Symbol-base scope of the top-level object. */
static ddb_symbase *scope_find(ddb_decoder *d, int32_t id)
{
    for (int i = 0; i < d->nscope; i++)
        if (d->scope[i].id == id) return d->scope[i].base;
    return NULL;
}

static int scope_define(ddb_decoder *d, int32_t id, ddb_symbase *b)
{
    for (int i = 0; i < d->nscope; i++)
        if (d->scope[i].id == id) {
            ddb_symbase_unref(d->scope[i].base);
            ddb_symbase_ref(b);
            d->scope[i].base = b;
            return GO;
        }
    if (d->nscope == d->scope_cap) {
        int cap = d->scope_cap ? d->scope_cap * 2 : 8;
        void *q = realloc(d->scope, (size_t)cap * sizeof *d->scope);
        if (!q) return ddb__dec_fail(d, d->mark, "out of memory");
        d->scope = q;
        d->scope_cap = cap;
    }
    ddb_symbase_ref(b);
    d->scope[d->nscope].id = id;
    d->scope[d->nscope].base = b;
    d->nscope++;
    return GO;
}

/* A plain SYMBOL vector (wire type 17) was read as strings: give it a symbol base
 * like every other SYMBOL vector so consumers see one layout. */
int ddb__step_symbolize(ddb_decoder *d, frame *f)
{
    ddb_obj *o = f->obj;
    int64_t n = ddb__cell_count(o);
    if (ddb__dec_charge(d, n * 4 + (int64_t)sizeof(ddb_symbase), f->start) != GO) return FAIL;
    ddb_symbase *b = ddb_symbase_new();
    int32_t *idx = n ? malloc((size_t)n * 4) : NULL;
    if (!b || (n && !idx)) { ddb_symbase_unref(b); free(idx); return ddb__dec_fail(d, f->start, "out of memory"); }
    for (int64_t i = 0; i < n; i++) {
        size_t len;
        const char *s = ddb_str_at(o, i, &len);
        idx[i] = ddb__symbase_intern(b, s, len);
        if (idx[i] < 0) {
            ddb_symbase_unref(b); free(idx);
            return ddb__dec_fail(d, f->start, "symbol vector has more than %d distinct values",
                                 DDB_MAX_SYMBASE);
        }
    }
    ddb__dec_charge(d, (int64_t)b->cap_n * 8 + b->cap_bytes + b->index_cap * 4, f->start);
    free(o->offs); free(o->bytes);
    ddb__dec_uncharge(d, (o->cap_rows + 1) * 8 + o->cap_bytes);
    o->offs = NULL; o->bytes = NULL; o->nbytes = 0; o->cap_bytes = 0;
    o->data = idx;
    o->cap_rows = n;
    o->symbase = b;
    if (d->status == DDB_DEC_ERROR) return FAIL;
    f->st = ST_DONE;
    return GO;
}

int ddb__step_sym_hdr(ddb_decoder *d, frame *f)
{
    const uint8_t *p = ddb__dec_take(d, 8);
    if (!p) return WAIT;
    int32_t id = ddb__dec_rd32(d, p), size = ddb__dec_rd32(d, p + 4);
    if (size < 0 || size > DDB_MAX_SYMBASE)
        return ddb__dec_fail(d, d->mark, "symbol base size %d out of range (0..%d)",
                             size, DDB_MAX_SYMBASE);
    f->base_id = id;
    if (size == 0) {
        ddb_symbase *b = scope_find(d, id);
        if (!b)
            return ddb__dec_fail(d, d->mark,
                                 "symbol base id %d reused (size 0) but never defined", id);
        ddb_symbase_ref(b);
        f->base = b;
        f->st = ST_SYM_CHECK;
        f->left = -1;
        return GO;
    }
    if (ddb__dec_charge(d, (int64_t)sizeof(ddb_symbase), d->mark) != GO) return FAIL;
    f->base = calloc(1, sizeof *f->base);
    if (!f->base) return ddb__dec_fail(d, d->mark, "out of memory");
    f->base->refcount = 1;
    f->i = 0;
    f->cols = size;          /* entries expected */
    f->st = ST_SYM_ENTRIES;
    return GO;
}

int ddb__step_sym_entries(ddb_decoder *d, frame *f)
{
    while (f->i < f->cols) {
        const char *s;
        int64_t len;
        int r = ddb__dec_read_str(d, &s, &len);
        if (r != GO) return r;
        if (symbase_push(d, f->base, s, len) != GO) return FAIL;
        f->i++;
    }
    if (scope_define(d, f->base_id, f->base) != GO) return FAIL;
    f->st = ST_SYM_CHECK;
    f->left = -1;
    return GO;
}

/* Indices: copied straight into the object, then bounds-checked. */
int ddb__step_sym_indices(ddb_decoder *d, frame *f)
{
    ddb_obj *o = f->obj;
    if (f->left < 0) {
        if (f->n > (d->lim.max_object_bytes - d->charged) / 4)
            return ddb__dec_fail(d, f->start, "%lld symbol indices exceed max_object_bytes (%lld)",
                                 (long long)f->n, (long long)d->lim.max_object_bytes);
        d->charged += f->n * 4;
        ddb__dec_bulk_into(d, f, &o->data, 0, f->n * 4, 0, f->n * 4);
        f->data_at = d->pos;
    }
    int r = ddb__dec_bulk(d, f);
    if (r != GO) return r;
    o->cap_rows = f->n;
    int32_t *idx = o->data;
    if (d->swap) ddb__swap_cells(idx, f->n, 4, 1);
    uint32_t limit = (uint32_t)f->base->n;
    for (int64_t i = 0; i < f->n; i++)
        if ((uint32_t)idx[i] >= limit)
            return ddb__dec_fail(d, f->data_at + i * 4, "symbol index %d outside the symbol base of %d entries",
                                 idx[i], f->base->n);
    o->rows = f->n;
    o->symbase = f->base;
    f->base = NULL;
    f->st = ST_DONE;
    return GO;
}
