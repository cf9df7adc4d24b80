-- Every row of the official byte vectors (tests/vectors/cpp-api.tsv) goes to ddbmini
-- as a function argument over a real socket and comes back: pool:run{"echo", value,
-- typed = true} (echo is ddbmini's identity function). The value sent is the row
-- decoded with {typed = true}, which keeps every scalar's DolphinDB type, and the
-- result comes back typed as well, so the comparison is byte for byte: encode(result)
-- must equal the row's own bytes. The README's exceptions are compared by value:
-- dictionaries and sets (ddbmini may write them in its own hash order) as maps/sets.
local ddb = require "dolphindb"
local vectors = require "support.vectors"
local served = require "support.served"

local rows = vectors.load("cpp-api.tsv")

local function typed(bytes)
  local v, used = ddb.decode(bytes, 1, { typed = true })
  assert.are.equal(#bytes, used, "the row must decode completely")
  return v
end

-- Hash-ordered forms: their bytes may legitimately differ in element order.
local function unordered(id) return id:match("^dict_") ~= nil or id:match("^set_") ~= nil end

-- Asserts that `got` (what came back) is the row's value: its encoding equals the
-- row's bytes exactly, or for dictionaries/sets, it is the same map/set and encodes
-- to the same number of bytes.
local function assert_row_value(row, got, where)
  local label = row.id .. (where and (" " .. where) or "")
  local again = vectors.hex(ddb.encode(got))
  if unordered(row.id) then
    local same, diff = vectors.same(typed(row.bytes), got)
    assert(same, label .. ": came back as a different map/set: " .. tostring(diff))
    assert.are.equal(#row.hex, #again, label .. ": same elements must give the same size")
    -- decoding what came back and comparing again checks the returned bytes too
    local same2, diff2 = vectors.same(typed(row.bytes), typed(vectors.unhex(again)))
    assert(same2, label .. ": " .. tostring(diff2))
  else
    assert.are.equal(row.hex, again, label .. ": bytes after the round trip")
  end
end

describe("round trip of every cpp-api.tsv row through ddbmini's echo", function()
  local server, pool

  setup(function() server, pool = served.start(4) end)
  teardown(function() served.stop(server, pool) end)

  it("loads all 97 rows", function()
    assert.are.equal(97, #rows)
  end)

  it("keeps every scalar's type in the value that is sent (typed decode re-encodes exactly)", function()
    for _, row in ipairs(rows) do
      assert.are.equal(row.hex, vectors.hex(ddb.encode(typed(row.bytes))), row.id)
    end
  end)

  for _, row in ipairs(rows) do
    it(row.id .. " (" .. row.description .. ")", function()
      local value = typed(row.bytes)
      local got = pool:run { "echo", value, typed = true }
      assert_row_value(row, got)
    end)
  end

  it("all rows at once over the 4 connections (runTaskAsync, typed futures)", function()
    local futures = {}
    for i, row in ipairs(rows) do
      futures[i] = pool:runTaskAsync { "echo", typed(row.bytes), typed = true }
    end
    for i, row in ipairs(rows) do
      assert_row_value(row, futures[i]:result(30), "(concurrent)")
    end
  end)

  -- The ANY vector is assembled from the rows' own bytes (flag 0x0119, rows, cols = 1,
  -- then each element's bytes), so every element keeps its exact type.
  local any_ids = { "scalar_char", "scalar_short", "scalar_float", "scalar_blob", "null_int",
                    "scalar_decimal128", "scalar_uuid", "scalar_ipaddr_v6", "scalar_nanotimestamp",
                    "vec_string_unicode", "vec_decimal64", "vec_blob", "pair_string", "matrix_int" }
  local function any_bytes(ids)
    local le32 = function(n) return string.char(n % 256, math.floor(n / 256) % 256, 0, 0) end
    local parts = { "\025\001", le32(#ids), le32(1) }
    for _, id in ipairs(ids) do parts[#parts + 1] = assert(rows[id], id).bytes end
    return table.concat(parts)
  end

  it("rows as elements of one ANY vector come back element for element", function()
    local bytes = any_bytes(any_ids)
    local sent = typed(bytes)
    assert.are.equal(vectors.hex(bytes), vectors.hex(ddb.encode(sent)), "the ANY vector as sent")
    local got = pool:run { "echo", sent, typed = true }
    assert.are.equal(vectors.hex(bytes), vectors.hex(ddb.encode(got)), "the ANY vector as received")
    assert.are.equal("ANY", (ddb.typeof(got)))
    assert.are.equal(#any_ids, #got)
    for i, id in ipairs(any_ids) do
      assert.are.equal(rows[id].hex, vectors.hex(ddb.encode(got[i])), id .. " inside ANY")
    end
  end)

  it("ddb.vector('ANY', ...) keeps typed scalars' types on the wire", function()
    for _, id in ipairs({ "scalar_char", "scalar_short", "scalar_float", "scalar_blob", "null_int",
                          "scalar_date", "scalar_decimal32" }) do
      local elem = typed(assert(rows[id], id).bytes)
      local any = ddb.vector("ANY", { elem })
      assert.are.equal("190101000000" .. "01000000" .. rows[id].hex, vectors.hex(ddb.encode(any)), id)
      local got = pool:run { "echo", any, typed = true }
      assert.are.equal(rows[id].hex, vectors.hex(ddb.encode(got[1])), id .. " after echo")
    end
  end)

  it("rows as the columns of one table come back column for column", function()
    local ids = { "vec_bool", "vec_char", "vec_short", "vec_int", "vec_long", "vec_float",
                  "vec_double", "vec_date", "vec_string", "vec_blob", "vec_ipaddr", "vec_decimal32" }
    local spec = {}
    for i, id in ipairs(ids) do spec[i] = { id, typed(assert(rows[id], id).bytes) } end
    local sent = ddb.table(spec)
    local got = pool:run { "echo", sent, typed = true }
    assert.are.equal(vectors.hex(ddb.encode(sent)), vectors.hex(ddb.encode(got)), "the whole table")
    local cols = got.columns
    assert.are.equal(#ids, #cols)
    for i, id in ipairs(ids) do
      assert.are.equal(rows[id].hex, vectors.hex(ddb.encode(cols[i])), "column " .. id)
    end
  end)

  it("typed = true keeps what the plain mapping loses (CHAR, FLOAT, BLOB, NULL scalars)", function()
    for _, id in ipairs { "scalar_char", "scalar_float", "scalar_blob", "null_int" } do
      local value = typed(rows[id].bytes)
      local plain = pool:run("echo", value)
      assert.are_not.equal(rows[id].hex, plain == nil and "" or vectors.hex(ddb.encode(plain)), id)
      assert.are.equal(rows[id].hex, vectors.hex(ddb.encode(pool:run { "echo", value, typed = true })), id)
    end
  end)

  -- The comparison itself must catch corruption: a value one bit away from the row
  -- (as if ddbmini or the codec flipped a payload bit) must fail it, for the byte
  -- comparison and for the map comparison of dictionaries alike.
  it("fails when one payload bit differs (byte and map comparison)", function()
    for _, id in ipairs { "scalar_int", "vec_double", "dict_string_int", "set_int" } do
      local b = rows[id].bytes
      local flipped = b:sub(1, -2) .. string.char(bit.bxor(b:byte(-1), 1))
      local got = pool:run { "echo", typed(flipped), typed = true }
      assert.is_false(pcall(assert_row_value, rows[id], got), id)
    end
  end)

  it("rejects a non-boolean typed option", function()
    assert.has_error(function() pool:run { "echo", 1, typed = 1 } end,
      "dolphindb: run: option 'typed' must be a boolean, got 1")
  end)
end)
