-- dolphindb.sched_wait — ddb.wait(list[, timeout]) -> done, pending (two lists, in
-- the input's order): waits for spawn handles and/or futures (any waitable of
-- dolphindb.sched), all of them or until the timeout; a single one is accepted too.
-- Ctrl-C interrupts the wait for the others as well.

local errors = require "dolphindb.errors"
local now = require("dolphindb.core").now

local M = {}

local function is_waitable(x)
  return type(x) == "table" and type(x._done) == "boolean"
end

-- ddb.wait for the scheduler `sched` (its wait_for; check_timeout checks the timeout)
function M.new(sched, check_timeout)
  return function(list, timeout)
    if is_waitable(list) then list = { list } end
    if type(list) ~= "table" then
      error("dolphindb: wait expects a handle, a future or a list of them", 2)
    end
    for i = 1, #list do
      if not is_waitable(list[i]) then
        error(("dolphindb: wait: item %d is not a handle or future (%s)"):format(i, type(list[i])), 2)
      end
    end
    check_timeout(timeout, 2, "wait")
    local deadline = timeout and now() + timeout
    for i = 1, #list do
      local left = deadline and math.max(0, deadline - now())
      local ok, done = pcall(sched.wait_for, list[i], left, "wait")
      if not ok then            -- interrupted: so is the wait for the others
        if errors.is_interrupted(done) then
          for j = i + 1, #list do
            local x = list[j]
            if not x._done and x._interrupt then x:_interrupt() end
          end
        end
        error(done, 0)
      end
      if not done then break end
    end
    local done, notdone = {}, {}
    for i = 1, #list do
      local x = list[i]
      if x._done then done[#done + 1] = x else notdone[#notdone + 1] = x end
    end
    return done, notdone
  end
end

return M
