-- fetchSize and onProgress inside nginx (dolphindb.ngx_sched: the queue host, cosockets,
-- ngx.semaphore): blocks arrive one at a time in a content handler, an iterator left
-- early leaves the pool's connection usable, and progress is reported while waiting.

local ddbmini = require "support.ddbmini"
local nginx = require "support.nginx"
local json = require "dkjson"

nginx.isolate_preload()

local LOCATIONS = [==[
    location = /blocks { content_by_lua_block {
      local pool = require("handler").pool
      local n, rows, max = 0, 0, 0
      for b in pool:run{ "table(1..100000 as id)", fetchSize = 8192 } do
        n = n + 1
        rows = rows + #b.id
        if #b.id > max then max = #b.id end
      end
      ngx.say(require("json").encode({ blocks = n, rows = rows, max = max }))
    } }
    location = /early { content_by_lua_block {
      local pool = require("handler").pool
      local it = pool:run{ "table(1..1000000 as id)", fetchSize = 8192 }
      local first = it()
      it:close()
      local after = pool:run("1+1")
      ngx.say(require("json").encode({ first = #first.id, after = after }))
    } }
    location = /progress { content_by_lua_block {
      local pool = require("handler").pool
      local calls, last = 0, 0
      local v = pool:run{ "table(1..200000 as id)", onProgress = function(bytes, rows)
        calls = calls + 1
        last = bytes
      end, progressInterval = 0.001 }
      ngx.say(require("json").encode({ calls = calls, last = last, rows = #v.id }))
    } }
]==]

describe("fetchSize inside nginx", function()
  local srv, ng

  setup(function()
    srv = ddbmini.start {}
    ng = nginx.start { workers = 1, ddb_port = srv.port, pool_size = 2, locations = LOCATIONS }
  end)

  teardown(function()
    if ng then ng:stop(); ng:remove() end
    if srv then srv:stop() end
  end)

  local function get(path)
    local status, body = ng:get(path)
    if status ~= 200 then print(ng:log()) end
    assert.are.equal(200, status, body)
    return json.decode(body)
  end

  it("hands over the blocks one at a time", function()
    local r = get("/blocks")
    assert.are.same({ blocks = 13, rows = 100000, max = 8192 }, r)
  end)

  it("leaves the connection usable after an early close", function()
    for _ = 1, 3 do
      local r = get("/early")
      assert.are.same({ first = 8192, after = 2 }, r)
    end
    assert.are.same({ blocks = 13, rows = 100000, max = 8192 }, get("/blocks"))
  end)

  it("reports progress while waiting", function()
    local r = get("/progress")
    assert.are.equal(200000, r.rows)
    assert.is_true(r.calls >= 1)
    assert.is_true(r.last > 800000, "bytes " .. r.last)
  end)
end)
