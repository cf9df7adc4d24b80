-- What a big download costs the client: a ROWS-row table (INT id, DOUBLE price,
-- SYMBOL sym of 100 values, TIMESTAMP ts) fetched from ddbmini (or DDB_HOST/DDB_PORT)
-- by one task, through
--   C API             bench_download_c: the decoded ddb_obj a C user gets (the baseline)
--   pool:run          the default options: what a user gets without asking
--   view = true       views of the decoded memory, asked for
--   view = false      every cell as a Lua value in plain Lua arrays (the default
--                     in 0.2; a typed-scalar table per TIMESTAMP cell)
--   pool:run + read   the default, then every cell of every column read once
-- Each run is a fresh child process, so that its peak RSS is its own; the runs of the
-- variants are interleaved R times and the medians printed: client CPU (user + system,
-- submission to result in hand), peak RSS, and the ratios to the C API's CPU and to
-- the bytes of the table on the wire. ddbmini's own CPU is not counted.
--
--   DDB_BUILD_DIR=$PWD/build build/ddblua bench/bench_download.lua [ROWS] [R]
--   (defaults 1000000 and 5; luajit with LUA_PATH/LUA_CPATH set works too)
local ddb = require "dolphindb"
local ffi = require "ffi"

local SCRIPT = "n = %d; table(1..n as id, rand(100.0, n) as price, "
  .. "take(symbol(string(1..100)), n) as sym, 2024.01.02T03:04:05.006 + (1..n) as ts)"

ffi.cdef [[
struct ddbb_rusage { long utime[2], stime[2]; long maxrss; long rest[13]; };
int getrusage(int who, struct ddbb_rusage *usage);
]]
local function usage()          -- CPU seconds and peak RSS (KiB) of this process
  local r = ffi.new("struct ddbb_rusage")
  ffi.C.getrusage(0, r)
  return tonumber(r.utime[0] + r.stime[0]) + tonumber(r.utime[1] + r.stime[1]) / 1e6,
         tonumber(r.maxrss)
end

---------------------------------------------------------------- child

-- Every cell of every column read once, as a user's loop would (t:col and n, which
-- older versions have too, so that the bench runs against them).
local function read_all(t)
  local touched = 0
  for _, name in ipairs(t.colnames) do
    local col = t:col(name)
    for i = 1, col.n do
      if col[i] ~= nil then touched = touched + 1 end
    end
  end
  assert(touched == t.n * #t.colnames)
end

local function child(mode, host, port, rows)
  local pool = ddb.DBConnectionPool(host, tonumber(port), 1)
  pool:run("1+1")
  local _, base = usage()
  local c0 = usage()
  local opts = { SCRIPT:format(rows) }
  if mode == "view" then opts.view = true elseif mode == "arrays" then opts.view = false end
  local t = pool:run(opts)
  if mode == "read" then read_all(t) end
  local c1, peak = usage()
  assert(t.n == tonumber(rows), "wrong row count")
  io.write(("cpu=%.6f rss=%d base=%d rows=%d\n"):format(c1 - c0, peak, base, t.n))
  pool:shutDown()
end

if arg[1] == "--child" then return child(arg[2], arg[3], arg[4], arg[5]) end

---------------------------------------------------------------- parent

local ROWS = tonumber(arg[1]) or 1000000
local R = tonumber(arg[2]) or 5
local here = debug.getinfo(1, "S").source:match("^@(.*/)[^/]*$") or "./"
local server = dofile(here .. "../examples/example_server.lua").open()

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

local function find_c_bench()
  local dirs = { os.getenv("DDB_BUILD_DIR"), (arg[-1] or ""):match("^(.*)/[^/]*$"), here .. "../build" }
  for _, d in pairs(dirs) do
    if d and exists(d .. "/bench_download_c") then return d .. "/bench_download_c" end
  end
end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local interp = arg[-1] or "luajit"
local lua_env = ("LUA_PATH=%s LUA_CPATH=%s "):format(q(package.path), q(package.cpath))
local self = debug.getinfo(1, "S").source:sub(2)

local function run(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  local cpu, rss, base = out:match("cpu=([%d.]+) rss=(%d+) base=(%d+)")
  if not cpu then error("a run failed: " .. cmd .. "\n" .. out, 0) end
  return tonumber(cpu), tonumber(rss), tonumber(base)
end

local c_bench = find_c_bench()
local variants = {
  { name = "C API (bench_download_c)", cmd = c_bench and ("%s %d %s"):format(c_bench, server.port,
      q(SCRIPT:format(ROWS))) },
  { name = "pool:run, default options", mode = "default" },
  { name = "pool:run{..., view = true}", mode = "view" },
  { name = "pool:run{..., view = false}", mode = "arrays" },
  { name = "default, then every cell read", mode = "read" },
}
for _, v in ipairs(variants) do
  if v.mode then
    v.cmd = ("%s%s %s --child %s %s %d %d"):format(lua_env, interp, q(self), v.mode, server.host,
      server.port, ROWS)
  end
  v.cpu, v.rss, v.base = {}, {}, {}
end

-- The bytes of the table as the server sends it (its serialization).
local wire
do
  local pool = ddb.DBConnectionPool(server.host, server.port, 1, server.userid, server.password)
  wire = #ddb.encode(pool:run { SCRIPT:format(ROWS), view = true })
  pool:shutDown()
end

for _ = 1, R do
  for _, v in ipairs(variants) do
    if v.cmd then
      local cpu, rss, base = run(v.cmd)
      v.cpu[#v.cpu + 1], v.rss[#v.rss + 1], v.base[#v.base + 1] = cpu, rss, base
    end
  end
end
server.close()

local function median(list)
  table.sort(list)
  return list[math.floor((#list + 1) / 2)]
end

print(("bench_download: %d rows (INT, DOUBLE, SYMBOL of 100, TIMESTAMP), %.1f MB on the wire, "
  .. "median of %d interleaved runs, one process each"):format(ROWS, wire / 1e6, R))
print(("%-32s %10s %8s %12s %12s %8s"):format("", "CPU s", "x C API", "peak RSS MB", "before MB",
  "x wire"))
local c_cpu = c_bench and median(variants[1].cpu)
for _, v in ipairs(variants) do
  if v.cmd then
    local cpu, rss, base = median(v.cpu), median(v.rss), median(v.base)
    print(("%-32s %10.3f %8s %12.1f %12.1f %8.2f"):format(v.name, cpu,
      c_cpu and ("%.2f"):format(cpu / c_cpu) or "-", rss / 1024, base / 1024, rss * 1024 / wire))
  else
    print(("%-32s (bench_download_c not found: build it, or set DDB_BUILD_DIR)"):format(v.name))
  end
end
