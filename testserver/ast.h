/* ast.h — the syntax tree of ddbmini's DolphinDB script subset.
 *
 * The lexer turns script text into tokens (literal values are already ddb_obj
 * constants), the parser builds this tree, the evaluator walks it. Every node
 * remembers its line and the source span it came from so errors can quote the
 * offending expression the way the real server does ("add(1) => ..."). */
#ifndef DDBMINI_AST_H
#define DDBMINI_AST_H

#include <stddef.h>
#include "ddb_obj.h"

typedef enum node_kind {
    N_CONST,      /* value */
    N_VAR,        /* name */
    N_VECTOR,     /* [a, b, ...]: kids */
    N_TUPLE,      /* (a, b, ...): kids -> ANY vector */
    N_UNARY,      /* op a */
    N_BINARY,     /* a op b */
    N_CALL,       /* callee(kids): callee is N_VAR or N_PARTIAL */
    N_PARTIAL,    /* name{kids}: partial application */
    N_INDEX,      /* a[b] */
    N_AS,         /* a as name (column naming inside calls) */
    N_ASSIGN,     /* name = a */
    N_DEF,        /* def name(params) { body } */
    N_RETURN,     /* return a (a may be NULL) */
    N_IF,         /* if (a) b else c */
    N_BLOCK,      /* kids: statements */
    N_SQL         /* select/exec (op 0/1): kids columns, a from, b where, c clauses (sql.c) */
} node_kind;

/* N_AS with op NODE_NAMED is a named argument `name=expr`; N_CONST with op
 * NODE_SLOT is an empty slot of a partial application `f{t,,x}` that the first
 * call argument fills. */
#define NODE_NAMED 1
#define NODE_SLOT 1

/* Operator codes for N_UNARY / N_BINARY. */
enum {
    OP_ADD = 1, OP_SUB, OP_MUL, OP_DIV, OP_MOD, OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT,
    OP_GE, OP_AND, OP_OR, OP_NOT, OP_NEG, OP_PAIR, OP_RANGE
};

typedef struct node node;
struct node {
    node_kind kind;
    int op;
    int line;
    size_t src_off, src_len;   /* span in the script text */
    char *name;
    ddb_obj *value;
    node *a, *b, *c;
    node **kids;
    int nkids;
    char **params;
    int nparams;
    int height;                /* 1 + the tallest child: bounds every recursion over trees */
};

/* Deepest tree the parser builds; deeper scripts get a syntax error instead of
 * exhausting a thread's stack in the parser, evaluator or node_free. */
#define MAX_TREE_HEIGHT 400

void node_free(node *n);
/* Deep copy (used to keep user function bodies beyond the script that defined them). */
node *node_clone(const node *n);

/* ---- lexer ---- */
typedef enum tok_kind {
    T_EOF, T_CONST, T_IDENT, T_OP, T_SEP   /* T_SEP: ';' or a newline at depth 0 */
} tok_kind;

typedef struct token {
    tok_kind kind;
    char op[3];             /* T_OP: "+", "==", "..", "(", ... */
    char *text;             /* T_IDENT name */
    ddb_obj *value;         /* T_CONST */
    int line;
    size_t off, len;
    int space_before;       /* whitespace precedes the token (vector literal `1 2 3`) */
} token;

typedef struct token_list {
    token *v;
    int n, cap;
} token_list;

/* Returns 0, or -1 with a message in err (worded like the server's syntax errors). */
int lex_script(const char *src, size_t len, token_list *out, char *err, size_t errlen);
void token_list_free(token_list *tl);

/* ---- parser ---- */
/* Parses a whole script into an N_BLOCK. Returns NULL with err filled on failure. */
node *parse_script(const char *src, size_t len, char *err, size_t errlen);
/* Parses a function-request name: an identifier or a partial application
 * such as `tableInsert{t}`. */
node *parse_callable(const char *src, size_t len, char *err, size_t errlen);

#endif
