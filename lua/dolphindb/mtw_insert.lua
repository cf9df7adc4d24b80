-- dolphindb.mtw_insert — MultithreadedTableWriter:insert made for the shape of a
-- writer's table: the values go from the argument list straight into the queued
-- block's columns (dolphindb.mtw_block).
--
-- The generic insert (dolphindb.mtw) collects the values with { ... }, a table per
-- row; LuaJIT cannot compile a table constructor of varargs, so every row left the
-- compiled trace. Here a function is generated for the target's columns (their
-- count, how each is held), naming each value (local v1, v2, ... = ...), which LuaJIT
-- compiles. Anything but the plain case (wrong count, a stopped writer, a value whose
-- Lua type the column does not take, another shape of writer as self) goes to the
-- generic insert, which gives the answer, errors included. The two must behave alike:
-- spec/mtw_spec.lua checks the results through this path and the error codes
-- through the generic one.
--
-- Writers of one shape share one function, which reads the writer's state from self:
-- LuaJIT specializes a compiled loop on the function it calls, so a loop that writes
-- through one writer after another keeps its compiled code.
local M = {}

-- More values than this would need too many locals: such writers keep the generic
-- insert.
M.MAX_COLUMNS = 150

local TEMPLATE = [[
local W, generic, accepts, null, more, put, signal = ...
local select, type, getmetatable = select, type, getmetatable
local insert
insert = function(self, ...)
  if getmetatable(self) ~= W or self.insert ~= insert or select("#", ...) ~= $N or self.exiting
    or self.errorCode ~= "" then
    return generic(self, ...)
  end
  local $VARS = ...
$CHECKS
  local q = $QUEUE
  local b = q.cur
  if not b or b.n >= b.cap then b = more(self, q) end
  local i = b.n
$STORES
  b.n = i + 1
  local rows = q.rows + 1
  q.rows = rows
  local waiting = q.waiting
  if waiting and (waiting == "any" or rows >= self.batchSize) then
    q.waiting = nil
    signal(q.bell)
  end
  return true
end
return insert
]]

local function expand(n, fmt, sep)
  local parts = {}
  for c = 1, n do parts[c] = fmt:gsub("%$C", tostring(c)) end
  return table.concat(parts, sep)
end

-- Per column: the check of its value (nil -> NULL; a Lua type the column does not
-- take -> the generic insert, which refuses it), the plain type first.
local CHECK = [[
  if type(v$C) ~= "$T" then
    if v$C == nil then v$C = null
    elseif not accepts(self.ok_types[$C], self.schema.types[$C], v$C) then return generic(self, ...) end
  end]]
local CHECK_ANY = [[
  if v$C == nil then v$C = null
  elseif not accepts(self.ok_types[$C], self.schema.types[$C], v$C) then return generic(self, ...) end]]

-- Per column: the store of its value into the block (dolphindb.mtw_block): the plain
-- case inline, any other through put, which does the same in general.
local STORE = {
  num = [[
  if type(v$C) == "number" and v$C % 1 == 0 and v$C >= -$HI and v$C <= $HI then b[$C][i] = v$C
  else put(self.layout, b, $C, i, v$C) end]],
  real = [[
  if type(v$C) == "number" then b[$C][i] = v$C else put(self.layout, b, $C, i, v$C) end]],
  lua = [[
  b[$C][i + 1] = v$C]],
}

local function column_code(me, c)
  local L = me.layout
  local k, hi = L.kind[c], L.num[c] and L.num[c].hi
  if k == "num" and not hi then k = "real" end
  local plain = (k == "num" or k == "real") and "number" or k == "sym" and "string" or nil
  if k == "sym" then k = "lua" end          -- held as a list (dolphindb.mtw_block)
  local check = plain and CHECK:gsub("%$T", plain) or CHECK_ANY
  local store = STORE[k]:gsub("%$HI", hi and ("%.17g"):format(hi) or "")
  return (check:gsub("%$C", tostring(c))), (store:gsub("%$C", tostring(c)))
end

-- How the generated insert finds the row's queue: the only one, a lookup in the
-- router's cache of strings (a text partitionCol), or the router.
local function queue_code(me)
  if me.threadCount == 1 then return "self.queues[1]" end
  local r = me.routeCol
  if require("dolphindb.columns").TEXT[me.schema.types[r]] then
    return ("self.queue_cache[v%d] or self.queue_of(v%d)"):format(r, r)
  end
  return ("self.queue_of(v%d)"):format(r)
end

-- The function of each shape (its source), while a writer uses it.
local shapes = setmetatable({}, { __mode = "v" })

-- The insert function for writer `me` (dolphindb.mtw's object, set up), or nil when
-- it has too many columns. `parts` gives what it uses: W (the writers' metatable),
-- generic (the generic insert), accepts (ok_types, tid, v) -> boolean, null,
-- more(writer, queue) -> the block taking the queue's next row, put
-- (dolphindb.mtw_block.put), signal (dolphindb.sched.signal).
function M.make(me, parts)
  local n = #me.schema.names
  if n == 0 or n > M.MAX_COLUMNS then return nil end
  local checks, stores = {}, {}
  for c = 1, n do checks[c], stores[c] = column_code(me, c) end
  local src = TEMPLATE:gsub("%$(%u+)", {
    N = tostring(n), VARS = expand(n, "v$C", ", "), CHECKS = table.concat(checks, "\n"),
    QUEUE = queue_code(me), STORES = table.concat(stores, "\n"),
  })
  local f = shapes[src]
  if not f then
    f = assert(load(src, "=dolphindb.mtw_insert"))(parts.W, parts.generic, parts.accepts, parts.null,
      parts.more, parts.put, parts.signal)
    shapes[src] = f
  end
  return f
end

return M
