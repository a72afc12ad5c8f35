-- A short tour of luv-promise on the real event loop.
-- Run it with `sh scripts/demo.sh` (or, after `make`:
-- LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 examples/tour.lua)
local Promise = require("promise")
local async, await = Promise.async, Promise.await

local started = Promise.now()
local function say(fmt, ...)
  print(("[%4d ms] " .. fmt):format(math.floor(Promise.now() - started), ...))
end

-- 1. Promises: the executor runs at once, handlers run later, in order.
say("1. promises")
local p = Promise.new(function(resolve) resolve(21) end)
local chain = p:next(function(v) return v * 2 end)
               :next(function(v) say("   doubled: %d", v) end)
say("   (handlers have not run yet)")

-- 2. async/await: a function that reads like straight-line code.
local fetchUser = async(function(id)
  await(Promise.sleep(30))                 -- pretend to talk to a server
  if id < 0 then error({ code = 404, message = "no such user" }) end
  return { id = id, name = "user" .. id }
end)

local main = async(function()
  await(chain)
  say("2. async/await")
  local user = await(fetchUser(7))
  say("   got %s", user.name)
  local ok, err = pcall(await, fetchUser(-1))    -- try/catch is pcall
  say("   caught: ok=%s code=%d", tostring(ok), err.code)

  -- 3. Combinators: all waits for everything, race for the first.
  say("3. Promise.all / Promise.race")
  local users = await(Promise.all({ fetchUser(1), fetchUser(2), fetchUser(3) }))
  say("   all: %s, %s, %s (n = %d)", users[1].name, users[2].name, users[3].name, users.n)
  local winner = await(Promise.race({
    Promise.sleep(80, { value = "slow" }),
    Promise.sleep(20, { value = "fast" }),
  }))
  say("   race: %s", winner)

  -- 4. Timers: Node's semantics, microtasks drain between callbacks.
  say("4. timers")
  local done, finish = Promise.withResolvers()
  local ticks = 0
  local interval
  interval = Promise.setInterval(function()
    ticks = ticks + 1
    say("   tick %d", ticks)
    if ticks == 3 then Promise.clearInterval(interval); finish() end
  end, 10)
  await(done)

  -- 5. Cancellation: an AbortController stops a sleep (and frees its timer).
  say("5. cancellation")
  local controller = Promise.AbortController()
  Promise.setTimeout(function() controller:abort("user pressed cancel") end, 15)
  local ok2, reason = pcall(await, Promise.sleep(10000, { signal = controller.signal }))
  say("   sleep(10000) ended early: ok=%s reason=%s", tostring(ok2), reason)

  -- 6. A deadline on any work, with AbortSignal.timeout.
  local signal = Promise.AbortSignal.timeout(25)
  local ok3, err3 = pcall(await, Promise.sleep(1000, { signal = signal }))
  say("   with AbortSignal.timeout(25): ok=%s %s", tostring(ok3), tostring(err3))
  return "tour finished"
end)

local ok, result = Promise.run(main)
say("Promise.run returned %s, %s", tostring(ok), tostring(result))
