-- Lua overhead per task: N `1+1` tasks on an 8-connection pool, submitted
--   C        from C with a window of in-flight tasks, the loop driven from C: the
--            baselines, with W in flight and with all N queued at once (the core's
--            cost per task grows with the queue, so each Lua variant is compared
--            with the C run that has the same number of tasks in flight)
--   workers  from W worker coroutines, pool:run in a loop (W tasks in flight)
--   spawn    from N Lua coroutines, one pool:run each (all queued at once)
--   futures  as N futures (runTaskAsync), then result() of each
--   spawn only   N coroutines that do nothing (ddb.spawn + ddb.wait): what the
--            one-coroutine-per-task variant pays for its coroutines alone
-- all against the same ddbmini (or DDB_HOST/DDB_PORT) in the same process. Wall time
-- mostly measures the server (it shares the machine's cores with the client), so the
-- client's own CPU time per task (getrusage) is reported too, split into user and
-- system time: the Lua overhead is the difference in client CPU per task, and it is
-- user time (both sides make the same system calls per task). Variants run
-- interleaved R times; best of each.
--
--   ddblua bench/bench_lua.lua [N] [W] [R]      (defaults: 100000 tasks, 256, 3 rounds)
local ddb = require "dolphindb"
local here = debug.getinfo(1, "S").source:match("^@(.*/)[^/]*$") or "./"
local server = dofile(here .. "../examples/example_server.lua").open()

local N = tonumber(arg and arg[1]) or 100000
local W = tonumber(arg and arg[2]) or 256
local R = tonumber(arg and arg[3]) or 3
local SCRIPT = "1+1"
local pool = ddb.DBConnectionPool(server.host, server.port, 8, server.userid, server.password)

local ffi = require "ffi"
ffi.cdef [[
  struct ddb_bench_timeval { long tv_sec; long tv_usec; };
  struct ddb_bench_rusage { struct ddb_bench_timeval ru_utime, ru_stime; long ru_rest[14]; };
  int getrusage(int who, struct ddb_bench_rusage *usage);
]]
local usage = ffi.new("struct ddb_bench_rusage")
local function cpu_times()            -- user, system seconds of this process
  assert(ffi.C.getrusage(0, usage) == 0)
  return tonumber(usage.ru_utime.tv_sec) + tonumber(usage.ru_utime.tv_usec) / 1e6,
         tonumber(usage.ru_stime.tv_sec) + tonumber(usage.ru_stime.tv_usec) / 1e6
end

local function timed(fn)
  collectgarbage()
  local t0 = ddb.now()
  local u0, s0 = cpu_times()
  fn()
  local u1, s1 = cpu_times()
  return ddb.now() - t0, u1 - u0, s1 - s0
end

local PER = math.floor(N / W)

local function c_core(window)
  return function()
    local _, failed = pool._c:_bench(N, window, SCRIPT)
    assert(failed == 0, failed .. " tasks failed")
  end
end

local variants = {
  { name = ("C core, window %d"):format(W), run = c_core(W) },
  { name = ("C core, all %d queued"):format(N), run = c_core(N) },
  { name = ("Lua: %d workers x %d runs"):format(W, PER), tasks = PER * W, run = function()
      local workers = {}
      for w = 1, W do
        workers[w] = ddb.spawn(function()
          for _ = 1, PER do if pool:run(SCRIPT) ~= 2 then error("wrong result") end end
        end)
      end
      ddb.wait(workers)
      for w = 1, W do assert(workers[w]:error() == nil, workers[w]:error()) end
    end },
  { name = ("Lua: %d coroutines x 1 run"):format(N), run = function()
      local hs = {}
      for i = 1, N do hs[i] = ddb.spawn(pool.run, pool, SCRIPT) end
      ddb.wait(hs)
      for i = 1, N do assert(hs[i]:result() == 2) end
    end },
  { name = ("Lua: %d futures"):format(N), run = function()
      local fs = {}
      for i = 1, N do fs[i] = pool:runTaskAsync(SCRIPT) end
      for i = 1, N do assert(fs[i]:result() == 2) end
    end },
  { name = ("spawn only: %d empty coroutines"):format(N), run = function()
      local hs, nothing = {}, function() end
      for i = 1, N do hs[i] = ddb.spawn(nothing) end
      ddb.wait(hs)
    end },
}

-- warm up: connections, JIT traces
for _ = 1, 2000 do assert(pool:run(SCRIPT) == 2) end

local best, best_user, best_sys = {}, {}, {}
local function keep_min(t, i, v) if not t[i] or v < t[i] then t[i] = v end end
for round = 1, R do
  for i, v in ipairs(variants) do
    local secs, user, sys = timed(v.run)
    keep_min(best, i, secs)
    keep_min(best_user, i, user)
    keep_min(best_sys, i, sys)
  end
  io.stderr:write(("round %d of %d done\n"):format(round, R))
end

local cpu_per_task = {}
print(("%-34s %8s  %9s  %10s  %24s"):format("variant", "wall", "tasks/s", "wall/task",
  "client CPU/task (user+sys)"))
for i, v in ipairs(variants) do
  local n = v.tasks or N
  cpu_per_task[i] = (best_user[i] + best_sys[i]) / n
  print(("%-34s %7.3fs  %9.0f  %7.2f us  %8.2f us (%5.2f + %5.2f)"):format(v.name, best[i],
    n / best[i], best[i] / n * 1e6, cpu_per_task[i] * 1e6, best_user[i] / n * 1e6,
    best_sys[i] / n * 1e6))
end
local function over(i, base) return (cpu_per_task[i] - cpu_per_task[base]) * 1e6 end
print(("Lua overhead, client CPU per task over the C core with as many tasks in flight "
  .. "(best of %d): workers %+.2f us, futures %+.2f us, one coroutine per task %+.2f us "
  .. "(of which %.2f us is creating and collecting the coroutine itself)"):format(R,
  over(3, 1), over(5, 2), over(4, 2), cpu_per_task[6] * 1e6))
pool:shutDown()
server.close()
