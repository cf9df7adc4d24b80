/* ddb_pool_new.c — making a pool and freeing it: the configuration checked and
 * copied (the pool owns its strings), the settings every connection reads, the pool's
 * own handles (pump, sweep, grace), its connections created and started; and the
 * memory all that holds, released once the pool is CLOSED (ddb_pool_shutdown.c). */
#include "ddb_pool.h"
#include "ddb_auth.h"
#include "ddb_pin.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR(...) do { if (err && errlen) snprintf(err, errlen, __VA_ARGS__); } while (0)

static void fill_conn_settings(ddb_pool *p)
{
    ddb_conn_settings *s = &p->conn_set;
    s->nready = &p->nready;
    s->host = p->host;
    s->host_ud = p->host_ud;
    s->userid = p->userid;
    s->password = p->password;
    s->initial_script = p->initial_script;
    s->login_in_connect = p->cfg.login_in_connect;
    s->login_method = p->cfg.login_method;
    s->tls = p->cfg.enable_ssl ? &p->tls : NULL;
    s->compress = p->cfg.compress;
    s->high_availability = p->cfg.high_availability;
    s->reconnect = p->cfg.reconnect;
    s->keepalive_sec = p->cfg.keepalive_sec;
    s->connect_timeout = p->cfg.connect_timeout;
    s->max_result_bytes = p->cfg.max_result_bytes;
    s->log_min = p->cfg.on_log ? p->cfg.log_level : DDB_LOG_OFF;
    s->cancel_on_server = p->cfg.cancel_on_server;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void free_strings(ddb_pool *p)
{
    free(p->userid);
    if (p->password)            /* kept for every (re)connect's login until now */
        ddb_wipe(p->password, strlen(p->password));
    free(p->password);
    free(p->initial_script);
    free(p->ssl_ca_file);
    free(p->ssl_server_name);
}

static int validate(const ddb_pool_config *cfg, char *err, size_t errlen)
{
    if (!cfg) {
        ERR("config is NULL");
        return -1;
    }
    if (cfg->thread_num < 1 || cfg->thread_num > 4096) {
        ERR("threadNum %d out of range 1..4096", cfg->thread_num);
        return -1;
    }
    /* Upper bound: seconds become uint64 milliseconds; a year is plenty and keeps
     * every conversion defined. NaN fails every comparison. */
    if (!(cfg->connect_timeout > 0 && cfg->connect_timeout <= DDB_MAX_SECONDS) ||
        !(cfg->reconnect_delay >= 0 && cfg->reconnect_delay <= DDB_MAX_SECONDS) ||
        !(cfg->task_timeout >= 0 && cfg->task_timeout <= DDB_MAX_SECONDS) ||
        !(cfg->shutdown_grace >= 0 && cfg->shutdown_grace <= DDB_MAX_SECONDS)) {
        ERR("timeouts must be within 0..%g s (connect_timeout > 0)", DDB_MAX_SECONDS);
        return -1;
    }
    if (cfg->max_result_bytes < 0) {
        ERR("max_result_bytes must be >= 0");
        return -1;
    }
    if (cfg->queue_limit < 0 || cfg->keepalive_sec < 0 || cfg->try_reconnect_nums < -1 ||
        cfg->try_reconnect_nums == 0) {
        ERR("queue_limit and keepalive_sec must be >= 0, tryReconnectNums -1 or >= 1");
        return -1;
    }
    if (cfg->userid && cfg->userid[0] && cfg->login_in_connect &&
        (strchr(cfg->userid, '\n') || (cfg->password && strchr(cfg->password, '\n')))) {
        ERR("user name or password contains a line feed");
        return -1;
    }
    if (cfg->log_level < DDB_LOG_DEBUG || cfg->log_level > DDB_LOG_OFF) {
        ERR("log_level must be one of DDB_LOG_DEBUG .. DDB_LOG_OFF");
        return -1;
    }
    if (cfg->login_method < DDB_LOGIN_AUTO || cfg->login_method > DDB_LOGIN_PLAIN) {
        ERR("login_method must be one of DDB_LOGIN_AUTO, _SCRAM, _ENCRYPTED, _PLAIN");
        return -1;
    }
    return 0;
}

static int init_handles(ddb_pool *p)
{
    const ddb_host_vt *h = p->host;
    p->pump = h->pump_new(p->host_ud, ddb_pool_pump_cb, p);
    p->sweep = h->timer_new(p->host_ud, ddb_pool_sweep_cb, p);
    p->grace = h->timer_new(p->host_ud, ddb_pool_grace_cb, p);
    if (p->pump && p->sweep && p->grace) {
        p->live += 3;
        return 0;
    }
    /* released without a report: the pool's memory goes away before the host lets go */
    ddb_host_handle *made[3] = { p->pump, p->sweep, p->grace };
    for (int i = 0; i < 3; i++)
        if (made[i])
            h->close(made[i], NULL);
    return -1;
}

int ddb_ignore_sigpipe(void)
{
    /* libuv writes to sockets with write()/writev(), which raise SIGPIPE on a
     * connection the peer reset (a socket in CLOSE_WAIT that then got an RST fails
     * the next write with EPIPE). The default action kills the process, so, as
     * network runtimes do, turn the default into "ignore"; a handler or an explicit
     * choice of the application is left alone. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) != 0)
        return -1;
    if ((sa.sa_flags & SA_SIGINFO) || sa.sa_handler != SIG_DFL)
        return 0;
    sa.sa_handler = SIG_IGN;
    sa.sa_flags = 0;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGPIPE, &sa, NULL) == 0 ? 1 : -1;
}

ddb_pool *ddb_pool_new(struct uv_loop_s *loop, const ddb_pool_config *cfg, char *err,
                       size_t errlen)
{
    if (!loop) {
        ERR("loop is NULL");
        return NULL;
    }
    return ddb_pool_new_host(&ddb_uv_host, loop, cfg, err, errlen);
}

ddb_pool *ddb_pool_new_host(const ddb_host_vt *host, void *host_ud,
                            const ddb_pool_config *cfg, char *err, size_t errlen)
{
    if (validate(cfg, err, errlen))
        return NULL;
    ddb_ignore_sigpipe();
    ddb_pool *p = calloc(1, sizeof *p);
    if (!p) {
        ERR("out of memory");
        return NULL;
    }
    p->host = host;
    p->host_ud = host_ud;
    p->cfg = *cfg;
    if (cfg->open_lazily)
        p->cfg.reconnect = 1;       /* healing is reconnecting */
    p->userid = dup_or_null(cfg->userid);
    p->password = strdup(cfg->password ? cfg->password : "");
    p->initial_script = dup_or_null(cfg->initial_script);
    p->ssl_ca_file = dup_or_null(cfg->ssl_ca_file);
    p->ssl_server_name = dup_or_null(cfg->ssl_server_name);
    p->tls = (ddb_tls_opts){ .verify = cfg->ssl_verify, .ca_file = p->ssl_ca_file,
                             .server_name = p->ssl_server_name };
    p->cfg.ssl_ca_file = p->cfg.ssl_server_name = NULL;
    p->cfg.host = NULL;
    p->cfg.sites = NULL;
    p->next_auto_id = -1;
    if (ddb_ha_build_sites(p, cfg, err, errlen)) {
        free_strings(p);
        free(p->sites);
        free(p);
        return NULL;
    }
    /* From here on, failures are reported through the normal shutdown path so the
     * handles already opened are closed properly. */
    int n = cfg->thread_num;
    p->conns = calloc((size_t)n, sizeof *p->conns);
    if (!p->conns || init_handles(p)) {
        /* idle/timer init only fails on a broken loop; nothing is open yet */
        ERR("cannot initialise the pool's timers");
        free(p->conns);
        free_strings(p);
        free(p->sites);
        free(p);
        return NULL;
    }
    p->state = DDB_POOL_OPENING;
    fill_conn_settings(p);
    /* The caller may not have run the loop for a while: timers started from a stale
     * clock would fire at once ("connect timed out" after 0 s). */
    p->host->update_time(p->host_ud);
    for (int i = 0; i < n; i++) {
        ddb_conn *c = malloc(sizeof *c);
        if (!c || ddb_conn_init(c, &ddb_pool_conn_events, p, &p->conn_set, i,
                                ddb_ha_initial_site(p, i))) {
            free(c);
            ERR("cannot initialise connection %d", i);
            p->freed = 1;
            ddb_pool_set_state(p, DDB_POOL_FAILED);
            ddb_pool_start_shutdown(p);
            return NULL;
        }
        p->conns[p->nconns++] = c;
    }
    p->open_pending = n;
    if (cfg->open_lazily)
        ddb_pool_set_state(p, DDB_POOL_OPEN);   /* tasks queue until a connection is READY */
    /* loadBalance without sites: connection 0 asks for the cluster's nodes first,
     * the others start once they are known (ddb_cluster.c) */
    p->cluster = p->cluster_due = cfg->load_balance && cfg->nsites <= 0;
    p->deferred = p->cluster && n > 1;
    for (int i = 0; i < (p->deferred ? 1 : n); i++)    /* concurrently */
        ddb_conn_start(p->conns[i], ddb_pool_attempt_budget(p, 1));
    return p;
}

void ddb_pool_start_deferred(ddb_pool *p)
{
    if (!p->deferred)
        return;
    p->deferred = 0;
    if (ddb_pool_is_stopping(p))
        return;
    for (int i = 1; i < p->nconns; i++)
        ddb_conn_start(p->conns[i], ddb_pool_attempt_budget(p, 1));
}

void ddb_pool_on_state(ddb_pool *p, ddb_state_cb cb, void *ud)
{
    p->on_state = cb;
    p->state_ud = ud;
}

void ddb_pool_free(ddb_pool *p)
{
    if (!p)
        return;
    if (p->state != DDB_POOL_CLOSED) {
        p->freed = 1;           /* finish closing; the last close callback frees */
        if (!ddb_pool_is_stopping(p)) {
            ddb_pool_set_state(p, DDB_POOL_SHUTDOWN);
            ddb_pool_start_shutdown(p);
        }
        return;
    }
    ddb_pool_deliver(p);
    ddb_pool_ids_free(p);
    ddb_pin_free(p);
    for (int i = 0; i < p->nconns; i++)
        ddb_conn_free(p->conns[i]);
    free(p->conns);
    free(p->sites);
    free_strings(p);
    free(p);
}
