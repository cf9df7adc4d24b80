/* lua_loop.h — the libuv loop owned by one Lua state, and its tickets.
 *
 * Why tickets: coroutine.yield() must stay in Lua (docs/DESIGN.md "Where to yield"). C code
 * starts an operation and hands Lua a ticket (a number); libuv callbacks only append
 * the ticket of a finished operation to the ready list; after uv_run returns, Lua takes
 * the ready list (core.run_once) and resumes whoever parked on those tickets. No Lua
 * code ever runs inside a libuv callback, so a Lua error never unwinds through libuv.
 *
 * Counting: a ticket is "pending" from ddb_lua_ticket_new until Lua has taken it from
 * the ready list, or until it is dropped (operation cancelled, nobody will be told).
 * core.pending() reports that count so a host knows when there is nothing left to wait.
 *
 * Ctrl-C: while core.run_once blocks in uv_run, SIGINT is taken by a handler of ours
 * that wakes the loop (an unreferenced uv_async_t) and makes run_once say so; the
 * scheduler then raises an "interrupted" error in the waiting code. Outside those
 * blocking runs the handler stays in place but hands SIGINT to the host's own
 * disposition, as if it were not there (lua_loop.c explains).
 *
 * Lifetime: the loop lives in a userdata kept in the registry of the Lua state. Objects
 * with libuv handles on the loop (pools) attach a closer; when the state is closed the
 * loop's finalizer calls every closer, closes whatever handle is left and runs the loop
 * until every close callback ran, then closes the loop.
 */
#ifndef DDB_LUA_LOOP_H
#define DDB_LUA_LOOP_H

#include <stdint.h>
#include <uv.h>
#include "lua.h"

typedef struct ddb_lua_loop ddb_lua_loop;

/* Called from the loop's finalizer: the object must close its handles (the loop is run
 * afterwards so their close callbacks fire) and must not touch the loop again. */
typedef void (*ddb_lua_loop_closer)(void *obj);

/* The loop of this Lua state, created on first use. Raises a Lua error if it has
 * already been finalized. */
ddb_lua_loop *ddb_lua_loop_of(lua_State *L);
/* Pushes the loop userdata (so an object can keep it alive by reference). */
void ddb_lua_loop_push(lua_State *L);

/* The host this state's pools run on: libuv (its loop made on first use), or the
 * queue host once core.use_queue_host() chose it (nginx). Raises if the loop cannot
 * be made. */
struct ddb_host_vt;
struct ddb_qhost;
void ddb_lua_loop_host(lua_State *L, ddb_lua_loop *loop, const struct ddb_host_vt **vt,
                       void **ud);
/* The queue host, or NULL when this state uses libuv. */
struct ddb_qhost *ddb_lua_loop_qhost(ddb_lua_loop *loop);
/* Moves the completed tickets into the table at `out` (1..n) and returns n; raises
 * when a completion was lost for lack of memory. */
int ddb_lua_loop_take_ready(lua_State *L, ddb_lua_loop *loop, int out);
/* Choose the queue host: 0, -1 when libuv is already in use, -2 out of memory. */
int ddb_lua_loop_use_qhost(ddb_lua_loop *loop);

/* A fresh ticket for an operation that is starting (counts as pending), or 0 when
 * none can be had (out of memory, or 2^24 tickets outstanding). Tickets are
 * slot + 2^24 * generation, see lua_tickets.h; core.TICKET_SLOTS gives the 2^24. */
double ddb_lua_ticket_new(ddb_lua_loop *loop);
/* The operation finished: queue the ticket for Lua. Safe inside libuv callbacks.
 * Returns 0, or -1 when the ready list could not grow (reported by the next run). */
int ddb_lua_ticket_complete(ddb_lua_loop *loop, double ticket);
/* The operation will never complete (cancelled before it reported): uncount it. */
void ddb_lua_ticket_drop(ddb_lua_loop *loop, double ticket);

/* A pool queued event-log lines (lua_logq.h): put ticket 0 on the ready list, once
 * until the next take, so the scheduler runs dolphindb.log's drain. Safe inside
 * libuv callbacks and core calls. */
void ddb_lua_loop_log_mark(ddb_lua_loop *loop);

/* Runs the loop once in `mode` from C (a benchmark driving the core without Lua).
 * Returns -1 when the loop is already running (re-entry), else uv_run's result. */
int ddb_lua_loop_run(ddb_lua_loop *loop, uv_run_mode mode);

/* Attach/detach an object with handles on this loop (see "Lifetime" above).
 * Returns 0, or -1 when out of memory. */
int ddb_lua_loop_attach(ddb_lua_loop *loop, void *obj, ddb_lua_loop_closer closer);
void ddb_lua_loop_detach(ddb_lua_loop *loop, void *obj);

/* Registers the loop functions (run_once, timer_start, timer_stop, now, pending, ...)
 * into the table at the top of the stack. */
void ddb_lua_loop_register(lua_State *L);

#endif
