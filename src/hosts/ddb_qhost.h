/* ddb_qhost.h — the queue host: the pool core's host (ddb_host.h) for a program that
 * does its own I/O, such as an nginx worker with cosockets.
 *
 * The core's requests become intents in a queue (open this stream, it has output,
 * pause, resume, close) and the timers and pumps are kept here; the program (the
 * driver) takes the intents, carries them out with its own sockets and timers, and
 * reports back what happened (connected, data, failed). Reports and timer runs are
 * calls from the driver into this file, so they never happen inside a core call,
 * as ddb_host.h requires. No thread, no file descriptor, no allocation per request
 * beyond the output queue.
 *
 * A driver's turn, after it did anything that may have produced intents:
 *     ddb_qhost_run(q);                        timers due, pumps, deferred closes
 *     while ((n = ddb_qhost_take(q, v, cap)))  carry each intent out
 *     next = ddb_qhost_next_ms(q);             sleep at most that long (-1: no timer)
 */
#ifndef DDB_QHOST_H
#define DDB_QHOST_H

#include <stddef.h>
#include <stdint.h>
#include "ddb_host.h"

typedef struct ddb_qhost ddb_qhost;

enum {
    DDB_Q_OPEN = 1,     /* connect stream `id` (ddb_qhost_target says where) */
    DDB_Q_OUTPUT,       /* stream `id` has bytes to send (ddb_qhost_output) */
    DDB_Q_PAUSE,        /* stop reading stream `id` until DDB_Q_RESUME */
    DDB_Q_RESUME,
    DDB_Q_CLOSE,        /* close stream `id`; report nothing more about it */
};

typedef struct ddb_qintent {
    int op;             /* DDB_Q_* */
    int64_t id;         /* the stream, as the reports name it */
} ddb_qintent;

extern const ddb_host_vt ddb_qhost_vt;

ddb_qhost *ddb_qhost_new(void);
/* After every pool on it was freed: runs the last deferred callbacks, frees. */
void ddb_qhost_free(ddb_qhost *q);

/* Moves up to cap intents into out (oldest first); returns how many. */
size_t ddb_qhost_take(ddb_qhost *q, ddb_qintent *out, size_t cap);
/* Where stream `id` must connect; -1 if the stream is gone. */
int ddb_qhost_target(ddb_qhost *q, int64_t id, const char **name, int *port,
                     int *keepalive_sec);

/* Whether stream `id` wants TLS (the driver shakes hands once connected, then
 * reports connected), whether to verify, and the name to verify. -1: gone. */
int ddb_qhost_target_tls(ddb_qhost *q, int64_t id, int *tls, int *verify,
                         const char **server_name);

/* What the driver reports about stream `id` (ignored once the stream is closed). */
void ddb_qhost_connected(ddb_qhost *q, int64_t id);
void ddb_qhost_data(ddb_qhost *q, int64_t id, const char *p, size_t n);
void ddb_qhost_failed(ddb_qhost *q, int64_t id, const char *why);

/* The bytes queued for stream `id`, as pieces: calls put(ud, p, n) for each, in
 * order, then lets go of them (the driver copied them). Returns the byte count, or
 * -1 if the stream is gone. */
int64_t ddb_qhost_output(ddb_qhost *q, int64_t id,
                         void (*put)(void *ud, const char *p, size_t n), void *ud);

/* Refreshes the clock, fires the timers that are due, runs started pumps once and
 * the deferred close callbacks. */
void ddb_qhost_run(ddb_qhost *q);
/* Milliseconds until ddb_qhost_run has work (0: now), -1 when nothing is armed. */
int64_t ddb_qhost_next_ms(ddb_qhost *q);
/* The host-clock time (ms) at which ddb_qhost_run has work (the clock's current
 * reading when it has work now), -1 when nothing is armed; and that clock. */
int64_t ddb_qhost_next_due(const ddb_qhost *q);
uint64_t ddb_qhost_now(ddb_qhost *q);
/* Streams not yet closed, handles not yet released (for tests and leak checks). */
void ddb_qhost_counts(const ddb_qhost *q, int *streams, int *handles);

#endif
