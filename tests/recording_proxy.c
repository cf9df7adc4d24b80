/* recording_proxy.c — a TCP proxy that writes down what clients send.
 *
 *   recording_proxy LISTEN_PORT TARGET_HOST TARGET_PORT FILE
 *
 * Listens on 127.0.0.1:LISTEN_PORT (0: any free port), prints one line
 * "recording_proxy listening on 127.0.0.1:PORT", and forwards every connection to
 * TARGET_HOST:TARGET_PORT in both directions, appending each byte a client sends
 * (client -> server only) to FILE as it passes. SIGTERM/SIGINT: close everything,
 * flush FILE, exit 0. Tests use it to prove what does or does not cross the wire
 * (test_ddbmini_auth: the password with each login method). One thread, poll(). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PAIRS 64

typedef struct pair {
    int client, server;         /* -1: slot free */
} pair;

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { g_stop = sig; }

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int listen_on(int port, int *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 64) ||
        getsockname(fd, (struct sockaddr *)&a, &len))
        return -1;
    *bound = ntohs(a.sin_port);
    return fd;
}

static int connect_to(const char *host, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 || connect(fd, (struct sockaddr *)&a, sizeof a)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void close_pair(pair *p)
{
    close(p->client);
    close(p->server);
    p->client = p->server = -1;
}

static void accept_one(int listener, pair *pairs, const char *host, int port)
{
    int c = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return;
    int s = connect_to(host, port);
    for (int i = 0; s >= 0 && i < MAX_PAIRS; i++)
        if (pairs[i].client < 0) {
            pairs[i] = (pair){c, s};
            return;
        }
    close(c);                   /* no target, or no free slot: hang up */
    if (s >= 0)
        close(s);
}

/* Moves what `from` has to `to`; records it when it came from the client. */
static int forward(int from, int to, FILE *record)
{
    char buf[64 * 1024];
    ssize_t n = recv(from, buf, sizeof buf, 0);
    if (n <= 0)
        return -1;
    if (record && (fwrite(buf, 1, (size_t)n, record) != (size_t)n || fflush(record)))
        return -1;
    return write_all(to, buf, (size_t)n);
}

static void serve(int listener, const char *host, int port, FILE *record)
{
    pair pairs[MAX_PAIRS];
    for (int i = 0; i < MAX_PAIRS; i++)
        pairs[i].client = pairs[i].server = -1;
    while (!g_stop) {
        struct pollfd pfd[1 + 2 * MAX_PAIRS] = {{.fd = listener, .events = POLLIN}};
        for (int i = 0; i < MAX_PAIRS; i++) {
            pfd[1 + 2 * i] = (struct pollfd){.fd = pairs[i].client, .events = POLLIN};
            pfd[2 + 2 * i] = (struct pollfd){.fd = pairs[i].server, .events = POLLIN};
        }
        if (poll(pfd, 1 + 2 * MAX_PAIRS, 200) <= 0)
            continue;
        if (pfd[0].revents & POLLIN)
            accept_one(listener, pairs, host, port);
        for (int i = 0; i < MAX_PAIRS; i++) {
            if (pairs[i].client < 0)
                continue;
            int bad = 0;
            if (pfd[1 + 2 * i].revents)
                bad = forward(pairs[i].client, pairs[i].server, record);
            if (!bad && pfd[2 + 2 * i].revents)
                bad = forward(pairs[i].server, pairs[i].client, NULL);
            if (bad)
                close_pair(&pairs[i]);
        }
    }
    for (int i = 0; i < MAX_PAIRS; i++)
        if (pairs[i].client >= 0)
            close_pair(&pairs[i]);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: recording_proxy LISTEN_PORT TARGET_HOST TARGET_PORT FILE\n");
        return 2;
    }
    FILE *record = fopen(argv[4], "wb");
    int port = 0, listener = listen_on(atoi(argv[1]), &port);
    if (!record || listener < 0) {
        fprintf(stderr, "recording_proxy: cannot %s: %s\n", record ? "listen" : "open the file", strerror(errno));
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    printf("recording_proxy listening on 127.0.0.1:%d\n", port);
    fflush(stdout);
    serve(listener, argv[2], atoi(argv[3]), record);
    close(listener);
    return fclose(record) ? 1 : 0;
}
