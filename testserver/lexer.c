/* lexer.c — script text to tokens. Literal values (numbers with their type
 * suffixes, temporal literals, strings, symbols) become ddb_obj constants here, so
 * the parser only deals with shapes. */
#include "ast.h"
#include "ddb_text.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lexer {
    const char *s;
    size_t len, pos;
    int line;
    int depth;              /* ( and [ nesting: newlines inside are not separators */
    token_list *out;
    char *err;
    size_t errlen;
} lexer;

void token_list_free(token_list *tl)
{
    for (int i = 0; i < tl->n; i++) {
        free(tl->v[i].text);
        ddb_obj_unref(tl->v[i].value);
    }
    free(tl->v);
    tl->v = NULL;
    tl->n = tl->cap = 0;
}

static token *push(lexer *lx, tok_kind kind, size_t off, int space_before)
{
    token_list *tl = lx->out;
    if (tl->n == tl->cap) {
        int cap = tl->cap ? tl->cap * 2 : 32;
        token *v = realloc(tl->v, (size_t)cap * sizeof *v);
        if (!v)
            return NULL;
        tl->v = v;
        tl->cap = cap;
    }
    token *t = &tl->v[tl->n++];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->line = lx->line;
    t->off = off;
    t->len = lx->pos - off;
    t->space_before = space_before;
    return t;
}

static int fail(lexer *lx, const char *what, size_t off, size_t n)
{
    if (n > 60)
        n = 60;
    snprintf(lx->err, lx->errlen, "Syntax Error: [line #%d] %s %.*s", lx->line, what,
             (int)n, lx->s + off);
    return -1;
}

static int oom(lexer *lx)
{
    snprintf(lx->err, lx->errlen, "Out of memory");
    return -1;
}

/* ---- temporal literal shapes ---- */

static int digits(const char *s, size_t len, size_t at, size_t n)
{
    if (at + n > len)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[at + i]))
            return 0;
    return 1;
}

/* Classifies the text as a temporal literal by its exact shape; -1 if it is not
 * one. Shapes: yyyy.MM.dd, yyyy.MMM, HH:mmm, HH:mm:ss[.fff|.fffffffff],
 * date'T'HH, date'T'HH:mm:ss[.fff|.fffffffff]. */
static int temporal_shape(const char *s, size_t n)
{
    int is_date = n >= 10 && digits(s, n, 0, 4) && s[4] == '.' && digits(s, n, 5, 2) &&
                  s[7] == '.' && digits(s, n, 8, 2);
    if (n == 8 && digits(s, n, 0, 4) && s[4] == '.' && digits(s, n, 5, 2) && s[7] == 'M')
        return DDB_MONTH;
    if (n == 6 && digits(s, n, 0, 2) && s[2] == ':' && digits(s, n, 3, 2) && s[5] == 'm')
        return DDB_MINUTE;
    const char *t = s;
    size_t tn = n;
    if (is_date) {
        if (n == 10)
            return DDB_DATE;
        if (s[10] != 'T')
            return -1;
        t = s + 11;
        tn = n - 11;
        if (tn == 2 && digits(t, tn, 0, 2))
            return DDB_DATEHOUR;
    }
    if (!(tn >= 8 && digits(t, tn, 0, 2) && t[2] == ':' && digits(t, tn, 3, 2) && t[5] == ':' &&
          digits(t, tn, 6, 2)))
        return -1;
    if (tn == 8)
        return is_date ? DDB_DATETIME : DDB_SECOND;
    if (t[8] != '.')
        return -1;
    if (tn == 12 && digits(t, tn, 9, 3))
        return is_date ? DDB_TIMESTAMP : DDB_TIME;
    if (tn == 18 && digits(t, tn, 9, 9))
        return is_date ? DDB_NANOTIMESTAMP : DDB_NANOTIME;
    return -1;
}

static int lex_temporal(lexer *lx, size_t start, int space)
{
    /* longest run of characters a temporal literal can contain */
    size_t e = start;
    while (e < lx->len) {
        char c = lx->s[e];
        if (isdigit((unsigned char)c) || c == ':' || c == 'T' ||
            (c == '.' && !(e + 1 < lx->len && lx->s[e + 1] == '.')))
            e++;
        else if (c == 'M' || c == 'm') {
            e++;
            break;
        } else
            break;
    }
    /* try the run and its shorter prefixes ending at a field boundary */
    for (size_t end = e; end > start; end--) {
        int type = temporal_shape(lx->s + start, end - start);
        if (type < 0)
            continue;
        if (end < lx->len && (isalnum((unsigned char)lx->s[end]) || lx->s[end] == '_'))
            continue;
        int64_t v;
        if (ddb_parse_temporal(type, lx->s + start, end - start, &v) != 0)
            return fail(lx, "Invalid temporal literal", start, end - start);
        lx->pos = end;
        ddb_obj *o = ddb_int_new(type, v);
        token *t = o ? push(lx, T_CONST, start, space) : NULL;
        if (!t) {
            ddb_obj_unref(o);
            return oom(lx);
        }
        t->value = o;
        return 1;
    }
    return 0;
}

static int lex_number(lexer *lx, int space)
{
    size_t start = lx->pos;
    int r = lex_temporal(lx, start, space);
    if (r != 0)
        return r < 0 ? -1 : 0;
    const char *s = lx->s;
    size_t p = start;
    int is_float = 0;
    while (p < lx->len && isdigit((unsigned char)s[p]))
        p++;
    if (p < lx->len && s[p] == '.' && !(p + 1 < lx->len && s[p + 1] == '.')) {
        is_float = 1;
        p++;
        while (p < lx->len && isdigit((unsigned char)s[p]))
            p++;
    }
    if (p < lx->len && (s[p] == 'e' || s[p] == 'E')) {
        size_t q = p + 1;
        if (q < lx->len && (s[q] == '+' || s[q] == '-'))
            q++;
        if (q < lx->len && isdigit((unsigned char)s[q])) {
            is_float = 1;
            p = q;
            while (p < lx->len && isdigit((unsigned char)s[p]))
                p++;
        }
    }
    char suffix = 0;
    if (p < lx->len && strchr("lhcfLHCF", s[p]) &&
        !(p + 1 < lx->len && (isalnum((unsigned char)s[p + 1]) || s[p + 1] == '_')))
        suffix = (char)tolower((unsigned char)s[p++]);
    if (p < lx->len && (isalpha((unsigned char)s[p]) || s[p] == '_'))
        return fail(lx, "Cannot recognize the token", start, p + 1 - start);
    char buf[64];
    size_t n = p - start - (suffix ? 1 : 0);
    if (n >= sizeof buf)
        return fail(lx, "Cannot recognize the token", start, p - start);
    memcpy(buf, s + start, n);
    buf[n] = 0;
    ddb_obj *o = NULL;
    errno = 0;
    if (is_float || suffix == 'f') {
        double d = strtod(buf, NULL);
        o = ddb_double_new(suffix == 'f' ? DDB_FLOAT : DDB_DOUBLE, d);
    } else {
        long long v = strtoll(buf, NULL, 10);
        if (errno == ERANGE)
            return fail(lx, "Integer literal out of range:", start, p - start);
        int type = DDB_INT;
        if (suffix == 'l' || v > INT32_MAX)
            type = DDB_LONG;
        else if (suffix == 'h')
            type = DDB_SHORT;
        else if (suffix == 'c')
            type = DDB_CHAR;
        if ((type == DDB_SHORT && v > INT16_MAX) || (type == DDB_CHAR && v > INT8_MAX))
            return fail(lx, "Integer literal out of range:", start, p - start);
        o = ddb_int_new(type, v);
    }
    lx->pos = p;
    token *t = o ? push(lx, T_CONST, start, space) : NULL;
    if (!t) {
        ddb_obj_unref(o);
        return oom(lx);
    }
    t->value = o;
    return 0;
}

/* "..." or '...' with backslash escapes. A single character in single quotes is
 * a CHAR, as in DolphinDB ('a' is CHAR 97); anything else is a STRING. */
static int lex_string(lexer *lx, int space)
{
    size_t start = lx->pos;
    char q = lx->s[lx->pos++];
    char *buf = malloc(lx->len - start + 1);
    if (!buf)
        return oom(lx);
    size_t n = 0;
    while (lx->pos < lx->len && lx->s[lx->pos] != q) {
        char c = lx->s[lx->pos++];
        if (c == '\n')
            lx->line++;
        if (c == '\\' && lx->pos < lx->len) {
            c = lx->s[lx->pos++];
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c == '0' ? 0 : c;
        }
        buf[n++] = c;
    }
    if (lx->pos >= lx->len) {
        free(buf);
        return fail(lx, "Unterminated string", start, lx->len - start);
    }
    lx->pos++;
    ddb_obj *o;
    if (q == '\'' && n == 1)
        o = ddb_int_new(DDB_CHAR, (unsigned char)buf[0]);
    else
        o = ddb_string_new(DDB_STRING, buf, n);
    free(buf);
    token *t = o ? push(lx, T_CONST, start, space) : NULL;
    if (!t) {
        ddb_obj_unref(o);
        return oom(lx);
    }
    t->value = o;
    return 0;
}

/* `a -> SYMBOL scalar; `a`b`c -> SYMBOL vector (a single `a` followed by nothing is
 * a scalar, as in DolphinDB). */
static int lex_symbol(lexer *lx, int space)
{
    size_t start = lx->pos;
    ddb_obj *vec = ddb_vector_new(DDB_SYMBOL, 0);
    if (!vec)
        return oom(lx);
    int count = 0;
    while (lx->pos < lx->len && lx->s[lx->pos] == '`') {
        size_t b = ++lx->pos;
        while (lx->pos < lx->len &&
               (isalnum((unsigned char)lx->s[lx->pos]) || lx->s[lx->pos] == '_' ||
                lx->s[lx->pos] == '.'))
            lx->pos++;
        if (ddb_symbol_append(vec, lx->s + b, lx->pos - b) != 0) {
            ddb_obj_unref(vec);
            return oom(lx);
        }
        count++;
    }
    ddb_obj *o = vec;
    if (count == 1) {
        size_t n;
        const char *str = ddb_str_at(vec, 0, &n);
        o = ddb_string_new(DDB_SYMBOL, str, n);
        ddb_obj_unref(vec);
    }
    token *t = o ? push(lx, T_CONST, start, space) : NULL;
    if (!t) {
        ddb_obj_unref(o);
        return oom(lx);
    }
    t->value = o;
    return 0;
}

static const char *const OPS2[] = {"==", "!=", "<>", "<=", ">=", "&&", "||", "..", NULL};

static int lex_op(lexer *lx, int space)
{
    size_t start = lx->pos;
    const char *s = lx->s + lx->pos;
    size_t rest = lx->len - lx->pos;
    char op[3] = {0};
    for (int i = 0; OPS2[i]; i++)
        if (rest >= 2 && s[0] == OPS2[i][0] && s[1] == OPS2[i][1]) {
            memcpy(op, OPS2[i], 2);
            break;
        }
    if (!op[0]) {
        if (s[0] == 0 || !strchr("+-*/%<>!=:,()[]{}.", s[0]))   /* strchr matches the NUL */
            return fail(lx, "Cannot recognize the token", start, 1);
        op[0] = s[0];
    }
    lx->pos += strlen(op);
    if (op[0] == '(' || op[0] == '[')
        lx->depth++;
    else if ((op[0] == ')' || op[0] == ']') && lx->depth > 0)
        lx->depth--;
    token *t = push(lx, T_OP, start, space);
    if (!t)
        return oom(lx);
    memcpy(t->op, op, sizeof op);
    return 0;
}

static int lex_ident(lexer *lx, int space)
{
    size_t start = lx->pos;
    while (lx->pos < lx->len && (isalnum((unsigned char)lx->s[lx->pos]) || lx->s[lx->pos] == '_'))
        lx->pos++;
    /* append!, upsert!: a trailing `!` belongs to the name unless it starts `!=` */
    if (lx->pos < lx->len && lx->s[lx->pos] == '!' &&
        !(lx->pos + 1 < lx->len && lx->s[lx->pos + 1] == '='))
        lx->pos++;
    size_t n = lx->pos - start;
    if ((n == 4 && !memcmp(lx->s + start, "true", 4)) || (n == 5 && !memcmp(lx->s + start, "false", 5))) {
        ddb_obj *o = ddb_int_new(DDB_BOOL, n == 4);     /* BOOL literals, also in `true false` */
        token *t = o ? push(lx, T_CONST, start, space) : NULL;
        if (!t) {
            ddb_obj_unref(o);
            return oom(lx);
        }
        t->value = o;
        return 0;
    }
    token *t = push(lx, T_IDENT, start, space);
    if (!t || !(t->text = strndup(lx->s + start, n)))
        return oom(lx);
    return 0;
}

static void skip_comment(lexer *lx)
{
    if (lx->s[lx->pos + 1] == '/') {
        while (lx->pos < lx->len && lx->s[lx->pos] != '\n')
            lx->pos++;
        return;
    }
    lx->pos += 2;
    while (lx->pos + 1 < lx->len && !(lx->s[lx->pos] == '*' && lx->s[lx->pos + 1] == '/')) {
        if (lx->s[lx->pos] == '\n')
            lx->line++;
        lx->pos++;
    }
    lx->pos = lx->pos + 2 <= lx->len ? lx->pos + 2 : lx->len;
}

int lex_script(const char *src, size_t len, token_list *out, char *err, size_t errlen)
{
    lexer lx = {.s = src, .len = len, .line = 1, .out = out, .err = err, .errlen = errlen};
    memset(out, 0, sizeof *out);
    int space = 1;
    while (lx.pos < lx.len) {
        char c = src[lx.pos];
        int rc = 0;
        if (c == '\n') {
            if (lx.depth == 0 && !push(&lx, T_SEP, lx.pos, 1))
                rc = oom(&lx);
            lx.pos++;
            lx.line++;
            space = 1;
            if (rc)
                break;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r') {
            lx.pos++;
            space = 1;
            continue;
        }
        if (c == '/' && lx.pos + 1 < lx.len && (src[lx.pos + 1] == '/' || src[lx.pos + 1] == '*')) {
            skip_comment(&lx);
            space = 1;
            continue;
        }
        if (c == ';') {
            lx.pos++;
            rc = push(&lx, T_SEP, lx.pos - 1, space) ? 0 : oom(&lx);
        } else if (isdigit((unsigned char)c) ||
                   (c == '.' && lx.pos + 1 < lx.len && isdigit((unsigned char)src[lx.pos + 1])))
            rc = lex_number(&lx, space);
        else if (c == '"' || c == '\'')
            rc = lex_string(&lx, space);
        else if (c == '`')
            rc = lex_symbol(&lx, space);
        else if (isalpha((unsigned char)c) || c == '_')
            rc = lex_ident(&lx, space);
        else if ((unsigned char)c >= 0x80)
            rc = fail(&lx, "Cannot recognize the token", lx.pos, 1);
        else
            rc = lex_op(&lx, space);
        if (rc) {
            token_list_free(out);
            return -1;
        }
        space = 0;
    }
    if (!push(&lx, T_EOF, lx.pos, 1)) {
        token_list_free(out);
        return oom(&lx);
    }
    return 0;
}
