-- Timeouts that really cancel: a simulated profile service raced against
-- Promise.timeout. Unlike the usual `Promise.race([work, timer])`, the timer
-- is cleared as soon as the work settles, and when time is up the work's
-- signal is aborted so the slow request stops too (its own timer included):
-- the program ends right after the last timeout, not when the slow requests
-- would have finished.
--
-- Run from the repository root:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 examples/timeout_fetch.lua
local Promise = require("promise")
local uv = require("luv")

local cache = { [2] = { name = "Grace (cached)" } }

-- A simulated remote call: answers after `latency` ms unless `signal` aborts.
local function fetchProfile(id, latency, signal)
  print(("request %d: started (takes %d ms)"):format(id, latency))
  signal:onAbort(function(reason)
    print(("request %d: cancelled (%s)"):format(id, tostring(reason)))
  end)
  local names = { "Ada", "Grace", "Linus", "Barbara" }
  return Promise.sleep(latency, { signal = signal }):next(function()
    print(("request %d: answered"):format(id))
    return { name = names[id] }
  end)
end

-- Gets a profile within `budget` ms, falling back to the cache when there is one.
local function getProfile(id, latency, budget, signal)
  local fallback
  if cache[id] then
    fallback = function() return cache[id] end
  end
  return Promise.timeout(function(workSignal)
    return fetchProfile(id, latency, workSignal)
  end, budget, { fallback = fallback, signal = signal, message = "profile service too slow" })
end

local ok, result = Promise.run(function()
  local t0 = Promise.now()

  -- 1. the service answers in time: its result, and the timer is cleared
  local p = Promise.await(getProfile(1, 30, 200))
  print("user 1: " .. p.name)

  -- 2. too slow, but a cached copy exists: the fallback answers at the deadline
  p = Promise.await(getProfile(2, 1000, 100))
  print("user 2: " .. p.name)

  -- 3. too slow and nothing cached: a TimeoutError
  local okp, e = pcall(Promise.await, getProfile(3, 1000, 100))
  print(("user 3: failed=%s, %s"):format(tostring(not okp), tostring(e)))
  print("user 3: is a TimeoutError: " .. tostring(Promise.TimeoutError.is(e)))

  -- 4. the caller gives up first (the user navigated away after 50 ms)
  local ctl = Promise.AbortController()
  local navigate = Promise.setTimeout(function()
    ctl:abort(Promise.AbortError("user navigated away"))
  end, 50)
  okp, e = pcall(Promise.await, getProfile(4, 1000, 500, ctl.signal))
  Promise.clearTimeout(navigate)
  print(("user 4: failed=%s, %s"):format(tostring(not okp), tostring(e)))

  return Promise.now() - t0
end)
if not ok then
  io.stderr:write(tostring(result), "\n")
  os.exit(1)
end

-- Promise.run returned: the loop had nothing left to do, so the slow
-- requests' timers were really stopped (they would have run for 1000 ms).
print(("all done in under 1000 ms: %s"):format(tostring(result < 1000)))
local active = 0
uv.walk(function(h) if h:is_active() then active = active + 1 end end)
print(("active handles left: %d"):format(active))
