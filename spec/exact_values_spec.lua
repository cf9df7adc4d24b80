-- Exact data both ways (issue 12, part 4): values that once changed on the way in or out.
--   * DECIMAL matrices keep their columns (decoder, and ddbmini's upload through it);
--   * typed scalars below the top level of a constructed value keep their type;
--   * dictionary and set keys of temporal types outside years 0000-9999 go back;
--   * -0.0 stays a DOUBLE; ddb.duration(nil) is the DURATION NULL.
local ddb = require "dolphindb"
local served = require "support.served"

local function hex(s) return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end)) end
local function unhex(h) return (h:gsub("%s", ""):gsub("..", function(x) return string.char(tonumber(x, 16)) end)) end

local function typed(bytes)
  local v, used = ddb.decode(bytes, 1, { typed = true })
  assert(v, used)
  assert.are.equal(#bytes, used)
  return v
end

-- 2 x 3 DECIMAL32(2) matrix, cells 0.01 .. 0.06 (docs/PROTOCOL.md §4.11: rows, cols, scale, cells)
local DEC_MATRIX = unhex("2503 00 2503 02000000 03000000 02000000"
  .. "01000000 02000000 03000000 04000000 05000000 06000000")

describe("DECIMAL matrices", function()
  it("decode with every column", function()
    for _, opts in ipairs { {}, { typed = true }, { view = true } } do
      local m = assert(ddb.decode(DEC_MATRIX, 1, opts))
      assert.are.equal(2, m.nrows)
      assert.are.equal(3, m.ncols)
      assert.are.equal("0.06", tostring(m:get(2, 3)))
      assert.are.equal(hex(DEC_MATRIX), hex(ddb.encode(m)))
    end
  end)

  it("built with ddb.matrix, encode and decode with every column", function()
    for _, t in ipairs { "DECIMAL32(2)", "DECIMAL64(4)", "DECIMAL128(20)" } do
      local m = ddb.matrix(t, { { "1.5", "2.5" }, { "3.5", ddb.null }, { "-4", "5" } })
      assert.are.equal(3, m.ncols)
      local back = assert(ddb.decode(ddb.encode(m)))
      assert.are.equal(2, back.nrows, t)
      assert.are.equal(3, back.ncols, t)
      assert.are.equal(tostring(m:get(1, 3)), tostring(back:get(1, 3)), t)
      assert.are.equal(hex(ddb.encode(m)), hex(ddb.encode(back)), t)
    end
  end)

  it("with rows but no columns decode as an empty matrix, not an internal error", function()
    for _, h in ipairs { "2503 00 2503 02000000 00000000 02000000", "2603 00 2603 05000000 00000000 00000000",
                         "2703 00 2703 01000000 00000000 07000000" } do
      local bytes = unhex(h)
      for _, opts in ipairs { {}, { typed = true }, { view = true } } do
        local m, err = ddb.decode(bytes, 1, opts)
        assert(m, err)
        assert.are.equal(0, m.ncols)
        assert.are.equal((h:gsub(" ", "")), hex(ddb.encode(m)))
      end
    end
  end)
end)

describe("typed scalars nested in constructed values", function()
  local elems = {
    { ddb.char(7), "0200 07" }, { ddb.short(-3), "0300 fdff" }, { ddb.float(1.5), "0f00 0000c03f" },
    { ddb.double(2), "1000 0000000000000040" }, { ddb.double(-0.0), "1000 0000000000000080" },
    { ddb.int(nil), "0400 00000080" }, { ddb.blob("a\0b"), "2000 03000000 610062" },
    { ddb.symbol("s"), "1100 7300" }, { ddb.date(nil), "0600 00000080" },
  }

  local function check(v, elem_hex, what)
    local got = hex(ddb.encode(v))
    assert(got:find(elem_hex:gsub(" ", ""), 1, true), what .. ": " .. got .. " lacks " .. elem_hex)
    -- and once more through a typed decode: the same bytes again
    assert.are.equal(got, hex(ddb.encode(typed(ddb.encode(v)))), what)
  end

  it("keep their type as values of ddb.dict(k, 'ANY', ...)", function()
    for i, e in ipairs(elems) do
      check(ddb.dict("STRING", "ANY", { k = e[1] }), e[2], "map " .. i)
      check(ddb.dict("INT", "ANY", { 1, 2 }, { e[1], 5 }), e[2], "lists " .. i)
    end
  end)

  it("keep their type in ANY columns of ddb.table", function()
    for i, e in ipairs(elems) do
      local t = ddb.table { { "a", { e[1], true } } }
      assert.are.equal("ANY", (ddb.typeof(t.columns[1])))
      check(t, e[2], "column " .. i)
    end
  end)

  it("keep their type in ANY vectors inside ANY vectors", function()
    for i, e in ipairs(elems) do
      local inner = ddb.vector("ANY", { e[1], 1 })
      check(ddb.vector("ANY", { inner, "x" }), e[2], "nested " .. i)
      check(ddb.vector("ANY", { ddb.vector("ANY", { inner }) }), e[2], "twice nested " .. i)
    end
  end)

  it("stay plain Lua values where those are sent as the same type", function()
    local v = ddb.vector("ANY", { ddb.int(5), 2.5, "s", true, ddb.long(3) })
    assert.are.equal(5, v[1])
    assert.are.equal(2.5, v[2])
    assert.are.equal("s", v[3])
    assert.are.equal(true, v[4])
    assert.are.equal(3LL, v[5])
    assert.are.equal("FLOAT", ddb.vector("ANY", { ddb.float(1) })[1].type)
  end)
end)

describe("temporal dictionary and set keys outside years 0000-9999", function()
  -- MONTH 120001 is 10000.02M, DATE -800000 is in year -221, TIMESTAMP past 9999 too
  local cases = {
    "0405 0701 02000000 01000000 c1d40100 f3ffffff 0401 02000000 01000000 01000000 02000000",
    "0405 0601 01000000 01000000 00cbf3ff 0401 01000000 01000000 07000000",
    "0c04 0c01 02000000 01000000 0080c6a47e8d0300 00c0d5dfc1c4ffff",
    "0704 0701 01000000 01000000 ffffff7f",
  }

  it("go back as the same cells (their text does not parse back)", function()
    for _, h in ipairs(cases) do
      local bytes = unhex(h)
      for _, opts in ipairs { {}, { typed = true } } do
        local d = assert(ddb.decode(bytes, 1, opts))
        assert.are.equal((h:gsub(" ", "")), hex(ddb.encode(d)))
      end
    end
  end)

  it("built with ddb.set and ddb.dict from typed scalars", function()
    local s = ddb.set("MONTH", { ddb.month(120001), ddb.month(-13) })
    assert.are.equal("0704" .. "0701" .. "02000000" .. "01000000" .. "c1d40100" .. "f3ffffff", hex(ddb.encode(s)))
    local d = ddb.dict("DATE", "INT", { ddb.date(-800000) }, { 7 })
    assert.are.equal((cases[2]:gsub(" ", "")), hex(ddb.encode(d)))
  end)
end)

describe("plain numbers", function()
  it("-0.0 is sent as DOUBLE -0.0, both ways", function()
    assert.are.equal("10000000000000000080", hex(ddb.encode(-0.0)))
    local back = ddb.decode(ddb.encode(-0.0))
    assert.are.equal("10000000000000000080", hex(ddb.encode(back)))
    assert.are.equal("DOUBLE", (ddb.typeof({ 0, -0.0 })))
    assert.are.equal("040000000000", hex(ddb.encode(0.0)))   -- +0 is an integer like any other
  end)

  it("an integral DOUBLE scalar comes back as a number sent as INT (documented); typed keeps it", function()
    local bytes = unhex("1000 0000000000000040")
    assert.are.equal("040002000000", hex(ddb.encode(ddb.decode(bytes))))
    assert.are.equal("10000000000000000040", hex(ddb.encode(ddb.decode(bytes, 1, { typed = true }))))
  end)

  it("a Lua string holding a zero byte is sent as a BLOB (a STRING cannot hold one)", function()
    assert.are.equal("2000" .. "03000000" .. "610062", hex(ddb.encode("a\0b")))
    assert.are.equal("BLOB", (ddb.typeof({ "x", "a\0b" })))
    -- so a plain decode of a BLOB scalar with a zero byte can be sent back
    local blob = ddb.encode(ddb.blob("\0\1"))
    assert.are.equal(hex(blob), hex(ddb.encode(ddb.decode(blob))))
    assert.are.equal(hex(blob), hex(ddb.encode(ddb.decode(ddb.encode(ddb.vector("ANY", { ddb.blob("\0\1") })))[1])))
  end)

  it("DECIMAL array vector type names take a scale: 'DECIMAL32(2)[]'", function()
    local av = ddb.vector("DECIMAL32(2)[]", { { "1.5" }, {} })
    assert.are.equal("DECIMAL32[]", (ddb.typeof(av)))
    assert.are.equal("1.50", tostring(av[1][1]))
  end)

  -- docs/API.md's table of what the plain mapping loses, row by row, at the top level
  -- and inside an ANY vector; typed = true keeps every one
  it("the plain mapping loses exactly what docs/API.md lists", function()
    local rows = {
      { ddb.char(5), "INT" }, { ddb.short(5), "INT" }, { ddb.float(1.5), "DOUBLE" },
      { ddb.float(2), "INT" }, { ddb.double(2), "INT" }, { ddb.double(2 ^ 40), "LONG" },
      { ddb.double(-0.0), "DOUBLE" }, { ddb.double(0.5), "DOUBLE" }, { ddb.symbol("s"), "STRING" },
      { ddb.blob("ab"), "STRING" }, { ddb.blob("a\0"), "BLOB" }, { ddb.int(nil), "VOID" },
      { ddb.date(nil), "VOID" }, { ddb.date(1), "DATE" }, { ddb.long(7), "LONG" },
    }
    for _, r in ipairs(rows) do
      local bytes = ddb.encode(r[1])
      assert.are.equal(r[2], ddb.decode(ddb.encode(ddb.decode(bytes)), 1, { typed = true }).type, r[1].type)
      local any = ddb.encode(ddb.vector("ANY", { r[1] }))
      assert.are.equal(r[2], ddb.decode(ddb.encode(ddb.decode(any)), 1, { typed = true })[1].type, r[1].type .. " in ANY")
      assert.are.equal(hex(bytes), hex(ddb.encode(ddb.decode(bytes, 1, { typed = true }))))
      assert.are.equal(hex(any), hex(ddb.encode(ddb.decode(any, 1, { typed = true }))))
    end
  end)

  it("ddb.duration(nil) and ddb.duration(ddb.null) are the DURATION NULL", function()
    for _, v in ipairs { ddb.duration(nil), ddb.duration(ddb.null) } do
      assert.are.equal("DURATION", v.type)
      assert.is_true(ddb.isnull(v))
      assert.are.equal("2400" .. "00000080" .. "00000000", hex(ddb.encode(v)))
    end
  end)
end)

describe("through ddbmini's echo", function()
  local server, pool
  setup(function() server, pool = served.start(1) end)
  teardown(function() served.stop(server, pool) end)

  it("a DECIMAL matrix uploads and comes back with every column", function()
    local m = pool:run { "echo", ddb.decode(DEC_MATRIX), typed = true }
    assert.are.equal(3, m.ncols)
    assert.are.equal(hex(DEC_MATRIX), hex(ddb.encode(m)))
  end)

  it("typed scalars in a constructed dictionary and temporal keys past 9999 come back", function()
    local d = ddb.dict("STRING", "ANY", { c = ddb.char(1), b = ddb.blob("x\0y"), n = ddb.int(nil) })
    local got = pool:run { "echo", d, typed = true }
    assert.are.equal("CHAR", got.c.type)
    assert.are.equal("x\0y", got.b.value)
    assert.are.equal("INT", got.n.type)
    local s = ddb.set("MONTH", { ddb.month(120001) })
    local back = pool:run("echo", s)
    assert.are.equal(hex(ddb.encode(s)), hex(ddb.encode(back)))
  end)
end)
