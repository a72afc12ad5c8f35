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

local type, error, tostring, pcall, pairs =
  type, error, tostring, pcall, pairs
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

local known = { message = true, fallback = true, signal = true }

local function optproblem(opts)
  for k in pairs(opts) do
    if not known[k] then return ("unknown option %s"):format(tostring(k)) end
  end
  local m = opts.message
  if m ~= nil and type(m) ~= "string" then
    return ("field 'message': string expected, got %s"):format(type(m))
  end
  local f = opts.fallback
  if f ~= nil and not is_callable(f) then
    return ("field 'fallback': function expected, got %s"):format(type(f))
  end
  local s = opts.signal
  if s ~= nil and not Promise.AbortSignal.is(s) then
    return ("field 'signal': AbortSignal expected, got %s"):format(type(s))
  end
  return nil
end

local function noop() end

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
    error(("bad argument #1 to 'timeout' (promise or function expected, got %s)"):format(type(work)), 2)
  end
  util.checkms(2, "timeout", ms, true)  -- math.huge: never times out
  if opts ~= nil then
    if type(opts) ~= "table" then
      error(("bad argument #3 to 'timeout' (table expected, got %s)"):format(type(opts)), 2)
    end
    local problem = optproblem(opts)
    if problem then error(("bad argument #3 to 'timeout' (%s)"):format(problem), 2) end
  else
    opts = {}
  end
  local signal, fallback = opts.signal, opts.fallback

  if signal and signal.aborted then
    if not isfn then Promise.resolve(work):next(nil, noop) end  -- no longer our business
    return Promise.reject(signal.reason)
  end

  -- start the work
  local ctl, w
  if isfn then
    ctl = Promise.AbortController()
    local ok, res = pcall(work, ctl.signal)
    if ok then w = Promise.resolve(res) else w = Promise.reject(res) end
  else
    w = Promise.resolve(work)
  end

  -- no race to run: already settled, or no time limit and nothing to abort
  if w:state() ~= "pending" or (ms == huge and not signal) then
    return w:next()
  end

  local p, resolve, reject = Promise.withResolvers()
  local done = false
  local timer, unsubscribe

  local function finish()
    done = true
    if timer then Promise.clearTimeout(timer); timer = nil end
    if unsubscribe then unsubscribe(); unsubscribe = nil end
  end

  w:next(function(v)
    if done then return end
    finish()
    resolve(v)
  end, function(r)
    if done then return end
    finish()
    reject(r)
  end)

  if ms ~= huge then
    timer = Promise.setTimeout(function()
      timer = nil
      if done then return end
      finish()
      local err = Promise.TimeoutError(opts.message or ("timed out after " .. fmt_ms(ms) .. " ms"))
      if ctl then ctl:abort(err) end
      if fallback then
        resolve(Promise.try(fallback, err))
      else
        reject(err)
      end
    end, ms)
  end

  if signal then
    unsubscribe = signal:onAbort(function(reason)
      unsubscribe = nil
      if done then return end
      finish()
      if ctl then ctl:abort(reason) end
      reject(reason)
    end)
  end

  return p
end

return timeout
