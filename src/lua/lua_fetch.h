/* lua_fetch.h — the fetch userdata: one block-wise (fetchSize) task of a pool, for
 * dolphindb/pool.lua's block iterator.
 *
 * Waiting: f:wait() hands out a ticket that completes when the next block is ready
 * or the task ended (the pool's on_block / on_complete callbacks call
 * ddb_lua_fetch_wake, which only completes tickets: no Lua inside the loop). Taking
 * a block lets the connection read the next one.
 *
 * Lifetime: the userdata holds one task reference. Collected while its task still
 * runs (the consumer broke out of its loop), it asks the pool to skip the rest of
 * the blocks, so the connection reads the response to its end and serves the next
 * task. The pool's userdata keeps a list of its fetches so a freed pool detaches
 * them (their methods then raise). */
#ifndef DDB_LUA_FETCH_H
#define DDB_LUA_FETCH_H

#include "lua.h"
#include "dolphindb.h"
#include "lua_loop.h"

typedef struct lua_fetch lua_fetch;
typedef struct lua_fetch_list {
    lua_fetch *head;
} lua_fetch_list;

/* Pushes a new fetch userdata on `pool` (its task still NULL: the caller stores
 * the submitted task with ddb_lua_fetch_set_task). */
lua_fetch *ddb_lua_fetch_push(lua_State *L, lua_fetch_list *list, ddb_pool *pool,
                              ddb_lua_loop *loop);
void ddb_lua_fetch_set_task(lua_fetch *f, ddb_task *t);
/* A block of `t` is ready or `t` ended: complete the ticket its fetch waits on.
 * Safe inside the loop's callbacks (bookkeeping only). */
void ddb_lua_fetch_wake(lua_fetch_list *list, ddb_lua_loop *loop, ddb_task *t);
/* The pool is being freed: every fetch lets go of it and of its ticket. */
void ddb_lua_fetch_detach_all(lua_fetch_list *list, ddb_lua_loop *loop);

#endif
