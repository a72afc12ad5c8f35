local log, Promise = ...
local f = Promise.async(function()
  return { next = function(_, r) log("thenable called"); r("T") end }
end)
local g = Promise.async(function()
  return Promise.new(function(r) r("P") end)
end)
f():next(function(v) log("f " .. v) end)
g():next(function(v) log("g " .. v) end)
Promise.resolve()
  :next(function() log(1) end)
  :next(function() log(2) end)
  :next(function() log(3) end)
  :next(function() log(4) end)
