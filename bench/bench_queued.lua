-- What one queued task costs in memory: N `1+1` tasks submitted on an 8-connection
-- pool without running the event loop in between (8 run, the rest stay queued), as
--   futures  pool:runTaskAsync(script), the futures kept in an array
--   addtask  pool:addTask(script, id)
-- Printed per task: the Lua heap (collectgarbage "count", after a full collection),
-- the C heap (mallinfo2: bytes in use), and the process's RSS, each as the difference
-- between before and after the submissions. Then every task is waited for. Each
-- variant runs in a fresh process (the RSS of a process that already freed as much
-- would not grow). (The issue's target: under 250 bytes per queued task, 100 000
-- tasks under 25 MB.)
--
--   luajit bench/bench_queued.lua [N [VARIANT]]     (default 100000, both variants)
local ddb = require "dolphindb"
local ffi = require "ffi"
local here = debug.getinfo(1, "S").source:match("^@(.*/)[^/]*$") or "./"

local N = tonumber(arg[1]) or 100000
local ONLY = arg[2]
local SCRIPT = "1+1"

if not ONLY then
  print(("bench_queued: %d queued `1+1` tasks, 8 connections; bytes per task"):format(N))
  print(("%-8s %9s %10s %10s %10s %11s"):format("variant", "tasks", "Lua heap", "C heap",
    "Lua + C", "RSS"))
  local host = arg[-1] or "luajit"
  for _, v in ipairs { "futures", "addtask" } do
    local p = assert(io.popen(("%s %s %d %s"):format(host, arg[0], N, v)))
    io.write(p:read("*a"))
    p:close()
  end
  return
end
local server = dofile(here .. "../examples/example_server.lua").open()

ffi.cdef [[
  struct ddb_q_mallinfo2 { size_t arena, ordblks, smblks, hblks, hblkhd, usmblks,
                           fsmblks, uordblks, fordblks, keepcost; };
  struct ddb_q_mallinfo2 mallinfo2(void);
]]

local function rss_bytes()
  local f = assert(io.open("/proc/self/statm"))
  local pages = f:read("*n") and f:read("*n")
  f:close()
  return pages * 4096
end

local function sample()
  collectgarbage("collect")
  collectgarbage("collect")
  local mi = ffi.C.mallinfo2()
  return { lua = collectgarbage("count") * 1024,
           c = tonumber(mi.uordblks) + tonumber(mi.hblkhd), rss = rss_bytes() }
end

local function measure(name, submit, drain)
  local pool = ddb.DBConnectionPool(server.host, server.port, 8, server.userid,
    server.password)
  for _ = 1, 10 do assert(pool:run(SCRIPT) == 2) end
  local before = sample()
  local keep = submit(pool)
  local after = sample()
  drain(pool, keep)
  pool:shutDown()
  local lua, c, rss = (after.lua - before.lua) / N, (after.c - before.c) / N,
    (after.rss - before.rss) / N
  print(("%-8s %9d %10.0f %10.0f %10.0f %11.1f"):format(name, N, lua, c, lua + c, rss))
end

if ONLY == "futures" then measure("futures", function(pool)
  local fs = {}
  for i = 1, N do fs[i] = pool:runTaskAsync(SCRIPT) end
  return fs
end, function(_, fs)
  for i = 1, N do assert(fs[i]:result() == 2) end
end) end

if ONLY == "addtask" then measure("addtask", function(pool)
  for i = 1, N do pool:addTask(SCRIPT, i) end
end, function(pool)
  assert(pool:run(SCRIPT) == 2)
  for i = 1, N do
    while not pool:isFinished(i) do ddb.sleep(0.001) end
    assert(pool:getData(i) == 2)
  end
end) end

server.close()
