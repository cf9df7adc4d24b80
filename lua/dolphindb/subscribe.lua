-- dolphindb.subscribe — streaming subscriptions (docs/API.md "Streaming subscriptions",
-- docs/STREAMING.md), over the C core's subscription (src/pool/ddb_sub.c through
-- src/lua/lua_sub.c).
--
--   local sub = ddb.subscribe{ host=, port=, tableName=, actionName=, offset = -1,
--     handler = function(msg, offset) ... end, msgAsTable = false, batchSize =,
--     throttle = 1, resub = true, filter =, userName =, password =, onError = }
--   sub:next([timeout]) -> msg, offset | nil (timed out: nil, timeout error; or
--                          unsubscribed: nil)
--   for msg, offset in sub:messages() do ... end
--   sub:unsubscribe()   sub:stats()   sub:error()
--   ddb.unsubscribe(host, port, tableName[, actionName])   ddb.getSubscriptionTopics()
--
-- How it flows: the C core gathers pushed messages into deliveries and completes a
-- ticket when some wait; the scheduler calls `pump` (never inside the event loop),
-- which converts them into messages on a Lua queue and wakes whoever waits in next().
-- A handler is just a coroutine looping over next(), so it runs one message at a time,
-- in order, and may itself wait (pool:run). The subscription (and its pump) stays
-- referenced from `live` until it ends.

local core = require "dolphindb.core"
local sched = require "dolphindb.sched"
local errors = require "dolphindb.errors"

local type, tostring, pairs, setmetatable, error, xpcall = type, tostring, pairs,
  setmetatable, error, xpcall
local traceback = debug.traceback

local M = {}

local live = {}           -- "host:port:table:action" -> subscription, while it lasts

local Sub = {}
Sub.__index = Sub
M._Sub = Sub              -- for spec/docs_spec.lua
Sub.__tostring = function(s)
  return ("dolphindb.subscription(%s:%d %s/%s%s)"):format(s.host, s.port, s.tableName,
    s.actionName, s._closed and ", unsubscribed" or "")
end

local function fail(fmt, ...) error("dolphindb: subscribe: " .. fmt:format(...), 4) end  -- fail, check, subscribe, the caller

-- the connection options, under the pool's names (src/lua/lua_options.c checks them)
local CONN = { host = true, port = true, userid = true, password = true, loginMethod = true,
  connectTimeout = true, keepAliveTime = true, reconnectDelay = true, enableSSL = true,
  sslVerify = true, sslCAFile = true, sslServerName = true, maxResultBytes = true }
local OWN = { tableName = true, actionName = true, offset = true, handler = true,
  msgAsTable = true, batchSize = true, throttle = true, resub = true, filter = true,
  userName = true, onError = true, maxQueuedRows = true, view = true }

local function is_int(x, lo) return type(x) == "number" and x == math.floor(x) and x >= lo end
local function callable(f)
  if type(f) == "function" then return true end
  local mt = getmetatable(f)
  return mt and mt.__call ~= nil
end

local function check(o)
  if type(o) ~= "table" then fail("expects an options table, got %s", type(o)) end
  for k in pairs(o) do
    if not CONN[k] and not OWN[k] then fail("unknown option '%s'", tostring(k)) end
  end
  if type(o.tableName) ~= "string" or o.tableName == "" then fail("tableName must be a non-empty string") end
  if o.actionName ~= nil and type(o.actionName) ~= "string" then fail("actionName must be a string") end
  if o.offset ~= nil and not is_int(o.offset, -1) then fail("offset must be an integer >= -1, got %s", tostring(o.offset)) end
  if o.handler ~= nil and not callable(o.handler) then fail("handler must be a function") end
  if o.onError ~= nil and not callable(o.onError) then fail("onError must be a function") end
  if o.batchSize ~= nil and not is_int(o.batchSize, 1) then fail("batchSize must be an integer >= 1, got %s", tostring(o.batchSize)) end
  if o.maxQueuedRows ~= nil and not is_int(o.maxQueuedRows, 1) then fail("maxQueuedRows must be an integer >= 1") end
  if o.throttle ~= nil and not (type(o.throttle) == "number" and o.throttle >= 0.001 and o.throttle <= 1e6) then
    fail("throttle must be a number of seconds in 0.001..1e6, got %s", tostring(o.throttle))
  end
  for _, k in pairs { "msgAsTable", "resub", "view" } do
    if o[k] ~= nil and type(o[k]) ~= "boolean" then fail("%s must be a boolean", k) end
  end
  if o.userName ~= nil and o.userid ~= nil then fail("give userName or userid, not both") end
end

local function key(host, port, table, action)
  return ("%s:%s:%s:%s"):format(tostring(host), tostring(port), tostring(table), tostring(action or ""))
end

-- ---- the queue of messages ----------------------------------------------------

-- Messages wait in _qmsg/_qoff/_qrows[_qh.._qt]; _rows counts their rows. Past
-- _limit rows no more deliveries are taken from C, whose own bound then pauses the
-- socket: a slow reader slows the publisher instead of growing memory.
local function push(self, msg, offset, rows)
  local t = self._qt + 1
  self._qt = t
  self._qmsg[t], self._qoff[t], self._qrows[t] = msg, offset, rows
  self._rows = self._rows + rows
end

-- One delivery (a table object of `rows` rows, its last row at `last`) as messages.
local function deliver(self, t, rows, last)
  if self._as_table then
    push(self, t, last, rows)
  elseif self._batched then
    push(self, t:tolist(), last, rows)
  else
    -- one message per row; a filtered message's rows are not contiguous offsets,
    -- so they all carry the message's last offset (docs/API.md)
    local exact = not self._filtered
    for i = 1, rows do push(self, t:row(i), exact and last - rows + i or last, 1) end
  end
end

local function wake(self)
  local ev = self._ev
  self._ev = { _done = false }
  sched.signal(ev)
end

-- The ticket completed (or the reader drained a full queue): take what waits, note
-- the state, wait again. A ticket that is due at once means something came in
-- between: take again. With the queue full, next() calls this again once it drained.
local function pump(self)
  local c = self._c
  if self._closed then return end
  while true do
    local full = false
    while true do
      if self._rows >= self._limit then full = true; break end
      local t, rows, last = c:take(self._conv)
      if not t then break end
      deliver(self, t, rows, last)
    end
    self._full = full
    local state, subscribed, why = c:status()
    self._subscribed = subscribed
    if state == "DEAD" and not full then      -- and every row it had was taken
      self._dead = errors.new("connection", ("dolphindb: subscription %s/%s: %s"):format(
        self.tableName, self.actionName, why ~= "" and why or "ended"))
      live[self._key] = nil
      break
    end
    local ticket = c:arm()
    if ticket then
      sched.on_ticket(ticket, self._pump)
      break
    end
    if full then break end
  end
  wake(self)
end

-- ---- reading --------------------------------------------------------------------

local function pop(self)
  local h = self._qh
  local msg, off = self._qmsg[h], self._qoff[h]
  self._rows = self._rows - self._qrows[h]
  self._qmsg[h], self._qoff[h], self._qrows[h] = nil, nil, nil
  self._qh = h + 1
  if self._full and self._rows < self._limit / 2 then pump(self) end
  return msg, off
end

-- sub:next([timeout]) -> msg, offset; nil when unsubscribed; nil, err on timeout.
-- Raises the subscription's error once it ended (no resub, or it could not
-- subscribe) and every message before it was read.
function Sub:next(timeout)
  sched.check_timeout(timeout, 2, "next")
  local deadline = timeout and sched.now() + timeout
  while true do
    if self._closed then return nil end
    if self._qh <= self._qt then return pop(self) end
    if self._dead then error(self._dead, 2) end
    local left = deadline and deadline - sched.now()
    if left and left <= 0 then
      return nil, errors.new("timeout", ("dolphindb: next: no message within %g s"):format(timeout))
    end
    sched.wait_for(self._ev, left, "next")
  end
end

function Sub:messages()
  return function() return self:next() end
end

-- ---- the handler ------------------------------------------------------------------

-- A handler's error (msg: what it was given), or the subscription's end (msg nil):
-- to onError when given, else to stderr (nginx: its error log).
local function report(self, err, msg)
  if self._on_error then
    local ok, e2 = xpcall(self._on_error, traceback, err, msg)
    if ok then return end
    err = "onError raised: " .. tostring(e2)
  end
  local text = msg == nil and tostring(err) or
    ("dolphindb: subscription %s/%s: handler error (the message is skipped): %s")
    :format(self.tableName, self.actionName, tostring(err))
  if rawget(_G, "ngx") and ngx.log then ngx.log(ngx.ERR, text) else io.stderr:write(text, "\n") end
end

local function run_handler(self, handler)
  while true do
    local alive, msg, off = pcall(self.next, self)
    if not alive then return report(self, msg, nil) end    -- it ended: self:error()
    if msg == nil then return end                          -- unsubscribed
    local ok, err = xpcall(handler, traceback, msg, off)
    self._handled = self._handled + 1
    if not ok then
      self._handler_errors = self._handler_errors + 1
      self._last_handler_error = err
      report(self, err, msg)
    end
  end
end

-- ---- subscribe / unsubscribe ------------------------------------------------------

function M.subscribe(o)
  check(o)
  local conn = {}
  for k in pairs(CONN) do conn[k] = o[k] end
  if o.userName ~= nil then conn.userid = o.userName end
  local action = o.actionName or ""
  local k = key(o.host, o.port, o.tableName, action)
  if live[k] then
    error(("dolphindb: subscribe: already subscribed to %s/%s on %s:%s (unsubscribe first)")
      :format(o.tableName, action, tostring(o.host), tostring(o.port)), 2)
  end
  local batched = o.batchSize ~= nil
  local limit = o.maxQueuedRows or math.max(4 * (o.batchSize or 0), 65536)
  local ok, c = pcall(core.sub_new, conn, o.tableName, action, o.offset or -1, o.filter,
    o.resub ~= false, o.batchSize, o.throttle or 1, limit)
  if not ok then error(c, 2) end
  local self = setmetatable({
    _c = c, host = o.host, port = o.port, tableName = o.tableName, actionName = action,
    _key = k, _as_table = o.msgAsTable == true, _batched = batched,
    _filtered = o.filter ~= nil, _on_error = o.onError,
    -- value conversion as pool:run's `view` option (src/lua/lua_value.h flags); a
    -- message that is a table (msgAsTable) has views by default, whatever its size:
    -- a stream of 10 000-row batches would otherwise convert every cell, 5x the cost
    -- of the same rows downloaded once (bench/bench_subscribe.lua)
    _conv = o.view == true and 2 or o.view == false and 4 or (o.msgAsTable and 2 or 0),
    _qmsg = {}, _qoff = {}, _qrows = {}, _qh = 1, _qt = 0, _rows = 0, _limit = limit,
    _full = false, _ev = { _done = false },
    _closed = false, _subscribed = false, _handled = 0, _handler_errors = 0,
  }, Sub)
  self._pump = function() pump(self) end
  local hooked, herr = pcall(sched.on_subscription, self)
  if not hooked then c:close(); error(herr, 2) end
  live[k] = self
  local ticket = c:arm()
  if ticket then sched.on_ticket(ticket, self._pump) else pump(self) end
  -- wait until publishTable answered (or the attempt failed)
  while not self._subscribed and not self._dead do sched.wait_for(self._ev, nil, "subscribe") end
  if not self._subscribed then
    self:unsubscribe()
    error(self._dead, 2)
  end
  if o.handler then
    local handler = o.handler
    self._runner = sched.spawn_later(function() run_handler(self, handler) end)
  end
  return self
end

-- No message is handed out after it returns (a handler call running now finishes).
function Sub:unsubscribe()
  if self._closed then return end
  self._closed = true
  live[self._key] = nil
  self._c:close()
  self._qmsg, self._qoff, self._qrows, self._qh, self._qt, self._rows = {}, {}, {}, 1, 0, 0
  wake(self)
  sched.kick()          -- nginx: carry the socket's close out now
end

-- The error that ended it (nil while it lasts).
function Sub:error() return self._dead end

function Sub:stats()
  if self._closed then return { state = "CLOSED", handled = self._handled,
    handlerErrors = self._handler_errors } end
  local st = self._c:stats()
  st.handled = self._handled
  st.handlerErrors = self._handler_errors
  st.lastHandlerError = self._last_handler_error
  st.pending = self._qt - self._qh + 1
  st.pendingRows = self._rows
  return st
end

function M.unsubscribe(host, port, tableName, actionName)
  local s = live[key(host, port, tableName, actionName)]
  if not s then return false end
  s:unsubscribe()
  return true
end

function M.getSubscriptionTopics()
  local list = {}
  for _, s in pairs(live) do
    local st = s._c:stats()
    list[#list + 1] = st.topic
  end
  table.sort(list)
  return list
end

return M
