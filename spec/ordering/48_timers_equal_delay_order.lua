local log, Promise = ...
Promise.setTimeout(function() log("t1 (0)") end, 0)
Promise.setTimeout(function() log("t2 (1)") end, 1)
Promise.setTimeout(function() log("t3 (0)") end, 0)
Promise.setTimeout(function() log("t4 (-5)") end, -5)
Promise.setTimeout(function() log("t5 (10)") end, 10)
Promise.setTimeout(function() log("t6 (10)") end, 10)
Promise.setTimeout(function(a, b) log("t7 args " .. a .. " " .. b) end, 10, "x", "y")
