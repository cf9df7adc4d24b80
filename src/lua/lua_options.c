/* lua_options.c — every option of DBConnectionPool{...} and of a task, declared once.
 *
 * Each entry gives the name the user writes, its kind and range, where it goes in
 * the C config, and the default docs/API.md shows. The pool and task readers
 * below take the user's table as it is (no translation layer in Lua), refuse an
 * unknown name, and say what is wrong in the user's terms:
 *     option 'port' must be an integer in 1..65535, got string "x"
 * Options Lua handles (typed, view, show_output, ...) are declared here too (kind
 * LUA_*), so the list is complete: core.options() hands it to Lua, and
 * spec/docs_spec.lua checks docs/API.md against it. */
#include "lua_options.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "lauxlib.h"

enum {
    K_STRING,       /* const char * (no NUL byte) */
    K_INT,          /* int in min..max */
    K_SECONDS,      /* double in min..max */
    K_BOOL,         /* int 0/1 */
    K_BYTES,        /* int64_t in 1..2^53 */
    K_LOGIN,        /* int: "auto" | "scram" | "encrypted" | "plain" */
    K_SITES,        /* ddb_site *sites + nsites */
    K_LUA_BOOL,     /* handled in Lua: boolean */
    K_LUA_SECONDS,  /* handled in Lua: number >= 0 */
    K_LUA_STRING,   /* handled in Lua: string */
    K_LOGLEVEL,     /* int: "debug" | "info" | "warn" | "error" | "off" */
    K_LUA_FUNCTION, /* handled in Lua: function (or callable table) */
};

#define NONE (-1)
#define POOL(f) offsetof(ddb_pool_config, f)
#define TASK(f) offsetof(ddb_task_spec, f)
#define MAXN 1e9

typedef struct opt_decl {
    const char *name;
    int kind;
    ptrdiff_t off;          /* in ddb_pool_config / ddb_task_spec; NONE: Lua's */
    double min, max;
    int has_default;        /* the Lua API's default differs from the C API's */
    double dflt;
    const char *shown;      /* the default as docs/API.md shows it */
} opt_decl;

static const opt_decl pool_opts[] = {
    {"host", K_STRING, POOL(host), 0, 0, 0, 0, "required"},
    {"port", K_INT, POOL(port), 1, 65535, 0, 0, "required"},
    {"threadNum", K_INT, POOL(thread_num), 1, 4096, 1, 10, "10"},
    {"userid", K_STRING, POOL(userid), 0, 0, 0, 0, "none"},
    {"password", K_STRING, POOL(password), 0, 0, 0, 0, "none"},
    {"loginMethod", K_LOGIN, POOL(login_method), 0, 0, 0, 0, "\"auto\""},
    {"loginInConnect", K_BOOL, POOL(login_in_connect), 0, 0, 0, 0, "false"},
    {"initialScript", K_STRING, POOL(initial_script), 0, 0, 0, 0, "none"},
    {"reConnect", K_BOOL, POOL(reconnect), 0, 0, 1, 0, "false"},
    {"openLazily", K_BOOL, POOL(open_lazily), 0, 0, 0, 0, "false"},
    {"tryReconnectNums", K_INT, POOL(try_reconnect_nums), -1, MAXN, 0, 0, "-1"},
    {"reconnectDelay", K_SECONDS, POOL(reconnect_delay), 0, MAXN, 0, 0, "0.1"},
    {"connectTimeout", K_SECONDS, POOL(connect_timeout), 0, MAXN, 0, 0, "10"},
    {"keepAliveTime", K_INT, POOL(keepalive_sec), 0, MAXN, 0, 0, "30"},
    {"highAvailability", K_BOOL, POOL(high_availability), 0, 0, 0, 0, "false"},
    {"highAvailabilitySites", K_SITES, POOL(sites), 0, 0, 0, 0, "none"},
    {"loadBalance", K_BOOL, POOL(load_balance), 0, 0, 0, 0, "false"},
    {"compress", K_BOOL, POOL(compress), 0, 0, 0, 0, "false"},
    {"taskTimeout", K_SECONDS, POOL(task_timeout), 0, MAXN, 0, 0, "0"},
    {"cancelOnServer", K_BOOL, POOL(cancel_on_server), 0, 0, 0, 0, "true"},
    {"queueLimit", K_INT, POOL(queue_limit), 0, MAXN, 0, 0, "0"},
    {"shutdownGrace", K_SECONDS, POOL(shutdown_grace), 0, MAXN, 0, 0, "0"},
    {"maxResultBytes", K_BYTES, POOL(max_result_bytes), 0, 0, 0, 0, "2^30"},
    {"enableSSL", K_BOOL, POOL(enable_ssl), 0, 0, 0, 0, "false"},
    {"sslVerify", K_BOOL, POOL(ssl_verify), 0, 0, 0, 0, "true"},
    {"sslCAFile", K_STRING, POOL(ssl_ca_file), 0, 0, 0, 0, "the system's"},
    {"sslServerName", K_STRING, POOL(ssl_server_name), 0, 0, 0, 0, "the host"},
    {"show_output", K_LUA_BOOL, NONE, 0, 0, 0, 0, "true"},
    {"exitGrace", K_LUA_SECONDS, NONE, 0, 0, 0, 0, "5"},
    {"socketDir", K_LUA_STRING, NONE, 0, 0, 0, 0, "ignored"},
    {"logger", K_LUA_FUNCTION, NONE, 0, 0, 0, 0, "ddb.setLogger's"},
    {"logLevel", K_LOGLEVEL, POOL(log_level), 0, 0, 0, 0, "ddb.setLogger's"},
    {NULL, 0, 0, 0, 0, 0, 0, NULL},
};

static const opt_decl task_opts[] = {
    {"clearMemory", K_BOOL, TASK(clear_memory), 0, 0, 0, 0, "true"},
    {"priority", K_INT, TASK(priority), 0, 8, 0, 0, "4"},
    {"parallelism", K_INT, TASK(parallelism), 1, 64, 0, 0, "64"},
    {"timeout", K_SECONDS, TASK(timeout), 1e-9, MAXN, 0, 0, "taskTimeout"},
    {"maxResultBytes", K_BYTES, TASK(max_result_bytes), 0, 0, 0, 0, "the pool's"},
    {"fetchSize", K_INT, TASK(fetch_size), 0, 2147483647, 0, 0, "0"},
    {"onProgress", K_LUA_FUNCTION, NONE, 0, 0, 0, 0, "none"},
    {"progressInterval", K_LUA_SECONDS, NONE, 0, 0, 0, 0, "0.2"},
    {"typed", K_LUA_BOOL, NONE, 0, 0, 0, 0, "false"},
    {"view", K_LUA_BOOL, NONE, 0, 0, 0, 0, "by size"},
    {"pickleTableToList", K_LUA_BOOL, NONE, 0, 0, 0, 0, "false"},
    {NULL, 0, 0, 0, 0, 0, 0, NULL},
};

static const char *const login_names[] = { "auto", "scram", "encrypted", "plain" };
static const char *const level_names[] = { "debug", "info", "warn", "error", "off" };

static const opt_decl *find(const opt_decl *list, const char *name)
{
    for (const opt_decl *o = list; o->name; o++)
        if (!strcmp(o->name, name)) return o;
    return NULL;
}

/* The value at the top of the stack, as a message shows it. */
static const char *shown_value(lua_State *L, char *buf, size_t n)
{
    int t = lua_type(L, -1);
    if (t == LUA_TSTRING) snprintf(buf, n, "string \"%.60s\"", lua_tostring(L, -1));
    else if (t == LUA_TNUMBER) snprintf(buf, n, "%.17g", lua_tonumber(L, -1));
    else if (t == LUA_TBOOLEAN) snprintf(buf, n, "%s", lua_toboolean(L, -1) ? "true" : "false");
    else snprintf(buf, n, "%s", lua_typename(L, t));
    return buf;
}

static int wrong(lua_State *L, const opt_decl *o, const char *want)
{
    char v[96];
    return luaL_error(L, "dolphindb: option '%s' must be %s, got %s", o->name, want,
                      shown_value(L, v, sizeof v));
}

static double number_in(lua_State *L, const opt_decl *o, int integer)
{
    char want[80];
    if (o->min > 0 && o->min < 1e-6)
        snprintf(want, sizeof want, "a number of seconds > 0 (at most 1e9)");
    else snprintf(want, sizeof want, "%s in %.9g..%.9g", integer ? "an integer" : "a number", o->min, o->max);
    if (lua_type(L, -1) != LUA_TNUMBER) wrong(L, o, want);
    double v = lua_tonumber(L, -1);
    if (!(v >= o->min && v <= o->max) || (integer && v != floor(v))) wrong(L, o, want);
    return v;
}

static const char *string_value(lua_State *L, const opt_decl *o)
{
    if (lua_type(L, -1) != LUA_TSTRING) wrong(L, o, "a string");
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);  /* anchored by the user's table */
    const char *nul = memchr(s, 0, len);
    if (nul)   /* C would read only the text before it: "127.0.0.1\0evil" */
        luaL_error(L, "dolphindb: option '%s' contains a NUL byte (at byte %d)", o->name,
                   (int)(nul - s) + 1);
    return s;
}

/* highAvailabilitySites: a list of {host=, port=} (dolphindb.options turned the
 * "host:port" strings into tables); the array is a userdata left on the stack. */
static void read_sites(lua_State *L, const opt_decl *o, ddb_pool_config *cfg)
{
    if (!lua_istable(L, -1)) wrong(L, o, "a list of \"host:port\"");
    int list = lua_gettop(L);
    int n = (int)lua_objlen(L, list);
    if (n == 0) {
        lua_pop(L, 1);
        return;
    }
    ddb_site *sites = lua_newuserdata(L, (size_t)n * sizeof *sites);   /* GC-owned */
    lua_insert(L, list);
    for (int i = 0; i < n; i++) {
        char hname[48], pname[48];
        snprintf(hname, sizeof hname, "highAvailabilitySites[%d].host", i + 1);
        snprintf(pname, sizeof pname, "highAvailabilitySites[%d].port", i + 1);
        const opt_decl host = {hname, K_STRING, 0, 0, 0, 0, 0, 0},
                       port = {pname, K_INT, 0, 1, 65535, 0, 0, 0};
        lua_rawgeti(L, list + 1, i + 1);
        if (!lua_istable(L, -1))
            luaL_error(L, "dolphindb: highAvailabilitySites[%d] must be {host=, port=}", i + 1);
        lua_getfield(L, -1, "host");
        sites[i].host = string_value(L, &host);
        lua_pop(L, 1);
        lua_getfield(L, -1, "port");
        sites[i].port = (int)number_in(L, &port, 1);
        lua_pop(L, 2);
    }
    cfg->sites = sites;
    cfg->nsites = n;
    lua_remove(L, list + 1);    /* the list; the array userdata stays on the stack */
}

/* The index of the value at the top of the stack in names[0..n-1]; raises `want`
 * when it is not one of them. */
static int name_index(lua_State *L, const opt_decl *o, const char *const *names, int n,
                      const char *want)
{
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i]))
            return i;
    return wrong(L, o, want);
}

/* The value at the top of the stack is a function or a table with __call. */
static int is_callable(lua_State *L)
{
    if (lua_type(L, -1) == LUA_TFUNCTION) return 1;
    if (!lua_istable(L, -1) || !luaL_getmetafield(L, -1, "__call")) return 0;
    lua_pop(L, 1);
    return 1;
}

/* Stores the value at the top of the stack into the struct at base. */
static void store(lua_State *L, const opt_decl *o, char *base, ddb_pool_config *cfg)
{
    void *at = base + o->off;
    switch (o->kind) {
    case K_STRING: *(const char **)at = string_value(L, o); break;
    case K_INT: *(int *)at = (int)number_in(L, o, 1); break;
    case K_SECONDS: *(double *)at = number_in(L, o, 0); break;
    case K_BOOL:
        if (lua_type(L, -1) != LUA_TBOOLEAN) wrong(L, o, "a boolean");
        *(int *)at = lua_toboolean(L, -1);
        break;
    case K_BYTES: {
        static const char want[] = "an integer number of bytes in 1..2^53";
        if (lua_type(L, -1) != LUA_TNUMBER) wrong(L, o, want);
        double v = lua_tonumber(L, -1);
        if (!(v >= 1 && v <= 9007199254740992.0) || v != floor(v)) wrong(L, o, want);
        *(int64_t *)at = (int64_t)v;
        break;
    }
    case K_LOGIN:
        *(int *)at = name_index(L, o, login_names, 4,
                                "\"auto\", \"scram\", \"encrypted\" or \"plain\"");
        break;
    case K_LOGLEVEL:
        *(int *)at = name_index(L, o, level_names, 5,
                                "\"debug\", \"info\", \"warn\", \"error\" or \"off\"");
        break;
    case K_SITES: break;        /* after the loop: ddb_lua_read_pool_config */
    case K_LUA_BOOL: if (lua_type(L, -1) != LUA_TBOOLEAN) wrong(L, o, "a boolean"); break;
    case K_LUA_SECONDS: {
        static const opt_decl seconds = {0, 0, 0, 0, MAXN, 0, 0, 0};
        opt_decl d = seconds;
        d.name = o->name;
        number_in(L, &d, 0);
        break;
    }
    case K_LUA_STRING: string_value(L, o); break;
    case K_LUA_FUNCTION:
        if (!is_callable(L)) wrong(L, o, "a function");
        break;
    }
}

/* Reads every key of the table at idx against `list` into base; unknown names and
 * non-string keys (other than the positional ones a task table holds) raise. */
static void read_table(lua_State *L, int idx, const opt_decl *list, char *base,
                       ddb_pool_config *cfg, int allow_positional)
{
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            if (!allow_positional || lua_type(L, -2) != LUA_TNUMBER)
                luaL_error(L, "dolphindb: option names are strings, got a %s key",
                           lua_typename(L, lua_type(L, -2)));
            lua_pop(L, 1);
            continue;
        }
        const opt_decl *o = find(list, lua_tostring(L, -2));
        if (!o) luaL_error(L, "dolphindb: unknown option '%s'", lua_tostring(L, -2));
        store(L, o, base, cfg);
        lua_pop(L, 1);
    }
}

void ddb_lua_read_pool_config(lua_State *L, int idx, ddb_pool_config *cfg)
{
    if (idx < 0 && idx > LUA_REGISTRYINDEX) idx = lua_gettop(L) + idx + 1;
    luaL_checktype(L, idx, LUA_TTABLE);
    ddb_pool_config_init(cfg);
    cfg->host = NULL;
    for (const opt_decl *o = pool_opts; o->name; o++)       /* the Lua API's defaults */
        if (o->has_default && o->kind == K_BOOL) *(int *)((char *)cfg + o->off) = (int)o->dflt;
        else if (o->has_default && o->kind == K_INT) *(int *)((char *)cfg + o->off) = (int)o->dflt;
    read_table(L, idx, pool_opts, (char *)cfg, cfg, 0);
    lua_getfield(L, idx, "highAvailabilitySites");
    if (lua_isnil(L, -1)) lua_pop(L, 1);
    else read_sites(L, find(pool_opts, "highAvailabilitySites"), cfg);
    if (!cfg->host || !cfg->host[0]) luaL_error(L, "dolphindb: option 'host' must be a non-empty string");
    lua_getfield(L, idx, "port");
    if (lua_isnil(L, -1)) luaL_error(L, "dolphindb: option 'port' is required");
    lua_pop(L, 1);
    /* Both re-send or heal by reconnecting: reConnect = false contradicts them. */
    if (cfg->high_availability || cfg->open_lazily) {
        lua_getfield(L, idx, "reConnect");
        int refused = lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (refused)
            luaL_error(L, "dolphindb: %s needs reConnect (leave it unset or true)",
                       cfg->high_availability ? "highAvailability" : "openLazily");
        cfg->reconnect = 1;
    }
}

void ddb_lua_read_task_options(lua_State *L, int idx, ddb_task_spec *spec)
{
    if (lua_isnoneornil(L, idx)) return;
    luaL_checktype(L, idx, LUA_TTABLE);
    read_table(L, idx, task_opts, (char *)spec, NULL, 1);
}

static void push_list(lua_State *L, const opt_decl *list)
{
    lua_newtable(L);
    static const char *const kinds[] = { "string", "integer", "seconds", "boolean", "bytes",
                                         "login", "sites", "boolean", "seconds", "string",
                                         "loglevel", "function" };
    for (const opt_decl *o = list; o->name; o++) {
        lua_newtable(L);
        lua_pushstring(L, kinds[o->kind]);
        lua_setfield(L, -2, "kind");
        lua_pushstring(L, o->shown);
        lua_setfield(L, -2, "default");
        lua_pushboolean(L, o->off == NONE);
        lua_setfield(L, -2, "lua");
        lua_setfield(L, -2, o->name);
    }
}

/* core.options() -> { pool = {name = {kind=, default=, lua=}}, task = {...} } */
static int l_options(lua_State *L)
{
    lua_newtable(L);
    push_list(L, pool_opts);
    lua_setfield(L, -2, "pool");
    push_list(L, task_opts);
    lua_setfield(L, -2, "task");
    return 1;
}

void ddb_lua_options_register(lua_State *L, int module)
{
    lua_pushcfunction(L, l_options);
    lua_setfield(L, module, "options");
}
