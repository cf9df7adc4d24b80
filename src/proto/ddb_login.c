/* ddb_login.c — the login exchange (ddb_login.h): SCRAM, the RSA-encrypted login and
 * the plain one, as a step machine over requests and replies. The cryptography is
 * ddb_auth.c's (OpenSSL). */
#include "ddb_login.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddb_auth.h"
#include "ddb_obj.h"

enum { STEP_SCRAM_FIRST = 1, STEP_SCRAM_FINAL, STEP_PUBKEY, STEP_LOGIN };

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)

const char *ddb_login_method_name(int method)
{
    static const char *names[] = { "auto", "scram", "encrypted", "plain" };
    return method >= 0 && method <= DDB_LOGIN_PLAIN ? names[method] : "?";
}

/* Overwrites the bytes of a STRING scalar this file made (and alone holds). */
static void wipe_string(ddb_obj *o)
{
    size_t len;
    const char *s = o ? ddb_str_at(o, 0, &len) : NULL;
    if (s)
        ddb_wipe((char *)s, len);
}

static void free_wiped(char *s)
{
    if (s)
        ddb_wipe(s, strlen(s));
    free(s);
}

/* A function-call request with STRING arguments (and a trailing BOOL when
 * with_bool >= 0) into head. 0 or -1. */
static int call(ddb_login *lg, ddb_buf *head, const char *fn, const char *const *strs,
                int nstr, int with_bool, char *err, size_t errlen)
{
    ddb_obj *args[4] = { 0 };
    int n = 0, ok = 1;
    for (int i = 0; i < nstr; i++) {
        args[n] = ddb_string_new(DDB_STRING, strs[i], strlen(strs[i]));
        ok = ok && args[n++];
    }
    if (with_bool >= 0) {
        args[n] = ddb_int_new(DDB_BOOL, with_bool);
        ok = ok && args[n++];
    }
    ddb_behavior b;
    ddb_behavior_default(&b);
    head->secret = 1;           /* a password, a proof or its ciphertext: wiped when sent */
    int rc = ok ? ddb_req_function(head, lg->session_id, &b, fn, args, n, err, errlen) : -1;
    if (!ok)
        ERR("out of memory");
    for (int i = 0; i < nstr; i++)
        wipe_string(args[i]);
    for (int i = 0; i < n; i++)
        ddb_obj_unref(args[i]);
    return rc;
}

static int send_pubkey_request(ddb_login *lg, ddb_buf *head, char *err, size_t errlen)
{
    lg->step = STEP_PUBKEY;
    return call(lg, head, "getDynamicPublicKey", NULL, 0, -1, err, errlen) ?
           DDB_LOGIN_FAILED : DDB_LOGIN_MORE;
}

static int send_plain_login(ddb_login *lg, ddb_buf *head, char *err, size_t errlen)
{
    const char *strs[2] = { lg->user, lg->password };
    lg->step = STEP_LOGIN;
    return call(lg, head, "login", strs, 2, 0, err, errlen) ? DDB_LOGIN_FAILED
                                                           : DDB_LOGIN_MORE;
}

int ddb_login_start(ddb_login *lg, int method, const char *user, const char *password,
                    const char *session_id, ddb_buf *head, char *err, size_t errlen)
{
    memset(lg, 0, sizeof *lg);
    lg->method = method;
    lg->user = user;
    lg->password = password;
    lg->session_id = session_id;
    switch (method) {
    case DDB_LOGIN_PLAIN:
        return send_plain_login(lg, head, err, errlen);
    case DDB_LOGIN_ENCRYPTED:
        return send_pubkey_request(lg, head, err, errlen);
    case DDB_LOGIN_AUTO:
    case DDB_LOGIN_SCRAM: {
        if (ddb_scram_start(&lg->scram, user, password, NULL, err, errlen))
            return DDB_LOGIN_FAILED;
        const char *strs[2] = { user, ddb_scram_client_nonce(lg->scram) };
        lg->step = STEP_SCRAM_FIRST;
        return call(lg, head, "scramClientFirst", strs, 2, -1, err, errlen) ?
               DDB_LOGIN_FAILED : DDB_LOGIN_MORE;
    }
    default:
        ERR("unknown login method %d", method);
        return DDB_LOGIN_FAILED;
    }
}

/* The two answers that mean "SCRAM is not offered here" (the server lacks it, or this
 * user is not a SCRAM user): AUTO then moves on to the encrypted login. */
static int scram_not_offered(const char *e)
{
    return strstr(e, "scramClientFirst") || strstr(e, "doesn't support scram");
}

static const char *string_of(const ddb_obj *o)
{
    if (!o || o->form != DDB_SCALAR || o->type != DDB_STRING)
        return NULL;
    size_t len;
    const char *s = ddb_str_at(o, 0, &len);
    return s && strlen(s) == len ? s : NULL;
}

static int scram_first_reply(ddb_login *lg, const ddb_resp *r, ddb_buf *head, char *err,
                             size_t errlen)
{
    if (r->is_error) {
        if (lg->method == DDB_LOGIN_AUTO && scram_not_offered(r->error))
            return send_pubkey_request(lg, head, err, errlen);
        ERR("SCRAM login refused: %.300s", r->error);
        return DDB_LOGIN_FAILED;
    }
    const ddb_obj *o = r->obj;
    if (!o || o->form != DDB_VECTOR || o->type != DDB_ANY || o->rows != 3) {
        ERR("SCRAM login: the server's first answer is not (salt, iterations, nonce)");
        return DDB_LOGIN_FAILED;
    }
    const char *salt = string_of(o->items[0]), *combined = string_of(o->items[2]);
    const ddb_obj *it = o->items[1];
    if (!salt || !combined || !it || it->form != DDB_SCALAR || it->type != DDB_INT) {
        ERR("SCRAM login: the server's first answer has the wrong types");
        return DDB_LOGIN_FAILED;
    }
    if (ddb_scram_final(lg->scram, salt, ddb_int_at(it, 0), combined, err, errlen))
        return DDB_LOGIN_FAILED;
    free(lg->combined);
    lg->combined = strdup(combined);
    if (!lg->combined) {
        ERR("out of memory");
        return DDB_LOGIN_FAILED;
    }
    const char *strs[3] = { lg->user, lg->combined, ddb_scram_proof(lg->scram) };
    lg->step = STEP_SCRAM_FINAL;
    return call(lg, head, "scramClientFinal", strs, 3, -1, err, errlen) ? DDB_LOGIN_FAILED
                                                                       : DDB_LOGIN_MORE;
}

static int scram_final_reply(ddb_login *lg, const ddb_resp *r, char *err, size_t errlen)
{
    if (r->is_error) {
        ERR("SCRAM login refused: %.300s", r->error);
        return DDB_LOGIN_FAILED;
    }
    const char *sig = string_of(r->obj);
    if (!sig) {
        ERR("SCRAM login: the server's final answer is not a string");
        return DDB_LOGIN_FAILED;
    }
    return ddb_scram_verify(lg->scram, sig, err, errlen) ? DDB_LOGIN_FAILED : DDB_LOGIN_DONE;
}

static int pubkey_reply(ddb_login *lg, const ddb_resp *r, ddb_buf *head, char *err,
                        size_t errlen)
{
    if (r->is_error) {
        if (lg->method == DDB_LOGIN_AUTO && strstr(r->error, "getDynamicPublicKey"))
            ERR("the server offers neither SCRAM nor the encrypted login; set "
                "loginMethod = \"plain\" to send the password in clear (%.200s)", r->error);
        else
            ERR("encrypted login: getDynamicPublicKey failed: %.300s", r->error);
        return DDB_LOGIN_FAILED;
    }
    const char *pem = string_of(r->obj);
    if (!pem || !pem[0]) {
        ERR("encrypted login: the server sent no public key");
        return DDB_LOGIN_FAILED;
    }
    char *enc_user = NULL, *enc_pw = NULL;
    int rc = DDB_LOGIN_FAILED;
    if (ddb_rsa_encrypt_password(pem, strlen(pem), lg->user, strlen(lg->user), &enc_user,
                                 err, errlen) == 0 &&
        ddb_rsa_encrypt_password(pem, strlen(pem), lg->password, strlen(lg->password),
                                 &enc_pw, err, errlen) == 0) {
        const char *strs[2] = { enc_user, enc_pw };
        lg->step = STEP_LOGIN;
        rc = call(lg, head, "login", strs, 2, 1, err, errlen) ? DDB_LOGIN_FAILED
                                                             : DDB_LOGIN_MORE;
    }
    free_wiped(enc_user);       /* replayable for as long as the server keeps its key */
    free_wiped(enc_pw);
    return rc;
}

static int login_reply(const ddb_resp *r, char *err, size_t errlen)
{
    const ddb_obj *o = r->obj;
    if (r->is_error) {
        ERR("%.400s", r->error);
        return DDB_LOGIN_FAILED;
    }
    if (o && o->form == DDB_SCALAR && o->type == DDB_BOOL && ddb_int_at(o, 0) == 0) {
        ERR("the server answered false");
        return DDB_LOGIN_FAILED;
    }
    return DDB_LOGIN_DONE;
}

int ddb_login_reply(ddb_login *lg, const ddb_resp *r, ddb_buf *head, char *err,
                    size_t errlen)
{
    switch (lg->step) {
    case STEP_SCRAM_FIRST: return scram_first_reply(lg, r, head, err, errlen);
    case STEP_SCRAM_FINAL: return scram_final_reply(lg, r, err, errlen);
    case STEP_PUBKEY: return pubkey_reply(lg, r, head, err, errlen);
    case STEP_LOGIN: return login_reply(r, err, errlen);
    default:
        ERR("login: no request pending");
        return DDB_LOGIN_FAILED;
    }
}

void ddb_login_free(ddb_login *lg)
{
    ddb_scram_free(lg->scram);
    lg->scram = NULL;
    free(lg->combined);
    lg->combined = NULL;
    lg->step = 0;
}
