/* ddb_cluster.c — load balancing over a cluster's nodes (loadBalance without a site
 * list). The pool starts on the entry node with one connection; that connection's
 * handshake asks the controller for the cluster's nodes and their load
 * (getClusterPerf, as the official clients do); the data and compute nodes that are
 * up become the pool's site list and the other connections start spread over them,
 * fewest of ours first, then the least loaded node. A failed attempt moves a
 * connection to the node holding fewest of ours, and the next handshake asks again,
 * so a node that went away leaves the list and its connections settle elsewhere.
 * Connections that are up on a listed node are never moved (no churn). */
#include "ddb_pool.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NODES 256

typedef struct node {
    char host[256];
    int port;
    double load;                /* (connectionNum + workerNum + executorNum) / 3 */
} node;

static const ddb_obj *column(const ddb_obj *t, const char *name)
{
    for (int64_t i = 0; i < t->cols; i++)
        if (t->col_names[i] && strcmp(t->col_names[i], name) == 0)
            return t->columns[i];
    return NULL;
}

static int64_t int_or(const ddb_obj *col, int64_t row, int64_t dflt)
{
    if (!col || ddb_type_width(col->type) == 0 || ddb_is_null(col, row))
        return dflt;
    return ddb_int_at(col, row);
}

/* The live data (mode 0) and compute (mode 4) nodes with room for a connection.
 * Returns how many, or -1 when `t` is not such a table. */
static int parse_nodes(const ddb_obj *t, node *out, int cap)
{
    if (!t || t->form != DDB_TABLE)
        return -1;
    const ddb_obj *host = column(t, "host"), *port = column(t, "port");
    if (!host || !port || ddb_type_width(host->type) != 0)
        return -1;
    const ddb_obj *mode = column(t, "mode"), *state = column(t, "state"),
                  *maxc = column(t, "maxConnections"), *conns = column(t, "connectionNum"),
                  *workers = column(t, "workerNum"), *execs = column(t, "executorNum");
    int n = 0;
    for (int64_t r = 0; r < t->rows && n < cap; r++) {
        int64_t m = int_or(mode, r, 0), cn = int_or(conns, r, 0);
        size_t len;
        const char *h = ddb_str_at(host, r, &len);
        int64_t pt = int_or(port, r, 0);
        if ((m != 0 && m != 4) || int_or(state, r, 1) != 1 || !h || len == 0 ||
            len >= sizeof out[0].host || pt <= 0 || pt > 65535)
            continue;
        if (maxc && cn >= int_or(maxc, r, INT64_MAX))
            continue;                           /* full: Python counts it as infinite */
        snprintf(out[n].host, sizeof out[n].host, "%.*s", (int)len, h);
        out[n].port = (int)pt;
        out[n].load = (double)(cn + int_or(workers, r, 0) + int_or(execs, r, 0)) / 3.0;
        n++;
    }
    return n;
}

/* The node a connection is on or heading for, as host:port (NULL: none yet). */
static const char *conn_node(const ddb_pool *p, const ddb_conn *c, int *port)
{
    switch (c->state) {
    case DDB_CONN_CONNECTING: case DDB_CONN_HANDSHAKE: case DDB_CONN_READY: case DDB_CONN_BUSY:
        *port = c->port;
        return c->host[0] ? c->host : NULL;
    default:
        if (!c->host[0])
            return NULL;                        /* never started */
        *port = p->sites[c->site].port;
        return p->sites[c->site].host;
    }
}

static int find_node(const node *nodes, int n, const char *host, int port)
{
    for (int i = 0; host && i < n; i++)
        if (nodes[i].port == port && strcmp(nodes[i].host, host) == 0)
            return i;
    return -1;
}

/* Fewest of our connections first, then the least loaded (nodes may be NULL: the
 * first such); `skip` is never chosen. */
static int least_used(const int *count, const node *nodes, int n, int skip)
{
    int best = -1;
    for (int i = 0; i < n; i++) {
        if (i == skip)
            continue;
        if (best < 0 || count[i] < count[best] ||
            (count[i] == count[best] && nodes && nodes[i].load < nodes[best].load))
            best = i;
    }
    return best;
}

/* Which node each connection goes to: where it is if that node is listed, else the
 * least used one. Fills site[] and count[]. */
static void assign(const ddb_pool *p, const node *nodes, int n, int *site, int *count)
{
    memset(count, 0, (size_t)n * sizeof *count);
    for (int i = 0; i < p->nconns; i++) {
        int port = 0;
        const char *h = conn_node(p, p->conns[i], &port);
        site[i] = find_node(nodes, n, h, port);
        if (site[i] >= 0)
            count[site[i]]++;
    }
    for (int i = 0; i < p->nconns; i++)
        if (site[i] < 0)
            count[site[i] = least_used(count, nodes, n, -1)]++;
}

static int misplaced(const ddb_pool *p, const ddb_conn *c)
{
    const ddb_site_rt *s = &p->sites[c->site];
    return !c->redirected && (c->port != s->port || strcmp(c->host, s->host) != 0);
}

static void log_sites(ddb_pool *p, const int *count)
{
    char list[500];
    size_t k = 0;
    list[0] = 0;
    for (int i = 0; i < p->nsites && k < sizeof list - 1; i++)
        k += (size_t)snprintf(list + k, sizeof list - k, "%s%s:%d (%d)", i ? ", " : "",
                              p->sites[i].host, p->sites[i].port, count[i]);
    ddb_pool_log(p, DDB_LOG_INFO, "load balancing over %d node(s), our connections on "
                 "each: %s", p->nsites, list);
}

/* New site list: every connection gets its node's index, idle ones that must go
 * elsewhere move now (busy ones after their task, handshaking ones once READY). */
static void apply(ddb_pool *p, const node *nodes, int n)
{
    ddb_site_rt *sites = calloc((size_t)n, sizeof *sites);
    int *site = malloc((size_t)(p->nconns ? p->nconns : 1) * sizeof *site);
    int *count = malloc((size_t)n * sizeof *count);
    if (!sites || !site || !count) {
        ddb_pool_log(p, DDB_LOG_WARN, "load balancing: out of memory; the site list is kept");
        free(sites);
        free(site);
        free(count);
        return;
    }
    assign(p, nodes, n, site, count);
    for (int i = 0; i < n; i++) {
        snprintf(sites[i].host, sizeof sites[i].host, "%s", nodes[i].host);
        sites[i].port = nodes[i].port;
    }
    free(p->sites);
    p->sites = sites;
    p->nsites = n;
    for (int i = 0; i < p->nconns; i++) {
        ddb_conn *c = p->conns[i];
        c->site = site[i];
        /* an attempt under way elsewhere: should it fail, the new node is next */
        c->retargeted = (c->state == DDB_CONN_CONNECTING || c->state == DDB_CONN_HANDSHAKE)
                        && misplaced(p, c);
    }
    log_sites(p, count);
    for (int i = 0; i < p->nconns; i++) {
        ddb_conn *c = p->conns[i];
        if (c->state == DDB_CONN_READY && misplaced(p, c))
            ddb_conn_move(c);
    }
    free(site);
    free(count);
}

int ddb_cluster_discover_due(ddb_pool *p)
{
    if (!p->cluster || !p->cluster_due || p->cluster_busy || ddb_pool_is_stopping(p))
        return 0;
    p->cluster_due = 0;
    p->cluster_busy = 1;
    return 1;
}

void ddb_cluster_discovered(ddb_pool *p, ddb_conn *c, const ddb_resp *r)
{
    p->cluster_busy = 0;
    if (!r) {
        p->cluster_due = 1;         /* the connection broke first: the next one asks */
        return;
    }
    node *nodes = malloc(MAX_NODES * sizeof *nodes);
    int n = r->is_error || !nodes ? -1 : parse_nodes(r->obj, nodes, MAX_NODES);
    if (n <= 0)
        ddb_pool_log(p, DDB_LOG_WARN, "load balancing: %s from %s:%d; the pool stays on "
                     "its sites%s%.300s", n == 0 ? "no live data or compute node listed"
                     : "cannot read the cluster's nodes", c->host, c->port,
                     r->is_error ? ": " : "", r->is_error ? r->error : "");
    else
        apply(p, nodes, n);
    free(nodes);
    ddb_pool_start_deferred(p);
}

int ddb_cluster_next_site(ddb_pool *p, int failed)
{
    p->cluster_due = 1;             /* a node failed us: ask which are up now */
    if (p->nsites < 2)
        return 0;
    int count[MAX_NODES] = { 0 };
    int n = p->nsites < MAX_NODES ? p->nsites : MAX_NODES;
    for (int i = 0; i < p->nconns; i++) {
        const ddb_conn *c = p->conns[i];
        if (c->state != DDB_CONN_DEAD && c->state != DDB_CONN_IDLE && c->site < n)
            count[c->site]++;
    }
    if (failed >= 0 && failed < n)
        count[failed]--;            /* the connection asking is leaving it */
    return least_used(count, NULL, n, failed);
}

int ddb_cluster_settle(ddb_pool *p, ddb_conn *c)
{
    if (!misplaced(p, c))
        return 0;
    ddb_conn_move(c);
    return 1;
}
