/* eval.c — tree evaluator for the script subset (see eval.h). */
#include "eval.h"
#include "values.h"
#include "ddb_text.h"
#include "tables.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_DEPTH 64
#define MAX_ARGS 64

static int eval_node(eval_ctx *ctx, node *n, ddb_obj **out);

int ctx_error(eval_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
    va_end(ap);
    for (char *p = ctx->err; *p; p++)       /* an error line must stay one line */
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return -1;
}

int ctx_oom(eval_ctx *ctx) { return ctx_error(ctx, "Out of memory"); }

int ctx_sleep(eval_ctx *ctx, int64_t ms)
{
#ifdef DDBMINI_FUZZ
    ms = 0;                     /* fuzzing: every input must finish at once */
#endif
    while (ms > 0) {
        if (ctx->job && ctx->job->cancelled)
            return ctx_error(ctx, "The task was cancelled.");
        int64_t step = ms > 10 ? 10 : ms;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
    return 0;
}

int ctx_print(eval_ctx *ctx, const ddb_obj *o)
{
    if (!ctx->api2 || !ctx->msgs)
        return 0;
    int64_t size = o ? obj_expanded_bytes(o, MAX_FORMAT_EXPANDED) : 0;
    if (size < 0)
        return ctx_error(ctx, "The value is nested deeper than %d levels to print", MAX_OBJECT_DEPTH);
    if (size > MAX_FORMAT_EXPANDED)
        return ctx_error(ctx, "The value is too large to print (over %lld bytes)",
                         (long long)MAX_FORMAT_EXPANDED);
    ddb_buf text;
    ddb_buf_init(&text);
    if (o)
        ddb_format_obj(&text, o);
    for (size_t i = 0; i < text.len; i++)      /* MSG text ends at the first NUL */
        if (text.p[i] == 0)
            text.p[i] = ' ';
    ddb_buf_puts(ctx->msgs, "MSG\n");
    ddb_buf_put(ctx->msgs, text.p ? text.p : "", text.len);
    ddb_buf_u8(ctx->msgs, 0);
    int bad = text.oom || ctx->msgs->oom;
    ddb_buf_free(&text);
    if (bad)
        return ctx_oom(ctx);
    if (ctx->flush_msgs)
        ctx->flush_msgs(ctx->flush_arg, ctx->msgs);
    return 0;
}

static int cancelled(eval_ctx *ctx)
{
    return ctx->job && ctx->job->cancelled ? ctx_error(ctx, "The task was cancelled.") : 0;
}

/* "Syntax Error: [line #N] Cannot recognize the token x" — what the server says
 * about an unknown name. */
static int unknown_token(eval_ctx *ctx, const node *n)
{
    ctx->err_quoted = 1;
    return ctx_error(ctx, "Syntax Error: [line #%d] Cannot recognize the token %s", n->line, n->name);
}

/* Prefix the message with the failing call's text, as the server does:
 * "add(1) => The function [add] expects ...". */
static void quote_call(eval_ctx *ctx, const node *n)
{
    if (ctx->err_quoted || !ctx->src)
        return;
    ctx->err_quoted = 1;
    char msg[sizeof ctx->err];
    memcpy(msg, ctx->err, sizeof msg);
    size_t len = n->src_len > 200 ? 200 : n->src_len;
    ctx_error(ctx, "%.*s => %s", (int)len, ctx->src + n->src_off, msg);
}

static int lookup_var(eval_ctx *ctx, const node *n, ddb_obj **out)
{
    ddb_obj *v = ctx->columns ? vars_get(ctx->columns, n->name) : NULL;
    if (!v)
        v = ctx->locals ? vars_get(ctx->locals, n->name) : vars_get(&ctx->sess->vars, n->name);
    if (!v && (*out = tables_shared_handle(n->name)))   /* share t as name */
        return 0;
    if (!v) {
        /* data type constants (INT, DOUBLE, ...) as in dict(INT, DOUBLE): the type id */
        int t = ddb_type_from_name(n->name);
        int upper = 1;
        for (const char *p = n->name; *p; p++)
            upper &= (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
        if (t >= 0 && t < DDB_ARRAY_BASE && upper) {
            *out = ddb_int_new(DDB_INT, t);
            return *out ? 0 : ctx_oom(ctx);
        }
        if (dfs_constant(n->name, out) == 0)      /* VALUE, RANGE, HASH, SHARED, ... */
            return *out ? 0 : ctx_oom(ctx);
        return unknown_token(ctx, n);
    }
    *out = ddb_obj_ref(v);
    return 0;
}

static int assign(eval_ctx *ctx, const char *name, ddb_obj *v)
{
    var_list *l = ctx->locals ? ctx->locals : &ctx->sess->vars;
    return vars_set(l, name, v, ctx->sess->request_no) ? ctx_oom(ctx) : 0;
}

static void unref_all(ddb_obj **v, int n)
{
    for (int i = 0; i < n; i++)
        ddb_obj_unref(v[i]);
}

/* Evaluates the kids of n into vals (nothing becomes a VOID NULL). */
static int eval_list(eval_ctx *ctx, node *n, ddb_obj **vals, const char **labels, int first)
{
    if (labels && first + n->nkids > MAX_ARGS)    /* call arguments; vectors are unbounded */
        return ctx_error(ctx, "Too many arguments");
    for (int i = 0; i < n->nkids; i++) {
        node *k = n->kids[i];
        if (labels)
            labels[first + i] = k->kind == N_AS ? k->name : k->kind == N_VAR ? k->name : NULL;
        ddb_obj *v = NULL;
        if (eval_node(ctx, k->kind == N_AS ? k->a : k, &v)) {
            unref_all(vals, first + i);
            return -1;
        }
        if (!v && !(v = ddb_void_new(1))) {
            unref_all(vals, first + i);
            return ctx_oom(ctx);
        }
        vals[first + i] = v;
    }
    return 0;
}

static int call_user(eval_ctx *ctx, const char *name, const node *def, ddb_obj **args, int nargs,
                     ddb_obj **out)
{
    if (nargs != def->nparams)
        return ctx_error(ctx,
                         "The function [%s] expects %d argument(s), but the actual number of "
                         "arguments is: %d", name, def->nparams, nargs);
    if (ctx->depth >= MAX_DEPTH)
        return ctx_error(ctx, "The function call depth exceeds %d", MAX_DEPTH);
    var_list locals = {0};
    for (int i = 0; i < nargs; i++)
        if (vars_set(&locals, def->params[i], args[i], 0)) {
            vars_free(&locals);
            return ctx_oom(ctx);
        }
    var_list *saved = ctx->locals;
    ctx->locals = &locals;
    ctx->depth++;
    ddb_obj *v = NULL;
    int rc = eval_node(ctx, def->a, &v);
    ctx->depth--;
    ctx->locals = saved;
    vars_free(&locals);
    if (ctx->returning) {
        ctx->returning = 0;
        ddb_obj_unref(v);
        v = ctx->retval;
        ctx->retval = NULL;
    }
    if (rc) {
        ddb_obj_unref(v);
        return -1;
    }
    *out = v;
    return 0;
}

int call_named(eval_ctx *ctx, const char *name, ddb_obj **args, int nargs,
               const char *const *labels, ddb_obj **out)
{
    *out = NULL;
    const node *def = session_func(ctx->sess, name);
    if (def)
        return call_user(ctx, name, def, args, nargs, out);
    const builtin *b = builtin_find(name);
    if (!b) {
        ctx->err_quoted = 1;
        return ctx_error(ctx, "Can't recognize function name %s", name);
    }
    if (nargs < b->min_args || nargs > b->max_args) {
        if (b->min_args == b->max_args)
            return ctx_error(ctx,
                             "The function [%s] expects %d argument(s), but the actual number of "
                             "arguments is: %d", name, b->min_args, nargs);
        return ctx_error(ctx,
                         "The function [%s] expects %d~%d argument(s), but the actual number of "
                         "arguments is: %d", name, b->min_args, b->max_args, nargs);
    }
    if ((b->flags & BI_ADMIN) && !ctx->sess->is_admin)
        return ctx_error(ctx, "Only administrators can execute function %s", name);
    static const char *const none[MAX_ARGS];
    if (!(b->flags & BI_TABLES) && tables_resolve_args(ctx, args, nargs))
        return -1;
    return b->fn(ctx, args, nargs, labels ? labels : none, out);
}

/* The body of a lambda callee (def(a){...} or def(a){...}{bound}), else NULL. */
static const node *lambda_of(const node *callee)
{
    const node *f = callee->kind == N_PARTIAL ? callee->a : callee;
    return f->kind == N_DEF ? f : NULL;
}

/* A named function, or a lambda called in place (the Java writers' upsert script). */
static int call_callee(eval_ctx *ctx, const node *callee, const char *name, ddb_obj **args, int nargs,
                       const char *const *labels, ddb_obj **out)
{
    const node *lam = lambda_of(callee);
    if (!lam)
        return call_named(ctx, name, args, nargs, labels, out);
    *out = NULL;
    return call_user(ctx, name, lam, args, nargs, out);
}

/* f{t,,x}(data): call arguments fill the empty slots of the partial application
 * first (in order); the rest follow the bound ones. */
static void fill_slots(const node *callee, ddb_obj **vals, const char **labels, int nb, int *nargs)
{
    if (callee->kind != N_PARTIAL)
        return;
    int next = nb;
    for (int i = 0; i < nb && next < *nargs; i++) {
        const node *k = callee->kids[i];
        if (k->kind != N_CONST || k->op != NODE_SLOT)
            continue;
        ddb_obj_unref(vals[i]);
        vals[i] = vals[next];
        labels[i] = labels[next];
        next++;
    }
    int moved = next - nb;
    for (int j = nb; j + moved < *nargs; j++) {
        vals[j] = vals[j + moved];
        labels[j] = labels[j + moved];
    }
    *nargs -= moved;
}

/* Resolves a callee node (N_VAR or N_PARTIAL) into a name plus bound arguments. */
static int bind_callee(eval_ctx *ctx, node *callee, const char **name, ddb_obj **vals,
                       const char **labels, int *nbound)
{
    *nbound = 0;
    if (callee->kind == N_VAR || callee->kind == N_DEF) {
        *name = callee->kind == N_DEF ? "lambda" : callee->name;
        return 0;
    }
    *name = callee->a->kind == N_DEF ? "lambda" : callee->a->name;
    if (eval_list(ctx, callee, vals, labels, 0))
        return -1;
    *nbound = callee->nkids;
    return 0;
}

/* rpc(alias, fn, args...): this pretend cluster runs every node's work locally,
 * but the alias must name a live node. */
static int eval_rpc(eval_ctx *ctx, node *n, ddb_obj **out)
{
    if (n->nkids < 2)
        return ctx_error(ctx,
                         "The function [rpc] expects 2~%d argument(s), but the actual number of "
                         "arguments is: %d", MAX_ARGS, n->nkids);
    ddb_obj *alias = NULL;
    if (eval_node(ctx, n->kids[0], &alias))
        return -1;
    char cbuf[2];
    const char *text = alias ? obj_text(alias, cbuf) : NULL;
    int found = 0;
    if (text) {
        pthread_mutex_lock(&g_mini.lock);
        found = !strcmp(text, g_mini.controller_alias);
        for (int i = 0; i < g_mini.nnodes && !found; i++)
            found = !strcmp(g_mini.nodes[i].alias, text) && !g_mini.nodes[i].down;
        pthread_mutex_unlock(&g_mini.lock);
    }
    if (!found) {
        int rc = ctx_error(ctx, "Can't find the node [%s] or the node is not alive", text ? text : "?");
        ddb_obj_unref(alias);
        return rc;
    }
    ddb_obj_unref(alias);
    node *fn = n->kids[1];
    if (fn->kind != N_VAR && fn->kind != N_PARTIAL)
        return ctx_error(ctx, "The second argument of rpc must be a function");
    ddb_obj *vals[MAX_ARGS];
    const char *labels[MAX_ARGS] = {0};
    const char *name;
    int nb;
    if (bind_callee(ctx, fn, &name, vals, labels, &nb))
        return -1;
    if (nb + n->nkids - 2 > MAX_ARGS) {
        unref_all(vals, nb);
        return ctx_error(ctx, "Too many arguments");
    }
    for (int i = 2; i < n->nkids; i++) {
        ddb_obj *v = NULL;
        if (eval_node(ctx, n->kids[i], &v)) {
            unref_all(vals, nb);
            return -1;
        }
        if (!v && !(v = ddb_void_new(1))) {
            unref_all(vals, nb);
            return ctx_oom(ctx);
        }
        vals[nb++] = v;
    }
    int rc = call_named(ctx, name, vals, nb, labels, out);
    unref_all(vals, nb);
    return rc;
}

static int eval_call(eval_ctx *ctx, node *n, ddb_obj **out)
{
    if (n->a->kind == N_VAR && !strcmp(n->a->name, "rpc") && !session_func(ctx->sess, "rpc")) {
        int rc = eval_rpc(ctx, n, out);
        if (rc)
            quote_call(ctx, n);
        return rc;
    }
    ddb_obj *vals[MAX_ARGS];
    const char *labels[MAX_ARGS] = {0};
    const char *name;
    int nb;
    if (bind_callee(ctx, n->a, &name, vals, labels, &nb))
        return -1;
    if (eval_list(ctx, n, vals, labels, nb)) {
        unref_all(vals, nb);
        return -1;
    }
    int nargs = nb + n->nkids;
    fill_slots(n->a, vals, labels, nb, &nargs);
    int rc = call_callee(ctx, n->a, name, vals, nargs, labels, out);
    unref_all(vals, nargs);
    if (rc)
        quote_call(ctx, n);
    return rc;
}

static int index_table(eval_ctx *ctx, const ddb_obj *t, const ddb_obj *key, ddb_obj **out)
{
    char cbuf[2];
    const char *name = obj_text(key, cbuf);
    for (int64_t c = 0; name && c < t->cols; c++)
        if (!strcmp(t->col_names[c], name)) {
            *out = ddb_obj_ref(t->columns[c]);
            return 0;
        }
    return ctx_error(ctx, "Can't find the column %s in the table", name ? name : "?");
}

/* The row an index cell names, or -1 for a NULL or out-of-range index (the server
 * answers those with a NULL element). */
static int64_t index_row(const ddb_obj *v, const ddb_obj *idx, int64_t i)
{
    int isnull;
    int64_t k = cell_i64(idx, i, &isnull);
    return isnull || k < 0 || k >= v->rows ? -1 : k;
}

/* v[k] for a scalar index: the element, or a NULL of v's type. */
static ddb_obj *index_one(const ddb_obj *v, int64_t k)
{
    if (k >= 0)
        return obj_element(v, k);
    ddb_obj *one = ddb_vector_new(v->type, 1);
    ddb_obj *e = one ? obj_element(one, 0) : NULL;
    ddb_obj_unref(one);
    if (e && ddb_type_class_of(e->type) == DDB_CLASS_FIXED)
        cell_put_null(e, 0);
    return e;
}

/* Bytes the strings v[idx] copies: a long index over a long string would otherwise
 * build gigabytes from a few bytes of script. */
static int64_t gathered_text_bytes(const ddb_obj *v, const ddb_obj *idx)
{
    int64_t total = 0;
    for (int64_t i = 0; i < obj_len(idx) && total <= MAX_GENERATED_BYTES; i++) {
        int64_t k = index_row(v, idx, i);
        size_t len = 0;
        if (k >= 0)
            ddb_str_at(v, k, &len);
        total += (int64_t)len + 1;
    }
    return total;
}

/* v[idx] for an index vector: a vector of v's type filled straight from v's cells
 * (no scalar per element), NULL cells for NULL or out-of-range indices. */
static ddb_obj *gather_rows(const ddb_obj *v, const ddb_obj *idx)
{
    int64_t n = obj_len(idx);
    ddb_type_class cls = obj_class(v);
    if (cls == DDB_CLASS_VOID)
        return ddb_vector_new(DDB_VOID, n);
    if (cls == DDB_CLASS_FIXED) {
        ddb_obj *r = ddb_vector_new(v->type, n);
        int w = ddb_type_width(v->type);
        for (int64_t i = 0; r && i < n; i++) {
            int64_t k = index_row(v, idx, i);
            if (k < 0)
                cell_put_null(r, i);
            else
                memcpy((char *)r->data + i * w, (const char *)v->data + k * w, (size_t)w);
        }
        if (r)
            r->scale = v->scale;
        return r;
    }
    if (cls == DDB_CLASS_ANY) {     /* a tuple stays a tuple: items are shared */
        ddb_obj *r = ddb_vector_new(DDB_ANY, n);
        for (int64_t i = 0; r && i < n; i++) {
            int64_t k = index_row(v, idx, i);
            if (k >= 0) {
                ddb_obj_unref(r->items[i]);
                r->items[i] = ddb_obj_ref(v->items[k]);
            }
        }
        return r;
    }
    /* STRING, BLOB, SYMBOL (appending to a SYMBOL vector fills its own symbol base) */
    ddb_obj *r = ddb_vector_new(v->type, 0);
    for (int64_t i = 0; r && i < n; i++) {
        int64_t k = index_row(v, idx, i);
        size_t len = 0;
        const char *s = k < 0 ? "" : ddb_str_at(v, k, &len);
        if (ddb_varlen_append(r, s, len)) {
            ddb_obj_unref(r);
            r = NULL;
        }
    }
    return r;
}

static int index_vector(eval_ctx *ctx, const ddb_obj *v, const ddb_obj *idx, ddb_obj **out)
{
    ddb_type_class cls = obj_class(v);
    if (cls != DDB_CLASS_FIXED && cls != DDB_CLASS_VARLEN && cls != DDB_CLASS_SYMBOL &&
        cls != DDB_CLASS_ANY && cls != DDB_CLASS_VOID)
        return ctx_error(ctx, "Unsupported index: %s %s", ddb_type_name(v->type), ddb_form_name(v->form));
    if (idx->form == DDB_SCALAR) {
        *out = index_one(v, index_row(v, idx, 0));
        return *out ? 0 : ctx_oom(ctx);
    }
    if (obj_len(idx) > MAX_GENERATED_ROWS)
        return ctx_error(ctx, "The index vector is longer than %lld elements", MAX_GENERATED_ROWS);
    if (cls == DDB_CLASS_VARLEN && gathered_text_bytes(v, idx) > MAX_GENERATED_BYTES)
        return ctx_error(ctx, "The result of indexing would exceed %lld bytes", MAX_GENERATED_BYTES);
    *out = gather_rows(v, idx);
    return *out ? 0 : ctx_oom(ctx);
}

static int eval_index(eval_ctx *ctx, node *n, ddb_obj **out)
{
    ddb_obj *a = NULL, *b = NULL;
    if (eval_node(ctx, n->a, &a) || !a || eval_node(ctx, n->b, &b) || !b) {
        ddb_obj_unref(a);
        ddb_obj_unref(b);
        return ctx->err[0] ? -1 : ctx_error(ctx, "Cannot index nothing");
    }
    int rc;
    if (tables_resolve_args(ctx, &a, 1))
        rc = -1;
    else if (a->form == DDB_TABLE)
        rc = index_table(ctx, a, b, out);
    else if (a->form == DDB_DICTIONARY)
        rc = dict_lookup(ctx, a, b, out);
    else if (!obj_is_vectorlike(a) || !type_is_integer(b->type) ||
             (b->form != DDB_SCALAR && !obj_is_vectorlike(b)))
        rc = ctx_error(ctx, "Unsupported index: %s[%s]", ddb_form_name(a->form), ddb_type_name(b->type));
    else
        rc = index_vector(ctx, a, b, out);
    ddb_obj_unref(a);
    ddb_obj_unref(b);
    return rc;
}

static int eval_block_node(eval_ctx *ctx, node *n, ddb_obj **out)
{
    ddb_obj *last = NULL;
    for (int i = 0; i < n->nkids; i++) {
        ddb_obj_unref(last);
        last = NULL;
        if (cancelled(ctx) || eval_node(ctx, n->kids[i], &last))
            return -1;
        if (ctx->returning)
            break;
        node_kind k = n->kids[i]->kind;
        if (k == N_ASSIGN || k == N_DEF || k == N_IF) {
            if (k != N_IF || i + 1 < n->nkids) {
                ddb_obj_unref(last);
                last = NULL;
            }
        }
    }
    *out = last;
    return 0;
}

/* [a, b, ...] / `1 2 3` (typed vector) and (a, b, ...) (ANY vector). */
static int eval_vector(eval_ctx *ctx, node *n, ddb_obj **out)
{
    ddb_obj **vals = malloc((size_t)(n->nkids ? n->nkids : 1) * sizeof *vals);
    if (!vals)
        return ctx_oom(ctx);
    int rc = eval_list(ctx, n, vals, NULL, 0);
    if (rc == 0) {
        if (n->kind == N_TUPLE || n->nkids == 0) {
            ddb_obj *v = ddb_vector_new(DDB_ANY, n->nkids);
            for (int i = 0; v && i < n->nkids; i++) {
                ddb_obj_unref(v->items[i]);
                v->items[i] = ddb_obj_ref(vals[i]);
            }
            rc = v ? 0 : ctx_oom(ctx);
            *out = v;
        } else
            rc = make_vector(ctx, vals, n->nkids, out);
        unref_all(vals, n->nkids);
    }
    free(vals);
    return rc;
}

static int eval_node(eval_ctx *ctx, node *n, ddb_obj **out)
{
    *out = NULL;
    ddb_obj *a = NULL, *b = NULL;
    int rc;
    switch (n->kind) {
    case N_CONST:
        *out = ddb_obj_ref(n->value);
        return 0;
    case N_VAR:
        return lookup_var(ctx, n, out);
    case N_VECTOR:
    case N_TUPLE:
        return eval_vector(ctx, n, out);
    case N_UNARY:
        if (eval_node(ctx, n->a, &a))
            return -1;
        if (!a && !(a = ddb_void_new(1)))
            return ctx_oom(ctx);
        rc = op_unary(ctx, n->op, a, out);
        ddb_obj_unref(a);
        return rc;
    case N_BINARY:
        if (eval_node(ctx, n->a, &a))
            return -1;
        if (eval_node(ctx, n->b, &b)) {
            ddb_obj_unref(a);
            return -1;
        }
        if ((!a && !(a = ddb_void_new(1))) || (!b && !(b = ddb_void_new(1))))
            rc = ctx_oom(ctx);
        else
            rc = op_binary(ctx, n->op, a, b, out);
        ddb_obj_unref(a);
        ddb_obj_unref(b);
        return rc;
    case N_CALL:
        return eval_call(ctx, n, out);
    case N_PARTIAL:
        return ctx_error(ctx, "A partial application can only be called");
    case N_INDEX:
        return eval_index(ctx, n, out);
    case N_AS:
        return eval_node(ctx, n->a, out);
    case N_ASSIGN:
        if (eval_node(ctx, n->a, &a))
            return -1;
        if (!a)
            return ctx_error(ctx, "The right side of the assignment to %s returns nothing", n->name);
        rc = assign(ctx, n->name, a);
        ddb_obj_unref(a);
        return rc;
    case N_DEF: {
        if (!n->name)
            return ctx_error(ctx, "ddbmini can only call a lambda in place: (def(x){...})(args)");
        node *copy = node_clone(n);
        if (!copy || session_def(ctx->sess, n->name, copy))
            return ctx_oom(ctx);
        return 0;
    }
    case N_RETURN:
        if (n->a && eval_node(ctx, n->a, &a))
            return -1;
        ctx->retval = a;
        ctx->returning = 1;
        return 0;
    case N_IF: {
        if (eval_node(ctx, n->a, &a))
            return -1;
        int t = a ? obj_truth(a) : -1;
        ddb_obj_unref(a);
        if (t == -2)
            return ctx_error(ctx, "The condition of if must be a scalar");
        node *branch = t == 1 ? n->b : n->c;
        return branch ? eval_node(ctx, branch, out) : 0;
    }
    case N_BLOCK:
        return eval_block_node(ctx, n, out);
    case N_SQL:
        return sql_eval(ctx, n, out);
    }
    return ctx_error(ctx, "Unsupported syntax");
}

int eval_block(eval_ctx *ctx, node *script, ddb_obj **out)
{
    *out = NULL;
    int rc = eval_node(ctx, script, out);
    if (ctx->returning) {       /* a top-level return ends the script with its value */
        ctx->returning = 0;
        ddb_obj_unref(*out);
        *out = ctx->retval;
        ctx->retval = NULL;
    }
    if (rc == 0 && *out && ctx->depth == 0 && tables_resolve_result(ctx, out))
        rc = -1;    /* a shared/DFS table handle leaves as its rows */
    if (rc) {
        ddb_obj_unref(*out);
        *out = NULL;
    }
    return rc;
}

int eval_expr(eval_ctx *ctx, node *n, ddb_obj **out) { return eval_node(ctx, n, out); }

int eval_script(eval_ctx *ctx, const char *text, size_t len, ddb_obj **out)
{
    *out = NULL;
    node *script = parse_script(text, len, ctx->err, sizeof ctx->err);
    if (!script)
        return -1;
    const char *saved = ctx->src;
    ctx->src = text;
    int rc = eval_block(ctx, script, out);
    ctx->src = saved;
    node_free(script);
    return rc;
}

int eval_function_request(eval_ctx *ctx, const char *callable, ddb_obj **args, int nargs,
                          ddb_obj **out)
{
    *out = NULL;
    node *callee = parse_callable(callable, strlen(callable), ctx->err, sizeof ctx->err);
    if (!callee)
        return -1;
    ddb_obj *vals[MAX_ARGS];
    const char *labels[MAX_ARGS] = {0};
    const char *name;
    int nb, rc = -1;
    if (nargs > MAX_ARGS)
        ctx_error(ctx, "Too many arguments");
    else if (bind_callee(ctx, callee, &name, vals, labels, &nb) == 0) {
        if (nb + nargs > MAX_ARGS) {
            ctx_error(ctx, "Too many arguments");
            unref_all(vals, nb);
        } else {
            for (int i = 0; i < nargs; i++)
                vals[nb + i] = ddb_obj_ref(args[i]);
            int total = nb + nargs;
            fill_slots(callee, vals, labels, nb, &total);
            rc = call_callee(ctx, callee, name, vals, total, labels, out);
            unref_all(vals, total);
        }
    }
    node_free(callee);
    if (rc == 0 && *out && tables_resolve_result(ctx, out))
        rc = -1;
    return rc;
}

/* Literal-only expressions: constants, -constant, vectors/tuples of those. */
static int is_constant(const node *n)
{
    if (n->kind == N_CONST)
        return 1;
    if (n->kind == N_UNARY)
        return is_constant(n->a);
    if (n->kind == N_VECTOR || n->kind == N_TUPLE) {
        for (int i = 0; i < n->nkids; i++)
            if (!is_constant(n->kids[i]))
                return 0;
        return 1;
    }
    return 0;
}

static int const_args(const node *call)
{
    for (int i = 0; i < call->nkids; i++)
        if (!is_constant(call->kids[i]))
            return 0;
    return 1;
}

int script_only_calls(const node *script, unsigned flags)
{
    if (!script || script->kind != N_BLOCK || script->nkids == 0)
        return 0;
    for (int i = 0; i < script->nkids; i++) {
        const node *st = script->kids[i];
        if (st->kind != N_CALL || st->a->kind != N_VAR || !const_args(st))
            return 0;
        const builtin *b = builtin_find(st->a->name);
        if (!b || (b->flags & flags) != flags)
            return 0;
    }
    return 1;
}

const builtin *builtin_find(const char *name)
{
    /* the table built-ins come first: their count/sum replace the simpler ones */
    const builtin *tables[] = {builtins_tables, builtins_dfs, builtins_core, builtins_data,
                               builtins_server};
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++)
        for (const builtin *b = tables[t]; b->name; b++)
            if (!strcmp(b->name, name))
                return b;
    return NULL;
}
