-- dolphindb.fit — the auto-fit step of the writers: a user's table (a ddb table, or
-- a Lua table of columns) made into columns of the target table's types.
--
-- The rule is the official auto-fit appender's (docs/API.md "Writers"):
--   * a column of plain Lua values (numbers, strings, booleans, int64) is built
--     directly as the target column's type (numbers are the raw count of a temporal
--     type: ms for TIMESTAMP, days for DATE, ...; strings are parsed as literals);
--   * a typed column (a vector built by ddb.vector, a decoded column, a list of typed
--     scalars) of the target's own type is sent as it is;
--   * of another type of the same category: temporal types are converted here, on
--     the client (cast_temporal below, floor arithmetic, NULL stays NULL); any other
--     pair (INT into LONG, STRING into SYMBOL, ...) is sent unchanged and the server
--     converts it;
--   * of another category: refused, "expect category X, got category Y".
-- A typed column of NULLs only (VOID) becomes NULLs of the target's type.
local ffi = require "ffi"
local value = require "dolphindb.value"
local columns = require "dolphindb.columns"

local T, NAME, type_name = columns.T, columns.NAME, columns.type_name

local M = {}

---------------------------------------------------------------- categories

local CATEGORY = {}
local function cat(name, ...) for _, n in ipairs { ... } do CATEGORY[T[n]] = name end end
cat("TEMPORAL", "DATE", "MONTH", "TIME", "MINUTE", "SECOND", "DATETIME", "TIMESTAMP", "NANOTIME",
  "NANOTIMESTAMP", "DATEHOUR", "DATEMINUTE")
cat("INTEGRAL", "CHAR", "SHORT", "INT", "LONG")
cat("LOGICAL", "BOOL")
cat("FLOATING", "FLOAT", "DOUBLE")
cat("LITERAL", "STRING", "SYMBOL", "BLOB")
cat("BINARY", "INT128", "UUID", "IPADDR")
cat("DENARY", "DECIMAL32", "DECIMAL64", "DECIMAL128")
cat("MIXED", "ANY")
cat("NOTHING", "VOID")

function M.category(tid)
  if tid >= 64 then return "ARRAY" end
  return CATEGORY[tid] or "SYSTEM"
end

---------------------------------------------------------------- temporal casts

-- Nanoseconds per tick: types that carry a date, and times of day.
local DAY = 86400000000000LL
local DATED = { [T.DATE] = DAY, [T.DATEHOUR] = 3600000000000LL, [T.DATETIME] = 1000000000LL,
  [T.TIMESTAMP] = 1000000LL, [T.NANOTIMESTAMP] = 1LL }
local CLOCK = { [T.TIME] = 1000000LL, [T.MINUTE] = 60000000000LL, [T.SECOND] = 1000000000LL,
  [T.NANOTIME] = 1LL }

local function floor_div(k)
  return function(x)
    local q = x / k                        -- int64 division truncates
    if x < 0 and q * k ~= x then q = q - 1 end
    return q
  end
end
local function floor_mod(k)
  return function(x)
    local r = x % k                        -- int64 % has the sign of x
    if r < 0 then r = r + k end
    return r
  end
end
local function times(k) return function(x) return x * k end end

-- Days since 1970-01-01 -> months since year 0 (year * 12 + month - 1), proleptic
-- Gregorian (the civil-from-days algorithm, in floor arithmetic).
local floor = math.floor
local function civil_month(x)
  local z = tonumber(x) + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  return y * 12 + m - 1
end
M._civil_month = civil_month

-- ticks of a -> ticks of b (both in ns per tick)
local function rescale(a, b, steps)
  if a > b then steps[#steps + 1] = times(a / b)
  elseif a < b then steps[#steps + 1] = floor_div(b / a) end
  return steps
end

-- The steps that turn a cell of type `from` into one of type `to`, or nil.
local function plan(from, to)
  if DATED[from] and DATED[to] then return rescale(DATED[from], DATED[to], {}) end
  if DATED[from] and CLOCK[to] and from ~= T.DATE then
    return rescale(DATED[from], CLOCK[to], { floor_mod(DAY / DATED[from]) })
  end
  if DATED[from] and to == T.MONTH then
    local steps = rescale(DATED[from], DAY, {})
    steps[#steps + 1] = civil_month
    return steps
  end
  if CLOCK[from] and CLOCK[to] then return rescale(CLOCK[from], CLOCK[to], {}) end
  return nil
end

local function compose(steps)
  local f = function(x) return x end
  for _, s in ipairs(steps) do
    local g = f
    f = function(x) return s(g(x)) end
  end
  return f
end

-- One cell: f(x) for an int64 x of type `from` gives the cell of type `to`; nil when
-- there is no such conversion.
function M.cell_converter(from, to)
  local steps = from and to and plan(from, to)
  return steps and compose(steps) or nil
end

local NULL32, NULL64 = -2147483648, -9223372036854775807LL - 1

-- cast_temporal(h, from, to) -> new handle, or nil and a message when DolphinDB's
-- clients have no such conversion (times of day never become dates, ...).
function M.cast_temporal(h, from, to)
  local steps = plan(from, to)
  if not steps then
    return nil, ("cannot convert %s to %s (no such temporal conversion)"):format(NAME[from], NAME[to])
  end
  local n = columns.rows(h)
  local r = columns.new(to, n)
  local src, dst = columns.cells(h), columns.cells(r)
  local snull = columns.WIDTH[from] == 8 and NULL64 or NULL32
  local dnull = columns.WIDTH[to] == 8 and NULL64 or NULL32
  local f = compose(steps)
  for i = 0, n - 1 do
    local v = src[i]
    if v == snull then dst[i] = dnull else dst[i] = f(0LL + v) end
  end
  return r
end

---------------------------------------------------------------- input tables

local function fail(msg) error("dolphindb: " .. msg, 0) end

local function is_view(c) return value._is_view(c) end

local function length(c)
  if type(c) == "cdata" then return c.n end
  if columns.is_handle(c) then return columns.rows(c) end
  local n = rawget(c, "n")
  if type(n) == "number" then return n end
  return #c
end

local function is_ddb_table(t)
  return type(t) == "table" and getmetatable(t) ~= nil and select(2, value.typeof(t)) == "TABLE"
end

-- The columns of t in the target's order, and the number of rows. names: the
-- target's column names; target: its description for messages.
function M.input_columns(t, names, target)
  if type(t) ~= "table" then fail("expects a table (ddb.table{...} or a Lua table of columns), got " .. type(t)) end
  local cols
  if is_ddb_table(t) then
    cols = t.columns
  elseif t[1] ~= nil then
    cols = t
  else
    cols = {}
    for k in pairs(t) do
      local known = false
      for _, n in ipairs(names) do known = known or n == k end
      if not known then fail(("%s has no column '%s'"):format(target, tostring(k))) end
    end
    for i, n in ipairs(names) do
      cols[i] = t[n]
      if cols[i] == nil then fail(("column '%s' of %s is missing"):format(n, target)) end
    end
  end
  if #cols ~= #names then
    fail(("the table has %d columns, %s has %d (The input table columns doesn't match the columns of the target table.)")
      :format(#cols, target, #names))
  end
  local n
  for i, c in ipairs(cols) do
    if type(c) ~= "table" and not is_view(c) and not columns.is_handle(c) then
      fail(("column %d ('%s') must be a list or a vector, got %s"):format(i, names[i], type(c)))
    end
    local len = length(c)
    if n and len ~= n then
      fail(("column %d ('%s') has %d rows, column 1 has %d"):format(i, names[i], len, n))
    end
    n = len
  end
  return cols, n or 0
end

---------------------------------------------------------------- one column

local function type_id(name)
  local base = name:match("^(.-)%[%]$")
  if base then return T[base] + 64 end
  return T[name]
end

-- The type a column declares, or nil for plain Lua values (built as the target's).
local function source_type(c)
  if columns.is_handle(c) then return columns.obj(c).type end
  if is_view(c) or getmetatable(c) ~= nil then return type_id((value.typeof(c))) end
  local n = length(c)
  for i = 1, n do
    local v = c[i]
    if v ~= nil and v ~= value.null then
      if type(v) == "table" and getmetatable(v) ~= nil and v.type then return T[v.type] end
      return nil
    end
  end
  return nil
end

local function full_name(tid, scale)
  local name = type_name(tid)
  if CATEGORY[tid % 64] == "DENARY" then
    name = name:gsub("^(DECIMAL%d+)", "%1(" .. tostring(scale or 0) .. ")")
  end
  return name
end

-- The metatable ddb.vector gives vectors of a type: a plain list with it is sent as
-- that type (dolphindb.value's encoder reads the type from the metatable).
local vector_mts = {}
local function vector_mt(tid, scale)
  local key = full_name(tid, scale)
  local mt = vector_mts[key]
  if not mt then
    mt = getmetatable(value.vector(key, {}))
    vector_mts[key] = mt
  end
  return mt
end

local function retyped(list, mt)
  setmetatable(list, mt)
  local ok, h = pcall(value._to_handle, list)
  setmetatable(list, nil)
  if not ok then error(h, 0) end
  return h
end

-- A conversion error labelled with the column; error values pass unchanged.
local function labelled(label, err)
  if type(err) == "string" then fail(label .. ": " .. err:gsub("^dolphindb: ", "")) end
  error(err, 0)
end

-- Plain values built as the target's type.
local function build_as(c, tid, scale, label)
  local ok, h = pcall(function()
    if getmetatable(c) == nil then return retyped(c, vector_mt(tid, scale)) end
    local copy = { n = length(c) }          -- a typed VOID vector: n NULLs
    return retyped(copy, vector_mt(tid, scale))
  end)
  if not ok then labelled(label, h) end
  return h
end

-- fit(c, tid, scale, label) -> handle of column c fitted to the target type tid.
function M.column(c, tid, scale, label)
  local src = source_type(c)
  if src == nil or src == T.VOID then return build_as(c, tid, scale, label) end
  if src == tid then return value._to_handle(c) end
  local cs, ct = M.category(src), M.category(tid)
  if cs ~= ct then
    fail(("%s: expect category %s, got category %s (a %s column for %s)")
      :format(label, ct, cs, type_name(src), full_name(tid, scale)))
  end
  if cs ~= "TEMPORAL" then return value._to_handle(c) end
  local h, err = M.cast_temporal(value._to_handle(c), src, tid)
  if not h then fail(label .. ": " .. err) end
  return h
end

-- column_groups(c, tid, scale, label, groups) -> column c fitted to tid as ng
-- vectors, row i in vector groups.group[i - 1] + 1 (dolphindb.build's scatter_vector),
-- or nil when c is not a list of plain Lua values or tid has no fixed-width cells:
-- the caller fits it whole and splits it. The same values and errors as column().
function M.column_groups(c, tid, scale, label, groups)
  if type(c) ~= "table" or getmetatable(c) ~= nil or source_type(c) ~= nil then return nil end
  local ok, hs = pcall(value._scatter_vector, tid, c, length(c), scale, groups)
  if not ok then labelled(label, hs) end
  return hs
end

-- All columns of t fitted to the schema (names, types, scales): handles, rows.
function M.table(t, schema)
  local cols, n = M.input_columns(t, schema.names, schema.target)
  local hs = {}
  for i, c in ipairs(cols) do
    hs[i] = M.column(c, schema.types[i], schema.scales[i],
      ("column %d ('%s')"):format(i, schema.names[i]))
  end
  return hs, n
end

return M
