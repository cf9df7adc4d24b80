/* lua_sub.h — streaming subscriptions in dolphindb.core (lua_sub.c). */
#ifndef DDB_LUA_SUB_H
#define DDB_LUA_SUB_H

#include "lua.h"

/* Adds sub_new to the module table at `module` (an absolute index). */
void ddb_lua_sub_open(lua_State *L, int module);

#endif
