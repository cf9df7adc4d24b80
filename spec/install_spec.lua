-- The two ways to install, checked into temporary directories:
--   * `cmake --install BUILD --prefix TMP`: the expected files are there; the installed
--     ddbmini starts; the installed ddblua and luajit with the installed paths
--     `require "dolphindb"` from the prefix and run a query; the README's C example
--     compiles against the installed headers and libraries through dolphindb.pc and runs.
--   * LuaRocks: `luarocks --lua-version=5.1 make rockspec/dolphindb-scm-1.rockspec
--     --tree TMP LUA_INCDIR=...` builds the rock from the sources (no network: no
--     rock server is consulted); luajit with the tree's paths and the tree's ddblua
--     run a query.
--   * Build switches: a Release build with -DDDB_BUILD_TESTS=OFF builds no test,
--     benchmark, example or fuzz target and registers no ctest test; its install has
--     no ddbmini, and gets one with -DDDB_INSTALL_DDBMINI=ON; no installed binary holds
--     the source or build directory (`strings`), and the installed ddblua still finds
--     the installed module.
--   * A release: scripts/release.sh --worktree makes the archive, the versioned
--     rockspec and the .src.rock; `luarocks install ./dolphindb-X.Y.Z-1.src.rock
--     --tree TMP` builds it offline, and luajit and the tree's ddblua run a query.
--   * One version: VERSION agrees with ddb._VERSION, ddblua --version (build tree and
--     installed), dolphindb.pc, CMake's project version, the generated rockspec and
--     the top entry of CHANGELOG.md.
-- Child processes that are not sanitized (cmake, luarocks, the compiler, a rock built
-- without ASan) run without the ASan LD_PRELOAD that scripts/busted.sh may set.

local ddbmini = require "support.ddbmini"
local files = require "support.files"

local root = os.getenv("PWD") or "."
local build = os.getenv("DDB_BUILD_DIR") or (root .. "/build")
if not build:find("^/") then build = root .. "/" .. build end
local LUA_INCDIR = "/usr/include/luajit-2.1"

local slurp = files.read
local spit = files.write
local q = files.quote

local function exists(path) return slurp(path) ~= nil end

local tmp = os.tmpname()
os.remove(tmp)
assert(os.execute("mkdir -p " .. q(tmp)) == 0)

-- Runs a shell command line; returns exit status and its stdout+stderr.
local function sh(line)
  local out = tmp .. "/sh.out"
  os.execute("sh -c " .. q("(" .. line .. ") >" .. out .. " 2>&1; echo $? >" .. tmp .. "/sh.rc"))
  return tonumber(slurp(tmp .. "/sh.rc")), slurp(out) or ""
end

local function cache_value(key)
  local cache = slurp(build .. "/CMakeCache.txt") or ""
  return cache:match("\n" .. key .. ":[%w_]+=([^\n]*)")
end
local sanitized = cache_value("DDB_SANITIZE") == "ON"

-- A query against `port` that also reports where the module came from.
local function probe_code(port)
  return ([[
local ddb = require "dolphindb"
local pool = ddb.DBConnectionPool("127.0.0.1", %d, 2)
print("result", pool:run("add", 40, 2), pool:run("`a`b`c")[3])
pool:shutDown()
print("lua", debug.getinfo(ddb.DBConnectionPool, "S").source)
print("core", package.searchpath("dolphindb.core", package.cpath))
]]):format(port)
end

-- Runs a shell line that executes probe_code; checks the answer and where it came from.
local function assert_probe(line, from_lua, from_core)
  local rc, out = sh(line)
  assert.are.equal(0, rc, out)
  assert.matches("result\t42\tc", out)
  local lua_src = out:match("\nlua\t@([^\n]+)")
  local core_src = out:match("\ncore\t([^\n]+)")
  assert.is_truthy(lua_src, out)
  assert.is_truthy(core_src, out)
  -- normalise ".../bin/../share" so the prefix comparison is exact
  local function norm(p) return (p:gsub("/[^/]+/%.%./", "/")) end
  assert.are.equal(from_lua .. "/dolphindb/pool.lua", norm(lua_src))
  assert.are.equal(from_core .. "/dolphindb/core.so", norm(core_src))
end

local function lua_files()
  local list = {}
  local p = io.popen("cd " .. q(root .. "/lua/dolphindb") .. " && ls *.lua")
  for name in p:read("*a"):gmatch("%S+") do list[#list + 1] = name end
  p:close()
  return list
end

-- A block of the README section "## From C".
local function readme_c_example()
  local readme = assert(slurp(root .. "/README.md"))
  local sec = readme:match("\n## From C\n(.-)\n## ")
  assert.is_truthy(sec, "README has no '## From C' section")
  local code = sec:match("```c\n(.-)\n```")
  assert.is_truthy(code, "no ```c block in '## From C'")
  return code
end

-- Every tracked C program that is a test, benchmark, example or fuzzer: none of them
-- may be built without tests. (Names from the build files, so a new one is covered.)
local function non_shipped_programs()
  local names, seen = {}, {}
  local p = io.popen("cd " .. q(root) .. " && cat CMakeLists.txt src/*.cmake testserver/*.cmake tests/*.cmake 2>/dev/null")
  local text = p:read("*a")
  p:close()
  for name in text:gmatch("add_executable%(%s*([%w_]+)") do
    if not seen[name] and name ~= "ddblua" and name ~= "ddblua_installed" and name ~= "ddbmini" then
      seen[name] = true
      names[#names + 1] = name
    end
  end
  for name in text:gmatch("foreach%(t ([%w_ ]+)%)") do   -- add_executable(${t} ...) lists
    for t in name:gmatch("[%w_]+") do
      if t:match("^test_") and not seen[t] then seen[t] = true; names[#names + 1] = t end
    end
  end
  return names
end

describe("installation", function()
  local server

  setup(function()
    local ffi = require "ffi"
    pcall(ffi.cdef, "int setenv(const char *, const char *, int); int unsetenv(const char *);")
    local preload = os.getenv("LD_PRELOAD")
    if preload then ffi.C.unsetenv("LD_PRELOAD") end
    local ok, srv = pcall(ddbmini.start, {})
    if preload then ffi.C.setenv("LD_PRELOAD", preload, 1) end
    if not ok then error(srv, 0) end
    server = srv
  end)

  teardown(function()
    if server then server:stop() end
    os.execute("rm -rf " .. q(tmp))
  end)

  describe("cmake --install into a temporary prefix", function()
    local prefix = tmp .. "/prefix"
    local LDIR, CDIR = prefix .. "/share/lua/5.1", prefix .. "/lib/lua/5.1"

    setup(function()
      local rc, out = sh("env -u LD_PRELOAD cmake --install " .. q(build) .. " --prefix " .. q(prefix))
      assert(rc == 0, "cmake --install failed:\n" .. out)
    end)

    it("lays out the host, module, libraries, headers and pkg-config file", function()
      local missing = {}
      local want = {
        "bin/ddblua", "lib/lua/5.1/dolphindb/core.so",
        "lib/libddbcore.a", "lib/libddbcodec.a", "lib/pkgconfig/dolphindb.pc",
        "include/dolphindb/dolphindb.h", "share/doc/dolphindb/README.md",
        "share/doc/dolphindb/API.md",
      }
      for _, name in ipairs(lua_files()) do want[#want + 1] = "share/lua/5.1/dolphindb/" .. name end
      for _, f in ipairs(want) do
        if not exists(prefix .. "/" .. f) then missing[#missing + 1] = f end
      end
      assert.are.same({}, missing)
    end)

    it("installs every header the public header includes, transitively", function()
      local seen, queue, missing = {}, { "dolphindb.h" }, {}
      while #queue > 0 do
        local h = table.remove(queue)
        local text = slurp(prefix .. "/include/dolphindb/" .. h)
        if not text then
          missing[#missing + 1] = h
        else
          for inc in text:gmatch('#include%s+"([^"]+)"') do
            if not seen[inc] then seen[inc] = true; queue[#queue + 1] = inc end
          end
        end
      end
      assert.are.same({}, missing)
      assert.is_true(seen["ddb_obj.h"] == true)
    end)

    it("installs no ddbmini unless asked (DDB_INSTALL_DDBMINI)", function()
      if cache_value("DDB_INSTALL_DDBMINI") ~= "ON" then
        assert.is_false(exists(prefix .. "/bin/ddbmini"))
      end
    end)

    it("has an installed ddblua that does not know the source tree", function()
      local rc, out = sh("strings " .. q(prefix .. "/bin/ddblua"))
      assert.are.equal(0, rc, out)
      assert.is_nil(out:find(root .. "/lua", 1, true), "the installed ddblua names " .. root .. "/lua")
      assert.is_truthy(out:find("../share/lua/5.1", 1, true))
    end)

    it("has a ddblua that loads the installed module and runs a query", function()
      local script = tmp .. "/probe_prefix.lua"
      spit(script, probe_code(server.port))
      -- run from outside the source tree, without LUA_PATH/LUA_CPATH
      assert_probe("cd " .. q(tmp) .. " && env -u LD_PRELOAD -u LUA_PATH -u LUA_CPATH "
        .. q(prefix .. "/bin/ddblua") .. " " .. q(script), LDIR, CDIR)
    end)

    it("lets luajit require the installed module with the installed paths", function()
      local script = tmp .. "/probe_prefix_luajit.lua"
      spit(script, probe_code(server.port))
      -- a sanitized core.so needs the ASan runtime preloaded into luajit (an nginx spec
      -- may have taken LD_PRELOAD out of this process: scripts/busted.sh keeps a copy)
      local preload = os.getenv("DDB_ASAN_PRELOAD")
      assert_probe("cd " .. q(tmp) .. " && " .. (preload and "LD_PRELOAD=" .. q(preload) .. " " or "")
        .. "LUA_PATH=" .. q(LDIR .. "/?.lua;" .. LDIR .. "/?/init.lua")
        .. " LUA_CPATH=" .. q(CDIR .. "/?.so") .. " luajit " .. q(script), LDIR, CDIR)
    end)

    -- The README's C example compiled against the installed files (once); its path.
    local query_exe
    local function build_c_example()
      if query_exe then return query_exe end
      local src = tmp .. "/query.c"
      spit(src, readme_c_example())
      local cc = cache_value("CMAKE_C_COMPILER") or "cc"
      local flags = sanitized and "-fsanitize=address,undefined" or ""
      local pc = "PKG_CONFIG_PATH=" .. q(prefix .. "/lib/pkgconfig")
      local rc, out = sh("env -u LD_PRELOAD " .. pc .. " " .. q(cc) .. " -Wall -Wextra -Werror "
        .. flags .. " -o " .. q(tmp .. "/query") .. " " .. q(src)
        .. " $(" .. pc .. " pkg-config --cflags --libs dolphindb)")
      assert.are.equal(0, rc, out)
      query_exe = tmp .. "/query"
      return query_exe
    end

    it("builds the README's C example with pkg-config and runs it", function()
      local exe = build_c_example()
      local t0 = require("dolphindb.core").now()
      local rc, out = sh("env -u LD_PRELOAD " .. q(exe) .. " 127.0.0.1 " .. server.port)
      local secs = require("dolphindb.core").now() - t0
      assert.are.equal(0, rc, out)
      assert.matches("sleep%(500%); 1%+1 %-> 2\n", out)
      assert.matches('sleep%(500%); `a`b`c %-> %["a","b","c"%]\n', out)
      assert.matches("2024%.01%.02 %+ 1 %-> 2024%.01%.03\n", out)
      assert.matches("failed: task %-%d+: server error: .*Cannot recognize the token bar", out)
      assert.is_true(secs < 10, "the C example took " .. secs .. " s")
    end)

    -- A failed open must not look like success: the pool may already be CLOSED (not
    -- FAILED) by the time the program looks, so the example has to test for OPEN.
    it("has the README's C example exit non-zero when no server listens on the port", function()
      local exe = build_c_example()
      local gone = ddbmini.start {}
      local port = gone.port
      gone:stop()                                  -- a port where nothing listens now
      local rc, out = sh("env -u LD_PRELOAD timeout 20 " .. q(exe) .. " 127.0.0.1 " .. port)
      assert.are_not.equal(0, rc, out)
      assert.are_not.equal(124, rc, "the C example hung:\n" .. out)
      assert.matches("127%.0%.0%.1:" .. port, out)
      assert.is_falsy(out:find("->", 1, true), out)
    end)
  end)

  -- These build their own Release trees from the sources, whatever DDB_BUILD_DIR is:
  -- run once, in the unsanitized pass (scripts/test.sh runs the specs twice).
  if not sanitized then
  describe("a build without tests (-DDDB_BUILD_TESTS=OFF, Release)", function()
    local bdir = tmp .. "/notests"
    local plain_prefix, mini_prefix = tmp .. "/notests-prefix", tmp .. "/notests-prefix-mini"

    setup(function()
      local rc, out = sh("cd " .. q(root) .. " && env -u LD_PRELOAD cmake -S . -B " .. q(bdir)
        .. " -DCMAKE_BUILD_TYPE=Release -DDDB_BUILD_TESTS=OFF"
        .. " && env -u LD_PRELOAD cmake --build " .. q(bdir) .. " -j2"
        .. " && env -u LD_PRELOAD cmake --install " .. q(bdir) .. " --prefix " .. q(plain_prefix))
      assert(rc == 0, "configure/build/install without tests failed:\n" .. out)
    end)

    it("builds no test, benchmark, example or fuzz program and registers no test", function()
      local built = {}
      for _, name in ipairs(non_shipped_programs()) do
        local rc = sh("find " .. q(bdir) .. " -type f -name " .. q(name) .. " | grep -q .")
        if rc == 0 then built[#built + 1] = name end
      end
      assert.are.same({}, built)
      assert.is_true(#non_shipped_programs() > 10)
      assert.is_false(exists(bdir .. "/ddbmini"))
      local rc, out = sh("cd " .. q(bdir) .. " && ctest -N")
      assert.matches("Total Tests: 0", out)
      assert.is_true(exists(bdir .. "/lua/dolphindb/core.so"))
    end)

    it("installs the module and ddblua but no ddbmini", function()
      assert.is_true(exists(plain_prefix .. "/bin/ddblua"))
      assert.is_true(exists(plain_prefix .. "/lib/lua/5.1/dolphindb/core.so"))
      assert.is_false(exists(plain_prefix .. "/bin/ddbmini"))
    end)

    it("installs binaries holding no source or build directory", function()
      local found = {}
      local p = io.popen("find " .. q(plain_prefix) .. " -type f \\( -perm -u+x -o -name '*.so' -o -name '*.a' \\)")
      local files = p:read("*a")
      p:close()
      local n = 0
      for f in files:gmatch("[^\n]+") do
        n = n + 1
        local _, out = sh("strings " .. q(f))
        if out:find(root, 1, true) or out:find(bdir, 1, true) then found[#found + 1] = f end
      end
      assert.is_true(n >= 4, files)
      assert.are.same({}, found)
    end)

    it("has an installed ddblua that finds the installed module", function()
      local script = tmp .. "/probe_notests.lua"
      spit(script, probe_code(server.port))
      assert_probe("cd " .. q(tmp) .. " && env -u LD_PRELOAD -u LUA_PATH -u LUA_CPATH "
        .. q(plain_prefix .. "/bin/ddblua") .. " " .. q(script),
        plain_prefix .. "/share/lua/5.1", plain_prefix .. "/lib/lua/5.1")
    end)

    it("installs ddbmini with -DDDB_INSTALL_DDBMINI=ON, and it starts", function()
      local rc, out = sh("cd " .. q(root) .. " && env -u LD_PRELOAD cmake -S . -B " .. q(bdir)
        .. " -DDDB_INSTALL_DDBMINI=ON && env -u LD_PRELOAD cmake --build " .. q(bdir) .. " -j2"
        .. " && env -u LD_PRELOAD cmake --install " .. q(bdir) .. " --prefix " .. q(mini_prefix))
      assert.are.equal(0, rc, out)
      assert.is_true(exists(mini_prefix .. "/bin/ddbmini"))
      rc, out = sh("cd " .. q(bdir) .. " && ctest -N")
      assert.matches("Total Tests: 0", out)
      local _, strs = sh("strings " .. q(mini_prefix .. "/bin/ddbmini"))
      assert.is_nil(strs:find(root, 1, true))
      rc, out = sh("cd " .. q(tmp) .. " && env -u LD_PRELOAD timeout 10 " .. q(mini_prefix .. "/bin/ddbmini")
        .. " --port 0 & pid=$!; sleep 0.5; kill -TERM $pid; wait $pid")
      assert.are.equal(0, rc, out)
      assert.matches("ddbmini listening on 127%.0%.0%.1:%d+", out)
    end)
  end)

  describe("a release: scripts/release.sh and luarocks install of the .src.rock", function()
    local dist, tree = tmp .. "/dist", tmp .. "/srctree"
    local version = (slurp(root .. "/VERSION") or ""):match("^(%d+%.%d+%.%d+)\n?$")
    local name = "dolphindb-" .. tostring(version)
    local log

    setup(function()
      assert(version, "VERSION must hold X.Y.Z")
      local rc, out = sh("cd " .. q(root) .. " && env -u LD_PRELOAD DDB_DIST_DIR=" .. q(dist)
        .. " bash scripts/release.sh --worktree")
      assert(rc == 0, "release.sh failed:\n" .. out)
      os.execute("mkdir -p " .. q(tmp .. "/no-server"))
      -- from inside dist/, by file name, as a user would; no rock server consulted
      rc, log = sh("cd " .. q(dist) .. " && env -u LD_PRELOAD DDB_ROCK_BUILD_DIR=" .. q(tmp .. "/srcrock-build")
        .. " luarocks --lua-version=5.1 --only-server=" .. q(tmp .. "/no-server")
        .. " install ./" .. name .. "-1.src.rock --tree " .. q(tree))
      assert(rc == 0, "luarocks install of the .src.rock failed:\n" .. log)
    end)

    it("makes the archive, the versioned rockspec and the source rock", function()
      assert.is_true(exists(dist .. "/" .. name .. ".tar.gz"))
      local _, listing = sh("unzip -Z1 " .. q(dist .. "/" .. name .. "-1.src.rock"))
      local entries = {}
      for e in listing:gmatch("[^\n]+") do entries[#entries + 1] = e end
      table.sort(entries)
      assert.are.same({ name .. "-1.rockspec", name .. ".tar.gz" }, entries)
      local _, files = sh("tar tzf " .. q(dist .. "/" .. name .. ".tar.gz"))
      assert.matches("\n" .. name:gsub("%p", "%%%0") .. "/CMakeLists%.txt\n", "\n" .. files)
      assert.is_nil(files:find("/build/", 1, true))
      assert.is_nil(files:find("/dist/", 1, true))
      for line in files:gmatch("[^\n]+") do
        assert.are.equal(name .. "/", line:sub(1, #name + 1))
      end
    end)

    it("writes a rockspec with that version whose source is the archive", function()
      local env = {}
      local chunk = assert(loadfile(dist .. "/" .. name .. "-1.rockspec"))
      setfenv(chunk, env)
      chunk()
      assert.are.equal(version .. "-1", env.version)
      assert.are.equal(name .. ".tar.gz", env.source.url:match("[^/]+$"))
      assert.are.equal(name, env.source.dir)
      local _, md5 = sh("md5sum " .. q(dist .. "/" .. name .. ".tar.gz"))
      assert.are.equal(md5:match("^%x+"), env.source.md5)
      assert.are.same({ "lua == 5.1" }, env.dependencies)
    end)

    it("installs offline into a tree", function()
      assert.matches("dolphindb " .. version:gsub("%.", "%%.") .. "%-1 is now installed", log)
      for _, f in ipairs { "bin/ddblua", "lib/lua/5.1/dolphindb/core.so" } do
        assert.is_true(exists(tree .. "/" .. f), f)
      end
      for _, n in ipairs(lua_files()) do
        assert.is_true(exists(tree .. "/share/lua/5.1/dolphindb/" .. n), n)
      end
      -- built without tests: no test program in the rock's build directory
      local rc = sh("find " .. q(tmp .. "/srcrock-build") .. " -type f -name 'test_*' | grep -q .")
      assert.are_not.equal(0, rc)
    end)

    it("lets luajit with the tree's paths require dolphindb and run a query", function()
      local LDIR, CDIR = tree .. "/share/lua/5.1", tree .. "/lib/lua/5.1"
      local script = tmp .. "/probe_srcrock.lua"
      spit(script, probe_code(server.port))
      assert_probe("cd " .. q(tmp) .. " && env -u LD_PRELOAD LUA_PATH=" .. q(LDIR .. "/?.lua;" .. LDIR .. "/?/init.lua")
        .. " LUA_CPATH=" .. q(CDIR .. "/?.so") .. " luajit " .. q(script), LDIR, CDIR)
      assert_probe("cd " .. q(tmp) .. " && env -u LD_PRELOAD -u LUA_PATH -u LUA_CPATH "
        .. q(tree .. "/bin/ddblua") .. " " .. q(script), LDIR, CDIR)
    end)

    it("agrees on one version everywhere", function()
      local versions = { VERSION = version }
      local rc, out = sh("env -u LD_PRELOAD " .. q(build .. "/ddblua") .. " --version")
      versions["build ddblua --version"] = out:match("^ddblua (%S+)")
      rc, out = sh("env -u LD_PRELOAD " .. q(tree .. "/bin/ddblua") .. " --version")
      versions["installed ddblua --version"] = out:match("^ddblua (%S+)")
      versions["ddb._VERSION"] = require("dolphindb")._VERSION
      rc, out = sh("env -u LD_PRELOAD " .. q(tree .. "/bin/ddblua")
        .. " -e 'print(require(\"dolphindb\")._VERSION)'")
      versions["installed ddb._VERSION"] = out:match("^(%S+)")
      rc, out = sh("PKG_CONFIG_PATH=" .. q(tmp .. "/prefix/lib/pkgconfig") .. " pkg-config --modversion dolphindb")
      versions["dolphindb.pc"] = out:match("^(%S+)")
      versions["CMake project"] = cache_value("CMAKE_PROJECT_VERSION")
      versions["rockspec"] = ((slurp(dist .. "/" .. name .. "-1.rockspec") or ""):match('\nversion = "([%d.]+)%-1"'))
      versions["CHANGELOG.md"] = ((slurp(root .. "/CHANGELOG.md") or ""):match("\n## (%d+%.%d+%.%d+)"))
      for what, v in pairs(versions) do
        assert.are.equal(version, v, what)
      end
    end)
  end)
  end

  describe("luarocks make into a temporary tree", function()
    local tree = tmp .. "/tree"
    local LDIR, CDIR = tree .. "/share/lua/5.1", tree .. "/lib/lua/5.1"
    local log

    setup(function()
      -- --only-server at an empty directory: no rock server (no network) is consulted
      os.execute("mkdir -p " .. q(tmp .. "/no-server"))
      local rc, out = sh("cd " .. q(root) .. " && env -u LD_PRELOAD DDB_ROCK_BUILD_DIR=" .. q(tmp .. "/rock-build")
        .. " luarocks --lua-version=5.1 --only-server=" .. q(tmp .. "/no-server")
        .. " make rockspec/dolphindb-scm-1.rockspec --tree " .. q(tree)
        .. " LUA_INCDIR=" .. LUA_INCDIR)
      log = out
      assert(rc == 0, "luarocks make failed:\n" .. out)
    end)

    it("installs dolphindb.core, the Lua modules and ddblua into the tree", function()
      local missing = { }
      local want = { "lib/lua/5.1/dolphindb/core.so", "bin/ddblua" }
      for _, name in ipairs(lua_files()) do want[#want + 1] = "share/lua/5.1/dolphindb/" .. name end
      for _, f in ipairs(want) do
        if not exists(tree .. "/" .. f) then missing[#missing + 1] = f end
      end
      assert.are.same({}, missing)
      assert.matches("dolphindb scm%-1 is now installed", log)
    end)

    it("lets luajit with the tree's paths require dolphindb and run a query", function()
      local script = tmp .. "/probe_rock.lua"
      spit(script, probe_code(server.port))
      assert_probe("cd " .. q(tmp) .. " && env -u LD_PRELOAD LUA_PATH=" .. q(LDIR .. "/?.lua;" .. LDIR .. "/?/init.lua")
        .. " LUA_CPATH=" .. q(CDIR .. "/?.so") .. " luajit " .. q(script), LDIR, CDIR)
    end)

    it("has a ddblua that finds the tree's modules by itself", function()
      local script = tmp .. "/probe_rock_host.lua"
      spit(script, probe_code(server.port))
      assert_probe("cd " .. q(tmp) .. " && env -u LD_PRELOAD -u LUA_PATH -u LUA_CPATH "
        .. q(tree .. "/bin/ddblua") .. " " .. q(script), LDIR, CDIR)
    end)
  end)
end)
