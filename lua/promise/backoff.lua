--- Backoff delays for `Promise.retry` (manual: docs/manual/retry.md): the
--- pure part of the policy, with no clock and no state of its own, so that
--- it can be tested alone (spec/backoff_spec.lua).

local Promise = require("promise")
local util = require("promise.util")

local type, error, tostring = type, error, tostring
local min, tointeger = math.min, math.tointeger

local M = {}

-- U(0,1) from the caller's source, checked
local function uniform(random)
  local r = random()
  if type(r) ~= "number" or not (r >= 0 and r <= 1) then
    error(Promise.TypeError(("retry: 'random' must return a number in [0, 1], got %s")
      :format(tostring(r))), 0)
  end
  return r
end

--- The delay in ms before attempt `n + 1`, after failed attempt `n`:
--- `d = min(maxDelay, minDelay * factor^(n-1))`, then jittered by
--- `cfg.jitter`: "full" U(0, d); "equal" d/2 + U(0, d/2); "decorrelated"
--- min(maxDelay, U(minDelay, 3 * prev)); "none" d. No delay exceeds 2^31 - 1
--- (the longest a timer waits). An integral delay is a Lua integer.
--- Returns the delay and the `prev` to pass for the next one (`prev` starts
--- at `cfg.minDelay`). Raises a TypeError when `random()` gives anything but
--- a number in [0, 1].
---@param n integer the attempt that failed (1, 2, ...)
---@param cfg {minDelay: number, maxDelay: number, factor: number, jitter: string}
---@param prev number the previous delay ("decorrelated" only)
---@param random fun(): number source of U(0, 1)
---@return number delay
---@return number prev
function M.delay_after(n, cfg, prev, random)
  local minDelay, jitter = cfg.minDelay, cfg.jitter
  -- capping before the jitter keeps every delay finite and in a timer's range
  local cap = min(cfg.maxDelay, util.TIMEOUT_MAX)
  local d = 0
  if minDelay ~= 0 then d = min(cap, minDelay * cfg.factor ^ (n - 1)) end
  if jitter == "full" then
    d = uniform(random) * d
  elseif jitter == "equal" then
    d = d / 2 + uniform(random) * (d / 2)
  elseif jitter == "decorrelated" then
    d = min(cap, minDelay + uniform(random) * (3 * prev - minDelay))
    prev = d
  end
  return tointeger(d) or d, prev
end

return M
