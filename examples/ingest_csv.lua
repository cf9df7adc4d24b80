-- Ingest a CSV file into a partitioned DFS table with PartitionedTableAppender, in
-- batches, printing progress. The file has a header line and the columns
--   id,ts,sym,price        e.g.  17,2024-01-03 09:30:00.125,IBM,101.25
-- (ts in UTC; an empty field is NULL). Without a file name a sample file of ROWS rows
-- is written first. The table dfs://ingest_csv/quotes (VALUE partitions by date) is
-- created if it does not exist.
--
--   ddblua examples/ingest_csv.lua [FILE] [BATCH_ROWS] [ROWS]
--   (defaults: a sample file in /tmp, 100000, 300000)
local ddb = require "dolphindb"
local here = debug.getinfo(1, "S").source:match("^@(.*/)[^/]*$") or "./"
local server = dofile(here .. "example_server.lua").open()

local file, batch_rows, rows = arg[1], tonumber(arg[2]) or 100000, tonumber(arg[3]) or 300000
if file == "" then file = nil end

-- Days since 1970-01-01 of a proleptic Gregorian date.
local function days(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

-- "2024-01-03 09:30:00.125" -> ms since the epoch (a TIMESTAMP cell), or NULL.
local function timestamp(s)
  local y, mo, d, h, mi, sec, ms = s:match("^(%d+)-(%d+)-(%d+) (%d+):(%d+):(%d+)%.?(%d*)$")
  if not y then return ddb.null end
  local t = days(tonumber(y), tonumber(mo), tonumber(d)) * 86400 + h * 3600 + mi * 60 + sec
  return t * 1000 + (tonumber(ms) or 0)
end

local function write_sample(path, n)
  local f = assert(io.open(path, "w"))
  f:write("id,ts,sym,price\n")
  local syms = { "IBM", "AAPL", "MSFT", "GOOG", "AMZN" }
  for i = 1, n do
    local sec = (i * 37) % 86400
    local price = i % 97 == 0 and "" or ("%.2f"):format(100 + (i % 1000) / 8)
    f:write(("%d,2024-01-%02d %02d:%02d:%02d.%03d,%s,%s\n"):format(i, 1 + i % 5, math.floor(sec / 3600),
      math.floor(sec / 60) % 60, sec % 60, i % 1000, syms[i % 5 + 1], price))
  end
  f:close()
end

local pool = ddb.DBConnectionPool(server.host, server.port, 4, server.userid, server.password)
pool:run([[if (!existsDatabase("dfs://ingest_csv")) {
  db = database("dfs://ingest_csv", VALUE, 2024.01.01..2024.01.05)
  db.createPartitionedTable(table(1:0, `id`ts`sym`price, [INT, TIMESTAMP, SYMBOL, DOUBLE]), "quotes", `ts)
}; 1]])
local pta = ddb.PartitionedTableAppender("dfs://ingest_csv", "quotes", "ts", pool)

if not file then
  file = os.tmpname()
  write_sample(file, rows)
  print(("wrote a sample of %d rows to %s"):format(rows, file))
end

-- One batch of parsed lines as columns (the target's order), appended at once.
local function new_batch() return { {}, {}, {}, {}, n = 0 } end
local function add(b, line)
  local id, ts, sym, price = line:match("^([^,]*),([^,]*),([^,]*),([^,]*)$")
  if not id then error("dolphindb example: not a line of 4 fields: " .. line, 0) end
  local n = b.n + 1
  b.n = n
  b[1][n] = tonumber(id) or ddb.null
  b[2][n] = timestamp(ts)
  b[3][n] = sym
  b[4][n] = tonumber(price) or ddb.null
end
local function flush(b)
  for c = 1, 4 do b[c].n = b.n end
  return pta:append { b[1], b[2], b[3], b[4] }
end

local t0, written, batch = ddb.now(), 0, new_batch()
local f = assert(io.open(file, "r"))
f:read("*l")                                   -- the header
for line in f:lines() do
  add(batch, line)
  if batch.n == batch_rows then
    written = written + flush(batch)
    batch = new_batch()
    io.write(("\r%d rows written, %.0f rows/s"):format(written, written / (ddb.now() - t0)))
    io.flush()
  end
end
f:close()
if batch.n > 0 then written = written + flush(batch) end
local dt = ddb.now() - t0
print(("\r%d rows written in %.2f s (%.0f rows/s)"):format(written, dt, written / dt))
print(("the table holds %d rows"):format(pool:run([[exec count(*) from loadTable("dfs://ingest_csv", "quotes")]])))
if not arg[1] or arg[1] == "" then os.remove(file) end
pool:shutDown()
server.close()
