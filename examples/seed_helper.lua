-- The seed's second example: a helper that schedules user scripts. In Python the
-- event loop runs in a second thread; here the main chunk spawns the coroutines and
-- simply ends, and ddblua keeps the loop running until they are all finished.
-- Expected: the 1 s scripts finish together, then the 3 s one, then the 5 s one.
--
--   ddblua examples/seed_helper.lua
local ddb = require "dolphindb"
local here = debug.getinfo(1, "S").source:match("^@(.*/)[^/]*$") or "./"
local server = dofile(here .. "example_server.lua").open()

local DolphinDBHelper = {
  pool = ddb.DBConnectionPool(server.host, server.port, 10, server.userid, server.password),
}

function DolphinDBHelper.test_run(script)
  print(("run script: [%s]"):format(script))
  return DolphinDBHelper.pool:run(script)
end

function DolphinDBHelper.runTest(script)
  local start = ddb.now()
  local task = ddb.spawn(DolphinDBHelper.test_run, script)
  local result = { task:result() }
  print(("[%s] time: %s result: [%s]"):format(os.date("%Y-%m-%d %H:%M:%S"),
    ddb.now() - start, table.concat(result, ", ")))
  return result
end

local start = ddb.now()
print("In main coroutine", coroutine.running())
local tasks = {
  ddb.spawn(DolphinDBHelper.runTest, "sleep(1000);1+1"),
  ddb.spawn(DolphinDBHelper.runTest, "sleep(3000);1+2"),
  ddb.spawn(DolphinDBHelper.runTest, "sleep(5000);1+3"),
  ddb.spawn(DolphinDBHelper.runTest, "sleep(1000);1+4"),
}
print("main thread time: ", ddb.now() - start)

-- Clean up once everything ran (the script itself ends right here).
ddb.spawn(function()
  ddb.wait(tasks)
  DolphinDBHelper.pool:shutDown()
  server.close()
end)

-- Under plain luajit nobody runs the loop after the main chunk, so do it here;
-- under ddblua this is not needed (and harmless).
ddb.loop()
