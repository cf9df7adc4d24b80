/* lua_pin.c — pinned connections, the pool userdata's side (src/pool/ddb_pin.h does
 * the work; the policy, the pinned connection object, is lua/dolphindb/pinned.lua):
 * a task of pool:run claims a pin, and pool:pin_run runs tasks on it like pool:run. */
#include "lua_pool_impl.h"

#include "ddb_pin.h"

/* pool:pin_claim(ticket): the task of pool:run held under ticket claims a pin. */
static int l_pool_pin_claim(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    char err[ERRLEN];
    if (ddb_pool_pin_claim(lp->pool, ddb_lua_check_held(L, lp, 2), err, sizeof err) != DDB_OK)
        return luaL_error(L, "dolphindb: %s", err);
    return 0;
}

/* pool:pin_take(ticket) -> the pin the claim got, or nil (its outcome, taken with
 * pool:finish, says why). */
static int l_pool_pin_take(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    int64_t pin = ddb_pool_pin_take(lp->pool, ddb_lua_check_held(L, lp, 2));
    if (pin <= 0) return 0;
    lua_pushnumber(L, (lua_Number)pin);
    return 1;
}

static int64_t check_pin(lua_State *L, int idx)
{
    lua_Number n = luaL_checknumber(L, idx);
    if (!(n >= 1 && n <= 9007199254740992.0) || n != (lua_Number)(int64_t)n)
        luaL_argerror(L, idx, "a pin expected");
    return (int64_t)n;
}

/* pool:pin_run(pin, ...) -> as pool:run, on the pin's connection. */
static int l_pool_pin_run(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    int64_t pin = check_pin(L, 2);
    lua_remove(L, 2);
    if (lua_held_reserve(&lp->held) != 0) return luaL_error(L, "dolphindb: out of memory");
    ddb_task *t = NULL;
    lp->pin = pin;                      /* ddb_lua_pool_submit reads and clears it first */
    double ticket = ddb_lua_pool_submit(L, lp, lua_gettop(L), &t);
    lua_held_put(&lp->held, ticket, t);
    lua_pushnumber(L, ticket);
    lua_pushnumber(L, (lua_Number)ddb_task_id(t));
    return 2;
}

/* pool:pin_alive(pin) -> true (held, its session there) or false (lost), and the
 * connection's number (1-based); nothing for an unknown or released pin. */
static int l_pool_pin_alive(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    int64_t pin = check_pin(L, 2);
    int alive = ddb_pool_pin_alive(lp->pool, pin);
    if (alive < 0) return 0;
    lua_pushboolean(L, alive);
    lua_pushinteger(L, ddb_pool_pin_conn(lp->pool, pin) + 1);
    return 2;
}

/* pool:unpin(pin) -> true, or false for an unknown pin. */
static int l_pool_unpin(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    lua_pushboolean(L, ddb_pool_unpin(lp->pool, check_pin(L, 2)) == DDB_OK);
    return 1;
}

const luaL_Reg ddb_lua_pin_methods[] = {
    {"pin_claim", l_pool_pin_claim}, {"pin_take", l_pool_pin_take}, {"pin_run", l_pool_pin_run},
    {"pin_alive", l_pool_pin_alive}, {"unpin", l_pool_unpin},
    {NULL, NULL},
};
