/* lua_value.c — object handles, codec entry points and literal helpers for the Lua
 * module (see lua_value.h). value.lua does the mapping through FFI; every function
 * here checks its arguments, because the module table is reachable by users too. */
#include "lua_value.h"
#include "lua_take.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "ddb_codec.h"
#include "ddb_text.h"

#define HANDLE_MT "dolphindb.obj"
#define HOOKS_KEY "dolphindb.value.hooks"
#define MAX_ROWS INT32_MAX              /* the wire's row counts are int32 */

typedef struct handle { ddb_obj *o; } handle;

/* ------------------------------------------------------------------ handles */

/* A handle userdata is created before the object it will own, so an allocation
 * error raised by Lua never leaks an object. */
static handle *new_handle(lua_State *L)
{
    handle *h = lua_newuserdata(L, sizeof *h);
    h->o = NULL;
    luaL_getmetatable(L, HANDLE_MT);
    lua_setmetatable(L, -2);
    return h;
}

static ddb_obj *own(lua_State *L, handle *h, ddb_obj *o)
{
    if (!o) luaL_error(L, "dolphindb: out of memory building an object");
    h->o = o;
    return o;
}

ddb_obj **ddb_lua_new_handle(lua_State *L) { return &new_handle(L)->o; }

ddb_obj *ddb_lua_check_handle(lua_State *L, int idx)
{
    handle *h = lua_touserdata(L, idx);
    if (!h || !lua_getmetatable(L, idx)) return NULL;
    luaL_getmetatable(L, HANDLE_MT);
    int same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return same ? h->o : NULL;
}

static ddb_obj *arg_handle(lua_State *L, int idx)
{
    ddb_obj *o = ddb_lua_check_handle(L, idx);
    if (!o) luaL_argerror(L, idx, "object handle expected");
    return o;
}

static int handle_gc(lua_State *L)
{
    handle *h = luaL_checkudata(L, 1, HANDLE_MT);
    ddb_obj_unref(h->o);
    h->o = NULL;
    return 0;
}

static int handle_tostring(lua_State *L)
{
    ddb_obj *o = arg_handle(L, 1);
    lua_pushfstring(L, "ddb_obj(%s %s, %d rows)", ddb_form_name(o->form), ddb_type_name(o->type),
                    (int)o->rows);
    return 1;
}

static int arg_type(lua_State *L, int idx)
{
    lua_Integer t = luaL_checkinteger(L, idx);
    if (t < 0 || t > 255 || ddb_type_class_of((int)t) == DDB_CLASS_INVALID)
        luaL_argerror(L, idx, "unknown data type id");
    return (int)t;
}

static int64_t arg_rows(lua_State *L, int idx)
{
    lua_Number n = luaL_checknumber(L, idx);
    if (n < 0 || n > MAX_ROWS || n != (lua_Number)(int64_t)n) luaL_argerror(L, idx, "bad row count");
    return (int64_t)n;
}

/* ------------------------------------------------------------------ codec */

static int obj_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    lua_Integer pos = luaL_optinteger(L, 2, 1);
    if (pos < 1 || (size_t)pos > len + 1) luaL_argerror(L, 2, "position out of range");
    char err[256];
    size_t consumed = 0;
    handle *h = new_handle(L);
    h->o = ddb_decode(s + pos - 1, len - (size_t)(pos - 1), 1, NULL, &consumed, err, sizeof err);
    if (!h->o) {
        lua_pushnil(L);
        lua_pushstring(L, err[0] ? err : "cannot decode the object");
        return 2;
    }
    lua_pushinteger(L, (lua_Integer)consumed);
    return 2;
}

static void push_encoded(lua_State *L, const ddb_obj *o)
{
    char err[256] = "";
    ddb_encoder e;
    ddb_buf out;
    ddb_encoder_init(&e);
    ddb_buf_init(&out);
    if (ddb_encode(&e, &out, o, err, sizeof err) < 0) {
        ddb_buf_free(&out);
        luaL_error(L, "dolphindb.encode: %s", err[0] ? err : "cannot encode the object");
    }
    lua_pushlstring(L, out.p ? out.p : "", out.len);
    ddb_buf_free(&out);
}

static int obj_encode(lua_State *L)
{
    push_encoded(L, arg_handle(L, 1));
    return 1;
}

static int obj_addr(lua_State *L)
{
    lua_pushlightuserdata(L, arg_handle(L, 1));
    return 1;
}

/* _obj_column(h, i) -> handle of column i (1-based) of the table in h, sharing it (a
 * view of a table column is sent back as that column, with no copy). */
static int obj_column(lua_State *L)
{
    ddb_obj *t = arg_handle(L, 1);
    lua_Integer i = luaL_checkinteger(L, 2);
    if (t->form != DDB_TABLE || i < 1 || i > t->cols) return luaL_argerror(L, 2, "no such table column");
    handle *h = new_handle(L);
    h->o = ddb_obj_ref(t->columns[i - 1]);
    return 1;
}

/* Offsets value.lua checks its FFI declaration against, so a change to ddb_obj.h
 * fails loudly at require time instead of reading the wrong fields. */
static int obj_layout(lua_State *L)
{
    lua_newtable(L);
#define OFF(f) (lua_pushinteger(L, (lua_Integer)offsetof(ddb_obj, f)), lua_setfield(L, -2, #f))
    OFF(refcount); OFF(form); OFF(type); OFF(void_kind); OFF(fkind); OFF(scale); OFF(rows);
    OFF(cols); OFF(data); OFF(offs); OFF(bytes); OFF(nbytes); OFF(symbase); OFF(items);
    OFF(row_offs); OFF(values); OFF(row_labels); OFF(col_labels); OFF(keys); OFF(name);
    OFF(col_names); OFF(columns);
#undef OFF
    lua_pushinteger(L, (lua_Integer)offsetof(ddb_symbase, n)); lua_setfield(L, -2, "symbase.n");
    lua_pushinteger(L, (lua_Integer)offsetof(ddb_symbase, offs)); lua_setfield(L, -2, "symbase.offs");
    lua_pushinteger(L, (lua_Integer)offsetof(ddb_symbase, bytes)); lua_setfield(L, -2, "symbase.bytes");
    return 1;
}

/* ------------------------------------------------------------------ builders */

/* _obj_new(form, type, rows[, cols]): cells zeroed (FIXED), empty strings, VOIDs. */
static int obj_new(lua_State *L)
{
    lua_Integer form = luaL_checkinteger(L, 1);
    int type = arg_type(L, 2);
    lua_settop(L, 4);
    handle *h = new_handle(L);
    ddb_type_class c = ddb_type_class_of(type);
    if (c == DDB_CLASS_ARRAY) luaL_argerror(L, 2, "use _obj_arrayvector for array vectors");
    switch (form) {
    case DDB_SCALAR:
        own(L, h, type == DDB_ANY ? NULL : ddb_scalar_new(type));
        break;
    case DDB_VECTOR:
        own(L, h, ddb_vector_new(type, arg_rows(L, 3)));
        break;
    case DDB_PAIR:
        own(L, h, ddb_vector_new(type, 2))->form = DDB_PAIR;
        break;
    case DDB_MATRIX: {
        int64_t rows = arg_rows(L, 3), cols = arg_rows(L, 4);
        if (c != DDB_CLASS_FIXED && c != DDB_CLASS_SYMBOL && c != DDB_CLASS_VARLEN)
            luaL_argerror(L, 2, "matrix of this type");
        if (rows && cols > MAX_ROWS / rows) luaL_argerror(L, 4, "matrix too large");
        own(L, h, ddb_matrix_new(type, rows, cols));
        break;
    }
    default:
        luaL_argerror(L, 1, "form must be SCALAR, VECTOR, PAIR or MATRIX");
    }
    return 1;
}

/* _obj_strings(type, form, list, n[, fkind[, strict]]): a STRING/SYMBOL/BLOB/...
 * scalar, vector or pair from list[1..n]; any non-string element (ddb.null) is the
 * empty string. strict: only strings and nil (empty) are taken; at anything else it
 * returns nil and that element's number, for dolphindb.build to convert the list
 * itself (so a list of plain strings costs one pass and no copy in Lua). */
static int obj_strings(lua_State *L)
{
    int type = arg_type(L, 1);
    lua_Integer form = luaL_checkinteger(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    int64_t n = arg_rows(L, 4);
    ddb_type_class c = ddb_type_class_of(type);
    if (c != DDB_CLASS_VARLEN && c != DDB_CLASS_SYMBOL) luaL_argerror(L, 1, "string-like type expected");
    if (form == DDB_SCALAR && n != 1) luaL_argerror(L, 4, "a scalar has one element");
    if (form == DDB_PAIR && n != 2) luaL_argerror(L, 4, "a pair has two elements");
    lua_Integer fkind = luaL_optinteger(L, 5, 0);
    int strict = lua_toboolean(L, 6);
    lua_settop(L, 4);
    handle *h = new_handle(L);
    ddb_obj *o = NULL;
    for (int64_t i = 0; i < n; i++) {
        size_t len = 0;
        const char *s = "";
        lua_rawgeti(L, 3, (int)(i + 1));
        int t = lua_type(L, -1);
        if (t == LUA_TSTRING) {
            s = lua_tolstring(L, -1, &len);
        } else if (strict && t != LUA_TNIL) {
            lua_pushnil(L);
            lua_pushinteger(L, (lua_Integer)(i + 1));
            return 2;
        }
        if (type != DDB_BLOB && memchr(s, 0, len))
            luaL_error(L, "dolphindb: element %d of a %s contains a zero byte", (int)(i + 1),
                       ddb_type_name(type));
        if (form == DDB_SCALAR) {
            o = own(L, h, ddb_string_new(type, s, len));
            o->fkind = (uint8_t)fkind;
        } else {
            if (!o) o = own(L, h, ddb_vector_new(type, 0));
            if (ddb_varlen_append(o, s, len) < 0) luaL_error(L, "dolphindb: out of memory");
        }
        lua_pop(L, 1);
    }
    if (!o) o = own(L, h, ddb_vector_new(type, 0));
    if (form == DDB_PAIR) o->form = DDB_PAIR;
    return 1;
}

/* _obj_symbols(list, nd, n): a SYMBOL vector of n rows, all "" (index 0), whose base
 * is "" then list[1..nd] (distinct non-empty strings): dolphindb.build deduplicates a
 * Lua list with a table (Lua strings are interned, so a lookup costs no hashing of
 * the bytes) and fills the indices through the FFI, instead of this file hashing
 * every row's string. */
static int obj_symbols(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer nd = luaL_checkinteger(L, 2);
    int64_t n = arg_rows(L, 3);
    if (nd < 0 || nd >= DDB_MAX_SYMBASE) luaL_argerror(L, 2, "0 .. 2^21 - 1 distinct symbols");
    lua_settop(L, 3);
    const char **syms = lua_newuserdata(L, (size_t)nd * (sizeof *syms + sizeof(size_t)) + 1);
    size_t *lens = (size_t *)(syms + nd);
    for (lua_Integer k = 0; k < nd; k++) {
        lua_rawgeti(L, 1, (int)(k + 1));
        if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "dolphindb: symbol %d is not a string", (int)(k + 1));
        syms[k] = lua_tolstring(L, -1, &lens[k]);      /* anchored by the list (argument 1) */
        if (memchr(syms[k], 0, lens[k]))
            luaL_error(L, "dolphindb: element %d of a SYMBOL contains a zero byte", (int)(k + 1));
        lua_pop(L, 1);
    }
    handle *h = new_handle(L);
    h->o = ddb_symbol_vector_new(n, (int32_t)nd, syms, lens);
    if (!h->o) luaL_error(L, "dolphindb: cannot build a symbol vector (out of memory, or a symbol empty or repeated)");
    return 1;
}

static int obj_void(lua_State *L)
{
    lua_Integer kind = luaL_optinteger(L, 1, 1);
    if (kind < 0 || kind > 2) luaL_argerror(L, 1, "VOID kind is 0, 1 or 2");
    handle *h = new_handle(L);
    own(L, h, ddb_void_new((int)kind));
    return 1;
}

/* _obj_any(list, n[, form]): an ANY vector (or pair) of handles. */
static int obj_any(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int64_t n = arg_rows(L, 2);
    lua_Integer form = luaL_optinteger(L, 3, DDB_VECTOR);
    if (form != DDB_VECTOR && form != DDB_PAIR) luaL_argerror(L, 3, "VECTOR or PAIR");
    if (form == DDB_PAIR && n != 2) luaL_argerror(L, 2, "a pair has two elements");
    handle *h = new_handle(L);
    ddb_obj *o = own(L, h, ddb_vector_new(DDB_ANY, n));
    o->form = (uint8_t)form;
    for (int64_t i = 0; i < n; i++) {
        lua_rawgeti(L, 1, (int)(i + 1));
        ddb_obj *item = ddb_lua_check_handle(L, -1);
        if (!item) luaL_error(L, "dolphindb: ANY element %d is not an object handle", (int)(i + 1));
        ddb_obj_unref(o->items[i]);
        o->items[i] = ddb_obj_ref(item);
        lua_pop(L, 1);
    }
    return 1;
}

static int obj_arrayvector(lua_State *L)
{
    int base = arg_type(L, 1);
    int64_t rows = arg_rows(L, 2), total = arg_rows(L, 3);
    if (ddb_type_class_of(base) != DDB_CLASS_FIXED) luaL_argerror(L, 1, "fixed-width base type expected");
    handle *h = new_handle(L);
    own(L, h, ddb_array_vector_new(base, rows, total));
    return 1;
}

static int is_column(const ddb_obj *c) { return c->form == DDB_VECTOR; }

/* _obj_table(names, columns, ncols[, tablename]) */
/* The list at idx: one DDB_COMPRESS_* per column of table t (how the encoder sends
 * it, see ddb_obj.h). */
static void set_compress(lua_State *L, int idx, ddb_obj *t)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    if ((int64_t)lua_objlen(L, idx) != t->cols)
        luaL_error(L, "dolphindb: %d compression methods for %d columns", (int)lua_objlen(L, idx),
                   (int)t->cols);
    if (t->cols == 0) return;
    t->col_compress = malloc((size_t)t->cols);
    if (!t->col_compress) luaL_error(L, "dolphindb: out of memory");
    for (int64_t i = 0; i < t->cols; i++) {
        lua_rawgeti(L, idx, (int)(i + 1));
        lua_Integer m = lua_tointeger(L, -1);
        if (!lua_isnumber(L, -1) || m < DDB_COMPRESS_NONE || m > DDB_COMPRESS_DELTA)
            luaL_error(L, "dolphindb: compression method %d must be 0, 1 (LZ4) or 2 (DELTA)",
                       (int)(i + 1));
        t->col_compress[i] = (uint8_t)m;
        lua_pop(L, 1);
    }
}

/* _obj_table(names, columns, ncols[, name[, compress]]) */
static int obj_table(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    int64_t ncols = arg_rows(L, 3);
    const char *tname = luaL_optstring(L, 4, "");
    if (!lua_isnoneornil(L, 5)) luaL_checktype(L, 5, LUA_TTABLE);
    lua_settop(L, 5);                       /* the handle comes at 6 */
    handle *h = new_handle(L);
    int64_t rows = ncols ? -1 : 0;         /* no columns: an empty table, as decoded */
    for (int64_t i = 0; i < ncols; i++) {
        lua_rawgeti(L, 2, (int)(i + 1));
        ddb_obj *c = ddb_lua_check_handle(L, -1);
        if (!c || !is_column(c)) luaL_error(L, "dolphindb: table column %d is not a vector", (int)(i + 1));
        if (rows >= 0 && c->rows != rows)
            luaL_error(L, "dolphindb: table column %d has %d rows, column 1 has %d", (int)(i + 1),
                       (int)c->rows, (int)rows);
        rows = c->rows;
        lua_pop(L, 1);
    }
    ddb_obj *t = own(L, h, ddb_table_new(rows, ncols));
    free(t->name);
    if (!(t->name = strdup(tname))) luaL_error(L, "dolphindb: out of memory");
    for (int64_t i = 0; i < ncols; i++) {
        lua_rawgeti(L, 1, (int)(i + 1));
        const char *name = lua_tostring(L, -1);
        if (!name) luaL_error(L, "dolphindb: table column %d has no name", (int)(i + 1));
        char *copy = strdup(name);
        if (!copy) luaL_error(L, "dolphindb: out of memory");
        free(t->col_names[i]);
        t->col_names[i] = copy;
        lua_rawgeti(L, 2, (int)(i + 1));
        t->columns[i] = ddb_obj_ref(ddb_lua_check_handle(L, -1));
        lua_pop(L, 2);
    }
    if (!lua_isnil(L, 5)) set_compress(L, 5, t);
    return 1;
}

/* _obj_dict(keys, values[, form]): DICTIONARY (or CHART) of two equal vectors. */
static int obj_dict(lua_State *L)
{
    ddb_obj *k = arg_handle(L, 1), *v = arg_handle(L, 2);
    lua_Integer form = luaL_optinteger(L, 3, DDB_DICTIONARY);
    if (!is_column(k) || !is_column(v) || k->rows != v->rows)
        luaL_error(L, "dolphindb: dictionary keys and values must be vectors of equal length");
    if (k->type == DDB_ANY || k->type >= DDB_ARRAY_BASE) luaL_argerror(L, 1, "keys must be a scalar type");
    if (form != DDB_DICTIONARY && form != DDB_CHART) luaL_argerror(L, 3, "DICTIONARY or CHART");
    handle *h = new_handle(L);
    ddb_obj *d = own(L, h, ddb_dict_new(ddb_obj_ref(k), ddb_obj_ref(v)));
    d->form = (uint8_t)form;
    return 1;
}

static int obj_set(lua_State *L)
{
    ddb_obj *k = arg_handle(L, 1);
    if (!is_column(k) || k->type == DDB_ANY || k->type >= DDB_ARRAY_BASE)
        luaL_argerror(L, 1, "set keys must be a typed vector");
    handle *h = new_handle(L);
    own(L, h, ddb_set_new(ddb_obj_ref(k)));
    return 1;
}

/* _obj_setlabels(matrix, rowlabels|nil, collabels|nil) — only while building. */
static int obj_setlabels(lua_State *L)
{
    ddb_obj *m = arg_handle(L, 1);
    ddb_obj *r = lua_isnoneornil(L, 2) ? NULL : arg_handle(L, 2);
    ddb_obj *c = lua_isnoneornil(L, 3) ? NULL : arg_handle(L, 3);
    if (m->form != DDB_MATRIX || m->row_labels || m->col_labels) luaL_argerror(L, 1, "fresh matrix expected");
    if (r && (!is_column(r) || r->rows != m->rows)) luaL_argerror(L, 2, "row labels: one per row");
    if (c && (!is_column(c) || c->rows != m->cols)) luaL_argerror(L, 3, "column labels: one per column");
    m->row_labels = ddb_obj_ref(r);
    m->col_labels = ddb_obj_ref(c);
    return 0;
}

/* _obj_reshape(vector, rows, cols): a freshly built string-like vector becomes a
 * column-major matrix (the only way to build STRING/SYMBOL matrices). */
static int obj_reshape(lua_State *L)
{
    ddb_obj *o = arg_handle(L, 1);
    int64_t rows = arg_rows(L, 2), cols = arg_rows(L, 3);
    if (o->form != DDB_VECTOR || o->type == DDB_ANY || o->type >= DDB_ARRAY_BASE)
        luaL_argerror(L, 1, "a plain vector expected");
    if (rows * cols != o->rows) luaL_argerror(L, 3, "rows x cols must equal the vector's length");
    o->form = DDB_MATRIX;
    o->rows = rows;
    o->cols = cols;
    return 0;
}

/* ------------------------------------------------------------------ text */

static int obj_format(lua_State *L)
{
    ddb_obj *o = arg_handle(L, 1);
    ddb_buf b;
    ddb_buf_init(&b);
    int r;
    if (lua_isnoneornil(L, 2)) {
        r = ddb_format_obj(&b, o);
    } else {
        lua_Integer i = luaL_checkinteger(L, 2) - 1;
        int flat = o->form == DDB_SCALAR || o->form == DDB_VECTOR || o->form == DDB_PAIR ||
                   o->form == DDB_MATRIX;
        if (!flat || o->type >= DDB_ARRAY_BASE || i < 0 || i >= o->rows * o->cols) {
            ddb_buf_free(&b);
            return luaL_argerror(L, 2, "element index out of range");
        }
        r = ddb_format_cell(&b, o, i);
    }
    if (r < 0) {
        ddb_buf_free(&b);
        return luaL_error(L, "dolphindb: cannot format the object");
    }
    lua_pushlstring(L, b.p ? b.p : "", b.len);
    ddb_buf_free(&b);
    return 1;
}

/* Fill the cell of a fresh scalar from a literal; 0 or -1 when the text is invalid. */
static int parse_into(ddb_obj *o, int type, const char *s, size_t len, int scale)
{
    switch (type) {
    case DDB_UUID: return ddb_parse_uuid(s, len, o->data);
    case DDB_IPADDR: return ddb_parse_ipaddr(s, len, o->data);
    case DDB_INT128: return ddb_parse_int128(s, len, o->data);
    case DDB_DURATION: {
        int32_t cell[2];
        if (ddb_parse_duration(s, len, &cell[0], &cell[1]) < 0) return -1;
        memcpy(o->data, cell, 8);
        return 0;
    }
    case DDB_DECIMAL32: case DDB_DECIMAL64: case DDB_DECIMAL128: {
        int64_t v[2];
        if (scale < 0 || scale > ddb_decimal_max_scale(type)) return -1;
        if (ddb_parse_decimal(s, len, scale, v) < 0) return -1;
        int64_t sign = v[0] < 0 ? -1 : 0;
        if (type != DDB_DECIMAL128 && v[1] != sign) return -1;       /* beyond 64 bits */
        if (type == DDB_DECIMAL32 && (v[0] < INT32_MIN + 1 || v[0] > INT32_MAX)) return -1;
        if (type == DDB_DECIMAL64 && v[0] == INT64_MIN) return -1;    /* the NULL value */
        o->scale = scale;
        if (type == DDB_DECIMAL32) { int32_t x = (int32_t)v[0]; memcpy(o->data, &x, 4); }
        else memcpy(o->data, v, type == DDB_DECIMAL64 ? 8 : 16);
        return 0;
    }
    default: {
        int64_t v;
        if (ddb_parse_temporal(type, s, len, &v) < 0) return -1;
        int w = ddb_type_width(type);
        if (w == 4) { int32_t x = (int32_t)v; memcpy(o->data, &x, 4); }
        else memcpy(o->data, &v, 8);
        return 0;
    }
    }
}

/* _obj_parse(type, text[, scale]) -> scalar handle | nil, message */
static int obj_parse(lua_State *L)
{
    int type = arg_type(L, 1);
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);
    int scale = (int)luaL_optinteger(L, 3, 0);
    int temporal = (type >= DDB_DATE && type <= DDB_NANOTIMESTAMP) || type == DDB_DATEHOUR ||
                   type == DDB_DATEMINUTE;
    if (!temporal && type != DDB_UUID && type != DDB_IPADDR && type != DDB_INT128 &&
        type != DDB_DURATION && !ddb_is_decimal(type))
        luaL_argerror(L, 1, "no literal parser for this type");
    handle *h = new_handle(L);
    ddb_obj *o = own(L, h, ddb_scalar_new(type));
    if (parse_into(o, type, s, len, scale) < 0) {
        lua_pushnil(L);
        if (ddb_is_decimal(type))
            lua_pushfstring(L, "invalid %s literal '%s' (scale %d)", ddb_type_name(type), s, scale);
        else
            lua_pushfstring(L, "invalid %s literal '%s'", ddb_type_name(type), s);
        return 2;
    }
    return 1;
}

/* _obj_temporal_type(text) -> type id | nil */
static int obj_temporal_type(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    int t = ddb_temporal_type_of(s, len);
    if (t < 0) return 0;
    lua_pushinteger(L, t);
    return 1;
}

/* ------------------------------------------------------------------ hooks */

/* Pushes the hook `name` installed by value.lua, loading dolphindb.value if needed. */
static void push_hook(lua_State *L, const char *name)
{
    lua_getfield(L, LUA_REGISTRYINDEX, HOOKS_KEY);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_getglobal(L, "require");
        lua_pushliteral(L, "dolphindb.value");
        lua_call(L, 1, 0);
        lua_getfield(L, LUA_REGISTRYINDEX, HOOKS_KEY);
        if (lua_isnil(L, -1)) luaL_error(L, "dolphindb.value did not install its hooks");
    }
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
}

static int obj_hooks(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "from_handle");
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "to_handle");
    lua_setfield(L, LUA_REGISTRYINDEX, HOOKS_KEY);
    return 0;
}

/* The scalars most results are (a count, a flag, a price, a name) are pushed here
 * instead of through value.lua: no handle, no FFI cdata, no closure, so such a task
 * costs the garbage collector nothing beyond its own value. The mapping must stay
 * exactly value.lua's untyped one (NULL -> nil, NaN kept, FLOAT widened). LONG needs
 * an int64 cdata, which the C API cannot make, and temporals are typed Lua objects:
 * those take the general path. Numbers allocate nothing, so this cannot raise. */
static int push_plain_number(lua_State *L, const ddb_obj *o)
{
    if (o->form != DDB_SCALAR) return 0;
    switch (o->type) {
    case DDB_VOID: lua_pushnil(L); return 1;
    case DDB_BOOL: {
        int8_t v = *(const int8_t *)o->data;
        if (v == DDB_NULL_I8) lua_pushnil(L); else lua_pushboolean(L, v != 0);
        return 1;
    }
    case DDB_CHAR: {
        int8_t v = *(const int8_t *)o->data;
        if (v == DDB_NULL_I8) lua_pushnil(L); else lua_pushnumber(L, v);
        return 1;
    }
    case DDB_SHORT: {
        int16_t v;
        memcpy(&v, o->data, sizeof v);
        if (v == DDB_NULL_I16) lua_pushnil(L); else lua_pushnumber(L, v);
        return 1;
    }
    case DDB_INT: {
        int32_t v;
        memcpy(&v, o->data, sizeof v);
        if (v == DDB_NULL_I32) lua_pushnil(L); else lua_pushnumber(L, v);
        return 1;
    }
    case DDB_FLOAT: {
        float v;
        memcpy(&v, o->data, sizeof v);
        if (v == DDB_NULL_F32) lua_pushnil(L); else lua_pushnumber(L, v);
        return 1;
    }
    case DDB_DOUBLE: {
        double v;
        memcpy(&v, o->data, sizeof v);
        if (v == DDB_NULL_F64) lua_pushnil(L); else lua_pushnumber(L, v);
        return 1;
    }
    default:
        return 0;
    }
}

/* STRING/SYMBOL/BLOB scalars become plain Lua strings (a SYMBOL kept as base + index
 * takes the general path). */
static int is_plain_string(const ddb_obj *o)
{
    return o->form == DDB_SCALAR && o->offs != NULL &&
           (o->type == DDB_STRING || o->type == DDB_SYMBOL || o->type == DDB_BLOB);
}

/* Runs unprotected code under lua_pcall: [1] = object (lightuserdata), [2] = the
 * conversion flags -> value. */
static int push_obj_body(lua_State *L)
{
    const ddb_obj *o = lua_touserdata(L, 1);
    int conv = (int)lua_tointeger(L, 2);
    if (!conv && is_plain_string(o)) {
        lua_pushlstring(L, o->bytes + o->offs[0], (size_t)(o->offs[1] - o->offs[0] - 1));
        return 1;
    }
    push_hook(L, "from_handle");
    handle *h = new_handle(L);
    h->o = ddb_obj_ref((ddb_obj *)o);
    if (conv) {
        lua_createtable(L, 0, 2);
        lua_pushboolean(L, conv & DDB_LUA_TYPED);
        lua_setfield(L, -2, "typed");
        if (conv & (DDB_LUA_VIEW | DDB_LUA_ARRAYS)) {   /* else nil: value.lua decides by size */
            lua_pushboolean(L, conv & DDB_LUA_VIEW);
            lua_setfield(L, -2, "view");
        }
    }
    lua_call(L, conv ? 2 : 1, 1);
    return 1;
}

int ddb_lua_conv_arg(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TNUMBER) return (int)lua_tointeger(L, idx);
    return lua_toboolean(L, idx) ? DDB_LUA_TYPED : 0;
}

int ddb_lua_push_obj(lua_State *L, ddb_obj *o, int conv)
{
    if (!lua_checkstack(L, 8)) return -1;
    if (!conv && push_plain_number(L, o)) return 1;
    lua_pushcfunction(L, push_obj_body);
    lua_pushlightuserdata(L, o);
    lua_pushinteger(L, conv);
    if (lua_pcall(L, 2, 1, 0) != 0) return -1;
    return 1;
}

static int to_obj_body(lua_State *L)
{
    push_hook(L, "to_handle");
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    if (!ddb_lua_check_handle(L, -1)) luaL_error(L, "dolphindb.value returned no object");
    return 1;
}

ddb_obj *ddb_lua_to_obj(lua_State *L, int idx, char *err, size_t errlen)
{
    int top = lua_gettop(L);
    if (idx < 0 && idx > LUA_REGISTRYINDEX) idx = top + idx + 1;
    if (!lua_checkstack(L, 8)) {
        snprintf(err, errlen, "Lua stack overflow");
        return NULL;
    }
    lua_pushcfunction(L, to_obj_body);
    lua_pushvalue(L, idx);
    ddb_obj *o = NULL;
    if (lua_pcall(L, 1, 1, 0) != 0) {
        const char *msg = lua_tostring(L, -1);
        snprintf(err, errlen, "%s", msg ? msg : "cannot convert the value");
    } else {
        o = ddb_obj_ref(ddb_lua_check_handle(L, -1));
    }
    lua_settop(L, top);
    return o;
}

/* ------------------------------------------------------------------ encode/decode */

static int lua_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    push_hook(L, "to_handle");
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    ddb_obj *o = ddb_lua_check_handle(L, -1);
    if (!o) return luaL_error(L, "dolphindb.value returned no object");
    push_encoded(L, o);
    return 1;
}

/* decode(bytes[, pos[, options]]) -> value, consumed | nil, message */
static int lua_decode(lua_State *L)
{
    /* A number would be coerced to its text and "decoded": refuse it plainly. */
    if (lua_type(L, 1) != LUA_TSTRING) luaL_typerror(L, 1, "string of bytes");
    if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 3);
    int n = obj_decode(L);                 /* [4] handle, [5] consumed | nil, message */
    if (n == 2 && lua_isnil(L, -2)) return 2;
    push_hook(L, "from_handle");
    lua_pushvalue(L, 4);
    lua_pushvalue(L, 3);
    if (lua_pcall(L, 2, 1, 0) != 0) {      /* data that cannot become a Lua value */
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    lua_pushvalue(L, 5);
    return 2;
}

/* _obj_via_c(value[, conv]) -> value | nil, message: the round trip the pool binding
 * makes (ddb_lua_to_obj for arguments, ddb_lua_push_obj for results), for the specs. */
static int obj_via_c(lua_State *L)
{
    char err[256];
    luaL_checkany(L, 1);
    ddb_obj *o = ddb_lua_to_obj(L, 1, err, sizeof err);
    if (!o) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    int rc = ddb_lua_push_obj(L, o, ddb_lua_conv_arg(L, 2));
    ddb_obj_unref(o);
    if (rc < 0) return lua_error(L);
    return 1;
}

void ddb_lua_value_open(lua_State *L, int module)
{
    static const luaL_Reg funcs[] = {
        {"encode", lua_encode}, {"decode", lua_decode},
        {"_obj_decode", obj_decode}, {"_obj_encode", obj_encode}, {"_obj_addr", obj_addr},
        {"_obj_layout", obj_layout}, {"_obj_new", obj_new}, {"_obj_strings", obj_strings},
        {"_obj_symbols", obj_symbols},
        {"_obj_void", obj_void}, {"_obj_take", ddb_lua_obj_take}, {"_obj_split", ddb_lua_obj_split}, {"_obj_any", obj_any}, {"_obj_arrayvector", obj_arrayvector},
        {"_obj_table", obj_table}, {"_obj_dict", obj_dict}, {"_obj_set", obj_set},
        {"_obj_setlabels", obj_setlabels},
        {"_obj_format", obj_format}, {"_obj_parse", obj_parse},
        {"_obj_temporal_type", obj_temporal_type}, {"_obj_hooks", obj_hooks},
        {"_obj_via_c", obj_via_c}, {"_obj_reshape", obj_reshape}, {"_obj_column", obj_column},
        {NULL, NULL},
    };
    if (module < 0 && module > LUA_REGISTRYINDEX) module = lua_gettop(L) + module + 1;
    if (luaL_newmetatable(L, HANDLE_MT)) {
        lua_pushcfunction(L, handle_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, handle_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, "dolphindb.obj");
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    for (const luaL_Reg *f = funcs; f->name; f++) {
        lua_pushcfunction(L, f->func);
        lua_setfield(L, module, f->name);
    }
}
