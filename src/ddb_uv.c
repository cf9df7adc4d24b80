/* ddb_uv.c — the libuv host of the pool core (ddb_host.h): uv_now for the clock,
 * uv_timer_t for timers, uv_idle_t for the pump. Each handle is heap-allocated and
 * freed in its close callback, the only place libuv allows it. */
#include "ddb_host.h"

#include <stdlib.h>
#include <uv.h>

struct ddb_host_handle {
    union {
        uv_handle_t handle;
        uv_timer_t timer;
        uv_idle_t idle;
    } u;
    ddb_host_fn fn, closed;
    void *arg;
};

static uint64_t uvh_now_ms(void *host) { return uv_now(host); }
static void uvh_update_time(void *host) { uv_update_time(host); }

static ddb_host_handle *make(ddb_host_fn fn, void *arg)
{
    ddb_host_handle *h = calloc(1, sizeof *h);
    if (h) {
        h->fn = fn;
        h->arg = arg;
    }
    return h;
}

static void timer_fired(uv_timer_t *t)
{
    ddb_host_handle *h = t->data;
    h->fn(h->arg);
}

static ddb_host_handle *uvh_timer_new(void *host, ddb_host_fn fire, void *arg)
{
    ddb_host_handle *h = make(fire, arg);
    if (h && uv_timer_init(host, &h->u.timer)) {
        free(h);
        return NULL;
    }
    if (h)
        h->u.handle.data = h;
    return h;
}

static void uvh_timer_start(ddb_host_handle *h, uint64_t ms)
{
    uv_timer_start(&h->u.timer, timer_fired, ms, 0);
}

static void uvh_timer_stop(ddb_host_handle *h) { uv_timer_stop(&h->u.timer); }

static void idle_ran(uv_idle_t *i)
{
    ddb_host_handle *h = i->data;
    h->fn(h->arg);
}

static ddb_host_handle *uvh_pump_new(void *host, ddb_host_fn run, void *arg)
{
    ddb_host_handle *h = make(run, arg);
    if (h && uv_idle_init(host, &h->u.idle)) {
        free(h);
        return NULL;
    }
    if (h)
        h->u.handle.data = h;
    return h;
}

static void uvh_pump_start(ddb_host_handle *h) { uv_idle_start(&h->u.idle, idle_ran); }
static void uvh_pump_stop(ddb_host_handle *h) { uv_idle_stop(&h->u.idle); }

static void handle_closed(uv_handle_t *uh)
{
    ddb_host_handle *h = uh->data;
    ddb_host_fn closed = h->closed;
    void *arg = h->arg;
    free(h);
    if (closed)
        closed(arg);
}

static void uvh_close(ddb_host_handle *h, ddb_host_fn closed)
{
    h->closed = closed;
    uv_close(&h->u.handle, handle_closed);
}

const ddb_host_vt ddb_uv_host = {
    .now_ms = uvh_now_ms, .update_time = uvh_update_time,
    .timer_new = uvh_timer_new, .timer_start = uvh_timer_start,
    .timer_stop = uvh_timer_stop, .pump_new = uvh_pump_new,
    .pump_start = uvh_pump_start, .pump_stop = uvh_pump_stop, .close = uvh_close,
};
