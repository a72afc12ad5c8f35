local log, Promise = ...
local resolveIt
local p = Promise.new(function(r) resolveIt = r end)
p:finally(function() log("finally a") end):next(function(v) log("a " .. v) end)
p:finally(nil):next(function(v) log("b " .. v) end)
p:next(function(v) log("c " .. v) end)
Promise.resolve()
  :next(function() log("resolving"); resolveIt("val") end)
  :next(function() log(1) end)
  :next(function() log(2) end)
  :next(function() log(3) end)
  :next(function() log(4) end)
