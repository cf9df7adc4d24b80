-- Latency of one small task at 1 connection: N `1+1` tasks one after the other
-- through pool:run, from the main chunk (which drives the loop) and from a spawned
-- coroutine, each call timed; p50 / p90 / p99 in µs. Baseline from the same run: the
-- C core alone, one task in flight at a time (pool:_bench with a window of 1), whose
-- mean is printed (it times no single task). Rounds interleave the three, and the
-- medians over the rounds are printed.
--
--   luajit bench/bench_latency.lua [N [ROUNDS]]      (defaults: 20000, 5)
local ddb = require "dolphindb"
local here = debug.getinfo(1, "S").source:match("^@(.*/)[^/]*$") or "./"
local server = dofile(here .. "../examples/example_server.lua").open()

local N, ROUNDS = tonumber(arg[1]) or 20000, tonumber(arg[2]) or 5
local SCRIPT = "1+1"
local now = ddb.now
local pool = ddb.DBConnectionPool(server.host, server.port, 1, server.userid, server.password)
for _ = 1, 100 do assert(pool:run(SCRIPT) == 2) end

local function percentiles(t)
  table.sort(t)
  local function at(q) return t[math.max(1, math.ceil(q * #t))] * 1e6 end
  return at(0.5), at(0.9), at(0.99)
end

local function timed_runs()
  local t = {}
  for i = 1, N do
    local t0 = now()
    assert(pool:run(SCRIPT) == 2)
    t[i] = now() - t0
  end
  return t
end

local function median(v)
  table.sort(v)
  local n = #v
  return n % 2 == 1 and v[(n + 1) / 2] or (v[n / 2] + v[n / 2 + 1]) / 2
end

local rows = { main = { {}, {}, {} }, coroutine = { {}, {}, {} } }
local c_mean = {}
for _ = 1, ROUNDS do
  local t0 = now()
  local _, failed = pool._c:_bench(N, 1, SCRIPT)
  assert(failed == 0)
  c_mean[#c_mean + 1] = (now() - t0) / N * 1e6
  local p50, p90, p99 = percentiles(timed_runs())
  local m = rows.main
  m[1][#m[1] + 1], m[2][#m[2] + 1], m[3][#m[3] + 1] = p50, p90, p99
  local h = ddb.spawn(timed_runs)
  p50, p90, p99 = percentiles(h:result())
  local c = rows.coroutine
  c[1][#c[1] + 1], c[2][#c[2] + 1], c[3][#c[3] + 1] = p50, p90, p99
end

print(("bench_latency: `1+1` one at a time at 1 connection, %d tasks x %d rounds; "
  .. "medians over the rounds, µs"):format(N, ROUNDS))
print(("%-24s %8s %8s %8s"):format("", "p50", "p90", "p99"))
print(("%-24s %8.1f %8s %8s"):format("C core, mean (baseline)", median(c_mean), "-", "-"))
for _, k in ipairs { "main", "coroutine" } do
  local r = rows[k]
  print(("%-24s %8.1f %8.1f %8.1f"):format("pool:run from " .. k, median(r[1]), median(r[2]),
    median(r[3])))
end
pool:shutDown()
server.close()
