-- dolphindb.sched — the coroutine scheduler over the module's libuv loop.
--
-- Model (docs/DESIGN.md "Where to yield"): C starts an operation and returns a ticket;
-- libuv callbacks only append finished tickets to a ready list; core.run_once() runs
-- the loop once and hands that list to Lua; here we resume whoever parked on each
-- ticket. coroutine.yield() therefore stays in Lua and no Lua code runs inside libuv.
--
-- Who waits how:
--   * a coroutine started by spawn() (or the ddblua script itself) parks: it yields
--     to the scheduler and is resumed when its ticket or event completes;
--   * anything else (the main chunk under plain luajit, or a coroutine the scheduler
--     does not own) drives the loop right there until the thing it waits for is done,
--     resuming the spawned coroutines on the way. So pool:run() works everywhere.
--
-- Public API (re-exported by `dolphindb`):
--   ddb.spawn(fn, ...) -> handle   fn(...) starts at once and runs up to its first
--                                  wait (as ngx.thread.spawn); handle:done(),
--                                  handle:result([timeout]) (values or raises the
--                                  error), handle:error(), handle:traceback(),
--                                  handle:wait([timeout]) -> true when done
--   ddb.sleep(sec)                 sec = 0 (or nil) only yields a turn
--   ddb.loop()                     until no spawned coroutine and no operation is left;
--                                  in a spawned coroutine: until all the others ended.
--                                  Raises on a deadlock instead of hanging.
--   ddb.wait(list[, timeout])      -> done, pending (lists of handles / futures)
--   ddb.now()                      monotonic seconds
-- A spawned coroutine's error is reported on stderr with its traceback at once and
-- kept in its handle; the others go on (an "interrupted" error quietly: see Ctrl-C).
-- Under plain luajit a spawned coroutine goes on after its first wait only while
-- something waits (ddb.loop/wait/sleep, pool:run, future:result); at exit (lua_close)
-- a finalizer reports on stderr the spawned coroutines that never finished and the
-- errors nobody retrieved (dolphindb.sched_exit, with ddblua's entry point).
--
-- Waitables (spawn handles, futures) share one protocol: a table with `_done` (boolean)
-- and `_waiters` (list, created when the first waiter comes); M.signal(obj) completes
-- it and wakes every waiter once; an optional `_interrupt(obj)` method is called when
-- a wait for it is interrupted (a future cancels its task).
--
-- Ctrl-C (docs/API.md "Ctrl-C"): while the loop blocks, SIGINT makes core.run_once
-- return with a mark (lua_loop.c). The driver then resumes every spawned coroutine
-- parked in a wait with INTERRUPT, and each wait raises an "interrupted" error after
-- cancelling what it waited for, unless it completed in that very run (then the
-- completion wins); the driving code's own wait raises it too. SIGINT at any other
-- moment is the host's business (luajit's "interrupted!").

-- Inside nginx workers waiting must go through nginx (ngx.semaphore, cosockets), never
-- through a loop of ours: the same interface comes from dolphindb.ngx_sched there.
if rawget(_G, "ngx") and type(ngx) == "table" and ngx.timer and pcall(require, "ngx.semaphore") then
  return require "dolphindb.ngx_sched"
end

local core = require "dolphindb.core"
local errors = require "dolphindb.errors"

local co_create, co_resume, co_yield = coroutine.create, coroutine.resume, coroutine.yield
local co_running, co_status = coroutine.running, coroutine.status
local select, type, unpack, tostring = select, type, unpack, tostring
local traceback = debug.traceback
local timer_start, timer_stop, run_once, pending = core.timer_start, core.timer_stop,
  core.run_once, core.pending
local now = core.now

local M = {}

local PARK = setmetatable({}, { __tostring = function() return "dolphindb.sched.park" end })
-- resumes a coroutine parked in a wait when Ctrl-C interrupted the loop
local INTERRUPT = setmetatable({}, { __tostring = function() return "dolphindb.sched.interrupt" end })

-- Who waits for which ticket: a parked coroutine or a function(ticket). Tickets that
-- completed before their waiter came are delivered at the next turn, which does not
-- block while some are announced (dolphindb.waiters).
local W = require("dolphindb.waiters").new()
local w_set, w_take, w_drop, take_completed, announced, count_waiters =
  W.set, W.take, W.drop, W.completed, W.announced, W.count

-- A __gc finalizer runs inside whatever allocation (or exit of a compiled trace)
-- started the collection, i.e. between almost any two steps of the code below.
-- `busy` counts the stretches where the scheduler's state is half updated (the
-- waiters, the run queue, a turn's buffers); a finalizer that calls in during one
-- works on the side (dolphindb.sched_private: its waiters, wakes and waits stay
-- there until the next turn takes them in). Everywhere else a finalizer may drive
-- the loop as any code does. Nothing between busy = busy + 1 and busy - 1 raises.
local busy = 0
local P = require("dolphindb.sched_private").new(run_once)

local function set_waiter(t, w)
  if busy > 0 then return P.set(t, w) end
  busy = busy + 1
  w_set(t, w)
  busy = busy - 1
end
local function take_waiter(t)
  if busy > 0 then return P.take(t) end
  busy = busy + 1
  local w = w_take(t)
  busy = busy - 1
  return w
end

-- A stopped timer never completes; one that fired is still to be delivered.
local function stop_timer(timer)
  if not timer_stop(timer) then take_waiter(timer)
  elseif busy > 0 then P.drop(timer)
  else busy = busy + 1; w_drop(timer); busy = busy - 1 end
end

-- true while ticket t still has a waiter (it has not completed): a peek, only on the
-- Ctrl-C path
local function awaited(t)
  local w = take_waiter(t)
  if w == nil then return false end
  set_waiter(t, w)
  return true
end
local managed = setmetatable({}, { __mode = "k" })   -- coroutine -> its spawn handle
local live = 0              -- spawned coroutines that have not finished
local unretrieved = 0       -- failed spawned coroutines whose error nobody looked at
local loop_waiters = {}     -- spawned coroutines parked in ddb.loop()
local driver_timers = 0     -- deadline timers of drive(): the driving thread's own wait,
                            -- which a ddb.loop() in a coroutine must not wait for
local failed = setmetatable({}, { __mode = "k" })   -- handle -> true: its error unretrieved
local interrupted_left = 0  -- coroutines ended by Ctrl-C whose error nobody looked at
local interrupted_waits = 0 -- waits that raised "interrupted" so far

-- Run queue: coroutines to resume (with one value) at the next turn, in slots
-- runq_head..runq_tail. Free slots hold false, never nil: LuaJIT inserts a key even
-- when nil is assigned to it, so a queue that stores and clears nils keeps adding keys
-- and rehashes its whole table every few tasks. With false the arrays stay dense and
-- only grow; run_ready moves what is left to the front, so they never drift.
local runq_co, runq_val, runq_head, runq_tail = {}, {}, 1, 0

-- Bumped by whatever may end a wait (a coroutine queued, a waitable completed,
-- completions taken): a driver that saw it change since it last looked must look
-- again before it blocks, as a finalizer may have driven the loop meanwhile.
local progress = 0
local function push(co, value)        -- (busy)
  local i = runq_tail + 1
  runq_co[i], runq_val[i] = co, value
  runq_tail = i
end
local function enqueue(co, value)
  if value == nil then value = false end
  progress = progress + 1
  if busy > 0 then return P.defer(co, value) end
  busy = busy + 1
  push(co, value)
  busy = busy - 1
end

-- What finalizers left on the side joins the scheduler (at the start of a turn; not
-- busy, so no finalizer goes aside meanwhile).
local aside_spawned = 0       -- coroutines spawned aside, not counted in `live` yet
local function settle_aside()
  if not P.waiting() then return end
  if aside_spawned > 0 then
    local k = aside_spawned
    aside_spawned = 0
    busy = busy + 1
    live = live + k
    busy = busy - 1
  end
  P.settle(set_waiter, enqueue)
end

local function report(msg)
  io.stderr:write(msg, "\n")
  io.stderr:flush()
end

-- The running coroutine and its handle when the scheduler owns it, else nil.
local function owned_coroutine()
  local co = co_running()
  local h = co and managed[co]
  if h then return co, h end
  return nil
end
M.owned_coroutine = owned_coroutine

-- ---- spawn handles (dolphindb.sched_handle; made below, once wait_for exists) ----

local Handle, handle_name

local function wake_waiters(obj)
  local waiters = obj._waiters
  if not waiters then return end
  obj._waiters = nil
  for i = 1, #waiters do
    local w = waiters[i]
    if type(w) == "thread" then
      enqueue(w, obj)
    else
      w(obj)
    end
  end
end

-- Completes a waitable and wakes each waiter exactly once (at the next turn).
function M.signal(obj)
  if obj._done then return end
  obj._done = true
  progress = progress + 1
  wake_waiters(obj)
end

-- Counters a nested turn changes too are updated while busy (a finalizer that runs
-- then goes aside, and finishes no coroutine there).
local function finish(co, ok, ...)
  local h = managed[co]
  busy = busy + 1
  managed[co] = nil
  live = live - 1
  busy = busy - 1
  h._ok = ok
  if ok then
    local n = select("#", ...)
    h._nvalues = n
    if n == 1 then h._value = ... elseif n > 1 then h._value = { n = n, ... } end
  else
    local err = ...
    h._err = err
    h._traceback = traceback(co, tostring(err))
    if errors.is_interrupted(err) then     -- Ctrl-C's expected outcome: no report
      h._unretrieved = "interrupted"
      busy = busy + 1
      interrupted_left = interrupted_left + 1
      busy = busy - 1
      return M.signal(h)
    end
    h._unretrieved = true
    busy = busy + 1
    unretrieved = unretrieved + 1
    busy = busy - 1
    failed[h] = true
    if h.is_main then
      report("ddblua: " .. h._traceback)
    else
      report(("dolphindb: error in %s: %s"):format(handle_name(h), h._traceback))
    end
  end
  M.signal(h)
end

-- Every spawned coroutine runs `body`, so its end is told by the FINISHED mark in
-- front of fn's results: no coroutine.status() call (a string per resume) is needed.
local FINISHED = setmetatable({}, { __tostring = function() return "dolphindb.sched.finished" end })
local function body(fn, ...)
  return FINISHED, fn(...)
end

local function settle(co, h, ok, first, ...)
  h._running = false
  if not ok then return finish(co, false, first) end
  if first == FINISHED then return finish(co, true, ...) end
  if first ~= PARK then
    enqueue(co, nil)        -- a plain coroutine.yield(): give the others a turn
  end
end

local function resume(co, h, value)
  h._running = true
  local args = h._args
  if args ~= nil then      -- first run: pass the function and its arguments
    local fn = h._fn
    h._args, h._fn = nil, nil
    if args == false then return settle(co, h, co_resume(co, fn)) end
    return settle(co, h, co_resume(co, fn, unpack(args, 1, args.n)))
  end
  return settle(co, h, co_resume(co, value))
end

local spawned_count = 0
-- how: "main" (ddblua's script) and "later" start at the next turn, "now" at once.
local function spawn(fn, how, ...)
  local is_main = how == "main"
  if type(fn) ~= "function" then          -- a callable table
    local callable = fn
    fn = function(...) return callable(...) end
  end
  local co = co_create(body)
  spawned_count = spawned_count + 1
  local nargs, args = select("#", ...), false
  if nargs > 3 then
    args = { n = nargs, ... }
  elseif nargs > 0 then          -- a constructor of fixed size: no resize to fit "..."
    local a, b, c = ...
    args = { a, b, c, n = nargs }
  end
  -- Every field it will get is there from the start (false until set): a field added
  -- later costs a metatable check and often a resize of the handle.
  local h = setmetatable({
    id = spawned_count, is_main = is_main, _done = false, _running = false,
    _parked = false,        -- in a wait of ours: Ctrl-C may resume it with INTERRUPT
    _fn = fn, _args = args, _ok = false, _nvalues = 0, _value = false, _waiters = false,
  }, Handle)
  managed[co] = h
  if busy > 0 then                -- a finalizer gone aside: counted, and started, by
    aside_spawned = aside_spawned + 1   -- the scheduler's next turn
    enqueue(co, nil)
    return h
  end
  busy = busy + 1
  live = live + 1
  busy = busy - 1
  if how == "now" then
    resume(co, h, nil)
  else
    enqueue(co, nil)
  end
  return h
end

-- ---- the driver ----------------------------------------------------------------

-- Hands completions from..n (tickets buf[i], waiters ws[i]) to their waiters; ws.at
-- says how far it got, so that a completion handler that raises skips only itself.
local function dispatch_range(buf, ws, from, n)
  for i = from, n do
    ws.at = i
    local t, w = buf[i], ws[i]
    ws[i] = false
    if type(w) == "thread" then enqueue(w, t) elseif w then w(t) end
  end
end

-- Resumes what was queued when the turn began; what those coroutines queue (a
-- sleep(0) loop) waits for the next turn, so I/O is polled in between.
local ready_depth = 0      -- run_ready nests when a resumed coroutine drives the loop
local function compact()   -- (busy)
  local i, from = 0, runq_head
  while from <= runq_tail do
    i = i + 1
    if from ~= i then
      runq_co[i], runq_val[i] = runq_co[from], runq_val[from]
      runq_co[from], runq_val[from] = false, false
    end
    from = from + 1
  end
  runq_head, runq_tail = 1, i
end

local function run_ready()
  settle_aside()
  busy = busy + 1
  ready_depth = ready_depth + 1
  local last = runq_tail
  while runq_head <= last do
    local i = runq_head
    runq_head = i + 1           -- first: a nested turn must not take this one again
    local co, value = runq_co[i], runq_val[i]
    runq_co[i], runq_val[i] = false, false
    if value == false then value = nil end
    local h = managed[co]
    -- Not while it runs: it may be waiting in a nested, unmanaged coroutine. But one
    -- that is suspended runs no more: its resume returned, and a finalizer that drives
    -- the loop ran before settle() noted it (its wake would be lost).
    if h and h._running and co_status(co) == "suspended" then h._running = false end
    if h and not h._running then
      busy = busy - 1
      resume(co, h, value)
      busy = busy + 1
    end
  end
  ready_depth = ready_depth - 1
  -- queued during this turn: to the front (unless the outer turn still walks them)
  if ready_depth == 0 and runq_head > 1 then compact() end
  busy = busy - 1
end

-- ddb.loop() callers inside spawned coroutines wait for every *other* one to end.
local function release_loop_waiters()
  local n = #loop_waiters
  if n > 0 and live == n and pending() == driver_timers and runq_head > runq_tail
    and announced() == 0 and not P.waiting() then
    busy = busy + 1
    for i = 1, n do
      push(loop_waiters[i], false)
      loop_waiters[i] = nil
    end
    progress = progress + 1
    busy = busy - 1
  end
end

-- One buffer per nesting level: a completion handler may poll again.
local ready_bufs, depth = {}, 0
local waiter_bufs = {}
-- Returns true when a SIGINT cut the blocking run short.
local function take_completions(block, seen)
  settle_aside()
  busy = busy + 1
  -- the level first: a handler run below may poll again, and must not fill this
  -- level's buffers
  depth = depth + 1
  local d = depth
  local buf, ws = ready_bufs[d], waiter_bufs[d]
  if not buf then buf, ws = {}, {}; ready_bufs[d], waiter_bufs[d] = buf, ws end
  block = block and announced() == 0 and progress == seen and not P.waiting()
  local ok, n, interrupted = pcall(run_once, block, buf)
  if not ok then depth = d - 1; busy = busy - 1; error(n, 0) end
  n = P.take_stash(buf, n)            -- what a finalizer's own turns took
  -- every waiter is taken before any runs: a completion handler may make tickets,
  -- which reuse the slots of the ones just taken (dolphindb.waiters keys by slot)
  local handlers = false
  for i = 1, n do
    local w = take_completed(buf[i])           -- false: nobody waits (yet)
    ws[i] = w
    if w and type(w) ~= "thread" then handlers = true end
  end
  local m = n
  n = W.take_announced(buf, ws, n)   -- completed before their waiters came
  for i = m + 1, n do
    local w = ws[i]
    if w and type(w) ~= "thread" then handlers = true end
  end
  busy = busy - 1
  -- One xpcall per batch, not per completion handler, and none when only parked
  -- coroutines wait (nothing can fail then); buf's old numbers stay: see the run
  -- queue. A handler that raises is reported and the rest go on.
  if not handlers then
    dispatch_range(buf, ws, 1, n)
  else
    local from = 1
    while from <= n do
      local ok, err = xpcall(dispatch_range, traceback, buf, ws, from, n)
      if ok then break end
      report("dolphindb: error in a completion handler: " .. tostring(err))
      from = ws.at + 1
    end
  end
  if n > 0 then progress = progress + 1 end
  depth = d - 1
  return interrupted
end

-- ---- Ctrl-C ----------------------------------------------------------------------

-- `what` names the function that waited (nil: none, as for ddblua's hook)
local function interrupted_error(what)
  return errors.new("interrupted", ("dolphindb: %sinterrupted by SIGINT (Ctrl-C)")
    :format(what and what .. ": " or ""))
end
M.interrupted_error = interrupted_error      -- ddblua's hook raises it too

local function raise_interrupted(what)
  interrupted_waits = interrupted_waits + 1   -- (host_loop and drive count them)
  error(interrupted_error(what), 0)
end

local function by_first(a, b) return a[1] < b[1] end

-- Resumes each spawned coroutine parked in a wait (oldest first) with INTERRUPT.
local function interrupt_parked()
  local list = {}
  for co, h in pairs(managed) do
    if h._parked and not h._running then list[#list + 1] = { h.id, co, h } end
  end
  table.sort(list, by_first)
  for i = 1, #list do
    local e = list[i]
    -- an earlier one's error handler may have woken it meanwhile
    if e[3]._parked and not e[3]._running then resume(e[2], e[3], INTERRUPT) end
  end
end

-- drive()'s deadline timers that went off: fired[timer] = true until drive sees it.
-- No closure over drive's locals: LuaJIT does not compile a function that makes one
-- (NYI: UCLO), and drive's exit runs once per future:result() that had to wait.
local fired = {}
local function on_deadline(timer)
  fired[timer] = true
  driver_timers = driver_timers - 1
end

-- Runs coroutines and the loop until done(arg) is true, or until the deadline (a
-- core.now() value) passes, or until Ctrl-C interrupts the loop. Returns done(arg),
-- and true as second result when interrupted: the parked coroutines had their
-- INTERRUPT then, and the caller raises in its own wait unless done(arg) is true.
local function drive(done, deadline, arg)
  if busy > 0 then                -- a finalizer gone aside (dolphindb.sched_private)
    local ok, interrupted, delivered = P.drive(done, deadline, arg, stop_timer, live)
    if delivered then progress = progress + 1 end
    return ok, interrupted
  end
  local timer, interrupted = nil, false
  while true do
    run_ready()
    local seen = progress
    if done(arg) then break end
    if deadline then
      -- one reading of the clock: a second one may already be past the deadline
      local left = deadline - now()
      if timer and fired[timer] or left <= 0 then break end
      if not timer then
        timer = timer_start(left * 1000)
        driver_timers = driver_timers + 1
        set_waiter(timer, on_deadline)
      end
    end
    release_loop_waiters()
    if progress ~= seen then
      -- (something ran since done() was asked: ask again before blocking)
    elseif runq_head > runq_tail and announced() == 0 and not P.waiting() then
      if pending() == 0 then
        if timer then stop_timer(timer); driver_timers = driver_timers - 1 end
        error(("dolphindb: deadlock: waiting for something that cannot happen "
          .. "(%d spawned coroutine(s) blocked, no operation pending)"):format(live), 3)
      end
      if take_completions(true, seen) then interrupted = true; break end
    else
      take_completions(false)     -- coroutines are ready: poll I/O without blocking
    end
  end
  if timer and fired[timer] then
    fired[timer] = nil
  elseif timer then
    stop_timer(timer)
    driver_timers = driver_timers - 1
  end
  if not interrupted then return done(arg) end
  local raised = interrupted_waits
  interrupt_parked()
  local ok = done(arg)
  -- the driver's wait completed and no wait took the Ctrl-C: the host's SIGINT
  -- handling gets it, so it is not lost (luajit: "interrupted!" at once)
  if ok and interrupted_waits == raised then core.resend_sigint() end
  return ok, true
end

-- ---- waiting primitives --------------------------------------------------------

-- The message for a coroutine that cannot yield: a C function such as table.sort's
-- comparator, or a metamethod, is between it and the scheduler.
local function cannot_wait(what, why)
  return ("dolphindb: %s: cannot wait here: %s (a C function such as table.sort or a "
    .. "metamethod is between this call and the scheduler)"):format(what, tostring(why))
end

-- Ctrl-C during a wait for ticket t: cancel(t) stops the operation, abandon(t) gets
-- the ticket when it completes; then the wait raises.
local function give_up_ticket(t, abandon, cancel, what)
  if abandon then set_waiter(t, abandon) else take_waiter(t) end
  if cancel then cancel(t) end
  raise_interrupted(what or "wait")
end

-- Waits until ticket `t` completes (the operation's result is then ready in C).
-- A coroutine that cannot yield (a C function such as table.sort's comparator or a
-- __tostring is between it and the scheduler) gets the error, and its ticket goes to
-- `abandon(t)` when it completes, so what waits on it in C is released, not held for
-- ever. The pcall costs no yield of its own: LuaJIT yields across it. Interrupted by
-- Ctrl-C, it calls `cancel(t)` (when given), hands the ticket to `abandon` and raises.
function M.await_ticket(t, abandon, what, cancel)
  local co, h = owned_coroutine()
  if co then
    set_waiter(t, co)
    h._parked = true
    local ok, v = pcall(co_yield, PARK)
    if not ok then
      h._parked = false
      if abandon then set_waiter(t, abandon) else take_waiter(t) end
      error(cannot_wait(what or "wait", v), 3)
    end
    while v ~= t do
      if v == INTERRUPT and awaited(t) then     -- else its completion is queued: wait
        h._parked = false
        give_up_ticket(t, abandon, cancel, what)
      end
      v = co_yield(PARK)
    end
    h._parked = false
    return
  end
  local completed = false
  set_waiter(t, function() completed = true end)
  if not drive(function() return completed end) then give_up_ticket(t, abandon, cancel, what) end
end

-- Longest wait accepted (about 31 years): beyond it the milliseconds handed to libuv
-- stop being exact integers, and 1e308 * 1000 is infinite.
local MAX_SECONDS = 1e9

-- `what` names the caller's function in the message ("result", "wait", ...).
local function check_timeout(timeout, level, what)
  if timeout ~= nil and (type(timeout) ~= "number" or not (timeout >= 0 and timeout <= MAX_SECONDS)) then
    error(("dolphindb: %stimeout must be a number of seconds in 0..1e9 (or nil), got %s")
      :format(what and what .. ": " or "", tostring(timeout)), level + 1)
  end
end
M.check_timeout = check_timeout

-- Waits until waitable `obj` is done or `timeout` seconds passed (nil: no limit).
-- Returns true when it is done.
local function forget_waiter(obj, co)
  local list = obj._waiters or {}
  for i = #list, 1, -1 do
    if list[i] == co then table.remove(list, i) end
  end
end

-- Ctrl-C during a wait for waitable obj: it hears of it (a future cancels its task),
-- then the wait raises.
local function give_up_waitable(obj, what)
  local f = obj._interrupt
  if f then f(obj) end
  raise_interrupted(what or "wait")
end

-- Code the scheduler does not own waits by driving the loop, with no closure: one
-- over wait_for's arguments would make LuaJIT's compiler give up on all of wait_for
-- (NYI: UCLO and FNEW), the hot path of every result().
local function is_done(obj) return obj._done end
local function drive_until_done(obj, timeout, what)
  local done, interrupted = drive(is_done, timeout and now() + timeout, obj)
  if interrupted and not done then give_up_waitable(obj, what) end
  return done
end

-- The caller checked `timeout` (check_timeout, at the user's level). `what` names
-- the user's function in errors.
function M.wait_for(obj, timeout, what)
  if obj._done then return true end
  local co, h = owned_coroutine()
  if not co then return drive_until_done(obj, timeout, what) end
  if timeout == 0 then return false end
  local waiters = obj._waiters
  if not waiters then waiters = {}; obj._waiters = waiters end
  waiters[#waiters + 1] = co
  local timer
  if timeout then
    timer = timer_start(timeout * 1000)
    set_waiter(timer, co)
  end
  h._parked = true
  local ok, why = pcall(co_yield, PARK)
  if not ok then              -- cannot yield here: take back what was set up
    h._parked = false
    forget_waiter(obj, co)
    if timer then stop_timer(timer) end
    error(cannot_wait(what or "wait", why), 0)
  end
  while why ~= obj and not (timer and why == timer) do
    -- interrupted, unless obj completed or the timer fired (its wake is queued)
    if why == INTERRUPT and not obj._done and not (timer and not awaited(timer)) then
      h._parked = false
      forget_waiter(obj, co)
      if timer then stop_timer(timer) end
      give_up_waitable(obj, what)
    end
    why = co_yield(PARK)
  end
  h._parked = false
  if timer then
    if obj._done then
      stop_timer(timer)
    else            -- timed out: stop waiting on obj
      forget_waiter(obj, co)
    end
  end
  return obj._done
end

-- Calls fn(ticket) from the scheduler (never inside libuv) when `t` completes; fn is
-- a function or a callable table (a future waits as itself). It, and whatever it
-- holds, stays referenced exactly until then.
function M.on_ticket(t, fn)
  set_waiter(t, fn)
end

-- Nobody will wait for ticket t (addTask: the result is fetched by id).
function M.ignore_ticket(t)
  set_waiter(t, true)
end

-- One non-blocking turn: collects finished operations so code that polls (isFinished
-- in a loop) makes progress. Coroutines woken here run now on the main thread, or at
-- the next turn when called from a spawned coroutine.
function M.poll()
  if busy > 0 then                -- a finalizer, while the scheduler is busy
    if P.turn(false) > 0 then progress = progress + 1 end
    return
  end
  if owned_coroutine() then
    take_completions(false)
    return
  end
  run_ready()
  take_completions(false)
  run_ready()
end

-- ---- public API ----------------------------------------------------------------

local function check_callable(fn, what)
  local t = type(fn)
  if t == "function" then return end
  local mt = getmetatable(fn)
  if t == "table" and mt and mt.__call then return end
  error(("dolphindb: %s expects a function, got %s"):format(what, t), 3)
end

-- ddb.spawn(fn, ...) -> handle. fn(...) runs as a coroutine, at once up to its first
-- wait.
function M.spawn(fn, ...)
  check_callable(fn, "spawn")
  -- eager start: it runs now up to its first wait, as ngx.thread.spawn does, so work
  -- spawned without a ddb.loop() at least begins (and shows up: see at_exit below)
  return spawn(fn, "now", ...)
end

-- fn(...) as a coroutine started at the next turn (future done-callbacks: they run
-- after the completion that triggered them, never inside it).
function M.spawn_later(fn, ...)
  return spawn(fn, "later", ...)
end

-- ddb.sleep(seconds): parks a spawned coroutine, or drives the loop elsewhere.
function M.sleep(sec)
  if sec == nil then sec = 0 end
  if type(sec) ~= "number" or not (sec >= 0 and sec <= MAX_SECONDS) then
    error("dolphindb: sleep expects a number of seconds in 0..1e9, got " .. tostring(sec), 2)
  end
  local co = owned_coroutine()
  if co then
    if sec == 0 then            -- just a turn
      enqueue(co, PARK)
      local ok, v = pcall(co_yield, PARK)
      -- the queued turn then resumes it where it waits next, which ignores PARK
      if not ok then error(cannot_wait("sleep", v), 2) end
      while v ~= PARK do v = co_yield(PARK) end
      return
    end
    M.await_ticket(timer_start(sec * 1000), nil, "sleep", stop_timer)
    return
  end
  if sec == 0 then
    M.poll()
    return
  end
  local deadline = now() + sec
  local _, interrupted = drive(function() return false end, deadline)
  if interrupted then raise_interrupted("sleep") end
end

local function all_ended()
  return live == 0 and pending() == 0 and announced() == 0 and not P.waiting()
end

-- ddb.loop(): runs until no spawned coroutine is left and no operation is pending.
-- Inside a spawned coroutine it waits for all the others.
function M.loop()
  local co, h = owned_coroutine()
  if co then
    loop_waiters[#loop_waiters + 1] = co
    h._parked = true
    local ok, v = pcall(co_yield, PARK)
    if not ok then            -- else it would count as a loop waiter for ever
      h._parked = false
      M._leave_loop_waiters(co)
      error(cannot_wait("loop", v), 2)
    end
    while v ~= nil or M._in_loop_waiters(co) do
      if v == INTERRUPT and M._in_loop_waiters(co) then   -- else released already
        h._parked = false
        M._leave_loop_waiters(co)
        raise_interrupted("loop")
      end
      v = co_yield(PARK)
    end
    h._parked = false
    return
  end
  if busy > 0 then        -- (docs/API.md "Finalizers and pools"): it would run no coroutine
    error("dolphindb: loop: cannot run the scheduler from a __gc finalizer that interrupted it", 2)
  end
  if not drive(all_ended) then raise_interrupted("loop") end
end

function M._in_loop_waiters(co)
  for i = 1, #loop_waiters do
    if loop_waiters[i] == co then return true end
  end
  return false
end

function M._leave_loop_waiters(co)
  for i = #loop_waiters, 1, -1 do
    if loop_waiters[i] == co then table.remove(loop_waiters, i) end
  end
end

-- ddb.wait(list[, timeout]) -> done, pending: dolphindb.sched_wait
M.wait = require("dolphindb.sched_wait").new(M, check_timeout)

M.now = now

M.is_timeout = errors.is_timeout
M.is_interrupted = errors.is_interrupted

-- The host hooks dolphindb.pool calls (dolphindb.ngx_sched has the nginx ones).
M.wait_open = true                     -- DBConnectionPool waits for its connections
M.pool_options = {}                    -- host-only pool options: none here
function M.pool_defaults(opts) end
function M.on_pool(pool, opts) end
function M.kick() end                  -- libuv carries out what a submit asked at once
function M.on_subscription(sub) end    -- subscriptions need nothing of this host
function M.output(msgs)                -- the server's print() lines
  for i = 1, #msgs do io.write(msgs[i], "\n") end
end

-- A failed coroutine's error was looked at (h:result(), h:error(), the exit report).
local function retrieve(h)
  if h._unretrieved == "interrupted" then
    interrupted_left = interrupted_left - 1
  elseif h._unretrieved then
    unretrieved = unretrieved - 1
    failed[h] = nil
  end
  h._unretrieved = false
end
Handle, handle_name = require("dolphindb.sched_handle").new(
  function(obj, timeout, what) return M.wait_for(obj, timeout, what) end, check_timeout, retrieve)
Handle._retrieve = retrieve

-- For specs: fn(...) as a finalizer that interrupted the scheduler's bookkeeping runs.
function M._aside(fn, ...)
  busy = busy + 1
  local r = { pcall(fn, ...) }
  busy = busy - 1
  return unpack(r)
end

-- Statistics for specs and diagnostics.
function M.stats()
  local parked, early = count_waiters()
  parked = parked + P.count()
  return { live = live, pending = pending(), parked = parked, early = early,
           unretrieved = unretrieved, queued = runq_tail - runq_head + 1 }
end

-- The host's loop (ddblua): Ctrl-C goes to the coroutines parked in waits, which end
-- (or handle it); it stops the loop itself only when no wait took it.
local function host_loop()
  while true do
    local raised = interrupted_waits
    local done, interrupted = drive(all_ended)
    if done then return end
    if interrupted and interrupted_waits == raised then raise_interrupted(nil) end
  end
end

-- How a program ends (ddblua's M.host_main, plain luajit's report at exit) is in
-- dolphindb.sched_exit; it sees the scheduler's state through these private fields.
M._exit = {
  counts = function() return live, unretrieved, interrupted_left end,
  managed = managed, failed = failed, handle_name = handle_name, report = report,
  spawn_main = function(fn, ...) return spawn(fn, "main", ...) end,
  host_loop = host_loop,
}
require("dolphindb.sched_exit").attach(M)

M.Handle = Handle
return M
