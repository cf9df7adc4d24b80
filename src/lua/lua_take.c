/* lua_take.c — core._obj_take and core._obj_split (lua_take.h).
 *
 * Both work on a vector of fixed-width, string or symbol cells (what a fitted column
 * is) and make new vectors of the same type and scale. A symbol vector's parts share
 * its symbol base: no symbol is hashed or copied again. */
#include "lua_take.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "dolphindb.h"
#include "lua_value.h"

static const ddb_obj *arg_vector(lua_State *L, int idx)
{
    const ddb_obj *v = ddb_lua_check_handle(L, idx);
    if (!v) luaL_argerror(L, idx, "object handle expected");
    ddb_type_class c = ddb_type_class_of(v->type);
    if (v->form != DDB_VECTOR || (c != DDB_CLASS_FIXED && c != DDB_CLASS_VARLEN && v->type != DDB_SYMBOL))
        luaL_argerror(L, idx, "a vector of fixed-width, string or symbol cells expected");
    return v;
}

static const ddb_obj *arg_ints(lua_State *L, int idx, const char *what)
{
    const ddb_obj *r = ddb_lua_check_handle(L, idx);
    if (!r || r->form != DDB_VECTOR || r->type != DDB_INT) luaL_argerror(L, idx, what);
    return r;
}

/* The width moved per row: the cell, or a symbol's index. 0: cells of varying length. */
static size_t row_width(const ddb_obj *v)
{
    if (ddb_type_class_of(v->type) == DDB_CLASS_FIXED) return (size_t)ddb_type_width(v->type);
    return v->type == DDB_SYMBOL && v->symbase ? sizeof(int32_t) : 0;
}

/* A new vector like v with n rows, pushed as a handle; its cells are the caller's to
 * fill (w > 0), or it is empty to append to (w == 0). */
static ddb_obj *push_like(lua_State *L, const ddb_obj *v, int64_t n, size_t w)
{
    ddb_obj **slot = ddb_lua_new_handle(L);
    ddb_obj *o = ddb_vector_new(v->type, w ? n : 0);
    if (!o) luaL_error(L, "dolphindb: out of memory building an object");
    *slot = o;
    o->scale = v->scale;
    if (w && v->type == DDB_SYMBOL) {
        ddb_symbase_unref(o->symbase);
        ddb_symbase_ref(v->symbase);
        o->symbase = v->symbase;
    }
    return o;
}

static void append_text(lua_State *L, ddb_obj *o, const ddb_obj *v, int64_t i)
{
    size_t len = 0;
    const char *s = ddb_str_at(v, i, &len);
    if (ddb_varlen_append(o, s, len) < 0) luaL_error(L, "dolphindb: out of memory");
}

/* dst[j] = src[idx[j]] for cells of w bytes; the common widths as typed loops. */
static void gather(void *dst, const void *src, const int32_t *idx, int64_t n, size_t w)
{
#define GATHER(T)                                                              \
    for (int64_t j = 0; j < n; j++) ((T *)dst)[j] = ((const T *)src)[idx[j]]; \
    return
    switch (w) {
    case 1: GATHER(uint8_t);
    case 2: GATHER(uint16_t);
    case 4: GATHER(uint32_t);
    case 8: GATHER(uint64_t);
    }
#undef GATHER
    for (int64_t j = 0; j < n; j++)
        memcpy((char *)dst + j * w, (const char *)src + idx[j] * w, w);
}

/* _obj_take(vector, rows): a new vector of the rows that rows (an INT vector of
 * 0-based row numbers) lists, in that order. */
int ddb_lua_obj_take(lua_State *L)
{
    const ddb_obj *v = arg_vector(L, 1);
    const ddb_obj *r = arg_ints(L, 2, "an INT vector of row numbers expected");
    const int32_t *idx = r->data;
    for (int64_t j = 0; j < r->rows; j++)
        if (idx[j] < 0 || idx[j] >= v->rows) luaL_argerror(L, 2, "a row number out of range");
    size_t w = row_width(v);
    ddb_obj *o = push_like(L, v, r->rows, w);
    if (w)
        gather(o->data, v->data, idx, r->rows, w);
    else
        for (int64_t j = 0; j < r->rows; j++) append_text(L, o, v, idx[j]);
    return 1;
}

/* Row i of src to dst[g][at[g]++], for every row, cells of w bytes. */
static void scatter(char **dst, int64_t *at, const void *src, const int32_t *group, int64_t n, size_t w)
{
#define SCATTER(T)                                                                          \
    for (int64_t i = 0; i < n; i++) ((T *)dst[group[i]])[at[group[i]]++] = ((const T *)src)[i]; \
    return
    switch (w) {
    case 1: SCATTER(uint8_t);
    case 2: SCATTER(uint16_t);
    case 4: SCATTER(uint32_t);
    case 8: SCATTER(uint64_t);
    }
#undef SCATTER
    for (int64_t i = 0; i < n; i++)
        memcpy(dst[group[i]] + w * at[group[i]]++, (const char *)src + w * i, w);
}

#define MAX_GROUPS 4096     /* the pool's connection limit */

/* _obj_split(vector, groups, ngroups) -> { part 1, ..., part ngroups }: row i of
 * the vector goes to part groups[i] + 1 (groups: an INT vector of 0..ngroups-1, one
 * per row), rows kept in order. One pass over the column: the writers split a
 * fitted table by partition group this way. */
int ddb_lua_obj_split(lua_State *L)
{
    const ddb_obj *v = arg_vector(L, 1);
    const ddb_obj *g = arg_ints(L, 2, "an INT vector of group numbers expected");
    lua_Integer ng = luaL_checkinteger(L, 3);
    if (ng < 1 || ng > MAX_GROUPS) luaL_argerror(L, 3, "1..4096 groups");
    if (g->rows != v->rows) luaL_argerror(L, 2, "one group number per row expected");
    const int32_t *group = g->data;
    int64_t *count = lua_newuserdata(L, 2 * (size_t)ng * sizeof *count);   /* count, at */
    char **dst = lua_newuserdata(L, (size_t)ng * sizeof *dst);
    memset(count, 0, 2 * (size_t)ng * sizeof *count);
    for (int64_t i = 0; i < g->rows; i++) {
        if (group[i] < 0 || group[i] >= ng) luaL_argerror(L, 2, "a group number out of range");
        count[group[i]]++;
    }
    size_t w = row_width(v);
    lua_createtable(L, (int)ng, 0);
    for (lua_Integer k = 0; k < ng; k++) {
        ddb_obj *o = push_like(L, v, count[k], w);
        dst[k] = w ? o->data : (char *)o;   /* text: the vector itself, appended to below */
        lua_rawseti(L, -2, (int)k + 1);
    }
    if (w)
        scatter(dst, count + ng, v->data, group, v->rows, w);
    else
        for (int64_t i = 0; i < v->rows; i++) append_text(L, (ddb_obj *)dst[group[i]], v, i);
    return 1;
}
