local log, Promise = ...
-- From the seed document (Q5): output 1, 5, 3, 4, 2
log("1: Synchronous")
Promise.setTimeout(function() log("2: Macrotask") end, 0)
Promise.resolve():next(function() log("3: Microtask") end)
Promise.queueMicrotask(function() log("4: Microtask") end)
log("5: Synchronous")
