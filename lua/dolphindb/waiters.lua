-- dolphindb.waiters — who waits for which ticket, for both schedulers (dolphindb.sched
-- and dolphindb.ngx_sched).
--
-- Kept by the ticket's slot (src/lua/lua_loop.c: ticket % SLOTS, a small integer C
-- reuses once the ticket is back): wait_ticket[slot] = the ticket, waiter[slot] = what
-- waits (a parked coroutine, a record, a function, or `true`: nobody will wait, as for
-- addTask); both false when free. A table keyed by the ever-new tickets themselves
-- would churn, and LuaJIT rehashes such a table every few inserts; these keys stay few
-- and live (false, never nil).
--
-- Completed early. Submitting makes a ticket; the caller then allocates (a future's
-- table, a closure) before it registers its waiter, and an allocation may run a __gc
-- finalizer that waits on a pool, i.e. drives the loop, which takes that ticket's
-- completion. Such a ticket is kept in `early` (keyed by the ticket: its slot may
-- already carry a newer one); when its waiter comes, set_waiter keeps the waiter in
-- `late` and announces the ticket, and the scheduler delivers it at its next turn
-- (take_announced). Every ticket gets a waiter or is forgotten (take), so
-- `early` holds only the tickets of waits still being set up.
--
--   local W = require("dolphindb.waiters").new()
--   W.set(t, w)        t's waiter is w (again: replaces it)
--   W.take(t) -> w     forgets t's waiter (nil if none): t's completion, if it is
--                      still to come or came early, is delivered to nobody
--   W.completed(t) -> w   t completed: its waiter, removed; false if none (nobody,
--                      or not yet: then t is kept as completed early)
--   W.drop(t)          forgets t, which will never complete (a stopped timer)
--   W.announced() -> n    how many tickets wait to be delivered late
--   W.take_announced(buf, ws, n) -> n   appends them (ticket, waiter or false) to
--                      buf/ws after position n
--   W.count() -> waiters, early    (for stats)

local SLOTS = require("dolphindb.core").TICKET_SLOTS

local M = {}

function M.new()
  local wait_ticket, waiter = {}, {}
  local moved = {}                -- ticket -> waiter, moved out of its slot (below)
  local early, nearly = {}, 0     -- ticket -> true: completed, no waiter yet
  local late = {}                 -- ticket -> waiter (false: forgotten) until delivered
  local list, nlist = {}, 0       -- the announced tickets, in order

  -- A store may start a collection whose finalizer announces or takes too: the list
  -- stays whole (the store is made again if the list moved under it).
  local function announce(t)
    local l, i
    repeat
      l, i = list, nlist + 1
      l[i] = t
    until list == l and nlist == i - 1
    nlist = i
  end

  local W = {}
  function W.set(t, w)
    if late[t] ~= nil then late[t] = w; return end
    if moved[t] ~= nil then moved[t] = w; return end
    if early[t] then
      early[t], nearly = nil, nearly - 1
      late[t] = w
      announce(t)
      return
    end
    local slot = t % SLOTS
    local old = wait_ticket[slot]
    -- C frees a batch's slots when it hands the batch over, before the scheduler has
    -- taken their waiters; a finalizer run meanwhile can make a ticket in such a slot.
    -- The older ticket's waiter then moves aside until its completion takes it.
    if old and old ~= t and waiter[slot] ~= false then moved[old] = waiter[slot] end
    wait_ticket[slot], waiter[slot] = t, w
  end
  function W.take(t)
    local w = late[t]
    if w ~= nil then
      late[t] = false             -- still announced: delivered to nobody
      return w or nil
    end
    if early[t] then early[t], nearly = nil, nearly - 1; return nil end
    w = moved[t]
    if w ~= nil then
      moved[t] = true
    else
      local slot = t % SLOTS
      if wait_ticket[slot] ~= t then return nil end
      w = waiter[slot]
      waiter[slot] = true         -- if t is still to complete, nobody waits
    end
    if w == true then return nil end
    return w
  end
  function W.drop(t)              -- t will never complete (a stopped timer)
    if late[t] ~= nil then late[t] = false; return end
    if early[t] then early[t], nearly = nil, nearly - 1; return end
    moved[t] = nil
    local slot = t % SLOTS
    if wait_ticket[slot] == t then wait_ticket[slot], waiter[slot] = false, false end
  end
  function W.completed(t)
    local slot = t % SLOTS
    local w
    if wait_ticket[slot] == t then
      w = waiter[slot]
      wait_ticket[slot], waiter[slot] = false, false
    else
      w = moved[t]
      if w == nil then
        early[t], nearly = true, nearly + 1
        return false
      end
      moved[t] = nil
    end
    if w == true then return false end
    return w
  end
  local function take_late(t)
    local w = late[t]
    late[t] = nil
    if w == true then return false end
    return w or false
  end
  function W.announced() return nlist end
  function W.take_announced(buf, ws, n)
    if nlist == 0 then return n end
    local fresh = {}
    local l, ln = list, nlist
    list, nlist = fresh, 0        -- (what a finalizer announces meanwhile: next turn)
    for i = 1, ln do
      local t = l[i]
      n = n + 1
      buf[n], ws[n] = t, take_late(t)
    end
    return n
  end
  function W.count()
    local n = 0
    -- (slot 0 is no wait: ticket 0 is the standing "log lines queued" mark that
    -- dolphindb.log listens to, src/lua/lua_logq.h)
    for slot, w in pairs(waiter) do if w and w ~= true and slot ~= 0 then n = n + 1 end end
    for _, w in pairs(moved) do if w ~= true then n = n + 1 end end
    return n, nearly
  end
  return W
end

return M
