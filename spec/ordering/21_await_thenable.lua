local log, Promise = ...
local thenable = {
  next = function(_, resolve)
    log("thenable.then called")
    resolve("from thenable")
  end,
}
local f = Promise.async(function()
  log("f start")
  local v = Promise.await(thenable)
  log("after await " .. v)
end)
f()
Promise.resolve()
  :next(function() log(1) end)
  :next(function() log(2) end)
  :next(function() log(3) end)
  :next(function() log(4) end)
log("sync end")
