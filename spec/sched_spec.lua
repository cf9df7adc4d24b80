-- The coroutine scheduler: spawn / sleep / wait / loop / errors, over the module's
-- libuv loop (real timers, no mocks). Under busted the specs run on the main thread,
-- so every wait here drives the loop itself, which is the plain-luajit way of use.

local ddb = require "dolphindb"
local core = require "dolphindb.core"
local sched = require "dolphindb.sched"
local files = require "support.files"

local capture_stderr = files.capture_stderr

local function settle()
  ddb.loop()
  assert.are.equal(0, core.pending())
  assert.are.equal(0, sched.stats().live)
end

describe("the event loop core", function()
  after_each(settle)

  it("has monotonic time in seconds", function()
    local a = core.now()
    local b = core.now()
    assert.is_true(b >= a)
    assert.is_true(a > 0)
  end)

  it("counts a timer as pending until its ticket is handed out", function()
    local t = core.timer_start(10)
    assert.are.equal(1, core.pending())
    local out, got = {}, 0
    while got == 0 do got = core.run_once(true, out) end
    assert.are.equal(1, got)
    assert.are.equal(t, out[1])
    assert.are.equal(0, core.pending())
  end)

  it("stops a timer before it fires, once", function()
    local t = core.timer_start(1000)
    assert.is_true(core.timer_stop(t))
    assert.is_false(core.timer_stop(t))
    assert.are.equal(0, core.pending())
    assert.is_false(core.timer_stop(123456789))
  end)

  it("rejects a negative or non-numeric delay", function()
    assert.has_error(function() core.timer_start(-1) end)
    assert.has_error(function() core.timer_start("soon") end)
    assert.has_error(function() core.timer_start(0 / 0) end)
  end)

  it("keeps 2000 timers apart and fires each exactly once", function()
    local seen, tickets = {}, {}
    for i = 1, 2000 do tickets[i] = core.timer_start(i % 7) end
    for i = 1, 2000, 3 do core.timer_stop(tickets[i]) end   -- stop a third of them
    local out = {}
    while core.pending() > 0 do
      for i = 1, core.run_once(true, out) do
        local t = out[i]
        assert.is_nil(seen[t])
        seen[t] = true
      end
    end
    local fired = 0
    for i = 1, 2000 do
      if i % 3 == 1 then assert.is_nil(seen[tickets[i]]) else
        assert.is_true(seen[tickets[i]]); fired = fired + 1 end
    end
    assert.are.equal(1333, fired)
  end)

  it("runs every completion of a turn when a completion handler makes new tickets", function()
    -- the handlers' new tickets reuse the slots of the tickets just taken: the
    -- waiters of one turn are all taken before any runs (dolphindb.waiters)
    local fired, again = {}, {}
    local tickets = {}
    for i = 1, 8 do tickets[i] = core.timer_start(1) end
    for i = 1, 8 do
      sched.on_ticket(tickets[i], function()
        fired[#fired + 1] = i
        sched.on_ticket(core.timer_start(1), function() again[#again + 1] = i end)
      end)
    end
    local deadline = ddb.now() + 5
    while #again < 8 and ddb.now() < deadline do ddb.sleep(0.01) end
    assert.are.equal(8, #fired)
    assert.are.equal(8, #again)
  end)

  it("reports a completion handler that raises and runs the others of its turn", function()
    -- one xpcall covers a whole turn's handlers: after an error it goes on with the
    -- next one, neither skipping nor repeating any
    local ran = {}
    local tickets = {}
    for i = 1, 6 do tickets[i] = core.timer_start(1) end
    for i = 1, 6 do
      sched.on_ticket(tickets[i], function()
        ran[#ran + 1] = i
        if i == 2 or i == 5 then error("handler " .. i .. " fails") end
      end)
    end
    local out = capture_stderr(function()
      local deadline = ddb.now() + 5
      while #ran < 6 and ddb.now() < deadline do ddb.sleep(0.01) end
    end)
    table.sort(ran)
    assert.are.same({ 1, 2, 3, 4, 5, 6 }, ran)
    assert.matches("error in a completion handler: .*handler 2 fails", out)
    assert.matches("error in a completion handler: .*handler 5 fails", out)
    local _, reports = out:gsub("error in a completion handler", "")
    assert.are.equal(2, reports)
  end)
end)

describe("ddb.spawn", function()
  after_each(settle)

  it("runs a function as a coroutine and keeps all its results", function()
    local h = ddb.spawn(function(a, b) return a + b, nil, "x" end, 2, 3)
    assert.is_true(h:done())                    -- it never waited: done inside spawn
    local r1, r2, r3 = h:result()
    assert.are.equal(5, r1)
    assert.is_nil(r2)
    assert.are.equal("x", r3)
    assert.is_true(h:done())
    assert.is_nil(h:error())
  end)

  it("starts coroutines at once, in spawn order, up to their first wait", function()
    local order = {}
    for i = 1, 5 do
      ddb.spawn(function() order[#order + 1] = i; ddb.sleep(0); order[#order + 1] = -i end)
    end
    assert.are.same({ 1, 2, 3, 4, 5 }, order)    -- ran inside spawn, as ngx.thread.spawn
    ddb.loop()
    assert.are.same({ 1, 2, 3, 4, 5, -1, -2, -3, -4, -5 }, order)
  end)

  it("finishes a coroutine that never waits inside spawn", function()
    local h = ddb.spawn(function(a, b) return a + b end, 1, 2)
    assert.is_true(h:done())
    assert.are.equal(3, h:result(0))
  end)

  it("runs a coroutine spawned by a coroutine at once as well", function()
    local order = {}
    ddb.spawn(function()
      order[#order + 1] = "parent"
      ddb.spawn(function() order[#order + 1] = "child"; ddb.sleep(0); order[#order + 1] = "child2" end)
      order[#order + 1] = "parent2"
    end)
    assert.are.same({ "parent", "child", "parent2" }, order)
    ddb.loop()
    assert.are.same({ "parent", "child", "parent2", "child2" }, order)
  end)

  it("reports an error raised before the first wait at spawn time", function()
    local h
    local text = capture_stderr(function() h = ddb.spawn(function() error("early") end) end)
    assert.is_true(h:done())
    assert.truthy(text:find("dolphindb: error in coroutine #%d+: .*early\nstack traceback:"))
    assert.truthy(tostring(h:error()):find("early", 1, true))
  end)

  it("rejects what cannot be called", function()
    assert.has_error(function() ddb.spawn(42) end, "dolphindb: spawn expects a function, got number")
    assert.has_error(function() ddb.spawn() end)
  end)

  it("accepts a callable table", function()
    local callable = setmetatable({}, { __call = function(_, x) return x * 10 end })
    assert.are.equal(70, ddb.spawn(callable, 7):result())
  end)
end)

describe("ddb.sleep", function()
  after_each(settle)

  it("lets four 0.2 s sleepers finish together", function()
    local t0 = ddb.now()
    local hs = {}
    for i = 1, 4 do hs[i] = ddb.spawn(function() ddb.sleep(0.2); return ddb.now() - t0 end) end
    local done, notdone = ddb.wait(hs)
    assert.are.equal(4, #done)
    assert.are.equal(0, #notdone)
    for i = 1, 4 do
      local t = hs[i]:result()
      assert.is_true(t >= 0.19 and t < 0.35, "finished at " .. t)
    end
    local total = ddb.now() - t0
    assert.is_true(total < 0.35, "total " .. total)
  end)

  it("on the main thread drives the spawned coroutines meanwhile", function()
    local ticks = 0
    ddb.spawn(function() for _ = 1, 3 do ddb.sleep(0.02); ticks = ticks + 1 end end)
    local t0 = ddb.now()
    ddb.sleep(0.15)
    local waited = ddb.now() - t0
    assert.are.equal(3, ticks)
    assert.is_true(waited >= 0.149 and waited < 0.3, "slept " .. waited)
  end)

  it("sleep(0) yields a turn to the others", function()
    local order = {}
    ddb.spawn(function() order[#order + 1] = "a1"; ddb.sleep(0); order[#order + 1] = "a2" end)
    ddb.spawn(function() order[#order + 1] = "b1"; ddb.sleep(); order[#order + 1] = "b2" end)
    ddb.loop()
    assert.are.same({ "a1", "b1", "a2", "b2" }, order)
  end)

  it("a coroutine spinning on sleep(0) does not starve timers and I/O", function()
    local flag, spins = false, 0
    local spinner = ddb.spawn(function()
      while not flag do
        spins = spins + 1
        if spins > 5e6 then error("starved: the timer never fired") end
        ddb.sleep(0)
      end
      return spins
    end)
    ddb.spawn(function() ddb.sleep(0.05); flag = true end)
    assert.is_true(spinner:result() > 1)
  end)

  it("a plain coroutine.yield() in a spawned coroutine also yields a turn", function()
    local order = {}
    ddb.spawn(function() order[#order + 1] = 1; coroutine.yield("ignored"); order[#order + 1] = 3 end)
    ddb.spawn(function() order[#order + 1] = 2 end)
    ddb.loop()
    assert.are.same({ 1, 2, 3 }, order)
  end)

  it("rejects bad durations", function()
    assert.has_error(function() ddb.sleep(-1) end, "dolphindb: sleep expects a number of seconds in 0..1e9, got -1")
    assert.has_error(function() ddb.sleep("1") end)
    assert.has_error(function() ddb.sleep(0 / 0) end)
  end)

  it("works inside a coroutine the scheduler does not own", function()
    local h = ddb.spawn(function()
      local inner = coroutine.wrap(function() ddb.sleep(0.05); coroutine.yield("slept") end)
      return inner()
    end)
    assert.are.equal("slept", h:result())
  end)
end)

describe("ddb.wait", function()
  after_each(settle)

  it("returns done and pending lists when the timeout passes first", function()
    local fast = ddb.spawn(function() ddb.sleep(0.01); return "fast" end)
    local slow = ddb.spawn(function() ddb.sleep(0.3); return "slow" end)
    local t0 = ddb.now()
    local done, notdone = ddb.wait({ fast, slow }, 0.1)
    local waited = ddb.now() - t0
    assert.are.same({ fast }, done)
    assert.are.same({ slow }, notdone)
    assert.is_true(waited >= 0.09 and waited < 0.25, "waited " .. waited)
    assert.are.equal("slow", slow:result())   -- it kept running
  end)

  it("accepts one handle", function()
    local h = ddb.spawn(function() return 1 end)
    local done = ddb.wait(h)
    assert.are.same({ h }, done)
  end)

  it("times out result() inside a coroutine and stops its timer when the value comes", function()
    local slow = ddb.spawn(function() ddb.sleep(0.2); return "late" end)
    local waiter = ddb.spawn(function()
      local ok, err = pcall(slow.result, slow, 0.05)
      local v = slow:result(5)       -- arrives before 5 s: the 5 s timer must be stopped
      return ok, err, v
    end)
    local t0 = ddb.now()
    local ok, err, v = waiter:result()
    assert.is_false(ok)
    assert.is_true(ddb.is_timeout(err), err)
    assert.are.equal("late", v)
    ddb.loop()
    assert.is_true(ddb.now() - t0 < 1, "a 5 s timer kept the loop alive")
  end)

  it("with timeout 0 only checks", function()
    local h = ddb.spawn(function() ddb.sleep(0.05) end)
    local done, notdone = ddb.wait({ h }, 0)
    assert.are.equal(0, #done)
    assert.are.equal(1, #notdone)
  end)

  it("rejects what is not waitable", function()
    assert.has_error(function() ddb.wait("x") end)
    assert.has_error(function() ddb.wait({ 1, 2 }) end, "dolphindb: wait: item 1 is not a handle or future (number)")
    local h = ddb.spawn(function() end)
    assert.has_error(function() ddb.wait({ h }, -1) end)
  end)

  it("lets one coroutine wait for another", function()
    local producer = ddb.spawn(function() ddb.sleep(0.02); return 21 end)
    local consumer = ddb.spawn(function() return producer:result() * 2 end)
    assert.are.equal(42, consumer:result())
  end)
end)

describe("errors in spawned coroutines", function()
  after_each(settle)

  it("are reported with a traceback, carried by the handle, and stop nobody else", function()
    local good, bad
    local report = capture_stderr(function()
      bad = ddb.spawn(function() ddb.sleep(0.01); error("boom in coroutine") end)
      good = ddb.spawn(function() ddb.sleep(0.03); return "fine" end)
      ddb.loop()
    end)
    assert.matches("boom in coroutine", report)
    assert.matches("stack traceback", report)
    assert.are.equal("fine", good:result())
    assert.is_true(bad:done())
    assert.matches("boom in coroutine", bad:error())
    assert.has_error(function() bad:result() end)
    assert.matches("stack traceback", bad:traceback())
    assert.are.equal(0, sched.stats().unretrieved)
  end)

  it("keeps non-string error values", function()
    local obj = { code = 7 }
    local h
    capture_stderr(function() h = ddb.spawn(function() error(obj) end); ddb.loop() end)
    assert.are.equal(obj, h:error())
  end)
end)

describe("many coroutines", function()
  after_each(settle)

  it("runs every callback exactly once", function()
    local count, hs = 0, {}
    for i = 1, 3000 do
      hs[i] = ddb.spawn(function()
        ddb.sleep((i % 10) / 1000)
        count = count + 1
        ddb.sleep(0)
        return i
      end)
    end
    ddb.loop()
    assert.are.equal(3000, count)
    for i = 1, 3000 do assert.are.equal(i, hs[i]:result()) end
    assert.are.equal(0, sched.stats().parked)
  end)

  it("ddb.loop() inside a spawned coroutine waits for all the others", function()
    local finished = {}
    local looper = ddb.spawn(function()
      ddb.spawn(function() ddb.sleep(0.05); finished[#finished + 1] = "child" end)
      ddb.loop()
      finished[#finished + 1] = "looper"
    end)
    ddb.loop()
    assert.is_true(looper:done())
    assert.are.same({ "child", "looper" }, finished)
  end)
end)

describe("ddb.loop() inside a spawned coroutine (issue 12 §6)", function()
  after_each(settle)

  it("returns while the main thread waits with a timeout", function()
    -- The main thread's own deadline timer is not an operation the loop() caller
    -- waits for: before, h:wait(2) ran out because loop() waited for that very timer.
    local h = ddb.spawn(function() ddb.loop(); return "back" end)
    local t0 = ddb.now()
    assert.is_true(h:wait(2))
    assert.is_true(ddb.now() - t0 < 1, "took " .. (ddb.now() - t0) .. " s")
    assert.are.equal("back", h:result())
  end)

  it("returns while the main thread sleeps", function()
    local h = ddb.spawn(function() ddb.loop(); return "back" end)
    ddb.sleep(0.2)
    assert.is_true(h:done())
  end)

  it("still waits for the other spawned coroutines", function()
    local order = {}
    local h = ddb.spawn(function() ddb.loop(); order[#order + 1] = "looper" end)
    ddb.spawn(function() ddb.sleep(0.1); order[#order + 1] = "sleeper" end)
    assert.is_true(h:wait(2))
    assert.are.same({ "sleeper", "looper" }, order)
  end)
end)

describe("a coroutine that cannot yield (issue 12 §6)", function()
  local ddbmini = require "support.ddbmini"
  local srv, pool
  setup(function()
    srv = ddbmini.start()
    pool = ddb.DBConnectionPool("127.0.0.1", srv.port, 1)
  end)
  teardown(function()
    pool:shutDown()
    srv:stop()
  end)

  it("gets a clear error from run, and the task is not held for ever", function()
    local h = ddb.spawn(function()
      -- table.sort calls the comparator from C: a yield from there cannot work
      return pcall(table.sort, { 1, 2, 3 }, function(a, b) return pool:run("sleep(50); 1") < 0 end)
    end)
    local ok, err = h:result(5)
    assert.is_false(ok)
    assert.matches("^[^\n]-:%d+: dolphindb: run: cannot wait here: attempt to yield across", err)
    assert.is_true(pool:stats().held <= 1)
    local deadline = ddb.now() + 5
    while pool:stats().held > 0 and ddb.now() < deadline do ddb.sleep(0.02) end
    assert.are.equal(0, pool:stats().held)       -- before: stayed 1 for ever
    assert.are.equal(3, pool:run("1 + 2"))        -- the pool goes on
  end)
end)

describe("waits from where a coroutine cannot yield (issue 12 §6)", function()
  after_each(settle)

  -- fn runs inside table.sort's comparator (called from C) in a spawned coroutine.
  local function from_c(fn)
    local h = ddb.spawn(function()
      return pcall(table.sort, { 1, 2 }, function() fn(); return false end)
    end)
    local ok, err = h:result(5)
    assert.is_false(ok)
    return err
  end

  it("sleep, wait, handle:result and loop raise a clear error and leave nothing behind", function()
    assert.matches("dolphindb: sleep: cannot wait here", from_c(function() ddb.sleep(0) end), 1, true)
    assert.matches("dolphindb: sleep: cannot wait here", from_c(function() ddb.sleep(0.01) end), 1, true)
    local other = ddb.spawn(function() ddb.sleep(0.05) end)
    assert.matches("dolphindb: wait: cannot wait here", from_c(function() ddb.wait({ other }, 1) end), 1, true)
    assert.matches("dolphindb: handle:result: cannot wait here",
      from_c(function() other:result() end), 1, true)
    -- a failed loop() must not stay counted as a loop waiter
    assert.matches("dolphindb: loop: cannot wait here", from_c(function() ddb.loop() end), 1, true)
    local h = ddb.spawn(function() ddb.loop(); return "back" end)
    assert.is_true(h:wait(2))
    assert.is_true(other:wait(2))
    assert.are.equal(0, sched.stats().parked)
  end)
end)

-- Under plain luajit nothing runs the loop after the main chunk: what was left must
-- show up on stderr at exit (a finalizer at lua_close), not vanish with status 0.
describe("spawned work left at exit (plain luajit, a child process)", function()
  local function run_child(code)
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write(code)
    f:close()
    -- the ASan runtime for luajit in sanitizer runs (nginx_spec takes LD_PRELOAD out
    -- of this process's environment; scripts/busted.sh keeps a copy)
    local preload = os.getenv("DDB_ASAN_PRELOAD")
    local env = preload and ("env LD_PRELOAD='%s' "):format(preload) or ""
    local p = assert(io.popen(env .. "luajit " .. path .. " 2>&1; echo \"rc=$?\""))
    local out = p:read("*a")
    p:close()
    os.remove(path)
    return out
  end

  it("names the coroutines that never finished and where they wait", function()
    local out = run_child([[
local ddb = require "dolphindb"
ddb.spawn(function() io.write("started\n"); io.flush(); ddb.sleep(60) end)
local function worker() ddb.sleep(60) end
ddb.spawn(worker)
ddb.spawn(function() end)                      -- finished inside spawn: not reported
]])
    assert.truthy(out:find("^started\n"), out)
    assert.truthy(out:find("dolphindb: 2 spawned coroutine(s) never finished (call ddb.loop()", 1, true), out)
    assert.truthy(out:find("coroutine #%d+: waiting\nstack traceback:.-in function 'sleep'.-:2: in function"), out)
    assert.truthy(out:find("coroutine #2: waiting\nstack traceback:.-:3: in function"), out)
    assert.truthy(out:find("rc=0\n$"), out)  -- the status luajit decides (docs/API.md)
  end)

  it("shows an error nobody retrieved, with its traceback, at once and at exit", function()
    local out = run_child([[
local ddb = require "dolphindb"
local function fails() error("spawned failure") end
ddb.spawn(fails)
ddb.spawn(function() error("retrieved") end):error()
]])
    local _, n = out:gsub("spawned failure", "")
    assert.are.equal(2, n, out)                 -- at spawn time and again at exit
    assert.truthy(out:find("dolphindb: error in coroutine #1: .-spawned failure\nstack traceback:"), out)
    assert.truthy(out:find("dolphindb: 1 spawned coroutine(s) failed and nobody retrieved the error:", 1, true), out)
    assert.truthy(out:find("coroutine #1: [^\n]*:2: spawned failure\nstack traceback:", 1), out)
    assert.is_nil(out:find("never finished", 1, true), out)
  end)

  it("says nothing when ddb.loop() ran everything", function()
    local out = run_child([[
local ddb = require "dolphindb"
ddb.spawn(function() ddb.sleep(0.01) end)
ddb.loop()
]])
    assert.are.equal("rc=0\n", out)
  end)
end)
