/* lua_held.h — tasks the Lua binding holds by ticket rather than by userdata.
 *
 * pool:run() waits for exactly one completion and takes the outcome right away, so
 * its task needs no Lua object: a userdata with a finalizer would cost an allocation
 * and a finalizer call per task, most of what is left of the Lua layer's cost. The
 * pool keeps such tasks here, keyed by their ticket, until the outcome is taken; the
 * pool's release drops whatever is left. */
#ifndef DDB_LUA_HELD_H
#define DDB_LUA_HELD_H

#include <stddef.h>
#include <stdint.h>
#include "dolphindb.h"

/* An entry's key is its task's ud: the ticket, which lua_pool.c hands the pool as the
 * task's user data. No key array: 8 bytes a slot, not 16 (a queued future's bytes,
 * issue 14). */
typedef struct lua_held {
    ddb_task **tasks;           /* NULL marks a free slot */
    size_t cap, n;              /* cap is 0 or a power of two; n <= cap / 2 */
} lua_held;

/* Makes room for one more task. Returns 0, or -1 out of memory. */
int lua_held_reserve(lua_held *h);

/* Holds the caller's reference to `t` under `ticket`, which must be t's ud; room must
 * have been reserved. */
void lua_held_put(lua_held *h, double ticket, ddb_task *t);

/* The task held under `ticket` (still held), or NULL. */
ddb_task *lua_held_find(const lua_held *h, double ticket);

/* Removes and returns the task held under `ticket` (the reference passes to the
 * caller), or NULL. */
ddb_task *lua_held_take(lua_held *h, double ticket);

/* Drops every reference and the table's memory. */
void lua_held_clear(lua_held *h);

#endif
