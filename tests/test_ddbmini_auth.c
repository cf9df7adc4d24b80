/* test_ddbmini_auth.c — logging in to ddbmini without the password in clear, over
 * real sockets: SCRAM-SHA-256 and RSA-encrypted login (client side: ddb_auth.c),
 * each method switched off and the error a client detects, TLS with a throw-away
 * CA (verification on: good, wrong host name, expired certificate; a plain client
 * against the TLS port), and a recording proxy proving the password's bytes never
 * cross the wire with SCRAM, encrypted login or TLS, and do with plain login.
 *
 *   test_ddbmini_auth path/to/ddbmini path/to/recording_proxy
 *
 * Needs the `openssl` command for the certificates. DDB_TIME_SCALE (default 1)
 * stretches the "at once" bounds for slow runs (valgrind). */
#include "ddbmini_harness.h"
#include "ddb_auth.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define BOB "bob"
#define BOB_PW "Pw-7f3c-SECRET"     /* distinctive: searched for in the recordings */
#define NEED_LOGIN "Login is required"
#define BAD_LOGIN "The user name or password is incorrect."

static const char *g_ddbmini, *g_proxy;
static double g_scale = 1;          /* DDB_TIME_SCALE */
static char g_dir[64];              /* the throw-away PKI */

/* ---------------------------------------------------------------- login methods */

static ddb_obj *str(const char *s) { return ddb_string_new(DDB_STRING, s, strlen(s)); }

/* Calls fn with STRING arguments (and a trailing BOOL when flag >= 0). */
static int call_strings(mini_client *c, const char *fn, const char *const *args, int n, int flag, ddb_obj **out)
{
    ddb_obj *objs[4];
    for (int i = 0; i < n; i++)
        objs[i] = str(args[i]);
    if (flag >= 0)
        objs[n++] = ddb_int_new(DDB_BOOL, flag);
    int rc = mini_client_call(c, fn, objs, n, out);
    for (int i = 0; i < n; i++)
        ddb_obj_unref(objs[i]);
    return rc;
}

static const char *text_of(const ddb_obj *o)
{
    size_t len;
    return o && o->form == DDB_SCALAR && o->type == DDB_STRING ? ddb_str_at(o, 0, &len) : NULL;
}

/* SCRAM through ddb_auth. 0: logged in and the server proved it knows the
 * password; MINI_SERVER_ERROR (c->error); -1 any other failure (c->error). */
static int scram_login(mini_client *c, const char *user, const char *pw)
{
    ddb_scram *s;
    if (ddb_scram_start(&s, user, pw, NULL, c->error, sizeof c->error))
        return -1;
    ddb_obj *first = NULL, *final = NULL;
    const char *a1[] = {user, ddb_scram_client_nonce(s)};
    int rc = call_strings(c, "scramClientFirst", a1, 2, -1, &first);
    if (rc == MINI_OK) {
        rc = -1;
        if (!first || first->form != DDB_VECTOR || first->type != DDB_ANY || first->rows != 3 ||
            !text_of(first->items[0]) || first->items[1]->type != DDB_INT || !text_of(first->items[2]))
            snprintf(c->error, sizeof c->error, "scramClientFirst: not (salt, iterations, nonce)");
        else if (!ddb_scram_final(s, text_of(first->items[0]), ddb_int_at(first->items[1], 0),
                                  text_of(first->items[2]), c->error, sizeof c->error)) {
            const char *a2[] = {user, text_of(first->items[2]), ddb_scram_proof(s)};
            rc = call_strings(c, "scramClientFinal", a2, 3, -1, &final);
            if (rc == MINI_OK)
                rc = ddb_scram_verify(s, text_of(final), c->error, sizeof c->error);
        }
    }
    ddb_obj_unref(first);
    ddb_obj_unref(final);
    ddb_scram_free(s);
    return rc;
}

/* getDynamicPublicKey() then login(RSA(user), RSA(password), true). */
static int rsa_login(mini_client *c, const char *user, const char *pw, int java_lines)
{
    ddb_obj *key = NULL;
    int rc = mini_client_call(c, "getDynamicPublicKey", NULL, 0, &key);
    const char *pem = text_of(key);
    if (rc != MINI_OK || !pem) {
        ddb_obj_unref(key);
        return rc == MINI_OK ? -1 : rc;
    }
    char *eu = NULL, *ep = NULL;
    rc = -1;
    if (!ddb_rsa_encrypt_password(pem, strlen(pem), user, strlen(user), &eu, c->error, sizeof c->error) &&
        !ddb_rsa_encrypt_password(pem, strlen(pem), pw, strlen(pw), &ep, c->error, sizeof c->error)) {
        if (java_lines) {       /* Java's MIME form: "\r\n" every 76 characters, none last */
            char *flat = ep, buf[1024];
            size_t o = 0, col = 0;
            for (const char *p = flat; *p; p++)
                if (*p != '\n') {
                    if (col == 76) {
                        buf[o++] = '\r';
                        buf[o++] = '\n';
                        col = 0;
                    }
                    buf[o++] = *p;
                    col++;
                }
            buf[o] = 0;
            free(ep);
            ep = strdup(buf);
        }
        const char *args[] = {eu, ep};
        rc = call_strings(c, "login", args, 2, 1, NULL);
    }
    free(eu);
    free(ep);
    ddb_obj_unref(key);
    return rc;
}

static int plain_login(mini_client *c, const char *user, const char *pw)
{
    const char *args[] = {user, pw};
    return call_strings(c, "login", args, 2, -1, NULL);
}

/* With --require-login: 1 when this session is logged in. */
static int logged_in(mini_client *c) { return !strcmp(run_text(c, "1+41"), "42"); }

/* ---------------------------------------------------------------- SCRAM and RSA */

static void test_scram(void)
{
    mini_proc p;
    const char *args[] = {"--require-login", "--user", BOB ":" BOB_PW, "--admin", "carol:c4rol", NULL};
    if (mini_proc_start(&p, g_ddbmini, args)) {
        CHECK(0, "start ddbmini");
        return;
    }
    mini_client c;
    open_client(&c, &p);
    CHECK(!logged_in(&c), "not logged in before SCRAM");
    CHECK(scram_login(&c, BOB, "wrong") == MINI_SERVER_ERROR && strstr(c.error, BAD_LOGIN),
          "wrong password refused: %s", c.error);
    CHECK(!logged_in(&c), "still not logged in");
    CHECK(scram_login(&c, "nobody", "x") == MINI_SERVER_ERROR && strstr(c.error, BAD_LOGIN),
          "unknown user refused: %s", c.error);
    CHECK(scram_login(&c, "admin", "123456") == MINI_SERVER_ERROR &&
              strstr(c.error, "sha256 authMode doesn't support scram authMode"),
          "admin is a sha256 user (the fall-back error): %s", c.error);
    double t0 = now_s();
    CHECK(scram_login(&c, BOB, BOB_PW) == 0, "SCRAM login: %s", c.error);
    printf("SCRAM login (4096 iterations, both sides on this host): %.1f ms\n", (now_s() - t0) * 1e3);
    CHECK(logged_in(&c), "logged in after SCRAM");
    CHECK(!strncmp(run_text(&c, "faultReset()"), "ERROR", 5), "bob is no administrator");
    mini_client_close(&c);

    open_client(&c, &p);
    CHECK(scram_login(&c, "carol", "c4rol") == 0, "administrator over SCRAM: %s", c.error);
    CHECK(!strcmp(run_text(&c, "faultReset()"), ""), "carol is an administrator: %s", run_text(&c, "faultReset()"));
    mini_client_close(&c);

    /* the server checks the exchange: bad nonce, replay, a final without a first */
    open_client(&c, &p);
    const char *bad_nonce[] = {BOB, "short"};
    CHECK(call_strings(&c, "scramClientFirst", bad_nonce, 2, -1, NULL) == MINI_SERVER_ERROR &&
              strstr(c.error, "16 bytes"), "client nonce must be 16 bytes: %s", c.error);
    const char *no_first[] = {BOB, "AAECAwQFBgcICQoLDA0ODw==xyz", "AAAA"};
    CHECK(call_strings(&c, "scramClientFinal", no_first, 3, -1, NULL) == MINI_SERVER_ERROR,
          "a final without a first is refused");
    ddb_scram *s;
    char err[256];
    ddb_obj *first = NULL;
    ddb_scram_start(&s, BOB, BOB_PW, NULL, err, sizeof err);
    const char *a1[] = {BOB, ddb_scram_client_nonce(s)};
    if (call_strings(&c, "scramClientFirst", a1, 2, -1, &first) == MINI_OK && first && first->rows == 3) {
        ddb_scram_final(s, text_of(first->items[0]), ddb_int_at(first->items[1], 0), text_of(first->items[2]), err,
                        sizeof err);
        CHECK(ddb_int_at(first->items[1], 0) == 4096, "4096 iterations by default");
        CHECK(!strncmp(text_of(first->items[2]), a1[1], 24), "combined nonce extends ours");
        const char *a2[] = {BOB, text_of(first->items[2]), ddb_scram_proof(s)};
        CHECK(call_strings(&c, "scramClientFinal", a2, 3, -1, NULL) == MINI_OK, "final: %s", c.error);
        CHECK(call_strings(&c, "scramClientFinal", a2, 3, -1, NULL) == MINI_SERVER_ERROR,
              "the same final a second time (replay) is refused");
    } else
        CHECK(0, "scramClientFirst: %s", c.error);
    ddb_obj_unref(first);
    ddb_scram_free(s);
    mini_client_close(&c);

    /* faultRejectLogin applies to SCRAM too */
    open_client(&c, &p);
    CHECK(scram_login(&c, "carol", "c4rol") == 0, "carol: %s", c.error);
    run_text(&c, "faultRejectLogin(true)");
    mini_client d;
    open_client(&d, &p);
    CHECK(scram_login(&d, BOB, BOB_PW) == MINI_SERVER_ERROR, "faultRejectLogin refuses SCRAM");
    run_text(&c, "faultRejectLogin(false)");
    mini_client_close(&d);
    mini_client_close(&c);
    CHECK(mini_proc_stop(&p) == 0, "ddbmini exits 0");
}

static void test_encrypted(void)
{
    mini_proc p;
    const char *args[] = {"--require-login", "--user", BOB ":" BOB_PW, NULL};
    if (mini_proc_start(&p, g_ddbmini, args)) {
        CHECK(0, "start ddbmini");
        return;
    }
    mini_client c;
    open_client(&c, &p);
    ddb_obj *key = NULL;
    double t0 = now_s();
    CHECK(mini_client_call(&c, "getDynamicPublicKey", NULL, 0, &key) == MINI_OK && text_of(key) &&
              !strncmp(text_of(key), "-----BEGIN PUBLIC KEY-----\n", 27),
          "getDynamicPublicKey() is a SubjectPublicKeyInfo PEM before login");
    printf("first getDynamicPublicKey (makes the 2048-bit key): %.1f ms\n", (now_s() - t0) * 1e3);
    ddb_obj_unref(key);
    CHECK(rsa_login(&c, BOB, "wrong", 0) == MINI_SERVER_ERROR && strstr(c.error, BAD_LOGIN),
          "wrong password refused: %s", c.error);
    CHECK(!logged_in(&c), "not logged in");
    const char *garbage[] = {"bm90IFJTQQ==", "@@@"};
    CHECK(call_strings(&c, "login", garbage, 2, 1, NULL) == MINI_SERVER_ERROR && strstr(c.error, BAD_LOGIN),
          "undecryptable arguments refused: %s", c.error);
    t0 = now_s();
    CHECK(rsa_login(&c, BOB, BOB_PW, 0) == MINI_OK, "encrypted login: %s", c.error);
    printf("encrypted login (key fetched again): %.1f ms\n", (now_s() - t0) * 1e3);
    CHECK(logged_in(&c), "logged in after encrypted login");
    mini_client_close(&c);
    open_client(&c, &p);
    CHECK(rsa_login(&c, "admin", "123456", 1) == MINI_OK, "Java-style line breaks accepted: %s", c.error);
    CHECK(logged_in(&c), "admin logged in");
    mini_client_close(&c);
    CHECK(mini_proc_stop(&p) == 0, "ddbmini exits 0");
}

/* Each switch answers the error a client's fall-back looks for; the others work. */
static void test_switches(void)
{
    mini_proc p;
    const char *off2[] = {"--require-login", "--user", BOB ":" BOB_PW, "--no-scram", "--no-encrypted-login", NULL};
    if (mini_proc_start(&p, g_ddbmini, off2) == 0) {
        mini_client c;
        open_client(&c, &p);
        CHECK(scram_login(&c, BOB, BOB_PW) == MINI_SERVER_ERROR &&
                  strstr(c.error, "Can't recognize function name scramClientFirst"), "--no-scram: %s", c.error);
        CHECK(rsa_login(&c, BOB, BOB_PW, 0) == MINI_SERVER_ERROR &&
                  strstr(c.error, "Can't recognize function name getDynamicPublicKey"),
              "--no-encrypted-login: %s", c.error);
        const char *fake[] = {"AAAA", "AAAA"};
        CHECK(call_strings(&c, "login", fake, 2, 1, NULL) == MINI_SERVER_ERROR &&
                  strstr(c.error, "Encrypted login is disabled"), "login(.., true) refused: %s", c.error);
        CHECK(plain_login(&c, BOB, BOB_PW) == MINI_OK && logged_in(&c), "plain login still works");
        mini_client_close(&c);
        CHECK(mini_proc_stop(&p) == 0, "ddbmini exits 0");
    } else
        CHECK(0, "start ddbmini");

    const char *off1[] = {"--require-login", "--user", BOB ":" BOB_PW, "--no-plain-login", NULL};
    if (mini_proc_start(&p, g_ddbmini, off1) == 0) {
        mini_client c;
        open_client(&c, &p);
        CHECK(plain_login(&c, BOB, BOB_PW) == MINI_SERVER_ERROR && strstr(c.error, "Plain-text login is disabled"),
              "--no-plain-login: %s", c.error);
        const char *three[] = {BOB, BOB_PW};
        CHECK(call_strings(&c, "login", three, 2, 0, NULL) == MINI_SERVER_ERROR, "login(u, p, false) refused");
        CHECK(!logged_in(&c), "not logged in");
        CHECK(scram_login(&c, BOB, BOB_PW) == 0 && logged_in(&c), "SCRAM still works: %s", c.error);
        mini_client_close(&c);
        mini_client d;
        mini_client_open(&d, "127.0.0.1", p.port);
        CHECK(mini_client_connect_login(&d, BOB, BOB_PW) == MINI_SERVER_ERROR &&
                  strstr(d.error, "Plain-text login is disabled"), "connect login lines refused: %s", d.error);
        mini_client_close(&d);
        open_client(&d, &p);
        CHECK(rsa_login(&d, BOB, BOB_PW, 0) == MINI_OK && logged_in(&d), "encrypted still works: %s", d.error);
        mini_client_close(&d);
        CHECK(mini_proc_stop(&p) == 0, "ddbmini exits 0");
    } else
        CHECK(0, "start ddbmini");
}

/* ---------------------------------------------------------------- TLS client */

static int sh(const char *cmd)
{
    char full[2048];
    snprintf(full, sizeof full, "cd %s && (%s) >/dev/null 2>&1", g_dir, cmd);
    return system(full);
}

/* CA, a certificate for localhost/127.0.0.1 and one that expired yesterday. */
static int make_pki(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/ddbmini_auth_XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "openssl req -x509 %s -keyout ca.key -out ca.crt -days 2 -subj /CN=ddbmini-test-ca", ec);
    int rc = sh(cmd);
    snprintf(cmd, sizeof cmd, "openssl req %s -keyout srv.key -out srv.csr -subj /CN=localhost", ec);
    rc = rc || sh(cmd);
    rc = rc || sh("printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext");
    rc = rc || sh("openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
                  "-extfile san.ext -out srv.crt");
    rc = rc || sh("openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days -1 "
                  "-extfile san.ext -out expired.crt");
    return rc ? -1 : 0;
}

static void remove_pki(void)
{
    if (g_dir[0])
        sh("rm -f ca.key ca.crt ca.srl srv.key srv.csr srv.crt expired.crt san.ext *.rec");
    if (g_dir[0])
        rmdir(g_dir);
}

static const char *pki(const char *name)
{
    static char path[4][128];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s", g_dir, name);
    return path[k];
}

/* A TLS connection with a plaintext socketpair in front, so mini_client can speak
 * the protocol over it; a thread moves bytes between the two. */
typedef struct tls_link {
    SSL_CTX *ctx;
    SSL *ssl;
    int tcp, sp[2];
    pthread_t th;
    int running;
    long verify;                /* X509_V_OK or why verification failed */
    char err[256];
} tls_link;

static int tcp_connect(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);   /* never hang a test */
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

static void *pump(void *arg)
{
    tls_link *t = arg;
    char buf[16384];
    for (;;) {
        struct pollfd pfd[2] = {{.fd = t->sp[1], .events = POLLIN}, {.fd = t->tcp, .events = POLLIN}};
        if (!SSL_pending(t->ssl) && poll(pfd, 2, 1000) < 0)
            break;
        if (SSL_pending(t->ssl) || pfd[1].revents) {
            int n = SSL_read(t->ssl, buf, sizeof buf);
            if (n <= 0 && SSL_get_error(t->ssl, n) != SSL_ERROR_WANT_READ)
                break;          /* WANT_READ: a record without data, e.g. a ticket */
            if (n > 0 && send(t->sp[1], buf, (size_t)n, MSG_NOSIGNAL) != n)
                break;
        }
        if (pfd[0].revents) {
            ssize_t n = recv(t->sp[1], buf, sizeof buf, 0);
            if (n <= 0 || SSL_write(t->ssl, buf, (int)n) != n)
                break;
        }
    }
    shutdown(t->sp[1], SHUT_RDWR);
    return NULL;
}

/* Handshake with verification against ca (NULL: none) for host name `host`. */
static int tls_open(tls_link *t, int port, const char *ca, const char *host)
{
    memset(t, 0, sizeof *t);
    t->tcp = t->sp[0] = t->sp[1] = -1;
    t->ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    SSL_CTX_clear_mode(t->ctx, SSL_MODE_AUTO_RETRY);   /* tickets must not block the pump */
    if (ca) {
        SSL_CTX_load_verify_locations(t->ctx, ca, NULL);
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    }
    t->ssl = SSL_new(t->ctx);
    SSL_set_tlsext_host_name(t->ssl, host);
    if (ca)
        SSL_set1_host(t->ssl, host);
    t->tcp = tcp_connect(port);
    if (t->tcp < 0 || !SSL_set_fd(t->ssl, t->tcp) || SSL_connect(t->ssl) != 1) {
        t->verify = SSL_get_verify_result(t->ssl);
        const char *why = ERR_reason_error_string(ERR_peek_last_error());
        snprintf(t->err, sizeof t->err, "%s", why ? why : "handshake failed");
        ERR_clear_error();
        return -1;
    }
    t->verify = SSL_get_verify_result(t->ssl);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, t->sp) || pthread_create(&t->th, NULL, pump, t))
        return -1;
    t->running = 1;
    return 0;
}

/* A mini_client speaking over the link (as mini_client_open sets one up). */
static void tls_client(tls_link *t, mini_client *c)
{
    memset(c, 0, sizeof *c);
    c->fd = t->sp[0];
    t->sp[0] = -1;              /* mini_client_close closes it */
    c->kind = "API2";
    c->timeout_ms = 10000;
    snprintf(c->behavior, sizeof c->behavior, "0_1_4_64");
    ddb_buf_init(&c->in);
    ddb_buf_init(&c->msgs);
}

static void tls_close(tls_link *t)
{
    if (t->sp[0] >= 0)
        close(t->sp[0]);        /* not handed to a client: this ends the pump */
    t->sp[0] = -1;
    if (t->running)
        pthread_join(t->th, NULL);      /* ends when the client's end is closed */
    if (t->ssl)
        SSL_free(t->ssl);
    SSL_CTX_free(t->ctx);
    for (int i = 0; i < 2; i++)
        if (t->sp[i] >= 0)
            close(t->sp[i]);
    if (t->tcp >= 0)
        close(t->tcp);
}

/* Exit status of ddbmini with these options (stderr discarded). */
static int start_status(const char *opts)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' --port 0 %s 2>/dev/null", g_ddbmini, opts);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_bad_options(void)
{
    char opts[512];
    CHECK(start_status("--tls-cert /nonexistent/c.pem --tls-key /nonexistent/k.pem") == 2, "missing files: exit 2");
    snprintf(opts, sizeof opts, "--tls-cert '%s'", pki("srv.crt"));
    CHECK(start_status(opts) == 2, "--tls-cert without --tls-key: exit 2");
    snprintf(opts, sizeof opts, "--tls-cert '%s' --tls-key '%s'", pki("srv.crt"), pki("ca.key"));
    CHECK(start_status(opts) == 2, "a key that does not match the certificate: exit 2");
    CHECK(start_status("--scram-iterations 0") == 2 && start_status("--scram-iterations 10000001") == 2,
          "iteration counts outside 1..10000000: exit 2");
}

static void test_tls(void)
{
    mini_proc p, e;
    const char *args[] = {"--require-login", "--user", BOB ":" BOB_PW, "--tls-cert", pki("srv.crt"), "--tls-key",
                          pki("srv.key"), NULL};
    const char *expired[] = {"--tls-cert", pki("expired.crt"), "--tls-key", pki("srv.key"), NULL};
    if (mini_proc_start(&p, g_ddbmini, args) || mini_proc_start(&e, g_ddbmini, expired)) {
        CHECK(0, "start ddbmini with TLS");
        return;
    }
    tls_link t;
    mini_client c;
    int rc = tls_open(&t, p.port, pki("ca.crt"), "localhost");
    CHECK(rc == 0 && t.verify == X509_V_OK, "verified handshake with localhost: %s (verify %ld)", t.err, t.verify);
    if (rc == 0) {
        CHECK(SSL_version(t.ssl) >= TLS1_2_VERSION, "TLS 1.2 or newer: %s", SSL_get_version(t.ssl));
        tls_client(&t, &c);
        CHECK(mini_client_connect(&c) == MINI_OK, "connect over TLS: %s", c.error);
        CHECK(!logged_in(&c), "not logged in yet");
        CHECK(scram_login(&c, BOB, BOB_PW) == 0, "SCRAM over TLS: %s", c.error);
        CHECK(!strcmp(run_text(&c, "size(take(1.5, 3000000))"), "3000000"), "a script over TLS");
        ddb_obj *big = NULL;
        CHECK(mini_client_script(&c, "take(2.5, 3000000)", &big) == MINI_OK && big && big->rows == 3000000 &&
                  ddb_double_at(big, 2999999) == 2.5, "24 MB back through the relay: %s", c.error);
        ddb_obj_unref(big);
        ddb_obj *up = ddb_vector_new(DDB_DOUBLE, 3000000);
        const char *name = "up";
        if (up)
            for (int64_t i = 0; i < up->rows; i++)
                ((double *)up->data)[i] = (double)i;
        CHECK(up && mini_client_upload(&c, &name, &up, 1) == MINI_OK, "24 MB upload through the relay: %s", c.error);
        CHECK(!strcmp(run_text(&c, "sum(up)"), "4499998500000"), "upload arrived whole: %s", run_text(&c, "sum(up)"));
        ddb_obj_unref(up);
        mini_client_close(&c);
    }
    tls_close(&t);

    /* a response cut short by ddbmini reaches the client up to the cut, then EOF */
    if (tls_open(&t, p.port, pki("ca.crt"), "localhost") == 0) {
        tls_client(&t, &c);
        mini_client_connect(&c);
        CHECK(plain_login(&c, "admin", "123456") == MINI_OK, "admin over TLS: %s", c.error);
        run_text(&c, "faultDropAfter(30)");
        double t0 = now_s();
        const char body[] = "script\ntake(1, 1000)";
        size_t got = 0;
        char buf[8192];
        if (mini_client_send(&c, body, sizeof body - 1, NULL, 0) == 0) {
            struct pollfd pfd = {.fd = c.fd, .events = POLLIN};
            ssize_t n = 1;
            while (n > 0 && poll(&pfd, 1, 5000) == 1 && (n = recv(c.fd, buf, sizeof buf, 0)) > 0)
                got += (size_t)n;
        }
        CHECK(got == 30, "drop fault over TLS: exactly the first 30 bytes, then EOF (%zu)", got);
        CHECK(now_s() - t0 < 2.0 * g_scale, "at once (%.2f s)", now_s() - t0);
        mini_client_close(&c);
    } else
        CHECK(0, "TLS for the drop fault: %s", t.err);
    tls_close(&t);

    CHECK(tls_open(&t, p.port, pki("ca.crt"), "wrong.example") == -1 && t.verify == X509_V_ERR_HOSTNAME_MISMATCH,
          "wrong host name detected (verify %ld: %s)", t.verify, X509_verify_cert_error_string(t.verify));
    tls_close(&t);
    CHECK(tls_open(&t, p.port, NULL, "localhost") == -1 || t.verify != X509_V_OK,
          "without the CA the certificate does not verify (%ld)", t.verify);
    tls_close(&t);
    CHECK(tls_open(&t, e.port, pki("ca.crt"), "localhost") == -1 && t.verify == X509_V_ERR_CERT_HAS_EXPIRED,
          "expired certificate detected (verify %ld: %s)", t.verify, X509_verify_cert_error_string(t.verify));
    tls_close(&t);
    CHECK(tls_open(&t, e.port, NULL, "localhost") == 0, "the official clients' no-verification mode connects");
    if (t.running) {
        tls_client(&t, &c);
        CHECK(mini_client_connect(&c) == MINI_OK && !strcmp(run_text(&c, "1+1"), "2"), "unverified TLS works");
        mini_client_close(&c);
    }
    tls_close(&t);

    /* a plaintext client against the TLS port: a clean failure, not a hang */
    mini_client_open(&c, "127.0.0.1", p.port);
    c.timeout_ms = 5000;
    double t0 = now_s();
    CHECK(mini_client_connect(&c) == MINI_IO_ERROR, "plain client refused by the TLS port");
    CHECK(now_s() - t0 < 2.0 * g_scale, "and at once (%.2f s): %s", now_s() - t0, c.error);
    mini_client_close(&c);
    CHECK(mini_proc_stop(&p) == 0 && mini_proc_stop(&e) == 0, "ddbmini exits 0");
}

/* ---------------------------------------------------------------- what crosses the wire */

static int start_proxy(mini_proc *px, int target, const char *file)
{
    int fds[2];
    char port[16];
    snprintf(port, sizeof port, "%d", target);
    if (pipe(fds))
        return -1;
    px->pid = fork();
    if (px->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(g_proxy, g_proxy, "0", "127.0.0.1", port, file, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[128] = "";
    size_t len = 0;
    while (len < sizeof line - 1 && read(fds[0], line + len, 1) == 1 && line[len] != '\n')
        len++;
    line[len] = 0;
    close(fds[0]);
    const char *colon = strrchr(line, ':');
    if (strncmp(line, "recording_proxy listening on", 28) || !colon)
        return -1;
    px->port = atoi(colon + 1);
    return 0;
}

/* The recorded client -> server bytes. */
static char *slurp(const char *file, size_t *len)
{
    FILE *f = fopen(file, "rb");
    char *buf = malloc(1 << 20);
    *len = f && buf ? fread(buf, 1, 1 << 20, f) : 0;
    if (f)
        fclose(f);
    return buf;
}

static int contains(const char *hay, size_t n, const char *needle)
{
    return memmem(hay, n, needle, strlen(needle)) != NULL;
}

#define STRING_BOB "\x12\x00" BOB "\x00"   /* the STRING scalar "bob" as serialized */

enum { M_PLAIN, M_CONNECT_LINES, M_SCRAM, M_RSA, M_TLS_PLAIN };
static const char *const METHOD_NAMES[] = {"plain login()", "connect login lines", "SCRAM", "encrypted login",
                                           "plain login() inside TLS"};

/* Logs in through the proxy with one method; returns the recording. */
static char *record_login(int method, const mini_proc *server, size_t *len)
{
    mini_proc px;
    const char *file = pki("wire.rec");
    if (start_proxy(&px, server->port, file)) {
        CHECK(0, "start recording_proxy");
        *len = 0;
        return NULL;
    }
    mini_client c;
    tls_link t = {.tcp = -1, .sp = {-1, -1}};
    int ok = 0;
    if (method == M_TLS_PLAIN) {
        if (tls_open(&t, px.port, pki("ca.crt"), "localhost") == 0) {
            tls_client(&t, &c);
            ok = mini_client_connect(&c) == MINI_OK && plain_login(&c, BOB, BOB_PW) == MINI_OK;
            mini_client_close(&c);
        }
        tls_close(&t);
    } else if (method == M_CONNECT_LINES) {
        mini_client_open(&c, "127.0.0.1", px.port);
        ok = mini_client_connect_login(&c, BOB, BOB_PW) == MINI_OK;
        mini_client_close(&c);
    } else {
        mini_proc via = {.pid = 0, .port = px.port};
        open_client(&c, &via);
        ok = (method == M_PLAIN ? plain_login(&c, BOB, BOB_PW)
              : method == M_SCRAM ? scram_login(&c, BOB, BOB_PW)
                                  : rsa_login(&c, BOB, BOB_PW, 0)) == MINI_OK &&
             logged_in(&c);
        mini_client_close(&c);
    }
    CHECK(ok, "%s through the proxy logged in", METHOD_NAMES[method]);
    CHECK(mini_proc_stop(&px) == 0, "recording_proxy exits 0");
    return slurp(file, len);
}

static void test_wire(void)
{
    mini_proc plain, tls;
    const char *a1[] = {"--require-login", "--user", BOB ":" BOB_PW, NULL};
    const char *a2[] = {"--user", BOB ":" BOB_PW, "--tls-cert", pki("srv.crt"), "--tls-key", pki("srv.key"), NULL};
    if (mini_proc_start(&plain, g_ddbmini, a1) || mini_proc_start(&tls, g_ddbmini, a2)) {
        CHECK(0, "start ddbmini");
        return;
    }
    for (int m = M_PLAIN; m <= M_TLS_PLAIN; m++) {
        size_t len;
        char *rec = record_login(m, m == M_TLS_PLAIN ? &tls : &plain, &len);
        int clear = m == M_PLAIN || m == M_CONNECT_LINES;
        CHECK(len > 40, "%s: the client's bytes were recorded (%zu)", METHOD_NAMES[m], len);
        CHECK(contains(rec, len, BOB_PW) == clear, "%s: the password %s on the wire", METHOD_NAMES[m],
              clear ? "is (the check can fail)" : "is not");
        if (m == M_SCRAM)
            CHECK(contains(rec, len, "scramClientFinal") && memmem(rec, len, STRING_BOB, 6),
                  "SCRAM: the exchange itself was recorded (the user name travels in clear)");
        if (m == M_RSA)
            CHECK(contains(rec, len, "getDynamicPublicKey") && !memmem(rec, len, STRING_BOB, 6),
                  "encrypted login: the exchange recorded, the user name hidden too");
        if (m == M_TLS_PLAIN)
            CHECK(!contains(rec, len, "API2") && !contains(rec, len, "login"), "TLS: no protocol text on the wire");
        free(rec);
    }
    CHECK(mini_proc_stop(&plain) == 0 && mini_proc_stop(&tls) == 0, "ddbmini exits 0");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_ddbmini_auth path/to/ddbmini path/to/recording_proxy\n");
        return 2;
    }
    g_ddbmini = argv[1];
    g_proxy = argv[2];
    signal(SIGPIPE, SIG_IGN);
    const char *scale = getenv("DDB_TIME_SCALE");
    if (scale && atof(scale) >= 1)
        g_scale = atof(scale);
    test_scram();
    test_encrypted();
    test_switches();
    if (make_pki() == 0) {
        test_bad_options();
        test_tls();
        test_wire();
    } else
        CHECK(0, "could not make the test certificates with the openssl command");
    remove_pki();
    return finish("test_ddbmini_auth");
}
