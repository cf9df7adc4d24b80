/* lua_sub.c — the subscription userdata of dolphindb.core over src/pool/ddb_sub.h.
 *
 *   core.sub_new(conn, table, action, offset, filter, resub, batch_size, throttle_s,
 *                max_queued_rows) -> sub
 *       conn: the connection options under the pool's names (host, port, userid,
 *       password, loginMethod, connectTimeout, keepAliveTime, reconnectDelay, enableSSL,
 *       sslVerify, sslCAFile, sslServerName, maxResultBytes), read by the pool's own
 *       reader (lua_options.c); filter: a Lua value or nil.
 *   sub:arm() -> ticket | nil      a ticket that completes at the next event (rows
 *                                  waiting, subscribed, dead); nil: one is due now
 *   sub:take([conv]) -> table, rows, last_offset, messages | nil
 *   sub:status() -> state name, subscribed (boolean), last error ("" none)
 *   sub:stats() -> table
 *   sub:close()                    nothing is delivered after it
 *
 * As with tasks (lua_loop.h), the core's notify only completes a ticket: Lua runs
 * later, from the scheduler. The userdata is attached to the loop, so closing the Lua
 * state closes the subscription before the loop goes. */
#include "lua_sub.h"

#include <string.h>

#include "lauxlib.h"
#include "dolphindb.h"
#include "ddb_sub.h"
#include "lua_args.h"
#include "lua_loop.h"
#include "lua_options.h"
#include "lua_value.h"

#define SUB_MT "dolphindb.subscription"

typedef struct lua_sub {
    ddb_sub *sub;           /* NULL once closed */
    ddb_lua_loop *loop;
    double ticket;          /* armed ticket, 0 none */
    int due;                /* an event came while no ticket was armed */
} lua_sub;

static void on_notify(void *ud)
{
    lua_sub *ls = ud;
    if (!ls->ticket) {
        ls->due = 1;
        return;
    }
    ddb_lua_ticket_complete(ls->loop, ls->ticket);
    ls->ticket = 0;
}

/* Closes the core subscription; an armed ticket completes (its waiter sees "closed"). */
static void sub_release(lua_sub *ls)
{
    if (!ls->sub) return;
    ddb_sub_close(ls->sub);
    ls->sub = NULL;
    ddb_lua_loop_detach(ls->loop, ls);
    if (ls->ticket) ddb_lua_ticket_complete(ls->loop, ls->ticket);
    ls->ticket = 0;
}

static void sub_closer(void *obj)
{
    lua_sub *ls = obj;
    if (!ls->sub) return;
    ddb_sub_close(ls->sub);     /* the loop is going: no ticket to complete */
    ls->sub = NULL;
    ls->ticket = 0;
}

static lua_sub *check_sub(lua_State *L)
{
    return luaL_checkudata(L, 1, SUB_MT);
}

static lua_sub *check_open(lua_State *L)
{
    lua_sub *ls = check_sub(L);
    if (!ls->sub) luaL_error(L, "dolphindb: the subscription is closed");
    return ls;
}

static double opt_number(lua_State *L, int idx, double dflt)
{
    return lua_isnoneornil(L, idx) ? dflt : luaL_checknumber(L, idx);
}

/* Reads the arguments of sub_new into cfg (the connection part through pool_cfg). */
static void read_cfg(lua_State *L, ddb_pool_config *pc, ddb_sub_cfg *c, ddb_tls_opts *tls)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    ddb_lua_read_pool_config(L, 1, pc);
    *c = (ddb_sub_cfg){
        .host = pc->host, .port = pc->port, .userid = pc->userid,
        .password = pc->password ? pc->password : "", .login_method = pc->login_method,
        .keepalive_sec = pc->keepalive_sec,
        .connect_timeout_ms = (uint64_t)(pc->connect_timeout * 1000),
        .backoff_ms = (uint64_t)(pc->reconnect_delay * 1000),
        .backoff_max_ms = 2000, .max_object_bytes = pc->max_result_bytes,
    };
    if (!c->host || !c->port) luaL_error(L, "dolphindb: subscribe: host and port are required");
    if (c->connect_timeout_ms == 0) c->connect_timeout_ms = 1;
    if (c->backoff_ms == 0) c->backoff_ms = 1;
    if (pc->enable_ssl) {
        *tls = (ddb_tls_opts){ .verify = pc->ssl_verify, .ca_file = pc->ssl_ca_file,
                               .server_name = pc->ssl_server_name };
        c->tls = tls;
    }
    c->table = luaL_checkstring(L, 2);
    c->action = luaL_optstring(L, 3, "");
    c->offset = (int64_t)opt_number(L, 4, -1);
    c->resub = lua_toboolean(L, 6);
    c->batch_size = (int64_t)opt_number(L, 7, 0);
    c->throttle_ms = (uint64_t)(opt_number(L, 8, 1) * 1000);
    c->max_queued_rows = (int64_t)opt_number(L, 9, 1 << 20);
    if (c->offset < -1 || c->batch_size < 0 || c->max_queued_rows < 1 || opt_number(L, 8, 1) < 0)
        luaL_error(L, "dolphindb: subscribe: offset, batchSize or throttle out of range");
    if (c->throttle_ms == 0) c->throttle_ms = 1;
}

static int l_sub_new(lua_State *L)
{
    ddb_lua_loop *loop = ddb_lua_loop_of(L);
    ddb_pool_config pc;
    ddb_sub_cfg cfg;
    ddb_tls_opts tls;
    read_cfg(L, &pc, &cfg, &tls);
    ddb_obj *filter = NULL;
    char err[300] = "";
    if (!lua_isnoneornil(L, 5) && !(filter = ddb_lua_to_obj(L, 5, err, sizeof err)))
        return luaL_error(L, "dolphindb: subscribe: filter: %s", err);
    const ddb_host_vt *host;
    void *host_ud;
    ddb_lua_loop_host(L, loop, &host, &host_ud);    /* may raise: holds only filter */
    lua_sub *ls = lua_newuserdata(L, sizeof *ls);
    memset(ls, 0, sizeof *ls);
    ls->loop = loop;
    luaL_getmetatable(L, SUB_MT);
    lua_setmetatable(L, -2);
    cfg.filter = filter;
    ls->sub = ddb_sub_new(host, host_ud, &cfg, on_notify, ls, err, sizeof err);
    ddb_obj_unref(filter);              /* the subscription holds its own reference */
    if (!ls->sub) return luaL_error(L, "dolphindb: subscribe: %s", err);
    if (ddb_lua_loop_attach(loop, ls, sub_closer) != 0) {
        ddb_sub_close(ls->sub);
        ls->sub = NULL;
        return luaL_error(L, "dolphindb: out of memory");
    }
    ddb_sub_start(ls->sub);
    return 1;
}

static int l_arm(lua_State *L)
{
    lua_sub *ls = check_sub(L);
    if (!ls->sub || ls->due) {
        ls->due = 0;
        return 0;
    }
    if (!ls->ticket) {
        ls->ticket = ddb_lua_ticket_new(ls->loop);
        if (!ls->ticket) return luaL_error(L, "dolphindb: out of memory (or 2^24 operations pending)");
    }
    lua_pushnumber(L, ls->ticket);
    return 1;
}

static int l_take(lua_State *L)
{
    lua_sub *ls = check_sub(L);
    int conv = ddb_lua_conv_arg(L, 2);
    ddb_sub_delivery d;
    if (!ls->sub || !ddb_sub_take(ls->sub, &d)) return 0;
    int rc = ddb_lua_push_obj(L, d.table, conv);
    ddb_obj_unref(d.table);
    if (rc < 0) return lua_error(L);
    lua_pushnumber(L, (lua_Number)d.rows);
    lua_pushnumber(L, (lua_Number)d.last_offset);
    lua_pushnumber(L, (lua_Number)d.messages);
    return 4;
}

static const char *state_name(int state)
{
    static const char *const names[] = { "?", "CONNECTING", "HANDSHAKE", "STREAMING",
                                          "BACKOFF", "DEAD", "CLOSED" };
    return state >= 1 && state <= DDB_SUB_CLOSED ? names[state] : "?";
}

static int l_status(lua_State *L)
{
    lua_sub *ls = check_sub(L);
    if (!ls->sub) {
        lua_pushstring(L, "CLOSED");
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "");
        return 3;
    }
    ddb_sub_stats st;
    ddb_sub_stats_get(ls->sub, &st);
    lua_pushstring(L, state_name(st.state));
    lua_pushboolean(L, st.subscribed);
    lua_pushstring(L, st.last_error);
    return 3;
}

static int l_stats(lua_State *L)
{
    lua_sub *ls = check_open(L);
    ddb_sub_stats st;
    ddb_sub_stats_get(ls->sub, &st);
    lua_createtable(L, 0, 12);
    ddb_lua_set_int(L, "messages", st.messages);
    ddb_lua_set_int(L, "rows", st.rows);
    ddb_lua_set_int(L, "lastOffset", st.last_offset);
    ddb_lua_set_int(L, "nextOffset", st.next_offset);
    ddb_lua_set_int(L, "reconnects", st.reconnects);
    ddb_lua_set_int(L, "queuedRows", st.queued_rows);
    ddb_lua_set_int(L, "port", st.port);
    lua_pushboolean(L, st.paused);
    lua_setfield(L, -2, "paused");
    ddb_lua_set_str(L, "state", state_name(st.state));
    ddb_lua_set_str(L, "topic", st.topic);
    ddb_lua_set_str(L, "host", st.host);
    ddb_lua_set_str(L, "lastError", st.last_error);
    return 1;
}

static int l_close(lua_State *L)
{
    sub_release(check_sub(L));
    return 0;
}

static int l_gc(lua_State *L)
{
    lua_sub *ls = lua_touserdata(L, 1);
    if (ls && ls->sub) {
        ddb_sub_close(ls->sub);
        ls->sub = NULL;
        ddb_lua_loop_detach(ls->loop, ls);
        if (ls->ticket) ddb_lua_ticket_drop(ls->loop, ls->ticket);
    }
    return 0;
}

void ddb_lua_sub_open(lua_State *L, int module)
{
    static const luaL_Reg methods[] = {
        {"arm", l_arm}, {"take", l_take}, {"status", l_status}, {"stats", l_stats},
        {"close", l_close}, {NULL, NULL},
    };
    luaL_newmetatable(L, SUB_MT);
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
    lua_newtable(L);
    luaL_register(L, NULL, methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    lua_pushcfunction(L, l_sub_new);
    lua_setfield(L, module, "sub_new");
}
