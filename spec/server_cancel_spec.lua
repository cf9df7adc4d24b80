-- Cancel on the server too (docs/API.md, option cancelOnServer): closing the
-- connection of a cancelled or timed-out task does not stop its job, so the
-- reconnected connection cancels the jobs of the abandoned session on that node.
-- ddbmini keeps running a closed session's job to its end (as a server does) and
-- really stops a sleeping job on cancelConsoleJob; its job list (getConsoleJobs)
-- shows when the server is free again. The figures are printed.

local ddb = require "dolphindb"
local ddbmini = require "support.ddbmini"

local SCALE = (os.getenv("LD_PRELOAD") or ""):find("asan") and 3 or 1

-- Two evaluation threads: one for the sleeping job, one for everything else; a job
-- left running would halve what the server can do.
local srv, watcher
setup(function()
  srv = ddbmini.start { "--threads", "2" }
  watcher = ddb.DBConnectionPool { host = srv.host, port = srv.port, threadNum = 1 }
end)
teardown(function()
  watcher:shutDown()
  srv:stop()
end)

local function jobs_of(session)
  return #watcher:run("exec rootJobId from getConsoleJobs() where sessionId = " .. session)
end

-- Seconds until the session has no job left on the server (nil past `limit`).
local function until_free(session, t0, limit)
  while ddb.now() - t0 < limit do
    if jobs_of(session) == 0 then return ddb.now() - t0 end
    ddb.sleep(0.002)
  end
end

local function open(extra)
  local lines = {}
  local opts = { host = srv.host, port = srv.port, threadNum = 1, logLevel = "info",
    logger = function(level, line) lines[#lines + 1] = level .. ": " .. line end }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return ddb.DBConnectionPool(opts), lines
end

-- Starts sleep(10000) on the pool's only connection; returns the future and the
-- session running it, once the server lists its job.
local function start_sleeper(pool)
  local f = pool:runTaskAsync("sleep(10000); 1")
  local session = pool:stats().connections[1].session_id
  local deadline = ddb.now() + 5 * SCALE
  while jobs_of(session) == 0 and ddb.now() < deadline do ddb.sleep(0.01) end
  assert.equal(1, jobs_of(session))
  return f, session
end

-- The server still has both threads: two sleep(1000) run side by side (one after
-- the other they take 2 s; the margin is for a loaded machine).
local function assert_server_free()
  local two = ddb.DBConnectionPool { host = srv.host, port = srv.port, threadNum = 2 }
  local t0 = ddb.now()
  local a, b = two:runTaskAsync("sleep(1000); 1"), two:runTaskAsync("sleep(1000); 2")
  assert.equal(1, a:result(10 * SCALE))
  assert.equal(2, b:result(10 * SCALE))
  local took = ddb.now() - t0
  two:shutDown()
  assert.is_true(took < 1.7, ("two sleep(1000) took %.3f s: a thread is still busy"):format(took))
end

local function find(lines, pat)
  for _, l in ipairs(lines) do if l:find(pat) then return l end end
end

describe("cancel on the server", function()
  it("a cancelled running task's job is cancelled on the server", function()
    local pool, lines = open()
    local f, session = start_sleeper(pool)
    ddb.sleep(0.2)
    local t0 = ddb.now()
    assert.is_true(f:cancel())
    local took = until_free(session, t0, 2 * SCALE)
    assert.truthy(took, "the job of session " .. session .. " is still listed after 2 s")
    print(("\n  server job gone %.1f ms after cancel()"):format(took * 1000))
    assert.is_true(f:cancelled())
    assert.equal(3, pool:run("1 + 2"))          -- the connection came back
    assert.truthy(find(lines, "^info: connection 0: cancelled 1 job%(s%) of the abandoned session "
      .. session), table.concat(lines, "\n"))
    assert_server_free()
    pool:shutDown()
  end)

  it("a running task that times out has its job cancelled on the server", function()
    local pool, lines = open()
    assert.equal(3, pool:run("1 + 2"))
    local session = pool:stats().connections[1].session_id   -- the only connection
    local t0 = ddb.now()
    local ok, err = pcall(pool.run, pool, { "sleep(10000); 1", timeout = 0.2 })
    assert.is_false(ok)
    assert.is_true(ddb.is_timeout(err), tostring(err))
    local took = until_free(session, t0, 3 * SCALE)
    assert.truthy(took, "the job of session " .. session .. " is still listed")
    print(("\n  server job gone %.1f ms after the 0.2 s timeout"):format((took - 0.2) * 1000))
    assert.truthy(find(lines, "cancelled 1 job%(s%) of the abandoned session " .. session),
      table.concat(lines, "\n"))
    assert_server_free()
    pool:shutDown()
  end)

  it("cancelOnServer = false leaves the job running (as before)", function()
    local pool = open { cancelOnServer = false }
    local f, session = start_sleeper(pool)
    f:cancel()
    ddb.sleep(0.5 * SCALE)
    assert.equal(1, jobs_of(session))           -- still running on the server
    watcher:run("cancelConsoleJob(exec rootJobId from getConsoleJobs() where sessionId = "
      .. session .. ")")
    assert.truthy(until_free(session, ddb.now(), 2 * SCALE))
    pool:shutDown()
  end)

  it("a job that ended by itself leaves nothing to cancel", function()
    local pool, lines = open()
    local f = pool:runTaskAsync("sleep(50); 1")
    local ok = pcall(f.result, f, 0.01)          -- still running: cancel it
    assert.is_false(ok)
    f:cancel()
    assert.equal(3, pool:run("1 + 2"))
    assert.truthy(find(lines, "^info: connection 0: cancelled [01] job%(s%)"), table.concat(lines, "\n"))
    pool:shutDown()
  end)
end)
