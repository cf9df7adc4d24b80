-- dolphindb — a DolphinDB client for LuaJIT.
--
--   local ddb = require "dolphindb"
--   local pool = ddb.DBConnectionPool("127.0.0.1", 8848, 8)
--   print(pool:run("1+2"))
--
-- This file only assembles the parts: the C core (dolphindb.core), the scheduler
-- (dolphindb.sched), value constructors (dolphindb.value) and the pool
-- (dolphindb.pool). Parts that were not built are reported when used, not at require.

-- Inside nginx workers (lua-nginx-module) waiting must go through ngx.semaphore, never
-- through our own loop: the nginx adapter has the same API on a per-worker loop thread.
if rawget(_G, "ngx") and pcall(require, "ngx.semaphore") then
  return require "dolphindb.ngx"
end

local core = require "dolphindb.core"
local sched = require "dolphindb.sched"

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

local function module_exists(name)
  return package.searchpath(name, package.path) ~= nil
end

-- Values: typed constructors, ddb.null, encode/decode.
if core.features.value then
  M.encode = core.encode
  M.decode = core.decode
end
if module_exists("dolphindb.value") then
  for k, v in pairs(require "dolphindb.value") do
    if M[k] == nil then M[k] = v end
  end
end
if module_exists("dolphindb.plain") then M.plain = require("dolphindb.plain").plain end

-- The connection pool.
if core.features.pool then
  local pool = require "dolphindb.pool"
  M.DBConnectionPool = pool.DBConnectionPool
else
  function M.DBConnectionPool()
    error("dolphindb: this build of dolphindb.core has no connection pool", 2)
  end
end

return M
