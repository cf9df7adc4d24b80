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

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

local function find_ddbmini()
  local candidates = {}
  local dir = os.getenv("DDB_BUILD_DIR")
  if dir then candidates[#candidates + 1] = dir .. "/ddbmini" end
  local host = arg and arg[-1]                 -- the program running us (ddblua)
  if host and host:find("/", 1, true) then
    candidates[#candidates + 1] = host:match("^(.*)/[^/]*$") .. "/ddbmini"
  end
  candidates[#candidates + 1] = here() .. "../build/ddbmini"
  candidates[#candidates + 1] = "build/ddbmini"
  for _, c in ipairs(candidates) do
    if exists(c) then return c end
  end
  return nil
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
  -- spec/support/ddbmini.lua starts the binary and waits for its port; we only tell
  -- it where the binary is: $DDB_BUILD_DIR, beside the ddblua running us, or build/.
  package.path = here() .. "../spec/?.lua;" .. package.path
  local ddbmini = require "support.ddbmini"
  local binary = find_ddbmini()
  if not binary then
    error("ddbmini not found: build it (cmake --build build) or set DDB_BUILD_DIR, "
      .. "or point DDB_HOST/DDB_PORT at a DolphinDB server", 0)
  end
  ddbmini.binary = function() return binary end
  local server = ddbmini.start {}
  return {
    host = "127.0.0.1", port = server.port,
    close = function() server:stop() end,
  }
end

return M
