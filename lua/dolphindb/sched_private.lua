-- dolphindb.sched_private — what the scheduler (dolphindb.sched) does for a __gc
-- finalizer that runs while the scheduler itself is in the middle of updating its
-- state.
--
-- A finalizer runs inside whatever allocation started the collection, and under the
-- JIT also at the exit of a compiled trace: between almost any two steps of our own
-- bookkeeping (the waiters of dolphindb.waiters, the run queue, a turn's buffers).
-- dolphindb.sched counts such stretches (`busy`); a finalizer that calls in during one
-- must not touch what is half updated. So it works on the side, here:
--   * the waiters it registers go to `pv` (ticket -> waiter), not to the slots;
--   * the coroutines it wakes are deferred, not queued;
--   * when it waits, it polls the loop itself (a private turn): the completions of its
--     own tickets (found in `pv`) are delivered at once, every other one is stashed;
--     no coroutine runs.
-- The scheduler's next turn takes all of it in (settle, take_stash), before it looks
-- at the loop. What the finalizer's code sees is the same as elsewhere: a wait ends
-- when its ticket completes.
--
-- Writers here are finalizers only, and a finalizer runs to its end before the code
-- it interrupted goes on (LuaJIT runs no GC step inside a finalizer). The scheduler
-- reads a list by taking it whole and putting a fresh one in its place: what a
-- finalizer adds meanwhile goes to one or the other, never lost.

local M = {}

local core = require "dolphindb.core"
local now, timer_start, pending = core.now, core.timer_start, core.pending

function M.new(run_once)
  local pv = {}                 -- ticket -> waiter (true: nobody), set while busy
  local stash, nstash = {}, 0   -- tickets a private turn took for someone else
  local dco, dval, ndef = {}, {}, 0   -- coroutines to queue (with their value)
  local buf = {}                -- a private turn's completions (turns never nest)

  local dirty = false           -- pv or the deferred list changed since settle

  local P = {}

  -- a coroutine waiter is queued (deferred), a function called
  local function deliver(w, t)
    if type(w) == "thread" then P.defer(w, t) elseif w ~= true then w(t) end
  end

  -- t's waiter is w; a private turn may already have stashed t (its waiter came
  -- after the completion): then it is delivered now
  function P.set(t, w)
    for i = 1, nstash do
      if stash[i] == t then
        local last = stash[nstash]
        stash[nstash] = false
        nstash = nstash - 1
        if i <= nstash then stash[i] = last end
        return deliver(w, t)
      end
    end
    pv[t] = w
    dirty = true
  end
  -- forgets t's waiter; its completion (still to come, or stashed) goes to nobody
  function P.take(t)
    local w = pv[t]
    pv[t] = true
    dirty = true
    if w == true then return nil end
    return w
  end
  function P.drop(t) pv[t] = nil end   -- t will never complete (a stopped timer)
  function P.defer(co, value)
    local i = ndef + 1
    dco[i], dval[i] = co, value
    ndef = i
    dirty = true
  end

  -- true while something waits to be taken in by the scheduler
  function P.waiting() return dirty or nstash > 0 end

  -- One private turn: polls the loop (blocking when `block`), delivers the
  -- completions of tickets registered here (a function is called, a coroutine is
  -- deferred), stashes the others. Returns how many there were, and true when a
  -- SIGINT cut the blocking run short.
  function P.turn(block)
    local n, interrupted = run_once(block, buf)
    for i = 1, n do
      local t = buf[i]
      local w = pv[t]
      if w == nil then
        local j = nstash + 1
        stash[j] = t
        nstash = j
      else
        pv[t] = nil
        deliver(w, t)
      end
    end
    return n, interrupted
  end

  -- drive() for such a finalizer: private turns until done(arg), the deadline (a
  -- core.now() value) or Ctrl-C; no coroutine runs. Returns done(arg), true when
  -- interrupted, and true when any completion came in. `live` is for the message.
  local fired = {}
  local function on_deadline(timer) fired[timer] = true end
  function P.drive(done, deadline, arg, stop_timer, live)
    local timer, interrupted, delivered = nil, false, false
    while not done(arg) do
      if deadline then
        local left = deadline - now()
        if timer and fired[timer] or left <= 0 then break end
        if not timer then
          timer = timer_start(left * 1000)
          P.set(timer, on_deadline)
        end
      end
      if pending() == 0 then
        if timer then stop_timer(timer) end
        error(("dolphindb: deadlock: waiting for something that cannot happen "
          .. "(%d spawned coroutine(s) blocked, no operation pending)"):format(live), 4)
      end
      local n
      n, interrupted = P.turn(true)
      if n > 0 then delivered = true end
      if interrupted then break end
    end
    if timer and fired[timer] then fired[timer] = nil
    elseif timer then stop_timer(timer) end
    return done(arg), interrupted, delivered
  end

  -- The scheduler's turn (not busy here): the waiters registered on the side go to
  -- `set(t, w)`, the deferred coroutines to `enqueue(co, value)`.
  function P.settle(set, enqueue)
    dirty = false
    if next(pv) ~= nil then
      local fresh = {}
      local old = pv
      pv = fresh
      local t, w = next(old)      -- (not pairs: see dolphindb.options, next())
      while t ~= nil do
        set(t, w)
        t, w = next(old, t)
      end
    end
    if ndef > 0 then
      local fco, fval = {}, {}
      local co, val, n = dco, dval, ndef
      dco, dval, ndef = fco, fval, 0
      for i = 1, n do enqueue(co[i], val[i]) end
    end
  end

  -- Appends the stashed tickets to out after position n (they are then completions
  -- like the ones run_once hands over); returns the new n.
  function P.take_stash(out, n)
    if nstash == 0 then return n end
    local fresh = {}
    local s, k = stash, nstash
    stash, nstash = fresh, 0
    for i = 1, k do
      n = n + 1
      out[n] = s[i]
    end
    return n
  end

  -- waiters registered here (for stats)
  function P.count()
    local k = 0
    for _, w in pairs(pv) do if w ~= true then k = k + 1 end end
    return k
  end

  return P
end

return M
