-- The Lua value layer: mapping rules, typed constructors, printing, precision,
-- NULLs, tables, dictionaries, FFI views and misuse errors.
local ffi = require "ffi"
local ddb = require "dolphindb.value"
local vectors = require "support.vectors"
local hex, unhex, same = vectors.hex, vectors.unhex, vectors.same

local function roundtrip(v, opts) return ddb.decode(ddb.encode(v), 1, opts) end
local function value_h(t, list) return ddb._to_handle(ddb.vector(t, list)) end
local function typebyte(v) return ddb.encode(v):byte(1) end

describe("plain Lua values", function()
  it("map integral numbers to INT within int32 and LONG beyond", function()
    assert.are.equal("04002a000000", hex(ddb.encode(42)))
    assert.are.equal(5, typebyte(2 ^ 31))
    assert.are.equal(5, typebyte(-2 ^ 31))          -- INT's NULL value: sent as LONG
    assert.are.equal(4, typebyte(-2 ^ 31 + 1))
    assert.are.equal(16, typebyte(1.5))
    assert.are.equal(16, typebyte(2 ^ 70))
    assert.are.equal(16, typebyte(0 / 0))
  end)

  it("map booleans, strings, nil and int64 cdata", function()
    assert.are.equal("010001", hex(ddb.encode(true)))
    assert.are.equal("010000", hex(ddb.encode(false)))
    assert.are.equal("120061626300", hex(ddb.encode("abc")))
    assert.are.equal("000001", hex(ddb.encode(nil)))
    assert.are.equal("000001", hex(ddb.encode(ddb.null)))
    assert.are.equal("05000700000000000000", hex(ddb.encode(7LL)))
    assert.are.equal("05000700000000000000", hex(ddb.encode(7ULL)))
  end)

  it("decode back to the same Lua values", function()
    assert.are.equal(42, roundtrip(42))
    assert.are.equal(1.5, roundtrip(1.5))
    assert.are.equal(true, roundtrip(true))
    assert.are.equal("héllo", roundtrip("héllo"))
    assert.is_nil(roundtrip(nil))
    assert.are.equal("cdata", type(roundtrip(2 ^ 40)))
  end)

  it("turn homogeneous arrays into typed vectors and mixed ones into ANY", function()
    assert.are.same({ "INT", "VECTOR" }, { ddb.typeof(roundtrip({ 1, 2, 3 })) })
    assert.are.same({ "LONG", "VECTOR" }, { ddb.typeof(roundtrip({ 1, 2 ^ 40 })) })
    assert.are.same({ "DOUBLE", "VECTOR" }, { ddb.typeof(roundtrip({ 1, 2.5 })) })
    assert.are.same({ "STRING", "VECTOR" }, { ddb.typeof(roundtrip({ "a", "b" })) })
    assert.are.same({ "BOOL", "VECTOR" }, { ddb.typeof(roundtrip({ true, ddb.null })) })
    assert.are.same({ "DATE", "VECTOR" }, { ddb.typeof(roundtrip({ ddb.date("2024.01.02"), ddb.null })) })
    local any = roundtrip({ 1, "a", { 2, 3 } })
    assert.are.same({ "ANY", "VECTOR" }, { ddb.typeof(any) })
    assert.are.same({ "INT", "VECTOR" }, { ddb.typeof(any[3]) })
    assert.are.same({ "ANY", "VECTOR" }, { ddb.typeof(roundtrip({})) })
  end)

  it("turn string-keyed tables into dictionaries", function()
    local d = roundtrip({ b = 2, a = 1 })
    assert.are.same({ "INT", "DICTIONARY" }, { ddb.typeof(d) })
    assert.are.equal(1, d.a)
    assert.are.equal(2, d.b)
    assert.are.same({ "a", "b" }, ddb.keys(d))
  end)
end)

describe("typed constructors", function()
  local cases = {
    { "bool", { true }, "BOOL", "true" }, { "char", { 97 }, "CHAR", "a" },
    { "short", { -3 }, "SHORT", "-3" }, { "int", { 7 }, "INT", "7" },
    { "long", { "123456789012345678" }, "LONG", "123456789012345678" },
    { "float", { 0.5 }, "FLOAT", "0.5" }, { "double", { 0.1 }, "DOUBLE", "0.1" },
    { "date", { "2024.01.02" }, "DATE", "2024.01.02" }, { "month", { "2024.01M" }, "MONTH", "2024.01M" },
    { "time", { "13:30:10.008" }, "TIME", "13:30:10.008" }, { "minute", { "13:30m" }, "MINUTE", "13:30m" },
    { "second", { "13:30:10" }, "SECOND", "13:30:10" },
    { "datetime", { "2024.01.02T13:30:10" }, "DATETIME", "2024.01.02T13:30:10" },
    { "timestamp", { "2024.01.02T13:30:10.008" }, "TIMESTAMP", "2024.01.02T13:30:10.008" },
    { "nanotime", { "13:30:10.008007006" }, "NANOTIME", "13:30:10.008007006" },
    { "nanotimestamp", { "2024.01.02T13:30:10.008007006" }, "NANOTIMESTAMP", "2024.01.02T13:30:10.008007006" },
    { "datehour", { "2024.01.02T13" }, "DATEHOUR", "2024.01.02T13" },
    { "symbol", { "AAPL" }, "SYMBOL", "AAPL" }, { "string", { "x y" }, "STRING", "x y" },
    { "blob", { "\1\0\2" }, "BLOB", "\1\0\2" },
    { "uuid", { "5d212a78-cc48-e3b1-4235-b4d91473ee87" }, "UUID", "5d212a78-cc48-e3b1-4235-b4d91473ee87" },
    { "ipaddr", { "192.168.1.1" }, "IPADDR", "192.168.1.1" },
    { "ipaddr", { "2001:db8::1" }, "IPADDR", "2001:db8:0:0:0:0:0:1" },
    { "int128", { "e1671797c52e15f763380b45e841ec32" }, "INT128", "e1671797c52e15f763380b45e841ec32" },
    { "decimal32", { "3.14", 2 }, "DECIMAL32", "3.14" }, { "decimal64", { -1.5, 4 }, "DECIMAL64", "-1.5000" },
    { "decimal128", { "-12345678901234567890.123", 5 }, "DECIMAL128", "-12345678901234567890.12300" },
    { "duration", { "3d" }, "DURATION", "3d" }, { "duration", { "2XNYS" }, "DURATION", "2XNYS" },
    { "duration", { 10, "H" }, "DURATION", "10H" },
  }
  for _, c in ipairs(cases) do
    it(c[1] .. "(" .. tostring(c[2][1]) .. ") is a " .. c[3] .. " printing as " .. c[4], function()
      local v = ddb[c[1]](unpack(c[2]))
      assert.are.same({ c[3], "SCALAR" }, { ddb.typeof(v) })
      assert.are.equal(c[4], tostring(v))
      assert.are.equal(c[3], v.type)
      local back = roundtrip(v, { typed = true })
      assert.is_true(same(v, back))
      assert.are.equal(hex(ddb.encode(v)), hex(ddb.encode(back)))
    end)
  end

  it("make typed NULLs from nil", function()
    for _, name in ipairs({ "int", "long", "date", "timestamp", "uuid", "double", "bool" }) do
      local v = ddb[name](nil)
      assert.is_true(v:isnull())
      assert.is_true(ddb.isnull(v))
      assert.is_nil(roundtrip(v))                       -- plain mode: NULL is nil
      assert.is_true(roundtrip(v, { typed = true }):isnull())
    end
    assert.are.equal("25000300000000000080", hex(ddb.encode(ddb.decimal32(nil, 3))))
    assert.are.equal("1000ffffffffffffefff", hex(ddb.encode(ddb.double(nil))))
  end)

  it("build vectors, pairs, array vectors, matrices, sets, dicts and tables", function()
    local v = ddb.vector("SYMBOL", { "a", "b", "a" })
    assert.are.same({ "SYMBOL", "VECTOR" }, { ddb.typeof(v) })
    assert.are.same({ "INT", "PAIR" }, { ddb.typeof(ddb.pair("INT", 1, 2)) })
    local av = ddb.arrayvector("INT", { { 1 }, {}, { 2, 3 } })
    assert.are.same({ "INT[]", "VECTOR" }, { ddb.typeof(av) })
    assert.are.equal(0, av[2].n)
    assert.is_true(same(av, roundtrip(av)))
    local m = ddb.matrix("DOUBLE", { { 1, 2 }, { 3, 4 }, { 5, 6 } })
    assert.are.same({ "DOUBLE", "MATRIX" }, { ddb.typeof(m) })
    assert.are.equal(2, m.nrows)
    assert.are.equal(5, m:get(1, 3))
    assert.are.same({ 3, 4, n = 2 }, m:column(2))
    local s = ddb.set("SYMBOL", { "x", "y", "x" })
    assert.are.same({ "SYMBOL", "SET" }, { ddb.typeof(s) })
    assert.is_true(s.x)
    assert.is_nil(s.z)
    local d = ddb.dict("DATE", "DOUBLE", { ["2024.01.02"] = 1.5 })
    assert.are.same({ "DOUBLE", "DICTIONARY" }, { ddb.typeof(d) })
    assert.are.equal(1.5, d["2024.01.02"])
    local dd = ddb.dict("INT", "STRING", { 3, 1, 2 }, { "c", "a", "b" })
    assert.are.same({ 3, 1, 2 }, ddb.keys(dd))
    assert.are.same({ "DOUBLE", "VECTOR" }, { ddb.typeof(ddb.vector("DOUBLE[]", { { 1 } })[1] and ddb.vector("DOUBLE", { 1 })) })
    assert.are.same({ "DECIMAL64", "VECTOR" }, { ddb.typeof(ddb.vector("DECIMAL64(3)", { "1.5" })) })
    assert.are.equal("1.500", tostring(ddb.vector("DECIMAL64", { "1.5" }, 3)[1]))
  end)
end)

describe("temporal values", function()
  it("print as DolphinDB literals, before 1970 too", function()
    assert.are.equal("1969.12.31", tostring(ddb.date(-1)))
    assert.are.equal("1969.12.31T23:59:59.999", tostring(ddb.timestamp(-1)))
    assert.are.equal("1969.12.31T23:59:59.999999999", tostring(ddb.nanotimestamp(-1LL)))
    assert.are.equal("1900.01.01", tostring(ddb.date("1900.01.01")))
    assert.are.equal("1969.12M", tostring(ddb.month(23639)))
  end)

  it("expose the raw epoch count and compare by value", function()
    assert.are.equal(19724, ddb.date("2024.01.02").value)
    assert.are.equal(473379, ddb.datehour("2024.01.02T03").value)
    assert.are.equal(1704165845678LL, ddb.timestamp("2024.01.02T03:24:05.678").value)
    assert.is_true(ddb.date("2024.01.02") == ddb.date(19724))
    assert.is_true(ddb.date("2024.01.01") < ddb.date("2024.01.02"))
    assert.is_false(ddb.date("2024.01.02") == ddb.datetime("2024.01.02T00:00:00"))
  end)

  it("are recognized by their shape", function()
    local shapes = { ["2024.01.02"] = "DATE", ["2024.01M"] = "MONTH", ["13:30:10.008"] = "TIME",
      ["13:30m"] = "MINUTE", ["13:30:10"] = "SECOND", ["2024.01.02T13:30:10"] = "DATETIME",
      ["2024.01.02T13:30:10.008"] = "TIMESTAMP", ["13:30:10.008007006"] = "NANOTIME",
      ["2024.01.02T13:30:10.008007006"] = "NANOTIMESTAMP", ["2024.01.02T13"] = "DATEHOUR" }
    for text, t in pairs(shapes) do
      local v = ddb.temporal(text)
      assert.are.equal(t, v.type)
      assert.are.equal(text, tostring(v))
    end
    assert.has_error(function() ddb.temporal("2024.02.30") end, "dolphindb: not a temporal literal: '2024.02.30'")
  end)

  it("convert to seconds", function()
    assert.are.equal(1704153600, ddb.date("2024.01.02"):seconds())
    assert.are.equal(1704165845.678, ddb.timestamp("2024.01.02T03:24:05.678"):seconds())
    assert.are.equal(48610.008, ddb.time("13:30:10.008"):seconds())
    assert.is_nil(ddb.month("2024.01M"):seconds())
    assert.is_nil(ddb.date(nil):seconds())
  end)

  it("accept only valid literals", function()
    assert.has_error(function() ddb.date("2024.02.30") end, "dolphindb: invalid DATE literal '2024.02.30'")
    assert.has_error(function() ddb.second("25:00:00") end)
    assert.has_error(function() ddb.timestamp("yesterday") end)
    assert.has_error(function() ddb.vector("DATE", { "2024.13.01" }) end)
  end)
end)

describe("64-bit integers", function()
  it("never lose precision", function()
    local big = 9007199254740993LL                      -- 2^53 + 1
    assert.are.equal(big, roundtrip(big))
    assert.are.equal(9223372036854775807LL, roundtrip(9223372036854775807LL))
    local v = roundtrip(ddb.vector("LONG", { big, -big, ddb.null }))
    assert.are.equal(big, v[1])
    assert.are.equal(-big, v[2])
    assert.are.equal(ddb.null, v[3])
    assert.are.equal(1705325410008007006LL, ddb.nanotimestamp("2024.01.15T13:30:10.008007006").value)
  end)

  it("reject numbers a LONG cannot hold", function()
    assert.has_error(function() ddb.long(2 ^ 63) end)
    assert.has_error(function() ddb.long("9223372036854775808") end)
    assert.has_error(function() ddb.long(0.5) end)
    assert.has_error(function() ddb.encode(ddb.vector("LONG", { 18446744073709551615ULL })) end)
  end)
end)

describe("NULL elements", function()
  it("are ddb.null in vectors, with no holes and an explicit n", function()
    local v = ddb.decode(unhex("04010300000001000000010000000200000000000080"))
    assert.are.equal(3, v.n)
    assert.are.equal(3, #v)
    assert.are.equal(ddb.null, v[3])
    for _, t in ipairs({ "BOOL", "CHAR", "SHORT", "INT", "LONG", "FLOAT", "DOUBLE", "DATE", "TIMESTAMP",
                         "UUID", "IPADDR", "INT128", "DECIMAL32(2)", "DECIMAL128(3)", "SYMBOL", "ANY" }) do
      local w = roundtrip(ddb.vector(t, { ddb.null, ddb.null }))
      assert.are.equal(2, w.n)
      if t ~= "SYMBOL" then assert.are.equal(ddb.null, w[1], t) else assert.are.equal("", w[1]) end
    end
  end)

  it("in a SYMBOL vector built from Lua are \"\" (entry 0 of the base); each symbol is in the base once", function()
    local v = ddb.vector("SYMBOL", { n = 7, "b", "a", "b", ddb.null, "", ddb.symbol("a"), nil })
    -- type 145 (with base), rows 7, cols 1, base id 0, 3 entries ("", b, a), indices
    assert.are.equal("9101" .. "07000000" .. "01000000" .. "00000000" .. "03000000" .. "00" .. "6200" .. "6100"
      .. "01000000" .. "02000000" .. "01000000" .. "00000000" .. "00000000" .. "02000000" .. "00000000",
      hex(ddb.encode(v)))
    assert.are.same({ n = 7, "b", "a", "b", "", "", "a", "" }, roundtrip(v))
    assert.has_error(function() ddb.vector("SYMBOL", { "a", 5 }) end, "dolphindb: SYMBOL element 2 is a number")
    -- STRING lists take one pass in C while they hold strings only; anything else is
    -- converted (or refused) in Lua, as before
    assert.are.same({ n = 4, "x", "", "y", "z" }, roundtrip(ddb.vector("STRING", { n = 4, "x", nil, "y", ddb.string("z") })))
    assert.are.same({ n = 3, "x", "", "" }, roundtrip(ddb.vector("STRING", { "x", ddb.null, "" })))
    assert.has_error(function() ddb.vector("STRING", { "a", "b", 5 }) end, "dolphindb: STRING element 3 is a number")
    assert.has_error(function() ddb.vector("STRING", { "a", "x\0y" }) end,
      "dolphindb: element 2 of a STRING contains a zero byte")
    assert.has_error(function() ddb.vector("SYMBOL", { "a", "a", "x\0y" }) end,
      "dolphindb: element 3 of a SYMBOL contains a zero byte")
    local many = {}
    for i = 1, 50000 do many[i] = "s" .. (i % 20000) end
    local back = roundtrip(ddb.vector("SYMBOL", many))
    assert.are.equal(50000, back.n)
    assert.are.equal("s1", back[1])
    assert.are.equal("s0", back[20000])
    assert.are.equal("s9999", back[49999])
  end)

  it("ddb.null is a read-only sentinel", function()
    assert.are.equal("NULL", tostring(ddb.null))
    assert.has_error(function() ddb.null.x = 1 end)
  end)
end)

describe("tables", function()
  local t = ddb.table { { "z", { 1, 2, 3 } }, { "a", { "x", "y", "z" } }, { "m", { 1.5, ddb.null, 3 } } }

  it("keep column order and names", function()
    local back = roundtrip(t)
    assert.are.same({ "z", "a", "m" }, back.colnames)
    assert.are.equal(3, back.n)
    assert.are.equal("y", back:col("a")[2])
    assert.is_nil(back:col("nope"))
    assert.are.same({ "VOID", "TABLE" }, { ddb.typeof(back) })
  end)

  it("iterate rows and turn into a list of row tables (pickleTableToList)", function()
    local seen = {}
    for i, row in t:rows() do seen[i] = row.a end
    assert.are.same({ "x", "y", "z" }, seen)
    local list = t:tolist()
    assert.are.equal(3, list.n)
    assert.are.equal(ddb.null, list[2].m)
    local viaopt = ddb.decode(ddb.encode(t), 1, { pickleTableToList = true })
    assert.are.equal("z", viaopt[3].a)
    assert.are.same(ddb.tolist(t)[1], viaopt[1])
  end)

  it("reject columns of different lengths or bad specs", function()
    assert.has_error(function() ddb.table { { "a", { 1, 2 } }, { "b", { 1 } } } end,
      "dolphindb: table column 2 has 1 rows, column 1 has 2")
    assert.has_error(function() ddb.table {} end)
    assert.has_error(function() ddb.table { { 1, { 1 } } } end)
  end)
end)

describe("FFI views", function()
  it("point at the decoded cells without copying", function()
    local n = 100000
    local ints = {}
    for i = 1, n do ints[i] = i * 3 end
    local v = roundtrip(ddb.vector("INT", ints))
    local p, len = v:ptr()
    assert.are.equal(n, len)
    assert.is_true(ffi.istype("int32_t *", p))
    assert.are.equal(3, p[0])
    assert.are.equal(n * 3, p[n - 1])
    local p2 = ddb.view(v)
    assert.are.equal(ffi.cast("intptr_t", p), ffi.cast("intptr_t", p2))   -- same memory
  end)

  it("stay valid while the column is alive", function()
    local t = roundtrip(ddb.table { { "x", { 1.5, 2.5 } }, { "n", ddb.vector("LONG", { 1, 2 }) } })
    local col = t:col("x")
    t = nil
    collectgarbage()
    collectgarbage()
    local p = col:ptr()
    assert.are.equal(2.5, p[1])
    local lp = ddb.view(roundtrip(ddb.vector("TIMESTAMP", { 5, 6 })))
    assert.is_true(ffi.istype("int64_t *", lp))
  end)

  it("are refused for variable-width vectors", function()
    assert.has_error(function() ddb.vector("STRING", { "a" }):ptr() end,
      "dolphindb: no FFI view for STRING vectors")
    assert.has_error(function() ddb.view({ 1, 2 }) end)
  end)
end)

describe("decode", function()
  it("reads one object at a position and says how many bytes it used", function()
    local two = ddb.encode(1) .. ddb.encode("ab")
    local a, used = ddb.decode(two)
    assert.are.equal(1, a)
    assert.are.equal(6, used)
    local b, used2 = ddb.decode(two, used + 1)
    assert.are.equal("ab", b)
    assert.are.equal(5, used2)
  end)

  it("returns nil and a message for malformed bytes", function()
    local v, err = ddb.decode("\4\0\1")
    assert.is_nil(v)
    assert.is_string(err)
    v, err = ddb.decode("\200\1\0\0\0\0\1\0\0\0")
    assert.is_nil(v)
    assert.is_string(err)
    v, err = ddb.decode("")
    assert.is_nil(v)
  end)

  it("raises for misuse", function()
    assert.has_error(function() ddb.decode({}) end)
    assert.has_error(function() ddb.decode("abc", 10) end)
  end)
end)

describe("misuse", function()
  it("raises clear errors and never crashes", function()
    assert.has_error(function() ddb.encode(print) end, "dolphindb: cannot convert a function to a DolphinDB object")
    local cyc = {}
    cyc[1] = cyc
    assert.has_error(function() ddb.encode(cyc) end, "dolphindb: value nested too deeply (a cycle?)")
    assert.has_error(function() ddb.encode({ 1, a = 2 }) end, "dolphindb: cannot convert a table with mixed key types")
    assert.has_error(function() ddb.int(2 ^ 31) end, "dolphindb: INT out of range: 2147483648")
    assert.has_error(function() ddb.int(1.5) end, "dolphindb: INT cannot hold 1.5")
    assert.has_error(function() ddb.vector("NOPE", {}) end, "dolphindb: unknown type 'NOPE'")
    assert.has_error(function() ddb.vector("INT", { 1, "a" }) end, "dolphindb: INT expected, got string")
    assert.has_error(function() ddb.decimal32("1") end, "dolphindb: DECIMAL32 needs a scale 0..9")
    assert.has_error(function() ddb.decimal32("99999999999", 2) end)
    assert.has_error(function() ddb.vector("STRING", { "a\0b" }) end, "dolphindb: element 1 of a STRING contains a zero byte")
    assert.has_error(function() ddb.arrayvector("STRING", { { "a" } }) end)
    assert.has_error(function() ddb.dict("INT", "DOUBLE", { a = 1 }) end)
    assert.has_error(function() ddb.string(5) end)
    local core = require "dolphindb.core"
    assert.has_error(function() core._obj_format("x") end)
    assert.has_error(function() core._obj_new(1, 200, 1) end)
    assert.has_error(function() core._obj_any({ 1 }, 1) end)
    -- the writers' split: one vector, or a list of them at once (each checked first)
    local v, groups = value_h("INT", { 1, 2, 3 }), value_h("INT", { 1, 0, 1 })
    local parts = core._obj_split({ v, value_h("SYMBOL", { "a", "b", "a" }) }, groups, 2)
    assert.are.same({ n = 1, 2 }, ddb._from_handle(parts[1][1]))
    assert.are.same({ n = 2, 1, 3 }, ddb._from_handle(parts[1][2]))
    assert.are.same({ n = 2, "a", "a" }, ddb._from_handle(parts[2][2]))
    assert.are.same({ n = 2, 1, 3 }, ddb._from_handle(core._obj_split(v, groups, 2)[2]))
    assert.has_error(function() core._obj_split({ v, "x" }, groups, 2) end,
      "bad argument #1 to '_obj_split' (element 2: object handle expected)")
    assert.has_error(function() core._obj_split({ v, value_h("INT", { 1 }) }, groups, 2) end)
    assert.has_error(function() core._obj_split({ v }, groups, 1) end)        -- a group number out of range
    assert.has_error(function() core._obj_symbols({ "a", "a" }, 2, 1) end)    -- repeated
    assert.has_error(function() core._obj_symbols({ "a", 1 }, 2, 1) end)
  end)
end)

describe("decimals", function()
  it("convert to numbers and keep their exact text", function()
    local d = ddb.decimal64("-12345.6789", 4)
    assert.are.equal(-12345.6789, d:tonumber())
    assert.are.equal("-12345.6789", tostring(d))
    local big = ddb.decimal128("123456789012345678901234.5678", 4)
    assert.is_true(math.abs(big:tonumber() - 1.2345678901234568e23) < 1e9)
    assert.are.equal("123456789012345678901234.5678", tostring(roundtrip(big)))
    assert.are.equal("1.01", tostring(ddb.decimal32("1.005", 2)))       -- half away from zero
  end)
end)

describe("the C entry points the pool binding uses", function()
  local core = require "dolphindb.core"

  it("convert arguments and results like encode/decode", function()
    assert.are.equal(42, core._obj_via_c(42))
    assert.are.equal(2 ^ 40, tonumber(core._obj_via_c(2 ^ 40)))
    local t = ddb.table { { "a", { 1, 2 } }, { "d", ddb.vector("DATE", { "2024.01.02", ddb.null }) } }
    assert.is_true(same(t, core._obj_via_c(t)))
    assert.is_nil(core._obj_via_c(nil))
  end)

  it("report conversion errors as nil and a message instead of raising", function()
    local v, err = core._obj_via_c(print)
    assert.is_nil(v)
    assert.are.equal("dolphindb: cannot convert a function to a DolphinDB object", err)
    v, err = core._obj_via_c({ 1, "x", a = 1 })
    assert.is_nil(v)
    assert.matches("mixed key types", err)
  end)
end)

describe("edge cases", function()
  it("build STRING matrices with labels", function()
    local m = ddb.matrix("STRING", { { "a", "b" }, { "c", "d" } }, { collabels = { "x", "y" } })
    assert.are.same({ "STRING", "MATRIX" }, { ddb.typeof(m) })
    assert.are.equal("c", m:get(1, 2))
    assert.is_true(same(m, roundtrip(m)))
    assert.are.equal("x y\n- -\na c\nb d\n", tostring(m))
  end)

  it("round-trip DECIMAL array vectors, DURATION, COMPLEX and POINT vectors", function()
    local av = ddb.arrayvector("DECIMAL32(2)", { { "1.5", ddb.null }, {} })
    local back = roundtrip(av)
    assert.are.equal("1.50", tostring(back[1][1]))
    assert.are.equal(ddb.null, back[1][2])
    assert.are.equal(0, back[2].n)
    assert.are.equal("[3d,2XNYS,]", tostring(roundtrip(ddb.vector("DURATION", { "3d", "2XNYS", ddb.null }))))
    assert.are.equal("[1+2i]", tostring(roundtrip(ddb.vector("COMPLEX", { { 1, 2 } }))))
    assert.are.equal("[(1, 2),]", tostring(roundtrip(ddb.vector("POINT", { { 1, 2 }, ddb.null }))))
    local t = roundtrip(ddb.table { { "a", av }, { "b", { 1, 2 } } })
    assert.are.same({ "DECIMAL32[]", "VECTOR" }, { ddb.typeof(t:col("a")) })
  end)

  it("keep false dictionary values", function()
    local d = roundtrip(ddb.dict("STRING", "BOOL", { a = false, b = true }))
    assert.is_false(d.a)
    assert.is_true(d.b)
  end)

  it("view a whole matrix", function()
    local m = roundtrip(ddb.matrix("INT", { { 1, 2 }, { 3, 4 }, { 5, 6 } }))
    local p, n = m.data:ptr()
    assert.are.equal(6, n)
    assert.are.equal(6, p[5])
  end)

  it("never mix int64 cdata with reals into DOUBLE", function()
    local v = roundtrip({ 2LL ^ 60 + 1, 0.5 })
    assert.are.same({ "ANY", "VECTOR" }, { ddb.typeof(v) })
    assert.are.equal(2LL ^ 60 + 1, v[1])
  end)

  it("reject temporal raw values that do not fit the cell", function()
    assert.has_error(function() ddb.date(2 ^ 40) end, "dolphindb: DATE out of range: 1099511627776")
    assert.has_error(function() ddb.date(-2 ^ 31) end)
  end)

  it("round-trip typed VOID, CHART-free dictionaries with ANY values and nested ANY", function()
    local v = { 1, { "a", { true, ddb.null } }, ddb.dict("STRING", "ANY", { x = { 1, 2 } }) }
    local back = roundtrip(v)
    assert.are.equal("a", back[2][1])
    assert.are.equal(ddb.null, back[2][2][2])
    assert.are.same({ "INT", "VECTOR" }, { ddb.typeof(back[3].x) })
    assert.are.equal(hex(ddb.encode(v)), hex(ddb.encode(back)))
  end)
end)

describe("malformed input", function()
  it("never raises from decode, and whatever decodes re-encodes", function()
    local rows = {}
    for _, row in ipairs(vectors.load("cpp-api.tsv")) do
      if #row.bytes < 2000 then rows[#rows + 1] = row end     -- byte(1, -1) stays small
    end
    math.randomseed(12345)
    local decoded, refused = 0, 0
    for _ = 1, 800 do      -- few: the decoder pre-allocates by declared row counts, slow under ASan
      local bytes = rows[math.random(#rows)].bytes
      local t = { bytes:byte(1, -1) }
      for _ = 1, math.random(1, 4) do
        if #t < 2 then break end
        local at = math.random(#t)
        local r = math.random(3)
        if r == 1 then t[at] = math.random(0, 255)
        elseif r == 2 then table.remove(t, at)
        else t[at] = bit.bxor(t[at], bit.lshift(1, math.random(0, 7))) end
      end
      local mutated = string.char(unpack(t))
      local ok, v, used = pcall(ddb.decode, mutated, 1, { typed = true })
      assert.is_true(ok, v)
      if v == nil and type(used) == "string" then
        refused = refused + 1
      else
        decoded = decoded + 1
        -- What decodes is encodable, except DFS chunk metadata (clients never send it).
        local ok2, err = pcall(ddb.encode, v)
        assert.is_true(ok2 or err == "dolphindb: cannot send a CHUNK object", err)
        assert.are.equal("string", type(tostring(v)))
        assert.is_true(pcall(ddb.decode, mutated))
      end
    end
    assert.is_true(decoded > 50 and refused > 50, ("decoded %d, refused %d"):format(decoded, refused))
  end)
end)

describe("views of big results", function()
  local value = require "dolphindb.value"
  local plain = require("dolphindb.plain").plain
  local N = value._VIEW_CELLS

  local function range(n, f)
    local t = { n = n }
    for i = 1, n do t[i] = f(i) end
    return t
  end
  -- a table of 2 columns, rows x 2 cells, with NULLs
  local function table_bytes(rows)
    return ddb.encode(ddb.table {
      { "id", ddb.vector("INT", range(rows, function(i) return i % 7 == 0 and ddb.null or i end)) },
      { "ts", ddb.vector("TIMESTAMP", range(rows, function(i) return i % 5 == 0 and ddb.null or i * 1000 end)) },
    })
  end
  local function is_view(v) return type(v) == "cdata" and value._is_view(v) end

  it("are what a result of VIEW_CELLS cells or more gets by default, arrays below", function()
    assert.is_true(is_view(roundtrip(ddb.vector("INT", range(N, function(i) return i end)))))
    assert.are.equal("table", type(roundtrip(ddb.vector("INT", range(N - 1, function(i) return i end)))))
    assert.is_true(is_view(ddb.decode(table_bytes(N / 2)).id))          -- rows x columns
    assert.are.equal("table", type(ddb.decode(table_bytes(N / 2 - 1)).id))
    -- view = false: arrays whatever the size; view = true: views whatever the size
    assert.are.equal("table", type(ddb.decode(table_bytes(N), 1, { view = false }).ts))
    assert.is_true(is_view(roundtrip(ddb.vector("INT", { 1, 2 }), { view = true })))
    -- values built by the constructors stay arrays: they are often edited next
    assert.are.equal("table", type(ddb.vector("INT", range(N, function(i) return i end))))
  end)

  it("index, count and iterate like the array form, NULL cells included", function()
    local bytes = table_bytes(N)
    local t, a = ddb.decode(bytes), ddb.decode(bytes, 1, { view = false })
    for _, name in ipairs { "id", "ts" } do
      local v, arr = t[name], a[name]
      assert.are.equal(N, #v)
      assert.are.equal(N, v.n)
      for _, i in ipairs { 1, 5, 7, 35, N } do assert.is_true(same(arr[i], v[i]), name .. "[" .. i .. "]") end
      assert.are.equal(ddb.null, v[7 * 5])
      assert.is_nil(v[0])
      assert.is_nil(v[N + 1])
      assert.is_nil(v[1.5])
      local count, last = 0, 0
      for i, x in ipairs(v) do count, last = count + 1, i; assert.is_not_nil(x) end
      assert.are.equal(N, count)
      assert.are.equal(N, last)
      count = 0
      for _ in pairs(v) do count = count + 1 end
      assert.are.equal(N, count)
      assert.are.equal(ddb.typeof(arr), ddb.typeof(v))
    end
    assert.are.equal(tostring(a), tostring(t))
    assert.are.equal(tostring(a.ts), tostring(t.ts))
    assert.are.same(plain(a), plain(t))
    assert.are.same(plain(a.ts), plain(t.ts))
    assert.are.same(a:row(N), t:row(N))
    assert.are.same(t.id:totable(), a.id)
  end)

  it("are read-only and go back as the decoded bytes", function()
    local bytes = table_bytes(N)
    local t = ddb.decode(bytes)
    assert.has_error(function() t.id[1] = 5 end,
      "dolphindb: a view is read-only (v:totable() gives a copy in the array form)")
    assert.are.equal(hex(bytes), hex(ddb.encode(t)))
    local copy = ddb.table { { "id", t.id }, { "ts", t.ts } }
    assert.are.equal(hex(bytes), hex(ddb.encode(copy)))
    local p, n = t.id:ptr()
    assert.are.equal(N, n)
    assert.are.equal(1, p[0])
  end)

  it("keep their own column alive, as long as they live and no longer", function()
    local t = ddb.decode(table_bytes(N))
    local ts, h = t.ts, value._view_handle(t.ts)
    local gone = setmetatable({ t = t, h = h }, { __mode = "v" })
    t, h = nil, nil
    collectgarbage(); collectgarbage()
    assert.is_nil(gone.t)                       -- the table went; its column stays readable
    assert.are.equal(N * 1000, tonumber(ts[N].value))
    assert.is_not_nil(gone.h)
    ts = nil
    collectgarbage(); collectgarbage()
    assert.is_nil(gone.h)                       -- the view went: its handle (the memory) too
  end)
end)

describe("table columns by name", function()
  it("t.name and t[name] give the column; the table's own fields and methods win", function()
    local t = ddb.table { { "px", { 1.5, 2.5 } }, { "n", { 7, 8 } }, { "rows", { 1, 2 } } }
    assert.are.equal(2.5, t.px[2])
    assert.are.equal(1.5, t["px"][1])
    assert.are.equal(2, t.n)                    -- the row count, not the column n
    assert.are.equal(8, t:col("n")[2])
    assert.are.equal("function", type(t.rows))
    assert.is_nil(t.nosuch)
    assert.is_nil(t[1])
  end)
end)
