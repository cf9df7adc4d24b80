/* lua_args.c — config tables, task arguments and outcomes for both Lua pool bindings
 * (see lua_args.h). */
#include "lua_args.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua_options.h"
#include "lua_value.h"

#define ERRLEN 512

/* ---- task arguments ------------------------------------------------------------ */

/* The task id at 4 (nil: automatic) and the options table at 5. */
static void read_task_options(lua_State *L, ddb_task_spec *spec)
{
    if (!lua_isnoneornil(L, 4)) {
        lua_Number id = luaL_checknumber(L, 4);
        if (!(id >= 0 && id <= 9007199254740992.0) || id != floor(id))
            luaL_error(L, "dolphindb: task id must be an integer >= 0");
        spec->has_id = 1;
        spec->id = (int64_t)id;
    }
    ddb_lua_read_task_options(L, 5, spec);
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

/* The upload's names at 6: a list of as many strings as there are values. Checked
 * before anything is allocated; counted here, copied by upload_names. */
static int check_names(lua_State *L, int nargs)
{
    luaL_checktype(L, 6, LUA_TTABLE);
    int n = (int)lua_objlen(L, 6);
    if (n != nargs || n == 0)
        luaL_error(L, "dolphindb: an upload needs one name per value (%d names, %d values)",
                   n, nargs);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, 6, i);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "dolphindb: upload name %d must be a string, got %s", i,
                       luaL_typename(L, -1));
        lua_pop(L, 1);
    }
    return n;
}

/* The names as C strings, anchored by the list at 6 for as long as the submit runs
 * (the pool copies them into the request). Raises only for memory, after freeing
 * the converted values. */
static void upload_names(lua_State *L, ddb_task_spec *spec, int n)
{
    const char **names = malloc((size_t)n * sizeof *names);
    if (!names) {
        ddb_lua_task_args_free(spec);
        luaL_error(L, "dolphindb: out of memory");
    }
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, 6, i + 1);
        names[i] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    spec->names = names;
    spec->kind = DDB_KIND_UPLOAD;
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
    if (top < 3 || lua_isnil(L, 3)) {
        if (top >= 6 && !lua_isnil(L, 6))
            luaL_error(L, "dolphindb: an upload needs its values (argument 3)");
        return;
    }
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_getfield(L, 3, "n");
    int nargs = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : (int)lua_objlen(L, 3);
    lua_pop(L, 1);
    if (nargs < 0 || nargs > 4096) luaL_error(L, "dolphindb: too many arguments");
    int upload = top >= 6 && !lua_isnil(L, 6);
    if (upload) check_names(L, nargs);
    spec->kind = DDB_KIND_FUNCTION;
    if (nargs > 0) spec->args = convert_args(L, 3, nargs);   /* raises holding nothing */
    spec->nargs = nargs;
    if (upload) upload_names(L, spec, nargs);
}

void ddb_lua_task_args_free(ddb_task_spec *spec)
{
    /* convert_args made the array: the spec only lends it to the pool as const */
    free_objs((ddb_obj **)spec->args, spec->nargs);
    free((void *)spec->names);          /* upload_names' array; the strings are Lua's */
    spec->names = NULL;
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

void ddb_lua_set_int(lua_State *L, const char *k, int64_t v)
{
    lua_pushnumber(L, (lua_Number)v);
    lua_setfield(L, -2, k);
}

void ddb_lua_set_str(lua_State *L, const char *k, const char *v)
{
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}
