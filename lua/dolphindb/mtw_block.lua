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
--   "sym"  (SYMBOL): an int32 array of entries of a dictionary of the column's
--          strings (a Lua table from string to entry: Lua strings are interned, so a
--          lookup hashes no bytes), the symbol vector's base and indices as they are
--          (core._obj_symbols builds the base, the entries are copied in; the encoder
--          sends only the entries a block uses). The dictionary is the writer's, kept
--          from block to block, so that a string misses it once; a full one
--          (M.DICTIONARY strings) is replaced for the blocks made after.
--   "lua"  (any other type): a Lua list of the values, fitted as `append` fits one.
-- Any other value of a "num" or "sym" column (NULL, a typed scalar, a string for a
-- temporal type, a number out of range, a string with a zero byte) is kept aside as
-- given ("odd"). When a column's odd values are all NULL it is built directly, the
-- NULLs written as the type's NULL cell; otherwise its values are gathered into a
-- Lua list and fitted by dolphindb.fit exactly as before, so a bad value fails its
-- block with the same message, and the rows come back from getUnwrittenData as the
-- values given.
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

-- A young writer misses its tables often (every value is new), an older one rarely.
-- LuaJIT compiles the caller's loop around insert as the path of one iteration it
-- records: recorded on a miss, the compiled loop leaves its trace on every hit, the
-- usual case (1.5 times the instructions per row, measured). So a miss calls
-- young_miss(), which makes such a recording give up (LuaJIT 2.1 does not compile
-- the creation of a closure), and LuaJIT records the loop again a little later, on a
-- hit. Only the process's first M.YOUNG misses: LuaJIT gives a loop up for good
-- after about ten failed recordings, which a stream of new values, or writer after
-- writer, must not cause. (The writers of one shape share their insert, so a loop
-- compiled for the first keeps its code for the next: dolphindb.mtw_insert.)
M.YOUNG = 1024
local young = 0
function M.young_miss()
  if young < M.YOUNG then
    young = young + 1
    return function() end
  end
end

M.DICTIONARY = 4096

local function new_dictionary() return { at = { [""] = 0 }, d = {} } end

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

-- For dolphindb.mtw_insert: the range test of a "num" column (nil: any number).
function M.num_limit(L, c) return L.num[c] and L.num[c].hi end

---------------------------------------------------------------- blocks

-- Block b holds column c's strings as entries of the writer's dictionary (a new one
-- when it is full).
local function use_dictionary(L, b, c)
  if #L.dict[c].d >= M.DICTIONARY then L.dict[c] = new_dictionary() end
  b["at" .. c], b["d" .. c] = L.dict[c].at, L.dict[c].d
end

-- A block: b[c] the held column c, b.n rows, b.cap, b.odd[c] = { [row] = value },
-- and for a "sym" column b["at" .. c] (string -> entry, "" entry 0) and b["d" .. c]
-- (the strings of entries 1, 2, ...): its dictionary's.
function M.new(L, cap)
  local b = { n = 0, cap = cap }
  for c = 1, L.n do
    local k = L.kind[c]
    if k == "num" then
      b[c] = L.num[c].vla(cap)
    elseif k == "sym" then
      b[c] = INDEX_VLA(cap)
      use_dictionary(L, b, c)
    else
      b[c] = new_table(cap, 1)
    end
  end
  return b
end

-- The block emptied for reuse (its arrays kept: a block sent is the next one, so that
-- a busy writer allocates no new cells, and the collector has less to do).
function M.reset(L, b)
  b.n, b.odd = 0, nil
  for c = 1, L.n do
    local k = L.kind[c]
    if k == "sym" then
      use_dictionary(L, b, c)
    elseif k == "lua" then
      b[c] = new_table(b.cap, 1)
    end
  end
  return b
end

-- More room: the held arrays copied into ones of cap cells (Lua lists grow alone).
function M.grow(L, b, cap)
  for c = 1, L.n do
    local k = L.kind[c]
    if k ~= "lua" then
      local vla, size = INDEX_VLA, 4
      if k == "num" then vla, size = L.num[c].vla, L.num[c].size end
      local a = vla(cap)
      ffi.copy(a, b[c], size * b.n)
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

-- The entry of string s in column c of block b, new if needed; nil for a string with
-- a zero byte (odd: the SYMBOL build refuses it, and fit gives the message).
local function intern(L, b, c, s)
  if s:find("\0", 1, true) then return nil end
  local d = b["d" .. c]
  local e = #d + 1
  d[e] = s
  b["at" .. c][s] = e
  M.young_miss()
  return e
end

-- Row i (0-based, < b.cap) of column c gets value v (a value insert accepted).
function M.put(L, b, c, i, v)
  local k = L.kind[c]
  if k == "lua" then b[c][i + 1] = v; return end
  if k == "num" then
    local hi = L.num[c].hi
    if type(v) == "number" and (not hi or (v % 1 == 0 and v >= -hi and v <= hi)) then
      b[c][i] = v
      return
    end
  elseif type(v) == "string" then
    local e = b["at" .. c][v] or intern(L, b, c, v)
    if e then b[c][i] = e; return end
  end
  b[c][i] = 0
  set_odd(b, c, i, v)
end

---------------------------------------------------------------- reading back

-- Row i of column c as given to insert.
local function get(L, b, c, i)
  local odd = b.odd and b.odd[c]
  local v = odd and odd[i]
  if v ~= nil then return v end
  local k = L.kind[c]
  if k == "lua" then return b[c][i + 1] end
  if k == "sym" then
    local e = b[c][i]
    return e == 0 and "" or b["d" .. c][e]
  end
  return tonumber(b[c][i])           -- the number given (int64 cells held it exactly)
end

-- Column c as a Lua list of the values given (list.n rows).
local function list_of(L, b, c)
  if L.kind[c] == "lua" then
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

-- The symbol vector: its base "" and the distinct strings, its indices the entries.
local function build_sym(b, c, odd)
  local d, n = b["d" .. c], b.n
  local h = core._obj_symbols(d, #d, n)
  local p = ffi.cast("int32_t *", columns.obj(h).data)
  ffi.copy(p, b[c], 4 * n)
  if odd then
    for i in pairs(odd) do p[i] = 0 end             -- NULL: "", entry 0
  end
  return h
end

-- The block's columns fitted to the schema (handles), as dolphindb.fit.table does.
function M.handles(L, b, schema)
  local hs = {}
  for c = 1, L.n do
    local k = L.kind[c]
    local odd = k ~= "lua" and nulls_only(b, c)
    if k == "sym" and #b["d" .. c] >= MAX_SYMBOLS then odd = false end   -- fit says what is wrong
    if odd == false or k == "lua" then
      hs[c] = fit.column(list_of(L, b, c), schema.types[c], schema.scales[c],
        ("column %d ('%s')"):format(c, schema.names[c]))
    elseif k == "num" then
      hs[c] = build_num(L, b, c, odd)
    else
      hs[c] = build_sym(b, c, odd)
    end
  end
  return hs
end

return M
