local log, Promise = ...
local f = Promise.async(function()
  log("f body")
  return "f"
end)
f():next(function(v) log("got " .. v) end)
log("after call")
Promise.resolve():next(function() log(1) end):next(function() log(2) end)
