/* auth.c — ddbmini's logins that keep the password off the wire: the RSA-encrypted
 * `login(encUser, encPassword, true)` with getDynamicPublicKey(), and SCRAM-SHA-256
 * (scramClientFirst / scramClientFinal), plus the switches that turn each method
 * off so clients' fallbacks can be tested (docs/SECURITY.md, "Logging in").
 *
 * SCRAM users are the --user/--admin ones: their credentials are kept salted
 * (StoredKey, ServerKey), never as the password. The built-in admin is a "sha256"
 * user as on a real server, so SCRAM for it answers the error clients fall back on.
 * The RSA key pair is made once, on the first getDynamicPublicKey() (on the thread
 * pool: a 2048-bit key takes a few hundred ms, which every start would pay). */
#include "eval.h"
#include "values.h"
#include "ddb_auth.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RSA_BITS 2048
#define MAX_SCRAM_USERS MINI_MAX_USERS
#define MAX_PENDING 256             /* SCRAM exchanges between first and final */
#define SALT_BYTES 16
#define SERVER_NONCE_BYTES 18

typedef struct scram_user {
    char name[64];
    char *password;                 /* only until auth_init() derives the keys */
    char salt_b64[32];
    unsigned char stored_key[DDB_SCRAM_KEY_LEN], server_key[DDB_SCRAM_KEY_LEN];
} scram_user;

typedef struct pending {
    int64_t session_id;             /* 0: free */
    uint64_t age;
    char user[64];
    char combined[96];
} pending;

static struct {
    pthread_mutex_t lock;
    int no_scram, no_encrypted, no_plain;
    int iterations;
    scram_user users[MAX_SCRAM_USERS];
    int nusers;
    pending pend[MAX_PENDING];
    uint64_t clock;
    EVP_PKEY *key;                  /* NULL until the first getDynamicPublicKey() */
    char *public_pem;
} A = {.lock = PTHREAD_MUTEX_INITIALIZER, .iterations = 4096};

#define BAD_CREDENTIALS "The user name or password is incorrect."

/* ---------------------------------------------------------------- configuration */

void auth_disable(int scram, int encrypted, int plain)
{
    A.no_scram |= scram;
    A.no_encrypted |= encrypted;
    A.no_plain |= plain;
}

int auth_set_iterations(long n)
{
    if (n < 1 || n > DDB_SCRAM_MAX_ITERATIONS)
        return -1;
    A.iterations = (int)n;
    return 0;
}

int auth_plain_allowed(void) { return !A.no_plain; }

int auth_add_scram_user(const char *spec)
{
    const char *colon = strchr(spec, ':');
    if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof A.users[0].name)
        return -1;
    scram_user *u = NULL;
    for (int i = 0; i < A.nusers && !u; i++)
        if (!strncmp(A.users[i].name, spec, (size_t)(colon - spec)) && !A.users[i].name[colon - spec])
            u = &A.users[i];
    if (!u && A.nusers == MAX_SCRAM_USERS)
        return -1;
    if (!u)
        u = &A.users[A.nusers++];
    snprintf(u->name, sizeof u->name, "%.*s", (int)(colon - spec), spec);
    free(u->password);
    u->password = strdup(colon + 1);
    return u->password ? 0 : -1;
}

/* Derives every SCRAM user's keys with a fresh salt; the passwords are dropped. */
int auth_init(char *err, size_t errlen)
{
    for (int i = 0; i < A.nusers; i++) {
        scram_user *u = &A.users[i];
        unsigned char salt[SALT_BYTES];
        if (RAND_bytes(salt, sizeof salt) != 1 ||
            ddb_scram_keys(u->password, salt, sizeof salt, A.iterations, NULL, u->stored_key, u->server_key,
                           err, errlen)) {
            snprintf(err, errlen, "cannot derive SCRAM keys for %s", u->name);
            return -1;
        }
        ddb_b64_encode(salt, sizeof salt, u->salt_b64);
        ddb_wipe(u->password, strlen(u->password));
        free(u->password);
        u->password = NULL;
    }
    return 0;
}

void auth_free(void)
{
    EVP_PKEY_free(A.key);
    free(A.public_pem);
    A.key = NULL;
    A.public_pem = NULL;
    for (int i = 0; i < A.nusers; i++)
        free(A.users[i].password);
    ddb_wipe(A.users, sizeof A.users);
    A.nusers = 0;
}

/* ---------------------------------------------------------------- RSA login */

/* The public half as PEM into A.public_pem; 0 or -1. */
static int set_public_pem(EVP_PKEY *key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *p = NULL;
    long n = 0;
    if (key && bio && PEM_write_bio_PUBKEY(bio, key) == 1)
        n = BIO_get_mem_data(bio, &p);
    A.public_pem = n > 0 ? strndup(p, (size_t)n) : NULL;
    BIO_free(bio);
    return A.public_pem ? 0 : -1;
}

/* --rsa-key FILE: the key pair comes from a PEM file instead of being made on the
 * first getDynamicPublicKey() (test suites start many servers and share one key). */
int auth_load_rsa_key(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || EVP_PKEY_get_bits(key) < 1024) {
        snprintf(err, errlen, "--rsa-key %s: not a readable PEM RSA private key of 1024 bits "
                 "or more", path);
        EVP_PKEY_free(key);
        return -1;
    }
    if (set_public_pem(key)) {
        snprintf(err, errlen, "--rsa-key %s: cannot write its public key", path);
        EVP_PKEY_free(key);
        return -1;
    }
    A.key = key;
    return 0;
}

/* The key pair, made on first use. Holds A.lock while generating: a second
 * caller waits for the same key instead of making another. */
static int ensure_key(void)
{
    int ok = 1;
    pthread_mutex_lock(&A.lock);
    if (!A.key) {
        EVP_PKEY *key = EVP_RSA_gen(RSA_BITS);
        if (set_public_pem(key) == 0)
            A.key = key;
        else
            EVP_PKEY_free(key);
        ok = A.key != NULL;
    }
    pthread_mutex_unlock(&A.lock);
    return ok;
}

int auth_bi_public_key(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    if (A.no_encrypted)
        return ctx_error(ctx, "Can't recognize function name getDynamicPublicKey");
    if (!ensure_key())
        return ctx_error(ctx, "Failed to generate the RSA key pair");
    *out = ddb_string_new(DDB_STRING, A.public_pem, strlen(A.public_pem));
    return *out ? 0 : ctx_oom(ctx);
}

/* Base64 (whitespace ignored) -> PKCS#1 v1.5 decryption -> a C string. */
static int decrypt_text(EVP_PKEY *key, const char *b64, char *out, size_t cap)
{
    unsigned char cipher[RSA_BITS / 8];
    long n = ddb_b64_decode(b64, strlen(b64), cipher, sizeof cipher);
    EVP_PKEY_CTX *ctx = n > 0 ? EVP_PKEY_CTX_new(key, NULL) : NULL;
    size_t len = 0;
    int ok = ctx && EVP_PKEY_decrypt_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
             EVP_PKEY_decrypt(ctx, NULL, &len, cipher, (size_t)n) == 1 && len <= sizeof cipher;
    unsigned char plain[RSA_BITS / 8];
    len = sizeof plain;
    ok = ok && EVP_PKEY_decrypt(ctx, plain, &len, cipher, (size_t)n) == 1 && len < cap &&
         !memchr(plain, 0, len);
    if (ok) {
        memcpy(out, plain, len);
        out[len] = 0;
    }
    ddb_wipe(plain, sizeof plain);
    EVP_PKEY_CTX_free(ctx);
    return ok ? 0 : -1;
}

/* login(encUser, encPassword, true). Runs on the loop thread (login is quick):
 * it never makes the key, and without one nothing can have been encrypted for it. */
int auth_encrypted_login(eval_ctx *ctx, const ddb_obj *enc_user, const ddb_obj *enc_password)
{
    if (A.no_encrypted)
        return ctx_error(ctx, "Encrypted login is disabled on this server (ddbmini --no-encrypted-login)");
    char cb[2], user[64], pwd[64];
    const char *u = obj_text(enc_user, cb), *p = u ? obj_text(enc_password, cb) : NULL;
    if (!u || !p)
        return ctx_error(ctx, "The arguments of login must be strings");
    pthread_mutex_lock(&A.lock);
    EVP_PKEY *key = A.key;
    pthread_mutex_unlock(&A.lock);      /* never freed before exit once made */
    int admin = 0;
    int ok = key && !decrypt_text(key, u, user, sizeof user) && !decrypt_text(key, p, pwd, sizeof pwd) &&
             mini_check_login(user, pwd, &admin);
    ddb_wipe(pwd, sizeof pwd);
    if (!ok)
        return ctx_error(ctx, BAD_CREDENTIALS);
    snprintf(ctx->sess->user, sizeof ctx->sess->user, "%s", user);
    ctx->sess->is_admin = admin;
    return 0;
}

/* ---------------------------------------------------------------- SCRAM */

static const scram_user *find_scram_user(const char *name)
{
    for (int i = 0; i < A.nusers; i++)
        if (!strcmp(A.users[i].name, name))
            return &A.users[i];
    return NULL;
}

/* -1: no such user; else whether it is an administrator. */
static int user_admin_flag(const char *name)
{
    int flag = -1;
    pthread_mutex_lock(&g_mini.lock);
    for (int i = 0; i < g_mini.nusers && flag < 0; i++)
        if (!strcmp(g_mini.users[i].name, name))
            flag = g_mini.users[i].admin;
    pthread_mutex_unlock(&g_mini.lock);
    return flag;
}

static int is_plain_user(const char *name) { return user_admin_flag(name) >= 0; }
static int user_is_admin(const char *name) { return user_admin_flag(name) == 1; }

static int logins_rejected(void)
{
    pthread_mutex_lock(&g_mini.lock);
    int r = g_mini.faults.reject_login;
    pthread_mutex_unlock(&g_mini.lock);
    return r;
}

/* Remembers the combined nonce given to this session (one exchange per session;
 * when the table is full the oldest exchange is forgotten). */
static void remember(int64_t session_id, const char *user, const char *combined)
{
    pthread_mutex_lock(&A.lock);
    pending *slot = NULL;
    for (int i = 0; i < MAX_PENDING; i++) {
        pending *p = &A.pend[i];
        if (p->session_id == session_id) {
            slot = p;
            break;
        }
        if (!slot || p->age < slot->age)    /* free slots have age 0 */
            slot = p;
    }
    slot->session_id = session_id;
    slot->age = ++A.clock;
    snprintf(slot->user, sizeof slot->user, "%s", user);
    snprintf(slot->combined, sizeof slot->combined, "%s", combined);
    pthread_mutex_unlock(&A.lock);
}

/* Takes (and forgets) this session's exchange; 1 when user and nonce match it. */
static int take_pending(int64_t session_id, const char *user, const char *combined)
{
    int match = 0;
    pthread_mutex_lock(&A.lock);
    for (int i = 0; i < MAX_PENDING; i++) {
        pending *p = &A.pend[i];
        if (p->session_id != session_id)
            continue;
        match = !strcmp(p->user, user) && !strcmp(p->combined, combined);
        memset(p, 0, sizeof *p);
    }
    pthread_mutex_unlock(&A.lock);
    return match;
}

static int text_args(eval_ctx *ctx, ddb_obj **a, int n, const char *fn, char (*buf)[128])
{
    for (int i = 0; i < n; i++) {
        char cb[2];
        const char *s = obj_text(a[i], cb);
        if (!s || strlen(s) >= sizeof buf[i])
            return ctx_error(ctx, "The arguments of %s must be strings of under 128 bytes", fn);
        snprintf(buf[i], sizeof buf[i], "%s", s);
    }
    return 0;
}

static ddb_obj *first_reply(const scram_user *u, int iterations, const char *combined)
{
    ddb_obj *r = ddb_vector_new(DDB_ANY, 3);
    ddb_obj *items[3] = {ddb_string_new(DDB_STRING, u->salt_b64, strlen(u->salt_b64)),
                         ddb_int_new(DDB_INT, iterations),
                         ddb_string_new(DDB_STRING, combined, strlen(combined))};
    for (int i = 0; i < 3; i++) {
        if (r && items[i]) {
            ddb_obj_unref(r->items[i]);
            r->items[i] = items[i];
        } else
            ddb_obj_unref(items[i]);
    }
    if (r && (!items[0] || !items[1] || !items[2])) {
        ddb_obj_unref(r);
        r = NULL;
    }
    return r;
}

/* scramClientFirst(user, clientNonce) -> (salt, iterations, combinedNonce) */
int auth_bi_scram_first(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    char arg[2][128];
    if (A.no_scram)
        return ctx_error(ctx, "Can't recognize function name scramClientFirst");
    if (text_args(ctx, a, 2, "scramClientFirst", arg))
        return -1;
    unsigned char raw[DDB_SCRAM_NONCE_BYTES + 1], snonce[SERVER_NONCE_BYTES];
    if (ddb_b64_decode(arg[1], strlen(arg[1]), raw, sizeof raw) != DDB_SCRAM_NONCE_BYTES || strchr(arg[1], ','))
        return ctx_error(ctx, "The client nonce must be 16 bytes encoded in Base64");
    const scram_user *u = find_scram_user(arg[0]);
    if (!u)
        return ctx_error(ctx, is_plain_user(arg[0]) ? "sha256 authMode doesn't support scram authMode"
                                                    : BAD_CREDENTIALS);
    char combined[96], tail[32];
    if (RAND_bytes(snonce, sizeof snonce) != 1)
        return ctx_error(ctx, "No random bytes for the server nonce");
    ddb_b64_encode(snonce, sizeof snonce, tail);
    snprintf(combined, sizeof combined, "%s%s", arg[1], tail);
    remember(ctx->sess->id, u->name, combined);
    *out = first_reply(u, A.iterations, combined);
    return *out ? 0 : ctx_oom(ctx);
}

/* The client's proof checks out: SHA256(proof XOR ClientSignature) == StoredKey. */
static int proof_ok(const scram_user *u, const char *auth_message, const char *proof_b64)
{
    unsigned char proof[DDB_SCRAM_KEY_LEN + 3], sig[DDB_SCRAM_KEY_LEN], key[DDB_SCRAM_KEY_LEN],
        stored[DDB_SCRAM_KEY_LEN];
    unsigned int len = 0;
    int ok = ddb_b64_decode(proof_b64, strlen(proof_b64), proof, sizeof proof) == DDB_SCRAM_KEY_LEN &&
             !ddb_scram_hmac(u->stored_key, auth_message, sig);
    for (int i = 0; ok && i < DDB_SCRAM_KEY_LEN; i++)
        key[i] = proof[i] ^ sig[i];
    ok = ok && EVP_Digest(key, sizeof key, stored, &len, EVP_sha256(), NULL) == 1 &&
         CRYPTO_memcmp(stored, u->stored_key, sizeof stored) == 0;
    ddb_wipe(key, sizeof key);
    return ok;
}

/* scramClientFinal(user, combinedNonce, proof) -> Base64(ServerSignature) */
int auth_bi_scram_final(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    char arg[3][128];
    if (A.no_scram)
        return ctx_error(ctx, "Can't recognize function name scramClientFinal");
    if (text_args(ctx, a, 3, "scramClientFinal", arg))
        return -1;
    const scram_user *u = find_scram_user(arg[0]);
    if (!u || !take_pending(ctx->sess->id, arg[0], arg[1]))
        return ctx_error(ctx, "No SCRAM exchange of this session matches; call scramClientFirst first");
    size_t cn = strlen(arg[1]) - (SERVER_NONCE_BYTES / 3 * 4);
    char msg[512], sig_b64[64];
    snprintf(msg, sizeof msg, "n=%s,r=%.*s,r=%s,s=%s,i=%d,c=biws,r=%s", u->name, (int)cn, arg[1], arg[1],
             u->salt_b64, A.iterations, arg[1]);
    unsigned char sig[DDB_SCRAM_KEY_LEN];
    if (logins_rejected() || !proof_ok(u, msg, arg[2]) || ddb_scram_hmac(u->server_key, msg, sig))
        return ctx_error(ctx, BAD_CREDENTIALS);
    ddb_b64_encode(sig, sizeof sig, sig_b64);
    snprintf(ctx->sess->user, sizeof ctx->sess->user, "%s", u->name);
    ctx->sess->is_admin = user_is_admin(u->name);
    *out = ddb_string_new(DDB_STRING, sig_b64, strlen(sig_b64));
    return *out ? 0 : ctx_oom(ctx);
}
