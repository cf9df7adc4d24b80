-- The Lua helper that starts ddbmini for other specs: start on an ephemeral port,
-- answer on it, stop cleanly, report start failures.
local ddbmini = require("support.ddbmini")

local function sh_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- Sends one script request with bash's /dev/tcp and returns the response's status
-- line ("OK" or the error text), or nil when nothing answers on the port.
local function status_of(port, script)
  local cmd = ("exec 3<>/dev/tcp/127.0.0.1/%d || exit 1; printf 'API2 0 %d / 0_1_4_64\\nscript\\n%%s' %s >&3; "
    .. "read -r header <&3; read -r status <&3; echo \"$status\""):format(port, #script + 7, sh_quote(script))
  local p = io.popen("timeout 5 bash -c " .. sh_quote(cmd) .. " 2>/dev/null")
  local line = p:read("*l")
  p:close()
  return line
end

local function port_open(port) return status_of(port, "1+1") ~= nil end

describe("support.ddbmini", function()
  it("starts on an ephemeral port and stops", function()
    local srv = ddbmini.start()
    finally(function() srv:stop() end)
    assert.is_number(srv.port)
    assert.is_true(srv.port > 0)
    assert.are.equal("127.0.0.1", srv.host)
    assert.is_true(port_open(srv.port))
    assert.are.equal("OK", status_of(srv.port, "sleep(10); 1+1"))
    srv:stop()
    assert.is_nil(srv.pid)
    assert.is_false(port_open(srv.port))
    srv:stop() -- idempotent
  end)

  it("passes arguments and runs several servers at once", function()
    local a = ddbmini.start{ "--require-login", "--user", "bob:pw" }
    local b = ddbmini.start{ "--cluster", "self:nodeA,127.0.0.1:9001:nodeB" }
    finally(function() a:stop(); b:stop() end)
    assert.are_not.equal(a.port, b.port)
    assert.are.equal("Login is required for script execution with client authentication enabled",
      status_of(a.port, "1+1"))
    assert.are.equal("OK", status_of(b.port, "getClusterLiveDataNodes()"))
    assert.are.equal("Can't recognize function name foo", status_of(b.port, "foo(1)"))
    a:stop()
    b:stop()
  end)

  it("stops servers left running when the Lua state closes", function()
    local marker = os.tmpname()
    local script = ([[
      package.path = "spec/?.lua;" .. package.path
      local srv = require("support.ddbmini").start()
      local f = io.open(%q, "w"); f:write(srv.pid); f:close()
      -- no stop(): the helper's finalizer must end the server at exit
    ]]):format(marker)
    local ok = os.execute("env -u LD_PRELOAD luajit -e " .. ("%q"):format(script))
    assert.is_true(ok == true or ok == 0)
    local f = io.open(marker)
    local pid = f:read("*l")
    f:close()
    os.remove(marker)
    assert.is_truthy(tonumber(pid))
    local stat = io.open("/proc/" .. pid .. "/stat")
    local state = stat and stat:read("*l"):match("^%d+ %b() (%a)")
    if stat then stat:close() end
    assert.is_true(state == nil or state == "Z", "server " .. pid .. " still running")
  end)

  it("reports a server that cannot start", function()
    local ok, err = pcall(ddbmini.start, { "--no-such-option" })
    assert.is_false(ok)
    assert.matches("did not start", err)
    assert.matches("no%-such%-option", err)
  end)
end)
