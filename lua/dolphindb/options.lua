-- dolphindb.options — what the two pool flavours (dolphindb.pool on the module's own
-- loop, dolphindb.ngx inside nginx workers) read from their callers in the same way:
-- the constructor's two forms and its options, the run/addTask/runTaskAsync call
-- forms with their per-task options, and task ids. Misuse raises "dolphindb: ..." at
-- the user's call: each `level` counts frames up from the function that takes it.

local type, select, tostring, error, pairs, ipairs, tonumber, getmetatable =
  type, select, tostring, error, pairs, ipairs, tonumber, getmetatable

local errors = require "dolphindb.errors"

local M = {}

local function fail(level, fmt, ...)
  error("dolphindb: " .. fmt:format(...), level + 1)
end
M.fail = fail

local function is_integer(x) return type(x) == "number" and x == math.floor(x) end
M.is_integer = is_integer

-- User option name -> C config field.
local POOL_OPTIONS = {
  host = "host", port = "port", threadNum = "thread_num",
  userid = "userid", password = "password",
  reConnect = "reconnect", tryReconnectNums = "try_reconnect_nums", openLazily = "open_lazily",
  highAvailability = "high_availability", highAvailabilitySites = "sites",
  loadBalance = "load_balance", compress = "compress",
  initialScript = "initial_script", connectTimeout = "connect_timeout",
  reconnectDelay = "reconnect_delay", keepAliveTime = "keepalive_sec",
  taskTimeout = "task_timeout", queueLimit = "queue_limit",
  shutdownGrace = "shutdown_grace", loginInConnect = "login_in_connect",
  maxResultBytes = "max_result_bytes",
}

-- DBConnectionPool(host, port, threadNum[, userid, password]) or (options table) ->
-- the options table.
function M.pool_options(host, port, threadNum, userid, password)
  if type(host) == "table" then
    if port ~= nil then fail(3, "DBConnectionPool: the table form takes one options table, nothing after it") end
    return host
  end
  return { host = host, port = port, threadNum = threadNum, userid = userid, password = password }
end

-- A value in a message: strings quoted (a port given as "8848" must not read 8848).
local function show(v)
  if type(v) == "string" then return ("%s %q"):format("string", v) end
  return tostring(v)
end

-- Text the C side would cut at a NUL byte (host names, credentials, initialScript)
-- is refused instead: "127.0.0.1\0evil" must not quietly connect to 127.0.0.1.
local function check_no_nul(s, what, level)
  if type(s) == "string" and s:find("\0", 1, true) then
    fail(level + 1, "DBConnectionPool: %s contains a NUL byte (at byte %d)", what, s:find("\0", 1, true))
  end
end

-- "host:port" strings or {host=, port=} tables -> {host=, port=} tables.
local function parse_sites(list)
  if type(list) ~= "table" then fail(4, "DBConnectionPool: highAvailabilitySites must be a list of \"host:port\"") end
  local sites = {}
  for i, s in ipairs(list) do
    if type(s) == "string" then
      local h, p = s:match("^%[?([^%]]+)%]?:(%d+)$")
      if not h then fail(4, "DBConnectionPool: highAvailabilitySites[%d] = %q is not \"host:port\"", i, s) end
      check_no_nul(h, ("highAvailabilitySites[%d]"):format(i), 4)
      sites[i] = { host = h, port = tonumber(p) }
    elseif type(s) == "table" and type(s.host) == "string" and is_integer(s.port) then
      check_no_nul(s.host, ("highAvailabilitySites[%d].host"):format(i), 4)
      sites[i] = { host = s.host, port = s.port }
    else
      fail(4, "DBConnectionPool: highAvailabilitySites[%d] must be \"host:port\" or {host=, port=}", i)
    end
  end
  return sites
end

-- The C pool config for the options table `opts`; `lua_only` names the options the
-- caller handles itself (set: name -> true). Raises at the constructor's caller.
function M.pool_config(opts, lua_only)
  local cfg = { thread_num = 10, reconnect = false }
  for k, v in pairs(opts) do
    local field = POOL_OPTIONS[k]
    if field then
      cfg[field] = v
    elseif not lua_only[k] then
      fail(3, "DBConnectionPool: unknown option '%s'", tostring(k))
    end
  end
  if type(cfg.host) ~= "string" or cfg.host == "" then fail(3, "DBConnectionPool: host must be a non-empty string") end
  if not is_integer(cfg.port) or cfg.port < 1 or cfg.port > 65535 then
    fail(3, "DBConnectionPool: port must be a number, an integer in 1..65535, got %s", show(cfg.port))
  end
  if not is_integer(cfg.thread_num) or cfg.thread_num < 1 or cfg.thread_num > 4096 then
    fail(3, "DBConnectionPool: threadNum must be a number, an integer in 1..4096, got %s",
      show(cfg.thread_num))
  end
  for _, k in ipairs { "userid", "password" } do
    if cfg[k] ~= nil and type(cfg[k]) ~= "string" then fail(3, "DBConnectionPool: %s must be a string", k) end
  end
  check_no_nul(cfg.host, "host", 3)
  check_no_nul(cfg.userid, "userid", 3)
  check_no_nul(cfg.password, "password", 3)
  check_no_nul(cfg.initial_script, "initialScript", 3)
  if cfg.sites then cfg.sites = parse_sites(cfg.sites) end
  -- HA re-sends a task whose connection broke, which needs a connection to come back
  -- (on this site or another): without reconnection the task would only fail with
  -- "no live connection". So HA turns reConnect on; turning it off is a contradiction.
  if cfg.high_availability == true then
    if opts.reConnect == false then
      fail(3, "DBConnectionPool: highAvailability needs reConnect (leave it unset or true)")
    end
    cfg.reconnect = true
  end
  -- openLazily heals by reconnecting: the same contradiction
  if cfg.open_lazily == true then
    if opts.reConnect == false then
      fail(3, "DBConnectionPool: openLazily needs reConnect (leave it unset or true)")
    end
    cfg.reconnect = true
  end
  return cfg
end

-- ---- per-task calls ------------------------------------------------------------------

local RUN_OPTIONS = {
  clearMemory = "boolean", pickleTableToList = "boolean", priority = "number",
  parallelism = "number", timeout = "number", typed = "boolean", view = "boolean",
  maxResultBytes = "number",
}
local NO_OPTIONS = {}
M.NO_OPTIONS = NO_OPTIONS

local function check_options(opts, level, method)
  for k, v in pairs(opts) do
    if type(k) ~= "number" then
      local want = RUN_OPTIONS[k]
      if not want then fail(level, "%s: unknown option '%s'", method, tostring(k)) end
      if type(v) ~= want then
        fail(level, "%s: option '%s' must be a %s, got %s", method, k, want, type(v))
      end
    end
  end
  if opts.priority and (not is_integer(opts.priority) or opts.priority < 0 or opts.priority > 8) then
    fail(level, "%s: priority must be an integer in 0..8", method)
  end
  if opts.parallelism and (not is_integer(opts.parallelism) or opts.parallelism < 1 or opts.parallelism > 64) then
    fail(level, "%s: parallelism must be an integer in 1..64", method)
  end
  if opts.timeout and not (opts.timeout > 0 and opts.timeout <= 1e9) then
    fail(level, "%s: timeout must be > 0 seconds (at most 1e9)", method)
  end
  local mrb = opts.maxResultBytes
  if mrb and (not is_integer(mrb) or mrb < 1 or mrb > 2^53) then
    fail(level, "%s: maxResultBytes must be an integer number of bytes in 1..2^53", method)
  end
end

-- Splits the two call forms into script, args (nil: script mode), options, extra.
-- `skip` positional values after the script belong to the method (addTask's id) and
-- come back in `extra`.
function M.parse_call(level, method, skip, first, ...)
  local script, args, opts, extra
  if type(first) == "table" then
    if select("#", ...) > 0 then
      fail(level, "%s{...}: pass everything inside the table", method)
    end
    opts = first
    check_options(opts, level + 1, method)
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

-- The result conversion the options ask for, as the C side's flags (lua_value.h:
-- DDB_LUA_TYPED 1, DDB_LUA_VIEW 2, DDB_LUA_ARRAYS 4 for view = false); nil for the default.
function M.conversion(opts)
  local conv = (opts.typed and 1 or 0) + (opts.view and 2 or 0) + (opts.view == false and 4 or 0)
  return conv ~= 0 and conv or nil
end

function M.check_task_id(id, level, method)
  if not is_integer(id) or id < 0 or id > 2^53 then
    fail(level + 1, "%s: taskId must be an integer >= 0, got %s", method or "addTask", show(id))
  end
end

-- A C-side error message without the "file:line: " in front, for raising again at
-- the user's call.
local function strip_where(msg)
  return (tostring(msg):gsub("^[^\n]-:%d+: ", ""))
end
M.strip_where = strip_where

-- A C-side misuse message, raised again at the user's call (`level` up from the
-- caller) and naming the user's function: "dolphindb: run: ...". Error values
-- (runtime failures) pass through unchanged.
function M.reraise(msg, method, level)
  if type(msg) ~= "string" then error(msg, level + 1) end
  msg = strip_where(msg)
  local rest = msg:match("^dolphindb: (.*)$") or msg
  if rest:sub(1, #method + 2) ~= method .. ": " then rest = method .. ": " .. rest end
  -- a full queue is not the caller's mistake but the pool's load: an error value
  if rest:find("^[%w_]+: queue is full") then error(errors.new("full", "dolphindb: " .. rest), 0) end
  error("dolphindb: " .. rest, level + 1)
end

-- ddb.string / ddb.symbol / ddb.code refuse a NUL byte when they are made: these
-- types travel as C strings, so such a value could be neither sent nor printed (its
-- tostring would raise later, far from the mistake). ddb.blob takes any bytes.
function M.text_constructor(make, name)
  return function(s, ...)
    local at = type(s) == "string" and s:find("\0", 1, true)
    if at then
      fail(2, "%s: the text contains a NUL byte (at byte %d); use ddb.blob for bytes", name, at)
    end
    return make(s, ...)
  end
end

-- A table result as the list of its columns (pickleTableToList).
function M.table_to_list(v)
  local mt = getmetatable(v)
  if type(v) == "table" and mt and type(v.columns) == "function" then
    return v:columns()
  end
  if type(v) == "table" and type(v.columns) == "table" then return v.columns end
  return v
end

return M
