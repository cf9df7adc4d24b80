-- dolphindb.log — where the pools' event log goes (docs/API.md "Logging").
--
-- The C core reports connection events (open, lost, reconnected, failed over, gave
-- up, login refused, a running task cancelled or timed out, ...) as (level, line);
-- the binding queues the lines and marks the loop (src/lua/lua_logq.h), and the
-- scheduler, seeing ticket 0 among the completions, runs drain() below, from Lua and
-- outside any core call. So a logger may raise (reported once, the pool goes on) but
-- must not wait: it runs inside the scheduler's turn.
--
--   ddb.setLogger(fn[, level])   fn(level, line) for every pool without its own
--                                logger; nil: the default; false: none. level:
--                                "debug" | "info" | "warn" (default) | "error" | "off"
--   pool options logger = fn, logLevel = level   this pool's own
--
-- The default writes "warn" and above to stderr; inside nginx to ngx.log at the
-- matching level (nginx's error_log level filters further).

local sched = require "dolphindb.sched"

local type, pairs, pcall, tostring = type, pairs, pcall, tostring

local M = {}

local LEVEL = { debug = 0, info = 1, warn = 2, error = 3, off = 4 }
local NAME = { [0] = "debug", "info", "warn", "error" }

local in_ngx = rawget(_G, "ngx") and type(ngx) == "table" and ngx.log and ngx.WARN and true

local function default_logger(level, line)
  if in_ngx then
    local lv = ({ debug = ngx.DEBUG, info = ngx.INFO, warn = ngx.WARN, error = ngx.ERR })[level]
    ngx.log(lv or ngx.WARN, "dolphindb: ", line)
    return
  end
  io.stderr:write(os.date("%Y-%m-%d %H:%M:%S"), " dolphindb ", level, ": ", line, "\n")
  io.stderr:flush()
end
M.default_logger = default_logger

local module_fn, module_level = default_logger, LEVEL.warn   -- ddb.setLogger's
local pools = setmetatable({}, { __mode = "k" })    -- live pool -> its own settings

local function check_level(level, level_up, what)
  if level == nil then return nil end
  local n = type(level) == "string" and LEVEL[level]
  if not n then
    error(("dolphindb: %s must be \"debug\", \"info\", \"warn\", \"error\" or "
      .. "\"off\", got %s"):format(what, type(level) == "string" and ("string \"" .. level .. "\"")
      or type(level)), level_up + 1)
  end
  return n
end

-- The logger and level a pool uses now: its own, else the module's.
local function effective(own)
  local fn = own.fn
  if fn == nil then fn = module_fn end
  local level = own.level or module_level
  if not fn then level = LEVEL.off end
  return fn, level
end

-- ddb.setLogger(fn[, level]): see the top of this file.
function M.setLogger(fn, level)
  if fn ~= nil and fn ~= false and type(fn) ~= "function" then
    error("dolphindb: setLogger: the logger must be a function(level, line), nil "
      .. "(the default) or false (none), got " .. type(fn), 2)
  end
  local n = check_level(level, 2, "setLogger: level") or LEVEL.warn
  if fn == nil then fn = default_logger end
  module_fn, module_level = fn, n
  for p, own in pairs(pools) do       -- the pools that follow the module's choice
    if own.fn == nil or own.level == nil then
      local _, lv = effective(own)
      pcall(p._c.log_level, p._c, lv)   -- (a pool already freed has no log any more)
    end
  end
end

-- DBConnectionPool (the user's caller is 3 levels up from here, which the messages
-- point at): takes the Lua-only `logger` out of the user's options, checks it
-- and gives the C config the level the pool starts with. Returns this pool's own
-- settings for M.register.
function M.configure(opts, cfg)
  local fn = opts.logger
  if fn ~= nil and type(fn) ~= "function" then
    error("dolphindb: DBConnectionPool: option 'logger' must be a function(level, line), got "
      .. type(fn), 3)
  end
  local own = { fn = fn, level = nil }
  if cfg.logLevel ~= nil then
    own.level = check_level(cfg.logLevel, 3, "DBConnectionPool: option 'logLevel'")
  end
  local _, lv = effective(own)
  cfg.logLevel = NAME[lv] or "off"
  return own
end

function M.register(pool, own)
  pools[pool] = own
end

-- A logger that raises is reported once (on stderr or nginx's log) and kept: the
-- pool goes on either way.
local complained = setmetatable({}, { __mode = "k" })
local function deliver(fn, level, line)
  local ok, err = pcall(fn, level, line)
  if ok or complained[fn] then return end
  complained[fn] = true
  local msg = "dolphindb: the logger raised an error (not reported again): " .. tostring(err)
  if in_ngx then ngx.log(ngx.ERR, msg) else io.stderr:write(msg, "\n") end
end

local function drain_pool(p, own)
  local list, dropped = p._c:log_take()
  if not list then return end
  local fn, level = effective(own)
  if not fn then return end
  for i = 1, #list, 2 do
    if list[i] >= level then deliver(fn, NAME[list[i]], list[i + 1]) end
  end
  if dropped > 0 and level <= LEVEL.warn then
    deliver(fn, "warn", ("%d log line(s) dropped: more than %d were waiting"):format(
      dropped, 1000))
  end
end

-- Ticket 0 completed: some pool queued lines. Re-armed first, so a logger that
-- raises or a pool created by one cannot lose the next mark.
local function drain()
  sched.on_ticket(0, drain)
  local list, n = {}, 0
  local p, own = next(pools)    -- (not pairs: see dolphindb.options, next())
  while p ~= nil do
    n = n + 1; list[n] = { p, own }
    p, own = next(pools, p)
  end
  for i = 1, n do drain_pool(list[i][1], list[i][2]) end
end
sched.on_ticket(0, drain)

return M
