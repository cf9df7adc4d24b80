/* lua_task.c — tasks a caller holds: the task userdata (pool:submit's and
 * pool:find's, one task reference each, given back by its finalizer) and its methods;
 * and the tasks addTask knows by their user id, in the pool's id table (pool:find,
 * pool:finished, pool:take_id, pool:forget), which need no task object per call. */
#include "lua_pool_impl.h"

#include "lua_args.h"
#include "lua_value.h"

/* The userdata at `idx` if its metatable is the one at `mt` (an upvalue index), else
 * raises luaL_checkudata's kind of message. */
static void *check_kind(lua_State *L, int idx, int mt, const char *what)
{
    void *p = lua_touserdata(L, idx);
    if (p && lua_getmetatable(L, idx)) {
        int same = lua_rawequal(L, -1, mt);
        lua_pop(L, 1);
        if (same) return p;
    }
    luaL_typerror(L, idx, what);
    return NULL;
}

lua_task *ddb_lua_push_task(lua_State *L, ddb_task *t)
{
    lua_task *lt = lua_newuserdata(L, sizeof *lt);
    lt->task = t;
    lua_pushvalue(L, TASK_MT_UPVALUE);
    lua_setmetatable(L, -2);
    return lt;
}

static lua_task *check_task(lua_State *L, int idx)
{
    lua_task *lt = check_kind(L, idx, TASK_MT_UPVALUE, TASK_MT);
    if (!lt->task) luaL_error(L, "dolphindb: invalid task handle");
    return lt;
}

static int l_task_state(lua_State *L)
{
    lua_pushstring(L, ddb_task_state_name(ddb_task_state(check_task(L, 1)->task)));
    return 1;
}

static int l_task_terminal(lua_State *L)
{
    lua_pushboolean(L, ddb_task_state_is_terminal(ddb_task_state(check_task(L, 1)->task)));
    return 1;
}

static int l_task_id(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)ddb_task_id(check_task(L, 1)->task));
    return 1;
}

static int l_task_text(lua_State *L)
{
    lua_pushstring(L, ddb_task_text(check_task(L, 1)->task));
    return 1;
}

/* task:outcome([conv]) -> true, value | false, message */
static int l_task_outcome(lua_State *L)
{
    return ddb_lua_push_outcome(L, check_task(L, 1)->task, ddb_lua_conv_arg(L, 2));
}

static int l_task_error(lua_State *L)
{
    const char *e = ddb_task_error(check_task(L, 1)->task);
    if (e) lua_pushstring(L, e); else lua_pushnil(L);
    return 1;
}

static int l_task_server_error(lua_State *L)
{
    const char *e = ddb_task_server_error(check_task(L, 1)->task);
    if (e) lua_pushstring(L, e); else lua_pushnil(L);
    return 1;
}

/* task:messages() -> list of print() lines, or nil when there are none (the common
 * case costs no table). */
static int l_task_messages(lua_State *L)
{
    return ddb_lua_push_messages(L, check_task(L, 1)->task);
}

static int l_task_elapsed(lua_State *L)
{
    lua_pushnumber(L, ddb_task_elapsed(check_task(L, 1)->task));
    return 1;
}

static int l_task_conn_index(lua_State *L)
{
    lua_pushinteger(L, ddb_task_conn_index(check_task(L, 1)->task) + 1);
    return 1;
}

int ddb_lua_task_gc(lua_State *L)
{
    lua_task *lt = check_kind(L, 1, TASK_MT_UPVALUE, TASK_MT);
    ddb_task_unref(lt->task);
    lt->task = NULL;
    return 0;
}

int ddb_lua_task_tostring(lua_State *L)
{
    lua_task *lt = check_kind(L, 1, TASK_MT_UPVALUE, TASK_MT);
    if (!lt->task) {
        lua_pushliteral(L, "dolphindb.task(released)");
        return 1;
    }
    lua_pushfstring(L, "dolphindb.task(%f, %s)", (lua_Number)ddb_task_id(lt->task),
                    ddb_task_state_name(ddb_task_state(lt->task)));
    return 1;
}

const luaL_Reg ddb_lua_task_methods[] = {
    {"state", l_task_state},     {"terminal", l_task_terminal}, {"id", l_task_id},
    {"text", l_task_text},       {"error", l_task_error},
    {"server_error", l_task_server_error}, {"messages", l_task_messages},
    {"elapsed", l_task_elapsed}, {"conn_index", l_task_conn_index},
    {"outcome", l_task_outcome},
    {NULL, NULL},
};

/* ---- tasks by user id (addTask) ------------------------------------------------ */

static int64_t check_user_id(lua_State *L, int idx)
{
    lua_Number id = luaL_checknumber(L, idx);
    if (id < 0 || id != (lua_Number)(int64_t)id || id > 9007199254740992.0)
        luaL_error(L, "dolphindb: task id must be an integer >= 0");
    return (int64_t)id;
}

/* pool:find(id) -> task | nil */
static int l_pool_find(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    int64_t id = check_user_id(L, 2);
    lua_task *lt = ddb_lua_push_task(L, NULL);
    lt->task = ddb_pool_find(lp->pool, id);
    if (!lt->task) lua_pushnil(L);
    return 1;
}

/* pool:finished(id) -> true once the task of that id ended, false before, nil for an
 * unknown id (isFinished without a task object per call). */
static int l_pool_finished(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    ddb_task *t = ddb_pool_find(lp->pool, check_user_id(L, 2));
    if (!t) return 0;
    lua_pushboolean(L, ddb_task_state_is_terminal(ddb_task_state(t)));
    ddb_task_unref(t);
    return 1;
}

/* pool:take_id(id[, conv]) -> ok, value | message, messages: getData's outcome of a
 * finished task, which the pool then forgets; nil, "pending" for a task not finished,
 * nothing for an unknown id (no task object per call either way). */
static int l_pool_take_id(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    int64_t id = check_user_id(L, 2);
    int conv = ddb_lua_conv_arg(L, 3);
    ddb_task *t = ddb_pool_find(lp->pool, id);
    if (!t) return 0;
    /* The id table holds the task until the forget below, and nothing in between
     * touches this pool's table: a push that raises leaks nothing. */
    ddb_task_unref(t);
    if (!ddb_task_state_is_terminal(ddb_task_state(t))) {
        lua_pushnil(L);
        lua_pushliteral(L, "pending");
        return 2;
    }
    int n = ddb_lua_push_outcome(L, t, conv);
    n += ddb_lua_push_messages(L, t);
    ddb_pool_forget(lp->pool, id);
    return n;
}

/* pool:forget(id) -> true if the id was known. */
static int l_pool_forget(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    lua_pushboolean(L, ddb_pool_forget(lp->pool, check_user_id(L, 2)) == DDB_OK);
    return 1;
}

const luaL_Reg ddb_lua_pool_id_methods[] = {
    {"find", l_pool_find},     {"forget", l_pool_forget},
    {"finished", l_pool_finished}, {"take_id", l_pool_take_id},
    {NULL, NULL},
};
