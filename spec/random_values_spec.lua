-- Differential test of the Lua values on seeded random objects of every form (scalar,
-- vector, pair, matrix with labels, set, dictionary, table, ANY vectors nested, array
-- vectors) and type (integers, floats incl. -0.0, every temporal type with values far
-- outside years 0000-9999, DECIMAL32/64/128, UUID/IPADDR/INT128, DURATION, COMPLEX,
-- POINT, STRING/SYMBOL/BLOB with zero bytes, NULLs), built with the constructors.
--
-- For each value v: its bytes B = ddb.encode(v) must come back unchanged from
-- ddb.decode(B, 1, {typed = true}) and from {typed = true, view = true}, and the
-- decoded value must have the shape and types the generator meant (a signature made
-- from the generator's own scalars: a CHAR given to an ANY container is still a CHAR
-- there). The plain mapping may lose widths (documented); it must lose nothing on a
-- second trip. A share of the values goes through ddbmini's echo over a socket.
-- Object i is made from seed BASE + i (DDB_RANDOM_SEED sets BASE); failures name it.
local ddb = require "dolphindb"
local ffi = require "ffi"
local ddbmini = require "support.ddbmini"

local BASE = tonumber(os.getenv("DDB_RANDOM_SEED") or "") or 20261206
local COUNT = tonumber(os.getenv("DDB_RANDOM_COUNT") or "") or 1500

local function hex(s) return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end)) end

---------------------------------------------------------------- random values

local R = math.random
local function pick(list) return list[R(#list)] end
local function chance(p) return R() < p end

local TYPES = { "BOOL", "CHAR", "SHORT", "INT", "LONG", "DATE", "MONTH", "TIME", "MINUTE", "SECOND",
  "DATETIME", "TIMESTAMP", "NANOTIME", "NANOTIMESTAMP", "DATEHOUR", "FLOAT", "DOUBLE", "UUID",
  "IPADDR", "INT128", "DURATION", "COMPLEX", "POINT", "DECIMAL32", "DECIMAL64", "DECIMAL128",
  "STRING", "SYMBOL", "BLOB" }
local TEXT = { STRING = true, SYMBOL = true, BLOB = true }
local FIXED = {}
for _, t in ipairs(TYPES) do if not TEXT[t] then FIXED[#FIXED + 1] = t end end
-- Key types: no floats (-0.0 and 0 are one Lua key, NaN none) and no decimals (keys
-- carry no scale of their own in ddb.dict).
local KEY_TYPES = {}
for _, t in ipairs(TYPES) do
  if not t:match("^DECIMAL") and t ~= "FLOAT" and t ~= "DOUBLE" and t ~= "COMPLEX" and t ~= "POINT" then
    KEY_TYPES[#KEY_TYPES + 1] = t
  end
end
local MAX_SCALE = { DECIMAL32 = 9, DECIMAL64 = 18, DECIMAL128 = 38 }
local DEC_DIGITS = { DECIMAL32 = 9, DECIMAL64 = 18, DECIMAL128 = 38 }
local I32 = { DATE = true, MONTH = true, TIME = true, MINUTE = true, SECOND = true,
  DATETIME = true, DATEHOUR = true, INT = true }

local function int64()
  local v = ffi.new("int64_t", R(0, 2 ^ 31 - 1)) * 4294967296LL + R(0, 2 ^ 31 - 1) * 2
  if chance(0.5) then v = -v end
  return v
end

local function number()
  if chance(0.15) then return -0.0 end
  if chance(0.3) then return R(-1000, 1000) end
  return (R() - 0.5) * 10 ^ R(-3, 12)
end

local function text(blob)
  local b = {}
  for i = 1, R(0, 10) do b[i] = string.char(blob and chance(0.1) and 0 or R(1, 255)) end
  return table.concat(b)
end

local function hexdigits(n)
  local b = {}
  for i = 1, n do b[i] = ("%x"):format(R(0, 15)) end
  return table.concat(b)
end

local function decimal_text(t, scale)
  local digits = ""
  for _ = 1, R(1, DEC_DIGITS[t]) do digits = digits .. R(0, 9) end
  digits = digits:gsub("^0+(%d)", "%1")
  if #digits > scale then
    digits = digits:sub(1, #digits - scale) .. (scale > 0 and "." .. digits:sub(-scale) or "")
  else
    digits = "0." .. ("0"):rep(scale - #digits) .. digits
  end
  return (chance(0.5) and "-" or "") .. digits
end

-- A raw cell value for `t`, as the constructors and ddb.vector accept it.
local function raw(t, scale)
  if t == "BOOL" then return chance(0.5) end
  if t == "CHAR" then return R(-127, 127) end
  if t == "SHORT" then return R(-32767, 32767) end
  if I32[t] then return R(-2147483647, 2147483647) end
  if t == "LONG" or t == "TIMESTAMP" or t == "NANOTIME" or t == "NANOTIMESTAMP" then return int64() end
  if t == "FLOAT" or t == "DOUBLE" then return number() end
  if t == "UUID" then
    local h = hexdigits(32)
    return ("%s-%s-%s-%s-%s"):format(h:sub(1, 8), h:sub(9, 12), h:sub(13, 16), h:sub(17, 20), h:sub(21))
  end
  if t == "IPADDR" then return ("%d.%d.%d.%d"):format(R(1, 255), R(0, 255), R(0, 255), R(0, 255)) end
  if t == "INT128" then return ("%x"):format(R(1, 15)) .. hexdigits(31) end
  if t == "DURATION" then return R(1, 100000) .. pick { "ns", "us", "ms", "s", "m", "H", "d", "w", "M", "y" } end
  if t == "COMPLEX" or t == "POINT" then return { number(), number() } end
  if MAX_SCALE[t] then return decimal_text(t, scale) end
  return text(t == "BLOB")
end

local function tname(t, scale) return MAX_SCALE[t] and ("%s(%d)"):format(t, scale) or t end
local function any_scale(t) return MAX_SCALE[t] and R(0, MAX_SCALE[t]) or nil end

-- A typed scalar of `t` (NULL now and then) made by its constructor.
local function typed_scalar(t)
  local scale = any_scale(t)
  local ctor = ddb[t:lower()]
  if chance(0.1) then return MAX_SCALE[t] and ctor(nil, scale) or ctor(nil) end
  if MAX_SCALE[t] then return ctor(raw(t, scale), scale) end
  return ctor(raw(t))
end

local function list_of(t, n, scale, nulls)
  local l = { n = n }
  for i = 1, n do l[i] = (nulls and chance(0.1)) and ddb.null or raw(t, scale) end
  return l
end

-- Each generator returns the value and its intended signature (see sig below): for
-- ANY containers it is made from the generator's own elements, so a typed scalar
-- the constructor read back as a plain value of another type shows up.
local gen, sig, scalar_sig

local function gen_vector(t, n)
  local scale = any_scale(t)
  local v = ddb.vector(tname(t, scale), list_of(t, n or R(0, 6), scale, true))
  return v, sig(v)
end

local function gen_elems(depth, n)
  local l, sigs = { n = n }, {}
  for i = 1, n do l[i], sigs[i] = gen(depth + 1) end
  return l, sigs
end

local function gen_any(depth, n)
  local l, sigs = gen_elems(depth, n or R(0, 4))
  return ddb.vector("ANY", l), "ANY(" .. table.concat(sigs, ",") .. ")"
end

-- Distinct keys of type t (as their cells: the text of two raw values may agree).
local function distinct_keys(t, n)
  local keys, seen = { n = 0 }, {}
  for _ = 1, n do
    local k = raw(t)
    local text = tostring(ddb[t:lower()](k))
    if not seen[text] then seen[text] = true; keys.n = keys.n + 1; keys[keys.n] = k end
  end
  return keys
end

local function dict_sig(vt, value_sigs)
  table.sort(value_sigs)
  return "DICT " .. vt .. "{" .. table.concat(value_sigs, ",") .. "}"
end

local function gen_table(depth)
  local rows = R(0, 4)
  local spec, sigs = {}, {}
  for c = 1, R(1, 4) do
    local col, csig
    if chance(0.3) and rows > 0 then
      local l = { n = rows }                       -- a plain list of typed scalars: ANY
      local esigs = {}
      for r = 1, rows do l[r] = typed_scalar(pick(TYPES)); esigs[r] = scalar_sig(l[r]) end
      col, csig = l, "ANY(" .. table.concat(esigs, ",") .. ")"
    elseif chance(0.15) then
      local t = pick(FIXED)
      local scale = any_scale(t)
      local rl = {}
      for r = 1, rows do rl[r] = list_of(t, R(0, 3), scale, true) end
      col = ddb.arrayvector(tname(t, scale) .. "[]", rl)
    else
      col, csig = gen_vector(pick(TYPES), rows)
    end
    spec[c], sigs[c] = { "c" .. c, col }, csig or false
  end
  local t = ddb.table(spec)
  for c = 1, #spec do
    -- a list of one type and scale becomes a typed vector, which keeps its type anyway
    if not sigs[c] or ddb.typeof(t.columns[c]) ~= "ANY" then sigs[c] = sig(t.columns[c]) end
    sigs[c] = "c" .. c .. "=" .. sigs[c]
  end
  return t, "TABLE(" .. table.concat(sigs, ",") .. ")"
end

-- ANY elements: typed scalars mostly (the nested case the constructors once lost),
-- plain Lua values, NULLs, and whole objects further down.
function gen(depth)
  local k = depth >= 3 and R(1, 3) or R(1, 10)
  if k == 1 or k == 3 then
    local s = typed_scalar(pick(TYPES))
    return s, scalar_sig(s)
  end
  if k == 2 then
    local p = pick { R(-100, 100), number(), text(), text(true), true, int64(), ddb.null }
    return p, scalar_sig(p)
  end
  if k == 4 then return gen_vector(pick(TYPES)) end
  if k == 5 then return gen_any(depth) end
  if k == 6 then
    local kt = pick(KEY_TYPES)
    local keys = distinct_keys(kt, R(0, 4))
    local vals, vsigs = gen_elems(depth, keys.n)
    return ddb.dict(kt, "ANY", keys, vals), dict_sig("ANY", vsigs)
  end
  if k == 7 then
    local t = pick(KEY_TYPES)
    local v = ddb.set(t, list_of(t, R(0, 5)))
    return v, sig(v)
  end
  if k == 8 then return gen_table(depth) end
  local v
  if k == 9 then
    local t = pick(TYPES)
    local scale = any_scale(t)
    local nrows, cols = R(0, 3), {}
    for c = 1, R(1, 3) do cols[c] = list_of(t, nrows, scale, true) end
    local labels = chance(0.3) and { rowlabels = (gen_vector(pick(KEY_TYPES), nrows)) } or nil
    v = ddb.matrix(tname(t, scale), cols, labels)
  else
    local t = pick(FIXED)
    local scale = any_scale(t)
    local rows = {}
    for r = 1, R(0, 4) do rows[r] = list_of(t, R(0, 3), scale, true) end
    v = ddb.arrayvector(tname(t, scale) .. "[]", rows)
  end
  return v, sig(v)
end

-- A top-level value: every form, including pairs and plain scalars.
local function top()
  local k = R(1, 12)
  if k == 11 then
    local t = pick(TYPES)
    local scale = any_scale(t)
    local v = ddb.pair(tname(t, scale), raw(t, scale), chance(0.2) and ddb.null or raw(t, scale))
    return v, sig(v)
  end
  if k == 12 then return gen_any(0, R(1, 6)) end
  return gen(0)
end

---------------------------------------------------------------- signatures

-- Shape and types of a value: typed scalars by type and text, plain values by the
-- type they are sent as, ANY containers and tables by their parts, dictionaries by
-- their values' signatures (sorted; the keys are checked by the bytes), everything
-- else by type, form and text.
function scalar_sig(s)
  if type(s) ~= "table" or not s.type then     -- a plain value: the type it is sent as
    s = assert(ddb.decode(ddb.encode(s ~= ddb.null and s or nil), 1, { typed = true }))
  end
  return s.type .. ":" .. tostring(s)
end

function sig(v)
  local t, form = ddb.typeof(v)
  if form == "SCALAR" then return scalar_sig(v) end
  if form == "VECTOR" and t == "ANY" then
    local parts = {}
    for i = 1, v.n do parts[i] = sig(v[i]) end
    return "ANY(" .. table.concat(parts, ",") .. ")"
  end
  if form == "TABLE" then
    local parts = {}
    for i, name in ipairs(v.colnames) do parts[i] = name .. "=" .. sig(v.columns[i]) end
    return "TABLE(" .. table.concat(parts, ",") .. ")"
  end
  if form == "DICTIONARY" then
    local parts = {}
    for _, k in ipairs(ddb.keys(v)) do parts[#parts + 1] = sig(v[k]) end
    return dict_sig(t, parts)
  end
  return form .. " " .. tostring(t) .. " " .. tostring(v)
end

---------------------------------------------------------------- the test

local function seeded(i)
  local seed = BASE + i
  math.randomseed(seed)
  return seed
end

describe("random values (seed " .. BASE .. ", " .. COUNT .. " objects)", function()
  local values = {}

  setup(function()
    for i = 0, COUNT - 1 do
      local seed = seeded(i)
      local ok, v, intent = pcall(top)
      assert(ok, ("seed %d: the generator failed: %s"):format(seed, tostring(v)))
      values[i + 1] = { seed = seed, value = v, bytes = ddb.encode(v), sig = intent }
    end
  end)

  it("re-encode byte for byte after a typed decode, and keep their types", function()
    for _, c in ipairs(values) do
      local got, used = ddb.decode(c.bytes, 1, { typed = true })
      assert(got, ("seed %d: %s"):format(c.seed, tostring(used)))
      assert.are.equal(#c.bytes, used, "seed " .. c.seed)
      assert.are.equal(hex(c.bytes), hex(ddb.encode(got)), "seed " .. c.seed)
      assert.are.equal(c.sig, sig(got), "seed " .. c.seed)
    end
  end)

  it("re-encode byte for byte after a typed view decode", function()
    for _, c in ipairs(values) do
      local got = assert(ddb.decode(c.bytes, 1, { typed = true, view = true }))
      assert.are.equal(hex(c.bytes), hex(ddb.encode(got)), "seed " .. c.seed)
      assert.are.equal(c.sig, sig(got), "seed " .. c.seed)
    end
  end)

  it("lose nothing more on a second plain trip (plain and view)", function()
    for _, c in ipairs(values) do
      for _, opts in ipairs { {}, { view = true } } do
        local plain = ddb.decode(c.bytes, 1, opts)
        local once = ddb.encode(plain)
        local again = ddb.encode(ddb.decode(once, 1, opts))
        assert.are.equal(hex(once), hex(again), "seed " .. c.seed)
      end
    end
  end)

  it("come back unchanged from ddbmini's echo (every 5th)", function()
    local server = ddbmini.start {}
    local pool = ddb.DBConnectionPool("127.0.0.1", server.port, 2)
    local ok, err = pcall(function()
      for i = 1, #values, 5 do
        local c = values[i]
        local got = pool:run { "echo", c.value, typed = true }
        assert.are.equal(hex(c.bytes), hex(ddb.encode(got)), "seed " .. c.seed)
      end
    end)
    pool:shutDown()
    server:stop()
    assert(ok, err)
  end)
end)
