/* test_self_connect.c — the libuv host's self-connect guard. Connecting to a local
 * port where nothing listens, Linux may choose that very port as the source and join
 * the socket to itself (TCP simultaneous open). By chance that takes thousands of
 * attempts; here the test's connect() binds the source to the target port first, so
 * the kernel makes the real self-connected socket on every attempt. The pool must
 * count each as a failed attempt naming the cause, back off and retry, and connect
 * once a server listens there. */
#include "pool_support.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static uv_loop_t *loop;
static int trap_port;       /* connects to this port bind their source to it first */
static int trapped;         /* connects so bound */

/* Interposes libc's connect for libuv: with the trap set, the socket is bound to
 * the address it connects to; then the real system call. */
int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    if (trap_port && addr->sa_family == AF_INET &&
        ntohs(((const struct sockaddr_in *)addr)->sin_port) == trap_port) {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, addr, len) == 0)
            trapped++;
    }
    return (int)syscall(SYS_connect, fd, addr, len);
}

/* A port nobody holds, below Linux's ephemeral range (32768..60999) so that no
 * outgoing connection of the machine takes it meanwhile: random in 20000..31999,
 * checked free by binding it. -1 when 50 tries found none. */
static int free_port(void)
{
    srand((unsigned)getpid() ^ (unsigned)((unsigned long long)(now_sec() * 1e6) & 0xffffffffu));
    for (int i = 0; i < 50; i++) {
        int port = 20000 + rand() % 12000;
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
        if (fd >= 0)
            close(fd);
        if (ok)
            return port;
    }
    return -1;
}

/* The trap makes a real self-connected socket: what it writes it reads back. */
static void test_trap_makes_a_self_connect(int port)
{
    trap_port = port;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    trap_port = 0;
    struct sockaddr_in me, peer;
    socklen_t nme = sizeof me, npeer = sizeof peer;
    char back = 0;
    CHECK(rc == 0 && getsockname(fd, (struct sockaddr *)&me, &nme) == 0 &&
          getpeername(fd, (struct sockaddr *)&peer, &npeer) == 0 &&
          me.sin_port == peer.sin_port && me.sin_port == a.sin_port,
          "connect to %d without a listener joined the socket to itself (rc %d)", port, rc);
    CHECK(write(fd, "x", 1) == 1 && read(fd, &back, 1) == 1 && back == 'x',
          "the self-connected socket reads what it wrote");
    close(fd);
    printf("ok  bound to its target port, a connect joins the socket to itself\n");
}

static int conn0_ready(void *p)
{
    ddb_conn_info ci;
    return ddb_pool_conn_info(p, 0, &ci) == DDB_OK && ci.state == DDB_CONN_READY;
}

/* An open (3 rounds) where every attempt self-connects fails, naming why. */
static void test_open_fails(int port)
{
    ddb_pool_config cfg;
    test_config(&cfg, port, 1);
    cfg.try_reconnect_nums = 3;
    trap_port = port;
    trapped = 0;
    char err[300];
    ddb_pool *p = ddb_pool_new(loop, &cfg, err, sizeof err);
    CHECK(p != NULL, "pool: %s", err);
    if (!p)
        return;
    ddb_task *t = run_script(loop, p, "1", 10000);
    char want[80];
    snprintf(want, sizeof want, "connected to itself (nothing listens on 127.0.0.1:%d)", port);
    CHECK(ddb_pool_state(p) >= DDB_POOL_FAILED && strstr(ddb_pool_error(p), want),
          "the open fails with '%s': %s", want, ddb_pool_error(p));
    CHECK(trapped == 3, "three attempts, each self-connected (%d)", trapped);
    CHECK(t && ddb_task_state(t) == DDB_TASK_FAILED, "the task fails with the open");
    if (t)
        ddb_task_unref(t);
    trap_port = 0;
    close_pool(loop, p);
    printf("ok  open: 3 self-connected attempts, FAILED with: %s\n", want);
}

/* A lazily opened pool keeps retrying past self-connects and connects once a server
 * listens on the port; its task runs there. */
static void test_lazy_pool_recovers(int port)
{
    ddb_pool_config cfg;
    test_config(&cfg, port, 1);
    cfg.open_lazily = 1;
    trap_port = port;
    trapped = 0;
    ddb_pool *p = open_pool(loop, &cfg);
    ddb_task *t = submit_script(p, "6*7", 0);
    run_for(loop, 500);
    ddb_conn_info ci;
    ddb_pool_conn_info(p, 0, &ci);
    CHECK(trapped >= 2 && strstr(ci.last_error, "connected to itself") &&
          ci.state != DDB_CONN_READY && ci.state != DDB_CONN_DEAD,
          "keeps retrying (%d attempts, %s): %s", trapped, ddb_conn_state_name(ci.state),
          ci.last_error);
    trap_port = 0;
    ddbmini_proc server;
    int up = ddbmini_start(&server, port, NULL) == 0;
    CHECK(up, "ddbmini on port %d", port);
    CHECK(up && run_until(loop, conn0_ready, p, 10000) && t &&
          run_until(loop, task_done, t, 10000) && task_int(t) == 42,
          "connects once ddbmini listens; the task gives 42");
    if (t)
        ddb_task_unref(t);
    close_pool(loop, p);
    if (up)
        ddbmini_stop(&server);
    printf("ok  lazy pool: retries past self-connects, connects when a server listens\n");
}

int main(void)
{
    loop = uv_default_loop();
    int port = free_port();
    CHECK(port > 0, "a free port");
    if (port > 0) {
        test_trap_makes_a_self_connect(port);
        test_open_fails(port);
        test_lazy_pool_recovers(port);
    }
    printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
