/* server.h — requests, responses and connections of ddbmini.
 *
 * The loop thread frames requests (header line, body, payload objects through the
 * incremental decoder) and writes responses; the evaluation of each request runs on
 * the libuv thread pool so a sleeping script never blocks other sessions. */
#ifndef DDBMINI_SERVER_H
#define DDBMINI_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "ddb_buf.h"
#include "ddb_codec.h"
#include "mini.h"
#include "session.h"

enum { CMD_CONNECT = 1, CMD_SCRIPT, CMD_FUNCTION, CMD_VARIABLE };

/* Behavior-string flag bits (docs/PROTOCOL.md §3.2). */
enum {
    FLAG_URGENT = 1, FLAG_ASYNC = 4, FLAG_PICKLE = 8, FLAG_CLEAR_MEMORY = 16,
    FLAG_COMPRESS = 64, FLAG_PYTHON = 2048, FLAG_KDB = 4096, FLAG_ARROW = 32768
};

typedef struct behavior {
    int64_t flag;
    int priority, parallelism;
    int64_t fetch_size;
    char client_id[64];
    int64_t seq_no;             /* 0: none */
} behavior;

typedef struct request {
    int api2;
    behavior b;
    int cmd;
    char *body;                 /* NUL-terminated copy of the body */
    size_t body_len;
    const char *script;         /* CMD_SCRIPT: text after "script\n" */
    size_t script_len;
    char *name;                 /* function name / comma-separated variable names */
    int nobjs, little;
    ddb_obj **objs;             /* decoded payload */
    int ngot;
    const char *login_user, *login_password;   /* connect + login lines */
    char error[256];            /* set while framing: answer with it, run nothing */
    node *ast;                  /* the script parsed by request_prepare (borrowed from
                                   the session's cache), or NULL: parsed when run */
    /* MSG blocks as they are printed (API2), called on the evaluating thread */
    void (*msg_cb)(void *arg, ddb_buf *msgs);
    void *msg_arg;
} request;

/* A piece of the response: owned bytes, or bytes borrowed from an object kept
 * alive by a reference (big columns are written straight from their arrays). */
typedef struct segment {
    const char *p;
    size_t len;
    char *owned;
    ddb_obj *keep;
} segment;

typedef struct response {
    ddb_buf head;               /* MSG blocks, header line, status line */
    segment *segs;
    int nsegs, cap;
    int no_reply;               /* async request */
    int control;                /* test-hook request: faults do not apply */
    int failed;                 /* answered with an error line */
} response;

/* request.c */
int request_parse_header(request *r, const char *line, size_t len, size_t *body_len,
                         char *err, size_t errlen);
int request_parse_body(request *r, char *err, size_t errlen);
void request_free(request *r);
void request_execute(session *s, request *r, response *resp);
/* quick.c: parses a short script (r->ast); 1 when the request may be evaluated on
 * the loop thread (small, bounded work that never waits), 0: the thread pool. */
int request_prepare(session *s, request *r);

/* response.c */
void response_init(response *resp);
void response_free(response *resp);
int response_add_owned(response *resp, ddb_buf *b);       /* takes b's memory */
/* Builds the object segments; fetch_size > 0 gives block-wise table replies. */
int response_add_object(response *resp, const ddb_obj *o, int64_t fetch_size, int compress,
                        char *err, size_t errlen);
size_t response_total(const response *resp);
/* A fixed-width scalar with no fetchSize: a few bytes that go straight into the head
 * after the status line (no segment, no encoder: most replies are such scalars). */
int response_small_scalar(const ddb_obj *o, int64_t fetch_size);
void response_put_scalar(ddb_buf *b, const ddb_obj *o);

/* server.c */
typedef struct mini_server mini_server;
mini_server *server_start(uv_loop_t *loop, const char *host, int port, char *err, size_t errlen);
int server_port(const mini_server *s);
void server_stop(mini_server *s);           /* closes the listener and every connection */
void server_free(mini_server *s);           /* after the loop has ended */

/* tls.c: TLS from the first byte on the listening port (--tls-cert/--tls-key) */
int tls_setup(const char *cert_file, const char *key_file, char *err, size_t errlen);
int tls_enabled(void);
void tls_free(void);
/* Accepts the pending connection as a TLS relay; returns the fd of the plaintext
 * socket the connection reads and writes instead (-1: dropped). */
int tls_accept(uv_stream_t *listener);

#endif
