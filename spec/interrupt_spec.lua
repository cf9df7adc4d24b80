-- Ctrl-C (issue 18 item 5): a real SIGINT sent to a child process (plain luajit or
-- ddblua) while it waits for ddbmini over a real socket. The wait must raise an
-- "interrupted" error at once (the figure is printed: the goal is 0.1 s, the check
-- coarse, the machine is noisy), the task it waited for must be cancelled, and SIGINT
-- outside a wait must do what the host does without the module.
--
-- Protocol with a child: it prints "waiting N" just before its N-th wait and
-- "caught N at T" (T = core.now(), a monotonic clock the parent shares) once the wait
-- raised. The parent sends SIGINT 0.3 s after "waiting N".

local ddbmini = require "support.ddbmini"
local now = require("dolphindb.core").now
local files = require "support.files"

local build = os.getenv("DDB_BUILD_DIR") or "build"
local tmpdir = os.tmpname()
os.remove(tmpdir)
os.execute("mkdir -p " .. tmpdir)

local SETTLE = 0.3      -- from "waiting N" until the child surely blocks in the loop
local LIMIT = 0.5       -- interrupt delay accepted (the goal is 0.1 s)

local q = files.quote
local function slurp(path) return files.read(path) or "" end
local sleep = files.sleep

-- Polls until test(text of `path`) is true; the text, or an error after 20 s.
local function wait_file(path, test, what, child)
  local deadline = now() + 20
  while true do
    local text = slurp(path)
    if test(text) then return text end
    if now() > deadline then
      error(("no %s after 20 s; stdout:\n%s\nstderr:\n%s"):format(what, slurp(child.out),
        slurp(child.err)))
    end
    sleep(0.01)
  end
end

-- The command line of a host. A shell's background job starts with SIGINT ignored:
-- env --default-signal puts the default back (ddblua, like python, keeps an ignored
-- SIGINT ignored; luajit installs its handler regardless).
local function command(host, script, signal_opt)
  signal_opt = signal_opt or "--default-signal=INT"
  if host == "ddblua" then
    -- a sanitized ddblua carries its own ASan runtime
    return ("env %s -u LUA_PATH -u LUA_CPATH -u LD_PRELOAD %s %s"):format(signal_opt,
      q(build .. "/ddblua"), q(script))
  end
  local preload = os.getenv("DDB_ASAN_PRELOAD")
  return ("env %s %s luajit %s"):format(signal_opt,
    preload and "LD_PRELOAD=" .. q(preload) or "", q(script))
end

local count = 0
-- Starts `code` (with PORT replaced) under host; returns the child.
local function start(host, code, port, signal_opt)
  count = count + 1
  local base = ("%s/c%d"):format(tmpdir, count)
  local child = { out = base .. ".out", err = base .. ".err", rc = base .. ".rc" }
  local script = base .. ".lua"
  local f = assert(io.open(script, "w"))
  f:write((code:gsub("PORT", tostring(port))))
  f:close()
  local inner = ("%s >%s 2>%s & echo $! >%s.pid; wait $!; echo $? >%s"):format(
    command(host, script, signal_opt), child.out, child.err, base, child.rc)
  os.execute("sh -c " .. q(inner) .. " >/dev/null 2>&1 &")
  child.pid = tonumber(wait_file(base .. ".pid", function(t) return t:find("\n") end,
    "pid", child))
  return child
end

-- Waits for "waiting n", sends SIGINT; returns when it was sent.
local function interrupt(child, n)
  wait_file(child.out, function(t) return t:find("waiting " .. n .. "\n", 1, true) end,
    "'waiting " .. n .. "'", child)
  sleep(SETTLE)
  local sent = now()
  os.execute("kill -INT " .. child.pid)
  return sent
end

-- Seconds from `sent` to the child's "caught n at T"; printed.
local function delay(child, n, sent, label)
  local text = wait_file(child.out, function(t) return t:find("caught " .. n .. " at ", 1, true) end,
    "'caught " .. n .. "'", child)
  local t = tonumber(text:match("caught " .. n .. " at ([%d%.]+)"))
  local d = t - sent
  print(("    %s: interrupted %.1f ms after SIGINT"):format(label, d * 1000))
  assert.is_true(d >= 0 and d < LIMIT, ("%s took %.3f s"):format(label, d))
  return d
end

-- Waits for the child to exit: status, stdout, stderr.
local function finish(child)
  local rc = wait_file(child.rc, function(t) return t:find("\n") end, "exit", child)
  return tonumber(rc), slurp(child.out), slurp(child.err)
end

local PRELUDE = [[
local ddb = require "dolphindb"
local function mark(fmt, ...) io.write(fmt:format(...), "\n"); io.flush() end
local function caught(n, err)
  mark("caught %d at %.6f kind=%s", n, ddb.now(), type(err) == "table" and tostring(err.kind) or type(err))
  mark("message %d: %s", n, tostring(err))
end
]]

describe("Ctrl-C while waiting", function()
  local srv
  setup(function() srv = ddbmini.start() end)
  teardown(function()
    srv:stop()
    os.execute("rm -rf " .. q(tmpdir))
  end)

  it("luajit: each wait of the main chunk raises 'interrupted' at once and its task is cancelled", function()
    local child = start("luajit", PRELUDE .. [[
local pool = ddb.DBConnectionPool("127.0.0.1", PORT, 2)
mark("waiting 1")
local ok, err = pcall(pool.run, pool, "sleep(10000)")
caught(1, err)
mark("is_interrupted %s, is_timeout %s", tostring(ddb.is_interrupted(err)), tostring(ddb.is_timeout(err)))
local f = pool:runTaskAsync("sleep(10000)")
mark("waiting 2")
ok, err = pcall(f.result, f)
caught(2, err)
mark("future cancelled %s", tostring(f:cancelled()))
local f1, f2 = pool:runTaskAsync("sleep(10000)"), pool:runTaskAsync("sleep(10000)")
mark("waiting 3")
ok, err = pcall(ddb.wait, { f1, f2 })
caught(3, err)
mark("both cancelled %s", tostring(f1:cancelled() and f2:cancelled()))
mark("waiting 4")
ok, err = pcall(ddb.sleep, 10)
caught(4, err)
local t0 = ddb.now()
local v = pool:run("1+1")     -- both connections free again: the tasks were cancelled
mark("next %s in %.3f s; cancelled %d", tostring(v), ddb.now() - t0, pool:stats().cancelled)
]], srv.port)
    for n, what in ipairs { "pool:run", "future:result", "ddb.wait", "ddb.sleep" } do
      delay(child, n, interrupt(child, n), "luajit " .. what)
    end
    local rc, out, err = finish(child)
    assert.are.equal(0, rc, out .. err)
    for n = 1, 4 do assert.matches("caught " .. n .. " at [%d.]+ kind=interrupted\n", out) end
    assert.matches("message 1: dolphindb: run: interrupted by SIGINT (Ctrl-C)\n", out, 1, true)
    assert.matches("message 2: dolphindb: future:result: interrupted", out, 1, true)
    assert.matches("message 3: dolphindb: wait: interrupted", out, 1, true)
    assert.matches("message 4: dolphindb: sleep: interrupted", out, 1, true)
    assert.matches("is_interrupted true, is_timeout false\n", out, 1, true)
    assert.matches("future cancelled true\n", out, 1, true)
    assert.matches("both cancelled true\n", out, 1, true)
    local secs, cancelled = out:match("next 2 in ([%d.]+) s; cancelled (%d+)")
    assert.is_truthy(secs, out)
    assert.is_true(tonumber(secs) < 2, out)
    assert.are.equal(4, tonumber(cancelled))
    assert.are.equal("", err)
  end)

  it("luajit: a block iterator's wait and an onProgress wait raise it and cancel", function()
    local child = start("luajit", PRELUDE .. [[
local pool = ddb.DBConnectionPool("127.0.0.1", PORT, 1)
local it = pool:run{ "sleep(10000); table(1..10 as id)", fetchSize = 8192 }
mark("waiting 1")
local ok, err = pcall(it)
caught(1, err)
mark("waiting 2")
ok, err = pcall(pool.run, pool, { "sleep(10000)", onProgress = function() end })
caught(2, err)
local t0 = ddb.now()
local v = pool:run("1+1")
mark("next %s in %.3f s; cancelled %d held %d", tostring(v), ddb.now() - t0,
  pool:stats().cancelled, pool._c:stats().held)
]], srv.port)
    for n, what in ipairs { "fetchSize iterator", "onProgress wait" } do
      delay(child, n, interrupt(child, n), "luajit " .. what)
    end
    local rc, out, err = finish(child)
    assert.are.equal(0, rc, out .. err)
    for n = 1, 2 do assert.matches("caught " .. n .. " at [%d.]+ kind=interrupted\n", out) end
    local secs, cancelled, held = out:match("next 2 in ([%d.]+) s; cancelled (%d+) held (%d+)")
    assert.is_truthy(secs, out)
    assert.is_true(tonumber(secs) < 2, out)
    assert.are.equal(2, tonumber(cancelled))
    assert.are.equal(0, tonumber(held))
  end)

  it("luajit: 10 of 10 tries of a 10 s query are interrupted at once", function()
    local child = start("luajit", PRELUDE .. [[
local pool = ddb.DBConnectionPool("127.0.0.1", PORT, 1)
for n = 1, 10 do
  mark("waiting %d", n)
  local ok, err = pcall(pool.run, pool, "sleep(10000)")
  caught(n, err)
end
]], srv.port)
    local worst = 0
    for n = 1, 10 do worst = math.max(worst, delay(child, n, interrupt(child, n), "try " .. n)) end
    print(("    worst of 10: %.1f ms"):format(worst * 1000))
    local rc, out, err = finish(child)
    assert.are.equal(0, rc, out .. err)
    local _, kinds = out:gsub("kind=interrupted\n", "")
    assert.are.equal(10, kinds, out)
  end)

  it("luajit: coroutines parked in waits get it too, then ddb.loop() raises it", function()
    local child = start("luajit", PRELUDE .. [[
local pool = ddb.DBConnectionPool("127.0.0.1", PORT, 3)
local seen = {}
local function watch(name, fn)
  return ddb.spawn(function()
    local ok, err = pcall(fn)
    seen[#seen + 1] = name .. "=" .. (ok and "returned" or tostring(err.kind))
  end)
end
watch("run", function() pool:run("sleep(10000)") end)
local f = pool:runTaskAsync("sleep(10000)")
watch("future", function() f:result() end)
watch("sleep", function() ddb.sleep(10) end)
local other = ddb.spawn(function() ddb.sleep(10) end)
watch("handle", function() other:result() end)
watch("loop", function() ddb.loop() end)
mark("waiting 1")
local ok, err = pcall(ddb.loop)
caught(1, err)
ddb.loop()      -- what the interrupted ones woke (the wait for `other`) runs on
table.sort(seen)
mark("seen %s", table.concat(seen, " "))
mark("other %s; future cancelled %s; pool cancelled %d", tostring(other:error().kind),
  tostring(f:cancelled()), pool:stats().cancelled)
]], srv.port)
    delay(child, 1, interrupt(child, 1), "luajit ddb.loop with 6 coroutines")
    local rc, out, err = finish(child)
    assert.are.equal(0, rc, out .. err)
    assert.matches("message 1: dolphindb: loop: interrupted", out, 1, true)
    assert.matches("seen future=interrupted handle=interrupted loop=interrupted run=interrupted sleep=interrupted\n",
      out, 1, true)
    assert.matches("other interrupted; future cancelled true; pool cancelled 2\n", out, 1, true)
    assert.are.equal("", err)     -- interrupted coroutines are not reported as failures
  end)

  it("luajit: uncaught, it ends the script as an error does (status 1)", function()
    local child = start("luajit", PRELUDE .. [[
local pool = ddb.DBConnectionPool("127.0.0.1", PORT, 1)
mark("waiting 1")
pool:run("sleep(10000)")
]], srv.port)
    local sent = interrupt(child, 1)
    local rc, _, err = finish(child)
    print(("    luajit uncaught: exited %.1f ms after SIGINT"):format((now() - sent) * 1000))
    assert.are.equal(1, rc)
    assert.matches("^luajit: dolphindb: run: interrupted by SIGINT %(Ctrl%-C%)\nstack traceback:", err)
  end)

  it("luajit: outside a wait SIGINT is luajit's own 'interrupted!' (the handler went back)", function()
    local child = start("luajit", PRELUDE .. [[
jit.off()                        -- a compiled loop would not see luajit's hook
local pool = ddb.DBConnectionPool("127.0.0.1", PORT, 1)
pool:run("sleep(50)")            -- a wait that blocked in the loop
mark("waiting 1")
local n = 0
while true do n = n + 1 end
]], srv.port)
    interrupt(child, 1)
    local rc, _, err = finish(child)
    assert.are.equal(1, rc)
    assert.matches("^luajit: [^\n]*interrupted!\n", err)
  end)

  it("ddblua: uncaught, status 130 and one line on stderr", function()
    local child = start("ddblua", PRELUDE .. [[
local pool = ddb.DBConnectionPool("127.0.0.1", PORT, 2)
ddb.spawn(function() pool:run("sleep(10000)") end)
mark("waiting 1")
pool:run("sleep(10000)")
]], srv.port)
    local sent = interrupt(child, 1)
    wait_file(child.err, function(t) return t:find("\n") end, "a line on stderr", child)
    local secs = now() - sent
    print(("    ddblua uncaught: message %.1f ms after SIGINT"):format(secs * 1000))
    local rc, out, err = finish(child)
    assert.are.equal(130, rc, out .. err)
    assert.are.equal("ddblua: interrupted (SIGINT)\n", err)
    assert.is_true(secs < LIMIT + 0.5, secs)   -- polled every 10 ms, hence the margin
  end)

  it("ddblua: when only the host's loop waits (an addTask nobody waits for), 130 too", function()
    local child = start("ddblua", PRELUDE .. [[
local pool = ddb.DBConnectionPool("127.0.0.1", PORT, 1)
pool:addTask("sleep(10000)", 1)
mark("waiting 1")
]], srv.port)
    local sent = interrupt(child, 1)
    local rc, out, err = finish(child)
    print(("    ddblua loop only: exited %.1f ms after SIGINT"):format((now() - sent) * 1000))
    assert.are.equal(130, rc, out .. err)
    assert.are.equal("ddblua: interrupted (SIGINT)\n", err)
    assert.is_true(now() - sent < 5, "the 10 s task was waited for")
  end)

  it("ddblua: the script catches it, cleans up with more waits and ends normally", function()
    local child = start("ddblua", PRELUDE .. [[
local pool = ddb.DBConnectionPool("127.0.0.1", PORT, 1)
mark("waiting 1")
local ok, err = pcall(pool.run, pool, "sleep(10000)")
caught(1, err)
local t0 = ddb.now()
mark("next %s in %.3f s", tostring(pool:run("1+1")), ddb.now() - t0)
pool:shutDown()
]], srv.port)
    delay(child, 1, interrupt(child, 1), "ddblua pool:run")
    local rc, out, err = finish(child)
    assert.are.equal(0, rc, out .. err)
    local secs = tonumber(out:match("next 2 in ([%d.]+) s"))
    assert.is_true(secs ~= nil and secs < 2, out)
    assert.are.equal("", err)
  end)

  it("ddblua: busy Lua code is interrupted as luajit does, status 130", function()
    local child = start("ddblua", PRELUDE .. [[
jit.off()
mark("waiting 1")
local n = 0
while true do n = n + 1 end
]], srv.port)
    interrupt(child, 1)
    local rc, _, err = finish(child)
    assert.are.equal(130, rc)
    assert.are.equal("ddblua: interrupted (SIGINT)\n", err)
  end)

  it("ddblua: a SIGINT ignored from the start stays ignored", function()
    local child = start("ddblua", PRELUDE .. [[
local pool = ddb.DBConnectionPool("127.0.0.1", PORT, 1)
mark("waiting 1")
mark("result %s", tostring(pool:run("sleep(1000); 7")))
]], srv.port, "--ignore-signal=INT")
    interrupt(child, 1)
    local rc, out, err = finish(child)
    assert.are.equal(0, rc, out .. err)
    assert.matches("result 7\n", out, 1, true)
  end)
end)
