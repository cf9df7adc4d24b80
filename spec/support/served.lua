-- A ddbmini server with a pool on it, for a describe block's setup and teardown:
--
--   local served = require "support.served"
--   local server, pool
--   setup(function() server, pool = served.start(2) end)          -- 2 connections
--   teardown(function() served.stop(server, pool, { quiet = true }) end)
--
-- start(threads, userid, password) passes the login on to DBConnectionPool. stop
-- takes what start gave (either may be nil after a failed setup); with quiet it
-- checks, after the pool's shutdown, that nothing is left pending (assert_quiet).
local ddb = require "dolphindb"
local core = require "dolphindb.core"
local sched = require "dolphindb.sched"
local ddbmini = require "support.ddbmini"
local assert = require "luassert"

local M = {}

-- Runs the loop dry and collects garbage twice (finalizers, then what they freed):
-- no C operation may be left pending, no coroutine parked.
function M.assert_quiet()
  ddb.loop()
  collectgarbage()
  collectgarbage()
  assert.are.equal(0, core.pending())
  assert.are.equal(0, sched.stats().parked)
end

function M.start(threads, userid, password)
  local server = ddbmini.start {}
  local ok, pool = pcall(ddb.DBConnectionPool, "127.0.0.1", server.port, threads, userid, password)
  if not ok then
    server:stop()       -- the caller never hears of this server: stop it here
    error(pool, 0)
  end
  return server, pool
end

function M.stop(server, pool, opts)
  if pool then pool:shutDown() end
  local ok, err = pcall(function() if opts and opts.quiet then M.assert_quiet() end end)
  if server then server:stop() end
  if not ok then error(err, 0) end
end

return M
