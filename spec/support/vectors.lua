-- Reads the official byte vectors (tests/vectors/cpp-api.tsv, tests/vectors/README.md):
-- one table per row with id, description, script, hex, bytes, rendering. Paths are
-- relative to the repository root, where scripts/busted.sh runs busted.
local M = {}

local function unescape(s)
  return (s:gsub("\\(x?)(%x?%x?)", function(x, hex)
    if x == "x" and #hex == 2 then return string.char(tonumber(hex, 16)) end
    return nil
  end):gsub("\\([\\tnr])", { ["\\"] = "\\", t = "\t", n = "\n", r = "\r" }))
end

function M.unhex(h)
  assert(#h % 2 == 0, "odd hex length")
  return (h:gsub("..", function(x) return string.char((assert(tonumber(x, 16), "bad hex"))) end))
end

function M.hex(s)
  return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

M.dir = "tests/vectors"

-- All rows of a vectors file, in file order; errors if the file is missing.
function M.load(name)
  local path = M.dir .. "/" .. (name or "cpp-api.tsv")
  local f = assert(io.open(path, "rb"), "dolphindb: cannot open " .. path)
  local rows, header = {}, nil
  for line in f:lines() do
    line = line:gsub("\r$", "")
    local fields = {}
    for field in (line .. "\t"):gmatch("(.-)\t") do fields[#fields + 1] = field end
    if not header then
      header = fields
    elseif #fields >= 3 then
      local row = {}
      for i, h in ipairs(header) do row[h] = fields[i] or "" end
      row.description = unescape(row.description or "")
      row.rendering = unescape(row.rendering or "")
      row.bytes = M.unhex(row.hex)
      rows[#rows + 1] = row
      if row.id then rows[row.id] = row end
    end
  end
  f:close()
  assert(#rows > 0, "no rows in " .. path)
  return rows
end

-- Deep equality of decoded values: same DolphinDB type and form, same fields and
-- elements (typed scalars by their __eq, int64 cdata by value, ddb.null by identity).
-- Returns true, or false and the path of the first difference.
function M.same(a, b, path)
  path = path or "value"
  if rawequal(a, b) then return true end
  local ta, tb = type(a), type(b)
  if ta == "cdata" or tb == "cdata" then
    if (ta == "cdata" or ta == "number") and (tb == "cdata" or tb == "number") and a == b then return true end
    return false, path .. (": %s ~= %s"):format(tostring(a), tostring(b))
  end
  if ta ~= "table" or tb ~= "table" then
    if ta == "number" and tb == "number" and a ~= a and b ~= b then return true end
    return false, path .. (": %s ~= %s"):format(tostring(a), tostring(b))
  end
  local ddb = require "dolphindb.value"
  local t1, f1 = ddb.typeof(a)
  local t2, f2 = ddb.typeof(b)
  if t1 ~= t2 or f1 ~= f2 then
    return false, path .. (": %s %s ~= %s %s"):format(t1, f1, t2, f2)
  end
  if getmetatable(a) and getmetatable(a).__eq and getmetatable(a).__eq == getmetatable(b).__eq then
    if a == b then return true end
    return false, path .. (": %s ~= %s"):format(tostring(a), tostring(b))
  end
  for k, v in pairs(a) do
    local ok, where = M.same(v, rawget(b, k), path .. "." .. tostring(k))
    if not ok then return false, where end
  end
  for k in pairs(b) do
    if rawget(a, k) == nil then return false, path .. "." .. tostring(k) .. ": missing on the left" end
  end
  return true
end

return M
