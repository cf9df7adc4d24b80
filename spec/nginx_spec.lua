-- dolphindb inside Debian's nginx (the same module, on dolphindb.ngx_sched's cosockets)
-- with lua-nginx-module: the spec starts ddbmini and nginx itself (nginx -p DIR, a
-- loopback port, stopped by pid) and drives it over HTTP with curl and
-- $DDB_BUILD_DIR/http_load (bench/http_load.c).
--
-- Checked: results come back as JSON; DolphinDB errors reach the handler as Lua
-- errors; the whole API (run forms, futures, addTask/isFinished/getData, session ids,
-- stats) in content, access, timer and ngx.thread contexts; 2000 concurrent requests;
-- a fast location stays fast while 200 slow queries are parked; HUP reload and QUIT
-- leave no threads, no socket files and no request without an answer.

local ddbmini = require "support.ddbmini"
local nginx = require "support.nginx"
local json = require "dkjson"

nginx.isolate_preload()

local POOL = 8
local SANITIZED = (function()
  local f = io.open(nginx.build .. "/CMakeCache.txt")
  local cache = f and f:read("*a") or ""
  if f then f:close() end
  return cache:find("DDB_SANITIZE:BOOL=ON", 1, true) ~= nil
end)()
local WORKERS = 2

local http_load, http_load_bg = nginx.http_load, nginx.http_load_bg

local function decode(body)
  local v, _, err = json.decode(body)
  assert(v, ("not JSON (%s): %s"):format(tostring(err), body))
  return v
end

-- GET path from nginx ng: status 200, and the body decoded from JSON.
local function get_json(ng, path)
  local status, body = ng:get(path)
  assert.are.equal(200, status, body)
  return decode(body)
end

local esc = nginx.esc

local function bad_log_lines(log)
  local bad = {}
  for line in log:gmatch("[^\n]+") do
    if line:find("%[alert%]") or line:find("%[crit%]") or line:find("%[emerg%]")
       or (line:find("%[error%]") and not line:find("expected in spec", 1, true)) then
      bad[#bad + 1] = line
    end
  end
  return bad
end

-- Locations the spec uses besides the example's /query, /sleep and /fast. Each
-- answers JSON of what it observed.
local LOCATIONS = [==[
    location = /call { content_by_lua_block {
      local pool = require("handler").pool
      local v = pool:run("add", 40, 2)
      local w = pool:run{ "add", 1.5, 2, clearMemory = true }
      ngx.say(require("json").encode({ add = v, addf = w }))
    } }
    location = /access {
      access_by_lua_block { ngx.ctx.v = require("handler").pool:run("6*7") }
      content_by_lua_block { ngx.say(require("json").encode({ v = ngx.ctx.v })) }
    }
    location = /threads { content_by_lua_block {
      local pool = require("handler").pool
      local t0 = ngx.now()
      local a = ngx.thread.spawn(function() return pool:run("sleep(200); 1") end)
      local b = ngx.thread.spawn(function() return pool:run("sleep(200); 2") end)
      local _, x = ngx.thread.wait(a)
      local _, y = ngx.thread.wait(b)
      ngx.update_time()
      ngx.say(require("json").encode({ sum = x + y, ms = (ngx.now() - t0) * 1000 }))
    } }
    location = /timer { content_by_lua_block {
      local pool = require("handler").pool
      local sema = require("ngx.semaphore").new(0)
      local out = {}
      assert(ngx.timer.at(0, function()
        out.ok, out.v = pcall(pool.run, pool, "5*5")
        sema:post(1)
      end))
      assert(sema:wait(5))
      ngx.say(require("json").encode(out))
    } }
    location = /errors { content_by_lua_block {
      local pool = require("handler").pool
      local out = {}
      out.ok1, out.err1 = pcall(pool.run, pool, "1 +")
      out.ok2, out.err2 = pcall(pool.run, pool, "nosuchfunction(1)")
      out.ok3, out.err3 = pcall(pool.run, pool, "add", function() end)
      out.ok4, out.err4 = pcall(pool.run, pool, { "1", bogus = 1 })
      out.ok5, out.err5 = pcall(pool.run, pool, "1\0 + 2")        -- issue 12 §3
      out.ok6, out.err6 = pcall(pool.addTask, pool, "add\0x", 5, 1, 2)
      local ddb = require "dolphindb"
      out.ok7, out.err7 = pcall(ddb.DBConnectionPool, { host = "127.0.0.1\0evil.example", port = 1 })
      out.ok8, out.err8 = pcall(ddb.symbol, "a\0b")
      out.after = pool:run("1+1")            -- the pool still works
      ngx.log(ngx.NOTICE, "errors location done")
      ngx.say(require("json").encode(out))
    } }
    location = /future { content_by_lua_block {
      local pool = require("handler").pool
      local out = {}
      local f = pool:runTaskAsync("sleep(50); 7")
      out.done_before = f:done()
      out.result = f:result(5)
      out.done_after = f:done()
      out.again = f:result()                  -- a result can be read twice
      local slow = pool:runTaskAsync("sleep(3000); 1")
      out.t_ok, out.t_err = pcall(slow.result, slow, 0.05)
      out.t_is_timeout = require("dolphindb").is_timeout(out.t_err)
      out.cancel = slow:cancel()
      out.cancelled = slow:cancelled()
      out.c_ok, out.c_err = pcall(slow.result, slow)
      local bad = pool:runTaskAsync("nosuchfunction(2)")
      out.exception = bad:exception(5)
      local g = pool:runTaskAsync("add", 2, 3)
      local sema = require("ngx.semaphore").new(0)
      g:add_done_callback(function(fut) out.cb = fut:result(); sema:post(1) end)
      assert(sema:wait(5))
      out.id_negative = f:task_id() < 0
      local p1, p2 = pool:runTaskAsync("sleep(100); 1"), pool:runTaskAsync("sleep(100); 1")
      out.ids_distinct = p1:task_id() < 0 and p2:task_id() < 0 and p1:task_id() ~= p2:task_id()
      ngx.say(require("json").encode(out))
    } }
    location = /addtask { content_by_lua_block {
      local pool = require("handler").pool
      local out = {}
      out.id = pool:addTask("sleep(100); 99", 12)
      out.finished_early = pool:isFinished(12)
      out.early_ok, out.early_err = pcall(pool.getData, pool, 12)
      ngx.sleep(0.3)                          -- the test waits, not the library
      out.finished = pool:isFinished(12)
      out.data = pool:getData(12)
      out.again_ok, out.again_err = pcall(pool.getData, pool, 12)
      pool:addTask("nosuchfunction(3)", 13)
      local f = pool:runTaskAsync("sleep(50); 0")   -- wait without polling
      f:result(5)
      ngx.sleep(0.05)
      out.failed_finished = pool:isFinished(13)
      out.failed_ok, out.failed_err = pcall(pool.getData, pool, 13)
      ngx.say(require("json").encode(out))
    } }
    location = /helpers { content_by_lua_block {
      local ddb = require "dolphindb.ngx"
      local pool = require("handler").pool
      local t0 = ddb.now()
      local fs = { pool:runTaskAsync("sleep(100); 1"), pool:runTaskAsync("sleep(100); 2") }
      local th = ddb.spawn(function() return pool:run("3") end)
      local _, pending = ddb.wait({ fs[1], fs[2], th }, 5)
      local all = #pending == 0
      local _, spending = ddb.wait({ pool:runTaskAsync("sleep(2000); 1") }, 0.05)
      local short = #spending == 0
      ddb.sleep(0.01)
      ngx.say(require("json").encode({ all = all, short = short, sum = fs[1]:result() + fs[2]:result(),
        ms = (ddb.now() - t0) * 1000, null_is_shared = ddb.null ~= nil }))
    } }
    location = /safe { content_by_lua_block {
      local safe = require "dolphindb.safe"          -- wraps dolphindb.ngx in here
      local errors = require "dolphindb.errors"
      local raising = require("handler").pool
      local pool = safe.DBConnectionPool("127.0.0.1", raising.port, 1)
      local out = { flavour = safe._raising == require "dolphindb.ngx" }
      out.v = pool:run("1+2")
      local v, err = pool:run("nosuchfunction(1)")
      out.v_nil, out.kind, out.is_error = v == nil, err.kind, errors.is_error(err)
      local rok, rerr = pcall(raising.run, raising, "nosuchfunction(1)")
      out.same = not rok and getmetatable(rerr) == getmetatable(err) and rerr.kind == err.kind
        and rerr.server_error == err.server_error
      local f = pool:runTaskAsync("sleep(2000); 1")
      local fv, ferr = f:result(0.05)
      out.f_nil, out.timeout = fv == nil, safe.is_timeout(ferr)
      f:cancel()
      out.mok, out.misuse = pcall(pool.run, pool, { "1", bogus = 1 })
      pool:shutDown()
      ngx.say(require("json").encode(out))
    } }
    location = /inspect { content_by_lua_block {
      local pool = require("handler").pool
      local ids = pool:getSessionId()
      local s = pool:stats()
      ngx.say(require("json").encode({ nids = #ids, id1 = ids[1], conns = s.conns,
        ready = s.conns_ready, state = s.state, waiting = s.inflight,
        count = pool:getConnectionCount() }))
    } }
]==]

describe("dolphindb in nginx workers", function()
  local srv, ng

  setup(function()
    srv = ddbmini.start {}
    ng = nginx.start { workers = WORKERS, ddb_port = srv.port, pool_size = POOL,
                       locations = LOCATIONS, exit_grace = 1.5 }
  end)

  teardown(function()
    if ng then ng:stop(); ng:remove() end
    if srv then srv:stop() end
  end)

  it("serves query results as JSON", function()
    local status, body = ng:get("/query?script=" .. esc("1+2"))
    assert.are.equal(200, status)
    local r = decode(body)
    assert.is_true(r.ok)
    assert.are.equal(3, r.result)

    status, body = ng:get("/query?script=" .. esc("table(1..3 as x, `a`b`c as y)"))
    assert.are.equal(200, status)
    r = decode(body)
    assert.are.same({ "x", "y" }, r.result.columns)
    assert.are.same({ 1, 2, 3 }, r.result.data.x)
    assert.are.same({ "a", "b", "c" }, r.result.data.y)
    assert.are.equal(3, r.result.rows)

    status, body = ng:get("/query?script=" .. esc("2024.01.02"))
    assert.are.equal(200, status)
    assert.are.equal("2024.01.02", decode(body).result)

    status, body = ng:get("/sleep?ms=50")
    assert.are.equal(200, status)
    r = decode(body)
    assert.are.equal(50, r.result)
    assert.is_true(r.ms >= 45, "a sleep(50) query took " .. r.ms .. " ms")
  end)

  it("runs function calls with arguments and options", function()
    local r = get_json(ng, "/call")
    assert.are.equal(42, r.add)
    assert.are.equal(3.5, r.addf)
  end)

  it("delivers DolphinDB errors to the handler as Lua errors", function()
    local status, body = ng:get("/query?script=" .. esc("nosuchfunction(1)"))
    assert.are.equal(400, status)
    local r = decode(body)
    assert.is_false(r.ok)
    assert.matches("server error", r.error, 1, true)
    assert.matches("nosuchfunction", r.error, 1, true)

    status, body = ng:get("/errors")
    assert.are.equal(200, status, body)
    r = decode(body)
    assert.is_false(r.ok1)
    assert.are.equal("server", r.err1.kind)          -- an error value (docs/API.md "Errors")
    assert.matches("^dolphindb: task %-?%d+: server error", r.err1.message)
    assert.is_false(r.ok2)
    assert.matches("nosuchfunction", r.err2.message, 1, true)
    assert.matches("nosuchfunction", r.err2.server_error, 1, true)
    assert.is_false(r.ok3)
    assert.matches("argument 1", r.err3, 1, true)
    assert.is_false(r.ok4)
    assert.matches("unknown option 'bogus'", r.err4, 1, true)
    assert.is_false(r.ok5)
    assert.matches("^dolphindb: run: the script %(or function name%) contains a NUL byte", r.err5)
    assert.is_false(r.ok6)
    assert.matches("^dolphindb: addTask: .*NUL byte", r.err6)
    assert.is_false(r.ok7)
    assert.matches("^dolphindb: DBConnectionPool: option 'host' contains a NUL byte", r.err7)
    assert.is_false(r.ok8)
    assert.matches("^dolphindb: symbol: the text contains a NUL byte", r.err8)
    assert.are.equal(2, r.after)
  end)

  it("works in access_by_lua, timers and ngx.thread light threads", function()
    local status, body = ng:get("/access")
    assert.are.equal(200, status, body)
    assert.are.equal(42, decode(body).v)

    status, body = ng:get("/timer")
    assert.are.equal(200, status, body)
    local r = decode(body)
    assert.is_true(r.ok)
    assert.are.equal(25, r.v)

    status, body = ng:get("/threads")
    assert.are.equal(200, status, body)
    r = decode(body)
    assert.are.equal(3, r.sum)
    -- both light threads wait at once: ~200 ms, not 400
    assert.is_true(r.ms < 350, "two parallel sleep(200) took " .. r.ms .. " ms")
  end)

  it("futures: result, done, timeout, cancel, exception, callbacks", function()
    local r = get_json(ng, "/future")
    assert.is_false(r.done_before)
    assert.are.equal(7, r.result)
    assert.is_true(r.done_after)
    assert.are.equal(7, r.again)
    assert.is_false(r.t_ok)
    assert.are.equal("timeout", r.t_err.kind)
    assert.is_true(r.t_is_timeout)
    assert.matches("^dolphindb: timed out after 0%.05 s waiting for the result of task %-%d+", r.t_err.message)
    assert.is_true(r.cancel)
    assert.is_true(r.cancelled)
    assert.is_false(r.c_ok)
    assert.are.equal("cancelled", r.c_err.kind)
    assert.matches("was cancelled", r.c_err.message, 1, true)
    assert.are.equal("server", r.exception.kind)
    assert.matches("nosuchfunction", r.exception.message, 1, true)
    assert.are.equal(5, r.cb)
    assert.is_true(r.id_negative)
    assert.is_true(r.ids_distinct)             -- known at once, before completion
  end)

  it("addTask / isFinished / getData", function()
    local r = get_json(ng, "/addtask")
    assert.are.equal(12, r.id)
    assert.is_false(r.finished_early)
    assert.is_false(r.early_ok)
    assert.matches("not finished", r.early_err, 1, true)
    assert.is_true(r.finished)
    assert.are.equal(99, r.data)
    assert.is_false(r.again_ok)
    assert.matches("does not exist", r.again_err, 1, true)
    assert.is_true(r.failed_finished)
    assert.is_false(r.failed_ok)
    assert.are.equal("server", r.failed_err.kind)
    assert.matches("nosuchfunction", r.failed_err.message, 1, true)
  end)

  it("spawn / wait / sleep / now helpers", function()
    local r = get_json(ng, "/helpers")
    assert.is_true(r.all)
    assert.is_false(r.short)
    assert.are.equal(3, r.sum)
    assert.is_true(r.ms >= 100 and r.ms < 400, "helpers took " .. r.ms .. " ms")
    assert.is_true(r.null_is_shared)
  end)

  it("require 'dolphindb.safe' wraps the nginx flavour: nil, err for failures, misuse raises", function()
    local r = get_json(ng, "/safe")
    assert.is_true(r.flavour)
    assert.are.equal(3, r.v)
    assert.is_true(r.v_nil)
    assert.are.equal("server", r.kind)
    assert.is_true(r.is_error)
    assert.is_true(r.same)              -- the raising flavour's very error value
    assert.is_true(r.f_nil)
    assert.is_true(r.timeout)
    assert.is_false(r.mok)
    assert.matches("dolphindb: run: unknown option 'bogus'", r.misuse, 1, true)
  end)

  it("getSessionId and stats", function()
    local r = get_json(ng, "/inspect")
    assert.are.equal(POOL, r.nids)
    assert.matches("^%d+$", r.id1)
    assert.are.equal(POOL, r.conns)
    assert.are.equal(POOL, r.count)
    assert.are.equal("OPEN", r.state)
    assert.is_true(r.waiting >= 0)                  -- tasks of this worker not delivered yet
  end)

  it("2000 concurrent requests: 2000 quick queries through 8 connections per worker, well under a second beyond the HTTP cost", function()
    -- 2000 simultaneous TCP connections cost nginx and the kernel the same with or
    -- without a query (and a lot on this shared 2-core machine): /fast, no query, is
    -- the baseline measured in the same run
    -- Up to 3 rounds (other jobs share the 2 cores); every round must answer all 2000.
    local extra = SANITIZED and 5000 or 600
    local seen = {}
    for _ = 1, 3 do
      local base = http_load(ng.port, "/fast", 2000, 2000)
      assert.are.equal(2000, base.ok, base.raw)
      local r = http_load(ng.port, "/query?script=" .. esc("1+1"), 2000, 2000)
      assert.are.equal(2000, r.ok, r.raw)
      seen[#seen + 1] = ("%.0f ms (/fast alone %.0f ms)"):format(r.wall_ms, base.wall_ms)
      if r.wall_ms < base.wall_ms + extra then break end
    end
    print("\n2000 concurrent 1+1 requests: " .. table.concat(seen, ", then "))
    local last = seen[#seen]
    local q, b = last:match("^(%d+) ms %(/fast alone (%d+) ms%)$")
    assert.is_true(tonumber(q) < tonumber(b) + extra,
      "2000 concurrent quick queries, every round over the bound: " .. table.concat(seen, "; "))
  end)

  it("2000 concurrent requests each waiting on sleep(50) finish at the pool's bound", function()
    -- Each connection runs one request at a time, so 2000 x 50 ms over WORKERS x POOL
    -- connections cannot take less than `bound`; the adapter must add little to it.
    local bound = 2000 * 50 / (WORKERS * POOL)
    local r = http_load(ng.port, "/sleep?ms=50", 2000, 2000)
    assert.are.equal(2000, r.ok, r.raw)
    assert.are.equal(0, r.errors)
    print(("\n2000 x sleep(50) over %d x %d connections: %.0f ms (bound %.0f ms, +%.1f%%)")
      :format(WORKERS, POOL, r.wall_ms, bound, (r.wall_ms / bound - 1) * 100))
    local limit = SANITIZED and bound * 2 + 1000 or bound * 1.25 + 500
    assert.is_true(r.wall_ms < limit,
      ("took %.0f ms, bound %.0f ms"):format(r.wall_ms, bound))
  end)

  -- 5 ms in release builds; ASan/UBSan builds run everything several times slower.
  local FAST_MS = SANITIZED and 25 or 5
  it(("a fast location answers in < %d ms (p90) while 200 slow queries are in flight"):format(FAST_MS), function()
    -- Up to 3 rounds (other jobs share the 2 cores); the last round is judged.
    local r, seen = nil, {}
    for _ = 1, 3 do
      r = http_load(ng.port, "/sleep?ms=300", 200, 200, "/fast", 30, 300)
      assert.are.equal(200, r.ok, r.raw)
      assert.are.equal(30, r.probe_ok, r.raw)
      assert.is_true(r.probe_inflight_min >= 150, "only " .. r.probe_inflight_min .. " slow requests in flight")
      seen[#seen + 1] = ("median %.2f ms, p90 %.2f ms, max %.2f ms"):format(r.probe_p50_ms,
        r.probe_p90_ms, r.probe_max_ms)
      if r.probe_p90_ms < FAST_MS and r.probe_max_ms < 4 * FAST_MS then break end
    end
    print(("\n/fast with %d+ slow requests parked: %s"):format(r.probe_inflight_min,
      table.concat(seen, "; then ")))
    -- 9 in 10 answers under the bound; the machine's 2 cores are shared with ddbmini,
    -- the client and other jobs, so a single scheduling hiccup may pass it, but no
    -- answer may wait for the parked queries (>= 300 ms)
    assert.is_true(r.probe_p90_ms < FAST_MS, "/fast answers: " .. table.concat(seen, "; "))
    assert.is_true(r.probe_max_ms < 4 * FAST_MS, "/fast answers: " .. table.concat(seen, "; "))
  end)

  it("reload (HUP): in-flight requests are answered, old workers exit with their connections closed", function()
    local workers = ng:worker_pids()
    assert.are.equal(WORKERS, #workers)
    for _, pid in ipairs(workers) do
      assert.are.equal(1, nginx.thread_count(pid), "worker threads: nginx's own only")
    end
    -- 6 slow requests hold at most 6 of a worker's 8 connections, so the 10 quick
    -- ones finish well within exitGrace (1.5 s) even if they all land on that worker
    local quick = http_load_bg(ng.port, "/sleep?ms=100", 10, 10)
    local slow = http_load_bg(ng.port, "/sleep?ms=8000", 6, 6)
    os.execute("sleep 0.15")
    ng:reload()
    for _, pid in ipairs(workers) do
      assert.is_true(nginx.wait_gone(pid, 8), "old worker " .. pid .. " did not exit")
    end
    local q = quick()
    assert.are.equal(10, q.ok, q.raw)               -- finished within exitGrace
    local s = slow()
    -- past exitGrace (1.5 s) the pool shut down: every slow request was answered, with
    -- the task's "shut down" error
    assert.are.equal(0, s.errors, s.raw)
    assert.are.equal(6, s.non200, s.raw)
    -- answered long before their sleep(8000) could have ended
    assert.is_true(s.max_ms < 6000, "slow requests waited " .. s.max_ms .. " ms")
    local new = ng:worker_pids()
    assert.are.equal(WORKERS, #new)
    os.execute("sleep 0.2")
    for _, pid in ipairs(new) do
      assert.are.equal(1, nginx.thread_count(pid))
    end
    assert.are.same({}, ng:socket_files())
    local status, body = ng:get("/query?script=" .. esc("1+2"))
    assert.are.equal(200, status, body)
    local _, joined = ng:log():gsub("connections closed", "")
    assert.is_true(joined >= WORKERS, "pool shutdown logged " .. joined .. " times")
  end)

  it("shutdown (QUIT) is clean: no socket files, no errors in the log", function()
    local workers = ng:worker_pids()
    local log_before = select(2, ng:log():gsub("connections closed", ""))
    assert.is_true(ng:stop(10), "nginx did not exit after QUIT")
    for _, pid in ipairs(workers) do assert.is_false(nginx.alive(pid)) end
    local log = ng:log()
    local _, joined = log:gsub("connections closed", "")
    assert.are.equal(log_before + #workers, joined)
    assert.are.same({}, ng:socket_files())
    assert.are.same({}, bad_log_lines(log))
    ng:remove()
    ng = nil
  end)
end)

describe("the OpenResty example (examples/openresty/run.sh)", function()
  it("starts nginx with the example config, answers queries and errors as JSON, stops", function()
    local srv = ddbmini.start {}
    local dir = os.tmpname()
    os.remove(dir)
    local port = nginx.pick_port()   -- unseeded math.random gave every run the same port
    -- A sanitized core.so needs the ASan runtime in nginx, and in nginx only: curl
    -- with it preloaded can hang in a futex (seen in CI), so run.sh gets a wrapper as
    -- its nginx binary. No LUA_PATH: ";;" in the config's lua_package_path would bring
    -- in the spec's.
    local nginx_bin = nginx.binary
    if nginx.preload then
      nginx_bin = dir .. ".nginx"
      local f = assert(io.open(nginx_bin, "w"))
      f:write(("#!/bin/sh\nLD_PRELOAD='%s' exec '%s' \"$@\"\n"):format(nginx.preload, nginx.binary))
      f:close()
      os.execute("chmod +x '" .. nginx_bin .. "'")
    end
    local env = ("env -u LUA_PATH -u LUA_CPATH DDB_HOST=127.0.0.1 DDB_PORT=%d PORT=%d "
      .. "WORKERS=1 DDB_BUILD_DIR='%s' NGINX_BIN='%s'"):format(srv.port, port, nginx.build, nginx_bin)
    local function sh(cmd)        -- LuaJIT's popen close gives no exit status: echo it
      local p = io.popen(cmd .. " 2>&1; echo \"rc=$?\"")
      local out = p:read("*a")
      p:close()
      local rc = tonumber(out:match("rc=(%d+)%s*$"))
      return rc == 0, (out:gsub("rc=%d+%s*$", ""))
    end
    local started, out = sh(("%s bash '%s/examples/openresty/run.sh' --start '%s'")
      :format(env, nginx.repo, dir))
    local ok, err = pcall(function()
      assert(started, "run.sh --start failed: " .. out)
      local _, body = sh(("curl -s -m 30 'http://127.0.0.1:%d/query?script=%s'"):format(port, esc("1+2")))
      local r = decode(body)
      assert.is_true(r.ok, body)
      assert.are.equal(3, r.result)
      local _, bad = sh(("curl -s -m 30 -w ' %%{http_code}' 'http://127.0.0.1:%d/query?script=%s'")
        :format(port, esc("nosuchfunction(1)")))
      assert.matches("Can't recognize function name", bad)
      assert.matches(" 400$", bad)
    end)
    sh(("bash '%s/examples/openresty/run.sh' --stop '%s'; rm -rf '%s' '%s.nginx'"):format(nginx.repo,
      dir, dir, dir))
    srv:stop()
    assert(ok, err)
  end)
end)
