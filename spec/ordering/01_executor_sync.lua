local log, Promise = ...
log("a")
local p = Promise.new(function(resolve)
  log("b")
  resolve(1)
  log("c")
end)
p:next(function(v) log("then " .. v) end)
log("d")
