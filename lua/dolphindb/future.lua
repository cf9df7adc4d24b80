-- dolphindb.future — what pool:runTaskAsync() returns (Python's concurrent.futures
-- Future, for Lua).
--
--   f:result([timeout])     waits; returns the value or raises the task's error; on
--                           timeout raises "... timed out ..." and the task keeps running
--   f:exception([timeout])  waits; returns the error value (dolphindb.errors), or nil
--                           on success
--   f:done()  f:running()  f:cancelled()
--   f:cancel()              true if the task was cancelled (queued or running: a running
--                           task's connection is recycled), false if it had ended
--   f:add_done_callback(fn) fn(f) runs as a coroutine at the next scheduler turn after
--                           the future is done (at once if it already is)
--   f:task_id()
--
-- Waiting follows the scheduler's rule: a spawned coroutine parks, anything else
-- drives the loop. A future is a waitable, so ddb.wait({f1, f2, ...}) works too.
-- The future keeps its task (and the pool) referenced only until the task ends.

local sched = require "dolphindb.sched"
local errors = require "dolphindb.errors"
local NO_OPTIONS = require("dolphindb.options").NO_OPTIONS

-- A future is a table with a small array part and one key (issue 14: bytes per queued
-- future, instructions per task): while pending f[POOL], f[TICKET] are the pool and the
-- ticket its task runs under; once its task's outcome is taken they become f[OK] and
-- f[VALUE] (the value, or the error value). f[ID] is the task id. `_done` is the key the
-- scheduler's waitable protocol reads. What only some futures need comes as keys when
-- it comes: _opts (options given), _cancelled and _err (cancel(): the ticket stays until
-- its completion is taken), _callbacks, _waiters (a coroutine waits).
local POOL, TICKET, OK, VALUE, ID = 1, 2, 1, 2, 3

local Future = {}
Future.__index = Future
Future.__tostring = function(f)
  local state = f._cancelled and "cancelled" or (f._done and (f[OK] and "done" or "failed")) or "pending"
  return ("dolphindb.future(task %s, %s)"):format(tostring(f[ID]), state)
end

local function run_callbacks(f)
  local callbacks = f._callbacks
  if not callbacks then return end
  f._callbacks = nil
  for i = 1, #callbacks do sched.spawn_later(callbacks[i], f) end
end

local function settle(f)
  sched.signal(f)
  run_callbacks(f)
end

-- The task runs in `pool` under `ticket` (pool:_submit "run": the C pool holds the
-- task, no task object). The future itself waits for the ticket: no closure per
-- future.
function Future.new(pool, ticket, id, opts)
  local f = setmetatable({ pool, ticket, id, _done = false }, Future)
  if opts ~= NO_OPTIONS then f._opts = opts end
  sched.on_ticket(ticket, f)
  return f
end

-- The ticket completed (the scheduler calls the future): take the outcome, which
-- lets the pool release the task, even when cancel() already settled the future.
function Future.__call(f)
  local opts = f._opts or NO_OPTIONS
  if opts ~= NO_OPTIONS then f._opts = nil end
  local ok, value = f[POOL]:_take(f[TICKET], opts)
  f[OK], f[VALUE] = ok, value       -- (after cancel(): only lets go of the pool)
  if not f._done then settle(f) end
end

local function check(f, method)
  if getmetatable(f) ~= Future then
    error(("dolphindb: future:%s() called on a %s (use f:%s, not f.%s)")
      :format(method, type(f), method, method), 3)
  end
end

local NAMES = { result = "future:result", exception = "future:exception" }  -- no string per call

local function wait(f, timeout, what)
  if timeout ~= nil then sched.check_timeout(timeout, 3, "future:" .. what) end
  if not sched.wait_for(f, timeout, NAMES[what]) then
    error(errors.new("timeout", ("dolphindb: timed out after %g s waiting for the %s of task %s (the task keeps running)")
      :format(timeout, what, tostring(f[ID])), f[ID]), 3)
  end
end

function Future:result(timeout)
  check(self, "result")
  wait(self, timeout, "result")
  if self._cancelled then error(self._err, 2) end
  if self[OK] then return self[VALUE] end
  error(self[VALUE], 2)
end

function Future:exception(timeout)
  check(self, "exception")
  wait(self, timeout, "exception")
  if self._cancelled then error(self._err, 2) end
  if self[OK] then return nil end
  return self[VALUE]
end

function Future:done()
  check(self, "done")
  return self._done
end

function Future:cancelled()
  check(self, "cancelled")
  return self._cancelled == true
end

function Future:running()
  check(self, "running")
  return not self._done and self[POOL]._c:held_state(self[TICKET]) == "RUNNING"
end

function Future:cancel()
  check(self, "cancel")
  if self._done then return self._cancelled == true end
  if not self[POOL]._c:cancel_held(self[TICKET]) then return false end
  sched.kick()
  self._cancelled = true
  self._err = errors.new("cancelled",
    ("dolphindb: task %s was cancelled"):format(tostring(self[ID])), self[ID])
  settle(self)
  return true
end

-- An interrupted wait (Ctrl-C) for the future cancels its task (dolphindb.sched).
function Future:_interrupt()
  self:cancel()
end

function Future:add_done_callback(fn)
  check(self, "add_done_callback")
  local t = type(fn)
  local mt = getmetatable(fn)
  if t ~= "function" and not (t == "table" and mt and mt.__call) then
    error("dolphindb: add_done_callback expects a function, got " .. t, 2)
  end
  if self._done then
    sched.spawn_later(fn, self)
  else
    local callbacks = self._callbacks or {}
    callbacks[#callbacks + 1] = fn
    self._callbacks = callbacks
  end
end

function Future:task_id()
  check(self, "task_id")
  return self[ID]
end

return Future
