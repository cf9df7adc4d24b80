/* ddb_auth.h — credential cryptography for logging in without sending the password
 * in clear (docs/SECURITY.md, "Logging in"): SCRAM-SHA-256 and the RSA-encrypted
 * `login(user, password, true)`.
 *
 * Pure functions, no I/O: the caller sends the values these functions produce as
 * function-call arguments and feeds back what the server answered (a sans-I/O
 * handshake). All cryptography is OpenSSL's. Every failure returns -1 and writes
 * a one-line reason into err; a password never appears in it. Secrets held by a
 * ddb_scram are wiped when it is freed.
 *
 * SCRAM, in the order of the wire exchange:
 *
 *   ddb_scram *s;
 *   ddb_scram_start(&s, user, password, NULL, err, sizeof err);
 *   -> scramClientFirst(user, ddb_scram_client_nonce(s))
 *   <- (salt, iterations, combinedNonce)
 *   ddb_scram_final(s, salt, iterations, combinedNonce, err, sizeof err);
 *   -> scramClientFinal(user, combinedNonce, ddb_scram_proof(s))
 *   <- serverSignature
 *   ddb_scram_verify(s, serverSignature, err, sizeof err);   // 0: the server knew us
 *   ddb_scram_free(s);
 */
#ifndef DDB_AUTH_H
#define DDB_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define DDB_SCRAM_KEY_LEN 32                    /* SHA-256 output */
#define DDB_SCRAM_NONCE_BYTES 16                /* random bytes of a client nonce */
#define DDB_SCRAM_MAX_ITERATIONS 10000000       /* more: a server making us burn CPU */
#define DDB_SCRAM_MAX_FIELD 1024                /* salt, nonces, user name: bytes */
#define DDB_SCRAM_MAX_PASSWORD (64 * 1024)
#define DDB_RSA_MIN_BITS 1024
#define DDB_RSA_MAX_BITS 16384
#define DDB_RSA_MAX_PEM (64 * 1024)

typedef struct ddb_scram ddb_scram;

/* Begins an exchange. fixed_nonce: NULL for a fresh random one (Base64 of 16
 * random bytes, as the official clients send); tests pass a fixed string. The
 * password is copied (and wiped by ddb_scram_free). */
int ddb_scram_start(ddb_scram **out, const char *user, const char *password,
                    const char *fixed_nonce, char *err, size_t errlen);
/* The client nonce: the second argument of scramClientFirst. */
const char *ddb_scram_client_nonce(const ddb_scram *s);
/* Takes the server-first reply: salt (Base64, as received), iteration count and the
 * combined nonce, which must extend the client nonce. Computes the proof. */
int ddb_scram_final(ddb_scram *s, const char *salt_b64, int64_t iterations,
                    const char *combined_nonce, char *err, size_t errlen);
/* After ddb_scram_final: Base64 of the client proof, the third argument of
 * scramClientFinal (whose second is the combined nonce given above). */
const char *ddb_scram_proof(const ddb_scram *s);
/* Checks the server's final answer, Base64(ServerSignature), in constant time. An
 * empty answer is refused too: a server that cannot prove it knows the password
 * could be anyone. 0 when it matches. */
int ddb_scram_verify(ddb_scram *s, const char *server_signature_b64, char *err, size_t errlen);
void ddb_scram_free(ddb_scram *s);

/* SCRAM's key schedule (RFC 5802 section 3 with SHA-256), shared with servers
 * that store credentials: SaltedPassword, then ClientKey/StoredKey/ServerKey. Any
 * output pointer may be NULL. */
int ddb_scram_keys(const char *password, const unsigned char *salt, size_t salt_len,
                   int64_t iterations, unsigned char client_key[DDB_SCRAM_KEY_LEN],
                   unsigned char stored_key[DDB_SCRAM_KEY_LEN],
                   unsigned char server_key[DDB_SCRAM_KEY_LEN], char *err, size_t errlen);
/* HMAC-SHA-256(key, text) of the AuthMessage: the signatures of both sides. */
int ddb_scram_hmac(const unsigned char key[DDB_SCRAM_KEY_LEN], const char *text,
                   unsigned char out[DDB_SCRAM_KEY_LEN]);

/* RSA-encrypts one credential (the user name or the password, each on its own) for
 * `login(encUser, encPassword, true)`: PKCS#1 v1.5 padding with the server's
 * SubjectPublicKeyInfo PEM key (the STRING getDynamicPublicKey() returns), then
 * Base64 in lines of 64 characters each ending in '\n', as the official C++ client
 * sends it. *b64_out is malloc'ed; free it with free(). */
int ddb_rsa_encrypt_password(const char *pem, size_t pem_len, const char *plain,
                             size_t plain_len, char **b64_out, char *err, size_t errlen);

/* Base64 (standard alphabet, '=' padding). Encode: out needs 4*ceil(n/3)+1 bytes,
 * returns the length. Decode: whitespace is skipped, anything else not Base64 is
 * refused; returns the decoded length or -1 (also when it exceeds outcap). */
size_t ddb_b64_encode(const void *in, size_t n, char *out);
long ddb_b64_decode(const char *in, size_t n, unsigned char *out, size_t outcap);

/* Overwrites n bytes in a way the compiler keeps (OPENSSL_cleanse). */
void ddb_wipe(void *p, size_t n);

#endif
