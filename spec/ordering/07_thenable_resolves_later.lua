local log, Promise = ...
local thenable = {
  next = function(_, resolve)
    log("then called")
    Promise.resolve()
      :next(function() log("inside 1") end)
      :next(function() log("inside 2"); resolve("late") end)
  end,
}
Promise.resolve(thenable):next(function(v) log("got " .. v) end)
Promise.resolve()
  :next(function() log(1) end)
  :next(function() log(2) end)
  :next(function() log(3) end)
  :next(function() log(4) end)
  :next(function() log(5) end)
