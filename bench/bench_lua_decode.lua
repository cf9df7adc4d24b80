-- Decoding a big table into Lua, beside the C decoder alone: a ROWS-row table
-- (INT id, DOUBLE price, TIMESTAMP ts, SYMBOL sym with 100 distinct values) as it
-- comes off the wire, decoded
--   C decode        core._obj_decode: the C decoder only, no Lua value made
--   Lua, views      ddb.decode(bytes, 1, {view = true}): the same decode plus one view
--                   table per column (cells become Lua values only when read)
--   Lua, arrays     ddb.decode(bytes, 1, {view = false}): the same decode plus every
--                   cell as a Lua value in plain Lua arrays (a typed-scalar table per
--                   TIMESTAMP cell); a result this big gets views without the option
-- and the time to sum the DOUBLE column through each Lua form (the FFI pointer of
-- the view, the Lua array). Runs are interleaved R times; the
-- median of each is printed, with the ratio to the C decode. The bytes come from
-- ddbmini (or DDB_HOST/DDB_PORT) once, through pool:run{..., view = true}, whose
-- result is sent back to ddb.encode with no copy.
--
--   ddblua bench/bench_lua_decode.lua [ROWS] [R]        (defaults: 10000000, 3)
local ddb = require "dolphindb"
local core = require "dolphindb.core"
local ffi = require "ffi"
local here = debug.getinfo(1, "S").source:match("^@(.*/)[^/]*$") or "./"
local server = dofile(here .. "../examples/example_server.lua").open()

local ROWS = tonumber(arg and arg[1]) or 10000000
local R = tonumber(arg and arg[2]) or 3

local pool = ddb.DBConnectionPool(server.host, server.port, 1, server.userid, server.password)
local script = ("n = %d; table(1..n as id, rand(100.0, n) as price, "
  .. "take(2024.01.02T03:04:05.006, n) as ts, take(symbol(string(1..100)), n) as sym)"):format(ROWS)
local t0 = ddb.now()
local bytes = ddb.encode(pool:run { script, view = true })
io.stderr:write(("fetched %d rows, %.1f MB, in %.2f s\n"):format(ROWS, #bytes / 1e6, ddb.now() - t0))
pool:shutDown()
server.close()

local function timed(fn)
  collectgarbage()
  collectgarbage()
  local t = ddb.now()
  local a, b = fn()
  return ddb.now() - t, a, b
end

local DOUBLE_P = ffi.typeof("double *")
local function ptr_sum(p, n)
  local s = 0
  for i = 0, n - 1 do s = s + p[i] end
  return s
end

local variants = {
  { name = "C decode (no Lua values)", decode = function()
      return (assert(core._obj_decode(bytes), "decode failed"))
    end },
  { name = "Lua, views (view = true)", decode = function()
      return (ddb.decode(bytes, 1, { view = true }))
    end,
    sum = function(t)
      local p, n = t:col("price"):ptr()
      return ptr_sum(ffi.cast(DOUBLE_P, p), n)
    end },
  { name = "Lua, arrays (view = false)", decode = function()
      return (ddb.decode(bytes, 1, { view = false }))
    end,
    sum = function(t)
      local col, s = t:col("price"), 0
      for i = 1, col.n do s = s + col[i] end
      return s
    end },
}

local secs, sums, totals = {}, {}, {}
for i = 1, #variants do secs[i], sums[i] = {}, {} end
for round = 1, R do
  for i, v in ipairs(variants) do
    local d, value = timed(v.decode)
    secs[i][round] = d
    if v.sum then
      local s, total = timed(function() return v.sum(value) end)
      sums[i][round], totals[i] = s, total
    end
    value = nil
  end
  io.stderr:write(("round %d of %d done\n"):format(round, R))
end
assert(math.abs(totals[2] - totals[3]) <= 1e-9 * math.abs(totals[3]),
  "the views and the arrays summed to different totals")

local function median(list)
  local t = {}
  for _, x in ipairs(list) do t[#t + 1] = x end
  table.sort(t)
  return t[math.ceil(#t / 2)]
end

local mb = #bytes / 1e6
print(("%d rows, %.1f MB of wire bytes; median of %d runs"):format(ROWS, mb, R))
print(("%-28s %9s %9s %10s %14s"):format("variant", "decode s", "MB/s", "vs C", "sum(price) s"))
local base = median(secs[1])
for i, v in ipairs(variants) do
  local d = median(secs[i])
  local s = #sums[i] > 0 and ("%14.3f"):format(median(sums[i])) or ("%14s"):format("-")
  print(("%-28s %9.3f %9.0f %9.2fx %s"):format(v.name, d, mb / d, d / base, s))
end
