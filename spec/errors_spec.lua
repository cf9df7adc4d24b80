-- Issue 12: error values with a kind (issue 12 §5), text never cut at a NUL byte (issue 12 §3),
-- and a highAvailability pool that re-sends a dropped task on another site (issue 12 §6).

local ddb = require "dolphindb"
local core = require "dolphindb.core"
local errors = require "dolphindb.errors"
local ddbmini = require "support.ddbmini"
local served = require "support.served"

-- pcall(fn, ...) must fail with an error value of `kind`; returns it.
local function fails_with(kind, fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected a '" .. kind .. "' error")
  assert.are.equal(errors.Error, getmetatable(err), "not an error value: " .. tostring(err))
  assert.are.equal(kind, err.kind, tostring(err))
  assert.matches("^dolphindb: ", tostring(err))
  return err
end

-- pcall(fn, ...) must fail with a misuse string "dolphindb: <where>..." (after the
-- caller's position when there is one); returns it.
local function misuse(pattern, fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error matching " .. pattern)
  assert.is_string(err)
  local text = err:gsub("^[^\n]-:%d+: ", "")
  assert.matches("^dolphindb: ", text)
  assert.matches(pattern, text)
  return text
end

describe("error values (issue 12 §5)", function()
  local srv, pool
  setup(function() srv, pool = served.start(2) end)
  teardown(function() served.stop(srv, pool) end)

  it("a server error quoting 'timed out' is a server error, not a timeout", function()
    local err = fails_with("server", pool.run, pool, "x = 'timed out'; x + 1")
    assert.is_false(ddb.is_timeout(err))              -- before: true (text match)
    assert.matches("timed out", tostring(err), 1, true)
    assert.is_string(err.server_error)
    assert.is_number(err.task_id)
    assert.is_true(err.task_id < 0)
    assert.matches("^dolphindb: task %-%d+: server error: ", err.message)
    -- what worked on strings keeps working
    assert.are.equal("<" .. err.message, "<" .. err)
    assert.are.equal(err.message .. ">", err .. ">")
    assert.is_truthy(err:find("server error", 1, true))
    assert.are.equal("dolphindb", err:match("^(%a+)"))
    assert.is_false(ddb.is_timeout("dolphindb: task 1: timed out after 1 s"))   -- text alone
  end)

  it("timeouts: per task, waiting for a future, waiting for a handle", function()
    local err = fails_with("timeout", pool.run, pool, { "sleep(500); 1", timeout = 0.1 })
    assert.is_true(ddb.is_timeout(err))
    assert.matches("timed out after 0.1 s", tostring(err), 1, true)
    local f = pool:runTaskAsync("sleep(300); 2")
    err = fails_with("timeout", f.result, f, 0.01)
    assert.is_true(ddb.is_timeout(err))
    assert.are.equal(f:task_id(), err.task_id)
    assert.are.equal(2, f:result(5))
    local h = ddb.spawn(function() ddb.sleep(0.3) end)
    err = fails_with("timeout", h.result, h, 0.01)
    assert.is_true(ddb.is_timeout(err))
    h:wait()
  end)

  it("cancelled, shutdown, getData of a failed task", function()
    local f = pool:runTaskAsync("sleep(300); 1")
    assert.is_true(f:cancel())
    local err = fails_with("cancelled", f.result, f)
    assert.are.equal(f:task_id(), err.task_id)
    fails_with("cancelled", f.exception, f)         -- as Python's CancelledError

    pool:addTask("nosuchfunction(1)", 7)
    while not pool:isFinished(7) do ddb.sleep(0.01) end
    err = fails_with("server", pool.getData, pool, 7)
    assert.are.equal(7, err.task_id)

    local p = ddb.DBConnectionPool("127.0.0.1", srv.port, 1)
    local running = p:runTaskAsync("sleep(1000); 1")
    local queued = p:runTaskAsync("2")
    p:shutDown()
    assert.are.equal("shutdown", running:exception().kind)
    assert.are.equal("shutdown", queued:exception().kind)
  end)

  it("connection: a pool that cannot open, a connection lost while running", function()
    local err = fails_with("connection", ddb.DBConnectionPool, "127.0.0.1", 1, 1)
    assert.matches("127.0.0.1:1", tostring(err), 1, true)
    assert.is_nil(err.task_id)

    local doomed = ddbmini.start()
    local p = ddb.DBConnectionPool("127.0.0.1", doomed.port, 1)
    local f = p:runTaskAsync("sleep(2000); 1")
    ddb.sleep(0.1)
    doomed:stop()
    err = f:exception(5)
    assert.are.equal("connection", err.kind)
    p:shutDown()
  end)

  it("protocol: a response that is not the protocol", function()
    local bad = ddbmini.start { "--fault-garbage", "64" }
    local p = ddb.DBConnectionPool("127.0.0.1", bad.port, 1)
    local err = fails_with("protocol", p.run, p, "1 + 1")
    assert.matches("protocol error", tostring(err), 1, true)
    p:shutDown()
    bad:stop()
  end)

  it("full: a submission past queueLimit", function()
    local p = ddb.DBConnectionPool { host = "127.0.0.1", port = srv.port, threadNum = 1,
      queueLimit = 1 }
    local busy = p:runTaskAsync("sleep(300); 1")
    ddb.sleep(0.05)
    local queued = p:runTaskAsync("2")
    local err = fails_with("full", p.run, p, "3")
    assert.matches("^dolphindb: run: queue is full", tostring(err))
    fails_with("full", p.addTask, p, "3", 1)
    fails_with("full", p.runTaskAsync, p, "3")
    assert.are.equal(1, busy:result(5))
    assert.are.equal(2, queued:result(5))
    p:shutDown()
  end)

  it("misuse stays a string naming the function", function()
    misuse("^dolphindb: run: option 'priority' must be", pool.run, pool, { "1", priority = 99 })
    misuse("^dolphindb: DBConnectionPool: option 'port' must be an integer", ddb.DBConnectionPool,
      { host = "127.0.0.1", port = "8848" })
    misuse("^dolphindb: DBConnectionPool: option 'connectTimeout' must be a number",
      ddb.DBConnectionPool, { host = "127.0.0.1", port = srv.port, connectTimeout = "x" })
  end)
end)

describe("text is never silently cut (issue 12 §3)", function()
  local srv, pool
  setup(function()
    srv = ddbmini.start()
    pool = ddb.DBConnectionPool { host = "127.0.0.1", port = srv.port, threadNum = 1 }
  end)
  teardown(function()
    pool:shutDown()
    srv:stop()
  end)

  it("refuses a NUL byte in scripts and function names, in every call form", function()
    -- before: "1\0 + 2" ran "1" and returned 1; "add\0x" called add
    misuse("^dolphindb: run: the script %(or function name%) contains a NUL byte at byte 2",
      pool.run, pool, "1\0 + 2")
    misuse("^dolphindb: run: .*NUL byte at byte 4", pool.run, pool, "add\0x", 1, 2)
    misuse("^dolphindb: run: .*NUL byte", pool.run, pool, { "1\0 + 2", timeout = 5 })
    misuse("^dolphindb: runTaskAsync: .*NUL byte", pool.runTaskAsync, pool, "1\0 + 2")
    misuse("^dolphindb: addTask: .*NUL byte", pool.addTask, pool, "1\0 + 2", 3)
    misuse("^dolphindb: addTask: .*NUL byte", pool.addTask, pool, { "add\0x", 3, 1, 2 })
    assert.are.equal(0, pool:stats().held)
    assert.are.equal(3, pool:run("1 + 2"))
  end)

  it("refuses a NUL byte in the pool's text options", function()
    local base = { host = "127.0.0.1", port = srv.port, threadNum = 1 }
    local function with(k, v)
      local o = {}
      for key, val in pairs(base) do o[key] = val end
      o[k] = v
      return o
    end
    -- before: "127.0.0.1\0evil.example" connected to 127.0.0.1
    misuse("^dolphindb: DBConnectionPool: option 'host' contains a NUL byte", ddb.DBConnectionPool,
      with("host", "127.0.0.1\0evil.example"))
    misuse("^dolphindb: DBConnectionPool: option 'userid' contains a NUL byte", ddb.DBConnectionPool,
      with("userid", "admin\0x"))
    local e = misuse("^dolphindb: DBConnectionPool: option 'password' contains a NUL byte",
      ddb.DBConnectionPool, { host = "127.0.0.1", port = srv.port, userid = "admin",
        password = "123456\0sekrit" })
    assert.is_nil(e:find("sekrit", 1, true))           -- never quoted
    misuse("^dolphindb: DBConnectionPool: option 'initialScript' contains a NUL byte",
      ddb.DBConnectionPool, with("initialScript", "x = 1\0; y = 2"))
    misuse("^dolphindb: DBConnectionPool: option 'highAvailabilitySites%[2%]%.host' contains a NUL byte",
      ddb.DBConnectionPool, with("highAvailabilitySites",
        { "127.0.0.1:" .. srv.port, "evil\0.example:8848" }))
    misuse("^dolphindb: DBConnectionPool: option 'highAvailabilitySites%[1%]%.host' contains a NUL byte",
      ddb.DBConnectionPool, with("highAvailabilitySites", { { host = "a\0b", port = 1 } }))
    -- the C side refuses too, for callers of the core module
    misuse("option 'host' contains a NUL byte", core.pool_new,
      { host = "127.0.0.1\0x", port = srv.port })
    misuse("option 'initialScript' contains a NUL byte", core.pool_new,
      { host = "127.0.0.1", port = srv.port, initialScript = "1\0" })
  end)

  it("ddb.string / symbol / code refuse a NUL byte when made; blob takes bytes", function()
    -- before: ddb.symbol("a\0b") was accepted and tostring of it raised
    misuse("^dolphindb: symbol: the text contains a NUL byte %(at byte 2%)", ddb.symbol, "a\0b")
    misuse("^dolphindb: string: .*NUL", ddb.string, "a\0b")
    misuse("^dolphindb: code: .*NUL", ddb.code, "a\0b")
    assert.are.equal("ab", tostring(ddb.symbol("ab")))
    assert.is_string(ddb.encode(ddb.blob("a\0b")))
    -- a plain Lua string argument with a zero byte travels whole, as a BLOB
    -- (docs/API.md); only STRING-typed values refuse it
    assert.are.equal("BLOB", pool:run("typestr", "a\0b"))
    assert.are.equal("a\0b", pool:run("echo", "a\0b"))
  end)
end)

describe("highAvailability re-sends a dropped task on another site (issue 12 §6)", function()
  it("with reConnect at its default", function()
    local a, b = ddbmini.start(), ddbmini.start()
    local pool = ddb.DBConnectionPool { host = "127.0.0.1", port = a.port, threadNum = 1,
      highAvailability = true, reconnectDelay = 0.05,
      highAvailabilitySites = { "127.0.0.1:" .. a.port, "127.0.0.1:" .. b.port } }
    assert.are.equal(a.port, pool:stats().connections[1].port)
    local f = pool:runTaskAsync("sleep(500); 42")
    ddb.sleep(0.1)
    a:stop()                                  -- the site running the task goes away
    assert.are.equal(42, f:result(10))        -- before: "no live connection"
    assert.are.equal(b.port, pool:stats().connections[1].port)
    assert.are.equal(7, pool:run("3 + 4"))
    pool:shutDown()
    b:stop()
  end)

  it("refuses reConnect = false with highAvailability", function()
    misuse("^dolphindb: DBConnectionPool: highAvailability needs reConnect", ddb.DBConnectionPool,
      { host = "127.0.0.1", port = 1, highAvailability = true, reConnect = false })
  end)
end)
