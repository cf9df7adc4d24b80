-- dolphindb.plain — received DolphinDB values as plain Lua values that a JSON encoder
-- (lua-cjson, OpenResty's standard) takes as they are: numbers, strings, booleans,
-- a JSON null, arrays and string-keyed objects; no cdata, no typed scalars, no
-- metatables other than the array marker.
--
--   local cjson = require "cjson"
--   ngx.say(cjson.encode(ddb.plain(pool:run("select * from t"))))
--
-- ddb.plain(v[, opts]); opts and their defaults (docs/API.md "plain"):
--   null      = the JSON null (cjson.null, which equals ngx.null), or ddb.null when
--               lua-cjson cannot be loaded: NULL scalars and cells
--   int64     = "string" | "number"         LONG (int64 cdata): exact decimal text, or a
--                                           Lua number (exact up to 2^53 only)
--   temporal  = "iso" | "text" | "epoch"    "2024-01-02T13:30:10.008", the DolphinDB
--                                           literal "2024.01.02T13:30:10.008", or the
--                                           count DolphinDB stores (days, ms, ns...)
--   decimal   = "string" | "number"         DECIMAL: exact text "1.250", or a number
--   nonfinite = "null" | "string" | "keep"  NaN/±inf (cjson refuses them): null,
--                                           "NaN"/"Infinity"/"-Infinity", or as they are
--   table     = "rows" | "columns"          [{col: v, ...}, ...] or {col: [v, ...], ...}
--   array_mt  = metatable set on every array made (so an empty one encodes as []):
--               cjson.array_mt / cjson.empty_array_mt when the loaded cjson has one
--               (OpenResty's), else plain.array_mt ({__jsontype = "array"}, which
--               dkjson honours); false: none
local ffi = require "ffi"
local value = require "dolphindb.value"

local type, tostring, tonumber, pairs, ipairs = type, tostring, tonumber, pairs, ipairs
local getmetatable, setmetatable, error, pcall, require = getmetatable, setmetatable, error, pcall, require
local rawget, next, select = rawget, next, select
local str_format, huge = string.format, math.huge
local typeof, keys, null, is_view = value.typeof, value.keys, value.null, value._is_view
local istype = ffi.istype

local M = {}

-- Marks arrays when no encoder-specific marker exists (dkjson reads __jsontype).
M.array_mt = { __jsontype = "array" }

local I64, U64 = ffi.typeof("int64_t"), ffi.typeof("uint64_t")
local F32 = ffi.typeof("float[1]")

local TEMPORAL = { DATE = true, MONTH = true, TIME = true, MINUTE = true, SECOND = true,
  DATETIME = true, TIMESTAMP = true, NANOTIME = true, NANOTIMESTAMP = true,
  DATEHOUR = true, DATEMINUTE = true }
local DECIMAL = { DECIMAL32 = true, DECIMAL64 = true, DECIMAL128 = true }
-- typed scalars whose value is already the plain one
local PLAIN_CELL = { BOOL = true, CHAR = true, SHORT = true, INT = true, STRING = true,
  SYMBOL = true, BLOB = true }

local CHOICES = {
  int64 = { string = true, number = true },
  temporal = { iso = true, text = true, epoch = true },
  decimal = { string = true, number = true },
  nonfinite = { null = true, string = true, keep = true },
  table = { rows = true, columns = true },
}
local DEFAULTS = { int64 = "string", temporal = "iso", decimal = "string", nonfinite = "null",
  table = "rows" }

local cjson_checked, cjson_mod
local function cjson()
  if not cjson_checked then
    cjson_checked = true
    local ok, mod = pcall(require, "cjson")
    cjson_mod = ok and type(mod) == "table" and mod or nil
  end
  return cjson_mod
end

local function default_null()
  local c = cjson()
  if c and c.null ~= nil then return c.null end
  local ngx = rawget(_G, "ngx")
  if type(ngx) == "table" and ngx.null ~= nil then return ngx.null end
  return null
end

local function default_array_mt()
  local c = cjson()
  return c and (c.array_mt or c.empty_array_mt) or M.array_mt
end

---------------------------------------------------------------- cells

local function i64_text(x) return (tostring(x):gsub("U?LL$", "")) end

local function real(x, o)
  if x == x and x ~= huge and x ~= -huge then return x end
  if o.nonfinite == "null" then return o.null end
  if o.nonfinite == "string" then
    return x ~= x and "NaN" or (x > 0 and "Infinity" or "-Infinity")
  end
  return x
end

-- A FLOAT cell (a float32 widened to double) as the shortest decimal that reads back
-- as the same float32: 0.1f is 0.1, not 0.10000000149011612.
local f32 = F32()
local function float(x, o)
  if x ~= x or x == huge or x == -huge then return real(x, o) end
  for digits = 6, 9 do
    local y = tonumber(str_format("%." .. digits .. "g", x))
    f32[0] = y
    if f32[0] == x then return y end
  end
  return x
end

local function int64(x, o)
  if o.int64 == "number" then return tonumber(x) end
  return i64_text(x)
end

-- DolphinDB literal -> ISO 8601: 2024.01.02 -> 2024-01-02, 2024.01M -> 2024-01,
-- 13:30m -> 13:30 (times and the T between date and time stay).
local function iso(text)
  text = text:gsub("^(%-?%d+)%.(%d%d)%.(%d%d)", "%1-%2-%3", 1)
  text = text:gsub("^(%-?%d+)%.(%d%d)M$", "%1-%2", 1)
  return (text:gsub("m$", "", 1))
end

local convert   -- any value, below

-- ISO 8601 text straight from the stored count (no round trip through the C
-- formatter): days since 1970-01-01 -> year, month, day (proleptic Gregorian).
local floor = math.floor
local function civil(days)
  local z = days + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m, d
end

-- v = q * d + r with 0 <= r < d, for a number or an int64 cdata; q and r as numbers
local function divmod(v, d)
  if type(v) == "number" then
    local q = floor(v / d)
    return q, v - q * d
  end
  local q = v / d
  local r = v - q * d
  if r < 0 then r = r + d; q = q - 1 end
  return tonumber(q), tonumber(r)
end

local function ymd(days)
  local y, m, d = civil(days)
  if y < 0 or y > 9999 then return nil end
  return str_format("%04d-%02d-%02d", y, m, d)
end

local function hms(secs) -- seconds within a day
  local h = floor(secs / 3600)
  local mi = floor((secs - h * 3600) / 60)
  return str_format("%02d:%02d:%02d", h, mi, secs - h * 3600 - mi * 60)
end

local ISO = {
  DATE = function(v) return ymd(v) end,
  MONTH = function(v)
    local y, m = divmod(v, 12)
    if y < 0 or y > 9999 then return nil end
    return str_format("%04d-%02d", y, m + 1)
  end,
  TIME = function(v)
    local sec, ms = divmod(v, 1000)
    return hms(sec) .. str_format(".%03d", ms)
  end,
  MINUTE = function(v) return str_format("%02d:%02d", floor(v / 60), v % 60) end,
  SECOND = function(v) return hms(v) end,
  NANOTIME = function(v)
    local sec, ns = divmod(v, 1000000000LL)
    return hms(sec) .. str_format(".%09d", ns)
  end,
  DATETIME = function(v)
    local days, sec = divmod(v, 86400)
    local date = ymd(days)
    return date and date .. "T" .. hms(sec)
  end,
  TIMESTAMP = function(v)
    local sec, ms = divmod(v, 1000LL)
    local days, s = divmod(sec, 86400)
    local date = ymd(days)
    return date and date .. "T" .. hms(s) .. str_format(".%03d", ms)
  end,
  NANOTIMESTAMP = function(v)
    local sec, ns = divmod(v, 1000000000LL)
    local days, s = divmod(sec, 86400)
    local date = ymd(days)
    return date and date .. "T" .. hms(s) .. str_format(".%09d", ns)
  end,
  DATEHOUR = function(v)
    local days, h = divmod(v, 24)
    local date = ymd(days)
    return date and date .. str_format("T%02d", h)
  end,
  DATEMINUTE = function(v)
    local days, mi = divmod(v, 1440)
    local date = ymd(days)
    return date and date .. str_format("T%02d:%02d", floor(mi / 60), mi % 60)
  end,
}

local function scalar(s, o)
  local t, v = s.type, s.value
  if v == nil then return o.null end
  if TEMPORAL[t] then
    if o.temporal == "epoch" then
      if type(v) == "cdata" then return int64(v, o) end
      return v
    end
    if o.temporal == "iso" then
      local fast = ISO[t] and ISO[t](v)
      if fast then return fast end
      return iso(tostring(s))       -- years outside 0..9999: from the literal
    end
    return tostring(s)
  end
  if DECIMAL[t] then
    if o.decimal == "number" then return real(s:tonumber(), o) end
    return tostring(s)
  end
  if t == "LONG" then return int64(v, o) end
  if t == "FLOAT" then return float(v, o) end
  if t == "DOUBLE" then return real(v, o) end
  if t == "COMPLEX" or t == "POINT" then
    return setmetatable({ real(v[1], o), real(v[2], o) }, o.array_mt)
  end
  if PLAIN_CELL[t] then return v end
  return tostring(s)     -- UUID, IPADDR, INT128, DURATION, CODE, ...
end

-- The converter of the cells of a vector whose element type is `t` ("INT[]": rows).
local cell_converter
local function float_cell(x, o)
  if type(x) == "number" then return float(x, o) end
  return convert(x, o)
end
local function array(o)
  return o.array_mt and setmetatable({}, o.array_mt) or {}
end

local function list(v, n, cell, o)
  local out = array(o)
  for i = 1, n do out[i] = cell(v[i], o) end
  return out
end

local function length(v)
  if is_view(v) then return v.n end
  local n = rawget(v, "n")
  if type(n) ~= "number" then n = #v end
  return n
end

function cell_converter(t)
  if t == "FLOAT" then return float_cell end
  if t and t:sub(-2) == "[]" then
    local cell = cell_converter(t:sub(1, -3))
    return function(row, o)
      if type(row) ~= "table" or row == null then return convert(row, o) end
      return list(row, length(row), cell, o)
    end
  end
  return convert
end

local function key_text(k)
  local tk = type(k)
  if tk == "string" then return k end
  if tk == "number" then
    if k % 1 == 0 and k >= -2^53 and k <= 2^53 then return str_format("%d", k) end
    return str_format("%.17g", k)
  end
  if tk == "cdata" and (istype(I64, k) or istype(U64, k)) then return i64_text(k) end
  return tostring(k)     -- booleans, typed scalars: their text
end

local SHAPES = { ["ddb.vector"] = true, ["ddb.table"] = true, ["ddb.matrix"] = true,
  ["ddb.set"] = true, ["ddb.dict"] = true }

local function shaped(v, name, o)
  if name == "ddb.scalar" then return scalar(v, o) end
  if not SHAPES[name] then return nil end
  local t, form = typeof(v)
  if name == "ddb.vector" then
    if form == "VECTOR" or form == "PAIR" then
      return list(v, length(v), cell_converter(t), o)
    end
  elseif name == "ddb.table" then
    local names, cols, n = v.colnames, v.columns, v.n
    if o.table == "columns" then
      local out = {}
      for c = 1, #names do
        local col = cols[c]
        out[names[c]] = list(col, n, cell_converter((typeof(col))), o)
      end
      return out
    end
    local cells = {}
    for c = 1, #names do cells[c] = cell_converter((typeof(cols[c]))) end
    local out = array(o)
    for r = 1, n do
      local row = {}
      for c = 1, #names do row[names[c]] = cells[c](cols[c][r], o) end
      out[r] = row
    end
    return out
  elseif name == "ddb.matrix" then
    local cell, out = cell_converter(t), array(o)
    for r = 1, v.nrows do
      local row = array(o)
      for c = 1, v.ncols do row[c] = cell(v:get(r, c), o) end
      out[r] = row
    end
    return out
  elseif name == "ddb.set" then
    -- temporal keys are their DolphinDB text: read back as typed scalars
    local ks, cell = keys(v), cell_converter(t)
    local make = TEMPORAL[t] and value[t:lower()]
    if make then
      cell = function(x, opt)
        if type(x) == "string" then return scalar(make(x), opt) end
        return convert(x, opt)
      end
    end
    return list(ks, #ks, cell, o)
  elseif name == "ddb.dict" then
    local cell, out = cell_converter(t), {}
    for k, x in pairs(v) do out[key_text(k)] = cell(x, o) end
    return out
  end
  return nil
end

function convert(v, o)
  local tv = type(v)
  if tv == "nil" then return o.null end
  if tv == "number" then return real(v, o) end
  if tv == "string" or tv == "boolean" or tv == "userdata" then return v end
  if tv == "cdata" then
    if istype(I64, v) or istype(U64, v) then return int64(v, o) end
    if is_view(v) then return list(v, v.n, cell_converter((typeof(v))), o) end
    error("dolphindb: plain: cannot convert " .. tostring(ffi.typeof(v)), 0)
  end
  if tv ~= "table" then error("dolphindb: plain: cannot convert a " .. tv, 0) end
  if v == null then return o.null end
  local mt = getmetatable(v)
  if mt then
    local name = mt.__name
    if name then
      local out = shaped(v, name, o)
      if out ~= nil then return out end
    end
    if type(v.bytes) == "string" and select(2, typeof(v)) == "CHUNK" then return v.bytes end
    if mt == o.array_mt or mt == M.array_mt then
      return list(v, length(v), convert, o)
    end
  end
  -- a plain Lua table: an array (1..n, or with n) or an object with text keys
  local n = rawget(v, "n")
  if type(n) == "number" or v[1] ~= nil or (next(v) == nil and mt == nil) then
    return list(v, length(v), convert, o)
  end
  local out = {}
  for k, x in pairs(v) do out[key_text(k)] = convert(x, o) end
  return out
end

local function options(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("dolphindb: plain: options must be a table, got " .. type(opts), 3)
  end
  opts = opts or {}
  local o = {}
  for k, choices in pairs(CHOICES) do
    local c = opts[k]
    if c == nil then c = DEFAULTS[k] end
    if not choices[c] then
      local list = {}
      for name in pairs(choices) do list[#list + 1] = '"' .. name .. '"' end
      table.sort(list)
      error(("dolphindb: plain: %s must be %s, got %s"):format(k, table.concat(list, " or "),
        tostring(c)), 3)
    end
    o[k] = c
  end
  if opts.null ~= nil then o.null = opts.null else o.null = default_null() end
  if opts.array_mt ~= nil then
    if opts.array_mt ~= false and type(opts.array_mt) ~= "table" then
      error("dolphindb: plain: array_mt must be a table or false", 3)
    end
    o.array_mt = opts.array_mt or nil
  else
    o.array_mt = default_array_mt()
  end
  return o
end

-- ddb.plain(v[, opts]) -> plain Lua value
function M.plain(v, opts)
  return convert(v, options(opts))
end

return M
