-- enableSSL (issue 17): TLS from the first byte, verified by default (the official
-- clients verify nothing). ddbmini serves TLS with a throw-away CA and certificates
-- made here with the openssl command; every failure is a clear error, never a hang.

local ddb = require "dolphindb"
local ddbmini = require "support.ddbmini"

local dir

local function sh(cmd)
  local ok = os.execute(("cd %s && (%s) >/dev/null 2>&1"):format(dir, cmd))
  assert(ok == 0 or ok == true, "failed: " .. cmd)
end

-- A CA, a certificate for localhost/127.0.0.1, an expired one, and a second CA.
local function make_pki()
  dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir) == 0 or true)
  local ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
  sh("openssl req -x509 " .. ec .. " -keyout ca.key -out ca.crt -days 2 -subj /CN=tls-spec-ca")
  sh("openssl req -x509 " .. ec .. " -keyout other.key -out other.crt -days 2 -subj /CN=other-ca")
  sh("openssl req " .. ec .. " -keyout srv.key -out srv.csr -subj /CN=localhost")
  sh("printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext")
  sh("openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out srv.crt")
  sh("openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days -1 -extfile san.ext -out old.crt")
end

local function pool_to(port, opts)
  local o = { host = "127.0.0.1", port = port, threadNum = 2, connectTimeout = 3 }
  for k, v in pairs(opts or {}) do o[k] = v end
  return pcall(ddb.DBConnectionPool, o)
end

describe("enableSSL", function()
  local srv, old, plain

  setup(function()
    make_pki()
    srv = ddbmini.start { "--tls-cert", dir .. "/srv.crt", "--tls-key", dir .. "/srv.key" }
    old = ddbmini.start { "--tls-cert", dir .. "/old.crt", "--tls-key", dir .. "/srv.key" }
    plain = ddbmini.start {}
  end)
  teardown(function()
    for _, s in ipairs { srv, old, plain } do if s then s:stop() end end
    if dir then os.execute("rm -rf " .. dir) end
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
