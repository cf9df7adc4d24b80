-- The seed's addTask / isFinished / getData example: submit with a chosen id, poll,
-- fetch. Prints 3.
local ddb = require "dolphindb"
local here = debug.getinfo(1, "S").source:match("^@(.*/)[^/]*$") or "./"
local server = dofile(here .. "example_server.lua").open()

local pool = ddb.DBConnectionPool(server.host, server.port, 8, server.userid, server.password)
local taskid = 12
pool:addTask("sleep(1500);1+2", taskid)
while true do
  if pool:isFinished(taskid) then
    break
  end
  ddb.sleep(0.01)
end

local res = pool:getData(taskid)
print(res)

pool:shutDown()
server.close()
