/* lua_take.h — new columns made of some rows of a column, for the writers
 * (dolphindb.columns: take; PartitionedTableAppender: split). Registered by
 * lua_value.c as core._obj_take and core._obj_split. */
#ifndef DDB_LUA_TAKE_H
#define DDB_LUA_TAKE_H

#include "lua.h"

int ddb_lua_obj_take(lua_State *L);
int ddb_lua_obj_split(lua_State *L);

#endif
