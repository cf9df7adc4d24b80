-- dolphindb.safe — the module with the OpenResty convention (as cjson.safe is to cjson):
-- runtime failures return `nil, err`, misuse still raises.
--
--   local ddb = require "dolphindb.safe"
--   local pool, err = ddb.DBConnectionPool("127.0.0.1", 8848, 8)
--   if not pool then ngx.log(ngx.ERR, err); return ngx.exit(502) end
--   local v, err = pool:run("1+2")           -- err: a dolphindb.errors value
--
-- One implementation, two faces: every call goes to the raising module (dolphindb, or
-- dolphindb.ngx inside nginx workers, picked by require "dolphindb") under pcall. An
-- error VALUE (dolphindb.errors: a failed task, a timeout, a lost connection, a pool
-- that cannot open, a full queue) comes back as `nil, err`, the very value the raising
-- face would have raised; anything else (misuse: a string "dolphindb: ...") is raised
-- again, at the caller's line, with the same text; so is an "interrupted" error
-- (Ctrl-C), which must stop the program, not become a return value. Pools, futures and spawn handles
-- are wrapped in small objects whose methods follow the same rule. The raising face's
-- hot path is untouched: the cost (a pcall and a call) is only this face's.

local ddb = require "dolphindb"
local errors = require "dolphindb.errors"

local pcall, error, type, getmetatable, setmetatable, tostring, pairs, rawequal =
  pcall, error, type, getmetatable, setmetatable, tostring, pairs, rawequal
local sub = string.sub
local is_error = errors.is_error

-- pcall's outcome at the user's call: wrappers tail-call it, so level 2 is the user's
-- frame. The raising face's misuse strings name no position when raised under pcall
-- (their level lands on pcall, a C function); this puts the user's back.
local function ret(ok, ...)
  if ok then return ... end
  local err = ...
  -- Ctrl-C is no failure of the call: it goes on up, to stop the program
  if is_error(err) and err.kind ~= "interrupted" then return nil, err end
  if type(err) == "string" and sub(err, 1, 11) == "dolphindb: " then error(err, 2) end
  error(err, 0)
end

local faces = {}        -- the raising face's metatable -> its safe face
local face_of = {}      -- safe face -> true

local function wrap(obj)
  local mt = type(obj) == "table" and getmetatable(obj)
  local W = mt and faces[mt]
  if not W then return obj end
  return setmetatable({ _inner = obj }, W)
end

-- the raising object behind a safe one; anything else as it is (the raising method
-- then says what is wrong with it, e.g. "run must be called as pool:run(...)")
local function inner_of(x)
  if type(x) == "table" and face_of[getmetatable(x)] then return x._inner end
  return x
end

-- Methods whose result or arguments hold objects of this face.
local special = {}

-- runTaskAsync: the future comes back in its safe face.
function special.runTaskAsync(fn)
  return function(self, ...)
    local ok, f = pcall(fn, inner_of(self), ...)
    if not ok then return ret(false, f) end
    return wrap(f)
  end
end

-- run: a block iterator (fetchSize) comes back in its safe face; any other value as
-- it is (wrap only wraps the classes this file made faces for).
function special.run(fn)
  return function(self, ...)
    local ok, v = pcall(fn, inner_of(self), ...)
    if not ok then return ret(false, v) end
    return wrap(v)
  end
end

-- add_done_callback(cb): cb gets the safe future it was given to.
function special.add_done_callback(fn)
  return function(self, cb, ...)
    local t, mt = type(cb), getmetatable(cb)
    local arg = cb
    if t == "function" or (t == "table" and mt and mt.__call) then
      arg = function() return cb(self) end
    end
    return ret(pcall(fn, inner_of(self), arg, ...))
  end
end

-- withSession(fn, ...): fn gets the session in this face.
function special.withSession(fn)
  return function(self, f, ...)
    local arg = f
    if type(f) == "function" then
      arg = function(s, ...) return f(wrap(s), ...) end
    end
    return ret(pcall(fn, inner_of(self), arg, ...))
  end
end

-- withConnection(fn, ...): fn gets the pinned connection in this face.
special.withConnection = special.withSession

-- The safe face of a raising class (its metatable), built once.
local function face(mt, handle)
  local W = { _raising = mt }
  W.__index = W
  W.__tostring = function(w) return tostring(w._inner) end
  for name, fn in pairs(mt.__index) do
    if type(fn) == "function" and sub(name, 1, 1) ~= "_" and name ~= "new" then
      if special[name] then
        W[name] = special[name](fn)
      elseif handle and name == "result" then
        -- a spawn handle's result(): the coroutine's own failure, whatever it raised,
        -- is the outcome (as ngx.thread.wait's false, err)
        W[name] = function(self, ...)
          local h = inner_of(self)
          return (function(ok, ...)
            if ok then return ... end
            local err = ...
            if getmetatable(h) == mt and h._done and not h._ok and rawequal(err, h._err) then
              return nil, err
            end
            return ret(false, err)
          end)(pcall(fn, h, ...))
        end
      else
        W[name] = function(self, ...) return ret(pcall(fn, inner_of(self), ...)) end
      end
    end
  end
  faces[mt], face_of[W] = W, true
  return W
end

local M = {}
for k, v in pairs(ddb) do M[k] = v end
M._raising = ddb

local pool_face = face(require("dolphindb.pool").Pool)    -- one pool for every host
local future_face = face(require "dolphindb.future")
face(require("dolphindb.session").Session)    -- its objects are made by M.Session below
face(require("dolphindb.pinned").PinnedConnection)   -- made by pool:withConnection
-- the block iterator: it:next() returns nil, err; calling it (a for loop) too, but a
-- for loop drops the err, so loop on it:next() to see it
local blocks_face = face(require("dolphindb.fetch").Blocks)
blocks_face.__call = function(self) return self:next() end
local Handle = package.loaded["dolphindb.sched"] and package.loaded["dolphindb.sched"].Handle
if Handle then face(Handle, true) end
M.Pool, M.Future = pool_face, future_face

-- DBConnectionPool(...) -> pool | nil, err (the pool could not open).
function M.DBConnectionPool(...)
  local ok, p = pcall(ddb.DBConnectionPool, ...)
  if not ok then return ret(false, p) end
  local w = wrap(p)
  if w ~= p then w.host, w.port, w.threadNum = p.host, p.port, p.threadNum end
  return w
end

-- Session(...) -> session | nil, err (it could not connect).
function M.Session(...)
  local ok, s = pcall(ddb.Session, ...)
  if not ok then return ret(false, s) end
  local w = wrap(s)
  w.host, w.port = s.host, s.port
  return w
end

-- spawn(fn, ...) -> a handle in this face (dolphindb.ngx: a light thread, as it is).
function M.spawn(...)
  local ok, h = pcall(ddb.spawn, ...)
  if not ok then return ret(false, h) end
  return wrap(h)
end

-- wait(list[, timeout]): the raising wait on the raising objects; the lists it returns
-- (dolphindb) hold the objects the caller passed.
local function outer_list(list, outer)
  if type(list) ~= "table" then return list end
  for i = 1, #list do list[i] = outer[list[i]] or list[i] end
  return list
end

function M.wait(list, timeout)
  local inner, outer = list, {}
  if type(list) == "table" then
    if face_of[getmetatable(list)] then
      inner = list._inner
      outer[inner] = list
    else
      inner = {}
      for i = 1, #list do
        local x = inner_of(list[i])
        inner[i] = x
        if x ~= list[i] then outer[x] = list[i] end
      end
    end
  end
  local ok, a, b = pcall(ddb.wait, inner, timeout)
  if not ok then return ret(false, a) end
  return outer_list(a, outer), outer_list(b, outer)
end

return M
