/* eval.h — the tree evaluator and the built-in function table.
 *
 * Values are ddb_obj references. A statement or call may produce "nothing" (e.g.
 * an assignment or sleep()): *out is then NULL with status 0. Errors return -1 with
 * a one-line message in ctx->err worded like the real server's. */
#ifndef DDBMINI_EVAL_H
#define DDBMINI_EVAL_H

#include <stddef.h>
#include "ast.h"
#include "ddb_buf.h"
#include "mini.h"
#include "session.h"

typedef struct eval_ctx {
    session *sess;
    int api2;                   /* print() output becomes MSG blocks */
    ddb_buf *msgs;              /* "MSG\n<text>\0" blocks, NULL: discard */
    /* when set, called after each print to send the blocks in msgs right away
     * (the server writes them while the request is still running) */
    void (*flush_msgs)(void *arg, ddb_buf *msgs);
    void *flush_arg;
    const char *src;            /* current script text (errors quote it) */
    mini_job *job;              /* cancellation flag; may be NULL */
    var_list *locals;           /* inside a user function; NULL at top level */
    int depth;
    int returning;              /* a `return` is unwinding */
    ddb_obj *retval;
    int err_quoted;             /* the message already carries "expr => " */
    var_list *columns;          /* inside select/exec: the table's columns by name */
    char err[1024];
} eval_ctx;

enum {
    BI_ADMIN = 1,               /* only an administrator may call it */
    BI_NO_LOGIN = 2,            /* allowed before login with --require-login */
    BI_CONTROL = 4,             /* test hooks: exempt from faults and NotLeader */
    BI_QUICK = 8,               /* cost bounded by its arguments' size, never waits:
                                   may run on the loop thread (see quick.c) */
    BI_TABLES = 16              /* takes shared/DFS table handles as they are (tables.h);
                                   other built-ins get a snapshot copy */
};

typedef struct builtin {
    const char *name;
    int min_args, max_args;
    unsigned flags;
    /* labels[i]: `as` name or the variable name of argument i, else NULL */
    int (*fn)(eval_ctx *ctx, ddb_obj **args, int nargs, const char *const *labels,
              ddb_obj **out);
} builtin;

const builtin *builtin_find(const char *name);
extern const builtin builtins_core[], builtins_data[], builtins_server[], builtins_tables[];

int ctx_error(eval_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ctx_oom(eval_ctx *ctx);
/* Sleeps in slices, failing when the job is cancelled. */
int ctx_sleep(eval_ctx *ctx, int64_t ms);
int ctx_print(eval_ctx *ctx, const ddb_obj *o);

/* Runs a parsed script; *out is the value of the last expression statement. */
int eval_block(eval_ctx *ctx, node *script, ddb_obj **out);
int eval_script(eval_ctx *ctx, const char *text, size_t len, ddb_obj **out);
/* Calls a function by callable text (function request): name or partial. */
int eval_function_request(eval_ctx *ctx, const char *callable, ddb_obj **args, int nargs,
                          ddb_obj **out);
/* Calls a function given its name with evaluated arguments. */
int call_named(eval_ctx *ctx, const char *name, ddb_obj **args, int nargs,
               const char *const *labels, ddb_obj **out);

/* 1 if every top-level statement is a call to a built-in with all `flags`
 * (used to let login/fault-control scripts through). */
int script_only_calls(const node *script, unsigned flags);

/* Evaluates one expression node (sql.c evaluates select items with it). */
int eval_expr(eval_ctx *ctx, node *n, ddb_obj **out);
/* Casts a scalar or vector to type `to` as the cast built-ins do (builtins_data.c). */
int value_cast(eval_ctx *ctx, const ddb_obj *x, int to, ddb_obj **out);
/* ---- select/exec (sql.c) ---- */
int sql_eval(eval_ctx *ctx, node *n, ddb_obj **out);

/* ---- operators (ops.c) ---- */
int op_binary(eval_ctx *ctx, int op, const ddb_obj *a, const ddb_obj *b, ddb_obj **out);
int op_unary(eval_ctx *ctx, int op, const ddb_obj *a, ddb_obj **out);
/* Builds a vector from scalars ([a,b,c], `1 2 3`); mixed types give ANY. */
int make_vector(eval_ctx *ctx, ddb_obj **items, int n, ddb_obj **out);

#endif
