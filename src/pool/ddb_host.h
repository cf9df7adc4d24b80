/* ddb_host.h — what the pool core asks of the program it runs in (private).
 *
 * The pool and its connections keep no event loop of their own: a clock, one-shot
 * timers, a "pump" (a callback run on each loop iteration while started, before the
 * loop waits for I/O) and TCP streams come from a host through this table, as an
 * async client takes its event library through adapter hooks. Two hosts exist:
 *   src/hosts/ddb_uv.c     libuv (plain luajit, ddblua, the C API, the thread driver);
 *   src/hosts/ddb_qhost.c  a queue of intents a scripting host carries out itself (nginx:
 *                    lua/dolphindb/ngx_sched.lua drives cosockets and ngx.timer).
 * The rule for every report (a timer firing, a pump run, a stream event): the host
 * makes it from its own loop, never from inside one of these calls, so the core is
 * never re-entered. */
#ifndef DDB_HOST_H
#define DDB_HOST_H

#include <stddef.h>
#include <stdint.h>
#include "ddb_buf.h"
#include "ddb_tls.h"

typedef void (*ddb_host_fn)(void *arg);
typedef struct ddb_host_handle ddb_host_handle;     /* the host's own */
typedef struct ddb_host_stream ddb_host_stream;     /* the host's own */

/* What a stream reports to its user (`arg` of stream_open). After `failed` the
 * stream is dead and reports nothing more; its user closes it. */
typedef struct ddb_stream_cbs {
    void (*connected)(void *arg);                       /* reads and writes may start */
    void (*data)(void *arg, const char *p, size_t n);   /* bytes arrived (n > 0) */
    void (*failed)(void *arg, const char *why);         /* connect failed, EOF, I/O error */
} ddb_stream_cbs;

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

    /* A TCP connection to name:port (resolved by the host), with TCP_NODELAY and,
     * when keepalive_sec > 0, keep-alive probes; with tls (not NULL) a TLS session
     * over it, `connected` reported once the handshake is done and the streams's
     * bytes being plaintext. Reading starts once connected. NULL when it cannot
     * even be started; err says why. */
    ddb_host_stream *(*stream_open)(void *host, const char *name, int port,
                                    int keepalive_sec, const ddb_tls_opts *tls,
                                    const ddb_stream_cbs *cbs, void *arg, char *err,
                                    size_t errlen);
    /* Send head then body, in order after earlier writes. The host takes head's
     * memory (leaving *head empty); body is borrowed until release(rel_arg) is
     * called (at once when the host copied or sent it; release may be NULL).
     * Returns NULL, or why the write could not even be queued (then release has
     * been called and nothing will be reported for this write). */
    const char *(*stream_write)(ddb_host_stream *s, ddb_buf *head, const char *body,
                                size_t body_len, ddb_host_fn release, void *rel_arg);
    /* Optional (NULL: callers use stream_write): the same with head borrowed as well,
     * for a caller that reuses one header buffer (no allocation per request). The
     * host copies whatever part of head it cannot send at once. Body is borrowed for
     * the call only, unless the host keeps it to send later: then it calls retain(arg)
     * first and release(arg) when done (both may be NULL for a body that outlives
     * the stream). Returns NULL, or why the write failed (then it never retained). */
    const char *(*stream_write_borrowed)(ddb_host_stream *s, const char *head,
                                         size_t head_len, const char *body,
                                         size_t body_len, ddb_host_fn retain,
                                         ddb_host_fn release, void *arg);
    /* Stop (paused = 1) or restart delivering data: a busy connection yields.
     * Returns NULL, or why reading could not restart (the stream is then broken). */
    const char *(*stream_pause)(ddb_host_stream *s, int paused);
    /* Close: nothing is reported after this call; pending writes are dropped (their
     * release runs); closed(arg) is called once the host let go, never inside. */
    void (*stream_close)(ddb_host_stream *s, ddb_host_fn closed, void *arg);
} ddb_host_vt;

/* The libuv host (ddb_uv.c): `host` is the uv_loop_t. */
extern const ddb_host_vt ddb_uv_host;

#endif
