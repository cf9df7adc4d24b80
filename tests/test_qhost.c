/* test_qhost.c — the pool core on the queue host (src/hosts/ddb_qhost.h), driven by a small
 * poll() driver written here with plain blocking-connect sockets: no libuv anywhere
 * on the path. It is the C twin of lua/dolphindb/ngx_sched.lua, so what nginx relies
 * on is checked without nginx: intents are carried out, results come back, task
 * deadlines fire from the host's timers, a server that dies is noticed and the
 * connections heal when it returns, reading pauses, and shutdown closes every
 * stream and handle. Runs against ddbmini over real sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ddb_pool.h"
#include "ddb_qhost.h"
#include "pool_support.h"

#define MAXS 64

typedef struct driver {
    ddb_qhost *q;
    int64_t ids[MAXS];
    int fds[MAXS];
    int paused[MAXS];
    int n;
    int64_t opens, closes, bytes_out, pauses;
} driver;

static int slot_of(driver *d, int64_t id)
{
    for (int i = 0; i < d->n; i++)
        if (d->ids[i] == id)
            return i;
    return -1;
}

static void drop_slot(driver *d, int i)
{
    close(d->fds[i]);
    d->n--;
    d->ids[i] = d->ids[d->n];
    d->fds[i] = d->fds[d->n];
    d->paused[i] = d->paused[d->n];
}

static void put_all(void *ud, const char *p, size_t n)
{
    int fd = *(int *)ud;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;             /* the read side will see the break */
        p += w;
        n -= (size_t)w;
    }
}

static void open_stream(driver *d, int64_t id)
{
    const char *name;
    int port, ka;
    if (ddb_qhost_target(d->q, id, &name, &port, &ka) != 0)
        return;
    d->opens++;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, name, &sa.sin_addr);
    if (fd < 0 || d->n == MAXS || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (fd >= 0)
            close(fd);
        ddb_qhost_failed(d->q, id, "connect failed: refused");
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    d->ids[d->n] = id;
    d->fds[d->n] = fd;
    d->paused[d->n] = 0;
    d->n++;
    ddb_qhost_connected(d->q, id);
}

/* One turn: timers, intents (repeated while carrying them out makes more). */
static void turn(driver *d)
{
    ddb_qintent v[16];
    size_t k;
    ddb_qhost_run(d->q);
    while ((k = ddb_qhost_take(d->q, v, 16)) > 0) {
        for (size_t j = 0; j < k; j++) {
            int i = slot_of(d, v[j].id);
            switch (v[j].op) {
            case DDB_Q_OPEN: open_stream(d, v[j].id); break;
            case DDB_Q_OUTPUT:
                if (i >= 0)
                    d->bytes_out += ddb_qhost_output(d->q, v[j].id, put_all, &d->fds[i]);
                break;
            case DDB_Q_PAUSE: if (i >= 0) { d->paused[i] = 1; d->pauses++; } break;
            case DDB_Q_RESUME: if (i >= 0) d->paused[i] = 0; break;
            case DDB_Q_CLOSE: if (i >= 0) { drop_slot(d, i); d->closes++; } break;
            }
        }
        ddb_qhost_run(d->q);
    }
}

/* Waits for I/O or the next timer, feeds what arrived, turns. */
static void step(driver *d, int max_ms)
{
    turn(d);
    struct pollfd pf[MAXS];
    int64_t ids[MAXS];
    int n = 0;
    for (int i = 0; i < d->n; i++) {
        if (d->paused[i])
            continue;
        pf[n] = (struct pollfd){ .fd = d->fds[i], .events = POLLIN };
        ids[n++] = d->ids[i];
    }
    int64_t next = ddb_qhost_next_ms(d->q);
    int wait = next < 0 || next > max_ms ? max_ms : (int)next;
    if (poll(pf, (nfds_t)n, wait) <= 0)
        return;
    for (int j = 0; j < n; j++) {
        if (!(pf[j].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        /* Up to 8 reads before the next turn (one host-clock reading): as an event
         * loop delivers a burst, so the connection's pacing is exercised whatever
         * the speed of the machine (valgrind included). */
        static char buf[65536];
        for (int k = 0; k < 8; k++) {
            ssize_t r = recv(pf[j].fd, buf, sizeof buf, k ? MSG_DONTWAIT : 0);
            if (r < 0 && k && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            if (r > 0) {
                ddb_qhost_data(d->q, ids[j], buf, (size_t)r);
                if (slot_of(d, ids[j]) < 0)
                    break;      /* (a close intent is carried out only by turn) */
                continue;
            }
            ddb_qhost_failed(d->q, ids[j], r == 0 ? "the server closed the connection"
                                                  : strerror(errno));
            break;
        }
        turn(d);
    }
}

static int drive_until(driver *d, int (*pred)(void *), void *ud, int timeout_ms)
{
    double end = now_sec() + timeout_ms / 1000.0;
    while (!pred(ud)) {
        if (now_sec() > end)
            return 0;
        step(d, 20);
    }
    return 1;
}

typedef struct counts { int done, failed, total; } counts;

static void on_complete(ddb_pool *p, ddb_task *t, void *task_ud, void *pool_ud)
{
    counts *c = pool_ud;
    if (ddb_task_state(t) == DDB_TASK_DONE)
        c->done++;
    else
        c->failed++;
}

static int all_in(void *ud) { counts *c = ud; return c->done + c->failed >= c->total; }
static int pool_open(void *ud) { return ddb_pool_state(ud) == DDB_POOL_OPEN; }
static int pool_closed(void *ud) { return ddb_pool_state(ud) == DDB_POOL_CLOSED; }

static int task_terminal(void *t) { return ddb_task_state_is_terminal(ddb_task_state(t)); }

int main(void)
{
    ddbmini_proc m;
    if (ddbmini_start(&m, 0, NULL))
        return 1;
    driver d = { .q = ddb_qhost_new() };
    CHECK(d.q != NULL, "qhost");
    counts c = { 0 };
    ddb_pool_config cfg;
    test_config(&cfg, m.port, 4);
    cfg.reconnect = 1;
    cfg.on_complete = on_complete;
    cfg.cb_ud = &c;
    char err[512];
    ddb_pool *p = ddb_pool_new_host(&ddb_qhost_vt, d.q, &cfg, err, sizeof err);
    CHECK(p != NULL, "pool on the queue host: %s", err);
    if (!p)
        return 1;
    CHECK(drive_until(&d, pool_open, p, 5000), "opens: state %s",
          ddb_pool_state_name(ddb_pool_state(p)));
    CHECK(d.opens == 4, "one stream per connection: %lld", (long long)d.opens);

    /* 400 tasks through 4 connections; the results are right. */
    ddb_task *ts[400];
    char script[64];
    c.total = 400;
    for (int i = 0; i < 400; i++) {
        snprintf(script, sizeof script, "%d + 1", i);
        ts[i] = submit_script(p, script, 0);
    }
    CHECK(drive_until(&d, all_in, &c, 10000), "400 tasks: %d done %d failed", c.done, c.failed);
    CHECK(c.done == 400, "all done: %d", c.done);
    int right = 0;
    for (int i = 0; i < 400; i++) {
        right += task_int(ts[i]) == i + 1;
        ddb_task_unref(ts[i]);
    }
    CHECK(right == 400, "results right: %d of 400", right);

    /* A task deadline fires from the host's timers; the connection reconnects. */
    double t0 = now_sec();
    ddb_task *slow = submit_script(p, "sleep(3000); 1", 0.2);
    c.total++;
    CHECK(drive_until(&d, task_terminal, slow, 3000), "timeout fires");
    double took = now_sec() - t0;
    CHECK(ddb_task_state(slow) == DDB_TASK_FAILED && took > 0.15 && took < 1.5,
          "timed out after %.3f s: %s", took, ddb_task_error(slow));
    ddb_task_unref(slow);
    CHECK(drive_until(&d, pool_open, p, 3000), "still open");

    /* A big result: reading pauses (256 KiB per iteration) and resumes. */
    ddb_task *big = submit_script(p, "1..2000000", 0);
    c.total++;
    CHECK(drive_until(&d, task_terminal, big, 10000), "big result");
    CHECK(ddb_task_state(big) == DDB_TASK_DONE, "big: %s", ddb_task_error(big));
    ddb_obj *o = ddb_task_result(big);
    CHECK(o && o->rows == 2000000, "2 000 000 cells");
    CHECK(d.pauses > 0, "reading paused at least once: %lld", (long long)d.pauses);
    ddb_task_unref(big);

    /* The server dies: the connections notice and retry with back-off; a task
     * submitted meanwhile waits in the queue; the server returns: it runs. */
    int port = m.port;
    ddbmini_kill(&m);
    for (int i = 0; i < 10; i++)
        step(&d, 20);
    ddb_pool_stats st;
    ddb_pool_get_stats(p, &st);
    CHECK(st.conns_ready == 0, "no connection ready while the server is down: %d",
          (int)st.conns_ready);
    ddb_task *lost = submit_script(p, "2 + 2", 0);
    c.total++;
    for (int i = 0; i < 5; i++)
        step(&d, 20);
    CHECK(ddb_task_state(lost) == DDB_TASK_QUEUED, "waits: %s",
          ddb_task_state_name(ddb_task_state(lost)));
    CHECK(ddbmini_start(&m, port, NULL) == 0, "restart on port %d", port);
    CHECK(drive_until(&d, task_terminal, lost, 8000), "queued task after the restart");
    CHECK(ddb_task_state(lost) == DDB_TASK_DONE && task_int(lost) == 4, "ran after healing: %s",
          ddb_task_error(lost));
    ddb_task_unref(lost);

    /* Shutdown closes every stream and every handle. */
    int64_t opened = d.opens;
    ddb_pool_shutdown(p);
    CHECK(drive_until(&d, pool_closed, p, 5000), "closes");
    ddb_pool_free(p);
    for (int i = 0; i < 5; i++)
        turn(&d);
    int streams, handles;
    ddb_qhost_counts(d.q, &streams, &handles);
    CHECK(streams == 0 && handles == 0, "nothing left: %d streams, %d handles", streams, handles);
    CHECK(d.n == 0, "driver holds %d sockets", d.n);
    CHECK(d.closes <= opened, "closes %lld <= opens %lld", (long long)d.closes, (long long)opened);
    ddb_qhost_free(d.q);
    ddbmini_stop(&m);
    printf("test_qhost: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
