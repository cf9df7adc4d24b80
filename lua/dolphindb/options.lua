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

-- DBConnectionPool(host, port, threadNum[, userid, password]) or (options table) ->
-- the options table.
function M.pool_options(host, port, threadNum, userid, password)
  if type(host) == "table" then
    if port ~= nil then fail(3, "DBConnectionPool: the table form takes one options table, nothing after it") end
    return host
  end
  return { host = host, port = port, threadNum = threadNum, userid = userid, password = password }
end

-- The loops over option tables call next() themselves, not pairs(): DBConnectionPool
-- may run inside a __gc finalizer, and there this LuaJIT's compiled pairs() loop
-- (bytecode ITERN) was seen to never end (docs/API.md "Finalizers and pools").
local next = next

-- A shallow copy (a caller's options table may change after the call).
function M.copy(t)
  local c = {}
  local k, v = next(t)
  while k ~= nil do
    c[k] = v
    k, v = next(t, k)
  end
  return c
end

-- A value in a message: strings quoted (a port given as "8848" must not read 8848).
local function show(v)
  if type(v) == "string" then return ("%s %q"):format("string", v) end
  return tostring(v)
end

-- "host:port" strings (IPv6: "[::1]:8848") or {host=, port=} tables -> tables.
local function parse_sites(list)
  if type(list) ~= "table" then return list end     -- the C side names the mistake
  local sites = {}
  for i, s in ipairs(list) do
    if type(s) == "string" then
      local h, p = s:match("^%[?([^%]]+)%]?:(%d+)$")
      if not h then fail(4, "DBConnectionPool: highAvailabilitySites[%d] = %q is not \"host:port\"", i, s) end
      sites[i] = { host = h, port = tonumber(p) }
    else
      sites[i] = s
    end
  end
  return sites
end

-- The options for the C pool (core.pool_new): the user's table under the user's
-- names (src/lua/lua_options.c declares each one and checks it), minus the options
-- `lua_only` names (set: name -> true), which the caller handles itself.
function M.pool_config(opts, lua_only)
  if type(opts) ~= "table" then fail(3, "DBConnectionPool: expects (host, port, threadNum[, userid, password]) or an options table") end
  local cfg = {}
  local k, v = next(opts)
  while k ~= nil do
    if not lua_only[k] then cfg[k] = v end
    k, v = next(opts, k)
  end
  if cfg.highAvailabilitySites ~= nil then cfg.highAvailabilitySites = parse_sites(cfg.highAvailabilitySites) end
  return cfg
end

-- ---- per-task calls ------------------------------------------------------------------

local NO_OPTIONS = {}
M.NO_OPTIONS = NO_OPTIONS

-- Splits the two call forms into script, args (nil: script mode), options, extra.
-- `skip` positional values after the script belong to the method (addTask's id) and
-- come back in `extra`.
function M.parse_call(level, method, skip, first, ...)
  local script, args, opts, extra
  if type(first) == "table" then
    if select("#", ...) > 0 then
      fail(level, "%s{...}: pass everything inside the table", method)
    end
    opts = first                -- checked by the C side at submit (src/lua/lua_options.c)
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

-- The user's options with clearMemory false unless they set it: the calls of a
-- Session or a pinned connection keep their session's variables.
local KEEP = { clearMemory = false }
function M.keep_memory(opts)
  if opts == NO_OPTIONS then return KEEP end
  if opts.clearMemory ~= nil then return opts end
  local o = M.copy(opts)
  o.clearMemory = false
  return o
end

return M
