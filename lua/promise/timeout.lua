--- Timeout (manual: docs/manual/timeout.md).
---
--- ```lua
--- local v = Promise.await(Promise.timeout(fetch(url), 500))
--- local p = Promise.timeout(function(signal) return fetch(url, { signal = signal }) end, 500,
---                           { fallback = function() return cached end, signal = outer })
--- ```
---
--- * `work` is a promise (or thenable), or a function called at once as
---   `work(signal)`: its returned value or promise is raced against the
---   timer, and a value it raises rejects the result. With a function, the
---   signal is aborted when the time is up (reason: the `TimeoutError`), so
---   the work is really cancelled, not merely ignored as with a bare
---   `Promise.race`.
--- * When the time is up the result rejects with a `Promise.TimeoutError`
---   ("timed out after <ms> ms", or `opts.message`), unless `opts.fallback`
---   is a function: then it is called as `fallback(timeoutError)` and the
---   result is what it returns (or rejects with what it raises).
--- * The timer is cleared as soon as the work settles (or the wait is
---   aborted): no timer outlives the race. Work that is already settled when
---   `timeout` is called gets no timer at all.
--- * `opts.signal` aborts the wait: the result rejects with the signal's
---   reason, the timer is cleared and the work's signal is aborted with the
---   same reason. A signal already aborted rejects at once and a `work`
---   function is then not called.
--- * `ms` is a number in [0, 2^31 - 1] (Node's timer range; below 1 counts
---   as 1), or `math.huge` for no time limit.
--- * Bad arguments raise Lua errors (`bad argument #2 to 'timeout' ...`).

local Promise = require("promise")
local util = require("promise.util")

local type, tostring, pcall = type, tostring, pcall
local floor, huge = math.floor, math.huge

local is_callable = util.is_callable

local function is_thenable(v)
  local tv = type(v)
  if tv ~= "table" and tv ~= "userdata" then return false end
  local ok, nxt = pcall(function() return v.next end)
  return ok and is_callable(nxt)
end

local function fmt_ms(ms)
  if floor(ms) == ms then return ("%d"):format(ms) end
  return tostring(ms)
end

local OPTIONS = util.schema({
  { "message", "string" },
  { "fallback", "function" },
  { "signal", "signal" },
}, true)

local function noop() end

-- Starts the work: `w` is a promise of its outcome; `ctl` aborts it when
-- `work` is a function (a promise cannot be told to stop).
local function start(work, isfn)
  if not isfn then return nil, Promise.resolve(work) end
  local ctl = Promise.AbortController()
  local ok, res = pcall(work, ctl.signal)
  if ok then return ctl, Promise.resolve(res) end
  return ctl, Promise.reject(res)
end

-- Settles `p` (through `resolve`/`reject`; async traces go from `w` to
-- `p` in one line) with the first of: `w`
-- settling, the timer of `ms` (unless math.huge), `cfg.signal` aborting.
-- Whichever comes first stops the others.
local function race(w, ms, cfg, ctl, p, resolve, reject)
  local done, timer, unsubscribe = false, nil, nil
  Promise.debug.awaitedIn(w, p, function()
    return ms == huge and "Promise.timeout" or ("Promise.timeout (%s ms)"):format(fmt_ms(ms))
  end)
  local function finish()
    if done then return false end
    done = true
    if timer then Promise.clearTimeout(timer); timer = nil end
    if unsubscribe then unsubscribe(); unsubscribe = nil end
    return true
  end
  w:next(function(v) if finish() then resolve(v) end end,
         function() if finish() then resolve(w) end end)  -- with w's trace
  if ms ~= huge then
    timer = Promise.setTimeout(function()
      timer = nil
      if not finish() then return end
      local err = Promise.TimeoutError(cfg.message or ("timed out after " .. fmt_ms(ms) .. " ms"))
      if ctl then ctl:abort(err) end
      if cfg.fallback then resolve(Promise.try(cfg.fallback, err)) else reject(err) end
    end, ms)
  end
  if cfg.signal then
    unsubscribe = cfg.signal:onAbort(function(reason)
      unsubscribe = nil
      if not finish() then return end
      if ctl then ctl:abort(reason) end
      reject(reason)
    end)
  end
end

---@class promise.TimeoutOptions
---@field message string?                 the TimeoutError's message
---@field fallback (fun(err: any): any)?  called at the deadline; its result is used instead
---@field signal promise.AbortSignal?     aborts the wait and the work

--- Races `work` against a timer of `ms` milliseconds.
---@param work Promise|fun(signal: promise.AbortSignal): any
---@param ms number
---@param opts? promise.TimeoutOptions
---@return Promise
local function timeout(work, ms, opts)
  local isfn = is_callable(work)
  if not isfn and not Promise.is(work) and not is_thenable(work) then
    util.argerror(1, "timeout", "promise or function", work)
  end
  util.checkms(2, "timeout", ms, true)  -- math.huge: never times out
  local cfg = util.checkopts("timeout", 3, opts, OPTIONS)
  local signal = cfg.signal
  if signal and signal.aborted then
    if not isfn then Promise.resolve(work):next(nil, noop) end  -- no longer our business
    return Promise.reject(signal.reason)
  end
  local ctl, w = start(work, isfn)
  -- no race to run: already settled, or no time limit and nothing to abort
  if w:state() ~= "pending" or (ms == huge and not signal) then
    return w:next()
  end
  local p, resolve, reject = Promise.withResolvers()
  race(w, ms, cfg, ctl, p, resolve, reject)
  return p
end

return timeout
