-- dolphindb.build — Lua values -> DolphinDB objects, and the typed constructors.
--
-- The other half of dolphindb.value (which owns the type tables, typed scalars and
-- the decoded shapes, and re-exports everything defined here): how plain Lua values,
-- typed scalars and decoded shapes become cells and object handles (to_handle, the
-- hook the C side calls to encode), and ddb.int/ddb.date/.../ddb.vector/ddb.table,
-- which build the object once (so bad input fails at construction) and read it back
-- through dolphindb.value's decoder. Use it through require "dolphindb" (or
-- "dolphindb.value"); on its own it only offers bind().
local ffi = require "ffi"
local core = require "dolphindb.core"

-- Set by bind(): dolphindb.value loads this file while it loads, so requiring it from
-- here would be a cycle. The last dolphindb.value to load wins, as for core._obj_hooks.
local value, P, I64, U64, I64_MIN, FLT_NULL, DBL_NULL, C_I32, C_I64
local FORM, FORM_NAME, T, NAME, KIND, CTYPE, INT_RANGE, DEC_MAX_SCALE, type_id, type_name
local null, Scalar, scalar, is_scalar, is_i64, info, order, vector_mt, map_mt, matrix_mt
local view_handle, LOSSLESS, key_scalars

---------------------------------------------------------------- Lua -> cells

-- Conversion errors carry no position: they are raised at varying depths below the
-- public call, and the message names the value and the type instead.
local function fail(msg) error("dolphindb: " .. msg, 0) end

-- Integral number or int64 -> int64-compatible Lua value; checks range.
local function integral(v, tid)
  local tv = type(v)
  if tv == "string" and KIND[tid] == "long" and v:match("^%-?%d+$") and #v <= 20 then
    local neg, acc = v:sub(1, 1) == "-", 0LL
    for d in v:gmatch("%d") do
      if acc > (9223372036854775807LL - (d:byte() - 48)) / 10 then fail("LONG out of range: " .. v) end
      acc = acc * 10 + (d:byte() - 48)
    end
    return neg and -acc or acc
  end
  if tv == "number" then
    if v ~= v or v % 1 ~= 0 or v >= 2^63 or v < -2^63 then fail(("%s cannot hold %s"):format(NAME[tid], tostring(v))) end
  elseif tv == "cdata" and ffi.istype(U64, v) then
    if v >= 9223372036854775808ULL then fail(NAME[tid] .. " cannot hold " .. tostring(v)) end
    v = ffi.cast(I64, v)
  elseif not (tv == "cdata" and ffi.istype(I64, v)) then
    fail(("%s expected, got %s"):format(NAME[tid], tv))
  end
  local r = INT_RANGE[tid]
  if r and (v > r or v <= -r - 1) then fail(("%s out of range: %s"):format(NAME[tid], tostring(v))) end
  if (v == I64_MIN) and not r then fail(NAME[tid] .. " out of range (that is the NULL value)") end
  return v
end

local parse_scalar   -- defined below (needs handles)

-- A number as decimal literal text: its 17 significant digits, written out in full
-- when %.17g chose an exponent ("1e-05" -> "0.000010000000000000001"), since decimal
-- literals take none; the parser rounds past the scale. Numbers too large for any
-- DECIMAL keep the short form and fail there with a readable message.
local function decimal_text(v)
  local text = ("%.17g"):format(v)
  local sign, lead, frac, exp = text:match("^(%-?)(%d)%.?(%d*)e([-+]%d+)$")
  if not sign or math.abs(v) >= 1e39 then return text end
  local digits, point = lead .. frac, 1 + tonumber(exp)
  if point <= 0 then return sign .. "0." .. ("0"):rep(-point) .. digits end
  if point >= #digits then return sign .. digits .. ("0"):rep(point - #digits) end
  return sign .. digits:sub(1, point) .. "." .. digits:sub(point + 1)
end

-- The raw cell content for `v` as a cell of type tid (nil = NULL).
local function raw_of(v, tid, scale)
  if v == nil or v == null then return nil end
  if is_scalar(v) then
    local k, sk = KIND[tid], KIND[T[v.type]]
    if v.type == NAME[tid] and (v.scale or 0) == (scale or 0) then
      if k == "bool" and v.value ~= nil then return v.value and 1 or 0 end
      return v.value, v
    end
    if v.value == nil then return nil end
    local numeric = { int = true, long = true, real = true, bool = true }
    if numeric[k] and numeric[sk] then return raw_of(v.value, tid, scale) end
    local dec = sk == "dec32" or sk == "dec64" or v.type == "DECIMAL128"
    if k == "real" and dec then return v:tonumber() end
    if DEC_MAX_SCALE[tid] and (dec or sk == "int" or sk == "long") then return raw_of(tostring(v), tid, scale) end
    fail(("cannot use a %s value as %s"):format(v.type, NAME[tid]))
  end
  local k = KIND[tid]
  if k == "bool" then
    if type(v) == "boolean" then return v and 1 or 0 end
    if type(v) == "number" and (v == 0 or v == 1) then return v end
    fail("BOOL expected, got " .. type(v))
  elseif k == "int" or k == "long" then
    if tid == T.CHAR and type(v) == "string" and #v == 1 then return v:byte() end
    return integral(v, tid)
  elseif k == "real" then
    if type(v) == "number" then return v end
    if is_i64(v) then return tonumber(v) end
    fail(NAME[tid] .. " expected, got " .. type(v))
  elseif k == "time32" or k == "time64" then
    if type(v) == "string" then return parse_scalar(tid, v).value end
    return integral(v, tid)
  elseif k == "dec32" or k == "dec64" or tid == T.DECIMAL128 then
    if type(v) == "number" then v = decimal_text(v) end
    if is_i64(v) then v = tostring(v):gsub("U?LL$", "") end
    if type(v) ~= "string" then fail(NAME[tid] .. " expected, got " .. type(v)) end
    return parse_scalar(tid, v, scale).value
  elseif k == "b16" or k == "dur" then
    if type(v) == "string" then local p = parse_scalar(tid, v); return p.value, p end
    fail(NAME[tid] .. " literal expected, got " .. type(v))
  elseif k == "xy" then
    if type(v) == "table" and type(v[1]) == "number" and type(v[2]) == "number" then return v end
    fail(NAME[tid] .. " expects {x, y}")
  end
  fail("cannot store a value in a " .. tostring(NAME[tid]))
end

-- Write element i (0-based) of a FIXED cell array.
local function put_cell(tid, data, i, v, scale)
  local raw, src = raw_of(v, tid, scale)
  local k, p = KIND[tid], ffi.cast(CTYPE[tid], data)
  if raw == nil then
    if k == "b16" then
      ffi.fill(p + 16 * i, 16, 0)
      if tid == T.DECIMAL128 then p[16 * i + 15] = 0x80 end
    elseif k == "dur" then p[2 * i] = -2147483648; p[2 * i + 1] = 0
    elseif k == "xy" then p[2 * i] = DBL_NULL; p[2 * i + 1] = DBL_NULL
    elseif k == "real" then p[i] = tid == T.FLOAT and FLT_NULL or DBL_NULL
    elseif k == "bool" or tid == T.CHAR then p[i] = -128
    elseif tid == T.SHORT then p[i] = -32768
    elseif CTYPE[tid] == C_I64 then p[i] = I64_MIN
    else p[i] = -2147483648 end
  elseif k == "b16" then ffi.copy(p + 16 * i, raw, 16)
  elseif k == "dur" then p[2 * i] = raw; p[2 * i + 1] = src and src.unit or 0
  elseif k == "xy" then p[2 * i] = raw[1]; p[2 * i + 1] = raw[2]
  else p[i] = raw end
end

---------------------------------------------------------------- Lua -> handles

local to_handle

-- n of an array-like table: v.n, else #v.
local function length(t)
  if type(t) == "cdata" then return t.n end      -- a view (dolphindb.value)
  local n = rawget(t, "n")
  if type(n) == "number" then return n end
  return #t
end

-- A STRING cannot hold a zero byte (the wire ends it there): such a string is a BLOB.
local function text_type(s) return s:find("\0", 1, true) and T.BLOB or T.STRING end

-- Plain list of Lua values -> (type id, scale) of the vector they make.
local function infer(list, n)
  local tid, scale, int32, any, wide
  for i = 1, n do
    local v = list[i]
    local et, es
    if v == nil or v == null then
    elseif type(v) == "boolean" then et = T.BOOL
    elseif type(v) == "string" then et = text_type(v)
    elseif type(v) == "number" then
      -- -0.0 is integral but no integer type holds its sign: it stays a DOUBLE
      if v % 1 == 0 and v < 2^63 and v >= -2^63 + 1024 and (v ~= 0 or 1 / v > 0) then
        et = T.LONG
        if v > -2^31 and v < 2^31 then int32 = (int32 ~= false) else int32 = false end
      else et = T.DOUBLE end
    elseif is_i64(v) then et = T.LONG; int32 = false; wide = true
    elseif is_scalar(v) then et, es = T[v.type], v.scale
    else any = true end
    if et then
      if tid == nil then tid, scale = et, es
      elseif tid ~= et or scale ~= es then
        -- Integers and reals mix into DOUBLE, unless an int64 would lose precision.
        if not wide and ((tid == T.LONG and et == T.DOUBLE) or (tid == T.DOUBLE and et == T.LONG)) then tid = T.DOUBLE
        elseif (tid == T.STRING and et == T.BLOB) or (tid == T.BLOB and et == T.STRING) then tid = T.BLOB
        else any = true end
      end
    end
  end
  if any or tid == nil then return T.ANY end
  if tid == T.LONG and int32 then return T.INT end
  return tid, scale
end

-- Store list[1..n] as cells. Plain numbers and same-typed scalars take a fast path
-- (one cast, no per-element dispatch); everything else goes through put_cell.
local FAST_LIMIT = { int = true, long = true, real = true, time32 = true, time64 = true }
local function fill_cells(tid, data, list, n, scale)
  local k = KIND[tid]
  if not FAST_LIMIT[k] then
    for i = 1, n do put_cell(tid, data, i - 1, list[i], scale) end
    return
  end
  local p, name = ffi.cast(CTYPE[tid], data), NAME[tid]
  local hi = INT_RANGE[tid] or (CTYPE[tid] == C_I32 and 2147483647) or 2^63 - 1025
  local lo = -hi
  for i = 1, n do
    local v = list[i]
    if type(v) == "number" and (k == "real" or (v % 1 == 0 and v >= lo and v <= hi)) then
      p[i - 1] = v
    elseif getmetatable(v) == Scalar and v.type == name and v.value ~= nil then
      p[i - 1] = v.value
    else
      put_cell(tid, data, i - 1, v, scale)
    end
  end
end

-- A new object of n cells of tid (zeroed), a decimal type's scale set and checked
-- (-> handle, object, the scale the cells take: 0 for a decimal given none).
local function new_cells(form, tid, n, scale)
  local h = core._obj_new(form, tid, n)
  local o = P(h)
  if DEC_MAX_SCALE[tid] then
    scale = scale or 0
    if scale < 0 or scale > DEC_MAX_SCALE[tid] then fail(("bad scale %d for %s"):format(scale, NAME[tid])) end
    o.scale = scale
  end
  return h, o, scale
end

-- list[1..n] built as ng vectors of type tid, row i going to vector group[i - 1] + 1
-- at place place[i - 1] (groups: group, place and counts as int32 FFI arrays, ng).
-- For PartitionedTableAppender: building each cell where its group's request takes
-- it saves splitting a built column afterwards (one more pass over fresh memory).
-- nil when tid has no fixed-width cells (strings, ANY): the caller builds and splits.
local SCATTERS = { bool = true, int = true, long = true, real = true, time32 = true, time64 = true,
                   dec32 = true, dec64 = true, b16 = true, dur = true, xy = true }
-- An array of pointers to the cells of tid, made from the C type's name: a `$`
-- parameter would do, but a compiled trace may fold ffi.typeof("$[?]", ct) to the
-- type of its first call (seen with LuaJIT 2.1: a char * array built as int *[?]).
local POINTER_ARRAYS = {}
local function pointer_array(tid, n)
  local pa = POINTER_ARRAYS[tid]
  if not pa then
    pa = ffi.typeof(tostring(CTYPE[tid]):match("^ctype<(.*)>$") .. "[?]")
    POINTER_ARRAYS[tid] = pa
  end
  return pa(n)
end

local function scatter_vector(tid, list, n, scale, groups)
  local k = KIND[tid]
  if not SCATTERS[k] then return nil end
  local ng, group, place, counts = groups.ng, groups.group, groups.place, groups.counts
  local hs, p = {}, pointer_array(tid, ng)    -- p[g]: group g's cells
  for g = 0, ng - 1 do
    local h, o
    h, o, scale = new_cells(FORM.VECTOR, tid, counts[g], scale)
    hs[g + 1], p[g] = h, ffi.cast(CTYPE[tid], o.data)
  end
  local fast, name = FAST_LIMIT[k], NAME[tid]
  local hi = INT_RANGE[tid] or (CTYPE[tid] == C_I32 and 2147483647) or 2^63 - 1025
  local lo = -hi
  for i = 1, n do
    local v, cells, at = list[i], p[group[i - 1]], place[i - 1]
    if fast and type(v) == "number" and (k == "real" or (v % 1 == 0 and v >= lo and v <= hi)) then
      cells[at] = v
    elseif fast and getmetatable(v) == Scalar and v.type == name and v.value ~= nil then
      cells[at] = v.value
    else
      put_cell(tid, cells, at, v, scale)
    end
  end
  return hs
end

-- A SYMBOL vector from list[1..n]: each distinct string once (a Lua table lookup per
-- row: Lua strings are interned, so it hashes no bytes) into the base, the indices
-- written through the FFI. A million rows of a hundred symbols: ~8 ms, against ~50 ms
-- for _obj_strings, which hashes every row's string in C.
local MAX_SYMBOLS = 2 ^ 21          -- base entries the codec takes, "" included
local function symbol_vector(list, n)
  local at, distinct, nd = { [""] = 0 }, {}, 0
  local idx = ffi.new("int32_t[?]", n)
  for i = 1, n do
    local v = list[i]
    local e = at[v]
    if not e then
      local s = v
      if is_scalar(s) then s = s.value end
      if s == nil or s == null then
        e = 0
      elseif type(s) ~= "string" then
        fail("SYMBOL element " .. i .. " is a " .. type(s))
      else
        e = at[s]
        if not e then
          nd = nd + 1
          if s:find("\0", 1, true) then fail(("element %d of a SYMBOL contains a zero byte"):format(i)) end
          if nd >= MAX_SYMBOLS then fail(("a SYMBOL vector holds at most %d distinct symbols"):format(MAX_SYMBOLS - 1)) end
          distinct[nd], at[s], e = s, nd, nd
        end
      end
    end
    idx[i - 1] = e
  end
  local h = core._obj_symbols(distinct, nd, n)
  ffi.copy(P(h).data, idx, 4 * n)
  return h
end

local function build_vector(tid, list, n, form, scale)
  form = form or FORM.VECTOR
  local k = KIND[tid]
  if k == nil then fail("cannot make a vector of " .. type_name(tid)) end
  if tid == T.SYMBOL and form == FORM.VECTOR and n > 0 then return symbol_vector(list, n) end
  if k == "str" then
    if form == FORM.VECTOR then                -- plain strings: one pass in C, no copy
      local h = core._obj_strings(tid, form, list, n, 0, true)
      if h then return h end
    end
    local strs = {}
    for i = 1, n do
      local v = list[i]
      if is_scalar(v) then v = v.value end
      if v ~= nil and v ~= null and type(v) ~= "string" then fail(NAME[tid] .. " element " .. i .. " is a " .. type(v)) end
      strs[i] = v
    end
    return core._obj_strings(tid, form, strs, n)
  elseif k == "any" then
    local hs = {}
    for i = 1, n do hs[i] = to_handle(list[i]) end
    return core._obj_any(hs, n, form)
  end
  local h, o
  h, o, scale = new_cells(form, tid, n, scale)
  if k ~= "void" and n > 0 then fill_cells(tid, o.data, list, n, scale) end
  return h
end

local function build_scalar(s)
  local tid = T[s.type]
  if KIND[tid] == "str" then return core._obj_strings(tid, FORM.SCALAR, { s.value }, 1, s.fkind) end
  if tid == T.VOID then return core._obj_void(s.value == nil and 1 or s.value) end
  local h = core._obj_new(FORM.SCALAR, tid, 1)
  local o = P(h)
  if s.scale then o.scale = s.scale end
  put_cell(tid, o.data, 0, s, s.scale)
  return h
end

-- Keys of a dictionary/set in a stable order: the decoded wire order first.
local function ordered_keys(d, is_set)
  local keys, seen = {}, {}
  for _, k in ipairs(order[d] or {}) do
    if rawget(d, k) ~= nil then keys[#keys + 1] = k; seen[k] = true end
  end
  local rest = {}
  for k in pairs(d) do if not seen[k] then rest[#rest + 1] = k end end
  table.sort(rest, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    if ta == "number" or ta == "string" then return a < b end
    return tostring(a) < tostring(b)
  end)
  for _, k in ipairs(rest) do keys[#keys + 1] = k end
  return keys
end

local function map_handle(d, kt, vt, form, scale)
  local keys = ordered_keys(d)
  local vals = {}
  for i, k in ipairs(keys) do vals[i] = rawget(d, k) end
  local typed_keys = key_scalars[d]     -- decoded typed keys: their cells, not their text
  if typed_keys then
    for i, k in ipairs(keys) do keys[i] = typed_keys[k] or k end
  end
  if form == FORM.SET then return core._obj_set(build_vector(kt, keys, #keys, nil, scale)) end
  if vt == nil then vt = infer(vals, #vals) end
  return core._obj_dict(build_vector(kt, keys, #keys), build_vector(vt, vals, #vals, nil, scale), form)
end

local function plain_table_handle(t, depth)
  local n, other, strkeys = length(t), false, false
  for k in pairs(t) do
    if type(k) == "number" then
      if k % 1 ~= 0 or k < 1 or k > n then other = true end
    elseif k == "n" then
    elseif type(k) == "string" then strkeys = true
    else other = true end
  end
  if not strkeys and not other then
    local tid, scale = infer(t, n)
    return build_vector(tid, t, n, nil, scale)
  end
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  local kt = infer(keys, #keys)
  if kt == T.ANY then fail("cannot convert a table with mixed key types") end
  return map_handle(t, kt, nil, FORM.DICTIONARY)
end

-- The type a plain Lua scalar value is sent as; nil for a typed scalar (it keeps
-- its own type) and for anything else.
local function sent_type(v)
  if v == nil or v == null then return T.VOID end
  local tv = type(v)
  if tv == "boolean" then return T.BOOL end
  if tv == "string" then return text_type(v) end
  if tv == "number" or is_i64(v) then return (infer({ v }, 1)) end
  return nil
end

local depth_now = 0
function to_handle(v)
  local tv = type(v)
  if v == nil or v == null then return core._obj_void(1) end
  if tv == "boolean" then return build_vector(T.BOOL, { v }, 1, FORM.SCALAR) end
  if tv == "string" then return core._obj_strings(text_type(v), FORM.SCALAR, { v }, 1) end
  if tv == "number" or is_i64(v) then
    local tid = infer({ v }, 1)
    return build_vector(tid, { v }, 1, FORM.SCALAR)
  end
  if tv == "userdata" and tostring(getmetatable(v)) == "dolphindb.obj" then return v end
  if tv == "cdata" then            -- a view goes back as the decoded object it shows
    local h = view_handle(v)
    if h then return h end
  end
  if tv ~= "table" then fail("cannot convert a " .. tv .. " to a DolphinDB object") end
  if is_scalar(v) then return build_scalar(v) end
  depth_now = depth_now + 1
  if depth_now > 64 then depth_now = 0; fail("value nested too deeply (a cycle?)") end
  local ok, h = pcall(function()
    local i = info(v)
    if not i then return plain_table_handle(v) end
    if i.form == FORM.VECTOR or i.form == FORM.PAIR then
      if i.array then
        local rows, total = length(v), 0
        for r = 1, rows do total = total + length(v[r]) end
        local h = core._obj_arrayvector(i.type, rows, total)
        local o = P(h)
        o.scale = i.scale or 0         -- the encoder reads the outer scale, readers the inner
        o.values.scale = i.scale or 0
        local at = 0
        for r = 1, rows do
          local row = v[r]
          for j = 1, length(row) do put_cell(i.type, o.values.data, at, row[j], i.scale); at = at + 1 end
          o.row_offs[r] = at
        end
        return h
      end
      return build_vector(i.type, v, length(v), i.form, i.scale)
    elseif i.form == FORM.TABLE then
      local hs = {}
      for c = 1, #v.columns do hs[c] = to_handle(v.columns[c]) end
      return core._obj_table(v.colnames, hs, #v.columns, v.name)
    elseif i.form == FORM.MATRIX then
      local h, data, k = nil, v.data, KIND[i.type]
      if k == "any" or k == "void" then fail("matrices of " .. NAME[i.type] .. " are not supported") end
      if k == "str" then
        h = build_vector(i.type, data, v.nrows * v.ncols)
        core._obj_reshape(h, v.nrows, v.ncols)
      else
        h = core._obj_new(FORM.MATRIX, i.type, v.nrows, v.ncols)
        local o = P(h)
        o.scale = i.scale or 0
        for c = 1, v.nrows * v.ncols do put_cell(i.type, o.data, c - 1, data[c], i.scale) end
      end
      core._obj_setlabels(h, v.rowlabels and to_handle(v.rowlabels), v.collabels and to_handle(v.collabels))
      return h
    elseif i.form == FORM.DICTIONARY or i.form == FORM.CHART or i.form == FORM.SET then
      return map_handle(v, i.key, i.type, i.form, i.scale)
    end
    fail("cannot send a " .. FORM_NAME[i.form] .. " object")
  end)
  depth_now = depth_now - 1
  if not ok then error(h, 0) end
  return h
end

function parse_scalar(tid, text, scale)
  local h, err = core._obj_parse(tid, text, scale or 0)
  if not h then fail(err) end
  return value._from_handle(h, { typed = true })
end

---------------------------------------------------------------- typed constructors

local constructors = {}

-- Canonical value: build the object (validates everything), read it back. Elements
-- of ANY containers that a plain Lua value would re-send as another type come back
-- as typed scalars (see LOSSLESS in dolphindb.value).
-- Built values read back in the array form whatever their size (they are often
-- filled or edited next).
local function canonical(h) return value._from_handle(h, { typed = LOSSLESS, view = false }) end

-- ddb.int(1), ddb.date("2024.01.02"), ddb.uuid("..."), ...: typed scalars (nil -> NULL),
-- one per type name; made by bind() since they need the type ids.
local TYPED = { typed = true }
local function add_scalar_constructors(into)
  for _, n in ipairs({ "BOOL", "CHAR", "SHORT", "INT", "LONG", "FLOAT", "DOUBLE", "DATE", "MONTH",
    "TIME", "MINUTE", "SECOND", "DATETIME", "TIMESTAMP", "NANOTIME", "NANOTIMESTAMP", "DATEHOUR",
    "UUID", "IPADDR", "INT128", "DURATION", "COMPLEX", "POINT" }) do
    local tid = T[n]
    into[n:lower()] = function(v)
      if v == nil or v == null then return scalar(tid, nil) end
      return value._from_handle(build_vector(tid, { v }, 1, FORM.SCALAR), TYPED)
    end
  end
  for _, n in ipairs({ "STRING", "SYMBOL", "BLOB", "CODE" }) do
    into[n:lower()] = function(s)
      if s ~= nil and s ~= null and type(s) ~= "string" then error("dolphindb: string expected for " .. n .. ", got " .. type(s), 2) end
      return scalar(T[n], (s == nil or s == null) and "" or s)
    end
  end
  for _, n in ipairs({ "DECIMAL32", "DECIMAL64", "DECIMAL128" }) do
    local tid = T[n]
    into[n:lower()] = function(v, scale)
      if type(scale) ~= "number" or scale % 1 ~= 0 or scale < 0 or scale > DEC_MAX_SCALE[tid] then
        error(("dolphindb: %s needs a scale 0..%d"):format(n, DEC_MAX_SCALE[tid]), 2)
      end
      if v == nil or v == null then return scalar(tid, nil, { scale = scale }) end
      local raw, src = raw_of(v, tid, scale)
      if src then return src end
      return scalar(tid, raw, { scale = scale })
    end
  end
end

-- A temporal scalar of whatever type the literal's shape says: "2024.01.02" DATE,
-- "13:30m" MINUTE, "2024.01.02T13:30:10.008" TIMESTAMP, ...
function constructors.temporal(text)
  if type(text) ~= "string" then error("dolphindb: temporal literal expected", 2) end
  local tid = core._obj_temporal_type(text)
  if not tid then error("dolphindb: not a temporal literal: '" .. text .. "'", 2) end
  return parse_scalar(tid, text)
end

function constructors.duration(v, unit)
  if v == nil or v == null then return scalar(T.DURATION, nil) end
  if type(v) == "number" and type(unit) == "string" then v = ("%d%s"):format(v, unit) end
  if type(v) ~= "string" then error("dolphindb: duration literal expected, e.g. \"3d\"", 2) end
  return parse_scalar(T.DURATION, v)
end

function constructors.vector(tname, list, scale)
  local tid, s = type_id(tname)
  if type(list) ~= "table" then error("dolphindb: ddb.vector expects a list", 2) end
  if tid >= 64 then return constructors.arrayvector(tid - 64, list, s or scale) end
  return canonical(build_vector(tid, list, length(list), nil, s or scale))
end
function constructors.arrayvector(tname, rows, scale)
  local tid, s = type_id(tname)
  if tid >= 64 then tid = tid - 64 end
  if KIND[tid] == "str" or KIND[tid] == "any" or KIND[tid] == "void" then
    error("dolphindb: array vectors need a fixed-width base type", 2)
  end
  if type(rows) ~= "table" then error("dolphindb: ddb.arrayvector expects a list of rows", 2) end
  for r = 1, length(rows) do
    if type(rows[r]) ~= "table" then error("dolphindb: array vector row " .. r .. " is not a list", 2) end
  end
  local av = setmetatable({ n = length(rows) }, vector_mt(FORM.VECTOR, tid, s or scale, true))
  for r = 1, av.n do av[r] = rows[r] end
  return canonical(to_handle(av))
end
function constructors.pair(tname, a, b)
  local tid, s = type_id(tname)
  return canonical(build_vector(tid, { a, b, n = 2 }, 2, FORM.PAIR, s))
end
-- ddb.matrix(type, columns[, {rowlabels=, collabels=}]): columns is a list of columns.
function constructors.matrix(tname, columns, opts)
  local tid, s = type_id(tname)
  if type(columns) ~= "table" then error("dolphindb: ddb.matrix expects a list of columns", 2) end
  local ncols, nrows = #columns, columns[1] and length(columns[1]) or 0
  local data = {}
  for c = 1, ncols do
    if length(columns[c]) ~= nrows then error("dolphindb: matrix columns differ in length", 2) end
    for r = 1, nrows do data[(c - 1) * nrows + r] = columns[c][r] end
  end
  local m = setmetatable({ nrows = nrows, ncols = ncols, data = data,
    rowlabels = opts and opts.rowlabels, collabels = opts and opts.collabels }, matrix_mt(tid, s))
  return canonical(to_handle(m))
end
function constructors.set(tname, list)
  if list == nil then list, tname = tname, nil end
  if type(list) ~= "table" then error("dolphindb: ddb.set expects a list", 2) end
  local tid, s
  if tname then tid, s = type_id(tname) else tid, s = infer(list, length(list)) end
  local ok, h = pcall(core._obj_set, build_vector(tid, list, length(list), nil, s))
  if not ok then error("dolphindb: ddb.set: the keys must share one scalar type (or name it: ddb.set(\"INT\", list))", 2) end
  return canonical(h)
end
-- ddb.dict(keyType, valueType, map) or ddb.dict(keyType, valueType, keys, values).
function constructors.dict(kt, vt, map, values)
  local kid = type_id(kt)
  local vid, s = type_id(vt)
  if values then
    if type(map) ~= "table" or type(values) ~= "table" or length(map) ~= length(values) then
      error("dolphindb: ddb.dict needs key and value lists of equal length", 2)
    end
    return canonical(core._obj_dict(build_vector(kid, map, length(map)),
                                    build_vector(vid, values, length(values), nil, s)))
  end
  if type(map) ~= "table" then error("dolphindb: ddb.dict expects a table", 2) end
  return canonical(map_handle(map, kid, vid, FORM.DICTIONARY, s))
end
-- ddb.table{ {"name", column}, ... , name = "t" }: column order is kept.
function constructors.table(spec)
  if type(spec) ~= "table" or #spec == 0 then error("dolphindb: ddb.table expects { {name, column}, ... }", 2) end
  local names, hs = {}, {}
  for i, c in ipairs(spec) do
    if type(c) ~= "table" or type(c[1]) ~= "string" or (type(c[2]) ~= "table" and not view_handle(c[2])) then
      error("dolphindb: ddb.table column " .. i .. " must be {name, list}", 2)
    end
    names[i], hs[i] = c[1], to_handle(c[2])
  end
  return canonical(core._obj_table(names, hs, #spec, spec.name))
end

---------------------------------------------------------------- binding

local B = {}

-- V: dolphindb.value's tables and helpers (V.module is its module table). Adds the
-- constructors to V.module and returns what the decoding side needs from here.
function B.bind(V)
  value, P, I64, U64, I64_MIN = V.module, V.P, V.I64, V.U64, V.I64_MIN
  FLT_NULL, DBL_NULL, C_I32, C_I64 = V.FLT_NULL, V.DBL_NULL, V.C_I32, V.C_I64
  FORM, FORM_NAME, T, NAME, KIND, CTYPE = V.FORM, V.FORM_NAME, V.T, V.NAME, V.KIND, V.CTYPE
  INT_RANGE, DEC_MAX_SCALE, type_id, type_name = V.INT_RANGE, V.DEC_MAX_SCALE, V.type_id, V.type_name
  null, Scalar, scalar, is_scalar, is_i64 = V.null, V.Scalar, V.scalar, V.is_scalar, V.is_i64
  info, order, vector_mt, map_mt, matrix_mt = V.info, V.order, V.vector_mt, V.map_mt, V.matrix_mt
  view_handle, LOSSLESS, key_scalars = V.view_handle, V.LOSSLESS, V.key_scalars
  add_scalar_constructors(V.module)
  for name, f in pairs(constructors) do V.module[name] = f end
  return { to_handle = to_handle, build_scalar = build_scalar, ordered_keys = ordered_keys,
           sent_type = sent_type, scatter_vector = scatter_vector }
end

return B
