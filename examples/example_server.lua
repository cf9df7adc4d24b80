-- Where the examples connect: a real DolphinDB server when DDB_HOST / DDB_PORT are set
-- (plus DDB_USER / DDB_PASSWORD if it needs a login), otherwise a private ddbmini (the
-- bundled test server) started on a free loopback port and stopped at the end.
--
--   local server = dofile(<this file>).open()
--   server.host, server.port, server.userid, server.password; server:close()

local M = {}

local function here()
  local src = debug.getinfo(1, "S").source
  return src:match("^@(.*/)[^/]*$") or "./"
end

function M.open()
  local host, port = os.getenv("DDB_HOST"), os.getenv("DDB_PORT")
  if host or port then
    return {
      host = host or "127.0.0.1", port = tonumber(port) or 8848,
      userid = os.getenv("DDB_USER"), password = os.getenv("DDB_PASSWORD"),
      close = function() end,
    }
  end
  -- spec/support/ddbmini.lua knows how to find and start the binary
  -- ($DDB_BUILD_DIR/ddbmini, else build/ddbmini).
  package.path = here() .. "../spec/?.lua;" .. package.path
  local ddbmini = require "support.ddbmini"
  local server = ddbmini.start {}
  return {
    host = "127.0.0.1", port = server.port,
    close = function() server:stop() end,
  }
end

return M
