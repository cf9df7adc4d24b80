-- dolphindb.mtw — MultithreadedTableWriter: rows inserted one at a time, batched and
-- written in the background by workers. A worker is a coroutine with a connection of
-- its own (a pool of one), not an OS thread.
--
--   local w = ddb.MultithreadedTableWriter{ host =, port =, userId =, password =,
--     dbPath =, tableName =, batchSize = 1, throttle = 1.0, threadCount = 1,
--     partitionCol = "", mode = "append" | "upsert", modeOption = {}, reconnect = true,
--     tryReconnectNums = -1, compressMethods = {"LZ4" | "DELTA", ...} }
--   (or session = a Session / pool = a DBConnectionPool instead of host ... password)
--   local ok, err = w:insert(v1, v2, ...)       -- queues one row; never waits
--   w:getStatus()  w:getUnwrittenData()  w:insertUnwrittenData(rows)
--   w:waitForThreadCompletion()
--
-- Rows go to worker `key mod threadCount`: key = the partition key of the row's
-- partitionCol value (dolphindb.partition) for a partitioned table, its hash for
-- another table; no key (NULL, outside the scheme) goes to worker 0. So the rows of
-- one partition always go through one worker, in insertion order. A worker waits
-- for its first row, then until batchSize rows are queued or throttle seconds passed,
-- then sends everything queued, in blocks of up to max(65536, batchSize) rows, one
-- request per block (tableInsert{...} or tableUpsert{..,,<modeOption>}). A block holds
-- its rows column by column as dolphindb.mtw_block says; one sent is reused.
-- The first failed request stops every worker: its rows (and every queued row) stay
-- retrievable with getUnwrittenData(); getStatus() says what happened (errorCode A5).
-- With reconnect (the default) the connections use the pool's highAvailability
-- mode: a request whose connection broke is sent again after reconnecting, with the
-- same sequence number, so a server that already applied it does not apply it twice.
local errors = require "dolphindb.errors"
local sched = require "dolphindb.sched"
local value = require "dolphindb.value"
local columns = require "dolphindb.columns"
local fit = require "dolphindb.fit"
local partition = require "dolphindb.partition"
local writers = require "dolphindb.writers"
local block = require "dolphindb.mtw_block"

local W = { __name = "dolphindb.MultithreadedTableWriter" }
W.__index = W

local M = { W = W }
local null = value.null
local T, WIDTH, TEXT = columns.T, columns.WIDTH, columns.TEXT

local function fail(msg) error("dolphindb: " .. msg, 0) end

---------------------------------------------------------------- options

local DEFAULTS = { batchSize = 1, throttle = 1.0, threadCount = 1, partitionCol = "", mode = "append",
  reconnect = true, tryReconnectNums = -1 }
local KNOWN = { host = true, port = true, userId = true, password = true, dbPath = true, tableName = true,
  batchSize = true, throttle = true, threadCount = true, partitionCol = true, mode = true,
  modeOption = true, reconnect = true, tryReconnectNums = true, session = true, pool = true,
  compressMethods = true }
-- options that say how to connect: a given session or pool already did
local CONNECTING = { "host", "port", "userId", "password", "reconnect", "tryReconnectNums" }

local function is_int(x, lo) return type(x) == "number" and x % 1 == 0 and x >= lo end

-- session = a Session, or pool = a DBConnectionPool: the workers write through it
-- (each worker still sends one request at a time, so a partition's rows stay in order).
local function check_connection(o)
  if o.session ~= nil and o.pool ~= nil then fail("give session or pool, not both") end
  for _, k in ipairs(CONNECTING) do
    if o[k] ~= nil then
      fail(("%s cannot be given with %s (the connection is theirs)"):format(k, o.session and "session" or "pool"))
    end
  end
  local x = o.session or o.pool
  if type(x) == "table" and rawget(x, "_inner") then x = x._inner end      -- dolphindb.safe's face
  local Session = require("dolphindb.session").Session
  if o.session ~= nil and getmetatable(x) ~= Session then
    fail("session must be a Session, got " .. type(o.session))
  end
  if o.pool ~= nil and getmetatable(x) ~= require("dolphindb.pool").Pool then
    fail("pool must be a DBConnectionPool, got " .. type(o.pool))
  end
  if o.session ~= nil and x:isClosed() then fail("the session is closed") end
  if o.pool ~= nil and x:isShutDown() then fail("the pool is shut down") end
  return x
end

-- compressMethods: a list of "LZ4" / "DELTA" (any case) -> the list of methods (1, 2).
local METHOD = { LZ4 = 1, DELTA = 2 }
local function check_compress(list)
  if list == nil then return nil end
  if type(list) ~= "table" then fail("compressMethods must be a list of \"LZ4\" or \"DELTA\", one per column") end
  local methods = {}
  for i = 1, #list do
    local m = type(list[i]) == "string" and METHOD[list[i]:upper()]
    if not m then fail(("compressMethods[%d] must be \"LZ4\" or \"DELTA\", got %s"):format(i, tostring(list[i]))) end
    methods[i] = m
  end
  return methods
end

-- Column types delta-of-delta applies to (docs/PROTOCOL.md §4.18.3).
local DELTA_TYPES = {}
for _, n in ipairs { "SHORT", "INT", "LONG", "DATE", "MONTH", "TIME", "MINUTE", "SECOND", "DATETIME",
  "TIMESTAMP", "NANOTIME", "NANOTIMESTAMP", "DATEHOUR", "DATEMINUTE", "DECIMAL32", "DECIMAL64" } do
  if T[n] then DELTA_TYPES[T[n]] = true end
end

-- The methods against the target's columns: one per column, DELTA only where it applies.
local function compress_for(schema, methods)
  if #methods ~= #schema.names then
    fail(("compressMethods has %d entries for the %d columns of %s"):format(#methods, #schema.names, schema.target))
  end
  for i, m in ipairs(methods) do
    if m == 2 and not DELTA_TYPES[schema.types[i]] then
      fail(("compressMethods[%d]: DELTA is for integral, temporal and DECIMAL32/64 columns, not %s ('%s')")
        :format(i, columns.type_name(schema.types[i]), schema.names[i]))
    end
  end
  return methods
end

local function check_options(o)
  if type(o) ~= "table" then fail("expects a table of options, got " .. type(o)) end
  for k in pairs(o) do
    if not KNOWN[k] then fail("unknown option '" .. tostring(k) .. "'") end
  end
  local c = {}
  for k, v in pairs(DEFAULTS) do c[k] = v end
  for k, v in pairs(o) do c[k] = v end
  if o.session ~= nil or o.pool ~= nil then
    c.conn = check_connection(o)
  else
    if type(c.host) ~= "string" or c.host == "" then fail("host must be a non-empty string") end
    if not is_int(c.port, 1) or c.port > 65535 then fail("port must be an integer in 1..65535") end
  end
  if not is_int(c.batchSize, 1) then fail("batchSize must be an integer >= 1") end
  if type(c.throttle) ~= "number" or c.throttle < 0 then fail("throttle must be a number of seconds >= 0") end
  if not is_int(c.threadCount, 1) or c.threadCount > 1024 then fail("threadCount must be an integer in 1..1024") end
  if type(c.partitionCol) ~= "string" then fail("partitionCol must be a string") end
  if c.threadCount > 1 and c.partitionCol == "" then fail("threadCount > 1 needs a partitionCol") end
  if type(c.reconnect) ~= "boolean" then fail("reconnect must be a boolean") end
  if not is_int(c.tryReconnectNums, -1) or c.tryReconnectNums == 0 then
    fail("tryReconnectNums must be -1 (unlimited) or an integer >= 1")
  end
  c.mode = type(c.mode) == "string" and c.mode:lower() or c.mode
  if c.mode ~= "append" and c.mode ~= "upsert" then fail("mode must be \"append\" or \"upsert\"") end
  c.compressMethods = check_compress(c.compressMethods)
  c.modeOption = c.modeOption or {}
  if type(c.modeOption) ~= "table" then fail("modeOption must be a list of strings") end
  for i, s in ipairs(c.modeOption) do
    if type(s) ~= "string" or s:find("[%c{}]") then
      fail(("modeOption[%d] must be a string such as \"ignoreNull=true\" (no braces or control characters)"):format(i))
    end
  end
  return c
end

---------------------------------------------------------------- routing

-- v (a Lua value given to insert) -> the raw cell of column type tid, or nil (NULL,
-- or a value that does not name a cell).
local function raw_reader(tid)
  local ctor = value[(columns.NAME[tid] or ""):lower()]
  return function(v)
    if v == null then return nil end
    local tv = type(v)
    if tv == "table" and v.type then
      if v.type == columns.NAME[tid] then return v.value end
      local conv = fit.cell_converter(T[v.type], tid)
      return conv and v.value ~= nil and conv(0LL + v.value) or nil
    end
    if TEXT[tid] then return tv == "string" and v or nil end
    if tv == "string" and ctor then
      local ok, s = pcall(ctor, v)
      return ok and s and s.value or nil
    end
    if tv == "number" and WIDTH[tid] == 8 and v % 1 == 0 then return 0LL + v end
    if tv == "number" or tv == "cdata" then return v end
    return nil
  end
end

-- The function row value -> worker index.
local function router(self, schema)
  local n = self.threadCount
  if n == 1 then return 0, function() return 0 end end
  local col
  for i, name in ipairs(schema.names) do if name == self.partitionCol then col = i end end
  local level = schema.partition and writers._internal.level_of(schema, self.partitionCol)
  if level then col = level.column end
  if not col then fail(("partitionCol '%s' is not a column of %s"):format(self.partitionCol, schema.target)) end
  local tid, raw = schema.types[col], raw_reader(schema.types[col])
  if level then
    local d = level.domain
    local conv = d.type ~= tid and fit.cell_converter(tid, d.type)
    return col, function(v)
      local r = raw(v)
      if r == nil then return 0 end
      if conv then r = conv(0LL + r) end
      local k = d.key(r)
      return k < 0 and 0 or k % n
    end
  end
  return col, function(v)
    local r = raw(v)
    if r == nil or not (TEXT[tid] or WIDTH[tid]) then return 0 end
    local b = partition.bucket(r, tid, n)
    return b < 0 and 0 or b
  end
end

-- v -> the queue of the worker for partitionCol value v. Strings are remembered (at
-- most M.ROUTE_CACHE of them, then all forgotten at once), so that the generated
-- insert routes a row of a text column by one table lookup in `cache`, the usual case.
M.ROUTE_CACHE = 65536
local ok_clear, table_clear = pcall(require, "table.clear")
if not ok_clear then table_clear = function(t) for k in pairs(t) do t[k] = nil end end end

local function queue_router(self)
  local cache, size, route, queues, limit = {}, 0, self.route, self.queues, M.ROUTE_CACHE
  return cache, function(v)
    local q = queues[route(v) + 1]
    if type(v) == "string" then
      if size >= limit then table_clear(cache); size = 0 end
      cache[v], size = q, size + 1
    end
    return q
  end
end

---------------------------------------------------------------- construction

local function new_queue(id)
  return { id = id, blocks = {}, rows = 0, sent = 0, failed = {}, failedRows = 0, bell = {} }
end

local function open_pool(c, ddb_pool)
  return ddb_pool{ host = c.host, port = c.port, threadNum = 1, userid = c.userId, password = c.password,
    compress = c.compressMethods ~= nil or nil,       -- as the official writers: flag 64 with compression
    highAvailability = c.reconnect or nil, reConnect = c.reconnect,
    tryReconnectNums = c.reconnect and c.tryReconnectNums or nil }
end

local accepted_types, more     -- below, with insert

local function setup(self, c)
  local DBConnectionPool = require("dolphindb.pool").DBConnectionPool
  self.pools[1] = c.conn or open_pool(c, DBConnectionPool)
  local target = writers._internal.writer("MultithreadedTableWriter", c.dbPath, c.tableName, self.pools[1])
  local schema = target.schema
  if not schema.partition and (c.dbPath or "") ~= "" and c.threadCount > 1 then
    fail("The parameter threadCount must be 1 for a dimension table")
  end
  self.routeCol, self.route = router(self, schema)
  self.compress = c.compressMethods and compress_for(schema, c.compressMethods)
  self.schema, self.ok_types, self.layout = schema, {}, block.layout(schema)
  for i, tid in ipairs(schema.types) do self.ok_types[i] = accepted_types(tid) end
  if c.mode == "append" then
    self.fn = "tableInsert{" .. target.expr .. "}"
  elseif #c.modeOption == 0 then
    self.fn = "tableUpsert{" .. target.expr .. "}"
  else
    self.fn = "tableUpsert{" .. target.expr .. ",," .. table.concat(c.modeOption, ",") .. "}"
  end
  for i = 2, c.threadCount do self.pools[i] = c.conn or open_pool(c, DBConnectionPool) end
end

-- Closes the connections the writer opened (not a session or pool it was given).
local function close_own(self)
  if self.shared then return end
  for _, p in ipairs(self.pools) do p:shutDown() end
end

function M.new(opts)
  local c = check_options(opts)
  local self = setmetatable({ threadCount = c.threadCount, batchSize = c.batchSize, throttle = c.throttle,
    partitionCol = c.partitionCol, pools = {}, queues = {}, handles = {}, errorCode = "", errorInfo = "",
    exiting = false, blockSize = math.max(65536, c.batchSize), shared = c.conn ~= nil }, W)
  local ok, err = pcall(setup, self, c)
  if not ok then                        -- close what was opened, then raise as it came
    close_own(self)
    error(err, 0)
  end
  for i = 1, c.threadCount do self.queues[i] = new_queue(i) end
  self.queue_cache, self.queue_of = queue_router(self)
  -- this writer's own insert (dolphindb.mtw_insert), in front of W.insert
  self.insert = require("dolphindb.mtw_insert").make(self, { W = W, generic = W.insert, accepts = M._accepts,
    null = null, more = more, put = block.put, signal = sched.signal })
  for i = 1, c.threadCount do
    self.handles[i] = sched.spawn(M._worker, self, self.queues[i], self.pools[i])
  end
  return self
end

---------------------------------------------------------------- inserting

-- Lua types a column takes (checked per cell; the value itself is checked when the
-- block is built, as dolphindb.fit builds plain values).
function accepted_types(tid)
  if tid >= 64 then return {} end
  if TEXT[tid] then return { string = true } end
  if tid == T.BOOL then return { boolean = true, number = true } end
  local cat = fit.category(tid)
  if cat == "TEMPORAL" or cat == "DENARY" or cat == "BINARY" then
    return { number = true, cdata = true, string = true }
  end
  return { number = true, cdata = true }
end

-- Per column: the Lua types its cells may be (tables: NULL, typed scalars, and for
-- array-vector columns lists).
local function accepts(ok_types, tid, v)
  local tv = type(v)
  if ok_types[tv] then return true end
  return tv == "table" and (v == null or v.type ~= nil or tid >= 64)
end

M._accepts = accepts

local function insert_error(code, msg)
  local e = errors.new("writer", "dolphindb: " .. msg .. " (" .. code .. ")")
  e.errorCode, e.errorInfo = code, msg
  return e
end

-- The block that takes queue q's next row (row b.n): its open block (q.cur), grown
-- when full up to blockSize rows, else a new one at the end of the queue.
function more(self, q)
  local b = q.cur
  if b and b.n < b.cap then return b end
  if b and b.cap < self.blockSize then
    block.grow(self.layout, b, math.min(self.blockSize, 2 * b.cap))
    return b
  end
  -- room for twice batchSize: a worker sends once batchSize rows are queued, but only
  -- when it runs, and the inserting coroutine may have queued more by then
  b = q.spare or block.new(self.layout, math.min(self.blockSize, math.max(2 * self.batchSize, 256)))
  q.spare = nil
  q.blocks[#q.blocks + 1] = b
  q.cur = b
  return b
end

local function push(self, q, row)
  local b = more(self, q)
  local i = b.n
  for c = 1, row.n do block.put(self.layout, b, c, i, row[c]) end
  b.n = i + 1
  q.rows = q.rows + 1
  if q.waiting and (q.waiting == "any" or q.rows >= self.batchSize) then
    q.waiting = nil
    sched.signal(q.bell)
  end
end

-- insert(v1, v2, ...) -> true, or nil and an error value (errorCode A1: a value of a
-- type the column cannot take, A2: a wrong number of values, A7: the writer stopped).
function W:insert(...)
  if getmetatable(self) ~= W then fail("insert must be called as writer:insert(...)") end
  if self.exiting or self.errorCode ~= "" then
    return nil, insert_error("A7", "insert: the writer is exiting" ..
      (self.errorCode ~= "" and (": " .. self.errorInfo) or ""))
  end
  local names, types, ok_types = self.schema.names, self.schema.types, self.ok_types
  local row = { n = select("#", ...), ... }   -- (select then {...} is very slow in LuaJIT's traces)
  local n = row.n
  if n ~= #names then
    return nil, insert_error("A2", ("insert: %d values for %d columns (Column counts don't match)"):format(n, #names))
  end
  for c = 1, n do
    local v = row[c]
    if v == nil then v = null; row[c] = v end
    if not accepts(ok_types[c], types[c], v) then
      return nil, insert_error("A1", ("insert: column %d ('%s'): cannot convert a %s to %s"):format(c, names[c],
        type(v), columns.type_name(types[c])))
    end
  end
  push(self, self.queue_of(row[self.routeCol]), row)
  return true
end

---------------------------------------------------------------- workers

local function wait_bell(q, mode, timeout)
  q.bell, q.waiting = {}, mode
  sched.wait_for(q.bell, timeout, "MultithreadedTableWriter")
  q.waiting = nil
end

local function stop_all(self, code, info)
  if self.errorCode ~= "" then return end
  self.errorCode, self.errorInfo = code, info
  for _, q in ipairs(self.queues) do
    if q.waiting then q.waiting = nil; sched.signal(q.bell) end
  end
end

-- Sends one block; on failure it joins the failed rows and every worker stops.
local function send(self, q, pool, b)
  local ok, err = pcall(function()
    local hs = block.handles(self.layout, b, self.schema)
    return pool:run(self.fn, columns.table(self.schema.names, hs, self.compress))
  end)
  q.rows = q.rows - b.n
  if ok then
    q.sent = q.sent + b.n
    q.spare = block.reset(self.layout, b)           -- its cells were copied into the request
    return true
  end
  q.failed[#q.failed + 1] = b
  q.failedRows = q.failedRows + b.n
  stop_all(self, "A5", "Failed to save the inserted data: " .. tostring(err))
  return false
end

function M._worker(self, q, pool)
  while self.errorCode == "" do
    if q.rows == 0 then
      if self.exiting then break end
      wait_bell(q, "any")
    end
    if q.rows > 0 and self.batchSize > 1 and self.throttle > 0 and not self.exiting then
      local deadline = sched.now() + self.throttle
      while q.rows < self.batchSize and not self.exiting and self.errorCode == "" do
        local left = deadline - sched.now()
        if left <= 0 then break end
        wait_bell(q, "batch", left)
      end
    end
    while #q.blocks > 0 and self.errorCode == "" do
      local b = table.remove(q.blocks, 1)
      if b == q.cur then q.cur = nil end              -- the open block: new rows go to a new one
      if b.n > 0 and not send(self, q, pool, b) then break end
    end
  end
end

---------------------------------------------------------------- status

-- getStatus() -> {isExiting, errorCode, errorInfo, sentRows, unsentRows,
-- sendFailedRows, threadStatus = {{threadId, sentRows, unsentRows, sendFailedRows}}}
function W:getStatus()
  local s = { isExiting = self.exiting or self.errorCode ~= "", errorCode = self.errorCode,
    errorInfo = self.errorInfo, sentRows = 0, unsentRows = 0, sendFailedRows = 0, threadStatus = {} }
  for i, q in ipairs(self.queues) do
    s.threadStatus[i] = { threadId = i, sentRows = q.sent, unsentRows = q.rows, sendFailedRows = q.failedRows }
    s.sentRows, s.unsentRows = s.sentRows + q.sent, s.unsentRows + q.rows
    s.sendFailedRows = s.sendFailedRows + q.failedRows
  end
  return s
end

-- getUnwrittenData() -> rows (lists of values): the failed rows, then the queued
-- ones, worker by worker; they are taken out of the writer.
function W:getUnwrittenData()
  local rows = {}
  for _, q in ipairs(self.queues) do
    for _, b in ipairs(q.failed) do block.rows(self.layout, b, rows) end
    for _, b in ipairs(q.blocks) do block.rows(self.layout, b, rows) end
    q.failed, q.blocks, q.cur, q.rows, q.failedRows = {}, {}, nil, 0, 0
  end
  return rows
end

-- insertUnwrittenData(rows) -> true, or nil and the first insert's error.
function W:insertUnwrittenData(rows)
  if type(rows) ~= "table" then fail("insertUnwrittenData expects a list of rows") end
  for i, row in ipairs(rows) do
    local ok, err = self:insert(unpack(row, 1, #self.schema.names))
    if not ok then
      err.message = err.message .. (" (row %d of %d)"):format(i, #rows)
      return nil, err
    end
  end
  return true
end

-- waitForThreadCompletion(): the workers send what is queued (unless a request
-- failed), end, and their connections close. The writer takes no rows afterwards.
function W:waitForThreadCompletion()
  self.exiting = true
  for _, q in ipairs(self.queues) do
    if q.waiting then q.waiting = nil; sched.signal(q.bell) end
  end
  sched.wait(self.handles)             -- spawn handles, or nginx light threads
  close_own(self)
end

for _, name in ipairs { "getStatus", "getUnwrittenData", "insertUnwrittenData",
  "waitForThreadCompletion" } do
  local f = W[name]
  W[name] = function(self, ...)
    if getmetatable(self) ~= W then fail(name .. " must be called as writer:" .. name .. "(...)") end
    return f(self, ...)
  end
end

return M
