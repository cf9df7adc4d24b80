/* main.c — ddbmini: a small DolphinDB-protocol test server (a test double, not
 * DolphinDB). Options, listening, signals. */
#include "server.h"
#include "values.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: ddbmini [options]\n"
    "\n"
    "A loopback test double that speaks the DolphinDB API protocol and a subset of\n"
    "the DolphinDB script language. It is NOT DolphinDB. Once listening it prints\n"
    "exactly one line to stdout: ddbmini listening on HOST:PORT\n"
    "\n"
    "options:\n"
    "  --host ADDR              IPv4 address to listen on (default 127.0.0.1)\n"
    "  --port N                 TCP port; 0 picks a free one (default 8848)\n"
    "  --threads N              evaluation threads, i.e. concurrently running requests\n"
    "                           (default 128; sets UV_THREADPOOL_SIZE)\n"
    "  --user NAME:PASSWORD     add a user (repeatable); admin:123456 always exists\n"
    "  --admin NAME:PASSWORD    add an administrator\n"
    "  --require-login          refuse scripts/functions/uploads before login with\n"
    "                           'Login is required for script execution with client\n"
    "                           authentication enabled'\n"
    "  --compress lz4|delta     column codec for tables when a request sets flag 64\n"
    "                           (default lz4)\n"
    "\n"
    "logging in without the password in clear (admin is a plain 'sha256' user; the\n"
    "--user/--admin ones may also use SCRAM):\n"
    "  getDynamicPublicKey() + login(encUser, encPassword, true)   RSA, PKCS#1 v1.5\n"
    "  scramClientFirst(user, nonce) + scramClientFinal(user, nonce, proof)\n"
    "  --scram-iterations N     PBKDF2 iterations of the SCRAM users (default 4096)\n"
    "  --no-scram               scramClientFirst/Final are unknown functions\n"
    "  --no-encrypted-login     getDynamicPublicKey is unknown, login(.., true) fails\n"
    "  --no-plain-login         login(u, p[, false]) and connect login lines fail\n"
    "  --tls-cert FILE          with --tls-key: every connection is TLS from its first\n"
    "  --tls-key FILE           byte (PEM certificate chain and key; TLS 1.2+)\n"
    "  --rsa-key FILE           the encrypted login's RSA key pair (PEM private key)\n"
    "                           instead of one made on the first getDynamicPublicKey\n"
    "\n"
    "pretend cluster:\n"
    "  --cluster LIST           comma-separated nodes host:port[:alias]; the entry\n"
    "                           'self[:alias]' (or the one with this port on\n"
    "                           127.0.0.1) is this instance; aliases default to nodeN. Reported by getClusterLiveDataNodes,\n"
    "                           getClusterPerf (connectionNum is real for self);\n"
    "                           rpc(alias, fn, args...) runs fn here if alias is live.\n"
    "  --controller-alias NAME  what getControllerAlias() returns (default controller)\n"
    "  --leader HOST:PORT       the HA leader; if it is not this instance every request\n"
    "                           except connect is answered '<NotLeader>HOST:PORT'\n"
    "\n"
    "fault switches (command-line switches are persistent; the script functions of\n"
    "the same name are admin-only, one-shot by default: they affect the next\n"
    "response sent by any session, pass false as the last argument to make them\n"
    "persistent; drop/stall/garbage act on responses to script, function and\n"
    "variable requests, never on connect nor on a script made only of fault calls):\n"
    "  --fault-drop-after N     close the connection after N bytes of a response\n"
    "                           script: faultDropAfter(N [, once=true])\n"
    "  --fault-stall MS         hold every response MS ms; -1 = never answer\n"
    "                           script: faultStall(MS [, once=true])\n"
    "  --fault-garbage N        send N random bytes instead of the response (the\n"
    "                           first is 0xff, the last a LF)\n"
    "                           script: faultGarbage(N [, once=true])\n"
    "  --accept-delay MS        do not read from a new connection for MS ms\n"
    "                           script: faultAcceptDelay(MS)   (0 turns it off)\n"
    "  --refuse                 accept new connections and close them at once\n"
    "                           script: faultRefuse(true|false)\n"
    "  --not-leader HOST:PORT   answer '<NotLeader>HOST:PORT' to every request\n"
    "                           script: faultNotLeader(\"HOST:PORT\")  (\"\" turns it off)\n"
    "  --node-down HOST:PORT    hide a cluster node (host:port or alias) from the\n"
    "                           cluster functions; script: faultNodeDown(node [, down])\n"
    "  --reject-login           every login fails ('The user name or password is\n"
    "                           incorrect.'); script: faultRejectLogin(true|false)\n"
    "  --stream-not-leader H:P  publishTable answers '<NotLeader>H:P'; the script\n"
    "                           function faultStreamNotLeader(\"H:P\") also drops every\n"
    "                           subscriber (\"\" makes this node the leader again)\n"
    "  script: faultDropSubscribers([table])  close the subscribers' push connections\n"
    "                           now (a message may be cut half-way); returns the count\n"
    "  script: faultStreamRowTuples(bool)  push one row per message, as a tuple\n"
    "  script: faultStreamJoinTopic(\"t\")  pushed messages name '<topic>,t'\n"
    "  --stream-max-rows N      rows a stream table may hold (default 16777216);\n"
    "                           an insert past it fails\n"
    "  --stream-sites LIST      publishTable answers (columns, sites) as for an HA\n"
    "                           stream table; LIST is host:port:alias,...\n"
    "                           script: faultStreamSites(\"LIST\")  (\"\" turns it off)\n"
    "  script: faultReset()     disarm every fault switch, bring every node back\n"
    "\n"
    "SIGTERM/SIGINT: close every connection and exit 0.\n";

typedef struct options {
    const char *host;
    int port;
    int threads;
    const char *cluster;
    const char *not_leader;
    const char *node_down[MINI_MAX_NODES];
    int n_down;
    const char *tls_cert, *tls_key, *rsa_key;
} options;

static int need_int(const char *opt, const char *v, long lo, long hi, long *out)
{
    char *end;
    if (!v) {
        fprintf(stderr, "ddbmini: %s needs a value\n", opt);
        return -1;
    }
    long x = strtol(v, &end, 10);
    if (*end || !*v || x < lo || x > hi) {
        fprintf(stderr, "ddbmini: bad value for %s: %s\n", opt, v);
        return -1;
    }
    *out = x;
    return 0;
}

static void arm_persistent(mini_fault *f, long v)
{
    f->armed = 1;
    f->param = v;
    f->once = 0;
}

static int parse_options(int argc, char **argv, options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long x;
        int takes = 1;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(USAGE, stdout);
            exit(0);
        } else if (!strcmp(a, "--host") && v)
            o->host = v;
        else if (!strcmp(a, "--port")) {
            if (need_int(a, v, 0, 65535, &x))
                return -1;
            o->port = (int)x;
        } else if (!strcmp(a, "--threads")) {
            if (need_int(a, v, 1, 1024, &x))
                return -1;
            o->threads = (int)x;
        } else if ((!strcmp(a, "--user") || !strcmp(a, "--admin")) && v) {
            if (mini_add_user(v, !strcmp(a, "--admin")) || auth_add_scram_user(v)) {
                fprintf(stderr, "ddbmini: %s wants NAME:PASSWORD\n", a);
                return -1;
            }
        } else if (!strcmp(a, "--compress") && v) {
            if (strcmp(v, "lz4") && strcmp(v, "delta")) {
                fprintf(stderr, "ddbmini: --compress wants lz4 or delta\n");
                return -1;
            }
            g_mini.compress_method = !strcmp(v, "lz4") ? DDB_COMPRESS_LZ4 : DDB_COMPRESS_DELTA;
        } else if (!strcmp(a, "--cluster") && v)
            o->cluster = v;
        else if (!strcmp(a, "--tls-cert") && v)
            o->tls_cert = v;
        else if (!strcmp(a, "--tls-key") && v)
            o->tls_key = v;
        else if (!strcmp(a, "--rsa-key") && v)
            o->rsa_key = v;
        else if (!strcmp(a, "--scram-iterations")) {
            if (need_int(a, v, 1, 10000000, &x) || auth_set_iterations(x))
                return -1;
        }
        else if (!strcmp(a, "--controller-alias") && v)
            snprintf(g_mini.controller_alias, sizeof g_mini.controller_alias, "%s", v);
        else if (!strcmp(a, "--leader") && v)
            snprintf(g_mini.leader, sizeof g_mini.leader, "%s", v);
        else if (!strcmp(a, "--stream-max-rows")) {
            if (need_int(a, v, 1, INT32_MAX, &x))
                return -1;
            g_mini.stream_max_rows = x;
        } else if (!strcmp(a, "--stream-sites") && v)
            snprintf(g_mini.faults.stream_sites, sizeof g_mini.faults.stream_sites, "%s", v);
        else if (!strcmp(a, "--stream-not-leader") && v)
            snprintf(g_mini.faults.stream_not_leader, sizeof g_mini.faults.stream_not_leader, "%s", v);
        else if (!strcmp(a, "--not-leader") && v)
            snprintf(g_mini.faults.not_leader, sizeof g_mini.faults.not_leader, "%s", v);
        else if (!strcmp(a, "--node-down") && v && o->n_down < MINI_MAX_NODES)
            o->node_down[o->n_down++] = v;
        else if (!strcmp(a, "--fault-drop-after")) {
            if (need_int(a, v, 0, INT32_MAX, &x))
                return -1;
            arm_persistent(&g_mini.faults.drop, x);
        } else if (!strcmp(a, "--fault-stall")) {
            if (need_int(a, v, -1, INT32_MAX, &x))
                return -1;
            arm_persistent(&g_mini.faults.stall, x);
        } else if (!strcmp(a, "--fault-garbage")) {
            if (need_int(a, v, 1, 1 << 20, &x))
                return -1;
            arm_persistent(&g_mini.faults.garbage, x);
        } else if (!strcmp(a, "--accept-delay")) {
            if (need_int(a, v, 0, INT32_MAX, &x))
                return -1;
            g_mini.faults.accept_delay_ms = x;
        } else {
            takes = 0;
            if (!strcmp(a, "--require-login"))
                g_mini.require_login = 1;
            else if (!strcmp(a, "--refuse"))
                g_mini.faults.refuse = 1;
            else if (!strcmp(a, "--reject-login"))
                g_mini.faults.reject_login = 1;
            else if (!strcmp(a, "--no-scram"))
                auth_disable(1, 0, 0);
            else if (!strcmp(a, "--no-encrypted-login"))
                auth_disable(0, 1, 0);
            else if (!strcmp(a, "--no-plain-login"))
                auth_disable(0, 0, 1);
            else {
                fprintf(stderr, "ddbmini: unknown or incomplete option %s (see --help)\n", a);
                return -1;
            }
        }
        i += takes;
    }
    return 0;
}

/* SCRAM keys of the users, and the TLS context when asked for. */
static int setup_auth(const options *o)
{
    char err[512];
    if (!o->tls_cert != !o->tls_key) {
        fprintf(stderr, "ddbmini: --tls-cert and --tls-key go together\n");
        return -1;
    }
    if (auth_init(err, sizeof err) || (o->rsa_key && auth_load_rsa_key(o->rsa_key, err, sizeof err)) ||
        (o->tls_cert && tls_setup(o->tls_cert, o->tls_key, err, sizeof err))) {
        fprintf(stderr, "ddbmini: %s\n", err);
        return -1;
    }
    return 0;
}

static mini_server *g_server;
static uv_signal_t g_sigterm, g_sigint;

static void on_signal(uv_signal_t *h, int signum)
{
    jobs_cancel_all();          /* a running sleep() must not hold up the exit */
    server_stop(g_server);
    uv_close((uv_handle_t *)&g_sigterm, NULL);
    uv_close((uv_handle_t *)&g_sigint, NULL);
}

int main(int argc, char **argv)
{
    mini_state_init();
    options o = {.host = "127.0.0.1", .port = 8848, .threads = 128};
    if (parse_options(argc, argv, &o))
        return 2;
    if (setup_auth(&o))
        return 2;
    if (o.cluster && cluster_parse(o.cluster)) {
        fprintf(stderr, "ddbmini: bad --cluster list: %s\n", o.cluster);
        return 2;
    }
    /* must happen before the first libuv call that touches the thread pool */
    char threads[16];
    snprintf(threads, sizeof threads, "%d", o.threads);
    setenv("UV_THREADPOOL_SIZE", threads, 1);
    signal(SIGPIPE, SIG_IGN);

    uv_loop_t *loop = uv_default_loop();
    char err[256];
    g_server = server_start(loop, o.host, o.port, err, sizeof err);
    if (!g_server) {
        fprintf(stderr, "ddbmini: %s\n", err);
        uv_run(loop, UV_RUN_DEFAULT);
        uv_loop_close(loop);
        return 1;
    }
    cluster_set_port(server_port(g_server));
    for (int i = 0; i < o.n_down; i++)
        if (cluster_set_down(o.node_down[i], 1)) {
            fprintf(stderr, "ddbmini: --node-down %s is not in the cluster\n", o.node_down[i]);
            return 2;
        }
    uv_signal_init(loop, &g_sigterm);
    uv_signal_init(loop, &g_sigint);
    uv_signal_start(&g_sigterm, on_signal, SIGTERM);
    uv_signal_start(&g_sigint, on_signal, SIGINT);
    printf("ddbmini listening on %s:%d\n", o.host, server_port(g_server));
    fflush(stdout);
    uv_run(loop, UV_RUN_DEFAULT);
    server_free(g_server);
    uv_loop_close(loop);
    mini_state_free();
    auth_free();
    tls_free();
    return 0;
}
