-- ddb.Session over real sockets to ddbmini: the call forms of pool:run, variables
-- that persist between calls (and clearMemory = true that drops them), upload as a
-- `variable` request, sessions that do not see each other, waiting (coroutines park,
-- the top level blocks), reconnects that replace the server session (and say so),
-- a dead server, a closed session, misuse, pool:withSession, the safe face and the
-- same calls inside nginx.
local ddb = require "dolphindb"
local safe = require "dolphindb.safe"
local ddbmini = require "support.ddbmini"

local ADMIN = { userid = "admin", password = "123456" }

local function session(srv, extra)
  local o = { host = "127.0.0.1", port = srv.port }
  for k, v in pairs(extra or {}) do o[k] = v end
  return ddb.Session(o)
end

describe("Session", function()
  local srv
  setup(function() srv = ddbmini.start {} end)
  teardown(function() srv:stop() end)

  it("runs scripts and function calls, and keeps variables between calls", function()
    local s = ddb.Session("127.0.0.1", srv.port)
    assert.are.equal(3, s:run("1+2"))
    s:run("x = 40")
    assert.are.equal(42, s:run("x + 2"))
    assert.are.equal(7, s:run("add", 3, 4))                       -- function-call mode
    assert.are.equal(80, s:run { "mul", 2, 40 })
    assert.are.equal(6, s:run { "sum(1..3)", priority = 2 })
    s:run("def twice(v) { return v * 2 }")
    assert.are.equal(84, s:run("twice", 42))                      -- a function defined earlier
    assert.are.equal(84, s:run("twice(x + 2)"))
    s:close()
  end)

  it("drops what a call made when it sets clearMemory = true, as pool:run does by default", function()
    local s = session(srv)
    s:run { "tmp = 5", clearMemory = true }
    local ok, err = pcall(s.run, s, "tmp")
    assert.is_false(ok)
    assert.are.equal("server", err.kind)
    assert.matches("Cannot recognize the token tmp", err.server_error)
    s:run("kept = 6")
    assert.are.equal(7, s:run { "kept + 1", clearMemory = true })   -- made earlier: stays
    assert.are.equal(6, s:run("kept"))
    s:close()
  end)

  it("uploads Lua values as session variables in one request", function()
    local s = session(srv)
    local t = ddb.table { { "id", ddb.vector("INT", { 1, 2, 3 }) }, { "v", { 1.5, 2.5, ddb.null } } }
    assert.is_nil(s:upload { n = 42, name = "abc", vec = ddb.vector("LONG", { 5, 6 }), t = t, nothing = ddb.null })
    assert.are.equal(43, s:run("n + 1"))
    assert.are.equal("abcd", s:run("name + `d"))
    assert.are.equal(11, s:run("sum(vec)"))
    assert.are.equal(3, s:run("exec count(*) from t"))
    assert.are.equal(4, s:run("exec sum(v) from t where id < 3"))
    assert.is_true(s:run("isNull(nothing)"))
    -- the values replace earlier ones; an empty table sends nothing
    s:upload { n = 1 }
    assert.are.equal(1, s:run("n"))
    local done = s._pool:stats().done
    assert.is_nil(s:upload {})
    assert.are.equal(done, s._pool:stats().done)
    s:close()
  end)

  it("keeps each session's variables to itself", function()
    local a, b = session(srv), session(srv)
    assert.are_not.equal(a:getSessionId(), b:getSessionId())
    assert.matches("^%d+$", a:getSessionId())
    a:upload { mine = 1 }
    b:upload { mine = 2 }
    assert.are.equal(1, a:run("mine"))
    assert.are.equal(2, b:run("mine"))
    local p = ddb.DBConnectionPool("127.0.0.1", srv.port, 2)
    assert.is_false(pcall(p.run, p, "mine"))
    p:shutDown()
    a:close(); b:close()
  end)

  it("parks coroutines while waiting: two sessions run at once under ddb.spawn", function()
    local a, b = session(srv), session(srv)
    local t0 = ddb.now()
    local ha = ddb.spawn(function() return a:run("sleep(300); 1") end)
    local hb = ddb.spawn(function() b:upload { w = 2 }; return b:run("sleep(300); w") end)
    ddb.wait { ha, hb }
    assert.are.equal(1, ha:result())
    assert.are.equal(2, hb:result())
    assert.is_true(ddb.now() - t0 < 0.55, "the two sleeps overlapped")
    a:close(); b:close()
  end)

  it("logs in with userid and password, and an upload before login fails as the server says", function()
    local locked = ddbmini.start { "--require-login" }
    local s = session(locked, ADMIN)
    s:upload { x = 1 }
    assert.are.equal(1, s:run("x"))
    -- the password is in no field of the session (nor of its pool): the C side has it
    local seen = {}
    local function walk(v)
      if type(v) == "string" then assert(not v:find("123456", 1, true), "a field holds the password") end
      if type(v) ~= "table" or seen[v] then return end
      seen[v] = true
      for k, x in pairs(v) do walk(k); walk(x) end
    end
    walk(s)
    s:close()
    local anon = session(locked)
    local ok, err = pcall(anon.upload, anon, { a = 1, b = 2 })
    assert.is_false(ok)
    assert.are.equal("server", err.kind)
    assert.matches("Login is required", err.message)
    assert.matches("%(upload: a,b%)", err.message)        -- one variable request, names in order
    anon:close()
    locked:stop()
  end)

  for _, rc in ipairs { true, false } do
    it(("says so when a reconnect replaced the server session (reConnect = %s)"):format(tostring(rc)), function()
      local s = session(srv, { userid = "admin", password = "123456", reConnect = rc })
      s:run("x = 1")
      local before = s:getSessionId()
      s:run("faultDropAfter(0)")          -- the next response breaks the connection
      local ok, err = pcall(s.run, s, "1")
      assert.is_false(ok)
      assert.are.equal("connection", err.kind)
      ok, err = pcall(s.run, s, "x")      -- a new connection: a new server session
      assert.is_false(ok)
      assert.are.equal("server", err.kind)
      assert.are.equal(before, err.session_lost)
      assert.are_not.equal(before, s:getSessionId())
      assert.matches("reconnected: server session " .. before .. " was replaced by " .. s:getSessionId(), err.message)
      assert.matches("variables defined in it are gone", err.message)
      ok, err = pcall(s.run, s, "x")      -- said once
      assert.is_false(ok)
      assert.is_nil(err.session_lost)
      assert.are.equal(2, s:run("x = 2; x"))
      s:close()
    end)
  end

  it("fails with an error value when the server is not there or dies", function()
    local gone = ddbmini.start {}
    local port = gone.port
    local s = session(gone)
    s:run("y = 1")
    gone:kill()
    local ok, err = pcall(s.run, s, "y")
    assert.is_false(ok)
    assert.are.equal("connection", err.kind)
    assert.matches("127.0.0.1:" .. port, err.message)
    ok, err = pcall(s.upload, s, { z = 1 })
    assert.is_false(ok)
    assert.are.equal("connection", err.kind)
    s:close()
    ok, err = pcall(ddb.Session, "127.0.0.1", port)
    assert.is_false(ok)
    assert.are.equal("connection", err.kind)
    assert.matches("^dolphindb: cannot open the session", err.message)
  end)

  it("raises when used after close; close is idempotent", function()
    local s = session(srv)
    s:close()
    s:close()
    assert.is_true(s:isClosed())
    assert.matches("closed", tostring(s))
    for _, call in ipairs {
      function() s:run("1") end, function() s:upload { a = 1 } end, function() s:getSessionId() end,
    } do
      local ok, err = pcall(call)
      assert.is_false(ok)
      assert.is_string(err)
      assert.matches("the session is closed", err)
    end
  end)

  it("raises on misuse, naming the call", function()
    local s = session(srv)
    local cases = {
      { function() ddb.Session() end, "Session: option 'host'" },
      { function() ddb.Session("127.0.0.1", "x") end, "Session: option 'port' must be an integer" },
      { function() ddb.Session { host = "127.0.0.1", port = srv.port, threadNum = 2 } end, "exactly one connection" },
      { function() ddb.Session { host = "127.0.0.1", port = srv.port, loadBalance = true } end, "nothing to balance" },
      { function() ddb.Session { host = "127.0.0.1", port = srv.port, bogus = 1 } end, "Session: unknown option 'bogus'" },
      { function() ddb.Session({ host = "127.0.0.1", port = srv.port }, 1) end, "one options table" },
      { function() s:run(5) end, "run: the script %(or function name%) must be a string" },
      { function() s:run { "1", clearMemory = "yes" } end, "clearMemory" },
      { function() s:run("f", function() end) end, "argument 1" },
      { function() s.run(nil, "1") end, "run must be called as session:run" },
      { function() s:upload(5) end, "upload: expects a table" },
      { function() s:upload { ["1x"] = 1 } end, "variable name \"1x\" is not a name" },
      { function() s:upload { [1] = 1 } end, "variable name 1 is not a name" },
      { function() s:upload { f = function() end } end, "upload: argument 1" },
      { function() s.close(5) end, "close must be called as session:close" },
    }
    for i, c in ipairs(cases) do
      local ok, err = pcall(c[1])
      assert.is_false(ok, "case " .. i)
      assert.is_string(err, "case " .. i)
      assert.matches(c[2], err, nil, false, "case " .. i)
      assert.matches("^[^\n]*session_spec.lua:%d+: dolphindb: ", err, nil, false, "case " .. i .. ": " .. err)
    end
    assert.are.equal(1, s:run("1"))           -- still usable
    s:close()
  end)

  it("gives the safe face: nil, err for failures, raises on misuse", function()
    local s = safe.Session("127.0.0.1", srv.port)
    assert.are.equal(3, s:run("1+2"))
    assert.is_nil(s:upload { q = 9 })
    assert.are.equal(9, s:run("q"))
    local v, err = s:run("nope")
    assert.is_nil(v)
    assert.are.equal("server", err.kind)
    assert.has_error(function() s:upload(1) end)
    s:close()
    local gone = ddbmini.start {}
    local port = gone.port
    gone:stop()
    local none, why = safe.Session("127.0.0.1", port)
    assert.is_nil(none)
    assert.are.equal("connection", why.kind)
  end)
end)

describe("pool:withSession", function()
  local srv
  setup(function() srv = ddbmini.start { "--require-login" } end)
  teardown(function() srv:stop() end)

  it("runs several calls on one session with the pool's connection options, then closes it", function()
    local pool = ddb.DBConnectionPool { host = "127.0.0.1", port = srv.port, threadNum = 3,
      userid = "admin", password = "123456" }
    local kept
    local a, b = pool:withSession(function(s, k)
      kept = s
      s:upload { base = k }
      s:run("more = base + 1")
      return s:run("add", 1, s:run("base")), s:run("more + 1")
    end, 10)
    assert.are.equal(11, a)
    assert.are.equal(12, b)
    assert.is_true(kept:isClosed())
    assert.is_false(pcall(pool.run, pool, "base"))      -- not on the pool's connections
    -- an error inside goes on unchanged, and the session is closed all the same
    local ok, err = pcall(pool.withSession, pool, function(s)
      kept = s
      return s:run("undefined_thing")
    end)
    assert.is_false(ok)
    assert.are.equal("server", err.kind)
    assert.is_true(kept:isClosed())
    assert.has_error(function() pool:withSession(5) end, nil)
    local ok2, msg = pcall(pool.withSession, pool, 5)
    assert.is_false(ok2)
    assert.matches("withSession: expects a function", msg)
    assert.are.equal(3, pool:getConnectionCount())
    -- the safe face hands fn the session in its own face
    local sp = safe.DBConnectionPool { host = "127.0.0.1", port = srv.port, threadNum = 1,
      userid = "admin", password = "123456" }
    local v, e = sp:withSession(function(s) return s:run("nope") end)
    assert.is_nil(v)
    assert.are.equal("server", e.kind)
    sp:shutDown()
    pool:shutDown()
    assert.has_error(function() pool:withSession(function() end) end, nil)
  end)
end)

describe("Session inside nginx", function()
  local nginx = require "support.nginx"
  local server, ng
  local LOCATIONS = [==[
    location = /session { content_by_lua_block {
      local ddb = require "dolphindb"
      local s = ddb.Session("127.0.0.1", tonumber(ngx.var.arg_port))
      s:upload { base = tonumber(ngx.var.arg_base) }
      s:run("more = base + 1")
      local r = { sum = s:run("more"), sid = s:getSessionId() }
      local ok, err = pcall(s.run, s, "nope")
      r.kind = err.kind
      local pooled = require("handler").pool:withSession(function(w) w:upload { z = 5 }; return w:run("z * 2") end)
      r.pooled = pooled
      s:close()
      r.closed = select(2, pcall(s.run, s, "1"))
      ngx.say(require("json").encode(r))
    } }
]==]

  setup(function()
    nginx.isolate_preload()
    server = ddbmini.start {}
    ng = nginx.start { workers = 1, ddb_port = server.port, pool_size = 2, locations = LOCATIONS }
  end)

  teardown(function()
    if ng then ng:stop(); ng:remove() end
    if server then server:stop() end
  end)

  it("runs, uploads and keeps variables in a content handler", function()
    local status, body = ng:get("/session?port=" .. server.port .. "&base=41")
    assert.are.equal(200, status, body .. "\n" .. ng:log():sub(-3000))
    local r = require("dkjson").decode(body)
    assert.are.equal(42, r.sum)
    assert.matches("^%d+$", r.sid)
    assert.are.equal("server", r.kind)
    assert.are.equal(10, r.pooled)
    assert.matches("run: the session is closed", r.closed)
  end)
end)
