/* lua_args.h — what the Lua pool binding (lua_pool.c) reads from Lua and hands back
 * to it: config tables, task arguments and outcomes. */
#ifndef DDB_LUA_ARGS_H
#define DDB_LUA_ARGS_H

#include "lua.h"
#include "dolphindb.h"
#include "lua_options.h"

/* Reads a task from the arguments at 2..top: (text[, args[, id[, options[, names]]]]),
 * nil or absent meaning the default; options is the user's table (lua_options.h).
 * `args` is a list (field n counts trailing nils) that selects a function call; its
 * values are converted into objects. `names` (a list of strings, one per value of
 * args) makes the task an upload binding names[i] = args[i]; text then only labels
 * the task in messages. Raises on misuse, holding nothing; on return release the
 * arguments with ddb_lua_task_args_free(spec). */
void ddb_lua_read_task(lua_State *L, int top, ddb_task_spec *spec);
void ddb_lua_task_args_free(ddb_task_spec *spec);

/* Pushes the error value of a failed task: a table {kind, message, task_id,
 * server_error, state} (dolphindb.errors gives it its metatable). `conv_error` set:
 * the task succeeded but its result could not become a Lua value (kind "result").
 * Returns 1. */
int ddb_lua_push_failure(lua_State *L, ddb_task *t, const char *conv_error);

/* Pushes true, value | false, error table (above) for a terminal task: DONE gives the
 * result (converted as the DDB_LUA_* flags in `conv` say; the task lets go of it), a
 * result that cannot become a Lua value is a failure, anything else the task's error.
 * Returns 2. */
int ddb_lua_push_outcome(lua_State *L, ddb_task *t, int conv);

/* Pushes the task's print() lines as a list and returns 1, or pushes nothing and
 * returns 0 when there are none (the common case costs no table). */
int ddb_lua_push_messages(lua_State *L, ddb_task *t);

/* t[k] = v on the table at the top of the stack: the fields of the stats() and
 * info tables the pool and subscription bindings hand back. */
void ddb_lua_set_int(lua_State *L, const char *k, int64_t v);
void ddb_lua_set_str(lua_State *L, const char *k, const char *v);

#endif
