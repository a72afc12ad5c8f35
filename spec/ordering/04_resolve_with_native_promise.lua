local log, Promise = ...
local inner = Promise.resolve("inner")
local outer = Promise.new(function(resolve) resolve(inner) end)
outer:next(function(v) log("outer " .. v) end)
Promise.resolve()
  :next(function() log(1) end)
  :next(function() log(2) end)
  :next(function() log(3) end)
  :next(function() log(4) end)
