-- What the writers cost: ROWS rows (INT id, DOUBLE price, SYMBOL sym of 100 values,
-- TIMESTAMP ts) from Lua arrays into a DFS table of ddbmini (or DDB_HOST/DDB_PORT),
--   (a) TableAppender:append: one tableInsert of the whole table, one connection
--   (b) PartitionedTableAppender:append on a pool of 4 connections: rows grouped by
--       partition, the groups written in parallel
--   (c) MultithreadedTableWriter, 4 workers, batchSize 10 000: one insert per row
-- All start from the same Lua columns and include fitting them to the schema
-- (building the table object), the request and the server's insert. Each run writes
-- into a freshly created table; the median of R runs is printed as rows/s, with the
-- ratios (b)/(a) and (c)/(a), and the median client CPU time of each case.
--
--   DDB_BUILD_DIR=$PWD/build build/ddblua bench/bench_writers.lua [ROWS] [R] [SCHEME]
--   SCHEME: hash (HASH on sym, 16 buckets; default) | value (VALUE by date of ts)
--   (luajit with LUA_PATH/LUA_CPATH set works too)
local ddb = require "dolphindb"

local ROWS = tonumber(arg[1]) or 1000000
local R = tonumber(arg[2]) or 3
local SCHEME = arg[3] or "hash"
local here = debug.getinfo(1, "S").source:match("^@(.*/)[^/]*$") or "./"
local server = dofile(here .. "../examples/example_server.lua").open()

local SCHEMES = {
  hash = { [[database("dfs://bench_writers", HASH, [SYMBOL, 16])]], "sym" },
  value = { [[database("dfs://bench_writers", VALUE, 2024.01.01..2024.01.10)]], "ts" },
}
local scheme = assert(SCHEMES[SCHEME], "SCHEME must be hash or value")

-- The data, once: plain Lua arrays (TIMESTAMP cells as ms since the epoch).
local function make_columns(n)
  local id, price, sym, ts = {}, {}, {}, {}
  local names = {}
  for k = 1, 100 do names[k] = "S" .. k end
  local t0 = 1704067200000                       -- 2024.01.01T00:00:00.000
  for i = 1, n do
    id[i] = i
    price[i] = (i % 10007) / 8
    sym[i] = names[i % 100 + 1]
    ts[i] = t0 + (i * 7919) % (10 * 86400000)
  end
  return { id, price, sym, ts }
end

local function fresh_table(pool)
  pool:run([[if (existsDatabase("dfs://bench_writers")) { dropDatabase("dfs://bench_writers") }; 1]])
  pool:run(("db = %s; t = table(1:0, `id`price`sym`ts, [INT, DOUBLE, SYMBOL, TIMESTAMP]); "
    .. "db.createPartitionedTable(t, \"pt\", `%s); 1"):format(scheme[1], scheme[2]))
end

local function count(pool)
  return pool:run([[exec count(*) from loadTable("dfs://bench_writers", "pt")]])
end

local function median(list)
  local s = {}
  for i, x in ipairs(list) do s[i] = x end
  table.sort(s)
  return s[math.floor((#s + 1) / 2)]
end

local cols = make_columns(ROWS)
local pool1 = ddb.DBConnectionPool(server.host, server.port, 1, server.userid, server.password)
local pool4 = ddb.DBConnectionPool(server.host, server.port, 4, server.userid, server.password)

-- Each case: wall time, and this process's CPU time (os.clock: user + system, the
-- client's share, which other jobs on the machine move much less than wall time).
local cpu = { a = {}, b = {}, c = {} }

local function timed(pool, make, label)
  fresh_table(pool1)
  collectgarbage()
  local w = make(pool)
  local t0, c0 = ddb.now(), os.clock()
  local n = w:append(cols)
  local dt = ddb.now() - t0
  local list = cpu[label:match("%((%a)%)")]
  list[#list + 1] = os.clock() - c0
  assert(n == ROWS and count(pool1) == ROWS, label .. ": wrong row count")
  return dt
end

-- (c): one insert per row from a coroutine that lets the workers run every 10 000
-- rows; the clock stops when every row is written (waitForThreadCompletion).
local function timed_mtw()
  fresh_table(pool1)
  collectgarbage()
  local w = ddb.MultithreadedTableWriter { host = server.host, port = server.port, userId = server.userid,
    password = server.password, dbPath = "dfs://bench_writers", tableName = "pt", batchSize = 10000,
    throttle = 0.1, threadCount = 4, partitionCol = scheme[2] }
  local id, price, sym, ts = cols[1], cols[2], cols[3], cols[4]
  local t0, c0 = ddb.now(), os.clock()
  ddb.spawn(function()
    for i = 1, ROWS do
      w:insert(id[i], price[i], sym[i], ts[i])
      if i % 10000 == 0 then ddb.sleep(0) end
    end
  end):result()
  w:waitForThreadCompletion()
  local dt = ddb.now() - t0
  cpu.c[#cpu.c + 1] = os.clock() - c0
  assert(w:getStatus().sentRows == ROWS and count(pool1) == ROWS, "(c): wrong row count")
  return dt
end

local a, b, c = {}, {}, {}
for _ = 1, R do
  a[#a + 1] = timed(pool1, function(p) return ddb.TableAppender("dfs://bench_writers", "pt", p) end, "(a)")
  b[#b + 1] = timed(pool4, function(p)
    return ddb.PartitionedTableAppender("dfs://bench_writers", "pt", scheme[2], p)
  end, "(b)")
  c[#c + 1] = timed_mtw()
end
pool1:shutDown()
pool4:shutDown()
server.close()

local ta, tb = median(a), median(b)
print(("bench_writers: %d rows (INT, DOUBLE, SYMBOL of 100, TIMESTAMP) from Lua arrays into a DFS "
  .. "table (%s), median of %d runs"):format(ROWS, SCHEME == "hash" and "HASH on sym, 16" or
  "VALUE by date", R))
print(("(a) TableAppender, one tableInsert        %8.3f s  %12.0f rows/s   client CPU %.3f s")
  :format(ta, ROWS / ta, median(cpu.a)))
print(("(b) PartitionedTableAppender, 4 conns     %8.3f s  %12.0f rows/s   client CPU %.3f s")
  :format(tb, ROWS / tb, median(cpu.b)))
local tc = median(c)
print(("(c) MultithreadedTableWriter, 4 workers   %8.3f s  %12.0f rows/s   client CPU %.3f s")
  :format(tc, ROWS / tc, median(cpu.c)))
print("    one insert per row, batchSize 10000")
print(("ratio (b)/(a) in rows/s: %.2f   (c)/(a): %.2f"):format(ta / tb, ta / tc))
