/* request.c — parsing a request's header line and body (docs/PROTOCOL.md §1.2-1.3, §3)
 * and executing it against the session (runs on a pool thread). */
#include "server.h"
#include "eval.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A decimal integer filling the whole field, as strtoll accepts it (leading white
 * space, a sign; overflow is an error). By hand: strtoll cost a thousand
 * instructions per request header, a tenth of a `1+1` request. */
static int parse_i64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    while (i < len && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')))
        i++;
    int neg = i < len && s[i] == '-';
    if (i < len && (s[i] == '-' || s[i] == '+'))
        i++;
    if (i == len || len >= 32)
        return -1;
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    size_t safe = len - i > 18 ? i + 18 : len;      /* 18 digits cannot overflow */
    for (; i < safe; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9)
            return -1;
        v = v * 10 + d;
    }
    for (; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9 || __builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, d, &v))
            return -1;
    }
    if (v > limit)
        return -1;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* flag_cancellable_priority_parallelism_rootId_fetchSize_offset_clientId_seqNo;
 * empty or missing fields keep their defaults, extra fields are ignored. */
static int parse_behavior(behavior *b, const char *s, size_t len, char *err, size_t errlen)
{
    size_t start = 0;
    for (int field = 0; start <= len; field++) {
        size_t end = start;
        while (end < len && s[end] != '_')
            end++;
        const char *f = s + start;
        size_t flen = end - start;
        int64_t v = 0;
        if (flen && field != 7 && field <= 8 && parse_i64(f, flen, &v)) {
            snprintf(err, errlen, "Invalid behavior field %d: %.*s", field + 1, (int)flen, f);
            return -1;
        }
        if (flen) {
            switch (field) {
            case 0: b->flag = v; break;
            case 2: b->priority = (int)v; if (v < 0 || v > 8) goto bad_priority; break;
            case 3: b->parallelism = (int)v; if (v < 1 || v > 64) goto bad_parallelism; break;
            case 5: b->fetch_size = v; break;
            case 7:
                if (flen >= sizeof b->client_id) {
                    snprintf(err, errlen, "The clientId is too long");
                    return -1;
                }
                memcpy(b->client_id, f, flen);
                b->client_id[flen] = 0;
                break;
            case 8: b->seq_no = v; break;
            }
        }
        start = end + 1;
    }
    return 0;
bad_priority:
    snprintf(err, errlen, "The priority must be between 0 and 8");
    return -1;
bad_parallelism:
    snprintf(err, errlen, "The parallelism must be between 1 and 64");
    return -1;
}

/* `API|API2 SP sid SP len [SP / SP behavior]` split on single spaces. A malformed
 * line is a framing error (-1: close). A bad behavior string is answered with an
 * error line (r->error) since the request itself can still be read. */
int request_parse_header(request *r, const char *line, size_t len, size_t *body_len,
                         char *err, size_t errlen)
{
    const char *tok[6];
    size_t tlen[6];
    int n = 0;
    for (const char *p = line, *end = line + len;;) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        if (n == 6) {
            snprintf(err, errlen, "too many fields in the request header");
            return -1;
        }
        tok[n] = p;
        tlen[n++] = (size_t)((sp ? sp : end) - p);
        if (!sp)
            break;
        p = sp + 1;
    }
    memset(r, 0, sizeof *r);
    r->b.priority = 4;
    r->b.parallelism = 64;
    if (n < 3 || !(n == 3 || n == 5)) {
        snprintf(err, errlen, "bad request header");
        return -1;
    }
    if (tlen[0] == 4 && !memcmp(tok[0], "API2", 4))
        r->api2 = 1;
    else if (!(tlen[0] == 3 && !memcmp(tok[0], "API", 3))) {
        snprintf(err, errlen, "unknown request kind %.*s", (int)(tlen[0] > 16 ? 16 : tlen[0]), tok[0]);
        return -1;
    }
    int64_t sid, blen;
    if (tlen[1] && parse_i64(tok[1], tlen[1], &sid)) {
        snprintf(err, errlen, "bad session id in the request header");
        return -1;
    }
    if (parse_i64(tok[2], tlen[2], &blen) || blen < 0 || blen > MINI_MAX_BODY) {
        snprintf(err, errlen, "bad body length in the request header");
        return -1;
    }
    if (n == 5) {
        if (tlen[3] != 1 || tok[3][0] != '/') {
            snprintf(err, errlen, "bad request header: expected ' / ' before the behavior");
            return -1;
        }
        parse_behavior(&r->b, tok[4], tlen[4], r->error, sizeof r->error);
    }
    *body_len = (size_t)blen;
    return 0;
}

static char *next_line(char **p)
{
    if (!*p)
        return NULL;
    char *s = *p, *lf = strchr(s, '\n');
    if (lf) {
        *lf = 0;
        *p = lf + 1;
    } else
        *p = NULL;
    return s;
}

/* Splits the body (r->body, NUL-terminated) into command and parts. Returns -1 on a
 * framing problem that makes the payload length unknowable. */
int request_parse_body(request *r, char *err, size_t errlen)
{
    if (memchr(r->body, 0, r->body_len)) {
        snprintf(err, errlen, "the request body contains a NUL byte");
        return -1;
    }
    char *rest = r->body;
    char *cmd = next_line(&rest);
    if (!strcmp(cmd, "connect")) {
        r->cmd = CMD_CONNECT;
        char *l1 = next_line(&rest);
        if (l1 && !strcmp(l1, "login")) {
            r->login_user = next_line(&rest);
            r->login_password = next_line(&rest);
            if (!r->login_user || !r->login_password)
                snprintf(r->error, sizeof r->error, "The connect request's login lines are incomplete");
        }
        return 0;
    }
    if (!strcmp(cmd, "script")) {
        r->cmd = CMD_SCRIPT;
        r->script = rest ? rest : "";
        r->script_len = rest ? strlen(rest) : 0;
        return 0;
    }
    if (strcmp(cmd, "function") && strcmp(cmd, "variable")) {
        /* no payload can follow an unknown command: answer and carry on */
        r->cmd = CMD_SCRIPT;
        snprintf(r->error, sizeof r->error, "Unknown request type %.40s", cmd);
        return 0;
    }
    r->cmd = !strcmp(cmd, "function") ? CMD_FUNCTION : CMD_VARIABLE;
    char *name = next_line(&rest), *count = next_line(&rest), *endian = next_line(&rest);
    char *extra = next_line(&rest);
    int64_t n;
    if (!name || !count || !endian || (extra && *extra) ||
        parse_i64(count, strlen(count), &n) || n < 0 || n > 1024 ||
        !(strcmp(endian, "0") == 0 || strcmp(endian, "1") == 0)) {
        snprintf(err, errlen, "malformed %s request body", cmd);
        return -1;
    }
    r->name = name;
    r->nobjs = (int)n;
    r->little = endian[0] == '1';
    if (n && !(r->objs = calloc((size_t)n, sizeof *r->objs))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void request_free(request *r)
{
    for (int i = 0; i < r->ngot; i++)
        ddb_obj_unref(r->objs[i]);
    free(r->objs);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------- execution */

typedef struct outcome {
    ddb_obj *result;            /* NULL: no object */
    char error[1024];           /* "" on success */
} outcome;

static void set_error(outcome *o, const char *msg)
{
    snprintf(o->error, sizeof o->error, "%s", msg);
    for (char *p = o->error; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

static void run_connect(session *s, request *r, outcome *o)
{
    if (!r->login_user)
        return;
    int admin;
    if (!auth_plain_allowed()) {
        set_error(o, AUTH_PLAIN_OFF);
        return;
    }
    if (!mini_check_login(r->login_user, r->login_password, &admin)) {
        set_error(o, "The user name or password is incorrect.");
        return;
    }
    snprintf(s->user, sizeof s->user, "%s", r->login_user);
    s->is_admin = admin;
    o->result = ddb_int_new(DDB_BOOL, 1);
}

static int upload(eval_ctx *ctx, request *r)
{
    int k = 0;
    char *names = r->name;
    for (char *tok = names; tok && *tok;) {
        char *comma = strchr(tok, ',');
        if (comma)
            *comma = 0;
        if (*tok) {
            if (k >= r->nobjs)
                return ctx_error(ctx, "The number of variable names doesn't match the number of values");
            if (vars_set(&ctx->sess->vars, tok, r->objs[k++], ctx->sess->request_no))
                return ctx_oom(ctx);
        }
        tok = comma ? comma + 1 : NULL;
    }
    if (k != r->nobjs)
        return ctx_error(ctx, "The number of variable names doesn't match the number of values");
    return 0;
}

static int login_allows(session *s, request *r, node *script)
{
    int need;
    pthread_mutex_lock(&g_mini.lock);
    need = g_mini.require_login;
    pthread_mutex_unlock(&g_mini.lock);
    if (!need || s->user[0])
        return 1;
    if (r->cmd == CMD_SCRIPT)
        return script_only_calls(script, BI_NO_LOGIN);
    if (r->cmd == CMD_FUNCTION) {
        const builtin *b = builtin_find(r->name);
        return !b || (b->flags & BI_NO_LOGIN);      /* unknown names get their own error */
    }
    return 0;
}

static void evaluate(session *s, request *r, node *script, ddb_buf *msgs, outcome *o)
{
    eval_ctx ctx;
    memset(&ctx, 0, offsetof(eval_ctx, err));      /* not the 1 KiB message buffer */
    ctx.err[0] = 0;
    ctx.sess = s;
    ctx.api2 = r->api2;
    ctx.msgs = msgs;
    ctx.flush_msgs = r->msg_cb;
    ctx.flush_arg = r->msg_arg;
    const char *desc = r->cmd == CMD_SCRIPT ? r->script : r->name;
    ctx.job = jobs_start(s->id, s->user, desc, r->b.priority, r->b.parallelism);
    int rc;
    if (r->cmd == CMD_SCRIPT) {
        ctx.src = r->script;
        rc = eval_block(&ctx, script, &o->result);
    } else if (r->cmd == CMD_FUNCTION)
        rc = eval_function_request(&ctx, r->name, r->objs, r->ngot, &o->result);
    else
        rc = upload(&ctx, r);
    jobs_finish(ctx.job);
    if (rc) {
        ddb_obj_unref(o->result);
        o->result = NULL;
        set_error(o, ctx.err[0] ? ctx.err : "Unknown error");
    }
}

static int is_control(request *r, node *script)
{
    if (r->cmd == CMD_SCRIPT)
        return script_only_calls(script, BI_CONTROL);
    if (r->cmd == CMD_FUNCTION) {
        const builtin *b = builtin_find(r->name);
        return b && (b->flags & BI_CONTROL);
    }
    return 0;
}

/* HA (§8.5): a negative seqNo retries the request numbered -seqNo. */
static int retry_cached(request *r, outcome *o)
{
    if (!r->b.client_id[0] || r->b.seq_no >= 0)
        return 0;
    char *err = NULL;
    if (!ha_lookup(r->b.client_id, r->b.seq_no, &o->result, &err))
        return 0;
    if (err) {
        set_error(o, err);
        free(err);
        ddb_obj_unref(o->result);
        o->result = NULL;
    }
    return 1;
}

static void execute(session *s, request *r, ddb_buf *msgs, outcome *o, int *control)
{
    char notleader[160];
    node *script = NULL;
    if (r->cmd == CMD_SCRIPT && !r->error[0]) {
        script = r->ast ? r->ast : parse_script(r->script, r->script_len, o->error, sizeof o->error);
        if (!script)
            return;
    }
    *control = is_control(r, script);
    if (r->error[0])
        set_error(o, r->error);
    else if (r->b.flag & (FLAG_PICKLE | FLAG_PYTHON | FLAG_KDB | FLAG_ARROW))
        set_error(o, "ddbmini doesn't support the pickle, Arrow, Python or kdb+ request flags");
    else if (r->b.fetch_size != 0 && r->b.fetch_size < 8192)
        set_error(o, "fetchSize must be greater than or equal to 8192");
    else if (r->cmd == CMD_CONNECT)
        run_connect(s, r, o);
    else if (!*control && faults_not_leader(notleader, sizeof notleader))
        set_error(o, notleader);
    else if (retry_cached(r, o))
        ;   /* a retry of a request that already ran: its cached result, not a re-run */
    else if (!login_allows(s, r, script))
        set_error(o, "Login is required for script execution with client authentication enabled");
    else {
        evaluate(s, r, script, msgs, o);
        if (r->b.client_id[0] && r->b.seq_no > 0)
            ha_store(r->b.client_id, r->b.seq_no, o->result, o->error[0] ? o->error : NULL);
    }
    if (script != r->ast)
        node_free(script);
}

/* "<session id> <objects> 1\n<status>\n", without printf (it was a fifth of the
 * instructions of a `1+1` request). */
static void put_status(ddb_buf *b, int64_t sid, int count, const char *status)
{
    char line[32], *p = line + sizeof line;
    *--p = '\n';
    *--p = '1';
    *--p = ' ';
    *--p = (char)('0' + count);
    *--p = ' ';
    uint64_t v = sid < 0 ? 0 - (uint64_t)sid : (uint64_t)sid;
    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    if (sid < 0)
        *--p = '-';
    ddb_buf_put(b, p, (size_t)(line + sizeof line - p));
    ddb_buf_puts(b, status);
    ddb_buf_u8(b, '\n');
}

void request_execute(session *s, request *r, response *resp)
{
    s->request_no++;
    outcome o;
    o.result = NULL;
    o.error[0] = 0;
    ddb_buf msgs;
    ddb_buf_init(&msgs);
    int control = 0;
    execute(s, r, &msgs, &o, &control);
    if (r->b.flag & FLAG_CLEAR_MEMORY)
        session_release_created(s, s->request_no);
    resp->control = control || r->cmd == CMD_CONNECT;   /* response faults skip connect */
    resp->no_reply = (r->b.flag & FLAG_ASYNC) && r->cmd != CMD_CONNECT;
    int small = o.result && response_small_scalar(o.result, r->b.fetch_size);
    if (!o.error[0] && o.result && !small) {
        char err[512];
        if (response_add_object(resp, o.result, r->b.fetch_size,
                                (r->b.flag & FLAG_COMPRESS) != 0, err, sizeof err))
            set_error(&o, err);
    }
    if (r->api2 && msgs.len)
        ddb_buf_put(&resp->head, msgs.p, msgs.len);
    int count = !o.error[0] && o.result ? 1 : 0;
    put_status(&resp->head, s->id, count, o.error[0] ? o.error : "OK");
    if (count && small)
        response_put_scalar(&resp->head, o.result);
    resp->failed = o.error[0] != 0;
    if (o.error[0]) {
        for (int i = 0; i < resp->nsegs; i++) {
            free(resp->segs[i].owned);
            ddb_obj_unref(resp->segs[i].keep);
        }
        resp->nsegs = 0;
    }
    ddb_obj_unref(o.result);
    ddb_buf_free(&msgs);
}
