-- MultithreadedTableWriter over real sockets to ddbmini: seeded random rows through
-- four workers read back exactly, each worker holding whole partitions; batching by
-- size and by throttle; a server error stopping the writer with every row either in
-- the table once or in getUnwrittenData, then written by a second writer; a
-- connection dropped mid-batch with reconnect on (no loss, no duplicate) and off;
-- the server killed while writing (sent + unwritten = inserted);
-- misuse.

local ddb = require "dolphindb"
local partition = require "dolphindb.partition"
local columns = require "dolphindb.columns"
local ddbmini = require "support.ddbmini"
local served = require "support.served"

local SEED = tonumber(os.getenv("WRITERS_SEED") or "") or 20261206

describe("MultithreadedTableWriter", function()
  local server, admin
  local n_db = 0

  setup(function() server, admin = served.start(1, "admin", "123456") end)
  teardown(function() served.stop(server, admin) end)

  local function dfs(scheme, partcol)
    n_db = n_db + 1
    local path = "dfs://mtw" .. n_db
    admin:run(("db = database(\"%s\", %s); t = table(1:0, `id`sym`ts`px, [INT, SYMBOL, TIMESTAMP, DOUBLE]); "
      .. "db.createPartitionedTable(t, \"pt\", `%s); 1"):format(path, scheme, partcol))
    return path
  end

  local function writer(path, opts)
    local o = { host = "127.0.0.1", port = server.port, dbPath = path, tableName = "pt" }
    for k, v in pairs(opts or {}) do o[k] = v end
    return ddb.MultithreadedTableWriter(o)
  end

  local function ids_in(path)
    local ids = admin:run { ("exec id from loadTable('%s', 'pt')"):format(path), view = false }
    local seen = {}
    for i = 1, ids.n do
      assert.is_nil(seen[ids[i]], "id " .. tostring(ids[i]) .. " written twice")
      seen[ids[i]] = true
    end
    return seen, ids.n
  end

  local function row(i)
    return i, "s" .. (i % 13), 1704067200000 + i * 1000, (i % 7 == 0) and ddb.null or i / 4
  end

  it("writes seeded random rows through 4 workers, each holding whole partitions", function()
    math.randomseed(SEED)
    local path = dfs("HASH, [SYMBOL, 16]", "sym")
    local w = writer(path, { batchSize = 500, throttle = 0.05, threadCount = 4, partitionCol = "sym" })
    local rows = {}
    for i = 1, 20000 do
      rows[i] = { i, "k" .. math.random(0, 40), 1704067200000 + math.random(0, 1e9),
                  math.random() < 0.1 and ddb.null or math.random(-1e6, 1e6) / 8 }
    end
    local h = ddb.spawn(function()
      for i = 1, #rows do
        assert(w:insert(unpack(rows[i], 1, 4)))
        if i % 1000 == 0 then ddb.sleep(0) end        -- the workers send meanwhile
      end
    end)
    h:result(30)
    w:waitForThreadCompletion()
    local s = w:getStatus()
    assert.are.same({ 20000, 0, 0, "" }, { s.sentRows, s.unsentRows, s.sendFailedRows, s.errorCode })
    assert.is_true(s.isExiting)
    -- the worker of each row: its partition key mod 4
    local d = partition.domain(5, 16, columns.T.SYMBOL)
    local per = { 0, 0, 0, 0 }
    for i = 1, #rows do
      local k = d.key(rows[i][2])
      per[k % 4 + 1] = per[k % 4 + 1] + 1
    end
    for i = 1, 4 do assert.are.equal(per[i], s.threadStatus[i].sentRows, "worker " .. i) end
    local t = admin:run { ("select * from loadTable('%s', 'pt') order by id"):format(path), view = false }
    assert.are.equal(20000, t.n)
    for i = 1, 20000 do
      assert.are.equal(rows[i][1], t.columns[1][i])
      assert.are.equal(rows[i][2], t.columns[2][i])
      assert.are.equal(rows[i][3], t.columns[3][i].value)
      assert.are.equal(rows[i][4], t.columns[4][i])
    end
    local ok, err = w:insert(row(1))
    assert.is_nil(ok)
    assert.are.equal("A7", err.errorCode)
  end)

  it("sends when batchSize rows are queued, or when throttle has passed", function()
    local path = dfs("HASH, [SYMBOL, 4]", "sym")
    local w = writer(path, { batchSize = 100, throttle = 30 })
    local h = ddb.spawn(function()
      for i = 1, 99 do assert(w:insert(row(i))) end
      ddb.sleep(0.2)
      local before = w:getStatus()
      assert(w:insert(row(100)))
      ddb.sleep(0.2)
      return before, w:getStatus()
    end)
    local before, after = h:result(10)
    assert.are.same({ 0, 99 }, { before.sentRows, before.unsentRows })
    assert.are.same({ 100, 0 }, { after.sentRows, after.unsentRows })
    w:waitForThreadCompletion()

    local path2 = dfs("HASH, [SYMBOL, 4]", "sym")
    local w2 = writer(path2, { batchSize = 1000, throttle = 0.3 })
    local h2 = ddb.spawn(function()
      for i = 1, 10 do assert(w2:insert(row(i))) end
      ddb.sleep(0.1)
      local early = w2:getStatus().sentRows
      ddb.sleep(0.5)
      return early, w2:getStatus().sentRows
    end)
    local early, late = h2:result(10)
    assert.are.same({ 0, 10 }, { early, late })
    w2:waitForThreadCompletion()
    local _, n = ids_in(path2)
    assert.are.equal(10, n)
  end)

  it("stops at a server error, keeps every unwritten row, and a new writer writes them", function()
    local path = dfs("RANGE, 0 1000 2000", "id")
    local w = writer(path, { batchSize = 100, throttle = 30, threadCount = 2, partitionCol = "id" })
    local h = ddb.spawn(function()
      for i = 1, 300 do assert(w:insert(row(i))) end
      ddb.sleep(0.2)
      assert(w:insert(row(5000)))                    -- outside the scheme: worker 0, refused
      for i = 301, 399 do assert(w:insert(row(i))) end
      ddb.sleep(0.3)
      for i = 400, 450 do w:insert(row(i)) end        -- refused: the writer stopped
    end)
    h:result(10)
    local s = w:getStatus()
    assert.are.equal("A5", s.errorCode)
    assert.matches("Failed to save the inserted data: .*outside the partition scheme", s.errorInfo)
    assert.is_true(s.isExiting)
    assert.is_true(s.sendFailedRows > 0)
    local ok, err = w:insert(row(1))
    assert.is_nil(ok)
    assert.are.equal("A7", err.errorCode)
    local unwritten = w:getUnwrittenData()
    assert.are.equal(s.sendFailedRows + s.unsentRows, #unwritten)
    w:waitForThreadCompletion()
    -- every row inserted is in the table once or unwritten
    local seen, n = ids_in(path)
    local pending = {}
    for _, r in ipairs(unwritten) do
      assert.is_nil(seen[r[1]], "id " .. r[1] .. " both written and unwritten")
      pending[r[1]] = true
    end
    for i = 1, 399 do assert.is_true(seen[i] or pending[i] or false, "id " .. i .. " lost") end
    assert.is_true(pending[5000])
    assert.are.equal(400, n + #unwritten)
    -- a second writer takes them, with the bad row fixed
    for _, r in ipairs(unwritten) do if r[1] == 5000 then r[1] = 999 end end
    local w2 = writer(path, { batchSize = 50, throttle = 0.01, threadCount = 2, partitionCol = "id" })
    assert.is_true(w2:insertUnwrittenData(unwritten))
    w2:waitForThreadCompletion()
    assert.are.equal("", w2:getStatus().errorCode)
    local _, total = ids_in(path)
    assert.are.equal(400, total)
  end)

  for _, reconnect in ipairs { true, false } do
    it(("survives a connection dropped while a batch is answered (reconnect = %s)"):format(tostring(reconnect)), function()
      local path = dfs("HASH, [SYMBOL, 4]", "sym")
      local w = writer(path, { batchSize = 1000, throttle = 30, reconnect = reconnect })
      local h = ddb.spawn(function()
        for i = 1, 999 do assert(w:insert(row(i))) end
        admin:run("faultDropAfter(10)")             -- the next response is cut after 10 bytes
        assert(w:insert(row(1000)))                  -- a full batch: sent now
        ddb.sleep(1.5)
        for i = 1001, 2000 do w:insert(row(i)) end
        ddb.sleep(0.1)
      end)
      h:result(20)
      w:waitForThreadCompletion()
      local s = w:getStatus()
      local unwritten = w:getUnwrittenData()
      local seen, n = ids_in(path)                    -- fails on a duplicate
      if reconnect then
        assert.are.same({ "", 2000, 2000 }, { s.errorCode, s.sentRows, n })
      else
        assert.are.equal("A5", s.errorCode)
        assert.matches("connection", s.errorInfo)
        -- the cut batch was applied but its answer lost: its rows are reported
        -- unwritten (not confirmed) and are in the table; nothing else is lost
        assert.are.equal(1000, #unwritten)
        for _, r in ipairs(unwritten) do assert.is_true(seen[r[1]] or false) end
        assert.are.equal(1000, n)
      end
    end)
  end

  it("upserts in mode = \"upsert\" with modeOption", function()
    admin:run("share keyedTable(`id, 1:0, `id`v`s, [INT, DOUBLE, SYMBOL]) as mtw_kt; 1")
    local w = ddb.MultithreadedTableWriter { host = "127.0.0.1", port = server.port, tableName = "mtw_kt",
      mode = "UPSERT", modeOption = { "ignoreNull=true" }, batchSize = 10, throttle = 0.01 }
    for i = 1, 20 do assert(w:insert(i % 10, i, "a" .. i)) end       -- keys 0..9, twice
    assert(w:insert(3, nil, "z"))                                    -- v NULL: kept
    w:waitForThreadCompletion()
    assert.are.equal("", w:getStatus().errorCode)
    local t = admin:run { "select * from mtw_kt order by id", view = false }
    assert.are.equal(10, t.n)
    assert.are.equal(13, t.columns[2][4])                             -- id 3: v of i = 13
    assert.are.equal("z", t.columns[3][4])
    assert.are.equal(20, t.columns[2][1])                             -- id 0: i = 20
    local w2 = ddb.MultithreadedTableWriter { host = "127.0.0.1", port = server.port, tableName = "mtw_kt",
      mode = "upsert", batchSize = 1, throttle = 0 }                 -- no modeOption
    assert(w2:insert(3, nil, "y"))
    w2:waitForThreadCompletion()
    t = admin:run { "select * from mtw_kt where id = 3", view = false }
    assert.are.same({ ddb.null, "y" }, { t.columns[2][1], t.columns[3][1] })
    local ok, err = pcall(ddb.MultithreadedTableWriter, { host = "127.0.0.1", port = server.port,
      tableName = "nosuch_mtw" })
    assert.is_false(ok)
    assert.are.equal("server", err.kind)
  end)

  it("writes through a Session or a pool it is given, and leaves them open", function()
    local s = ddb.Session("127.0.0.1", server.port)
    s:run("mine = table(1:0, `id`sym`ts`px, [INT, SYMBOL, TIMESTAMP, DOUBLE])")   -- the session's own table
    local w = ddb.MultithreadedTableWriter { session = s, tableName = "mine", batchSize = 100, throttle = 0.01 }
    for i = 1, 1000 do assert(w:insert(row(i))) end
    w:waitForThreadCompletion()
    assert.are.equal(1000, w:getStatus().sentRows)
    assert.is_false(s:isClosed())
    assert.are.equal(1000, s:run("exec count(*) from mine"))
    assert.are.equal(500500, s:run("exec sum(id) from mine"))
    s:close()
    local path = dfs("HASH, [SYMBOL, 8]", "sym")
    local pool = ddb.DBConnectionPool("127.0.0.1", server.port, 3)
    w = ddb.MultithreadedTableWriter { pool = pool, dbPath = path, tableName = "pt", batchSize = 50,
      throttle = 0.01, threadCount = 3, partitionCol = "sym" }
    for i = 1, 2000 do assert(w:insert(row(i))) end
    w:waitForThreadCompletion()
    local seen, n = ids_in(path)
    assert.are.equal(2000, n)
    for i = 1, 2000 do assert.is_true(seen[i], "id " .. i) end
    assert.are.equal(3, pool:run("3"))
    pool:shutDown()
    local function refused(opts, pattern)
      local o = { tableName = "x" }
      for k, v in pairs(opts) do o[k] = v end
      local ok, err = pcall(ddb.MultithreadedTableWriter, o)
      assert.is_false(ok)
      assert.matches("^dolphindb: MultithreadedTableWriter: " .. pattern, err)
    end
    refused({ session = s }, "the session is closed")
    refused({ pool = pool }, "the pool is shut down")
    refused({ session = admin }, "session must be a Session")
    refused({ pool = s }, "pool must be a DBConnectionPool")
    refused({ session = s, pool = admin }, "give session or pool, not both")
    refused({ pool = admin, host = "127.0.0.1" }, "host cannot be given with pool")
    refused({ pool = admin, reconnect = false }, "reconnect cannot be given with pool")
  end)

  it("sends compressed columns (compressMethods), which the server decodes, NULLs included", function()
    math.randomseed(SEED + 7)
    local path = dfs("HASH, [SYMBOL, 8]", "sym")
    local before = admin:run("compressedColumnsReceived()")
    local w = writer(path, { batchSize = 700, throttle = 0.02, threadCount = 2, partitionCol = "sym",
      compressMethods = { "delta", "LZ4", "DELTA", "lz4" } })
    local rows = {}
    for i = 1, 6000 do
      rows[i] = { i, "k" .. math.random(0, 30), math.random() < 0.1 and ddb.null or 1704067200000 + math.random(0, 1e9),
                  math.random() < 0.1 and ddb.null or math.random(-1e6, 1e6) / 8 }
    end
    local h = ddb.spawn(function()
      for i = 1, #rows do
        assert(w:insert(unpack(rows[i], 1, 4)))
        if i % 500 == 0 then ddb.sleep(0.005) end
      end
    end)
    h:result(30)
    w:waitForThreadCompletion()
    assert.are.equal(6000, w:getStatus().sentRows)
    local t = admin:run { ("select * from loadTable('%s', 'pt') order by id"):format(path), view = false }
    assert.are.equal(6000, t.n)
    for i = 1, 6000 do
      assert.are.equal(rows[i][1], t.columns[1][i])
      assert.are.equal(rows[i][2], t.columns[2][i])
      if rows[i][3] == ddb.null then assert.are.equal(ddb.null, t.columns[3][i])
      else assert.are.equal(rows[i][3], t.columns[3][i].value) end
      assert.are.equal(rows[i][4], t.columns[4][i])
    end
    -- per request: id and ts by delta-of-delta, px by LZ4 (a SYMBOL column is never
    -- compressed); several requests were sent
    local after = admin:run("compressedColumnsReceived()")
    local lz4, delta = tonumber(after[1] - before[1]), tonumber(after[2] - before[2])
    assert.is_true(lz4 >= 2, "LZ4 columns: " .. lz4)
    assert.are.equal(2 * lz4, delta)
    -- checked against the target: one method per column, DELTA where it applies
    local ok, err = pcall(writer, path, { compressMethods = { "LZ4" } })
    assert.matches("compressMethods has 1 entries for the 4 columns of " .. path .. "/pt", err)
    ok, err = pcall(writer, path, { compressMethods = { "LZ4", "DELTA", "LZ4", "LZ4" } })
    assert.matches("compressMethods%[2%]: DELTA is for integral, temporal and DECIMAL32/64 columns, not SYMBOL %('sym'%)", err)
  end)

  -- Each writer gets an insert made for its column count (dolphindb.mtw_insert); the
  -- generic one takes the other cases, and wider tables. Both must answer alike.
  for _, fast in ipairs { true, false } do
    it(("answers inserts alike through the %s insert (A1, A2, NULLs, typed values)"):format(
      fast and "writer's own" or "generic"), function()
      local gen = require "dolphindb.mtw_insert"
      local saved = gen.MAX_COLUMNS
      if not fast then gen.MAX_COLUMNS = 3 end
      local path = dfs("HASH, [SYMBOL, 4]", "sym")
      local ok_make, w = pcall(writer, path, { batchSize = 10, throttle = 0.01, threadCount = 2, partitionCol = "sym" })
      gen.MAX_COLUMNS = saved
      assert(ok_make, w)
      assert.are.equal(fast, rawget(w, "insert") ~= nil)
      local ok, err = w:insert(1, "a", 0)
      assert.is_nil(ok)
      assert.are.same({ "writer", "A2" }, { err.kind, err.errorCode })
      assert.matches("3 values for 4 columns", err.message)
      ok, err = w:insert(1, "a", 0, 1.5, 9)
      assert.are.equal("A2", err.errorCode)
      ok, err = w:insert("x", "a", 0, 1.5)
      assert.are.equal("A1", err.errorCode)
      assert.matches("column 1 %('id'%): cannot convert a string to INT", err.message)
      ok, err = w:insert(2, {}, 0, 1.5)
      assert.are.equal("A1", err.errorCode)
      assert(w:insert(3, "b", nil, 2.5))                                   -- nil: NULL
      assert(w:insert(ddb.int(4), ddb.symbol("c"), ddb.timestamp(1000), ddb.null))   -- typed values
      assert(w:insert(5, nil, 2000, 0.25))                                  -- NULL partition: first worker
      ok, err = pcall(w.insert, {}, 1, "a", 0, 1.5)
      assert.is_false(ok)
      assert.matches("insert must be called as writer:insert", err)
      w:waitForThreadCompletion()
      assert.are.equal(3, w:getStatus().sentRows)
      local t = admin:run { ("select * from loadTable('%s', 'pt') order by id"):format(path), view = false }
      assert.are.same({ 3, 4, 5 }, { t.columns[1][1], t.columns[1][2], t.columns[1][3] })
      assert.are.same({ "b", "c", "" }, { t.columns[2][1], t.columns[2][2], t.columns[2][3] })
      assert.are.equal(ddb.null, t.columns[3][1])
      assert.are.equal(1000, t.columns[3][2].value)
      assert.are.equal(ddb.null, t.columns[4][2])
      assert.is_true(w:getStatus().threadStatus[1].sentRows >= 1)          -- the NULL-keyed row
      ok, err = w:insert(6, "d", 0, 1)
      assert.are.equal("A7", err.errorCode)
    end)
  end

  it("checks its options", function()
    local function refused(opts, pattern)
      local o = { host = "127.0.0.1", port = server.port, tableName = "x" }
      for k, v in pairs(opts) do o[k] = v end
      local ok, err = pcall(ddb.MultithreadedTableWriter, o)
      assert.is_false(ok)
      assert.matches("^dolphindb: MultithreadedTableWriter: " .. pattern, err)
    end
    refused({ bogus = 1 }, "unknown option 'bogus'")
    refused({ batchSize = 0 }, "batchSize must be an integer >= 1")
    refused({ throttle = -1 }, "throttle must be")
    refused({ threadCount = 2 }, "threadCount > 1 needs a partitionCol")
    refused({ mode = "merge" }, "mode must be")
    refused({ compressMethods = "LZ4" }, "compressMethods must be a list")
    refused({ compressMethods = { "LZ4", "zstd" } }, "compressMethods%[2%] must be \"LZ4\" or \"DELTA\", got zstd")
    refused({ modeOption = { "a}b" } }, "modeOption%[1%]")
    local path = dfs("HASH, [SYMBOL, 4]", "sym")
    refused({ dbPath = path, tableName = "pt", threadCount = 2, partitionCol = "px" },
      "'px' is not a partitioning column")
    admin:run("share table(1:0, `a`b, [INT, INT]) as mtw_mem; 1")
    refused({ tableName = "mtw_mem", threadCount = 2, partitionCol = "c" }, "partitionCol 'c' is not a column")
    local w = ddb.MultithreadedTableWriter { host = "127.0.0.1", port = server.port, tableName = "mtw_mem",
      threadCount = 3, partitionCol = "b", throttle = 0.01, batchSize = 10 }
    for i = 1, 30 do assert(w:insert(i, i)) end
    local ok, err = pcall(w.insert, nil, 1, 2)
    assert.matches("^dolphindb: insert must be called as writer:insert", err)
    ok, err = pcall(w.getStatus, {})
    assert.matches("^dolphindb: getStatus must be called as writer:getStatus", err)
    w:waitForThreadCompletion()
    assert.are.equal(30, admin:run("exec count(*) from mtw_mem"))
  end)
end)

describe("MultithreadedTableWriter when the server dies", function()
  it("keeps every row not confirmed as unwritten (reconnect on, tryReconnectNums = 2)", function()
    local srv = ddbmini.start {}
    local admin = ddb.DBConnectionPool("127.0.0.1", srv.port, 1)
    admin:run([[db = database("dfs://die", HASH, [INT, 4]); t = table(1:0, `id`v, [INT, DOUBLE]);
      db.createPartitionedTable(t, "pt", `id); 1]])
    local w = ddb.MultithreadedTableWriter { host = "127.0.0.1", port = srv.port, dbPath = "dfs://die",
      tableName = "pt", batchSize = 100, throttle = 0.05, threadCount = 2, partitionCol = "id",
      tryReconnectNums = 2 }
    local h = ddb.spawn(function()
      for i = 1, 1000 do assert(w:insert(i, i / 2)) end
      ddb.sleep(0.3)
      return admin:run("exec count(*) from loadTable('dfs://die', 'pt')")
    end)
    local before = h:result(10)
    assert.are.equal(1000, before)
    admin:shutDown()
    srv:stop()                                       -- the server is gone, with its data
    h = ddb.spawn(function()
      for i = 1001, 1500 do w:insert(i, i / 2) end
      local t0 = ddb.now()
      while w:getStatus().errorCode == "" and ddb.now() - t0 < 20 do ddb.sleep(0.05) end
    end)
    h:result(30)
    local s = w:getStatus()
    assert.are.equal("A5", s.errorCode)
    local unwritten = w:getUnwrittenData()
    assert.are.equal(1000, s.sentRows)
    assert.are.equal(500, #unwritten)               -- nothing lost: sent + unwritten = inserted
    local ids = {}
    for _, r in ipairs(unwritten) do ids[r[1]] = true end
    for i = 1001, 1500 do assert.is_true(ids[i] or false, "row " .. i) end
    w:waitForThreadCompletion()
  end)
end)
