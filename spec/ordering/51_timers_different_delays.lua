local log, Promise = ...
Promise.setTimeout(function() log("60") end, 60)
Promise.setTimeout(function() log("20") end, 20)
Promise.setTimeout(function()
  log("40")
  Promise.setTimeout(function() log("40+50") end, 50)
end, 40)
Promise.setTimeout(function() log("0") end, 0)
Promise.resolve():next(function() log("micro") end)
