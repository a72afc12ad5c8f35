local log, Promise = ...
local later = Promise.new(function(r)
  Promise.resolve():next(function() log("later resolves"); r("L") end)
end)
local thenable = { next = function(_, r) log("thenable called"); r("T") end }
Promise.all({ 1, Promise.resolve(2), later, thenable, "five" }):next(function(vs)
  log("all " .. table.concat(vs, ",", 1, vs.n))
end)
Promise.resolve()
  :next(function() log(1) end)
  :next(function() log(2) end)
  :next(function() log(3) end)
  :next(function() log(4) end)
log("sync end")
