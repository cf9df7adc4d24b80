-- dolphindb.pool — DBConnectionPool, the Python API's pool for Lua.
--
--   local pool = ddb.DBConnectionPool("127.0.0.1", 8848, 8[, userid, password])
--   local pool = ddb.DBConnectionPool{ host=, port=, threadNum=, ... }   -- options below
--
--   pool:run(script)                 script mode
--   pool:run(fname, arg1, ...)       function-call mode (any argument given)
--   pool:run{ script, args..., clearMemory=, pickleTableToList=, priority=,
--             parallelism=, timeout=, typed=, view=, onProgress=, progressInterval= }
--   pool:run{ script, fetchSize = n, ... } -> iterator of blocks (dolphindb.fetch)
--   pool:addTask(script, taskId, ...) / pool:isFinished(id) / pool:getData(id)
--   pool:runTaskAsync(script, ...) -> future (dolphindb.future)
--   pool:shutDown() pool:isShutDown() pool:getSessionId() pool:getConnectionCount()
--   pool:stats()   pool:withConnection(fn, ...) (dolphindb.pinned)
--
-- Waiting: in a coroutine of the scheduler (ddb.spawn, or a ddblua script) a call
-- that waits parks the coroutine; anywhere else it drives the event loop until done.
--
-- Defaults, documented choices:
--   clearMemory = true for run, addTask and runTaskAsync alike (the Python API's
--     addTask default of false contradicts its own docs; we pick one rule);
--   pickleTableToList = false (true: a table comes back as the list of its columns);
--   priority 4 (0..8); parallelism 64 (1..64); timeout: the pool's taskTimeout (per
--     task, seconds counted from submission, queue time included; a task that times
--     out fails and, if it was running, its connection is recycled);
--   threadNum = 10, reConnect = false, compress = false, loadBalance = false,
--     highAvailability = false (the Python defaults); connectTimeout = 10 s.
--
-- Pool options (the table form; the positional form sets the first five):
--   host, port            entry node (required)
--   threadNum             connections, 1..4096 (10)
--   userid, password      login after connecting (none)
--   reConnect             reconnect a broken connection (false; true with HA)
--   tryReconnectNums      attempts per reconnect round, -1 unlimited (-1); also bounds
--                         the attempts of the initial open when reConnect is on
--   openLazily            never fail the open: OPEN at once, connections keep trying
--                         until the server answers, tasks queue meanwhile (false;
--                         true inside nginx)
--   reconnectDelay        first back-off delay in seconds, doubling up to 2 s (0.1)
--   connectTimeout        seconds for TCP connect + handshake + login (10)
--   keepAliveTime         TCP keep-alive idle seconds, 0 off (30)
--   highAvailability      HA: tasks on a broken connection are re-sent, possibly to
--                         another site; <NotLeader> redirects followed (false)
--   highAvailabilitySites list of "host:port" (or {host=, port=}) sites
--   loadBalance           spread connections over all sites; no sites: over the
--                         cluster's live data nodes, discovered (false)
--   compress              ask for compressed tables (false)
--   initialScript         script run after every (re)connect + login (none)
--   taskTimeout           default per-task timeout in seconds, 0 none (0)
--   queueLimit            max queued tasks, 0 unbounded (0); past it submits raise
--   shutdownGrace         seconds running tasks may finish after shutDown (0)
--   loginInConnect        send the login inside the connect request (false)
--   show_output           print the server's print() output to stdout (true)
--   logger, logLevel      this pool's event log (dolphindb.log; ddb.setLogger's)
-- A function call with no arguments cannot be told from a script: run "f()".
--
-- Errors: misuse (wrong types, unknown option, closed pool, unknown task id) raises
-- "dolphindb: ..." at the call. A task that fails (server error, lost connection,
-- timeout, cancel, shutdown) raises an error value (dolphindb.errors: kind, message
-- naming the task id and the script, task_id, server_error) from run(),
-- future:result() and getData(); isFinished() returns true for it.

local core = require "dolphindb.core"
local sched = require "dolphindb.sched"
local Future = require "dolphindb.future"
local options = require "dolphindb.options"
local errors = require "dolphindb.errors"
local log = require "dolphindb.log"
local fetch = require "dolphindb.fetch"

local error, pcall, getmetatable, setmetatable = error, pcall, getmetatable, setmetatable
local await_ticket, ignore_ticket = sched.await_ticket, sched.ignore_ticket
local fail, parse_call, check_task_id = options.fail, options.parse_call, options.check_task_id
local reraise, table_to_list, NO_OPTIONS = options.reraise, options.table_to_list,
  options.NO_OPTIONS
local conversion = options.conversion
local wrap_error = errors.wrap

local M = {}

-- The C pool's run and finish, taken from the first pool's methods: a method lookup
-- on a userdata goes through its metatable on every call, and run() is the hot path.
local c_run, c_finish, c_add, c_finished, c_take_id

local Pool = {}
Pool.__index = Pool
Pool.__tostring = function(p)
  return ("dolphindb.DBConnectionPool(%s:%d, %d connections%s)"):format(
    p.host, p.port, p.threadNum, p._shut and ", shut down" or "")
end

-- pool options handled in Lua, not by the C pool: this file's and the host's
local LUA_ONLY = { show_output = true, logger = true, _like = true }   -- _like: dolphindb.session
for k in pairs(sched.pool_options) do LUA_ONLY[k] = true end
local kick, output = sched.kick, sched.output

-- DBConnectionPool(host, port, threadNum[, userid, password]) or (options table).
function M.DBConnectionPool(host, port, threadNum, userid, password)
  local opts = options.pool_options(host, port, threadNum, userid, password)
  sched.pool_defaults(opts)
  local cfg = options.pool_config(opts, LUA_ONLY)
  local own_log = log.configure(opts, cfg)
  -- a config the C side refuses is the caller's mistake: raise it at their call,
  -- without this file's position in front of the message
  local ok, c, ticket = pcall(core.pool_new, cfg, opts._like and opts._like._c)
  if not ok then reraise(c, "DBConnectionPool", 2) end
  if not c_run then
    local methods = getmetatable(c).__index
    c_run, c_finish, c_add = methods.run, methods.finish, methods.add
    c_finished, c_take_id = methods.finished, methods.take_id
  end
  local self = setmetatable({
    _c = c, host = cfg.host, port = cfg.port, threadNum = cfg.threadNum or 10,
    _opts = options.copy(opts),         -- for withSession (dolphindb.session): no login
                                        -- (its session takes it from this pool, in C)
    _show_output = opts.show_output ~= false, _shut = false,
    -- the task of a run() whose coroutine could not wait: let go of it once it ends
    _abandon = function(ticket) pcall(c_finish, c, ticket) end,
    -- the task of a run() interrupted by Ctrl-C (dolphindb.sched)
    _cancel = function(ticket) pcall(c.cancel_held, c, ticket) end,
  }, Pool)
  self._opts.userid, self._opts.password, self._opts._like = nil, nil, nil
  log.register(self, own_log)
  sched.on_pool(self, opts)
  if not sched.wait_open then return self end   -- nginx: connections open in the background
  if ticket then await_ticket(ticket, nil, "DBConnectionPool") end
  if c:state() ~= "OPEN" then           -- FAILED, or already CLOSED after failing
    local why = c:error()
    if why == "" then why = "the pool ended in state " .. c:state() end
    self:_close()
    local where = ("%s:%d"):format(cfg.host, cfg.port)
    if not why:find(where, 1, true) then
      why = ("cannot open the connection pool to %s: %s"):format(where, why)
    end
    error(errors.new("connection", "dolphindb: " .. why), 2)
  end
  return self
end

-- ---- submitting ------------------------------------------------------------------

-- A plain function, not a method: `pool.run(nil)` must get this message, not an
-- "attempt to index a nil value" from looking the method up on nil.
local function check_open(self, method)
  if getmetatable(self) ~= Pool then
    fail(3, "%s must be called as pool:%s(...)", method, method)
  end
  if self._shut then fail(3, "%s: the pool is shut down", method) end
end
Pool._check_open = check_open

-- Submits through C method `how` ("add": -> ticket, the task held by id; "run": -> ticket, id,
-- the task held in C until _take). A rejected submission (argument conversion, closed
-- pool) is raised at the user's call, `level` frames up from here.
function Pool:_submit(level, how, script, args, id, opts, method)
  local c = self._c
  local ok, a, b = pcall(c[how], c, script, args, id, opts ~= NO_OPTIONS and opts or nil)
  if not ok then reraise(a, method, level + 1) end
  return a, b
end



local print_messages = output

-- The outcome of a task started with c:run once its ticket completed: true, value or
-- false, message (never raises); the C pool lets go of the task.
function Pool:_take(ticket, opts)
  local ok, v, msgs = c_finish(self._c, ticket, opts ~= NO_OPTIONS and conversion(opts) or nil)
  if msgs and self._show_output then print_messages(msgs) end
  if not ok then return false, wrap_error(v) end
  if opts.pickleTableToList then v = table_to_list(v) end
  return ok, v
end

-- pool:run(script | fname, args... | {script, args..., options})
-- The hot path: the task stays inside the C pool under its ticket (no task object),
-- and _take hands over the outcome once the ticket completed. pool:run(script), the
-- common call, goes straight through: no parse_call (a vararg call and a table of
-- options to look into), no _take (conversion flags of the default options are none).
function Pool:run(script, ...)
  if getmetatable(self) == Pool and not self._shut and type(script) == "string"
      and select("#", ...) == 0 then
    local c = self._c
    local ok, ticket = pcall(c_run, c, script)
    if not ok then reraise(ticket, "run", 2) end
    await_ticket(ticket, self._abandon, "run", self._cancel)
    local v, msgs
    ok, v, msgs = c_finish(c, ticket)
    if msgs and self._show_output then print_messages(msgs) end
    if not ok then error(wrap_error(v), 2) end
    return v
  end
  check_open(self, "run")
  local args, opts
  script, args, opts = parse_call(3, "run", 0, script, ...)
  local ticket
  local fs = opts.fetchSize
  if fs ~= nil and fs ~= 0 then return fetch.start(self, 2, script, args, opts) end
  ticket = self:_submit(2, "run", script, args, nil, opts, "run")
  if opts.onProgress then
    fetch.await_run(self, ticket, opts)
  else
    await_ticket(ticket, self._abandon, "run", self._cancel)
  end
  local ok, v = self:_take(ticket, opts)
  if not ok then error(v, 2) end
  return v
end

-- pool:addTask(script, taskId, args...) or pool:addTask{script, taskId, args..., opts}
-- Options only pool:run takes: its caller consumes the blocks and sees the progress.
local function run_only(opts, method)
  if opts.fetchSize ~= nil and opts.fetchSize ~= 0 or opts.onProgress ~= nil then
    fail(3, "%s: fetchSize and onProgress are pool:run options (its caller takes the "
      .. "blocks and sees the progress)", method)
  end
end

-- The task has no Lua object: the C pool's id table holds it until getData, and
-- isFinished/getData ask the C pool by id.
-- addTask(script, id), the common call, goes straight to the C pool: no parse_call
-- (which makes a table for the id).
function Pool:addTask(...)
  local script, id = ...
  if getmetatable(self) == Pool and not self._shut and type(script) == "string"
      and select("#", ...) == 2 then
    check_task_id(id, 2)
    local ok, ticket = pcall(c_add, self._c, script, nil, id)
    if not ok then reraise(ticket, "addTask", 2) end
    ignore_ticket(ticket)
    kick()
    return id
  end
  check_open(self, "addTask")
  local args, opts, extra
  script, args, opts, extra = parse_call(3, "addTask", 1, ...)
  run_only(opts, "addTask")
  id = extra[1]
  check_task_id(id, 2)
  ignore_ticket(self:_submit(2, "add", script, args, id, opts, "addTask"))
  kick()            -- (nginx) carry out what the submit asked; libuv did already
  return id
end

local function unknown_id(method, id)
  fail(3, "%s: task %d does not exist (never submitted, or its result was already fetched)",
    method, id)
end

-- true once the task ended (done, failed, cancelled or abandoned).
function Pool:isFinished(id)
  check_open(self, "isFinished")
  check_task_id(id, 2, "isFinished")
  local c = self._c
  local finished = c_finished(c, id)
  if finished then return true end
  if finished == nil then unknown_id("isFinished", id) end
  sched.poll()            -- so a polling loop makes progress without sleeping
  -- (a coroutine woken by the poll may have fetched it already: it had ended)
  return c_finished(c, id) ~= false
end

-- The result of a finished task (released: a second getData raises), or its error.
function Pool:getData(id)
  check_open(self, "getData")
  check_task_id(id, 2, "getData")
  local ok, v, msgs = c_take_id(self._c, id)
  if ok == nil then
    if v == nil then unknown_id("getData", id) end
    fail(2, "getData: task %d is not finished", id)
  end
  if msgs and self._show_output then print_messages(msgs) end
  if ok then return v end
  error(wrap_error(v), 2)
end

-- pool:runTaskAsync(script, args...) -> future
-- runTaskAsync(script), the common call, goes straight to the C pool (as run does).
function Pool:runTaskAsync(script, ...)
  if getmetatable(self) == Pool and not self._shut and type(script) == "string"
      and select("#", ...) == 0 then
    local ok, ticket, id = pcall(c_run, self._c, script)
    if not ok then reraise(ticket, "runTaskAsync", 2) end
    local f = Future.new(self, ticket, id, NO_OPTIONS)
    kick()
    return f
  end
  check_open(self, "runTaskAsync")
  local args, opts
  script, args, opts = parse_call(3, "runTaskAsync", 0, script, ...)
  run_only(opts, "runTaskAsync")
  local ticket, id = self:_submit(2, "run", script, args, nil, opts, "runTaskAsync")
  local f = Future.new(self, ticket, id, opts)
  kick()            -- after the future listens: in nginx a completion is delivered at once
  return f
end

-- ---- lifetime and inspection --------------------------------------------------------

-- Closes the C pool and waits until its connections are closed.
function Pool:_close()
  if not self._closing then
    local closing = { _done = false }
    self._closing = closing
    local ticket = self._c:shutdown()
    if ticket then
      sched.on_ticket(ticket, function() sched.signal(closing) end)
    else
      closing._done = true
    end
    kick()
  end
  sched.wait_for(self._closing)
end

-- Idempotent. Queued tasks fail with "pool is shut down", running ones are abandoned
-- (after shutdownGrace seconds), every waiter and future is woken; later calls raise.
function Pool:shutDown()
  if getmetatable(self) ~= Pool then fail(2, "shutDown must be called as pool:shutDown()") end
  self._shut = true
  self:_close()
end

function Pool:isShutDown()
  if getmetatable(self) ~= Pool then fail(2, "isShutDown must be called as pool:isShutDown()") end
  return self._shut
end

-- One session id per connection (as Python's getSessionId).
function Pool:getSessionId()
  check_open(self, "getSessionId")
  local ids = {}
  for i = 1, self._c:conn_count() do
    local info = self._c:conn_info(i)
    ids[i] = info and info.session_id or ""
  end
  return ids
end

function Pool:getConnectionCount()
  check_open(self, "getConnectionCount")
  return self._c:conn_count()
end

-- Counters (queued, running, done, failed, cancelled, abandoned, conns, ...) and the
-- state of each connection in `connections`.
function Pool:stats()
  if getmetatable(self) ~= Pool then fail(2, "stats must be called as pool:stats()") end
  if self._c:state() == "CLOSED" then return { state = "CLOSED", connections = {} } end
  local s = self._c:stats()
  s.connections = {}
  for i = 1, self._c:conn_count() do s.connections[i] = self._c:conn_info(i) end
  return s
end

-- pool:withSession(fn, ...): fn(session, ...) on a connection of its own, with this
-- pool's connection options (dolphindb.session).
function Pool:withSession(...)
  check_open(self, "withSession")
  return require("dolphindb.session").with_session(self, ...)
end

-- pool:withConnection(fn, ...): fn(conn, ...) with one of this pool's connections
-- pinned to it: conn:run / conn:upload share one server session (dolphindb.pinned).
function Pool:withConnection(...)
  check_open(self, "withConnection")
  return require("dolphindb.pinned").with_connection(self, ...)
end

M.Pool = Pool
return M
