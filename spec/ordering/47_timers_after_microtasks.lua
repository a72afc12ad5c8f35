local log, Promise = ...
Promise.setTimeout(function() log("timeout") end, 0)
local n = 0
local function spin()
  n = n + 1
  if n <= 5 then
    log("micro " .. n)
    Promise.resolve():next(spin)
  end
end
Promise.resolve():next(spin)
Promise.queueMicrotask(function() log("queued") end)
log("sync")
