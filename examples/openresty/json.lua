-- json.lua — a small JSON encoder for DolphinDB results (lua-cjson is not installed
-- on the Debian machines this project targets; with OpenResty you may use cjson).
--
--   json.encode(value) -> string
--
-- Mapping: nil and ddb.null -> null; booleans; numbers (NaN/inf -> null); int64 cdata
-- (LONG) -> a JSON number written exactly (no rounding through double); strings
-- escaped per RFC 8259; typed scalars (temporal, decimal, ...) -> their DolphinDB
-- literal as a string; tables (t.colnames/t.columns) -> {"columns": [...names],
-- "data": {name: [...values]}, "rows": n}; arrays (with v.n) -> arrays; other Lua
-- tables -> objects with string keys (sorted, so output is stable).
local ffi = require "ffi"

local M = {}

local null = {}
do
  local ok, value = pcall(require, "dolphindb.value")
  if ok and value.null ~= nil then null = value.null end
end

local ESC = {
  ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
  ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t',
}

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return ESC[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

local function encode_number(x)
  if x ~= x or x == math.huge or x == -math.huge then return "null" end
  if x == math.floor(x) and math.abs(x) < 2^53 then return ("%d"):format(x) end
  return ("%.17g"):format(x)
end

local encode

local function encode_array(v, n, out)
  out[#out + 1] = "["
  for i = 1, n do
    if i > 1 then out[#out + 1] = "," end
    encode(v[i], out)
  end
  out[#out + 1] = "]"
end

local function encode_table_result(t, out)
  out[#out + 1] = '{"columns":'
  encode_array(t.colnames, #t.colnames, out)
  out[#out + 1] = ',"data":{'
  for c, name in ipairs(t.colnames) do
    if c > 1 then out[#out + 1] = "," end
    out[#out + 1] = encode_string(name) .. ":"
    local col = t.columns[c]
    encode_array(col, col.n or #col, out)
  end
  out[#out + 1] = '},"rows":' .. encode_number(t.n or 0) .. "}"
end

local function encode_object(v, out)
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  out[#out + 1] = "{"
  for i, k in ipairs(keys) do
    if i > 1 then out[#out + 1] = "," end
    local val = v[k]
    if val == nil then val = v[tonumber(k)] end
    out[#out + 1] = encode_string(k) .. ":"
    encode(val, out)
  end
  out[#out + 1] = "}"
end

function encode(v, out)
  local t = type(v)
  if v == nil or v == null then
    out[#out + 1] = "null"
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif t == "number" then
    out[#out + 1] = encode_number(v)
  elseif t == "string" then
    out[#out + 1] = encode_string(v)
  elseif t == "cdata" then
    if ffi.istype("int64_t", v) or ffi.istype("uint64_t", v) then
      out[#out + 1] = tostring(v):gsub("U?LL$", "")
    else
      out[#out + 1] = encode_string(tostring(v))
    end
  elseif t == "table" then
    if v.colnames and v.columns then
      encode_table_result(v, out)
    elseif v.n ~= nil or (v[1] ~= nil) or next(v) == nil then
      encode_array(v, v.n or #v, out)
    elseif v.type ~= nil and getmetatable(v) and getmetatable(v).__tostring then
      out[#out + 1] = encode_string(tostring(v))       -- typed scalar: its literal
    else
      encode_object(v, out)
    end
  else
    error("json: cannot encode a " .. t, 0)
  end
end

function M.encode(v)
  local out = {}
  encode(v, out)
  return table.concat(out)
end

return M
