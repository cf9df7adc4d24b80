/* ddb_pool_ids.c — the user's task ids (addTask's identity): a chained hash table,
 * id -> task, holding a reference on each task until the caller forgets it. A newer
 * task with an id in use replaces the older one, whose result is then discarded. */
#include "ddb_pool.h"

#include <stdlib.h>

static size_t id_slot(const ddb_pool *p, int64_t id)
{
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (p->idcap - 1);
}

static ddb_task *id_find(const ddb_pool *p, int64_t id)
{
    if (!p->idcap)
        return NULL;
    for (ddb_task *t = p->idtab[id_slot(p, id)]; t; t = t->hnext)
        if (t->id == id)
            return t;
    return NULL;
}

static int id_grow(ddb_pool *p)
{
    size_t cap = p->idcap ? p->idcap * 2 : 64;
    ddb_task **tab = calloc(cap, sizeof *tab);
    if (!tab)
        return -1;
    size_t old = p->idcap;
    ddb_task **otab = p->idtab;
    p->idtab = tab;
    p->idcap = cap;
    for (size_t i = 0; i < old; i++)
        for (ddb_task *t = otab[i], *next; t; t = next) {
            next = t->hnext;
            size_t s = id_slot(p, t->id);
            t->hnext = tab[s];
            tab[s] = t;
        }
    free(otab);
    return 0;
}

static int id_insert(ddb_pool *p, ddb_task *t)
{
    if (p->idcount >= p->idcap && id_grow(p))
        return -1;
    size_t s = id_slot(p, t->id);
    t->hnext = p->idtab[s];
    p->idtab[s] = t;
    t->in_table = 1;
    p->idcount++;
    ddb_task_ref(t);
    return 0;
}

static void id_remove(ddb_pool *p, ddb_task *t)
{
    ddb_task **pp = &p->idtab[id_slot(p, t->id)];
    while (*pp && *pp != t)
        pp = &(*pp)->hnext;
    if (*pp) {
        *pp = t->hnext;
        t->hnext = NULL;
        t->in_table = 0;
        p->idcount--;
        ddb_task_unref(t);
    }
}

int ddb_pool_ids_put(ddb_pool *p, ddb_task *t)
{
    ddb_task *old = id_find(p, t->id);
    if (old) {
        old->replaced = 1;
        id_remove(p, old);
        if (ddb_task_state(old) == DDB_TASK_QUEUED)
            ddb_pool_fail(p, old, DDB_TASK_CANCELLED, NULL,
                          "replaced by a newer task with the same id");
    }
    return id_insert(p, t);
}

void ddb_pool_ids_free(ddb_pool *p)
{
    for (size_t i = 0; i < p->idcap; i++)
        for (ddb_task *t = p->idtab[i], *nx; t; t = nx) {
            nx = t->hnext;
            ddb_task_unref(t);
        }
    free(p->idtab);
    p->idtab = NULL;
    p->idcap = p->idcount = 0;
}

ddb_task *ddb_pool_find(ddb_pool *p, int64_t user_id)
{
    return ddb_task_ref(id_find(p, user_id));
}

int ddb_pool_forget(ddb_pool *p, int64_t user_id)
{
    ddb_task *t = id_find(p, user_id);
    if (!t)
        return DDB_ENOTFOUND;
    id_remove(p, t);
    return DDB_OK;
}
