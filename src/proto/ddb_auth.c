/* ddb_auth.c — see ddb_auth.h. The derivations follow docs/PROTOCOL.md's login
 * section and RFC 5802/7677; every primitive (PBKDF2, HMAC, SHA-256, RSA, random
 * bytes, Base64 blocks) is OpenSSL's. */
#include "ddb_auth.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ST_STARTED, ST_PROVED, ST_DONE };

struct ddb_scram {
    int state;
    char *user;
    char *password;                         /* wiped on free */
    char nonce[DDB_SCRAM_MAX_FIELD + 1];
    char *auth_message;
    unsigned char server_signature[DDB_SCRAM_KEY_LEN];  /* expected; wiped */
    char proof_b64[64];
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    ERR_clear_error();          /* leave no stale OpenSSL errors for the next caller */
    return -1;
}

void ddb_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

static void free_secret(char *s)
{
    if (s) {
        ddb_wipe(s, strlen(s));
        free(s);
    }
}

/* ---------------------------------------------------------------- Base64 */

size_t ddb_b64_encode(const void *in, size_t n, char *out)
{
    /* EVP_EncodeBlock takes an int length: chunks of a multiple of 3 bytes. */
    size_t done = 0, len = 0;
    const size_t step = 3 * 1024 * 1024;
    while (n - done > step) {
        len += (size_t)EVP_EncodeBlock((unsigned char *)out + len, (const unsigned char *)in + done, (int)step);
        done += step;
    }
    len += (size_t)EVP_EncodeBlock((unsigned char *)out + len, (const unsigned char *)in + done, (int)(n - done));
    out[len] = 0;
    return len;
}

static int b64_char(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

long ddb_b64_decode(const char *in, size_t n, unsigned char *out, size_t outcap)
{
    char *clean = malloc(n + 1);
    if (!clean)
        return -1;
    size_t len = 0, pad = 0;
    long rc = -1;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '=')
            pad++;
        else if (!b64_char((unsigned char)c) || pad)
            goto done;          /* a foreign byte, or data after the padding */
        clean[len++] = c;
    }
    if (len % 4 || pad > 2 || len > 0x7fffffff)
        goto done;
    size_t need = len / 4 * 3 - pad;
    if (need > outcap)
        goto done;
    if (len == 0) {
        rc = 0;
        goto done;
    }
    unsigned char *tmp = malloc(len / 4 * 3);
    if (!tmp)
        goto done;
    if (EVP_DecodeBlock(tmp, (const unsigned char *)clean, (int)len) == (int)(len / 4 * 3)) {
        memcpy(out, tmp, need);
        rc = (long)need;
    }
    ddb_wipe(tmp, len / 4 * 3);
    free(tmp);
done:
    free(clean);
    return rc;
}

/* ---------------------------------------------------------------- SCRAM keys */

static int sha256(const unsigned char *in, size_t n, unsigned char out[DDB_SCRAM_KEY_LEN])
{
    unsigned int len = 0;
    return EVP_Digest(in, n, out, &len, EVP_sha256(), NULL) == 1 && len == DDB_SCRAM_KEY_LEN ? 0 : -1;
}

static int hmac(const unsigned char *key, size_t keylen, const void *text, size_t n,
                unsigned char out[DDB_SCRAM_KEY_LEN])
{
    unsigned int len = 0;
    return HMAC(EVP_sha256(), key, (int)keylen, text, n, out, &len) && len == DDB_SCRAM_KEY_LEN ? 0 : -1;
}

int ddb_scram_hmac(const unsigned char key[DDB_SCRAM_KEY_LEN], const char *text,
                   unsigned char out[DDB_SCRAM_KEY_LEN])
{
    return hmac(key, DDB_SCRAM_KEY_LEN, text, strlen(text), out);
}

int ddb_scram_keys(const char *password, const unsigned char *salt, size_t salt_len,
                   int64_t iterations, unsigned char client_key[DDB_SCRAM_KEY_LEN],
                   unsigned char stored_key[DDB_SCRAM_KEY_LEN],
                   unsigned char server_key[DDB_SCRAM_KEY_LEN], char *err, size_t errlen)
{
    if (strlen(password) > DDB_SCRAM_MAX_PASSWORD)
        return fail(err, errlen, "SCRAM password longer than %d bytes", DDB_SCRAM_MAX_PASSWORD);
    if (iterations < 1 || iterations > DDB_SCRAM_MAX_ITERATIONS)
        return fail(err, errlen, "SCRAM iteration count %lld is outside 1..%d", (long long)iterations,
                    DDB_SCRAM_MAX_ITERATIONS);
    if (salt_len == 0 || salt_len > DDB_SCRAM_MAX_FIELD)
        return fail(err, errlen, "SCRAM salt of %zu bytes (wanted 1..%d)", salt_len, DDB_SCRAM_MAX_FIELD);
    unsigned char salted[DDB_SCRAM_KEY_LEN], ck[DDB_SCRAM_KEY_LEN];
    int rc = -1;
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len, (int)iterations,
                          EVP_sha256(), DDB_SCRAM_KEY_LEN, salted) != 1 ||
        hmac(salted, sizeof salted, "Client Key", 10, ck) ||
        (stored_key && sha256(ck, sizeof ck, stored_key)) ||
        (server_key && hmac(salted, sizeof salted, "Server Key", 10, server_key)))
        fail(err, errlen, "SCRAM key derivation failed in OpenSSL");
    else {
        if (client_key)
            memcpy(client_key, ck, sizeof ck);
        rc = 0;
    }
    ddb_wipe(salted, sizeof salted);
    ddb_wipe(ck, sizeof ck);
    return rc;
}

/* ---------------------------------------------------------------- SCRAM exchange */

/* Printable ASCII without ',' (the AuthMessage separator) and of bounded size. */
static int field_ok(const char *s, int allow_equals)
{
    size_t n = strlen(s);
    if (n == 0 || n > DDB_SCRAM_MAX_FIELD)
        return 0;
    for (const char *p = s; *p; p++)
        if (*p < 0x21 || *p > 0x7e || *p == ',' || (*p == '=' && !allow_equals))
            return 0;
    return 1;
}

static int make_nonce(char *out, char *err, size_t errlen)
{
    unsigned char raw[DDB_SCRAM_NONCE_BYTES];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return fail(err, errlen, "no random bytes for the SCRAM nonce");
    ddb_b64_encode(raw, sizeof raw, out);
    return 0;
}

int ddb_scram_start(ddb_scram **out, const char *user, const char *password,
                    const char *fixed_nonce, char *err, size_t errlen)
{
    *out = NULL;
    if (!user || !field_ok(user, 0))
        return fail(err, errlen, "SCRAM user name must be 1..%d printable characters without ',' or '='",
                    DDB_SCRAM_MAX_FIELD);
    if (!password || strlen(password) > DDB_SCRAM_MAX_PASSWORD)
        return fail(err, errlen, "SCRAM needs a password of at most %d bytes", DDB_SCRAM_MAX_PASSWORD);
    if (fixed_nonce && !field_ok(fixed_nonce, 1))
        return fail(err, errlen, "SCRAM client nonce must be 1..%d printable characters without ','",
                    DDB_SCRAM_MAX_FIELD);
    ddb_scram *s = calloc(1, sizeof *s);
    if (!s || !(s->user = strdup(user)) || !(s->password = strdup(password))) {
        ddb_scram_free(s);
        return fail(err, errlen, "out of memory");
    }
    if (fixed_nonce)
        snprintf(s->nonce, sizeof s->nonce, "%s", fixed_nonce);
    else if (make_nonce(s->nonce, err, errlen)) {
        ddb_scram_free(s);
        return -1;
    }
    s->state = ST_STARTED;
    *out = s;
    return 0;
}

const char *ddb_scram_client_nonce(const ddb_scram *s) { return s->nonce; }

const char *ddb_scram_proof(const ddb_scram *s) { return s->state >= ST_PROVED ? s->proof_b64 : NULL; }

/* "n=user,r=cnonce,r=combined,s=salt,i=iter,c=biws,r=combined" */
static char *auth_message(const ddb_scram *s, const char *salt_b64, int64_t iterations,
                          const char *combined)
{
    const char *fmt = "n=%s,r=%s,r=%s,s=%s,i=%lld,c=biws,r=%s";
    int n = snprintf(NULL, 0, fmt, s->user, s->nonce, combined, salt_b64, (long long)iterations, combined);
    char *m = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (m)
        snprintf(m, (size_t)n + 1, fmt, s->user, s->nonce, combined, salt_b64, (long long)iterations, combined);
    return m;
}

static int check_server_first(const ddb_scram *s, const char *salt_b64, int64_t iterations,
                              const char *combined, unsigned char *salt, long *salt_len,
                              char *err, size_t errlen)
{
    if (s->state != ST_STARTED)
        return fail(err, errlen, "SCRAM exchange is not waiting for the server's first answer");
    if (iterations < 1 || iterations > DDB_SCRAM_MAX_ITERATIONS)
        return fail(err, errlen, "server sent a SCRAM iteration count of %lld (allowed 1..%d)",
                    (long long)iterations, DDB_SCRAM_MAX_ITERATIONS);
    if (!combined || !field_ok(combined, 1))
        return fail(err, errlen, "server sent a malformed SCRAM nonce");
    size_t cn = strlen(s->nonce);
    if (strncmp(combined, s->nonce, cn) != 0 || strlen(combined) == cn)
        return fail(err, errlen, "server's SCRAM nonce does not extend the client nonce");
    if (!salt_b64 || !field_ok(salt_b64, 1) ||
        (*salt_len = ddb_b64_decode(salt_b64, strlen(salt_b64), salt, DDB_SCRAM_MAX_FIELD)) <= 0)
        return fail(err, errlen, "server sent a malformed SCRAM salt (not Base64, empty or too long)");
    return 0;
}

int ddb_scram_final(ddb_scram *s, const char *salt_b64, int64_t iterations,
                    const char *combined_nonce, char *err, size_t errlen)
{
    unsigned char salt[DDB_SCRAM_MAX_FIELD];
    long salt_len = 0;
    if (check_server_first(s, salt_b64, iterations, combined_nonce, salt, &salt_len, err, errlen))
        return -1;
    unsigned char ck[DDB_SCRAM_KEY_LEN], stored[DDB_SCRAM_KEY_LEN], sk[DDB_SCRAM_KEY_LEN],
        csig[DDB_SCRAM_KEY_LEN], proof[DDB_SCRAM_KEY_LEN];
    int rc = -1;
    if (ddb_scram_keys(s->password, salt, (size_t)salt_len, iterations, ck, stored, sk, err, errlen))
        goto out;
    free(s->auth_message);
    s->auth_message = auth_message(s, salt_b64, iterations, combined_nonce);
    if (!s->auth_message) {
        fail(err, errlen, "out of memory");
        goto out;
    }
    if (ddb_scram_hmac(stored, s->auth_message, csig) ||
        ddb_scram_hmac(sk, s->auth_message, s->server_signature)) {
        fail(err, errlen, "SCRAM signature failed in OpenSSL");
        goto out;
    }
    for (int i = 0; i < DDB_SCRAM_KEY_LEN; i++)
        proof[i] = ck[i] ^ csig[i];
    ddb_b64_encode(proof, sizeof proof, s->proof_b64);
    s->state = ST_PROVED;
    rc = 0;
out:
    ddb_wipe(ck, sizeof ck);
    ddb_wipe(stored, sizeof stored);
    ddb_wipe(sk, sizeof sk);
    ddb_wipe(csig, sizeof csig);
    ddb_wipe(proof, sizeof proof);
    return rc;
}

int ddb_scram_verify(ddb_scram *s, const char *server_signature_b64, char *err, size_t errlen)
{
    if (s->state != ST_PROVED)
        return fail(err, errlen, "SCRAM exchange has no proof to verify against");
    s->state = ST_DONE;         /* one answer only: a second guess is not allowed */
    unsigned char got[DDB_SCRAM_KEY_LEN + 3];
    const char *sig = server_signature_b64 ? server_signature_b64 : "";
    long n = ddb_b64_decode(sig, strlen(sig), got, sizeof got);
    if (n != DDB_SCRAM_KEY_LEN)
        return fail(err, errlen, "SCRAM login failed: the server's signature is %s",
                    n == 0 ? "empty" : "malformed");
    if (CRYPTO_memcmp(got, s->server_signature, DDB_SCRAM_KEY_LEN) != 0)
        return fail(err, errlen, "SCRAM login failed: invalid server signature");
    return 0;
}

void ddb_scram_free(ddb_scram *s)
{
    if (!s)
        return;
    free(s->user);
    free_secret(s->password);
    free_secret(s->auth_message);
    ddb_wipe(s, sizeof *s);
    free(s);
}

/* ---------------------------------------------------------------- RSA login */

static EVP_PKEY *load_public_key(const char *pem, size_t pem_len, char *err, size_t errlen)
{
    if (!pem || pem_len == 0 || pem_len > DDB_RSA_MAX_PEM) {
        fail(err, errlen, "the server's public key is empty or larger than %d bytes", DDB_RSA_MAX_PEM);
        return NULL;
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
    EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!key) {
        fail(err, errlen, "the server's public key is not a PEM 'BEGIN PUBLIC KEY' block");
        return NULL;
    }
    int bits = EVP_PKEY_get_bits(key);
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
        fail(err, errlen, "the server's public key is not an RSA key");
    } else if (bits < DDB_RSA_MIN_BITS || bits > DDB_RSA_MAX_BITS) {
        fail(err, errlen, "the server's RSA key has %d bits (accepted %d..%d)", bits, DDB_RSA_MIN_BITS,
             DDB_RSA_MAX_BITS);
    } else
        return key;
    EVP_PKEY_free(key);
    return NULL;
}

/* Base64 in 64-character lines, each ending in '\n'. */
static char *b64_lines(const unsigned char *in, size_t n)
{
    size_t enc = (n + 2) / 3 * 4;
    char *flat = malloc(enc + 1), *out = malloc(enc + enc / 64 + 2);
    if (!flat || !out) {
        free(flat);
        free(out);
        return NULL;
    }
    ddb_b64_encode(in, n, flat);
    size_t o = 0;
    for (size_t i = 0; i < enc; i += 64) {
        size_t take = enc - i < 64 ? enc - i : 64;
        memcpy(out + o, flat + i, take);
        o += take;
        out[o++] = '\n';
    }
    out[o] = 0;
    free(flat);
    return out;
}

int ddb_rsa_encrypt_password(const char *pem, size_t pem_len, const char *plain,
                             size_t plain_len, char **b64_out, char *err, size_t errlen)
{
    *b64_out = NULL;
    EVP_PKEY *key = load_public_key(pem, pem_len, err, errlen);
    if (!key)
        return -1;
    size_t k = (size_t)EVP_PKEY_get_size(key), outlen = k;
    unsigned char *cipher = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    int rc = -1;
    if (plain_len + 11 > k) {   /* PKCS#1 v1.5 needs 11 bytes of padding */
        fail(err, errlen, "the credential is %zu bytes; the server's RSA key takes at most %zu", plain_len,
             k - 11);
        goto out;
    }
    ctx = EVP_PKEY_CTX_new(key, NULL);
    cipher = malloc(k);
    if (!ctx || !cipher || EVP_PKEY_encrypt_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_encrypt(ctx, cipher, &outlen, (const unsigned char *)plain, plain_len) != 1) {
        fail(err, errlen, "RSA encryption failed in OpenSSL");
        goto out;
    }
    if (!(*b64_out = b64_lines(cipher, outlen))) {
        fail(err, errlen, "out of memory");
        goto out;
    }
    rc = 0;
out:
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(key);
    free(cipher);
    return rc;
}
