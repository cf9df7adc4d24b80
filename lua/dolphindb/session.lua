-- dolphindb.session — Session: one connection, one server session (the Python API's
-- session for Lua).
--
--   local s = ddb.Session("127.0.0.1", 8848[, userid, password])
--   local s = ddb.Session{ host =, port =, userid =, password =, reConnect =, ... }
--   s:run(...)                    as pool:run (same call forms and options), but
--                                 clearMemory defaults to false: variables persist
--   s:upload{ name = value, ... } binds each value to its name in the session
--   s:getSessionId()  s:close()  s:isClosed()
--   pool:withSession(fn, ...)     fn(session, ...) on a session of its own (below)
--
-- A Session is a pool of one connection (dolphindb.pool): the pool core keeps one
-- server session per connection, so the session's variables live as long as that
-- connection; waiting, hosts (libuv, nginx) and errors are the pool's. The options
-- are the pool's that apply to one connection: threadNum and loadBalance are refused.
--
-- Reconnection (reConnect = true, or highAvailability): a new connection is a new
-- server session, and the variables of the old one are gone. The session notices
-- that its server session changed; a call that fails afterwards says so in its error
-- message (and err.session_lost holds the old session id), so a "cannot recognize
-- x" after a reconnect is not a mystery. getSessionId() returns the new id.
local sched = require "dolphindb.sched"
local options = require "dolphindb.options"
local errors = require "dolphindb.errors"
local pool_mod = require "dolphindb.pool"

local type, pairs, ipairs, error, pcall, getmetatable, setmetatable, tostring =
  type, pairs, ipairs, error, pcall, getmetatable, setmetatable, tostring
local fail, parse_call, reraise, NO_OPTIONS = options.fail, options.parse_call, options.reraise,
  options.NO_OPTIONS
local await_ticket = sched.await_ticket

local M = {}

local Session = { __name = "dolphindb.Session" }
Session.__index = Session
Session.__tostring = function(s)
  return ("dolphindb.Session(%s:%d%s)"):format(s.host, s.port, s._pool._shut and ", closed" or "")
end
M.Session = Session

-- Pool options that make no sense for one connection.
local REFUSED = {
  threadNum = "a Session has exactly one connection",
  loadBalance = "a Session has one connection: there is nothing to balance",
}

local function session_options(host, port, userid, password, extra)
  local opts
  if type(host) == "table" then
    if port ~= nil then fail(3, "Session: the table form takes one options table, nothing after it") end
    opts = {}
    for k, v in pairs(host) do
      if REFUSED[k] then fail(3, "Session: option '%s': %s", tostring(k), REFUSED[k]) end
      opts[k] = v
    end
  else
    if extra ~= nil then fail(3, "Session: expects (host, port[, userid, password]) or an options table") end
    opts = { host = host, port = port, userid = userid, password = password }
  end
  opts.threadNum = 1
  return opts
end

-- The pool's messages name DBConnectionPool; the user called Session.
local function renamed(err)
  if type(err) == "string" then
    return (options.strip_where(err):gsub("DBConnectionPool", "Session"))
  end
  if errors.is_error(err) and type(err.message) == "string" then
    err.message = err.message:gsub("cannot open the connection pool to", "cannot open the session to")
      :gsub("cannot open the pool", "cannot open the session")
  end
  return err
end

local function session_id(pool)
  local info = pool._c:conn_info(1)
  return info and info.session_id or ""
end

local function open(opts)
  local ok, pool = pcall(pool_mod.DBConnectionPool, opts)
  if not ok then error(renamed(pool), 0) end
  local self = setmetatable({ _pool = pool, host = pool.host, port = pool.port }, Session)
  self._sid = session_id(pool)        -- "" inside nginx until the connection opened
  return self
end

-- Session(host, port[, userid, password]) or Session{options}.
function M.new(host, port, userid, password, extra)
  local opts = session_options(host, port, userid, password, extra)
  local ok, s = pcall(open, opts)
  if not ok then error(s, 2) end      -- misuse at the caller's line; error values as they are
  return s
end

-- ---- calls ---------------------------------------------------------------------

local function check(self, method)
  if getmetatable(self) ~= Session then
    fail(3, "%s must be called as session:%s(...)", method, method)
  end
  if self._pool._shut then fail(3, "%s: the session is closed", method) end
end

-- After a call: notes a change of server session (a reconnect), so that a failure
-- can say the variables were lost. Returns the error value, annotated if it applies.
local function after(self, err)
  local sid = session_id(self._pool)
  if sid ~= "" and sid ~= self._sid then
    if self._sid ~= "" then self._lost = self._sid end
    self._sid = sid
  end
  if not err then self._lost = nil; return nil end    -- only the first call after says it
  if self._lost and errors.is_error(err) then
    err.session_lost = self._lost
    err.message = ("%s (this session reconnected: server session %s was replaced by %s, "
      .. "and the variables defined in it are gone)"):format(err.message, self._lost, self._sid)
    self._lost = nil            -- said once
  end
  return err
end

-- Waits for ticket of a run/upload and returns its value, or raises its error at
-- the user's call (level 3: the method's caller).
local function outcome(self, ticket, opts, method)
  local pool = self._pool
  await_ticket(ticket, pool._abandon, method, pool._cancel)
  local ok, v = pool:_take(ticket, opts)
  after(self, not ok and v)
  if not ok then error(v, 3) end
  return v
end

local keep_memory = options.keep_memory

-- s:run(script | fname, args... | {script, args..., options}) as pool:run.
function Session:run(...)
  check(self, "run")
  local script, args, opts = parse_call(3, "run", 0, ...)
  opts = keep_memory(opts)
  local ticket = self._pool:_submit(2, "run", script, args, nil, opts, "run")
  return outcome(self, ticket, opts, "run")
end

local function is_name(k)
  return type(k) == "string" and k:match("^%a[%w_]*$") ~= nil
end

-- s:upload{name = value, ...}: one upload request binding every name (in sorted
-- order) to its value, converted as function arguments are. Returns the server's
-- reply (nil when it sends no object; a real server may send addresses). An empty
-- table sends nothing.
function Session:upload(vars)
  check(self, "upload")
  if type(vars) ~= "table" or getmetatable(vars) ~= nil then
    fail(2, "upload: expects a table {name = value, ...}, got %s", type(vars))
  end
  local names = {}
  for k in pairs(vars) do
    if not is_name(k) then
      fail(2, "upload: variable name %s is not a name (a letter, then letters, digits or _)",
        type(k) == "string" and ("%q"):format(k) or tostring(k))
    end
    names[#names + 1] = k
  end
  if #names == 0 then return nil end
  table.sort(names)
  local args = { n = #names }
  for i, k in ipairs(names) do args[i] = vars[k] end
  local c = self._pool._c
  local ok, ticket = pcall(c.run, c, table.concat(names, ","), args, nil, keep_memory(NO_OPTIONS), names)
  if not ok then reraise(ticket, "upload", 2) end
  return outcome(self, ticket, NO_OPTIONS, "upload")
end

-- The id of the session's server session ("" while not connected).
function Session:getSessionId()
  check(self, "getSessionId")
  return session_id(self._pool)
end

-- Idempotent: the connection closes; later calls raise.
function Session:close()
  if getmetatable(self) ~= Session then fail(2, "close must be called as session:close()") end
  self._pool:shutDown()
end

function Session:isClosed()
  if getmetatable(self) ~= Session then fail(2, "isClosed must be called as session:isClosed()") end
  return self._pool._shut
end

-- ---- a pool's own session ----------------------------------------------------------

-- pool:withSession(fn, ...) -> fn(session, ...)'s results. The pool's connections are
-- shared by whatever task runs next, so they are not lent out: the session is a new
-- connection with the pool's connection options, closed when fn returns or raises
-- (its error goes on unchanged).
local function close_then(s, ok, ...)
  s:close()
  if not ok then error((...), 0) end
  return ...
end

function M.with_session(pool, fn, ...)
  if type(fn) ~= "function" and not (type(fn) == "table" and getmetatable(fn) and getmetatable(fn).__call) then
    fail(2, "withSession: expects a function, got %s", type(fn))
  end
  local opts = {}
  for k, v in pairs(pool._opts) do
    if not REFUSED[k] and k ~= "queueLimit" then opts[k] = v end
  end
  opts.threadNum, opts._like = 1, pool           -- the login comes from the pool, in C
  local ok, s = pcall(open, opts)
  if not ok then error(s, 2) end
  return close_then(s, pcall(fn, s, ...))
end

return M
