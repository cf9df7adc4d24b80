-- How a MultithreadedTableWriter holds its queued rows (dolphindb.mtw_block): FFI
-- cells for numeric and temporal columns (odd values aside), Lua lists for the rest,
-- SYMBOL lists built through the writer's dictionary. Without a server: every column type,
-- built from a block, encodes byte for byte as dolphindb.fit builds the same list
-- (NULLs, typed scalars, bad values and their messages included), and the rows come
-- back as given. Over real sockets to ddbmini: seeded random rows of every type, NULLs
-- included, through the writer's own insert and the generic one read back exactly
-- (typed values: mtw_spec, and the comparison with fit above); a bad value
-- fails its block as append would, its rows unwritten as given; routing through the
-- cache of strings stays right when the cache is forgotten.

local ddb = require "dolphindb"
local block = require "dolphindb.mtw_block"
local fit = require "dolphindb.fit"
local columns = require "dolphindb.columns"
local partition = require "dolphindb.partition"
local cells = require "support.cells"
local served = require "support.served"

local SEED = tonumber(os.getenv("WRITERS_SEED") or "") or 20261206

-- The types ddbmini keeps (support.cells), and DECIMAL32 (held as a Lua list; scale
-- 0: ddbmini's tables take DECIMAL columns by type id).
local GEN = { unpack(cells.GEN) }
GEN[#GEN + 1] = { "DECIMAL32", function() return tostring(math.random(-99999, 99999)) end }

local T = columns.T

-- A typed scalar of the column's own type for raw value v (nil: none made here).
local function typed(name, v)
  if name == "DECIMAL32" then return ddb.decimal32(v, 0) end
  local ctor = ddb[name:lower()]
  local ok, s = pcall(ctor, v)
  return ok and s or nil
end

-- Fills a block as the writer does (growing it from 4 rows), row by row.
local function filled(L, values, n)
  local b = block.new(L, 4)
  for i = 1, n do
    if b.n == b.cap then block.grow(L, b, 2 * b.cap) end
    for c = 1, L.n do block.put(L, b, c, b.n, values[c][i]) end
    b.n = b.n + 1
  end
  return b
end

local function schema_of(names, types)
  local scales = {}
  for i in ipairs(types) do scales[i] = 0 end
  return { names = names, types = types, scales = scales, target = "t" }
end

describe("mtw_block", function()
  -- Each type three ways: plain values with NULLs, with typed scalars of its type
  -- among them, and plain values only.
  it("builds every column type byte for byte as fit builds the same list, and gives the rows back", function()
    math.randomseed(SEED)
    for _, g in ipairs(GEN) do
      for variant = 1, 3 do
        local n = 300
        local list = { n = n }
        for i = 1, n do
          local r = math.random()
          local v = g[2]()
          if variant < 3 and r < 0.1 then v = ddb.null
          elseif variant == 2 and r < 0.2 then v = typed(g[1], v) or v end
          list[i] = v
        end
        local schema = schema_of({ "c" }, { T[g[1]] })
        local L = block.layout(schema)
        local b = filled(L, { list }, n)
        local label = g[1] .. " variant " .. variant
        local ok_b, hb = pcall(block.handles, L, b, schema)
        local ok_f, hf = pcall(fit.column, list, T[g[1]], schema.scales[1], "column 1 ('c')")
        assert.are.equal(ok_f, ok_b, label .. ": " .. tostring(ok_b and hf or hb))
        if ok_f then
          assert.are.equal(ddb.encode(hf), ddb.encode(hb[1]), label)
        else
          assert.are.equal(hf, hb, label)
        end
        local rows = block.rows(L, b, {})
        assert.are.equal(n, #rows)
        for i = 1, n do assert.are.equal(list[i], rows[i][1], label .. " row " .. i) end
      end
    end
  end)

  it("holds plain numbers as cells and the other values of those columns aside", function()
    local schema = schema_of({ "i", "f", "s", "t", "b" }, { T.INT, T.FLOAT, T.SYMBOL, T.TIMESTAMP, T.BOOL })
    local L = block.layout(schema)
    assert.are.same({ "num", "num", "sym", "num", "lua" }, L.kind)
    local values = {
      { 1, -2147483647, 2147483647, 1.5, 2 ^ 31, ddb.null, ddb.int(7) },
      { 0.1, 1e300, -0.5, ddb.null, 3, 4, 5 },
      { "a", "", "b", "a", "x\0y", ddb.null, ddb.symbol("a") },
      { 1704067200000, -1, 2 ^ 53, ddb.timestamp(5), 1e19, 0, 1 },
      { true, false, 1, 0, ddb.null, true, false },
    }
    local b = filled(L, values, 7)
    assert.are.same({ [3] = 1.5, [4] = 2 ^ 31, [5] = ddb.null, [6] = ddb.int(7) }, b.odd[1])
    assert.are.same({ [3] = ddb.null }, b.odd[2])
    assert.is_nil(b.odd[3])
    assert.are.same({ [3] = ddb.timestamp(5), [4] = 1e19 }, b.odd[4])
    assert.are.equal(0.1, b[2][0])                 -- FLOAT held as the double given
    local rows = block.rows(L, b, {})
    for c = 1, 5 do
      for i = 1, 7 do assert.are.equal(values[c][i], rows[i][c], ("column %d row %d"):format(c, i)) end
    end
    -- the bad values fail the block with fit's own message for the column
    local ok, err = pcall(block.handles, L, b, schema)
    assert.is_false(ok)
    assert.matches("^dolphindb: column 1 %('i'%): INT cannot hold 1.5", err)
    -- a block emptied for reuse keeps its cells' room, and holds new rows alone
    block.reset(L, b)
    assert.are.same({ 0, 8, nil }, { b.n, b.cap, b.odd })
    b = filled(L, { { 5 }, { 0.25 }, { "z" }, { 9 }, { true } }, 1)
    local hs = block.handles(L, b, schema)
    assert.are.equal("z", columns.decoded(hs[3])[1])
    assert.are.same({ 1, 1 }, { columns.rows(hs[1]), columns.rows(hs[5]) })
  end)

  it("builds SYMBOL columns through the writer's dictionary, a new one once it is full", function()
    local saved = block.DICTIONARY
    block.DICTIONARY = 3
    local ok, err = pcall(function()
      local schema = schema_of({ "s" }, { T.SYMBOL })
      local L = block.layout(schema)
      local cases = { { "a", "b", "a" }, { "b", ddb.null, "c", "" }, { "c", "d" }, { "e", "c" } }
      local dicts = { { "a", "b" }, { "a", "b", "c" }, { "c", "d" }, { "c", "d", "e" } }
      for k, list in ipairs(cases) do
        list.n = #list
        local b = filled(L, { list }, #list)
        local h = block.handles(L, b, schema)[1]
        assert.are.same(dicts[k], L.dict[1].d, "block " .. k)
        -- the base holds the whole dictionary, the encoding only the strings used
        assert.are.equal(ddb.encode(fit.column(list, T.SYMBOL, 0, "c")), ddb.encode(h), "block " .. k)
      end
    end)
    block.DICTIONARY = saved
    assert(ok, err)
  end)
end)

describe("mtw_block through a MultithreadedTableWriter", function()
  local server, admin
  local n_table = 0

  setup(function() server, admin = served.start(1, "admin", "123456") end)
  teardown(function() served.stop(server, admin) end)

  -- A shared table of an id and one column per type of GEN.
  local function every_type_table()
    n_table = n_table + 1
    local name = "mtwb" .. n_table
    local names, types = { "id" }, { "INT" }
    for _, g in ipairs(GEN) do
      names[#names + 1] = "c_" .. g[1]:lower()
      types[#types + 1] = g[1] == "DECIMAL32" and T.DECIMAL32 or g[1]
    end
    admin:run(("share table(1:0, `%s, [%s]) as %s; 1"):format(table.concat(names, "`"), table.concat(types, ", "), name))
    types[#types] = "DECIMAL32(0)"                    -- for ddb.vector
    return name, names, types
  end

  for _, generic in ipairs { false, true } do
    it(("writes seeded random rows of every type, NULLs included (%s insert)"):format(
      generic and "generic" or "writer's own"), function()
      math.randomseed(SEED + (generic and 1 or 0))
      local name, names, types = every_type_table()
      local gen = require "dolphindb.mtw_insert"
      local saved = gen.MAX_COLUMNS
      if generic then gen.MAX_COLUMNS = 3 end
      local ok_make, w = pcall(ddb.MultithreadedTableWriter, { host = "127.0.0.1", port = server.port,
        tableName = name, batchSize = 300, throttle = 0.01, threadCount = 3, partitionCol = "c_symbol" })
      gen.MAX_COLUMNS = saved
      assert(ok_make, w)
      assert.are.equal(not generic, rawget(w, "insert") ~= nil)
      local n, rows = 3000, {}
      for i = 1, n do
        local row = { i }
        for c, g in ipairs(GEN) do
          row[c + 1] = math.random() < 0.08 and ddb.null or g[2]()
        end
        rows[i] = row
      end
      local h = ddb.spawn(function()
        for i = 1, n do
          assert(w:insert(unpack(rows[i], 1, #names)))
          if i % 1000 == 0 then ddb.sleep(0) end          -- blocks grow past batchSize, then are reused
        end
      end)
      h:result(30)
      w:waitForThreadCompletion()
      assert.are.same({ n, "" }, { w:getStatus().sentRows, w:getStatus().errorCode }, w:getStatus().errorInfo)
      local t = admin:run { ("select * from %s order by id"):format(name), view = false }
      assert.are.equal(n, t.n)
      for c = 1, #names do
        local list = { n = n }
        for i = 1, n do list[i] = rows[i][c] end
        local expected = ddb.vector(types[c], list)
        for i = 1, n do
          if not cells.same(expected[i], t.columns[c][i]) then
            error(("%s row %d: expected %s, got %s"):format(names[c], i, tostring(expected[i]),
              tostring(t.columns[c][i])))
          end
        end
      end
    end)
  end

  it("fails a block with a bad value as append does, and gives its rows back as inserted", function()
    admin:run("share table(1:0, `id`sym`ts`px, [INT, SYMBOL, TIMESTAMP, FLOAT]) as mtwb_bad; 1")
    local w = ddb.MultithreadedTableWriter { host = "127.0.0.1", port = server.port, tableName = "mtwb_bad",
      batchSize = 100, throttle = 30 }
    local rows = {}
    for i = 1, 99 do
      rows[i] = { i, i % 3 == 0 and ddb.null or "s" .. i % 7, 1704067200000 + i, i % 5 == 0 and ddb.null or i / 10 }
    end
    rows[50][1] = 1.5                                   -- no INT: the block fails at its build
    rows[60][3] = ddb.timestamp(123)
    rows[70][2] = ddb.symbol("typed")
    rows[100] = { 100, "last", 2 ^ 40, 0.1 }
    local h = ddb.spawn(function()
      for i = 1, 100 do assert(w:insert(unpack(rows[i], 1, 4))) end
      ddb.sleep(0.2)
    end)
    h:result(10)
    local s = w:getStatus()
    assert.are.same({ "A5", 100, 0 }, { s.errorCode, s.sendFailedRows, s.sentRows })
    local list = {}
    for i = 1, 100 do list[i] = rows[i][1] end
    local _, expected = pcall(ddb.TableAppender("", "mtwb_bad", admin).append, ddb.TableAppender("", "mtwb_bad", admin),
      { list, { n = 100 }, { n = 100 }, { n = 100 } })
    expected = tostring(expected):gsub("^dolphindb: append: ", "dolphindb: ")
    assert.are.equal("Failed to save the inserted data: " .. expected, s.errorInfo)
    assert.matches("column 1 %('id'%): INT cannot hold 1.5", s.errorInfo)
    local back = w:getUnwrittenData()
    assert.are.equal(100, #back)
    for i = 1, 100 do
      for c = 1, 4 do assert.are.equal(rows[i][c], back[i][c], ("row %d column %d"):format(i, c)) end
    end
    w:waitForThreadCompletion()
    assert.are.equal(0, admin:run("exec count(*) from mtwb_bad"))
  end)

  it("routes every row of a partition to one worker while the cache of strings is forgotten", function()
    local mtw = require "dolphindb.mtw"
    admin:run([[db = database("dfs://mtwb_route", HASH, [SYMBOL, 16]);
      t = table(1:0, `id`sym, [INT, SYMBOL]); db.createPartitionedTable(t, "pt", `sym); 1]])
    local saved = mtw.ROUTE_CACHE
    mtw.ROUTE_CACHE = 5
    local ok_make, w = pcall(ddb.MultithreadedTableWriter, { host = "127.0.0.1", port = server.port,
      dbPath = "dfs://mtwb_route", tableName = "pt", batchSize = 50, throttle = 0.01, threadCount = 4,
      partitionCol = "sym" })
    mtw.ROUTE_CACHE = saved
    assert(ok_make, w)
    math.randomseed(SEED + 3)
    local syms = {}
    local h = ddb.spawn(function()
      for i = 1, 2000 do
        syms[i] = "k" .. math.random(1, 60)
        assert(w:insert(i, syms[i]))
        if i % 500 == 0 then ddb.sleep(0) end
      end
    end)
    h:result(30)
    w:waitForThreadCompletion()
    local s = w:getStatus()
    local d = partition.domain(5, 16, T.SYMBOL)
    local per = { 0, 0, 0, 0 }
    for i = 1, 2000 do
      local k = d.key(syms[i]) % 4 + 1
      per[k] = per[k] + 1
    end
    for i = 1, 4 do assert.are.equal(per[i], s.threadStatus[i].sentRows, "worker " .. i) end
    assert.are.equal(2000, admin:run("exec count(*) from loadTable('dfs://mtwb_route', 'pt')"))
  end)
end)
