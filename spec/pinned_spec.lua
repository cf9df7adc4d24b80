-- pool:withConnection over real sockets to ddbmini: one of the pool's own
-- connections pinned to a function (dolphindb.pinned over src/pool/ddb_pin.c).
-- Variables persist across the calls on the pin; the pool's other connections keep
-- running its tasks meanwhile and none of them lands on the pin; an error in the
-- function releases the pin; a connection dropped mid-way gives a clear error and is
-- never replaced by another one (no silent re-run, even with highAvailability);
-- misuse raises. The same inside nginx.
local ddb = require "dolphindb"
local ddbmini = require "support.ddbmini"

local function pool_of(srv, n, extra)
  local o = { host = "127.0.0.1", port = srv.port, threadNum = n }
  for k, v in pairs(extra or {}) do o[k] = v end
  return ddb.DBConnectionPool(o)
end

local function tasks_run(pool, i) return pool:stats().connections[i].tasks_run end

describe("pool:withConnection", function()
  local srv
  setup(function() srv = ddbmini.start {} end)
  teardown(function() srv:stop() end)

  it("keeps variables between the calls on the pinned connection and returns fn's results", function()
    local pool = pool_of(srv, 3)
    local a, b = pool:withConnection(function(conn, base)
      conn:run("x = " .. base)
      assert.is_nil(conn:upload { y = 2, v = ddb.vector("INT", { 1, 2, 3 }) })
      conn:run("def plus(q, r) { return q + r }")                 -- a definition persists too
      assert.are.equal(46, conn:run("plus", 4, 42))              -- function-call mode
      assert.are.equal(6, conn:run { "sum(v)", priority = 2 })
      assert.matches("^%d+$", conn:getSessionId())
      return conn:run("x + y"), conn:getConnectionIndex()
    end, 40)
    assert.are.equal(42, a)
    assert.is_true(b >= 1 and b <= 3)
    pool:shutDown()
  end)

  it("drops a call's variables only when it sets clearMemory = true", function()
    local pool = pool_of(srv, 2)
    pool:withConnection(function(conn)
      conn:run { "tmp = 5", clearMemory = true }
      local ok, err = pcall(conn.run, conn, "tmp")
      assert.is_false(ok)
      assert.are.equal("server", err.kind)
      assert.is_false(conn:isLost())        -- a server error does not lose the pin
      conn:run("kept = 6")
      assert.are.equal(6, conn:run("kept"))
    end)
    pool:shutDown()
  end)

  it("is exclusive: the other connections run the pool's tasks meanwhile, none on the pin", function()
    local pool = pool_of(srv, 2)
    pool:withConnection(function(conn)
      local me = conn:getConnectionIndex()
      local other = 3 - me
      local mine, theirs = tasks_run(pool, me), tasks_run(pool, other)
      local fs = {}
      for i = 1, 10 do fs[i] = pool:runTaskAsync("sleep(20); " .. i) end
      conn:run("z = 7")                     -- the pin answers while the pool is busy
      for i = 1, 10 do assert.are.equal(i, fs[i]:result()) end
      assert.are.equal(mine + 1, tasks_run(pool, me))        -- only its own call
      assert.are.equal(theirs + 10, tasks_run(pool, other))
      assert.are.equal(7, conn:run("z"))
    end)
    pool:shutDown()
  end)

  it("makes the pool's tasks wait when it pins the only connection, and gives it back after", function()
    local pool = pool_of(srv, 1)
    local queued
    pool:withConnection(function(conn)
      queued = pool:runTaskAsync("1 + 1")
      conn:run("sleep(50)")
      assert.are.equal(5, conn:run("5"))
      assert.is_false(queued:done())        -- still queued: the connection is pinned
    end)
    assert.are.equal(2, queued:result(5))
    assert.are.equal(3, pool:run("3"))
    pool:shutDown()
  end)

  it("waits for a busy connection before pinning it", function()
    local pool = pool_of(srv, 1)
    local long = pool:runTaskAsync("sleep(100); 9")
    local r = pool:withConnection(function(conn)
      assert.is_true(long:done())           -- the claim ran after it
      return conn:run("8")
    end)
    assert.are.equal(8, r)
    assert.are.equal(9, long:result())
    pool:shutDown()
  end)

  it("releases the pin when fn raises, and passes the error on unchanged", function()
    local pool = pool_of(srv, 1)
    local mine = setmetatable({}, { __tostring = function() return "mine" end })
    local ok, err = pcall(pool.withConnection, pool, function(conn)
      conn:run("w = 1")
      error(mine)
    end)
    assert.is_false(ok)
    assert.are.equal(mine, err)
    ok, err = pcall(pool.withConnection, pool, function(conn) return conn:run("nope_undefined") end)
    assert.is_false(ok)
    assert.are.equal("server", err.kind)     -- a failed call raises its error value
    assert.are.equal(4, pool:run { "4", timeout = 5 })   -- the connection is back
    pool:shutDown()
  end)

  for _, ha in ipairs { false, true } do
    it(("fails clearly when the pinned connection drops, never re-running elsewhere (highAvailability = %s)")
      :format(tostring(ha)), function()
      local pool = pool_of(srv, 2, { userid = "admin", password = "123456", reConnect = true, highAvailability = ha })
      local tbl = "pin_hits_" .. tostring(ha)
      pool:run(("share(table(1:0, `k, [INT]), `%s)"):format(tbl))
      local seen = pool:withConnection(function(conn)
        conn:run("x = 1")
        conn:run("faultDropAfter(0)")       -- the next response breaks its connection
        local ok, err = pcall(conn.run, conn, ("insert into %s values(1); 1"):format(tbl))
        assert.is_false(ok)
        assert.are.equal("connection", err.kind)
        assert.is_true(err.pin_lost)
        assert.matches("the pinned connection %d was lost", err.message)
        assert.matches("not sent again elsewhere", err.message)
        assert.is_true(conn:isLost())
        ok, err = pcall(conn.run, conn, "x")          -- nothing is sent any more
        assert.is_false(ok)
        assert.are.equal("connection", err.kind)
        assert.matches("was lost: its server session and the variables defined in it are gone", err.message)
        ok, err = pcall(conn.upload, conn, { q = 1 })
        assert.is_false(ok)
        assert.are.equal("connection", err.kind)
        assert.are.equal("", conn:getSessionId())
        return "fn ran to its end"
      end)
      assert.are.equal("fn ran to its end", seen)
      assert.are.equal(1, pool:run(("exec count(*) from %s"):format(tbl)))   -- ran once, not resent
      for i = 1, 4 do assert.are.equal(i, pool:run { tostring(i), timeout = 5 }) end
      pool:run(("undef(`%s, SHARED)"):format(tbl))
      pool:shutDown()
    end)
  end

  it("raises on misuse", function()
    local pool = pool_of(srv, 2)
    assert.has_error(function() pool:withConnection(42) end,
      "dolphindb: withConnection: expects a function, got number")
    assert.has_error(function() pool.withConnection(nil, function() end) end)
    local nested_err
    pool:withConnection(function(conn)
      nested_err = select(2, pcall(pool.withConnection, pool, function() end))
      assert.has_error(function() conn.run(nil, "1") end)
      assert.has_error(function() conn:run { "1", fetchSize = 10000 } end)
      assert.has_error(function() conn:upload("x") end)
      assert.has_error(function() conn:upload { ["1bad"] = 1 } end)
      -- two calls at once on one pin
      local h = ddb.spawn(function() return conn:run("sleep(150); 3") end)
      ddb.sleep(0.05)
      local ok, err = pcall(conn.run, conn, "1")
      assert.is_false(ok)
      assert.matches("one call at a time", err)
      assert.are.equal(3, h:result())
    end)
    assert.matches("nested in another withConnection of this pool", nested_err)
    local saved
    pool:withConnection(function(conn) saved = conn end)
    assert.is_true(saved:isClosed())
    assert.has_error(function() saved:run("1") end,
      "dolphindb: run: the pinned connection was released (its withConnection function returned)")
    -- another coroutine may pin another connection at the same time
    local h1 = ddb.spawn(function() return pool:withConnection(function(c) c:run("sleep(50)"); return c:getConnectionIndex() end) end)
    local h2 = ddb.spawn(function() return pool:withConnection(function(c) c:run("sleep(50)"); return c:getConnectionIndex() end) end)
    local i1, i2 = h1:result(), h2:result()
    assert.are_not.equal(i1, i2)
    pool:shutDown()
    assert.has_error(function() pool:withConnection(function() end) end,
      "dolphindb: withConnection: the pool is shut down")
  end)
end)

describe("pool:withConnection, safe face", function()
  local srv
  setup(function() srv = ddbmini.start {} end)
  teardown(function() srv:stop() end)

  it("returns nil, err for failures on the pin, and raises misuse", function()
    local safe = require "dolphindb.safe"
    local pool = assert(safe.DBConnectionPool { host = "127.0.0.1", port = srv.port, threadNum = 2 })
    local r = pool:withConnection(function(conn)
      assert.is_nil(conn:upload { a = 20 })
      local v, err = conn:run("nope_undefined")
      assert.is_nil(v)
      assert.are.equal("server", err.kind)
      return conn:run("a + 22")
    end)
    assert.are.equal(42, r)
    assert.has_error(function() pool:withConnection(7) end)
    pool:shutDown()
  end)
end)

describe("pool:withConnection inside nginx", function()
  local nginx = require "support.nginx"
  local server, ng
  local LOCATIONS = [==[
    location = /pinned { content_by_lua_block {
      local pool = require("handler").pool
      local r = {}
      r.sum, r.index = pool:withConnection(function(conn, base)
        conn:upload { base = base }
        conn:run("more = base + 1")
        local f = pool:runTaskAsync("40 + 2")        -- the other connection takes it
        r.other = f:result()
        return conn:run("more"), conn:getConnectionIndex()
      end, tonumber(ngx.var.arg_base))
      local ok, err = pcall(pool.withConnection, pool, function(conn) conn:run("x = 1"); error("fn failed") end)
      r.err = tostring(err)
      r.after = pool:run("5")
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

  it("pins a connection of the worker's pool in a content handler", function()
    local status, body = ng:get("/pinned?base=41")
    assert.are.equal(200, status, body .. "\n" .. ng:log():sub(-3000))
    local r = require("dkjson").decode(body)
    assert.are.equal(42, r.sum)
    assert.are.equal(42, r.other)
    assert.is_true(r.index == 1 or r.index == 2)
    assert.matches("fn failed", r.err)
    assert.are.equal(5, r.after)
  end)
end)
