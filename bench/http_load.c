/* http_load — a small concurrent HTTP/1.1 client for the nginx spec and benchmark.
 *
 *   http_load HOST PORT PATH CONCURRENCY TOTAL [PROBE_PATH PROBES PROBE_AFTER_MS]
 *
 * Keeps CONCURRENCY requests to PATH in flight (one connection each,
 * "Connection: close") until TOTAL have completed. With a probe path, once
 * PROBE_AFTER_MS have passed it also sends PROBES requests to PROBE_PATH one after
 * another (while the main requests are still in flight) and reports their latency:
 * that shows whether the server keeps answering while it has many requests parked.
 *
 * Prints one "key=value" per line: ok (status 200), non200, errors (connect/read
 * failures), wall_ms, p50_ms, p90_ms, p99_ms, max_ms, and with probes probe_ok,
 * probe_p50_ms, probe_p90_ms, probe_max_ms, probe_inflight_min (main requests in flight when each
 * probe was sent, the smallest value). Exit status 0 even when requests failed: the
 * caller checks the numbers. Usage errors exit 2. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONC 20000

typedef struct conn {
    int fd;
    int probe;                  /* 1: a probe request */
    int sent;                   /* request bytes written */
    double start;
    char head[16];              /* "HTTP/1.1 200" */
    int headlen;
} conn;

static struct sockaddr_in addr;
static char request[512], probe_request[512];

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    if (n == 0) return 0;
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

static int open_conn(conn *c, int probe)
{
    memset(c, 0, sizeof *c);
    c->probe = probe;
    c->start = now_ms();
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) != 0 && errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

/* Progresses one connection. Returns 0 while in flight, 1 when finished (status in
 * *status: the HTTP status, or -1 on a failure). */
static int step(conn *c, short revents, int *status)
{
    const char *req = c->probe ? probe_request : request;
    int len = (int)strlen(req);
    if (revents & POLLOUT && c->sent < len) {
        ssize_t n = send(c->fd, req + c->sent, (size_t)(len - c->sent), MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN) { *status = -1; return 1; }
        if (n > 0) c->sent += (int)n;
    }
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        char buf[8192];
        for (;;) {
            ssize_t n = recv(c->fd, buf, sizeof buf, 0);
            if (n > 0) {
                int take = (int)n < (int)sizeof c->head - 1 - c->headlen ?
                           (int)n : (int)sizeof c->head - 1 - c->headlen;
                memcpy(c->head + c->headlen, buf, (size_t)take);
                c->headlen += take;
                continue;
            }
            if (n == 0) {
                c->head[c->headlen] = 0;
                *status = strncmp(c->head, "HTTP/1.", 7) == 0 ? atoi(c->head + 9) : -1;
                return 1;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            *status = -1;
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 9) {
        fprintf(stderr, "usage: %s HOST PORT PATH CONCURRENCY TOTAL [PROBE_PATH PROBES PROBE_AFTER_MS]\n", argv[0]);
        return 2;
    }
    int conc = atoi(argv[4]), total = atoi(argv[5]);
    int probes = argc == 9 ? atoi(argv[7]) : 0;
    double probe_after = argc == 9 ? atof(argv[8]) : 0;
    if (conc < 1 || conc > MAX_CONC || total < 1 || probes < 0) {
        fprintf(stderr, "http_load: CONCURRENCY must be 1..%d and TOTAL >= 1\n", MAX_CONC);
        return 2;
    }
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
        fprintf(stderr, "http_load: HOST must be an IPv4 address\n");
        return 2;
    }
    snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", argv[3], argv[1]);
    if (probes)
        snprintf(probe_request, sizeof probe_request, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", argv[6], argv[1]);

    conn *conns = calloc((size_t)conc + 1, sizeof *conns);      /* +1: the probe slot */
    struct pollfd *pfd = calloc((size_t)conc + 1, sizeof *pfd);
    double *lat = calloc((size_t)total, sizeof *lat);
    double *plat = calloc((size_t)probes + 1, sizeof *plat);
    if (!conns || !pfd || !lat || !plat) { fprintf(stderr, "http_load: out of memory\n"); return 2; }
    for (int i = 0; i <= conc; i++) conns[i].fd = -1;

    int started = 0, finished = 0, ok = 0, non200 = 0, errors = 0, inflight = 0;
    int probes_done = 0, probe_ok = 0, probe_inflight_min = MAX_CONC;
    double t0 = now_ms();
    while (finished < total || (probes_done < probes && conns[conc].fd >= 0)) {
        for (int i = 0; i < conc && started < total; i++) {
            if (conns[i].fd >= 0) continue;
            started++;
            if (open_conn(&conns[i], 0) != 0) { errors++; finished++; continue; }
            inflight++;
        }
        if (probes_done < probes && conns[conc].fd < 0 && now_ms() - t0 >= probe_after
            && finished < total) {
            if (inflight < probe_inflight_min) probe_inflight_min = inflight;
            if (open_conn(&conns[conc], 1) != 0) probes_done++;
        }
        int n = 0;
        int map[MAX_CONC + 1];
        for (int i = 0; i <= conc; i++) {
            if (conns[i].fd < 0) continue;
            const char *req = conns[i].probe ? probe_request : request;
            pfd[n].fd = conns[i].fd;
            pfd[n].events = POLLIN | (conns[i].sent < (int)strlen(req) ? POLLOUT : 0);
            pfd[n].revents = 0;
            map[n++] = i;
        }
        if (n == 0) break;
        int timeout = probes_done < probes && conns[conc].fd < 0 ? 1 : 1000;
        if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR) { perror("poll"); return 2; }
        for (int k = 0; k < n; k++) {
            if (!pfd[k].revents) continue;
            conn *c = &conns[map[k]];
            int status;
            if (!step(c, pfd[k].revents, &status)) continue;
            close(c->fd);
            c->fd = -1;
            double ms = now_ms() - c->start;
            if (c->probe) {
                plat[probes_done++] = ms;
                probe_ok += status == 200;
                continue;
            }
            inflight--;
            lat[finished++] = ms;
            if (status == 200) ok++;
            else if (status < 0) errors++;
            else non200++;
        }
    }
    double wall = now_ms() - t0;
    qsort(lat, (size_t)finished, sizeof *lat, cmp_double);
    printf("ok=%d\nnon200=%d\nerrors=%d\nwall_ms=%.1f\n", ok, non200, errors, wall);
    printf("p50_ms=%.2f\np90_ms=%.2f\np99_ms=%.2f\nmax_ms=%.2f\n", pct(lat, finished, 0.5),
           pct(lat, finished, 0.9), pct(lat, finished, 0.99), pct(lat, finished, 1.0));
    if (probes) {
        qsort(plat, (size_t)probes_done, sizeof *plat, cmp_double);
        printf("probe_ok=%d\nprobe_p50_ms=%.2f\nprobe_p90_ms=%.2f\nprobe_max_ms=%.2f\n"
               "probe_inflight_min=%d\n", probe_ok, pct(plat, probes_done, 0.5),
               pct(plat, probes_done, 0.9), pct(plat, probes_done, 1.0), probe_inflight_min);
    }
    free(conns); free(pfd); free(lat); free(plat);
    return 0;
}
