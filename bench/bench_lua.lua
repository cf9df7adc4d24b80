-- Lua overhead per task: N `1+1` tasks on an 8-connection pool, submitted
--   C      from C with a window of in-flight tasks, the loop driven from C (baseline)
--   co     from N Lua coroutines, one pool:run each (all queued at once)
--   wk     from W worker coroutines, pool:run in a loop
--   fut    as N futures (runTaskAsync), then result() of each
-- all against the same ddbmini (or DDB_HOST/DDB_PORT) in the same process.
--
--   ddblua bench/bench_lua.lua [N] [W]        (defaults: 100000 tasks, 256 workers)
local ddb = require "dolphindb"
local here = debug.getinfo(1, "S").source:match("^@(.*/)[^/]*$") or "./"
local server = dofile(here .. "../examples/example_server.lua").open()

local N = tonumber(arg and arg[1]) or 100000
local W = tonumber(arg and arg[2]) or 256
local pool = ddb.DBConnectionPool(server.host, server.port, 8, server.userid, server.password)
local SCRIPT = "1+1"

local function report(name, secs, n)
  print(("%-34s %8.3f s  %9.0f tasks/s  %7.2f us/task"):format(name, secs, n / secs, secs / n * 1e6))
  return secs
end

-- warm up: connections, JIT
for _ = 1, 2000 do assert(pool:run(SCRIPT) == 2) end
collectgarbage()

local secs, failed = pool._c:_bench(N, W, SCRIPT)
assert(failed == 0, "C baseline: " .. failed .. " tasks failed")
local c_secs = report(("C core, window %d"):format(W), secs, N)

collectgarbage()
local t0 = ddb.now()
local hs = {}
for i = 1, N do hs[i] = ddb.spawn(pool.run, pool, SCRIPT) end
ddb.wait(hs)
local co_secs = report(("Lua: %d coroutines x 1 run"):format(N), ddb.now() - t0, N)
for i = 1, N do assert(hs[i]:result() == 2) end
hs = nil

collectgarbage()
t0 = ddb.now()
local per = math.floor(N / W)
local workers = {}
for w = 1, W do
  workers[w] = ddb.spawn(function()
    for _ = 1, per do if pool:run(SCRIPT) ~= 2 then error("wrong result") end end
  end)
end
ddb.wait(workers)
for w = 1, W do assert(workers[w]:error() == nil, workers[w]:error()) end
local wk_secs = report(("Lua: %d workers x %d runs"):format(W, per), ddb.now() - t0, per * W)

collectgarbage()
t0 = ddb.now()
local fs = {}
for i = 1, N do fs[i] = pool:runTaskAsync(SCRIPT) end
for i = 1, N do assert(fs[i]:result() == 2) end
local fut_secs = report(("Lua: %d futures"):format(N), ddb.now() - t0, N)
fs = nil

print(("Lua overhead per task over the C core: coroutines %+.2f us, workers %+.2f us, futures %+.2f us")
  :format((co_secs - c_secs) / N * 1e6, (wk_secs / (per * W) - c_secs / N) * 1e6,
          (fut_secs - c_secs) / N * 1e6))
pool:shutDown()
server.close()
