-- The README and reality must not drift: the two commands it gives are read from
-- README.md and compared with what CI (.ci/run) and the demo really run, its quick
-- start is extracted and executed against ddbmini (under plain luajit and under
-- ddblua), and every relative link and #anchor it (or docs/API.md) uses resolves.

local ddbmini = require "support.ddbmini"
local files = require "support.files"

local build = os.getenv("DDB_BUILD_DIR") or "build"

local slurp = files.read
local spit = files.write
local shell_quote = files.quote

local readme = assert(slurp("README.md"), "README.md missing")

-- The body of a "## title" section (up to the next "## " heading).
local function section(text, title)
  local start = text:find("\n## " .. title:gsub("%p", "%%%0") .. "\n", 1)
  assert(start, "README has no section '## " .. title .. "'")
  local body_start = text:find("\n", start + 1) + 1
  local stop = text:find("\n## ", body_start) or #text + 1
  return text:sub(body_start, stop - 1)
end

-- The first fenced block of the given language in `text`.
local function fenced(text, lang)
  local body = text:match("```" .. lang .. "\n(.-)\n```")
  assert(body, "no ```" .. lang .. " block")
  return body
end

-- Command lines of a shell block: comments and blank lines dropped.
local function commands(block)
  local list = {}
  for line in (block .. "\n"):gmatch("(.-)\n") do
    line = line:gsub("%s+#.*$", ""):gsub("^%s+", ""):gsub("%s+$", "")
    if line ~= "" and not line:find("^#") then list[#list + 1] = line end
  end
  return list
end

-- A sanitized ddbmini/ddblua has its own ASan runtime: start it without LD_PRELOAD.
describe("README", function()
  local two = commands(fenced(section(readme, "The two commands"), "sh"))

  it("gives exactly two commands: the demo and the test suite", function()
    assert.are.same({ "bash scripts/demo.sh", "bash scripts/test.sh" }, two)
  end)

  it("is what .ci/run runs: CI extracts both commands from this README", function()
    local p = io.popen("DDB_CI_DRY_RUN=1 bash .ci/run")
    local out = p:read("*a")
    p:close()
    local ran = {}
    for line in out:gmatch("[^\n]+") do ran[#ran + 1] = line end
    assert.are.same(two, ran)
  end)

  it("names scripts that exist and parse", function()
    for _, cmd in ipairs(two) do
      local script = cmd:match("^bash (%S+)$")
      assert.is_truthy(script, "not a 'bash <script>' command: " .. cmd)
      assert.is_truthy(slurp(script), script .. " missing")
      assert.is_true(os.execute("bash -n " .. shell_quote(script)) == 0, script .. " does not parse")
    end
  end)

  it("describes the demo it runs: the demo runs every seed example, and they exist", function()
    local demo = assert(slurp("scripts/demo.sh"))
    local run = {}
    for path in demo:gmatch("(examples/[%w_]+%.lua)") do
      assert.is_truthy(slurp(path), "the demo runs " .. path .. ", which is missing")
      run[path] = true
    end
    local p = io.popen("ls examples/seed_*.lua")
    local seeds = p:read("*a")
    p:close()
    local count = 0
    for path in seeds:gmatch("%S+") do
      count = count + 1
      assert.is_true(run[path] == true, "the demo does not run " .. path)
    end
    assert.is_true(count >= 4, "expected the four seed examples")
    assert.matches("ddbmini", demo)
  end)

  it("says the test command ends with the 'N passed, N failed' line it prints", function()
    local test = assert(slurp("scripts/test.sh"))
    assert.is_truthy(test:find('echo "$passed passed, $failed failed"', 1, true))
    assert.is_truthy(readme:find("`N passed, N failed`", 1, true))
  end)

  describe("quick start", function()
    local server, dir
    local code = fenced(section(readme, "Quick start"), "lua")

    setup(function()
      server = ddbmini.start {}
      dir = os.tmpname()
      os.remove(dir)
      os.execute("mkdir -p " .. shell_quote(dir))
    end)
    teardown(function()
      if server then server:stop() end
      if dir then os.execute("rm -rf " .. shell_quote(dir)) end
    end)

    -- Runs the quick start (port substituted) with `runner`; returns status, output, s.
    local function run_quickstart(runner)
      assert.is_truthy(code:find("8848", 1, true), "the quick start no longer uses port 8848")
      local script = dir .. "/quickstart.lua"
      spit(script, (code:gsub("8848", tostring(server.port))))
      local now = require("dolphindb.core").now
      local t0 = now()
      os.execute("sh -c " .. shell_quote(runner .. " " .. shell_quote(script)
        .. " >" .. dir .. "/out 2>&1; echo $? >" .. dir .. "/rc"))
      return tonumber(slurp(dir .. "/rc")), slurp(dir .. "/out") or "", now() - t0
    end

    local function check(rc, out, secs)
      assert.are.equal(0, rc, out)
      for i = 1, 4 do
        assert.is_truthy(out:find("\n" .. (1 + i) .. "\n", 1, true) or out:find("^" .. (1 + i) .. "\n"),
          "missing the result " .. (1 + i) .. " in:\n" .. out)
      end
      local took = tonumber(out:match("4 queries in ([%d.]+) s"))
      assert.is_truthy(took, out)
      -- four 1 s queries on four connections: about 1 s, far from the 4 s of a serial run
      assert.is_true(took >= 0.95 and took < 3, "4 queries took " .. tostring(took) .. " s")
      assert.matches("\n42\n", out)
      assert.matches("1\ta\n2\tb\n3\tc\n", out)
      assert.is_true(secs < 20)
    end

    it("runs under plain luajit with the build's paths", function()
      -- LUA_PATH / LUA_CPATH come from scripts/busted.sh. A sanitized core.so needs the
      -- ASan runtime preloaded into luajit: name it here rather than trust that every
      -- earlier spec left LD_PRELOAD as busted.sh set it.
      local runner = "luajit"
      local cache = slurp(build .. "/CMakeCache.txt") or ""
      if cache:find("DDB_SANITIZE:BOOL=ON", 1, true) then
        local p = io.popen("clang -print-file-name=libclang_rt.asan-x86_64.so")
        local asan = p:read("*l")
        p:close()
        runner = "env LD_PRELOAD=" .. shell_quote(asan) .. " luajit"
      end
      check(run_quickstart(runner))
    end)

    it("runs under ddblua, which finds the module by itself", function()
      check(run_quickstart("env -u LD_PRELOAD -u LUA_PATH -u LUA_CPATH " .. shell_quote(build .. "/ddblua")))
    end)
  end)

  -- GitHub's anchor for a heading: lower case, punctuation dropped, spaces -> hyphens.
  local function slug(heading)
    return (heading:lower():gsub("[^%w%s%-_]", ""):gsub("%s", "-"))
  end
  local function anchors_of(text)
    local set = {}
    for h in text:gmatch("\n#+ ([^\n]+)") do set[slug(h)] = true end
    return set
  end

  for _, doc in ipairs { "README.md", "docs/API.md" } do
    it(doc .. ": every relative link and #anchor resolves", function()
      local text = assert(slurp(doc), doc .. " missing")
      local base = doc:match("^(.*/)") or ""
      local broken = {}
      for target in text:gmatch("%]%(([^)%s]+)%)") do
        if not target:find("^%a+://") then
          local path, anchor = target:match("^([^#]*)#?(.*)$")
          local file = path == "" and doc or base .. path
          local content = slurp(file)
          if not content then
            broken[#broken + 1] = target .. " (no file " .. file .. ")"
          elseif anchor ~= "" and file:find("%.md$") and not anchors_of("\n" .. content)[anchor] then
            broken[#broken + 1] = target .. " (no heading for #" .. anchor .. ")"
          end
        end
      end
      assert.are.same({}, broken)
    end)
  end
end)
