local log, Promise = ...
-- From the seed document (Q5, complex example):
-- Start, End, After await, Done, Timeout 1, Timeout 2
local demonstrateEventLoop = Promise.async(function()
  log("Start")
  Promise.setTimeout(function() log("Timeout 1") end, 0)
  Promise.await(Promise.resolve())
  log("After await")
  Promise.setTimeout(function() log("Timeout 2") end, 0)
  return "Done"
end)
demonstrateEventLoop():next(function(result) log(result) end)
log("End")
