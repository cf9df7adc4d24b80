-- Waiting for a pool to open or close costs no wakeups (issue 13): the pool reports
-- its state changes through a hook, so the loop sleeps until something happens. A
-- polling watch (the former 1 ms timer) would wake the loop hundreds of times while a
-- slow server holds the handshake; this spec counts the iterations.

local core = require "dolphindb.core"
local options = require "dolphindb.options"
local ddbmini = require "support.ddbmini"

local HOLD_MS = 300

-- Runs loop iterations (blocking) until `ticket` is handed over; returns how many.
local function iterations_until(ticket)
  local n, out = 0, {}
  while true do
    n = n + 1
    local got = core.run_once(true, out)
    for i = 1, got do
      if out[i] == ticket then return n end
    end
    assert(n < 100000, "the ticket never came")
  end
end

describe("pool state changes", function()
  local srv
  setup(function() srv = ddbmini.start { "--accept-delay", tostring(HOLD_MS) } end)
  teardown(function() if srv then srv:stop() end end)

  it("the open and the close wake the loop a handful of times, not once per ms", function()
    local cfg = options.pool_config({ host = "127.0.0.1", port = srv.port, threadNum = 2 }, {})
    local t0 = core.now()
    local pool, ticket = core.pool_new(cfg)
    assert.is_not_nil(ticket, "the open settled before the server answered")
    local n = iterations_until(ticket)
    local held = core.now() - t0
    assert.are.equal("OPEN", pool:state())
    assert.is_true(held >= HOLD_MS / 1000 * 0.8, "the server did not hold the handshake")
    assert.is_true(n <= 20, ("%d loop iterations to open in %.3f s"):format(n, held))

    local closing = pool:shutdown()
    assert.is_not_nil(closing)
    n = iterations_until(closing)
    assert.are.equal("CLOSED", pool:state())
    assert.is_true(n <= 20, ("%d loop iterations to close"):format(n))
    assert.are.equal(0, core.pending())
  end)
end)
