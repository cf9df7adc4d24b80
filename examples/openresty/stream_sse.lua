-- stream_sse.lua — a DolphinDB stream table as server-sent events, from nginx workers.
--
--   location = /events { content_by_lua_block { require("stream_sse").serve() } }
--
-- GET /events?table=trades[&offset=N][&limit=N] subscribes (one subscription per
-- client request, on its own connection) and sends one event per row:
--     id: <the row's offset>
--     data: {"col": value, ...}
-- A browser's EventSource reconnects by itself with a Last-Event-ID header: the
-- stream then resumes after that row. Without offset or Last-Event-ID only new rows
-- come. `limit` ends the response after that many rows (for tests and curl). A
-- comment line goes out every 15 s without rows, so a gone client is noticed.
-- The DolphinDB node: DDB_HOST / DDB_PORT (as handler.lua), or M.host / M.port.
local ddb = require "dolphindb"
local json = require "json"

local M = {}

local count = 0     -- action names must differ between the subscriptions of a worker

local function node()
  return M.host or os.getenv("DDB_HOST") or "127.0.0.1",
         M.port or tonumber(os.getenv("DDB_PORT") or "8848")
end

local function bad(status, text)
  ngx.status = status
  ngx.say(text)
end

-- The offset to start at: after the Last-Event-ID the browser sends, or ?offset=.
local function start_offset(args)
  local last = tonumber(ngx.var.http_last_event_id or "")
  if last then return last + 1 end
  return tonumber(args.offset or "-1")
end

function M.serve()
  local args = ngx.req.get_uri_args()
  local table_name, limit = args.table, tonumber(args.limit or "")
  local offset = start_offset(args)
  if type(table_name) ~= "string" or not table_name:match("^[%a][%w_]*$") then
    return bad(400, "pass ?table=<a shared stream table>")
  end
  if not offset or offset < -1 or offset ~= math.floor(offset) then
    return bad(400, "offset must be an integer >= -1")
  end
  count = count + 1
  local host, port = node()
  local ok, sub = pcall(ddb.subscribe, { host = host, port = port, tableName = table_name,
    actionName = ("sse_%d_%d"):format(ngx.worker.pid(), count), offset = offset })
  if not ok then return bad(502, "cannot subscribe: " .. tostring(sub)) end
  ngx.header["Content-Type"] = "text/event-stream"
  ngx.header["Cache-Control"] = "no-cache"
  ngx.header["X-Accel-Buffering"] = "no"
  local sent = 0
  while not limit or sent < limit do
    local alive, row, offset_of = pcall(sub.next, sub, 15)
    if not alive then              -- the subscription ended: the browser retries
      ngx.log(ngx.WARN, tostring(row))
      break
    end
    if row then
      ngx.print("id: ", offset_of, "\ndata: ", json.encode(row), "\n\n")
      sent = sent + 1
    else
      ngx.print(": idle\n\n")
    end
    if not ngx.flush(true) then break end       -- the client went away
  end
  sub:unsubscribe()
end

return M
