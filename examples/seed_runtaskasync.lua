-- The seed's runTaskAsync example: four futures; reading their results in order
-- takes ~1, 2, 2 and 4 s from the start, because the tasks run at once.
local ddb = require "dolphindb"
local here = debug.getinfo(1, "S").source:match("^@(.*/)[^/]*$") or "./"
local server = dofile(here .. "example_server.lua").open()

local pool = ddb.DBConnectionPool(server.host, server.port, 10, server.userid, server.password)

local t1 = ddb.now()
local task1 = pool:runTaskAsync("sleep(1000); 1+0")
local task2 = pool:runTaskAsync("sleep(2000); 1+1")
local task3 = pool:runTaskAsync("sleep(4000); 1+2")
local task4 = pool:runTaskAsync("sleep(1000); 1+3")
local t2 = ddb.now()
print("Task1 Result: ", task1:result())
local t3 = ddb.now()
print("Task2 Result: ", task2:result())
local t4 = ddb.now()
print("Task4 Result: ", task4:result())
local t5 = ddb.now()
print("Task3 Result: ", task3:result())
local t6 = ddb.now()

print("Add Tasks: ", t2 - t1)
print("Get Task1: ", t3 - t1)
print("Get Task2: ", t4 - t1)
print("Get Task4: ", t5 - t1)
print("Get Task3: ", t6 - t1)
pool:shutDown()
server.close()
