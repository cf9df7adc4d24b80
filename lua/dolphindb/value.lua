-- dolphindb.value — DolphinDB values as Lua values, and back.
--
-- Decoded objects (ddb.decode, query results) map like this:
--   NULL scalar           nil (ddb.decode(b, 1, {typed=true}) keeps typed NULL scalars)
--   BOOL                  boolean
--   CHAR SHORT INT FLOAT DOUBLE   number
--   LONG                  int64_t cdata (1LL), always: no silent precision loss
--   STRING SYMBOL BLOB    string (an empty string is DolphinDB's string NULL)
--   temporal, DECIMAL, UUID, IPADDR, INT128, DURATION, COMPLEX, POINT,
--   CODE/FUNCTIONDEF/...  typed scalar {type=, value=, [scale=], [unit=]} whose
--                         tostring is the DolphinDB literal; `value` is the raw cell
--                         (epoch days/ms/ns..., unscaled decimal; int64 cdata for
--                         64-bit cells, 16-byte little-endian string for 128-bit ones)
--   vector / pair         Lua array with v.n; NULL elements are ddb.null (no holes);
--                         ddb.typeof(v) -> "INT", "VECTOR"; v:ptr() zero-copy FFI view;
--                         with {view = true}: a read-only view, cells made on access
--   array vector          array of row arrays, typeof "INT[]"
--   table                 t.colnames, t.columns (vectors), t.n rows, t:col(name),
--                         t:rows() iterator, t:tolist() list of row tables
--   dictionary / set      Lua table key -> value / key -> true; keys of temporal and
--                         other typed key types are their literal text, LONG keys are
--                         numbers up to 2^53; ddb.keys(d) gives the wire order
--   matrix                m.nrows, m.ncols, m.data (column-major vector), m:get(r, c)
-- Lua values sent to DolphinDB: nil -> VOID NULL, boolean -> BOOL, integral number
-- -> INT within int32 else LONG, other numbers -> DOUBLE, string -> STRING, int64
-- cdata -> LONG, arrays -> typed vectors when homogeneous else ANY, string-keyed
-- tables -> dictionaries; the typed constructors (dolphindb.build) cover the rest.
-- Plain values lose the width of CHAR/SHORT/FLOAT/BLOB/SYMBOL scalars, the type of
-- NULL scalars and of integral DOUBLE scalars (they go back as INT/DOUBLE/STRING/VOID;
-- docs/API.md lists every case); decode with {typed = true} keeps every scalar as a
-- typed scalar so it re-encodes byte for byte. Arrays must
-- not have holes: use ddb.null (or give n). decode(..., {pickleTableToList = true})
-- returns a table as a list of row tables. Constructors (ddb.vector, ddb.table, ...)
-- build the object once, so bad input fails at construction, and return the same
-- shapes decode does.
-- This file holds the type tables, typed scalars and the decoding side (objects ->
-- Lua values, their methods); dolphindb.build holds the other direction (Lua values
-- -> objects) and the constructors. Both are exported from here.
local ffi = require "ffi"
local bit = require "bit"
local core = require "dolphindb.core"

local M = {}

pcall(ffi.cdef, [[
typedef struct ddbv_symbase { int refcount; int32_t n; int64_t *offs; char *bytes; } ddbv_symbase;
typedef struct ddbv_obj ddbv_obj;
struct ddbv_obj {
  int refcount; uint8_t form, type, void_kind, fkind; int32_t scale; int64_t rows, cols;
  void *data; int64_t *offs; char *bytes; int64_t nbytes; ddbv_symbase *symbase; ddbv_obj **items;
  int64_t *row_offs; ddbv_obj *values; ddbv_obj *row_labels, *col_labels; ddbv_obj *keys;
  char *name; char **col_names; ddbv_obj **columns;
};
]])
for field, off in pairs(core._obj_layout()) do
  local st, f = field:match("^(%w+)%.(%w+)$")
  local mine = st and ffi.offsetof("struct ddbv_symbase", f) or ffi.offsetof("struct ddbv_obj", field)
  assert(mine == off, "dolphindb.value: ddb_obj layout changed (field " .. field .. ")")
end

local OBJ = ffi.typeof("struct ddbv_obj *")
local I64 = ffi.typeof("int64_t")
local U64 = ffi.typeof("uint64_t")
local I64_MIN = -9223372036854775807LL - 1
local FLT_NULL = -3.4028234663852886e+38
local DBL_NULL = -1.7976931348623157e+308
local C_I8, C_I16, C_I32 = ffi.typeof("int8_t *"), ffi.typeof("int16_t *"), ffi.typeof("int32_t *")
local C_I64, C_F32, C_F64 = ffi.typeof("int64_t *"), ffi.typeof("float *"), ffi.typeof("double *")
local C_U8 = ffi.typeof("uint8_t *")

local function P(h) return ffi.cast(OBJ, core._obj_addr(h)) end

---------------------------------------------------------------- types

local FORM = { SCALAR = 0, VECTOR = 1, PAIR = 2, MATRIX = 3, SET = 4, DICTIONARY = 5,
               TABLE = 6, CHART = 7, CHUNK = 8 }
local FORM_NAME = {}
for k, v in pairs(FORM) do FORM_NAME[v] = k end

local T = { VOID = 0, BOOL = 1, CHAR = 2, SHORT = 3, INT = 4, LONG = 5, DATE = 6, MONTH = 7,
  TIME = 8, MINUTE = 9, SECOND = 10, DATETIME = 11, TIMESTAMP = 12, NANOTIME = 13,
  NANOTIMESTAMP = 14, FLOAT = 15, DOUBLE = 16, SYMBOL = 17, STRING = 18, UUID = 19,
  FUNCTIONDEF = 20, HANDLE = 21, CODE = 22, DATASOURCE = 23, RESOURCE = 24, ANY = 25,
  DATEHOUR = 28, DATEMINUTE = 29, IPADDR = 30, INT128 = 31, BLOB = 32, COMPLEX = 34,
  POINT = 35, DURATION = 36, DECIMAL32 = 37, DECIMAL64 = 38, DECIMAL128 = 39 }
local NAME = {}
for k, v in pairs(T) do NAME[v] = k end

-- How a cell is stored and shown in Lua.
local KIND, CTYPE = {}, {}
local function kind(k, ct, ...) for _, n in ipairs({...}) do KIND[T[n]] = k; CTYPE[T[n]] = ct end end
kind("bool", C_I8, "BOOL")
kind("int", C_I8, "CHAR"); kind("int", C_I16, "SHORT"); kind("int", C_I32, "INT")
kind("long", C_I64, "LONG")
kind("real", C_F32, "FLOAT"); kind("real", C_F64, "DOUBLE")
kind("time32", C_I32, "DATE", "MONTH", "TIME", "MINUTE", "SECOND", "DATETIME", "DATEHOUR", "DATEMINUTE")
kind("time64", C_I64, "TIMESTAMP", "NANOTIME", "NANOTIMESTAMP")
kind("dec32", C_I32, "DECIMAL32"); kind("dec64", C_I64, "DECIMAL64"); kind("b16", C_U8, "DECIMAL128")
kind("b16", C_U8, "UUID", "IPADDR", "INT128")
kind("dur", C_I32, "DURATION"); kind("xy", C_F64, "COMPLEX", "POINT")
kind("str", nil, "STRING", "SYMBOL", "BLOB", "CODE", "HANDLE", "DATASOURCE", "RESOURCE", "FUNCTIONDEF")
kind("void", nil, "VOID"); kind("any", nil, "ANY")
local INT_RANGE = { [T.CHAR] = 127, [T.SHORT] = 32767, [T.INT] = 2147483647 }
for tid, k in pairs(KIND) do if k == "time32" then INT_RANGE[tid] = 2147483647 end end
local DEC_MAX_SCALE = { [T.DECIMAL32] = 9, [T.DECIMAL64] = 18, [T.DECIMAL128] = 38 }

-- "INT", "int", "DECIMAL32(2)", "INT[]" -> type id, scale
local function type_id(name, level)
  if type(name) == "number" and (NAME[name] or NAME[name - 64]) then return name end  -- no scale: the caller's applies
  if type(name) ~= "string" then error("dolphindb: type name expected, got " .. type(name), level or 3) end
  local base, scale, brackets = name:upper():match("^(DECIMAL%d+)%((%d+)%)(.*)$")
  if base and (brackets == "" or brackets == "[]") then name = base .. brackets end
  local arr = name:upper():match("^(.-)%[%]$")
  local id = T[(arr or name):upper()]
  if not id then error("dolphindb: unknown type '" .. name .. "'", level or 3) end
  return arr and id + 64 or id, tonumber(scale)
end

local function type_name(id)
  if id >= 64 then return NAME[id - 64] .. "[]" end
  return NAME[id]
end

---------------------------------------------------------------- null, scalars

local null = setmetatable({}, {
  __tostring = function() return "NULL" end,
  __newindex = function() error("dolphindb: ddb.null is read-only", 2) end,
  __metatable = "ddb.null",
})
M.null = null

local Scalar = { __name = "ddb.scalar" }
Scalar.__index = Scalar
local function scalar(tid, value, extra)
  local s = { type = NAME[tid], value = value }
  if extra then for k, v in pairs(extra) do s[k] = v end end
  return setmetatable(s, Scalar)
end
local function is_scalar(v) return getmetatable(v) == Scalar end

function Scalar:isnull() return self.value == nil end
function Scalar:raw() return self.value end

local function b16_to_number(s)
  local p = ffi.cast("const uint8_t *", s)
  local lo, hi = ffi.cast("const uint64_t *", p)[0], ffi.cast("const int64_t *", p + 8)[0]
  return tonumber(hi) * 18446744073709551616 + tonumber(lo)
end

-- Decimals as numbers (scaled), every integer-valued cell as its raw number.
function Scalar:tonumber()
  local v, k = self.value, KIND[T[self.type]]
  if v == nil then return nil end
  if k == "b16" then
    if self.type ~= "DECIMAL128" then return nil end
    v = b16_to_number(v)
  end
  if k == "dur" or k == "xy" or k == "str" then return nil end
  v = tonumber(v)
  if self.scale and self.scale > 0 then v = v / 10 ^ self.scale end
  return v
end

-- Temporal values in seconds (a Lua number): since 1970-01-01 for date-bearing
-- types, since midnight for times of day; nil for MONTH and non-temporal values.
local SECONDS_PER_UNIT = { DATE = 86400, DATETIME = 1, TIMESTAMP = 1e-3, NANOTIMESTAMP = 1e-9,
  DATEHOUR = 3600, DATEMINUTE = 60, TIME = 1e-3, SECOND = 1, MINUTE = 60, NANOTIME = 1e-9 }
function Scalar:seconds()
  local f = SECONDS_PER_UNIT[self.type]
  if not f or self.value == nil then return nil end
  return tonumber(self.value) * f
end

function Scalar.__eq(a, b)
  if a.type ~= b.type or a.scale ~= b.scale or a.unit ~= b.unit or a.fkind ~= b.fkind then return false end
  if type(a.value) == "table" and type(b.value) == "table" then
    return a.value[1] == b.value[1] and a.value[2] == b.value[2]
  end
  return a.value == b.value
end
function Scalar.__lt(a, b)
  if a.type ~= b.type or a.value == nil or b.value == nil or type(a.value) ~= type(b.value) then
    error("dolphindb: cannot order " .. a.type .. " and " .. b.type, 2)
  end
  if a.scale ~= b.scale then return a:tonumber() < b:tonumber() end
  return a.value < b.value
end
function Scalar.__le(a, b) return not Scalar.__lt(b, a) end

---------------------------------------------------------------- shapes

local function is_i64(v) return type(v) == "cdata" and (ffi.istype(I64, v) or ffi.istype(U64, v)) end

local Vector, Table, Matrix, ArrayVector, Chunk = {}, {}, {}, {}, {}
local meta_info = setmetatable({}, { __mode = "k" })   -- metatable -> {form, type, scale, ...}
local anchors    -- decoded vector or view -> {handle, obj}; weak-keyed, made with the views below
local order = setmetatable({}, { __mode = "k" })       -- dict/set -> keys in wire order
-- dict/set -> {key text -> typed scalar} for typed keys: sent back as these cells, as
-- the text of some (years past 9999, ...) does not parse back.
local key_scalars = setmetatable({}, { __mode = "k" })

local info    -- below: views are cdata

local to_handle, build_scalar, ordered_keys   -- from dolphindb.build, bound below

---------------------------------------------------------------- handles -> Lua

local vector_mt_cache = {}
local function vector_mt(form, tid, scale, array)
  local key = (array and 1000000 or 0) + form * 100000 + tid * 100 + (scale or 0)
  local mt = vector_mt_cache[key]
  if not mt then
    mt = { __index = array and ArrayVector or Vector, __tostring = Vector.__tostring, __name = "ddb.vector" }
    meta_info[mt] = { form = form, type = tid, scale = DEC_MAX_SCALE[array and tid or tid] and (scale or 0) or nil, array = array }
    vector_mt_cache[key] = mt
  end
  return mt
end

local map_mt_cache = {}
local function map_mt(form, kt, vt, scale)
  local key = ("%d:%d:%s:%s"):format(form, kt, tostring(vt), tostring(scale))
  if map_mt_cache[key] then return map_mt_cache[key] end
  local mt = { __name = form == FORM.SET and "ddb.set" or "ddb.dict", __index = function() return nil end,
               __tostring = function(d) return core._obj_format(to_handle(d)) end }
  meta_info[mt] = { form = form, key = kt, type = vt, scale = scale }
  map_mt_cache[key] = mt
  return mt
end

local matrix_mt_cache = {}
local function matrix_mt(tid, scale)
  local key = tid * 100 + (scale or 0)
  local mt = matrix_mt_cache[key]
  if not mt then
    mt = { __index = Matrix, __name = "ddb.matrix", __tostring = function(m) return Matrix.__tostring(m) end }
    meta_info[mt] = { form = FORM.MATRIX, type = tid, scale = scale }
    matrix_mt_cache[key] = mt
  end
  return mt
end

-- LuaJIT does not canonicalize NaNs it loads through the FFI, and a NaN with an odd
-- payload is read as a tagged value (a crash). Cells are checked by their bits and
-- every NaN becomes the canonical one. (User FFI views get the raw cells.)
local NAN = 0 / 0
local C_U32 = ffi.typeof("uint32_t *")
local band = bit.band
local function is_nan32(b) return band(b, 0x7f800000) == 0x7f800000 and band(b, 0x7fffff) ~= 0 end
local function is_nan64(lo, hi) return band(hi, 0x7ff00000) == 0x7ff00000 and (band(hi, 0xfffff) ~= 0 or lo ~= 0) end

-- A reader of elements of a flat object: f(i) for 0-based i -> Lua value or null.
local function element_reader(o, typed)
  local tid, scale = o.type, o.scale
  local k = KIND[tid]
  local p = CTYPE[tid] and o.data ~= nil and ffi.cast(CTYPE[tid], o.data)
  if k == "bool" then
    return function(i) local v = p[i]; if v == -128 then return null end return v ~= 0 end
  elseif k == "int" then
    local nv = tid == T.CHAR and -128 or tid == T.SHORT and -32768 or -2147483648
    return function(i) local v = p[i]; if v == nv then return null end return v end
  elseif k == "long" then
    return function(i) local v = p[i]; if v == I64_MIN then return null end return v end
  elseif k == "real" then
    local nv, bits = tid == T.FLOAT and FLT_NULL or DBL_NULL, ffi.cast(C_U32, o.data)
    if tid == T.FLOAT then
      return function(i)
        if is_nan32(bits[i]) then return NAN end
        local v = p[i]
        if v == nv then return null end
        return v
      end
    end
    return function(i)
      if is_nan64(bits[2 * i], bits[2 * i + 1]) then return NAN end
      local v = p[i]
      if v == nv then return null end
      return v
    end
  elseif k == "time32" or k == "time64" or k == "dec32" or k == "dec64" then
    local nv = CTYPE[tid] == C_I64 and I64_MIN or -2147483648
    local name, narrow = NAME[tid], k == "time32" or k == "dec32"
    local sc = DEC_MAX_SCALE[tid] and scale or nil
    return function(i)                     -- hot for temporal columns: build inline
      local v = p[i]
      if v == nv then return null end
      if narrow then v = tonumber(v) end
      return setmetatable({ type = name, value = v, scale = sc }, Scalar)
    end
  elseif k == "b16" then
    local extra = DEC_MAX_SCALE[tid] and { scale = scale } or nil
    return function(i)
      local s = ffi.string(p + 16 * i, 16)
      if tid == T.DECIMAL128 then
        if s == "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\128" then return null end
      elseif s == "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0" then return null end
      return scalar(tid, s, extra)
    end
  elseif k == "dur" then
    return function(i)
      if p[2 * i] == -2147483648 then return null end
      return scalar(tid, p[2 * i], { unit = p[2 * i + 1] })
    end
  elseif k == "xy" then
    local bits = ffi.cast(C_U32, o.data)
    local function part(j)
      if is_nan64(bits[2 * j], bits[2 * j + 1]) then return NAN end
      return p[j]
    end
    return function(i)
      local x, y = part(2 * i), part(2 * i + 1)
      if x == DBL_NULL and y == DBL_NULL then return null end
      return scalar(tid, { x, y })
    end
  elseif k == "str" then
    local base = o.symbase
    if base ~= nil and o.offs == nil then
      local idx, cache = ffi.cast(C_I32, o.data), {}
      return function(i)
        local e = idx[i]
        local s = cache[e]
        if not s then
          if e < 0 or e >= base.n then error("dolphindb: symbol index out of range", 0) end
          s = ffi.string(base.bytes + base.offs[e], base.offs[e + 1] - base.offs[e] - 1)
          cache[e] = s
        end
        return s
      end
    end
    local offs, bytes = o.offs, o.bytes
    return function(i) return ffi.string(bytes + offs[i], offs[i + 1] - offs[i] - 1) end
  elseif k == "void" then
    return function() return null end
  end
  error("dolphindb: cannot read cells of type " .. tostring(NAME[tid]), 0)
end

local from_obj

-- The `typed` mode of the constructors' read-back (private): elements of ANY
-- containers stay plain Lua values where those are re-sent as the same DolphinDB
-- type, and become typed scalars where they would not be (CHAR, SHORT, FLOAT,
-- integral DOUBLE, SYMBOL, BLOB, typed NULLs), so ddb.dict(k, "ANY", ...),
-- ddb.table ANY columns and nested ANY vectors send what the caller built.
local LOSSLESS = setmetatable({}, { __name = "lossless" })
local sent_type                      -- from dolphindb.build, bound below

-- A plain Lua scalar for a SCALAR object (nil for NULL unless typed).
local function scalar_value(o, typed)
  local tid = o.type
  if typed == LOSSLESS then
    local v = scalar_value(o, false)
    local st = sent_type(v)
    if st == nil or (st == tid and (tid ~= T.VOID or o.void_kind == 1)) then return v end
    return scalar_value(o, true)
  end
  if tid == T.VOID then
    if typed then return scalar(tid, o.void_kind ~= 1 and o.void_kind or nil) end
    return nil
  end
  local v = element_reader(o, typed)(0)
  local k = KIND[tid]
  if k == "str" then
    if typed or (tid ~= T.STRING and tid ~= T.SYMBOL and tid ~= T.BLOB) then
      return scalar(tid, v, o.fkind ~= 0 and { fkind = o.fkind } or nil)
    end
    return v
  end
  if v == null then
    if not typed then return nil end
    return scalar(tid, nil, DEC_MAX_SCALE[tid] and { scale = o.scale } or nil)
  end
  if typed and not is_scalar(v) then return scalar(tid, v) end
  return v
end

local function fill(list, o, from, n, typed, anchor)
  if o.type == T.ANY then
    for i = 1, n do
      local v = from_obj(o.items[from + i - 1], typed, anchor)
      if v == nil then v = null end
      list[i] = v
    end
  else
    local read = element_reader(o, typed)
    for i = 1, n do list[i] = read(from + i - 1) end
  end
  list.n = n
  return list
end

-- A VOID vector costs no bytes per element on the wire but one slot each in Lua:
-- refuse absurd ones instead of building billions of ddb.null entries.
local MAX_VOID_ROWS = 1e7

local function vector_value(o, typed, anchor, n)
  n = n or tonumber(o.rows)
  if o.type == T.VOID and n > MAX_VOID_ROWS then
    error(("dolphindb: a VOID vector of %d rows is too large to convert"):format(n), 0)
  end
  local v = fill({}, o, 0, n, typed, anchor)
  anchors[v] = { anchor, o }
  return setmetatable(v, vector_mt(o.form, o.type, o.scale))
end

-- Views: a vector (or a table column) that stays in the decoded memory; v[i] makes
-- the Lua value of cell i when it is read, the same value the array form holds
-- (ddb.null for NULL, typed scalars for temporals, ...), so a 10-million-row column
-- costs one small object, not ten million Lua values (or, for temporal columns, ten
-- million tables). A view is an FFI struct, not a Lua table, because LuaJIT honours
-- __len, __ipairs and __pairs only on cdata: #v, ipairs(v) and pairs(v) see the
-- cells. v.n, v:ptr(), tostring, ddb.typeof, ddb.plain and re-sending work as for
-- arrays; v:totable() copies it into the array form. Read-only. Results get views
-- with view = true, and by default when they hold at least M._VIEW_CELLS cells
-- (docs/API.md "Views of big results"). ANY vectors (one object per element), array
-- vectors and matrices keep the array form.
--
-- Lifetime: readers[v] (the cell reader) and anchors[v] = {handle, obj} are weak-keyed
-- by the view, so the handle that owns the decoded object lives exactly as long as
-- the view; when the view is collected the handle's __gc drops the object. A column
-- of a table result gets a handle of its own column (core._obj_column), so a column
-- kept alone does not keep the other columns alive.
M._VIEW_CELLS = 65536

pcall(ffi.cdef, [[
typedef struct ddbv_view { const double n; const int32_t _form, _type, _scale; } ddbv_view;
]])

local View = setmetatable({}, { __index = Vector })     -- methods of views

local function view_newindex()
  error("dolphindb: a view is read-only (v:totable() gives a copy in the array form)", 2)
end

-- A ctype's metatable can be set once per process, but this file may be loaded again
-- (package.loaded cleared, as busted does between spec files): the metatype and the
-- weak tables live in the registry, made by the first load; the methods are the last
-- load's, as for core._obj_hooks.
local VS = debug.getregistry()["dolphindb.value.views"]
if not VS then
  local readers = setmetatable({}, { __mode = "k" })   -- view -> element reader
  VS = { readers = readers, anchors = setmetatable({}, { __mode = "k" }) }
  local function view_next(v, i)
    i = i + 1
    if i <= v.n then return i, readers[v](i - 1) end
  end
  VS.ctype = ffi.metatype("struct ddbv_view", {
    __index = function(v, k)
      if type(k) == "number" then
        if k >= 1 and k <= v.n and k % 1 == 0 then return readers[v](k - 1) end
        return nil
      end
      return VS.methods[k]
    end,
    __newindex = function(v, k, x) return VS.newindex(v, k, x) end,
    __len = function(v) return v.n end,
    __ipairs = function(v) return view_next, v, 0 end,
    __pairs = function(v) return view_next, v, 0 end,   -- the cells, as ipairs
    __tostring = function(v) return VS.tostring(v) end,
  })
  debug.getregistry()["dolphindb.value.views"] = VS
end
VS.methods, VS.newindex = View, view_newindex
VS.tostring = function(v) return core._obj_format(anchors[v][1]) end
local VIEW, readers = VS.ctype, VS.readers
anchors = VS.anchors

local function is_view(v) return type(v) == "cdata" and ffi.istype(VIEW, v) end
M._is_view = is_view

local view_info_cache = {}
local function view_info(v)
  local scale = DEC_MAX_SCALE[v._type] and v._scale or nil     -- only decimals have one
  local key = v._form * 100000 + v._type * 100 + (scale or 0)
  local i = view_info_cache[key]
  if not i then
    i = { form = v._form, type = v._type, scale = scale, view = true }
    view_info_cache[key] = i
  end
  return i
end

local function can_view(o)
  return (o.form == FORM.VECTOR or o.form == FORM.PAIR) and o.type < 64 and o.type ~= T.ANY
end

-- The handle owning the object a view shows (decoded objects are never changed).
local function view_handle(v)
  return is_view(v) and anchors[v][1] or nil
end

-- h: a handle whose object is o (the result, or one column of it).
local function view_value(o, typed, h)
  local v = VIEW(tonumber(o.rows), o.form, o.type, o.scale)
  readers[v] = element_reader(o, typed)
  anchors[v] = { h, o }
  return v
end

-- Whether a result is big enough to come back as views when the caller did not say.
local function big(o)
  local cells = o.form == FORM.TABLE and o.rows * o.cols or can_view(o) and o.rows or 0
  return cells >= M._VIEW_CELLS
end

function View:totable()
  local n, read, a = self.n, readers[self], anchors[self]
  local list = { n = n }
  for i = 1, n do list[i] = read(i - 1) end
  anchors[list] = a
  local o = a[2]
  return setmetatable(list, vector_mt(o.form, o.type, o.scale))
end

-- Dictionary/set keys must work as Lua table keys: typed values become their text.
local function key_value(k)
  if is_scalar(k) then return tostring(k) end
  if is_i64(k) and k >= -2^53 and k <= 2^53 then return tonumber(k) end
  return k
end

local function map_value(o, typed, anchor)
  local keys = fill({}, o.keys, 0, tonumber(o.keys.rows), typed, anchor)
  local vals = o.form ~= FORM.SET and fill({}, o.values, 0, tonumber(o.values.rows), typed, anchor)
  local d, ord, typed_keys = {}, {}, nil
  for i = 1, keys.n do
    local k = key_value(keys[i])
    ord[i] = k
    if vals then d[k] = vals[i] else d[k] = true end
    if is_scalar(keys[i]) then
      typed_keys = typed_keys or {}
      typed_keys[k] = keys[i]
    end
  end
  order[d] = ord
  key_scalars[d] = typed_keys
  local vt = vals and o.values.type or nil
  local scale = (vals and o.values or o.keys).scale
  return setmetatable(d, map_mt(o.form, o.keys.type, vt, scale))
end

function info(v)
  if type(v) == "cdata" then return is_view(v) and view_info(v) or nil end
  local mt = getmetatable(v)
  return mt and meta_info[mt]
end

-- t.price / t["price"]: a column by name, after the table's own fields (colnames,
-- columns, n, name) and methods, which win over a column of the same name.
local Table_mt = { __name = "ddb.table" }
function Table_mt.__index(t, k)
  local m = Table[k]
  if m ~= nil or type(k) ~= "string" then return m end
  return Table.col(t, k)
end
meta_info[Table_mt] = { form = FORM.TABLE }

function from_obj(o, typed, anchor, view)
  local form, tid = o.form, o.type
  if form == FORM.SCALAR then return scalar_value(o, typed) end
  if view and can_view(o) then return view_value(o, typed, anchor) end
  if form == FORM.VECTOR or form == FORM.PAIR then
    if tid >= 64 and tid < 128 then
      local rows, av = tonumber(o.rows), {}
      for r = 1, rows do
        local a, b = tonumber(o.row_offs[r - 1]), tonumber(o.row_offs[r])
        av[r] = fill({}, o.values, a, b - a, typed, anchor)
      end
      av.n = rows
      anchors[av] = { anchor, o }
      return setmetatable(av, vector_mt(form, tid - 64, o.values.scale, true))
    end
    return vector_value(o, typed, anchor)
  elseif form == FORM.TABLE then
    local t = { colnames = {}, columns = {}, n = tonumber(o.rows), name = ffi.string(o.name) }
    -- views only of the result's own columns, each anchored by a handle of its own
    local own = view and P(anchor) == o
    for c = 1, tonumber(o.cols) do
      t.colnames[c] = ffi.string(o.col_names[c - 1])
      local co = o.columns[c - 1]
      if own and can_view(co) then
        t.columns[c] = view_value(co, typed, core._obj_column(anchor, c))
      else
        t.columns[c] = from_obj(co, typed, anchor)
      end
    end
    return setmetatable(t, Table_mt)
  elseif form == FORM.MATRIX then
    local m = { nrows = tonumber(o.rows), ncols = tonumber(o.cols) }
    m.data = vector_value(o, typed, anchor, tonumber(o.rows * o.cols))
    setmetatable(m.data, vector_mt(FORM.VECTOR, tid, o.scale))
    if o.row_labels ~= nil then m.rowlabels = from_obj(o.row_labels, typed, anchor) end
    if o.col_labels ~= nil then m.collabels = from_obj(o.col_labels, typed, anchor) end
    return setmetatable(m, matrix_mt(tid, DEC_MAX_SCALE[tid] and o.scale or nil))
  elseif form == FORM.SET or form == FORM.DICTIONARY or form == FORM.CHART then
    return map_value(o, typed, anchor)
  elseif form == FORM.CHUNK then
    return setmetatable({ bytes = ffi.string(o.bytes, o.nbytes) }, Chunk)
  end
  error("dolphindb: cannot convert a " .. tostring(FORM_NAME[form]) .. " object", 0)
end

-- Hook for the C side: a handle (one object) -> Lua value.
function M._from_handle(h, opts)
  local typed, view = false, nil
  if type(opts) == "table" then typed, view = opts.typed, opts.view end
  local o = P(h)
  if view == nil then view = big(o) end
  local v = from_obj(o, typed, h, view)
  if type(opts) == "table" and opts.pickleTableToList and getmetatable(v) == Table_mt then
    return v:tolist()
  end
  return v
end

-- The building side gets the tables above and adds its constructors to M.
local build = require("dolphindb.build").bind({
  module = M, P = P, I64 = I64, U64 = U64, I64_MIN = I64_MIN, FLT_NULL = FLT_NULL, DBL_NULL = DBL_NULL,
  C_I32 = C_I32, C_I64 = C_I64, FORM = FORM, FORM_NAME = FORM_NAME, T = T, NAME = NAME, KIND = KIND,
  CTYPE = CTYPE, INT_RANGE = INT_RANGE, DEC_MAX_SCALE = DEC_MAX_SCALE, type_id = type_id,
  type_name = type_name, null = null, Scalar = Scalar, scalar = scalar, is_scalar = is_scalar,
  is_i64 = is_i64, info = info, order = order, vector_mt = vector_mt, map_mt = map_mt,
  matrix_mt = matrix_mt, view_handle = view_handle, LOSSLESS = LOSSLESS, key_scalars = key_scalars,
})
to_handle, build_scalar, ordered_keys = build.to_handle, build.build_scalar, build.ordered_keys
sent_type = build.sent_type

M._to_handle = to_handle
M._scatter_vector = build.scatter_vector      -- for dolphindb.fit (column_groups)
M._View = View                       -- for docs_spec: the methods views add
M._Table = Table                     -- and those of tables
M._view_handle = view_handle         -- for the specs: the handle a view keeps alive
core._obj_hooks(M._from_handle, to_handle)

---------------------------------------------------------------- methods

function Scalar.__tostring(s) return core._obj_format(build_scalar(s)) end

function Vector.__tostring(v) return core._obj_format(to_handle(v)) end

-- Zero-copy FFI pointer to the cells of a decoded (or freshly built) vector, its
-- length and the handle that owns the memory. The pointer stays valid while the
-- vector is alive; it shows the decoded cells, not later edits of the Lua array.
function Vector:ptr()
  local a = anchors[self]
  if not a then
    local h = to_handle(self)
    a = { h, P(h) }
    anchors[self] = a
  end
  local o = a[2]
  local ct = CTYPE[o.type]
  if not ct or o.type >= 64 then error("dolphindb: no FFI view for " .. type_name(o.type) .. " vectors", 2) end
  local n = o.form == FORM.MATRIX and o.rows * o.cols or o.rows
  return ffi.cast(ct, o.data), tonumber(n), a[1]
end
Vector.view = Vector.ptr
ArrayVector.ptr = function(self)
  local a = anchors[self]
  if not a then local h = to_handle(self); a = { h, P(h) }; anchors[self] = a end
  local o = a[2]
  return ffi.cast(CTYPE[o.type - 64], o.values.data), ffi.cast(C_I64, o.row_offs), tonumber(o.rows), a[1]
end

function Table:col(name)
  for i, n in ipairs(self.colnames) do if n == name then return self.columns[i] end end
  return nil
end
function Table:ncols() return #self.columns end
function Table:row(r)
  local row = {}
  for c, name in ipairs(self.colnames) do row[name] = self.columns[c][r] end
  return row
end
function Table:rows()
  local r = 0
  return function()
    r = r + 1
    if r <= self.n then return r, self:row(r) end
  end
end
function Table:tolist()
  local list = { n = self.n }
  for r = 1, self.n do list[r] = self:row(r) end
  return list
end
Table_mt.__tostring = function(t) return core._obj_format(to_handle(t)) end

function Matrix:get(r, c) return self.data[(c - 1) * self.nrows + r] end
function Matrix:column(c)
  local col = { n = self.nrows }
  for r = 1, self.nrows do col[r] = self:get(r, c) end
  return col
end
Matrix.__tostring = function(m) return core._obj_format(to_handle(m)) end
Chunk.__index = Chunk
Chunk.__tostring = function(c) return ("chunk(%d bytes)"):format(#c.bytes) end
meta_info[Chunk] = { form = FORM.CHUNK }

---------------------------------------------------------------- public API

function M.typeof(v)
  local tv = type(v)
  if v == nil or v == null then return "VOID", "SCALAR" end
  if is_scalar(v) then return v.type, "SCALAR" end
  local i = (tv == "table" or tv == "cdata") and info(v)
  if i then
    local t = i.type and (i.array and NAME[i.type] .. "[]" or NAME[i.type])
    if i.form == FORM.SET then t = NAME[i.key] end
    if i.form == FORM.TABLE then t = "VOID" end
    return t or "ANY", FORM_NAME[i.form]
  end
  local o = P(to_handle(v))
  return type_name(o.type), FORM_NAME[o.form]
end

function M.keys(d)
  if type(d) ~= "table" then error("dolphindb: ddb.keys expects a dictionary or set", 2) end
  return ordered_keys(d)
end
function M.tolist(t)
  if getmetatable(t) ~= Table_mt then error("dolphindb: ddb.tolist expects a table", 2) end
  return t:tolist()
end
function M.view(v)
  if not is_view(v) then
    local mt = getmetatable(v)
    if not (mt and (mt.__index == Vector or mt.__index == ArrayVector)) then
      error("dolphindb: ddb.view expects a vector", 2)
    end
  end
  return v:ptr()
end
M.encode = core.encode
M.decode = core.decode
M.isnull = function(v) return v == nil or v == null or (is_scalar(v) and v.value == nil) end

return M
