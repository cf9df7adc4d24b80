/* ddb_pin.h — pinning one of the pool's connections to one caller (ddb_pin.c).
 *
 * A caller that needs several tasks in a row on one session (variables defined by
 * one task read by the next, as on a single connection) claims a pin: an ordinary
 * task marked as a claim; the connection that answers it becomes the pin's before
 * the pool can give it another task. From then on the dispatcher passes that
 * connection by, and ddb_pool_pin_submit sends the pin's tasks straight to it, one
 * at a time, while it is in the session it was in when claimed. Once that session
 * is gone (the connection broke, reconnected, timed a task out or was cancelled)
 * the pin is lost: its tasks fail and are never re-sent on another connection.
 * ddb_pool_unpin gives the connection back to the pool (session variables left as
 * they are). Everything here runs on the pool's loop thread (inline drivers: the
 * Lua module, the libuv host and the queue host). */
#ifndef DDB_PIN_H
#define DDB_PIN_H

#include "dolphindb.h"

struct ddb_conn;

/* Marks t (submitted, not ended) as a claim. DDB_OK, DDB_ENOMEM, DDB_EINVAL. */
int ddb_pool_pin_claim(ddb_pool *p, ddb_task *t, char *err, size_t errlen);
/* The pin the claim t got (> 0), once t ended; 0 if it got none (it failed, was
 * cancelled, or was never a claim). Either way t stops being a claim. */
int64_t ddb_pool_pin_take(ddb_pool *p, ddb_task *t);
/* Sends a task on the pin's connection. DDB_OK (*out: the caller's reference),
 * DDB_EINVAL (unknown or released pin, a task id or fetchSize given), DDB_ESTATE
 * (the pin is lost, or its connection runs a task still: err says which),
 * DDB_ESHUTDOWN, DDB_ENOMEM. */
int ddb_pool_pin_submit(ddb_pool *p, int64_t pin, const ddb_task_spec *spec, ddb_task **out,
                        char *err, size_t errlen);
/* The index of the pin's connection, or -1 (unknown or released pin). */
int ddb_pool_pin_conn(const ddb_pool *p, int64_t pin);
/* 1 if the pin is held and its session still there, 0 if lost, -1 if unknown. */
int ddb_pool_pin_alive(const ddb_pool *p, int64_t pin);
/* Gives the connection back (a task of the pin still running finishes first).
 * DDB_OK or DDB_EINVAL (unknown pin). */
int ddb_pool_unpin(ddb_pool *p, int64_t pin);

/* ---- hooks for ddb_pool.c ---- */
/* The connection at index i is pinned: the dispatcher passes it by. */
int ddb_pin_holds(const ddb_pool *p, int i);
/* c answered t: a claim binds c. Called before the pool dispatches again. */
void ddb_pin_answered(ddb_pool *p, struct ddb_conn *c, ddb_task *t);
/* c (re)connected: the session its pin was claimed in is gone. */
void ddb_pin_reconnected(ddb_pool *p, struct ddb_conn *c);
void ddb_pin_free(ddb_pool *p);

#endif
