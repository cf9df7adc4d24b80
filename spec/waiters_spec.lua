-- dolphindb.waiters and the scheduler when a __gc finalizer drives the loop: a ticket
-- that completes before its waiter is registered, a slot that carries a new ticket
-- before the old one's waiter was taken, forgotten and stopped tickets; then the same
-- cases end to end, with finalizers that wait on a pool while the program waits too.

local ddb = require "dolphindb"
local core = require "dolphindb.core"
local waiters = require "dolphindb.waiters"
local ddbmini = require "support.ddbmini"

local SLOTS = core.TICKET_SLOTS

local function fresh() return waiters.new() end

-- What the scheduler's next turn would deliver late: { {ticket, waiter}, ... }
local function deliver(W)
  local buf, ws = {}, {}
  local n = W.take_announced(buf, ws, 0)
  local out = {}
  for i = 1, n do out[i] = { buf[i], ws[i] } end
  return out
end

describe("dolphindb.waiters", function()
  it("delivers a ticket that completed before its waiter came, once", function()
    local W = fresh()
    local t = 5 + SLOTS
    assert.is_false(W.completed(t))          -- nobody waits yet: kept as early
    assert.same({ 0, 1 }, { W.count() })
    local co = coroutine.create(function() end)
    W.set(t, co)
    assert.equal(1, W.announced())           -- the scheduler delivers it next turn
    assert.same({ { t, co } }, deliver(W))
    assert.same({}, deliver(W))              -- once
    assert.same({ 0, 0 }, { W.count() })
  end)

  it("keeps the waiter of a ticket whose slot already carries a newer one", function()
    local W = fresh()
    local old, new = 7 + SLOTS, 7 + 2 * SLOTS  -- same slot, two generations
    local a, b = function() end, function() end
    W.set(old, a)
    W.set(new, b)                            -- (a finalizer's ticket, made meanwhile)
    assert.equal(2, (W.count()))
    assert.equal(a, W.completed(old))
    assert.equal(b, W.completed(new))
    assert.same({ 0, 0 }, { W.count() })
  end)

  it("a forgotten ticket's completion goes to nobody and leaves nothing behind", function()
    local W = fresh()
    local t, f = 9 + SLOTS, function() end
    W.set(t, f)
    assert.equal(f, W.take(t))
    assert.is_nil(W.take(t))
    assert.is_false(W.completed(t))
    assert.same({ 0, 0 }, { W.count() })
    W.set(t + SLOTS, true)                   -- nobody will wait (addTask)
    assert.is_false(W.completed(t + SLOTS))
    assert.same({ 0, 0 }, { W.count() })
  end)

  it("a dropped ticket (a stopped timer) frees its slot for the next one", function()
    local W = fresh()
    local t, f, g = 11 + SLOTS, function() end, function() end
    W.set(t, f)
    W.drop(t)
    W.set(t + SLOTS, g)                      -- nothing to move aside
    assert.equal(1, (W.count()))
    assert.equal(g, W.completed(t + SLOTS))
    assert.same({ 0, 0 }, { W.count() })
  end)

  it("a late ticket can be re-registered or forgotten before it is delivered", function()
    local W = fresh()
    local t, f, g = 13 + SLOTS, function() end, function() end
    W.completed(t)
    W.set(t, f)
    W.set(t, g)                              -- (an interrupted wait hands it over)
    assert.equal(1, W.announced())
    assert.equal(g, W.take(t))
    assert.same({ { t, false } }, deliver(W))   -- announced, delivered to nobody
    assert.same({ 0, 0 }, { W.count() })
  end)
end)

describe("a __gc finalizer that waits on a pool", function()
  local srv, pool
  setup(function()
    srv = ddbmini.start()
    pool = ddb.DBConnectionPool("127.0.0.1", srv.port, 4)
  end)
  teardown(function()
    if pool then pool:shutDown() end
    if srv then srv:stop() end
  end)

  -- Garbage whose finalizer runs a task, waits for a future and opens a pool: it runs
  -- inside whatever allocation starts a collection, often between a submit and the
  -- registration of its waiter, or inside the scheduler's own turn.
  local function litter(count)
    local proxy = newproxy(true)
    getmetatable(proxy).__gc = function()
      count.n = count.n + 1
      if pcall(pool.run, pool, "6 * 7") then count.ok = count.ok + 1 end
      pcall(function() return pool:runTaskAsync("1"):result(5) end)
      local ok, p2 = pcall(ddb.DBConnectionPool, "127.0.0.1", srv.port, 1)
      if ok then pcall(p2.shutDown, p2) end
    end
  end

  it("tickets nobody waits for leave nothing behind", function()
    local sched = require "dolphindb.sched"
    for id = 1, 200 do pool:addTask("1 + " .. id, id) end
    pool:addTask{ "2 + 3", 201, timeout = 5 }            -- (the parsing path)
    for id = 1, 201 do
      while not pool:isFinished(id) do ddb.sleep(0.001) end
    end
    assert.equal(5, pool:getData(201))
    for id = 1, 200 do assert.equal(1 + id, pool:getData(id)) end
    ddb.sleep(0.01)
    local st = sched.stats()
    assert.equal(0, st.early)
    assert.equal(0, st.parked)
  end)

  it("loses no completion and never blocks the waiting program", function()
    local count = { n = 0, ok = 0 }
    local pause = collectgarbage("setpause", 50)
    local t0 = ddb.now()
    local ok, err = pcall(function()
      for k = 1, 600 do
        litter(count)
        assert.equal(1 + k, pool:run("1 + " .. k))
        local fs = {}
        for j = 1, 4 do fs[j] = pool:runTaskAsync("2 + " .. j) end
        -- a timeout instead of a hang; before the fix a finalizer that drove the
        -- loop at the wrong moment left this waiting for the timer
        for j = 1, 4 do assert.equal(2 + j, fs[j]:result(5)) end
      end
    end)
    collectgarbage("setpause", pause)
    collectgarbage(); collectgarbage()
    assert(ok, tostring(err))
    assert(count.n > 100, "finalizers ran " .. count.n .. " times")
    assert(count.ok > 0)
    local st = require("dolphindb.sched").stats()
    assert.equal(0, st.early)                -- every early completion was delivered
    assert.equal(0, st.parked)
    assert(ddb.now() - t0 < 60)
  end)
end)
