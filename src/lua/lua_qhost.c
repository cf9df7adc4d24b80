/* lua_qhost.c — the Lua face of the queue host (ddb_qhost.h), for a driver written in
 * Lua (lua/dolphindb/ngx_host.lua drives it with nginx cosockets and timers).
 *
 *   core.use_queue_host()          choose it, before any pool exists
 *   core.qhost_take(out) -> n      intents into out[1..2n] as op, stream id pairs
 *   core.qhost_target(id)          -> host, port, keepalive_sec[, verify, tls_name]
 *                                     (the last two for TLS) | nil (stream gone)
 *   core.qhost_connected(id)       reports: connected / bytes arrived / broke
 *   core.qhost_data(id, bytes)
 *   core.qhost_failed(id, why)
 *   core.qhost_output(id)          -> the bytes to send (a string) | nil (stream gone)
 *   core.qhost_run()               fire due timers, run pumps and deferred closes
 *   core.qhost_turn(intents, ready) -> n_intents, n_ready, due   run + both takes
 *   core.qhost_due(), core.qhost_now()  next work / now, on the host's ms clock
 *   core.Q_OPEN, Q_OUTPUT, Q_PAUSE, Q_RESUME, Q_CLOSE   the ops
 * Completed tasks' tickets are then taken with core.take_ready(out). Every function
 * raises when this Lua state uses libuv instead. */
#include "lua_qhost.h"

#include <stdint.h>

#include "lauxlib.h"
#include "ddb_qhost.h"
#include "lua_loop.h"

#define TAKE_BATCH 64

static ddb_qhost *upvalue_qhost(lua_State *L)
{
    ddb_lua_loop *loop = lua_touserdata(L, lua_upvalueindex(1));
    ddb_qhost *q = ddb_lua_loop_qhost(loop);
    if (!q) luaL_error(L, "dolphindb: this Lua state does not use the queue host");
    return q;
}

static int64_t check_id(lua_State *L, int idx)
{
    lua_Number n = luaL_checknumber(L, idx);
    if (!(n >= 1 && n <= 9007199254740992.0)) luaL_argerror(L, idx, "expected a stream id");
    return (int64_t)n;
}

static int l_take(lua_State *L)
{
    ddb_qhost *q = upvalue_qhost(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    ddb_qintent batch[TAKE_BATCH];
    int n = 0;
    size_t got;
    while ((got = ddb_qhost_take(q, batch, TAKE_BATCH)) > 0) {
        for (size_t i = 0; i < got; i++) {
            lua_pushinteger(L, batch[i].op);
            lua_rawseti(L, 1, ++n);
            lua_pushnumber(L, (lua_Number)batch[i].id);
            lua_rawseti(L, 1, ++n);
        }
    }
    lua_pushinteger(L, n / 2);
    return 1;
}

static int l_target(lua_State *L)
{
    ddb_qhost *q = upvalue_qhost(L);
    const char *name;
    int port, keepalive;
    int64_t id = check_id(L, 1);
    int tls, verify;
    const char *tls_name;
    if (ddb_qhost_target(q, id, &name, &port, &keepalive) != 0 ||
        ddb_qhost_target_tls(q, id, &tls, &verify, &tls_name) != 0) return 0;
    lua_pushstring(L, name);
    lua_pushinteger(L, port);
    lua_pushinteger(L, keepalive);
    if (!tls) return 3;
    lua_pushboolean(L, verify);
    lua_pushstring(L, tls_name);
    return 5;
}

static int l_connected(lua_State *L)
{
    ddb_qhost_connected(upvalue_qhost(L), check_id(L, 1));
    return 0;
}

static int l_data(lua_State *L)
{
    ddb_qhost *q = upvalue_qhost(L);
    int64_t id = check_id(L, 1);
    size_t n;
    const char *p = luaL_checklstring(L, 2, &n);
    ddb_qhost_data(q, id, p, n);
    return 0;
}

static int l_failed(lua_State *L)
{
    ddb_qhost *q = upvalue_qhost(L);
    int64_t id = check_id(L, 1);
    ddb_qhost_failed(q, id, luaL_optstring(L, 2, "the connection broke"));
    return 0;
}

static void put_piece(void *ud, const char *p, size_t n) { luaL_addlstring(ud, p, n); }

static int l_output(lua_State *L)
{
    ddb_qhost *q = upvalue_qhost(L);
    int64_t id = check_id(L, 1);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    if (ddb_qhost_output(q, id, put_piece, &b) < 0) return 0;
    luaL_pushresult(&b);
    return 1;
}

static int l_run(lua_State *L)
{
    ddb_qhost_run(upvalue_qhost(L));
    return 0;
}

/* core.qhost_turn(intents, ready) -> n_intents, n_ready, due: the driver's whole turn
 * in one call (run, take the intents, take the completed tickets) and the host-clock
 * time of the next work (-1: none armed). */
static int l_turn(lua_State *L)
{
    ddb_lua_loop *loop = lua_touserdata(L, lua_upvalueindex(1));
    ddb_qhost *q = upvalue_qhost(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    ddb_qhost_run(q);
    lua_settop(L, 2);
    l_take(L);                          /* pushes the intent count */
    lua_pushinteger(L, ddb_lua_loop_take_ready(L, loop, 2));
    lua_pushnumber(L, (lua_Number)ddb_qhost_next_due(q));
    return 3;
}

/* core.qhost_due() -> the host-clock time of the next work, -1 if none; core.qhost_now()
 * -> the host clock (ms, refreshed). */
static int l_due(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)ddb_qhost_next_due(upvalue_qhost(L)));
    return 1;
}

static int l_now(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)ddb_qhost_now(upvalue_qhost(L)));
    return 1;
}

void ddb_lua_qhost_register(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"qhost_take", l_take},           {"qhost_target", l_target},
        {"qhost_connected", l_connected}, {"qhost_data", l_data},
        {"qhost_failed", l_failed},       {"qhost_output", l_output},
        {"qhost_run", l_run},
        {"qhost_turn", l_turn},           {"qhost_due", l_due},
        {"qhost_now", l_now},
        {NULL, NULL},
    };
    static const struct { const char *name; int op; } ops[] = {
        {"Q_OPEN", DDB_Q_OPEN},     {"Q_OUTPUT", DDB_Q_OUTPUT}, {"Q_PAUSE", DDB_Q_PAUSE},
        {"Q_RESUME", DDB_Q_RESUME}, {"Q_CLOSE", DDB_Q_CLOSE},
    };
    int table = lua_gettop(L);
    for (const luaL_Reg *f = fns; f->name; f++) {
        ddb_lua_loop_push(L);
        lua_pushcclosure(L, f->func, 1);
        lua_setfield(L, table, f->name);
    }
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        lua_pushinteger(L, ops[i].op);
        lua_setfield(L, table, ops[i].name);
    }
}
