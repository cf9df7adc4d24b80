/* parser.c — recursive-descent / precedence-climbing parser for the script subset.
 *
 * Precedence, lowest first: pair `:`, `||`, `&&`, comparisons, range `..`,
 * `+ -`, `* / %`, unary `- !`, postfix (call, index, partial application).
 * Statements are separated by `;` or newlines: assignments `x = e`, `def`,
 * `return`, `if (c) ... else ...`, `{ block }` and plain expressions. */
#include "ast.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    token_list tl;
    int pos;
    const char *src;
    char *err;
    size_t errlen;
    int failed;
    int depth;                  /* recursion through brackets, unary operators, blocks */
    int sql;                    /* inside select/exec: `*` is a column wildcard */
} parser;

static node *parse_expr(parser *p);
static node *parse_statement(parser *p);
static node *parse_sql(parser *p);
static node *parse_def(parser *p);
static node *parse_sql_statement(parser *p);

void node_free(node *n)
{
    if (!n)
        return;
    free(n->name);
    ddb_obj_unref(n->value);
    node_free(n->a);
    node_free(n->b);
    node_free(n->c);
    for (int i = 0; i < n->nkids; i++)
        node_free(n->kids[i]);
    free(n->kids);
    for (int i = 0; i < n->nparams; i++)
        free(n->params[i]);
    free(n->params);
    free(n);
}

node *node_clone(const node *n)
{
    if (!n)
        return NULL;
    node *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    *c = *n;
    c->name = NULL;
    c->a = c->b = c->c = NULL;
    c->kids = NULL;
    c->params = NULL;
    c->nkids = c->nparams = 0;
    c->value = ddb_obj_ref(n->value);
    int ok = 1;
    if (n->name && !(c->name = strdup(n->name)))
        ok = 0;
    if ((n->a && !(c->a = node_clone(n->a))) || (n->b && !(c->b = node_clone(n->b))) ||
        (n->c && !(c->c = node_clone(n->c))))
        ok = 0;
    if (ok && n->nkids) {
        c->kids = calloc((size_t)n->nkids, sizeof *c->kids);
        ok = c->kids != NULL;
        for (int i = 0; ok && i < n->nkids; i++, c->nkids++)
            ok = (c->kids[i] = node_clone(n->kids[i])) != NULL;
    }
    if (ok && n->nparams) {
        c->params = calloc((size_t)n->nparams, sizeof *c->params);
        ok = c->params != NULL;
        for (int i = 0; ok && i < n->nparams; i++, c->nparams++)
            ok = (c->params[i] = strdup(n->params[i])) != NULL;
    }
    if (!ok) {
        node_free(c);
        return NULL;
    }
    return c;
}

/* ---- token helpers ---- */

static token *peek(parser *p) { return &p->tl.v[p->pos]; }
static token *peek_at(parser *p, int k)
{
    int i = p->pos + k;
    return &p->tl.v[i < p->tl.n ? i : p->tl.n - 1];
}
static token *advance(parser *p)
{
    token *t = &p->tl.v[p->pos];
    if (t->kind != T_EOF)
        p->pos++;
    return t;
}
static int is_op(const token *t, const char *op) { return t->kind == T_OP && !strcmp(t->op, op); }
static int is_word(const token *t, const char *w) { return t->kind == T_IDENT && !strcmp(t->text, w); }

static node *error_at(parser *p, const token *t, const char *msg)
{
    if (!p->failed) {
        p->failed = 1;
        if (t->kind == T_EOF || t->kind == T_SEP)
            snprintf(p->err, p->errlen, "Syntax Error: [line #%d] Incomplete statement: unexpected end of %s",
                     t->line, t->kind == T_EOF ? "script" : "line");
        else
            snprintf(p->err, p->errlen, "Syntax Error: [line #%d] %s %.*s", t->line, msg,
                     (int)(t->len > 60 ? 60 : t->len), p->src + t->off);
    }
    return NULL;
}

static node *new_node(parser *p, node_kind kind, const token *start)
{
    node *n = calloc(1, sizeof *n);
    if (!n) {
        if (!p->failed)
            snprintf(p->err, p->errlen, "Out of memory");
        p->failed = 1;
        return NULL;
    }
    n->kind = kind;
    n->line = start->line;
    n->src_off = start->off;
    return n;
}

static int height_of(const node *n) { return n ? n->height : 0; }

/* Closes the node's source span at the previous token and checks its height. */
static node *finish(parser *p, node *n)
{
    if (!n)
        return NULL;
    if (p->pos > 0) {
        const token *last = &p->tl.v[p->pos - 1];
        if (last->off + last->len > n->src_off)
            n->src_len = last->off + last->len - n->src_off;
    }
    int h = height_of(n->a);
    h = height_of(n->b) > h ? height_of(n->b) : h;
    h = height_of(n->c) > h ? height_of(n->c) : h;
    for (int i = 0; i < n->nkids; i++)
        h = n->kids[i]->height > h ? n->kids[i]->height : h;
    n->height = h + 1;
    if (n->height > MAX_TREE_HEIGHT) {
        if (!p->failed) {
            p->failed = 1;
            snprintf(p->err, p->errlen, "Syntax Error: [line #%d] The expression is nested too deeply",
                     n->line);
        }
        node_free(n);
        return NULL;
    }
    return n;
}

static int add_kid(parser *p, node *n, node *kid)
{
    if (!kid)
        return -1;
    node **k = realloc(n->kids, (size_t)(n->nkids + 1) * sizeof *k);
    if (!k) {
        node_free(kid);
        p->failed = 1;
        snprintf(p->err, p->errlen, "Out of memory");
        return -1;
    }
    n->kids = k;
    n->kids[n->nkids++] = kid;
    return 0;
}

static int expect(parser *p, const char *op)
{
    if (is_op(peek(p), op)) {
        advance(p);
        return 0;
    }
    error_at(p, peek(p), op[0] == ')' || op[0] == ']' || op[0] == '}'
                             ? "Missing closing bracket before"
                             : "Unexpected token");
    return -1;
}

/* ---- expressions ---- */

static int is_null_word(const token *t) { return t->kind == T_IDENT && !strcmp(t->text, "NULL"); }

static int is_plain_scalar_literal(const token *t)
{
    if (t->kind != T_CONST || t->value->form != DDB_SCALAR)
        return 0;
    int ty = t->value->type;
    return ty != DDB_STRING && ty != DDB_SYMBOL && ty != DDB_VOID;
}

/* `1 2 3`: whitespace-separated scalar literals form one vector literal. */
static node *parse_literal(parser *p)
{
    token *t = advance(p);
    node *n = new_node(p, N_CONST, t);
    if (!n)
        return NULL;
    n->value = ddb_obj_ref(t->value);
    if (!is_plain_scalar_literal(t) ||
        !(is_plain_scalar_literal(peek(p)) || is_null_word(peek(p))) || !peek(p)->space_before)
        return finish(p, n);
    node *vec = new_node(p, N_VECTOR, t);
    if (!vec) {
        node_free(n);
        return NULL;
    }
    add_kid(p, vec, finish(p, n));
    while (!p->failed && (is_plain_scalar_literal(peek(p)) || is_null_word(peek(p))) &&
           peek(p)->space_before) {
        token *e = advance(p);
        node *k = new_node(p, N_CONST, e);
        if (k && !(k->value = is_null_word(e) ? ddb_void_new(1) : ddb_obj_ref(e->value))) {
            node_free(k);
            k = NULL;
        }
        add_kid(p, vec, finish(p, k));
    }
    if (p->failed) {
        node_free(vec);
        return NULL;
    }
    return finish(p, vec);
}

/* Arguments up to the closing `close`, each optionally followed by `as name`. */
static int parse_args(parser *p, node *n, const char *close)
{
    if (is_op(peek(p), close)) {
        advance(p);
        return 0;
    }
    for (;;) {
        token *start = peek(p);
        node *arg;
        if (close[0] == '}' && (is_op(start, ",") || is_op(start, "}"))) {
            /* f{t,,x}: an empty slot; f{t, }: a trailing comma */
            if (is_op(start, "}") && n->nkids > 0) {
                advance(p);
                return 0;
            }
            if (!(arg = new_node(p, N_CONST, start)) || !(arg->value = ddb_void_new(1))) {
                node_free(arg);
                error_at(p, start, "Out of memory near");
                return -1;
            }
            arg->op = NODE_SLOT;
            arg = finish(p, arg);
        } else if (start->kind == T_IDENT && is_op(peek_at(p, 1), "=") && close[0] != ']') {
            advance(p);             /* name=value: a named argument */
            advance(p);
            node *named = new_node(p, N_AS, start);
            /* the name keeps a leading '=' so a built-in's labels tell it from `as` */
            size_t len = strlen(start->text);
            if (named && (named->name = malloc(len + 2))) {
                named->name[0] = '=';
                memcpy(named->name + 1, start->text, len + 1);
            }
            if (!named || !named->name || !(named->a = parse_expr(p))) {
                node_free(named);
                return -1;
            }
            named->op = NODE_NAMED;
            arg = finish(p, named);
        } else
            arg = parse_expr(p);
        if (!arg)
            return -1;
        if (is_word(peek(p), "as")) {
            advance(p);
            if (peek(p)->kind != T_IDENT) {
                node_free(arg);
                error_at(p, peek(p), "Expecting a column name instead of");
                return -1;
            }
            node *as = new_node(p, N_AS, start);
            if (!as) {
                node_free(arg);
                return -1;
            }
            as->a = arg;
            as->name = strdup(advance(p)->text);
            arg = finish(p, as);
        }
        if (add_kid(p, n, arg))
            return -1;
        if (is_op(peek(p), ",")) {
            advance(p);
            continue;
        }
        return expect(p, close);
    }
}

static node *parse_primary(parser *p)
{
    token *t = peek(p);
    if (t->kind == T_CONST)
        return parse_literal(p);
    if (is_word(t, "select") || is_word(t, "exec"))
        return parse_sql(p);
    if (is_word(t, "def") && is_op(peek_at(p, 1), "(")) {
        if (++p->depth > MAX_TREE_HEIGHT)
            return error_at(p, t, "The expression is nested too deeply near");
        node *n = parse_def(p);
        p->depth--;
        return n;
    }
    if (p->sql && is_op(t, "*") && (is_op(peek_at(p, 1), ")") || is_word(peek_at(p, 1), "from") ||
                                    is_op(peek_at(p, 1), ","))) {
        advance(p);                 /* select * / count(*) */
        node *n = new_node(p, N_VAR, t);
        if (n && !(n->name = strdup("*"))) {
            node_free(n);
            return NULL;
        }
        return finish(p, n);
    }
    if (t->kind == T_IDENT) {
        if (is_word(t, "NULL")) {
            advance(p);
            node *n = new_node(p, N_CONST, t);
            if (n) {
                n->value = ddb_void_new(1);
                if (!n->value) {
                    node_free(n);
                    return error_at(p, t, "Out of memory near");
                }
            }
            return finish(p, n);
        }
        advance(p);
        node *n = new_node(p, N_VAR, t);
        if (n && !(n->name = strdup(t->text))) {
            node_free(n);
            return NULL;
        }
        return finish(p, n);
    }
    if (is_op(t, "(")) {
        advance(p);
        node *first = parse_expr(p);
        if (!first)
            return NULL;
        if (is_op(peek(p), ")")) {
            advance(p);
            return first;
        }
        node *tuple = new_node(p, N_TUPLE, t);
        if (!tuple || add_kid(p, tuple, first)) {
            node_free(tuple);
            return NULL;
        }
        if (expect(p, ",") || parse_args(p, tuple, ")")) {
            node_free(tuple);
            return NULL;
        }
        return finish(p, tuple);
    }
    if (is_op(t, "[")) {
        advance(p);
        node *vec = new_node(p, N_VECTOR, t);
        if (!vec || parse_args(p, vec, "]")) {
            node_free(vec);
            return NULL;
        }
        return finish(p, vec);
    }
    return error_at(p, t, "Cannot recognize the token");
}

/* obj.f(args) is f(obj, args); t.col is t["col"]. */
static node *parse_member(parser *p, token *start, node *obj)
{
    advance(p);
    token *name = advance(p);
    int call = is_op(peek(p), "(") && !peek(p)->space_before;
    node *m = new_node(p, call ? N_CALL : N_INDEX, start);
    node *k = new_node(p, call ? N_VAR : N_CONST, name);
    if (!m || !k) {
        node_free(m);
        node_free(k);
        node_free(obj);
        return NULL;
    }
    if (call) {
        if (!(k->name = strdup(name->text))) {
            node_free(m);
            node_free(k);
            node_free(obj);
            return NULL;
        }
        m->a = finish(p, k);
        if (add_kid(p, m, obj)) {           /* add_kid frees obj on failure */
            node_free(m);
            return NULL;
        }
        advance(p);
        if (parse_args(p, m, ")")) {
            node_free(m);
            return NULL;
        }
        return finish(p, m);
    }
    m->a = obj;
    m->b = k;
    if (!(k->value = ddb_string_new(DDB_STRING, name->text, strlen(name->text)))) {
        node_free(m);
        return error_at(p, name, "Out of memory near");
    }
    finish(p, k);
    return finish(p, m);
}

static node *parse_postfix(parser *p)
{
    token *start = peek(p);
    node *n = parse_primary(p);
    while (n) {
        token *t = peek(p);
        node_kind kind;
        const char *close;
        if (is_op(t, "(") && !t->space_before) {
            kind = N_CALL;
            close = ")";
        } else if (is_op(t, "{") && (n->kind == N_VAR || n->kind == N_DEF)) {
            kind = N_PARTIAL;
            close = "}";
        } else if (is_op(t, "[") && !t->space_before) {
            kind = N_INDEX;
            close = "]";
        } else if (is_op(t, ".") && peek_at(p, 1)->kind == T_IDENT) {
            n = parse_member(p, start, n);      /* t.col, db.createTable(...) */
            continue;
        } else
            break;
        if (kind == N_CALL && n->kind != N_VAR && n->kind != N_PARTIAL && n->kind != N_DEF) {
            node_free(n);
            return error_at(p, t, "Cannot recognize the token");
        }
        advance(p);
        node *m = new_node(p, kind, start);
        if (!m) {
            node_free(n);
            return NULL;
        }
        m->a = n;
        if (kind == N_INDEX) {
            m->b = parse_expr(p);
            if (!m->b || expect(p, close)) {
                node_free(m);
                return NULL;
            }
        } else if (parse_args(p, m, close)) {
            node_free(m);
            return NULL;
        }
        n = finish(p, m);
    }
    return n;
}

static node *parse_unary(parser *p)
{
    token *t = peek(p);
    if (is_op(t, "-") || is_op(t, "!")) {
        advance(p);
        if (++p->depth > MAX_TREE_HEIGHT)
            return error_at(p, t, "The expression is nested too deeply near");
        node *operand = parse_unary(p);
        p->depth--;
        if (!operand)
            return NULL;
        node *n = new_node(p, N_UNARY, t);
        if (!n) {
            node_free(operand);
            return NULL;
        }
        n->op = is_op(t, "-") ? OP_NEG : OP_NOT;
        n->a = operand;
        return finish(p, n);
    }
    return parse_postfix(p);
}

typedef struct binop {
    const char *tok;
    int op;
    int level;
} binop;

static const binop BINOPS[] = {
    {":", OP_PAIR, 1},   {"||", OP_OR, 2},   {"&&", OP_AND, 3},  {"==", OP_EQ, 4},
    {"!=", OP_NE, 4},    {"<>", OP_NE, 4},   {"<", OP_LT, 4},    {"<=", OP_LE, 4},
    {">", OP_GT, 4},     {">=", OP_GE, 4},   {"..", OP_RANGE, 5}, {"+", OP_ADD, 6},
    {"-", OP_SUB, 6},    {"*", OP_MUL, 7},   {"/", OP_DIV, 7},   {"%", OP_MOD, 7},
    {NULL, 0, 0}};

static const binop *binop_of(const token *t)
{
    if (t->kind == T_IDENT) {
        if (!strcmp(t->text, "and"))
            return &BINOPS[2];
        if (!strcmp(t->text, "or"))
            return &BINOPS[1];
        return NULL;
    }
    for (const binop *b = BINOPS; b->tok; b++)
        if (is_op(t, b->tok))
            return b;
    return NULL;
}

#define MAX_LEVEL 7

static node *parse_level(parser *p, int level)
{
    if (level > MAX_LEVEL)
        return parse_unary(p);
    token *start = peek(p);
    node *lhs = parse_level(p, level + 1);
    while (lhs) {
        const binop *b = binop_of(peek(p));
        if (!b && p->sql && is_op(peek(p), "="))    /* where a = 1: SQL's equality */
            b = &BINOPS[3];
        if (!b || b->level != level)
            break;
        advance(p);
        node *rhs = parse_level(p, level + 1);
        if (!rhs) {
            node_free(lhs);
            return NULL;
        }
        node *n = new_node(p, N_BINARY, start);
        if (!n) {
            node_free(lhs);
            node_free(rhs);
            return NULL;
        }
        n->op = b->op;
        n->a = lhs;
        n->b = rhs;
        lhs = finish(p, n);
    }
    return lhs;
}

/* Every nested expression (brackets, arguments, indexes) comes through here. */
static node *parse_expr(parser *p)
{
    if (++p->depth > MAX_TREE_HEIGHT)
        return error_at(p, peek(p), "The expression is nested too deeply near");
    node *n = parse_level(p, 1);
    p->depth--;
    return n;
}

/* ---- statements ---- */

static void skip_separators(parser *p)
{
    while (peek(p)->kind == T_SEP)
        advance(p);
}

/* `{ statements }` */
static node *parse_block(parser *p)
{
    token *t = peek(p);
    if (expect(p, "{"))
        return NULL;
    node *blk = new_node(p, N_BLOCK, t);
    if (!blk)
        return NULL;
    for (;;) {
        skip_separators(p);
        if (is_op(peek(p), "}")) {
            advance(p);
            return finish(p, blk);
        }
        if (peek(p)->kind == T_EOF) {
            node_free(blk);
            return error_at(p, peek(p), "Missing closing bracket before");
        }
        if (add_kid(p, blk, parse_statement(p))) {
            node_free(blk);
            return NULL;
        }
    }
}

static node *parse_body(parser *p)
{
    skip_separators(p);
    if (++p->depth > MAX_TREE_HEIGHT)
        return error_at(p, peek(p), "The statement is nested too deeply near");
    node *n = is_op(peek(p), "{") ? parse_block(p) : parse_statement(p);
    p->depth--;
    return n;
}

static node *parse_def(parser *p)
{
    token *t = advance(p);
    int anonymous = is_op(peek(p), "(");      /* def(a, b){...}: a lambda (no name) */
    if (!anonymous && peek(p)->kind != T_IDENT)
        return error_at(p, peek(p), "Expecting a function name instead of");
    node *n = new_node(p, N_DEF, t);
    if (!n || (!anonymous && !(n->name = strdup(advance(p)->text))) || expect(p, "(")) {
        node_free(n);
        return NULL;
    }
    while (!is_op(peek(p), ")")) {
        if (is_word(peek(p), "mutable") && peek_at(p, 1)->kind == T_IDENT)
            advance(p);                 /* def f(mutable t): t may change in place */
        if (peek(p)->kind != T_IDENT) {
            node_free(n);
            return error_at(p, peek(p), "Expecting a parameter name instead of");
        }
        char **params = realloc(n->params, (size_t)(n->nparams + 1) * sizeof *params);
        if (!params) {
            node_free(n);
            return error_at(p, peek(p), "Out of memory near");
        }
        n->params = params;
        n->params[n->nparams++] = strdup(advance(p)->text);
        if (is_op(peek(p), ","))
            advance(p);
        else if (!is_op(peek(p), ")")) {
            node_free(n);
            return error_at(p, peek(p), "Unexpected token");
        }
    }
    advance(p);
    if (is_op(peek(p), ":")) {          /* def f(x): x + 1 */
        advance(p);
        node *ret = new_node(p, N_RETURN, peek(p));
        if (ret)
            ret->a = parse_expr(p);
        if (!ret || !ret->a) {
            node_free(ret);
            node_free(n);
            return NULL;
        }
        n->a = finish(p, ret);
    } else if (!(n->a = parse_block(p))) {
        node_free(n);
        return NULL;
    }
    return finish(p, n);
}

static node *parse_statement(parser *p)
{
    token *t = peek(p);
    if (is_word(t, "def"))
        return parse_def(p);
    if (is_word(t, "return")) {
        advance(p);
        node *n = new_node(p, N_RETURN, t);
        if (n && peek(p)->kind != T_SEP && peek(p)->kind != T_EOF && !is_op(peek(p), "}") &&
            !(n->a = parse_expr(p))) {
            node_free(n);
            return NULL;
        }
        return finish(p, n);
    }
    if (is_word(t, "if")) {
        advance(p);
        node *n = new_node(p, N_IF, t);
        if (!n || expect(p, "(") || !(n->a = parse_expr(p)) || expect(p, ")") ||
            !(n->b = parse_body(p))) {
            node_free(n);
            return NULL;
        }
        int save = p->pos;
        skip_separators(p);
        if (is_word(peek(p), "else")) {
            advance(p);
            if (!(n->c = parse_body(p))) {
                node_free(n);
                return NULL;
            }
        } else
            p->pos = save;
        return finish(p, n);
    }
    if ((is_word(t, "share") && peek_at(p, 1)->kind == T_IDENT) ||
        (is_word(t, "insert") && is_word(peek_at(p, 1), "into")))
        return parse_sql_statement(p);
    if (is_op(t, "{")) {
        if (++p->depth > MAX_TREE_HEIGHT)
            return error_at(p, t, "The statement is nested too deeply near");
        node *n = parse_block(p);
        p->depth--;
        return n;
    }
    if (t->kind == T_IDENT && is_op(peek_at(p, 1), "=")) {
        advance(p);
        advance(p);
        node *n = new_node(p, N_ASSIGN, t);
        if (!n || !(n->name = strdup(t->text)) || !(n->a = parse_expr(p))) {
            node_free(n);
            return NULL;
        }
        return finish(p, n);
    }
    return parse_expr(p);
}

static int setup(parser *p, const char *src, size_t len, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    p->src = src;
    p->err = err;
    p->errlen = errlen;
    return lex_script(src, len, &p->tl, err, errlen);
}

node *parse_script(const char *src, size_t len, char *err, size_t errlen)
{
    parser p;
    if (setup(&p, src, len, err, errlen))
        return NULL;
    node *blk = new_node(&p, N_BLOCK, peek(&p));
    while (blk) {
        skip_separators(&p);
        if (peek(&p)->kind == T_EOF)
            break;
        node *st = parse_statement(&p);
        if (!st || add_kid(&p, blk, st)) {
            node_free(blk);
            blk = NULL;
            break;
        }
        token *next = peek(&p);
        if (next->kind != T_SEP && next->kind != T_EOF) {
            error_at(&p, next, "Cannot recognize the token");
            node_free(blk);
            blk = NULL;
        }
    }
    token_list_free(&p.tl);
    return blk;
}

node *parse_callable(const char *src, size_t len, char *err, size_t errlen)
{
    parser p;
    if (setup(&p, src, len, err, errlen))
        return NULL;
    node *n = NULL;
    if (peek(&p)->kind == T_IDENT || is_op(peek(&p), "(")) {   /* name, name{..}, (def(..){..}){..} */
        n = parse_postfix(&p);
        if (n && (n->kind != N_VAR && n->kind != N_PARTIAL && n->kind != N_DEF)) {
            node_free(n);
            n = NULL;
        }
    }
    if (!p.failed && (!n || peek(&p)->kind != T_EOF)) {
        node_free(n);
        n = NULL;
        snprintf(err, errlen, "Can't recognize function name %.*s", (int)(len > 80 ? 80 : len), src);
    }
    token_list_free(&p.tl);
    return n;
}

#include "parser_sql.inc"
