/* mini_client.h — a tiny blocking DolphinDB-protocol client over a raw socket.
 *
 * Made for ddbmini's tests and as a baseline for benchmarks: one connection, one
 * request at a time, no libuv. Requests are built by hand (docs/PROTOCOL.md §1.2) and
 * responses read with the shared codec's incremental decoder.
 *
 *   mini_client c;
 *   mini_client_open(&c, "127.0.0.1", port);
 *   mini_client_connect(&c);                       // the `connect` handshake
 *   ddb_obj *v;
 *   if (mini_client_script(&c, "1+1", &v) == MINI_OK) { ... ddb_obj_unref(v); }
 *   mini_client_close(&c);
 */
#ifndef MINI_CLIENT_H
#define MINI_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include "ddb_buf.h"
#include "ddb_obj.h"

enum {
    MINI_OK = 0,            /* status OK; the object (if any) is returned */
    MINI_SERVER_ERROR = 1,  /* the server answered with an error line (c->error) */
    MINI_IO_ERROR = -1      /* connection closed, timeout or malformed response (c->error) */
};

typedef struct mini_client {
    int fd;
    int64_t session_id;     /* from the last response header */
    const char *kind;       /* "API2" (default) or "API" */
    char behavior[128];     /* default "0_1_4_64"; "" sends no behavior string */
    ddb_buf in;             /* received, not yet consumed bytes */
    size_t in_pos;
    ddb_buf msgs;           /* MSG texts of the last response, each ending in '\n' */
    int nmsgs;
    char error[1024];
    int timeout_ms;         /* per read; default 30000 */
} mini_client;

/* TCP connect (no protocol traffic). 0 or -1 (c->error). */
int mini_client_open(mini_client *c, const char *host, int port);
void mini_client_close(mini_client *c);

/* Sends one request: header line, body, then `payload` bytes (may be NULL). */
int mini_client_send(mini_client *c, const char *body, size_t body_len,
                     const void *payload, size_t payload_len);
/* Reads one response; *obj gets the object or NULL (0 objects / error). */
int mini_client_read(mini_client *c, ddb_obj **obj);

/* Convenience requests; each sends and reads. obj may be NULL to discard. */
int mini_client_connect(mini_client *c);
int mini_client_connect_login(mini_client *c, const char *user, const char *password);
int mini_client_script(mini_client *c, const char *script, ddb_obj **obj);
int mini_client_call(mini_client *c, const char *fn, ddb_obj *const *args, int nargs,
                     ddb_obj **obj);
int mini_client_upload(mini_client *c, const char *const *names, ddb_obj *const *vals, int n);

/* Reads exactly n raw bytes (after a response was read: for leftover checks). */
int mini_client_read_raw(mini_client *c, void *buf, size_t n);
/* 1 if the server closed the connection (EOF within timeout_ms), else 0. */
int mini_client_wait_closed(mini_client *c, int timeout_ms);

#endif
