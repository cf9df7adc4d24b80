/* lua_pool_impl.h — what the files of the pool binding share: the pool and task
 * userdata, telling them apart, submitting, and each file's methods. lua_pool.c holds
 * the pool userdata (creation, the pool's callbacks, submitting, held tasks, the
 * registration), lua_task.c the task userdata and the tasks known by user id,
 * lua_pin.c pinned connections, lua_pool_info.c inspection. */
#ifndef DDB_LUA_POOL_IMPL_H
#define DDB_LUA_POOL_IMPL_H

#include <stdint.h>

#include "lua.h"
#include "lauxlib.h"
#include "dolphindb.h"
#include "lua_loop.h"
#include "lua_held.h"
#include "lua_logq.h"
#include "lua_fetch.h"

#define POOL_MT "dolphindb.pool"
#define TASK_MT "dolphindb.task"
#define ERRLEN 512

/* Every method of the binding is a closure over the two metatables, so telling a pool
 * or task userdata apart costs a pointer comparison, not a registry lookup by name
 * (which interns the name on every call: a hot cost at one call per task step). */
#define POOL_MT_UPVALUE lua_upvalueindex(1)
#define TASK_MT_UPVALUE lua_upvalueindex(2)

/* A state somebody waits for: WATCH_OPEN is state != OPENING, WATCH_CLOSE is CLOSED. */
enum { WATCH_OPEN, WATCH_CLOSE, NWATCH };

/* pool:_bench(): tasks submitted and completed from C, no Lua per task. */
typedef struct c_bench {
    const char *script;
    int64_t to_submit, completed, failed;
} c_bench;

typedef struct lua_pool {
    const char *mark;       /* &ddb_lua_pool_mark: tells a pool userdata apart (to_pool) */
    ddb_pool *pool;         /* NULL once freed */
    ddb_lua_loop *loop;
    int64_t inflight;       /* submitted tasks whose callback has not come yet */
    double watch[NWATCH];   /* ticket of each state waited for, 0 if none */
    c_bench *bench;         /* set while pool:_bench() runs */
    lua_held held;          /* tasks of pool:run, until pool:finish takes them */
    lua_logq logq;          /* event-log lines for dolphindb.log (lua_logq.h) */
    lua_fetch_list fetches; /* block-wise tasks of pool:fetch (lua_fetch.h) */
    int fetching;           /* pool:fetch is submitting (fetchSize allowed) */
    int64_t pin;            /* pool:pin_run is submitting on this pin (lua_pin.c) */
} lua_pool;

typedef struct lua_task {
    ddb_task *task;
} lua_task;

extern const char ddb_lua_pool_mark;

/* A pool is told by its size and its mark, not by its metatable: fetching and
 * comparing that cost two API calls (~150 instructions) on every pool:run and
 * pool:finish, the per-task calls (issue 14). Only lua_pool.c makes userdata with the
 * mark at their start, and a light userdata's length is 0. Inline: every file's
 * methods start here. */
static inline lua_pool *to_pool(lua_State *L, int idx)
{
    lua_pool *lp = lua_touserdata(L, idx);
    if (lp && lua_objlen(L, idx) == sizeof *lp && lp->mark == &ddb_lua_pool_mark) return lp;
    luaL_typerror(L, idx, POOL_MT);
    return NULL;
}

static inline lua_pool *check_pool(lua_State *L)
{
    lua_pool *lp = to_pool(L, 1);
    if (!lp->pool) luaL_error(L, "dolphindb: the pool has been freed");
    return lp;
}

/* ---- lua_pool.c ---- */
/* Submits the task that arguments 2..top describe (see ddb_lua_read_task). Returns
 * the ticket and stores the task's reference in *out; raises on misuse or a refused
 * submission. */
double ddb_lua_pool_submit(lua_State *L, lua_pool *lp, int top, ddb_task **out);
/* The task pool:run holds under the ticket at idx; raises if none. */
ddb_task *ddb_lua_check_held(lua_State *L, lua_pool *lp, int idx);

/* ---- lua_task.c ---- */
/* Pushes a task userdata holding t (the caller's reference; NULL: set it later). */
lua_task *ddb_lua_push_task(lua_State *L, ddb_task *t);
extern const luaL_Reg ddb_lua_task_methods[];
int ddb_lua_task_gc(lua_State *L);
int ddb_lua_task_tostring(lua_State *L);
extern const luaL_Reg ddb_lua_pool_id_methods[];  /* pool:find, finished, take_id, forget */

/* ---- lua_pin.c, lua_pool_info.c: more pool methods ---- */
extern const luaL_Reg ddb_lua_pin_methods[];
extern const luaL_Reg ddb_lua_pool_info_methods[];

#endif
