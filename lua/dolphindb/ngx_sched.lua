-- dolphindb.ngx_sched — the scheduler inside nginx workers: the same interface as
-- dolphindb.sched (which hands this module out when it finds itself in nginx), so
-- dolphindb.pool and dolphindb.future are one implementation for both hosts.
--
-- The pool core runs on the queue host (src/hosts/ddb_qhost.h): it does no I/O and keeps
-- no thread; this file carries out what it asks with nginx's own tools:
--   * each connection is a cosocket owned by an ngx.timer context (a cosocket
--     belongs to the context that made it, and pools, queued tasks and futures
--     outlive requests): its main coroutine connects and sends, a light thread
--     reads and feeds the bytes to the core;
--   * one driver timer per worker fires the core's timers (connect deadlines,
--     back-off, task timeouts) and notices the worker's exit;
--   * a coroutine waiting for a task parks on an ngx.semaphore of its own.
-- After every call into the core that may have asked for something (a submit, bytes
-- fed, a timer run, a cancel) `turn()` carries the intents out and wakes the
-- coroutines whose tasks completed. Nothing blocks the worker: creating a pool
-- opens nothing at once, connections open in the background and heal with the
-- pool's back-off when the server comes (back).
--
-- Worker exit (HUP reload, QUIT): a sentinel timer fires prematurely; the pools get
-- up to their exitGrace seconds (default 5) to finish what they are running, then
-- shut down: queued and running tasks end with "pool is shut down", every waiter
-- wakes, the sockets close.

local core = require "dolphindb.core"
local errors = require "dolphindb.errors"
local semaphore = require "ngx.semaphore"

local ngx = ngx
local type, tostring, error, pcall, setmetatable, getmetatable, select =
  type, tostring, error, pcall, setmetatable, getmetatable, select
local timer_at, thread_spawn, thread_kill = ngx.timer.at, ngx.thread.spawn, ngx.thread.kill
local qhost_due = core.qhost_due
local qhost_data, qhost_failed, qhost_output = core.qhost_data, core.qhost_failed,
  core.qhost_output
local qhost_turn, qhost_now = core.qhost_turn, core.qhost_now
local Q_OPEN, Q_OUTPUT, Q_PAUSE, Q_RESUME, Q_CLOSE = core.Q_OPEN, core.Q_OUTPUT,
  core.Q_PAUSE, core.Q_RESUME, core.Q_CLOSE

core.use_queue_host()

local M = { in_nginx = true }

-- One semaphore wait; waits loop past it. nginx keeps timers in 32-bit milliseconds.
local FOREVER = 1e6
local CONNECT_TIMEOUT_MS = 60000   -- the core's own connect deadline comes first
local READ_TIMEOUT_MS = 3600000    -- an idle connection just reads again
local SEND_TIMEOUT_MS = 60000
local READ_CHUNK = 65536

local function log_err(...) ngx.log(ngx.ERR, "dolphindb: ", ...) end

-- ---- tickets and their waiters (as in dolphindb.sched: kept by slot) -----------------

local ready, intents, waiting = {}, {}, {}
-- Tickets that completed before their waiter came (dolphindb.waiters): delivered
-- again by the next turn, which the caller makes (kick, a wait) or is running.
local W = require("dolphindb.waiters").new()
local set_waiter, take_waiter, take_completed = W.set, W.take, W.completed

-- A parked coroutine's record: { sema =, done = }; records are reused.
local spare, nspare = {}, 0
local function take_rec()
  if nspare > 0 then
    local r = spare[nspare]
    spare[nspare] = false
    nspare = nspare - 1
    r.done = false
    return r
  end
  return { sema = semaphore.new(0), done = false }
end
local function give_rec(r)
  if r.sema:count() ~= 0 then return end     -- a stray post: let this one go
  nspare = nspare + 1
  spare[nspare] = r
end

-- w: what waited for ticket t (taken off the list before any completion runs: a
-- callback may make tickets, which reuse the slots of the ones just taken).
local function complete(t, w)
  if not w then return end
  if getmetatable(w) == nil and type(w) == "table" and w.sema then
    w.done = true
    w.sema:post(1)
    return
  end
  local ok, err = pcall(w, t)
  if not ok then log_err("completion callback failed: ", tostring(err)) end
end

-- ---- connections: one timer context per stream the core opens ------------------------

local conns = {}      -- stream id -> { sema, out, closing, paused, resume, sock, reader }
local turn

local function reason(err)
  if err == "closed" then return "the server closed the connection" end
  return tostring(err)
end

-- Sends what the core queued for stream `id`. A cosocket takes one writer at a time,
-- so whichever of the connection's two coroutines finds output first sends it: the
-- reader right after the response that freed the connection (the next task goes
-- out without waking anybody), the main coroutine otherwise. False once the stream
-- ended.
local function send_pending(id, st, sock)
  while st.out and not st.sending and not st.closing do
    st.out = false
    local bytes = qhost_output(id)
    if bytes == nil then return false end     -- the stream is gone
    if #bytes > 0 then
      st.sending = true
      local sent, serr = sock:send(bytes)
      st.sending = false
      if not sent then
        if not st.closing then
          st.closing = true
          qhost_failed(id, "send failed: " .. reason(serr))
          turn()
        end
        st.sema:post(1)
        return false
      end
    end
  end
  return not st.closing
end

local function reader(id, st, sock)
  while not st.closing do
    if st.paused then
      st.resume:wait(FOREVER)
    else
      local data, err = sock:receiveany(READ_CHUNK)
      if data then
        st.in_reader = true       -- output this produces is sent just below
        qhost_data(id, data)
        turn()
        st.in_reader = false
        if st.out and not send_pending(id, st, sock) then break end
      elseif err ~= "timeout" then
        if not st.closing then
          qhost_failed(id, reason(err))
          st.closing = true
          turn()
        end
        st.sema:post(1)
        return
      end
    end
  end
end

-- How a failed certificate check starts (DDB_TLS_UNTRUSTED in src/proto/ddb_tls.h):
-- the pool fails its queue at once when every connection fails it.
local UNTRUSTED = "TLS handshake failed: certificate verify failed"

-- TLS on the cosocket; nginx verifies against lua_ssl_trusted_certificate (nginx.conf).
-- nil, or the reason it failed. The session argument stays nil: with `false`, a
-- handshake that completes at once would return true before nginx's name check is
-- read. In that same case lua-resty-core 0.1.25 asserts when the check (chain or
-- name) failed, so the call is protected and the raise taken as the refusal it is.
local function tls_handshake(sock, name, verify)
  local ok, sess, err = pcall(sock.sslhandshake, sock, nil, name, verify)
  if ok and sess then return nil end
  if not ok then
    return ("%s: nginx refused the certificate for %s (its error log says why)"):format(
      UNTRUSTED, name)
  end
  err = tostring(err)
  if err == "certificate host mismatch" or err:find("^%d+: ") then
    return UNTRUSTED .. ": " .. err                  -- "20: unable to get local issuer ..."
  end
  return "TLS handshake failed: " .. err
end

local function conn_main(premature, id)
  local st = conns[id]
  if not st then return end
  local host, port, keepalive, tls_verify, tls_name = core.qhost_target(id)
  if premature or not host then
    conns[id] = nil
    if host then qhost_failed(id, "nginx is exiting"); turn() end
    return
  end
  local sock = ngx.socket.tcp()
  sock:settimeouts(CONNECT_TIMEOUT_MS, SEND_TIMEOUT_MS, READ_TIMEOUT_MS)
  -- No self-connect check as in the libuv host: a cosocket cannot tell its own
  -- address; a socket joined to itself fails the handshake (it reads its own request).
  local ok, err = sock:connect(host, port)
  if st.closing then                    -- the core gave up on it meanwhile
    if ok then sock:close() end
    conns[id] = nil
    return
  end
  if not ok then
    conns[id] = nil
    qhost_failed(id, "connect failed: " .. tostring(err))
    turn()
    return
  end
  if tls_name then
    local serr = tls_handshake(sock, tls_name, tls_verify)
    if serr or st.closing then
      sock:close()
      conns[id] = nil
      if not st.closing then
        qhost_failed(id, serr)
        turn()
      end
      return
    end
  end
  if keepalive > 0 and sock.setoption then pcall(sock.setoption, sock, "keepalive", true) end
  st.sock = sock
  core.qhost_connected(id)
  turn()
  st.reader = thread_spawn(reader, id, st, sock)
  while not st.closing do
    if st.out and not st.sending then
      if not send_pending(id, st, sock) then break end
    else
      st.sema:wait(FOREVER)
    end
  end
  st.closing = true
  pcall(thread_kill, st.reader)
  sock:close()
  conns[id] = nil
end

local function carry_out(op, id)
  local st = conns[id]
  if op == Q_OPEN then
    st = { sema = semaphore.new(0), resume = semaphore.new(0), out = false,
           sending = false, closing = false, paused = false }
    conns[id] = st
    local ok, err = timer_at(0, conn_main, id)
    if not ok then
      conns[id] = nil
      qhost_failed(id, "cannot start a connection timer: " .. tostring(err))
      return true                        -- the core has more to say
    end
  elseif not st then
    return false
  elseif op == Q_OUTPUT then
    if not st.out then
      st.out = true
      if not st.in_reader then st.sema:post(1) end
    end
  elseif op == Q_CLOSE then
    st.closing = true
    st.sema:post(1)
    st.resume:post(1)
  elseif op == Q_PAUSE then
    st.paused = true
  elseif op == Q_RESUME then
    st.paused = false
    st.resume:post(1)
  end
  return false
end

-- ---- the driver: the core's timers, and the turn -------------------------------------

local driver_sema = semaphore.new(0)
-- driver_due: when (host clock, ms) the driver wakes by itself; false while it runs
local driver_started, driver_due, in_driver = false, false, false
local turning, again = false, false

local function now()
  ngx.update_time()
  return ngx.now()
end

-- Carries out what the core asked for and wakes whoever's task completed; then wakes
-- the driver early if the core's next deadline comes before the driver's wake-up.
function turn()
  if turning then again = true; return end
  turning = true
  local due
  repeat
    again = false
    local n, k
    n, k, due = qhost_turn(intents, ready)
    for i = 1, 2 * n, 2 do
      if carry_out(intents[i], intents[i + 1]) then again = true end
    end
    for i = 1, k do waiting[i] = take_completed(ready[i]) end
    k = W.take_announced(ready, waiting, k)   -- completed before their waiters came
    for i = 1, k do
      local w = waiting[i]
      waiting[i] = false
      complete(ready[i], w)
    end
  until not again and W.announced() == 0
  turning = false
  if due >= 0 and driver_due and due < driver_due and not in_driver then
    driver_due = due
    driver_sema:post(1)
  end
end
M.turn = turn

local pools = setmetatable({}, { __mode = "k" })   -- pool -> exitGrace, for the exit
local subs = setmetatable({}, { __mode = "k" })    -- live subscriptions, for the exit
local exiting = false

local function busy(p)
  local ok, s = pcall(p.stats, p)
  return ok and s.state ~= "CLOSED" and ((s.running or 0) + (s.queued or 0)) > 0
end

local function shut(p)
  if p._shut then return end
  local ok, err = pcall(p.shutDown, p)
  if not ok then log_err("shutting ", tostring(p), " down: ", tostring(err)) return end
  ngx.log(ngx.NOTICE, "dolphindb: worker exit: ", tostring(p), " shut down, connections closed")
end

-- The worker exits: each pool may finish what it runs for up to its exitGrace, then
-- shuts down, so every waiter wakes and every socket closes.
local function on_exit()
  if exiting then return end
  exiting = true
  for sub in pairs(subs) do pcall(sub.unsubscribe, sub) end
  -- A pool shuts down once it has been idle for QUIET seconds (requests already
  -- read on keep-alive connections still arrive for a moment) or its grace ran out.
  local QUIET = 0.2
  local start, idle_since = now(), {}
  repeat
    local waiting = false
    for p, grace in pairs(pools) do
      if not p._shut then
        local t = now()
        if busy(p) then idle_since[p] = nil else idle_since[p] = idle_since[p] or t end
        local quiet = idle_since[p] and t - idle_since[p] >= math.min(QUIET, grace)
        if quiet or t >= start + grace then shut(p) else waiting = true end
      end
    end
    if waiting then ngx.sleep(0.01) end
  until not waiting
  driver_sema:post(1)
end

local function sentinel(premature)
  if not premature then                  -- FOREVER passed: arm it again
    local ok, err = timer_at(FOREVER, sentinel)
    if not ok then log_err("cannot re-arm the exit sentinel: ", tostring(err)) end
    return
  end
  on_exit()
end

local function driver(premature)
  if premature then return end           -- the sentinel handles the exit
  while true do
    -- sleep until the core's next deadline, at most a second (to see the exit)
    local t, due = qhost_now(), qhost_due()
    -- (never 0: a zero wait returns at once without letting nginx process events,
    -- and ngx.sleep(0) is no better without OpenResty's delayed-events patch)
    local ms = (due < 0 or due - t > 1000) and 1000 or (due > t and due - t or 1)
    driver_due = t + ms
    driver_sema:wait(ms / 1000)
    driver_due = false
    in_driver = true
    turn()
    in_driver = false
    if exiting and next(conns) == nil and qhost_due() < 0 then return end
  end
end

local function start_driver()
  if driver_started then return end
  local ok, err = timer_at(0, driver)
  if ok then ok, err = timer_at(FOREVER, sentinel) end
  if not ok then error("dolphindb: cannot start the nginx driver timers: " .. tostring(err), 0) end
  driver_started = true
end

-- ---- the scheduler interface (see dolphindb.sched) -----------------------------------

-- The pool does not wait for its connections: in init_worker_by_lua* nothing may
-- wait, and the connections heal in the background anyway.
M.wait_open = false

local LUA_ONLY = { exitGrace = true, socketDir = true }
M.pool_options = LUA_ONLY

local function is_ip(s)
  return type(s) == "string" and (s:find("^%d+%.%d+%.%d+%.%d+$") or s:find(":", 1, true)) ~= nil
end

-- The first IP address among host and the HA sites ("host:port", "[v6]:port" or
-- {host=, port=}), nil when all are names.
local function first_ip(opts)
  if is_ip(opts.host) then return opts.host end
  local sites = type(opts.highAvailabilitySites) == "table" and opts.highAvailabilitySites or {}
  for i = 1, #sites do
    local s = sites[i]
    local h = type(s) == "table" and s.host
      or type(s) == "string" and (s:match("^%[(.*)%]:%d+$") or s:match("^(.*):%d+$"))
    if is_ip(h) then return h end
  end
end

-- What nginx's cosockets cannot do, refused at the open rather than ignored: a CA
-- file per pool (sslhandshake takes none: the CA is lua_ssl_trusted_certificate),
-- and verifying an IP address (nginx checks DNS names only: X509_check_host).
local function check_tls(opts)
  if not opts.enableSSL then return end
  if opts.sslCAFile ~= nil then
    error("dolphindb: DBConnectionPool: sslCAFile cannot be used inside nginx: its sockets "
      .. "verify against lua_ssl_trusted_certificate (set it in the http block of nginx.conf)", 5)
  end
  local ip = opts.sslVerify ~= false and opts.sslServerName == nil and first_ip(opts)
  if ip then
    error(("dolphindb: DBConnectionPool: inside nginx a TLS server is verified by DNS name "
      .. "only, and host is the address %s: set sslServerName to the name in its certificate "
      .. "(or sslVerify = false)"):format(ip), 5)
  end
end

-- nginx defaults: reconnect and open lazily (a worker lives for days and must start
-- whether or not the server is up), print() output to the log.
function M.pool_defaults(opts)
  if opts.exitGrace ~= nil and not (type(opts.exitGrace) == "number" and opts.exitGrace >= 0) then
    error("dolphindb: DBConnectionPool: exitGrace must be a number of seconds >= 0", 4)
  end
  check_tls(opts)
  if opts.reConnect == nil then opts.reConnect = true end
  if opts.openLazily == nil then opts.openLazily = true end
  if opts.show_output == nil then opts.show_output = false end
end

function M.on_pool(pool, opts)
  if ngx.get_phase() == "init" then
    error("dolphindb: create the pool in init_worker_by_lua* (one pool per worker), not in the master", 0)
  end
  start_driver()
  pools[pool] = opts.exitGrace or 5
  turn()
end

-- A streaming subscription (dolphindb.subscribe): its socket needs the driver, and
-- the worker's exit ends it (else its reader would keep the worker alive).
function M.on_subscription(sub)
  if ngx.get_phase() == "init" then
    error("dolphindb: subscribe in a worker (init_worker_by_lua* timers, handlers), not in the master", 0)
  end
  start_driver()
  subs[sub] = true
  turn()
end

function M.output(msgs)
  for i = 1, #msgs do ngx.log(ngx.NOTICE, "dolphindb: ", msgs[i]) end
end

M.kick = turn

local function cannot_wait(what, why)
  return ("dolphindb: %s: cannot wait here: %s (nginx cannot yield in this phase: "
    .. "use a content/access/rewrite handler, ngx.timer.at or ngx.thread)"):format(
    what or "wait", tostring(why))
end

function M.await_ticket(t, abandon, what)
  local rec = take_rec()
  set_waiter(t, rec)
  turn()
  while not rec.done do
    local ok, werr = pcall(rec.sema.wait, rec.sema, FOREVER)
    if not ok then
      if abandon then set_waiter(t, abandon) else take_waiter(t) end
      error(cannot_wait(what, werr), 3)
    end
  end
  give_rec(rec)
end

function M.on_ticket(t, fn)
  set_waiter(t, fn)
end

function M.ignore_ticket(t)        -- nobody will wait for t (addTask)
  set_waiter(t, true)
end

local MAX_SECONDS = 1e9
function M.check_timeout(timeout, level, what)
  if timeout ~= nil and (type(timeout) ~= "number" or not (timeout >= 0 and timeout <= MAX_SECONDS)) then
    error(("dolphindb: %stimeout must be a number of seconds in 0..1e9 (or nil), got %s")
      :format(what and what .. ": " or "", tostring(timeout)), level + 1)
  end
end

function M.signal(obj)
  if obj._done then return end
  obj._done = true
  local waiters = obj._waiters
  if not waiters then return end
  obj._waiters = nil
  for i = 1, #waiters do
    local w = waiters[i]
    w.done = true
    w.sema:post(1)
  end
end

local function forget(list, rec)
  for i = #list, 1, -1 do
    if list[i] == rec then table.remove(list, i) end
  end
end

-- Waits until waitable `obj` is done or `timeout` seconds passed; true when done.
function M.wait_for(obj, timeout, what)
  if not obj._done then turn() end
  if obj._done then return true end
  if timeout == 0 then return false end
  local rec = take_rec()
  local waiters = obj._waiters
  if not waiters then waiters = {}; obj._waiters = waiters end
  waiters[#waiters + 1] = rec
  local deadline = timeout and now() + timeout
  while not rec.done do
    local left = FOREVER
    if deadline then
      left = deadline - now()
      if left <= 0 then break end
      if left > FOREVER then left = FOREVER end
      -- ngx.semaphore counts whole milliseconds: less would not wait (nor yield) at all
      if left < 0.001 then left = 0.001 end
    end
    local ok, werr = pcall(rec.sema.wait, rec.sema, left)
    if not ok then
      forget(obj._waiters or {}, rec)
      error(cannot_wait(what, werr), 0)
    end
  end
  if not rec.done then forget(obj._waiters or {}, rec) else give_rec(rec) end
  return obj._done
end

function M.poll() turn() end

local function run_later(premature, fn, ...)
  local ok, err = pcall(fn, ...)
  if not ok then log_err("callback failed: ", tostring(err)) end
end

function M.spawn_later(fn, ...)
  local ok, err = timer_at(0, run_later, fn, ...)
  if not ok then log_err("cannot schedule a callback: ", tostring(err)) end
end

-- ddb.spawn / sleep / now / wait: nginx's own light threads, sleep and clock.
function M.spawn(fn, ...) return thread_spawn(fn, ...) end
function M.sleep(sec) return ngx.sleep(sec or 0) end
M.now = now
M.is_timeout = errors.is_timeout

local function is_waitable(x)
  return type(x) == "table" and type(x._done) == "boolean"
end

-- ddb.wait(list[, timeout]) -> done, pending (futures), as in dolphindb.sched; light
-- threads from ddb.spawn in the list are waited with ngx.thread.wait.
function M.wait(list, timeout)
  if is_waitable(list) or type(list) == "thread" then list = { list } end
  if type(list) ~= "table" then
    error("dolphindb: wait expects a future, a light thread or a list of them", 2)
  end
  M.check_timeout(timeout, 2, "wait")
  local deadline = timeout and now() + timeout
  local done, notdone = {}, {}
  for i = 1, #list do
    local x = list[i]
    if type(x) == "thread" then
      ngx.thread.wait(x)
    elseif is_waitable(x) then
      local left = deadline and math.max(0, deadline - now())
      M.wait_for(x, left, "wait")
    else
      error(("dolphindb: wait: item %d is not a future or a light thread (%s)"):format(i, type(x)), 2)
    end
  end
  for i = 1, #list do
    local x = list[i]
    if type(x) == "thread" or x._done then done[#done + 1] = x else notdone[#notdone + 1] = x end
  end
  return done, notdone
end

function M.loop()
  error("dolphindb: ddb.loop() is not needed inside nginx (the worker's event loop runs)", 2)
end

-- For tests: connections the driver holds.
function M._conn_count()
  local n = 0
  for _ in pairs(conns) do n = n + 1 end
  return n
end

return M
