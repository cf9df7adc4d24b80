-- Streaming subscriptions inside nginx workers (Debian's nginx + lua-nginx-module):
-- the same ddb.subscribe as under luajit, its connection a cosocket opened by
-- dolphindb.ngx_sched for the queue host's stream. Rows read with next() in a
-- content handler, a handler that itself queries, a subscription that resubscribes
-- after the publisher dropped it, and examples/openresty/stream_sse.lua (server-sent
-- events) read with curl.

local ddb = require "dolphindb"
local ddbmini = require "support.ddbmini"
local nginx = require "support.nginx"

nginx.isolate_preload()

local LOCATIONS = [[
    location = /rows {
      content_by_lua_block {
        local ddb = require "dolphindb"
        local a = ngx.req.get_uri_args()
        local port, n = tonumber(a.port), tonumber(a.n)
        local sub = ddb.subscribe { host = "127.0.0.1", port = port, tableName = a.table,
          actionName = a.action, offset = 0 }
        local admin
        if a.drop then admin = ddb.DBConnectionPool("127.0.0.1", port, 1, "admin", "123456") end
        local out, more = {}, tonumber(a.have)
        for i = 1, n do
          local row, off = sub:next(10)
          if not row then break end
          out[#out + 1] = row.id .. "@" .. off
          if admin and i % 100 == 50 then
            -- drop it, append 10 rows meanwhile, wait until it resubscribed
            local before = sub:stats().reconnects
            admin:run(("faultDropSubscribers(\"%s\")"):format(a.table))
            admin:run(("insert into %s values(%d..%d, take(`x, 10), take(1.0, 10))"):format(a.table, more, more + 9))
            more = more + 10
            local deadline = ngx.now() + 5
            while sub:stats().reconnects == before and ngx.now() < deadline do
              ngx.sleep(0.005)
              ngx.update_time()
            end
          end
        end
        local st = sub:stats()
        sub:unsubscribe()
        if admin then admin:shutDown() end
        ngx.say(table.concat(out, ","))
        ngx.say("reconnects=", st.reconnects)
      }
    }
    location = /handler {
      content_by_lua_block {
        local ddb = require "dolphindb"
        local a = ngx.req.get_uri_args()
        local port, n = tonumber(a.port), tonumber(a.n)
        local pool = ddb.DBConnectionPool("127.0.0.1", port, 2)
        local got, inside, overlap = {}, 0, 0
        local sub = ddb.subscribe { host = "127.0.0.1", port = port, tableName = a.table,
          actionName = "h", offset = 0, handler = function(row, off)
            inside = inside + 1
            if inside > 1 then overlap = overlap + 1 end
            got[#got + 1] = pool:run("2 * " .. row.id) .. "@" .. off
            inside = inside - 1
          end }
        local deadline = ngx.now() + 10
        while #got < n and ngx.now() < deadline do ngx.sleep(0.01); ngx.update_time() end
        sub:unsubscribe()
        pool:shutDown()
        ngx.say(table.concat(got, ","))
        ngx.say("overlap=", overlap)
      }
    }
    location = /bg {
      content_by_lua_block {
        -- a subscription that outlives the request: started from a timer, as an
        -- init_worker_by_lua* block would; /bg?count=1 reads how far it got
        local BG = package.loaded.bg_state or { rows = 0 }
        package.loaded.bg_state = BG
        if ngx.var.arg_count then return ngx.say(BG.rows, " ", BG.err or "") end
        local port, tbl = tonumber(ngx.var.arg_port), ngx.var.arg_table
        ngx.timer.at(0, function()
          local ok, err = pcall(require("dolphindb").subscribe, { host = "127.0.0.1",
            port = port, tableName = tbl, actionName = "bg", offset = 0,
            handler = function(row) BG.rows = BG.rows + 1 end })
          if not ok then BG.err = tostring(err) end
        end)
        ngx.say("started")
      }
    }
    location = /events {
      content_by_lua_block {
        local sse = require "stream_sse"
        sse.port = tonumber(ngx.var.arg_port)
        sse.serve()
      }
    }
]]

describe("subscribe inside nginx", function()
  local srv, pool, ng

  setup(function()
    srv = ddbmini.start {}
    pool = ddb.DBConnectionPool("127.0.0.1", srv.port, 1, "admin", "123456")
    ng = nginx.start { workers = 1, ddb_port = srv.port, pool_size = 2, locations = LOCATIONS }
  end)

  teardown(function()
    if ng then ng:stop() end
    if pool then pool:shutDown() end
    if srv then srv:stop() end
  end)

  local function make(name, n)
    pool:run(("t = streamTable(1:0, `id`sym`v, [INT, SYMBOL, DOUBLE]); share t as %s"):format(name))
    for k = 0, n / 100 - 1 do
      pool:run(("insert into %s values(%d..%d, take(`a`b, 100), take(0.5, 100))"):format(name, k * 100, k * 100 + 99))
    end
  end

  local function expect_ids(text, n, what)
    local i = 0
    for item in text:gmatch("[^,\n]+") do
      if item:find("=") then break end
      local id, off = item:match("^(%-?%d+)@(%d+)$")
      assert.is_truthy(id, what .. ": " .. item)
      assert.are.equal(i, tonumber(off), what .. ": offset of row " .. i)
      i = i + 1
    end
    assert.are.equal(n, i, what .. ": rows in " .. text:sub(1, 200))
  end

  it("reads rows with next() in a content handler", function()
    make("ng1", 500)
    local status, body = ng:get(("/rows?port=%d&table=ng1&action=r&n=500"):format(srv.port))
    assert.are.equal(200, status, body .. ng:log())
    expect_ids(body, 500, "rows")
    for item in body:gmatch("[^,\n]+") do
      local id, off = item:match("^(%d+)@(%d+)$")
      if id then assert.are.equal(id, off) end
    end
  end)

  it("resubscribes after the publisher dropped it: every row once", function()
    make("ng2", 300)
    -- 300 rows, then at rows 50, 150, 250 a drop and 10 more rows each: 330 in all
    local status, body = ng:get(("/rows?port=%d&table=ng2&action=d&n=330&drop=1&have=300"):format(srv.port))
    assert.are.equal(200, status, body .. ng:log())
    expect_ids(body, 330, "rows with drops")
    local reconnects = tonumber(body:match("reconnects=(%d+)"))
    assert.is_true(reconnects >= 3, body:sub(-40))
  end)

  it("runs a handler that queries, one message at a time", function()
    make("ng3", 200)
    local status, body = ng:get(("/handler?port=%d&table=ng3&n=200"):format(srv.port))
    assert.are.equal(200, status, body .. ng:log())
    local i = 0
    for item in body:gmatch("[^,\n]+") do
      if item:find("=") then break end
      local twice, off = item:match("^(%d+)@(%d+)$")
      assert.are.equal(i, tonumber(off))
      assert.are.equal(2 * i, tonumber(twice))
      i = i + 1
    end
    assert.are.equal(200, i)
    assert.is_truthy(body:find("overlap=0", 1, true))
  end)

  it("examples/openresty/stream_sse.lua sends rows as server-sent events", function()
    make("ng4", 100)
    local status, body = ng:get(("/events?port=%d&table=ng4&offset=40&limit=60"):format(srv.port))
    assert.are.equal(200, status, body .. ng:log())
    local ids = {}
    for id, data in body:gmatch("id: (%d+)\ndata: ([^\n]*)\n\n") do
      ids[#ids + 1] = tonumber(id)
      assert.is_truthy(data:find('"id":' .. id, 1, true), data)
    end
    assert.are.equal(60, #ids)
    for i = 1, 60 do assert.are.equal(39 + i, ids[i]) end
    -- every subscription of the worker ended with its request
    assert.are.same({}, (function()
      local left = {}
      local st = pool:run("getStreamingStat()")
      for _, t in ipairs(st.pubTables.tableName or {}) do left[#left + 1] = t end
      return left
    end)())
    status, body = ng:get(("/events?port=%d&table=no_such&limit=1"):format(srv.port))
    assert.are.equal(502, status)
    assert.is_truthy(body:find("no_such", 1, true), body)
  end)

  it("a subscription started from a timer runs in the background; the worker's exit ends it", function()
    make("ng5", 100)
    local status, body = ng:get(("/bg?port=%d&table=ng5"):format(srv.port))
    assert.are.equal(200, status, body)
    local deadline = os.time() + 10
    repeat
      status, body = ng:get("/bg?count=1")
    until body:match("^100 ") or os.time() > deadline
    assert.are.equal("100 ", body:match("^%d+ "), body .. ng:log())
    pool:run("insert into ng5 values(100..149, take(`a, 50), take(0.5, 50))")
    deadline = os.time() + 10
    repeat
      status, body = ng:get("/bg?count=1")
    until body:match("^150 ") or os.time() > deadline
    assert.are.equal("150 ", body:match("^%d+ "), body)
    -- HUP: the old worker must exit (its subscription ends) well before nginx's own
    -- shutdown timeout would kill it
    local old = ng:reload()
    assert.are.equal(1, #old)
    assert.is_true(nginx.wait_gone(old[1], 10), "the old worker exited: " .. ng:log():sub(-2000))
    local st = pool:run("getStreamingStat()")
    for _, who in ipairs(st.pubTables.subscriber or {}) do
      assert.is_nil(who:find("/ng5/bg", 1, true), "the server still publishes to the old worker")
    end
  end)
end)
