-- The seed's first example: four coroutines each run "sleep(2000);1+i" on an
-- 8-connection pool; they run at once, so the total is ~2 s, not 8.
--
--   ddblua examples/seed_run_coroutines.lua
--   (or: LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="build/lua/?.so;;" luajit ...)
local ddb = require "dolphindb"
local here = debug.getinfo(1, "S").source:match("^@(.*/)[^/]*$") or "./"
local server = dofile(here .. "example_server.lua").open()

local pool = ddb.DBConnectionPool(server.host, server.port, 8, server.userid, server.password)

local function test_run(i)
  local ok, res = pcall(pool.run, pool, ("sleep(2000);1+%d"):format(i))
  if not ok then print(res) end
  return res
end

local tasks = {
  ddb.spawn(test_run, 1),
  ddb.spawn(test_run, 3),
  ddb.spawn(test_run, 5),
  ddb.spawn(test_run, 7),
}

local time_st = ddb.now()
ddb.wait(tasks)
local time_ed = ddb.now()

print("time: ", time_ed - time_st)
for _, task in ipairs(tasks) do
  print(task:result())
end

pool:shutDown()
server.close()
