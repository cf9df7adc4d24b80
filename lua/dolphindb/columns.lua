-- dolphindb.columns — column objects (handles of the C core) seen from Lua, for the
-- writers: their type and length, their cells through FFI pointers, and new columns
-- made of some of their rows (PartitionedTableAppender splits a table this way).
--
-- A handle is the userdata the C core uses for one DolphinDB object (what
-- dolphindb.value builds before sending); passing one as a function argument sends
-- that object as it is. Handles are never changed after they are built here.
local ffi = require "ffi"
local core = require "dolphindb.core"
local value = require "dolphindb.value"      -- declares struct ddbv_obj

local M = {}

local OBJ = ffi.typeof("struct ddbv_obj *")
local VECTOR = 1

-- Type ids (docs/PROTOCOL.md §4.3 lists them).
local T = { VOID = 0, BOOL = 1, CHAR = 2, SHORT = 3, INT = 4, LONG = 5, DATE = 6, MONTH = 7,
  TIME = 8, MINUTE = 9, SECOND = 10, DATETIME = 11, TIMESTAMP = 12, NANOTIME = 13,
  NANOTIMESTAMP = 14, FLOAT = 15, DOUBLE = 16, SYMBOL = 17, STRING = 18, UUID = 19,
  ANY = 25, DATEHOUR = 28, DATEMINUTE = 29, IPADDR = 30, INT128 = 31, BLOB = 32,
  COMPLEX = 34, POINT = 35, DURATION = 36, DECIMAL32 = 37, DECIMAL64 = 38, DECIMAL128 = 39 }
local NAME = {}
for k, v in pairs(T) do NAME[v] = k end
M.T, M.NAME = T, NAME

function M.type_name(tid)
  if tid >= 64 then return (NAME[tid - 64] or tostring(tid - 64)) .. "[]" end
  return NAME[tid] or ("type " .. tostring(tid))
end

-- Bytes per cell of the fixed-width types.
local WIDTH = {}
for _, n in ipairs { "BOOL", "CHAR" } do WIDTH[T[n]] = 1 end
WIDTH[T.SHORT] = 2
for _, n in ipairs { "INT", "DATE", "MONTH", "TIME", "MINUTE", "SECOND", "DATETIME", "DATEHOUR",
  "DATEMINUTE", "FLOAT", "DECIMAL32" } do WIDTH[T[n]] = 4 end
for _, n in ipairs { "LONG", "TIMESTAMP", "NANOTIME", "NANOTIMESTAMP", "DOUBLE", "DECIMAL64",
  "DURATION" } do WIDTH[T[n]] = 8 end
for _, n in ipairs { "UUID", "IPADDR", "INT128", "DECIMAL128", "COMPLEX", "POINT" } do WIDTH[T[n]] = 16 end
M.WIDTH = WIDTH

local TEXT = { [T.STRING] = true, [T.SYMBOL] = true, [T.BLOB] = true }
M.TEXT = TEXT

-- The integer pointer type that moves a cell of each width as one value.
local PTR = { [1] = ffi.typeof("int8_t *"), [2] = ffi.typeof("int16_t *"),
  [4] = ffi.typeof("int32_t *"), [8] = ffi.typeof("int64_t *"), [16] = ffi.typeof("int64_t *") }

-- The C object of a handle.
function M.obj(h) return ffi.cast(OBJ, core._obj_addr(h)) end

function M.rows(h) return tonumber(M.obj(h).rows) end

function M.is_handle(x)
  return type(x) == "userdata" and getmetatable(x) == "dolphindb.obj"
end

-- A new vector of n cells of type tid (cells uninitialised; the caller fills them).
function M.new(tid, n, scale)
  local h = core._obj_new(VECTOR, tid, n)
  if scale then M.obj(h).scale = scale end
  return h
end

-- Pointer to the cells of a fixed-width vector, as the integer type of their width
-- (16-byte cells: two int64 each).
function M.cells(h)
  local o = M.obj(h)
  return ffi.cast(PTR[WIDTH[o.type]], o.data)
end

-- A read-only view of the column (cells become Lua values when read): strings, and
-- the types without a fixed width, are read through it.
function M.view(h) return value._from_handle(h, { view = true }) end

-- take(h, idx, m): a new column of rows idx[0..m-1] (0-based, an int32 FFI array).
-- Vectors of fixed-width, string and symbol cells are gathered by the C core (a
-- symbol vector keeps its base); anything else goes through its Lua array form.
local function take_other(h, idx, m)
  local v = value._from_handle(h, { view = false })
  local sub = setmetatable({ n = m }, getmetatable(v))
  for j = 0, m - 1 do sub[j + 1] = v[idx[j] + 1] end
  return value._to_handle(sub)
end

-- Whether core._obj_take / _obj_split take h: a vector of fixed-width, string or
-- symbol cells.
function M.splittable(h)
  local o = M.obj(h)
  return o.form == VECTOR and (WIDTH[o.type] or TEXT[o.type]) and true or false
end

-- rows: the row numbers as an int32 FFI array, or as an INT vector handle (its
-- cells are such an array: no copy).
function M.take(h, rows, m)
  local is_h = M.is_handle(rows)
  if M.splittable(h) then
    if not is_h then
      local copy = M.new(T.INT, m)
      if m > 0 then ffi.copy(M.cells(copy), rows, 4 * m) end
      rows = copy
    end
    return core._obj_take(h, rows)
  end
  return take_other(h, is_h and M.cells(rows) or rows, m)
end

-- A table object of the given columns (handles), named like the target's columns;
-- compress (optional): one method per column (0 none, 1 LZ4, 2 DELTA) it is sent with.
function M.table(names, handles, compress)
  return core._obj_table(names, handles, #handles, nil, compress)
end

-- The decoded (Lua) form of a handle, as a query result would come back.
function M.decoded(h) return value._from_handle(h) end

return M
