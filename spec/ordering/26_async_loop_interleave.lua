local log, Promise = ...
local worker = Promise.async(function(name, n)
  for i = 1, n do
    log(name .. i)
    Promise.await(nil)
  end
  log(name .. " done")
end)
worker("a", 3)
worker("b", 2)
Promise.resolve():next(function() log("c1") end):next(function() log("c2") end):next(function() log("c3") end)
