-- Load (issue 8): 10 000 coroutines waiting on a 64-connection pool all get their own
-- right answer, never more than 64 tasks run at once, nothing stays queued or
-- pending; a bounded queue under overload refuses exactly the submissions past its
-- limit with a clear error and accepts again once a slot frees. (The Lua API's policy
-- is to fail; the C thread driver's wait policy is in tests/test_pool_thread.c.)

local ddb = require "dolphindb"
local ddbmini = require "support.ddbmini"

local SCALE = (os.getenv("LD_PRELOAD") or ""):find("asan") and 3 or 1

describe("load", function()
  local srv
  setup(function() srv = ddbmini.start { "--threads", "128" } end)
  teardown(function() srv:stop() end)

  it("10 000 coroutines on a 64-connection pool", function()
    local pool = ddb.DBConnectionPool("127.0.0.1", srv.port, 64)
    assert.equal(64, pool:getConnectionCount())
    local N = 10000
    local results, finished, max_running = {}, 0, 0
    local t0 = ddb.now()
    for i = 1, N do
      ddb.spawn(function()
        local v
        if i % 3 == 0 then v = pool:run("add", i, 1) else v = pool:run(i .. " + 1") end
        results[i] = v
        finished = finished + 1
      end)
    end
    local watcher = ddb.spawn(function()
      while finished < N do
        local s = pool:stats()
        if s.running > max_running then max_running = s.running end
        ddb.sleep(0.005)
      end
    end)
    ddb.loop()
    local el = ddb.now() - t0
    assert.is_true(watcher:done())
    assert.equal(N, finished)
    for i = 1, N do
      if results[i] ~= i + 1 then error(("coroutine %d got %s"):format(i, tostring(results[i]))) end
    end
    assert.is_true(max_running <= 64, "running at once: " .. max_running)
    assert.is_true(max_running >= 32, "the pool was barely used: " .. max_running)
    local s = pool:stats()
    assert.equal(0, s.queued); assert.equal(0, s.running)
    assert.is_true(s.done >= N)
    print(("\nload: %d coroutines through 64 connections in %.2f s (%.0f tasks/s), "
      .. "at most %d running"):format(N, el, N / el, max_running))
    assert.is_true(el < 60 * SCALE)
    pool:shutDown()
  end)

  it("a bounded queue refuses exactly past its limit", function()
    local LIMIT = 5
    local pool = ddb.DBConnectionPool { host = "127.0.0.1", port = srv.port, threadNum = 1,
                                        queueLimit = LIMIT }
    local running = pool:runTaskAsync("sleep(400); 0")
    ddb.sleep(0.1)                               -- it left the queue for the connection
    local accepted, refused = { running }, 0
    for i = 1, LIMIT + 7 do
      local ok, f = pcall(pool.runTaskAsync, pool, i .. " + 0")
      if ok then accepted[#accepted + 1] = f
      else
        refused = refused + 1
        assert.matches("queue is full", f)
        assert.matches(tostring(LIMIT), f)
      end
    end
    assert.equal(1 + LIMIT, #accepted)
    assert.equal(7, refused)
    -- run() and addTask() obey the same limit
    assert.matches("queue is full", select(2, pcall(pool.run, pool, "1")))
    assert.matches("queue is full", select(2, pcall(pool.addTask, pool, "1", 1)))
    for i, f in ipairs(accepted) do assert.equal(i - 1, f:result(10 * SCALE)) end
    -- slots free again once the queue drains
    assert.equal(9, pool:run("9"))
    pool:shutDown()
  end)

  it("overload with waiting coroutines: each gets a slot or a clear refusal", function()
    local pool = ddb.DBConnectionPool { host = "127.0.0.1", port = srv.port, threadNum = 4,
                                        queueLimit = 16 }
    local ok_n, full_n, other = 0, 0, {}
    for i = 1, 200 do
      ddb.spawn(function()
        local ok, v = pcall(pool.run, pool, "sleep(20); " .. i)
        if ok and v == i then ok_n = ok_n + 1
        elseif not ok and v:find("queue is full", 1, true) then full_n = full_n + 1
        else other[#other + 1] = tostring(v) end
      end)
    end
    ddb.loop()
    assert.same({}, other)
    assert.equal(200, ok_n + full_n)
    -- spawn runs each coroutine to its first wait in order: 4 start, 16 queue
    assert.equal(20, ok_n)
    pool:shutDown()
  end)
end)
