/* lua_core.c — luaopen_dolphindb_core: the C half of the `dolphindb` Lua module.
 *
 * The module table gathers the parts: the Lua state's host and its tickets
 * (lua_loop.c: libuv, or the queue host through lua_qhost.c inside nginx), value
 * conversion and the codec (lua_value.c), the pool binding (lua_pool.c and the files
 * lua_pool_impl.h names) and the option declarations (lua_options.c).
 */
#if !defined(_WIN32)
#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* dladdr */
#endif
#include <dlfcn.h>
#endif

#include "lua.h"
#include "lauxlib.h"

#include "dolphindb.h"
#include "lua_loop.h"
#include "lua_options.h"
#include "lua_pool.h"
#include "lua_qhost.h"
#include "lua_sub.h"
#include "lua_value.h"

#ifndef DDB_VERSION
#error "DDB_VERSION comes from the VERSION file through CMake"
#endif

#if defined(_WIN32)
#define DDB_EXPORT __declspec(dllexport)
#else
#define DDB_EXPORT __attribute__((visibility("default")))
#endif

/* lua_close finalizes the library's handle (dlclose) in its first round, then the
 * objects that finalizers created meanwhile (a __gc that opens a pool at exit): their
 * __gc would then call into unmapped code. Holding one more reference, with
 * RTLD_NODELETE, keeps this library mapped until the process ends. */
static void keep_loaded(void)
{
#if !defined(_WIN32)
    Dl_info info;
    if (dladdr((void *)keep_loaded, &info) && info.dli_fname)
        (void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
#endif
}

DDB_EXPORT int luaopen_dolphindb_core(lua_State *L)
{
    keep_loaded();
    /* A reset connection must not kill a plain `luajit` process (dolphindb.h,
     * "SIGPIPE"): ignore it from the moment the module is loaded. */
    ddb_ignore_sigpipe();
    lua_newtable(L);
    int module = lua_gettop(L);
    ddb_lua_loop_register(L);
    ddb_lua_qhost_register(L);
    lua_pushliteral(L, DDB_VERSION);
    lua_setfield(L, module, "version");
    ddb_lua_value_open(L, module);
    ddb_lua_pool_open(L, module);
    ddb_lua_sub_open(L, module);
    ddb_lua_options_register(L, module);
    lua_settop(L, module);
    return 1;
}
