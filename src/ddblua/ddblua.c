/* ddblua — a LuaJIT host that runs a script under the dolphindb scheduler.
 *
 *   ddblua [options] script.lua [args...]
 *   ddblua -e "code" [-e "more code"] [script [args...]]
 *
 * The script runs as the first coroutine of the scheduler (so pool:run() in the main
 * chunk yields instead of blocking), then the loop keeps running until every spawned
 * coroutine has finished and no operation is pending. A script can therefore spawn
 * work and simply end. Exit status: 0, or 1 when the script (or a spawned coroutine
 * whose error nobody retrieved) raised; 2 for a usage error.
 *
 * The module is looked up next to this binary (<dir>/lua), under the prefix that
 * holds it (<dir>/../share/lua/5.1, <dir>/../lib/lua/5.1: an install or a LuaRocks
 * tree; DDB_INSTALL_LUA_LDIR/CDIR, relative to <dir>, when the install layout differs)
 * and, for the build-tree binary only, in the source tree it was built from
 * (DDB_SOURCE_LUA_DIR), before the usual LUA_PATH/LUA_CPATH. The installed binary
 * holds no build-time path (src/lua.cmake builds it without DDB_SOURCE_LUA_DIR).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"
#include "luajit.h"

#ifndef DDB_VERSION
#error "DDB_VERSION comes from the VERSION file through CMake"
#endif

static const char usage_text[] =
    "usage: ddblua [options] [script [args...]]\n"
    "       ddblua -e code [-e code...] [script [args...]]\n"
    "\n"
    "Runs a Lua script as the first coroutine of the dolphindb scheduler, then keeps\n"
    "the event loop running until every spawned coroutine has finished and no\n"
    "operation is pending. pool:run() in the main chunk parks the script instead of\n"
    "blocking, so a script can spawn work with ddb.spawn() and simply end.\n"
    "\n"
    "options:\n"
    "  -e code        run `code` (may be repeated; runs before the script, if any)\n"
    "  -              read the script from standard input\n"
    "  --             stop handling options; the next word is the script\n"
    "  -h, --help     print this help and exit\n"
    "  -v, --version  print the ddblua and LuaJIT versions and exit\n"
    "\n"
    "arguments: the global table `arg` holds the script name at index 0 and its\n"
    "arguments at 1..n (also passed as `...`), ddblua and its options at -1, -2...\n"
    "\n"
    "module search (before LUA_PATH / LUA_CPATH and LuaJIT's defaults):\n"
    "  <dir of ddblua>/lua                          a build tree (build/lua/...)\n"
    "  <dir of ddblua>/../share/lua/5.1, ../lib/lua/5.1   an install prefix or a\n"
    "                                               LuaRocks tree\n"
#ifdef DDB_SOURCE_LUA_DIR
    "  " DDB_SOURCE_LUA_DIR "   (the source tree it was built from)\n"
#endif
#ifdef DDB_INSTALL_LUA_LDIR
    "  <dir of ddblua>/" DDB_INSTALL_LUA_LDIR ", " DDB_INSTALL_LUA_CDIR "\n"
#endif
    "\n"
    "exit status: 0 on success; 1 when the script cannot be read or compiled, or\n"
    "when it (or a spawned coroutine whose error nobody retrieved) raised: the\n"
    "traceback goes to stderr; 2 on a usage error (unknown option, -e without\n"
    "code, neither a script nor -e code).\n"
    "\n"
    "examples:\n"
    "  ddblua examples/seed_run_coroutines.lua\n"
    "  ddblua -e 'local ddb = require \"dolphindb\"; print(ddb._VERSION)'\n"
    "  echo 'print(1)' | ddblua -\n";

static const char usage_hint[] = "run 'ddblua --help' for the options\n";

typedef struct host_args {
    const char **chunks;    /* -e code, in order */
    int nchunks;
    int script;             /* index in argv of the script (or "-"), or 0 when none */
} host_args;

static int report(lua_State *L, const char *what)
{
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "ddblua: %s%s%s\n", what, msg ? ": " : "", msg ? msg : "");
    lua_pop(L, 1);
    return 1;
}

static int traceback_handler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Directory of the running executable, or "." when /proc is not available. */
static void exe_dir(char *out, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    if (n <= 0) {
        snprintf(out, size, ".");
        return;
    }
    out[n] = '\0';
    char *slash = strrchr(out, '/');
    if (slash && slash != out) *slash = '\0';
}

/* package[field] = prefix .. ";" .. package[field] */
static void prepend_path(lua_State *L, const char *field, const char *prefix)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, field);
    const char *old = lua_tostring(L, -1);
    lua_pushfstring(L, "%s;%s", prefix, old ? old : "");
    lua_setfield(L, -3, field);
    lua_pop(L, 2);
}

/* Search order: a build tree (<dir>/lua), an install prefix or LuaRocks tree that
 * holds this binary in bin/ (<dir>/../share/lua/5.1, <dir>/../lib/lua/5.1: so an
 * installed tree can be moved), the source tree (build-tree binary only), the
 * configured install layout relative to <dir>. */
static void set_module_paths(lua_State *L)
{
    char dir[PATH_MAX];
    exe_dir(dir, sizeof dir);
    lua_pushfstring(L, "%s/lua/?.lua;%s/lua/?/init.lua;"
                       "%s/../share/lua/5.1/?.lua;%s/../share/lua/5.1/?/init.lua;"
#ifdef DDB_SOURCE_LUA_DIR
                       DDB_SOURCE_LUA_DIR "/?.lua;" DDB_SOURCE_LUA_DIR "/?/init.lua;"
#endif
#ifdef DDB_INSTALL_LUA_LDIR
                       "%s/" DDB_INSTALL_LUA_LDIR "/?.lua;%s/" DDB_INSTALL_LUA_LDIR "/?/init.lua"
#endif
                    , dir, dir, dir, dir
#ifdef DDB_INSTALL_LUA_LDIR
                    , dir, dir
#endif
                    );
    prepend_path(L, "path", lua_tostring(L, -1));
    lua_pop(L, 1);
    lua_pushfstring(L, "%s/lua/?.so;%s/../lib/lua/5.1/?.so"
#ifdef DDB_INSTALL_LUA_CDIR
                       ";%s/" DDB_INSTALL_LUA_CDIR "/?.so"
#endif
                    , dir, dir
#ifdef DDB_INSTALL_LUA_CDIR
                    , dir
#endif
                    );
    prepend_path(L, "cpath", lua_tostring(L, -1));
    lua_pop(L, 1);
}

/* Like luajit: arg[0] = the script, arg[1..] = its arguments, arg[-k..-1] = the host
 * and its options. Without a script every word is at a negative index. */
static void set_arg_table(lua_State *L, int argc, char **argv, int script_index)
{
    int zero = script_index > 0 ? script_index : argc;
    lua_createtable(L, argc - zero, zero + 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - zero);
    }
    lua_setglobal(L, "arg");
}

static int parse_args(int argc, char **argv, host_args *out)
{
    out->chunks = calloc((size_t)argc, sizeof *out->chunks);
    out->nchunks = 0;
    out->script = 0;
    if (!out->chunks) return -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-e") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ddblua: '-e' needs an argument (the code to run)\n%s",
                        usage_hint);
                return 2;
            }
            out->chunks[out->nchunks++] = argv[++i];
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            return 3;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
            printf("ddblua %s (%s)\n", DDB_VERSION, LUAJIT_VERSION);
            return 3;
        } else if (strcmp(a, "--") == 0) {
            if (i + 1 < argc) {
                out->script = i + 1;
                return 0;
            }
            break;                          /* "--" last: as if nothing followed */
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "ddblua: unknown option '%s'\n%s", a, usage_hint);
            return 2;
        } else {
            out->script = i;
            return 0;
        }
    }
    if (out->nchunks == 0) {
        fprintf(stderr, "ddblua: no script given (and no -e code)\n"
                        "usage: ddblua [options] [script [args...]]\n%s", usage_hint);
        return 2;
    }
    return 0;
}

/* Compiles the -e chunks and the script into one function on the stack: the -e chunks
 * run first, then the script with the script arguments as `...`. */
static int load_program(lua_State *L, char **argv, const host_args *a)
{
    for (int i = 0; i < a->nchunks; i++) {
        if (luaL_loadbuffer(L, a->chunks[i], strlen(a->chunks[i]), "=(command line)") != 0)
            return report(L, "cannot compile -e chunk");
    }
    if (a->script) {
        const char *name = argv[a->script];
        int rc = strcmp(name, "-") == 0 ? luaL_loadfile(L, NULL) : luaL_loadfile(L, name);
        if (rc != 0) return report(L, "cannot load script");
    }
    /* Bundle: a Lua function that calls each chunk in order, the last with `...`. */
    int n = a->nchunks + (a->script ? 1 : 0);
    static const char runner[] =
        "local n = select('#', ...)\n"
        "local chunks = {...}\n"
        "return function(...)\n"
        "  for i = 1, n - 1 do chunks[i]() end\n"
        "  return chunks[n](...)\n"
        "end\n";
    if (luaL_loadbuffer(L, runner, sizeof runner - 1, "=ddblua") != 0)
        return report(L, "internal error");
    lua_insert(L, -n - 1);
    if (lua_pcall(L, n, 1, 0) != 0) return report(L, "internal error");
    return 0;
}

/* Runs the program function (top of stack) via sched.host_main; returns exit status. */
static int run_under_scheduler(lua_State *L, int argc, char **argv, int first_arg)
{
    int program = lua_gettop(L);
    lua_pushcfunction(L, traceback_handler);
    int handler = lua_gettop(L);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "dolphindb.sched");
    if (lua_pcall(L, 1, 1, handler) != 0) return report(L, "cannot load the dolphindb module");
    lua_getfield(L, -1, "host_main");
    lua_remove(L, -2);
    lua_pushvalue(L, program);
    int nargs = 0;
    for (int i = first_arg; i < argc; i++, nargs++) lua_pushstring(L, argv[i]);
    if (lua_pcall(L, nargs + 1, 1, handler) != 0) return report(L, "internal error");
    int status = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return status;
}

/* A server that resets its connection must not kill the host (SIGPIPE on the next
 * write): same policy as the library's ddb_ignore_sigpipe, which this program does
 * not link; a non-default action inherited from the parent is kept. */
static void ignore_sigpipe(void)
{
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && !(sa.sa_flags & SA_SIGINFO) &&
        sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
    ignore_sigpipe();
    host_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc == -1) {
        fprintf(stderr, "ddblua: out of memory\n");
        return 1;
    }
    if (rc != 0) {
        free(a.chunks);
        return rc == 3 ? 0 : rc;
    }
    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "ddblua: cannot create a Lua state\n");
        free(a.chunks);
        return 1;
    }
    luaL_openlibs(L);
    set_module_paths(L);
    set_arg_table(L, argc, argv, a.script);
    int status = load_program(L, argv, &a);
    if (status == 0) {
        int first_arg = a.script ? a.script + 1 : argc;
        status = run_under_scheduler(L, argc, argv, first_arg);
    }
    fflush(stdout);
    lua_close(L);   /* finalizers close the pools and the event loop */
    free(a.chunks);
    return status;
}
