/* ddb_pin.c — pinning one of the pool's connections to one caller (ddb_pin.h).
 *
 * The pool keeps no pin state until the first claim: p->pins stays NULL and the
 * dispatcher's only cost is that test. Per connection: the pin holding it (0 none)
 * and whether that pin's session is gone. Claims not answered yet sit in a short
 * list; an answered claim leaves its task in `claimed[conn]` until the caller takes
 * the pin id. */
#include "ddb_pin.h"
#include "ddb_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR(...) ((void)(err && errlen ? snprintf(err, errlen, __VA_ARGS__) : 0))

struct ddb_pins {
    int64_t *owner;             /* per connection: its pin, 0 none */
    uint8_t *lost;              /* per connection: its pin's session is gone */
    ddb_task **claimed;         /* per connection: the claim it answered, not yet taken */
    ddb_task **want;            /* claims waiting for an answer (references held) */
    int nwant, capwant;
    int64_t next_id;
};

static struct ddb_pins *pins_of(ddb_pool *p)
{
    if (p->pins)
        return p->pins;
    struct ddb_pins *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->owner = calloc((size_t)p->nconns, sizeof *s->owner);
    s->lost = calloc((size_t)p->nconns, sizeof *s->lost);
    s->claimed = calloc((size_t)p->nconns, sizeof *s->claimed);
    if (!s->owner || !s->lost || !s->claimed) {
        free(s->owner);
        free(s->lost);
        free(s->claimed);
        free(s);
        return NULL;
    }
    p->pins = s;
    return s;
}

/* The connection pin holds, or -1. */
static int conn_of(const ddb_pool *p, int64_t pin)
{
    if (!p->pins || pin <= 0)
        return -1;
    for (int i = 0; i < p->nconns; i++)
        if (p->pins->owner[i] == pin)
            return i;
    return -1;
}

/* Removes t from the waiting claims; 1 if it was there (its reference dropped). */
static int unwant(struct ddb_pins *s, ddb_task *t)
{
    for (int i = 0; i < s->nwant; i++)
        if (s->want[i] == t) {
            s->want[i] = s->want[--s->nwant];
            ddb_task_unref(t);
            return 1;
        }
    return 0;
}

int ddb_pool_pin_claim(ddb_pool *p, ddb_task *t, char *err, size_t errlen)
{
    if (!p || !t || ddb_task_state_is_terminal(ddb_task_state(t))) {
        ERR("a claim must be a task of this pool that has not ended");
        return DDB_EINVAL;
    }
    struct ddb_pins *s = pins_of(p);
    if (s && s->nwant == s->capwant) {
        int cap = s->capwant ? 2 * s->capwant : 4;
        ddb_task **w = realloc(s->want, (size_t)cap * sizeof *w);
        if (w) {
            s->want = w;
            s->capwant = cap;
        }
    }
    if (!s || s->nwant == s->capwant) {
        ERR("out of memory for a pin");
        return DDB_ENOMEM;
    }
    s->want[s->nwant++] = ddb_task_ref(t);
    return DDB_OK;
}

void ddb_pin_answered(ddb_pool *p, struct ddb_conn *c, ddb_task *t)
{
    struct ddb_pins *s = p->pins;
    if (!s || !s->nwant || !unwant(s, t))
        return;
    if (ddb_task_state(t) != DDB_TASK_DONE || ddb_pool_is_stopping(p) || s->owner[c->index])
        return;
    s->owner[c->index] = ++s->next_id;
    s->lost[c->index] = 0;
    ddb_task_unref(s->claimed[c->index]);
    s->claimed[c->index] = ddb_task_ref(t);
}

int64_t ddb_pool_pin_take(ddb_pool *p, ddb_task *t)
{
    struct ddb_pins *s = p ? p->pins : NULL;
    if (!s || !t)
        return 0;
    unwant(s, t);       /* a claim that ended without an answer binds nothing later */
    for (int i = 0; i < p->nconns; i++)
        if (s->claimed[i] == t) {
            s->claimed[i] = NULL;
            ddb_task_unref(t);
            return s->owner[i];
        }
    return 0;
}

int ddb_pin_holds(const ddb_pool *p, int i)
{
    return p->pins && i >= 0 && i < p->nconns && p->pins->owner[i] != 0;
}

void ddb_pin_reconnected(ddb_pool *p, struct ddb_conn *c)
{
    if (ddb_pin_holds(p, c->index))
        p->pins->lost[c->index] = 1;
}

int ddb_pool_pin_conn(const ddb_pool *p, int64_t pin) { return p ? conn_of(p, pin) : -1; }

int ddb_pool_pin_alive(const ddb_pool *p, int64_t pin)
{
    int i = p ? conn_of(p, pin) : -1;
    if (i < 0)
        return -1;
    const ddb_conn *c = p->conns[i];
    return !p->pins->lost[i] && (c->state == DDB_CONN_READY || c->state == DDB_CONN_BUSY);
}

int ddb_pool_pin_submit(ddb_pool *p, int64_t pin, const ddb_task_spec *spec, ddb_task **out,
                        char *err, size_t errlen)
{
    *out = NULL;
    if (!p || !spec) {
        ERR("pool or spec is NULL");
        return DDB_EINVAL;
    }
    if (ddb_pool_is_stopping(p)) {
        ERR("pool is shut down");
        return DDB_ESHUTDOWN;
    }
    int i = conn_of(p, pin);
    if (i < 0) {
        ERR("no such pin (released, or never claimed)");
        return DDB_EINVAL;
    }
    if (spec->has_id || spec->fetch_size) {
        ERR("a pinned task takes no task id and no fetchSize");
        return DDB_EINVAL;
    }
    ddb_conn *c = p->conns[i];
    if (!ddb_pool_pin_alive(p, pin)) {
        ERR("the pinned connection %d was lost (%s): its session and its variables are gone",
            i + 1, c->last_error[0] ? c->last_error : "it reconnected");
        return DDB_ESTATE;
    }
    if (c->state != DDB_CONN_READY) {
        ERR("the pinned connection runs another task (one at a time)");
        return DDB_ESTATE;
    }
    int code;
    ddb_task *t = ddb_task_create(spec, p->cfg.task_timeout, p->cfg.compress, &code, err, errlen);
    if (!t)
        return code;
    ddb_pool_run_on(p, c, t);
    *out = t;
    return DDB_OK;
}

int ddb_pool_unpin(ddb_pool *p, int64_t pin)
{
    int i = p ? conn_of(p, pin) : -1;
    if (i < 0)
        return DDB_EINVAL;
    p->pins->owner[i] = 0;
    p->pins->lost[i] = 0;
    ddb_pool_dispatch(p);       /* tasks may have queued while it was held */
    return DDB_OK;
}

void ddb_pin_free(ddb_pool *p)
{
    struct ddb_pins *s = p->pins;
    if (!s)
        return;
    for (int i = 0; i < s->nwant; i++)
        ddb_task_unref(s->want[i]);
    for (int i = 0; i < p->nconns; i++)
        ddb_task_unref(s->claimed[i]);
    free(s->want);
    free(s->owner);
    free(s->lost);
    free(s->claimed);
    free(s);
    p->pins = NULL;
}
