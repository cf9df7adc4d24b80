-- cosocket_client.lua — the baseline of bench/bench_nginx.sh: a minimal DolphinDB
-- client on nginx cosockets, with no thread, no C pool and no bridge. The nginx
-- adapter (dolphindb.ngx) is measured against it.
--
--   init_worker_by_lua_block { require("cosocket_client").init{ host =, port =, size = 8 } }
--   location = /cosocket { content_by_lua_block { require("cosocket_client").query() } }
--
--   local pool = require("cosocket_client").new{ host = "127.0.0.1", port = 8848, size = 8 }
--   local value, err, kind = pool:run("1+1")    -- kind: "server" | "busy" | "transport"
--
-- Per worker at most `size` connections (default 8). Each connection lives in a slot
-- 1..size; a free list of slots is guarded by an ngx.semaphore whose count is the
-- number of free slots, so a request waits (FIFO, with a timeout) for a slot instead of
-- opening a connection. A cosocket object cannot outlive the request that made it, so
-- between requests a slot's connection sits in nginx's keepalive pool under a name of
-- its own ("ddbco:<host>:<port>:<slot>", pool size 1): the slot's next request gets
-- exactly that connection back from connect(), and the slot remembers its session id.
-- (nginx's own queue, connect(..., {pool_size =, backlog =}), is not used: in
-- lua-nginx-module 0.10.23 releasing several connections in one pass wakes only one
-- waiter, and resumed connects do not recheck pool_size.)
--
-- Protocol (see src/proto/ddb_proto.c): a new connection sends
--   "API 0 <len> / 0_1_4_2\nconnect\n"   (or "connect\nlogin\n<user>\n<pwd>\nfalse")
-- and reads "<session> <count> <endian>\nOK\n"; each query sends
--   "API2 <session> <len> / 16_1_4_64\nscript\n<text>"      (16: clear memory)
-- and reads optional "MSG\n<text>\0" blocks, the header line "<session> <count>
-- <endian>", then "OK" (or the error message, then nothing), then <count> (0 or 1)
-- serialized objects. The object carries no length prefix: its end is where the codec
-- finishes. It is decoded by the project's C codec (ddb.decode), the same decoder the
-- pool uses; bytes are read until the decoder stops answering "truncated".
local ddb = require "dolphindb"      -- under nginx: dolphindb.ngx, which has decode
local semaphore = require "ngx.semaphore"

local decode = ddb.decode
local tcp = ngx.socket.tcp
local concat = table.concat
local find, match, sub = string.find, string.match, string.sub

local M = {}

local CHUNK = 1048576          -- receiveany limit while reading an object

local Pool = {}
Pool.__index = Pool

local DEFAULTS = {
  host = "127.0.0.1", port = 8848, size = 8,
  connect_timeout = 5000, send_timeout = 10000, read_timeout = 60000,  -- ms
  wait_timeout = 60,                -- s a request waits for a free connection
  keepalive_timeout = 600000,       -- ms an idle connection stays in nginx's pool
}

function M.new(opts)
  opts = opts or {}
  local self = setmetatable({}, Pool)
  for k, v in pairs(DEFAULTS) do self[k] = opts[k] == nil and v or opts[k] end
  self.user, self.password = opts.user, opts.password or ""
  if self.user and (find(self.user, "\n", 1, true) or find(self.password, "\n", 1, true)) then
    error("cosocket_client: user or password contains a line feed", 2)
  end
  assert(type(self.size) == "number" and self.size >= 1, "cosocket_client: size must be >= 1")
  self.sema = assert(semaphore.new(self.size))
  self.free, self.sids, self.connect_opts = {}, {}, {}
  for i = 1, self.size do
    self.free[i] = self.size + 1 - i          -- a stack: slot 1 is used first
    self.connect_opts[i] = { pool = ("ddbco:%s:%d:%d"):format(self.host, self.port, i) }
  end
  local body = self.user and ("connect\nlogin\n%s\n%s\nfalse"):format(self.user, self.password)
                          or "connect\n"
  self.connect_request = ("API 0 %d / 0_1_4_2\n"):format(#body) .. body
  return self
end

-- Reads one response. Returns true, value (nil for no object) | false, message, kind
-- where kind "server" means the server answered with an error line (the connection is
-- fine) and "transport" that the connection must be closed; `started` (4th result) is
-- true once some byte of the response arrived.
local function read_response(sock)
  local line, err = sock:receive("*l")
  if not line then return false, "receive: " .. err, "transport", false end
  while line == "MSG" do                  -- print() output before the header: skipped
    local text
    text, err = sock:receiveuntil("\0")()
    if not text then return false, "receive: " .. err, "transport", true end
    line, err = sock:receive("*l")
    if not line then return false, "receive: " .. err, "transport", true end
  end
  local sid, count, little = match(line, "^(%d+) (%d+) ([01])$")
  if not sid then
    return false, "malformed response header line: " .. sub(line, 1, 60), "transport", true
  end
  local status
  status, err = sock:receive("*l")
  if not status then return false, "receive: " .. err, "transport", true end
  if status ~= "OK" then return false, status, "server", true end
  if count == "0" then return true, nil, sid end
  if count ~= "1" then return false, "response announces " .. count .. " objects", "transport", true end
  if little ~= "1" then return false, "big-endian responses are not supported", "transport", true end
  local buf
  buf, err = sock:receiveany(CHUNK)
  if not buf then return false, "receive: " .. err, "transport", true end
  local parts
  while true do
    local v, used = decode(buf)
    if type(used) == "number" then
      if used ~= #buf then return false, "bytes after the object", "transport", true end
      return true, v, sid
    end
    if not find(used, "^truncated") then return false, "bad object: " .. used, "transport", true end
    local more
    more, err = sock:receiveany(CHUNK)
    if not more then return false, "receive: " .. err, "transport", true end
    parts = parts or {}
    parts[1], parts[2] = buf, more
    buf = concat(parts, "", 1, 2)
  end
end

local function handshake(self, sock)
  local ok, err = sock:send(self.connect_request)
  if not ok then return nil, "send: " .. err end
  local done, v, sid = read_response(sock)
  if not done then return nil, "connect request: " .. v end
  return sid
end

-- One query on the connection of `slot`. A reused keepalive connection that fails
-- before any byte of the answer (closed by the server while idle) is replaced once.
local function run_on(self, slot, script)
  local body_len = 7 + #script          -- "script\n" .. script
  for attempt = 1, 2 do
    local sock = tcp()
    sock:settimeouts(self.connect_timeout, self.send_timeout, self.read_timeout)
    local ok, err = sock:connect(self.host, self.port, self.connect_opts[slot])
    if not ok then
      self.sids[slot] = nil
      return false, "connect: " .. err, "transport"
    end
    local reused = sock:getreusedtimes() > 0 and self.sids[slot] ~= nil
    local sid = reused and self.sids[slot]
    if not reused then
      sid, err = handshake(self, sock)
      if not sid then
        sock:close()
        self.sids[slot] = nil
        return false, err, "transport"
      end
      self.sids[slot] = sid
    end
    local started
    ok, err = sock:send({ "API2 ", sid, " ", body_len, " / 16_1_4_64\nscript\n", script })
    local value, kind
    if ok then
      ok, value, kind, started = read_response(sock)
    else
      value, kind, started = "send: " .. err, "transport", false
    end
    if ok or kind == "server" then
      sock:setkeepalive(self.keepalive_timeout, 1)
      if ok then return true, value end
      return false, value, kind
    end
    sock:close()
    self.sids[slot] = nil
    if not (reused and not started and attempt == 1) then return false, value, kind end
  end
end

-- run(script) -> value | nil, message, kind ("server", "busy", "transport", "error").
function Pool:run(script)
  if find(script, "\0", 1, true) then return nil, "script contains a NUL byte", "error" end
  local ok, err = self.sema:wait(self.wait_timeout)
  if not ok then return nil, "no free connection: " .. err, "busy" end
  local free = self.free
  local n = #free
  local slot = free[n]
  free[n] = nil
  -- pcall: whatever happens, the slot goes back (a lost slot would shrink the pool).
  local pok, done, value, kind = pcall(run_on, self, slot, script)
  free[#free + 1] = slot
  self.sema:post(1)
  if not pok then return nil, tostring(done), "error" end
  if not done then return nil, value, kind end
  return value
end

-- The request handler of the bench: /cosocket?script=... answered like the example's
-- handler.query() (examples/openresty/handler.lua): 200 {"ok":true,"result":..,"ms":..};
-- a server error line -> 500 with the message, no free connection -> 503, the
-- connection failing -> 502.
local json = require "json"          -- examples/openresty/json.lua, the handler's encoder
local STATUS = { server = 500, busy = 503, transport = 502, error = 500 }

function M.init(opts) M.pool = M.new(opts) end

local function reply(status, body)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.say(json.encode(body))
end

function M.query()
  local script = ngx.var.arg_script and ngx.unescape_uri(ngx.var.arg_script)
  if not script or script == "" then
    return reply(400, { ok = false, error = "pass the script as ?script=..." })
  end
  if not M.pool then return reply(503, { ok = false, error = "the pool is not open" }) end
  ngx.update_time()
  local t0 = ngx.now()
  local v, err, kind = M.pool:run(script)
  ngx.update_time()
  if err then return reply(STATUS[kind] or 500, { ok = false, error = err }) end
  return reply(200, { ok = true, result = v, ms = math.floor((ngx.now() - t0) * 1000 + 0.5) })
end

return M
