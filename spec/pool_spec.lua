-- DBConnectionPool over real sockets to ddbmini: every method, on the main thread
-- (the call drives the loop) and inside spawned coroutines (the call parks), the
-- seed's timings, misuse errors, and that nothing stays pending afterwards.

local ddb = require "dolphindb"
local sched = require "dolphindb.sched"
local ddbmini = require "support.ddbmini"
local served = require "support.served"
local files = require "support.files"

local capture_stderr = files.capture_stderr

local function elapsed(fn)
  local t0 = ddb.now()
  local r = { fn() }
  return ddb.now() - t0, unpack(r)
end

local assert_quiet = served.assert_quiet

describe("DBConnectionPool", function()
  local server, pool

  setup(function() server, pool = served.start(8) end)
  teardown(function() served.stop(server, pool, { quiet = true }) end)

  describe("opening", function()
    it("takes positional arguments or an options table", function()
      local p = ddb.DBConnectionPool { host = "127.0.0.1", port = server.port, threadNum = 2 }
      assert.are.equal(2, p:getConnectionCount())
      assert.are.equal(2, #p:getSessionId())
      p:shutDown()
      assert.is_true(p:isShutDown())
    end)

    it("names host and port when the connection fails", function()
      local free = ddbmini.start {}
      local port = free.port
      free:stop()
      local ok, err = pcall(ddb.DBConnectionPool, "127.0.0.1", port, 2)
      assert.is_false(ok)
      assert.matches("127%.0%.0%.1:" .. port, err)
      assert_quiet()
    end)

    it("counts deadlines from the real time even when the loop was idle for long", function()
      local function busy(sec) local t = ddb.now() + sec; while ddb.now() < t do end end
      busy(0.6)                       -- Lua runs, the loop's cached clock gets stale
      local p = ddb.DBConnectionPool { host = "127.0.0.1", port = server.port, threadNum = 1,
                                       connectTimeout = 0.5 }
      busy(0.3)
      assert.are.equal(1, p:run { "1", timeout = 0.2 })
      p:shutDown()
    end)

    it("rejects bad arguments with a clear message", function()
      assert.has_error(function() ddb.DBConnectionPool(8848) end,
        "dolphindb: DBConnectionPool: option 'host' must be a string, got 8848")
      assert.has_error(function() ddb.DBConnectionPool("127.0.0.1", "x", 1) end,
        "dolphindb: DBConnectionPool: option 'port' must be an integer in 1..65535, got string \"x\"")
      assert.has_error(function() ddb.DBConnectionPool("127.0.0.1", server.port, 0) end,
        "dolphindb: DBConnectionPool: option 'threadNum' must be an integer in 1..4096, got 0")
      assert.has_error(function()
        ddb.DBConnectionPool { host = "127.0.0.1", port = server.port, threads = 2 }
      end, "dolphindb: DBConnectionPool: unknown option 'threads'")
      assert.has_error(function()
        ddb.DBConnectionPool { host = "127.0.0.1", port = server.port, highAvailabilitySites = { "nope" } }
      end)
    end)
  end)

  describe("options", function()
    it("logs in with userid and password, and names the failure otherwise", function()
      local secure = ddbmini.start { "--require-login", "--user", "bob:pw" }
      local p = ddb.DBConnectionPool("127.0.0.1", secure.port, 2, "bob", "pw")
      assert.are.equal(2, p:run("1+1"))
      p:shutDown()
      local ok, err = pcall(ddb.DBConnectionPool, "127.0.0.1", secure.port, 1, "bob", "wrong")
      assert.is_false(ok)
      assert.matches("127%.0%.0%.1:" .. secure.port, err)
      secure:stop()
    end)

    it("spreads connections over highAvailabilitySites with loadBalance", function()
      local other = ddbmini.start {}
      local p = ddb.DBConnectionPool {
        host = "127.0.0.1", port = server.port, threadNum = 4, loadBalance = true,
        highAvailabilitySites = { "127.0.0.1:" .. server.port, "127.0.0.1:" .. other.port },
      }
      local ports = {}
      for _, c in ipairs(p:stats().connections) do ports[c.port] = (ports[c.port] or 0) + 1 end
      assert.are.equal(2, ports[server.port])
      assert.are.equal(2, ports[other.port])
      assert.are.equal(3, p:run("1+2"))
      p:shutDown()
      other:stop()
    end)

    it("applies taskTimeout to every task and queueLimit to the queue", function()
      local p = ddb.DBConnectionPool { host = "127.0.0.1", port = server.port, threadNum = 1,
                                       taskTimeout = 0.2, queueLimit = 1 }
      local ok, err = pcall(p.run, p, "sleep(3000); 1")
      assert.is_false(ok)
      assert.matches("timed out", err)
      local busy = p:runTaskAsync("sleep(300); 1")
      ddb.sleep(0.05)                                   -- busy is running now
      local queued = p:runTaskAsync("2")                -- the one queue slot
      local ok2, err2 = pcall(function() local f = p:runTaskAsync("3"); return f end)
      assert.is_false(ok2)
      assert.equal("full", err2.kind)
      assert.matches("^dolphindb: runTaskAsync: queue is full", tostring(err2))
      assert.equal("timeout", busy:exception().kind)    -- 0.3 s > taskTimeout
      assert.are.equal(2, queued:result())
      p:shutDown()
    end)

    it("decodes compressed tables with compress = true", function()
      local packing = ddbmini.start { "--compress", "lz4" }
      local p = ddb.DBConnectionPool { host = "127.0.0.1", port = packing.port, threadNum = 1, compress = true }
      local t = p:run("table(1..50000 as id, take(`a`b`c, 50000) as s)")
      assert.are.equal(50000, t.n)
      assert.are.equal(50000, t:col("id")[50000])
      assert.are.equal("b", t:col("s")[2])
      p:shutDown()
      packing:stop()
    end)
  end)

  describe("run on the main thread", function()
    it("returns the value of a script", function()
      assert.are.equal(3, pool:run("1+2"))
    end)

    it("calls a function when arguments follow", function()
      assert.are.equal(3, pool:run("add", 1, 2))
    end)

    it("takes the table form with options", function()
      assert.are.equal(7, pool:run { "add", 3, 4, clearMemory = true, priority = 4, parallelism = 2 })
      assert.are.equal(5, pool:run { "2+3" })
    end)

    it("raises the server's error with the task id and the script", function()
      local ok, err = pcall(pool.run, pool, "nosuchfunction(1)")
      assert.is_false(ok)
      assert.matches("dolphindb: task %-?%d+", err)
      assert.matches("nosuchfunction", err)
    end)

    it("fails a task that exceeds its timeout", function()
      local secs, ok, err = elapsed(function() return pcall(pool.run, pool, { "sleep(2000); 1", timeout = 0.2 }) end)
      assert.is_false(ok)
      assert.equal("timeout", err.kind)
      assert.is_true(ddb.is_timeout(err))
      assert.is_true(secs < 1.5, "took " .. secs)
    end)

    it("keeps session variables only with clearMemory = false", function()
      local single = ddb.DBConnectionPool("127.0.0.1", server.port, 1)
      single:run { "kept = 41", clearMemory = false }
      assert.are.equal(42, single:run("kept + 1"))
      single:run("dropped = 1")                         -- clearMemory defaults to true
      assert.has_error(function() single:run("dropped + 1") end)
      assert.are.equal(43, single:run("kept + 2"))
      single:shutDown()
    end)

    it("prints what the server printed", function()
      local printed = {}
      local real = io.write
      io.write = function(...) for _, s in ipairs { ... } do printed[#printed + 1] = s end end
      local ok, v = pcall(pool.run, pool, 'print("hello from ddbmini"); 5')
      io.write = real
      assert.is_true(ok, v)
      assert.are.equal(5, v)
      assert.matches("hello from ddbmini", table.concat(printed))
    end)

    it("rejects misuse", function()
      assert.has_error(function() pool:run(42) end,
        "dolphindb: run: the script (or function name) must be a string, got number")
      assert.has_error(function() pool:run { "1", clearMemory = "yes" } end,
        "dolphindb: run: option 'clearMemory' must be a boolean, got string \"yes\"")
      assert.has_error(function() pool:run { "1", bogus = 1 } end, "dolphindb: run: unknown option 'bogus'")
      assert.has_error(function() pool:run { "1", priority = 12 } end, "dolphindb: run: option 'priority' must be an integer in 0..8, got 12")
      assert.has_error(function() pool.run("1") end)
      local ok, err = pcall(function() pool:run("f", function() end) end)
      assert.is_false(ok)
      assert.matches("^spec/pool_spec%.lua:%d+: dolphindb: run: argument 1: ", err)
    end)
  end)

  describe("run in coroutines", function()
    it("runs four 2 s tasks at once (the seed's first example)", function()
      local hs = {}
      local secs = elapsed(function()
        for i, n in ipairs { 1, 3, 5, 7 } do
          hs[i] = ddb.spawn(function() return pool:run(("sleep(2000);1+%d"):format(n)) end)
        end
        ddb.wait(hs)
      end)
      assert.is_true(secs > 1.9 and secs < 2.6, "took " .. secs)
      local got = {}
      for i = 1, 4 do got[i] = hs[i]:result() end
      assert.are.same({ 2, 4, 6, 8 }, got)
    end)

    it("queues past threadNum: 4 tasks on 2 connections take two rounds", function()
      local p2 = ddb.DBConnectionPool("127.0.0.1", server.port, 2)
      local hs = {}
      local secs = elapsed(function()
        for i = 1, 4 do hs[i] = ddb.spawn(function() return p2:run("sleep(200); " .. i) end) end
        ddb.wait(hs)
      end)
      assert.is_true(secs > 0.38 and secs < 0.8, "took " .. secs)
      for i = 1, 4 do assert.are.equal(i, hs[i]:result()) end
      p2:shutDown()
    end)

    it("carries a failed task's error in the coroutine's handle", function()
      local h
      local report = capture_stderr(function()
        h = ddb.spawn(function() return pool:run("1 + ") end)
        ddb.wait(h)
      end)
      assert.matches("error in coroutine", report)
      local ok, err = pcall(h.result, h)
      assert.is_false(ok)
      assert.matches("dolphindb: task", err)
    end)

    it("works in a coroutine the scheduler does not own", function()
      local gen = coroutine.wrap(function() coroutine.yield(pool:run("10*10")) end)
      assert.are.equal(100, gen())
    end)

    it("runs 500 small tasks from 50 coroutines", function()
      local sum = 0
      local hs = {}
      for w = 1, 50 do
        hs[w] = ddb.spawn(function()
          for i = 1, 10 do
            local v = pool:run("add", w, i)   -- not `sum + pool:run()`: sum is read before the wait
            sum = sum + v
          end
        end)
      end
      ddb.wait(hs)
      for w = 1, 50 do assert.is_nil(hs[w]:error()) end
      -- sum over w of (10*w + 55)
      assert.are.equal(10 * (50 * 51 / 2) + 50 * 55, sum)
    end)
  end)

  describe("addTask / isFinished / getData", function()
    it("follows the seed's complete example", function()
      pool:addTask("sleep(300);1+2", 12)
      assert.is_false(pool:isFinished(12))
      local ok, err = pcall(pool.getData, pool, 12)
      assert.is_false(ok)
      assert.matches("task 12 is not finished", err)
      assert.is_false(pool:isFinished(12))       -- still there, unchanged
      while not pool:isFinished(12) do ddb.sleep(0.01) end
      assert.are.equal(3, pool:getData(12))
      assert.has_error(function() pool:getData(12) end,
        "dolphindb: getData: task 12 does not exist (never submitted, or its result was already fetched)")
    end)

    it("makes progress when polled without sleeping", function()
      pool:addTask("sleep(50); 9", 13)
      local spins = 0
      while not pool:isFinished(13) do spins = spins + 1 end
      assert.is_true(spins > 0)
      assert.are.equal(9, pool:getData(13))
    end)

    it("reports a failed task as finished and raises its error from getData", function()
      pool:addTask("error_here(", 14)
      while not pool:isFinished(14) do ddb.sleep(0.005) end
      local ok, err = pcall(pool.getData, pool, 14)
      assert.is_false(ok)
      assert.matches("task 14", err)
      assert.has_error(function() pool:isFinished(14) end)
    end)

    it("replaces an older task that reuses the id", function()
      pool:addTask("sleep(300); 1", 15)
      pool:addTask("2", 15)
      while not pool:isFinished(15) do ddb.sleep(0.005) end
      assert.are.equal(2, pool:getData(15))
    end)

    it("passes function arguments", function()
      pool:addTask("add", 16, 20, 22)
      while not pool:isFinished(16) do ddb.sleep(0.005) end
      assert.are.equal(42, pool:getData(16))
    end)

    it("works from coroutines", function()
      local h = ddb.spawn(function()
        pool:addTask("sleep(100); 5*5", 17)
        while not pool:isFinished(17) do ddb.sleep(0.01) end
        return pool:getData(17)
      end)
      assert.are.equal(25, h:result())
    end)

    it("rejects bad ids", function()
      assert.has_error(function() pool:addTask("1", -1) end, "dolphindb: addTask: taskId must be an integer >= 0, got -1")
      assert.has_error(function() pool:addTask("1", 1.5) end)
      assert.has_error(function() pool:addTask("1") end)
      assert.has_error(function() pool:isFinished(987654) end)
      assert.has_error(function() pool:isFinished("x") end)
    end)
  end)

  describe("view = true", function()
    it("returns vectors and table columns as read-only views of the decoded memory", function()
      local t = pool:run { "table(1..100000 as id, take(2024.01.02T03:04:05.006, 100000) as ts, "
        .. "take(`a`b, 100000) as s)", view = true }
      local id, ts, sym = t:col("id"), t:col("ts"), t:col("s")
      assert.are.equal(100000, id.n)
      assert.are.equal(100000, #id)                  -- a view is an FFI struct: # sees its cells
      assert.are.equal(99999, id[99999])
      assert.is_nil(id[0])
      assert.is_nil(id[100001])
      assert.are.equal("2024.01.02T03:04:05.006", tostring(ts[100000]))
      assert.are.equal("b", sym[2])
      assert.are.equal("TIMESTAMP", ddb.typeof(ts))
      local p, n = id:ptr()
      assert.are.equal(100000, n)
      assert.are.equal(100000, p[n - 1])
      assert.has_error(function() id[1] = 5 end,
        "dolphindb: a view is read-only (v:totable() gives a copy in the array form)")
      local copy = sym:totable()
      assert.are.equal(100000, #copy)
      assert.are.equal("a", copy[99999])
      -- a view is sent back as the vector it views
      assert.are.equal(100000, pool:run("size", id))
      assert.are.equal(500500, pool:run("sum", pool:run { "1..1000", view = true }))
      local plain = pool:run("1..5")
      local view = pool:run { "1..5", view = true }
      assert.are.same({ 1, 2, 3, 4, 5, n = 5 }, { view[1], view[2], view[3], view[4], view[5], n = view.n })
      assert.are.equal(tostring(plain), tostring(view))
    end)

    it("are what a big result gets by default; view = false gives arrays", function()
      local script = "table(1..40000 as id, take(2024.01.02T03:04:05.006, 40000) as ts)"
      local t = pool:run(script)                     -- 80 000 cells: views
      assert.are.equal("cdata", type(t.id))
      assert.are.equal(40000, #t.ts)
      assert.are.equal("2024.01.02T03:04:05.006", tostring(t.ts[40000]))
      local a = pool:run { script, view = false }
      assert.are.equal("table", type(a.id))
      assert.are.equal(tostring(a.ts[40000]), tostring(t.ts[40000]))
      assert.are.equal("table", type(pool:run("1..1000")))   -- small: arrays
      assert.are.equal("cdata", type(pool:runTaskAsync { script, typed = true }:result().id))
    end)

    it("works with typed, in futures and coroutines", function()
      local v = pool:run { "[1c, 2c]", typed = true, view = true }
      assert.are.equal("CHAR", ddb.typeof(v))
      assert.are.equal(2, v[2])
      assert.are.equal("DATE", pool:run { "2024.01.02", typed = true, view = true }.type)
      local f = pool:runTaskAsync { "1..3", view = true }
      local h = ddb.spawn(function() return pool:run { "`x`y", view = true } end)
      assert.are.equal(3, f:result()[3])
      assert.are.equal("y", h:result()[2])
    end)
  end)

  describe("run's tasks", function()
    it("are let go once the outcome is taken: success, failure, typed, in coroutines", function()
      assert.are.equal(2, pool:run("1+1"))
      assert.has_error(function() pool:run("error('boom')") end)
      assert.are.equal(3, pool:run("add", 1, 2))
      assert.are.same("CHAR", pool:run{ "'a'", typed = true }.type)
      local hs = {}
      for i = 1, 50 do
        hs[i] = ddb.spawn(function() return pool:run(i % 7 == 0 and "undefinedThing" or "1") end)
      end
      ddb.wait(hs)
      local failed = 0
      for i = 1, 50 do if hs[i]:error() then failed = failed + 1 end end
      assert.are.equal(7, failed)
      assert.are.equal(0, pool:stats().held)
    end)

    it("cannot be finished twice or under a ticket nobody issued", function()
      local c = pool._c
      local ticket = c:run("1")
      sched.await_ticket(ticket)
      local ok, v = c:finish(ticket)
      assert.is_true(ok)
      assert.are.equal(1, v)
      assert.has_error(function() c:finish(ticket) end, "dolphindb: no task is held under this ticket")
      assert.has_error(function() c:finish(12345) end, "dolphindb: no task is held under this ticket")
      assert.has_error(function() c:finish(-1) end, "dolphindb: no task is held under this ticket")
      assert.has_error(function() c:finish(0 / 0) end, "dolphindb: no task is held under this ticket")
    end)
  end)

  describe("inspection", function()
    it("reports session ids, connection count and stats", function()
      local ids = pool:getSessionId()
      assert.are.equal(8, #ids)
      for _, id in ipairs(ids) do assert.matches("^%d+$", id) end
      assert.are.equal(8, pool:getConnectionCount())
      local s = pool:stats()
      assert.are.equal("OPEN", s.state)
      assert.are.equal(8, s.conns)
      assert.are.equal(8, #s.connections)
      assert.is_true(s.done > 0)
      assert.is_false(pool:isShutDown())
    end)
  end)

  describe("shutDown", function()
    it("is idempotent, fails queued work and makes later calls raise", function()
      local p = ddb.DBConnectionPool("127.0.0.1", server.port, 1)
      local running = ddb.spawn(function() return p:run("sleep(2000); 1") end)
      local queued = ddb.spawn(function() return p:run("2") end)
      ddb.sleep(0.1)
      local secs
      local report = capture_stderr(function()
        secs = elapsed(function() p:shutDown() end)
        p:shutDown()
        ddb.wait({ running, queued })
      end)
      assert.is_true(secs < 1, "shutDown took " .. secs)
      assert.matches("pool is shut down", report)
      assert.matches("shut down", queued:error())
      assert.is_not_nil(running:error())
      assert.has_error(function() p:run("1") end, "dolphindb: run: the pool is shut down")
      assert.has_error(function() p:addTask("1", 1) end)
      assert.has_error(function() p:runTaskAsync("1") end)
      assert.is_true(p:isShutDown())
      assert.are.equal("CLOSED", p:stats().state)
      assert_quiet()
    end)

    it("leaves nothing pending behind a pool that is just dropped", function()
      local p = ddb.DBConnectionPool("127.0.0.1", server.port, 2)
      assert.are.equal(1, p:run("1"))
      p = nil
      assert_quiet()
    end)
  end)
end)
