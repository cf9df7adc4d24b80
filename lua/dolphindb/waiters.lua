-- dolphindb.waiters — who waits for which ticket, for both schedulers (dolphindb.sched
-- and dolphindb.ngx_sched).
--
-- Kept by the ticket's slot (src/lua/lua_loop.c: ticket % SLOTS, a small integer C
-- reuses once the ticket is back): wait_ticket[slot] = the ticket, waiter[slot] = what
-- waits (a parked coroutine, a record, a function); both false when free. A table
-- keyed by the ever-new tickets themselves would churn, and LuaJIT rehashes such a
-- table every few inserts; these keys stay few and live (false, never nil).
--
--   local set_waiter, take_waiter = require("dolphindb.waiters").new()
--   set_waiter(ticket, w)        take_waiter(ticket) -> w, removed; nil if none
--   count() -> how many tickets have a waiter

local SLOTS = require("dolphindb.core").TICKET_SLOTS

local M = {}

function M.new()
  local wait_ticket, waiter = {}, {}
  local function set_waiter(t, w)
    local slot = t % SLOTS
    wait_ticket[slot], waiter[slot] = t, w
  end
  local function take_waiter(t)
    local slot = t % SLOTS
    if wait_ticket[slot] ~= t then return nil end
    local w = waiter[slot]
    wait_ticket[slot], waiter[slot] = false, false
    return w
  end
  local function count()           -- for stats: how many wait now
    local n = 0
    -- (slot 0 is no wait: ticket 0 is the standing "log lines queued" mark that
    -- dolphindb.log listens to, src/lua/lua_logq.h)
    for slot, w in pairs(waiter) do if w and slot ~= 0 then n = n + 1 end end
    return n
  end
  return set_waiter, take_waiter, count
end

return M
