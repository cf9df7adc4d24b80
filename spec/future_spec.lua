-- pool:runTaskAsync futures against ddbmini: results, timeouts that leave the task
-- running, exceptions, cancel, callbacks, and the seed's timings (scaled down 10x).

local ddb = require "dolphindb"
local served = require "support.served"

describe("futures", function()
  local server, pool

  setup(function() server, pool = served.start(10) end)
  teardown(function() served.stop(server, pool, { quiet = true }) end)

  it("reproduce the seed's runTaskAsync timings (1, 2, 2, 4 tenths of the seed)", function()
    local t1 = ddb.now()
    local task1 = pool:runTaskAsync("sleep(100); 1+0")
    local task2 = pool:runTaskAsync("sleep(200); 1+1")
    local task3 = pool:runTaskAsync("sleep(400); 1+2")
    local task4 = pool:runTaskAsync("sleep(100); 1+3")
    local t2 = ddb.now()
    assert.are.equal(1, task1:result()); local t3 = ddb.now()
    assert.are.equal(2, task2:result()); local t4 = ddb.now()
    assert.are.equal(4, task4:result()); local t5 = ddb.now()
    assert.are.equal(3, task3:result()); local t6 = ddb.now()
    assert.is_true(t2 - t1 < 0.05, "adding took " .. (t2 - t1))
    local function near(x, want) return x > want - 0.01 and x < want + 0.15 end
    assert.is_true(near(t3 - t1, 0.1), "task1 at " .. (t3 - t1))
    assert.is_true(near(t4 - t1, 0.2), "task2 at " .. (t4 - t1))
    assert.is_true(near(t5 - t1, 0.2), "task4 at " .. (t5 - t1))
    assert.is_true(near(t6 - t1, 0.4), "task3 at " .. (t6 - t1))
  end)

  it("time out result() while the task keeps running", function()
    local f = pool:runTaskAsync("sleep(300); 42")
    local ok, err = pcall(f.result, f, 0.05)
    assert.is_false(ok)
    assert.is_true(ddb.is_timeout(err), err)
    assert.matches("keeps running", err)
    assert.is_false(f:done())
    assert.are.equal(42, f:result(5))
    assert.is_true(f:done())
  end)

  it("report a failure through result() and exception()", function()
    local f = pool:runTaskAsync("undefined_thing + 1")
    local e = f:exception()
    assert.matches("dolphindb: task", e)
    assert.has_error(function() f:result() end)
    local good = pool:runTaskAsync("add", 1, 2)
    assert.is_nil(good:exception())
    assert.are.equal(3, good:result())
  end)

  it("cancel a queued task and say so", function()
    local single = ddb.DBConnectionPool("127.0.0.1", server.port, 1)
    local busy = single:runTaskAsync("sleep(300); 1")
    local queued = single:runTaskAsync("2")
    assert.is_true(queued:cancel())
    assert.is_true(queued:cancelled())
    assert.is_true(queued:done())
    assert.has_error(function() queued:result() end)
    assert.has_error(function() queued:exception() end)
    assert.are.equal(1, busy:result())
    assert.is_false(busy:cancel())
    assert.is_false(busy:cancelled())
    single:shutDown()
  end)

  it("cancel a running task without waiting for it", function()
    local f = pool:runTaskAsync("sleep(5000); 1")
    ddb.sleep(0.1)
    assert.is_true(f:running())
    local t0 = ddb.now()
    assert.is_true(f:cancel())
    assert.has_error(function() f:result() end)
    assert.is_true(ddb.now() - t0 < 0.5)
    assert.are.equal(2, pool:run("1+1"))   -- the pool is still usable
  end)

  it("call done callbacks once, also when added after completion", function()
    local calls = {}
    local f = pool:runTaskAsync("sleep(50); 7")
    f:add_done_callback(function(fut) calls[#calls + 1] = fut:result() end)
    f:result()
    f:add_done_callback(function(fut) calls[#calls + 1] = fut:result() * 2 end)
    ddb.loop()
    assert.are.same({ 7, 14 }, calls)
    assert.has_error(function() f:add_done_callback(5) end)
  end)

  it("run callbacks as coroutines that may wait themselves", function()
    local f = pool:runTaskAsync("20")
    local chained
    f:add_done_callback(function(fut) chained = pool:run("add", fut:result(), 22) end)
    f:result()
    ddb.loop()
    assert.are.equal(42, chained)
  end)

  it("are waitables for ddb.wait and work inside coroutines", function()
    local fs = {}
    for i = 1, 5 do fs[i] = pool:runTaskAsync("sleep(50); " .. i) end
    local h = ddb.spawn(function()
      local done = ddb.wait(fs, 2)
      local sum = 0
      for _, f in ipairs(done) do sum = sum + f:result() end
      return sum
    end)
    assert.are.equal(15, h:result())
  end)

  it("reject misuse", function()
    local f = pool:runTaskAsync("1")
    assert.has_error(function() f.result() end)
    assert.has_error(function() f:result(-1) end)
    assert.has_error(function() pool:runTaskAsync() end)
    f:result()
  end)

  it("resolve when the pool shuts down under them", function()
    local p = ddb.DBConnectionPool("127.0.0.1", server.port, 1)
    local fs = {}
    for i = 1, 3 do fs[i] = p:runTaskAsync("sleep(1000); " .. i) end
    p:shutDown()
    for i = 1, 3 do
      assert.is_true(fs[i]:done())
      assert.equal("shutdown", fs[i]:exception().kind)
    end
  end)
end)
