-- dolphindb.sched_handle — what ddb.spawn returns (dolphindb.sched): a spawn handle.
--
--   h:done()   h:wait([timeout]) -> true when done   h:result([timeout])
--   h:error()  h:traceback()
--
-- The scheduler fills its fields (_done, _ok, _value, _nvalues, _err, _traceback,
-- _unretrieved) and waits for it as for any waitable; `retrieve(h)` tells it that the
-- error of a failed coroutine was looked at (it counts the ones nobody did).

local errors = require "dolphindb.errors"
local unpack = unpack

local M = {}

function M.new(wait_for, check_timeout, retrieve)
  local Handle = {}
  Handle.__index = Handle

  local function handle_name(h)
    return h.is_main and "the script" or ("coroutine #" .. h.id)
  end
  Handle.__tostring = function(h)
    return ("dolphindb.task(%s, %s)"):format(handle_name(h),
      not h._done and "running" or (h._ok and "done" or "failed"))
  end

  -- called on anything else they say so, not "attempt to index"
  local function check_handle(h, method)
    if getmetatable(h) ~= Handle then
      error(("dolphindb: handle:%s() called on a %s (use h:%s, not h.%s)")
        :format(method, type(h), method, method), 3)
    end
  end

  function Handle:done()
    check_handle(self, "done")
    return self._done
  end

  function Handle:wait(timeout)
    check_handle(self, "wait")
    check_timeout(timeout, 2, "handle:wait")
    return wait_for(self, timeout, "handle:wait")
  end

  function Handle:result(timeout)
    check_handle(self, "result")
    check_timeout(timeout, 2, "handle:result")
    if not wait_for(self, timeout, "handle:result") then
      error(errors.new("timeout", ("dolphindb: %s timed out after %g s"):format(handle_name(self), timeout)), 2)
    end
    if not self._ok then
      retrieve(self)
      error(self._err, 0)
    end
    local n = self._nvalues
    if n == 1 then return self._value end
    if n == 0 then return end
    return unpack(self._value, 1, n)
  end

  function Handle:error()
    check_handle(self, "error")
    if self._done and not self._ok then
      retrieve(self)
      return self._err
    end
    return nil
  end

  function Handle:traceback()
    check_handle(self, "traceback")
    return self._traceback
  end

  return Handle, handle_name
end

return M
