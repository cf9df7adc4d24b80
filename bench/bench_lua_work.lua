-- One workload of bench_lua.lua, for bench_lua_instructions.sh to count under
-- callgrind: N `1+1` tasks on an 8-connection pool against ddbmini, issued as
--   c        from C (pool:_bench, a window of 256 in flight): the workers' baseline
--   c_all    from C, all N submitted at once: the baseline of futures and spawn
--   workers  from 256 worker coroutines calling pool:run (N/256 each)
--   futures  as N futures (runTaskAsync), then result() of each
--   spawn    from N coroutines, one pool:run each
--
--   luajit bench/bench_lua_work.lua MODE N
local ddb = require "dolphindb"
local here = debug.getinfo(1, "S").source:match("^@(.*/)[^/]*$") or "./"
local server = dofile(here .. "../examples/example_server.lua").open()

local mode, N = arg[1], tonumber(arg[2])
assert(N and N % 256 == 0, "usage: bench_lua_work.lua c|c_all|workers|futures|spawn N (N a multiple of 256)")
local W, SCRIPT = 256, "1+1"
local pool = ddb.DBConnectionPool(server.host, server.port, 8, server.userid, server.password)
for _ = 1, 10 do assert(pool:run(SCRIPT) == 2) end

if mode == "c" or mode == "c_all" then
  local _, failed = pool._c:_bench(N, mode == "c" and W or N, SCRIPT)
  assert(failed == 0)
elseif mode == "workers" then
  local hs = {}
  for w = 1, W do
    hs[w] = ddb.spawn(function()
      for _ = 1, N / W do assert(pool:run(SCRIPT) == 2) end
    end)
  end
  ddb.wait(hs)
elseif mode == "futures" then
  local fs = {}
  for i = 1, N do fs[i] = pool:runTaskAsync(SCRIPT) end
  for i = 1, N do assert(fs[i]:result() == 2) end
elseif mode == "spawn" then
  local hs = {}
  for i = 1, N do hs[i] = ddb.spawn(pool.run, pool, SCRIPT) end
  ddb.wait(hs)
  for i = 1, N do assert(hs[i]:result() == 2) end
else
  error("unknown mode " .. tostring(mode))
end
pool:shutDown()
server.close()
