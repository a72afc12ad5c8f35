-- Retrying a flaky service with exponential backoff and jitter
-- (Promise.retry). Each retry waits U(0, d) ms ("full" jitter) with
-- d = min(maxDelay, minDelay * factor^(n-1)), so that many clients failing
-- together do not come back in lockstep. An attempt that hangs is cut off by
-- `attemptTimeout` (its signal is aborted) and counts as a failure; an error
-- that retrying cannot fix stops at once (`shouldRetry`).
--
-- The random source is a small fixed-seed generator so that the output is
-- reproducible; leave `random` out to use math.random.
--
-- Run from the repository root:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 examples/retry_backoff.lua
local Promise = require("promise")

local Unavailable = Promise.Error:extend("Unavailable")
local BadRequest = Promise.Error:extend("BadRequest")

-- a reproducible U(0, 1): a linear congruential generator
local seed = 2024
local function random()
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
end

-- The flaky service: calls 1 and 2 fail, call 3 hangs, call 4 answers.
local calls = 0
local function flakyService(signal)
  calls = calls + 1
  local n = calls
  if n <= 2 then
    return Promise.sleep(10):next(function() error(Unavailable("503 from upstream")) end)
  elseif n == 3 then
    signal:onAbort(function(reason) print(("  call %d: aborted (%s)"):format(n, tostring(reason))) end)
    return Promise.sleep(10000, { signal = signal })  -- hangs, unless aborted
  end
  return Promise.sleep(10, { value = "200 OK" })
end

local MIN_DELAY, MAX_DELAY, FACTOR = 50, 400, 2

local ok, err = Promise.run(function()
  local failedAt, delays = {}, {}
  local waitsOk = true

  local reply = Promise.await(Promise.retry(function(attempt, signal)
    if attempt > 1 then
      -- the wait really lasted (at least) the announced delay
      waitsOk = waitsOk and Promise.now() - failedAt[attempt - 1] >= delays[attempt - 1]
    end
    print(("attempt %d: calling the service"):format(attempt))
    return flakyService(signal)
  end, {
    retries = 5, minDelay = MIN_DELAY, maxDelay = MAX_DELAY, factor = FACTOR,
    jitter = "full", attemptTimeout = 80, random = random,
    onRetry = function(e, attempt, delay)
      failedAt[attempt], delays[attempt] = Promise.now(), delay
      local cap = math.min(MAX_DELAY, MIN_DELAY * FACTOR ^ (attempt - 1))
      print(("attempt %d failed: %s; retry in %.1f ms (full jitter below %d ms)")
        :format(attempt, tostring(e), delay, cap))
    end,
  }))
  print(("success after %d calls: %s"):format(calls, reply))
  print(("each wait lasted at least its delay: %s"):format(tostring(waitsOk)))

  -- an error that retrying cannot fix: no retry at all
  local tries = 0
  local okp, e = pcall(Promise.await, Promise.retry(function()
    tries = tries + 1
    return Promise.reject(BadRequest("400: malformed order id"))
  end, {
    random = random,
    shouldRetry = function(failure) return not BadRequest.is(failure) end,
  }))
  print(("gave up after %d call: failed=%s, %s"):format(tries, tostring(not okp), tostring(e)))
end)
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
