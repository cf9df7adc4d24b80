/* quick.c — which requests are evaluated on the loop thread.
 *
 * Handing a request to the thread pool and back costs far more than evaluating
 * `1+1`: a mutex and a condition variable to wake a pool thread, an async wake-up
 * of the loop, two context switches, and reading stopped and restarted. So a request
 * whose work is small and bounded runs on the loop thread at once. Anything that may
 * wait (sleep), recurse (user functions), generate data (1..n, take, rand, table...),
 * grow a value step by step (assignments: `x = x + x` doubles a string each time)
 * or touch a big value goes to the pool as before, so it never holds up other
 * connections. */
#include "server.h"
#include "eval.h"
#include "values.h"
#include "tables.h"

#include <string.h>

#define QUICK_MAX_SCRIPT 4096           /* longer scripts are parsed on the pool */
#define QUICK_MAX_VALUE (64 * 1024)     /* bytes a variable or argument may take */

static int small_value(const ddb_obj *o)
{
    int64_t n = obj_expanded_bytes(o, QUICK_MAX_VALUE);
    return n >= 0 && n <= QUICK_MAX_VALUE;
}

/* A built-in marked BI_QUICK, not shadowed by a user function of that name. */
static int quick_function(session *s, const char *name)
{
    const builtin *b = builtin_find(name);
    return b && (b->flags & BI_QUICK) && !session_func(s, name);
}

static int quick_node(session *s, const node *n);

static int quick_kids(session *s, const node *n)
{
    for (int i = 0; i < n->nkids; i++)
        if (!quick_node(s, n->kids[i]))
            return 0;
    return quick_node(s, n->a) && quick_node(s, n->b) && quick_node(s, n->c);
}

/* Every value a quick tree computes is at most as big as its literals plus the
 * variables it names, and every call in it is to a quick built-in. */
static int quick_node(session *s, const node *n)
{
    if (!n)
        return 1;
    switch (n->kind) {
    case N_CONST:
        return 1;               /* a literal: bounded by the script's length */
    case N_VAR: {
        const ddb_obj *v = vars_get(&s->vars, n->name);
        if (v)
            return small_value(v);
        ddb_obj *shared = tables_shared_handle(n->name);   /* any size: the pool */
        ddb_obj_unref(shared);
        return shared == NULL;
    }
    case N_SQL:
        return 0;               /* scans a table of any size */
    case N_DEF:
        return 1;               /* defining copies the body; calls are what may last */
    case N_ASSIGN:
        return 0;
    case N_BINARY:
        return n->op != OP_RANGE && quick_kids(s, n);
    case N_CALL:
        if (n->a->kind == N_VAR && !quick_function(s, n->a->name))
            return 0;
        return quick_kids(s, n);
    case N_PARTIAL:
        return n->a && n->a->kind == N_VAR && quick_function(s, n->a->name) && quick_kids(s, n);
    default:
        return quick_kids(s, n);
    }
}

/* A function request by plain name with small arguments. */
static int quick_function_request(session *s, const request *r)
{
    for (const char *p = r->name; *p; p++)
        if (!(*p == '_' || (*p >= '0' && *p <= '9') || ((*p | 32) >= 'a' && (*p | 32) <= 'z')))
            return 0;           /* a partial application such as add{1}: the pool */
    for (int i = 0; i < r->ngot; i++)
        if (!small_value(r->objs[i]))
            return 0;
    return quick_function(s, r->name);
}

int request_prepare(session *s, request *r)
{
    r->ast = NULL;
    if (r->error[0] || r->cmd == CMD_CONNECT || r->cmd == CMD_VARIABLE)
        return 1;               /* an error line, a login, references to values */
    if (r->b.client_id[0] && r->b.seq_no < 0)
        return 0;               /* an HA retry decodes a cached result of any size */
    if (r->cmd == CMD_FUNCTION)
        return quick_function_request(s, r);
    if (r->script_len > QUICK_MAX_SCRIPT)
        return 0;
    r->ast = session_parse(s, r->script, r->script_len);
    if (!r->ast)
        return 1;               /* a syntax error: the full parse words it */
    return quick_node(s, r->ast);
}
