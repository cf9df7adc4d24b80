-- Security (issue 8): the password never shows up in errors, in anything written to
-- stderr/stdout (C or Lua), in tostring(pool), in stats() or in the pool's Lua
-- fields; a refused login is a clear error; a ddbmini started with --require-login
-- refuses every command before a login; scripts go to the server exactly as given and
-- typed arguments travel as function-call arguments, never spliced into a script.
-- ddbmini keeps no request log, so "as given" is checked by semantics: text that
-- would change meaning if concatenated into a script comes back byte for byte.
-- The password checks run for every login method (SCRAM, the encrypted login, plain)
-- and over TLS (issue 17).

local ddb = require "dolphindb"
local ddbmini = require "support.ddbmini"
local pki_mod = require "support.pki"
local ffi = require "ffi"

pcall(ffi.cdef, [[
int dup(int); int dup2(int, int); int close(int); int fflush(void *);
int open(const char *, int, int);
]])

local SECRET = "Pa55-w0rd-sekrit"

-- Runs fn with file descriptors 1 and 2 redirected to a file (C and Lua output both);
-- returns what was written.
local function capture_fds(fn)
  local path = os.tmpname()
  io.stdout:flush(); io.stderr:flush()
  local saved1, saved2 = ffi.C.dup(1), ffi.C.dup(2)
  local fd = ffi.C.open(path, 1 + 64 + 512, 420)        -- O_WRONLY|O_CREAT|O_TRUNC
  assert(fd >= 0, "cannot open " .. path)
  ffi.C.dup2(fd, 1); ffi.C.dup2(fd, 2); ffi.C.close(fd)
  local ok, err = pcall(fn)
  io.stdout:flush(); io.stderr:flush(); ffi.C.fflush(nil)
  ffi.C.dup2(saved1, 1); ffi.C.dup2(saved2, 2)
  ffi.C.close(saved1); ffi.C.close(saved2)
  local f = io.open(path, "rb")
  local text = f:read("*a")
  f:close()
  os.remove(path)
  assert(ok, err)
  return text
end

-- Every string reachable from v (tables walked, cycles skipped).
local function strings_in(v, out, seen)
  out, seen = out or {}, seen or {}
  if type(v) == "string" then
    out[#out + 1] = v
  elseif type(v) == "table" and not seen[v] then
    seen[v] = true
    for k, x in pairs(v) do strings_in(k, out, seen); strings_in(x, out, seen) end
  end
  return out
end

local function assert_no_secret(where, v)
  for _, s in ipairs(strings_in(v)) do
    assert(not s:find(SECRET, 1, true), where .. " reveals the password: " .. s)
  end
end

describe("security", function()
  local srv, tls_srv, pki
  setup(function()
    pki = pki_mod.make()
    srv = ddbmini.start { "--require-login", "--admin", "alice:" .. SECRET }
    tls_srv = ddbmini.start { "--require-login", "--admin", "alice:" .. SECRET,
                              "--tls-cert", pki:path("srv.crt"), "--tls-key", pki:path("srv.key") }
  end)
  teardown(function()
    srv:stop()
    tls_srv:stop()
    pki:remove()
  end)

  local function open(extra)
    local opts = { host = "127.0.0.1", port = srv.port, threadNum = 2, userid = "alice",
                   password = SECRET, reConnect = true, reconnectDelay = 0.05 }
    for k, v in pairs(extra or {}) do opts[k] = v end
    if opts.enableSSL then opts.port, opts.sslCAFile = tls_srv.port, pki:path("ca.crt") end
    return ddb.DBConnectionPool(opts)
  end

  -- Each login path, and each over TLS ("auto" is SCRAM with ddbmini).
  local PATHS = {
    { "auto (SCRAM)", {} },
    { "scram", { loginMethod = "scram" } },
    { "encrypted", { loginMethod = "encrypted" } },
    { "plain", { loginMethod = "plain" } },
    { "TLS + auto", { enableSSL = true } },
    { "TLS + encrypted", { enableSSL = true, loginMethod = "encrypted" } },
    { "TLS + plain", { enableSSL = true, loginMethod = "plain" } },
  }

  for _, path in ipairs(PATHS) do
    local name, how = path[1], path[2]
    local function open_how(extra)
      local o = {}
      for k, v in pairs(how) do o[k] = v end
      for k, v in pairs(extra or {}) do o[k] = v end
      return open(o)
    end

    it(name .. ": the password is not in tostring, stats, fields, errors or output", function()
      local out = capture_fds(function()
        local pool = open_how()
        assert.equal(3, pool:run("1 + 2"))
        assert_no_secret("tostring(pool)", tostring(pool))
        assert_no_secret("stats()", pool:stats())
        assert_no_secret("the pool's fields", pool)
        assert_no_secret("getSessionId()", pool:getSessionId())
        -- failures of every kind
        local _, e1 = pcall(pool.run, pool, "1 +* 2")
        local _, e2 = pcall(pool.run, pool, { "sleep(3000)", timeout = 0.2 })
        pool:run("faultGarbage(5)")
        local _, e3 = pcall(pool.run, pool, "1")
        assert_no_secret("errors", { e1, e2, e3 })
        assert_no_secret("stats() after failures", pool:stats())
        pool:shutDown()
        assert_no_secret("tostring(closed pool)", tostring(pool))
        io.stderr:write("capture-marker\n")
        print(pool, pool:stats())
      end)
      assert.matches("capture-marker", out, 1, true)   -- the capture works
      assert.matches("DBConnectionPool", out, 1, true)
      assert_no_secret("stdout/stderr", out)
    end)

    it(name .. ": a refused login is a clear error that does not echo the password", function()
      local err
      local out = capture_fds(function()
        local ok
        ok, err = pcall(open_how, { password = SECRET .. "-wrong", tryReconnectNums = 1 })
        assert.is_false(ok)
      end)
      assert.matches("login failed", err, 1, true)
      assert.matches("127.0.0.1:" .. (how.enableSSL and tls_srv or srv).port, err, 1, true)
      assert_no_secret("login error", err)
      assert_no_secret("output of a failed login", out)
      local ok, e2 = pcall(open_how, { userid = "nobody", tryReconnectNums = 1 })
      assert.is_false(ok)
      assert.matches("login failed", e2, 1, true)
    end)
  end

  it("a refused login names the reason (plain login)", function()
    local ok, err = pcall(open, { password = SECRET .. "-wrong", tryReconnectNums = 1,
                                  loginMethod = "plain" })
    assert.is_false(ok)
    assert.matches("user name or password is incorrect", err, 1, true)
  end)

  it("the event log (ddb.setLogger) never carries the password", function()
    local lines = {}
    ddb.setLogger(function(level, line) lines[#lines + 1] = level .. ": " .. line end, "debug")
    local out = capture_fds(function()
      -- the server's error quotes the initial script, and so the password
      local ok, err = pcall(open, { initialScript = 'throw "' .. SECRET .. '"', tryReconnectNums = 1 })
      assert.is_false(ok)
      assert_no_secret("initial script error", err)
      ok = pcall(open, { password = SECRET .. "-wrong", tryReconnectNums = 1 })
      assert.is_false(ok)
      local pool = open()
      local _, e = pcall(pool.run, pool, { "sleep(3000)", timeout = 0.2 })
      assert_no_secret("timeout error", e)
      pool:run("faultGarbage(5)")
      pcall(pool.run, pool, "1")
      pool:shutDown()
      ddb.sleep(0.05)
    end)
    ddb.setLogger(nil)
    local all = table.concat(lines, "\n")
    assert.matches("initial script failed: [^\n]*%*%*%*", all)   -- redacted, not dropped
    assert.matches("login failed", all, 1, true)
    assert.matches("protocol error", all, 1, true)
    assert_no_secret("log lines", lines)
    assert_no_secret("stdout/stderr with the logger", out)
  end)

  it("a refused login during a reconnect is a clear task error", function()
    local pool = open { threadNum = 1 }
    local admin = ddb.DBConnectionPool { host = "127.0.0.1", port = srv.port, threadNum = 1,
                                         userid = "admin", password = "123456" }
    admin:run("faultRejectLogin(true)")
    local f = pool:runTaskAsync("sleep(5000); 1")
    ddb.sleep(0.1)
    f:cancel()                                 -- the connection must log in again
    local ok, err = pcall(pool.run, pool, "1")
    admin:run("faultRejectLogin(false)")
    assert.is_false(ok)
    assert.matches("login failed", err)
    assert_no_secret("reconnect login error", err)
    assert_no_secret("stats() after a refused re-login", pool:stats())
    pool:shutDown(); admin:shutDown()
  end)

  it("--require-login refuses every command before a login", function()
    local anon = ddb.DBConnectionPool("127.0.0.1", srv.port, 1)
    local refused = "Login is required"
    for _, call in ipairs {
      { "1 + 1" }, { "objs()" }, { "x = 5; x" }, { "add", 1, 2 }, { "typestr", ddb.int(1) },
      { "faultReset()" }, { "getSessionMemoryStat()" }, { "login(\"admin\", \"123456\"); 1" },
    } do
      local ok, err = pcall(anon.run, anon, unpack(call))
      assert(not ok, "accepted before login: " .. tostring(call[1]))
      assert(err:find(refused, 1, true), "unclear refusal: " .. err)
    end
    assert.is_string(anon:run("version()"))   -- what the real server also allows
    anon:shutDown()
    local pool = open()
    assert.equal(2, pool:run("1 + 1"))
    pool:shutDown()
  end)

  it("scripts are sent as given; typed arguments are call arguments", function()
    local pool = open { threadNum = 1 }
    -- text that would run code if it were spliced into a script comes back unchanged
    for _, s in ipairs {
      'x"; faultStall(-1); "', "1); faultReset(); echo(1", "'; sleep(5000); '",
      "a\nb\r\n\\nc", ("\255\254 %s %%d"):rep(3), "`sym",
    } do
      assert.equal(s, pool:run("echo", s))
    end
    -- a STRING cannot carry a NUL byte on the wire: such a string goes as a BLOB,
    -- whole (never truncated at the zero byte); a STRING vector refuses it
    assert.equal("a\0b", pool:run("echo", "a\0b"))
    assert.equal("BLOB", pool:run("typestr", "a\0b"))
    local ok, err = pcall(function() return pool:run("echo", ddb.vector("STRING", { "a\0b" })) end)
    assert.is_false(ok)
    assert.matches("zero byte", err)
    assert.equal(5, pool:run { "add", 2, 3 })            -- not "add 2 3" as a script
    assert.equal("INT", pool:run("typestr", ddb.int(1)))
    assert.equal("STRING", pool:run("typestr", "1 + 1"))
    -- the script text itself is not rewritten: spacing inside literals survives,
    -- a comment-like sequence in a string stays, newlines separate statements
    assert.equal("a   b // c", pool:run('"a   b // c"'))
    assert.equal(7, pool:run("x = 3\ny = 4\nx + y"))
    -- after all that nothing is stalled
    local t0 = ddb.now()
    assert.equal(1, pool:run("1"))
    assert.is_true(ddb.now() - t0 < 2)
    pool:shutDown()
  end)
end)
