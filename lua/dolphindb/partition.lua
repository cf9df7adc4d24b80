-- dolphindb.partition — DolphinDB's partition schemes on the client: which partition
-- a row of a partitioned table falls in, so that PartitionedTableAppender can send
-- the rows of one partition through one request.
--
--   local d = partition.domain(ptype, scheme, coltype)   -- from schema() (below)
--   local keys, bad = d:keys(handle)   -- int32 FFI array, one key per row; bad: the
--                                      -- first row (0-based) with no partition, or nil
--   partition.murmur32(s), partition.bucket(value, tid, buckets)
--
-- Keys (docs/API.md "Writers" restates the rules; the official clients use them):
--   HASH  (scheme: the bucket count B)      hash(v) mod B
--   VALUE (scheme: the values so far)       hash(v) mod 2^20: a number derived from the
--                                           value, not the partition's position
--   RANGE (scheme: boundaries b0 < .. < bn) i such that b(i) <= v < b(i+1)
--   LIST  (scheme: element i = the value(s) of partition i)   that i
-- A row gets -1 (no partition) when its value is NULL (integers and temporals), below
-- b0 or at or above bn (RANGE), or not listed (LIST).
-- hash(v): CHAR/SHORT/INT and 32-bit temporals: the value as an unsigned 32-bit
-- number; LONG and 64-bit temporals: as an unsigned 64-bit number; STRING, SYMBOL,
-- BLOB: MurmurHash2 (32-bit, seed = length) of the bytes, "" hashing to 0; UUID,
-- IPADDR, INT128: MurmurHash2 of the 16 bytes as stored. FLOAT, DOUBLE, BOOL and
-- DECIMAL values have no hash.
-- A temporal partitioning column is first converted to the scheme's type (a
-- TIMESTAMP column in a VALUE-by-DATE scheme is keyed by its date).
local ffi = require "ffi"
local bit = require "bit"
local columns = require "dolphindb.columns"
local fit = require "dolphindb.fit"

local band, bxor, rshift, lshift, tobit = bit.band, bit.bxor, bit.rshift, bit.lshift, bit.tobit
local byte = string.byte
local T, NAME, WIDTH = columns.T, columns.NAME, columns.WIDTH

local M = {}

---------------------------------------------------------------- hashing

-- a * b mod 2^32 for 32-bit a, b (as bit operations see them); exact in doubles.
local function mul32(a, b)
  local lo = band(a, 0xffff) * b
  local hi = tobit(rshift(a, 16) * b)
  return tobit(lo + hi * 65536)
end

local M32 = 0x5bd1e995

-- MurmurHash2, 32-bit, seed = the length, blocks read little-endian. Returns an
-- unsigned number in 0..2^32-1.
function M.murmur32(s)
  local len = #s
  local h = tobit(len)
  local i = 1
  while len - i >= 3 do
    local a, b, c, d = byte(s, i, i + 3)
    local k = tobit(a + lshift(b, 8) + lshift(c, 16) + lshift(d, 24))
    k = mul32(k, M32)
    k = bxor(k, rshift(k, 24))
    k = mul32(k, M32)
    h = bxor(mul32(h, M32), k)
    i = i + 4
  end
  local rest = len - i + 1
  if rest == 3 then h = bxor(h, lshift(byte(s, i + 2), 16)) end
  if rest >= 2 then h = bxor(h, lshift(byte(s, i + 1), 8)) end
  if rest >= 1 then h = mul32(bxor(h, byte(s, i)), M32) end
  h = bxor(h, rshift(h, 13))
  h = mul32(h, M32)
  h = bxor(h, rshift(h, 15))
  return h % 4294967296
end

local U64 = ffi.typeof("uint64_t")
local NULL = { [1] = -128, [2] = -32768, [4] = -2147483648, [8] = -9223372036854775807LL - 1 }

local HASHABLE = {}
for _, n in ipairs { "CHAR", "SHORT", "INT", "LONG", "DATE", "MONTH", "TIME", "MINUTE", "SECOND",
  "DATETIME", "TIMESTAMP", "NANOTIME", "NANOTIMESTAMP", "DATEHOUR", "DATEMINUTE", "STRING",
  "SYMBOL", "BLOB", "UUID", "IPADDR", "INT128" } do HASHABLE[T[n]] = true end

-- The bucket of one raw cell value of type tid (a number, an int64, a string; 16-byte
-- cells as their 16-byte string): 0..buckets-1, or -1 for NULL.
function M.bucket(v, tid, buckets)
  if columns.TEXT[tid] or WIDTH[tid] == 16 then return M.murmur32(v) % buckets end
  local w = WIDTH[tid]
  if v == NULL[w] then return -1 end
  if w == 8 then return tonumber(ffi.cast(U64, v) % buckets) end
  v = tonumber(v)
  if v < 0 then v = v + 4294967296 end
  return v % buckets
end

---------------------------------------------------------------- reading cells

-- cell(i) -> raw value of row i (0-based): numbers for cells up to 4 bytes, int64 for
-- 8-byte ones, strings for text and 16-byte cells.
local function cell_reader(h)
  local o = columns.obj(h)
  local tid = o.type
  if columns.TEXT[tid] then
    local v = columns.view(h)
    return function(i) return v[i + 1] end
  end
  local w = WIDTH[tid]
  local p = columns.cells(h)
  if w == 16 then
    local b = ffi.cast("const char *", p)
    return function(i) return ffi.string(b + 16 * i, 16) end
  end
  return function(i) return p[i] end
end

-- Values of a decoded scheme (typed scalars, numbers, int64, strings) as raw cells.
local function raw(v)
  if type(v) == "table" and v.type then return v.value end
  return v
end

-- A key for Lua tables: int64 cdata are compared by identity there.
local function table_key(v)
  if type(v) == "cdata" then return tostring(v) end
  return v
end

---------------------------------------------------------------- domains

local Domain = {}
Domain.__index = Domain

local KIND = { [1] = "VALUE", [2] = "RANGE", [3] = "LIST", [5] = "HASH" }
M.KIND = KIND

local function fail(msg) error("dolphindb: " .. msg, 0) end

local function hashed(self, tid, buckets)
  if not HASHABLE[tid] then
    fail(("a %s partitioning column has no hash: %s partitions on it are not supported")
      :format(NAME[tid] or tostring(tid), self.kind))
  end
  self.buckets = buckets                      -- for the fast path of Domain:keys
  local cache = {}
  return function(v)
    if type(v) ~= "string" then return M.bucket(v, tid, buckets) end
    local b = cache[v]
    if not b then b = M.bucket(v, tid, buckets); cache[v] = b end
    return b
  end
end

local function ranged(boundaries, tid)
  local b, n = {}, #boundaries
  for i = 1, n do b[i] = raw(boundaries[i]) end
  local null = not columns.TEXT[tid] and NULL[WIDTH[tid]]
  return function(v)
    if v == null or n < 2 or v < b[1] or v >= b[n] then return -1 end
    local lo, hi = 1, n                     -- b[lo] <= v < b[hi]
    while hi - lo > 1 do
      local mid = math.floor((lo + hi) / 2)
      if v < b[mid] then hi = mid else lo = mid end
    end
    return lo - 1
  end
end

local function listed(scheme)
  local where = {}
  for i, part in ipairs(scheme) do
    if type(part) == "table" and not part.type then
      for _, x in ipairs(part) do where[table_key(raw(x))] = i - 1 end
    else
      where[table_key(raw(part))] = i - 1
    end
  end
  return function(v) return where[table_key(v)] or -1 end
end

-- domain(ptype, scheme, coltype): ptype the partitionType (1 VALUE, 2 RANGE, 3 LIST,
-- 5 HASH), scheme the partitionSchema of that level as decoded, coltype the
-- partitionColumnType.
function M.domain(ptype, scheme, coltype)
  local self = setmetatable({ kind = KIND[ptype], type = coltype }, Domain)
  if not self.kind then fail("unsupported partition type " .. tostring(ptype)) end
  if self.kind == "HASH" then
    self.key = hashed(self, coltype, tonumber(raw(scheme)))
  elseif self.kind == "VALUE" then
    self.key = hashed(self, coltype, 1048576)
  elseif self.kind == "RANGE" then
    self.key = ranged(scheme, coltype)
  else
    self.key = listed(scheme)
  end
  return self
end

-- Each row's key from the keys of its symbol's entry (Domain:symbol_keys, below).
local function keys_of_symbols(per_entry, idx, nb, n)
  local keys, bad = ffi.new("int32_t[?]", n > 0 and n or 1), nil
  for i = 0, n - 1 do
    local e = idx[i]
    if e < 0 or e >= nb then fail(("row %d: symbol index %d outside its base"):format(i + 1, e)) end
    local k = per_entry[e]
    keys[i] = k
    if k < 0 and not bad then bad = i end
  end
  return keys, bad
end

-- HASH and VALUE keys of integral cells (up to 8 bytes) in one loop: M.bucket's rule
-- without a function call per row.
local function hashed_cells(h, buckets)
  local n, w, p = columns.rows(h), WIDTH[columns.obj(h).type], columns.cells(h)
  local keys, bad, null = ffi.new("int32_t[?]", n > 0 and n or 1), nil, NULL[WIDTH[columns.obj(h).type]]
  for i = 0, n - 1 do
    local v, k = p[i], -1
    if v ~= null then
      if w == 8 then
        k = tonumber(ffi.cast(U64, v) % buckets)
      else
        if v < 0 then v = v + 4294967296 end
        k = v % buckets
      end
    end
    keys[i] = k
    if k < 0 and not bad then bad = i end
  end
  return keys, bad
end

-- keys(h) -> int32 array of each row's key, and the first row (0-based) whose key is
-- -1, or nil. h: the partitioning column, fitted to the table's column type.
function Domain:keys(h)
  local tid = columns.obj(h).type
  if tid ~= self.type and fit.category(tid) == "TEMPORAL" and fit.category(self.type) == "TEMPORAL" then
    local err
    h, err = fit.cast_temporal(h, tid, self.type)
    if not h then fail("the partitioning column: " .. err) end
  end
  local per_entry, idx, nb = self:symbol_keys(h)
  if per_entry then return keys_of_symbols(per_entry, idx, nb, columns.rows(h)) end
  local ct = columns.obj(h).type               -- the scheme's type here, unless not temporal
  if self.buckets and ct == self.type and WIDTH[ct] and WIDTH[ct] <= 8 and HASHABLE[ct] and not columns.TEXT[ct] then
    return hashed_cells(h, self.buckets)
  end
  return self:_fill(columns.rows(h), cell_reader(h))
end

function Domain:_fill(n, cell)
  local keys = ffi.new("int32_t[?]", n > 0 and n or 1)
  local key, bad = self.key, nil
  for i = 0, n - 1 do
    local k = key(cell(i))
    keys[i] = k
    if k < 0 and not bad then bad = i end
  end
  return keys, bad
end

-- A symbol column's keys per entry of its base (a hundred symbols: a hundred hashes
-- for a million rows): -> keys (int32 array, one per entry), the column's indices
-- (int32 pointer) and the entry count; nil when h is not a symbol column with a base.
-- Row i's key is keys[idx[i]] (an index outside 0..count-1 is a broken column).
function Domain:symbol_keys(h)
  local o = columns.obj(h)
  if o.type ~= T.SYMBOL or o.symbase == nil or self.type ~= T.SYMBOL and not columns.TEXT[self.type] then return nil end
  local base = o.symbase
  local per_entry = ffi.new("int32_t[?]", base.n)
  for e = 0, base.n - 1 do
    local at = base.offs[e]
    per_entry[e] = self.key(ffi.string(base.bytes + at, base.offs[e + 1] - at - 1))
  end
  return per_entry, ffi.cast("const int32_t *", o.data), base.n
end


return M
