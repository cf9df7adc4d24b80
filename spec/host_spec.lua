-- The ddblua host: options, the arg table, exit status, and that a script can spawn
-- work and just end. Each case runs the real binary in a child process.

local build = os.getenv("DDB_BUILD_DIR") or "build"
local ddblua = build .. "/ddblua"
local tmpdir = os.tmpname()
os.remove(tmpdir)
os.execute("mkdir -p " .. tmpdir)
local now = require("dolphindb.core").now
local files = require "support.files"

local shell_quote = files.quote
local function slurp(path) return files.read(path) or "" end

-- Runs ddblua with the given words; returns exit status, stdout, stderr, seconds.
-- LUA_PATH/LUA_CPATH are cleared so the host must find the module by itself, and
-- LD_PRELOAD too: a sanitized ddblua carries its own ASan runtime.
local function run(words, stdin)
  local cmd = { "env -u LUA_PATH -u LUA_CPATH -u LD_PRELOAD", shell_quote(ddblua) }
  for _, w in ipairs(words) do cmd[#cmd + 1] = shell_quote(w) end
  local out, err, rc = tmpdir .. "/out", tmpdir .. "/err", tmpdir .. "/rc"
  local line = table.concat(cmd, " ") .. " >" .. out .. " 2>" .. err
  if stdin then line = line .. " <" .. stdin end
  local clock0 = now()
  os.execute("sh -c " .. shell_quote(line .. "; echo $? >" .. rc))
  local secs = now() - clock0
  return tonumber(slurp(rc)), slurp(out), slurp(err), secs
end

local function script(name, text)
  local path = tmpdir .. "/" .. name
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

describe("ddblua", function()
  teardown(function() os.execute("rm -rf " .. shell_quote(tmpdir)) end)

  it("prints its version and help", function()
    local rc, out = run { "--version" }
    assert.are.equal(0, rc)
    assert.matches("^ddblua %d+%.%d+", out)
    assert.matches("LuaJIT", out)
    rc, out = run { "-h" }
    assert.are.equal(0, rc)
    assert.matches("usage: ddblua", out)
  end)

  it("fails with status 2 on a usage error", function()
    local rc, _, err = run {}
    assert.are.equal(2, rc)
    assert.matches("usage: ddblua", err)
    rc, _, err = run { "--frobnicate" }
    assert.are.equal(2, rc)
    assert.matches("unknown option '%-%-frobnicate'", err)
    rc, _, err = run { "-e" }
    assert.are.equal(2, rc)
    assert.matches("'%-e' needs an argument", err)
  end)

  it("runs -e chunks in order", function()
    local rc, out = run { "-e", "x = 20", "-e", "print(x + 22)" }
    assert.are.equal(0, rc)
    assert.are.equal("42\n", out)
  end)

  it("exits 1 with the message and a traceback on an uncaught error", function()
    local rc, out, err = run { "-e", "local function f() error('kaboom') end f()" }
    assert.are.equal(1, rc)
    assert.are.equal("", out)
    assert.matches("kaboom", err)
    assert.matches("stack traceback", err)
  end)

  it("passes the arg table and ... like luajit", function()
    local path = script("args.lua", "print(arg[0], arg[1], arg[2], #arg, select('#', ...), ...)\n")
    local rc, out = run { path, "one", "two" }
    assert.are.equal(0, rc)
    assert.are.equal(path .. "\tone\ttwo\t2\t2\tone\ttwo\n", out)
    rc, out = run { "-e", "io.write(arg[-1], ' ')", "--", path, "x" }
    assert.are.equal(0, rc)
    assert.are.equal("-- " .. path .. "\tx\tnil\t1\t1\tx\n", out)
  end)

  it("reads the script from standard input with -", function()
    local input = script("stdin.lua", "print('from stdin', ...)\n")
    local rc, out = run({ "-", "a" }, input)
    assert.are.equal(0, rc)
    assert.are.equal("from stdin\ta\n", out)
  end)

  it("reports a missing script and a syntax error", function()
    local rc, _, err = run { tmpdir .. "/nope.lua" }
    assert.are.equal(1, rc)
    assert.matches("cannot load script", err)
    rc, _, err = run { script("bad.lua", "x = = 1\n") }
    assert.are.equal(1, rc)
    assert.matches("cannot load script", err)
  end)

  it("keeps the exit status of os.exit", function()
    local rc = run { "-e", "os.exit(3)" }
    assert.are.equal(3, rc)
  end)

  it("runs spawned coroutines to the end after the script returns", function()
    local path = script("spawn.lua", [[
      local ddb = require "dolphindb"
      for i = 1, 3 do
        ddb.spawn(function() ddb.sleep(0.3); print("done " .. i) end)
      end
      print("script ended")
    ]])
    local rc, out, err, secs = run { path }
    assert.are.equal(0, rc, err)
    assert.are.equal("script ended\ndone 1\ndone 2\ndone 3\n", out)
    assert.is_true(secs >= 0.29 and secs < 1.5, "took " .. secs)
  end)

  it("runs the script as a coroutine, so its waits let others run", function()
    local path = script("main_yields.lua", [[
      local ddb = require "dolphindb"
      ddb.spawn(function() print("spawned ran") end)
      ddb.sleep(0.05)
      print("main resumed", coroutine.running() ~= nil)
    ]])
    local rc, out = run { path }
    assert.are.equal(0, rc)
    assert.are.equal("spawned ran\nmain resumed\ttrue\n", out)
  end)

  it("exits 1 when a spawned coroutine failed and nobody retrieved the error", function()
    local rc, out, err = run { "-e", [[
      local ddb = require "dolphindb"
      ddb.spawn(function() error("lost error") end)
      ddb.spawn(function() ddb.sleep(0.02); print("other finished") end)
    ]] }
    assert.are.equal(1, rc)
    assert.are.equal("other finished\n", out)
    assert.matches("lost error", err)
    assert.matches("nobody retrieved the error", err)
  end)

  it("exits 0 when the failed coroutine's error was handled", function()
    local rc, out = run { "-e", [[
      local ddb = require "dolphindb"
      local h = ddb.spawn(function() error("handled error") end)
      ddb.wait(h)
      print(h:error() ~= nil)
    ]] }
    assert.are.equal(0, rc)
    assert.are.equal("true\n", out)
  end)

  it("reports a deadlock instead of hanging", function()
    local rc, _, err, secs = run { "-e", [[
      local ddb = require "dolphindb"
      local a, b
      a = ddb.spawn(function() ddb.sleep(0); return b:result() end)
      b = ddb.spawn(function() return a:result() end)
    ]] }
    assert.are.equal(1, rc)
    assert.matches("deadlock", err)
    assert.is_true(secs < 5)
  end)

  describe("running the seed examples", function()
    local function example(name)
      local rc, out, err, secs = run { "examples/" .. name .. ".lua" }
      assert.are.equal(0, rc, err)
      return out, secs
    end
    local function num(s) return tonumber(s) end

    it("seed_run_coroutines: four 2 s tasks in ~2 s", function()
      local out = example("seed_run_coroutines")
      local t = num(out:match("time:%s+([%d%.e%-]+)"))
      assert.is_true(t > 1.9 and t < 2.8, out)
      assert.matches("\n2\n4\n6\n8\n$", out)
    end)

    it("seed_helper: the script ends at once, the loop finishes 1, 1, 3, 5 s tasks", function()
      local out, secs = example("seed_helper")
      assert.is_true(num(out:match("main thread time:%s+([%d%.e%-]+)")) < 0.05, out)
      local results = {}
      for t, r in out:gmatch("time: ([%d%.]+) result: %[(%d+)%]") do results[#results + 1] = { num(t), r } end
      assert.are.equal(4, #results, out)
      table.sort(results, function(a, b) return a[1] < b[1] end)
      local want = { 1, 1, 3, 5 }
      for i = 1, 4 do
        assert.is_true(math.abs(results[i][1] - want[i]) < 0.2 + 0.15 * want[i], out)
      end
      assert.are.equal("4", results[4][2])
      assert.is_true(secs < 9, "took " .. secs)
    end)

    it("seed_addtask prints 3", function()
      assert.are.equal("3\n", example("seed_addtask"))
    end)

    it("seed_runtaskasync: results after ~1, 2, 2 and 4 s", function()
      local out = example("seed_runtaskasync")
      local want = { Task1 = 1, Task2 = 2, Task4 = 2, Task3 = 4 }
      for name, at in pairs(want) do
        local t = num(out:match("Get " .. name .. ":%s+([%d%.e%-]+)"))
        assert.is_true(t and math.abs(t - at) < 0.2 + 0.15 * at, name .. " in " .. out)
      end
      assert.is_true(num(out:match("Add Tasks:%s+([%d%.e%-]+)")) < 0.1, out)
      assert.matches("Task3 Result: \t3", out)
    end)

    it("large_table round-trips a million rows", function()
      local out = example("large_table")
      assert.matches("downloaded 1000000 rows x 2 columns", out)
      assert.matches("%(matches%)", out)
      assert.matches("the server counted 200000 rows", out)
      assert.matches("pickleTableToList: 2 columns, a = {1,2,3}, b = {x,y,z}", out)
    end)
  end)
end)
