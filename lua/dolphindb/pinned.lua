-- dolphindb.pinned — pool:withConnection(fn, ...): several calls on one of the pool's
-- own connections, in one server session.
--
--   pool:withConnection(function(conn, ...)
--     conn:upload{ t = tbl }                 -- as Session:upload
--     conn:run("x = select sum(v) from t")   -- as pool:run; clearMemory defaults to false
--     return conn:run("x")
--   end, ...)                                -> fn's results
--   conn:getSessionId()  conn:getConnectionIndex()  conn:isLost()  conn:isClosed()
--
-- The pin is claimed by a small task ("1"): the connection that answers it is the
-- pin's (the C core's ddb_pin.c) and runs nothing else until fn returns or raises;
-- the other connections keep running the pool's tasks. Calls on the pin go straight
-- to that connection, one at a time. When fn ends, the connection goes back to the
-- pool with its session as it is: variables fn defined stay there, and a later task
-- of the pool that lands on that connection could see them (undefine them in fn if
-- that matters).
--
-- A lost pin (the connection broke or reconnected, a call on it timed out or was
-- cancelled: the server session and its variables are gone) is never replaced by
-- another connection: the call that was running fails with its error, annotated,
-- and every later call on conn raises an error value of kind "connection" without
-- sending anything. fn decides what to do (typically raise, and run the whole
-- block again with a new withConnection).
--
-- Misuse raises: fn not a function, conn used after fn returned, two calls at once
-- on one conn, withConnection nested in another withConnection of the same pool in
-- the same coroutine (it would wait for a connection the outer one holds).
local sched = require "dolphindb.sched"
local options = require "dolphindb.options"
local errors = require "dolphindb.errors"

local type, pairs, ipairs, error, pcall, getmetatable, setmetatable, tostring =
  type, pairs, ipairs, error, pcall, getmetatable, setmetatable, tostring
local fail, parse_call, reraise, NO_OPTIONS = options.fail, options.parse_call, options.reraise,
  options.NO_OPTIONS
local await_ticket = sched.await_ticket

local M = {}

local Conn = { __name = "dolphindb.PinnedConnection" }
Conn.__index = Conn
Conn.__tostring = function(c)
  return ("dolphindb.PinnedConnection(connection %s%s)"):format(tostring(c._index),
    c._closed and ", released" or c._lost and ", lost" or "")
end
M.PinnedConnection = Conn

local function holder() return coroutine.running() or "main" end

-- ---- claiming --------------------------------------------------------------------

-- Waits for the claim; returns the pin, or raises the claim's error.
local function claim(pool)
  local c = pool._c
  local ok, ticket = pcall(c.run, c, "1")
  if not ok then reraise(ticket, "withConnection", 3) end
  ok = pcall(c.pin_claim, c, ticket)
  if not ok then
    pool._abandon(ticket)
    error("dolphindb: withConnection: out of memory", 3)
  end
  -- Given up (Ctrl-C, a coroutine that cannot wait): the claim may still be
  -- answered; then its pin is released at once rather than held by nobody.
  local function abandon(t)
    local got, pin = pcall(c.pin_take, c, t)
    if got and pin then pcall(c.unpin, c, pin) end
    pool._abandon(t)
  end
  await_ticket(ticket, abandon, "withConnection", pool._cancel)
  local pin = c:pin_take(ticket)
  local done, v = pool:_take(ticket, NO_OPTIONS)
  if pin then return pin end
  if not done then error(v, 3) end
  error(errors.new("connection", "dolphindb: withConnection: no connection could be pinned (the pool is "
    .. "shutting down)"), 3)
end

-- ---- calls -----------------------------------------------------------------------

local function check(self, method)
  if getmetatable(self) ~= Conn then
    fail(3, "%s must be called as conn:%s(...)", method, method)
  end
  if self._closed then
    fail(3, "%s: the pinned connection was released (its withConnection function returned)", method)
  end
  if self._busy then fail(3, "%s: the pinned connection runs one call at a time", method) end
end

local function lost_error(self, method)
  return errors.new("connection", ("dolphindb: %s: the pinned connection %d was lost: its server session "
    .. "and the variables defined in it are gone; nothing was sent (the pin is never moved to another "
    .. "connection)"):format(method, self._index))
end

-- A failed call: if the pin is gone now, say so in the error value.
local function annotate(self, err)
  local c = self._pool._c
  if c:pin_alive(self._pin) ~= true and errors.is_error(err) then
    self._lost = true
    err.pin_lost = true
    err.message = ("%s (the pinned connection %d was lost: its server session and the variables defined "
      .. "in it are gone; the call was not sent again elsewhere)"):format(err.message, self._index)
  end
  return err
end

-- Submits on the pin (args as pool:run's C method takes them) and waits.
local function call(self, method, level, script, args, opts, names)
  local pool, c = self._pool, self._pool._c
  if self._lost or c:pin_alive(self._pin) ~= true then
    self._lost = true
    error(lost_error(self, method), level + 1)
  end
  local ok, ticket = pcall(c.pin_run, c, self._pin, script, args, nil, opts ~= NO_OPTIONS and opts or nil, names)
  if not ok then reraise(ticket, method, level + 1) end
  self._busy = true
  local waited, why = pcall(await_ticket, ticket, pool._abandon, method, pool._cancel)
  self._busy = false
  if not waited then error(why, 0) end
  local done, v = pool:_take(ticket, opts)
  if not done then error(annotate(self, v), level + 1) end
  return v
end

local keep_memory = options.keep_memory

-- conn:run(script | fname, args... | {script, args..., options}) as pool:run, except
-- fetchSize and onProgress (not taken here) and clearMemory (false by default).
function Conn:run(...)
  check(self, "run")
  local script, args, opts = parse_call(3, "run", 0, ...)
  if opts.fetchSize ~= nil and opts.fetchSize ~= 0 or opts.onProgress ~= nil then
    fail(2, "run: fetchSize and onProgress are not taken on a pinned connection")
  end
  return call(self, "run", 2, script, args, keep_memory(opts))
end

-- conn:upload{name = value, ...}: as Session:upload, on the pin.
function Conn:upload(vars)
  check(self, "upload")
  if type(vars) ~= "table" or getmetatable(vars) ~= nil then
    fail(2, "upload: expects a table {name = value, ...}, got %s", type(vars))
  end
  local names = {}
  for k in pairs(vars) do
    if type(k) ~= "string" or not k:match("^%a[%w_]*$") then
      fail(2, "upload: variable name %s is not a name (a letter, then letters, digits or _)",
        type(k) == "string" and ("%q"):format(k) or tostring(k))
    end
    names[#names + 1] = k
  end
  if #names == 0 then return nil end
  table.sort(names)
  local args = { n = #names }
  for i, k in ipairs(names) do args[i] = vars[k] end
  return call(self, "upload", 2, table.concat(names, ","), args, keep_memory(NO_OPTIONS), names)
end

local function check_any(self, method)
  if getmetatable(self) ~= Conn then fail(3, "%s must be called as conn:%s()", method, method) end
end

-- The server session of the pinned connection ("" once lost or released).
function Conn:getSessionId()
  check_any(self, "getSessionId")
  if self._closed or self._lost then return "" end
  local info = self._pool._c:conn_info(self._index)
  return info and info.session_id or ""
end

-- Which of the pool's connections is pinned (1-based, as pool:stats().connections).
function Conn:getConnectionIndex()
  check_any(self, "getConnectionIndex")
  return self._index
end

function Conn:isLost()
  check_any(self, "isLost")
  if not self._closed and not self._lost and self._pool._c:pin_alive(self._pin) ~= true then
    self._lost = true
  end
  return self._lost == true
end

function Conn:isClosed()
  check_any(self, "isClosed")
  return self._closed == true
end

-- ---- pool:withConnection -------------------------------------------------------------

local function release_then(pool, self, key, ok, ...)
  self._closed = true
  pool._pinned[key] = nil
  pcall(pool._c.unpin, pool._c, self._pin)
  sched.kick()            -- (nginx) tasks that queued meanwhile go out on it
  if not ok then error((...), 0) end
  return ...
end

function M.with_connection(pool, fn, ...)
  if type(fn) ~= "function" and not (type(fn) == "table" and getmetatable(fn) and getmetatable(fn).__call) then
    fail(2, "withConnection: expects a function, got %s", type(fn))
  end
  pool._pinned = pool._pinned or setmetatable({}, { __mode = "k" })
  local key = holder()
  if pool._pinned[key] then
    fail(2, "withConnection: nested in another withConnection of this pool (it would wait for the "
      .. "connection the outer one holds); use the outer conn")
  end
  pool._pinned[key] = true
  local ok, pin = pcall(claim, pool)
  if not ok then
    pool._pinned[key] = nil
    error(pin, 2)
  end
  local _, index = pool._c:pin_alive(pin)
  local self = setmetatable({ _pool = pool, _pin = pin, _index = index }, Conn)
  return release_then(pool, self, key, pcall(fn, self, ...))
end

return M
