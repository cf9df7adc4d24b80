-- dolphindb.ngx — the DolphinDB pool inside nginx workers (OpenResty / Debian's
-- nginx + lua-nginx-module + lua-resty-core). docs/DESIGN.md "nginx", option A.
--
--   init_worker_by_lua_block {
--     local ddb = require "dolphindb.ngx"
--     MYAPP.pool = ddb.DBConnectionPool("127.0.0.1", 8848, 8)     -- one per worker
--   }
--   content_by_lua_block { ngx.say(MYAPP.pool:run("1+2")) }
--
-- The API is the plain module's (dolphindb.pool): DBConnectionPool(host, port,
-- threadNum[, userid, password]) or DBConnectionPool{...options}; pool:run(script |
-- fname, args... | {script, args..., options}), runTaskAsync -> future (result(timeout),
-- exception, done, running, cancelled, cancel, add_done_callback, task_id),
-- addTask/isFinished/getData, shutDown/isShutDown, getSessionId, getConnectionCount,
-- stats. It works wherever lua-nginx-module lets a coroutine yield: content_by_lua*,
-- access_by_lua*, rewrite_by_lua*, ngx.timer callbacks and ngx.thread light threads.
--
-- How waiting works (no polling anywhere):
--   * the pool runs on its own libuv loop thread (ddb_pool_thread_*, dolphindb.ngxcore);
--   * a "pump" light thread (ngx.timer.at) holds a unix-socket cosocket; the C side
--     writes one byte to it whenever tasks finished; the pump wakes, takes the tickets
--     of the finished tasks and posts each waiter's ngx.semaphore;
--   * a request that waits parks on its semaphore, so the worker serves others.
-- Submitting never blocks (a full queue raises). Blocking C calls are short hand-offs
-- to the loop thread: getData (forget the id), stats, getSessionId; shutDown joins the
-- threads (a few ms with shutdownGrace = 0).
--
-- Worker exit (HUP reload, QUIT, or nginx -s stop/quit): a sentinel timer fires
-- prematurely when the worker starts exiting; it lets in-flight tasks finish for up to
-- `exitGrace` seconds (default 5), then shuts the pool down: queued/running tasks end
-- with "pool is shut down", every waiter wakes, both threads are joined, the socket
-- is closed. The socket file itself is removed as soon as the pump connected.
--
-- Options besides dolphindb.pool's: socketDir (where the notification socket is
-- created, default "/tmp"), exitGrace (seconds, default 5). show_output defaults to
-- false here; when true the server's print() lines go to the error log (notice).

local ngxcore = require "dolphindb.ngxcore"
local semaphore = require "ngx.semaphore"
local options = require "dolphindb.options"
local errors = require "dolphindb.errors"

local ngx = ngx
local type, tostring, error, pcall, setmetatable, getmetatable =
  type, tostring, error, pcall, setmetatable, getmetatable

local fail, parse_call, check_task_id = options.fail, options.parse_call, options.check_task_id
local reraise, table_to_list = options.reraise, options.table_to_list

local M = {}

-- One semaphore wait / sentinel period; waits loop past it. nginx keeps these in
-- 32-bit milliseconds: 2^31 ms is ~24.8 days, so stay well below.
local FOREVER = 1e6
local PUMP_READ_TIMEOUT = 86400000    -- ms: the pump's socket read never times out in practice

-- Task records are kept by their ticket's slot (ticket % SLOTS, reused by C once the
-- ticket came back; see src/lua_tickets.h): _recs[slot] = the record, _rec_ticket[slot]
-- = its ticket, both false when free. Keyed by the tickets themselves the table would
-- churn and LuaJIT would rehash it every few tasks.
local SLOTS = ngxcore.TICKET_SLOTS

local LUA_ONLY = { show_output = true, socketDir = true, exitGrace = true }

-- The shared options (dolphindb.options) plus this file's own two.
-- pool_config is a tail call, so its errors count levels as from dolphindb.pool.
local function build_config(opts)
  if opts.socketDir ~= nil and (type(opts.socketDir) ~= "string" or opts.socketDir:find("\0", 1, true)) then
    fail(3, "DBConnectionPool: socketDir must be a string without NUL bytes")
  end
  if opts.exitGrace ~= nil and not (type(opts.exitGrace) == "number" and opts.exitGrace >= 0) then
    fail(3, "DBConnectionPool: exitGrace must be a number of seconds >= 0")
  end
  return options.pool_config(opts, LUA_ONLY)
end

-- ---- task records: one per submitted task, keyed by the ticket C hands back -------

local function wake(rec)
  if rec.done then return end
  rec.done = true
  if rec.nwait > 0 then rec.sema:post(rec.nwait) end
  if rec.on_done then rec.on_done(rec) end
end

-- Parks the calling coroutine until `rec` is done; false on timeout.
local function await(rec, timeout)
  if rec.done then return true end
  if not rec.sema then rec.sema = semaphore.new(0) end
  rec.nwait = rec.nwait + 1
  local deadline = timeout and ngx.now() + timeout
  while not rec.done do
    local left = FOREVER
    if deadline then
      ngx.update_time()
      left = deadline - ngx.now()
      if left <= 0 then break end
    end
    rec.sema:wait(left)             -- raises where nginx does not let us yield
  end
  rec.nwait = rec.nwait - 1
  return rec.done
end

local Pool = {}
Pool.__index = Pool
Pool.__tostring = function(p)
  return ("dolphindb.ngx.DBConnectionPool(%s:%d, %d connections%s)"):format(
    p.host, p.port, p.threadNum, p._shut and ", shut down" or "")
end

-- Takes the finished tasks from C and wakes their waiters (the pump calls it).
function Pool:_dispatch()
  local tickets = self._c:poll()
  local recs, rec_ticket = self._recs, self._rec_ticket
  for i = 1, #tickets do
    local t = tickets[i]
    local slot = t % SLOTS
    local rec = rec_ticket[slot] == t and recs[slot]
    if rec then
      recs[slot], rec_ticket[slot] = false, false
      self._inflight = self._inflight - 1
      rec.completed = true          -- C delivered it: the task's fields are final
      wake(rec)
    end
  end
  if self._exiting and self._inflight == 0 and self._idle_sema then
    self._idle_sema:post(1)
  end
end

local function log_pool_failure(self, what, err)
  ngx.log(ngx.ERR, "dolphindb: ", what, " for ", tostring(self), ": ", tostring(err),
          "; shutting the pool down")
end

-- The pump: a timer light thread that sleeps on the notification cosocket.
local function pump(premature, self)
  if premature or self._shut then return self:shutDown() end
  local sock = ngx.socket.tcp()
  sock:settimeouts(5000, 5000, PUMP_READ_TIMEOUT)
  local ok, err = sock:connect("unix:" .. tostring(self._c:socket_path()))
  if ok then ok, err = self._c:accept() end
  if not ok then
    log_pool_failure(self, "the notification socket failed", err)
    return self:shutDown()
  end
  self:_dispatch()                  -- whatever finished before the pump ran
  while true do
    local data, rerr = sock:receiveany(4096)
    if data then
      self:_dispatch()
    elseif rerr ~= "timeout" then   -- "closed": shutDown closed the C side
      break
    end
  end
  sock:close()
  self:_dispatch()
end

-- The sentinel: a timer that only ever fires prematurely, when the worker exits.
local function on_worker_exit(premature, self)
  if self._shut then return end
  if not premature then                     -- FOREVER passed: arm it again
    local ok, err = ngx.timer.at(FOREVER, on_worker_exit, self)
    if not ok then log_pool_failure(self, "cannot re-arm the exit sentinel", err) end
    return
  end
  self._exiting = true
  if self._inflight > 0 then
    self._idle_sema = semaphore.new(0)
    self._idle_sema:wait(self._exit_grace)    -- posted when the last task ended
  end
  self:shutDown()
end

-- DBConnectionPool(host, port, threadNum[, userid, password]) or (options table).
function M.DBConnectionPool(host, port, threadNum, userid, password)
  local opts = options.pool_options(host, port, threadNum, userid, password)
  local cfg = build_config(opts)
  if ngx.get_phase() == "init" then
    fail(2, "create the pool in init_worker_by_lua* (one pool per worker), not in the master")
  end
  local okc, c = pcall(ngxcore.pool_new, cfg, opts.socketDir or "/tmp")
  if not okc then reraise(c, "DBConnectionPool", 2) end
  local self = setmetatable({
    _c = c, host = cfg.host, port = cfg.port, threadNum = cfg.thread_num,
    _recs = {}, _rec_ticket = {}, _byid = {}, _inflight = 0, _shut = false, _exiting = false,
    _show_output = opts.show_output == true, _exit_grace = opts.exitGrace or 5,
  }, Pool)
  local ok, err = ngx.timer.at(0, pump, self)
  if ok then ok, err = ngx.timer.at(FOREVER, on_worker_exit, self) end
  if not ok then
    self:shutDown()
    fail(2, "cannot start the pump timer: %s", tostring(err))
  end
  return self
end

-- ---- submitting (the same argument forms as dolphindb.pool) -------------------------

-- A plain function, not a method: `pool.run(nil)` must get this message, not an
-- "attempt to index a nil value" from looking the method up on nil.
local function check_open(self, method)
  if getmetatable(self) ~= Pool then fail(3, "%s must be called as pool:%s(...)", method, method) end
  if self._shut then fail(3, "%s: the pool is shut down", method) end
end
Pool._check_open = check_open

function Pool:_submit(level, script, args, id, opts, method)
  local ok, task, ticket = pcall(self._c.submit, self._c, script, args, id, opts.clearMemory,
    opts.priority, opts.parallelism, opts.timeout, opts.maxResultBytes)
  if not ok then reraise(task, method, level + 1) end
  local rec = { task = task, done = false, nwait = 0, opts = opts, script = script:sub(1, 200) }
  local slot = ticket % SLOTS
  self._recs[slot], self._rec_ticket[slot] = rec, ticket
  self._inflight = self._inflight + 1
  return rec
end

-- true, value for a DONE task; false, message otherwise (never raises).
local function outcome(self, rec)
  local task = rec.task
  if rec.cancelled then
    return false, errors.new("cancelled", ("dolphindb: task %s was cancelled (script: %s)")
      :format(tostring(task:id()), rec.script), task:id())
  end
  if self._show_output then
    local msgs = task:messages()
    if msgs then ngx.log(ngx.NOTICE, "dolphindb: ", table.concat(msgs, "\n")) end
  end
  if task:state() == "DONE" then
    local ok, v = pcall(task.take_result, task, options.conversion(rec.opts))
    if not ok then
      local why = tostring(v):gsub("^dolphindb: ", "")
      return false, errors.new("result", ("dolphindb: task %s: %s"):format(tostring(task:id()), why),
        task:id())
    end
    if rec.opts.pickleTableToList then v = table_to_list(v) end
    return true, v
  end
  return false, errors.wrap(task:failure())
end

function Pool:run(...)
  check_open(self, "run")
  local script, args, opts = parse_call(3, "run", 0, ...)
  local rec = self:_submit(2, script, args, nil, opts, "run")
  await(rec)
  local ok, v = outcome(self, rec)
  if ok then return v end
  error(v, 2)
end

function Pool:addTask(...)
  check_open(self, "addTask")
  local script, args, opts, extra = parse_call(3, "addTask", 1, ...)
  local id = extra[1]
  check_task_id(id, 2)
  self._byid[id] = self:_submit(2, script, args, id, opts, "addTask")
  return id
end

function Pool:_find(id, method)
  check_task_id(id, 3, method)
  local rec = self._byid[id]
  if not rec then
    fail(3, "%s: task %d does not exist (never submitted, or its result was already fetched)", method, id)
  end
  return rec
end

-- true once the task ended; reads the task's own (atomic) state, so a loop around it
-- needs no pump turn to make progress.
function Pool:isFinished(id)
  check_open(self, "isFinished")
  return self:_find(id, "isFinished").task:terminal()
end

function Pool:getData(id)
  check_open(self, "getData")
  local rec = self:_find(id, "getData")
  if not rec.task:terminal() then fail(2, "getData: task %d is not finished", id) end
  self._byid[id] = nil
  self._c:forget(id)
  local ok, v = outcome(self, rec)
  if ok then return v end
  error(v, 2)
end

-- ---- futures -------------------------------------------------------------------------

local Future = {}
Future.__index = Future
-- The task id (auto ids, < 0, are given at submission by the thread driver).
local function future_id(f)
  return f._rec.task:id()
end

Future.__tostring = function(f)
  local rec = f._rec
  local state = rec.cancelled and "cancelled" or (rec.done and "done") or "pending"
  return ("dolphindb.future(task %s, %s)"):format(tostring(future_id(f)), state)
end

local function check_future(f, method)
  if getmetatable(f) ~= Future then
    error(("dolphindb: future:%s() called on a %s (use f:%s, not f.%s)")
      :format(method, type(f), method, method), 3)
  end
end

-- The outcome is computed once (take_result hands the object over).
local function settled(f)
  if f._ok == nil then
    local ok, v = outcome(f._pool, f._rec)
    f._ok, f._value = ok, v
  end
  return f._ok, f._value
end

local function wait_future(f, timeout, what)
  if timeout ~= nil and not (type(timeout) == "number" and timeout >= 0 and timeout <= 1e9) then
    fail(3, "future:%s: timeout must be a number of seconds in 0..1e9", what)
  end
  if not await(f._rec, timeout) then
    error(errors.new("timeout", ("dolphindb: timed out after %g s waiting for the %s of task %s (the task keeps running)")
      :format(timeout, what, tostring(future_id(f))), future_id(f)), 3)
  end
end

function Future:result(timeout)
  check_future(self, "result")
  wait_future(self, timeout, "result")
  local ok, v = settled(self)
  if ok then return v end
  error(v, 2)
end

function Future:exception(timeout)
  check_future(self, "exception")
  wait_future(self, timeout, "exception")
  local ok, v = settled(self)
  if self._rec.cancelled then error(v, 2) end
  if ok then return nil end
  return v
end

function Future:done()
  check_future(self, "done")
  return self._rec.done
end

function Future:cancelled()
  check_future(self, "cancelled")
  return self._rec.cancelled == true
end

function Future:running()
  check_future(self, "running")
  return not self._rec.done and self._rec.task:state() == "RUNNING"
end

function Future:cancel()
  check_future(self, "cancel")
  local rec = self._rec
  if rec.done then return rec.cancelled == true end
  if self._pool._shut or not self._pool._c:cancel(rec.task) then return false end
  rec.cancelled = true
  wake(rec)                         -- its C completion still comes and is ignored
  return true
end

local function run_callback(premature, fn, f)
  local ok, err = pcall(fn, f)
  if not ok then ngx.log(ngx.ERR, "dolphindb: future done-callback failed: ", tostring(err)) end
end

local function schedule_callback(fn, f)
  local ok, err = ngx.timer.at(0, run_callback, fn, f)
  if not ok then ngx.log(ngx.ERR, "dolphindb: cannot schedule a future done-callback: ", err) end
end

-- fn(f) runs in its own timer light thread once the future is done.
function Future:add_done_callback(fn)
  check_future(self, "add_done_callback")
  local t, mt = type(fn), getmetatable(fn)
  if t ~= "function" and not (t == "table" and mt and mt.__call) then
    error("dolphindb: add_done_callback expects a function, got " .. t, 2)
  end
  if self._rec.done then return schedule_callback(fn, self) end
  local cbs = self._callbacks or {}
  cbs[#cbs + 1] = fn
  self._callbacks = cbs
end

function Future:task_id()
  check_future(self, "task_id")
  return future_id(self)
end

function Pool:runTaskAsync(...)
  check_open(self, "runTaskAsync")
  local script, args, opts = parse_call(3, "runTaskAsync", 0, ...)
  local rec = self:_submit(2, script, args, nil, opts, "runTaskAsync")
  local f = setmetatable({ _pool = self, _rec = rec }, Future)
  rec.on_done = function()
    local cbs = f._callbacks
    f._callbacks = nil
    if cbs then for i = 1, #cbs do schedule_callback(cbs[i], f) end end
  end
  return f
end

-- ---- lifetime and inspection -----------------------------------------------------------

-- Idempotent. Queued tasks fail with "pool is shut down", running ones are abandoned
-- after shutdownGrace seconds, every waiter and future wakes; later calls raise.
-- Blocks the worker while the pool closes its sockets and its threads are joined.
function Pool:shutDown()
  if getmetatable(self) ~= Pool then fail(2, "shutDown must be called as pool:shutDown()") end
  if self._closed then return end
  self._shut, self._closed = true, true
  self._c:close()
  self:_dispatch()
  local stray = 0
  for slot, rec in pairs(self._recs) do      -- none expected: every task was published
    if rec then
      self._recs[slot], self._rec_ticket[slot] = false, false
      self._inflight = self._inflight - 1
      stray = stray + 1
      wake(rec)
    end
  end
  ngx.log(ngx.NOTICE, "dolphindb: ", tostring(self), ": threads joined, socket closed",
          stray > 0 and (", " .. stray .. " tasks had no completion") or "")
end

function Pool:isShutDown()
  if getmetatable(self) ~= Pool then fail(2, "isShutDown must be called as pool:isShutDown()") end
  return self._shut
end

function Pool:getSessionId()
  check_open(self, "getSessionId")
  return self._c:session_ids()
end

function Pool:getConnectionCount()
  check_open(self, "getConnectionCount")
  return self.threadNum
end

-- Counters (queued, running, done, failed, cancelled, abandoned, conns, conns_ready,
-- conns_busy) plus `waiting`: tasks submitted by this worker whose completion has not
-- been delivered yet.
function Pool:stats()
  if getmetatable(self) ~= Pool then fail(2, "stats must be called as pool:stats()") end
  if self._closed then return { state = "CLOSED", waiting = self._inflight } end
  local s = self._c:stats()
  s.state = "OPEN"
  s.waiting = self._inflight
  return s
end

M.Pool = Pool
M.Future = Future

-- The plain module's scheduler helpers, mapped onto nginx's own: spawn -> a light
-- thread of the current request/timer, sleep -> ngx.sleep, now -> fresh ngx.now().
function M.spawn(fn, ...) return ngx.thread.spawn(fn, ...) end
M.is_timeout = errors.is_timeout
function M.sleep(sec) return ngx.sleep(sec) end
function M.now()
  ngx.update_time()
  return ngx.now()
end

-- wait(list[, timeout]): waits until every future in `list` is done (light threads
-- from spawn are waited with ngx.thread.wait). Returns true, or false on timeout.
function M.wait(list, timeout)
  local deadline = timeout and M.now() + timeout
  for i = 1, #list do
    local item = list[i]
    if getmetatable(item) == Future then
      local left = deadline and math.max(0, deadline - M.now())
      if not await(item._rec, left) then return false end
    elseif type(item) == "thread" then
      ngx.thread.wait(item)
    else
      fail(2, "wait: list[%d] is a %s, not a future or a light thread", i, type(item))
    end
  end
  return true
end

-- Values: the typed constructors, ddb.null, encode/decode of the plain module.
local has_value, value = pcall(require, "dolphindb.value")
if has_value then
  for k, v in pairs(value) do
    if M[k] == nil then M[k] = v end
  end
  for _, k in ipairs { "string", "symbol", "code" } do
    if M[k] then M[k] = options.text_constructor(M[k], k) end
  end
  for k, v in pairs(value) do      -- their misuse errors name the function called
    if type(v) == "function" and not k:find("^_") then M[k] = errors.named(M[k], k) end
  end
end
M.plain = require("dolphindb.plain").plain
M._VERSION = require("dolphindb.core").version

return M
