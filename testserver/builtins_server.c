/* builtins_server.c — built-ins about the server itself: login/logout, session
 * introspection, console jobs, the pretend cluster and the fault switches. */
#include "eval.h"
#include "values.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small table builder ---- */

typedef struct tbl {
    ddb_obj *t;
    int ncols;
} tbl;

static int tbl_init(tbl *b, int ncols, const char *const *names, const int *types)
{
    b->ncols = ncols;
    b->t = ddb_table_new(0, ncols);
    if (!b->t)
        return -1;
    for (int i = 0; i < ncols; i++) {
        free(b->t->col_names[i]);
        b->t->col_names[i] = strdup(names[i]);
        b->t->columns[i] = ddb_vector_new(types[i], 0);
        if (!b->t->col_names[i] || !b->t->columns[i])
            return -1;
    }
    return 0;
}

static int tbl_str(tbl *b, int col, const char *s)
{
    return ddb_varlen_append(b->t->columns[col], s, strlen(s));
}

static int tbl_int(tbl *b, int col, int64_t v)
{
    ddb_obj *c = b->t->columns[col];
    char cell[8];
    int w = ddb_type_width(c->type);
    if (w == 4) {
        int32_t x = (int32_t)v;
        memcpy(cell, &x, 4);
    } else
        memcpy(cell, &v, 8);
    return ddb_fixed_append(c, cell);
}

static int tbl_done(eval_ctx *ctx, tbl *b, int failed, ddb_obj **out)
{
    if (failed || !b->t) {
        ddb_obj_unref(b->t);
        return ctx_oom(ctx);
    }
    b->t->rows = b->t->columns[0]->rows;
    *out = b->t;
    return 0;
}

static int text_arg(eval_ctx *ctx, const ddb_obj *o, const char *fn, char *buf, size_t len)
{
    char cb[2];
    const char *s = obj_text(o, cb);
    if (!s)
        return ctx_error(ctx, "The arguments of %s must be strings", fn);
    snprintf(buf, len, "%s", s);
    return 0;
}

static int bool_arg(eval_ctx *ctx, const ddb_obj *o, const char *fn, int *v)
{
    int t = obj_truth(o);
    if (t < 0)
        return ctx_error(ctx, "The argument of %s must be a non-null boolean", fn);
    *v = t;
    return 0;
}

static int int_arg(eval_ctx *ctx, const ddb_obj *o, const char *fn, int64_t *v)
{
    int isnull;
    if (o->form != DDB_SCALAR || !type_is_integer(o->type) || ((*v = cell_i64(o, 0, &isnull)), isnull))
        return ctx_error(ctx, "The argument of %s must be an integer", fn);
    return 0;
}

/* ---- login ---- */

static int bi_login(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    char user[64], pwd[64];
    if (n == 3 && obj_truth(a[2]) == 1)
        return auth_encrypted_login(ctx, a[0], a[1]);
    if (!auth_plain_allowed())
        return ctx_error(ctx, AUTH_PLAIN_OFF);
    if (text_arg(ctx, a[0], "login", user, sizeof user) || text_arg(ctx, a[1], "login", pwd, sizeof pwd))
        return -1;
    int admin;
    if (!mini_check_login(user, pwd, &admin))
        return ctx_error(ctx, "The user name or password is incorrect.");
    snprintf(ctx->sess->user, sizeof ctx->sess->user, "%s", user);
    ctx->sess->is_admin = admin;
    return 0;
}

static int bi_logout(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    ctx->sess->user[0] = 0;
    ctx->sess->is_admin = 0;
    return 0;
}

/* objs(): the session's variables. */
static int bi_objs(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    static const char *const names[] = {"name", "type", "form", "rows", "columns"};
    static const int types[] = {DDB_STRING, DDB_STRING, DDB_STRING, DDB_LONG, DDB_LONG};
    tbl b;
    int bad = tbl_init(&b, 5, names, types);
    var_list *vars = &ctx->sess->vars;
    for (int i = 0; !bad && i < vars->n; i++) {
        const ddb_obj *v = vars->v[i].value;
        bad = tbl_str(&b, 0, vars->v[i].name) || tbl_str(&b, 1, ddb_type_name(v->type)) ||
              tbl_str(&b, 2, ddb_form_name(v->form)) || tbl_int(&b, 3, v->rows) ||
              tbl_int(&b, 4, v->cols);
    }
    return tbl_done(ctx, &b, bad, out);
}

static int bi_session_memory(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    static const char *const names[] = {"userId", "sessionId", "variables"};
    static const int types[] = {DDB_STRING, DDB_LONG, DDB_LONG};
    tbl b;
    int bad = tbl_init(&b, 3, names, types) || tbl_str(&b, 0, ctx->sess->user) ||
              tbl_int(&b, 1, ctx->sess->id) || tbl_int(&b, 2, ctx->sess->vars.n);
    return tbl_done(ctx, &b, bad, out);
}

/* compressedColumnsReceived() -> LONG [lz4, delta]: compressed vectors (docs/PROTOCOL.md
 * §4.18) decoded from requests since the server started. A ddbmini function: it shows
 * the specs that a client really sent compressed columns. */
static int bi_compressed_in(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    (void)a; (void)n; (void)l;
    ddb_obj *v = ddb_vector_new(DDB_LONG, 2);
    if (!v) return ctx_oom(ctx);
    pthread_mutex_lock(&g_mini.lock);
    ((int64_t *)v->data)[0] = g_mini.compressed_in[1];
    ((int64_t *)v->data)[1] = g_mini.compressed_in[2];
    pthread_mutex_unlock(&g_mini.lock);
    *out = v;
    return 0;
}

/* ---- console jobs ---- */

static int bi_get_jobs(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    static const char *const names[] = {"node", "userID", "sessionId", "rootJobId", "jobId",
                                        "jobType", "desc", "priority", "parallelism", "receiveTime"};
    static const int types[] = {DDB_STRING, DDB_STRING, DDB_LONG, DDB_STRING, DDB_STRING, DDB_STRING,
                                DDB_STRING, DDB_INT, DDB_INT, DDB_TIMESTAMP};
    tbl b;
    int bad = tbl_init(&b, 10, names, types);
    pthread_mutex_lock(&g_mini.lock);
    const char *alias = "local";
    for (int i = 0; i < g_mini.nnodes; i++)
        if (g_mini.nodes[i].self)
            alias = g_mini.nodes[i].alias;
    for (int i = 0; !bad && i < MINI_MAX_JOBS; i++) {
        mini_job *j = &g_mini.jobs[i];
        if (!j->used)
            continue;
        char id[32];
        snprintf(id, sizeof id, "%lld", (long long)j->job_id);
        bad = tbl_str(&b, 0, alias) || tbl_str(&b, 1, j->user) || tbl_int(&b, 2, j->session_id) ||
              tbl_str(&b, 3, id) || tbl_str(&b, 4, id) || tbl_str(&b, 5, "script") ||
              tbl_str(&b, 6, j->desc) || tbl_int(&b, 7, j->priority) ||
              tbl_int(&b, 8, j->parallelism) || tbl_int(&b, 9, j->receive_ms);
    }
    pthread_mutex_unlock(&g_mini.lock);
    return tbl_done(ctx, &b, bad, out);
}

/* cancelConsoleJob(jobIds): ids as strings or integers, scalar or vector. */
static int bi_cancel_job(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    const ddb_obj *ids = a[0];
    if (ids->form != DDB_SCALAR && !obj_is_vectorlike(ids))
        return ctx_error(ctx, "The argument of cancelConsoleJob must be job ids");
    for (int64_t k = 0; k < obj_len(ids); k++) {
        int64_t id;
        int isnull = 0;
        if (type_is_text(ids->type))
            id = strtoll(ddb_str_at(ids, k, NULL), NULL, 10);
        else if (type_is_integer(ids->type))
            id = cell_i64(ids, k, &isnull);
        else
            return ctx_error(ctx, "The argument of cancelConsoleJob must be job ids");
        if (isnull)
            continue;
        pthread_mutex_lock(&g_mini.lock);
        for (int i = 0; i < MINI_MAX_JOBS; i++)
            if (g_mini.jobs[i].used && g_mini.jobs[i].job_id == id)
                g_mini.jobs[i].cancelled = 1;
        pthread_mutex_unlock(&g_mini.lock);
    }
    return 0;
}

/* ---- cluster ---- */

static int bi_live_nodes(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    int alias_only = 1;
    if (n == 1 && bool_arg(ctx, a[0], "getClusterLiveDataNodes", &alias_only))
        return -1;
    ddb_obj *v = ddb_vector_new(DDB_STRING, 0);
    int bad = !v;
    pthread_mutex_lock(&g_mini.lock);
    for (int i = 0; !bad && i < g_mini.nnodes; i++) {
        mini_node *nd = &g_mini.nodes[i];
        if (nd->down)
            continue;
        char buf[200];
        if (alias_only)
            snprintf(buf, sizeof buf, "%s", nd->alias);
        else
            snprintf(buf, sizeof buf, "%s:%d:%s", nd->host, nd->port, nd->alias);
        bad = ddb_varlen_append(v, buf, strlen(buf));
    }
    pthread_mutex_unlock(&g_mini.lock);
    if (bad) {
        ddb_obj_unref(v);
        return ctx_oom(ctx);
    }
    *out = v;
    return 0;
}

static int bi_cluster_perf(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    static const char *const names[] = {"name", "host", "port", "site", "mode", "state",
                                        "maxConnections", "connectionNum", "workerNum",
                                        "executorNum", "jobLoad"};
    static const int types[] = {DDB_STRING, DDB_STRING, DDB_INT, DDB_STRING, DDB_INT, DDB_BOOL,
                                DDB_INT, DDB_INT, DDB_INT, DDB_INT, DDB_INT};
    tbl b;
    int bad = tbl_init(&b, 11, names, types);
    pthread_mutex_lock(&g_mini.lock);
    for (int i = 0; !bad && i < g_mini.nnodes; i++) {
        mini_node *nd = &g_mini.nodes[i];
        if (nd->down)
            continue;
        int jobs = 0;
        for (int k = 0; nd->self && k < MINI_MAX_JOBS; k++)
            jobs += g_mini.jobs[k].used;
        char site[200];
        snprintf(site, sizeof site, "%s:%d:%s", nd->host, nd->port, nd->alias);
        uint8_t state = 1;
        bad = tbl_str(&b, 0, nd->alias) || tbl_str(&b, 1, nd->host) || tbl_int(&b, 2, nd->port) ||
              tbl_str(&b, 3, site) || tbl_int(&b, 4, 0) ||
              ddb_fixed_append(b.t->columns[5], &state) || tbl_int(&b, 6, 1024) ||
              tbl_int(&b, 7, nd->self ? g_mini.connections : 0) || tbl_int(&b, 8, 4) ||
              tbl_int(&b, 9, 4) || tbl_int(&b, 10, jobs);
    }
    pthread_mutex_unlock(&g_mini.lock);
    return tbl_done(ctx, &b, bad, out);
}

static int bi_controller_alias(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    pthread_mutex_lock(&g_mini.lock);
    *out = ddb_string_new(DDB_STRING, g_mini.controller_alias, strlen(g_mini.controller_alias));
    pthread_mutex_unlock(&g_mini.lock);
    return *out ? 0 : ctx_oom(ctx);
}

static int bi_node_alias(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    pthread_mutex_lock(&g_mini.lock);
    const char *alias = "local";
    for (int i = 0; i < g_mini.nnodes; i++)
        if (g_mini.nodes[i].self)
            alias = g_mini.nodes[i].alias;
    *out = ddb_string_new(DDB_STRING, alias, strlen(alias));
    pthread_mutex_unlock(&g_mini.lock);
    return *out ? 0 : ctx_oom(ctx);
}

/* ---- fault switches (admin only; see --help) ---- */

static int arm(eval_ctx *ctx, ddb_obj **a, int n, const char *fn, mini_fault *f, int allow_negative)
{
    int64_t param;
    int once = 1;
    if (int_arg(ctx, a[0], fn, &param) || (n == 2 && bool_arg(ctx, a[1], fn, &once)))
        return -1;
    if (param < 0 && !allow_negative)
        return ctx_error(ctx, "The argument of %s must be non-negative", fn);
    pthread_mutex_lock(&g_mini.lock);
    f->armed = 1;
    f->param = param;
    f->once = once;
    pthread_mutex_unlock(&g_mini.lock);
    return 0;
}

static int bi_fault_drop(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o)
{ return arm(c, a, n, "faultDropAfter", &g_mini.faults.drop, 0); }
static int bi_fault_stall(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o)
{ return arm(c, a, n, "faultStall", &g_mini.faults.stall, 1); }
static int bi_fault_garbage(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o)
{ return arm(c, a, n, "faultGarbage", &g_mini.faults.garbage, 0); }

static int bi_fault_accept_delay(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    int64_t ms;
    if (int_arg(ctx, a[0], "faultAcceptDelay", &ms))
        return -1;
    pthread_mutex_lock(&g_mini.lock);
    g_mini.faults.accept_delay_ms = ms < 0 ? 0 : ms;
    pthread_mutex_unlock(&g_mini.lock);
    return 0;
}

static int bi_fault_refuse(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    int on = 0;
    if (bool_arg(ctx, a[0], "faultRefuse", &on))
        return -1;
    pthread_mutex_lock(&g_mini.lock);
    g_mini.faults.refuse = on;
    pthread_mutex_unlock(&g_mini.lock);
    return 0;
}

static int bi_fault_reject_login(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    int on = 0;
    if (bool_arg(ctx, a[0], "faultRejectLogin", &on))
        return -1;
    pthread_mutex_lock(&g_mini.lock);
    g_mini.faults.reject_login = on;
    pthread_mutex_unlock(&g_mini.lock);
    return 0;
}

static int bi_fault_not_leader(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    char target[128];
    if (text_arg(ctx, a[0], "faultNotLeader", target, sizeof target))
        return -1;
    pthread_mutex_lock(&g_mini.lock);
    snprintf(g_mini.faults.not_leader, sizeof g_mini.faults.not_leader, "%s", target);
    pthread_mutex_unlock(&g_mini.lock);
    return 0;
}

static int bi_fault_node_down(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    char node[128];
    int down = 1;
    if (text_arg(ctx, a[0], "faultNodeDown", node, sizeof node) ||
        (n == 2 && bool_arg(ctx, a[1], "faultNodeDown", &down)))
        return -1;
    if (cluster_set_down(node, down))
        return ctx_error(ctx, "Unknown node %s (use host:port or an alias from --cluster)", node);
    return 0;
}

static int bi_fault_reset(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    pthread_mutex_lock(&g_mini.lock);
    memset(&g_mini.faults, 0, sizeof g_mini.faults);
    for (int i = 0; i < g_mini.nnodes; i++)
        g_mini.nodes[i].down = 0;
    pthread_mutex_unlock(&g_mini.lock);
    return 0;
}

#define FAULT (BI_ADMIN | BI_CONTROL)
const builtin builtins_server[] = {
    {"login", 2, 3, BI_NO_LOGIN | BI_QUICK, bi_login},
    {"logout", 0, 0, BI_NO_LOGIN | BI_QUICK, bi_logout},
    /* auth.c; the key pair is made on the first call, so not quick */
    {"getDynamicPublicKey", 0, 0, BI_NO_LOGIN, auth_bi_public_key},
    {"scramClientFirst", 2, 2, BI_NO_LOGIN | BI_QUICK, auth_bi_scram_first},
    {"scramClientFinal", 3, 3, BI_NO_LOGIN | BI_QUICK, auth_bi_scram_final},
    {"objs", 0, 1, 0, bi_objs},
    {"getSessionMemoryStat", 0, 0, 0, bi_session_memory},
    {"compressedColumnsReceived", 0, 0, BI_QUICK, bi_compressed_in},
    {"getConsoleJobs", 0, 0, BI_QUICK, bi_get_jobs},
    {"cancelConsoleJob", 1, 1, BI_QUICK, bi_cancel_job},
    {"getClusterLiveDataNodes", 0, 1, BI_QUICK, bi_live_nodes},
    {"getClusterPerf", 0, 1, BI_QUICK, bi_cluster_perf},
    {"getControllerAlias", 0, 0, BI_QUICK, bi_controller_alias},
    {"getNodeAlias", 0, 0, BI_QUICK, bi_node_alias},
    {"faultDropAfter", 1, 2, FAULT | BI_QUICK, bi_fault_drop},
    {"faultStall", 1, 2, FAULT | BI_QUICK, bi_fault_stall},
    {"faultGarbage", 1, 2, FAULT | BI_QUICK, bi_fault_garbage},
    {"faultAcceptDelay", 1, 1, FAULT | BI_QUICK, bi_fault_accept_delay},
    {"faultRefuse", 1, 1, FAULT | BI_QUICK, bi_fault_refuse},
    {"faultNotLeader", 1, 1, FAULT | BI_QUICK, bi_fault_not_leader},
    {"faultNodeDown", 1, 2, FAULT | BI_QUICK, bi_fault_node_down},
    {"faultRejectLogin", 1, 1, FAULT | BI_QUICK, bi_fault_reject_login},
    {"faultReset", 0, 0, FAULT | BI_QUICK, bi_fault_reset},
    {NULL, 0, 0, 0, NULL}};
