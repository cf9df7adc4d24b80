-- Hostile servers from Lua (issue 12): tests/hostile_server.c misbehaves on purpose.
--
-- The FIN+RST case runs in a child `luajit` process that does not touch SIGPIPE: a
-- server that answers, then sends FIN and RST while 500 tasks are queued used to
-- kill the whole process with SIGPIPE on the next write. Each of several rounds must
-- give every task exactly one outcome and the process must exit normally.
-- The other cases (VOID bombs, MSG floods, the per-task maxResultBytes, a login
-- error quoting the password) run in this process.

local ddb = require "dolphindb"
local files = require "support.files"

local build = os.getenv("DDB_BUILD_DIR") or "build"
local repo = (debug.getinfo(1, "S").source:match("^@(.*)/spec/hostile_spec%.lua$")) or "."

local q = files.quote
local read_file = files.read

-- Starts hostile_server MODE [ARG]; returns { pid =, port = }.
local function hostile(mode, arg)
  local out = os.tmpname()
  -- the server has its own sanitizer runtime in ASan builds: no LD_PRELOAD for it
  local cmd = "exec env -u LD_PRELOAD " .. q(build .. "/hostile_server") .. " " .. q(mode) ..
    (arg and " " .. q(arg) or "") .. " >" .. q(out) .. " 2>&1 & echo $!"
  local p = io.popen(cmd)
  local pid = tonumber(p:read("*l"))
  p:close()
  for _ = 1, 500 do
    local port = (read_file(out) or ""):match("hostile listening on [%d%.]+:(%d+)")
    if port then
      os.remove(out)
      return { pid = pid, port = tonumber(port) }
    end
    os.execute("sleep 0.01")
  end
  error("hostile_server " .. mode .. " did not start: " .. (read_file(out) or ""))
end

local function stop(srv) os.execute("kill -KILL " .. srv.pid .. " 2>/dev/null") end

-- The child: ROUNDS pools against the FIN+RST server, 500 coroutines each, an
-- application that spends 3 ms per result (so resets land between its reads).
local CHILD = [[
local ddb = require "dolphindb"
local ffi = require "ffi"
ffi.cdef "int usleep(unsigned int);"
local port, rounds = tonumber(arg[1]), tonumber(arg[2])
for r = 1, rounds do
  local pool = ddb.DBConnectionPool { host = "127.0.0.1", port = port, threadNum = 4,
    reConnect = true, tryReconnectNums = 3, reconnectDelay = 0.01 }
  local outcomes, ok, failed = {}, 0, 0
  for i = 1, 500 do
    ddb.spawn(function()
      local good = pcall(pool.run, pool, "1+1")
      outcomes[i] = (outcomes[i] or 0) + 1
      if good then ok = ok + 1 else failed = failed + 1 end
      ffi.C.usleep(3000)
    end)
  end
  ddb.loop()
  pool:shutDown()
  for i = 1, 500 do
    if outcomes[i] ~= 1 then
      print(("round %d: task %d had %s outcomes"):format(r, i, tostring(outcomes[i])))
      os.exit(3)
    end
  end
  print(("round %d: %d ok, %d failed"):format(r, ok, failed))
end
print("survived")
]]

describe("hostile servers (Lua)", function()
  it("FIN + RST with 500 queued tasks does not kill a plain luajit process", function()
    local srv = hostile("rst", 3)
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(CHILD)
    f:close()
    -- a sanitized core.so needs the ASan runtime first; an nginx spec may have taken
    -- LD_PRELOAD out of this process (scripts/busted.sh keeps a copy)
    local preload = os.getenv("DDB_ASAN_PRELOAD")
    local env = ("%sLUA_PATH=%s LUA_CPATH=%s"):format(
      preload and ("LD_PRELOAD=%s "):format(q(preload)) or "",
      q(repo .. "/lua/?.lua;" .. repo .. "/lua/?/init.lua;;"), q(build .. "/lua/?.so;;"))
    local p = io.popen(env .. " luajit " .. q(script) .. " " .. srv.port .. " 5 2>&1; echo \"exit=$?\"")
    local out = p:read("*a")
    p:close()
    os.remove(script)
    stop(srv)
    assert.truthy(out:find("survived", 1, true), out)
    assert.truthy(out:find("exit=0", 1, true), out)
    local rounds = select(2, out:gsub("round %d+: %d+ ok", ""))
    assert.equals(5, rounds, out)
  end)

  -- Runs `script` on a pool of `threads` against hostile_server MODE, stops both;
  -- the task must have failed with `needle` in its error.
  local function assert_fails_on(mode, threads, script, needle)
    local srv = hostile(mode)
    local pool = ddb.DBConnectionPool { host = "127.0.0.1", port = srv.port, threadNum = threads,
      reConnect = true }
    local ok, err = pcall(pool.run, pool, script)
    pool:shutDown()
    stop(srv)
    assert.is_false(ok)
    assert.truthy(tostring(err):find(needle, 1, true), err)
  end

  it("VOID bombs fail the task against the result budget, the pool goes on", function()
    for _, mode in ipairs { "void-vector", "void-table" } do
      assert_fails_on(mode, 2, "bomb", "exceed max_object_bytes")
    end
  end)

  it("maxResultBytes: pool-wide and per task", function()
    local srv = hostile("ok")
    local pool = ddb.DBConnectionPool { host = "127.0.0.1", port = srv.port, threadNum = 1,
      reConnect = true, maxResultBytes = 16 }
    local ok, err = pcall(pool.run, pool, "1+1")          -- a scalar is 100+ bytes
    assert.is_false(ok)
    assert.truthy(tostring(err):find("max_object_bytes (16)", 1, true), err)
    assert.equals(42, pool:run { "1+1", maxResultBytes = 1e6 })
    pool:shutDown()
    local pool2 = ddb.DBConnectionPool { host = "127.0.0.1", port = srv.port, threadNum = 1 }
    assert.equals(42, pool2:run("1+1"))
    ok, err = pcall(pool2.run, pool2, { "1+1", maxResultBytes = 16 })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("max_object_bytes (16)", 1, true), err)
    ok, err = pcall(pool2.run, pool2, { "1+1", maxResultBytes = 0.5 })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("option 'maxResultBytes' must be an integer", 1, true), err)
    pool2:shutDown()
    ok, err = pcall(ddb.DBConnectionPool, { host = "127.0.0.1", port = srv.port,
      maxResultBytes = -1 })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("maxResultBytes", 1, true), err)
    stop(srv)
  end)

  it("an MSG flood fails the task naming the cap", function()
    for _, mode in ipairs { "msg-empty", "msg-tiny" } do
      assert_fails_on(mode, 1, "flood", "MSG")
    end
  end)

  it("a login error quoting the password does not carry it to the client", function()
    local srv = hostile("login-echo")
    local secret = "Quoted-Pa55word"
    local ok, err = pcall(ddb.DBConnectionPool, { host = "127.0.0.1", port = srv.port,
      threadNum = 1, userid = "admin", password = secret, loginMethod = "plain" })
    stop(srv)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("login failed", 1, true), err)
    assert.falsy(tostring(err):find(secret, 1, true), err)
    assert.truthy(tostring(err):find("***", 1, true), err)
  end)
end)
