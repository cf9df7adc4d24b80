-- Big results in blocks (fetchSize) and download progress (onProgress), over real
-- sockets to ddbmini: blocks equal the one-shot result, memory stays near one block
-- with a slow consumer, leaving early keeps the pool healthy, errors mid-stream end
-- the iteration with an error instead of a hang, and progress counts the wire bytes.

local ddb = require "dolphindb"
local core = require "dolphindb.core"
local ddbmini = require "support.ddbmini"
local served = require "support.served"

local N = 1000000
local TABLE = ("table(1..%d as id, (1..%d) * 0.5 as v, symbol(string((1..%d) %% 7)) as sym)")
  :format(N, N, N)

local function rss_bytes()
  local f = assert(io.open("/proc/self/statm"))
  local _, resident = f:read("*n", "*n")
  f:close()
  return resident * 4096
end

-- Every block's columns appended, in order, checked against `whole` as they come.
local function check_blocks(it, whole, fetch)
  local row, nblocks = 0, 0
  for block in it do
    nblocks = nblocks + 1
    local n = #block.id
    assert.is_true(n >= 1 and n <= fetch, "block of " .. n .. " rows")
    for i = 1, n do
      local r = row + i
      if block.id[i] ~= whole.id[r] or block.v[i] ~= whole.v[r] or block.sym[i] ~= whole.sym[r] then
        error(("row %d differs: %s %s %s"):format(r, tostring(block.id[i]), tostring(block.v[i]),
          tostring(block.sym[i])))
      end
    end
    row = row + n
  end
  return row, nblocks
end

describe("fetchSize", function()
  local server, pool

  setup(function() server, pool = served.start(2) end)
  teardown(function() served.stop(server, pool, { quiet = true }) end)

  it("returns the one-shot result as blocks of at most fetchSize rows", function()
    local whole = pool:run(TABLE)
    assert.are.equal(N, #whole.id)
    for _, fetch in ipairs { 8192, 30000, 100000 } do
      local rows, nblocks = check_blocks(pool:run { TABLE, fetchSize = fetch }, whole, fetch)
      assert.are.equal(N, rows)
      assert.are.equal(math.ceil(N / fetch), nblocks)
    end
  end)

  it("works from spawned coroutines, two iterators at a time", function()
    local whole = pool:run "table(1..50000 as id, (1..50000) * 0.5 as v, symbol(string((1..50000) % 7)) as sym)"
    local script = "table(1..50000 as id, (1..50000) * 0.5 as v, symbol(string((1..50000) % 7)) as sym)"
    local hs = {}
    for k = 1, 2 do
      hs[k] = ddb.spawn(function()
        local rows = check_blocks(pool:run { script, fetchSize = 8192 }, whole, 8192)
        return rows
      end)
    end
    for k = 1, 2 do assert.are.equal(50000, hs[k]:result(30)) end
  end)

  it("reads no further than the block the consumer is given", function()
    -- 2M rows of INT + DOUBLE: 24 MB on the wire; one-shot would hold all of it. With
    -- a slow consumer the server is far ahead; when block k is handed over the client
    -- has parsed exactly the bytes up to its end (the rest waits in the socket).
    local script = "table(1..2000000 as id, (1..2000000) * 0.25 as v)"
    collectgarbage()
    collectgarbage()
    local base, peak, rows = rss_bytes(), 0, 0
    local it = pool:run { script, fetchSize = 8192 }
    local wire = nil
    for block in it do
      if not wire then
        -- before the first block: "<session id> 1 1\nOK\n" and the 10-byte ANY header
        wire = it:progress() - #ddb.encode(block)
        assert.is_true(wire >= #"1 1 1\nOK\n" + 10 and wire <= #"1 1 1\nOK\n" + 28,
          "header bytes " .. wire)
      end
      wire = wire + #ddb.encode(block)
      assert.are.equal(wire, (it:progress()))
      rows = rows + #block.id
      block = nil
      ddb.sleep(0.001)            -- slow consumer: the server is far ahead of us
      collectgarbage()
      peak = math.max(peak, rss_bytes() - base)
    end
    assert.are.equal(2000000, rows)
    assert.is_true(wire > 24000000, "wire bytes " .. wire)
    -- ASan keeps freed memory in quarantine, so RSS says nothing there; the byte
    -- count above is the check that holds in every build
    if not os.getenv("DDB_ASAN_PRELOAD") then
      -- a block is 96 KiB; allow slack for the allocator and the Lua heap
      assert.is_true(peak < 8 * 1024 * 1024, ("peak growth %.1f MB"):format(peak / 2^20))
    end
  end)

  it("lets the consumer leave early; the pool runs the next task", function()
    local p = ddb.DBConnectionPool("127.0.0.1", server.port, 1)
    local sid = p:getSessionId()[1]
    -- break out of the loop, then close(): the rest is read and dropped
    local it = p:run { TABLE, fetchSize = 8192 }
    local seen = 0
    for block in it do
      seen = seen + 1
      if seen == 3 then break end
    end
    it:close()
    assert.is_nil(it())
    assert.are.equal(2, p:run "1+1")
    assert.are.equal(sid, p:getSessionId()[1])     -- drained: same connection, same session
    -- an iterator dropped without close(): the garbage collector drains it
    do
      local it2 = p:run { TABLE, fetchSize = 8192 }
      assert.is_table(it2())
    end
    collectgarbage()
    collectgarbage()
    assert.are.equal(3, p:run "1+2")
    assert.are.equal(sid, p:getSessionId()[1])
    -- cancel(): the connection is closed and reopened (a new session)
    local it3 = p:run { TABLE, fetchSize = 8192 }
    assert.is_table(it3())
    assert.is_true(it3:cancel())
    assert.is_nil(it3())
    assert.are.equal(4, p:run "2+2")
    assert.are_not.equal(sid, p:getSessionId()[1])
    local s = p:stats()
    assert.are.equal(0, s.running)
    p:shutDown()
  end)

  it("splits the table a function call returns", function()
    local ids = {}
    for i = 1, 20000 do ids[i] = i end
    local rows, n = 0, 0
    for block in pool:run { "echo", ddb.table { { "id", ids } }, fetchSize = 8192 } do
      n = n + 1
      for i = 1, #block.id do assert(block.id[i] == rows + i) end
      rows = rows + #block.id
    end
    assert.are.equal(20000, rows)
    assert.are.equal(3, n)
  end)

  it("keeps nothing pending for an iterator nobody consumes", function()
    local it = pool:run { TABLE, fetchSize = 8192 }
    assert.is_table(it())
    local t0 = ddb.now()
    ddb.loop()                      -- returns: the paused fetch waits for its consumer
    assert.is_true(ddb.now() - t0 < 5)
    assert.are.equal(0, core.pending())
    local rows = 8192
    for block in it do rows = rows + #block.id end
    assert.are.equal(N, rows)
  end)

  it("refuses fetchSize on the core's other submit paths", function()
    local c = pool._c
    for _, how in ipairs { "run", "submit" } do
      local ok, err = pcall(c[how], c, "table(1..10 as id)", nil, nil, { fetchSize = 8192 })
      assert.is_false(ok)
      assert.matches("pool:fetch only", err, 1, true)
    end
    assert.are.equal(0, c:stats().running)
  end)

  it("raises the server's error for a non-table result", function()
    local it = pool:run { "1 2 3", fetchSize = 8192 }
    local ok, err = pcall(it)
    assert.is_false(ok)
    assert.are.equal("server", err.kind)
    assert.matches("fetchSize is only supported when the result is a table", err.message, 1, true)
    assert.is_nil(it())
    assert.are.equal(6, pool:run "3+3")
  end)

  it("returns nil, err from the safe face's iterator", function()
    local safe = require "dolphindb.safe"
    local sp = assert(safe.DBConnectionPool("127.0.0.1", server.port, 1))
    local rows = 0
    for block in sp:run { "table(1..20000 as id)", fetchSize = 8192 } do rows = rows + #block.id end
    assert.are.equal(20000, rows)
    local it = sp:run { "1 2 3", fetchSize = 8192 }
    local b, err = it:next()
    assert.is_nil(b)
    assert.are.equal("server", err.kind)
    assert.is_nil(it:next())
    local ok, msg = pcall(sp.run, sp, { "1", fetchSize = 5 })     -- misuse still raises
    assert.is_false(ok)
    assert.matches("fetchSize", msg, 1, true)
    sp:shutDown()
  end)

  it("passes a zero-row table as one empty block", function()
    local n = 0
    for block in pool:run { "t = table(1..10 as id); select * from t where id > 100", fetchSize = 8192 } do
      n = n + 1
      assert.are.equal(0, #block.id)
    end
    assert.are.equal(1, n)
  end)

  it("refuses a bad fetchSize at the call", function()
    for _, bad in ipairs { 1, 100, 8191, -1, 1.5, "8192", true } do
      local ok, err = pcall(pool.run, pool, { "table(1..10 as id)", fetchSize = bad })
      assert.is_false(ok)
      assert.is_string(err)
      assert.matches("fetchSize", err, 1, true)
    end
    local ok, err = pcall(pool.addTask, pool, { "1", 5, fetchSize = 8192 })
    assert.is_false(ok)
    assert.matches("pool:run options", err, 1, true)
    ok, err = pcall(pool.runTaskAsync, pool, { "1", onProgress = print })
    assert.is_false(ok)
    assert.matches("pool:run options", err, 1, true)
    ok, err = pcall(pool.run, pool, { "1", onProgress = 5 })
    assert.is_false(ok)
    assert.matches("onProgress", err, 1, true)
    assert.are.equal(0, pool:stats().running)
  end)

  describe("when the connection breaks between blocks", function()
    it("raises a connection error from the iterator, without hanging", function()
      local srv = ddbmini.start {}
      local p = ddb.DBConnectionPool("127.0.0.1", srv.port, 1, "admin", "123456")
      p:run "faultDropAfter(400000)"           -- the next response stops after ~4 blocks
      local it = p:run { "table(1..1000000 as id, (1..1000000) * 0.5 as v)", fetchSize = 8192 }
      local t0, blocks = ddb.now(), 0
      local ok, err = pcall(function() for _ in it do blocks = blocks + 1 end end)
      assert.is_false(ok)
      assert.are.equal("connection", err.kind)
      assert.is_true(blocks >= 1 and blocks <= 5, "blocks before the break: " .. blocks)
      assert.is_true(ddb.now() - t0 < 10)
      p:shutDown()
      srv:stop()
    end)

    it("is not resent by highAvailability once blocks were handed over", function()
      local srv = ddbmini.start {}
      local p = ddb.DBConnectionPool { host = "127.0.0.1", port = srv.port, threadNum = 1,
        userid = "admin", password = "123456", highAvailability = true,
        highAvailabilitySites = { "127.0.0.1:" .. srv.port } }
      p:run "faultDropAfter(400000)"
      local it = p:run { "table(1..1000000 as id)", fetchSize = 8192 }
      local next_id = 1
      local ok, err = pcall(function()
        for block in it do
          assert.are.equal(next_id, block.id[1])       -- never a block again
          next_id = next_id + #block.id
        end
      end)
      assert.is_false(ok)
      assert.are.equal("connection", err.kind)
      assert.is_true(next_id > 1)
      assert.are.equal(2, p:run "1+1")                  -- the pool heals
      p:shutDown()
      srv:stop()
    end)

    it("raises when the server is killed mid-way", function()
      local srv = ddbmini.start {}
      local p = ddb.DBConnectionPool("127.0.0.1", srv.port, 1)
      local it = p:run { "table(1..3000000 as id, (1..3000000) * 0.5 as v)", fetchSize = 8192 }
      assert.is_table(it())
      srv:stop()
      local ok, err = pcall(function() for _ in it do end end)
      -- the socket may still hold blocks sent before the kill; after them, EOF
      assert.is_false(ok)
      assert.are.equal("connection", err.kind)
      p:shutDown()
    end)
  end)
end)

describe("onProgress", function()
  local server, pool

  setup(function() server, pool = served.start(1) end)
  teardown(function() served.stop(server, pool, { quiet = true }) end)

  local SCRIPT = "table(1..1000000 as id, (1..1000000) * 0.5 as v)"

  local function recorder()
    local calls = {}
    return calls, function(bytes, rows) calls[#calls + 1] = { bytes, rows, ddb.now() } end
  end

  local function assert_growing(calls)
    for i = 2, #calls do
      assert.is_true(calls[i][1] >= calls[i - 1][1], "bytes never shrink")
    end
  end

  it("reports the bytes of a one-shot download up to its wire size", function()
    local calls, fn = recorder()
    local v = pool:run { SCRIPT, onProgress = fn, progressInterval = 0.001 }
    assert.is_true(#calls >= 1)
    assert_growing(calls)
    local last = calls[#calls]
    local header = pool:getSessionId()[1] .. " 1 1\nOK\n"
    assert.are.equal(#header + #ddb.encode(v), last[1])
    assert.are.equal(1000000, last[2])
    for i = 1, #calls - 1 do
      assert.is_true(calls[i][2] == nil, "rows unknown until the result is complete")
    end
  end)

  it("reports bytes and rows per block, at a bounded rate", function()
    local calls, fn = recorder()
    local wire, rows = 0, 0
    local t0 = ddb.now()
    local it = pool:run { SCRIPT, fetchSize = 8192, onProgress = fn, progressInterval = 0.05 }
    for block in it do
      wire = wire + #ddb.encode(block)
      rows = rows + #block.id
    end
    local elapsed = ddb.now() - t0
    assert_growing(calls)
    local last = calls[#calls]
    local header = pool:getSessionId()[1] .. " 1 1\nOK\n"
    assert.are.equal(#header + 10 + wire, last[1])     -- 10: the ANY-vector header
    assert.are.equal(rows, last[2])
    assert.is_true(#calls <= elapsed / 0.05 + 3, #calls .. " calls in " .. elapsed .. " s")
    for i = 2, #calls do assert.is_true(calls[i][2] >= calls[i - 1][2]) end
  end)

  it("lets an error of onProgress through and lets go of the task", function()
    local ok, err = pcall(pool.run, pool, { "sleep(200); 1+1", progressInterval = 0.01,
      onProgress = function() error("stop here", 0) end })
    assert.is_false(ok)
    assert.are.equal("stop here", err)
    local t0 = ddb.now()              -- the task ends; its outcome is dropped
    while pool._c:stats().held > 0 and ddb.now() - t0 < 5 do ddb.sleep(0.02) end
    assert.are.equal(0, pool._c:stats().held)
    assert.are.equal(2, pool:run "1+1")
  end)

  it("fails a slow consumer's task at its timeout", function()
    local it = pool:run { "table(1..1000000 as id)", fetchSize = 8192, timeout = 1 }
    assert.is_table(it())
    ddb.sleep(1.3)
    local ok, err = pcall(function() for _ in it do end end)
    assert.is_false(ok)
    assert.are.equal("timeout", err.kind)
    assert.are.equal(4, pool:run "2+2")
  end)

  it("takes a progressInterval of 0 as the shortest one", function()
    local calls, fn = recorder()
    assert.are.equal(3, pool:run { "sleep(50); 1+2", onProgress = fn, progressInterval = 0 })
    assert.is_true(#calls >= 2)
    local n = 0
    local h = ddb.spawn(function()
      return pool:run { "sleep(50); 2+2", onProgress = function() n = n + 1 end,
        progressInterval = 0 }
    end)
    assert.are.equal(4, h:result(10))
    assert.is_true(n >= 2)
  end)

  it("reports while a slow reply is on its way", function()
    local calls, fn = recorder()
    assert.are.equal(2, pool:run { "sleep(300); 1+1", onProgress = fn, progressInterval = 0.05 })
    assert.is_true(#calls >= 3, "calls while waiting: " .. #calls)
    assert.are.equal(0, calls[1][1])
  end)
end)
