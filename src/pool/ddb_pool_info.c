/* ddb_pool_info.c — pool defaults, state names and read-only inspection (state,
 * error, stats, per-connection state, session ids). */
#include "ddb_pool.h"

#include <stdio.h>
#include <string.h>

void ddb_pool_config_init(ddb_pool_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->port = 8848;
    cfg->thread_num = 10;
    cfg->reconnect = 1;
    cfg->ssl_verify = 1;
    cfg->try_reconnect_nums = -1;
    cfg->reconnect_delay = 0.1;
    cfg->connect_timeout = 10;
    cfg->keepalive_sec = 30;
    cfg->log_level = DDB_LOG_WARN;
    cfg->cancel_on_server = 1;
}

const char *ddb_pool_state_name(int state)
{
    static const char *n[] = { "OPENING", "OPEN", "FAILED", "SHUTDOWN", "CLOSED" };
    return state >= 0 && state <= DDB_POOL_CLOSED ? n[state] : "UNKNOWN";
}

const char *ddb_conn_state_name(int state)
{
    static const char *n[] = { "IDLE", "CONNECTING", "HANDSHAKE", "READY", "BUSY",
                               "BACKOFF", "DEAD", "CLOSING" };
    return state >= 0 && state <= DDB_CONN_CLOSING ? n[state] : "UNKNOWN";
}

int ddb_pool_state(const ddb_pool *p) { return p->state; }

const char *ddb_pool_error(const ddb_pool *p) { return p->error; }

void ddb_pool_get_stats(const ddb_pool *p, ddb_pool_stats *out)
{
    memset(out, 0, sizeof *out);
    out->queued = p->nqueued;
    out->running = p->nrunning;
    out->done = p->ndone;
    out->failed = p->nfailed;
    out->cancelled = p->ncancelled;
    out->abandoned = p->nabandoned;
    out->conns = p->nconns;
    for (int i = 0; i < p->nconns; i++) {
        out->conns_ready += p->conns[i]->state == DDB_CONN_READY;
        out->conns_busy += p->conns[i]->state == DDB_CONN_BUSY;
    }
}

int ddb_pool_conn_count(const ddb_pool *p)
{
    return p->nconns;
}

int ddb_pool_conn_info(const ddb_pool *p, int i, ddb_conn_info *out)
{
    if (i < 0 || i >= p->nconns)
        return DDB_EINVAL;
    const ddb_conn *c = p->conns[i];
    memset(out, 0, sizeof *out);
    out->state = c->state;
    snprintf(out->host, sizeof out->host, "%s", c->host);
    out->port = c->port;
    snprintf(out->session_id, sizeof out->session_id, "%s", c->session_id);
    out->tasks_run = c->tasks_run;
    out->reconnects = c->reconnects;
    snprintf(out->last_error, sizeof out->last_error, "%.255s", c->last_error);
    return DDB_OK;
}

const char *ddb_pool_session_id(const ddb_pool *p, int i)
{
    return i >= 0 && i < p->nconns ? p->conns[i]->session_id : "";
}
