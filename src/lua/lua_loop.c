/* lua_loop.c — the libuv loop of a Lua state: tickets, the ready list, timers, and the
 * finalizer that closes everything cleanly. See lua_loop.h for the model. */
#include "lua_loop.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "ddb_qhost.h"
#include "lua_tickets.h"

#define LOOP_METATABLE "dolphindb.loop"
static const char loop_registry_key = 0;   /* its address keys the registry */

typedef struct timer_op {
    uv_timer_t handle;
    ddb_lua_loop *loop;
    double ticket;
    struct timer_op *next_in_bucket;
} timer_op;

typedef struct attached_obj {
    void *obj;
    ddb_lua_loop_closer closer;
} attached_obj;

struct ddb_lua_loop {
    uv_loop_t uv;
    int uv_inited;              /* libuv host: made on first use */
    ddb_qhost *q;               /* or the queue host (nginx), never both */
    int finalized;
    int running;                /* inside uv_run: guards against re-entry */
    ddb_tickets tickets;        /* slot + generation numbers (lua_tickets.h) */
    uint64_t pending;
    double *ready;              /* tickets completed, not yet taken by Lua */
    size_t nready, cap_ready;
    int ready_overflow;         /* a completion could not be queued (out of memory) */
    timer_op **buckets;         /* ticket -> running timer, so timer_stop can find it */
    size_t nbuckets, ntimers;
    attached_obj *attached;
    size_t nattached, cap_attached;
    uv_async_t wake;            /* woken by SIGINT while run_once blocks */
    int wake_inited;
    volatile sig_atomic_t sigint;   /* a SIGINT arrived during the blocking run */
    int log_marked;             /* ticket 0 (log lines waiting) is on the ready list */
};

/* ---- tickets ------------------------------------------------------------------ */

/* The libuv loop, made on first use so that a Lua state inside nginx (which uses the
 * queue host) never opens one. Raises when this state uses the queue host. */
static uv_loop_t *need_uv(lua_State *L, ddb_lua_loop *loop, const char *what)
{
    if (loop->q)
        luaL_error(L, "dolphindb: %s is not available inside nginx (the worker's own event "
                      "loop drives this Lua state)", what);
    if (!loop->uv_inited) {
        int rc = uv_loop_init(&loop->uv);
        if (rc != 0) luaL_error(L, "dolphindb: cannot create the event loop: %s", uv_strerror(rc));
        loop->uv_inited = 1;
    }
    return &loop->uv;
}

void ddb_lua_loop_host(lua_State *L, ddb_lua_loop *loop, const ddb_host_vt **vt, void **ud)
{
    if (loop->q) {
        *vt = &ddb_qhost_vt;
        *ud = loop->q;
        return;
    }
    *ud = need_uv(L, loop, "the libuv loop");
    *vt = &ddb_uv_host;
}

ddb_qhost *ddb_lua_loop_qhost(ddb_lua_loop *loop) { return loop->q; }

int ddb_lua_loop_use_qhost(ddb_lua_loop *loop)
{
    if (loop->q) return 0;
    if (loop->uv_inited) return -1;
    loop->q = ddb_qhost_new();
    return loop->q ? 0 : -2;
}

double ddb_lua_ticket_new(ddb_lua_loop *loop)
{
    double ticket = ddb_tickets_new(&loop->tickets);
    if (ticket) loop->pending++;
    return ticket;
}

int ddb_lua_ticket_complete(ddb_lua_loop *loop, double ticket)
{
    if (loop->nready == loop->cap_ready) {
        size_t cap = loop->cap_ready ? loop->cap_ready * 2 : 64;
        double *grown = realloc(loop->ready, cap * sizeof *grown);
        if (!grown) {
            /* Nobody can be told: uncount it and make the next run_once raise. */
            loop->ready_overflow = 1;
            ddb_lua_ticket_drop(loop, ticket);
            return -1;
        }
        loop->ready = grown;
        loop->cap_ready = cap;
    }
    loop->ready[loop->nready++] = ticket;
    return 0;
}

void ddb_lua_loop_log_mark(ddb_lua_loop *loop)
{
    if (loop->log_marked || loop->finalized) return;
    loop->log_marked = 1;
    loop->pending++;            /* the take uncounts it with the real tickets */
    ddb_lua_ticket_complete(loop, 0);
}

void ddb_lua_ticket_drop(ddb_lua_loop *loop, double ticket)
{
    ddb_tickets_release(&loop->tickets, ticket);
    if (loop->pending > 0) loop->pending--;
}

int ddb_lua_loop_run(ddb_lua_loop *loop, uv_run_mode mode)
{
    if (loop->running || loop->finalized || !loop->uv_inited) return -1;
    loop->running = 1;
    int rc = uv_run(&loop->uv, mode);
    loop->running = 0;
    return rc;
}

/* ---- Ctrl-C while the loop blocks ---------------------------------------------- */

/* A process blocked in uv_run runs no Lua, so the host's own SIGINT handling (luajit's
 * hook that raises "interrupted!" at the next Lua instruction) acts only once the wait
 * is over. While run_once blocks, this handler takes SIGINT instead: it marks the loop
 * and wakes it, so run_once returns at once and tells the scheduler, which raises an
 * "interrupted" error in the waiting code. SIGINT outside a wait does what the host
 * does: the handler puts the previous disposition back and raises it again. A second
 * SIGINT before the first was taken goes to that previous disposition at once.
 * The handler stays installed between waits (installing and removing it around every
 * blocking run cost two system calls per task): outside a wait it behaves as the
 * previous disposition. Every second of loop time the next wait installs it again,
 * which notices a disposition someone set meanwhile. A process has one SIGINT
 * disposition, so one loop at a time takes it; a process that ignores SIGINT (started
 * in the background by a shell) keeps ignoring it. */
enum { SIG_NONE, SIG_OURS, SIG_IGNORED };
#define SIG_RECHECK_MS 1000
static ddb_lua_loop *volatile sigint_loop;   /* the loop blocked, waiting for it */
static struct sigaction sigint_saved;        /* the disposition ours replaced */
static volatile sig_atomic_t sigint_state;   /* SIG_*: what the disposition is */
static uint64_t sigint_checked;              /* loop time of the last sigaction */
static pthread_mutex_t sigint_lock = PTHREAD_MUTEX_INITIALIZER;
static int loops_alive;                      /* under sigint_lock */

static int is_ignored(const struct sigaction *sa)
{
    return !(sa->sa_flags & SA_SIGINFO) && sa->sa_handler == SIG_IGN;
}

static void on_sigint(int sig)
{
    int saved_errno = errno;
    ddb_lua_loop *loop = sigint_loop;
    if (loop && !loop->sigint) {
        loop->sigint = 1;
        uv_async_send(&loop->wake);       /* async-signal-safe */
    } else {
        /* SIGINT is blocked while this handler runs: raise() leaves it pending, and
         * it reaches the restored disposition as soon as we return */
        sigint_state = SIG_NONE;
        sigaction(SIGINT, &sigint_saved, NULL);
        raise(sig);
    }
    errno = saved_errno;
}

static void wake_cb(uv_async_t *h) { (void)h; }   /* waking uv_run is its whole job */

static int is_ours(const struct sigaction *sa)
{
    return !(sa->sa_flags & SA_SIGINFO) && sa->sa_handler == on_sigint;
}

/* Installs on_sigint (under sigint_lock) unless it is in place, after remembering the
 * disposition it replaces: a SIGINT meanwhile goes to that one, and sigint_saved is
 * complete before on_sigint can read it. An ignored SIGINT stays ignored. */
static void sigint_install(uint64_t now)
{
    struct sigaction sa, old;
    sigint_checked = now;
    if (sigaction(SIGINT, NULL, &old) != 0) {
        sigint_state = SIG_NONE;
        return;
    }
    if (is_ours(&old)) {
        sigint_state = SIG_OURS;
        return;
    }
    sigint_saved = old;
    if (is_ignored(&old)) {
        sigint_state = SIG_IGNORED;
        return;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESTART;      /* the host's calls interrupted outside a wait go on */
    sigemptyset(&sa.sa_mask);
    sigint_state = sigaction(SIGINT, &sa, NULL) == 0 ? SIG_OURS : SIG_NONE;
}

/* Takes SIGINT for one blocking run; 1 when it did. */
static int sigint_arm(ddb_lua_loop *loop)
{
    if (!loop->wake_inited) {
        if (uv_async_init(&loop->uv, &loop->wake, wake_cb) != 0) return 0;
        uv_unref((uv_handle_t *)&loop->wake);      /* never keeps the loop alive */
        loop->wake_inited = 1;
    }
    pthread_mutex_lock(&sigint_lock);
    int taken = 0;
    if (!sigint_loop) {                            /* else another loop (thread) has it */
        uint64_t now = uv_now(&loop->uv);
        if (sigint_state == SIG_NONE || now - sigint_checked >= SIG_RECHECK_MS)
            sigint_install(now);
        if (sigint_state == SIG_OURS) {
            loop->sigint = 0;
            sigint_loop = loop;
            taken = 1;
        }
    }
    pthread_mutex_unlock(&sigint_lock);
    return taken;
}

/* The run is over: SIGINT is the host's again. 1 when one arrived meanwhile. */
static int sigint_disarm(ddb_lua_loop *loop)
{
    sigint_loop = NULL;
    int got = loop->sigint;
    loop->sigint = 0;
    return got;
}

/* The last loop going away puts the host's disposition back, if ours is still in
 * place (the module's code may be unloaded after lua_close). */
static void sigint_release(void)
{
    pthread_mutex_lock(&sigint_lock);
    struct sigaction cur;
    if (--loops_alive == 0 && sigint_state == SIG_OURS &&
        sigaction(SIGINT, NULL, &cur) == 0 && is_ours(&cur))
        sigaction(SIGINT, &sigint_saved, NULL);
    if (loops_alive == 0)
        sigint_state = SIG_NONE;
    pthread_mutex_unlock(&sigint_lock);
}

/* ---- attached objects --------------------------------------------------------- */

int ddb_lua_loop_attach(ddb_lua_loop *loop, void *obj, ddb_lua_loop_closer closer)
{
    if (loop->nattached == loop->cap_attached) {
        size_t cap = loop->cap_attached ? loop->cap_attached * 2 : 8;
        attached_obj *grown = realloc(loop->attached, cap * sizeof *grown);
        if (!grown) return -1;
        loop->attached = grown;
        loop->cap_attached = cap;
    }
    loop->attached[loop->nattached].obj = obj;
    loop->attached[loop->nattached].closer = closer;
    loop->nattached++;
    return 0;
}

void ddb_lua_loop_detach(ddb_lua_loop *loop, void *obj)
{
    for (size_t i = 0; i < loop->nattached; i++) {
        if (loop->attached[i].obj == obj) {
            loop->attached[i] = loop->attached[--loop->nattached];
            return;
        }
    }
}

/* ---- timers: a chained hash from ticket to the running timer -------------------- */

static size_t bucket_of(const ddb_lua_loop *loop, double ticket)
{
    uint64_t k = (uint64_t)ticket * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(k >> 20) & (loop->nbuckets - 1);
}

static int timers_grow(ddb_lua_loop *loop)
{
    size_t n = loop->nbuckets ? loop->nbuckets * 2 : 64;
    timer_op **fresh = calloc(n, sizeof *fresh);
    if (!fresh) return -1;
    timer_op **old = loop->buckets;
    size_t oldn = loop->nbuckets;
    loop->buckets = fresh;
    loop->nbuckets = n;
    for (size_t i = 0; i < oldn; i++) {
        for (timer_op *t = old[i], *next; t; t = next) {
            next = t->next_in_bucket;
            size_t b = bucket_of(loop, t->ticket);
            t->next_in_bucket = fresh[b];
            fresh[b] = t;
        }
    }
    free(old);
    return 0;
}

/* Removes and returns the timer for this ticket, or NULL. */
static timer_op *timers_take(ddb_lua_loop *loop, double ticket)
{
    if (!loop->nbuckets) return NULL;
    timer_op **link = &loop->buckets[bucket_of(loop, ticket)];
    for (; *link; link = &(*link)->next_in_bucket) {
        if ((*link)->ticket == ticket) {
            timer_op *t = *link;
            *link = t->next_in_bucket;
            loop->ntimers--;
            return t;
        }
    }
    return NULL;
}

static void timer_freed(uv_handle_t *h) { free(h->data); }

static void timer_fired(uv_timer_t *h)
{
    timer_op *t = h->data;
    timers_take(t->loop, t->ticket);
    ddb_lua_ticket_complete(t->loop, t->ticket);
    uv_close((uv_handle_t *)h, timer_freed);
}

/* ---- the loop userdata -------------------------------------------------------- */

static void close_foreign_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    /* Attached objects closed their own handles in their closers; whatever is still
     * open now belongs to nobody we know, so it is only closed. */
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void close_running_timers(ddb_lua_loop *loop)
{
    for (size_t i = 0; i < loop->nbuckets; i++) {
        for (timer_op *t = loop->buckets[i], *next; t; t = next) {
            next = t->next_in_bucket;
            uv_close((uv_handle_t *)&t->handle, timer_freed);
        }
        loop->buckets[i] = NULL;
    }
    loop->ntimers = 0;
}

static void grace_over(uv_timer_t *t) { uv_stop(t->loop); }

/* Attached objects close asynchronously (a pool frees its memory from its last close
 * callback), so let the loop run until they are done before anything is forced
 * closed; an unreferenced timer bounds the wait to one second. */
static void let_owners_close(ddb_lua_loop *loop)
{
    uv_timer_t *grace = malloc(sizeof *grace);
    if (!grace) return;
    if (uv_timer_init(&loop->uv, grace) != 0) {
        free(grace);
        return;
    }
    grace->data = grace;
    uv_timer_start(grace, grace_over, 1000, 0);
    uv_unref((uv_handle_t *)grace);
    uv_run(&loop->uv, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)grace, timer_freed);   /* timer_freed frees h->data */
}

static int loop_gc(lua_State *L)
{
    ddb_lua_loop *loop = luaL_checkudata(L, 1, LOOP_METATABLE);
    if (loop->finalized) return 0;
    loop->finalized = 1;
    /* A closer may detach its object while we iterate, so pop from the end. */
    while (loop->nattached > 0) {
        attached_obj a = loop->attached[--loop->nattached];
        a.closer(a.obj);
    }
    close_running_timers(loop);
    sigint_release();
    if (loop->wake_inited) uv_close((uv_handle_t *)&loop->wake, NULL);
    if (loop->uv_inited) {
        let_owners_close(loop);
        for (int attempt = 0; attempt < 100; attempt++) {
            uv_walk(&loop->uv, close_foreign_handle, NULL);
            uv_run(&loop->uv, UV_RUN_DEFAULT);   /* returns once every handle is closed */
            if (uv_loop_close(&loop->uv) != UV_EBUSY) break;
        }
    }
    if (loop->q) {
        /* The pools closed their streams and timers: the close callbacks are deferred
         * to the host's runs, and each may close more (a pool's last stream lets it
         * close its own timers). Nobody drives the sockets any more. */
        for (int round = 0; round < 100 && ddb_qhost_next_ms(loop->q) == 0; round++)
            ddb_qhost_run(loop->q);
        ddb_qhost_free(loop->q);
        loop->q = NULL;
    }
    free(loop->ready);
    free(loop->buckets);
    free(loop->attached);
    ddb_tickets_free(&loop->tickets);
    loop->ready = NULL;
    loop->buckets = NULL;
    loop->attached = NULL;
    return 0;
}

static ddb_lua_loop *loop_create(lua_State *L)
{
    ddb_lua_loop *loop = lua_newuserdata(L, sizeof *loop);
    memset(loop, 0, sizeof *loop);
    if (luaL_newmetatable(L, LOOP_METATABLE)) {
        lua_pushcfunction(L, loop_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    pthread_mutex_lock(&sigint_lock);
    loops_alive++;                 /* loop_gc counts it down (sigint_release) */
    pthread_mutex_unlock(&sigint_lock);
    lua_pushlightuserdata(L, (void *)&loop_registry_key);
    lua_pushvalue(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
    return loop;   /* left on the stack */
}

void ddb_lua_loop_push(lua_State *L)
{
    lua_pushlightuserdata(L, (void *)&loop_registry_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        loop_create(L);
    }
}

ddb_lua_loop *ddb_lua_loop_of(lua_State *L)
{
    ddb_lua_loop_push(L);
    ddb_lua_loop *loop = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (loop->finalized) luaL_error(L, "dolphindb: the event loop is closed");
    return loop;
}

/* ---- Lua functions (upvalue 1: the loop userdata) ------------------------------ */

static ddb_lua_loop *upvalue_loop(lua_State *L)
{
    ddb_lua_loop *loop = lua_touserdata(L, lua_upvalueindex(1));
    if (loop->finalized) luaL_error(L, "dolphindb: the event loop is closed");
    return loop;
}

/* core.run_once(block, out) -> n[, true]: runs one loop iteration (blocking for I/O
 * when `block` is true and nothing is ready yet), then moves the ready tickets into
 * out[1..n]. The second result, true, says a SIGINT (Ctrl-C) cut the blocking run
 * short (see "Ctrl-C while the loop blocks"). */
static int take_ready(lua_State *L, ddb_lua_loop *loop, int out);

static int l_run_once(lua_State *L)
{
    ddb_lua_loop *loop = upvalue_loop(L);
    int block = lua_toboolean(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    if (loop->running) return luaL_error(L, "dolphindb: run_once called re-entrantly");
    uv_loop_t *uv = need_uv(L, loop, "core.run_once");
    int blocking = block && loop->nready == 0;
    int armed = blocking && sigint_arm(loop);
    loop->running = 1;
    uv_run(uv, blocking ? UV_RUN_ONCE : UV_RUN_NOWAIT);
    loop->running = 0;
    int interrupted = armed && sigint_disarm(loop);
    take_ready(L, loop, 2);
    if (!interrupted) return 1;
    lua_pushboolean(L, 1);
    return 2;
}

/* core.take_ready(out) -> n: moves the tickets completed so far into out[1..n]
 * without running any loop (the queue host's driver calls it after its reports). */
static int l_take_ready(lua_State *L)
{
    ddb_lua_loop *loop = upvalue_loop(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    return take_ready(L, loop, 1);
}

int ddb_lua_loop_take_ready(lua_State *L, ddb_lua_loop *loop, int out)
{
    if (loop->ready_overflow) {
        loop->ready_overflow = 0;
        return luaL_error(L, "dolphindb: out of memory queueing completions");
    }
    size_t n = loop->nready;
    for (size_t i = 0; i < n; i++) {
        lua_pushnumber(L, loop->ready[i]);
        lua_rawseti(L, out, (int)(i + 1));
    }
    /* Only now: had a store raised, the next call hands the same tickets again, and
     * no slot may be freed twice. */
    for (size_t i = 0; i < n; i++) ddb_tickets_release(&loop->tickets, loop->ready[i]);
    loop->nready = 0;
    loop->log_marked = 0;
    loop->pending -= n < loop->pending ? n : loop->pending;
    return (int)n;
}

static int take_ready(lua_State *L, ddb_lua_loop *loop, int out)
{
    lua_pushinteger(L, ddb_lua_loop_take_ready(L, loop, out));
    return 1;
}

/* core.timer_start(ms) -> ticket: completes after `ms` milliseconds (rounded up). */
static int l_timer_start(lua_State *L)
{
    ddb_lua_loop *loop = upvalue_loop(L);
    lua_Number ms = luaL_checknumber(L, 1);
    if (!(ms >= 0) || ms > 1e15) return luaL_argerror(L, 1, "expected milliseconds >= 0");
    uv_loop_t *uv = need_uv(L, loop, "core.timer_start");   /* may raise: before malloc */
    if (loop->ntimers >= loop->nbuckets && timers_grow(loop) != 0)
        return luaL_error(L, "dolphindb: out of memory starting a timer");
    timer_op *t = malloc(sizeof *t);
    if (!t) return luaL_error(L, "dolphindb: out of memory starting a timer");
    t->ticket = ddb_lua_ticket_new(loop);
    int rc = t->ticket ? uv_timer_init(uv, &t->handle) : UV_ENOMEM;
    if (rc != 0) {
        if (t->ticket) ddb_lua_ticket_drop(loop, t->ticket);
        free(t);
        return luaL_error(L, "dolphindb: cannot start a timer: %s", uv_strerror(rc));
    }
    t->handle.data = t;
    t->loop = loop;
    uv_update_time(uv);          /* the cached "now" may be stale after Lua ran */
    uv_timer_start(&t->handle, timer_fired, (uint64_t)ceil(ms), 0);
    size_t b = bucket_of(loop, t->ticket);
    t->next_in_bucket = loop->buckets[b];
    loop->buckets[b] = t;
    loop->ntimers++;
    lua_pushnumber(L, t->ticket);
    return 1;
}

/* core.timer_stop(ticket) -> true if the timer was stopped before it fired. */
static int l_timer_stop(lua_State *L)
{
    ddb_lua_loop *loop = upvalue_loop(L);
    lua_Number ticket = luaL_checknumber(L, 1);
    /* Tickets are integers 1..2^53. Anything else names no timer, and must not reach
     * the hash: converting a negative or huge double to uint64_t is undefined. */
    timer_op *t = NULL;
    if (ticket >= 1 && ticket <= 9007199254740992.0 && ticket == floor(ticket))
        t = timers_take(loop, ticket);
    if (!t) {
        lua_pushboolean(L, 0);
        return 1;
    }
    uv_timer_stop(&t->handle);
    ddb_lua_ticket_drop(loop, t->ticket);
    uv_close((uv_handle_t *)&t->handle, timer_freed);
    lua_pushboolean(L, 1);
    return 1;
}

/* core.resend_sigint(): a SIGINT that cut a run short but reached no wait (what was
 * waited for completed in the same run) goes to the host's own disposition, as if we
 * had never taken it: luajit raises "interrupted!" at the next Lua instruction. */
static int l_resend_sigint(lua_State *L)
{
    (void)L;
    raise(SIGINT);
    return 0;
}

/* core.now() -> seconds from an arbitrary origin, monotonic, sub-microsecond. */
static int l_now(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)uv_hrtime() / 1e9);
    return 1;
}

/* core.pending() -> number of tickets not yet handed to Lua. */
static int l_pending(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)upvalue_loop(L)->pending);
    return 1;
}

/* core.active_handles() -> handles alive on the loop (diagnostics for leak specs). */
static int l_active_handles(lua_State *L)
{
    ddb_lua_loop *loop = upvalue_loop(L);
    int streams = 0, handles = 0;
    if (loop->q) ddb_qhost_counts(loop->q, &streams, &handles);
    else if (loop->uv_inited) handles = (int)loop->uv.active_handles;
    lua_pushinteger(L, (lua_Integer)(streams + handles));
    return 1;
}

/* core.use_queue_host() -> true: this Lua state's pools run on the queue host
 * (ddb_qhost.h), driven from Lua (dolphindb.ngx_host). Only before anything used the
 * libuv loop. */
static int l_use_queue_host(lua_State *L)
{
    int rc = ddb_lua_loop_use_qhost(upvalue_loop(L));
    if (rc == -1) return luaL_error(L, "dolphindb: the libuv loop of this Lua state is already in use");
    if (rc) return luaL_error(L, "dolphindb: out of memory");
    lua_pushboolean(L, 1);
    return 1;
}

void ddb_lua_loop_register(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"run_once", l_run_once},       {"timer_start", l_timer_start},
        {"timer_stop", l_timer_stop},   {"now", l_now},
        {"pending", l_pending},         {"active_handles", l_active_handles},
        {"take_ready", l_take_ready},   {"use_queue_host", l_use_queue_host},
        {"resend_sigint", l_resend_sigint},
        {NULL, NULL},
    };
    int table = lua_gettop(L);
    ddb_lua_loop_of(L);   /* create it now so a failure surfaces at require time */
    for (const luaL_Reg *f = fns; f->name; f++) {
        ddb_lua_loop_push(L);
        lua_pushcclosure(L, f->func, 1);
        lua_setfield(L, table, f->name);
    }
    lua_pushnumber(L, DDB_TICKET_SLOTS);   /* ticket % TICKET_SLOTS = its slot */
    lua_setfield(L, table, "TICKET_SLOTS");
}
