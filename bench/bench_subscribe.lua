-- Streaming subscription throughput and latency against ddbmini (started here).
--
--   catch-up   ROWS rows of (INT, DOUBLE, SYMBOL, TIMESTAMP), appended in batches of
--              1000, then received by ddb.subscribe{offset = 0, batchSize = 10000,
--              msgAsTable = true, handler = ...}: rows/s from subscribing to the
--              handler holding the last row; beside it the baseline, the same rows
--              downloaded once by pool:run("select * from st"). Columns come as
--              views (the default for msgAsTable); beside it the same with
--              view = false (every cell converted to a Lua value).
--   live       a fresh table subscribed first, then the ROWS rows appended in batches
--              of 1000 (4 appends in flight): rows/s from the first append to the
--              handler holding the last row (bounded by how fast the rows go in).
--   latency    LAT one-row appends, one at a time: from submitting the append to the
--              handler running with its row (p50, p99, max), a handler per row.
-- Medians of R runs for the throughputs. Neither the baseline nor the handler reads
-- the cells (both get the same table objects).
--
--   DDB_BUILD_DIR=$PWD/build luajit bench/bench_subscribe.lua [ROWS] [R] [LAT]
--   (LUA_PATH/LUA_CPATH as scripts/busted.sh sets them; defaults 1000000 3 2000)
local ffi = require "ffi"
local here = (arg and arg[0] or ""):match("^(.*)/bench/[^/]*$") or "."
package.path = here .. "/spec/?.lua;" .. package.path
local ddb = require "dolphindb"
local ddbmini = require "support.ddbmini"

local ROWS = tonumber(arg[1] or "") or 1000000
local R = tonumber(arg[2] or "") or 3
local LAT = tonumber(arg[3] or "") or 2000
assert(ROWS % 1000 == 0, "ROWS must be a multiple of 1000")

ffi.cdef [[
struct ddbb_ts { long sec, nsec; };
int clock_gettime(int clk, struct ddbb_ts *ts);
]]
-- CPU seconds of this process (CLOCK_PROCESS_CPUTIME_ID): the client's own share
local function cpu()
  local t = ffi.new("struct ddbb_ts")
  ffi.C.clock_gettime(2, t)
  return tonumber(t.sec) + tonumber(t.nsec) * 1e-9
end
local ts = ffi.new("struct ddbb_ts")
local function clock()          -- monotonic seconds, ns resolution
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.sec) + tonumber(ts.nsec) * 1e-9
end

local function median(list)
  table.sort(list)
  return list[math.floor((#list + 1) / 2)]
end

local SCHEMA = "t = streamTable(1:0, `id`price`sym`ts, [INT, DOUBLE, SYMBOL, TIMESTAMP]); share t as %s"
local BATCH = "ids = %d..%d; tableInsert(%s, table(ids as id, rand(100.0, 1000) as price, "
  .. "symbol(string(ids %% 100)) as sym, 2024.01.02T03:04:05.006 + ids as ts))"

-- Appends ROWS rows to `name` in batches of 1000, `inflight` appends at a time.
local function append_all(pool, name, inflight)
  local futures = {}
  for k = 0, ROWS / 1000 - 1 do
    futures[#futures + 1] = pool:runTaskAsync(BATCH:format(k * 1000, k * 1000 + 999, name))
    if #futures >= inflight then
      table.remove(futures, 1):result()
    end
  end
  for _, f in ipairs(futures) do f:result() end
end

-- Subscribes to `name` from `offset`; returns the seconds until ROWS rows arrived
-- (counted from `start()`, called once subscribed).
local function receive(srv, name, action, offset, start, view)
  local got, done = 0, { _done = false }
  local t_end
  local sub = ddb.subscribe { host = "127.0.0.1", port = srv.port, tableName = name,
    actionName = action, offset = offset, batchSize = 10000, throttle = 0.01, msgAsTable = true, view = view,
    handler = function(t)
      got = got + t.n
      if got >= ROWS and not t_end then t_end = clock() end
    end }
  local t0 = start()
  while not t_end do ddb.sleep(0.001) end
  sub:unsubscribe()
  assert(got == ROWS, ("received %d rows, expected %d"):format(got, ROWS))
  return t_end - t0
end

local function main()
  local srv = ddbmini.start {}
  local pool = ddb.DBConnectionPool("127.0.0.1", srv.port, 4, "admin", "123456")
  pool:run(SCHEMA:format("st"))
  append_all(pool, "st", 4)
  assert(pool:run("exec count(*) from st") == ROWS)

  local base, catchup, live, base_cpu, catchup_cpu = {}, {}, {}, {}, {}
  local vcatchup, vcatchup_cpu = {}, {}
  for r = 1, R do
    local t0, c0 = clock(), cpu()
    local t = pool:run("select * from st")
    base[r], base_cpu[r] = clock() - t0, cpu() - c0
    assert(t.n == ROWS)
    t = nil
    collectgarbage()
    local c1 = cpu()
    catchup[r] = receive(srv, "st", "c" .. r, 0, clock)
    catchup_cpu[r] = cpu() - c1
    collectgarbage()
    c1 = cpu()
    vcatchup[r] = receive(srv, "st", "v" .. r, 0, clock, false)
    vcatchup_cpu[r] = cpu() - c1
    collectgarbage()
    local name = "live" .. r
    pool:run(SCHEMA:format(name))
    live[r] = receive(srv, name, "l", -1, function()
      local t1 = clock()
      append_all(pool, name, 4)
      return t1
    end)
    pool:run(("undef(`%s, SHARED)"):format(name))
    collectgarbage()
  end
  local b, c, l = median(base), median(catchup), median(live)
  print(("rows %d, %d runs (medians)"):format(ROWS, R))
  print(("  pool:run download  %8.3f s  %10.0f rows/s  (baseline)  client CPU %.3f s"):format(b, ROWS / b, median(base_cpu)))
  print(("  subscribe catch-up %8.3f s  %10.0f rows/s  %5.1f %% of the baseline  client CPU %.3f s")
    :format(c, ROWS / c, 100 * b / c, median(catchup_cpu)))
  local v = median(vcatchup)
  print(("  ... view=false     %8.3f s  %10.0f rows/s  %5.1f %% of the baseline  client CPU %.3f s")
    :format(v, ROWS / v, 100 * b / v, median(vcatchup_cpu)))
  print(("  subscribe live     %8.3f s  %10.0f rows/s  (appends of 1000, 4 in flight)"):format(l, ROWS / l))

  -- latency: one row at a time
  pool:run(SCHEMA:format("lat"))
  local sent, lat, handled = {}, {}, 0
  local sub = ddb.subscribe { host = "127.0.0.1", port = srv.port, tableName = "lat",
    actionName = "lat", handler = function(row)
      local k = row.id
      lat[#lat + 1] = clock() - sent[k]
      handled = handled + 1
    end }
  for k = 1, LAT do
    sent[k] = clock()
    pool:run(("insert into lat values(%d, 1.5, `s, 2024.01.02T03:04:05.006)"):format(k))
    while handled < k do ddb.sleep(0) end
  end
  sub:unsubscribe()
  table.sort(lat)
  local function pct(p) return lat[math.max(1, math.floor(#lat * p + 0.5))] * 1e6 end
  print(("latency, %d one-row appends: append submitted -> handler  p50 %.0f us  p99 %.0f us  max %.0f us")
    :format(#lat, pct(0.5), pct(0.99), lat[#lat] * 1e6))
  pool:shutDown()
  srv:stop()
end

ddb.spawn(main)
ddb.loop()
