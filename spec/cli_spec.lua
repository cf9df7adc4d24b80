-- The command-line programs a newcomer meets first: `ddblua --help` and `ddbmini --help`
-- must list every option the program accepts (the options are read from the C source
-- that parses them, so a new option without help text fails here), and wrong use must
-- say what is wrong and exit non-zero.

local build = os.getenv("DDB_BUILD_DIR") or "build"
local programs = { ddblua = build .. "/ddblua", ddbmini = build .. "/ddbmini" }

local files = require "support.files"
local shell_quote = files.quote
local slurp = files.read

local tmp = os.tmpname()

-- Runs a program with the given words; returns exit status, stdout, stderr. A sanitized
-- binary carries its own ASan runtime, so luajit's LD_PRELOAD must not reach it.
local function run(program, words)
  local cmd = { "env -u LD_PRELOAD -u LUA_PATH -u LUA_CPATH", shell_quote(programs[program]) }
  for _, w in ipairs(words) do cmd[#cmd + 1] = shell_quote(w) end
  local line = table.concat(cmd, " ") .. " </dev/null >" .. tmp .. ".out 2>" .. tmp .. ".err"
  os.execute("sh -c " .. shell_quote(line .. "; echo $? >" .. tmp .. ".rc"))
  return tonumber(slurp(tmp .. ".rc")), slurp(tmp .. ".out") or "", slurp(tmp .. ".err") or ""
end

-- Option words a C source compares argv entries with: strcmp(a, "--port") etc.
local function options_in_source(path)
  local src = assert(slurp(path), "cannot read " .. path)
  local seen, list = {}, {}
  for word in src:gmatch('strcmp%(%s*a%s*,%s*"(%-[%w%-]*)"%s*%)') do
    if not seen[word] then seen[word] = true; list[#list + 1] = word end
  end
  return list
end

local function plain_find(haystack, needle) return haystack:find(needle, 1, true) ~= nil end

describe("command-line help", function()
  teardown(function()
    for _, ext in ipairs { ".out", ".err", ".rc" } do os.remove(tmp .. ext) end
    os.remove(tmp)
  end)

  for _, case in ipairs {
    { program = "ddblua", source = "src/ddblua/ddblua.c", min = 6 },
    { program = "ddbmini", source = "testserver/main.c", min = 20 },
  } do
    it(case.program .. " --help lists every option its parser accepts", function()
      local options = options_in_source(case.source)
      -- the extraction itself must work, or this test would check nothing
      assert.is_true(#options >= case.min,
        ("found only %d options in %s"):format(#options, case.source))
      local rc, out = run(case.program, { "--help" })
      assert.are.equal(0, rc)
      assert.matches("^usage: " .. case.program, out)
      local missing = {}
      for _, opt in ipairs(options) do
        -- whoever reads the help already found --help / -h (ddbmini does not list them)
        if opt == "--help" or opt == "-h" then goto continue end
        -- "-" alone (stdin) and "--" are listed as words of their own
        local pattern = "%f[%w%-]" .. opt:gsub("%-", "%%-") .. "%f[^%w%-]"
        if not out:find(pattern) then missing[#missing + 1] = opt end
        ::continue::
      end
      assert.are.same({}, missing)
    end)

    it(case.program .. " -h prints the same help", function()
      local _, long = run(case.program, { "--help" })
      local rc, short = run(case.program, { "-h" })
      assert.are.equal(0, rc)
      assert.are.equal(long, short)
    end)
  end

  it("ddbmini --help documents the script fault functions beside their switches", function()
    local _, out = run("ddbmini", { "--help" })
    for _, fn in ipairs { "faultDropAfter", "faultStall", "faultGarbage", "faultAcceptDelay",
                          "faultRefuse", "faultNotLeader", "faultNodeDown", "faultRejectLogin",
                          "faultReset" } do
      assert.is_true(plain_find(out, fn), fn .. " missing from ddbmini --help")
    end
  end)

  it("ddblua --help states the exit statuses and where modules are found", function()
    local _, out = run("ddblua", { "--help" })
    assert.matches("exit status", out)
    assert.matches("share/lua/5%.1", out)
    assert.matches("lib/lua/5%.1", out)
  end)

  it("ddblua --version names ddblua and LuaJIT", function()
    local rc, out = run("ddblua", { "--version" })
    assert.are.equal(0, rc)
    assert.matches("^ddblua %d+%.%d+%.%d+ %(LuaJIT 2%.1", out)
  end)
end)

describe("wrong command-line use", function()
  -- { program, words, expected status, pattern the message on stderr must match }
  local cases = {
    { "ddblua", {}, 2, "no script given" },
    { "ddblua", { "--" }, 2, "no script given" },
    { "ddblua", { "--frobnicate" }, 2, "unknown option '%-%-frobnicate'.*ddblua %-%-help" },
    { "ddblua", { "-e" }, 2, "'%-e' needs an argument" },
    { "ddblua", { "/nonexistent/script.lua" }, 1, "cannot open /nonexistent/script%.lua" },
    { "ddblua", { "-e", "x = = 1" }, 1, "cannot compile %-e chunk" },
    { "ddblua", { "-e", "error('boom')" }, 1, "boom" },
    { "ddbmini", { "--frobnicate" }, 2, "unknown or incomplete option %-%-frobnicate %(see %-%-help%)" },
    { "ddbmini", { "stray" }, 2, "stray" },
    { "ddbmini", { "--port" }, 2, "%-%-port needs a value" },
    { "ddbmini", { "--port", "abc" }, 2, "bad value for %-%-port: abc" },
    { "ddbmini", { "--port", "99999" }, 2, "bad value for %-%-port: 99999" },
    { "ddbmini", { "--threads", "0" }, 2, "bad value for %-%-threads: 0" },
    { "ddbmini", { "--user", "nocolon" }, 2, "%-%-user wants NAME:PASSWORD" },
    { "ddbmini", { "--compress", "zip" }, 2, "%-%-compress wants lz4 or delta" },
  }
  for _, c in ipairs(cases) do
    local program, words, status, pattern = c[1], c[2], c[3], c[4]
    it(("%s %s -> status %d"):format(program, table.concat(words, " "), status), function()
      local rc, out, err = run(program, words)
      assert.are.equal(status, rc)
      assert.matches(pattern, err)
      assert.are.equal("", out)             -- errors go to stderr, nothing to stdout
    end)
  end
end)
