-- Small file and shell helpers the specs share:
--
--   local files = require "support.files"
--   files.read(path)          -- the whole file (binary), or nil when it cannot be opened
--   files.write(path, text)   -- replaces the file; raises when it cannot be opened
--   files.quote(s)            -- s as one single-quoted word for sh
--   files.sleep(sec)          -- sleeps in a child `sleep` (LuaJIT has no sleep of its own)
--   files.capture_stderr(fn)  -- runs fn with io.stderr replaced; what it got (fn's
--                                error is raised after io.stderr is back)
local M = {}

function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

function M.write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

function M.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

function M.sleep(sec)
  os.execute("sleep " .. tostring(sec))
end

function M.capture_stderr(fn)
  local real, lines = io.stderr, {}
  io.stderr = { write = function(_, ...) for _, x in ipairs { ... } do lines[#lines + 1] = x end end,
                flush = function() end }
  local ok, err = pcall(fn)
  io.stderr = real
  assert(ok, err)
  return table.concat(lines)
end

return M
