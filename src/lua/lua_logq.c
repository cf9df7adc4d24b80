/* lua_logq.c — a pool's event-log lines waiting for Lua (lua_logq.h). */
#include "lua_logq.h"

#include <stdlib.h>
#include <string.h>

static int grow(lua_logq *q)
{
    size_t cap = q->cap ? q->cap * 2 : 16;
    char **msgs = realloc(q->msgs, cap * sizeof *msgs);
    if (!msgs) return -1;
    q->msgs = msgs;
    unsigned char *levels = realloc(q->levels, cap);
    if (!levels) return -1;
    q->levels = levels;
    q->cap = cap;
    return 0;
}

void lua_logq_push(lua_logq *q, int level, const char *msg)
{
    char *copy = NULL;
    if (q->n < LUA_LOGQ_MAX && (q->n < q->cap || grow(q) == 0)) copy = strdup(msg);
    if (!copy) {
        q->dropped++;
        return;
    }
    q->msgs[q->n] = copy;
    q->levels[q->n] = (unsigned char)level;
    q->n++;
}

int lua_logq_take(lua_State *L, lua_logq *q)
{
    if (q->n == 0 && q->dropped == 0) return 0;
    lua_createtable(L, (int)(2 * q->n), 0);
    for (size_t i = 0; i < q->n; i++) {
        lua_pushinteger(L, q->levels[i]);
        lua_rawseti(L, -2, (int)(2 * i + 1));
        lua_pushstring(L, q->msgs[i]);
        lua_rawseti(L, -2, (int)(2 * i + 2));
    }
    lua_pushnumber(L, (lua_Number)q->dropped);
    /* Only now, every line being in Lua: had a push raised (out of memory), the
     * lines are still queued for the next take. */
    for (size_t i = 0; i < q->n; i++) free(q->msgs[i]);
    q->n = 0;
    q->dropped = 0;
    return 2;
}

void lua_logq_free(lua_logq *q)
{
    for (size_t i = 0; i < q->n; i++) free(q->msgs[i]);
    free(q->msgs);
    free(q->levels);
    memset(q, 0, sizeof *q);
}
