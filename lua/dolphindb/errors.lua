-- dolphindb.errors — the error values of runtime failures (docs/API.md "Errors").
--
-- A task that fails, a wait that times out, a pool that cannot open: these raise a
-- table, not a string, so a caller tells them apart by `err.kind` instead of by the
-- text (which may quote a script that says anything). Fields:
--   kind          "server" | "timeout" | "connection" | "protocol" | "result" |
--                 "cancelled" | "shutdown" | "full" (queueLimit reached at submission) |
--                 "writer" (MultithreadedTableWriter:insert returns it; errorCode A1/A2/A7) |
--                 "interrupted" (Ctrl-C while waiting: dolphindb.sched)
--   message       the text ("dolphindb: task N: ..."), also what tostring gives
--   task_id       the task's id when a task failed (nil otherwise)
--   server_error  the server's own message (kind "server")
-- Misuse (wrong arguments, calls on a closed pool) stays a plain string.
-- The C side (lua_args.c: ddb_lua_push_failure) builds the fields; this file only
-- gives them the metatable, on the failure path.

local type, tostring, getmetatable, setmetatable = type, tostring, getmetatable, setmetatable
local string = string

local Error = {}

Error.__tostring = function(e) return e.message end
-- "x" .. err and err .. "x" keep working as they did when errors were strings.
Error.__concat = function(a, b) return tostring(a) .. tostring(b) end
-- So do err:find(...), err:match(...) and other string methods.
Error.__index = function(e, k)
  local f = string[k]
  if type(f) ~= "function" then return nil end
  return function(self, ...) return f(tostring(self), ...) end
end

local M = { Error = Error }

-- err (a table from C, or a new one) as an error value.
function M.wrap(t)
  return setmetatable(t, Error)
end

function M.new(kind, message, task_id)
  return setmetatable({ kind = kind, message = message, task_id = task_id }, Error)
end

function M.is_error(x)
  return type(x) == "table" and getmetatable(x) == Error
end

-- ddb.is_timeout(err): by kind only; text that merely says "timed out" is not one.
function M.is_timeout(err)
  return type(err) == "table" and getmetatable(err) == Error and err.kind == "timeout"
end

-- ddb.is_interrupted(err): a wait cut short by SIGINT (Ctrl-C).
function M.is_interrupted(err)
  return type(err) == "table" and getmetatable(err) == Error and err.kind == "interrupted"
end

-- ---- misuse messages that name the user's function ------------------------------

-- Value constructors and helpers raise "dolphindb: ..." from deep inside the value
-- modules, without saying which function was called. named(fn, "vector") raises
-- their messages again at the caller, as "dolphindb: vector: ..." when the text does
-- not name it already. Errors that are not ours (a user's __index raising, error
-- values) pass unchanged.
local function renamed(name, ok, ...)
  if ok then return ... end
  local err = ...
  if type(err) ~= "string" then error(err, 0) end
  local text = err
  if text:sub(1, 11) ~= "dolphindb: " then
    text = text:gsub("^[^\n]-:%d+: ", "", 1)          -- a module file's position
    local i, why = text:match("^bad argument #(%d+) to '[^']*' %((.*)%)$")   -- a C check
    if i then text = ("dolphindb: argument %s: %s"):format(i, why) end
    if text:sub(1, 11) ~= "dolphindb: " then error(err, 0) end
  end
  if not text:lower():find(name:lower(), 12, true) then
    text = "dolphindb: " .. name .. ": " .. text:sub(12)
  end
  error(text, 2)        -- the wrapper made a tail call: level 2 is the user's call
end

function M.named(fn, name)
  return function(...) return renamed(name, pcall(fn, ...)) end
end

return M
