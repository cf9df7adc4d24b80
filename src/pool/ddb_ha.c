/* ddb_ha.c — the site list (entry node + HA / load-balance sites), how connections
 * are spread over it, and the HA client id. */
#include "ddb_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static int add_site(ddb_pool *p, const char *host, int port, char *err, size_t errlen)
{
    if (!host || !host[0] || strlen(host) >= sizeof p->sites[0].host) {
        snprintf(err, errlen, "invalid host name '%s'", host ? host : "(null)");
        return -1;
    }
    if (port <= 0 || port > 65535) {
        snprintf(err, errlen, "invalid port %d for host %s", port, host);
        return -1;
    }
    for (int i = 0; i < p->nsites; i++)
        if (p->sites[i].port == port && strcmp(p->sites[i].host, host) == 0)
            return 0;           /* listed twice: keep one so the spread stays even */
    snprintf(p->sites[p->nsites].host, sizeof p->sites[0].host, "%s", host);
    p->sites[p->nsites].port = port;
    p->nsites++;
    return 0;
}

int ddb_ha_build_sites(ddb_pool *p, const ddb_pool_config *cfg, char *err, size_t errlen)
{
    int n = (cfg->host ? 1 : 0) + (cfg->nsites > 0 ? cfg->nsites : 0);
    if (n == 0) {
        snprintf(err, errlen, "no host given (set host/port or sites)");
        return -1;
    }
    if (cfg->nsites > 0 && !cfg->sites) {
        snprintf(err, errlen, "nsites is %d but sites is NULL", cfg->nsites);
        return -1;
    }
    p->sites = calloc((size_t)n, sizeof *p->sites);
    if (!p->sites) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (cfg->host && add_site(p, cfg->host, cfg->port, err, errlen))
        return -1;
    for (int i = 0; i < cfg->nsites; i++)
        if (add_site(p, cfg->sites[i].host, cfg->sites[i].port, err, errlen))
            return -1;
    return 0;
}

/* Connection i starts on site i mod n: connections are spread round-robin over
 * every listed node instead of all landing on the least-loaded one at once. */
int ddb_ha_initial_site(const ddb_pool *p, int conn_index)
{
    return p->nsites > 1 ? conn_index % p->nsites : 0;
}

/* After a failed attempt try the next site (the dead node is left for the others). */
int ddb_pool_next_site(ddb_pool *p, int site)
{
    if (p->cluster)
        return ddb_cluster_next_site(p, site);
    return p->nsites > 1 ? (site + 1) % p->nsites : 0;
}

/* A random UUID (version 4 layout) as the HA clientId; no '_' so it fits the
 * behavior string. */
void ddb_ha_client_id(char *out, size_t outlen)
{
    unsigned char r[16];
    if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        /* no entropy yet (early boot): unique enough for a client id */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        for (int i = 0; i < 16; i++)
            r[i] = (unsigned char)(t >> ((i % 8) * 8)) ^ (unsigned char)(i * 37);
    }
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(out, outlen,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
             r[12], r[13], r[14], r[15]);
}
