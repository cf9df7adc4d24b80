-- dolphindb — a DolphinDB client for LuaJIT.
--
--   local ddb = require "dolphindb"
--   local pool = ddb.DBConnectionPool("127.0.0.1", 8848, 8)
--   print(pool:run("1+2"))
--
-- This file only assembles the parts: the C core (dolphindb.core), the scheduler
-- (dolphindb.sched), value constructors (dolphindb.value) and the pool
-- (dolphindb.pool). Parts that were not built are reported when used, not at require.

-- Inside nginx workers dolphindb.sched is dolphindb.ngx_sched: the same API, waiting
-- on nginx's own event loop (see dolphindb.ngx).

local core = require "dolphindb.core"
local sched = require "dolphindb.sched"
local errors = require "dolphindb.errors"

local M = {
  _VERSION = core.version,
  core = core,
}

-- Scheduler: spawn / sleep / loop / wait / now.
M.spawn = sched.spawn
M.sleep = sched.sleep
M.loop = sched.loop
M.wait = sched.wait
M.now = sched.now
M.is_timeout = sched.is_timeout
M.is_interrupted = errors.is_interrupted
M.setLogger = require("dolphindb.log").setLogger

local function module_exists(name)
  return package.searchpath(name, package.path) ~= nil
end

-- Values: typed constructors, ddb.null, encode/decode.
do
  M.encode = core.encode
  local decode = core.decode
  -- core.decode's own argument errors would read "bad argument #1 to '?'"
  function M.decode(bytes, pos, opts)
    if type(bytes) ~= "string" then
      error("dolphindb: decode expects a string of bytes, got " .. type(bytes), 2)
    end
    if pos ~= nil and not (type(pos) == "number" and pos >= 1 and pos <= #bytes + 1
                           and pos == math.floor(pos)) then
      error(("dolphindb: decode: position must be an integer in 1..%d, got %s")
        :format(#bytes + 1, tostring(pos)), 2)
    end
    if opts ~= nil and type(opts) ~= "table" then
      error("dolphindb: decode: options must be a table, got " .. type(opts), 2)
    end
    return decode(bytes, pos, opts)
  end
end
if module_exists("dolphindb.value") then
  for k, v in pairs(require "dolphindb.value") do
    if M[k] == nil then M[k] = v end
  end
  local options = require "dolphindb.options"
  for _, k in ipairs { "string", "symbol", "code" } do
    if M[k] then M[k] = options.text_constructor(M[k], k) end
  end
  -- their misuse errors name the function called (docs/API.md "Errors")
  for k, v in pairs(require "dolphindb.value") do
    if type(v) == "function" and not k:find("^_") and k ~= "encode" and k ~= "decode" then
      M[k] = errors.named(M[k], k)
    end
  end
end
if M.encode then M.encode = errors.named(M.encode, "encode") end
M.plain = require("dolphindb.plain").plain

-- The connection pool, and the one-connection Session (dolphindb.session).
M.DBConnectionPool = require("dolphindb.pool").DBConnectionPool
M.Session = require("dolphindb.session").new

-- The table writers (dolphindb.writers): TableAppender, TableUpserter,
-- PartitionedTableAppender, MultithreadedTableWriter.
for k, v in pairs(require "dolphindb.writers") do if not k:find("^_") then M[k] = v end end

-- Streaming subscriptions (dolphindb.subscribe).
do
  local sub = require "dolphindb.subscribe"
  M.subscribe, M.unsubscribe = sub.subscribe, sub.unsubscribe
  M.getSubscriptionTopics = sub.getSubscriptionTopics
end

return M
