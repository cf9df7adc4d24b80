/* lua_fetch.c — the fetch userdata (see lua_fetch.h). */
#include "lua_fetch.h"

#include <string.h>

#include "lauxlib.h"
#include "lua_args.h"
#include "ddb_task.h"
#include "lua_value.h"

#define FETCH_MT "dolphindb.fetch"

struct lua_fetch {
    ddb_task *task;             /* one reference; NULL until set */
    ddb_pool *pool;             /* NULL once the pool was freed */
    ddb_lua_loop *loop;
    lua_fetch_list *list;       /* NULL once detached */
    lua_fetch *prev, *next;
    double wait;                /* ticket completed at the next block or the end */
};

static void unlink_fetch(lua_fetch *f)
{
    if (!f->list)
        return;
    if (f->prev)
        f->prev->next = f->next;
    else
        f->list->head = f->next;
    if (f->next)
        f->next->prev = f->prev;
    f->prev = f->next = NULL;
    f->list = NULL;
}

static void drop_wait(lua_fetch *f)
{
    if (f->wait && f->loop)
        ddb_lua_ticket_drop(f->loop, f->wait);
    f->wait = 0;
}

void ddb_lua_fetch_wake(lua_fetch_list *list, ddb_lua_loop *loop, ddb_task *t)
{
    for (lua_fetch *f = list->head; f; f = f->next) {
        if (f->task == t && f->wait) {
            ddb_lua_ticket_complete(loop, f->wait);
            f->wait = 0;
        }
    }
}

void ddb_lua_fetch_detach_all(lua_fetch_list *list, ddb_lua_loop *loop)
{
    (void)loop;
    while (list->head) {
        lua_fetch *f = list->head;
        drop_wait(f);
        f->pool = NULL;
        unlink_fetch(f);
    }
}

void ddb_lua_fetch_set_task(lua_fetch *f, ddb_task *t)
{
    f->task = t;
}

static lua_fetch *check_fetch(lua_State *L)
{
    lua_fetch *f = luaL_checkudata(L, 1, FETCH_MT);
    if (!f->task) luaL_error(L, "dolphindb: invalid fetch handle");
    return f;
}

/* The pool, or an error for a fetch whose pool has been freed. */
static ddb_pool *live_pool(lua_State *L, lua_fetch *f)
{
    if (!f->pool) luaL_error(L, "dolphindb: the pool of this fetch has been freed");
    return f->pool;
}

static int terminal(const lua_fetch *f)
{
    return ddb_task_state_is_terminal(ddb_task_state(f->task));
}

/* f:take([conv]) -> block | nil (none ready) | false, message (conversion failed) */
static int l_take(lua_State *L)
{
    lua_fetch *f = check_fetch(L);
    int conv = ddb_lua_conv_arg(L, 2);
    ddb_obj *b = ddb_task_take_block(live_pool(L, f), f->task);
    if (!b) {
        lua_pushnil(L);
        return 1;
    }
    int rc = ddb_lua_push_obj(L, b, conv);
    ddb_obj_unref(b);
    if (rc > 0) return 1;
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
}

/* f:wait() -> ticket, or nil when a block is ready or the task ended. */
static int l_wait(lua_State *L)
{
    lua_fetch *f = check_fetch(L);
    live_pool(L, f);
    if (terminal(f) || f->task->block) {
        lua_pushnil(L);
        return 1;
    }
    if (!f->wait) {
        f->wait = ddb_lua_ticket_new(f->loop);
        if (!f->wait) return luaL_error(L, "dolphindb: out of memory (or 2^24 operations pending)");
    }
    lua_pushnumber(L, f->wait);
    return 1;
}

static int l_state(lua_State *L)
{
    lua_pushstring(L, ddb_task_state_name(ddb_task_state(check_fetch(L)->task)));
    return 1;
}

/* f:outcome([conv]) -> true, value | false, message (a terminal task) */
static int l_outcome(lua_State *L)
{
    lua_fetch *f = check_fetch(L);
    if (!terminal(f)) return luaL_error(L, "dolphindb: the fetch has not ended");
    return ddb_lua_push_outcome(L, f->task, ddb_lua_conv_arg(L, 2));
}

static int l_messages(lua_State *L)
{
    return ddb_lua_push_messages(L, check_fetch(L)->task);
}

static int l_blockwise(lua_State *L)
{
    lua_pushboolean(L, ddb_task_blockwise(check_fetch(L)->task));
    return 1;
}

/* f:skip(): the consumer is done; the rest of the blocks is read and dropped. */
static int l_skip(lua_State *L)
{
    lua_fetch *f = check_fetch(L);
    if (f->pool) ddb_task_skip_blocks(f->pool, f->task);
    return 0;
}

/* f:cancel() -> true if the task was cancelled (its connection is recycled). */
static int l_cancel(lua_State *L)
{
    lua_fetch *f = check_fetch(L);
    lua_pushboolean(L, f->pool && ddb_task_cancel(f->pool, f->task) == DDB_OK);
    return 1;
}

/* f:progress() -> bytes received, rows received (of the blocks so far) */
static int l_progress(lua_State *L)
{
    lua_fetch *f = check_fetch(L);
    lua_pushnumber(L, (lua_Number)ddb_task_bytes_received(f->task));
    lua_pushnumber(L, (lua_Number)ddb_task_rows_received(f->task));
    return 2;
}

static int l_id(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)ddb_task_id(check_fetch(L)->task));
    return 1;
}

static int l_gc(lua_State *L)
{
    lua_fetch *f = luaL_checkudata(L, 1, FETCH_MT);
    if (f->task && f->pool && !terminal(f))
        ddb_task_skip_blocks(f->pool, f->task);     /* the consumer left mid-way */
    drop_wait(f);
    unlink_fetch(f);
    ddb_task_unref(f->task);
    f->task = NULL;
    return 0;
}

static void make_metatable(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"take", l_take}, {"wait", l_wait}, {"state", l_state}, {"outcome", l_outcome},
        {"messages", l_messages}, {"blockwise", l_blockwise}, {"skip", l_skip},
        {"cancel", l_cancel}, {"progress", l_progress}, {"id", l_id}, {NULL, NULL},
    };
    if (!luaL_newmetatable(L, FETCH_MT)) return;
    lua_newtable(L);
    luaL_register(L, NULL, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
}

lua_fetch *ddb_lua_fetch_push(lua_State *L, lua_fetch_list *list, ddb_pool *pool,
                              ddb_lua_loop *loop)
{
    lua_fetch *f = lua_newuserdata(L, sizeof *f);
    memset(f, 0, sizeof *f);
    make_metatable(L);
    lua_setmetatable(L, -2);
    f->pool = pool;
    f->loop = loop;
    f->list = list;
    f->next = list->head;
    if (list->head) list->head->prev = f;
    list->head = f;
    return f;
}
