-- docs/API.md must describe every public function: of `require "dolphindb"`, of pool,
-- future and spawn-handle objects, and of decoded values (tables, vectors, matrices,
-- typed scalars). The names are collected from the live objects, so a function added to
-- the module without documentation fails here; a documented name that no longer exists
-- fails too. Pool and per-task options are read from pool.lua's option tables and must
-- each have a row in the reference.

local ddb = require "dolphindb"
local pool_mod = require "dolphindb.pool"
local Future = require "dolphindb.future"
local sched = require "dolphindb.sched"
local files = require "support.files"

local function slurp(path) return assert(files.read(path), "cannot read " .. path) end

local api = slurp("docs/API.md")

-- Where a name counts as documented: a heading `### name`, or a table row whose first
-- cell holds `name` in backquotes (alone or in a list: | `userid`, `password` |).
local function documented(name)
  local esc = name:gsub("%p", "%%%0")
  return api:find("\n### " .. esc .. "\n", 1) ~= nil
      or api:find("\n| [^|\n]-`" .. esc .. "`[^|\n]*|", 1) ~= nil
end

local function is_public(name) return type(name) == "string" and not name:find("^_") end

-- Public function names of a method table (metamethods and _private ones excluded).
local function methods_of(t, into, exclude)
  for k, v in pairs(t) do
    if is_public(k) and type(v) == "function" and not (exclude and exclude[k]) then
      into[k] = true
    end
  end
  return into
end

local function sorted(set)
  local list = {}
  for k in pairs(set) do list[#list + 1] = k end
  table.sort(list)
  return list
end

local function undocumented(set)
  local missing = {}
  for _, name in ipairs(sorted(set)) do
    if not documented(name) then missing[#missing + 1] = name end
  end
  return missing
end

-- Methods reachable from decoded values: built locally (no server needed).
local function value_methods()
  local set = {}
  local samples = {
    ddb.table { { "a", { 1, 2 } } },
    ddb.vector("INT", { 1, 2 }),
    ddb.arrayvector("INT", { { 1 }, { 2, 3 } }),
    ddb.matrix("INT", { { 1, 2 }, { 3, 4 } }),
    ddb.date("2024.01.02"),
    ddb.decimal64("1.25", 2),
  }
  for _, v in ipairs(samples) do
    local mt = getmetatable(v)
    assert(mt, "a sample value has no metatable")
    local index = type(mt.__index) == "table" and mt.__index or mt
    methods_of(index, set)
  end
  -- a view is an FFI struct: its methods are the vector's plus View's own; a table's
  -- __index is a function (it finds columns by name too): its methods are Table's
  local view = ddb.decode(ddb.encode(ddb.vector("INT", { 1, 2 })), 1, { view = true })
  assert(type(view) == "cdata", "a view decoded as an array")
  methods_of(require("dolphindb.value")._View, set)
  methods_of(require("dolphindb.value")._Table, set)
  return set
end

describe("docs/API.md", function()
  it("documents every exported field of require 'dolphindb'", function()
    local set = {}
    for k in pairs(ddb) do if is_public(k) then set[k] = true end end
    assert.is_true(#sorted(set) > 40, "the module exports suspiciously few names")
    assert.are.same({}, undocumented(set))
  end)

  it("documents every pool method", function()
    local set = methods_of(pool_mod.Pool, {})
    assert.is_true(set.run and set.addTask and set.getData and true or false)
    assert.are.same({}, undocumented(set))
  end)

  it("documents every future method", function()
    -- Future.new is the constructor pool.lua calls, not a method of a future
    local set = methods_of(Future, {}, { new = true })
    assert.is_true(set.result and set.cancel and true or false)
    assert.are.same({}, undocumented(set))
  end)

  it("documents every spawn-handle method", function()
    local set = methods_of(sched.Handle, {})
    assert.is_true(set.result and set.wait and true or false)
    assert.are.same({}, undocumented(set))
  end)

  it("documents every method of decoded values", function()
    local set = value_methods()
    assert.is_true(set.col and set.ptr and set.seconds and true or false)
    assert.are.same({}, undocumented(set))
  end)

  it("documents every method of the writers", function()
    local set = {}
    for _, cls in ipairs(require("dolphindb.writers")._classes) do methods_of(cls, set) end
    methods_of(require("dolphindb.mtw").W, set)
    assert.is_true(set.append and set.upsert and true or false)
    assert.are.same({}, undocumented(set))
  end)

  it("documents every Session method", function()
    local set = methods_of(require("dolphindb.session").Session, {})
    assert.is_true(set.run and set.upload and set.close and true or false)
    assert.are.same({}, undocumented(set))
  end)

  it("documents every method of a pinned connection (pool:withConnection)", function()
    local set = methods_of(require("dolphindb.pinned").PinnedConnection, {})
    assert.is_true(set.run and set.upload and set.isLost and true or false)
    assert.are.same({}, undocumented(set))
  end)

  it("documents every subscription method", function()
    local set = methods_of(require("dolphindb.subscribe")._Sub, {})
    assert.is_true(set.next and set.unsubscribe and true or false)
    assert.are.same({}, undocumented(set))
  end)

  it("has no heading for a function that does not exist", function()
    local known = {}
    for k in pairs(ddb) do known[k] = true end
    for _, t in ipairs { pool_mod.Pool, Future, sched.Handle } do methods_of(t, known) end
    for _, t in ipairs(require("dolphindb.writers")._classes) do methods_of(t, known) end
    methods_of(require("dolphindb.mtw").W, known)
    methods_of(require("dolphindb.session").Session, known)
    methods_of(require("dolphindb.pinned").PinnedConnection, known)
    methods_of(require("dolphindb.subscribe")._Sub, known)
    for k in pairs(value_methods()) do known[k] = true end
    local stale = {}
    for name in api:gmatch("\n### ([%w_]+)\n") do
      if not known[name] then stale[#stale + 1] = name end
    end
    assert.are.same({}, stale)
  end)

  -- The option tables are locals (options.lua: the shared ones; pool.lua: LUA_ONLY,
  -- those it handles itself); their keys are read from the source.
  local function option_names(table_name, file)
    file = file or "lua/dolphindb/options.lua"
    local src = slurp(file)
    local body = src:match("\nlocal " .. table_name .. " = (%b{})")
    assert(body, table_name .. " not found in " .. file)
    local names = {}
    for key in body:gmatch("([%a_][%w_]*)%s*=") do names[#names + 1] = key end
    assert(#names > 0, "no option names read from " .. table_name)
    return names
  end

  -- The options are declared once, in src/lua/lua_options.c (core.options()).
  local declared = require("dolphindb.core").options()

  it("has a row for every DBConnectionPool option", function()
    local missing, n = {}, 0
    for name in pairs(declared.pool) do
      n = n + 1
      if not documented(name) then missing[#missing + 1] = name end
    end
    assert.is_true(n >= 20, "read only " .. n .. " pool options")
    table.sort(missing)
    assert.are.same({}, missing)
  end)

  it("has a row for every per-task option", function()
    local missing = {}
    for name in pairs(declared.task) do
      if not documented(name) then missing[#missing + 1] = name end
    end
    table.sort(missing)
    assert.are.same({}, missing)
  end)


  it("is linked from the README, whose one-page API names every pool, future and handle method", function()
    local readme = slurp("README.md")
    assert.is_truthy(readme:find("(docs/API.md)", 1, true))
    local missing = {}
    for prefix, t in pairs { ["pool:"] = pool_mod.Pool, ["f:"] = Future, ["h:"] = sched.Handle } do
      for _, name in ipairs(sorted(methods_of(t, {}, { new = true }))) do
        if not readme:find(prefix .. name .. "(", 1, true) then missing[#missing + 1] = prefix .. name end
      end
    end
    table.sort(missing)
    assert.are.same({}, missing)
  end)
end)
