/* lua_ngx.c — `dolphindb.ngxcore`: the loop-thread pool (include/dolphindb.h,
 * ddb_pool_thread_*) for nginx workers (docs/DESIGN.md "nginx", option A).
 *
 * An nginx worker must never block and a C function must never yield an nginx request
 * coroutine, so the pool runs on its own loop thread and the worker only learns about
 * completions through a socket an nginx cosocket can read. The thread driver signals
 * completions on an eventfd, which a cosocket cannot open, so this binding adds a
 * small "bridge" thread per pool:
 *
 *   loop thread --(completion queue + eventfd)--> bridge thread --(1 byte on a unix
 *   socket)--> the pump light thread in the worker (lua/dolphindb/ngx.lua), which
 *   calls pool:poll() and posts the ngx.semaphore of every finished task.
 *
 * The unix socket: pool_new() listens on a fresh path; the pump connects to it with
 * ngx.socket.tcp ("unix:PATH"), then calls pool:accept(), which accepts (the kernel
 * has queued the connection, so accept never blocks), closes the listener and unlinks
 * the path at once. So a socket file exists only between pool creation and the
 * pump's first run; close() removes it if the pump never came.
 *
 * Wake-ups are edge-triggered and never lost: the bridge appends finished tasks and
 * writes a byte only when `signalled` is clear; poll() takes everything and clears
 * `signalled` under the same lock. Every task submitted through this binding carries
 * a ticket (a positive number) that poll() hands back.
 *
 * Tasks (userdata "dolphindb.ngxtask") own one reference each; reading them is
 * thread-safe once they are terminal (the header's rule). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <uv.h>

#include "lua.h"
#include "lauxlib.h"
#include "dolphindb.h"
#include "lua_args.h"
#include "lua_tickets.h"
#include "lua_value.h"

#define POOL_MT "dolphindb.ngxpool"
#define TASK_MT "dolphindb.ngxtask"
#define ERRLEN 512
#define BRIDGE_BATCH 256

typedef struct ngx_pool {
    ddb_pool_thread *tp;            /* NULL once closed */
    int thread_num;
    uv_thread_t bridge;
    int bridge_running;

    uv_mutex_t mu;                  /* guards everything below */
    double *ready;                  /* tickets of finished tasks, not yet polled */
    size_t ready_len, ready_cap;
    int signalled;                  /* a wake-up byte is in flight */
    int listen_fd, notify_fd;       /* -1 when closed */
    int lost;                       /* completions dropped for lack of memory */
    int stop;                       /* the loop thread was joined: the bridge may end */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    ddb_tickets tickets;            /* only touched by the Lua (worker) thread */
} ngx_pool;

typedef struct ngx_task {
    ddb_task *task;
} ngx_task;


/* ---- bridge thread ------------------------------------------------------------ */

/* Appends tickets and wakes the pump (caller holds mu). */
static void publish(ngx_pool *np, ddb_task **tasks, int n)
{
    if (np->ready_len + (size_t)n > np->ready_cap) {
        size_t cap = np->ready_cap ? np->ready_cap : 256;
        while (cap < np->ready_len + (size_t)n) cap *= 2;
        double *r = realloc(np->ready, cap * sizeof *r);
        if (!r) {
            np->lost += n;          /* their holders still see the terminal state */
            return;
        }
        np->ready = r;
        np->ready_cap = cap;
    }
    for (int i = 0; i < n; i++)
        np->ready[np->ready_len++] = (double)(uintptr_t)ddb_task_ud(tasks[i]);
    if (!np->signalled && np->notify_fd >= 0) {
        np->signalled = 1;
        ssize_t rc = write(np->notify_fd, "!", 1);
        (void)rc;                   /* EAGAIN: a byte is already waiting anyway */
    }
}

static int bridge_should_stop(ngx_pool *np)
{
    uv_mutex_lock(&np->mu);
    int stop = np->stop;
    uv_mutex_unlock(&np->mu);
    return stop;
}

/* Moves finished tasks from the driver's queue to ours until the pool is stopped.
 * The driver's wait() returns 0 at once after its loop exited; the stop flag (set
 * once the loop thread was joined, so every completion is queued by then) decides.
 * The wait is bounded (1 s) so that a driver message stranded in its inbox after the
 * loop exited cannot keep wait() and therefore the join in pool_stop blocked. */
static void bridge_main(void *arg)
{
    ngx_pool *np = arg;
    ddb_task *batch[BRIDGE_BATCH];
    for (;;) {
        int waiting = ddb_pool_thread_wait(np->tp, 1.0);
        int n = ddb_pool_thread_poll(np->tp, batch, BRIDGE_BATCH);
        if (n > 0) {
            uv_mutex_lock(&np->mu);
            publish(np, batch, n);
            uv_mutex_unlock(&np->mu);
            for (int i = 0; i < n; i++) ddb_task_unref(batch[i]);
        }
        if (!waiting && n == 0 && bridge_should_stop(np)) return;
    }
}

/* ---- notification socket -------------------------------------------------------- */

static int listen_unix(ngx_pool *np, const char *dir, char *err, size_t errlen)
{
    static unsigned counter;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a unix socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int len = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/ddb-ngx-%ld-%u-%p.sock", dir,
                       (long)getpid(), counter++, (void *)np);
    if (len < 0 || (size_t)len >= sizeof sa.sun_path) {
        close(fd);
        snprintf(err, errlen, "socket directory '%s' is too long for a unix socket path", dir);
        return -1;
    }
    unlink(sa.sun_path);            /* a stale file of an earlier process with our pid */
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 1) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", sa.sun_path, strerror(errno));
        close(fd);
        unlink(sa.sun_path);
        return -1;
    }
    memcpy(np->path, sa.sun_path, sizeof np->path);
    np->listen_fd = fd;
    return 0;
}

static void close_sockets(ngx_pool *np)
{
    uv_mutex_lock(&np->mu);
    if (np->listen_fd >= 0) {
        close(np->listen_fd);
        np->listen_fd = -1;
        unlink(np->path);
    }
    if (np->notify_fd >= 0) {
        close(np->notify_fd);       /* the pump's receive() sees "closed" */
        np->notify_fd = -1;
    }
    uv_mutex_unlock(&np->mu);
}

/* ---- pool lifetime ----------------------------------------------------------------- */

/* Shuts the pool down and joins both threads; every task has then been published.
 * Blocks for as long as the pool's shutdown takes (closing sockets; running tasks get
 * shutdown_grace seconds). Idempotent. */
static void pool_stop(ngx_pool *np)
{
    if (!np->tp) return;
    ddb_pool_thread_shutdown(np->tp);
    uv_mutex_lock(&np->mu);
    np->stop = 1;
    uv_mutex_unlock(&np->mu);
    if (np->bridge_running) {
        uv_thread_join(&np->bridge);
        np->bridge_running = 0;
    }
}

static void pool_release(ngx_pool *np)
{
    pool_stop(np);
    close_sockets(np);
    if (np->tp) {
        ddb_pool_thread_free(np->tp);
        np->tp = NULL;
        uv_mutex_destroy(&np->mu);
        free(np->ready);
        np->ready = NULL;
        np->ready_len = np->ready_cap = 0;
        ddb_tickets_free(&np->tickets);
    }
}

/* ngxcore.pool_new(cfg, socket_dir) -> pool. Blocks until the connections are open
 * (call it from init_worker_by_lua*, where the worker serves nothing yet). */
static int l_pool_new(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *dir = luaL_optstring(L, 2, "/tmp");
    ddb_pool_config cfg;
    ddb_lua_read_pool_config(L, 1, &cfg);

    ngx_pool *np = lua_newuserdata(L, sizeof *np);
    memset(np, 0, sizeof *np);
    np->listen_fd = np->notify_fd = -1;
    char err[ERRLEN] = "";
    if (uv_mutex_init(&np->mu) != 0) return luaL_error(L, "dolphindb: cannot create a mutex");
    if (listen_unix(np, dir, err, sizeof err) != 0) {
        uv_mutex_destroy(&np->mu);
        return luaL_error(L, "dolphindb: %s", err);
    }
    np->tp = ddb_pool_thread_start(&cfg, err, sizeof err);
    if (!np->tp) {
        close_sockets(np);
        uv_mutex_destroy(&np->mu);
        return luaL_error(L, "dolphindb: %s", err[0] ? err : "cannot open the pool");
    }
    np->thread_num = cfg.thread_num;
    luaL_getmetatable(L, POOL_MT);
    lua_setmetatable(L, -2);        /* from here __gc releases everything */
    if (uv_thread_create(&np->bridge, bridge_main, np) != 0) {
        pool_release(np);
        return luaL_error(L, "dolphindb: cannot start the notification thread");
    }
    np->bridge_running = 1;
    return 1;
}

static ngx_pool *check_pool(lua_State *L)
{
    ngx_pool *np = luaL_checkudata(L, 1, POOL_MT);
    if (!np->tp) luaL_error(L, "dolphindb: the pool is closed");
    return np;
}

/* pool:socket_path() -> path the pump connects to, or nil once accepted / closed */
static int l_pool_socket_path(lua_State *L)
{
    ngx_pool *np = luaL_checkudata(L, 1, POOL_MT);
    uv_mutex_lock(&np->mu);
    if (np->listen_fd >= 0) lua_pushstring(L, np->path); else lua_pushnil(L);
    uv_mutex_unlock(&np->mu);
    return 1;
}

/* pool:accept() -> true once the pump's connection is accepted (the path is removed).
 * Never blocks; returns nil, message when there is no queued connection. */
static int l_pool_accept(lua_State *L)
{
    ngx_pool *np = check_pool(L);
    uv_mutex_lock(&np->mu);
    if (np->listen_fd < 0) {
        uv_mutex_unlock(&np->mu);
        lua_pushnil(L);
        lua_pushliteral(L, "the notification socket was already accepted");
        return 2;
    }
    int fd = accept4(np->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        uv_mutex_unlock(&np->mu);
        lua_pushnil(L);
        lua_pushfstring(L, "accept on %s: %s", np->path, strerror(e));
        return 2;
    }
    close(np->listen_fd);
    np->listen_fd = -1;
    unlink(np->path);
    np->notify_fd = fd;
    np->signalled = 1;              /* the pump polls right after accepting */
    uv_mutex_unlock(&np->mu);
    lua_pushboolean(L, 1);
    return 1;
}

/* pool:poll() -> list of tickets of finished tasks (possibly empty). Re-arms the
 * wake-up byte. The table is sized before the list is taken out of the lock, so the
 * mutex is never held across a Lua allocation (which may raise). */
static int l_pool_poll(lua_State *L)
{
    ngx_pool *np = luaL_checkudata(L, 1, POOL_MT);
    if (!np->tp) {
        lua_createtable(L, 0, 0);
        return 1;
    }
    uv_mutex_lock(&np->mu);
    size_t peek = np->ready_len;
    uv_mutex_unlock(&np->mu);
    lua_createtable(L, peek > 1u << 20 ? 1 << 20 : (int)peek, 0);
    uv_mutex_lock(&np->mu);
    double *tickets = np->ready;
    size_t n = np->ready_len;
    np->ready = NULL;
    np->ready_len = np->ready_cap = 0;
    np->signalled = 0;
    uv_mutex_unlock(&np->mu);
    for (size_t i = 0; i < n; i++) {
        lua_pushnumber(L, tickets[i]);
        lua_rawseti(L, -2, (int)i + 1);
    }
    for (size_t i = 0; i < n; i++) ddb_tickets_release(&np->tickets, tickets[i]);
    free(tickets);
    return 1;
}

/* pool:close(): shut down, join the threads, remove the socket; the tickets of the
 * tasks that ended meanwhile stay pollable. Blocks (see pool_stop). */
static int l_pool_close(lua_State *L)
{
    ngx_pool *np = luaL_checkudata(L, 1, POOL_MT);
    pool_stop(np);
    close_sockets(np);
    return 0;
}

static int l_pool_gc(lua_State *L)
{
    pool_release(luaL_checkudata(L, 1, POOL_MT));
    return 0;
}

/* ---- submitting ------------------------------------------------------------------- */

/* pool:submit(text, args|nil, id|nil, clear_memory|nil, priority|nil, parallelism|nil,
 *             timeout|nil) -> task, ticket. Never blocks (queue full: raises). */
static int l_pool_submit(lua_State *L)
{
    ngx_pool *np = check_pool(L);
    lua_settop(L, 9);
    /* The userdata first (at 10), so a Lua allocation error cannot leak the task. */
    ngx_task *nt = lua_newuserdata(L, sizeof *nt);
    nt->task = NULL;
    luaL_getmetatable(L, TASK_MT);
    lua_setmetatable(L, -2);
    ddb_task_spec spec;
    ddb_lua_read_task(L, 9, &spec);
    spec.on_full = DDB_FULL_FAIL;   /* waiting for space would block the worker */
    double ticket = ddb_tickets_new(&np->tickets);
    spec.ud = (void *)(uintptr_t)ticket;
    char err[ERRLEN] = "";
    int rc = ticket ? ddb_pool_thread_submit(np->tp, &spec, &nt->task, err, sizeof err)
                    : DDB_ENOMEM;
    ddb_lua_task_args_free(&spec);
    if (rc != DDB_OK) {
        ddb_tickets_release(&np->tickets, ticket);
        if (!ticket) return luaL_error(L, "dolphindb: out of memory (or 2^24 tasks pending)");
        if (rc == DDB_ESHUTDOWN) return luaL_error(L, "dolphindb: the pool is shut down");
        return luaL_error(L, "dolphindb: %s", err[0] ? err : "cannot submit the task");
    }
    lua_pushnumber(L, ticket);
    return 2;
}

static ngx_task *check_task(lua_State *L, int idx)
{
    ngx_task *nt = luaL_checkudata(L, idx, TASK_MT);
    if (!nt->task) luaL_error(L, "dolphindb: invalid task handle");
    return nt;
}

/* pool:cancel(task) -> true if a cancel was sent (the task was not terminal yet). */
static int l_pool_cancel(lua_State *L)
{
    ngx_pool *np = check_pool(L);
    lua_pushboolean(L, ddb_pool_thread_cancel(np->tp, check_task(L, 2)->task) == DDB_OK);
    return 1;
}

/* pool:forget(id) -> true if the user id was known (Python's getData releases it). */
static int l_pool_forget(lua_State *L)
{
    ngx_pool *np = check_pool(L);
    lua_Number id = luaL_checknumber(L, 2);
    lua_pushboolean(L, ddb_pool_thread_forget(np->tp, (int64_t)id) == DDB_OK);
    return 1;
}

/* ---- inspection --------------------------------------------------------------------- */

static int l_pool_stats(lua_State *L)
{
    ngx_pool *np = check_pool(L);
    ddb_pool_stats s;
    ddb_pool_thread_stats(np->tp, &s);
    lua_createtable(L, 0, 12);
#define SET(name, v) (lua_pushnumber(L, (lua_Number)(v)), lua_setfield(L, -2, name))
    SET("queued", s.queued);
    SET("running", s.running);
    SET("done", s.done);
    SET("failed", s.failed);
    SET("cancelled", s.cancelled);
    SET("abandoned", s.abandoned);
    SET("conns", s.conns);
    SET("conns_ready", s.conns_ready);
    SET("conns_busy", s.conns_busy);
    uv_mutex_lock(&np->mu);
    SET("lost_completions", np->lost);
    uv_mutex_unlock(&np->mu);
#undef SET
    return 1;
}

/* pool:session_ids() -> { "id1", ... } one per connection */
static int l_pool_session_ids(lua_State *L)
{
    ngx_pool *np = check_pool(L);
    lua_createtable(L, np->thread_num, 0);
    for (int i = 0; i < np->thread_num; i++) {
        char buf[64];
        ddb_pool_thread_session_id(np->tp, i, buf, sizeof buf);
        lua_pushstring(L, buf);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* ---- task methods --------------------------------------------------------------------- */

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

/* task:take_result([conv]) -> value (DONE only; the task's reference is released) */
static int l_task_take_result(lua_State *L)
{
    ddb_task *t = check_task(L, 1)->task;
    if (ddb_task_state(t) != DDB_TASK_DONE) return 0;
    ddb_obj *o = ddb_task_take_result(t);
    if (!o) {
        lua_pushnil(L);
        return 1;
    }
    int rc = ddb_lua_push_obj(L, o, ddb_lua_conv_arg(L, 2));
    ddb_obj_unref(o);
    if (rc < 0) return lua_error(L);     /* the message is on the stack */
    return 1;
}

/* task:failure() -> the error table of a failed task (lua_args.h) */
static int l_task_failure(lua_State *L)
{
    return ddb_lua_push_failure(L, check_task(L, 1)->task, NULL);
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

static int l_task_messages(lua_State *L)
{
    return ddb_lua_push_messages(L, check_task(L, 1)->task);
}

static int l_task_elapsed(lua_State *L)
{
    lua_pushnumber(L, ddb_task_elapsed(check_task(L, 1)->task));
    return 1;
}

static int l_task_gc(lua_State *L)
{
    ngx_task *nt = luaL_checkudata(L, 1, TASK_MT);
    ddb_task_unref(nt->task);
    nt->task = NULL;
    return 0;
}

/* ---- module ---------------------------------------------------------------------------- */

static const luaL_Reg pool_methods[] = {
    { "socket_path", l_pool_socket_path }, { "accept", l_pool_accept },
    { "poll", l_pool_poll }, { "submit", l_pool_submit }, { "cancel", l_pool_cancel },
    { "forget", l_pool_forget }, { "stats", l_pool_stats },
    { "session_ids", l_pool_session_ids }, { "close", l_pool_close }, { NULL, NULL }
};

static const luaL_Reg task_methods[] = {
    { "state", l_task_state }, { "terminal", l_task_terminal }, { "id", l_task_id },
    { "take_result", l_task_take_result }, { "error", l_task_error },
    { "failure", l_task_failure },
    { "server_error", l_task_server_error }, { "messages", l_task_messages },
    { "elapsed", l_task_elapsed }, { NULL, NULL }
};

static void new_class(lua_State *L, const char *name, const luaL_Reg *methods,
                      lua_CFunction gc)
{
    luaL_newmetatable(L, name);
    lua_newtable(L);
    luaL_register(L, NULL, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
}

__attribute__((visibility("default")))
int luaopen_dolphindb_ngxcore(lua_State *L)
{
    ddb_ignore_sigpipe();       /* nginx ignores it already; other hosts may not */
    new_class(L, POOL_MT, pool_methods, l_pool_gc);
    new_class(L, TASK_MT, task_methods, l_task_gc);
    lua_newtable(L);
    lua_pushcfunction(L, l_pool_new);
    lua_setfield(L, -2, "pool_new");
    lua_pushnumber(L, DDB_TICKET_SLOTS);   /* ticket % TICKET_SLOTS = its slot */
    lua_setfield(L, -2, "TICKET_SLOTS");
    return 1;
}
