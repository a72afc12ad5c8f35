-- The seed document's event loop question, in Lua: microtasks (promise
-- handlers, queueMicrotask) run before macrotasks (timers), and an async
-- function runs synchronously up to its first await.
local Promise = require("promise")
local async, await = Promise.async, Promise.await

-- Example 1. Output: 1, 5, 3, 4, 2
Promise.run(function()
  print("1: Synchronous")
  Promise.setTimeout(function() print("2: Macrotask") end, 0)
  Promise.resolve():next(function() print("3: Microtask") end)
  Promise.queueMicrotask(function() print("4: Microtask") end)
  print("5: Synchronous")
end)

-- Example 2. Output: Start, End, After await, Done, Timeout 1, Timeout 2
Promise.run(function()
  local demonstrateEventLoop = async(function()
    print("Start")
    Promise.setTimeout(function() print("Timeout 1") end, 0)
    await(Promise.resolve())
    print("After await")
    Promise.setTimeout(function() print("Timeout 2") end, 0)
    return "Done"
  end)
  demonstrateEventLoop():next(function(result) print(result) end)
  print("End")
end)
