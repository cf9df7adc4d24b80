/* lua_value.h — conversion between DolphinDB objects and Lua values.
 *
 * The mapping itself lives in lua/dolphindb/value.lua, which reads and fills objects
 * through LuaJIT's FFI (so big columns never cost one C call per element); this C
 * half owns object handles (a userdata holding one reference to a ddb_obj), the
 * codec entry points and the literal parsers/formatters. The two functions below
 * hand an object to value.lua and back (plain scalar results skip it); they load
 * `dolphindb.value` on first use.
 *
 * Only LuaJIT's headers are used; the module never links libluajit. */
#ifndef DDB_LUA_VALUE_H
#define DDB_LUA_VALUE_H

#include <stddef.h>
#include "lua.h"
#include "ddb_obj.h"

/* Add encode, decode and the internal `_obj_*` helpers value.lua uses to the module
 * table at `module_table_index` (an absolute or relative index). */
void ddb_lua_value_open(lua_State *L, int module_table_index);

/* Conversion flags: value.lua's decode options. */
#define DDB_LUA_TYPED 1     /* {typed = true}: CHAR/SHORT/FLOAT/BLOB/NULL scalars keep their type */
#define DDB_LUA_VIEW 2      /* {view = true}: vectors stay in the decoded memory (read-only views) */
#define DDB_LUA_ARRAYS 4    /* {view = false}: never views; with neither flag, results of at
                             * least value.lua's VIEW_CELLS cells get views */

/* The flags given as argument `idx`: nil/false/none 0, true DDB_LUA_TYPED (the older
 * form), a number as is. */
int ddb_lua_conv_arg(lua_State *L, int idx);

/* Push the Lua value for `o` (the value keeps its own reference; the caller's stays
 * the caller's), converted as the DDB_LUA_* flags in `conv` say. Plain scalars with
 * no flags are pushed here in C, the rest by value.lua. Returns 1 with the value
 * pushed, or -1 with an error message pushed instead (out of memory, dolphindb.value
 * not loadable). Never raises. */
int ddb_lua_push_obj(lua_State *L, ddb_obj *o, int conv);

/* Build an object from the Lua value at `idx`. Returns a new reference, or NULL with
 * `err` filled ("cannot convert a function to a DolphinDB object", ...). Never raises;
 * the stack is left as it was. */
ddb_obj *ddb_lua_to_obj(lua_State *L, int idx, char *err, size_t errlen);

/* The object inside a handle userdata at `idx`, or NULL if it is not a handle. */
ddb_obj *ddb_lua_check_handle(lua_State *L, int idx);
/* Pushes a new, empty handle and returns where its object goes (set it once made;
 * the handle's finalizer frees it, so nothing leaks if a later step raises). */
ddb_obj **ddb_lua_new_handle(lua_State *L);

#endif
