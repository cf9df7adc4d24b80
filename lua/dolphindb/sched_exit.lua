-- dolphindb.sched_exit — how a program on the scheduler ends: ddblua's entry point
-- (sched.host_main, with its exit status) and, under plain luajit, the report at exit
-- of the spawned coroutines that never finished and of the errors nobody retrieved.
-- Private to dolphindb.sched, which calls attach(sched) once; sched._exit is its view
-- of the scheduler's state.

local errors = require "dolphindb.errors"

local traceback, tostring, pairs, pcall = debug.traceback, tostring, pairs, pcall

local M = {}

-- Ctrl-C ends ddblua with status 130 (the shell's 128 + SIGINT) and one line.
local INTERRUPTED_STATUS = 130

local function keep_interrupted(e)
  if errors.is_interrupted(e) then return e end
  return traceback(tostring(e), 2)
end

-- ddblua's entry point: runs `fn(...)` as the first coroutine, then the loop until
-- everything is finished. Returns the process exit status.
local function host_main(S, fn, ...)
  local X = S._exit
  S._hosted = true             -- ddblua reports and sets the exit status itself
  local main = X.spawn_main(fn, ...)
  local ok, err = xpcall(X.host_loop, keep_interrupted)
  local interrupted = not ok and errors.is_interrupted(err)
  if not ok and not interrupted then
    X.report("ddblua: " .. tostring(err))
    return 1
  end
  if not interrupted and main._done and not main._ok then
    main:_retrieve()
    interrupted = errors.is_interrupted(main._err)
    if not interrupted then return 1 end
  end
  local _, unretrieved, interrupted_left = X.counts()
  if interrupted or interrupted_left > 0 then
    X.report("ddblua: interrupted (SIGINT)")
    return INTERRUPTED_STATUS
  end
  if unretrieved > 0 then
    X.report(("ddblua: %d spawned coroutine(s) failed and nobody retrieved the error")
      :format(unretrieved))
    return 1
  end
  return 0
end

-- Under plain luajit nothing runs the loop after the main chunk: spawned coroutines
-- parked on a wait would end silently, and so would the process with status 0. The
-- finalizer of a sentinel runs at lua_close (luajit's normal exit, also after an
-- error in the main chunk; not after os.exit without `close`) and writes to stderr
-- the coroutines that never finished, with where each one is parked, and the errors
-- nobody retrieved. It cannot change the exit status: see docs/API.md "spawn".
-- Coroutines ended by Ctrl-C are not failures here (sched.lua keeps them apart).
local function by_id(a, b) return a.id < b.id end

local function exit_report(S)
  if S._hosted then return end
  local X = S._exit
  local live, unretrieved = X.counts()
  local name = X.handle_name
  local out = {}
  if live > 0 then
    local hs = {}
    for co, h in pairs(X.managed) do hs[#hs + 1] = h; h._co_at_exit = co end
    table.sort(hs, by_id)
    out[#out + 1] = ("dolphindb: %d spawned coroutine(s) never finished (call ddb.loop() "
      .. "before the script ends, or run it with ddblua)"):format(live)
    for i = 1, #hs do
      local h = hs[i]
      if h._args ~= nil then
        out[#out + 1] = ("  %s: never started"):format(name(h))
      else
        out[#out + 1] = traceback(h._co_at_exit, ("  %s: waiting"):format(name(h)))
      end
    end
  end
  if unretrieved > 0 then
    local hs = {}
    for h in pairs(X.failed) do hs[#hs + 1] = h end
    table.sort(hs, by_id)
    out[#out + 1] = ("dolphindb: %d spawned coroutine(s) failed and nobody retrieved the "
      .. "error:"):format(unretrieved)
    for i = 1, #hs do
      out[#out + 1] = ("  %s: %s"):format(name(hs[i]), tostring(hs[i]._traceback))
    end
  end
  if #out > 0 then X.report(table.concat(out, "\n")) end
end

function M.attach(S)
  S.host_main = function(fn, ...) return host_main(S, fn, ...) end
  S._exit_sentinel = newproxy(true)
  getmetatable(S._exit_sentinel).__gc = function() pcall(exit_report, S) end
end

return M
