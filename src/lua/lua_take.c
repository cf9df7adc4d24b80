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

/* Why the object at idx cannot be taken from or split, or NULL. */
static const char *not_splittable(lua_State *L, int idx, const ddb_obj **out)
{
    const ddb_obj *v = *out = ddb_lua_check_handle(L, idx);
    if (!v) return "object handle expected";
    ddb_type_class c = ddb_type_class_of(v->type);
    if (v->form != DDB_VECTOR || (c != DDB_CLASS_FIXED && c != DDB_CLASS_VARLEN && v->type != DDB_SYMBOL))
        return "a vector of fixed-width, string or symbol cells expected";
    return NULL;
}

static const ddb_obj *arg_vector(lua_State *L, int idx)
{
    const ddb_obj *v;
    const char *why = not_splittable(L, idx, &v);
    if (why) luaL_argerror(L, idx, why);
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

/* Row i of src to dst[group[i]][place[i]], cells of w bytes. The places are computed
 * once per call (below), so this loop carries no counter from row to row: every
 * load and store is independent of the last. */
static void scatter(char *const *restrict dst, const int32_t *restrict place, const void *restrict src,
                    const int32_t *restrict group, int64_t n, size_t w)
{
#define SCATTER(T)                                                                \
    for (int64_t i = 0; i < n; i++) ((T *)dst[group[i]])[place[i]] = ((const T *)src)[i]; \
    return
    switch (w) {
    case 1: SCATTER(uint8_t);
    case 2: SCATTER(uint16_t);
    case 4: SCATTER(uint32_t);
    case 8: SCATTER(uint64_t);
    }
#undef SCATTER
    for (int64_t i = 0; i < n; i++)
        memcpy(dst[group[i]] + w * (size_t)place[i], (const char *)src + w * i, w);
}

#define MAX_GROUPS 4096     /* the pool's connection limit */

/* Each row's place in its group (rows keep their order) and each group's size, in
 * one pass shared by every vector of the call; checks the group numbers. */
static int32_t *places(lua_State *L, const ddb_obj *g, lua_Integer ng, int64_t *count)
{
    const int32_t *group = g->data;
    int32_t *place = lua_newuserdata(L, (size_t)(g->rows ? g->rows : 1) * sizeof *place);
    memset(count, 0, (size_t)ng * sizeof *count);
    for (int64_t i = 0; i < g->rows; i++) {
        if (group[i] < 0 || group[i] >= ng) luaL_argerror(L, 2, "a group number out of range");
        place[i] = (int32_t)count[group[i]]++;
    }
    return place;
}

/* The parts of vector v (rows = the group vector's), as a list pushed on the stack. */
static void split_one(lua_State *L, const ddb_obj *v, const ddb_obj *g, lua_Integer ng,
                      const int64_t *count, const int32_t *place, char **dst)
{
    size_t w = row_width(v);
    lua_createtable(L, (int)ng, 0);
    for (lua_Integer k = 0; k < ng; k++) {
        ddb_obj *o = push_like(L, v, count[k], w);
        dst[k] = w ? o->data : (char *)o;   /* text: the vector itself, appended to below */
        lua_rawseti(L, -2, (int)k + 1);
    }
    const int32_t *group = g->data;
    if (w)
        scatter(dst, place, v->data, group, v->rows, w);
    else
        for (int64_t i = 0; i < v->rows; i++) append_text(L, (ddb_obj *)dst[group[i]], v, i);
}

/* _obj_split(vector, groups, ngroups) -> { part 1, ..., part ngroups }: row i of
 * the vector goes to part groups[i] + 1 (groups: an INT vector of 0..ngroups-1, one
 * per row), rows kept in order. The writers split a fitted table by partition group
 * this way. _obj_split({ vector, ... }, groups, ngroups) -> { parts of each }: the
 * columns of a table at once, the places computed once for all. */
int ddb_lua_obj_split(lua_State *L)
{
    int many = lua_type(L, 1) == LUA_TTABLE;
    int nv = many ? (int)lua_objlen(L, 1) : 1;
    const ddb_obj *g = arg_ints(L, 2, "an INT vector of group numbers expected");
    lua_Integer ng = luaL_checkinteger(L, 3);
    if (ng < 1 || ng > MAX_GROUPS) luaL_argerror(L, 3, "1..4096 groups");
    lua_settop(L, 3);
    for (int j = 1; j <= nv; j++) {                   /* every vector checked first */
        const ddb_obj *v = NULL;
        if (many) {
            lua_rawgeti(L, 1, j);
            const char *why = not_splittable(L, -1, &v);
            if (why) luaL_error(L, "bad argument #1 to '_obj_split' (element %d: %s)", j, why);
            lua_pop(L, 1);
        } else {
            v = arg_vector(L, 1);
        }
        if (v->rows != g->rows) luaL_argerror(L, 2, "one group number per row expected");
    }
    int64_t *count = lua_newuserdata(L, (size_t)ng * sizeof *count);
    char **dst = lua_newuserdata(L, (size_t)ng * sizeof *dst);
    const int32_t *place = places(L, g, ng, count);
    if (!many) {
        split_one(L, ddb_lua_check_handle(L, 1), g, ng, count, place, dst);
        return 1;
    }
    lua_createtable(L, nv, 0);
    for (int j = 1; j <= nv; j++) {
        lua_rawgeti(L, 1, j);
        const ddb_obj *v = ddb_lua_check_handle(L, -1);
        split_one(L, v, g, ng, count, place, dst);
        lua_rawseti(L, -3, j);
        lua_pop(L, 1);
    }
    return 1;
}
