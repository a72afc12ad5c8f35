local log, Promise = ...
local thenable = {
  next = function(_, resolve)
    log("then called")
    resolve("t")
  end,
}
local p = Promise.new(function(resolve)
  resolve(thenable)
  log("after resolve")
end)
p:next(function(v) log("p " .. v) end)
Promise.resolve()
  :next(function() log(1) end)
  :next(function() log(2) end)
  :next(function() log(3) end)
log("sync end")
