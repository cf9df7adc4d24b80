/* session.h — one session per connection: its id, its variables, its user
 * functions and who is logged in. Only the connection's current request touches a
 * session, so no lock is needed here. */
#ifndef DDBMINI_SESSION_H
#define DDBMINI_SESSION_H

#include <stdint.h>
#include "ast.h"
#include "ddb_obj.h"

typedef struct var_entry {
    char *name;
    ddb_obj *value;
    uint64_t created_by;        /* request number that created it (clearMemory) */
} var_entry;

typedef struct var_list {
    var_entry *v;
    int n, cap;
} var_list;

typedef struct func_entry {
    char *name;
    node *def;                  /* N_DEF, owned */
    uint64_t created_by;
} func_entry;

typedef struct session {
    int64_t id;                 /* random, positive, below 2^63 */
    var_list vars;
    func_entry *funcs;
    int nfuncs, capfuncs;
    node **retired;             /* replaced definitions: a function body may redefine
                                   itself while it runs, so old bodies live until the
                                   session ends */
    int nretired, capretired;
    char user[64];              /* "" when not logged in */
    int is_admin;
    uint64_t request_no;        /* counts requests, stamps created variables */
    /* the last short script, kept parsed: clients repeat their scripts, and
     * evaluation only reads a tree. Only this session's requests (one at a time)
     * use it, so the constants it shares with variables stay on one thread. */
    char *parsed_src;
    size_t parsed_len;
    node *parsed;
} session;

int64_t session_new_id(void);
void session_init(session *s);
void session_free(session *s);
/* The tree of a script from the one-entry cache, parsing it on a miss. Borrowed:
 * valid until the next call. NULL when it does not parse (or no memory). */
node *session_parse(session *s, const char *src, size_t len);

ddb_obj *vars_get(var_list *l, const char *name);           /* borrowed */
int vars_set(var_list *l, const char *name, ddb_obj *value, uint64_t stamp); /* refs value */
void vars_free(var_list *l);

const node *session_func(session *s, const char *name);
int session_def(session *s, const char *name, node *def);   /* takes def */
/* Drops variables and functions created by request `stamp` (clearMemory). */
void session_release_created(session *s, uint64_t stamp);

#endif
