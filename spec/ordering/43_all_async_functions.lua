local log, Promise = ...
local task = Promise.async(function(name, steps)
  for _ = 1, steps do Promise.await(nil) end
  log("task " .. name .. " done")
  return name
end)
Promise.all({ task("a", 3), task("b", 1), task("c", 2) }):next(function(vs)
  log("all " .. table.concat(vs, ",", 1, vs.n))
end)
Promise.race({ task("x", 2), task("y", 1) }):next(function(v) log("race " .. v) end)
Promise.resolve()
  :next(function() log(1) end)
  :next(function() log(2) end)
  :next(function() log(3) end)
  :next(function() log(4) end)
  :next(function() log(5) end)
