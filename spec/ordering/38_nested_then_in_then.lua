local log, Promise = ...
Promise.resolve():next(function()
  log("outer 1")
  Promise.resolve():next(function() log("nested a") end):next(function() log("nested b") end)
  Promise.resolve():next(function() log("nested c") end)
end):next(function() log("outer 2") end):next(function() log("outer 3") end)
Promise.resolve():next(function() log("side 1") end):next(function() log("side 2") end)
