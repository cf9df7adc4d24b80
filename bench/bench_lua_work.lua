-- One workload of bench_lua.lua, for bench_lua_instructions.sh to count under
-- callgrind: N `1+1` tasks on an 8-connection pool against ddbmini, issued as
--   c        from C (pool:_bench, a window of 256 in flight): the workers' baseline
--   c_all    from C, all N submitted at once: the baseline of futures and spawn
--   workers  from 256 worker coroutines calling pool:run (N/256 each)
--   futures  as N futures (runTaskAsync), then result() of each
--   spawn    from N coroutines, one pool:run each
--   addtask  as N addTask(script, id), then isFinished/getData of each. A pool:run
--            queued after them waits for the queue to drain first (the queue is FIFO),
--            so the polling loop (sleeping 1 ms while a task is not finished) only
--            meets the few still running: how often a poll finds a task unfinished
--            depends on timing, which would make the instruction count wander
-- DDB_BENCH_CONNS sets the pool's size (default 8). After the run, one line of
-- figures for bench_tasks.sh: "mode=.. conns=.. tasks=.. wall_s=.. cpu_s=.." (the
-- client's CPU over the N tasks only: not start-up, pool opening or warm-up).
--
--   luajit bench/bench_lua_work.lua MODE N
local ddb = require "dolphindb"
local here = debug.getinfo(1, "S").source:match("^@(.*/)[^/]*$") or "./"
local server = dofile(here .. "../examples/example_server.lua").open()

local mode, N = arg[1], tonumber(arg[2])
assert(N and N % 256 == 0,
  "usage: bench_lua_work.lua c|c_all|workers|futures|spawn|addtask N (N a multiple of 256)")
local W, SCRIPT = 256, "1+1"
local CONNS = tonumber(os.getenv("DDB_BENCH_CONNS")) or 8
local pool = ddb.DBConnectionPool(server.host, server.port, CONNS, server.userid,
  server.password)
for _ = 1, 10 do assert(pool:run(SCRIPT) == 2) end

local ffi = require "ffi"
ffi.cdef [[
  struct ddb_work_timeval { long tv_sec; long tv_usec; };
  struct ddb_work_rusage { struct ddb_work_timeval ru_utime, ru_stime; long ru_rest[14]; };
  int getrusage(int who, struct ddb_work_rusage *usage);
]]
local usage = ffi.new("struct ddb_work_rusage")
local function cpu_seconds()
  assert(ffi.C.getrusage(0, usage) == 0)
  return tonumber(usage.ru_utime.tv_sec) + tonumber(usage.ru_utime.tv_usec) / 1e6
    + tonumber(usage.ru_stime.tv_sec) + tonumber(usage.ru_stime.tv_usec) / 1e6
end
local wall0, cpu0 = ddb.now(), cpu_seconds()

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
elseif mode == "addtask" then
  for i = 1, N do pool:addTask(SCRIPT, i) end
  assert(pool:run(SCRIPT) == 2)
  for i = 1, N do
    while not pool:isFinished(i) do ddb.sleep(0.001) end
    assert(pool:getData(i) == 2)
  end
else
  error("unknown mode " .. tostring(mode))
end
print(("mode=%s conns=%d tasks=%d wall_s=%.6f cpu_s=%.6f errors=0"):format(mode, CONNS, N,
  ddb.now() - wall0, cpu_seconds() - cpu0))
pool:shutDown()
server.close()
