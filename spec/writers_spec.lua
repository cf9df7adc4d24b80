-- The writers (TableAppender, TableUpserter, PartitionedTableAppender) over real
-- sockets to ddbmini: seeded random tables of every column type ddbmini keeps (NULLs
-- included) written through each writer into shared and DFS tables of each partition
-- scheme, read back with select and compared cell by cell; the auto-fit conversions
-- against the server's own casts; the hash against the server's hashBucket and the
-- test vectors of MurmurHash2; upserts with and without ignoreNull; a partly failed
-- PartitionedTableAppender whose unwritten rows are exactly the ones missing; misuse.

local ffi = require "ffi"
local ddb = require "dolphindb"
local columns = require "dolphindb.columns"
local fit = require "dolphindb.fit"
local partition = require "dolphindb.partition"
local value = require "dolphindb.value"
local ddbmini = require "support.ddbmini"

local SEED = tonumber(os.getenv("WRITERS_SEED") or "") or 20261206

-- Column types ddbmini keeps in tables, with a generator of raw values (what
-- ddb.vector takes) for each. DECIMAL columns are made by type id (scale 0).
local cells = require "support.cells"
local GEN = { unpack(cells.GEN) }   -- the same types, and DECIMALs (made by type id)
GEN[#GEN + 1] = { "DECIMAL32", function() return tostring(math.random(-99999, 99999)) end }
GEN[#GEN + 1] = { "DECIMAL64", function() return tostring(math.random(-2147483647, 2147483647)) end }
local TYPE_ID = { DECIMAL32 = 37, DECIMAL64 = 38 }

-- Cells compare exactly: same type and raw value for typed scalars.
local function same(a, b)
  if a == b then return true end
  local ta, tb = type(a), type(b)
  if ta == "table" and tb == "table" and a.type and b.type then
    return a.type == b.type and a.value == b.value and (a.scale or 0) == (b.scale or 0)
  end
  return false
end

local function assert_columns_equal(expected, got, names)
  for c = 1, #expected do
    local e, g = expected[c], got[c]
    assert.are.equal(e.n or #e, g.n or #g, names[c])
    for i = 1, e.n or #e do
      if not same(e[i], g[i]) then
        error(("column %s row %d: expected %s, got %s"):format(names[c], i, tostring(e[i]), tostring(g[i])), 2)
      end
    end
  end
end

-- A random table: id 1..n, then one column per type of GEN (10% NULLs); the
-- partitioning columns are added by the caller. Returns names, script types, raw
-- lists (plain Lua values) and the expected decoded columns.
local function random_table(n, with_nulls)
  local names, types, raws, expected = { "id" }, { "INT" }, { {} }, {}
  for i = 1, n do raws[1][i] = i end
  raws[1].n = n
  for _, g in ipairs(GEN) do
    local list = { n = n }
    for i = 1, n do
      list[i] = (with_nulls and math.random() < 0.1) and ddb.null or g[2]()
    end
    names[#names + 1] = "c_" .. g[1]:lower()
    types[#types + 1] = TYPE_ID[g[1]] or g[1]
    raws[#raws + 1] = list
  end
  for c = 1, #names do
    local t = TYPE_ID[types[c]] and types[c] or types[c]
    if type(t) == "number" then t = columns.NAME[t] .. "(0)" end
    expected[c] = ddb.vector(t, raws[c])
  end
  return names, types, raws, expected
end

local function types_literal(types)
  local t = {}
  for i, x in ipairs(types) do t[i] = tostring(x) end
  return "[" .. table.concat(t, ", ") .. "]"
end

-- A decoded vector's cells as a plain list (without its n).
local function cells(v)
  local t = {}
  for i = 1, v.n or #v do t[i] = v[i] end
  return t
end

local function names_literal(names) return "`" .. table.concat(names, "`") end

describe("writers", function()
  local server, pool

  setup(function()
    server = ddbmini.start {}
    pool = ddb.DBConnectionPool("127.0.0.1", server.port, 4)
  end)

  teardown(function()
    if pool then pool:shutDown() end
    if server then server:stop() end
  end)

  local function read_back(expr)
    local t = pool:run { "select * from " .. expr .. " order by id", view = false }
    return t.columns
  end

  describe("hashing", function()
    it("reproduces the MurmurHash2 test vectors", function()
      local vectors = { [""] = 0x00000000, a = 0x92685f5e, abc = 0x13577c9b, AAPL = 0xe73e4e85,
        IBM = 0x64060704, GOOG = 0xf17ce6ea, MSFT = 0x161ef323, ["hello world"] = 0x44a81419,
        ["\228\184\173\230\150\135"] = 0x76afcaaf }
      for s, h in pairs(vectors) do assert.are.equal(h, partition.murmur32(s), s) end
      assert.are.equal(9, partition.bucket("AAPL", columns.T.SYMBOL, 10))
      assert.are.equal(937605, partition.bucket("AAPL", columns.T.STRING, 1048576))
      local uuid = string.char(0x87, 0xee, 0x73, 0x14, 0xd9, 0xb4, 0x35, 0x42, 0xb1, 0xe3, 0x48, 0xcc,
        0x78, 0x2a, 0x21, 0x5d)
      assert.are.equal(0x9da45a70, partition.murmur32(uuid))
      assert.are.equal(8, partition.bucket(uuid, columns.T.UUID, 10))
      assert.are.equal(5, partition.bucket(-1, columns.T.INT, 10))
      assert.are.equal(5, partition.bucket(-1LL, columns.T.LONG, 10))
      assert.are.equal(-1, partition.bucket(-2147483648, columns.T.INT, 10))
      local doc = { 34, 45, 67 }
      for i, want in ipairs { 4, 5, 7 } do assert.are.equal(want, partition.bucket(doc[i], columns.T.INT, 10)) end
      local syms = { "AAPL", "TSLA", "GS", "MS", "GE", "BA", "UAL", "WMT" }
      for i, want in ipairs { 9, 4, 1, 8, 3, 7, 5, 2 } do
        assert.are.equal(want, partition.bucket(syms[i], columns.T.SYMBOL, 10))
      end
      -- the same through Domain:keys, whose loops do not call bucket (one per cell width,
      -- one per symbol of a symbol column's base)
      local function keys_of(tname, list, n)
        local keys, bad = partition.domain(5, 10, columns.T[tname]):keys(value._to_handle(ddb.vector(tname, list)))
        local out = {}
        for i = 1, n do out[i] = keys[i - 1] end
        return out, bad
      end
      local ks, bad = keys_of("INT", { n = 5, 34, 45, 67, -1, ddb.null }, 5)
      assert.are.same({ 4, 5, 7, 5, -1 }, ks)
      assert.are.equal(4, bad)
      assert.are.same({ 4, 5, 7, 5, -1 }, (keys_of("LONG", { n = 5, 34, 45, 67, -1LL, ddb.null }, 5)))
      assert.are.same({ 5, 4, 7 }, (keys_of("SHORT", { -1, 34, 67 }, 3)))
      assert.are.same({ 9, 4, 1, 8, 3, 7, 5, 2, 0 }, (keys_of("SYMBOL", { "AAPL", "TSLA", "GS", "MS", "GE", "BA", "UAL", "WMT", "" }, 9)))
    end)

    it("agrees with the server's hashBucket on random values", function()
      math.randomseed(SEED)
      for _, tname in ipairs { "INT", "SHORT", "LONG", "DATE", "TIMESTAMP", "STRING", "SYMBOL", "UUID" } do
        local gen
        for _, g in ipairs(GEN) do if g[1] == tname then gen = g[2] end end
        local list = { n = 300 }
        for i = 1, 300 do list[i] = gen() end
        local vec = ddb.vector(tname, list)
        local buckets = math.random(2, 1000)
        local server_buckets = pool:run("hashBucket", vec, buckets)
        local h = value._to_handle(vec)
        local d = partition.domain(5, buckets, columns.T[tname])
        local keys = d:keys(h)
        for i = 1, 300 do
          assert.are.equal(server_buckets[i], keys[i - 1], ("%s %s mod %d"):format(tname, tostring(vec[i]), buckets))
        end
      end
    end)
  end)

  describe("auto-fit temporal conversion", function()
    local TEMPORAL = { "DATE", "MONTH", "TIME", "MINUTE", "SECOND", "DATETIME", "TIMESTAMP", "NANOTIME",
      "NANOTIMESTAMP", "DATEHOUR" }

    it("matches the server's casts for every supported pair, negative values and NULL included", function()
      math.randomseed(SEED + 1)
      local checked = 0
      for _, from in ipairs(TEMPORAL) do
        local gen
        for _, g in ipairs(GEN) do if g[1] == from then gen = g[2] end end
        local list = { n = 200 }
        for i = 1, 199 do list[i] = gen() end
        list[200] = ddb.null
        local vec = ddb.vector(from, list)
        for _, to in ipairs(TEMPORAL) do
          local h = fit.cast_temporal(value._to_handle(vec), columns.T[from], columns.T[to])
          if h then
            local mine = columns.decoded(h)
            local theirs = pool:run { to:lower(), vec, view = false }
            assert_columns_equal({ theirs }, { mine }, { from .. "->" .. to })
            checked = checked + 1
          end
        end
      end
      assert.is_true(checked >= 40, "pairs checked: " .. checked)
    end)

    it("refuses what DolphinDB's clients refuse", function()
      local T = columns.T
      local h = value._to_handle(ddb.vector("TIME", { 1 }))
      assert.is_nil((fit.cast_temporal(h, T.TIME, T.DATE)))
      h = value._to_handle(ddb.vector("DATE", { 1 }))
      assert.is_nil((fit.cast_temporal(h, T.DATE, T.SECOND)))
      h = value._to_handle(ddb.vector("MONTH", { 1 }))
      assert.is_nil((fit.cast_temporal(h, T.MONTH, T.DATE)))
    end)

    it("floors negative values (TIMESTAMP -1 ms is the day before 1970.01.01 at 23:59:59.999)", function()
      local T = columns.T
      local ts = value._to_handle(ddb.vector("TIMESTAMP", { -1, -86400000, 86399999, ddb.null, n = 4 }))
      local d = columns.decoded(fit.cast_temporal(ts, T.TIMESTAMP, T.DATE))
      assert.are.same({ -1, -1, 0 }, { d[1].value, d[2].value, d[3].value })
      assert.are.equal(ddb.null, d[4])
      local t = columns.decoded(fit.cast_temporal(ts, T.TIMESTAMP, T.TIME))
      assert.are.equal(86399999, t[1].value)
      assert.are.equal(1969 * 12 + 11, fit._civil_month(-1))
    end)
  end)

  describe("TableAppender", function()
    local function shared_table(name, names, types)
      pool:run(("share table(1:0, %s, %s) as %s; 1"):format(names_literal(names), types_literal(types), name))
    end

    it("appends seeded random tables of every type, NULLs included, as plain lists and as vectors", function()
      math.randomseed(SEED + 2)
      local names, types, raws, expected = random_table(500, true)
      shared_table("ta_all", names, types)
      local app = ddb.TableAppender("", "ta_all", pool)
      assert.are.equal(500, app:append(raws))                      -- plain Lua lists, by position
      local t = { n = 0 }
      for c = 1, #names do t[#t + 1] = { names[c], expected[c] } end
      shared_table("ta_all2", names, types)
      assert.are.equal(500, ddb.TableAppender { tableName = "ta_all2", pool = pool }:append(ddb.table(t)))
      assert_columns_equal(expected, read_back("ta_all"), names)
      assert_columns_equal(expected, read_back("ta_all2"), names)
    end)

    it("takes a Lua table keyed by column name and a decoded result", function()
      shared_table("ta_named", { "id", "v", "s" }, { "INT", "DOUBLE", "SYMBOL" })
      local app = ddb.TableAppender(nil, "ta_named", pool)
      assert.are.equal(2, app:append { s = { "a", "b" }, id = { 1, 2 }, v = { 0.5, ddb.null, n = 2 } })
      local got = pool:run { "select * from ta_named", view = true }     -- views go back as they are
      assert.are.equal(2, app:append(got))
      assert.are.same({ 1, 2, 1, 2 }, cells(pool:run("exec id from ta_named")))
      assert.are.same({ "a", "b", "a", "b" }, cells(pool:run("exec s from ta_named")))
    end)

    it("converts temporal columns on the client and leaves the rest to the server", function()
      shared_table("ta_fit", { "id", "ts", "d", "m", "l", "s" }, { "INT", "TIMESTAMP", "DATE", "MONTH", "LONG", "SYMBOL" })
      local app = ddb.TableAppender("", "ta_fit", pool)
      assert.are.equal(2, app:append {
        { 1, 2 },
        ddb.vector("DATE", { "2024.01.02", "1969.12.31" }),                 -- DATE -> TIMESTAMP
        ddb.vector("TIMESTAMP", { -1, "2024.03.01T23:59:59.999" }),        -- TIMESTAMP -> DATE (floor)
        { ddb.date("2024.02.29"), ddb.date("1969.12.31") },                -- DATE scalars -> MONTH
        ddb.vector("INT", { 7, ddb.null, n = 2 }),                         -- INT -> LONG: the server's
        ddb.vector("STRING", { "x", "y" }),                                 -- STRING -> SYMBOL: the server's
      })
      local t = read_back("ta_fit")
      assert.are.equal("2024.01.02T00:00:00.000", tostring(t[2][1]))
      assert.are.equal("1969.12.31T00:00:00.000", tostring(t[2][2]))
      assert.are.equal("1969.12.31", tostring(t[3][1]))
      assert.are.equal("2024.03.01", tostring(t[3][2]))
      assert.are.equal("2024.02M", tostring(t[4][1]))
      assert.are.equal("1969.12M", tostring(t[4][2]))
      assert.are.equal(7LL, t[5][1])
      assert.are.equal(ddb.null, t[5][2])
      assert.are.same({ "x", "y" }, { t[6][1], t[6][2] })
    end)

    it("appends array-vector columns (lists of rows, or ddb.arrayvector)", function()
      shared_table("ta_av", { "id", "av", "dv" }, { "INT", 68, 70 })          -- INT[], DATE[]
      local app = ddb.TableAppender("", "ta_av", pool)
      assert.are.equal(3, app:append { { 1, 2, 3 }, { { 1, 2 }, {}, { 3 } },
        ddb.arrayvector("DATE", { { 0 }, { 1, 2 }, { 19000 } }) })
      local t = read_back("ta_av")
      assert.are.same({ { 1, 2 }, {}, { 3 } }, { cells(t[2][1]), cells(t[2][2]), cells(t[2][3]) })
      assert.are.equal("2022.01.08", tostring(t[3][3][1]))
      local ok, err = pcall(app.append, app, { { 4 }, ddb.arrayvector("DOUBLE", { { 1.5 } }), { { 0 } } })
      assert.is_false(ok)                                  -- same category: the server's call
      assert.matches("Expected: INT%[%], Actual: DOUBLE%[%]", err.server_error)
    end)

    it("refuses tables that do not fit, naming the column, and writes nothing", function()
      shared_table("ta_bad", { "id", "v", "ts" }, { "INT", "DOUBLE", "TIMESTAMP" })
      local app = ddb.TableAppender("", "ta_bad", pool)
      local function refused(t, pattern)
        local ok, err = pcall(app.append, app, t)
        assert.is_false(ok)
        assert.are.equal("string", type(err))
        assert.matches("^dolphindb: append: " .. pattern, err)
      end
      refused({ { 1 }, ddb.vector("INT", { 1 }), { 0 } }, "column 2 %('v'%): expect category FLOATING, got category INTEGRAL")
      refused({ { 1 }, { 1.5 }, ddb.vector("TIME", { 0 }) }, "column 3 %('ts'%): cannot convert TIME to TIMESTAMP")
      refused({ { 1 }, { "x" }, { 0 } }, "column 2 %('v'%): DOUBLE expected, got string")
      refused({ { 1 }, { 1.5 } }, "the table has 2 columns, shared table ta_bad has 3")
      refused({ { 1, 2 }, { 1.5 }, { 0 } }, "column 2 %('v'%) has 1 rows, column 1 has 2")
      refused({ id = { 1 }, v = { 1.5 }, ts = { 0 }, extra = { 1 } }, "shared table ta_bad has no column 'extra'")
      refused({ id = { 1 }, v = { 1.5 } }, "column 'ts' of shared table ta_bad is missing")
      refused(42, "expects a table")
      assert.are.equal(0, pool:run("exec count(*) from ta_bad"))
    end)

    it("takes a pool of dolphindb.safe (and raises as the raising face)", function()
      local safe = require "dolphindb.safe"
      local spool = safe.DBConnectionPool("127.0.0.1", server.port, 1)
      shared_table("ta_safe", { "id" }, { "INT" })
      assert.are.equal(3, ddb.TableAppender("", "ta_safe", spool):append { { 1, 2, 3 } })
      local ok, err = pcall(ddb.TableAppender, "", "nosuch_safe", spool)
      assert.is_false(ok)
      assert.are.equal("server", err.kind)
      spool:shutDown()
    end)

    it("raises misuse at the caller and server failures as error values", function()
      local ok, err = pcall(ddb.TableAppender, "", "no such", pool)
      assert.matches("^dolphindb: TableAppender: tableName must be a name", err)
      ok, err = pcall(ddb.TableAppender, 'dfs://x"', "t", pool)
      assert.matches("^dolphindb: TableAppender: dbPath must not contain quotes", err)
      ok, err = pcall(ddb.TableAppender, "", "t", {})
      assert.matches("^dolphindb: TableAppender: pool must be a DBConnectionPool", err)
      ok, err = pcall(ddb.TableAppender, "", "nosuchtable", pool)
      assert.is_false(ok)
      assert.are.equal("server", err.kind)
      assert.matches("nosuchtable", err.server_error)
      local app = ddb.TableAppender("", "ta_bad", pool)
      ok, err = pcall(app.append, nil, {})
      assert.matches("^dolphindb: append must be called as app:append%(t%)", err)
      local line = debug.getinfo(1, "l").currentline + 1
      ok, err = pcall(function() ddb.TableAppender("", 1, pool) end)
      assert.matches("writers_spec.lua:" .. line .. ": dolphindb: TableAppender:", err)
    end)
  end)

  describe("TableUpserter", function()
    -- A keyed table and its model, upserted with random batches.
    local function check_upserts(ignoreNull)
      local name = ignoreNull and "kt_ign" or "kt_plain"
      pool:run(("share keyedTable(`k, 1:0, `k`a`b, [INT, DOUBLE, SYMBOL]) as %s; 1"):format(name))
      local up = ddb.TableUpserter("", name, pool, { ignoreNull = ignoreNull })
      local model = {}
      for _ = 1, 5 do
        local k, a, b, seen = { n = 40 }, { n = 40 }, { n = 40 }, {}
        local i = 0
        while i < 40 do
          local key = math.random(1, 60)
          if not seen[key] then
            seen[key] = true
            i = i + 1
            k[i] = key
            a[i] = math.random() < 0.3 and ddb.null or math.random(1, 1000) / 8
            b[i] = math.random() < 0.3 and ddb.null or ("s" .. math.random(1, 5))
          end
        end
        local ins = 0
        for j = 1, 40 do
          local row = model[k[j]]
          if not row then ins = ins + 1; row = {}; model[k[j]] = row; row.a, row.b = ddb.null, "" end
          local nb = b[j] == ddb.null and "" or b[j]
          if not (ignoreNull and a[j] == ddb.null) then row.a = a[j] end
          if not (ignoreNull and nb == "") then row.b = nb end
          if not ignoreNull then row.a, row.b = a[j], nb end
        end
        local rows, inserted, updated = up:upsert { k, a, b }
        assert.are.same({ 40, ins, 40 - ins }, { rows, inserted, updated })
      end
      local t = pool:run { "select * from " .. name .. " order by k", view = false }
      local keys = {}
      for key in pairs(model) do keys[#keys + 1] = key end
      table.sort(keys)
      assert.are.equal(#keys, t.n)
      for i, key in ipairs(keys) do
        assert.are.equal(key, t.columns[1][i])
        assert.are.equal(model[key].a, t.columns[2][i], "a of key " .. key)
        assert.are.equal(model[key].b, t.columns[3][i], "b of key " .. key)
      end
    end

    it("upserts random batches into a keyed table (ignoreNull = false)", function()
      math.randomseed(SEED + 3)
      check_upserts(false)
    end)

    it("keeps existing values for NULL cells with ignoreNull = true", function()
      math.randomseed(SEED + 4)
      check_upserts(true)
    end)

    it("upserts into a DFS table by keyColNames, fitting columns", function()
      pool:run([[db = database("dfs://ups", HASH, [INT, 4]); t = table(1:0, `id`ts`v, [INT, TIMESTAMP, DOUBLE]);
        db.createPartitionedTable(t, "pt", "id"); 1]])
      local up = ddb.TableUpserter { dbPath = "dfs://ups", tableName = "pt", pool = pool, keyColNames = { "id" } }
      assert.are.same({ 3, 3, 0 }, { up:upsert { { 1, 2, 3 }, ddb.vector("DATE", { 1, 2, 3 }), { 1, 2, 3 } } })
      assert.are.same({ 2, 1, 1 }, { up:upsert { { 3, 4 }, { 0, 0 }, { 30, 40 } } })
      assert.are.same({ 1, 2, 3, 4 }, cells(pool:run("exec id from loadTable('dfs://ups', 'pt') order by id")))
      assert.are.same({ 1, 2, 30, 40 }, cells(pool:run("exec v from loadTable('dfs://ups', 'pt') order by id")))
      assert.are.equal("1970.01.02T00:00:00.000", tostring(pool:run("exec ts from loadTable('dfs://ups', 'pt') order by id")[1]))
    end)

    it("checks its options before any request", function()
      local ok, err = pcall(ddb.TableUpserter, "", "kt_plain", pool, { ignoreNull = 1 })
      assert.matches("^dolphindb: TableUpserter: ignoreNull must be a boolean", err)
      ok, err = pcall(ddb.TableUpserter, "", "kt_plain", pool, { keyColNames = { "a b" } })
      assert.matches("keyColNames%[1%] must be a name", err)
      ok, err = pcall(ddb.TableUpserter, "", "kt_plain", pool, { sortcolumns = { "a" } })
      assert.matches("unknown option 'sortcolumns'", err)
    end)
  end)

  describe("PartitionedTableAppender", function()
    local n_db = 0
    -- Creates dfs://pN with the given scheme; columns: the random table's, plus p1/p2.
    local function dfs_table(scheme_script, names, types, partcols)
      n_db = n_db + 1
      local path = "dfs://p" .. n_db
      pool:run(("db = %s; t = table(1:0, %s, %s); db.createPartitionedTable(t, \"pt\", %s); 1")
        :format(scheme_script:gsub("PATH", path), names_literal(names), types_literal(types), partcols))
      return path
    end

    -- The random table with partitioning columns p_int (INT), p_sym (SYMBOL),
    -- p_ts (TIMESTAMP), never NULL, inside every scheme below.
    local function partitioned_input(n)
      local names, types, raws, expected = random_table(n, true)
      local extra = {
        { "p_int", "INT", function() return math.random(0, 99) end },
        { "p_sym", "SYMBOL", function() return ("k%d"):format(math.random(0, 9)) end },
        { "p_ts", "TIMESTAMP", function() return 1704067200000 + math.random(0, 9 * 86400000 - 1) end },
      }
      for _, e in ipairs(extra) do
        local list = { n = n }
        for i = 1, n do list[i] = e[3]() end
        names[#names + 1], types[#types + 1], raws[#raws + 1] = e[1], e[2], list
        expected[#expected + 1] = ddb.vector(e[2], list)
      end
      return names, types, raws, expected
    end

    local SCHEMES = {
      { "VALUE by date of a TIMESTAMP", [[database("PATH", VALUE, 2024.01.01..2024.01.09)]], "`p_ts", "p_ts" },
      { "VALUE on SYMBOL", [[database("PATH", VALUE, `k0`k1)]], "`p_sym", "p_sym" },
      { "RANGE on INT", [[database("PATH", RANGE, 0 10 35 50 100)]], "`p_int", "p_int" },
      { "HASH on SYMBOL", [[database("PATH", HASH, [SYMBOL, 7])]], "`p_sym", "p_sym" },
      { "HASH on INT", [[database("PATH", HASH, [INT, 5])]], "`p_int", "p_int" },
      { "LIST on SYMBOL", [[database("PATH", LIST, [`k0`k1`k2, `k3, `k4`k5`k6`k7`k8`k9])]], "`p_sym", "p_sym" },
      { "COMPO, first level (VALUE)", [[database("PATH", COMPO, [database("", VALUE, 2024.01.01..2024.01.02), database("", HASH, [INT, 3])])]], "`p_ts`p_int", "p_ts" },
      { "COMPO, second level (HASH)", [[database("PATH", COMPO, [database("", VALUE, 2024.01.01..2024.01.02), database("", HASH, [INT, 3])])]], "`p_ts`p_int", "p_int" },
      { "COMPO, second level (LIST)", [[database("PATH", COMPO, [database("", RANGE, 0 50 100), database("", LIST, [`k0`k1`k2`k3`k4, `k5`k6`k7`k8`k9])])]], "`p_int`p_sym", "p_sym" },
    }

    for k, scheme in ipairs(SCHEMES) do
      it("appends random tables of every type into " .. scheme[1] .. ", in parallel groups", function()
        math.randomseed(SEED + 10 + k)
        local names, types, raws, expected = partitioned_input(1500)
        local path = dfs_table(scheme[2], names, types, scheme[3])
        local pta = ddb.PartitionedTableAppender(path, "pt", scheme[4], pool)
        local before = pool:stats().done
        assert.are.equal(1500, pta:append(raws))
        local requests = pool:stats().done - before
        assert.is_true(requests >= 2 and requests <= 4, "requests: " .. requests)
        assert_columns_equal(expected, read_back(('loadTable("%s", "pt")'):format(path)), names)
      end)
    end

    it("splits array-vector columns too (the columns the C split does not take go through Lua)", function()
      local path = dfs_table([[database("PATH", HASH, [INT, 5])]], { "id", "av", "s" }, { "INT", 68, "STRING" }, "`id")
      local pta = ddb.PartitionedTableAppender(path, "pt", "id", pool)
      local ids, avs, ss = {}, {}, {}
      for i = 1, 40 do ids[i], avs[i], ss[i] = i, { i, -i }, "s" .. i end
      avs[7] = {}
      assert.are.equal(40, pta:append { ids, ddb.arrayvector("INT", avs), ss })
      local t = read_back(('loadTable("%s", "pt")'):format(path))
      for i = 1, 40 do
        assert.are.equal(i, t[1][i])
        assert.are.same(avs[i], cells(t[2][i]))
        assert.are.equal("s" .. i, t[3][i])
      end
    end)

    it("sends the rows of one partition through one request (groups by key mod connections)", function()
      local T = columns.T
      local d = partition.domain(5, 7, T.SYMBOL)
      local syms = {}
      for i = 1, 200 do syms[i] = "k" .. (i % 13) end
      local keys = d:keys(value._to_handle(ddb.vector("SYMBOL", syms)))
      local group_of = {}
      for i = 1, 200 do
        local g = keys[i - 1] % 4
        assert.are.equal(group_of[syms[i]] or g, g)
        group_of[syms[i]] = g
      end
      local r = partition.domain(2, { 0, 10, 20 }, T.INT)
      local rk, bad = r:keys(value._to_handle(ddb.vector("INT", { 0, 9, 10, 19, 20, -1, ddb.null, n = 7 })))
      assert.are.same({ 0, 0, 1, 1, -1, -1, -1 }, { rk[0], rk[1], rk[2], rk[3], rk[4], rk[5], rk[6] })
      assert.are.equal(4, bad)
      local l = partition.domain(3, { { "a", "b" }, "c" }, T.SYMBOL)
      local lk = l:keys(value._to_handle(ddb.vector("SYMBOL", { "b", "c", "z" })))
      assert.are.same({ 1 - 1, 1, -1 }, { lk[0], lk[1], lk[2] })
    end)

    it("loses nothing when connections insert at once and grow one VALUE scheme with the same values", function()
      local path = dfs_table([[database("PATH", VALUE, [`k0])]], { "id", "sym" }, { "INT", "SYMBOL" }, "`sym")
      local fn = ('tableInsert{loadTable("%s", "pt")}'):format(path)
      local futures = {}
      local tables = {}                     -- built first, so that the requests leave together
      for c = 1, 8 do
        local ids, syms = {}, {}
        for i = 1, 25000 do ids[i], syms[i] = c * 100000 + i, "k" .. (i % 10) end
        tables[c] = ddb.table { { "id", ddb.vector("INT", ids) }, { "sym", ddb.vector("SYMBOL", syms) } }
      end
      for c = 1, 8 do futures[c] = pool:runTaskAsync(fn, tables[c]) end
      for _, f in ipairs(futures) do assert.are.equal(25000, f:result()) end
      local t = pool:run(('select count(*) as cnt from loadTable("%s", "pt") group by sym order by sym'):format(path))
      assert.are.same({ "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9" }, cells(t.sym))
      for i = 1, 10 do assert.are.equal(20000, t.cnt[i]) end
      local scheme = pool:run(('schema(loadTable("%s", "pt")).partitionSchema'):format(path))
      local seen = {}
      for _, v in ipairs(cells(scheme)) do
        assert.is_nil(seen[v], "partition " .. tostring(v) .. " twice")
        seen[v] = true
      end
      assert.are.equal(10, #cells(scheme))
    end)

    it("refuses rows with no partition before writing anything", function()
      local path = dfs_table([[database("PATH", RANGE, 0 10 20)]], { "id", "v" }, { "INT", "DOUBLE" }, "`id")
      local pta = ddb.PartitionedTableAppender(path, "pt", "id", pool)
      local ok, err = pcall(pta.append, pta, { { 1, 5, 25 }, { 1, 2, 3 } })
      assert.is_false(ok)
      assert.matches("^dolphindb: append: row 3: the partitioning column 'id' %(25%) is NULL or outside", err)
      ok, err = pcall(pta.append, pta, { { 1, ddb.null, n = 2 }, { 1, 2 } })
      assert.matches("row 2: the partitioning column 'id' %(NULL%)", err)
      assert.are.equal(0, pool:run(("exec count(*) from loadTable('%s', 'pt')"):format(path)))
      assert.are.equal(0, pta:append { {}, {} })
    end)

    it("reports the rows of a failed group, keeps them, and writes them on a retry", function()
      -- COMPO(VALUE by id, LIST on sym) appended by id: the client checks the first
      -- level only, so the server refuses the group holding a sym outside the LIST.
      local path = dfs_table([[database("PATH", COMPO, [database("", VALUE, 1..8), database("", LIST, [`a`b, `c])])]],
        { "id", "sym", "v" }, { "INT", "SYMBOL", "DOUBLE" }, "`id`sym")
      local pta = ddb.PartitionedTableAppender(path, "pt", "id", pool)
      local ids, syms, vs = {}, {}, {}
      for i = 1, 80 do
        ids[i], syms[i], vs[i] = (i % 8) + 1, ({ "a", "b", "c" })[i % 3 + 1], i
      end
      syms[13] = "zzz"                                     -- id 6: its whole group fails
      local ok, err = pcall(pta.append, pta, { ids, syms, vs })
      assert.is_false(ok)
      assert.are.equal("server", err.kind)
      assert.matches("outside the partition scheme", err.server_error)
      assert.matches("^dolphindb: PartitionedTableAppender: 1 of %d requests failed, %d+ rows not written", err.message)
      -- the rows reported are exactly the rows not in the table
      local in_table = {}
      for _, v in ipairs(pool:run(("exec v from loadTable('%s', 'pt')"):format(path))) do in_table[v] = true end
      local reported = {}
      for _, r in ipairs(err.rows) do reported[r] = true end
      assert.is_true(reported[13])
      for i = 1, 80 do assert.are.equal(not reported[i], in_table[i] == true, "row " .. i) end
      assert.are.equal(80 - #err.rows, err.written)
      assert.are.equal(#err.rows, err.unwritten.n)
      for j, r in ipairs(err.rows) do assert.are.equal(vs[r], err.unwritten.columns[3][j]) end
      -- fix the bad cell and append the unwritten rows again: every row, once
      local fixed = {}
      for c = 1, 3 do fixed[c] = err.unwritten.columns[c] end
      for j = 1, err.unwritten.n do if fixed[2][j] == "zzz" then fixed[2][j] = "c" end end
      assert.are.equal(#err.rows, pta:append(fixed))
      local all = pool:run(("exec v from loadTable('%s', 'pt') order by v"):format(path))
      assert.are.equal(80, #all)
      for i = 1, 80 do assert.are.equal(i, all[i]) end
    end)

    it("appends a query result (views) and works inside spawned coroutines", function()
      local path = dfs_table([[database("PATH", HASH, [SYMBOL, 5])]], { "id", "sym", "ts" },
        { "INT", "SYMBOL", "TIMESTAMP" }, "`sym")
      local src = pool:run { "table(1..100000 as id, take(`a`b`c`d`e`f`g, 100000) as sym, "
        .. "2024.01.01T00:00:00.000 + (1..100000) as ts)", view = true }
      assert.are.equal("cdata", type(src.columns[2]))
      local pta = ddb.PartitionedTableAppender(path, "pt", "sym", pool)
      local handles = {}
      for k = 1, 3 do                                 -- three appends at once, each parks
        handles[k] = ddb.spawn(function() return pta:append(src) end)
      end
      for k = 1, 3 do assert.are.equal(100000, handles[k]:result(30)) end
      local counts = pool:run(("select count(*) as n from loadTable('%s', 'pt') group by sym"):format(path))
      assert.are.equal(7, counts.n)
      for i = 1, 7 do                                 -- 100000 = 7 * 14285 + 5
        assert.are.equal(3 * (i <= 5 and 14286 or 14285), counts.columns[2][i])
      end
      local t = pool:run { ("select * from loadTable('%s', 'pt') where id <= 3 order by id, sym"):format(path), view = false }
      assert.are.equal(9, t.n)
      assert.are.equal("2024.01.01T00:00:00.001", tostring(t.columns[3][1]))
    end)

    it("refuses non-partitioned tables and unknown partitioning columns", function()
      pool:run("share table(1:0, `a, [INT]) as pta_mem; 1")
      local ok, err = pcall(ddb.PartitionedTableAppender, "", "pta_mem", "a", pool)
      assert.matches("^dolphindb: PartitionedTableAppender: shared table pta_mem is not partitioned", err)
      local path = dfs_table([[database("PATH", HASH, [INT, 3])]], { "id", "v" }, { "INT", "DOUBLE" }, "`id")
      ok, err = pcall(ddb.PartitionedTableAppender, path, "pt", "v", pool)
      assert.matches("'v' is not a partitioning column of " .. path .. "/pt %(those are: id%)", err)
      ok, err = pcall(ddb.PartitionedTableAppender, path, "pt", nil, pool)
      assert.matches("partitionColName must be a string", err)
      local p = ddb.PartitionedTableAppender { dbPath = path, tableName = "pt", partitionColName = "id", pool = pool }
      assert.are.equal(3, p:append { id = { 1, 2, 3 }, v = { 1, 2, 3 } })
      -- a misfit in a column built straight into its groups: labelled, nothing written
      ok, err = pcall(p.append, p, { id = { 4, 5, 6 }, v = { 1, "x", 3 } })
      assert.is_false(ok)
      assert.matches("column 2 %('v'%): DOUBLE expected, got string", err)
      assert.are.equal(3, pool:run(('exec count(*) from loadTable("%s", "pt")'):format(path)))
    end)
  end)
end)

-- The same writers over a Session: a table local to the session (not shared) is a
-- target too, since every request runs in the session's one server session.
describe("writers on a Session", function()
  local server, pool, s

  setup(function()
    server = ddbmini.start {}
    pool = ddb.DBConnectionPool("127.0.0.1", server.port, 2)
    s = ddb.Session("127.0.0.1", server.port)
  end)

  teardown(function()
    if s then s:close() end
    if pool then pool:shutDown() end
    if server then server:stop() end
  end)

  it("appends random tables of every type into a table that only the session sees", function()
    math.randomseed(SEED + 40)
    local names, types, raws, expected = random_table(400, true)
    s:run(("local_t = table(1:0, %s, %s)"):format(names_literal(names), types_literal(types)))
    local app = ddb.TableAppender("", "local_t", s)
    assert.are.equal(400, app:append(raws))
    assert.are.equal(400, app:append(raws))                     -- the variable persists
    local t = s:run { "select * from local_t order by id", view = false }
    assert.are.equal(800, t.n)
    local first = {}
    for c = 1, #names do
      first[c] = { n = 400 }
      for i = 1, 400 do first[c][i] = t.columns[c][2 * i - 1] end
    end
    assert_columns_equal(expected, first, names)
    assert.is_false(pcall(pool.run, pool, "local_t"))         -- not shared: the pool cannot see it
  end)

  it("upserts into a keyed table of the session, with ignoreNull", function()
    s:run("kt = keyedTable(`k, 1:0, `k`v, [INT, DOUBLE])")
    local up = ddb.TableUpserter { dbPath = "", tableName = "kt", pool = s, ignoreNull = true }
    assert.are.same({ 3, 3, 0 }, { up:upsert { { 1, 2, 3 }, { 1.5, 2.5, 3.5 } } })
    assert.are.same({ 2, 1, 1 }, { up:upsert { { 3, 4 }, { ddb.null, 4.5, n = 2 } } })
    assert.are.same({ 1.5, 2.5, 3.5, 4.5 }, cells(s:run("exec v from kt order by k")))
  end)

  it("appends through PartitionedTableAppender in one request, refusing rows with no partition", function()
    s:run([[db = database("dfs://sess_p", RANGE, 0 50 100); t = table(1:0, `id`v, [INT, DOUBLE]);
      db.createPartitionedTable(t, "pt", `id); 1]])
    local pta = ddb.PartitionedTableAppender("dfs://sess_p", "pt", "id", s)
    local ids, vs = {}, {}
    for i = 1, 99 do ids[i], vs[i] = i, i / 2 end
    local before = s._pool:stats().done
    assert.are.equal(99, pta:append { ids, vs })
    assert.are.equal(1, s._pool:stats().done - before)
    assert.are.equal(99, pool:run("exec count(*) from loadTable('dfs://sess_p', 'pt')"))
    local ok, err = pcall(pta.append, pta, { { 1, 150 }, { 1, 2 } })
    assert.matches("row 2: the partitioning column 'id' %(150%)", err)
    -- a failed request: an error value that keeps the rows
    s:run("dropDatabase('dfs://sess_p')")
    ok, err = pcall(pta.append, pta, { { 1, 2 }, { 1, 2 } })
    assert.is_false(ok)
    assert.are.equal("server", err.kind)
    assert.are.same({ 1, 2 }, err.rows)
  end)

  it("takes a Session of dolphindb.safe, and raises once the session is closed", function()
    local safe = require "dolphindb.safe"
    local ss = safe.Session("127.0.0.1", server.port)
    ss:run("mine = table(1:0, `a, [INT])")
    local app = ddb.TableAppender("", "mine", ss)
    assert.are.equal(2, app:append { { 7, 8 } })
    assert.are.equal(15, ss:run("exec sum(a) from mine"))
    ss:close()
    local ok, err = pcall(app.append, app, { { 1 } })
    assert.is_false(ok)
    assert.matches("the session is closed", err)
    ok, err = pcall(ddb.TableAppender, "", "mine", ss)
    assert.matches("the session is closed", err)
  end)
end)

describe("examples/ingest_csv.lua", function()
  it("ingests a CSV file in batches with progress, every row once", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write("id,ts,sym,price\n")
    for i = 1, 2500 do
      f:write(("%d,2024-01-0%d 10:00:%02d.500,S%d,%s\n"):format(i, 1 + i % 5, i % 60, i % 7, i % 10 == 0 and "" or "1.5"))
    end
    f:close()
    -- a sanitized core.so needs the ASan runtime first; nginx_spec may have taken
    -- LD_PRELOAD out of this process (scripts/busted.sh keeps a copy)
    local preload = os.getenv("DDB_ASAN_PRELOAD")
    local env = preload and ("env LD_PRELOAD='%s' "):format(preload) or ""
    local p = io.popen(("%sluajit examples/ingest_csv.lua %s 1000 2>&1"):format(env, path))
    local out = p:read("*a")
    p:close()
    os.remove(path)
    assert.matches("1000 rows written, %d+ rows/s", out)
    assert.matches("2000 rows written, %d+ rows/s", out)
    assert.matches("2500 rows written in [%d.]+ s", out)
    assert.matches("the table holds 2500 rows", out)
  end)
end)

-- The same objects inside nginx workers (dolphindb.ngx_sched: cosockets, ngx.sleep):
-- a location writes through each writer with the worker's pool.
describe("writers inside nginx", function()
  local nginx = require "support.nginx"
  local server, ng, pool
  local LOCATIONS = [==[
    location = /write { content_by_lua_block {
      local ddb = require "dolphindb"
      local pool = require("handler").pool
      local n = tonumber(ngx.var.arg_n)
      local ids, syms = {}, {}
      for i = 1, n do ids[i] = i; syms[i] = "s" .. (i % 9) end
      local pta = ddb.PartitionedTableAppender("dfs://ngxw", "pt", "sym", pool)
      local a = pta:append{ ids, syms }
      local b = ddb.TableAppender("dfs://ngxw", "pt", pool):append{ id = { 0 }, sym = { "z" } }
      local ok, err = pcall(pta.append, pta, { { 1 }, { 5 } })
      ngx.say(require("json").encode({ pta = a, app = b, misuse = err }))
    } }
    location = /mtw { content_by_lua_block {
      local ddb = require "dolphindb"
      local w = ddb.MultithreadedTableWriter{ host = "127.0.0.1", port = tonumber(ngx.var.arg_port),
        dbPath = "dfs://ngxw", tableName = "pt", batchSize = 100, throttle = 0.01, threadCount = 3,
        partitionCol = "sym" }
      for i = 1, 1000 do
        assert(w:insert(100000 + i, "m" .. (i % 11)))
        if i % 100 == 0 then ngx.sleep(0.001) end
      end
      w:waitForThreadCompletion()
      local s = w:getStatus()
      ngx.say(require("json").encode({ sent = s.sentRows, code = s.errorCode }))
    } }
]==]

  setup(function()
    nginx.isolate_preload()
    server = ddbmini.start {}
    pool = ddb.DBConnectionPool("127.0.0.1", server.port, 1)
    pool:run([[db = database("dfs://ngxw", HASH, [SYMBOL, 5]); t = table(1:0, `id`sym, [INT, SYMBOL]);
      db.createPartitionedTable(t, "pt", `sym); 1]])
    ng = nginx.start { workers = 1, ddb_port = server.port, pool_size = 4, locations = LOCATIONS }
  end)

  teardown(function()
    if ng then ng:stop(); ng:remove() end
    if pool then pool:shutDown() end
    if server then server:stop() end
  end)

  it("appends through PartitionedTableAppender and TableAppender in a content handler", function()
    local status, body = ng:get("/write?n=5000")
    assert.are.equal(200, status, body)
    local r = require("dkjson").decode(body)
    assert.are.equal(5000, r.pta)
    assert.are.equal(1, r.app)
    assert.matches("^dolphindb: append: column 2 %('sym'%): SYMBOL", r.misuse)
    assert.are.equal(5001, pool:run("exec count(*) from loadTable('dfs://ngxw', 'pt')"))
  end)

  it("writes through a MultithreadedTableWriter made in a content handler", function()
    local status, body = ng:get("/mtw?port=" .. server.port)
    assert.are.equal(200, status, body .. "\n" .. ng:log():sub(-3000))
    local r = require("dkjson").decode(body)
    assert.are.same({ sent = 1000, code = "" }, r)
    assert.are.equal(1000, pool:run("exec count(*) from loadTable('dfs://ngxw', 'pt') where id > 100000"))
  end)
end)
