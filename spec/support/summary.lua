-- busted output handler: the default utfTerminal output, then one closing line
-- "busted: N passed, N failed, N errors" that scripts/test.sh adds to the total.
return function(options)
  local busted = require 'busted'
  local handler = require 'busted.outputHandlers.utfTerminal'(options)
  busted.subscribe({ 'suite', 'end' }, function()
    local s, f, e = #handler.successes, #handler.failures, #handler.errors
    io.write(('busted: %d passed, %d failed, %d errors\n'):format(s, f, e))
    io.flush()
  end)
  return handler
end
