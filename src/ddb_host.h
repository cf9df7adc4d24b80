/* ddb_host.h — what the pool core asks of the program it runs in (private).
 *
 * The pool keeps no event loop of its own: a clock, one-shot timers and a "pump" (a
 * callback run on each loop iteration while started, before the loop waits for I/O)
 * come from a host through this table, as an async client takes its event library
 * through adapter hooks. src/ddb_uv.c is the libuv host; ddb_pool_new(loop, ...)
 * installs it. Connections still run on libuv themselves (ddb_conn.c). */
#ifndef DDB_HOST_H
#define DDB_HOST_H

#include <stdint.h>

typedef void (*ddb_host_fn)(void *arg);
typedef struct ddb_host_handle ddb_host_handle;     /* the host's own */

typedef struct ddb_host_vt {
    /* Milliseconds of a monotonic clock; may be cached per loop iteration. */
    uint64_t (*now_ms)(void *host);
    /* Refresh that cache (the caller may have been busy outside the loop). */
    void (*update_time)(void *host);
    /* A one-shot timer calling fire(arg); NULL if it cannot be made. */
    ddb_host_handle *(*timer_new)(void *host, ddb_host_fn fire, void *arg);
    void (*timer_start)(ddb_host_handle *h, uint64_t ms);  /* re-arms a running one */
    void (*timer_stop)(ddb_host_handle *h);
    /* The pump: run(arg) on every loop iteration while started; NULL on failure. */
    ddb_host_handle *(*pump_new)(void *host, ddb_host_fn run, void *arg);
    void (*pump_start)(ddb_host_handle *h);
    void (*pump_stop)(ddb_host_handle *h);
    /* Stop and release a timer or pump. closed(arg) (unless NULL) is called once
     * the host let go of it, never from inside this call. */
    void (*close)(ddb_host_handle *h, ddb_host_fn closed);
} ddb_host_vt;

/* The libuv host (ddb_uv.c): `host` is the uv_loop_t. */
extern const ddb_host_vt ddb_uv_host;

#endif
