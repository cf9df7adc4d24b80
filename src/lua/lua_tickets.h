/* lua_tickets.h — ticket numbers for the Lua bindings, made to be cheap Lua keys.
 *
 * A ticket names one pending operation to Lua (lua_loop.h). The Lua side keeps each
 * waiter in arrays indexed by the ticket's slot (ticket % DDB_TICKET_SLOTS), a small
 * integer reused once the ticket is back in Lua. A table keyed by the ever-new
 * tickets themselves would churn: LuaJIT frees a hash node only when it rehashes, and
 * sizes the table to its live keys, so with ~250 operations in flight it rehashed
 * every few inserts (measured: one 35k-instruction rehash per ~6 tasks). The
 * generation part keeps tickets distinct, so a stale ticket never matches its slot's
 * next one; slot >= 1 keeps them non-zero, and generation < 2^29 exact in a double.
 *
 * Not thread-safe: one owner thread (the Lua state's). */
#ifndef DDB_LUA_TICKETS_H
#define DDB_LUA_TICKETS_H

#include <stddef.h>
#include <stdint.h>

#define DDB_TICKET_SLOTS 16777216.0        /* 2^24 */

typedef struct ddb_tickets {
    uint32_t *gen;              /* per slot: generation of its last ticket */
    uint32_t *free;             /* slots whose ticket came back */
    size_t nfree, nslots, cap;
} ddb_tickets;

/* A fresh ticket, or 0 (out of memory, or 2^24 tickets outstanding). */
double ddb_tickets_new(ddb_tickets *t);

/* The ticket is back in Lua (or will never be): its slot may carry the next one.
 * Each ticket must be released at most once; 0 is ignored. */
void ddb_tickets_release(ddb_tickets *t, double ticket);

void ddb_tickets_free(ddb_tickets *t);

#endif
