/* lua_args.c — config tables, task arguments and outcomes for both Lua pool bindings
 * (see lua_args.h). */
#include "lua_args.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua_value.h"

#define ERRLEN 512

/* Seconds and counts are bounded before they reach C: a NaN, an infinity or 1e300
 * converted to an integer (the core turns seconds into uint64_t milliseconds) is
 * undefined behaviour, and no real setting needs more than ~30 years. */
#define MAX_MAGNITUDE 1e9

static int is_int_value(double v)
{
    return v >= INT_MIN && v <= INT_MAX && v == floor(v);
}

/* ---- config tables ------------------------------------------------------------ */

/* One option: its key in the config table and the name the user wrote. */
typedef struct opt_name {
    const char *field, *shown;
} opt_name;

static int opt_present(lua_State *L, int cfg, opt_name o)
{
    lua_getfield(L, cfg, o.field);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    return 1;
}

static const char *opt_string(lua_State *L, int cfg, opt_name o, const char *dflt)
{
    if (!opt_present(L, cfg, o)) return dflt;
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "dolphindb: option '%s' must be a string", o.shown);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);   /* anchored by the config table */
    if (strlen(s) != len)       /* C would read only the text before the NUL */
        luaL_error(L, "dolphindb: option '%s' contains a NUL byte", o.shown);
    lua_pop(L, 1);
    return s;
}

static double opt_number(lua_State *L, int cfg, opt_name o, double dflt)
{
    if (!opt_present(L, cfg, o)) return dflt;
    if (lua_type(L, -1) != LUA_TNUMBER)
        luaL_error(L, "dolphindb: option '%s' must be a number", o.shown);
    double v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (!(v >= -MAX_MAGNITUDE && v <= MAX_MAGNITUDE))
        luaL_error(L, "dolphindb: option '%s' must be a number in -1e9..1e9", o.shown);
    return v;
}

static int opt_int(lua_State *L, int cfg, opt_name o, int dflt)
{
    double v = opt_number(L, cfg, o, dflt);
    if (!is_int_value(v)) luaL_error(L, "dolphindb: option '%s' must be an integer", o.shown);
    return (int)v;
}

static int opt_bool(lua_State *L, int cfg, opt_name o, int dflt)
{
    if (!opt_present(L, cfg, o)) return dflt;
    if (lua_type(L, -1) != LUA_TBOOLEAN)
        luaL_error(L, "dolphindb: option '%s' must be a boolean", o.shown);
    int v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* A byte count: an integer in 1..2^53 (a double holds it exactly); 0 when absent. */
static int64_t bytes_value(lua_State *L, int idx, const char *shown)
{
    if (lua_type(L, idx) != LUA_TNUMBER)
        luaL_error(L, "dolphindb: option '%s' must be a number of bytes", shown);
    double v = lua_tonumber(L, idx);
    if (!(v >= 1 && v <= 9007199254740992.0) || v != floor(v))
        luaL_error(L, "dolphindb: option '%s' must be an integer number of bytes in "
                   "1..2^53", shown);
    return (int64_t)v;
}

static int64_t opt_bytes(lua_State *L, int cfg, opt_name o)
{
    if (!opt_present(L, cfg, o)) return 0;
    int64_t v = bytes_value(L, -1, o.shown);
    lua_pop(L, 1);
    return v;
}

/* sites = { {host=, port=}, ... } -> array (left on the stack as a userdata). */
static ddb_site *opt_sites(lua_State *L, int cfg, int *nsites)
{
    static const opt_name sites_opt = { "sites", "highAvailabilitySites" };
    static const opt_name host = { "host", "highAvailabilitySites[i].host" },
                          port = { "port", "highAvailabilitySites[i].port" };
    *nsites = 0;
    if (!opt_present(L, cfg, sites_opt)) return NULL;
    if (!lua_istable(L, -1))
        luaL_error(L, "dolphindb: option 'highAvailabilitySites' must be a list");
    int list = lua_gettop(L);
    int n = (int)lua_objlen(L, list);
    if (n == 0) {
        lua_pop(L, 1);
        return NULL;
    }
    ddb_site *sites = lua_newuserdata(L, (size_t)n * sizeof *sites);   /* GC-owned */
    lua_insert(L, list);          /* keep it below the list while we read */
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, list + 1, i + 1);
        int site = lua_gettop(L);
        if (!lua_istable(L, site))
            luaL_error(L, "dolphindb: highAvailabilitySites[%d] must be {host=, port=}", i + 1);
        sites[i].host = opt_string(L, site, host, NULL);
        sites[i].port = opt_int(L, site, port, 0);
        if (!sites[i].host)
            luaL_error(L, "dolphindb: highAvailabilitySites[%d] has no host", i + 1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);                /* the list; the array userdata stays on the stack */
    *nsites = n;
    return sites;
}

#define OPT(field, shown) ((opt_name){ field, shown })

void ddb_lua_read_pool_config(lua_State *L, int idx, ddb_pool_config *cfg)
{
    if (idx < 0 && idx > LUA_REGISTRYINDEX) idx = lua_gettop(L) + idx + 1;
    ddb_pool_config_init(cfg);
    cfg->host = opt_string(L, idx, OPT("host", "host"), NULL);
    cfg->port = opt_int(L, idx, OPT("port", "port"), cfg->port);
    cfg->thread_num = opt_int(L, idx, OPT("thread_num", "threadNum"), cfg->thread_num);
    cfg->userid = opt_string(L, idx, OPT("userid", "userid"), NULL);
    cfg->password = opt_string(L, idx, OPT("password", "password"), NULL);
    cfg->login_in_connect = opt_bool(L, idx, OPT("login_in_connect", "loginInConnect"),
                                     cfg->login_in_connect);
    cfg->initial_script = opt_string(L, idx, OPT("initial_script", "initialScript"), NULL);
    cfg->reconnect = opt_bool(L, idx, OPT("reconnect", "reConnect"), cfg->reconnect);
    cfg->open_lazily = opt_bool(L, idx, OPT("open_lazily", "openLazily"), cfg->open_lazily);
    cfg->try_reconnect_nums = opt_int(L, idx, OPT("try_reconnect_nums", "tryReconnectNums"),
                                      cfg->try_reconnect_nums);
    cfg->reconnect_delay = opt_number(L, idx, OPT("reconnect_delay", "reconnectDelay"),
                                      cfg->reconnect_delay);
    cfg->connect_timeout = opt_number(L, idx, OPT("connect_timeout", "connectTimeout"),
                                      cfg->connect_timeout);
    cfg->keepalive_sec = opt_int(L, idx, OPT("keepalive_sec", "keepAliveTime"), cfg->keepalive_sec);
    cfg->high_availability = opt_bool(L, idx, OPT("high_availability", "highAvailability"),
                                      cfg->high_availability);
    cfg->load_balance = opt_bool(L, idx, OPT("load_balance", "loadBalance"), cfg->load_balance);
    cfg->compress = opt_bool(L, idx, OPT("compress", "compress"), cfg->compress);
    cfg->queue_limit = opt_int(L, idx, OPT("queue_limit", "queueLimit"), cfg->queue_limit);
    cfg->task_timeout = opt_number(L, idx, OPT("task_timeout", "taskTimeout"), cfg->task_timeout);
    cfg->shutdown_grace = opt_number(L, idx, OPT("shutdown_grace", "shutdownGrace"),
                                     cfg->shutdown_grace);
    cfg->max_result_bytes = opt_bytes(L, idx, OPT("max_result_bytes", "maxResultBytes"));
    cfg->sites = opt_sites(L, idx, &cfg->nsites);
}

/* ---- task arguments ------------------------------------------------------------ */

static int opt_arg_int(lua_State *L, int idx, int dflt, const char *what)
{
    if (lua_isnoneornil(L, idx)) return dflt;
    lua_Number v = luaL_checknumber(L, idx);
    if (!is_int_value(v)) luaL_error(L, "dolphindb: %s must be an integer", what);
    return (int)v;
}

/* The task options at 4..9 (id, clear_memory, priority, parallelism, timeout,
 * max_result_bytes). */
static void read_task_options(lua_State *L, ddb_task_spec *spec)
{
    if (!lua_isnoneornil(L, 4)) {
        lua_Number id = luaL_checknumber(L, 4);
        if (!(id >= 0 && id <= 9007199254740992.0) || id != floor(id))
            luaL_error(L, "dolphindb: task id must be an integer >= 0");
        spec->has_id = 1;
        spec->id = (int64_t)id;
    }
    spec->clear_memory = lua_isnoneornil(L, 5) ? -1 : lua_toboolean(L, 5);
    spec->priority = opt_arg_int(L, 6, -1, "priority");
    spec->parallelism = opt_arg_int(L, 7, -1, "parallelism");
    spec->timeout = lua_isnoneornil(L, 8) ? 0 : luaL_checknumber(L, 8);
    if (!(spec->timeout >= -MAX_MAGNITUDE && spec->timeout <= MAX_MAGNITUDE))
        luaL_error(L, "dolphindb: timeout must be a number of seconds up to 1e9");
    if (!lua_isnoneornil(L, 9)) spec->max_result_bytes = bytes_value(L, 9, "maxResultBytes");
}

static void free_objs(ddb_obj **objs, int n)
{
    for (int i = 0; i < n; i++) ddb_obj_unref(objs[i]);
    free(objs);
}

/* The list at idx (n values) -> objects; raises naming the argument, holding nothing. */
static ddb_obj **convert_args(lua_State *L, int idx, int n)
{
    ddb_obj **objs = calloc((size_t)n, sizeof *objs);
    if (!objs) luaL_error(L, "dolphindb: out of memory");
    char err[ERRLEN];
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, idx, i + 1);
        objs[i] = ddb_lua_to_obj(L, -1, err, sizeof err);
        lua_pop(L, 1);
        if (!objs[i]) {
            free_objs(objs, i);
            const char *why = strncmp(err, "dolphindb: ", 11) == 0 ? err + 11 : err;
            luaL_error(L, "dolphindb: argument %d: %s", i + 1, why);
        }
    }
    return objs;
}

void ddb_lua_read_task(lua_State *L, int top, ddb_task_spec *spec)
{
    ddb_task_spec_init(spec);
    size_t len;
    spec->text = luaL_checklstring(L, 2, &len);
    /* The request carries the text as a C string: a NUL would silently cut it
     * ("1\0 + 2" would run "1", "add\0x" would call add). */
    const char *nul = memchr(spec->text, 0, len);
    if (nul)
        luaL_error(L, "dolphindb: the script (or function name) contains a NUL byte at "
                   "byte %d; the server would see only the text before it",
                   (int)(nul - spec->text) + 1);
    if (top > 3) read_task_options(L, spec);
    if (top < 3 || lua_isnil(L, 3)) return;
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_getfield(L, 3, "n");
    int nargs = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : (int)lua_objlen(L, 3);
    lua_pop(L, 1);
    if (nargs < 0 || nargs > 4096) luaL_error(L, "dolphindb: too many arguments");
    spec->kind = DDB_KIND_FUNCTION;
    if (nargs > 0) spec->args = convert_args(L, 3, nargs);   /* last: nothing to undo */
    spec->nargs = nargs;
}

void ddb_lua_task_args_free(ddb_task_spec *spec)
{
    /* convert_args made the array: the spec only lends it to the pool as const */
    free_objs((ddb_obj **)spec->args, spec->nargs);
    spec->args = NULL;
    spec->nargs = 0;
}

/* ---- outcomes ------------------------------------------------------------------- */

/* The kind of a failed task (docs/API.md "Errors"), from its terminal state and, for
 * FAILED, from what the core wrote right after "task <id>: " (ddb_pool.c's fixed
 * words, never the script, which comes last in parentheses). */
static const char *failure_kind(ddb_task *t, int state)
{
    if (state == DDB_TASK_CANCELLED) return "cancelled";
    if (state == DDB_TASK_ABANDONED) return "shutdown";
    if (ddb_task_server_error(t)) return "server";
    const char *e = ddb_task_error(t);
    const char *what = e ? strstr(e, ": ") : NULL;
    if (!what) return "connection";
    what += 2;
    if (strncmp(what, "timed out", 9) == 0) return "timeout";
    if (strncmp(what, "server error:", 13) == 0) return "server";
    if (strncmp(what, "pool is shut down", 17) == 0) return "shutdown";
    if (strncmp(what, "queue is full", 13) == 0) return "full";   /* the loop-thread driver */
    if (strncmp(what, "connection lost while running: ", 31) == 0) {
        /* "...: host:port: protocol error: ..." before the quoted script */
        const char *proto = strstr(what, ": protocol error: ");
        const char *quote = strstr(what, " (script: ");
        if (!quote) quote = strstr(what, " (function: ");
        if (!quote) quote = strstr(what, " (upload: ");
        if (proto && (!quote || proto < quote)) return "protocol";
    }
    return "connection";
}

static void set_string(lua_State *L, const char *k, const char *v)
{
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

int ddb_lua_push_failure(lua_State *L, ddb_task *t, const char *conv_error)
{
    int state = ddb_task_state(t);
    lua_createtable(L, 0, 5);
    set_string(L, "kind", conv_error ? "result" : failure_kind(t, state));
    if (conv_error) {
        const char *why = strncmp(conv_error, "dolphindb: ", 11) == 0 ? conv_error + 11
                                                                        : conv_error;
        lua_pushfstring(L, "dolphindb: task %f: %s", (lua_Number)ddb_task_id(t), why);
    } else {
        const char *e = ddb_task_error(t);
        if (e) lua_pushfstring(L, "dolphindb: %s", e);
        else lua_pushfstring(L, "dolphindb: task ended %s", ddb_task_state_name(state));
    }
    lua_setfield(L, -2, "message");
    lua_pushnumber(L, (lua_Number)ddb_task_id(t));
    lua_setfield(L, -2, "task_id");
    const char *se = ddb_task_server_error(t);
    if (se && !conv_error) set_string(L, "server_error", se);
    set_string(L, "state", ddb_task_state_name(state));
    return 1;
}

int ddb_lua_push_outcome(lua_State *L, ddb_task *t, int conv)
{
    int state = ddb_task_state(t);
    if (state == DDB_TASK_DONE) {
        ddb_obj *o = ddb_task_take_result(t);
        lua_pushboolean(L, 1);
        if (!o) {
            lua_pushnil(L);
            return 2;
        }
        int rc = ddb_lua_push_obj(L, o, conv);
        ddb_obj_unref(o);
        if (rc > 0) return 2;
        const char *why = lua_tostring(L, -1);
        lua_pushboolean(L, 0);
        ddb_lua_push_failure(L, t, why ? why : "cannot convert the result");
        return 2;
    }
    lua_pushboolean(L, 0);
    return 1 + ddb_lua_push_failure(L, t, NULL);
}

int ddb_lua_push_messages(lua_State *L, ddb_task *t)
{
    int n = ddb_task_msg_count(t);
    if (n == 0) return 0;
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, ddb_task_msg(t, i));
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}
