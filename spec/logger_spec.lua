-- The event log (docs/API.md "Logging"): the core's connection events reach the
-- logger a pool or ddb.setLogger installed, from Lua and at the chosen level; a
-- raising logger does not break the pool; passwords never appear.

local ddb = require "dolphindb"
local ddbmini = require "support.ddbmini"
local nginx = require "support.nginx"

nginx.isolate_preload()     -- nginx gets the ASan runtime itself; the luajit child below
                            -- takes DDB_ASAN_PRELOAD

local SCALE = (os.getenv("LD_PRELOAD") or ""):find("asan") and 3 or 1

-- A logger that records (level, line) pairs.
local function recorder()
  local r = { lines = {} }
  r.fn = function(level, line) r.lines[#r.lines + 1] = { level = level, line = line } end
  -- the first line matching `pat` (and `level`, if given), or nil
  function r.find(pat, level)
    for _, e in ipairs(r.lines) do
      if e.line:find(pat) and (level == nil or e.level == level) then return e end
    end
  end
  -- waits (driving the loop) until such a line arrived
  function r.wait(pat, level, secs)
    local deadline = ddb.now() + (secs or 5) * SCALE
    while not r.find(pat, level) and ddb.now() < deadline do ddb.sleep(0.02) end
    return r.find(pat, level)
  end
  function r.dump()
    local t = {}
    for _, e in ipairs(r.lines) do t[#t + 1] = e.level .. ": " .. e.line end
    return table.concat(t, "\n")
  end
  return r
end

describe("logger", function()
  local servers = {}
  local function start(args)
    local s = ddbmini.start(args)
    servers[#servers + 1] = s
    return s
  end
  after_each(function()
    ddb.setLogger(nil)
    for _, s in ipairs(servers) do s:stop() end
    servers = {}
  end)

  it("reports open, lost and reconnect when the server is killed and restarted", function()
    local srv = start()
    local r = recorder()
    local pool = ddb.DBConnectionPool { host = srv.host, port = srv.port, threadNum = 2,
      reConnect = true, reconnectDelay = 0.05, logger = r.fn, logLevel = "info" }
    assert.truthy(r.wait("^connection 0 open on 127%.0%.0%.1:" .. srv.port, "info"), r.dump())
    assert.truthy(r.wait("^connection 1 open on", "info"), r.dump())
    local port = srv.port
    srv:kill()
    assert.truthy(r.wait("^connection %d lost: 127%.0%.0%.1:" .. port, "warn"), r.dump())
    assert.truthy(r.wait("attempt 1 failed: .*" .. port .. ".*next attempt in", "warn"), r.dump())
    start { "--port", port }
    assert.truthy(r.wait("^connection 0 reconnected to 127%.0%.0%.1:" .. port, "info"), r.dump())
    assert.equal(3, pool:run("1 + 2"))
    pool:shutDown()
  end)

  it("reports a failover to another site at warn", function()
    local a, b = start(), start()
    local r = recorder()
    local pool = ddb.DBConnectionPool { host = "127.0.0.1", port = a.port, threadNum = 1,
      highAvailability = true, reconnectDelay = 0.05, logger = r.fn, logLevel = "info",
      highAvailabilitySites = { "127.0.0.1:" .. a.port, "127.0.0.1:" .. b.port } }
    assert.truthy(r.wait("^connection 0 open on 127%.0%.0%.1:" .. a.port), r.dump())
    local f = pool:runTaskAsync("sleep(300); 42")
    ddb.sleep(0.1)
    a:kill()
    assert.equal(42, f:result(10 * SCALE))
    local e = r.wait(("^connection 0 failed over from 127%%.0%%.0%%.1:%d to 127%%.0%%.0%%.1:%d")
      :format(a.port, b.port), "warn")
    assert.truthy(e, r.dump())
    assert.truthy(r.find("^task %-?%d+: its connection was lost; sent again", "info"), r.dump())
    pool:shutDown()
  end)

  it("reports a refused login at error, without the password", function()
    local srv = start { "--require-login" }
    local r = recorder()
    ddb.setLogger(r.fn, "debug")
    local ok, err = pcall(ddb.DBConnectionPool, { host = srv.host, port = srv.port,
      threadNum = 1, userid = "admin", password = "Secret-Pw-9" })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("login failed"))
    local e = r.wait("^connection 0: .*login failed.*not retried", "error")
    assert.truthy(e, r.dump())
    assert.truthy(r.find("^cannot open the pool: ", "error"), r.dump())
    for _, l in ipairs(r.lines) do
      assert.is_nil(l.line:find("Secret-Pw-9", 1, true), l.line)
    end
  end)

  it("filters by level, module-wide and per pool", function()
    local srv = start()
    local r = recorder()
    ddb.setLogger(r.fn, "warn")            -- open events are info: not delivered
    local pool = ddb.DBConnectionPool { host = srv.host, port = srv.port, threadNum = 1 }
    assert.equal(2, pool:run("1 + 1"))
    ddb.sleep(0.05)
    assert.is_nil(r.find("open on"), r.dump())
    ddb.setLogger(r.fn, "info")            -- the pool follows the module's level
    local t = pool:runTaskAsync { "sleep(2000)", timeout = 0.1 }
    assert.is_false(pcall(t.result, t, 5 * SCALE))
    assert.truthy(r.wait("^task %-?%d+ timed out after 0%.1 s", "warn"), r.dump())
    assert.truthy(r.wait("^connection 0 reconnected to", "info"), r.dump())
    pool:shutDown()

    -- a pool's own logLevel wins over the module's
    local mine = recorder()
    local p2 = ddb.DBConnectionPool { host = srv.host, port = srv.port, threadNum = 1,
      logger = mine.fn, logLevel = "error" }
    assert.equal(2, p2:run("1 + 1"))
    local f = p2:runTaskAsync { "sleep(2000)", timeout = 0.1 }
    assert.is_false(pcall(f.result, f, 5 * SCALE))
    ddb.sleep(0.2)
    assert.equal(0, #mine.lines, mine.dump())
    p2:shutDown()

    -- "off" and false: nothing
    ddb.setLogger(r.fn, "off")
    local n = #r.lines
    local p3 = ddb.DBConnectionPool { host = srv.host, port = srv.port, threadNum = 1 }
    assert.equal(2, p3:run("1 + 1"))
    ddb.sleep(0.05)
    assert.equal(n, #r.lines)
    p3:shutDown()
  end)

  it("keeps the pool working when the logger raises", function()
    local srv = start()
    local calls = 0
    local pool = ddb.DBConnectionPool { host = srv.host, port = srv.port, threadNum = 2,
      reConnect = true, reconnectDelay = 0.05, logLevel = "debug",
      logger = function() calls = calls + 1; error("logger broke") end }
    assert.equal(3, pool:run("1 + 2"))
    local port = srv.port
    srv:kill()
    start { "--port", port }
    local deadline, ok, v = ddb.now() + 5 * SCALE
    repeat ok, v = pcall(pool.run, pool, "40 + 2"); if not ok then ddb.sleep(0.05) end
    until ok or ddb.now() > deadline
    assert.equal(42, v)
    assert.truthy(calls >= 3, calls)       -- called again after raising
    pool:shutDown()
  end)

  it("refuses a bad logger or level at the call", function()
    assert.has_error(function() ddb.setLogger(42) end,
      "dolphindb: setLogger: the logger must be a function(level, line), nil (the default) or false (none), got number")
    assert.has_error(function() ddb.setLogger(print, "loud") end,
      "dolphindb: setLogger: level must be \"debug\", \"info\", \"warn\", \"error\" or \"off\", got string \"loud\"")
    local ok, err = pcall(ddb.DBConnectionPool, { host = "127.0.0.1", port = 1, logger = "x" })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("option 'logger' must be a function", 1, true), err)
    ok, err = pcall(ddb.DBConnectionPool, { host = "127.0.0.1", port = 1, logLevel = "loud" })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("option 'logLevel' must be \"debug\"", 1, true), err)
  end)

  it("writes warn and above to stderr by default", function()
    local srv = start()
    local port = srv.port
    local code = ([[
      package.path = %q
      package.cpath = %q
      local ddb = require "dolphindb"
      local pool = ddb.DBConnectionPool { host = "127.0.0.1", port = %d, threadNum = 1,
        reConnect = true, reconnectDelay = 0.05, userid = "admin", password = "123456" }
      pool:run("1")
      os.execute("kill -KILL %d")
      ddb.sleep(0.5)
      pool:shutDown()
    ]]):format(package.path, package.cpath, port, srv.pid)
    local script = os.tmpname()
    local f = assert(io.open(script, "w")); f:write(code); f:close()
    local pre = os.getenv("DDB_ASAN_PRELOAD")
    local env = pre and pre ~= "" and ("LD_PRELOAD=" .. pre .. " ") or ""
    local p = io.popen(env .. "luajit " .. script .. " 2>&1 >/dev/null")
    local out = p:read("*a")
    p:close()
    os.remove(script)
    assert.truthy(out:find("%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d dolphindb warn: connection 0 lost: "), out)
    assert.is_nil(out:find("open on", 1, true), out)         -- info: below the default
    assert.is_nil(out:find("123456", 1, true), out)
  end)
end)

describe("logger inside nginx", function()
  local srv, ng
  teardown(function()
    if ng then ng:stop(); ng:remove() end
    if srv then srv:stop() end
  end)

  it("sends the events to the error log through ngx.log at their level", function()
    srv = ddbmini.start()
    local port = srv.port
    ng = nginx.start { workers = 1, ddb_port = port, pool_size = 2, exit_grace = 1,
      log_level = "info", locations = [[
        location = /loginfo { content_by_lua_block {
          require("dolphindb").setLogger(nil, "info"); ngx.say("ok") } }
      ]] }
    assert.equal(200, (ng:get("/loginfo")))
    local status, body = ng:get("/query?script=1%2B2")
    assert.equal(200, status, body)
    srv:kill()
    srv = ddbmini.start { "--port", port }
    local deadline, log = os.time() + 10 * SCALE
    repeat
      os.execute("sleep 0.1")
      log = ng:log()
    until (log:find("reconnected to", 1, true) or os.time() > deadline)
    assert.truthy(log:find("%[warn%][^\n]*dolphindb: connection %d lost: 127%.0%.0%.1:" .. port), log)
    assert.truthy(log:find("%[info%][^\n]*dolphindb: connection %d reconnected to 127%.0%.0%.1:" .. port), log)
    status, body = ng:get("/query?script=1%2B2")
    assert.equal(200, status, body)
  end)
end)
