/* lua_qhost.h — registers the queue host's driver functions (see lua_qhost.c). */
#ifndef DDB_LUA_QHOST_H
#define DDB_LUA_QHOST_H

#include "lua.h"

/* Into the table at the top of the stack. */
void ddb_lua_qhost_register(lua_State *L);

#endif
