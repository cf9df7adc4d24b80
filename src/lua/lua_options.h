/* lua_options.h — the options of DBConnectionPool{...} and of a task, declared once
 * (lua_options.c): readers of the user's own tables, and core.options(). */
#ifndef DDB_LUA_OPTIONS_H
#define DDB_LUA_OPTIONS_H

#include "lua.h"
#include "dolphindb.h"

/* Fills `cfg` (defaults first) from the user's options table at `idx` (their names:
 * threadNum, reConnect, ...; "host:port" site strings already turned into tables).
 * Raises "dolphindb: option 'port' must be an integer in 1..65535, got ..." and the
 * like, or "dolphindb: unknown option 'x'". The strings stay anchored by the table;
 * when sites are given, their array is a userdata this leaves on the stack (keep it
 * there while cfg is in use). */
void ddb_lua_read_pool_config(lua_State *L, int idx, ddb_pool_config *cfg);
/* The task options in the table at idx (nil: none) into spec: clearMemory, priority,
 * parallelism, timeout, maxResultBytes; typed/view/pickleTableToList are checked and
 * left to Lua; positional keys (the script and arguments) are skipped. */
void ddb_lua_read_task_options(lua_State *L, int idx, ddb_task_spec *spec);
/* Sets module.options = function returning the declarations. */
void ddb_lua_options_register(lua_State *L, int module);

#endif
