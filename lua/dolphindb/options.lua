-- dolphindb.options — what the two pool flavours (dolphindb.pool on the module's own
-- loop, dolphindb.ngx inside nginx workers) read from their callers in the same way:
-- the constructor's two forms and its options, the run/addTask/runTaskAsync call
-- forms with their per-task options, and task ids. Misuse raises "dolphindb: ..." at
-- the user's call: each `level` counts frames up from the function that takes it.

local type, select, tostring, error, pairs, ipairs, tonumber, getmetatable =
  type, select, tostring, error, pairs, ipairs, tonumber, getmetatable

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
  reConnect = "reconnect", tryReconnectNums = "try_reconnect_nums",
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
    if port ~= nil then fail(3, "DBConnectionPool{...} takes one options table") end
    return host
  end
  return { host = host, port = port, threadNum = threadNum, userid = userid, password = password }
end

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

-- The C pool config for the options table `opts`; `lua_only` names the options the
-- caller handles itself (set: name -> true). Raises at the constructor's caller.
function M.pool_config(opts, lua_only)
  local cfg = { thread_num = 10, reconnect = false }
  for k, v in pairs(opts) do
    local field = POOL_OPTIONS[k]
    if field then
      cfg[field] = v
    elseif not lua_only[k] then
      fail(3, "unknown DBConnectionPool option '%s'", tostring(k))
    end
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

-- ---- per-task calls ------------------------------------------------------------------

local RUN_OPTIONS = {
  clearMemory = "boolean", pickleTableToList = "boolean", priority = "number",
  parallelism = "number", timeout = "number", typed = "boolean", view = "boolean",
  maxResultBytes = "number",
}
local NO_OPTIONS = {}
M.NO_OPTIONS = NO_OPTIONS

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
  local mrb = opts.maxResultBytes
  if mrb and (not is_integer(mrb) or mrb < 1 or mrb > 2^53) then
    fail(level, "maxResultBytes must be an integer number of bytes in 1..2^53")
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

-- The result conversion the options ask for, as the C side's flags (lua_value.h:
-- DDB_LUA_TYPED 1, DDB_LUA_VIEW 2); nil for the plain one.
function M.conversion(opts)
  local conv = (opts.typed and 1 or 0) + (opts.view and 2 or 0)
  return conv ~= 0 and conv or nil
end

function M.check_task_id(id, level)
  if not is_integer(id) or id < 0 or id > 2^53 then
    fail(level + 1, "taskId must be an integer >= 0, got %s", tostring(id))
  end
end

-- A C-side error message without the "file:line: " in front, for raising again at
-- the user's call.
function M.strip_where(msg)
  return (tostring(msg):gsub("^[^\n]-:%d+: ", ""))
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
