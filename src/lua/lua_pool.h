/* lua_pool.h — the pool and task userdata of dolphindb.core (over include/dolphindb/dolphindb.h).
 *
 * Only mechanism lives here: creating a pool on the Lua state's loop, submitting a
 * task (which returns the task handle and a ticket), reading a finished task, cancel,
 * shutdown, inspection. The policy (argument forms, options, futures, errors as the
 * user sees them) is in lua/dolphindb/pool.lua and future.lua. */
#ifndef DDB_LUA_POOL_H
#define DDB_LUA_POOL_H

#include "lua.h"

/* Adds pool_new to the module table at `module_table_index`. */
void ddb_lua_pool_open(lua_State *L, int module_table_index);

#endif
