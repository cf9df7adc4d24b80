/* lua_tickets.c — slot + 2^24 * generation ticket numbers (see lua_tickets.h). */
#include "lua_tickets.h"

#include <stdlib.h>

#define SLOT_BITS 24
#define SLOTS ((uint32_t)1 << SLOT_BITS)
#define GEN_MASK (((uint32_t)1 << (53 - SLOT_BITS)) - 1)
#define FREED ((uint32_t)1 << 31)       /* in gen[slot]: the slot's ticket came back */

static int grow(ddb_tickets *t)
{
    size_t cap = t->cap ? t->cap * 2 : 256;
    if (cap > SLOTS) cap = SLOTS;
    if (cap <= t->cap) return -1;                     /* 2^24 tickets outstanding */
    uint32_t *gen = realloc(t->gen, cap * sizeof *gen);
    if (!gen) return -1;
    t->gen = gen;
    uint32_t *fr = realloc(t->free, cap * sizeof *fr);
    if (!fr) return -1;                               /* gen stays grown: harmless */
    t->free = fr;
    t->cap = cap;
    return 0;
}

double ddb_tickets_new(ddb_tickets *t)
{
    uint32_t slot;
    if (t->nfree > 0) {
        slot = t->free[--t->nfree];
    } else {
        if (t->nslots + 1 >= t->cap && grow(t) != 0) return 0;
        slot = (uint32_t)++t->nslots;                 /* slot 0 is never used */
        t->gen[slot] = 0;
    }
    uint32_t gen = t->gen[slot] = ((t->gen[slot] & GEN_MASK) + 1) & GEN_MASK;
    return (double)slot + (double)SLOTS * gen;
}

void ddb_tickets_release(ddb_tickets *t, double ticket)
{
    if (!(ticket >= 1 && ticket < 9007199254740992.0)) return;
    uint32_t slot = (uint32_t)((uint64_t)ticket & (SLOTS - 1));
    if (slot == 0 || slot > t->nslots) return;
    /* Only the slot's live ticket frees it, once: a slot listed free twice would
     * carry two live tickets at once, and Lua keeps waiters by slot. */
    uint32_t gen = (uint32_t)((uint64_t)ticket >> SLOT_BITS);
    if (t->gen[slot] != gen) return;
    t->gen[slot] |= FREED;
    t->free[t->nfree++] = slot;
}

void ddb_tickets_free(ddb_tickets *t)
{
    free(t->gen);
    free(t->free);
    t->gen = t->free = NULL;
    t->nfree = t->nslots = t->cap = 0;
}
