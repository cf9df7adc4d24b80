/* lua_logq.h — a pool's event-log lines waiting for Lua.
 *
 * The core hands a log line to its hook inside the loop's callbacks or inside a core
 * call (dolphindb.h, ddb_log_cb), where no Lua may run: a user's logger could raise
 * through the core or re-enter it. So the hook only appends the line here and marks
 * the loop (ddb_lua_loop_log_mark); the scheduler then sees ticket 0 among the
 * completions and dolphindb.log takes the lines (pool:log_take) and calls the logger
 * from Lua. Bounded: past LUA_LOGQ_MAX lines a logger that never runs costs a count,
 * not memory. */
#ifndef DDB_LUA_LOGQ_H
#define DDB_LUA_LOGQ_H

#include <stddef.h>
#include <stdint.h>
#include "lua.h"

#define LUA_LOGQ_MAX 1000

typedef struct lua_logq {
    char **msgs;                /* malloc'd lines, oldest first */
    unsigned char *levels;      /* DDB_LOG_* of each */
    size_t n, cap;
    int64_t dropped;            /* lines lost to the bound or to memory since the last take */
} lua_logq;

/* Appends a copy of msg (never fails: a line that cannot be kept is counted). */
void lua_logq_push(lua_logq *q, int level, const char *msg);

/* Pushes {level1, msg1, level2, msg2, ...} (levels as numbers) and the dropped count,
 * and empties the queue; pushes nothing and returns 0 when it is empty. */
int lua_logq_take(lua_State *L, lua_logq *q);

void lua_logq_free(lua_logq *q);

#endif
