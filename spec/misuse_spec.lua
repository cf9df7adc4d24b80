-- Bad input from Lua (issue 8): every public function of require "dolphindb" called
-- with wrong types and out-of-range values, pool and future methods misused, calls
-- after shutDown, calls from inside a __gc, and coroutines that are collected while
-- their tasks run. Every case must end in a clear error (a non-empty string naming
-- what was wrong) or a normal return, never a crash, a hang or a stuck task.

local ddb = require "dolphindb"
local served = require "support.served"
local errors = require "dolphindb.errors"

local BAD = {
  {}, { nil }, { true }, { {} }, { function() end }, { -1 }, { 0 / 0 }, { 1e300 },
  { -1e300 }, { "x" }, { "x", "y", "z" }, { coroutine.create(function() end) },
  { io.stdout }, { 2 ^ 63 }, { { 1, 2, {} } }, { "", -5, {} }, { 1, nil, 3 },
  { setmetatable({}, { __index = function() error("boom") end }) },
}

-- An error's text: misuse raises strings, runtime failures error values (tostring).
local function text(err)
  if type(err) == "table" and getmetatable(err) == errors.Error then return tostring(err) end
  return err
end

-- Calls fn(args...) and checks it returned or raised a non-empty message that starts
-- with "dolphindb: " (after the caller's position, which Lua puts in front of a
-- string raised at the caller's level).
local function sane(name, fn, args, internal)
  local ok, err = pcall(fn, unpack(args, 1, 3))
  if not ok then
    err = text(err)
    assert(type(err) == "string" and #err > 0,
      ("%s raised a %s instead of a message"):format(name, type(err)))
    if internal then return ok, err end       -- ddb.core and _private: no contract
    assert(err:find("boom", 1, true) or err:find("^dolphindb: ") or err:find("^[^\n]-:%d+: dolphindb: "),
      ("%s raised '%s', not 'dolphindb: ...'"):format(name, err))
    assert(not err:find("lua/dolphindb/"), ("%s: '%s' names a module file"):format(name, err))
  end
  return ok, err
end

local function must_fail(pattern, fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error matching '" .. pattern .. "'")
  err = text(err)
  assert(type(err) == "string", "error is a " .. type(err))
  assert(err:find(pattern), ("error '%s' does not match '%s'"):format(err, pattern))
  return err
end

describe("misuse", function()
  local srv, pool
  setup(function() srv, pool = served.start(2) end)
  teardown(function() served.stop(srv, pool) end)

  it("every public function survives wrong types and out-of-range values", function()
    local skip = { sleep = true, loop = true, wait = true }   -- wait on purpose; below
    local n = 0
    for name, fn in pairs(ddb) do
      if type(fn) == "function" and not skip[name] then
        for _, args in ipairs(BAD) do sane(name, fn, args, name:find("^_")); n = n + 1 end
      end
    end
    for name, fn in pairs(ddb.core) do
      -- run_once blocks; resend_sigint really sends this process a SIGINT
      if type(fn) == "function" and name ~= "run_once" and name ~= "resend_sigint" then
        for _, args in ipairs(BAD) do sane("core." .. name, fn, args, true); n = n + 1 end
      end
    end
    assert.is_true(n > 1000)
    assert.equal(2, pool:run("1 + 1"))             -- the module still works
  end)

  it("decode refuses what is not a string of bytes, and options that are not a table", function()
    must_fail("^dolphindb: decode expects a string of bytes, got number", ddb.decode, 123)
    must_fail("^dolphindb: decode expects a string of bytes, got nil", ddb.decode)
    must_fail("^dolphindb: decode: options must be a table, got number", ddb.decode, ddb.encode(1), 1, 5)
    must_fail("^dolphindb: decode: position must be", ddb.decode, ddb.encode(1), 99)
    assert.are.equal(1, (ddb.decode(ddb.encode(1), 1, { view = true })))
  end)

  it("sleep and wait reject bad arguments", function()
    must_fail("dolphindb", ddb.sleep, "x")
    must_fail("dolphindb", ddb.sleep, {})
    assert.is_true(sane("sleep(-1)", ddb.sleep, { -1 }) ~= nil)
    must_fail("dolphindb", ddb.wait, "x")
    must_fail("dolphindb", ddb.wait, { 1, 2 })
  end)

  -- Issue 12 §5: every misuse error starts with "dolphindb: " (after the caller's
  -- position) and names the function called; no module file, no "bad argument to '?'".
  local function names(fname, fn, args)
    local ok, err = pcall(fn, unpack(args, 1, args.n or #args))
    if ok then return end
    err = text(err)
    assert(type(err) == "string", fname .. " raised a " .. type(err))
    if err:find("boom", 1, true) then return end          -- the caller's own error
    if type(select(2, pcall(fn, unpack(args, 1, args.n or #args)))) == "table" then return end
    local msg = err:gsub("^[^\n]-:%d+: ", "", 1)
    assert(msg:find("^dolphindb: "), ("%s raised '%s', not 'dolphindb: ...'"):format(fname, err))
    assert(not err:find("lua/dolphindb/", 1, true), ("%s: '%s' names a module file"):format(fname, err))
    assert(not err:find("bad argument", 1, true), ("%s: '%s'"):format(fname, err))
    local short = fname:match("[:.]([%w_]+)$") or fname
    assert(msg:lower():find(short:lower(), 1, true),
      ("%s raised '%s', which does not name it"):format(fname, msg))
  end

  it("every misuse error starts with 'dolphindb: ' and names the function", function()
    local skip = { loop = true, DBConnectionPool = true }  -- loop: no arguments to misuse
    local n = 0
    for name, fn in pairs(ddb) do
      if type(fn) == "function" and not skip[name] and not name:find("^_") then
        for _, args in ipairs(BAD) do names(name, fn, args); n = n + 1 end
      end
    end
    for _, args in ipairs(BAD) do
      if type(args[1]) ~= "table" then      -- a table is the options form
        names("DBConnectionPool", ddb.DBConnectionPool, { "127.0.0.1", args[1], args[2] })
        names("DBConnectionPool", ddb.DBConnectionPool, { args[1], srv.port })
      end
      names("DBConnectionPool", ddb.DBConnectionPool,
        { { host = "127.0.0.1", port = srv.port, connectTimeout = args[1] } })
    end
    -- methods: wrong receivers and wrong arguments
    local f = pool:runTaskAsync("1")
    local h = ddb.spawn(function() end)
    assert.equal(1, f:result(5))          -- done first: the walk calls f:cancel() too
    h:wait(5)
    local objects = { pool = pool, future = f, handle = h }
    for oname, obj in pairs(objects) do
      local methods = {}
      for k, v in pairs(getmetatable(obj).__index) do
        if type(v) == "function" and not k:find("^_") and k ~= "new" then methods[k] = v end
      end
      for mname, m in pairs(methods) do
        local fname = oname .. ":" .. mname
        for _, args in ipairs(BAD) do
          if mname ~= "shutDown" then
            names(fname, m, { obj, unpack(args, 1, 3) })
          end
          names(fname, m, { args[1], args[2] })          -- not called on the object
          n = n + 1
        end
      end
    end
    f:result(5)
    h:wait(5)
    assert.is_true(n > 500)
    names("sleep", ddb.sleep, { 1e300 })
    names("future:result", f.result, { f, 1e308 })
    names("wait", ddb.wait, { { f }, 1e308 })
    assert.equal(2, pool:run("1 + 1"))
  end)

  it("DBConnectionPool rejects bad configurations clearly", function()
    must_fail("option 'host' must be", ddb.DBConnectionPool, nil, 1, 1)
    must_fail("option 'host' must be", ddb.DBConnectionPool, 5, 1, 1)
    must_fail("option 'port' must be", ddb.DBConnectionPool, "127.0.0.1", 0, 1)
    must_fail("option 'port' must be", ddb.DBConnectionPool, "127.0.0.1", 70000, 1)
    must_fail("option 'port' must be", ddb.DBConnectionPool, "127.0.0.1", 1.5, 1)
    must_fail("threadNum", ddb.DBConnectionPool, "127.0.0.1", srv.port, 0)
    must_fail("threadNum", ddb.DBConnectionPool, "127.0.0.1", srv.port, 1e9)
    must_fail("threadNum", ddb.DBConnectionPool, "127.0.0.1", srv.port, "8")
    must_fail("option 'userid' must be", ddb.DBConnectionPool, "127.0.0.1", srv.port, 1, 42)
    must_fail("DBConnectionPool: unknown option 'bogus'", ddb.DBConnectionPool,
      { host = "127.0.0.1", port = srv.port, bogus = 1 })
    must_fail("highAvailabilitySites", ddb.DBConnectionPool,
      { host = "127.0.0.1", port = srv.port, highAvailabilitySites = "a:1" })
    must_fail("highAvailabilitySites%[1%]", ddb.DBConnectionPool,
      { host = "127.0.0.1", port = srv.port, highAvailabilitySites = { "nohost" } })
    for _, k in ipairs { "reConnect", "taskTimeout", "queueLimit", "connectTimeout",
                         "reconnectDelay", "tryReconnectNums", "compress", "initialScript" } do
      for _, v in ipairs { "x", {}, -1e300, 1e300, 1 / 0, 0 / 0 } do
        local ok, p = sane(k, ddb.DBConnectionPool,
          { { host = "127.0.0.1", port = srv.port, threadNum = 1, [k] = v } })
        if ok then p:shutDown() end
      end
    end
  end)

  it("pool methods reject wrong types and out-of-range options", function()
    must_fail("must be a string", pool.run, pool, nil)
    must_fail("must be a string", pool.run, pool, 123)
    must_fail("must be a string", pool.run, pool, {})
    must_fail("option 'priority' must be", pool.run, pool, { "1", priority = 9 })
    must_fail("option 'priority' must be", pool.run, pool, { "1", priority = 1.5 })
    must_fail("option 'parallelism' must be", pool.run, pool, { "1", parallelism = 0 })
    must_fail("option 'timeout' must be", pool.run, pool, { "1", timeout = -1 })
    must_fail("option 'timeout' must be", pool.run, pool, { "1", timeout = 0 / 0 })
    must_fail("option 'timeout' must be", pool.run, pool, { "1", timeout = 1e300 })
    must_fail("must be a number in", ddb.DBConnectionPool,
      { host = "127.0.0.1", port = srv.port, taskTimeout = 1e300 })
    local e = must_fail("must be an integer in", ddb.DBConnectionPool,
      { host = "127.0.0.1", port = srv.port, queueLimit = 1e12 })
    assert.matches("^dolphindb: DBConnectionPool: option 'queueLimit'", e)   -- the user's name, no file:line
    must_fail("must be an integer", ddb.DBConnectionPool,
      { host = "127.0.0.1", port = srv.port, queueLimit = 2.5 })
    must_fail("unknown option 'bogus'", pool.run, pool, { "1", bogus = true })
    must_fail("option 'clearMemory' must be a boolean", pool.run, pool, { "1", clearMemory = 1 })
    must_fail("pass everything inside the table", pool.run, pool, { "1" }, 2)
    must_fail("taskId must be", pool.addTask, pool, "1", -1)
    must_fail("taskId must be", pool.addTask, pool, "1", 1.5)
    must_fail("taskId must be", pool.addTask, pool, "1", "7")
    must_fail("taskId must be", pool.addTask, pool, "1", 2 ^ 60)
    must_fail("does not exist", pool.getData, pool, 987654)
    must_fail("does not exist", pool.isFinished, pool, 987654)
    must_fail("called as pool:run", pool.run, nil, "1")
    must_fail("called as pool:run", pool.run, {}, "1")
    must_fail("shutDown must be called", pool.shutDown, 42)
    must_fail("stats must be called", pool.stats, "x")
    -- arguments that cannot become DolphinDB values
    must_fail("dolphindb", pool.run, pool, "add", function() end, 1)
    must_fail("dolphindb", pool.run, pool, "add", coroutine.create(function() end), 1)
    must_fail("dolphindb", pool.run, pool, "add", { 1, "a", {} }, 1)
    -- a script with a NUL byte cannot be framed
    sane("NUL script", pool.run, { pool, "1\0 + 2" })
    -- a server error is a clear error naming the script
    local err = must_fail("Syntax Error", pool.run, pool, "1 +* 2")
    assert.matches("1 +* 2", err, 1, true)
    assert.equal(3, pool:run("1 + 2"))
  end)

  it("future methods check their receiver and arguments", function()
    local f = pool:runTaskAsync("sleep(50); 5")
    must_fail("future:result%(%) called on a", f.result)
    must_fail("future:done%(%) called on a", f.done, 42)
    must_fail("add_done_callback expects a function", f.add_done_callback, f, 5)
    must_fail("timed out", f.result, f, 0.001)
    assert.equal(5, f:result(10))
    assert.is_false(f:cancel())                   -- already done
    assert.is_nil(f:exception())
  end)

  it("calls after shutDown raise 'shut down'; shutDown is idempotent", function()
    local p = ddb.DBConnectionPool("127.0.0.1", srv.port, 1)
    local f = p:runTaskAsync("sleep(5000); 1")
    p:shutDown()
    p:shutDown()
    assert.is_true(p:isShutDown())
    must_fail("shut down", p.run, p, "1")
    must_fail("shut down", p.addTask, p, "1", 1)
    must_fail("shut down", p.runTaskAsync, p, "1")
    must_fail("shut down", p.getSessionId, p)
    must_fail("shut down", p.getConnectionCount, p)
    must_fail("shut down", p.isFinished, p, 1)
    assert.matches("shut down", tostring(p))
    assert.equal("CLOSED", p:stats().state)
    local err = f:exception(5)                    -- the running task was abandoned
    assert.equal("shutdown", err.kind)
    assert.matches("shut down", tostring(err))
  end)

  -- A finalizer runs inside whatever allocation started the collection: one that
  -- waits (pool:run, a future's result, opening and shutting a pool) drives the loop
  -- from there (docs/API.md "Finalizers and pools"). Each call ends in a value or a clear error.
  it("pool calls from inside a __gc, waiting ones too, neither crash nor hang", function()
    local outcomes = {}
    local function make()
      local proxy = newproxy(true)
      getmetatable(proxy).__gc = function()
        outcomes[#outcomes + 1] = { pcall(pool.run, pool, "6 * 7") }
        outcomes[#outcomes + 1] = { pcall(function() return pool:runTaskAsync("1"):result(10) end) }
        local p2ok, p2 = pcall(ddb.DBConnectionPool, "127.0.0.1", srv.port, 1)
        if p2ok then p2ok, p2 = pcall(p2.shutDown, p2) end
        outcomes[#outcomes + 1] = { p2ok, p2 }
        outcomes[#outcomes + 1] = { pcall(pool.runTaskAsync, pool, "6 * 7") }
        outcomes[#outcomes + 1] = { pcall(pool.addTask, pool, "1", 424242) }
        outcomes[#outcomes + 1] = { pcall(pool.isFinished, pool, 424242) }
      end
    end
    make()
    collectgarbage(); collectgarbage()
    assert.equal(6, #outcomes)
    for _, o in ipairs(outcomes) do
      assert(o[1] or (type(text(o[2])) == "string" and #text(o[2]) > 0), "unclear outcome in __gc")
    end
    assert.same({ true, 42 }, outcomes[1])   -- a full collection runs it from the test's
    assert.same({ true, 1 }, outcomes[2])    -- own call: nothing is in the middle of a turn
    assert.is_true(outcomes[3][1])
    assert.equal(7, pool:run("3 + 4"))
    for _ = 1, 500 do
      if pool:isFinished(424242) then break end
      ddb.sleep(0.01)
    end
    assert.equal(1, pool:getData(424242))   -- the task added inside __gc ran
  end)

  it("a pool dropped without shutDown is collected cleanly", function()
    do
      local p = ddb.DBConnectionPool("127.0.0.1", srv.port, 2)
      p:runTaskAsync("sleep(100); 1")
      p:addTask("2", 1)
    end
    collectgarbage(); collectgarbage()
    ddb.sleep(0.3)
    collectgarbage()
    assert.equal(9, pool:run("4 + 5"))
  end)

  it("a coroutine collected while its task runs leaves nothing stuck", function()
    local before = pool:stats()
    do
      local co = coroutine.create(function()
        local f = pool:runTaskAsync("sleep(200); 1")
        coroutine.yield()
        return f:result()
      end)
      assert(coroutine.resume(co))
    end
    do                                        -- a future nobody keeps
      pool:runTaskAsync("sleep(200); 2")
    end
    collectgarbage(); collectgarbage()
    ddb.sleep(0.5)
    collectgarbage()
    local s = pool:stats()
    assert.equal(0, s.running)
    assert.equal(0, s.queued)
    assert.is_true(s.done >= before.done + 2)
    assert.equal(11, pool:run("5 + 6"))
  end)
end)
