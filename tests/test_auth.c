/* test_auth.c — the credential primitives of ddb_auth.c without a network: SCRAM
 * against RFC 7677's example and a DolphinDB-shaped vector, every refusal of a bad
 * server answer, RSA encryption decrypted with a key made here, Base64 edge cases,
 * and no error text that quotes the password. */
#include "ddb_auth.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_checks, g_failures;

#include "check.h"

#define SALT "W22ZaJ0SNY7soEsUEjb6gQ=="

typedef struct vector {
    const char *user, *password, *cnonce, *combined, *salt;
    int iterations;
    const char *proof, *server_signature;
} vector;

static const vector VECTORS[] = {
    /* RFC 7677 section 3 */
    {"user", "pencil", "rOprNGfwEbeRWgbNEkqO", "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", SALT,
     4096, "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="},
    /* DolphinDB-shaped: admin/123456, cnonce = Base64 of bytes 00..0f */
    {"admin", "123456", "AAECAwQFBgcICQoLDA0ODw==", "AAECAwQFBgcICQoLDA0ODw==c2VydmVybm9uY2U=", SALT, 4096,
     "Pm6t+jvjACaj+mg9EnnZ/WTuU3+qUtQhK5IgSXYyFrI=", "k1O6RJL2IUU6bUfdx2aSKBcCKBkcgMqFbnhnsr8ebkg="},
};

static void check_no_password(const char *err, const char *password)
{
    CHECK(err[0] != 0, "a failure leaves an error message");
    CHECK(strstr(err, password) == NULL, "error '%s' quotes the password", err);
}

/* A started exchange for vector v (its fixed client nonce). */
static ddb_scram *start(const vector *v)
{
    ddb_scram *s;
    char err[256] = "";
    int rc = ddb_scram_start(&s, v->user, v->password, v->cnonce, err, sizeof err);
    CHECK(rc == 0, "start: %s", err);
    return rc ? NULL : s;
}

static void test_vectors(void)
{
    for (size_t i = 0; i < sizeof VECTORS / sizeof VECTORS[0]; i++) {
        const vector *v = &VECTORS[i];
        char err[256] = "";
        ddb_scram *s = start(v);
        if (!s)
            continue;
        CHECK(ddb_scram_proof(s) == NULL, "no proof before the server's first answer");
        CHECK(!strcmp(ddb_scram_client_nonce(s), v->cnonce), "fixed nonce kept");
        CHECK(ddb_scram_final(s, v->salt, v->iterations, v->combined, err, sizeof err) == 0, "final: %s", err);
        CHECK(ddb_scram_proof(s) && !strcmp(ddb_scram_proof(s), v->proof), "vector %zu proof %s", i,
              ddb_scram_proof(s) ? ddb_scram_proof(s) : "(null)");
        CHECK(ddb_scram_verify(s, v->server_signature, err, sizeof err) == 0, "vector %zu verify: %s", i, err);
        ddb_scram_free(s);
    }
    /* the salted password of the second vector, through the shared key schedule */
    unsigned char salt[16], stored[32], ck[32], sk[32];
    char err[128];
    CHECK(ddb_b64_decode(SALT, strlen(SALT), salt, sizeof salt) == 16, "salt decodes to 16 bytes");
    CHECK(ddb_scram_keys("123456", salt, 16, 4096, ck, stored, sk, err, sizeof err) == 0, "keys: %s", err);
    CHECK(ddb_scram_keys("123456", salt, 16, 0, ck, NULL, NULL, err, sizeof err) == -1, "0 iterations refused");
}

/* Each way a server signature can be wrong is refused; so is a second verify. */
static void test_bad_server_signature(void)
{
    const vector *v = &VECTORS[1];
    char tampered[64];
    snprintf(tampered, sizeof tampered, "%s", v->server_signature);
    tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
    const char *bad[] = {tampered, "", "not base64!", "AAAA", v->proof, NULL};
    for (int i = 0; i < 6; i++) {
        char err[256] = "";
        ddb_scram *s = start(v);
        if (!s)
            continue;
        ddb_scram_final(s, v->salt, v->iterations, v->combined, err, sizeof err);
        CHECK(ddb_scram_verify(s, bad[i], err, sizeof err) == -1, "signature %d refused", i);
        check_no_password(err, v->password);
        CHECK(ddb_scram_verify(s, v->server_signature, err, sizeof err) == -1,
              "no second verification after a refusal");
        ddb_scram_free(s);
    }
}

static void expect_final_refused(const char *what, const char *salt, int64_t iterations,
                                 const char *combined, const char *want)
{
    const vector *v = &VECTORS[1];
    char err[256] = "";
    ddb_scram *s = start(v);
    if (!s)
        return;
    CHECK(ddb_scram_final(s, salt, iterations, combined, err, sizeof err) == -1, "%s refused", what);
    CHECK(strstr(err, want) != NULL, "%s: error '%s' lacks '%s'", what, err, want);
    check_no_password(err, v->password);
    CHECK(ddb_scram_proof(s) == NULL, "%s: no proof", what);
    ddb_scram_free(s);
}

static void test_bad_server_first(void)
{
    const vector *v = &VECTORS[1];
    expect_final_refused("foreign nonce", v->salt, 4096, "AAAAAAAAAAAAAAAAAAAAAA==xyz", "does not extend");
    expect_final_refused("bare client nonce", v->salt, 4096, v->cnonce, "does not extend");
    expect_final_refused("nonce prefix", v->salt, 4096, "AAECAw", "does not extend");
    expect_final_refused("nonce with comma", v->salt, 4096, "AAECAwQFBgcICQoLDA0ODw==a,b", "malformed SCRAM nonce");
    expect_final_refused("empty nonce", v->salt, 4096, "", "malformed SCRAM nonce");
    expect_final_refused("NULL nonce", v->salt, 4096, NULL, "malformed SCRAM nonce");
    expect_final_refused("0 iterations", v->salt, 0, v->combined, "iteration count of 0");
    expect_final_refused("negative iterations", v->salt, -5, v->combined, "iteration count");
    expect_final_refused("too many iterations", v->salt, DDB_SCRAM_MAX_ITERATIONS + 1LL, v->combined,
                         "allowed 1..10000000");
    expect_final_refused("salt not Base64", "@@@@", 4096, v->combined, "malformed SCRAM salt");
    expect_final_refused("empty salt", "", 4096, v->combined, "malformed SCRAM salt");
    expect_final_refused("salt with data after padding", "QQ==QQ==", 4096, v->combined, "malformed SCRAM salt");

    /* the order of the steps is enforced */
    char err[256];
    ddb_scram *s = start(v);
    if (s) {
        CHECK(ddb_scram_verify(s, v->server_signature, err, sizeof err) == -1, "verify before final refused");
        CHECK(ddb_scram_final(s, v->salt, 4096, v->combined, err, sizeof err) == 0, "final: %s", err);
        CHECK(ddb_scram_final(s, v->salt, 4096, v->combined, err, sizeof err) == -1, "second final refused");
        ddb_scram_free(s);
    }
}

static void test_start(void)
{
    char err[256];
    ddb_scram *a, *b;
    CHECK(ddb_scram_start(&a, "admin", "pw", NULL, err, sizeof err) == 0, "start: %s", err);
    CHECK(ddb_scram_start(&b, "admin", "pw", NULL, err, sizeof err) == 0, "start: %s", err);
    const char *na = ddb_scram_client_nonce(a), *nb = ddb_scram_client_nonce(b);
    unsigned char raw[32];
    CHECK(strlen(na) == 24 && !strcmp(na + 22, "=="), "random nonce is Base64 of 16 bytes: %s", na);
    CHECK(ddb_b64_decode(na, strlen(na), raw, sizeof raw) == 16, "nonce decodes to 16 bytes");
    CHECK(strcmp(na, nb) != 0, "two random nonces differ");
    ddb_scram_free(a);
    ddb_scram_free(b);
    ddb_scram_free(NULL);

    const char *bad_users[] = {"", "a,b", "a=b", "tab\tuser", NULL};
    for (int i = 0; i < 5; i++) {
        err[0] = 0;
        CHECK(ddb_scram_start(&a, bad_users[i], "s3cret", NULL, err, sizeof err) == -1 && a == NULL,
              "user %d refused", i);
        check_no_password(err, "s3cret");
    }
    CHECK(ddb_scram_start(&a, "u", NULL, NULL, err, sizeof err) == -1, "no password refused");
    char *huge = malloc(DDB_SCRAM_MAX_PASSWORD + 2);
    if (huge) {
        memset(huge, 'p', DDB_SCRAM_MAX_PASSWORD + 1);
        huge[DDB_SCRAM_MAX_PASSWORD + 1] = 0;
        CHECK(ddb_scram_start(&a, "u", huge, NULL, err, sizeof err) == -1 && !strstr(err, "pppp"),
              "an oversized password is refused without being quoted: %s", err);
        huge[DDB_SCRAM_MAX_PASSWORD] = 0;
        CHECK(ddb_scram_start(&a, "u", huge, NULL, err, sizeof err) == 0, "64 KiB is allowed: %s", err);
        ddb_scram_free(a);
        free(huge);
    }
    CHECK(ddb_scram_start(&a, "u", "pw", "a,b", err, sizeof err) == -1, "nonce with ',' refused");
}

static void test_base64(void)
{
    unsigned char out[16];
    char enc[32];
    CHECK(ddb_b64_encode("hello", 5, enc) == 8 && !strcmp(enc, "aGVsbG8="), "encode: %s", enc);
    CHECK(ddb_b64_decode("aGVs\nbG8=\n", 10, out, sizeof out) == 5 && !memcmp(out, "hello", 5),
          "decode skips line breaks");
    CHECK(ddb_b64_decode("", 0, out, sizeof out) == 0, "empty decodes to nothing");
    CHECK(ddb_b64_decode("aGVsbG8", 7, out, sizeof out) == -1, "length not a multiple of 4");
    CHECK(ddb_b64_decode("aGVsbG8===", 10, out, sizeof out) == -1, "three padding characters");
    CHECK(ddb_b64_decode("aGV*bG8=", 8, out, sizeof out) == -1, "foreign character");
    CHECK(ddb_b64_decode("aGVsbG8=", 8, out, 4) == -1, "output too small");
}

/* ---------------------------------------------------------------- RSA */

static char *public_pem(EVP_PKEY *key, int rsa_only_form)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int ok = rsa_only_form ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
                           : PEM_write_bio_PUBKEY(bio, key);
    char *p = NULL;
    long n = BIO_get_mem_data(bio, &p);
    char *copy = ok && n > 0 ? strndup(p, (size_t)n) : NULL;
    BIO_free(bio);
    return copy;
}

static int rsa_decrypt(EVP_PKEY *key, const char *b64, char *out, size_t cap)
{
    unsigned char cipher[1024];
    long n = ddb_b64_decode(b64, strlen(b64), cipher, sizeof cipher);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
    size_t outlen = cap;
    int ok = n > 0 && ctx && EVP_PKEY_decrypt_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
             EVP_PKEY_decrypt(ctx, (unsigned char *)out, &outlen, cipher, (size_t)n) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok ? (int)outlen : -1;
}

/* Lines of at most 64 characters, each ending in '\n', as the C++ client sends. */
static int lines_ok(const char *b64)
{
    size_t len = strlen(b64), col = 0;
    if (len == 0 || b64[len - 1] != '\n')
        return 0;
    for (const char *p = b64; *p; p++)
        col = *p == '\n' ? 0 : col + 1;
    for (const char *p = b64, *nl; (nl = strchr(p, '\n')); p = nl + 1)
        if (nl - p > 64 || (nl - p < 64 && nl[1]))
            return 0;
    return col == 0;
}

static void test_rsa(void)
{
    EVP_PKEY *key = EVP_RSA_gen(2048);
    char *pem = key ? public_pem(key, 0) : NULL;
    CHECK(pem != NULL, "made a 2048-bit key");
    if (!pem)
        return;
    const char *secrets[] = {"123456", "", "pässwörd with spaces", "admin"};
    for (int i = 0; i < 4; i++) {
        char *b64 = NULL, *again = NULL, err[256] = "", plain[512];
        CHECK(ddb_rsa_encrypt_password(pem, strlen(pem), secrets[i], strlen(secrets[i]), &b64, err, sizeof err) == 0,
              "encrypt %d: %s", i, err);
        ddb_rsa_encrypt_password(pem, strlen(pem), secrets[i], strlen(secrets[i]), &again, err, sizeof err);
        if (!b64 || !again)
            continue;
        CHECK(lines_ok(b64), "Base64 in 64-character lines: %s", b64);
        CHECK(strlen(b64) == 344 + 6, "256 cipher bytes are 344 characters in 6 lines (%zu)", strlen(b64));
        int n = rsa_decrypt(key, b64, plain, sizeof plain);
        CHECK(n == (int)strlen(secrets[i]) && !memcmp(plain, secrets[i], (size_t)n), "round trip %d", i);
        CHECK(strcmp(b64, again) != 0, "PKCS#1 v1.5 padding is random: two encryptions differ");
        CHECK(strstr(b64, secrets[i]) == NULL || !secrets[i][0], "the plaintext is not in the output");
        free(b64);
        free(again);
    }
    /* the longest credential the key takes, and one byte more */
    char longest[246], *b64 = NULL, err[256] = "";
    memset(longest, 'x', sizeof longest);
    CHECK(ddb_rsa_encrypt_password(pem, strlen(pem), longest, 245, &b64, err, sizeof err) == 0, "245 bytes: %s", err);
    free(b64);
    CHECK(ddb_rsa_encrypt_password(pem, strlen(pem), longest, 246, &b64, err, sizeof err) == -1 && !b64,
          "246 bytes refused");
    CHECK(strstr(err, "at most 245") != NULL && !strstr(err, "xxxx"), "says the limit, not the text: %s", err);
    free(pem);
    EVP_PKEY_free(key);
}

static void expect_key_refused(const char *what, const char *pem, size_t len, const char *want)
{
    char *b64 = NULL, err[256] = "";
    CHECK(ddb_rsa_encrypt_password(pem, len, "s3cret", 6, &b64, err, sizeof err) == -1 && !b64, "%s refused", what);
    CHECK(strstr(err, want) != NULL, "%s: error '%s' lacks '%s'", what, err, want);
    check_no_password(err, "s3cret");
}

static void test_rsa_bad_keys(void)
{
    expect_key_refused("empty key", "", 0, "empty");
    expect_key_refused("garbage", "-----BEGIN PUBLIC KEY-----\nzzzz\n-----END PUBLIC KEY-----\n", 56,
                       "not a PEM");
    EVP_PKEY *small = EVP_RSA_gen(512), *ec = EVP_EC_gen("P-256");
    char *small_pem = small ? public_pem(small, 0) : NULL, *ec_pem = ec ? public_pem(ec, 0) : NULL;
    char *private_pem = small ? public_pem(small, 1) : NULL;
    if (small_pem)
        expect_key_refused("512-bit key", small_pem, strlen(small_pem), "has 512 bits");
    if (ec_pem)
        expect_key_refused("EC key", ec_pem, strlen(ec_pem), "not an RSA key");
    if (private_pem)
        expect_key_refused("a private-key block", private_pem, strlen(private_pem), "not a PEM");
    CHECK(small_pem && ec_pem && private_pem, "made the odd keys");
    char *huge = calloc(1, DDB_RSA_MAX_PEM + 2);
    if (huge) {
        memset(huge, 'A', DDB_RSA_MAX_PEM + 1);
        expect_key_refused("oversized key", huge, DDB_RSA_MAX_PEM + 1, "larger than");
    }
    free(huge);
    free(small_pem);
    free(ec_pem);
    free(private_pem);
    EVP_PKEY_free(small);
    EVP_PKEY_free(ec);
}

int main(void)
{
    test_vectors();
    test_bad_server_signature();
    test_bad_server_first();
    test_start();
    test_base64();
    test_rsa();
    test_rsa_bad_keys();
    printf("test_auth: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
