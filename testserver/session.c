/* session.c — session ids, variables and user functions (see session.h). */
#include "session.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

int64_t session_new_id(void)
{
    uint64_t v = 0;
    while (v == 0) {
        if (getrandom(&v, sizeof v, 0) != sizeof v) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            v = (uint64_t)ts.tv_nsec * 6364136223846793005ULL + (uint64_t)ts.tv_sec;
        }
        v &= INT64_MAX;
    }
    return (int64_t)v;
}

void session_init(session *s)
{
    memset(s, 0, sizeof *s);
    s->id = session_new_id();
}

void vars_free(var_list *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->v[i].name);
        ddb_obj_unref(l->v[i].value);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

void session_free(session *s)
{
    vars_free(&s->vars);
    for (int i = 0; i < s->nfuncs; i++) {
        free(s->funcs[i].name);
        node_free(s->funcs[i].def);
    }
    free(s->funcs);
    for (int i = 0; i < s->nretired; i++)
        node_free(s->retired[i]);
    free(s->retired);
    free(s->parsed_src);
    node_free(s->parsed);
    memset(s, 0, sizeof *s);
}

node *session_parse(session *s, const char *src, size_t len)
{
    if (s->parsed && s->parsed_len == len && !memcmp(s->parsed_src, src, len))
        return s->parsed;
    free(s->parsed_src);
    node_free(s->parsed);
    s->parsed = NULL;
    s->parsed_src = malloc(len + 1);
    char err[256];
    node *tree = s->parsed_src ? parse_script(src, len, err, sizeof err) : NULL;
    if (!tree)
        return NULL;            /* the error message comes from the full parse later */
    memcpy(s->parsed_src, src, len);
    s->parsed_src[len] = 0;
    s->parsed_len = len;
    s->parsed = tree;
    return tree;
}

static var_entry *vars_find(var_list *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].name, name))
            return &l->v[i];
    return NULL;
}

ddb_obj *vars_get(var_list *l, const char *name)
{
    var_entry *e = vars_find(l, name);
    return e ? e->value : NULL;
}

int vars_set(var_list *l, const char *name, ddb_obj *value, uint64_t stamp)
{
    var_entry *e = vars_find(l, name);
    if (e) {
        ddb_obj_ref(value);
        ddb_obj_unref(e->value);
        e->value = value;
        return 0;
    }
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 8;
        var_entry *v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return -1;
    l->v[l->n++] = (var_entry){copy, ddb_obj_ref(value), stamp};
    return 0;
}

const node *session_func(session *s, const char *name)
{
    for (int i = 0; i < s->nfuncs; i++)
        if (!strcmp(s->funcs[i].name, name))
            return s->funcs[i].def;
    return NULL;
}

/* Keep a replaced definition until the session ends: the caller may be executing it
 * (`def f(){ def f(){...}; ... }`), so freeing it now would free the running body. */
static int retire(session *s, node *def)
{
    if (s->nretired == s->capretired) {
        int cap = s->capretired ? s->capretired * 2 : 4;
        node **r = realloc(s->retired, (size_t)cap * sizeof *r);
        if (!r)
            return -1;
        s->retired = r;
        s->capretired = cap;
    }
    s->retired[s->nretired++] = def;
    return 0;
}

int session_def(session *s, const char *name, node *def)
{
    for (int i = 0; i < s->nfuncs; i++)
        if (!strcmp(s->funcs[i].name, name)) {
            if (retire(s, s->funcs[i].def)) {
                node_free(def);
                return -1;
            }
            s->funcs[i].def = def;
            return 0;
        }
    if (s->nfuncs == s->capfuncs) {
        int cap = s->capfuncs ? s->capfuncs * 2 : 4;
        func_entry *f = realloc(s->funcs, (size_t)cap * sizeof *f);
        if (!f) {
            node_free(def);
            return -1;
        }
        s->funcs = f;
        s->capfuncs = cap;
    }
    char *copy = strdup(name);
    if (!copy) {
        node_free(def);
        return -1;
    }
    s->funcs[s->nfuncs++] = (func_entry){copy, def, s->request_no};
    return 0;
}

void session_release_created(session *s, uint64_t stamp)
{
    int j = 0;
    for (int i = 0; i < s->vars.n; i++) {
        if (s->vars.v[i].created_by == stamp) {
            free(s->vars.v[i].name);
            ddb_obj_unref(s->vars.v[i].value);
        } else
            s->vars.v[j++] = s->vars.v[i];
    }
    s->vars.n = j;
    j = 0;
    for (int i = 0; i < s->nfuncs; i++) {
        if (s->funcs[i].created_by == stamp) {
            free(s->funcs[i].name);
            node_free(s->funcs[i].def);
        } else
            s->funcs[j++] = s->funcs[i];
    }
    s->nfuncs = j;
}
