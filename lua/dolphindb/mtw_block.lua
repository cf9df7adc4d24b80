-- dolphindb.mtw_block — the rows a MultithreadedTableWriter queues, held column by
-- column in the form each column is built from fastest when the block is sent.
--
--   local L = block.layout(schema)          -- how each column of the target is held
--   local b = block.new(L, capacity)        -- b.n rows, room for b.cap
--   block.put(L, b, c, i, v)                -- value v as row i (0-based) of column c
--   block.grow(L, b, capacity)          block.reset(L, b)   -- empty, for reuse
--   local handles = block.handles(L, b, schema)   -- the columns fitted, for the request
--   block.rows(L, b, into)                  -- the rows as the user gave them
--
-- A column is held as
--   "num"  (CHAR, SHORT, INT, LONG, FLOAT, DOUBLE, the temporal types): an FFI array of
--          cells; a plain number that dolphindb.build would store as it is (an integer
--          in the type's range; any number for FLOAT and DOUBLE) goes in as the cell.
--   "sym"  (SYMBOL): a Lua list of the values, as "lua"; built here when they are
--          strings (and NULLs): each row's entry in the writer's dictionary of the
--          column's strings (a Lua table from string to entry: Lua strings are
--          interned, so a lookup hashes no bytes; kept from block to block, a new one
--          past M.DICTIONARY strings), the symbol vector's base made once from the
--          dictionary by core._obj_symbols (the encoder sends only the entries a
--          block uses). The lookup is done here rather than in insert: a lookup that
--          misses now and then, in insert, makes LuaJIT compile the caller's loop
--          badly when it records it on a miss (measured: twice the instructions
--          per row).
--   "lua"  (any other type): a Lua list of the values, fitted as `append` fits one.
-- Any other value of a "num" column (NULL, a typed scalar, a string for a temporal
-- type, a number out of range) is kept aside as given ("odd"). When a column's odd
-- values are all NULL it is built directly, the NULLs written as the type's NULL
-- cell; otherwise its values are gathered into a Lua list and fitted by dolphindb.fit
-- exactly as before. Any column "sym" does not build goes to dolphindb.fit too. So a
-- bad value fails its block with the message `append` gives, and the rows come back
-- from getUnwrittenData as the values given.
local ffi = require "ffi"
local core = require "dolphindb.core"
local value = require "dolphindb.value"
local columns = require "dolphindb.columns"
local fit = require "dolphindb.fit"

local T = columns.T
local null = value.null

local M = {}

local ok_new, new_table = pcall(require, "table.new")       -- LuaJIT 2.1: preallocated tables
if not ok_new then new_table = function() return {} end end

---------------------------------------------------------------- layout

-- The "num" types: the C type held (FLOAT as double, so that a row comes back as
-- the number given), the largest plain integer dolphindb.build stores as the cell
-- (its test is v % 1 == 0 and -hi <= v <= hi; none: any number), the NULL cell, the
-- C type of the built column's cells.
local NUM = {}
local function num(held, hi, null_cell, cell, ...)
  for _, name in ipairs { ... } do
    NUM[T[name]] = { held = held, hi = hi, null = null_cell, cell = cell }
  end
end
num("int8_t", 127, -128, "int8_t", "CHAR")
num("int16_t", 32767, -32768, "int16_t", "SHORT")
num("int32_t", 2147483647, -2147483648, "int32_t", "INT", "DATE", "MONTH", "TIME", "MINUTE", "SECOND",
  "DATETIME", "DATEHOUR", "DATEMINUTE")
num("int64_t", 2 ^ 63 - 1025, -9223372036854775807LL - 1, "int64_t", "LONG", "TIMESTAMP", "NANOTIME",
  "NANOTIMESTAMP")
num("double", nil, -1.7976931348623157e+308, "double", "DOUBLE")
num("double", nil, -3.4028234663852886e+38, "float", "FLOAT")

for _, s in pairs(NUM) do
  s.vla, s.ptr, s.size = ffi.typeof(s.held .. "[?]"), ffi.typeof(s.cell .. " *"), ffi.sizeof(s.held)
  s.same = s.held == s.cell          -- the built cells are a copy of the held ones
end

local INDEX_VLA = ffi.typeof("int32_t[?]")

M.DICTIONARY = 4096

-- A dictionary: at[string] = entry ("" and NULL entry 0), d[entry] = string.
local function new_dictionary() return { at = { [""] = 0, [null] = 0 }, d = {} } end

-- layout(schema) -> { kind = {...}, num = {...} (the NUM entry of each "num"
-- column), types, scales, names, n }
function M.layout(schema)
  local L = { kind = {}, num = {}, dict = {}, types = schema.types, scales = schema.scales, names = schema.names,
    n = #schema.names }
  for c, tid in ipairs(schema.types) do
    if NUM[tid] then L.kind[c], L.num[c] = "num", NUM[tid]
    elseif tid == T.SYMBOL then L.kind[c], L.dict[c] = "sym", new_dictionary()
    else L.kind[c] = "lua" end
  end
  return L
end

---------------------------------------------------------------- blocks

-- A block: b[c] the held column c, b.n rows, b.cap, b.odd[c] = { [row] = value }.
function M.new(L, cap)
  local b = { n = 0, cap = cap }
  for c = 1, L.n do
    if L.kind[c] == "num" then b[c] = L.num[c].vla(cap) else b[c] = new_table(cap, 1) end
  end
  return b
end

-- The block emptied for reuse (its arrays kept: a block sent is the next one, so that
-- a busy writer allocates no new cells, and the collector has less to do). A SYMBOL
-- list is kept too: the strings left in it past the next rows (no more than its
-- capacity) stay alive until overwritten. Other lists are new, not to keep what they
-- held (tables, large strings) alive.
function M.reset(L, b)
  b.n, b.odd = 0, nil
  for c = 1, L.n do
    if L.kind[c] == "lua" then b[c] = new_table(b.cap, 1) end
  end
  return b
end

-- More room: the held arrays copied into ones of cap cells (Lua lists grow alone).
function M.grow(L, b, cap)
  for c = 1, L.n do
    local s = L.num[c]
    if s then
      local a = s.vla(cap)
      ffi.copy(a, b[c], s.size * b.n)
      b[c] = a
    end
  end
  b.cap = cap
end

local function set_odd(b, c, i, v)
  local odd = b.odd
  if not odd then odd = {}; b.odd = odd end
  local col = odd[c]
  if not col then col = {}; odd[c] = col end
  col[i] = v
end

-- Row i (0-based, < b.cap) of column c gets value v (a value insert accepted).
function M.put(L, b, c, i, v)
  local s = L.num[c]
  if not s then b[c][i + 1] = v; return end
  if type(v) == "number" and (not s.hi or (v % 1 == 0 and v >= -s.hi and v <= s.hi)) then
    b[c][i] = v
  else
    b[c][i] = 0
    set_odd(b, c, i, v)
  end
end

---------------------------------------------------------------- reading back

-- Row i of column c as given to insert.
local function get(L, b, c, i)
  local odd = b.odd and b.odd[c]
  local v = odd and odd[i]
  if v ~= nil then return v end
  if L.kind[c] ~= "num" then return b[c][i + 1] end
  return tonumber(b[c][i])           -- the number given (int64 cells held it exactly)
end

-- Column c as a Lua list of the values given (list.n rows).
local function list_of(L, b, c)
  if L.kind[c] ~= "num" then
    b[c].n = b.n
    return b[c]
  end
  local list = new_table(b.n, 1)
  for i = 0, b.n - 1 do list[i + 1] = get(L, b, c, i) end
  list.n = b.n
  return list
end

-- The rows of block b appended to `into`, each a list of values.
function M.rows(L, b, into)
  local cols = {}
  for c = 1, L.n do cols[c] = list_of(L, b, c) end
  for i = 1, b.n do
    local row = {}
    for c = 1, L.n do row[c] = cols[c][i] end
    into[#into + 1] = row
  end
  return into
end

---------------------------------------------------------------- building

-- The rows of column c held aside, or nil when there are none; false when one is
-- not NULL (the column then goes through dolphindb.fit).
local function nulls_only(b, c)
  local odd = b.odd and b.odd[c]
  if not odd then return nil end
  for _, v in pairs(odd) do
    if v ~= null then return false end
  end
  return odd
end

local function build_num(L, b, c, odd)
  local s, n = L.num[c], b.n
  local h = columns.new(L.types[c], n)
  local p = ffi.cast(s.ptr, columns.obj(h).data)
  if s.same then
    ffi.copy(p, b[c], s.size * n)
  else
    local a = b[c]
    for i = 0, n - 1 do p[i] = a[i] end
  end
  if odd then
    for i in pairs(odd) do p[i] = s.null end
  end
  return h
end

-- A symbol base holds up to 2^21 - 1 entries, "" included.
local MAX_SYMBOLS = 2 ^ 21 - 1

-- A per-layout int32 array of at least n cells, for the entries of a SYMBOL column.
local function scratch(L, n)
  if not L.scratch or L.scratch_n < n then L.scratch, L.scratch_n = INDEX_VLA(n), n end
  return L.scratch
end

-- The symbol vector of column c (strings and NULLs), or nil for another value: fit
-- then builds it, or says what is wrong.
local function build_sym(L, b, c)
  local list, n, dict = b[c], b.n, L.dict[c]
  if #dict.d >= M.DICTIONARY then dict = new_dictionary(); L.dict[c] = dict end
  local at, d, idx = dict.at, dict.d, scratch(L, n)
  for i = 1, n do
    local v = list[i]
    local e = at[v]
    if not e then
      if type(v) ~= "string" or v:find("\0", 1, true) or #d + 1 >= MAX_SYMBOLS then return nil end
      e = #d + 1
      d[e], at[v] = v, e
    end
    idx[i - 1] = e
  end
  local h = core._obj_symbols(d, #d, n)
  ffi.copy(columns.obj(h).data, idx, 4 * n)
  return h
end

-- The block's columns fitted to the schema (handles), as dolphindb.fit.table does.
function M.handles(L, b, schema)
  local hs = {}
  for c = 1, L.n do
    local k, h = L.kind[c], nil
    if k == "num" then
      local odd = nulls_only(b, c)
      if odd ~= false then h = build_num(L, b, c, odd) end
    elseif k == "sym" then
      h = build_sym(L, b, c)
    end
    hs[c] = h or fit.column(list_of(L, b, c), schema.types[c], schema.scales[c],
      ("column %d ('%s')"):format(c, schema.names[c]))
  end
  return hs
end

return M
