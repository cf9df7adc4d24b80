-- Streaming subscriptions (ddb.subscribe) over real sockets to ddbmini's stream
-- tables: rows of every column type appended in many batches arrive exactly once, in
-- order, with their offsets and the values a query gives; msgAsTable, batchSize and
-- throttle, filters, several subscriptions on one table, unsubscribe; the publisher
-- dropping its subscribers, the server killed and restarted, a lost leadership:
-- with resub every row exactly once, without it a clear error; handlers that wait
-- and handlers that raise; misuse and refusals.

local ddb = require "dolphindb"
local ddbmini = require "support.ddbmini"
local served = require "support.served"

-- Column types ddbmini keeps in stream tables, with a cell generator (raw values, as
-- ddb.vector takes them).
local cells = require "support.cells"
local GEN = cells.GEN

local same = cells.same

local function rows_equal(expected, got, what)
  for k, v in pairs(expected) do
    if not same(v, got[k]) then
      error(("%s: column %s: expected %s, got %s"):format(what, k, tostring(v), tostring(got[k])), 2)
    end
  end
  for k in pairs(got) do
    if expected[k] == nil then error(("%s: unexpected column %s"):format(what, k), 2) end
  end
end

describe("subscribe", function()
  local server, pool, H

  setup(function()
    H = "127.0.0.1"
    server, pool = served.start(2, "admin", "123456")
  end)
  teardown(function() served.stop(server, pool) end)

  -- a shared stream table id INT, sym SYMBOL, v DOUBLE
  local ntables = 0
  local function stream_table(p)
    ntables = ntables + 1
    local name = "st" .. ntables
    p = p or pool
    p:run(("t = streamTable(1:0, `id`sym`v, [INT, SYMBOL, DOUBLE]); share t as %s"):format(name))
    return name
  end

  -- appends rows first..last (id = i, sym = "s" .. i % 3, v = i / 2)
  local function append(name, first, last, p)
    local ids, syms, vs = {}, {}, {}
    for i = first, last do
      ids[#ids + 1], syms[#syms + 1], vs[#vs + 1] = i, "s" .. i % 3, i / 2
    end
    local t = ddb.table { { "id", ddb.vector("INT", ids) }, { "sym", ddb.vector("SYMBOL", syms) },
      { "v", ddb.vector("DOUBLE", vs) } }
    ;(p or pool):run("tableInsert{" .. name .. "}", t)
  end

  local function sub_opts(name, extra)
    local o = { host = H, port = server.port, tableName = name, actionName = "a", offset = 0 }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end

  -- Reads row messages until `n` rows came; checks ids first..first+n-1 in order, each
  -- offset = id (rows are appended from id 0 at offset 0).
  local function expect_rows(sub, first, n)
    for i = first, first + n - 1 do
      local row, off = sub:next(5)
      assert.is_table(row, "row " .. i .. " did not come")
      assert.are.equal(i, row.id)
      assert.are.equal(i, off)
      assert.are.equal("s" .. i % 3, row.sym)
      assert.are.equal(i / 2, row.v)
    end
  end

  it("delivers rows of every column type exactly once, in order, as a query gives them", function()
    math.randomseed(16)
    local names, types = { "id" }, { "INT" }
    for _, g in ipairs(GEN) do names[#names + 1], types[#types + 1] = "c_" .. g[1]:lower(), g[1] end
    pool:run(("t = streamTable(1:0, `%s, [%s]); share t as every"):format(
      table.concat(names, "`"), table.concat(types, ", ")))
    local sub = ddb.subscribe(sub_opts("every"))
    local total = 0
    for batch = 1, 40 do
      local n = math.random(1, 60)
      local cols = { { "id", ddb.vector("INT", (function()
        local t = {}
        for i = 1, n do t[i] = total + i - 1 end
        return t
      end)()) } }
      for c, g in ipairs(GEN) do
        local list = { n = n }
        for i = 1, n do list[i] = math.random() < 0.1 and ddb.null or g[2]() end
        cols[#cols + 1] = { names[c + 1], ddb.vector(g[1], list) }
      end
      pool:run("tableInsert{every}", ddb.table(cols))
      total = total + n
    end
    local want = pool:run { "select * from every", view = false }
    assert.are.equal(total, want.n)
    for i = 1, total do
      local row, off = sub:next(5)
      assert.is_table(row, "row " .. i)
      assert.are.equal(i - 1, off)
      rows_equal(want:row(i), row, "row " .. i)
    end
    assert.is_nil(sub:next(0.1))
    local st = sub:stats()
    assert.are.equal(total, st.rows)
    assert.are.equal(total - 1, st.lastOffset)
    assert.are.equal(0, st.reconnects)
    sub:unsubscribe()
  end)

  it("batches copy array vectors, decimals, strings and symbols; single-row tuples too", function()
    pool:run("t = streamTable(1:0, `id`a`d`s`sym, [INT, 68, 38, STRING, SYMBOL]); share t as avt")
    local function ins(first, n)
      local ids, avs, ds, ss, syms = {}, {}, {}, {}, {}
      for i = first, first + n - 1 do
        ids[#ids + 1], ss[#ss + 1], syms[#syms + 1] = i, "s" .. i, "y" .. i % 7
        ds[#ds + 1] = tostring(i * 3)
        local cell = {}
        for j = 1, i % 4 do cell[j] = i * 10 + j end
        avs[#avs + 1] = cell
      end
      pool:run("tableInsert{avt}", ddb.table { { "id", ddb.vector("INT", ids) },
        { "a", ddb.arrayvector("INT", avs) }, { "d", ddb.vector("DECIMAL64(0)", ds) },
        { "s", ddb.vector("STRING", ss) }, { "sym", ddb.vector("SYMBOL", syms) } })
    end
    local sub = ddb.subscribe(sub_opts("avt", { batchSize = 40, throttle = 0.05, msgAsTable = true }))
    for k = 0, 9 do ins(k * 7, 7) end
    pool:run("faultStreamRowTuples(true)")
    ins(70, 5)
    pool:run("faultStreamRowTuples(false)")
    local seen = 0
    while seen < 75 do
      local t = sub:next(5)
      assert.is_truthy(t, "rows after " .. seen)
      for r = 1, t.n do
        local i = seen
        assert.are.equal(i, t.id[r])
        assert.are.equal(i % 4, #t.a[r])
        for j = 1, i % 4 do assert.are.equal(i * 10 + j, t.a[r][j]) end
        assert.are.equal(tostring(i * 3), tostring(t.d[r]))
        assert.are.equal("s" .. i, t.s[r])
        assert.are.equal("y" .. i % 7, t.sym[r])
        seen = seen + 1
      end
    end
    assert.are.equal(0, sub:stats().reconnects)
    sub:unsubscribe()
  end)

  it("starts at the offset asked: -1 new rows only, N from row N", function()
    local name = stream_table()
    append(name, 0, 9)
    local new_only = ddb.subscribe(sub_opts(name, { actionName = "new", offset = -1 }))
    local from5 = ddb.subscribe(sub_opts(name, { actionName = "five", offset = 5 }))
    append(name, 10, 12)
    expect_rows(new_only, 10, 3)
    expect_rows(from5, 5, 8)
    assert.is_nil(new_only:next(0.05))
    new_only:unsubscribe()
    from5:unsubscribe()
  end)

  it("msgAsTable gives each message as a table with its last offset", function()
    local name = stream_table()
    local sub = ddb.subscribe(sub_opts(name, { msgAsTable = true }))
    for k = 0, 9 do append(name, k * 7, k * 7 + 6) end
    local seen = 0
    while seen < 70 do
      local t, off = sub:next(5)
      assert.is_truthy(t, "a message after " .. seen .. " rows")
      assert.are.same({ "id", "sym", "v" }, t.colnames)
      for i = 1, t.n do assert.are.equal(seen + i - 1, t.id[i]) end
      seen = seen + t.n
      assert.are.equal(seen - 1, off)
    end
    assert.are.equal(70, seen)
    sub:unsubscribe()
  end)

  it("msgAsTable gives columns as views by default, as Lua arrays with view = false", function()
    local value = require "dolphindb.value"
    local function is_view(v) return type(v) == "cdata" and value._is_view(v) end
    local name = stream_table()
    local by_default = ddb.subscribe(sub_opts(name, { msgAsTable = true }))
    local arrays = ddb.subscribe(sub_opts(name, { msgAsTable = true, view = false, actionName = "b" }))
    append(name, 0, 2)
    local t = assert(by_default:next(5), "a message")
    assert.is_true(is_view(t.id) and is_view(t.v))
    assert.are.same({ 0, 1, 2 }, { t.id[1], t.id[2], t.id[3] })
    local a = assert(arrays:next(5), "a message")
    assert.are.equal("table", type(a.id))
    assert.are.same({ 0, 1, 2 }, { a.id[1], a.id[2], a.id[3] })
    by_default:unsubscribe()
    arrays:unsubscribe()
  end)

  it("batchSize gathers messages; a partial batch comes after throttle", function()
    local name = stream_table()
    local sub = ddb.subscribe(sub_opts(name, { batchSize = 50, throttle = 0.3, msgAsTable = true }))
    for k = 0, 9 do append(name, k * 10, k * 10 + 9) end     -- 10 messages of 10 rows
    local got, sizes = 0, {}
    while got < 100 do
      local t, off = sub:next(5)
      assert.is_truthy(t)
      for i = 1, t.n do assert.are.equal(got + i - 1, t.id[i]) end
      got = got + t.n
      sizes[#sizes + 1] = t.n
      assert.are.equal(got - 1, off)
    end
    for _, n in ipairs(sizes) do assert.is_true(n >= 50, "a full batch has >= 50 rows") end
    append(name, 100, 106)                                    -- 7 rows: a partial batch
    local t0 = ddb.now()
    local t = sub:next(5)
    local waited = ddb.now() - t0
    assert.are.equal(7, t.n)
    assert.is_true(waited >= 0.2, ("the partial batch came after %.3f s, before throttle"):format(waited))
    assert.is_true(waited < 2, ("the partial batch came after %.3f s"):format(waited))
    sub:unsubscribe()
  end)

  it("batchSize without msgAsTable gives lists of rows", function()
    local name = stream_table()
    local sub = ddb.subscribe(sub_opts(name, { batchSize = 5, throttle = 0.05 }))
    append(name, 0, 11)
    local got = 0
    while got < 12 do
      local list, off = sub:next(5)
      assert.is_table(list)
      for i, row in ipairs(list) do assert.are.equal(got + i - 1, row.id) end
      got = got + #list
      assert.are.equal(got - 1, off)
    end
    sub:unsubscribe()
  end)

  it("a reader that does not keep up holds the publisher back (maxQueuedRows), then gets every row", function()
    local name = stream_table()
    local sub = ddb.subscribe(sub_opts(name, { maxQueuedRows = 2000, msgAsTable = true }))
    for k = 0, 59 do append(name, k * 1000, k * 1000 + 999) end    -- 60 000 rows
    ddb.sleep(0.5)                                                  -- nobody reads
    local st = sub:stats()
    assert.is_true(st.pendingRows <= 2000 + 1024, "rows waiting in Lua: " .. st.pendingRows)
    assert.is_true(st.queuedRows <= 2000 + 8192, "rows waiting in C: " .. st.queuedRows)
    assert.is_true(st.rows < 60000, "the socket was paused: " .. st.rows .. " rows read")
    assert.is_true(st.paused)
    local seen = 0
    while seen < 60000 do
      local t = sub:next(5)
      assert.is_truthy(t, "rows after " .. seen)
      for i = 1, t.n do assert.are.equal(seen + i - 1, t.id[i]) end
      seen = seen + t.n
    end
    assert.is_nil(sub:next(0.05))
    sub:unsubscribe()
  end)

  it("filter: only rows whose filter column holds one of the values", function()
    local name = stream_table()
    pool:run(("setStreamTableFilterColumn(%s, `sym)"):format(name))
    local sub = ddb.subscribe(sub_opts(name, { filter = ddb.vector("SYMBOL", { "s1", "s2" }) }))
    for k = 0, 4 do append(name, k * 6, k * 6 + 5) end
    local ids = {}
    while #ids < 20 do
      local row = sub:next(5)
      assert.is_table(row)
      assert.are_not.equal("s0", row.sym)
      ids[#ids + 1] = row.id
    end
    for i = 2, #ids do assert.is_true(ids[i] > ids[i - 1]) end
    assert.is_nil(sub:next(0.1))
    assert.are.equal(29, sub:stats().lastOffset)
    sub:unsubscribe()
  end)

  it("several subscriptions on one table each get every row", function()
    local name = stream_table()
    local subs = {}
    for i = 1, 3 do subs[i] = ddb.subscribe(sub_opts(name, { actionName = "act" .. i })) end
    local topics = ddb.getSubscriptionTopics()
    for i = 1, 3 do
      local found = false
      for _, t in ipairs(topics) do if t:find("/" .. name .. "/act" .. i, 1, true) then found = true end end
      assert.is_true(found, "topic of act" .. i)
    end
    for k = 0, 19 do append(name, k * 5, k * 5 + 4) end
    for i = 1, 3 do expect_rows(subs[i], 0, 100) end
    for i = 1, 3 do subs[i]:unsubscribe() end
  end)

  it("unsubscribe: no message after it returns; ddb.unsubscribe finds it by name", function()
    local name = stream_table()
    local sub = ddb.subscribe(sub_opts(name, { actionName = "u1" }))
    append(name, 0, 99)
    expect_rows(sub, 0, 10)          -- 90 more are waiting on our side
    sub:unsubscribe()
    assert.is_nil(sub:next(0.05))
    for _, t in ipairs(ddb.getSubscriptionTopics()) do
      assert.is_nil(t:find("/" .. name .. "/u1", 1, true))
    end
    -- handler mode: a handler never runs again once unsubscribe returned
    local calls, after = 0, 0
    local unsubscribed = false
    local hsub = ddb.subscribe(sub_opts(name, { actionName = "u2", handler = function(row)
      calls = calls + 1
      if unsubscribed then after = after + 1 end
    end }))
    ddb.sleep(0.05)
    assert.is_true(ddb.unsubscribe(H, server.port, name, "u2"))
    unsubscribed = true
    assert.is_false(ddb.unsubscribe(H, server.port, name, "u2"))
    append(name, 100, 109)
    ddb.sleep(0.1)
    assert.are.equal(0, after)
    assert.is_true(calls <= 100)
    -- the server let go of both: subscribing again under those names works
    local again = ddb.subscribe(sub_opts(name, { actionName = "u1", offset = 105 }))
    expect_rows(again, 105, 5)
    again:unsubscribe()
  end)

  it("a handler runs one message at a time, in order, and may wait (pool:run)", function()
    local name = stream_table()
    local ids, inside, overlap = {}, 0, 0
    local sub = ddb.subscribe(sub_opts(name, { handler = function(row, off)
      inside = inside + 1
      if inside > 1 then overlap = overlap + 1 end
      assert(pool:run("1 + " .. row.id) == row.id + 1)
      ids[#ids + 1] = off
      inside = inside - 1
    end }))
    for k = 0, 9 do append(name, k * 10, k * 10 + 9) end
    local deadline = ddb.now() + 10
    while #ids < 100 and ddb.now() < deadline do ddb.sleep(0.01) end
    assert.are.equal(100, #ids)
    for i = 1, 100 do assert.are.equal(i - 1, ids[i]) end
    assert.are.equal(0, overlap)
    assert.are.equal(100, sub:stats().handled)
    sub:unsubscribe()
  end)

  it("a handler that raises: onError gets the error with its traceback, the rest goes on", function()
    local name = stream_table()
    local ids, errs = {}, {}
    local sub = ddb.subscribe(sub_opts(name, {
      handler = function(row)
        if row.id == 3 then error("bad row 3") end
        ids[#ids + 1] = row.id
      end,
      onError = function(err, msg) errs[#errs + 1] = { err = err, id = msg.id } end,
    }))
    append(name, 0, 5)
    local deadline = ddb.now() + 5
    while #ids < 5 and ddb.now() < deadline do ddb.sleep(0.01) end
    assert.are.same({ 0, 1, 2, 4, 5 }, ids)
    assert.are.equal(1, #errs)
    assert.are.equal(3, errs[1].id)
    assert.is_truthy(tostring(errs[1].err):find("bad row 3", 1, true))
    assert.is_truthy(tostring(errs[1].err):find("stack traceback", 1, true))
    local st = sub:stats()
    assert.are.equal(1, st.handlerErrors)
    assert.is_truthy(tostring(st.lastHandlerError):find("bad row 3", 1, true))
    sub:unsubscribe()
  end)

  it("resub: the publisher drops its subscribers mid-stream, every row once", function()
    local name = stream_table()
    local sub = ddb.subscribe(sub_opts(name, { msgAsTable = true }))
    local next_id, seen = 0, 0
    local function drain(upto)
      while seen < upto do
        local t = sub:next(5)
        assert.is_truthy(t, "rows after " .. seen)
        for i = 1, t.n do
          assert.are.equal(seen, t.id[i], "exactly once, in order")
          seen = seen + 1
        end
      end
    end
    for round = 1, 5 do
      for _ = 1, 20 do
        append(name, next_id, next_id + 49)
        next_id = next_id + 50
      end
      -- cut while rows are still flowing (some may be in flight on the socket)
      assert.is_true(pool:run(("faultDropSubscribers(\"%s\")"):format(name)) >= 0)
      append(name, next_id, next_id + 49)
      next_id = next_id + 50
      drain(next_id - 500)
    end
    drain(next_id)
    assert.is_nil(sub:next(0.1))
    local st = sub:stats()
    assert.is_true(st.reconnects >= 5, "reconnects: " .. st.reconnects)
    assert.are.equal("STREAMING", st.state)
    sub:unsubscribe()
  end)

  it("resub: the server is killed and restarted, the subscription resumes at the next offset", function()
    local srv = ddbmini.start {}
    -- The table is shared only once it holds its rows: a resubscription that came in
    -- between would ask for an offset beyond the end, which means "the next row to
    -- arrive" (row 0 of the restarted node) and not a wait for that offset.
    local function make(upto)
      local s = ddb.Session(H, srv.port, "admin", "123456")
      s:run("t = streamTable(1:0, `id`sym`v, [INT, SYMBOL, DOUBLE]); 1")
      append("t", 0, upto, s)
      s:run("share t as crash")
      s:close()
    end
    make(99)
    local sub = ddb.subscribe { host = H, port = srv.port, tableName = "crash", offset = 0,
      reconnectDelay = 0.05 }
    -- on a failure too: a subscription left dialling would count in later specs' loops
    finally(function() sub:unsubscribe(); srv:stop() end)
    expect_rows(sub, 0, 100)
    for round = 1, 3 do
      local port = srv.port
      srv:kill()
      -- the subscription keeps dialling the port; one of its attempts can connect
      -- to itself (a TCP self-connect on an ephemeral port), holding the port for a
      -- moment: retry the start
      local ok, started
      for _ = 1, 100 do
        ok, started = pcall(ddbmini.start, { "--port", port })
        if ok then break end
        ddb.sleep(0.05)
      end
      assert(ok, started)
      srv = started
      -- the restarted node holds the same rows under the same offsets (as a
      -- persisted stream table would), and more
      make(100 * round + 99)
      expect_rows(sub, 100 * round, 100)
    end
    assert.is_true(sub:stats().reconnects >= 3)
  end)

  it("without resub a broken subscription ends with a clear error, after the rows it had", function()
    local name = stream_table()
    local sub = ddb.subscribe(sub_opts(name, { resub = false, actionName = "nr" }))
    append(name, 0, 9)
    expect_rows(sub, 0, 3)
    ddb.sleep(0.05)
    pool:run(("faultDropSubscribers(\"%s\")"):format(name))
    expect_rows(sub, 3, 7)            -- what was received before the break
    local ok, err = pcall(sub.next, sub, 5)
    assert.is_false(ok)
    assert.are.equal("connection", err.kind)
    assert.is_truthy(tostring(err):find("subscription " .. name .. "/nr", 1, true))
    assert.are.equal(err, sub:error())
    -- a handler's owner sees it the same way, and onError hears of the end
    local ended
    local hs = ddb.subscribe(sub_opts(name, { resub = false, actionName = "nr2", handler = function() end,
      onError = function(err, msg) if msg == nil then ended = err end end }))
    pool:run(("faultDropSubscribers(\"%s\")"):format(name))
    local deadline = ddb.now() + 5
    while not hs:error() and ddb.now() < deadline do ddb.sleep(0.01) end
    assert.are.equal("connection", hs:error().kind)
    while not ended and ddb.now() < deadline do ddb.sleep(0.01) end
    assert.are.equal(hs:error(), ended)
    hs:unsubscribe()
    sub:unsubscribe()
  end)

  it("follows <NotLeader> to the new leader and resumes there", function()
    local b = ddbmini.start {}
    local pb = ddb.DBConnectionPool(H, b.port, 1, "admin", "123456")
    local name = "leader"
    for _, p in ipairs { pool, pb } do
      p:run(("t = streamTable(1:0, `id`sym`v, [INT, SYMBOL, DOUBLE]); share t as %s"):format(name))
    end
    local function both(first, last) append(name, first, last, pool); append(name, first, last, pb) end
    both(0, 49)
    local sub = ddb.subscribe(sub_opts(name))
    expect_rows(sub, 0, 50)
    pool:run(("faultStreamNotLeader(\"%s:%d\")"):format(H, b.port))
    both(50, 99)
    expect_rows(sub, 50, 50)
    local st = sub:stats()
    assert.are.equal(b.port, st.port)
    assert.is_true(st.reconnects >= 1)
    pool:run("faultStreamNotLeader(\"\")")
    sub:unsubscribe()
    pb:shutDown()
    b:stop()
  end)

  it("an HA stream table: when its node dies, resubscribes on a site publishTable named", function()
    local a, b = ddbmini.start {}, ddbmini.start {}
    local pa = ddb.DBConnectionPool(H, a.port, 1, "admin", "123456")
    local pb = ddb.DBConnectionPool(H, b.port, 1, "admin", "123456")
    for _, p in ipairs { pa, pb } do
      p:run("t = streamTable(1:0, `id`sym`v, [INT, SYMBOL, DOUBLE]); share t as hat")
      append("hat", 0, 99, p)
    end
    pa:run(("faultStreamSites(\"%s:%d:nodeA,%s:%d:nodeB\")"):format(H, a.port, H, b.port))
    local sub = ddb.subscribe { host = H, port = a.port, tableName = "hat", offset = 0,
      reconnectDelay = 0.02 }
    expect_rows(sub, 0, 100)
    pa:shutDown()
    a:kill()
    append("hat", 100, 149, pb)       -- the replica holds the same rows, then more
    expect_rows(sub, 100, 50)
    local st = sub:stats()
    assert.are.equal(b.port, st.port)
    assert.is_true(st.reconnects >= 1)
    sub:unsubscribe()
    pb:shutDown()
    b:stop()
  end)

  it("logs in; refusals are clear errors", function()
    local srv = ddbmini.start { "--require-login", "--user", "bob:pw" }
    local p = ddb.DBConnectionPool(H, srv.port, 1, "admin", "123456")
    p:run("t = streamTable(1:0, `id`sym`v, [INT, SYMBOL, DOUBLE]); share t as sec")
    local sub = ddb.subscribe { host = H, port = srv.port, tableName = "sec", offset = 0,
      userName = "bob", password = "pw" }
    append("sec", 0, 4, p)
    expect_rows(sub, 0, 5)
    sub:unsubscribe()
    local ok, err = pcall(ddb.subscribe, { host = H, port = srv.port, tableName = "sec",
      userName = "bob", password = "wrong" })
    assert.is_false(ok)
    assert.is_truthy(tostring(err):find("login failed", 1, true), tostring(err))
    ok, err = pcall(ddb.subscribe, { host = H, port = srv.port, tableName = "sec" })
    assert.is_false(ok)
    assert.is_truthy(tostring(err):lower():find("login", 1, true), tostring(err))
    p:shutDown()
    srv:stop()
    ok, err = pcall(ddb.subscribe, { host = H, port = server.port, tableName = "no_such_table" })
    assert.is_false(ok)
    assert.are.equal("connection", err.kind)
    assert.is_truthy(tostring(err):find("no_such_table", 1, true), tostring(err))
  end)

  it("subscribes over TLS (verified against a CA file); a wrong CA is a clear error", function()
    local dir = os.tmpname()
    os.remove(dir)
    local function sh(cmd)
      local ok = os.execute(("mkdir -p %s && cd %s && (%s) >/dev/null 2>&1"):format(dir, dir, cmd))
      assert(ok == 0 or ok == true, "failed: " .. cmd)
    end
    local ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
    sh("openssl req -x509 " .. ec .. " -keyout ca.key -out ca.crt -days 2 -subj /CN=sub-spec-ca")
    sh("openssl req -x509 " .. ec .. " -keyout other.key -out other.crt -days 2 -subj /CN=other-ca")
    sh("openssl req " .. ec .. " -keyout srv.key -out srv.csr -subj /CN=localhost")
    sh("printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext")
    sh("openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out srv.crt")
    local tls = ddbmini.start { "--tls-cert", dir .. "/srv.crt", "--tls-key", dir .. "/srv.key" }
    local p = ddb.DBConnectionPool { host = H, port = tls.port, threadNum = 1, userid = "admin",
      password = "123456", enableSSL = true, sslCAFile = dir .. "/ca.crt" }
    p:run("t = streamTable(1:0, `id`sym`v, [INT, SYMBOL, DOUBLE]); share t as sec")
    local sub = ddb.subscribe { host = H, port = tls.port, tableName = "sec", offset = 0,
      userName = "admin", password = "123456", enableSSL = true, sslCAFile = dir .. "/ca.crt" }
    for k = 0, 9 do append("sec", k * 300, k * 300 + 299, p) end   -- many TLS records
    expect_rows(sub, 0, 3000)
    sub:unsubscribe()
    local ok, err = pcall(ddb.subscribe, { host = H, port = tls.port, tableName = "sec",
      enableSSL = true, sslCAFile = dir .. "/other.crt", connectTimeout = 3 })
    assert.is_false(ok)
    assert.are.equal("connection", err.kind)
    assert.is_truthy(tostring(err):lower():find("certificate") or tostring(err):lower():find("tls"), tostring(err))
    p:shutDown()
    tls:stop()
    os.execute("rm -rf " .. dir)
  end)

  it("refuses misuse at the call", function()
    local function refused(opts, pattern)
      local ok, err = pcall(ddb.subscribe, opts)
      assert.is_false(ok)
      assert.is_truthy(tostring(err):find(pattern), tostring(err))
    end
    local o = { host = H, port = server.port, tableName = "x" }
    local function with(k, v)
      local t = {}
      for a, b in pairs(o) do t[a] = b end
      t[k] = v
      return t
    end
    refused("x", "expects an options table")
    refused(with("tableName", nil), "tableName must be")
    refused(with("bogus", 1), "unknown option 'bogus'")
    refused(with("offset", -2), "offset must be")
    refused(with("batchSize", 0), "batchSize must be")
    refused(with("throttle", "1"), "throttle must be")
    refused(with("handler", 5), "handler must be a function")
    refused(with("port", 0), "port")
    refused(with("filter", function() end), "filter")
    local name = stream_table()
    local sub = ddb.subscribe(sub_opts(name))
    refused(sub_opts(name), "already subscribed")
    assert.has_error(function() sub:next(-1) end)
    sub:unsubscribe()
  end)
end)

describe("examples/subscribe_stream.lua", function()
  it("prints every tick once through its handler and its batches", function()
    local preload = os.getenv("DDB_ASAN_PRELOAD")
    local env = preload and ("env LD_PRELOAD='%s' "):format(preload) or ""
    local p = io.popen(("%sluajit examples/subscribe_stream.lua 2>&1"):format(env))
    local out = p:read("*a")
    p:close()
    for i = 0, 11 do assert.is_truthy(out:find("\n#" .. i .. " ", 1, true) or out:find("^#" .. i .. " "), out) end
    local rows = 0
    for n in out:gmatch("batch of (%d+) rows") do rows = rows + tonumber(n) end
    assert.are.equal(12, rows, out)
    assert.is_truthy(out:find("stats:%s+12%s+rows"), out)
    assert.is_nil(out:find("never finished", 1, true), out)
  end)
end)
