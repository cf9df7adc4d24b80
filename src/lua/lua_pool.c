/* lua_pool.c — the pool userdata over the inline pool of include/dolphindb/dolphindb.h:
 * creating it, the pool's callbacks, submitting, the tasks pool:run holds, shutdown,
 * and the registration of every method of the binding (the task userdata is in
 * lua_task.c, pins in lua_pin.c, inspection in lua_pool_info.c: lua_pool_impl.h).
 *
 * Every pool lives on the Lua state's loop (lua_loop.c). A submitted task gets a
 * ticket; the pool's completion callback (called from inside uv_run) only completes
 * that ticket, and Lua reads the task after core.run_once handed the ticket over.
 * Opening and closing a pool are not task completions: the pool's state hook turns
 * "the pool left OPENING" / "the pool is CLOSED" into tickets as well (no polling).
 *
 * Lifetimes: the pool userdata owns the ddb_pool; it is attached to the loop so that
 * closing the Lua state frees it before the loop closes. Task userdata own one task
 * reference each. When a pool is freed with tasks still in flight, their callbacks
 * never come, so their tickets are dropped from the pending count. */
#include "lua_pool.h"
#include "lua_pool_impl.h"

#include <stdint.h>
#include <string.h>

#include "ddb_pool.h"
#include "ddb_pin.h"
#include "lua_args.h"
#include "lua_value.h"

const char ddb_lua_pool_mark = 0;

/* ---- completion and watches (called inside uv_run: no Lua here) ---------------- */

static int bench_submit(lua_pool *lp);

static void on_task_complete(ddb_pool *pool, ddb_task *task, void *task_ud, void *pool_ud)
{
    (void)pool;
    lua_pool *lp = pool_ud;
    if (lp->fetches.head) ddb_lua_fetch_wake(&lp->fetches, lp->loop, task);
    if (!task_ud && task->fetch_size) return;     /* pool:fetch: no ticket */
    lp->inflight--;
    if (task_ud) {                      /* tickets are never 0 */
        ddb_lua_ticket_complete(lp->loop, (double)(uintptr_t)task_ud);
        return;
    }
    if (!lp->bench) return;
    lp->bench->completed++;
    if (ddb_task_state(task) != DDB_TASK_DONE) lp->bench->failed++;
    if (lp->bench->to_submit > 0) bench_submit(lp);
}

/* A block of a pool:fetch task is ready (bookkeeping only, as above). */
static void on_task_block(ddb_pool *pool, ddb_task *task, void *task_ud, void *pool_ud)
{
    (void)pool, (void)task_ud;
    lua_pool *lp = pool_ud;
    ddb_lua_fetch_wake(&lp->fetches, lp->loop, task);
}

static int watch_satisfied(int kind, int state)
{
    return kind == WATCH_OPEN ? state != DDB_POOL_OPENING : state == DDB_POOL_CLOSED;
}

/* The pool's state hook: completes the ticket of each watch the new state satisfies
 * (only bookkeeping, so it is safe wherever the pool calls it). */
static void on_pool_state(ddb_pool *pool, int state, void *ud)
{
    (void)pool;
    lua_pool *lp = ud;
    for (int k = 0; k < NWATCH; k++) {
        if (lp->watch[k] && watch_satisfied(k, state)) {
            ddb_lua_ticket_complete(lp->loop, lp->watch[k]);
            lp->watch[k] = 0;
        }
    }
}

/* The pool's event log: queue the line for Lua (lua_logq.h), never call Lua here. */
static void on_pool_log(ddb_pool *pool, int level, const char *msg, void *ud)
{
    (void)pool;
    lua_pool *lp = ud;
    lua_logq_push(&lp->logq, level, msg);
    ddb_lua_loop_log_mark(lp->loop);
}

/* Pushes the ticket of a watch for `kind`, or nil when the state is already there. */
static void push_watch(lua_State *L, lua_pool *lp, int kind)
{
    if (!lp->watch[kind]) {           /* else: the same ticket (pool.lua lets only one
                                         waiter park on it) */
        if (watch_satisfied(kind, ddb_pool_state(lp->pool))) {
            lua_pushnil(L);
            return;
        }
        lp->watch[kind] = ddb_lua_ticket_new(lp->loop);
        if (!lp->watch[kind]) luaL_error(L, "dolphindb: out of memory (or 2^24 operations pending)");
    }
    lua_pushnumber(L, lp->watch[kind]);
}

/* Frees the C pool: no callback comes after this, so in-flight tickets are dropped. */
static void pool_release(lua_pool *lp)
{
    if (!lp->pool) return;
    /* The hook points at this userdata, which may be collected before the pool's last
     * close callback: unhook first. */
    ddb_pool_on_state(lp->pool, NULL, NULL);
    ddb_pool_on_log(lp->pool, NULL, NULL, DDB_LOG_OFF);
    for (int k = 0; k < NWATCH; k++) {
        if (lp->watch[k]) ddb_lua_ticket_drop(lp->loop, lp->watch[k]);
        lp->watch[k] = 0;
    }
    ddb_lua_loop_detach(lp->loop, lp);
    ddb_lua_fetch_detach_all(&lp->fetches, lp->loop);
    ddb_pool_free(lp->pool);
    lp->pool = NULL;
    lua_held_clear(&lp->held);
    for (; lp->inflight > 0; lp->inflight--) ddb_lua_ticket_drop(lp->loop, 0);
}

static void pool_closer(void *obj) { pool_release(obj); }

/* core.pool_new(cfg[, like]) -> pool, ticket|nil (ticket completes when the open
 * settled). like: an open pool whose login (userid and password) the new pool uses,
 * so that pool:withSession opens its session without the password kept in Lua. */
static int l_pool_new(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    ddb_lua_loop *loop = ddb_lua_loop_of(L);
    ddb_pool_config cfg;
    ddb_lua_read_pool_config(L, 1, &cfg);
    if (!lua_isnoneornil(L, 2)) {
        lua_pool *like = to_pool(L, 2);
        if (!like->pool) return luaL_error(L, "dolphindb: the pool is shut down");
        if (like->pool->userid) {       /* borrowed: the new pool copies them */
            cfg.userid = like->pool->userid;
            cfg.password = like->pool->password;
        }
    }
    const ddb_host_vt *host;
    void *host_ud;
    ddb_lua_loop_host(L, loop, &host, &host_ud);    /* may raise: before anything is made */

    lua_pool *lp = lua_newuserdata(L, sizeof *lp);
    memset(lp, 0, sizeof *lp);
    lp->mark = &ddb_lua_pool_mark;
    lp->loop = loop;
    lua_pushvalue(L, POOL_MT_UPVALUE);
    lua_setmetatable(L, -2);
    if (ddb_lua_loop_attach(loop, lp, pool_closer) != 0)
        return luaL_error(L, "dolphindb: out of memory");
    cfg.on_complete = on_task_complete;
    cfg.on_block = on_task_block;
    cfg.cb_ud = lp;
    if (cfg.log_level < DDB_LOG_OFF) {      /* logLevel (dolphindb.log sets it) */
        cfg.on_log = on_pool_log;
        cfg.log_ud = lp;
    }
    char err[ERRLEN] = "";
    lp->pool = ddb_pool_new_host(host, host_ud, &cfg, err, sizeof err);
    if (!lp->pool) {
        ddb_lua_loop_detach(loop, lp);
        return luaL_error(L, "dolphindb: %s", err[0] ? err : "cannot create the pool");
    }
    ddb_pool_on_state(lp->pool, on_pool_state, lp);
    push_watch(L, lp, WATCH_OPEN);
    return 2;
}

/* ---- pool methods ----------------------------------------------------------------- */

/* ddb_lua_pool_submit (lua_pool_impl.h); static, so that pool:run and pool:add inline
 * it. pool:run(script), the common call, passes only the text. */
static double submit_from_args(lua_State *L, lua_pool *lp, int top, ddb_task **out)
{
    int fetching = lp->fetching;        /* cleared first: the reads below may raise */
    int64_t pin = lp->pin;
    lp->fetching = 0;
    lp->pin = 0;
    ddb_task_spec spec;
    ddb_lua_read_task(L, top, &spec);
    if (spec.fetch_size && !fetching) {
        /* nobody would take its blocks: the task and its connection would wait */
        ddb_lua_task_args_free(&spec);
        luaL_error(L, "dolphindb: fetchSize: block-wise results come from pool:fetch only");
    }
    double ticket = ddb_lua_ticket_new(lp->loop);
    int rc = DDB_ENOMEM;
    char err[ERRLEN];
    err[0] = 0;             /* not `= ""`: that zeroes all 512 bytes on every task */
    if (ticket) {
        spec.ud = (void *)(uintptr_t)ticket;     /* (the pool refreshes its clock) */
        rc = pin ? ddb_pool_pin_submit(lp->pool, pin, &spec, out, err, sizeof err)
                 : ddb_pool_submit(lp->pool, &spec, out, err, sizeof err);
    }
    ddb_lua_task_args_free(&spec);
    if (rc != DDB_OK) {
        if (ticket) ddb_lua_ticket_drop(lp->loop, ticket);
        if (rc == DDB_ESHUTDOWN) luaL_error(L, "dolphindb: the pool is shut down");
        if (!ticket) luaL_error(L, "dolphindb: out of memory (or 2^24 operations pending)");
        luaL_error(L, "dolphindb: %s", err[0] ? err : "cannot submit the task");
    }
    lp->inflight++;
    return ticket;
}

double ddb_lua_pool_submit(lua_State *L, lua_pool *lp, int top, ddb_task **out)
{
    return submit_from_args(L, lp, top, out);
}

/* pool:submit(text, args, id, options) -> task, ticket (options: the user's table) */
static int l_pool_submit(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    lua_settop(L, 5);
    /* The userdata first, so a Lua allocation error cannot leak the task. */
    lua_task *lt = ddb_lua_push_task(L, NULL);
    lua_pushnumber(L, submit_from_args(L, lp, 5, &lt->task));
    return 2;
}

/* pool:fetch(text, args, nil, options) -> fetch: a task with a fetchSize, its blocks
 * taken through the fetch userdata (lua_fetch.h). It keeps no ticket pending: a
 * fetch nobody consumes waits for ever by design (its connection paused), and must
 * not keep ddb.loop() or the program's exit waiting; whoever consumes it waits on
 * the fetch's own ticket. */
static int l_pool_fetch(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    lua_settop(L, 5);
    /* The userdata first, so a Lua allocation error cannot leak the task. */
    lua_fetch *f = ddb_lua_fetch_push(L, &lp->fetches, lp->pool, lp->loop);
    ddb_task *t = NULL;
    lp->fetching = 1;
    double ticket = submit_from_args(L, lp, 5, &t);
    t->ud = NULL;                       /* (completions are delivered from the loop, later) */
    ddb_lua_ticket_drop(lp->loop, ticket);
    lp->inflight--;
    ddb_lua_fetch_set_task(f, t);
    return 1;
}

/* pool:add(text, args, id, options) -> ticket: pool:submit for addTask, which keeps
 * no task object (the pool's id table holds the task until pool:take_id). */
static int l_pool_add(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    lua_settop(L, 5);
    ddb_task *t = NULL;
    lua_pushnumber(L, submit_from_args(L, lp, 5, &t));
    ddb_task_unref(t);
    return 1;
}

/* pool:run(text[, args, nil, options])
 * -> ticket, task id.
 * The task stays in the pool, under its ticket, for pool:finish(ticket): no task
 * object for a caller that only waits for the outcome (see lua_held.h). */
static int l_pool_run(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    if (lua_held_reserve(&lp->held) != 0) return luaL_error(L, "dolphindb: out of memory");
    ddb_task *t = NULL;
    double ticket = submit_from_args(L, lp, lua_gettop(L), &t);
    lua_held_put(&lp->held, ticket, t);
    lua_pushnumber(L, ticket);
    lua_pushnumber(L, (lua_Number)ddb_task_id(t));
    return 2;
}

/* pool:finish(ticket[, conv]) -> ok, value | message, messages | nil: the outcome of a
 * task started by pool:run, once its ticket completed; the pool lets go of it. */
static int l_pool_finish(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    double ticket = luaL_checknumber(L, 2);
    ddb_task *t = lua_held_find(&lp->held, ticket);
    if (!t) return luaL_error(L, "dolphindb: no task is held under this ticket");
    int conv = ddb_lua_conv_arg(L, 3);
    /* Everything is pushed before the pool lets go: should a push run out of memory,
     * the task is still held (and freed with the pool), never leaked. */
    int n = ddb_lua_push_outcome(L, t, conv);
    n += ddb_lua_push_messages(L, t);
    ddb_task_unref(lua_held_take(&lp->held, ticket));
    return n;
}

ddb_task *ddb_lua_check_held(lua_State *L, lua_pool *lp, int idx)
{
    ddb_task *t = lua_held_find(&lp->held, luaL_checknumber(L, idx));
    if (!t) luaL_error(L, "dolphindb: no task is held under this ticket");
    return t;
}

/* pool:cancel_held(ticket) -> true if the task of pool:run was cancelled, false if
 * it had already ended (its outcome is still taken with pool:finish). */
static int l_pool_cancel_held(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    lua_pushboolean(L, ddb_task_cancel(lp->pool, ddb_lua_check_held(L, lp, 2)) == DDB_OK);
    return 1;
}

/* pool:held_state(ticket) -> "QUEUED", "RUNNING", ... or nil once finish took it. */
static int l_pool_held_state(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    ddb_task *t = lua_held_find(&lp->held, luaL_checknumber(L, 2));
    if (!t) return 0;
    lua_pushstring(L, ddb_task_state_name(ddb_task_state(t)));
    return 1;
}

/* pool:held_progress(ticket) -> bytes received, rows (nil while not known) */
static int l_pool_held_progress(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    ddb_task *t = ddb_lua_check_held(L, lp, 2);
    int64_t rows = ddb_task_rows_received(t);
    lua_pushnumber(L, (lua_Number)ddb_task_bytes_received(t));
    if (rows >= 0) lua_pushnumber(L, (lua_Number)rows);
    else lua_pushnil(L);
    return 2;
}

/* pool:shutdown() -> ticket|nil (completes when every handle of the pool is closed). */
static int l_pool_shutdown(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    ddb_pool_shutdown(lp->pool);
    push_watch(L, lp, WATCH_CLOSE);
    return 1;
}

static int bench_submit(lua_pool *lp)
{
    ddb_task_spec spec;
    ddb_task_spec_init(&spec);
    spec.text = lp->bench->script;
    char err[ERRLEN];
    if (ddb_pool_submit(lp->pool, &spec, NULL, err, sizeof err) != DDB_OK) return -1;
    lp->bench->to_submit--;
    lp->inflight++;
    return 0;
}

/* pool:_bench(n, window, script) -> seconds, failed: runs n tasks from C, keeping
 * `window` in flight, driving the loop from C. The baseline for the Lua overhead. */
static int l_pool_bench(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    lua_Integer n = luaL_checkinteger(L, 2);
    lua_Integer window = luaL_checkinteger(L, 3);
    const char *script = luaL_checkstring(L, 4);
    if (n < 1 || window < 1) return luaL_error(L, "dolphindb: _bench needs n >= 1, window >= 1");
    if (lp->bench) return luaL_error(L, "dolphindb: _bench is already running");
    c_bench b = { .script = script, .to_submit = n };
    lp->bench = &b;
    uint64_t t0 = uv_hrtime();
    for (lua_Integer i = 0; i < window && b.to_submit > 0; i++) {
        if (bench_submit(lp) != 0) break;
    }
    while (b.completed < n - b.to_submit) {          /* while tasks are in flight */
        if (ddb_lua_loop_run(lp->loop, UV_RUN_ONCE) < 0) break;
    }
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    lp->bench = NULL;
    if (b.completed < n) return luaL_error(L, "dolphindb: _bench stopped after %d of %d tasks",
                                           (int)b.completed, (int)n);
    lua_pushnumber(L, secs);
    lua_pushinteger(L, (lua_Integer)b.failed);
    return 2;
}

/* pool:log_take() -> {level, line, ...}, dropped | nothing: the event-log lines
 * queued so far (dolphindb.log); still answers once the pool is freed. */
static int l_pool_log_take(lua_State *L)
{
    return lua_logq_take(L, &to_pool(L, 1)->logq);
}

/* pool:log_level(level): lines below DDB_LOG_<level> are no longer even formatted
 * (4, off: none). */
static int l_pool_log_level(lua_State *L)
{
    lua_pool *lp = check_pool(L);
    lua_Integer level = luaL_checkinteger(L, 2);
    if (level < DDB_LOG_DEBUG || level > DDB_LOG_OFF)
        return luaL_argerror(L, 2, "expected a log level 0..4");
    ddb_pool_on_log(lp->pool, level < DDB_LOG_OFF ? on_pool_log : NULL, lp, (int)level);
    return 0;
}

static int l_pool_gc(lua_State *L)
{
    lua_pool *lp = to_pool(L, 1);
    pool_release(lp);
    lua_logq_free(&lp->logq);
    return 0;
}

/* ---- registration --------------------------------------------------------------- */

/* Pushes f as a closure over the two metatables (at absolute indexes pool_mt, task_mt). */
static void push_method(lua_State *L, lua_CFunction f, int pool_mt, int task_mt)
{
    lua_pushvalue(L, pool_mt);
    lua_pushvalue(L, task_mt);
    lua_pushcclosure(L, f, 2);
}

/* The class's methods come from several files' lists (NULL ends `lists`). */
static void fill_class(lua_State *L, int mt, const luaL_Reg *const *lists, lua_CFunction gc,
                       lua_CFunction tostr, int pool_mt, int task_mt)
{
    lua_newtable(L);
    for (; *lists; lists++)
        for (const luaL_Reg *m = *lists; m->name; m++) {
            push_method(L, m->func, pool_mt, task_mt);
            lua_setfield(L, -2, m->name);
        }
    lua_setfield(L, mt, "__index");
    push_method(L, gc, pool_mt, task_mt);
    lua_setfield(L, mt, "__gc");
    if (tostr) {
        push_method(L, tostr, pool_mt, task_mt);
        lua_setfield(L, mt, "__tostring");
    }
}

void ddb_lua_pool_open(lua_State *L, int module_table_index)
{
    static const luaL_Reg pool_methods[] = {
        {"submit", l_pool_submit}, {"add", l_pool_add},
        {"shutdown", l_pool_shutdown},
        {"run", l_pool_run},       {"finish", l_pool_finish},  {"fetch", l_pool_fetch},
        {"cancel_held", l_pool_cancel_held}, {"held_state", l_pool_held_state},
        {"held_progress", l_pool_held_progress},
        {"_bench", l_pool_bench},
        {"log_take", l_pool_log_take}, {"log_level", l_pool_log_level},
        {NULL, NULL},
    };
    static const luaL_Reg *const pool_lists[] = {
        pool_methods, ddb_lua_pool_id_methods, ddb_lua_pin_methods, ddb_lua_pool_info_methods,
        NULL,
    };
    static const luaL_Reg *const task_lists[] = { ddb_lua_task_methods, NULL };
    int module = module_table_index < 0 ? lua_gettop(L) + module_table_index + 1
                                        : module_table_index;
    luaL_newmetatable(L, POOL_MT);
    int pool_mt = lua_gettop(L);
    luaL_newmetatable(L, TASK_MT);
    int task_mt = lua_gettop(L);
    fill_class(L, pool_mt, pool_lists, l_pool_gc, NULL, pool_mt, task_mt);
    fill_class(L, task_mt, task_lists, ddb_lua_task_gc, ddb_lua_task_tostring, pool_mt,
               task_mt);
    push_method(L, l_pool_new, pool_mt, task_mt);
    lua_setfield(L, module, "pool_new");
    lua_pop(L, 2);
}
