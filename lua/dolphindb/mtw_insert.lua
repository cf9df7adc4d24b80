-- dolphindb.mtw_insert — MultithreadedTableWriter:insert made for one writer: the
-- values go from the argument list straight into the queued block's columns.
--
-- The generic insert (dolphindb.mtw) collects the values with { ... }, a table per
-- row; LuaJIT cannot compile a table constructor of varargs, so every row left the
-- compiled trace. Here a function is generated for the target's column count,
-- naming each value (local v1, v2, ... = ...), which LuaJIT compiles. Anything but
-- the plain case (wrong count, a stopped writer, a value whose Lua type the column
-- does not take, another writer as self) goes to the generic insert, which gives the
-- answer, errors included. The two must behave alike: spec/mtw_spec.lua checks the
-- results through this path and the error codes through the generic one.
local M = {}

-- More values than this would need too many locals: such writers keep the generic
-- insert.
M.MAX_COLUMNS = 150

local TEMPLATE = [[
local me, generic, accepts, null, new_block, signal, OK, TYPES, queues, route = ...
local select, type = select, type
local block_size, batch_size = me.blockSize, me.batchSize
return function(self, ...)
  if self ~= me or select("#", ...) ~= $N or me.exiting or me.errorCode ~= "" then
    return generic(self, ...)
  end
  local $VARS = ...
$CHECKS
  local q = $QUEUE
  local blocks = q.blocks
  local b = blocks[#blocks]
  if not b or b.n >= block_size then b = new_block(me, q) end
  local n, cols = b.n + 1, b.cols
$STORES
  b.n = n
  local rows = q.rows + 1
  q.rows = rows
  local waiting = q.waiting
  if waiting and (waiting == "any" or rows >= batch_size) then
    q.waiting = nil
    signal(q.bell)
  end
  return true
end
]]

local function expand(n, fmt, sep)
  local parts = {}
  for c = 1, n do parts[c] = fmt:gsub("%$C", tostring(c)) end
  return table.concat(parts, sep)
end

-- The insert function for writer `me` (dolphindb.mtw's object, set up), or nil when
-- it has too many columns. `parts` gives what it uses: generic (the generic insert),
-- accepts (ok_types, tid, v) -> boolean, null, new_block(writer, queue) -> block,
-- signal (dolphindb.sched.signal).
function M.make(me, parts)
  local n = #me.schema.names
  if n == 0 or n > M.MAX_COLUMNS then return nil end
  local vars = expand(n, "v$C", ", ")
  local checks = expand(n, [[
  if v$C == nil then v$C = null
  elseif not OK[$C][type(v$C)] and not accepts(OK[$C], TYPES[$C], v$C) then return generic(self, ...) end]], "\n")
  local queue = me.threadCount == 1 and "queues[1]" or ("queues[route(v%d) + 1]"):format(me.routeCol)
  local src = TEMPLATE:gsub("%$(%u+)", {
    N = tostring(n), VARS = vars, CHECKS = checks, QUEUE = queue,
    STORES = expand(n, "  cols[$C][n] = v$C", "\n"),
  })
  local chunk = assert(load(src, "=dolphindb.mtw_insert"))
  return chunk(me, parts.generic, parts.accepts, parts.null, parts.new_block, parts.signal,
    me.ok_types, me.schema.types, me.queues, me.route)
end

return M
