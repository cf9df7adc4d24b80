/* ddb_login.h — the login exchange of a connection's handshake, sans I/O: it builds
 * each request into a buffer and takes each reply, and the connection (ddb_conn.c)
 * carries them. Methods (docs/SECURITY.md "Logging in without the password in clear"):
 *   SCRAM      scramClientFirst -> scramClientFinal; the server's signature is checked,
 *              so the server proves it knows the password too;
 *   ENCRYPTED  getDynamicPublicKey -> login(RSA(user), RSA(password), true);
 *   PLAIN      login(user, password, false): the password crosses the wire in clear;
 *   AUTO       SCRAM, then ENCRYPTED when the server or the user does not offer SCRAM;
 *              never PLAIN (a downgrade nobody chose). */
#ifndef DDB_LOGIN_H
#define DDB_LOGIN_H

#include <stddef.h>
#include "dolphindb.h"
#include "ddb_buf.h"
#include "ddb_proto.h"

enum { DDB_LOGIN_MORE = 1, DDB_LOGIN_DONE = 2, DDB_LOGIN_FAILED = 3 };

struct ddb_scram;

typedef struct ddb_login {
    int method;                 /* DDB_LOGIN_* of dolphindb.h */
    int step;                   /* private */
    struct ddb_scram *scram;
    char *combined;             /* SCRAM combined nonce */
    const char *user, *password, *session_id;   /* borrowed from the connection */
} ddb_login;

/* Builds the first request into head. DDB_LOGIN_MORE, or DDB_LOGIN_FAILED (err). */
int ddb_login_start(ddb_login *lg, int method, const char *user, const char *password,
                    const char *session_id, ddb_buf *head, char *err, size_t errlen);
/* Takes the reply to the last request: DDB_LOGIN_MORE (head holds the next request),
 * DDB_LOGIN_DONE, or DDB_LOGIN_FAILED (err says why; never holds the password). */
int ddb_login_reply(ddb_login *lg, const ddb_resp *r, ddb_buf *head, char *err,
                    size_t errlen);
void ddb_login_free(ddb_login *lg);     /* wipes what it held; idempotent */
/* "auto", "scram", ... for messages. */
const char *ddb_login_method_name(int method);

#endif
