-- openLazily (issue 13): a pool that never fails its open. Under plain luajit as in
-- nginx (where it is the default), creating it does not wait for the server; tasks
-- queue until a connection is READY and run once the server comes up.

local ddb = require "dolphindb"
local ddbmini = require "support.ddbmini"

-- A port nothing listens on (support.ddbmini: below the ephemeral range, so neither
-- an outgoing connection nor a self-connect of the retrying pool can hold it).
local free_port = ddbmini.pick_port

describe("openLazily", function()
  it("returns at once with the server down, queues, and runs once it is up", function()
    local port = free_port()
    local t0 = ddb.now()
    local pool = ddb.DBConnectionPool { host = "127.0.0.1", port = port, threadNum = 2,
                                        openLazily = true, reconnectDelay = 0.05 }
    local srv
    -- whatever fails below, no pool keeps a task queued for later specs' ddb.loop()
    finally(function()
      pool:shutDown()
      if srv then srv:stop() end
    end)
    assert.is_true(ddb.now() - t0 < 0.5)
    local f = pool:runTaskAsync("40 + 2")
    local v, err = pcall(f.result, f, 0.3)
    assert.is_false(v)
    assert.is_true(ddb.is_timeout(err), tostring(err))   -- still queued: nothing to run it
    assert.are.equal(1, pool:stats().queued)
    srv = ddbmini.start { "--port", tostring(port) }
    local up = ddb.now()
    assert.are.equal(42, f:result(5))
    assert.is_true(ddb.now() - up < 3, "healed after " .. (ddb.now() - up) .. " s")
    assert.are.equal(3, pool:run("1+2"))
  end)

  it("without it the open fails when the server is down", function()
    local ok, err = pcall(ddb.DBConnectionPool, { host = "127.0.0.1", port = free_port(),
                                                  threadNum = 1 })
    assert.is_false(ok)
    assert.matches("cannot open the pool", tostring(err), 1, true)
  end)
end)
