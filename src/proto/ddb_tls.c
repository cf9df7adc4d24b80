/* ddb_tls.c — the TLS client engine (ddb_tls.h) on OpenSSL memory BIOs. */
#include "ddb_tls.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct ddb_tls {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *rbio, *wbio;           /* owned by ssl */
    int done;                   /* handshake finished */
};

/* The reason for the last failure: the verification result when that failed,
 * else OpenSSL's error queue (cleared), else `fallback`. */
static void reason(ddb_tls *t, const char *what, const char *fallback, char *err,
                   size_t errlen)
{
    long v = t && t->ssl ? SSL_get_verify_result(t->ssl) : X509_V_OK;
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (v != X509_V_OK)
        snprintf(buf, sizeof buf, "certificate verify failed: %s",
                 X509_verify_cert_error_string(v));
    else if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    snprintf(err, errlen, "%s: %s", what, buf[0] ? buf : fallback);
}

static int is_ip(const char *s)
{
    unsigned char b[16];
    return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

static int set_name_checks(ddb_tls *t, const char *name)
{
    X509_VERIFY_PARAM *param = SSL_get0_param(t->ssl);
    if (is_ip(name))
        return X509_VERIFY_PARAM_set1_ip_asc(param, name) == 1 ? 0 : -1;
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set_tlsext_host_name(t->ssl, name) != 1)
        return -1;
    return X509_VERIFY_PARAM_set1_host(param, name, 0) == 1 ? 0 : -1;
}

ddb_tls *ddb_tls_new(const ddb_tls_opts *opts, const char *host, char *err, size_t errlen)
{
    ddb_tls *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const char *name = opts->server_name && opts->server_name[0] ? opts->server_name : host;
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (!t->ctx || !SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION))
        goto fail;
    if (opts->verify) {
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
        int ok = opts->ca_file && opts->ca_file[0]
                 ? SSL_CTX_load_verify_locations(t->ctx, opts->ca_file, NULL)
                 : SSL_CTX_set_default_verify_paths(t->ctx);
        if (ok != 1) {
            reason(NULL, "cannot load the CA certificates", opts->ca_file ? opts->ca_file
                                                                          : "default paths",
                   err, errlen);
            ddb_tls_free(t);
            return NULL;
        }
    }
    t->ssl = SSL_new(t->ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        t->rbio = t->wbio = NULL;
        goto fail;
    }
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_connect_state(t->ssl);
    if (opts->verify && set_name_checks(t, name))
        goto fail;
    if (!opts->verify && !is_ip(name))
        SSL_set_tlsext_host_name(t->ssl, name);    /* SNI still helps a proxy route */
    return t;
fail:
    reason(t, "TLS setup failed", "out of memory", err, errlen);
    ddb_tls_free(t);
    return NULL;
}

void ddb_tls_free(ddb_tls *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);           /* frees the BIOs */
    SSL_CTX_free(t->ctx);
    free(t);
}

int ddb_tls_handshake(ddb_tls *t, char *err, size_t errlen)
{
    if (t->done)
        return 1;
    int rc = SSL_do_handshake(t->ssl);
    if (rc == 1) {
        t->done = 1;
        return 1;
    }
    int e = SSL_get_error(t->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    reason(t, "TLS handshake failed", "the server does not speak TLS", err, errlen);
    return -1;
}

int ddb_tls_feed(ddb_tls *t, const char *p, size_t n)
{
    while (n > 0) {
        int w = BIO_write(t->rbio, p, n > 1u << 30 ? 1 << 30 : (int)n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int ddb_tls_read(ddb_tls *t, int (*plain)(void *ud, const char *p, size_t n), void *ud,
                 char *err, size_t errlen)
{
    char buf[16384];
    for (;;) {
        int r = SSL_read(t->ssl, buf, sizeof buf);
        if (r > 0) {
            if (plain(ud, buf, (size_t)r))
                return 0;
            continue;
        }
        int e = SSL_get_error(t->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return 0;
        if (e == SSL_ERROR_ZERO_RETURN) {
            snprintf(err, errlen, "the server closed the TLS session");
            return -1;
        }
        reason(t, "TLS error", "bad record", err, errlen);
        return -1;
    }
}

int ddb_tls_write(ddb_tls *t, const void *p, size_t n, char *err, size_t errlen)
{
    const char *c = p;
    while (n > 0) {
        int w = SSL_write(t->ssl, c, n > 1u << 30 ? 1 << 30 : (int)n);
        if (w <= 0) {
            reason(t, "TLS write failed", "?", err, errlen);
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

size_t ddb_tls_take_output(ddb_tls *t, ddb_buf *out)
{
    size_t total = 0;
    size_t pending;
    while ((pending = BIO_ctrl_pending(t->wbio)) > 0) {
        if (ddb_buf_reserve(out, pending))
            break;
        int r = BIO_read(t->wbio, out->p + out->len, (int)pending);
        if (r <= 0)
            break;
        out->len += (size_t)r;
        total += (size_t)r;
    }
    return total;
}
