-- A large table both ways: a 1,000,000-row query result read through zero-copy FFI
-- views of its columns, and a 200,000-row table built in Lua and uploaded as a
-- function argument. Also shows pickleTableToList (a list of columns, as in Python).
--
--   ddblua examples/large_table.lua
local ddb = require "dolphindb"
local here = debug.getinfo(1, "S").source:match("^@(.*/)[^/]*$") or "./"
local server = dofile(here .. "example_server.lua").open()

local pool = ddb.DBConnectionPool(server.host, server.port, 4, server.userid, server.password)
local rows = 1000000

local t0 = ddb.now()
local t = pool:run(("table(1..%d as id, rand(100.0, %d) as price)"):format(rows, rows))
local t1 = ddb.now()
print(("downloaded %d rows x %d columns (%s) in %.3f s"):format(
  t.n, t:ncols(), table.concat(t.colnames, ", "), t1 - t0))

-- Sum a column without touching each cell from Lua tables: an FFI view of the
-- decoded column memory.
local price, n = t:col("price"):ptr()
local sum = 0
for i = 0, n - 1 do sum = sum + price[i] end
print(("sum(price) over %d rows = %.2f (mean %.3f), in %.3f s"):format(
  n, sum, sum / n, ddb.now() - t1))
print("first row:", t:row(1).id, t:row(1).price)

-- Send the column back and let the server sum it: the same number.
local t2 = ddb.now()
local server_sum = pool:run("sum", t:col("price"))
print(("server sum of the uploaded column = %.2f (%s), round trip %.3f s"):format(
  server_sum, math.abs(server_sum - sum) < 1e-6 * math.abs(sum) and "matches" or "DIFFERS",
  ddb.now() - t2))

-- Upload: a Lua-built table as a function argument.
local m = 200000
local ids, qty = {}, {}
for i = 1, m do ids[i] = i; qty[i] = i % 100 end
local upload = ddb.table { { "id", ddb.vector("INT", ids) }, { "qty", ddb.vector("INT", qty) } }
local t3 = ddb.now()
print(("uploaded a %d-row table; the server counted %s rows in %.3f s"):format(
  m, tostring(pool:run("size", upload)), ddb.now() - t3))

-- pickleTableToList: the result as a list of columns.
local cols = pool:run { "table(1 2 3 as a, `x`y`z as b)", pickleTableToList = true }
print(("pickleTableToList: %d columns, a = {%s}, b = {%s}"):format(
  #cols, table.concat({ cols[1][1], cols[1][2], cols[1][3] }, ","),
  table.concat({ cols[2][1], cols[2][2], cols[2][3] }, ",")))

pool:shutDown()
server.close()
