-- subscribe_stream.lua — a stream table's rows as they are appended, under ddblua
-- (or plain luajit): one subscription read with a handler that itself queries,
-- another read with next() in a coroutine. A private ddbmini unless DDB_HOST/DDB_PORT
-- name a server (examples/example_server.lua).
--
--   build/ddblua examples/subscribe_stream.lua     (or luajit with LUA_PATH/LUA_CPATH)
local ddb = require "dolphindb"
local here = debug.getinfo(1, "S").source:match("^@(.*/)[^/]*$") or "./"
local server = dofile(here .. "example_server.lua").open()
local host, port = server.host, server.port
local pool = ddb.DBConnectionPool(host, port, 2, server.userid or "admin", server.password or "123456")
pool:run("t = streamTable(1000:0, `time`sym`price, [TIMESTAMP, SYMBOL, DOUBLE]); share t as ticks")

-- 1. A handler: one call per row, in order; it may wait (here: a query per row).
local seen = 0
local sub = ddb.subscribe {
  host = host, port = port, tableName = "ticks", actionName = "printer",
  userName = server.userid, password = server.password,
  handler = function(row, offset)
    local n = pool:run("exec count(*) from ticks where sym = `" .. row.sym)
    print(("#%d %s %-4s %7.2f  (%d rows of %s so far)"):format(offset, tostring(row.time), row.sym,
      row.price, n, row.sym))
    seen = seen + 1
  end,
}

-- 2. Batches read with next(): every 5 rows (or what came within 0.2 s) as one table.
local batches = ddb.subscribe { host = host, port = port, tableName = "ticks",
  actionName = "batches", batchSize = 5, throttle = 0.2, msgAsTable = true,
  userName = server.userid, password = server.password }
local reader = ddb.spawn(function()
  local rows = 0
  while rows < 12 do
    local t, last = batches:next(5)
    if not t then break end
    rows = rows + t.n
    print(("batch of %d rows up to offset %d, mean price %.2f"):format(t.n, last,
      (function() local s = 0; for i = 1, t.n do s = s + t.price[i] end; return s / t.n end)()))
  end
  batches:unsubscribe()
end)

-- Append 12 ticks in 4 inserts, a little apart.
for k = 0, 3 do
  pool:run(("insert into ticks values(2024.01.02T09:30:00.000 + (%d..%d), `AAPL`MSFT`IBM, %d.5 + (0..2))"):format(k * 1000, k * 1000 + 2, 100 + k))
  ddb.sleep(0.05)
end
ddb.wait({ reader }, 5)
while seen < 12 do ddb.sleep(0.01) end
print("topics:", table.concat(ddb.getSubscriptionTopics(), ", "))
print("stats:", sub:stats().rows, "rows,", sub:stats().reconnects, "reconnects")
sub:unsubscribe()
pool:shutDown()
server:close()
