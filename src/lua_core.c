/* lua_core.c — luaopen_dolphindb_core: the C half of the `dolphindb` Lua module.
 *
 * The module table gathers the parts: the event loop and its tickets (lua_loop.c),
 * value conversion and the codec (lua_value.c, when built), and the pool binding
 * (lua_pool.c, when the C pool is built). Each part is optional at build time so the
 * module works at every stage of the project; `core.features` says what is there.
 */
#include "lua.h"
#include "lauxlib.h"

#include "lua_loop.h"
#include "lua_qhost.h"
#ifdef DDB_HAVE_LUA_VALUE
#include "lua_value.h"
#endif
#ifdef DDB_HAVE_LUA_POOL
#include "dolphindb.h"
#include "lua_pool.h"
#include "lua_options.h"
#endif

#ifndef DDB_VERSION
#error "DDB_VERSION comes from the VERSION file through CMake"
#endif

#if defined(_WIN32)
#define DDB_EXPORT __declspec(dllexport)
#else
#define DDB_EXPORT __attribute__((visibility("default")))
#endif

static void set_feature(lua_State *L, int features, const char *name, int present)
{
    lua_pushboolean(L, present);
    lua_setfield(L, features, name);
}

DDB_EXPORT int luaopen_dolphindb_core(lua_State *L)
{
#ifdef DDB_HAVE_LUA_POOL
    /* A reset connection must not kill a plain `luajit` process (dolphindb.h,
     * "SIGPIPE"): ignore it from the moment the module is loaded. */
    ddb_ignore_sigpipe();
#endif
    lua_newtable(L);
    int module = lua_gettop(L);

    ddb_lua_loop_register(L);
    ddb_lua_qhost_register(L);

    lua_pushliteral(L, DDB_VERSION);
    lua_setfield(L, module, "version");

    lua_newtable(L);
    int features = lua_gettop(L);
    set_feature(L, features, "loop", 1);
#ifdef DDB_HAVE_LUA_VALUE
    ddb_lua_value_open(L, module);
    set_feature(L, features, "value", 1);
#else
    set_feature(L, features, "value", 0);
#endif
#ifdef DDB_HAVE_LUA_POOL
    ddb_lua_pool_open(L, module);
    ddb_lua_options_register(L, module);
    set_feature(L, features, "pool", 1);
#else
    set_feature(L, features, "pool", 0);
#endif
    lua_setfield(L, module, "features");

    lua_settop(L, module);
    return 1;
}
