-- Starts and stops ddbmini (the bundled test server) for specs.
--
--   local srv = require("support.ddbmini").start{ "--require-login", "--user", "bob:pw" }
--   ... connect to "127.0.0.1", srv.port ...
--   srv:stop()
--
-- The binary is $DDB_BUILD_DIR/ddbmini (default ./build/ddbmini). The server listens
-- on an ephemeral port; start() waits for its "ddbmini listening on HOST:PORT" line.
-- stop() sends SIGTERM and waits until the process is gone (SIGKILL after 5 s).
local M = {}

local files = require "support.files"
local shell_quote = files.quote
local sleep = files.sleep
local read_file = files.read

local function alive(pid)
  -- the process exists and is not a zombie waiting for its (re)parent to reap it
  local f = io.open("/proc/" .. pid .. "/stat", "r")
  if not f then return false end
  local stat = f:read("*l") or ""
  f:close()
  local state = stat:match("^%d+ %b() (%a)")
  return state ~= nil and state ~= "Z" and state ~= "X"
end

-- A port nothing listens on yet, for a server started on it later: random in
-- 20000..31999, below Linux's ephemeral range (32768..60999). There no outgoing
-- connection of the machine holds it (in the ephemeral range other tests' clients
-- soon take a picked port), and a pool retrying a connection to it is never handed
-- it as its own source port (a TCP self-connect).
function M.pick_port()
  local f = io.open("/dev/urandom", "rb")
  local b1, b2 = f:read(2):byte(1, 2)
  f:close()
  return 20000 + (b1 * 256 + b2) % 12000
end

function M.binary()
  local dir = os.getenv("DDB_BUILD_DIR") or "build"
  return dir .. "/ddbmini"
end

local Server = {}
Server.__index = Server

-- One RSA key pair per test process for the encrypted login (ddbmini --rsa-key):
-- each server would otherwise make a 2048-bit key on its first login, which takes
-- seconds on a loaded machine and made the first open of a spec time out. nil when
-- the openssl command is missing (then each server makes its own).
local rsa_key
local function shared_rsa_key()
  if rsa_key == nil then
    local path = os.tmpname()
    local ok = os.execute("openssl genrsa -out " .. shell_quote(path) .. " 2048 >/dev/null 2>&1")
    rsa_key = (ok == 0 or ok == true) and path or false
    if not rsa_key then os.remove(path) end
  end
  return rsa_key or nil
end

-- Servers still running when the Lua state closes (a spec that failed before its
-- stop()) are stopped then: a finalizer on a sentinel runs at lua_close.
local running = {}
local sentinel = newproxy(true)
getmetatable(sentinel).__gc = function()
  for srv in pairs(running) do srv:stop() end
  if rsa_key then os.remove(rsa_key) end
end
M._sentinel = sentinel

-- Stops the server and waits for it to exit. Idempotent.
function Server:stop()
  if not self.pid then return end
  os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
  local deadline = os.time() + 5
  while alive(self.pid) and os.time() <= deadline do sleep(0.02) end
  if alive(self.pid) then os.execute("kill -KILL " .. self.pid .. " 2>/dev/null") end
  self.pid = nil
  running[self] = nil
  os.remove(self.out)
end

-- SIGKILL: the server dies at once, as in a crash (its connections get RSTs or EOFs).
function Server:kill()
  if not self.pid then return end
  os.execute("kill -KILL " .. self.pid .. " 2>/dev/null")
  local deadline = os.time() + 5
  while alive(self.pid) and os.time() <= deadline do sleep(0.01) end
  self.pid = nil
  running[self] = nil
  os.remove(self.out)
end

-- The server's stdout+stderr so far (useful in failure messages).
function Server:output()
  return read_file(self.out) or ""
end

-- args: a list of extra command-line arguments (strings or numbers).
function M.start(args)
  args = args or {}
  local bin = M.binary()
  local f = io.open(bin, "r")
  if not f then error("ddbmini not found at " .. bin .. " (set DDB_BUILD_DIR)") end
  f:close()
  local out = os.tmpname()
  -- LD_PRELOAD carries the ASan runtime for luajit in sanitizer runs; ddbmini has
  -- its own (static) runtime and refuses a second one
  local cmd = { "exec env -u LD_PRELOAD", shell_quote(bin), "--port", "0" }
  local key = shared_rsa_key()           -- first: a --rsa-key in args wins
  if key then cmd[#cmd + 1] = "--rsa-key " .. shell_quote(key) end
  for _, a in ipairs(args) do cmd[#cmd + 1] = shell_quote(a) end
  local p = io.popen(table.concat(cmd, " ") .. " >" .. shell_quote(out) .. " 2>&1 & echo $!")
  local pid = tonumber(p:read("*l"))
  p:close()
  if not pid then error("could not start ddbmini") end
  local srv = setmetatable({ pid = pid, out = out, host = "127.0.0.1" }, Server)
  running[srv] = true
  local deadline = os.time() + 10
  while true do
    local text = read_file(out) or ""
    local host, port = text:match("ddbmini listening on ([%d%.]+):(%d+)")
    if port then
      srv.host, srv.port = host, tonumber(port)
      return srv
    end
    if not alive(pid) or os.time() > deadline then
      srv.pid = alive(pid) and pid or nil
      srv:stop()
      error("ddbmini did not start: " .. text)
    end
    sleep(0.01)
  end
end

return M
