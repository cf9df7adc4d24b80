-- dolphindb.pool — DBConnectionPool, the Python API's pool for Lua.
--
--   local pool = ddb.DBConnectionPool("127.0.0.1", 8848, 8[, userid, password])
--   local pool = ddb.DBConnectionPool{ host=, port=, threadNum=, ... }   -- see OPTIONS
--
--   pool:run(script)                 script mode
--   pool:run(fname, arg1, ...)       function-call mode (any argument given)
--   pool:run{ script, args..., clearMemory=, pickleTableToList=, priority=,
--             parallelism=, timeout=, typed= }
--   pool:addTask(script, taskId, ...) / pool:isFinished(id) / pool:getData(id)
--   pool:runTaskAsync(script, ...) -> future (dolphindb.future)
--   pool:shutDown() pool:isShutDown() pool:getSessionId() pool:getConnectionCount()
--   pool:stats()
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
--   reConnect             reconnect a broken connection (false)
--   tryReconnectNums      attempts per reconnect round, -1 unlimited (-1); also bounds
--                         the attempts of the initial open when reConnect is on
--   reconnectDelay        first back-off delay in seconds, doubling up to 2 s (0.1)
--   connectTimeout        seconds for TCP connect + handshake + login (10)
--   keepAliveTime         TCP keep-alive idle seconds, 0 off (30)
--   highAvailability      HA: tasks on a broken connection are re-sent, possibly to
--                         another site; <NotLeader> redirects followed (false)
--   highAvailabilitySites list of "host:port" (or {host=, port=}) sites
--   loadBalance           spread connections over all sites (false)
--   compress              ask for compressed tables (false)
--   initialScript         script run after every (re)connect + login (none)
--   taskTimeout           default per-task timeout in seconds, 0 none (0)
--   queueLimit            max queued tasks, 0 unbounded (0); past it submits raise
--   shutdownGrace         seconds running tasks may finish after shutDown (0)
--   loginInConnect        send the login inside the connect request (false)
--   show_output           print the server's print() output to stdout (true)
-- A function call with no arguments cannot be told from a script: run "f()".
--
-- Errors: misuse (wrong types, unknown option, closed pool, unknown task id) raises
-- "dolphindb: ..." at the call. A task that fails (server error, lost connection,
-- timeout, cancel, shutdown) raises its message, which names the task id and the
-- script, from run(), future:result() and getData(); isFinished() returns true for it.

local core = require "dolphindb.core"
local sched = require "dolphindb.sched"
local Future = require "dolphindb.future"

local type, select, tostring, error = type, select, tostring, error
local await_ticket = sched.await_ticket

local M = {}

-- The C pool's run and finish, taken from the first pool's methods: a method lookup
-- on a userdata goes through its metatable on every call, and run() is the hot path.
local c_run, c_finish

-- User option name -> C config field.
local OPTIONS = {
  host = "host", port = "port", threadNum = "thread_num",
  userid = "userid", password = "password",
  reConnect = "reconnect", tryReconnectNums = "try_reconnect_nums",
  highAvailability = "high_availability", highAvailabilitySites = "sites",
  loadBalance = "load_balance", compress = "compress",
  initialScript = "initial_script", connectTimeout = "connect_timeout",
  reconnectDelay = "reconnect_delay", keepAliveTime = "keepalive_sec",
  taskTimeout = "task_timeout", queueLimit = "queue_limit",
  shutdownGrace = "shutdown_grace", loginInConnect = "login_in_connect",
  show_output = false,          -- Lua side only: print the server's print() output
}

local Pool = {}
Pool.__index = Pool
Pool.__tostring = function(p)
  return ("dolphindb.DBConnectionPool(%s:%d, %d connections%s)"):format(
    p.host, p.port, p.threadNum, p._shut and ", shut down" or "")
end

local function fail(level, fmt, ...)
  error("dolphindb: " .. fmt:format(...), level + 1)
end

local function is_integer(x) return type(x) == "number" and x == math.floor(x) end

-- "host:port" strings or {host=, port=} tables -> {host=, port=} tables.
local function parse_sites(list)
  if type(list) ~= "table" then fail(4, "highAvailabilitySites must be a list of \"host:port\"") end
  local sites = {}
  for i, s in ipairs(list) do
    if type(s) == "string" then
      local h, p = s:match("^%[?([^%]]+)%]?:(%d+)$")
      if not h then fail(4, "highAvailabilitySites[%d] = %q is not \"host:port\"", i, s) end
      sites[i] = { host = h, port = tonumber(p) }
    elseif type(s) == "table" and type(s.host) == "string" and is_integer(s.port) then
      sites[i] = { host = s.host, port = s.port }
    else
      fail(4, "highAvailabilitySites[%d] must be \"host:port\" or {host=, port=}", i)
    end
  end
  return sites
end

local function build_config(opts)
  local cfg = { thread_num = 10, reconnect = false }
  for k, v in pairs(opts) do
    local field = OPTIONS[k]
    if field == nil then fail(3, "unknown DBConnectionPool option '%s'", tostring(k)) end
    if field then cfg[field] = v end
  end
  if type(cfg.host) ~= "string" or cfg.host == "" then fail(3, "host must be a non-empty string") end
  if not is_integer(cfg.port) or cfg.port < 1 or cfg.port > 65535 then
    fail(3, "port must be an integer in 1..65535, got %s", tostring(cfg.port))
  end
  if not is_integer(cfg.thread_num) or cfg.thread_num < 1 or cfg.thread_num > 4096 then
    fail(3, "threadNum must be an integer in 1..4096, got %s", tostring(cfg.thread_num))
  end
  for _, k in ipairs { "userid", "password" } do
    if cfg[k] ~= nil and type(cfg[k]) ~= "string" then fail(3, "%s must be a string", k) end
  end
  if cfg.sites then cfg.sites = parse_sites(cfg.sites) end
  return cfg
end

-- DBConnectionPool(host, port, threadNum[, userid, password]) or (options table).
function M.DBConnectionPool(host, port, threadNum, userid, password)
  local opts
  if type(host) == "table" then
    if port ~= nil then fail(2, "DBConnectionPool{...} takes one options table") end
    opts = host
  else
    opts = { host = host, port = port, threadNum = threadNum, userid = userid, password = password }
  end
  local cfg = build_config(opts)
  -- a config the C side refuses is the caller's mistake: raise it at their call,
  -- without this file's position in front of the message
  local ok, c, ticket = pcall(core.pool_new, cfg)
  if not ok then error((tostring(c):gsub("^[^\n]-:%d+: ", "")), 2) end
  if not c_run then
    local methods = getmetatable(c).__index
    c_run, c_finish = methods.run, methods.finish
  end
  local self = setmetatable({
    _c = c, host = cfg.host, port = cfg.port, threadNum = cfg.thread_num,
    _show_output = opts.show_output ~= false, _shut = false,
  }, Pool)
  if ticket then await_ticket(ticket) end
  if c:state() ~= "OPEN" then           -- FAILED, or already CLOSED after failing
    local why = c:error()
    if why == "" then why = "the pool ended in state " .. c:state() end
    self:_close()
    local where = ("%s:%d"):format(cfg.host, cfg.port)
    if why:find(where, 1, true) then fail(2, "%s", why) end
    fail(2, "cannot open the connection pool to %s: %s", where, why)
  end
  return self
end

-- ---- submitting ------------------------------------------------------------------

local RUN_OPTIONS = {
  clearMemory = "boolean", pickleTableToList = "boolean", priority = "number",
  parallelism = "number", timeout = "number", typed = "boolean",
}
local NO_OPTIONS = {}

local function check_options(opts, level)
  for k, v in pairs(opts) do
    if type(k) ~= "number" then
      local want = RUN_OPTIONS[k]
      if not want then fail(level, "unknown option '%s'", tostring(k)) end
      if type(v) ~= want then fail(level, "option '%s' must be a %s, got %s", k, want, type(v)) end
    end
  end
  if opts.priority and (not is_integer(opts.priority) or opts.priority < 0 or opts.priority > 8) then
    fail(level, "priority must be an integer in 0..8")
  end
  if opts.parallelism and (not is_integer(opts.parallelism) or opts.parallelism < 1 or opts.parallelism > 64) then
    fail(level, "parallelism must be an integer in 1..64")
  end
  if opts.timeout and not (opts.timeout > 0) then fail(level, "timeout must be > 0 seconds") end
end

-- Splits the two call forms into script, args (nil: script mode), options.
-- `skip` positional values after the script belong to the method (addTask's id).
local function parse_call(level, method, skip, first, ...)
  local script, args, opts, extra
  if type(first) == "table" then
    if select("#", ...) > 0 then
      fail(level, "%s{...}: pass everything inside the table", method)
    end
    opts = first
    check_options(opts, level + 1)
    script = first[1]
    local n = table.maxn(first)
    extra = { n = skip }
    for i = 1, skip do extra[i] = first[i + 1] end
    if n > skip + 1 then
      args = { n = n - 1 - skip }
      for i = skip + 2, n do args[i - 1 - skip] = first[i] end
    end
  else
    script, opts = first, NO_OPTIONS
    local n = select("#", ...)
    if skip > 0 then extra = { n = skip, ... } end
    if n > skip then
      args = { n = n - skip, select(skip + 1, ...) }
    end
  end
  if type(script) ~= "string" then
    fail(level, "%s: the script (or function name) must be a string, got %s", method, type(script))
  end
  return script, args, opts, extra
end

-- A plain function, not a method: `pool.run(nil)` must get this message, not an
-- "attempt to index a nil value" from looking the method up on nil.
local function check_open(self, method)
  if getmetatable(self) ~= Pool then
    fail(3, "%s must be called as pool:%s(...)", method, method)
  end
  if self._shut then fail(3, "%s: the pool is shut down", method) end
end
Pool._check_open = check_open

-- Submits through C method `how` ("submit": -> task, ticket; "run": -> ticket, the
-- task held in C until finish). A rejected submission (argument conversion, closed
-- pool) is raised at the user's call, `level` frames up from here.
function Pool:_submit(level, how, script, args, id, opts)
  local c = self._c
  local ok, a, b = pcall(c[how], c, script, args, id, opts.clearMemory, opts.priority,
    opts.parallelism, opts.timeout)
  if not ok then
    error((tostring(a):gsub("^[^\n]-:%d+: ", "")), level + 1)
  end
  return a, b
end

function Pool:_cancel_task(task)
  return self._c:cancel(task)
end


-- A table result as a list of columns (pickleTableToList).
local function table_to_list(v)
  local mt = getmetatable(v)
  if type(v) == "table" and mt and type(v.columns) == "function" then
    return v:columns()
  end
  if type(v) == "table" and type(v.columns) == "table" then return v.columns end
  return v
end

local function print_messages(msgs)
  for i = 1, #msgs do io.write(msgs[i], "\n") end
end

-- true, value for a DONE task; false, message otherwise (never raises). typed = true:
-- the result converts as ddb.decode(bytes, 1, {typed = true}) would (CHAR/SHORT/
-- FLOAT/BLOB/NULL scalars keep their type).
local function outcome(self, task, opts)
  if self._show_output then
    local msgs = task:messages()
    if msgs then print_messages(msgs) end
  end
  local ok, v = task:outcome(opts.typed)
  if ok and opts.pickleTableToList then v = table_to_list(v) end
  return ok, v
end

-- pool:run(script | fname, args... | {script, args..., options})
-- The hot path: the task stays inside the C pool under its ticket (no task object),
-- and finish() hands over the outcome once the ticket completed.
function Pool:run(...)
  check_open(self, "run")
  local script, args, opts = parse_call(3, "run", 0, ...)
  local c, ticket = self._c, nil
  if args == nil and opts == NO_OPTIONS then     -- pool:run(script): the common call
    local ok
    ok, ticket = pcall(c_run, c, script)
    if not ok then error((tostring(ticket):gsub("^[^\n]-:%d+: ", "")), 2) end
  else
    ticket = self:_submit(2, "run", script, args, nil, opts)
  end
  await_ticket(ticket)
  local ok, v, msgs = c_finish(c, ticket, opts.typed)
  if msgs and self._show_output then print_messages(msgs) end
  if not ok then error(v, 2) end
  if opts.pickleTableToList then v = table_to_list(v) end
  return v
end

local function check_task_id(id, level)
  if not is_integer(id) or id < 0 or id > 2^53 then
    fail(level + 1, "taskId must be an integer >= 0, got %s", tostring(id))
  end
end

-- pool:addTask(script, taskId, args...) or pool:addTask{script, taskId, args..., opts}
function Pool:addTask(...)
  check_open(self, "addTask")
  local script, args, opts, extra = parse_call(3, "addTask", 1, ...)
  local id = extra[1]
  check_task_id(id, 2)
  self:_submit(2, "submit", script, args, id, opts)   -- its ticket completes unobserved
  return id
end

function Pool:_find(id, method)
  check_task_id(id, 3)
  local task = self._c:find(id)
  if not task then
    fail(3, "%s: task %d does not exist (never submitted, or its result was already fetched)",
      method, id)
  end
  return task
end

-- true once the task ended (done, failed, cancelled or abandoned).
function Pool:isFinished(id)
  check_open(self, "isFinished")
  local task = self:_find(id, "isFinished")
  if task:terminal() then return true end
  sched.poll()            -- so a polling loop makes progress without sleeping
  return task:terminal()
end

-- The result of a finished task (released: a second getData raises), or its error.
function Pool:getData(id)
  check_open(self, "getData")
  local task = self:_find(id, "getData")
  if not task:terminal() then
    fail(2, "getData: task %d is not finished", id)
  end
  self._c:forget(id)
  local ok, v = outcome(self, task, NO_OPTIONS)
  if ok then return v end
  error(v, 2)
end

-- pool:runTaskAsync(script, args...) -> future
function Pool:runTaskAsync(...)
  check_open(self, "runTaskAsync")
  local script, args, opts = parse_call(3, "runTaskAsync", 0, ...)
  local task, ticket = self:_submit(2, "submit", script, args, nil, opts)
  return Future.new(self, task, ticket, function(t) return outcome(self, t, opts) end)
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

M.Pool = Pool
return M
