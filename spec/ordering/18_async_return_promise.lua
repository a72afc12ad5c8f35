local log, Promise = ...
local returnsPromise = Promise.async(function()
  return Promise.resolve("p")
end)
local returnsValue = Promise.async(function()
  return "v"
end)
returnsPromise():next(function(v) log("returnsPromise " .. v) end)
returnsValue():next(function(v) log("returnsValue " .. v) end)
Promise.resolve()
  :next(function() log(1) end)
  :next(function() log(2) end)
  :next(function() log(3) end)
  :next(function() log(4) end)
