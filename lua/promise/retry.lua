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
local backoff = require("promise.backoff")

local tostring, pcall, rawequal = tostring, pcall, rawequal
local floor, huge = math.floor, math.huge

local is_callable = util.is_callable

local function fmt_ms(ms)
  if floor(ms) == ms and ms < 2^53 then return ("%d"):format(ms) end
  return tostring(ms)
end

local function default_should_retry(err)
  return not Promise.AbortError.is(err)
end

local OPTIONS = util.schema({
  { "retries", "number", integer = true, min = 0, huge = true, default = 3 },
  -- delays reach a timer: at most 2^31 - 1 ms; maxDelay is only a cap, so
  -- math.huge (no cap) is fine
  { "minDelay", "ms", default = 100 },
  { "maxDelay", "number", min = 0, huge = true, expected = "number >= 0", default = 30000 },
  { "factor", "number", above = 0, expected = "positive finite number", default = 2 },
  { "jitter", "enum", values = { "full", "equal", "decorrelated", "none" }, default = "full" },
  { "shouldRetry", "function", default = default_should_retry },
  { "onRetry", "function" },
  { "attemptTimeout", "ms", never = true },  -- math.huge: none
  { "maxElapsed", "number", min = 0, huge = true, expected = "number >= 0" },
  { "signal", "signal" },
  { "random", "function" },  -- default: math.random as it is at the call
}, true)

-- The options of a call, checked, with their defaults. Raises at the caller
-- of `retry` (two levels out from here).
local function checkopts(opts)
  local cfg = util.checkopts("retry", 2, opts, OPTIONS, 3)
  if cfg.minDelay > cfg.maxDelay then
    util.badarg(2, "retry", ("field 'minDelay' (%s) exceeds field 'maxDelay' (%s)"):format(
      fmt_ms(cfg.minDelay), fmt_ms(cfg.maxDelay)), 3)
  end
  if cfg.attemptTimeout == huge then cfg.attemptTimeout = nil end
  cfg.random = cfg.random or math.random
  return cfg
end

-- A call in progress: `cfg` (its options), `fn`, `resolve`/`reject`,
-- `start` (its time), `settled`, `n` (attempts made), `current` (the
-- running attempt: { n, ctl = AbortController, timer = timer? }),
-- `delaytimer` (the wait between attempts), `prev` (the previous delay,
-- for "decorrelated"), `unsubscribe` (from cfg.signal), `promise` (the
-- call's), `lastfail` (the promise of the last attempt that failed, so
-- that the call rejects with its async trace).

local function finish(r, ok, v)
  if r.settled then return end
  r.settled = true
  if r.unsubscribe then r.unsubscribe(); r.unsubscribe = nil end
  if r.delaytimer then Promise.clearTimeout(r.delaytimer); r.delaytimer = nil end
  local cur = r.current
  r.current = nil
  if cur and cur.timer then Promise.clearTimeout(cur.timer) end
  if ok then
    r.resolve(v)
  else
    -- the last attempt's own rejection, traceback included, when that is v
    local last = r.lastfail
    local state, reason
    if last then state, reason = last:state() end
    if state == "rejected" and rawequal(reason, v) then r.resolve(last) else r.reject(v) end
  end
end

local run_attempt

-- Attempt `n` failed with `err`: wait and run the next one, or give up.
local function failed(r, err, n)
  local cfg = r.cfg
  if n > cfg.retries then return finish(r, false, err) end
  local ok, res = pcall(cfg.shouldRetry, err, n)
  if not ok then return finish(r, false, res) end
  if not res then return finish(r, false, err) end
  local d
  ok, d, res = pcall(backoff.delay_after, n, cfg, r.prev, cfg.random)
  if not ok then return finish(r, false, d) end
  r.prev = res
  if cfg.maxElapsed and (Promise.now() - r.start) + d > cfg.maxElapsed then
    return finish(r, false, err)
  end
  if cfg.onRetry then
    ok, res = pcall(cfg.onRetry, err, n, d)
    if not ok then return finish(r, false, res) end
    if r.settled then return end  -- the signal was aborted by onRetry
  end
  r.delaytimer = Promise.setTimeout(function()
    r.delaytimer = nil
    if not r.settled then run_attempt(r) end
  end, d)
end

-- The outcome of attempt `cur`, unless it no longer counts.
local function attempt_done(r, cur, ok, v)
  if r.settled or r.current ~= cur then return end
  r.current = nil
  if cur.timer then Promise.clearTimeout(cur.timer); cur.timer = nil end
  if ok then
    finish(r, true, v)
  else
    r.lastfail = cur.promise
    failed(r, v, cur.n)
  end
end

-- Aborts attempt `cur` with a TimeoutError after cfg.attemptTimeout ms.
local function start_attempt_timer(r, cur)
  local ms = r.cfg.attemptTimeout
  cur.timer = Promise.setTimeout(function()
    cur.timer = nil
    if r.settled or r.current ~= cur then return end
    local err = Promise.TimeoutError(("attempt %d timed out after %s ms"):format(cur.n, fmt_ms(ms)))
    cur.ctl:abort(err)
    attempt_done(r, cur, false, err)
  end, ms)
end

-- the line retry adds to async traces: "Promise.retry (attempt 2 of 4)"
local function tracelabel(r, n)
  return function()
    local total = r.cfg.retries + 1
    return ("Promise.retry (attempt %d of %s)"):format(n, total == huge and "unlimited" or ("%d"):format(total))
  end
end

function run_attempt(r)
  r.n = r.n + 1
  local cur = { n = r.n, ctl = Promise.AbortController() }
  r.current = cur
  local ok, res = pcall(r.fn, cur.n, cur.ctl.signal)
  local w = ok and Promise.resolve(res) or Promise.reject(res)
  -- settled or superseded while fn ran (the outer signal aborted)
  if r.settled or r.current ~= cur then
    w:next(nil, function() end)
    return
  end
  if r.cfg.attemptTimeout then start_attempt_timer(r, cur) end
  Promise.debug.awaitedIn(w, r.promise, tracelabel(r, cur.n))
  cur.promise = w
  w:next(function(v) attempt_done(r, cur, true, v) end,
         function(e) attempt_done(r, cur, false, e) end)
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
  if not is_callable(fn) then util.argerror(1, "retry", "function", fn) end
  local cfg = checkopts(opts)
  local signal = cfg.signal
  if signal and signal.aborted then return Promise.reject(signal.reason) end

  local p, resolve, reject = Promise.withResolvers()
  local r = { cfg = cfg, fn = fn, promise = p, resolve = resolve, reject = reject,
              start = Promise.now(), settled = false, n = 0, prev = cfg.minDelay }
  if signal then
    r.unsubscribe = signal:onAbort(function(reason)
      r.unsubscribe = nil
      local cur = r.current
      finish(r, false, reason)
      if cur then cur.ctl:abort(reason) end
    end)
  end
  run_attempt(r)
  return p
end

return retry
