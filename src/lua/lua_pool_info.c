/* lua_pool_info.c — what the pool userdata tells about its pool: state, error,
 * counters and each connection (read only). */
#include "lua_pool_impl.h"

#include "lua_args.h"

static int l_pool_state(lua_State *L)
{
    lua_pool *lp = to_pool(L, 1);
    lua_pushstring(L, lp->pool ? ddb_pool_state_name(ddb_pool_state(lp->pool)) : "CLOSED");
    return 1;
}

static int l_pool_error(lua_State *L)
{
    lua_pushstring(L, ddb_pool_error(check_pool(L)->pool));
    return 1;
}

static int l_pool_stats(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    ddb_pool_stats s;
    ddb_pool_get_stats(lp->pool, &s);
    lua_createtable(L, 0, 13);
    ddb_lua_set_int(L, "queued", s.queued);
    ddb_lua_set_int(L, "running", s.running);
    ddb_lua_set_int(L, "done", s.done);
    ddb_lua_set_int(L, "failed", s.failed);
    ddb_lua_set_int(L, "cancelled", s.cancelled);
    ddb_lua_set_int(L, "abandoned", s.abandoned);
    ddb_lua_set_int(L, "conns", s.conns);
    ddb_lua_set_int(L, "conns_ready", s.conns_ready);
    ddb_lua_set_int(L, "conns_busy", s.conns_busy);
    ddb_lua_set_int(L, "inflight", lp->inflight);
    ddb_lua_set_int(L, "held", (int64_t)lp->held.n);
    lua_pushstring(L, ddb_pool_state_name(ddb_pool_state(lp->pool)));
    lua_setfield(L, -2, "state");
    return 1;
}

static int l_pool_conn_count(lua_State *L)
{
    lua_pushinteger(L, ddb_pool_conn_count(check_pool(L)->pool));
    return 1;
}

/* pool:conn_info(i) (1-based) -> table | nil */
static int l_pool_conn_info(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    ddb_conn_info ci;
    if (ddb_pool_conn_info(lp->pool, (int)luaL_checkinteger(L, 2) - 1, &ci) != DDB_OK) {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, 7);
    lua_pushstring(L, ddb_conn_state_name(ci.state));
    lua_setfield(L, -2, "state");
    lua_pushstring(L, ci.host);
    lua_setfield(L, -2, "host");
    ddb_lua_set_int(L, "port", ci.port);
    lua_pushstring(L, ci.session_id);
    lua_setfield(L, -2, "session_id");
    ddb_lua_set_int(L, "tasks_run", ci.tasks_run);
    ddb_lua_set_int(L, "reconnects", ci.reconnects);
    lua_pushstring(L, ci.last_error);
    lua_setfield(L, -2, "last_error");
    return 1;
}

const luaL_Reg ddb_lua_pool_info_methods[] = {
    {"state", l_pool_state},   {"error", l_pool_error},   {"stats", l_pool_stats},
    {"conn_count", l_pool_conn_count}, {"conn_info", l_pool_conn_info},
    {NULL, NULL},
};
