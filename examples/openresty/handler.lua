-- handler.lua — serves DolphinDB query results as JSON from nginx workers.
--
--   init_worker_by_lua_block { require("handler").init() }
--   location /query { content_by_lua_block { require("handler").query() } }
--
-- init() opens one pool per worker (DDB_HOST / DDB_PORT / DDB_POOL_SIZE from the
-- environment: declare them with `env` in nginx.conf; or pass them, and the pool
-- options in PASSED below, to init{...}). query() runs the script in
-- ?script=... (or the request body of a POST) and answers
--   200 {"ok":true,"result":...,"ms":...}
--   400 {"ok":false,"error":"..."}  for DolphinDB errors (syntax, unknown function...)
--   503 when the pool is not open in this worker.
-- sleep() answers /sleep?ms=N by running "sleep(N); N" (what the benchmark uses).
local ddb = require "dolphindb"   -- the same module as outside nginx (its scheduler: dolphindb.ngx_sched)
local json = require "json"

local M = {}

-- Pool options init() passes on as given (TLS: the CA comes from nginx.conf's
-- lua_ssl_trusted_certificate, see docs/SECURITY.md).
local PASSED = { "enableSSL", "sslVerify", "sslServerName", "sslCAFile", "userid", "password",
                 "loginMethod", "compress", "taskTimeout", "highAvailability",
                 "highAvailabilitySites" }

function M.init(opts)
  opts = opts or {}
  local host = opts.host or os.getenv("DDB_HOST") or "127.0.0.1"
  local port = opts.port or tonumber(os.getenv("DDB_PORT") or "8848")
  local size = opts.threadNum or tonumber(os.getenv("DDB_POOL_SIZE") or "8")
  local popts = { host = host, port = port, threadNum = size, reConnect = true,
    socketDir = opts.socketDir, exitGrace = opts.exitGrace }
  for _, k in ipairs(PASSED) do popts[k] = opts[k] end
  local ok, pool = pcall(ddb.DBConnectionPool, popts)
  if not ok then
    ngx.log(ngx.ERR, "cannot open the DolphinDB pool: ", pool)
    return
  end
  M.pool = pool
end

local function reply(status, body)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.say(json.encode(body))
end

local function run_and_reply(...)
  if not M.pool then return reply(503, { ok = false, error = "the DolphinDB pool is not open" }) end
  ngx.update_time()
  local t0 = ngx.now()
  local ok, v = pcall(M.pool.run, M.pool, ...)
  ngx.update_time()
  if not ok then return reply(400, { ok = false, error = tostring(v) }) end
  return reply(200, { ok = true, result = v, ms = math.floor((ngx.now() - t0) * 1000 + 0.5) })
end

function M.query()
  local script = ngx.var.arg_script and ngx.unescape_uri(ngx.var.arg_script)
  if not script and ngx.req.get_method() == "POST" then
    ngx.req.read_body()
    script = ngx.req.get_body_data()
  end
  if not script or script == "" then
    return reply(400, { ok = false, error = "pass the script as ?script=... or a POST body" })
  end
  return run_and_reply(script)
end

function M.sleep()
  local ms = tonumber(ngx.var.arg_ms or "0")
  if not ms or ms < 0 or ms ~= math.floor(ms) then
    return reply(400, { ok = false, error = "ms must be an integer >= 0" })
  end
  return run_and_reply(("sleep(%d); %d"):format(ms, ms))
end

return M
