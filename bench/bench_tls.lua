-- TLS against plain TCP, same run: what enableSSL costs the client per task.
-- Two ddbmini servers are started here, one plain and one serving TLS with a
-- throw-away certificate (made with the openssl command, verified against its CA),
-- and for each an 8-connection pool logs in as admin. Variants, run interleaved R
-- times, best of each:
--   open      creating the pool: TCP connect (+ TLS handshake) + login, 8 connections
--   C core    N `1+1` tasks submitted and completed from C, W in flight
--   workers   N `1+1` tasks from W coroutines calling pool:run in a loop
--   1 MB      N/100 tasks each returning 1..250000 (INT: 1 MB), W/32 in flight
-- Printed: wall time, tasks/s, the client's CPU per task (getrusage, user + system:
-- encryption is client CPU; the servers share the machine's cores, so tasks/s mostly
-- measures them), and TLS over plain for each.
--
--   ddblua bench/bench_tls.lua [N] [W] [R]      (defaults: 100000 tasks, 256, 3 rounds)
local ddb = require "dolphindb"
local here = debug.getinfo(1, "S").source:match("^@(.*/)[^/]*$") or "./"
package.path = here .. "../spec/?.lua;" .. package.path
local ddbmini = require "support.ddbmini"
local pki = require("support.pki").make()

local N = tonumber(arg and arg[1]) or 100000
local W = tonumber(arg and arg[2]) or 256
local R = tonumber(arg and arg[3]) or 3
local BIG_N, BIG_W = math.max(1, math.floor(N / 100)), math.max(1, math.floor(W / 32))

local ffi = require "ffi"
ffi.cdef [[
  struct ddb_tls_bench_timeval { long tv_sec; long tv_usec; };
  struct ddb_tls_bench_rusage { struct ddb_tls_bench_timeval ru_utime, ru_stime; long ru_rest[14]; };
  int getrusage(int who, struct ddb_tls_bench_rusage *usage);
]]
local usage = ffi.new("struct ddb_tls_bench_rusage")
local function cpu()                  -- user + system seconds of this process
  assert(ffi.C.getrusage(0, usage) == 0)
  return tonumber(usage.ru_utime.tv_sec) + tonumber(usage.ru_utime.tv_usec) / 1e6
       + tonumber(usage.ru_stime.tv_sec) + tonumber(usage.ru_stime.tv_usec) / 1e6
end

local plain_srv = ddbmini.start {}
local tls_srv = ddbmini.start { "--tls-cert", pki:path("srv.crt"), "--tls-key", pki:path("srv.key") }

local function pool_opts(tls)
  local o = { host = "127.0.0.1", port = plain_srv.port, threadNum = 8, userid = "admin",
              password = "123456" }
  if tls then
    o.port, o.enableSSL, o.sslCAFile = tls_srv.port, true, pki:path("ca.crt")
  end
  return o
end

local pools = { plain = ddb.DBConnectionPool(pool_opts(false)),
                tls = ddb.DBConnectionPool(pool_opts(true)) }

local function workers(pool, n, w, script, check)
  local per = math.floor(n / w)
  local hs = {}
  for i = 1, w do
    hs[i] = ddb.spawn(function()
      for _ = 1, per do if not check(pool:run(script)) then error("wrong result") end end
    end)
  end
  ddb.wait(hs)
  for i = 1, w do assert(hs[i]:error() == nil, hs[i]:error()) end
  return per * w
end

local function two(v) return v == 2 end
local function big(v) return #v == 250000 and v[250000] == 250000 end

local variants = {
  { name = "open (8 connections + login)", tasks = function() return 8 end,
    run = function(tls)
      local p = ddb.DBConnectionPool(pool_opts(tls))
      p:shutDown()
      return 8
    end },
  { name = ("C core, %d x 1+1, window %d"):format(N, W), run = function(tls)
      local _, failed = pools[tls and "tls" or "plain"]._c:_bench(N, W, "1+1")
      assert(failed == 0, failed .. " tasks failed")
      return N
    end },
  { name = ("Lua workers, %d x 1+1"):format(N), run = function(tls)
      return workers(pools[tls and "tls" or "plain"], N, W, "1+1", two)
    end },
  { name = ("Lua workers, %d x 1 MB result"):format(BIG_N), run = function(tls)
      return workers(pools[tls and "tls" or "plain"], BIG_N, BIG_W, "1..250000", big)
    end },
}

for _, p in pairs(pools) do for _ = 1, 2000 do assert(p:run("1+1") == 2) end end   -- warm up

local best = {}       -- [variant][tls] = { wall, cpu, n }
for round = 1, R do
  for i, v in ipairs(variants) do
    best[i] = best[i] or {}
    for _, tls in ipairs { false, true } do
      collectgarbage()
      local t0, c0 = ddb.now(), cpu()
      local n = v.run(tls)
      local wall, used = ddb.now() - t0, cpu() - c0
      local b = best[i][tls]
      if not b or wall < b.wall then b = b or {}; b.wall, b.n = wall, n end
      if not b.cpu or used < b.cpu then b.cpu = used end
      best[i][tls] = b
    end
  end
  io.stderr:write(("round %d of %d done\n"):format(round, R))
end

print(("%-34s %-6s %8s %10s %16s"):format("variant", "", "wall", "tasks/s", "client CPU/task"))
for i, v in ipairs(variants) do
  for _, tls in ipairs { false, true } do
    local b = best[i][tls]
    print(("%-34s %-6s %7.3fs %10.0f %13.2f us"):format(tls and "" or v.name,
      tls and "TLS" or "plain", b.wall, b.n / b.wall, b.cpu / b.n * 1e6))
  end
  local p, t = best[i][false], best[i][true]
  print(("%-34s %-6s %8s %9.2fx %15.2fx"):format("", "ratio", "", (t.n / t.wall) / (p.n / p.wall),
    (t.cpu / t.n) / (p.cpu / p.n)))
end
print(("best of %d rounds; ratio = TLS / plain (tasks/s: below 1 is slower; CPU: above 1 "
  .. "costs more)"):format(R))

for _, p in pairs(pools) do p:shutDown() end
plain_srv:stop()
tls_srv:stop()
pki:remove()
