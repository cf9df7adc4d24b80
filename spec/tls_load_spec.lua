-- 10 000 tasks over TLS on 8 connections with the server killed (SIGKILL) in the
-- middle and restarted (issue 17): nothing is lost. As in the plain-TCP fault suite
-- (spec/faults_spec.lua, bench/soak.c), every task either succeeds with its own
-- result or, if it was running on a connection when the server died, fails with
-- "connection lost"; queued tasks wait for the reconnect (reConnect) and succeed.
-- The same with the pool's compression on, and with highAvailability between two TLS
-- servers, where a task whose connection broke is re-sent and none may fail.
-- A table of the counts is printed ("pending": tasks queued or running at the kill).

local ddb = require "dolphindb"
local ddbmini = require "support.ddbmini"
local pki_mod = require "support.pki"

local SCALE = (os.getenv("LD_PRELOAD") or ""):find("asan") and 3 or 1
local N, CONNS = 10000, 8

local pki
local rows = {}

local function tls_server(port)
  local args = { "--tls-cert", pki:path("srv.crt"), "--tls-key", pki:path("srv.key") }
  if port then args[#args + 1] = "--port"; args[#args + 1] = tostring(port) end
  return ddbmini.start(args)
end

-- Task i: "i + 1", and every 100th a 2000-row table (so compression has columns).
local function script(i)
  if i % 100 == 0 then return ("table((1..2000) + %d as x, take(`a`b, 2000) as s)"):format(i) end
  return ("%d + 1"):format(i)
end

local function check_value(i, v)
  if i % 100 == 0 then return type(v) == "table" and v.n == 2000 and v.x[2000] == i + 2000 end
  return v == i + 1
end

-- Submits N tasks, calls fault() once half of them ended, and settles all of them.
local function run_case(name, pool, fault)
  local r = { name = name, tasks = N, succeeded = 0, failed = 0, lost = 0, wrong = 0 }
  rows[#rows + 1] = r
  local fs = {}
  local t0 = ddb.now()
  for i = 1, N do fs[i] = pool:runTaskAsync(script(i)) end
  for i = 1, N / 2 do fs[i]:exception(30 * SCALE) end
  r.pending = 0                           -- queued or running when the server dies
  for i = 1, N do if not fs[i]:done() then r.pending = r.pending + 1 end end
  fault()
  for i = 1, N do
    local f = fs[i]
    local ok, err = pcall(f.exception, f, 60 * SCALE)
    if not ok then
      r.lost = r.lost + 1
    elseif err == nil then
      if check_value(i, f:result()) then r.succeeded = r.succeeded + 1 else r.wrong = r.wrong + 1 end
    else
      r.failed = r.failed + 1
      assert.matches("connection lost", tostring(err), 1, true)
    end
  end
  r.seconds = ddb.now() - t0
  assert.is_true(r.pending >= N / 10, "the fault came too late: " .. r.pending .. " pending")
  return r
end

local function pool_opts(port, extra)
  local o = { host = "127.0.0.1", port = port, threadNum = CONNS, enableSSL = true,
              sslCAFile = pki:path("ca.crt"), userid = "admin", password = "123456",
              reConnect = true, reconnectDelay = 0.05, connectTimeout = 3 * SCALE }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

describe("10 000 tasks over TLS with a server kill", function()
  local srv, other

  setup(function() pki = pki_mod.make() end)
  after_each(function()
    for _, s in ipairs { srv, other } do if s then s:stop() end end
    srv, other = nil, nil
  end)
  teardown(function()
    if pki then pki:remove() end
    print()
    print(("%-28s %6s %8s %9s %6s %4s %5s %7s"):format("case", "tasks", "pending", "succeeded",
      "failed", "lost", "wrong", "seconds"))
    for _, r in ipairs(rows) do
      print(("%-28s %6d %8d %9d %6d %4d %5d %7.2f"):format(r.name, r.tasks, r.pending or 0,
        r.succeeded, r.failed, r.lost, r.wrong, r.seconds or 0))
    end
  end)

  local function kill_and_restart()
    local port = srv.port
    srv:kill()
    ddb.sleep(0.3)                        -- the pool sees the server gone
    srv = tls_server(port)
  end

  local function expect_kill_outcome(r)
    assert.are.equal(0, r.lost, "lost tasks")
    assert.are.equal(0, r.wrong, "wrong results")
    assert.are.equal(N, r.succeeded + r.failed)
    -- only the tasks running when the server died: one per connection at most
    assert.is_true(r.failed <= CONNS, r.failed .. " tasks failed")
  end

  it("plain TLS: killed and restarted halfway", function()
    srv = tls_server()
    local pool = ddb.DBConnectionPool(pool_opts(srv.port))
    local r = run_case("TLS, kill+restart", pool, kill_and_restart)
    expect_kill_outcome(r)
    assert.are.equal(2, pool:run("1+1"))
    pool:shutDown()
  end)

  it("TLS with compression: killed and restarted halfway", function()
    srv = tls_server()
    local pool = ddb.DBConnectionPool(pool_opts(srv.port, { compress = true }))
    local r = run_case("TLS+compress, kill+restart", pool, kill_and_restart)
    expect_kill_outcome(r)
    pool:shutDown()
  end)

  it("TLS with highAvailability: one of two servers killed halfway, none fails", function()
    srv, other = tls_server(), tls_server()
    local pool = ddb.DBConnectionPool(pool_opts(srv.port, { highAvailability = true,
      highAvailabilitySites = { "127.0.0.1:" .. srv.port, "127.0.0.1:" .. other.port } }))
    local r = run_case("TLS+HA, one of two killed", pool, function()
      srv:kill()
      srv = nil
    end)
    assert.are.equal(0, r.lost, "lost tasks")
    assert.are.equal(0, r.wrong, "wrong results")
    assert.are.equal(N, r.succeeded, "with HA every task succeeds")
    pool:shutDown()
  end)
end)
