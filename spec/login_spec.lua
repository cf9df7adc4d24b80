-- loginMethod (issue 17): the pool logs in with SCRAM, the RSA-encrypted login or,
-- only when asked, in plain text. A recording proxy between the pool and ddbmini
-- (tests/recording_proxy.c) keeps every byte the client sends, so the spec can show
-- that the password crosses the wire only with "plain" (and that the check can fail).

local ddb = require "dolphindb"
local ddbmini = require "support.ddbmini"
local files = require "support.files"

local BUILD = os.getenv("DDB_BUILD_DIR") or "build"
local SECRET = "Wire-Pa55word-7"

local function read_all(path) return files.read(path) or "" end

-- Starts the proxy to `port`; returns its port, the record file and a stop function.
local function proxy(port)
  local file = os.tmpname()
  local out = os.tmpname()
  local p = io.popen(("exec env -u LD_PRELOAD %s/recording_proxy 0 127.0.0.1 %d %s > %s 2>&1 & echo $!")
    :format(BUILD, port, file, out))
  local pid = tonumber(p:read("*l"))
  p:close()
  local listen
  for _ = 1, 500 do
    listen = read_all(out):match("listening on 127%.0%.0%.1:(%d+)")
    if listen then break end
    os.execute("sleep 0.01")
  end
  assert(listen, "recording_proxy did not start: " .. read_all(out))
  return tonumber(listen), file, function()
    os.execute("kill -TERM " .. pid .. " 2>/dev/null; sleep 0.1")
    os.remove(out)
  end
end

local function login_through_proxy(srv, method, user)
  local port, file, stop = proxy(srv.port)
  local ok, pool = pcall(ddb.DBConnectionPool, { host = "127.0.0.1", port = port, threadNum = 2,
    userid = user or "bob", password = SECRET, loginMethod = method })
  local v = ok and pool:run("1+2")
  if ok then pool:shutDown() end
  stop()
  local sent = read_all(file)
  os.remove(file)
  return ok, ok and v or pool, sent
end

describe("loginMethod", function()
  local srv

  setup(function()
    srv = ddbmini.start { "--require-login", "--user", "bob:" .. SECRET }
  end)
  teardown(function() if srv then srv:stop() end end)

  for _, method in ipairs { "auto", "scram", "encrypted" } do
    it(method .. ": logs in and the password never crosses the wire", function()
      local ok, v, sent = login_through_proxy(srv, method)
      assert.is_true(ok, tostring(v))
      assert.are.equal(3, v)
      assert.is_true(#sent > 0)
      assert.is_nil(sent:find(SECRET, 1, true), "the password was sent in clear")
    end)
  end

  it("plain: logs in, and the recording shows the password (the check can fail)", function()
    local ok, v, sent = login_through_proxy(srv, "plain")
    assert.is_true(ok, tostring(v))
    assert.are.equal(3, v)
    assert.truthy(sent:find(SECRET, 1, true))
  end)

  it("auto falls back to the encrypted login for a user without SCRAM (admin)", function()
    local pool = ddb.DBConnectionPool { host = "127.0.0.1", port = srv.port, threadNum = 1,
      userid = "admin", password = "123456" }
    assert.are.equal(3, pool:run("1+2"))
    pool:shutDown()
  end)

  it("scram only: a user without SCRAM is refused, clearly", function()
    local ok, err = pcall(ddb.DBConnectionPool, { host = "127.0.0.1", port = srv.port,
      threadNum = 1, userid = "admin", password = "123456", loginMethod = "scram" })
    assert.is_false(ok)
    assert.matches("login failed: SCRAM login refused", tostring(err), 1, true)
    assert.matches("loginMethod scram", tostring(err), 1, true)
  end)

  it("a wrong password fails with every method and is never echoed", function()
    for _, method in ipairs { "auto", "scram", "encrypted", "plain" } do
      local ok, err = pcall(ddb.DBConnectionPool, { host = "127.0.0.1", port = srv.port,
        threadNum = 1, userid = "bob", password = "not-" .. SECRET, loginMethod = method })
      assert.is_false(ok, method)
      assert.matches("login failed", tostring(err), 1, true)
      assert.is_nil(tostring(err):find("not-" .. SECRET, 1, true), method .. ": " .. tostring(err))
    end
  end)

  it("rejects an unknown method at the call", function()
    local ok, err = pcall(ddb.DBConnectionPool, { host = "127.0.0.1", port = srv.port,
      threadNum = 1, userid = "bob", password = SECRET, loginMethod = "telnet" })
    assert.is_false(ok)
    assert.matches("loginMethod", tostring(err), 1, true)
  end)
end)

describe("loginMethod auto against servers that offer less", function()
  it("no SCRAM: the encrypted login", function()
    local srv = ddbmini.start { "--require-login", "--user", "bob:" .. SECRET, "--no-scram" }
    local ok, v, sent = login_through_proxy(srv, "auto")
    srv:stop()
    assert.is_true(ok, tostring(v))
    assert.are.equal(3, v)
    assert.is_nil(sent:find(SECRET, 1, true))
  end)

  it("neither SCRAM nor the encrypted login: refused, never a silent plain login", function()
    local srv = ddbmini.start { "--require-login", "--user", "bob:" .. SECRET, "--no-scram",
                                "--no-encrypted-login" }
    local ok, err, sent = login_through_proxy(srv, "auto")
    local ok2, v2 = login_through_proxy(srv, "plain")        -- chosen: it works
    srv:stop()
    assert.is_false(ok)
    assert.matches("neither SCRAM nor the encrypted login", tostring(err), 1, true)
    assert.matches('loginMethod = "plain"', tostring(err), 1, true)
    assert.is_nil(sent:find(SECRET, 1, true))
    assert.is_true(ok2, tostring(v2))
    assert.are.equal(3, v2)
  end)
end)

-- ddbmini --rsa-key (what spec/support/ddbmini.lua passes every server): the key pair
-- of the encrypted login comes from the file, and a file that is not an RSA key is
-- refused at the start.
describe("ddbmini --rsa-key", function()
  local dir
  setup(function()
    local p = io.popen("mktemp -d /tmp/ddb-rsa-XXXXXX")
    dir = p:read("*l")
    p:close()
    os.execute(("openssl genrsa -out %s/k.pem 2048 >/dev/null 2>&1 && "
      .. "openssl rsa -in %s/k.pem -pubout -out %s/pub.pem >/dev/null 2>&1 && "
      .. "openssl ecparam -name prime256v1 -genkey -noout -out %s/ec.pem >/dev/null 2>&1")
      :format(dir, dir, dir, dir))
  end)
  teardown(function() os.execute("rm -rf " .. dir) end)

  it("serves the file's public key, and the encrypted login works with it", function()
    local srv = ddbmini.start { "--rsa-key", dir .. "/k.pem" }
    local pool = ddb.DBConnectionPool { host = "127.0.0.1", port = srv.port, threadNum = 1,
                                        userid = "admin", password = "123456",
                                        loginMethod = "encrypted" }
    local pem = pool:run("getDynamicPublicKey()")
    local want = read_all(dir .. "/pub.pem")
    assert.are.equal(want:gsub("%s", ""), (pem:gsub("%s", "")))
    assert.are.equal(2, pool:run("1+1"))
    pool:shutDown()
    srv:stop()
  end)

  it("refuses a file that is not an RSA private key", function()
    for _, f in ipairs { "/ec.pem", "/pub.pem", "/none.pem" } do
      local ok, err = pcall(ddbmini.start, { "--rsa-key", dir .. f })
      assert.is_false(ok)
      assert.matches("not a readable PEM RSA private key", tostring(err), 1, true)
    end
  end)
end)
