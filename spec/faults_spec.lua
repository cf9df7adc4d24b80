-- Fault suite at the Lua level (issue 8): ddbmini killed mid-response and while idle
-- and restarted, a stalled response, garbage bytes, connection refused, a slow
-- accept, a refused login and a NotLeader storm between two instances. For each: the
-- task hit fails with an error naming the cause within its deadline, the other tasks
-- (coroutines) are unharmed, the pool serves again when the server does (reConnect),
-- and every submitted task is accounted for: a table is printed and "lost" must be 0.

local ddb = require "dolphindb"
local ddbmini = require "support.ddbmini"

-- sanitized runs (scripts/busted.sh preloads the ASan runtime) are several times slower
local SCALE = (os.getenv("LD_PRELOAD") or ""):find("asan") and 3 or 1

local rows = {}

local function row(name)
  local r = { name = name, faults = 0, submitted = 0, succeeded = 0, failed = 0, lost = 0 }
  rows[#rows + 1] = r
  return r
end

local function kill(srv)
  os.execute("kill -KILL " .. srv.pid .. " 2>/dev/null")
  srv:stop()                            -- reaps / forgets it
end

local function restart(srv)
  return ddbmini.start { "--port", srv.port }
end

-- Submits `script` as a future and records what it must do: cause nil = succeed.
local function track(r, pool, script, cause, timeout)
  r.submitted = r.submitted + 1
  local f = pool:runTaskAsync { script, timeout = timeout and timeout * SCALE or nil }
  return { f = f, cause = cause, script = script, t0 = ddb.now() }
end

-- Waits for every tracked future and classifies it; fails the spec on surprises.
local function settle(r, list, timeout)
  for _, x in ipairs(list) do
    local ok, err = pcall(x.f.exception, x.f, timeout * SCALE)
    if not ok then
      r.lost = r.lost + 1
      error(("%s: task '%s' did not end: %s"):format(r.name, x.script, tostring(err)))
    elseif err == nil and x.cause == nil then
      r.succeeded = r.succeeded + 1
    elseif err ~= nil and x.cause ~= nil and err:find(x.cause, 1, true) then
      r.failed = r.failed + 1
    else
      error(("%s: task '%s' wanted %s, got %s"):format(r.name, x.script,
        x.cause or "success", tostring(err)))
    end
    x.elapsed = x.elapsed or (ddb.now() - x.t0)
  end
end

local function recovers(r, pool)
  r.submitted = r.submitted + 1
  local deadline = ddb.now() + 5 * SCALE
  local ok, v
  repeat                                  -- a stale idle connection may fail one task
    ok, v = pcall(pool.run, pool, "40 + 2")
    if not ok then ddb.sleep(0.1) end
  until ok or ddb.now() > deadline
  assert(ok, r.name .. ": pool does not serve again: " .. tostring(v))
  assert.equal(42, v)
  r.succeeded = r.succeeded + 1
end

local function open(port, extra)
  local opts = { host = "127.0.0.1", port = port, threadNum = 4, userid = "admin",
                 password = "123456", reConnect = true, reconnectDelay = 0.05,
                 connectTimeout = 2 * SCALE }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return ddb.DBConnectionPool(opts)
end

describe("faults (Lua level)", function()
  local srv
  after_each(function() if srv then srv:stop() end srv = nil end)

  it("server killed mid-response, then restarted", function()
    local r = row("killed mid-response")
    srv = ddbmini.start()
    local pool = open(srv.port)
    local list = {}
    for i = 1, 6 do list[#list + 1] = track(r, pool, i .. " + 1") end
    settle(r, list, 5)
    local hit = track(r, pool, 'print("started"); sleep(10000); 1', "connection lost", 5)
    ddb.sleep(0.4 * SCALE)
    kill(srv); r.faults = r.faults + 1
    ddb.sleep(0.2 * SCALE)
    local waiting = track(r, pool, "2 + 2", nil, 15)   -- queued while the server is down
    srv = restart(srv)
    settle(r, { hit, waiting }, 10)
    assert.is_true(hit.elapsed < 1.5 * SCALE, "the hit task ended after " .. hit.elapsed)
    recovers(r, pool)
    pool:shutDown()
  end)

  it("server killed while idle, twice", function()
    local r = row("killed idle")
    srv = ddbmini.start()
    local pool = open(srv.port)
    for _ = 1, 2 do
      kill(srv); r.faults = r.faults + 1
      ddb.sleep(0.3 * SCALE)
      local list = { track(r, pool, "5", "while queued", 0.3) }
      for i = 1, 5 do list[#list + 1] = track(r, pool, i .. " * 7", nil, 15) end
      ddb.sleep(0.5 * SCALE)
      srv = restart(srv)
      settle(r, list, 10)
    end
    recovers(r, pool)
    pool:shutDown()
  end)

  it("a stalled response times out; the other coroutines are unharmed", function()
    local r = row("stalled response")
    srv = ddbmini.start()
    local pool = open(srv.port)
    pool:run("faultStall(-1)")
    r.faults = r.faults + 1
    local hit = track(r, pool, "1", "timed out", 0.5)
    ddb.sleep(0.05)
    local list = { hit }
    local done = 0
    for i = 1, 3 do
      ddb.spawn(function()
        for _ = 1, 5 do
          r.submitted = r.submitted + 1
          assert.equal(i, pool:run("sleep(10); " .. i))
          r.succeeded = r.succeeded + 1
        end
        done = done + 1
      end)
    end
    settle(r, list, 5)
    local deadline = ddb.now() + 10 * SCALE
    while done < 3 and ddb.now() < deadline do ddb.sleep(0.02) end
    assert.equal(3, done)
    assert.is_true(hit.elapsed < 1.5 * SCALE, "the stalled task ended after " .. hit.elapsed)
    recovers(r, pool)
    pool:shutDown()
  end)

  it("garbage bytes fail the task with a protocol error", function()
    local r = row("garbage bytes")
    srv = ddbmini.start()
    local pool = open(srv.port)
    for _, n in ipairs { 1, 10, 70000 } do
      pool:run(("faultGarbage(%d)"):format(n))
      r.faults = r.faults + 1
      local list = { track(r, pool, "1", "protocol error", 5) }
      ddb.sleep(0.05)
      for i = 1, 4 do list[#list + 1] = track(r, pool, "sleep(10); " .. i) end
      settle(r, list, 5)
    end
    recovers(r, pool)
    pool:shutDown()
  end)

  it("connection refused is a clear error, fast", function()
    local r = row("connection refused")
    srv = ddbmini.start()
    local port = srv.port
    srv:stop(); srv = nil
    r.faults = r.faults + 1
    r.submitted = r.submitted + 1
    local t0 = ddb.now()
    local ok, err = pcall(open, port, { tryReconnectNums = 2 })
    assert.is_false(ok)
    assert.matches("refused", err)
    assert.matches("127.0.0.1:" .. port, err, 1, true)
    assert.is_true(ddb.now() - t0 < 3 * SCALE)
    r.failed = r.failed + 1
  end)

  it("a slow accept: short connect timeout fails naming it, a patient pool opens", function()
    local r = row("slow accept")
    srv = ddbmini.start { "--accept-delay", "1500" }
    r.faults = r.faults + 1
    r.submitted = r.submitted + 1
    local ok, err = pcall(open, srv.port, { connectTimeout = 0.4, tryReconnectNums = 1, threadNum = 2 })
    assert.is_false(ok)
    assert.matches("timed out", err)
    r.failed = r.failed + 1
    local pool = open(srv.port, { connectTimeout = 5 * SCALE, threadNum = 2 })
    recovers(r, pool)
    pool:shutDown()
  end)

  it("a refused login is a clear error without the password", function()
    local r = row("login refused")
    srv = ddbmini.start { "--reject-login" }
    r.faults = r.faults + 1
    r.submitted = r.submitted + 1
    local ok, err = pcall(open, srv.port, { password = "s3cr3t-pw", tryReconnectNums = 1 })
    assert.is_false(ok)
    assert.matches("user name or password is incorrect", err, 1, true)
    assert.is_nil(err:find("s3cr3t-pw", 1, true))
    r.failed = r.failed + 1
  end)

  it("a NotLeader storm between two instances fails the task naming it", function()
    local r = row("NotLeader storm")
    local a = ddbmini.start()
    local b = ddbmini.start()
    local pa, pb = a.port, b.port
    a:stop(); b:stop()
    a = ddbmini.start { "--port", pa, "--not-leader", "127.0.0.1:" .. pb }
    b = ddbmini.start { "--port", pb, "--not-leader", "127.0.0.1:" .. pa }
    r.faults = r.faults + 1
    local ok, err = pcall(function()
      local pool = ddb.DBConnectionPool { host = "127.0.0.1", port = pa, threadNum = 2,
        reConnect = true, reconnectDelay = 0.05, highAvailability = true,
        highAvailabilitySites = { "127.0.0.1:" .. pa, "127.0.0.1:" .. pb } }
      local list = {}
      for i = 1, 3 do list[i] = track(r, pool, tostring(i), "NotLeader", 3) end
      settle(r, list, 8)
      b:stop()
      b = ddbmini.start { "--port", pb }          -- b becomes a real leader
      recovers(r, pool)
      pool:shutDown()
    end)
    a:stop(); b:stop()
    assert(ok, err)
  end)

  it("prints the table; nothing was lost", function()
    local t = { faults = 0, submitted = 0, succeeded = 0, failed = 0, lost = 0 }
    print(("\n%-22s %6s %9s %9s %13s %5s"):format("fault", "faults", "submitted",
      "succeeded", "failed(clear)", "lost"))
    for _, r in ipairs(rows) do
      print(("%-22s %6d %9d %9d %13d %5d"):format(r.name, r.faults, r.submitted,
        r.succeeded, r.failed, r.lost))
      for k in pairs(t) do t[k] = t[k] + r[k] end
    end
    print(("%-22s %6d %9d %9d %13d %5d"):format("TOTAL", t.faults, t.submitted,
      t.succeeded, t.failed, t.lost))
    assert.equal(8, #rows)
    assert.equal(0, t.lost)
    assert.equal(t.submitted, t.succeeded + t.failed)
  end)
end)
