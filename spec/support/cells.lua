-- Random cells for the column types ddbmini keeps, as raw values (what ddb.vector
-- takes): writers_spec and subscribe_spec fill their tables with these.
local M = {}

function M.hex(n)
  local t = {}
  for i = 1, n do t[i] = ("%x"):format(math.random(0, 15)) end
  return table.concat(t)
end
M.GEN = {
  { "BOOL", function() return math.random() < 0.5 end },
  { "CHAR", function() return math.random(-127, 127) end },
  { "SHORT", function() return math.random(-32767, 32767) end },
  { "INT", function() return math.random(-2147483647, 2147483647) end },
  { "LONG", function() return math.random(-2147483647, 2147483647) * 4096 + math.random(0, 4095) end },
  { "DATE", function() return math.random(-30000, 30000) end },
  { "MONTH", function() return math.random(0, 30000) end },
  { "TIME", function() return math.random(0, 86399999) end },
  { "MINUTE", function() return math.random(0, 1439) end },
  { "SECOND", function() return math.random(0, 86399) end },
  { "DATETIME", function() return math.random(-2147483647, 2147483647) end },
  { "TIMESTAMP", function() return math.random(-2e9, 2e9) * 1000 + math.random(0, 999) end },
  { "NANOTIME", function() return math.random(0, 86399999) * 1000000 + math.random(0, 999999) end },
  { "NANOTIMESTAMP", function() return math.random(-2e9, 2e9) * 1000000000LL + math.random(0, 999999999) end },
  { "DATEHOUR", function() return math.random(-400000, 400000) end },
  { "FLOAT", function() return math.random(-1e6, 1e6) / 4 end },
  { "DOUBLE", function() return (math.random() - 0.5) * 1e9 end },
  { "SYMBOL", function() return ("sym%d"):format(math.random(1, 20)) end },
  { "STRING", function() return M.hex(math.random(1, 12)) end },
  { "BLOB", function() return M.hex(math.random(1, 6)) .. "\0\1\255" end },
  { "UUID", function() return ("%s-%s-%s-%s-%s"):format(M.hex(8), M.hex(4), M.hex(4), M.hex(4), M.hex(12)) end },
  { "IPADDR", function() return ("%d.%d.%d.%d"):format(math.random(1, 255), math.random(0, 255), math.random(0, 255), math.random(1, 255)) end },
  { "INT128", function() return M.hex(31) .. "1" end },
}

-- Cells compare exactly: typed scalars by type, raw value and scale; the rest by ==.
function M.same(a, b)
  if a == b then return true end
  if type(a) == "table" and type(b) == "table" and a.type and b.type then
    return a.type == b.type and a.value == b.value and (a.scale or 0) == (b.scale or 0)
  end
  return false
end

return M
