-- ddb.plain: received values as plain Lua values that lua-cjson encodes as they are.
-- Every case is built with the constructors, then also taken through the wire
-- (ddb.decode of ddb.encode: plain, typed = true and view = true), converted and
-- encoded with lua-cjson (Debian's lua-cjson, scripts/install-deps.sh); the JSON text
-- is compared byte for byte. Objects in byte-compared cases have one key (cjson
-- writes keys in hash order); wider objects are compared after cjson.decode.
local ddb = require "dolphindb"
local ok_cjson, cjson = pcall(require, "cjson")
assert(ok_cjson, "lua-cjson is needed (Debian: lua-cjson, see scripts/install-deps.sh)")
local plain_mod = require "dolphindb.plain"
local served = require "support.served"

local null = cjson.null

local function json(v, opts) return cjson.encode(ddb.plain(v, opts)) end

local function wire(v, opts) return (ddb.decode(ddb.encode(v), 1, opts)) end

-- name, value (built with the constructors), expected JSON, [opts],
-- [expected JSON when decoded without typed, where the plain mapping lost the type]
local CASES = {
  { "BOOL", ddb.bool(true), "true" },
  { "BOOL NULL", ddb.bool(nil), "null" },
  { "CHAR", ddb.char(97), "97" },
  { "SHORT", ddb.short(-2), "-2" },
  { "INT", ddb.int(42), "42" },
  { "INT NULL", ddb.int(nil), "null" },
  { "LONG (text)", ddb.long("9007199254740993"), '"9007199254740993"' },
  { "LONG as number", ddb.long(123456789), "123456789", { int64 = "number" } },
  { "LONG NULL", ddb.long(nil), "null" },
  { "FLOAT shortest", ddb.float(0.1), "0.1", nil, "0.10000000149012" },
  { "DOUBLE", ddb.double(2.5), "2.5" },
  { "DOUBLE NaN", ddb.double(0 / 0), "null" },
  { "DOUBLE inf as text", ddb.double(1 / 0), '"Infinity"', { nonfinite = "string" } },
  { "DOUBLE -inf as text", ddb.double(-1 / 0), '"-Infinity"', { nonfinite = "string" } },
  { "STRING", ddb.string("a\"b"), '"a\\"b"' },
  { "SYMBOL", ddb.symbol("sym"), '"sym"' },
  { "BLOB", ddb.blob("x\0y"), '"x\\u0000y"' },
  { "DATE", ddb.date("2024.01.02"), '"2024-01-02"' },
  { "DATE text", ddb.date("2024.01.02"), '"2024.01.02"', { temporal = "text" } },
  { "DATE epoch", ddb.date("2024.01.02"), "19724", { temporal = "epoch" } },
  { "DATE NULL", ddb.date(nil), "null" },
  { "MONTH", ddb.month("2024.01M"), '"2024-01"' },
  { "TIME", ddb.time("13:30:10.008"), '"13:30:10.008"' },
  { "MINUTE", ddb.minute("13:30m"), '"13:30"' },
  { "SECOND", ddb.second("13:30:10"), '"13:30:10"' },
  { "DATETIME", ddb.datetime("2012.06.13T13:30:10"), '"2012-06-13T13:30:10"' },
  { "TIMESTAMP", ddb.timestamp("2012.06.13T13:30:10.008"), '"2012-06-13T13:30:10.008"' },
  { "TIMESTAMP epoch", ddb.timestamp("2012.06.13T13:30:10.008"), '"1339594210008"', { temporal = "epoch" } },
  { "TIMESTAMP epoch number", ddb.timestamp("2012.06.13T13:30:10.008"), "1339594210008",
    { temporal = "epoch", int64 = "number" } },
  { "NANOTIME", ddb.nanotime("13:30:10.008007006"), '"13:30:10.008007006"' },
  { "NANOTIMESTAMP", ddb.nanotimestamp("2012.06.13T13:30:10.008007006"), '"2012-06-13T13:30:10.008007006"' },
  { "DATEHOUR", ddb.datehour("2012.06.13T13"), '"2012-06-13T13"' },
  { "DECIMAL32", ddb.decimal32("1.25", 2), '"1.25"' },
  { "DECIMAL64 keeps its scale", ddb.decimal64("-1.5", 3), '"-1.500"' },
  { "DECIMAL128", ddb.decimal128("12345678901234567890.5", 1), '"12345678901234567890.5"' },
  { "DECIMAL as number", ddb.decimal64("1.25", 2), "1.25", { decimal = "number" } },
  { "DECIMAL NULL", ddb.decimal32(nil, 2), "null" },
  { "UUID", ddb.uuid("5d212a78-cc48-e3b1-4235-b4d91473ee87"), '"5d212a78-cc48-e3b1-4235-b4d91473ee87"' },
  { "IPADDR", ddb.ipaddr("192.168.1.13"), '"192.168.1.13"' },
  { "INT128", ddb.int128("e1671797c52e15f763380b45e841ec32"), '"e1671797c52e15f763380b45e841ec32"' },
  { "DURATION", ddb.duration("3d"), '"3d"' },
  { "COMPLEX", ddb.complex({ 1, -2 }), "[1,-2]" },
  { "POINT", ddb.point({ 0.5, 2 }), "[0.5,2]" },
  -- vectors: NULL cells are the JSON null, never holes
  { "INT vector", ddb.vector("INT", { 1, ddb.null, 3 }), "[1,null,3]" },
  { "LONG vector", ddb.vector("LONG", { 1, ddb.null, "-9223372036854775807" }), '["1",null,"-9223372036854775807"]' },
  { "FLOAT vector", ddb.vector("FLOAT", { 0.1, 1.5, ddb.null }), "[0.1,1.5,null]" },
  { "DOUBLE vector, NaN and inf", ddb.vector("DOUBLE", { 0 / 0, 1 / 0, -0.5 }), "[null,null,-0.5]" },
  { "STRING vector", ddb.vector("STRING", { "a", "", "c" }), '["a","","c"]' },
  { "SYMBOL vector", ddb.vector("SYMBOL", { "x", "x", "y" }), '["x","x","y"]' },
  { "BOOL vector", ddb.vector("BOOL", { true, false, ddb.null }), "[true,false,null]" },
  { "DATE vector", ddb.vector("DATE", { "2024.01.02", ddb.null }), '["2024-01-02",null]' },
  { "NANOTIMESTAMP vector", ddb.vector("NANOTIMESTAMP", { "2024.01.02T00:00:00.000000001" }),
    '["2024-01-02T00:00:00.000000001"]' },
  { "DECIMAL64 vector", ddb.vector("DECIMAL64(2)", { "1.5", ddb.null }), '["1.50",null]' },
  { "UUID vector", ddb.vector("UUID", { "5d212a78-cc48-e3b1-4235-b4d91473ee87" }),
    '["5d212a78-cc48-e3b1-4235-b4d91473ee87"]' },
  { "IPADDR vector", ddb.vector("IPADDR", { "2001:db8::1", "10.0.0.1" }), '["2001:db8:0:0:0:0:0:1","10.0.0.1"]' },
  { "ANY vector (tuple)", { 1, "a", ddb.date("2024.01.02"), ddb.vector("INT", { 2 }) }, '[1,"a","2024-01-02",[2]]' },
  { "pair", ddb.pair("INT", 1, 2), "[1,2]" },
  { "DATE pair", ddb.pair("DATE", "2024.01.02", "2024.01.03"), '["2024-01-02","2024-01-03"]' },
  { "array vector", ddb.arrayvector("INT[]", { { 1, 2 }, { 3 }, { ddb.null } }), "[[1,2],[3],[null]]" },
  { "DECIMAL array vector", ddb.arrayvector("DECIMAL32(1)[]", { { "1.5" }, { "2" } }), '[["1.5"],["2.0"]]' },
  { "matrix, rows of cells", ddb.matrix("INT", { { 1, 2 }, { 3, 4 }, { 5, 6 } }), "[[1,3,5],[2,4,6]]" },
  { "DOUBLE matrix", ddb.matrix("DOUBLE", { { 0.5 }, { 0 / 0 } }), "[[0.5,null]]" },
  { "set", ddb.set("INT", { 7 }), "[7]" },
  { "DATE set", ddb.set("DATE", { "2024.01.02" }), '["2024-01-02"]' },
  { "dict INT -> DOUBLE", ddb.dict("INT", "DOUBLE", { [1] = 0.5 }), '{"1":0.5}' },
  { "dict STRING -> LONG", ddb.dict("STRING", "LONG", { a = 5 }), '{"a":"5"}' },
  { "dict LONG keys", ddb.dict("LONG", "INT", { "9007199254740993" }, { 1 }), '{"9007199254740993":1}' },
  { "dict STRING -> DATE", ddb.dict("STRING", "DATE", { d = "2024.01.02" }), '{"d":"2024-01-02"}' },
  { "dict NULL value", ddb.dict("STRING", "INT", { "k" }, { ddb.null }), '{"k":null}' },
  { "table as rows", ddb.table { { "id", ddb.vector("LONG", { 1, 2 }) } }, '[{"id":"1"},{"id":"2"}]' },
  { "table as columns", ddb.table { { "d", ddb.vector("DATE", { "2024.01.02", ddb.null }) } },
    '{"d":["2024-01-02",null]}', { table = "columns" } },
  { "table of FLOAT", ddb.table { { "f", ddb.vector("FLOAT", { 0.1 }) } }, '[{"f":0.1}]' },
  { "FLOAT array vector", ddb.arrayvector("FLOAT[]", { { 0.1, ddb.null }, { 1.5 } }), "[[0.1,null],[1.5]]" },
  { "table with an array vector column", ddb.table { { "a", ddb.arrayvector("FLOAT[]", { { 0.1, 2.5 } }) } },
    '[{"a":[0.1,2.5]}]' },
}

-- Empty arrays encode as [] only with an encoder that honours the array marker:
-- OpenResty's lua-cjson (cjson.array_mt / empty_array_mt) or dkjson (__jsontype).
local EMPTY = {
  { "empty INT vector", ddb.vector("INT", {}) },
  { "empty STRING vector", ddb.vector("STRING", {}) },
  { "empty table as rows", ddb.table { { "a", ddb.vector("INT", {}) } } },
  { "empty array vector row", ddb.arrayvector("INT[]", { {} }), inner = true },
}

describe("ddb.plain", function()
  it("is exported", function()
    assert.are.equal("function", type(ddb.plain))
    assert.are.equal(plain_mod.plain, ddb.plain)
  end)

  for _, c in ipairs(CASES) do
    local name, v, want, opts, want_plain = c[1], c[2], c[3], c[4], c[5]
    it(name .. ": " .. want, function()
      assert.are.equal(want, json(v, opts), "built")
      assert.are.equal(want, json(wire(v, { typed = true }), opts), "decoded typed")
      -- views are for vectors: a scalar decoded with view = true is a plain one
      assert.are.equal(want_plain or want, json(wire(v, { view = true }), opts), "decoded as views")
      assert.are.equal(want_plain or want, json(wire(v), opts), "decoded")
    end)
  end

  it("gives only plain Lua values: no cdata, typed scalars, ddb.null or foreign metatables", function()
    local marker = getmetatable(ddb.plain(ddb.vector("INT", { 1 })))
    local function check(x, path)
      local t = type(x)
      assert.is_true(t ~= "cdata" and t ~= "function" and x ~= ddb.null, path)
      if t == "table" then
        local mt = getmetatable(x)
        assert.is_true(mt == nil or mt == marker, path .. " has a metatable")
        for k, y in pairs(x) do
          assert.is_true(type(k) == "string" or type(k) == "number", path)
          check(y, path .. "." .. tostring(k))
        end
      end
    end
    for _, c in ipairs(CASES) do
      check(ddb.plain(c[2], c[4]), c[1])
      check(ddb.plain(wire(c[2], { typed = true }), c[4]), c[1] .. " (typed)")
    end
  end)

  it("converts a wide table row by row (compared after cjson.decode)", function()
    local t = ddb.table {
      { "id", ddb.vector("INT", { 1, 2 }) },
      { "sym", ddb.vector("SYMBOL", { "a", "b" }) },
      { "ts", ddb.vector("TIMESTAMP", { "2024.01.02T10:00:00.000", ddb.null }) },
      { "px", ddb.vector("DOUBLE", { 1.5, 0 / 0 }) },
      { "n", ddb.vector("LONG", { 10, 20 }) },
    }
    local want = {
      { id = 1, sym = "a", ts = "2024-01-02T10:00:00.000", px = 1.5, n = "10" },
      { id = 2, sym = "b", ts = null, px = null, n = "20" },
    }
    for _, v in ipairs { t, wire(t), wire(t, { typed = true }), wire(t, { view = true }) } do
      assert.are.same(want, cjson.decode(json(v)))
    end
    local cols = cjson.decode(json(t, { table = "columns", int64 = "number", temporal = "epoch" }))
    assert.are.same({ id = { 1, 2 }, sym = { "a", "b" }, ts = { 1704189600000, null },
      px = { 1.5, null }, n = { 10, 20 } }, cols)
    -- pickleTableToList rows are plain tables of cells
    assert.are.same(want, cjson.decode(json((ddb.decode(ddb.encode(t), 1, { pickleTableToList = true })))))
  end)

  it("writes ISO 8601 from the stored count as the DolphinDB literal reads (random values)", function()
    local function iso_of_literal(text)
      text = text:gsub("^(%-?%d+)%.(%d%d)%.(%d%d)", "%1-%2-%3", 1)
      text = text:gsub("^(%-?%d+)%.(%d%d)M$", "%1-%2", 1)
      return (text:gsub("m$", "", 1))
    end
    -- type, constructor, range of the stored count
    local kinds = {
      { "date", -719528, 2932896 }, { "month", 0, 119999 }, { "time", 0, 86399999 },
      { "minute", 0, 1439 }, { "second", 0, 86399 }, { "datetime", -2^31 + 1, 2^31 - 1 },
      { "timestamp", -62135596800000, 253402300799999 }, { "nanotime", 0, 86399999999999 },
      { "nanotimestamp", -9e18, 9e18 }, { "datehour", -596523, 2^31 - 1 },
    }
    local seed = os.time()
    math.randomseed(seed)
    for _, k in ipairs(kinds) do
      local name, lo, hi = k[1], k[2], k[3]
      local samples = { lo, hi, 0, -1, 1 }
      for _ = 1, 300 do samples[#samples + 1] = math.floor(lo + math.random() * (hi - lo)) end
      for _, raw in ipairs(samples) do
        if raw >= lo and raw <= hi then
          local s = ddb[name](raw)
          assert.are.equal(iso_of_literal(tostring(s)), ddb.plain(s),
            ("%s %.0f (seed %d)"):format(name, raw, seed))
        end
      end
    end
  end)

  it("uses the JSON null by default and the null option when given", function()
    assert.are.equal(null, ddb.plain(ddb.int(nil)))
    assert.are.equal(null, ddb.plain(nil))
    assert.are.equal(null, ddb.plain(ddb.null))
    assert.are.equal(ddb.null, ddb.plain(ddb.vector("INT", { ddb.null }), { null = ddb.null })[1])
    assert.are.equal("-", ddb.plain(ddb.date(nil), { null = "-" }))
  end)

  it("marks every array so that an empty one encodes as []", function()
    local mt = cjson.array_mt or cjson.empty_array_mt or plain_mod.array_mt
    local ok_dk, dkjson = pcall(require, "dkjson")
    for _, c in ipairs(EMPTY) do
      local p = ddb.plain(c[2])
      local arr = c.inner and p[1] or p
      assert.are.equal(mt, getmetatable(arr), c[1])
      assert.are.equal(0, #arr, c[1])
      if cjson.array_mt or cjson.empty_array_mt then
        assert.are.equal(c.inner and "[[]]" or "[]", cjson.encode(p), c[1])
      end
      if ok_dk and mt == plain_mod.array_mt then
        assert.are.equal(c.inner and "[[]]" or "[]", dkjson.encode(p), c[1])
      end
      -- through the wire too
      local w = ddb.plain(wire(c[2]))
      assert.are.equal(mt, getmetatable(c.inner and w[1] or w), c[1] .. " decoded")
    end
    assert.is_nil(getmetatable(ddb.plain(ddb.vector("INT", {}), { array_mt = false })))
    local mine = {}
    assert.are.equal(mine, getmetatable(ddb.plain(ddb.vector("INT", {}), { array_mt = mine })))
  end)

  it("passes plain Lua values through and converts int64 cdata", function()
    assert.are.equal('[1,"a",true,{"k":"5"}]', json({ 1, "a", true, { k = 5LL } }))
    assert.are.equal('"18446744073709551615"', json(18446744073709551615ULL))
    assert.are.equal("12", json(12LL, { int64 = "number" }))
    assert.are.equal("null", json(0 / 0))
    local kept = ddb.plain(ddb.vector("DOUBLE", { 1 / 0, 0 / 0 }), { nonfinite = "keep" })
    assert.are.equal(math.huge, kept[1])
    assert.is_true(kept[2] ~= kept[2])
  end)

  it("refuses bad options and values it cannot convert, naming itself", function()
    assert.has_error(function() ddb.plain(1, { int64 = "big" }) end,
      'dolphindb: plain: int64 must be "number" or "string", got big')
    assert.has_error(function() ddb.plain(1, { temporal = "unix" }) end,
      'dolphindb: plain: temporal must be "epoch" or "iso" or "text", got unix')
    assert.has_error(function() ddb.plain(1, { table = "split" }) end,
      'dolphindb: plain: table must be "columns" or "rows", got split')
    assert.has_error(function() ddb.plain(1, "rows") end,
      "dolphindb: plain: options must be a table, got string")
    assert.has_error(function() ddb.plain(1, { array_mt = 1 }) end,
      "dolphindb: plain: array_mt must be a table or false")
    assert.has_error(function() ddb.plain(print) end, "dolphindb: plain: cannot convert a function")
  end)

  describe("a query result from ddbmini", function()
    local server, pool
    setup(function() server, pool = served.start(1) end)
    teardown(function() served.stop(server, pool) end)

    it("goes straight to JSON", function()
      local t = pool:run("table(1 2 as id, 2024.01.02 2024.01.03 as d, 3000000000l 4l as big)")
      assert.are.same({ { id = 1, d = "2024-01-02", big = "3000000000" }, { id = 2, d = "2024-01-03", big = "4" } },
        cjson.decode(json(t)))
      assert.are.equal('["1","2"]', json(pool:run("1l 2l")))
      assert.are.equal('"2024-01-02T10:00:00.000"', json(pool:run("2024.01.02T10:00:00.000")))
      assert.are.equal('[1,null]', json(pool:run { "1 NULL", view = true }))
    end)
  end)
end)
