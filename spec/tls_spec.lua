-- enableSSL (issue 17): TLS from the first byte, verified by default (the official
-- clients verify nothing). ddbmini serves TLS with a throw-away CA and certificates
-- made here with the openssl command; every failure is a clear error, never a hang.

local ddb = require "dolphindb"
local ddbmini = require "support.ddbmini"
local pki_mod = require "support.pki"

local dir, pki

local function pool_to(port, opts)
  local o = { host = "127.0.0.1", port = port, threadNum = 2, connectTimeout = 3 }
  for k, v in pairs(opts or {}) do o[k] = v end
  return pcall(ddb.DBConnectionPool, o)
end

describe("enableSSL", function()
  local srv, old, plain

  setup(function()
    pki = pki_mod.make()
    dir = pki.dir
    -- below the ephemeral range (pick_port): the last test restarts srv on its port,
    -- which meanwhile another process's client may have taken if it were ephemeral
    srv = ddbmini.start { "--port", tostring(ddbmini.pick_port()),
                          "--tls-cert", dir .. "/srv.crt", "--tls-key", dir .. "/srv.key" }
    old = ddbmini.start { "--tls-cert", dir .. "/old.crt", "--tls-key", dir .. "/srv.key" }
    plain = ddbmini.start {}
  end)
  teardown(function()
    for _, s in ipairs { srv, old, plain } do if s then s:stop() end end
    if pki then pki:remove() end
  end)

  it("runs tasks over a verified session (CA file, the address as the name)", function()
    local ok, pool = pool_to(srv.port, { enableSSL = true, sslCAFile = dir .. "/ca.crt",
                                         userid = "admin", password = "123456" })
    assert.is_true(ok, tostring(pool))
    assert.are.equal(3, pool:run("1+2"))
    local v = pool:run("1..200000")          -- many TLS records in one result
    assert.are.equal(200000, #v)
    assert.are.equal(200000, v[200000])
    local fs = {}
    for i = 1, 200 do fs[i] = pool:runTaskAsync(("%d * 2"):format(i)) end
    for i = 1, 200 do assert.are.equal(i * 2, fs[i]:result(10)) end
    pool:shutDown()
  end)

  it("sslServerName: verifies another name than the address connected to", function()
    local ok, pool = pool_to(srv.port, { enableSSL = true, sslCAFile = dir .. "/ca.crt",
                                         sslServerName = "localhost" })
    assert.is_true(ok, tostring(pool))
    assert.are.equal(2, pool:run("1+1"))
    pool:shutDown()
    local ok2, err = pool_to(srv.port, { enableSSL = true, sslCAFile = dir .. "/ca.crt",
                                         sslServerName = "db.example.com" })
    assert.is_false(ok2)
    assert.matches("certificate verify failed", tostring(err), 1, true)
  end)

  it("refuses an untrusted CA and an expired certificate, clearly", function()
    local ok, err = pool_to(srv.port, { enableSSL = true, sslCAFile = dir .. "/other.crt" })
    assert.is_false(ok)
    assert.matches("TLS handshake failed: certificate verify failed", tostring(err), 1, true)
    ok, err = pool_to(old.port, { enableSSL = true, sslCAFile = dir .. "/ca.crt" })
    assert.is_false(ok)
    assert.matches("certificate verify failed: certificate has expired", tostring(err), 1, true)
  end)

  it("a lazily opened pool fails its queue at once when no server can be trusted", function()
    local ok, pool = pool_to(srv.port, { enableSSL = true, sslCAFile = dir .. "/other.crt",
                                         openLazily = true, threadNum = 8 })
    assert.is_true(ok, tostring(pool))
    local t0 = ddb.now()
    local rok, err = pcall(pool.run, pool, "1+1")
    assert.is_false(rok)
    assert.matches("no trusted connection (127.0.0.1:" .. srv.port
      .. ": TLS handshake failed: certificate verify failed", tostring(err), 1, true)
    assert.is_true(ddb.now() - t0 < 5, "took " .. (ddb.now() - t0) .. " s")
    pool:shutDown()
  end)

  it("sslVerify = false encrypts without checking (a self-signed server)", function()
    local ok, pool = pool_to(old.port, { enableSSL = true, sslVerify = false })
    assert.is_true(ok, tostring(pool))
    assert.are.equal(2, pool:run("1+1"))
    pool:shutDown()
  end)

  it("a plain client against a TLS server and the reverse: clear errors, no hang", function()
    local t0 = ddb.now()
    local ok, err = pool_to(srv.port, {})
    assert.is_false(ok)
    ok, err = pool_to(plain.port, { enableSSL = true, sslVerify = false })
    assert.is_false(ok)
    assert.matches("TLS handshake failed", tostring(err), 1, true)
    assert.is_true(ddb.now() - t0 < 7.5, "took " .. (ddb.now() - t0) .. " s")
  end)

  it("a lazily opened TLS pool against a plain server: the task timeout says why", function()
    local ok, pool = pool_to(plain.port, { enableSSL = true, sslVerify = false,
                                           openLazily = true })
    assert.is_true(ok, tostring(pool))
    local rok, err = pcall(pool.run, pool, { "1+1", timeout = 1 })
    assert.is_false(rok)
    assert.matches("timed out after 1 s while queued (no connection is up: 127.0.0.1:"
      .. plain.port .. ": TLS handshake failed", tostring(err), 1, true)
    pool:shutDown()
  end)

  it("a missing CA file is named at the open", function()
    local ok, err = pool_to(srv.port, { enableSSL = true, sslCAFile = dir .. "/none.pem" })
    assert.is_false(ok)
    assert.matches("cannot load the CA certificates", tostring(err), 1, true)
  end)

  it("heals after the server restarts, still over TLS", function()
    local ok, pool = pool_to(srv.port, { enableSSL = true, sslCAFile = dir .. "/ca.crt",
                                         reConnect = true })
    assert.is_true(ok, tostring(pool))
    assert.are.equal(1, pool:run("1"))
    local port = srv.port
    srv:kill()
    srv = ddbmini.start { "--port", tostring(port), "--tls-cert", dir .. "/srv.crt",
                          "--tls-key", dir .. "/srv.key" }
    local v
    for _ = 1, 50 do                       -- the first try may meet the dead session
      local rok, rv = pcall(pool.run, pool, "40+2")
      if rok then v = rv break end
      ddb.sleep(0.05)
    end
    assert.are.equal(42, v)
    pool:shutDown()
  end)
end)
