local log, Promise = ...
Promise.resolve():next(function() log("a1") end):next(function() log("a2") end):next(function() log("a3") end)
Promise.resolve():next(function() log("b1") end):next(function() log("b2") end):next(function() log("b3") end)
log("sync")
