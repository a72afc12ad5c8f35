local log, Promise = ...
-- the chunk itself is the async main function (Promise.run); in JS an async IIFE
log("main start")
Promise.setTimeout(function() log("timer 5") end, 5)
local v = Promise.await(Promise.sleep(10, { value = "slept" }))
log(v)
Promise.resolve():next(function() log("micro after sleep") end)
Promise.await(nil)
log("after await null")
Promise.setImmediate(function() log("immediate") end)
Promise.await(Promise.sleep(1))
log("main end")
