-- dolphindb.writers — the table writers of the Python API, over a pool or a Session.
--
--   local app = ddb.TableAppender(dbPath, tableName, pool)      -- or {dbPath=, tableName=, pool=}
--   app:append(t)                  -> rows appended
--   local up = ddb.TableUpserter(dbPath, tableName, pool, {ignoreNull=, keyColNames=, sortColumns=})
--   up:upsert(t)                   -> rows, inserted, updated
--   local pta = ddb.PartitionedTableAppender(dbPath, tableName, partitionColName, pool)
--   pta:append(t)                  -> rows appended
--
-- dbPath "" (or nil) names an in-memory shared table `tableName`; anything else the
-- DFS table loadTable(dbPath, tableName). Each writer reads schema(...) once, when it
-- is made; t is a ddb table (ddb.table{...}, a query result) or a Lua table of
-- columns (a list in the target's order, or keyed by column name), fitted to the
-- target's column types by dolphindb.fit. Nothing here is a special request: every
-- write is a function call whose name is a partial application
-- (`tableInsert{loadTable("dfs://db", "pt")}`) and whose one argument is the table.
--
-- Errors: misuse (bad arguments, a table that does not fit the schema, a row with
-- no partition) raises "dolphindb: <Writer>: ..." / "dolphindb: append: ..." at the
-- caller; a failed request raises its error value, as pool:run does. A failed group
-- of PartitionedTableAppender raises an error value that says which rows were not
-- written (see append below).
local ffi = require "ffi"
local core = require "dolphindb.core"
local errors = require "dolphindb.errors"
local sched = require "dolphindb.sched"
local value = require "dolphindb.value"
local columns = require "dolphindb.columns"
local fit = require "dolphindb.fit"
local partition = require "dolphindb.partition"

local M = {}

local ok_new, new_table = pcall(require, "table.new")       -- LuaJIT 2.1: preallocated tables
if not ok_new then new_table = function() return {} end end

local function fail(msg) error("dolphindb: " .. msg, 0) end

---------------------------------------------------------------- arguments

local function check_text(what, s)
  if type(s) ~= "string" or s == "" then fail(what .. " must be a non-empty string, got " .. type(s)) end
  if s:find("[\"'\\%c]") then fail(what .. " must not contain quotes, backslashes or control characters") end
end

local function check_name(what, s)
  if type(s) ~= "string" or not s:match("^[%a_][%w_]*$") then
    fail(what .. " must be a name (letters, digits, _), got " .. (type(s) == "string" and ("'" .. s .. "'") or type(s)))
  end
end

-- A DBConnectionPool or a Session (dolphindb.session), either face (dolphindb.safe's
-- objects hold the raising one in _inner).
local Session = require("dolphindb.session").Session
local function check_pool(pool)
  if type(pool) == "table" and rawget(pool, "_inner") then pool = pool._inner end
  if getmetatable(pool) == Session then return pool end
  if type(pool) ~= "table" or type(pool.run) ~= "function" or type(pool.runTaskAsync) ~= "function" or
     type(pool.getConnectionCount) ~= "function" then
    fail("pool must be a DBConnectionPool or a Session, got " .. type(pool))
  end
  return pool
end

-- The script that names the target table, and a description for messages.
local function target_of(dbPath, tableName)
  if dbPath == nil or dbPath == "" then
    check_name("tableName", tableName)
    return tableName, ("shared table %s"):format(tableName)
  end
  check_text("dbPath", dbPath)
  check_text("tableName", tableName)
  return ('loadTable("%s", "%s")'):format(dbPath, tableName), ("%s/%s"):format(dbPath, tableName)
end

-- Positional arguments, or one table of named ones.
local function args_of(first, ...)
  for i = 1, select("#", ...) do
    if select(i, ...) ~= nil then return nil end
  end
  if type(first) == "table" and (first.pool or first.tableName) then return first end
  return nil
end

---------------------------------------------------------------- schema

local function list(v)
  if v == nil then return {} end
  if type(v) == "table" and not v.type then
    local l = {}
    for i = 1, (v.n or #v) do l[i] = v[i] end
    return l
  end
  return { v }
end

-- schema(target) read into {names, types, scales, target, partition = {...}}.
local function read_schema(pool, expr, target)
  local s = pool:run("schema(" .. expr .. ")")
  local defs = s.colDefs
  local names, types, extra = list(defs:col("name")), list(defs:col("typeInt")), defs:col("extra")
  local scales = {}
  for i = 1, #names do
    local e = extra and extra[i]
    scales[i] = type(e) == "number" and e or nil
  end
  local part
  if s.partitionColumnName ~= nil then
    part = { names = list(s.partitionColumnName), index = list(s.partitionColumnIndex),
             types = list(s.partitionColumnType), kinds = list(s.partitionType) }
    part.schemes = #part.names > 1 and list(s.partitionSchema) or { s.partitionSchema }
  end
  return { names = names, types = types, scales = scales, target = target, partition = part,
           keys = s.keyColumns }
end

local function writer(kind, dbPath, tableName, pool)
  pool = check_pool(pool)
  local expr, target = target_of(dbPath, tableName)
  local schema = read_schema(pool, expr, target)
  return { kind = kind, pool = pool, dbPath = dbPath or "", tableName = tableName,
           expr = expr, schema = schema }
end

local function count(v)
  if v == nil then return 0 end
  return tonumber(v)
end

local function fitted_table(self, t)
  local hs, n = fit.table(t, self.schema)
  return columns.table(self.schema.names, hs), n, hs
end

---------------------------------------------------------------- TableAppender

local TableAppender = { __name = "dolphindb.TableAppender" }
TableAppender.__index = TableAppender

function M.TableAppender(dbPath, tableName, pool)
  local a = args_of(dbPath, tableName, pool)
  if a then dbPath, tableName, pool = a.dbPath, a.tableName, a.pool end
  local self = writer("TableAppender", dbPath, tableName, pool)
  self.fn = "tableInsert{" .. self.expr .. "}"
  return setmetatable(self, TableAppender)
end

-- append(t) -> the number of rows the server appended (tableInsert's reply).
local function check_self(self, cls, call)
  if getmetatable(self) ~= cls then fail(("%s must be called as %s"):format(call:match("^%a+:(%a+)"), call)) end
end

function TableAppender:append(t)
  check_self(self, TableAppender, "app:append(t)")
  local tbl = fitted_table(self, t)
  return count(self.pool:run(self.fn, tbl))
end

---------------------------------------------------------------- TableUpserter

local TableUpserter = { __name = "dolphindb.TableUpserter" }
TableUpserter.__index = TableUpserter

local function names_literal(what, v)
  if type(v) == "string" then v = { v } end
  if type(v) ~= "table" or #v == 0 then fail(what .. " must be a list of column names") end
  for i, n in ipairs(v) do check_name(("%s[%d]"):format(what, i), n) end
  return "`" .. table.concat(v, "`")
end

local UPSERT_OPTIONS = { ignoreNull = true, keyColNames = true, sortColumns = true }

local function upsert_function(expr, opts)
  if opts ~= nil and type(opts) ~= "table" then fail("options must be a table, got " .. type(opts)) end
  opts = opts or {}
  for k in pairs(opts) do
    if not UPSERT_OPTIONS[k] then fail("unknown option '" .. tostring(k) .. "'") end
  end
  if opts.ignoreNull ~= nil and type(opts.ignoreNull) ~= "boolean" then
    fail("ignoreNull must be a boolean, got " .. type(opts.ignoreNull))
  end
  local fn = ("tableUpsert{%s,,ignoreNull=%s"):format(expr, tostring(opts.ignoreNull == true))
  if opts.keyColNames ~= nil then fn = fn .. ",keyColNames=" .. names_literal("keyColNames", opts.keyColNames) end
  if opts.sortColumns ~= nil then fn = fn .. ",sortColumns=" .. names_literal("sortColumns", opts.sortColumns) end
  return fn .. "}"
end

function M.TableUpserter(dbPath, tableName, pool, opts)
  local a = args_of(dbPath, tableName, pool, opts)
  if a then
    dbPath, tableName, pool = a.dbPath, a.tableName, a.pool
    opts = { ignoreNull = a.ignoreNull, keyColNames = a.keyColNames, sortColumns = a.sortColumns }
    for k in pairs(a) do
      if not UPSERT_OPTIONS[k] and k ~= "dbPath" and k ~= "tableName" and k ~= "pool" then
        fail("unknown option '" .. tostring(k) .. "'")
      end
    end
  end
  upsert_function("x", opts)                     -- options checked before any request
  local self = writer("TableUpserter", dbPath, tableName, pool)
  self.fn = upsert_function(self.expr, opts)
  return setmetatable(self, TableUpserter)
end

-- upsert(t) -> rows, inserted, updated (tableUpsert's reply: the pair inserted, updated).
function TableUpserter:upsert(t)
  check_self(self, TableUpserter, "up:upsert(t)")
  local tbl = fitted_table(self, t)
  local r = self.pool:run(self.fn, tbl)
  if type(r) == "table" then
    local ins, upd = count(r[1]), count(r[2])
    return ins + upd, ins, upd
  end
  return count(r)
end

---------------------------------------------------------------- PartitionedTableAppender

local PartitionedTableAppender = { __name = "dolphindb.PartitionedTableAppender" }
PartitionedTableAppender.__index = PartitionedTableAppender

-- The level of the partition scheme on column `name`.
local function level_of(schema, name)
  local p = schema.partition
  if not p then fail(("%s is not partitioned (Can't find specified partition column name.)"):format(schema.target)) end
  for i, n in ipairs(p.names) do
    if n == name then
      return { column = p.index[i] + 1, domain = partition.domain(p.kinds[i], p.schemes[i], p.types[i]) }
    end
  end
  fail(("'%s' is not a partitioning column of %s (those are: %s)"):format(tostring(name), schema.target,
    table.concat(p.names, ", ")))
end

function M.PartitionedTableAppender(dbPath, tableName, partitionColName, pool)
  local a = args_of(dbPath, tableName, partitionColName, pool)
  if a then
    dbPath, tableName, partitionColName, pool = a.dbPath, a.tableName, a.partitionColName, a.pool
  end
  if type(partitionColName) ~= "string" then
    fail("partitionColName must be a string, got " .. type(partitionColName))
  end
  local self = writer("PartitionedTableAppender", dbPath, tableName, pool)
  local level = level_of(self.schema, partitionColName)
  self.column, self.domain, self.partitionColName = level.column, level.domain, partitionColName
  self.fn = "tableInsert{" .. self.expr .. "}"
  return setmetatable(self, PartitionedTableAppender)
end

local function bad_row(self, col, row)
  local name = self.schema.names[self.column]
  local v = (columns.is_handle(col) and columns.view(col) or col)[row + 1]
  fail(("row %d: the partitioning column '%s' (%s) is NULL or outside the partition scheme of %s; nothing was written")
    :format(row + 1, name, tostring(v), self.schema.target))
end

-- Each row's group (key mod ngroups) as an INT vector handle, its place in the group
-- (rows keep their order) and the group sizes (FFI arrays): one pass, no Lua table
-- per row. A symbol column is keyed per entry of its base (Domain:symbol_keys).
-- Raises for the first row with no partition, before anything is sent.
local function group_of_rows(self, ph, n, ngroups)
  local keys, idx, nb = self.domain:symbol_keys(ph)
  if keys then                                -- a symbol's group (or -1) per entry
    for e = 0, nb - 1 do keys[e] = keys[e] < 0 and -1 or keys[e] % ngroups end
  else
    local bad
    keys, bad = self.domain:keys(ph)
    if bad then bad_row(self, ph, bad) end
  end
  local sizes, place = ffi.new("int32_t[?]", ngroups), ffi.new("int32_t[?]", n)
  local gh = columns.new(columns.T.INT, n)
  local gp = columns.cells(gh)
  for i = 0, n - 1 do
    local g
    if idx then
      local e = idx[i]
      if e < 0 or e >= nb then fail(("row %d: symbol index %d outside its base"):format(i + 1, e)) end
      g = keys[e]
      if g < 0 then bad_row(self, ph, i) end
    else
      g = keys[i] % ngroups
    end
    gp[i], place[i] = g, sizes[g]
    sizes[g] = sizes[g] + 1
  end
  return gh, sizes, place
end

-- The row numbers (0-based, an int32 array) of group g, and their count.
local function rows_in_group(gh, n, g)
  local gp, m = columns.cells(gh), 0
  for i = 0, n - 1 do if gp[i] == g then m = m + 1 end end
  local idx, j = ffi.new("int32_t[?]", math.max(m, 1)), 0
  for i = 0, n - 1 do
    if gp[i] == g then idx[j] = i; j = j + 1 end
  end
  return idx, m
end

-- Rows idx[0..m-1] of an input column, in the same form: a Lua list (a typed
-- vector keeps its metatable, so its type), or a handle for views and handles.
local function rows_of(c, idx, m)
  if type(c) == "table" then
    local sub = new_table(m, 1)
    sub.n = m
    for j = 0, m - 1 do sub[j + 1] = c[idx[j] + 1] end
    return setmetatable(sub, getmetatable(c))
  end
  return columns.take(value._to_handle(c), idx, m)
end

-- The table of rows idx[0..m-1] of the input, fitted to the schema (the rows of a
-- failed append, err.unwritten).
local function sub_table(self, cols, idx, m)
  local sub, schema = {}, self.schema
  for c, col in ipairs(cols) do sub[c] = rows_of(col, idx, m) end
  return columns.table(schema.names, (fit.table(sub, schema)))
end

local function label_of(schema, c) return ("column %d ('%s')"):format(c, schema.names[c]) end

-- The columns of each group (tables[g + 1]). A column of plain Lua values of a
-- fixed-width type is built straight into its groups (fit.column_groups); any other
-- is fitted whole, and those are split together by the C core in one pass
-- (core._obj_split; a symbol column's parts share its symbol base). Misfits raise
-- here, column by column, before anything is sent.
local function group_tables(self, cols, ph, gh, sizes, place, ngroups, n)
  local schema = self.schema
  local groups = { ng = ngroups, group = columns.cells(gh), place = place, counts = sizes }
  local parts, whole, splittable = {}, {}, {}
  for c, col in ipairs(cols) do
    local tid, scale, label = schema.types[c], schema.scales[c], label_of(schema, c)
    parts[c] = c ~= self.column and fit.column_groups(col, tid, scale, label, groups) or nil
    if not parts[c] then
      local h = c == self.column and ph or fit.column(col, tid, scale, label)
      if columns.splittable(h) then
        whole[#whole + 1], splittable[#splittable + 1] = c, h
      else                                    -- array vectors and the like: through Lua
        parts[c] = {}
        for g = 1, ngroups do parts[c][g] = columns.take(h, rows_in_group(gh, n, g - 1)) end
      end
    end
  end
  if #splittable > 0 then
    local split = core._obj_split(splittable, gh, ngroups)
    for k, c in ipairs(whole) do parts[c] = split[k] end
  end
  local tables = {}
  for g = 1, ngroups do
    local tcols = {}
    for c = 1, #parts do tcols[c] = parts[c][g] end
    tables[g] = tcols
  end
  return tables
end

-- The input fitted whole (one group: a Session, a pool of one connection).
local function whole_table(self, cols, ph)
  local schema, hs = self.schema, {}
  for c, col in ipairs(cols) do
    hs[c] = c == self.column and ph or fit.column(col, schema.types[c], schema.scales[c], label_of(schema, c))
  end
  return { hs }
end

-- The error value of a partly failed append: the first failure's kind and texts,
-- plus which rows were not written (row numbers of t, ascending) and those rows.
local function partial_failure(self, cols, failed, written, nsent, gh, n)
  local rows, first = {}, failed[1].err
  for _, f in ipairs(failed) do
    local idx, m = rows_in_group(gh, n, f.group)
    for j = 0, m - 1 do rows[#rows + 1] = idx[j] + 1 end
  end
  table.sort(rows)
  local idx = ffi.new("int32_t[?]", math.max(#rows, 1))
  for j, r in ipairs(rows) do idx[j - 1] = r - 1 end
  local err = errors.new(first.kind, ("dolphindb: PartitionedTableAppender: %d of %d requests failed, %d rows "
    .. "not written (err.rows, err.unwritten), %d written: %s"):format(#failed, nsent, #rows, written,
    tostring(first)), first.task_id)
  err.server_error, err.state = first.server_error, first.state
  err.rows, err.written = rows, written
  err.unwritten = columns.decoded(sub_table(self, cols, idx, #rows))
  err.errors = {}
  for i, f in ipairs(failed) do err.errors[i] = f.err end
  return err
end

-- Submits one request per non-empty group; after each, the event loop gets a turn
-- so that the request leaves while the next group is being built (not in nginx,
-- whose cosockets write at once and whose ngx.sleep(0) is a slow path).
local IN_NGINX = sched == package.loaded["dolphindb.ngx_sched"]

-- A Session has one connection, so one group, written by run; its outcome in the
-- shape of a future's (exception, result).
local function run_now(pool, fn, tbl)
  local ok, v = pcall(pool.run, pool, fn, tbl)
  if not ok and not errors.is_error(v) then error(v, 0) end      -- misuse goes on up
  return { exception = function() return (not ok) and v or nil end,
           result = function() return v end }
end

local function send_groups(self, tables, sizes, ngroups)
  local sent = {}
  local session = getmetatable(self.pool) == Session
  for g = 0, ngroups - 1 do
    if sizes[g] > 0 then
      local tbl = columns.table(self.schema.names, tables[g + 1])
      local f = session and run_now(self.pool, self.fn, tbl) or self.pool:runTaskAsync(self.fn, tbl)
      sent[#sent + 1] = { group = g, future = f }
      if not IN_NGINX and not session then sched.sleep(0) end
    end
  end
  return sent
end

-- append(t) -> rows appended. Rows are grouped by key mod (connections of the pool),
-- so that no two requests write one partition; each group is one tableInsert, and
-- the requests run in parallel on the pool's connections.
-- If any fails, raises an error value (kind of the first failure) with .rows (the
-- row numbers of t that were not written), .unwritten (those rows as a table, to
-- append again), .written (rows the other requests appended) and .errors (each
-- failure). A row with no partition (NULL, outside a RANGE or LIST scheme) raises
-- before anything is sent.
function PartitionedTableAppender:append(t)
  check_self(self, PartitionedTableAppender, "pta:append(t)")
  local schema = self.schema
  local cols, n = fit.input_columns(t, schema.names, schema.target)
  if n == 0 then return 0 end
  local pc = self.column
  local ph = fit.column(cols[pc], schema.types[pc], schema.scales[pc], label_of(schema, pc))
  local ngroups = getmetatable(self.pool) == Session and 1 or self.pool:getConnectionCount()
  local gh, sizes, place = group_of_rows(self, ph, n, ngroups)
  local tables = ngroups == 1 and whole_table(self, cols, ph) or
    group_tables(self, cols, ph, gh, sizes, place, ngroups, n)
  local sent = send_groups(self, tables, sizes, ngroups)
  local written, failed = 0, {}
  for _, s in ipairs(sent) do
    local err = s.future:exception()
    if err then
      s.err = err
      failed[#failed + 1] = s
    else
      written = written + count(s.future:result())
    end
  end
  if #failed > 0 then error(partial_failure(self, cols, failed, written, #sent, gh, n), 0) end
  return written
end

---------------------------------------------------------------- misuse at the caller

-- Misuse strings are raised at the caller's line, naming the method (errors.named);
-- error values pass unchanged.
-- The batched writer lives in dolphindb.mtw (it uses the helpers above).
function M.MultithreadedTableWriter(opts) return require("dolphindb.mtw").new(opts) end

for name, fn in pairs(M) do M[name] = errors.named(fn, name) end
M._classes = { TableAppender, TableUpserter, PartitionedTableAppender }   -- for docs_spec
-- for dolphindb.mtw: opening a target (schema) and choosing a partition level
M._internal = { writer = writer, level_of = level_of, check_name = check_name }
for _, cls in ipairs { TableAppender, TableUpserter, PartitionedTableAppender } do
  for _, name in ipairs { "append", "upsert" } do
    if rawget(cls, name) then cls[name] = errors.named(cls[name], name) end
  end
end

return M
