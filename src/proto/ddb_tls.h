/* ddb_tls.h — a TLS client engine without I/O (OpenSSL over memory BIOs): ciphertext
 * in, plaintext out, and the other way round. The libuv host wraps its streams in
 * it (ddb_uv.c); inside nginx the cosockets do TLS themselves (sslhandshake).
 *
 * Unlike the official clients, which verify nothing, the default is to verify: the
 * certificate chain against the CA file (or the system's trust store) and the
 * server's name (DNS name or IP address) against the certificate. */
#ifndef DDB_TLS_H
#define DDB_TLS_H

#include <stddef.h>
#include "ddb_buf.h"

typedef struct ddb_tls_opts {
    int verify;                 /* 1: check the chain and the name (the default) */
    const char *ca_file;        /* PEM CA bundle; NULL: the system's trust store */
    const char *server_name;    /* name to verify and send as SNI; NULL: the host */
} ddb_tls_opts;

typedef struct ddb_tls ddb_tls;

/* How every host words a failed certificate check (chain, expiry or name): the pool
 * recognises it (an attempt that will not heal by retrying at once) by this start. */
#define DDB_TLS_UNTRUSTED "TLS handshake failed: certificate verify failed"

/* A client session for `host` (the name connected to). NULL on failure (err). */
ddb_tls *ddb_tls_new(const ddb_tls_opts *opts, const char *host, char *err, size_t errlen);
void ddb_tls_free(ddb_tls *t);

/* Advances the handshake: 1 done, 0 waiting for the server's bytes, -1 failed (err
 * says why: "certificate verify failed: ...", "wrong version number" for a server
 * that does not speak TLS, ...). Ciphertext to send may be pending afterwards. */
int ddb_tls_handshake(ddb_tls *t, char *err, size_t errlen);
/* Ciphertext from the server. After the handshake, the plaintext it carries goes to
 * plain(ud, p, n) (which returns nonzero to stop: the user closed the stream).
 * 0, or -1 (err) on a TLS error or an alert. */
int ddb_tls_feed(ddb_tls *t, const char *p, size_t n);
int ddb_tls_read(ddb_tls *t, int (*plain)(void *ud, const char *p, size_t n), void *ud,
                 char *err, size_t errlen);
/* Encrypts plaintext (after the handshake). 0 or -1 (err). */
int ddb_tls_write(ddb_tls *t, const void *p, size_t n, char *err, size_t errlen);
/* Moves the ciphertext waiting to be sent into out (appended). Returns its length. */
size_t ddb_tls_take_output(ddb_tls *t, ddb_buf *out);

#endif
