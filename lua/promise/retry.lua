--- Retry with exponential backoff (manual: docs/manual/retry.md).
---
--- ```lua
--- local body = Promise.await(Promise.retry(function(attempt, signal)
---   return fetch(url, { signal = signal })
--- end, { retries = 5, minDelay = 200, jitter = "full", attemptTimeout = 2000 }))
--- ```
---
--- * `fn(attempt, signal)` is called (attempt = 1, 2, ...) until the promise
---   it returns fulfils; the first call happens synchronously inside
---   `retry`. A value `fn` raises counts as that attempt's failure. Each
---   attempt gets a fresh AbortSignal.
--- * After failed attempt n (when retries are left and `shouldRetry(err, n)`
---   is true) the delay before attempt n + 1 is
---   `d = min(maxDelay, minDelay * factor^(n-1))`, then jittered:
---   `"full"` U(0, d); `"equal"` d/2 + U(0, d/2); `"decorrelated"`
---   min(maxDelay, U(minDelay, 3 * prev)) where prev is the previous delay
---   (minDelay at first); `"none"` d. U(a, b) is `a + random() * (b - a)`.
---   Delays are not rounded (an integral delay is given as a Lua integer);
---   a timer counts a delay below 1 ms as 1 ms. No delay exceeds 2^31 - 1
---   ms (the longest a timer waits), whatever maxDelay is.
--- * Durations: minDelay and attemptTimeout are numbers in [0, 2^31 - 1]
---   (attemptTimeout may be math.huge: no per-attempt timeout); maxDelay
---   and maxElapsed are numbers >= 0 or math.huge.
--- * `onRetry(err, n, delay)` is called before each wait.
--- * `attemptTimeout`: an attempt not settled after that many ms has its
---   signal aborted with a `TimeoutError` ("attempt <n> timed out after
---   <ms> ms"), which counts as its failure (its later outcome is ignored).
--- * `maxElapsed`: no attempt starts later than `maxElapsed` ms after the
---   call; when the next one would, the result rejects at once with the last
---   error instead of waiting.
--- * `signal`: aborting rejects at once with its reason, also during a
---   delay (its timer is cleared, no further attempt starts); the running
---   attempt's signal is aborted with the same reason. A signal already
---   aborted rejects at once without calling `fn`.
--- * An error raised by `shouldRetry` or `onRetry` rejects the result with
---   that error and stops retrying.
--- * The final rejection is the last attempt's error, unchanged.
--- * Bad arguments raise Lua errors (`bad argument #2 to 'retry' ...`);
---   unknown options are refused, to catch typos.

local Promise = require("promise")
local util = require("promise.util")

local type, error, tostring, pcall, pairs =
  type, error, tostring, pcall, pairs
local floor, huge, min, tointeger = math.floor, math.huge, math.min, math.tointeger

local is_callable = util.is_callable

local function fmt_ms(ms)
  if floor(ms) == ms and ms < 2^53 then return ("%d"):format(ms) end
  return tostring(ms)
end

local JITTERS = { full = true, equal = true, decorrelated = true, none = true }

-- option name -> checker returning nil or "<expected>, got <what>"
local function number_ge(lo, allow_huge)
  return function(v)
    if type(v) ~= "number" then return "number expected, got " .. type(v) end
    if v ~= v or v < lo or (v == huge and not allow_huge) then
      return ("number >= %s%s expected, got %s"):format(fmt_ms(lo),
        allow_huge and "" or " (finite)", tostring(v))
    end
  end
end

local function callable(v)
  if not is_callable(v) then return "function expected, got " .. type(v) end
end

local CHECKS = {
  retries = function(v)
    if type(v) ~= "number" then return "number expected, got " .. type(v) end
    if v ~= huge and (v ~= floor(v) or v < 0) then
      return "integer >= 0 or math.huge expected, got " .. tostring(v)
    end
  end,
  -- delays reach a timer: at most 2^31 - 1 ms; maxDelay is only a cap, so
  -- math.huge (no cap) is fine
  minDelay = function(v) return util.msproblem(v) end,
  maxDelay = number_ge(0, true),
  factor = function(v)
    if type(v) ~= "number" then return "number expected, got " .. type(v) end
    if not (v > 0 and v < huge) then return "positive finite number expected, got " .. tostring(v) end
  end,
  jitter = function(v)
    if not JITTERS[v] then
      return ('"full", "equal", "decorrelated" or "none" expected, got %s'):format(
        type(v) == "string" and ("%q"):format(v) or type(v))
    end
  end,
  shouldRetry = callable,
  onRetry = callable,
  attemptTimeout = function(v) return util.msproblem(v, true) end,  -- math.huge: none
  maxElapsed = number_ge(0, true),
  signal = function(v)
    if not Promise.AbortSignal.is(v) then return "AbortSignal expected, got " .. type(v) end
  end,
  random = callable,
}

local function argerror(n, msg)
  error(("bad argument #%d to 'retry' (%s)"):format(n, msg), 3)
end

local function default_should_retry(err)
  return not Promise.AbortError.is(err)
end

---@class promise.RetryOptions
---@field retries number?          retries after the first call (default 3; math.huge: no limit)
---@field minDelay number?         default 100 (ms)
---@field maxDelay number?         default 30000 (ms)
---@field factor number?           default 2
---@field jitter ("full"|"equal"|"decorrelated"|"none")? default "full"
---@field shouldRetry (fun(err: any, attempt: integer): boolean)? default: anything but an AbortError
---@field onRetry (fun(err: any, attempt: integer, delay: number))? called before each wait
---@field attemptTimeout number?   ms per attempt
---@field maxElapsed number?       no attempt starts past this many ms
---@field signal promise.AbortSignal?
---@field random (fun(): number)?  source of U(0,1), default math.random

--- Calls `fn(attempt, signal)` until its promise fulfils, with backoff.
---@param fn fun(attempt: integer, signal: promise.AbortSignal): any
---@param opts? promise.RetryOptions
---@return Promise
local function retry(fn, opts)
  if not is_callable(fn) then
    argerror(1, "function expected, got " .. type(fn))
  end
  if opts == nil then
    opts = {}
  elseif type(opts) ~= "table" then
    argerror(2, "table expected, got " .. type(opts))
  end
  for k, v in pairs(opts) do
    local check = CHECKS[k]
    if not check then argerror(2, "unknown option " .. tostring(k)) end
    local problem = check(v)
    if problem then argerror(2, ("field '%s': %s"):format(k, problem)) end
  end
  local retries = opts.retries or 3
  local minDelay = opts.minDelay or 100
  local maxDelay = opts.maxDelay or 30000
  local factor = opts.factor or 2
  local jitter = opts.jitter or "full"
  local shouldRetry = opts.shouldRetry or default_should_retry
  local onRetry = opts.onRetry
  local attemptTimeout = opts.attemptTimeout
  if attemptTimeout == huge then attemptTimeout = nil end
  local maxElapsed = opts.maxElapsed
  local signal = opts.signal
  local random = opts.random or math.random
  if minDelay > maxDelay then
    argerror(2, ("field 'minDelay' (%s) exceeds field 'maxDelay' (%s)"):format(
      fmt_ms(minDelay), fmt_ms(maxDelay)))
  end

  if signal and signal.aborted then return Promise.reject(signal.reason) end

  local p, resolve, reject = Promise.withResolvers()
  local start = Promise.now()
  local settled = false
  local current       -- the running attempt: { ctl = AbortController, timer = timer? }
  local delaytimer    -- the timer of the wait between attempts
  local prev = minDelay  -- previous delay, for "decorrelated"
  -- no delay exceeds what a timer holds (a longer one would be clamped to
  -- 1 ms by setTimeout); capping before the jitter keeps every delay finite
  local cap = min(maxDelay, util.TIMEOUT_MAX)
  local unsubscribe

  local function finish(ok, v)
    if settled then return end
    settled = true
    if unsubscribe then unsubscribe(); unsubscribe = nil end
    if delaytimer then Promise.clearTimeout(delaytimer); delaytimer = nil end
    local cur = current
    current = nil
    if cur and cur.timer then Promise.clearTimeout(cur.timer) end
    if ok then resolve(v) else reject(v) end
  end

  -- U(0,1) from the user's source, checked
  local function uniform()
    local r = random()
    if type(r) ~= "number" or not (r >= 0 and r <= 1) then
      error(Promise.TypeError(("retry: 'random' must return a number in [0, 1], got %s")
        :format(tostring(r))), 0)
    end
    return r
  end

  -- the delay before attempt n + 1
  local function delay_after(n)
    local d
    if minDelay == 0 then
      d = 0
    else
      d = min(cap, minDelay * factor ^ (n - 1))
    end
    if jitter == "full" then
      d = uniform() * d
    elseif jitter == "equal" then
      d = d / 2 + uniform() * (d / 2)
    elseif jitter == "decorrelated" then
      local hi = 3 * prev
      d = min(cap, minDelay + uniform() * (hi - minDelay))
      prev = d
    end
    return tointeger(d) or d
  end

  local attempt_no = 0
  local run_attempt

  local function failed(err, n)
    if n > retries then return finish(false, err) end
    local ok, res = pcall(shouldRetry, err, n)
    if not ok then return finish(false, res) end
    if not res then return finish(false, err) end
    local d
    ok, res = pcall(delay_after, n)
    if not ok then return finish(false, res) end
    d = res
    if maxElapsed and (Promise.now() - start) + d > maxElapsed then
      return finish(false, err)
    end
    if onRetry then
      ok, res = pcall(onRetry, err, n, d)
      if not ok then return finish(false, res) end
      if settled then return end  -- the signal was aborted by onRetry
    end
    delaytimer = Promise.setTimeout(function()
      delaytimer = nil
      if not settled then run_attempt() end
    end, d)
  end

  function run_attempt()
    attempt_no = attempt_no + 1
    local n = attempt_no
    local ctl = Promise.AbortController()
    local cur = { ctl = ctl }
    current = cur
    local function done(ok, v)
      if settled or current ~= cur then return end
      current = nil
      if cur.timer then Promise.clearTimeout(cur.timer); cur.timer = nil end
      if ok then finish(true, v) else failed(v, n) end
    end
    local ok, res = pcall(fn, n, ctl.signal)
    local w = ok and Promise.resolve(res) or Promise.reject(res)
    -- settled or superseded while fn ran (the outer signal aborted)
    if settled or current ~= cur then
      w:next(nil, function() end)
      return
    end
    if attemptTimeout then
      cur.timer = Promise.setTimeout(function()
        cur.timer = nil
        if settled or current ~= cur then return end
        local err = Promise.TimeoutError(("attempt %d timed out after %s ms"):format(n, fmt_ms(attemptTimeout)))
        ctl:abort(err)
        done(false, err)
      end, attemptTimeout)
    end
    w:next(function(v) done(true, v) end, function(e) done(false, e) end)
  end

  if signal then
    unsubscribe = signal:onAbort(function(reason)
      unsubscribe = nil
      local cur = current
      finish(false, reason)
      if cur then cur.ctl:abort(reason) end
    end)
  end

  run_attempt()
  return p
end

return retry
