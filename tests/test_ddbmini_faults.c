/* test_ddbmini_faults.c — every fault switch of ddbmini (as admin script functions
 * and as command-line options), the pretend cluster and --help.
 * usage: test_ddbmini_faults path/to/ddbmini */
#include "ddbmini_harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *BIN;

static void admin(mini_client *c, const mini_proc *p)
{
    open_client(c, p);
    CHECK(mini_client_script(c, "login(\"admin\", \"123456\")", NULL) == MINI_OK, "admin login: %s", c->error);
}

static void control(mini_client *adm, const char *script)
{
    ddb_obj *o = NULL;
    CHECK(mini_client_script(adm, script, &o) == MINI_OK, "%s: %s", script, adm->error);
    ddb_obj_unref(o);
}

/* Result of "1+1" on a fresh connection: 1 OK, 0 server error, -1 I/O failure. */
static int probe(const mini_proc *p, char *why, size_t len)
{
    mini_client c;
    if (mini_client_open(&c, "127.0.0.1", p->port) != 0) {
        snprintf(why, len, "%s", c.error);
        mini_client_close(&c);
        return -1;
    }
    c.timeout_ms = 2000;
    ddb_obj *o = NULL;
    int rc = mini_client_connect(&c);
    if (rc == MINI_OK)
        rc = mini_client_script(&c, "1+1", &o);
    snprintf(why, len, "%s", c.error);
    int result = rc == MINI_OK ? (o && ddb_int_at(o, 0) == 2) : rc == MINI_SERVER_ERROR ? 0 : -1;
    ddb_obj_unref(o);
    mini_client_close(&c);
    return result;
}

static void test_script_switches(void)
{
    mini_proc p;
    if (mini_proc_start(&p, BIN, NULL)) {
        CHECK(0, "start");
        return;
    }
    mini_client adm, c;
    char why[1024];
    admin(&adm, &p);

    /* drop: one-shot by default */
    control(&adm, "faultDropAfter(10)");
    open_client(&c, &p);
    ddb_obj *o = NULL;
    int rc = mini_client_script(&c, "1+1", &o);
    CHECK(rc == MINI_IO_ERROR, "dropped mid-response (%d, %s)", rc, c.error);
    mini_client_close(&c);
    CHECK(probe(&p, why, sizeof why) == 1, "one-shot drop fired once: %s", why);
    control(&adm, "faultDropAfter(0, false)");
    CHECK(probe(&p, why, sizeof why) == -1 && probe(&p, why, sizeof why) == -1, "persistent drop");
    control(&adm, "faultReset()");
    CHECK(probe(&p, why, sizeof why) == 1, "reset: %s", why);

    /* a large response dropped after 1 MB: the client sees a short read */
    control(&adm, "faultDropAfter(1000000)");
    open_client(&c, &p);
    rc = mini_client_script(&c, "1..1000000", &o);
    CHECK(rc == MINI_IO_ERROR, "large response cut at 1 MB");
    mini_client_close(&c);

    /* stall: held for N ms; -1 never answers */
    control(&adm, "faultStall(300)");
    double t0 = now_s();
    CHECK(probe(&p, why, sizeof why) == 1, "stalled response still arrives");
    CHECK(now_s() - t0 >= 0.29, "stalled ~300 ms (%.3f s)", now_s() - t0);
    control(&adm, "faultStall(-1)");
    open_client(&c, &p);
    c.timeout_ms = 400;
    rc = mini_client_script(&c, "1+1", &o);
    CHECK(rc == MINI_IO_ERROR && strstr(c.error, "timeout"), "stall forever: %s", c.error);
    mini_client_close(&c);
    CHECK(probe(&p, why, sizeof why) == 1, "stall forever was one-shot");

    /* garbage instead of the response */
    control(&adm, "faultGarbage(64)");
    open_client(&c, &p);
    t0 = now_s();
    rc = mini_client_script(&c, "1+1", &o);
    CHECK(rc == MINI_IO_ERROR && strstr(c.error, "bad response header"), "garbage is not a response: %s", c.error);
    CHECK(now_s() - t0 < 1, "garbage ends in a LF: detected at once");
    mini_client_close(&c);

    /* accept delay */
    control(&adm, "faultAcceptDelay(300)");
    t0 = now_s();
    CHECK(probe(&p, why, sizeof why) == 1, "delayed connection works");
    CHECK(now_s() - t0 >= 0.29, "connection delayed ~300 ms (%.3f s)", now_s() - t0);
    control(&adm, "faultAcceptDelay(0)");

    /* refuse: accepted, then closed */
    control(&adm, "faultRefuse(true)");
    CHECK(probe(&p, why, sizeof why) == -1, "refused: %s", why);
    control(&adm, "faultRefuse(false)");
    CHECK(probe(&p, why, sizeof why) == 1, "accepting again");

    /* NotLeader for every request except connect and fault control */
    control(&adm, "faultNotLeader(\"127.0.0.1:9999\")");
    open_client(&c, &p);
    rc = mini_client_script(&c, "1+1", &o);
    CHECK(rc == MINI_SERVER_ERROR && !strcmp(c.error, "<NotLeader>127.0.0.1:9999"), "NotLeader: [%s]", c.error);
    rc = mini_client_call(&c, "version", NULL, 0, &o);
    CHECK(rc == MINI_SERVER_ERROR && !strncmp(c.error, "<NotLeader>", 11), "NotLeader for functions too");
    mini_client_close(&c);
    control(&adm, "faultNotLeader(\"\")");
    CHECK(probe(&p, why, sizeof why) == 1, "NotLeader off");

    /* reject logins */
    control(&adm, "faultRejectLogin(true)");
    open_client(&c, &p);
    rc = mini_client_script(&c, "login(\"admin\", \"123456\")", &o);
    CHECK(rc == MINI_SERVER_ERROR && strstr(c.error, "The user name or password is incorrect."), "login rejected");
    mini_client_close(&c);
    control(&adm, "faultRejectLogin(false)");
    open_client(&c, &p);
    CHECK(mini_client_script(&c, "login(\"admin\", \"123456\")", &o) == MINI_OK, "login accepted again");
    mini_client_close(&c);

    /* a fault armed by script does not hit the arming response itself */
    control(&adm, "faultDropAfter(1); faultStall(5000)");
    control(&adm, "faultReset()");
    CHECK(probe(&p, why, sizeof why) == 1, "reset disarmed the switches");
    mini_client_close(&adm);
    CHECK(mini_proc_stop(&p) == 0, "exit 0");
}

static void test_cluster(void)
{
    mini_proc p;
    const char *args[] = {"--cluster", "self:nodeA,127.0.0.1:9001:nodeB,127.0.0.1:9002:nodeC", NULL};
    if (mini_proc_start(&p, BIN, args)) {
        CHECK(0, "start cluster");
        return;
    }
    mini_client adm, other;
    admin(&adm, &p);
    open_client(&other, &p);
    const char *t = run_text(&adm, "getClusterLiveDataNodes()");
    CHECK(!strcmp(t, "[nodeA,nodeB,nodeC]"), "live nodes: %s", t);
    t = run_text(&adm, "getClusterLiveDataNodes(false)");
    char expect[256];
    snprintf(expect, sizeof expect, "[127.0.0.1:%d:nodeA,127.0.0.1:9001:nodeB,127.0.0.1:9002:nodeC]", p.port);
    CHECK(!strcmp(t, expect), "live nodes with hosts: %s", t);
    t = run_text(&adm, "perf = getClusterPerf(); perf[\"port\"]");
    snprintf(expect, sizeof expect, "[%d,9001,9002]", p.port);
    CHECK(!strcmp(t, expect), "getClusterPerf ports: %s", t);
    t = run_text(&adm, "perf[\"connectionNum\"]");
    CHECK(!strcmp(t, "[2,0,0]"), "connectionNum counts this node's connections: %s", t);
    t = run_text(&adm, "size(rpc(getControllerAlias(), getClusterPerf))");
    CHECK(!strcmp(t, "3"), "rpc(getControllerAlias(), getClusterPerf): %s", t);
    t = run_text(&adm, "rpc(\"nodeB\", add, 1, 2)");
    CHECK(!strcmp(t, "3"), "rpc to a live node: %s", t);
    t = run_text(&adm, "rpc(getControllerAlias(), getClusterLiveDataNodes{false})");
    CHECK(!strncmp(t, "[127.0.0.1:", 11), "partial application in rpc: %s", t);
    control(&adm, "faultNodeDown(\"nodeB\")");
    t = run_text(&adm, "getClusterLiveDataNodes()");
    CHECK(!strcmp(t, "[nodeA,nodeC]"), "down node hidden: %s", t);
    t = run_text(&adm, "size(getClusterPerf())");
    CHECK(!strcmp(t, "2"), "down node not in getClusterPerf: %s", t);
    t = run_text(&adm, "rpc(\"nodeB\", add, 1, 2)");
    CHECK(!strncmp(t, "ERROR: ", 7) && strstr(t, "nodeB"), "rpc to a down node fails: %s", t);
    control(&adm, "faultNodeDown(\"127.0.0.1:9001\", false)");
    t = run_text(&adm, "getClusterLiveDataNodes()");
    CHECK(!strcmp(t, "[nodeA,nodeB,nodeC]"), "node back: %s", t);
    t = run_text(&adm, "faultNodeDown(\"nodeZ\")");
    CHECK(!strncmp(t, "ERROR: ", 7), "unknown node: %s", t);
    mini_client_close(&other);
    mini_client_close(&adm);
    CHECK(mini_proc_stop(&p) == 0, "exit 0");
}

/* Command-line switches are persistent. */
static void test_options(void)
{
    char why[1024];
    struct {
        const char *args[6];
        int expect;             /* probe() result */
        const char *why;
    } cases[] = {
        {{"--fault-drop-after", "5", NULL}, -1, "--fault-drop-after"},
        {{"--fault-garbage", "32", NULL}, -1, "--fault-garbage"},
        {{"--refuse", NULL}, -1, "--refuse"},
        {{"--not-leader", "10.0.0.1:8848", NULL}, 0, "--not-leader"},
        {{"--leader", "10.0.0.1:8848", NULL}, 0, "--leader elsewhere"},
        {{"--cluster", "self:me,10.0.0.1:8848:other", "--leader", "me", NULL}, 1, "--leader self"},
        {{"--fault-stall", "200", NULL}, 1, "--fault-stall"},
        {{"--accept-delay", "200", NULL}, 1, "--accept-delay"},
        {{"--threads", "4", "--compress", "delta", NULL}, 1, "--threads/--compress"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        mini_proc p;
        if (mini_proc_start(&p, BIN, cases[i].args)) {
            CHECK(0, "start with %s", cases[i].why);
            continue;
        }
        double t0 = now_s();
        int r1 = probe(&p, why, sizeof why);
        int r2 = probe(&p, why, sizeof why);
        double dt = now_s() - t0;
        CHECK(r1 == cases[i].expect && r2 == cases[i].expect, "%s: got %d/%d (%s)", cases[i].why, r1, r2, why);
        if (i == 3 || i == 4)
            CHECK(!strcmp(why, "<NotLeader>10.0.0.1:8848"), "%s wording: %s", cases[i].why, why);
        if (i == 6 || i == 7)
            CHECK(dt >= 0.39, "%s applies to every connection (%.3f s)", cases[i].why, dt);
        CHECK(mini_proc_stop(&p) == 0, "%s: exit 0", cases[i].why);
    }
    mini_proc p;
    const char *rej[] = {"--reject-login", "--node-down", "127.0.0.1:9001", "--cluster", "self,127.0.0.1:9001", NULL};
    if (mini_proc_start(&p, BIN, rej) == 0) {
        mini_client c;
        CHECK(mini_client_open(&c, "127.0.0.1", p.port) == 0, "open");
        CHECK(mini_client_connect_login(&c, "admin", "123456") == MINI_SERVER_ERROR, "--reject-login");
        const char *t = run_text(&c, "getClusterLiveDataNodes()");
        CHECK(!strcmp(t, "[node1]"), "--node-down: %s", t);
        mini_client_close(&c);
        CHECK(mini_proc_stop(&p) == 0, "exit 0");
    }
}

static int run_status(const char *const *argv, char *out, size_t len)
{
    int fds[2];
    if (pipe(fds))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n < len - 1 && (r = read(fds[0], out + n, len - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = 0;
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_help(void)
{
    static char out[16384];
    const char *help[] = {BIN, "--help", NULL};
    CHECK(run_status(help, out, sizeof out) == 0, "--help exits 0");
    const char *opts[] = {"--port", "--host", "--threads", "--user", "--require-login", "--cluster",
                          "--leader", "--fault-drop-after", "--fault-stall", "--fault-garbage",
                          "--accept-delay", "--refuse", "--not-leader", "--node-down", "--reject-login",
                          "faultDropAfter", "faultStall", "faultGarbage", "faultAcceptDelay",
                          "faultRefuse", "faultNotLeader", "faultNodeDown", "faultRejectLogin",
                          "faultReset", "NOT DolphinDB"};
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
        CHECK(strstr(out, opts[i]) != NULL, "--help mentions %s", opts[i]);
    const char *bad[] = {BIN, "--bogus", NULL};
    CHECK(run_status(bad, out, sizeof out) == 2 && strstr(out, "--bogus"), "unknown option: exit 2");
    const char *badport[] = {BIN, "--port", "70000", NULL};
    CHECK(run_status(badport, out, sizeof out) == 2, "bad port: exit 2");
    const char *badcl[] = {BIN, "--cluster", "nonsense", NULL};
    CHECK(run_status(badcl, out, sizeof out) == 2, "bad cluster: exit 2");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s ddbmini\n", argv[0]);
        return 2;
    }
    BIN = argv[1];
    struct {
        const char *name;
        void (*fn)(void);
    } parts[] = {{"--help", test_help}, {"script switches", test_script_switches},
                 {"cluster", test_cluster}, {"command-line switches", test_options}};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        double t0 = now_s();
        parts[i].fn();
        printf("%-24s %.3f s\n", parts[i].name, now_s() - t0);
    }
    return finish("test_ddbmini_faults");
}
