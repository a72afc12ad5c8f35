-- A simulated flaky service behind a circuit breaker. The service is down:
-- three consecutive failures trip the breaker open, and further calls are
-- rejected at once (no request reaches the service) with a retryAfter hint.
-- The service recovers; once resetTimeout has passed, the breaker lets ONE
-- trial call through (half-open: a concurrent caller is still turned away),
-- and two trial successes close it again. State changes are printed from
-- the breaker's events.
--
-- Run from the repository root:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 examples/circuit_breaker.lua
local Promise = require("promise")
local await = Promise.await

local RESET = 200 -- ms the circuit stays open

-- The simulated service: answers after 10 ms, or fails while it is down.
local service = { healthy = false, requests = 0 }
local ServiceError = Promise.Error:extend("ServiceError")

local function request(id)
  service.requests = service.requests + 1
  return Promise.sleep(10):next(function()
    if not service.healthy then
      error(ServiceError("503 service unavailable"), 0)
    end
    return ("reply %d"):format(id)
  end)
end

local cb = Promise.breaker{
  failureThreshold = 3,  -- consecutive failures that open the circuit
  resetTimeout = RESET,
  halfOpenMax = 1,       -- one trial call at a time
  successThreshold = 2,  -- trial successes needed to close
}
cb:on("open", function(ms, err)
  print(("  [breaker] closed -> open for %d ms (last error: %s)"):format(ms, tostring(err)))
end)
cb:on("half_open", function() print("  [breaker] open -> half_open: trial calls allowed") end)
cb:on("close", function() print("  [breaker] half_open -> closed") end)

-- Calls the service through the breaker and prints the outcome.
local function call(id)
  local ok, res = pcall(await, cb:call(request, id))
  if ok then
    print(("call %d: %s (state %s)"):format(id, res, cb:state()))
  elseif Promise.CircuitOpenError.is(res) then
    -- real timers: show retryAfter rounded up to 100 ms
    print(("call %d: rejected at once, %s, retry after ~%d ms"):format(
      id, res.message, math.ceil(res.retryAfter / 100) * 100))
  else
    print(("call %d: failed: %s"):format(id, tostring(res)))
  end
  return ok, res
end

local ok, err = Promise.run(function()
  print("service is down")
  for id = 1, 3 do call(id) end
  print(("state: %s"):format(cb:state()))

  local before = service.requests
  local _, rejection = call(4)
  call(5)
  local s = cb:stats()
  print(("requests that reached the service while open: %d"):format(service.requests - before))
  print(("stats: %d failures, %d rejected (not counted as failures)"):format(s.failures, s.rejected))

  print("service recovers")
  service.healthy = true
  await(Promise.sleep(rejection.retryAfter))
  print(("state after retryAfter: %s"):format(cb:state()))

  -- two callers at once: the first is the trial, the second is turned away
  local trial = Promise.async(call)
  local a, b = trial(6), trial(7)
  await(Promise.all{ a, b })
  call(8)
  print(("state: %s"):format(cb:state()))
end)
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
