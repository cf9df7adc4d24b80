-- The repository stands alone: a plain clone with nothing beside it builds, tests and
-- documents itself. No tracked file may point outside it: no ../shared, no absolute
-- paths of the machines it was written on, no ../ climbing above the root, no document
-- name that is not in the repository, no "docs/X.md §N" or "docs/X.md "Title"" whose
-- section does not exist. CI (.ci/run) runs in a fresh copy with nothing beside it.
-- The OpenResty guide's lua_package_path must let `require "dolphindb"` work.

local files = require "support.files"
local slurp = files.read

local function lines_of(cmd)
  local p = assert(io.popen(cmd))
  local list = {}
  for line in p:lines() do list[#list + 1] = line end
  p:close()
  return list
end

local function is_file(path)
  local f = io.open(path, "rb")
  if not f then return false end
  local ok = f:read(0) ~= nil or f:seek("end") == 0   -- a directory reads as nil
  f:close()
  return ok
end

-- Tracked files (a copy without .git: every file outside build directories).
local function tracked()
  local list = lines_of("git ls-files 2>/dev/null")
  if #list == 0 then
    list = lines_of("find . -type f -not -path './.git/*' -not -path './build*' | sed 's|^\\./||' | sort")
  end
  return list
end

-- Text files worth reading (the byte vectors are data: their descriptions quote
-- the official clients' file names; this spec names the patterns it looks for).
local function texts()
  local out = {}
  for _, path in ipairs(tracked()) do
    if not path:find("^tests/vectors/.*%.tsv$") and path ~= "spec/standalone_spec.lua" then
      local s = slurp(path)
      if s and not s:find("\0", 1, true) then out[#out + 1] = { path = path, text = s } end
    end
  end
  return out
end

-- "a/b/../c" -> "a/c"; nil when it climbs above the start.
local function normalize(path)
  local parts = {}
  for seg in path:gmatch("[^/]+") do
    if seg == ".." then
      if #parts == 0 then return nil end
      parts[#parts] = nil
    elseif seg ~= "." then
      parts[#parts + 1] = seg
    end
  end
  return table.concat(parts, "/")
end

local function dir_of(path) return path:match("^(.*)/[^/]*$") or "" end
local function join(dir, rel) return dir == "" and rel or dir .. "/" .. rel end

local function line_at(text, pos)
  local n = 1
  for _ in text:sub(1, pos):gmatch("\n") do n = n + 1 end
  return n
end

-- Headings of a markdown file, as plain strings.
local function headings(path)
  local set = {}
  for h in ("\n" .. (slurp(path) or "")):gmatch("\n#+ ([^\n]+)") do set[#set + 1] = h end
  return set
end

-- Does "docs/PROTOCOL.md §4.18.3" name a heading ("#### 4.18.3 ...", "## 4. ...")?
local function has_section(path, number)
  for _, h in ipairs(headings(path)) do
    local num = h:match("^(%d[%d.]*)")
    if num and num:gsub("%.$", "") == number then return true end
  end
  return false
end

local function has_title(path, title)
  for _, h in ipairs(headings(path)) do
    if h == title then return true end
  end
  return false
end

describe("the repository stands alone", function()
  local files = texts()

  it("is read from a list of tracked files", function()
    assert.is_true(#files > 100, "only " .. #files .. " files found")
  end)

  it("has the official byte vectors inside it", function()
    for _, name in ipairs { "cpp-api.tsv", "official-go.tsv", "protocol-examples.tsv", "README.md" } do
      assert.is_true(is_file("tests/vectors/" .. name), "tests/vectors/" .. name .. " missing")
    end
  end)

  it("names no folder beside it and no absolute path of a development machine", function()
    local bad = {}
    local patterns = { "%.%./shared", "shared/vectors", "DDB_SHARED_DIR", "/work/", "/home/%w" }
    for _, f in ipairs(files) do
      for _, pat in ipairs(patterns) do
        local at = f.text:find(pat)
        if at then
          bad[#bad + 1] = ("%s:%d: %s"):format(f.path, line_at(f.text, at), pat:gsub("%%", ""))
        end
      end
    end
    assert.are.same({}, bad)
  end)

  it("has no ../ path that climbs above the repository root", function()
    local bad = {}
    for _, f in ipairs(files) do
      -- a path that starts with ../ is relative to the file's own folder
      for pos, rel in f.text:gmatch("[%s\"'(=]()(%.%./[%w_.%-/]*)") do
        if not normalize(join(dir_of(f.path), rel)) then
          bad[#bad + 1] = ("%s:%d: %s"):format(f.path, line_at(f.text, pos), rel)
        end
      end
      -- CMake's source dir is the root
      for pos, rel in f.text:gmatch("%${CMAKE_SOURCE_DIR}/()([%w_.%-/]*)") do
        if not normalize(rel) then
          bad[#bad + 1] = ("%s:%d: ${CMAKE_SOURCE_DIR}/%s"):format(f.path, line_at(f.text, pos), rel)
        end
      end
    end
    assert.are.same({}, bad)
  end)

  it("mentions only documents that exist in it", function()
    local bad = {}
    for _, f in ipairs(files) do
      for pos, name in f.text:gmatch("()([%w_.%-/]*[%w_%-]+%.md)%f[^%w_]") do
        local rel = name:gsub("^/", ""):gsub("^share/doc/dolphindb/", "")
        local here = normalize(join(dir_of(f.path), rel))
        local found = (here and is_file(here)) or is_file(rel) or
                      (name:find("^share/doc/dolphindb/") and is_file("docs/" .. rel))
        if not found then
          bad[#bad + 1] = ("%s:%d: %s"):format(f.path, line_at(f.text, pos), name)
        end
      end
    end
    assert.are.same({}, bad)
  end)

  it("cites only sections that exist: docs/X.md §N and docs/X.md \"Title\"", function()
    local bad, cited = {}, 0
    local function check(f, pos, doc, ok, what)
      cited = cited + 1
      if not ok then bad[#bad + 1] = ("%s:%d: %s %s"):format(f.path, line_at(f.text, pos), doc, what) end
    end
    for _, f in ipairs(files) do
      for pos, doc in f.text:gmatch("()(docs/[%w_%-]+%.md)") do
        -- what follows the name, past a markdown link's target: ' §1-3, §8', ' "nginx"'
        local tail = f.text:sub(pos + #doc, pos + #doc + 200)
        tail = tail:gsub("^%]%([^)]*%)", ""):gsub("^#[%w_%-]*%)", ""):gsub("^%)", "")
        local nums = tail:match("^%s+(§[%d.,§%s%-]*%d)")
        for piece in (nums or ""):gmatch("§([%d.%-]+)") do
          local a, b = piece:match("^([%d.]*%d)%-?([%d.]*)$")
          if a then
            check(f, pos, doc, is_file(doc) and has_section(doc, a), "§" .. a)
            if b ~= "" then
              if not b:find(".", 1, true) then b = a:match("^(.-)%d+$") .. b end   -- §1-3
              check(f, pos, doc, is_file(doc) and has_section(doc, b), "§" .. b)
            end
          end
        end
        local title = tail:match('^%s+"([^"]+)"')
        if title then check(f, pos, doc, is_file(doc) and has_title(doc, title), '"' .. title .. '"') end
      end
    end
    assert.are.same({}, bad)
    assert.is_true(cited >= 20, "expected the code's citations, found " .. cited)
  end)

  it("says which document a bare § section number belongs to", function()
    local bad = {}
    for _, f in ipairs(files) do
      -- "issue 12 §5" names a part of an issue, not a document's section
      local text = f.text:gsub("[Ii]ssue %d+ §%d+", "")
      if text:find("§", 1, true) and not f.path:find("^docs/") and
         not f.text:find("docs/PROTOCOL.md", 1, true) and not f.text:find("PROTOCOL.md](", 1, true) then
        bad[#bad + 1] = f.path
      end
    end
    assert.are.same({}, bad)
  end)
end)

describe(".ci/run", function()
  it("runs the README's commands in a fresh copy with nothing beside it", function()
    -- a .ci/run without the dry-run-with-copy mode would run the whole suite here
    assert.is_truthy((slurp(".ci/run") or ""):find('DDB_CI_DRY_RUN:-0}" = 2', 1, true),
      ".ci/run has no DDB_CI_DRY_RUN=2 mode (copy, print the directory, stop)")
    local out = lines_of("DDB_CI_DRY_RUN=2 bash .ci/run 2>&1")
    local dir = out[1] and out[1]:match("^dir: (.+)$")
    assert.is_truthy(dir, table.concat(out, "\n"))
    assert.are.same({ "bash scripts/demo.sh", "bash scripts/test.sh" }, { out[2], out[3] })
    local root = lines_of("pwd")[1]
    assert.are_not.equal(root, dir)
    assert.is_falsy(dir:find(root .. "/", 1, true), "the copy is inside the repository")
    -- the copy is removed afterwards; while it existed it held the repository alone
    assert.is_nil(slurp(dir .. "/README.md"), "the copy was not removed")
    local keep = lines_of("DDB_CI_DRY_RUN=2 DDB_CI_KEEP=1 bash .ci/run 2>&1")
    local kept = keep[1]:match("^dir: (.+)$")
    local beside = lines_of("ls -A " .. kept .. "/..")
    local has_vectors = is_file(kept .. "/tests/vectors/cpp-api.tsv")
    os.execute("rm -rf " .. kept:match("^(.*)/[^/]+$"))
    assert.are.same({ "dolphindb" }, beside)
    assert.is_true(has_vectors, "the copy lacks tests/vectors")
  end)
end)

describe("examples/openresty/README.md", function()
  local readme = assert(slurp("examples/openresty/README.md"))
  local conf = assert(slurp("examples/openresty/nginx.conf"))

  it("gives a lua_package_path under which require \"dolphindb\" finds the module", function()
    local path = readme:match('lua_package_path%s+"([^"]+)"')
    assert.is_truthy(path, "no lua_package_path in the README")
    local root = lines_of("pwd")[1]
    local here = path:gsub("/path/to/repo", root)
    assert.are.equal(root .. "/lua/dolphindb/init.lua", package.searchpath("dolphindb", here))
    assert.are.equal(root .. "/lua/dolphindb/ngx.lua", package.searchpath("dolphindb.ngx", here))
  end)

  it("uses the same module entries as examples/openresty/nginx.conf", function()
    local path = readme:match('lua_package_path%s+"([^"]+)"')
    local shipped = conf:match('lua_package_path%s+"([^"]+)"')
    assert.is_truthy(shipped, "no lua_package_path in nginx.conf")
    for entry in shipped:gmatch("[^;]+") do
      if entry:find("^%${REPO}/lua/") then
        local want = entry:gsub("^%${REPO}", "/path/to/repo")
        assert.is_truthy(path:find(want, 1, true), "the README's path lacks " .. want)
      end
    end
  end)
end)
