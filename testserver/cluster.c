/* cluster.c — the pretend cluster: a list of nodes (this instance among them) that
 * getClusterLiveDataNodes/getClusterPerf report. Only this instance really exists;
 * other entries are whatever the test says (usually other ddbmini processes). */
#include "mini.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One entry: "self", "host:port" or "host:port:alias". */
static int parse_node(const char *s, size_t len, mini_node *nd, int index)
{
    char buf[200];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    memset(nd, 0, sizeof *nd);
    snprintf(nd->alias, sizeof nd->alias, "node%d", index + 1);
    if (!strcmp(buf, "self") || !strncmp(buf, "self:", 5)) {     /* self[:alias] */
        nd->self = 1;
        snprintf(nd->host, sizeof nd->host, "127.0.0.1");
        if (buf[4] == ':') {
            if (!buf[5] || strlen(buf + 5) >= sizeof nd->alias)
                return -1;
            snprintf(nd->alias, sizeof nd->alias, "%s", buf + 5);
        }
        return 0;
    }
    char *c1 = strchr(buf, ':');
    if (!c1 || c1 == buf || (size_t)(c1 - buf) >= sizeof nd->host)
        return -1;
    *c1 = 0;
    char *c2 = strchr(c1 + 1, ':');
    if (c2) {
        *c2 = 0;
        if (!c2[1] || strlen(c2 + 1) >= sizeof nd->alias)
            return -1;
        snprintf(nd->alias, sizeof nd->alias, "%s", c2 + 1);
    }
    char *end;
    long port = strtol(c1 + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return -1;
    snprintf(nd->host, sizeof nd->host, "%.63s", buf);
    nd->port = (int)port;
    return 0;
}

int cluster_parse(const char *spec)
{
    g_mini.nnodes = 0;
    const char *p = spec;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (g_mini.nnodes == MINI_MAX_NODES || parse_node(p, len, &g_mini.nodes[g_mini.nnodes], g_mini.nnodes))
            return -1;
        g_mini.nnodes++;
        p += len + (comma ? 1 : 0);
    }
    return g_mini.nnodes ? 0 : -1;
}

void cluster_set_port(int port)
{
    pthread_mutex_lock(&g_mini.lock);
    g_mini.port = port;
    int have_self = 0;
    for (int i = 0; i < g_mini.nnodes; i++) {
        mini_node *nd = &g_mini.nodes[i];
        if (nd->self)
            nd->port = port;
        else if (nd->port == port && !have_self &&
                 (!strcmp(nd->host, "127.0.0.1") || !strcmp(nd->host, "localhost")))
            nd->self = 1;
        have_self |= nd->self;
    }
    if (!have_self && g_mini.nnodes < MINI_MAX_NODES) {   /* always list ourselves */
        mini_node *nd = &g_mini.nodes[g_mini.nnodes];
        memset(nd, 0, sizeof *nd);
        nd->self = 1;
        nd->port = port;
        snprintf(nd->host, sizeof nd->host, "127.0.0.1");
        snprintf(nd->alias, sizeof nd->alias, "%s", g_mini.nnodes ? "local" : "node1");
        if (g_mini.nnodes)
            snprintf(nd->alias, sizeof nd->alias, "node%d", g_mini.nnodes + 1);
        g_mini.nnodes++;
    }
    pthread_mutex_unlock(&g_mini.lock);
}

int cluster_set_down(const char *hostport, int down)
{
    int rc = -1;
    pthread_mutex_lock(&g_mini.lock);
    for (int i = 0; i < g_mini.nnodes; i++) {
        char hp[128];
        snprintf(hp, sizeof hp, "%s:%d", g_mini.nodes[i].host, g_mini.nodes[i].port);
        if (!strcmp(hp, hostport) || !strcmp(g_mini.nodes[i].alias, hostport)) {
            g_mini.nodes[i].down = down;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&g_mini.lock);
    return rc;
}
