-- Load balancing over a cluster (docs/API.md, loadBalance): with no site list the
-- pool asks the entry node for the cluster's nodes (getClusterPerf) and spreads its
-- connections over the live data nodes; when a node dies its connections move to
-- the others and the node list is asked again. Three ddbmini processes form the
-- pretend cluster (--cluster lists all three, on fixed ports).

local ddb = require "dolphindb"
local ddbmini = require "support.ddbmini"

local SCALE = (os.getenv("LD_PRELOAD") or ""):find("asan") and 3 or 1

-- Three consecutive ports in 24400..24499 (this session's range), picked at random.
local function base_port()
  local f = io.open("/dev/urandom", "rb")
  local b = f:read(1):byte()
  f:close()
  return 24400 + (b % 32) * 3
end

local function per_port(pool)
  local count, ready = {}, 0
  for _, c in ipairs(pool:stats().connections) do
    if c.state == "READY" or c.state == "BUSY" then
      count[c.port] = (count[c.port] or 0) + 1
      ready = ready + 1
    end
  end
  return count, ready
end

-- Waits until every connection is up and `ok(count)` holds; returns the count.
local function settle(pool, n, ok)
  local deadline, count, ready = ddb.now() + 10 * SCALE
  repeat
    count, ready = per_port(pool)
    if ready == n and ok(count) then return count end
    ddb.sleep(0.02)
  until ddb.now() > deadline
  local t = {}
  for port, k in pairs(count) do t[#t + 1] = port .. "=" .. k end
  error(("connections did not settle: %d up, %s"):format(ready, table.concat(t, " ")))
end

describe("loadBalance over a pretend cluster", function()
  local servers, ports = {}, {}
  before_each(function()
    local p = base_port()
    ports = { p, p + 1, p + 2 }
    local list = ("127.0.0.1:%d:a,127.0.0.1:%d:b,127.0.0.1:%d:c"):format(p, p + 1, p + 2)
    for i = 1, 3 do servers[i] = ddbmini.start { "--port", ports[i], "--cluster", list } end
  end)
  after_each(function()
    for _, s in ipairs(servers) do s:stop() end
    servers = {}
  end)

  it("spreads the connections over the data nodes and moves them off a node that dies", function()
    local lines = {}
    local pool = ddb.DBConnectionPool { host = "127.0.0.1", port = ports[1], threadNum = 6,
      loadBalance = true, reConnect = true, reconnectDelay = 0.05, logLevel = "info",
      logger = function(level, line) lines[#lines + 1] = level .. ": " .. line end }
    local count = settle(pool, 6, function(c)
      return c[ports[1]] == 2 and c[ports[2]] == 2 and c[ports[3]] == 2
    end)
    assert.same({ [ports[1]] = 2, [ports[2]] = 2, [ports[3]] = 2 }, count)
    -- every node runs work: six tasks at once, one per connection
    local fs = {}
    for i = 1, 6 do fs[i] = pool:runTaskAsync("sleep(100); getNodeAlias()") end
    local seen = {}
    for i = 1, 6 do local v = fs[i]:result(5 * SCALE); seen[v] = (seen[v] or 0) + 1 end
    assert.same({ a = 2, b = 2, c = 2 }, seen)
    local log = table.concat(lines, "\n")
    assert.truthy(log:find("info: load balancing over 3 node%(s%)"), log)

    -- the controller notices node b is gone (the survivors stop listing it), b dies
    local admin = {}
    for _, i in ipairs { 1, 3 } do
      admin[i] = ddb.DBConnectionPool { host = "127.0.0.1", port = ports[i], threadNum = 1,
        userid = "admin", password = "123456" }
      admin[i]:run("faultNodeDown(\"b\")")
    end
    servers[2]:kill()
    count = settle(pool, 6, function(c)
      return c[ports[2]] == nil and c[ports[1]] == 3 and c[ports[3]] == 3
    end)
    assert.same({ [ports[1]] = 3, [ports[3]] = 3 }, count)
    for i = 1, 6 do assert.equal(i, pool:run(tostring(i))) end
    log = table.concat(lines, "\n")
    local _, moved = log:gsub("warn: connection %d failed over from 127%.0%.0%.1:" .. ports[2], "")
    assert.equal(2, moved, log)
    -- the next handshake asked again: b is no longer a site
    local deadline = ddb.now() + 5 * SCALE
    while not log:find("load balancing over 2 node%(s%)") and ddb.now() < deadline do
      ddb.sleep(0.02); log = table.concat(lines, "\n")
    end
    assert.truthy(log:find("info: load balancing over 2 node%(s%)"), log)
    for _, p in pairs(admin) do p:shutDown() end
    pool:shutDown()
  end)

  it("moves off a dead node even while the cluster still lists it", function()
    local pool = ddb.DBConnectionPool { host = "127.0.0.1", port = ports[2], threadNum = 3,
      loadBalance = true, reConnect = true, reconnectDelay = 0.05 }
    settle(pool, 3, function(c)
      return c[ports[1]] == 1 and c[ports[2]] == 1 and c[ports[3]] == 1
    end)
    servers[3]:kill()
    local count = settle(pool, 3, function(c) return c[ports[3]] == nil end)
    assert.is_true(count[ports[1]] >= 1 and count[ports[2]] >= 1)
    assert.equal(3, pool:run("1 + 2"))
    pool:shutDown()
  end)

  it("does not hold the other connections back when the first one gives up", function()
    local free = ddbmini.start()
    local port = free.port
    free:stop()
    local pool = ddb.DBConnectionPool { host = "127.0.0.1", port = port, threadNum = 3,
      loadBalance = true, openLazily = true, tryReconnectNums = 1, reconnectDelay = 0.05,
      logger = function() end }
    local t0 = ddb.now()
    local ok, err = pcall(pool.run, pool, { "1", timeout = 5 * SCALE })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("no live connection", 1, true), tostring(err))
    assert.is_true(ddb.now() - t0 < 4 * SCALE)
    pool:shutDown()
  end)

  it("stays on a lone node (a standalone server lists only itself)", function()
    local lone = ddbmini.start()
    local pool = ddb.DBConnectionPool { host = lone.host, port = lone.port, threadNum = 3,
      loadBalance = true }
    local count = settle(pool, 3, function(c) return c[lone.port] == 3 end)
    assert.same({ [lone.port] = 3 }, count)
    pool:shutDown()
    lone:stop()
  end)
end)
