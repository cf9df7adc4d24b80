-- Starts and stops Debian's nginx (with lua-nginx-module) for specs and the example.
--
--   local nginx = require "support.nginx"
--   local srv = nginx.start{ workers = 2, ddb_port = 1234, pool_size = 8,
--                            locations = "location /x { ... }" }
--   local status, body = srv:get("/query?script=1%2B2")
--   srv:reload()  srv:worker_pids()  srv:stop()
--
-- The server runs from a fresh prefix directory (nginx -p DIR -c DIR/nginx.conf),
-- daemonized with a pid file, on a free loopback port; it never reads /etc/nginx:
-- the config loads the ndk and lua modules itself and keeps every temp path inside
-- DIR. stop() sends QUIT (graceful) and waits until the master is gone.
local files = require "support.files"

local M = {}

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("*a")
  local ok, _, code = p:close()
  return out, (ok == true or ok == 0) and 0 or (code or 1)
end

local read_file = files.read
local write_file = files.write
local sleep = files.sleep

local function alive(pid)
  local stat = read_file("/proc/" .. pid .. "/stat")
  if not stat then return false end
  local state = stat:match("^%d+ %b() (%a)")
  return state ~= nil and state ~= "Z" and state ~= "X"
end
M.alive = alive

M.repo = (debug.getinfo(1, "S").source:match("^@(.*)/spec/support/nginx%.lua$")) or "."
if M.repo:sub(1, 1) ~= "/" then M.repo = (os.getenv("PWD") or ".") .. "/" .. M.repo end
M.build = os.getenv("DDB_BUILD_DIR") or (M.repo .. "/build")
if M.build:sub(1, 1) ~= "/" then M.build = (os.getenv("PWD") or ".") .. "/" .. M.build end
-- NGINX_BIN, not NGINX: nginx reads NGINX itself (a list of inherited sockets)
M.binary = os.getenv("NGINX_BIN") or "/usr/sbin/nginx"

-- Sanitized builds: scripts/busted.sh preloads the ASan runtime for luajit. nginx
-- (which loads our sanitized .so) needs it too, but the sanitized ddbmini and
-- http_load carry their own runtime and must not get it. isolate_preload() takes it
-- out of this process's environment (so os.execute/io.popen children run without
-- it); nginx is started with it explicitly. A second spec file loads this module
-- again after the first took it out: scripts/busted.sh keeps a copy.
M.preload = os.getenv("LD_PRELOAD") or os.getenv("DDB_ASAN_PRELOAD")
-- s percent-encoded for a query string (unreserved characters stay).
function M.esc(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- Wall-clock seconds with a fraction (date +%s.%N: os.time has whole seconds only).
function M.now()
  local p = io.popen("date +%s.%N")
  local t = tonumber(p:read("*l"))
  p:close()
  return t
end

function M.isolate_preload()
  if not M.preload then return end
  local ffi = require "ffi"
  pcall(ffi.cdef, "int unsetenv(const char *);")
  ffi.C.unsetenv("LD_PRELOAD")
end
M.modules = "/usr/lib/nginx/modules"

local TEMPLATE = [[
load_module ${modules}/ndk_http_module.so;
load_module ${modules}/ngx_http_lua_module.so;
${user_line}daemon on;
master_process on;
worker_processes ${workers};
worker_rlimit_nofile 16384;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log ${log_level};
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  lua_package_path "${repo}/lua/?.lua;${repo}/examples/openresty/?.lua;;";
  lua_package_cpath "${build}/lua/?.so;;";
${http_extra}
  init_worker_by_lua_block {
    require("handler").init{ host = "127.0.0.1", port = ${ddb_port}, threadNum = ${pool_size},
                             socketDir = "${dir}", exitGrace = ${exit_grace}, ${pool_extra} }
  }
  server {
    listen 127.0.0.1:${port} backlog=4096 reuseport;
    location = /fast { content_by_lua_block { ngx.say("fast") } }
    location = /query { content_by_lua_block { require("handler").query() } }
    location = /sleep { content_by_lua_block { require("handler").sleep() } }
${locations}
  }
}
]]

local function render(vars)
  return (TEMPLATE:gsub("%${([%w_]+)}", function(k)
    local v = vars[k]
    if v == nil then error("nginx template: no value for " .. k) end
    return tostring(v)
  end))
end

-- As root, nginx switches its workers to an unprivileged user that could not create
-- sockets in the prefix directory nor read the build tree: keep them as the caller.
function M.user_line()
  local uid = sh("id -u"):gsub("%s+$", "")
  if uid ~= "0" then return "" end
  return "user root root;\n"
end

local Server = {}
Server.__index = Server

-- A port for a server started later (nginx's start() retries on "in use").
local pick_port = require("support.ddbmini").pick_port
M.pick_port = pick_port

-- opts: workers (1), ddb_port (required), pool_size (8), locations (""), exit_grace (5),
-- log_level ("notice"), dir (a fresh mktemp -d), http_extra (directives for the http
-- block, e.g. lua_ssl_trusted_certificate), pool_extra (more `name = value, ` fields
-- for handler.init: pool options).
function M.start(opts)
  assert(opts.ddb_port, "nginx.start: ddb_port is required")
  local dir = opts.dir or sh("mktemp -d /tmp/ddb-nginx-XXXXXX"):gsub("%s+$", "")
  os.execute("mkdir -p " .. dir .. "/tmp " .. dir .. "/logs")
  local last_err
  for _ = 1, 5 do
    local port = opts.port or pick_port()
    local conf = render {
      modules = M.modules, workers = opts.workers or 1, dir = dir, repo = M.repo,
      build = M.build, ddb_port = opts.ddb_port, pool_size = opts.pool_size or 8,
      exit_grace = opts.exit_grace or 5, user_line = M.user_line(), port = port, locations = opts.locations or "", log_level = opts.log_level or "notice",
      http_extra = opts.http_extra or "", pool_extra = opts.pool_extra or "",
    }
    write_file(dir .. "/nginx.conf", conf)
    os.remove(dir .. "/error.log")
    local env = M.preload and ("env LD_PRELOAD=%s "):format(M.preload) or ""
    local out, code = sh(("%s%s -p %s -c %s/nginx.conf -e %s/error.log"):format(env, M.binary, dir, dir, dir))
    if code == 0 then
      local self = setmetatable({ dir = dir, port = port, opts = opts }, Server)
      local deadline = os.time() + 10
      repeat
        local pid = tonumber(read_file(dir .. "/nginx.pid") or "")
        if pid then self.pid = pid end
        if pid and #self:worker_pids() >= (opts.workers or 1) and self:get("/fast") == 200 then
          return self
        end
        sleep(0.05)
      until os.time() > deadline
      last_err = "nginx did not answer /fast: " .. self:log()
      self:stop()
    else
      last_err = out .. (read_file(dir .. "/error.log") or "")
      if not last_err:find("in use", 1, true) then break end
    end
  end
  error("cannot start nginx: " .. tostring(last_err))
end

-- GET path -> status, body (curl).
function Server:get(path)
  local out = sh(("curl -s -m 20 -o - -w '\\n%%{http_code}' 'http://127.0.0.1:%d%s'"):format(self.port, path))
  local body, status = out:match("^(.*)\n(%d+)$")
  return tonumber(status) or 0, body or out
end

function Server:log()
  return read_file(self.dir .. "/error.log") or ""
end

-- Pids of the master's live children (the workers), from /proc.
function Server:worker_pids()
  local pids = {}
  if not self.pid then return pids end
  local list = read_file(("/proc/%d/task/%d/children"):format(self.pid, self.pid)) or ""
  for pid in list:gmatch("%d+") do
    if alive(pid) then pids[#pids + 1] = tonumber(pid) end   -- not an unreaped zombie
  end
  return pids
end

-- Number of threads of a process (from /proc/PID/status), nil if it is gone.
function M.thread_count(pid)
  local s = read_file("/proc/" .. pid .. "/status")
  return s and tonumber(s:match("Threads:%s*(%d+)"))
end

function M.wait_gone(pid, timeout)
  local deadline = os.time() + (timeout or 10)
  while alive(pid) and os.time() <= deadline do sleep(0.05) end
  return not alive(pid)
end

-- HUP: new workers start, old ones exit gracefully. Returns the old workers' pids.
function Server:reload()
  local old = self:worker_pids()
  os.execute("kill -HUP " .. self.pid)
  return old
end

-- Files ddb-ngx-*.sock left in the prefix directory (socketDir).
function Server:socket_files()
  local out = sh("ls " .. self.dir .. " | grep '^ddb-ngx-.*\\.sock$' || true")
  local files = {}
  for f in out:gmatch("[^\n]+") do files[#files + 1] = f end
  return files
end

-- Graceful stop (QUIT); waits for the master, KILLs after `timeout` seconds.
function Server:stop(timeout)
  if not self.pid then return true end
  local pid = self.pid
  os.execute("kill -QUIT " .. pid .. " 2>/dev/null")
  local clean = M.wait_gone(pid, timeout or 10)
  if not clean then os.execute("kill -KILL " .. pid .. " 2>/dev/null") end
  self.pid = nil
  return clean
end

function Server:remove()
  if self.dir and self.dir:match("^/tmp/ddb%-nginx%-") then os.execute("rm -rf " .. self.dir) end
end

-- bench/http_load (built into the build dir): `total` GETs of `path`, `conc` at a
-- time; optionally `probes` GETs of probe_path once probe_after answers came. Returns
-- its key=value figures (ok, non200, errors, wall_ms, p50_ms, ...) and `raw`.
function M.http_load(port, path, conc, total, probe_path, probes, probe_after)
  local cmd = ("%s/http_load 127.0.0.1 %d '%s' %d %d"):format(M.build, port, path, conc, total)
  if probe_path then cmd = cmd .. (" '%s' %d %d"):format(probe_path, probes, probe_after) end
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("*a")
  p:close()
  local r = { raw = out }
  for k, v in out:gmatch("([%w_]+)=([%d%.%-]+)") do r[k] = tonumber(v) end
  assert(r.ok, "http_load failed: " .. out)
  return r
end

-- Starts http_load in the background; returns a function that waits and parses it.
function M.http_load_bg(port, path, conc, total)
  local out = os.tmpname()
  os.execute(("%s/http_load 127.0.0.1 %d '%s' %d %d > %s 2>&1 &"):format(M.build, port, path,
    conc, total, out))
  return function(timeout)
    local deadline = os.time() + (timeout or 30)
    repeat
      local f = io.open(out)
      local s = f and f:read("*a") or ""
      if f then f:close() end
      if s:find("max_ms=", 1, true) then
        os.remove(out)
        local r = { raw = s }
        for k, v in s:gmatch("([%w_]+)=([%d%.%-]+)") do r[k] = tonumber(v) end
        return r
      end
      os.execute("sleep 0.05")
    until os.time() > deadline
    error("background http_load did not finish")
  end
end

return M
