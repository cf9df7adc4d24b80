-- dolphindb.fetch — block-wise results and download progress for pool:run.
--
--   for block in pool:run{ script, fetchSize = 8192 } do ... end
--
-- pool:run with fetchSize >= 8192 returns an iterator instead of the value: each call
-- returns the next block (a table of at most fetchSize rows), nil after the last.
-- The connection reads a block only once the previous one was taken, so memory
-- holds about one block however big the result (docs/API.md,
-- "Big results in blocks"). Leaving early: it:close() (or just dropping the iterator: the garbage
-- collector does the same) lets the connection read the rest and drop it, as the
-- official clients' skipAll does; the connection and its session stay. it:cancel()
-- closes the connection instead (it reconnects), for a result not worth reading.
-- A result that is not a table comes whole from servers that send it so: the
-- iterator then returns it as its only block (ddbmini refuses fetchSize for it with
-- an error line, which the first call raises).
--
-- onProgress = fn(bytesReceived, rows) (pool:run, with or without fetchSize) is
-- called while the caller waits, at most every progressInterval seconds (0.2), and
-- once at the end with the totals: bytes of the whole response as received, rows
-- of the blocks so far (block-wise), or of the result once it is complete (nil
-- before). It runs in the waiting coroutine, never inside the event loop.

local sched = require "dolphindb.sched"
local options = require "dolphindb.options"
local errors = require "dolphindb.errors"

local conversion, table_to_list = options.conversion, options.table_to_list
local now = sched.now

local M = {}

local DEFAULT_INTERVAL = 0.2
local MIN_INTERVAL = 0.001      -- a wait of 0 s would not let the reply arrive at all

-- ---- progress ----------------------------------------------------------------------

-- A progress reporter: report(force) calls fn(bytes, rows) when forced or when
-- `interval` passed since the last call; `read` says bytes, rows.
local function reporter(opts, read)
  local fn = opts.onProgress
  if not fn then return nil end
  local interval = math.max(opts.progressInterval or DEFAULT_INTERVAL, MIN_INTERVAL)
  local last = -math.huge
  return function(force)
    local t = now()
    if not force and t - last < interval then return end
    last = t
    fn(read())
  end, interval
end

-- Waits for ticket t (completes when the operation ended), reporting progress
-- every `interval` seconds meanwhile. Ctrl-C calls cancel(t) and raises.
local function await_reporting(t, report, interval, what, cancel, w)
  w = w or { _done = false }
  w._interrupt = function() if cancel then cancel(t) end end
  sched.on_ticket(t, function() sched.signal(w) end)
  while not sched.wait_for(w, interval, what) do report(false) end
end

-- pool:run's wait for its held task when onProgress is given. When onProgress raises
-- (or the wait is interrupted) the error goes on up and the task's outcome is let go
-- of once it ends, as pool:run does for a wait that cannot happen.
function M.await_run(pool, ticket, opts)
  local c = pool._c
  local report, interval = reporter(opts, function() return c:held_progress(ticket) end)
  local w = { _done = false }
  local ok, err = pcall(function()
    await_reporting(ticket, report, interval, "run", pool._cancel, w)
    report(true)
  end)
  if ok then return end
  if w._done then pool._abandon(ticket) else sched.on_ticket(ticket, pool._abandon) end
  error(err, 0)
end

-- ---- the block iterator --------------------------------------------------------------

local Blocks = {}
Blocks.__index = Blocks
Blocks.__tostring = function(it)
  return ("dolphindb.blocks(task %s, %s)"):format(tostring(it._id),
    it._ended and "ended" or "open")
end

local function check(it, method)
  if getmetatable(it) ~= Blocks then
    error(("dolphindb: blocks:%s() called on a %s (use it:%s, not it.%s)")
      :format(method, type(it), method, method), 3)
  end
end

-- pool:run{..., fetchSize = n}: submits and returns the iterator at once.
function M.start(pool, level, script, args, opts)
  local f = pool:_submit(level + 1, "fetch", script, args, nil, opts, "run")
  sched.kick()
  local it = setmetatable({
    _f = f, _id = f:id(), _pool = pool, _opts = opts, _conv = conversion(opts),
    _ended = false,
  }, Blocks)
  it._report, it._interval = reporter(opts, function()
    local bytes, rows = f:progress()
    return bytes, rows
  end)
  return it
end

local function cancel_fetch(it)
  return function() it._f:cancel() end
end

-- The task ended and no block is waiting: raise its error, or return its whole
-- result (a server that sent it in one piece) once, or nil after the blocks.
local function finish(it)
  it._ended = true
  local f = it._f
  local msgs = f:messages()
  if msgs and it._pool._show_output then sched.output(msgs) end
  local ok, v = f:outcome(it._conv)
  if it._report then it._report(true) end
  if not ok then error(errors.wrap(v), 3) end
  if f:blockwise() then return nil end
  if v ~= nil and it._opts.pickleTableToList then v = table_to_list(v) end
  return v
end

-- Waits until a block is ready or the task ended.
local function wait_block(it, t)
  local cancel = cancel_fetch(it)
  if it._report then
    await_reporting(t, it._report, it._interval, "run", cancel)
  else
    sched.await_ticket(t, nil, "run", cancel)
  end
end

-- The next block, or nil after the last (raises the task's error).
function Blocks:next()
  check(self, "next")
  if self._ended then return nil end
  local f = self._f
  while true do
    local b, why = f:take(self._conv)
    if b ~= nil then
      if b == false then            -- cannot convert: stop reading, raise
        self._ended = true
        f:skip()
        error(errors.new("result", "dolphindb: task " .. tostring(self._id)
          .. ": cannot convert a block: " .. tostring(why), self._id), 2)
      end
      if self._report then self._report(false) end
      if self._opts.pickleTableToList then b = table_to_list(b) end
      return b
    end
    local t = f:wait()
    if t then
      wait_block(self, t)
    elseif f:state() ~= "RUNNING" and f:state() ~= "QUEUED" then
      return finish(self)
    end
  end
end

-- `for block in it do`: the generic for calls the iterator.
Blocks.__call = function(self) return self:next() end

-- Stop early: the rest of the result is read and dropped in the background.
function Blocks:close()
  check(self, "close")
  if self._ended then return end
  self._ended = true
  self._f:skip()
  sched.kick()
end

-- Stop early by closing the connection (it reconnects). true if the task was still
-- running.
function Blocks:cancel()
  check(self, "cancel")
  if self._ended then return false end
  self._ended = true
  local ok = self._f:cancel()
  sched.kick()
  return ok
end

-- bytes received, rows received so far
function Blocks:progress()
  check(self, "progress")
  return self._f:progress()
end

function Blocks:task_id()
  check(self, "task_id")
  return self._id
end

M.Blocks = Blocks
return M
