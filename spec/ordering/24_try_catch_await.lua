local log, Promise = ...
local f = Promise.async(function()
  local ok, e = pcall(function()
    log("try start")
    Promise.await(Promise.reject("boom"))
    log("never")
  end)
  if not ok then log("caught " .. e) end
  ok, e = pcall(Promise.await, { next = function(_, _, reject) reject("thenable boom") end })
  if not ok then log("caught " .. e) end
  local v = Promise.await(Promise.resolve("continues"))
  log(v)
  return "ok"
end)
f():next(function(v) log("f " .. v) end)
Promise.resolve()
  :next(function() log(1) end)
  :next(function() log(2) end)
  :next(function() log(3) end)
  :next(function() log(4) end)
  :next(function() log(5) end)
