-- The plain-luajit side of bench/bench_nginx.sh: CONC coroutines each running
-- pool:run(SCRIPT) in a loop for SECONDS on a POOL-connection pool (the plain module,
-- its own libuv loop), reporting what wrk reports for nginx: requests/s and latency
-- percentiles.
--
--   luajit bench/bench_nginx_plain.lua HOST PORT POOL CONC SECONDS SCRIPT
local ddb = require "dolphindb"

local host, port = arg[1], tonumber(arg[2])
local pool_size, conc, seconds = tonumber(arg[3]), tonumber(arg[4]), tonumber(arg[5])
local script = arg[6]
assert(host and port and pool_size and conc and seconds and script,
  "usage: bench_nginx_plain.lua HOST PORT POOL CONC SECONDS SCRIPT")

local pool = ddb.DBConnectionPool(host, port, pool_size)
local lat, n = {}, 0
local t0 = ddb.now()
local stop_at = t0 + seconds
local workers = {}
for w = 1, conc do
  workers[w] = ddb.spawn(function()
    while ddb.now() < stop_at do
      local s = ddb.now()
      pool:run(script)
      n = n + 1
      lat[n] = ddb.now() - s
    end
  end)
end
ddb.wait(workers)
local wall = ddb.now() - t0
pool:shutDown()
table.sort(lat)
local function pct(p) return lat[math.max(1, math.floor(p * n + 0.5))] * 1000 end
print(("requests=%d\nrps=%.0f\np50_ms=%.2f\np90_ms=%.2f\np99_ms=%.2f"):format(
  n, n / wall, pct(0.5), pct(0.9), pct(0.99)))
