/* lua_held.c — an open-addressing map ticket -> task (see lua_held.h). Linear probing
 * at most half full; removal shifts the following run back, so no tombstones build
 * up under the steady insert/remove traffic of a pool. */
#include "lua_held.h"

#include <stdlib.h>

#include "ddb_task.h"

static uint64_t key_of(const ddb_task *t)
{
    return (uint64_t)(uintptr_t)t->ud;
}

static size_t home(const lua_held *h, uint64_t key)
{
    return (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (h->cap - 1);
}

static void insert(lua_held *h, ddb_task *t)
{
    size_t i = home(h, key_of(t));
    while (h->tasks[i]) i = (i + 1) & (h->cap - 1);
    h->tasks[i] = t;
    h->n++;
}

static int grow(lua_held *h)
{
    size_t cap = h->cap ? h->cap * 2 : 64;
    ddb_task **tasks = calloc(cap, sizeof *tasks);
    if (!tasks) return -1;
    lua_held old = *h;
    h->tasks = tasks;
    h->cap = cap;
    h->n = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.tasks[i]) insert(h, old.tasks[i]);
    free(old.tasks);
    return 0;
}

int lua_held_reserve(lua_held *h)
{
    return (h->n + 1) * 2 > h->cap ? grow(h) : 0;
}

void lua_held_put(lua_held *h, double ticket, ddb_task *t)
{
    (void)ticket;                 /* t's ud (the caller made them the same) */
    insert(h, t);
}

/* The slot holding `ticket`, or cap when absent. */
static size_t slot_of_key(const lua_held *h, double ticket)
{
    /* Only tickets come here, but a Lua caller could pass anything: no conversion of
     * a negative, huge or NaN double (undefined behaviour). */
    if (h->cap == 0 || !(ticket >= 1 && ticket <= 9007199254740992.0))
        return h->cap;
    uint64_t key = (uint64_t)ticket;      /* in range: defined; no floor() call per task */
    if ((double)key != ticket)
        return h->cap;
    size_t mask = h->cap - 1, i = home(h, key);
    for (ddb_task *t; (t = h->tasks[i]) != NULL; i = (i + 1) & mask)
        if (key_of(t) == key) return i;
    return h->cap;
}

ddb_task *lua_held_find(const lua_held *h, double ticket)
{
    size_t i = slot_of_key(h, ticket);
    return i < h->cap ? h->tasks[i] : NULL;
}

ddb_task *lua_held_take(lua_held *h, double ticket)
{
    size_t i = slot_of_key(h, ticket);
    if (i == h->cap) return NULL;
    size_t mask = h->cap - 1;
    ddb_task *t = h->tasks[i];
    h->tasks[i] = NULL;
    h->n--;
    /* Shift back each later entry of the run that may no longer be reachable from
     * its home slot across the hole just made. */
    for (size_t j = (i + 1) & mask; h->tasks[j]; j = (j + 1) & mask) {
        size_t k = home(h, key_of(h->tasks[j]));
        int reachable = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
        if (reachable) continue;
        h->tasks[i] = h->tasks[j];
        h->tasks[j] = NULL;
        i = j;
    }
    return t;
}

void lua_held_clear(lua_held *h)
{
    for (size_t i = 0; i < h->cap; i++)
        if (h->tasks[i]) ddb_task_unref(h->tasks[i]);
    free(h->tasks);
    h->tasks = NULL;
    h->cap = h->n = 0;
}
