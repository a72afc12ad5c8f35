--- Circuit breaker (manual: docs/manual/breaker.md).
---
--- ```lua
--- local cb = Promise.breaker{ failureThreshold = 3, resetTimeout = 10000 }
--- local p = cb:call(fetch, url)          -- or: local get = cb:wrap(fetch)
--- cb:on("open", function(ms) print("open for " .. ms .. " ms") end)
--- ```
---
--- States and transitions
---
--- * `"closed"`: every call goes through; its outcome is recorded. Without
---   `window`, `failureThreshold` consecutive failures open the circuit (a
---   success resets the run; an ignored call changes nothing). With
---   `window`, the verdict is taken after every recorded outcome: the circuit
---   opens when the window holds at least `minimumCalls` calls and its
---   failure rate is `>= errorRate`. A `"count"` window holds the last `size`
---   outcomes (`minimumCalls` is capped at `size`); a `"time"` window holds
---   the outcomes of the last `size` ms (an outcome recorded at `t` leaves it
---   at `t + size`). Windows are pruned lazily: no timer.
--- * `"open"`: calls are rejected at once with a `Promise.CircuitOpenError`
---   whose `retryAfter` is the number of ms until trial calls are let
---   through. The open period lasts `resetTimeout` ms (or
---   `resetTimeout(timesOpened)`, where `timesOpened` counts the openings
---   since the circuit was last closed: 1, 2, ...). No timer runs: the first
---   call after the period moves the circuit to half-open, and `cb:state()`
---   computes the state from the clock, so it is truthful at any time.
--- * `"half_open"`: at most `halfOpenMax` trial calls run at once; other
---   callers are rejected at once (`retryAfter = 0`). A trial failure
---   re-opens at once; `successThreshold` trial successes close the circuit.
---   A trial whose error is ignored (`isFailure`) just frees its permit.
---
--- Bookkeeping
---
--- * Every call is tagged with the state period it was admitted in. Only an
---   outcome of the current period moves the state machine: a call admitted
---   while closed that fails after the circuit opened, or a trial that ends
---   after the circuit re-opened or closed, does not count as a trial result
---   nor in the window. Its events are still emitted.
--- * `cb:stats()` counts the calls admitted since the circuit last closed (or
---   since creation): `successes`, `failures` (timeouts included),
---   `timeouts`, `ignored`, `rejected` (calls turned away by the open or
---   half-open circuit; they are never outcomes in the window). Everything
---   starts afresh when the circuit closes.
--- * `timeout`: a call not settled after `timeout` ms is a failure (always,
---   whatever `isFailure` says) and its caller is rejected with a
---   `Promise.TimeoutError` ("timed out after <ms> ms"). Its permit is freed.
---   The work is not cancelled (compose with `Promise.timeout` for that); its
---   late settlement is ignored entirely (no event, no statistics).
--- * `isFailure(err)`: a false or nil result makes the call count as neither
---   success nor failure; the caller still gets `err` (no fallback). An error
---   raised by `isFailure` is reported as an uncaught error and the call
---   counts as a failure.
--- * `fallback(err, ...)` (the call's arguments follow `err`): called for a
---   failure (timeouts included) and for a rejection by the circuit; the
---   caller gets its result (a promise is adopted; an error it raises
---   rejects the caller).
---
--- Events (`cb:on(event, fn)` returns an unsubscribe function; listeners run
--- synchronously, in subscription order, after the breaker's state is
--- updated; an error raised by a listener is reported as an uncaught error
--- and does not disturb the breaker):
---
--- | event | arguments |
--- |---|---|
--- | `"success"` | `value, elapsed_ms` |
--- | `"failure"` | `err, elapsed_ms` (also for a timeout, after `"timeout"`) |
--- | `"timeout"` | `err` (the TimeoutError), `elapsed_ms` |
--- | `"reject"` | `err` (the CircuitOpenError) |
--- | `"open"` | `ms` (length of this open period), `err` (see below) |
--- | `"half_open"` | none |
--- | `"close"` | none |
---
--- The `err` of `"open"` is the failure that tripped the circuit; nil when
--- it was forced by `cb:open()` or tripped by a success (window mode).
--- The outcome events of a call come first, then the state change it causes
--- (`"failure"` then `"open"`; `"success"` then `"close"`).

local Promise = require("promise")
local util = require("promise.util")
local rolling = require("promise.breaker.window")
local options = require("promise.breaker.options")

local type, error, tostring, pcall, select, setmetatable, getmetatable =
  type, error, tostring, pcall, select, setmetatable, getmetatable
local pack, unpack, tmove = table.pack, table.unpack, table.move
local floor = math.floor

local EVENTS = {
  open = true, close = true, half_open = true, success = true,
  failure = true, reject = true, timeout = true,
}

local is_callable = util.is_callable

local describe = options.describe

--- Reports `err` through the uncaught-error reporter (Promise.onUncaughtError)
--- without disturbing the caller.
local function report(err)
  Promise.queueMicrotask(function() error(err, 0) end)
end

---@class promise.Breaker
local Breaker = {}
Breaker.__index = Breaker
Breaker.__name = "promise.Breaker"

local function checkself(self, method)
  if getmetatable(self) ~= Breaker then
    util.selferror(method, "breaker", self, 3)
  end
end

-- Events ----------------------------------------------------------------

--- Queues the events `{name, n, ...}` and runs them in order. An event
--- queued by a listener (re-entrant call into the breaker) runs after the
--- events already queued, so every listener sees the same order.
local function flush(self, events)
  local q = self._queue
  for i = 1, #events do q[#q + 1] = events[i] end
  if self._flushing then return end
  self._flushing = true
  local i = 1
  while q[i] do
    local ev = q[i]
    q[i] = false
    i = i + 1
    local list = self._listeners[ev[1]]
    if list and #list > 0 then
      local snapshot = tmove(list, 1, #list, 1, {})
      for j = 1, #snapshot do
        local l = snapshot[j]
        if l.active then
          local ok, err = pcall(l.fn, unpack(ev, 3, ev[2] + 2))
          if not ok then report(err) end
        end
      end
    end
  end
  self._queue = {}
  self._flushing = false
end

local function push(events, name, ...)
  events[#events + 1] = { name, select("#", ...), ... }
end

-- State changes (they only mutate and queue events) ---------------------

local function reset_stats(self)
  self._successes, self._failures, self._timeouts = 0, 0, 0
  self._ignored, self._rejected = 0, 0
end

local function open_period(self, times)
  local rt = self._resetTimeout
  if type(rt) == "number" then return rt end
  local ok, ms = pcall(rt, times)
  if ok and type(ms) == "number" and ms >= 0 then return ms end
  report(ok and ("breaker: resetTimeout(%d) returned %s (number >= 0 expected); using %d ms")
    :format(times, describe(ms), options.DEFAULT_RESET) or ms)
  return options.DEFAULT_RESET
end

local function to_open(self, events, err, now)
  self._state = "open"
  self._epoch = self._epoch + 1
  self._timesOpened = self._timesOpened + 1
  local ms = open_period(self, self._timesOpened)
  self._openUntil = now + ms
  self._consecutive = 0
  self._trials, self._trialSuccesses = 0, 0
  push(events, "open", ms, err)
end

local function to_half_open(self, events)
  self._state = "half_open"
  self._epoch = self._epoch + 1
  self._trials, self._trialSuccesses = 0, 0
  push(events, "half_open")
end

local function to_closed(self, events)
  self._state = "closed"
  self._epoch = self._epoch + 1
  self._period = self._period + 1
  self._timesOpened = 0
  self._consecutive = 0
  self._trials, self._trialSuccesses = 0, 0
  reset_stats(self)
  if self._window then rolling.clear(self._window) end
  push(events, "close")
end

--- Whether the closed circuit must open now.
local function must_trip(self, now)
  local w = self._window
  if not w then return self._consecutive >= self._failureThreshold end
  local n, fails = rolling.counts(w, now)
  return n > 0 and n >= self._minimumCalls and fails / n >= self._errorRate
end

-- Calls -----------------------------------------------------------------

local function run_fallback(self, err, args)
  return Promise.try(self._fallback, err, unpack(args, 1, args.n))
end

--- The kind of an outcome once `isFailure` has judged a failure:
--- "failure" stays a failure unless it says otherwise ("ignored").
local function classify(self, kind, v)
  if kind == "failure" and self._isFailure then
    local ok, res = pcall(self._isFailure, v)
    if not ok then
      report(res)
    elseif not res then
      return "ignored"
    end
  end
  return kind
end

--- Counts an outcome in the statistics (when the call belongs to the
--- current period: `counted`) and queues its events.
local function count(self, events, kind, v, elapsed, counted)
  if kind == "success" then
    if counted then self._successes = self._successes + 1 end
    push(events, "success", v, elapsed)
  elseif kind == "ignored" then
    if counted then self._ignored = self._ignored + 1 end
  else
    if counted then
      self._failures = self._failures + 1
      if kind == "timeout" then self._timeouts = self._timeouts + 1 end
    end
    if kind == "timeout" then push(events, "timeout", v, elapsed) end
    push(events, "failure", v, elapsed)
  end
end

--- The state change an outcome (of a call admitted in the current epoch)
--- causes: a trip of the closed circuit, the end of a half-open trial.
local function judge(self, events, rec, failed, v, now)
  if self._state == "closed" then
    if failed then
      self._consecutive = self._consecutive + 1
    else
      self._consecutive = 0
    end
    if self._window then rolling.record(self._window, failed, now) end
    if must_trip(self, now) then to_open(self, events, failed and v or nil, now) end
  elseif rec.trial then -- half-open
    if failed then
      to_open(self, events, v, now)
    else
      self._trialSuccesses = self._trialSuccesses + 1
      if self._trialSuccesses >= self._successThreshold then to_closed(self, events) end
    end
  end
end

--- Ends a call admitted as `rec`. `kind`: "success", "failure", "timeout".
local function finish(self, rec, kind, v)
  if rec.done then return end
  rec.done = true
  if rec.timer then
    Promise.clearTimeout(rec.timer)
    rec.timer = nil
  end
  local now = Promise.now()
  local current = rec.epoch == self._epoch
  if rec.trial and current then self._trials = self._trials - 1 end
  kind = classify(self, kind, v)
  local events = {}
  count(self, events, kind, v, now - rec.start, rec.period == self._period)
  if current and kind ~= "ignored" then judge(self, events, rec, kind ~= "success", v, now) end
  flush(self, events)
  if kind == "success" then
    rec.resolve(v)
  elseif kind ~= "ignored" and self._fallback then
    rec.resolve(run_fallback(self, v, rec.args))
  else
    local w = rec.work  -- its own rejection, with its async trace, when v is its reason
    local wstate, reason
    if w then wstate, reason = w:state() end
    if wstate == "rejected" and rawequal(reason, v) then rec.resolve(w) else rec.reject(v) end
  end
end

-- Calls `fn(...)`; its promise is linked to the call's `p`, so that an
-- async trace through it reads one line for the breaker (linked now:
-- Promise.try adopts it only a microtask later).
local function calllinked(p, fn, ...)
  local res = fn(...)
  if Promise.is(res) then Promise.debug.awaitedIn(res, p, "a Promise.breaker call") end
  return res
end

--- Calls `fn(...)` through the breaker. Returns a promise of its result;
--- rejected at once with a `Promise.CircuitOpenError` when the circuit turns
--- the call away (unless a `fallback` replaces the rejection).
---@param fn function
---@param ... any arguments for `fn`
---@return Promise
function Breaker:call(fn, ...)
  checkself(self, "call")
  if not is_callable(fn) then
    util.argerror(1, "call", "function", fn)
  end
  local now = Promise.now()
  local events = {}
  local state = self._state
  local retryAfter
  if state == "open" then
    if now < self._openUntil then
      retryAfter = self._openUntil - now
    else
      to_half_open(self, events)
      state = "half_open"
    end
  end
  if state == "half_open" and self._trials >= self._halfOpenMax then
    retryAfter = 0
  end

  if retryAfter then
    self._rejected = self._rejected + 1
    local err = Promise.CircuitOpenError(
      state == "open" and "circuit is open" or "circuit is half-open: trial calls in progress",
      { retryAfter = retryAfter })
    push(events, "reject", err)
    flush(self, events)
    if self._fallback then return run_fallback(self, err, pack(...)) end
    return Promise.reject(err)
  end

  local trial = state == "half_open"
  if trial then self._trials = self._trials + 1 end
  local p, resolve, reject = Promise.withResolvers()
  local rec = {
    epoch = self._epoch, period = self._period, trial = trial, start = now,
    done = false, resolve = resolve, reject = reject,
    args = self._fallback and pack(...) or nil,
  }
  flush(self, events) -- "half_open", now that the permit is taken

  if self._timeout then
    local ms = self._timeout
    rec.timer = Promise.setTimeout(function()
      rec.timer = nil
      finish(self, rec, "timeout",
        Promise.TimeoutError(("timed out after %s ms"):format(
          ms == floor(ms) and ("%d"):format(ms) or tostring(ms))))
    end, ms)
  end
  local work = Promise.try(calllinked, p, fn, ...)
  rec.work = work
  work:next(function(v)
    finish(self, rec, "success", v)
  end, function(e)
    finish(self, rec, "failure", e)
  end)
  return p
end

--- Returns `fn` protected by the breaker: `wrapped(...)` is `cb:call(fn, ...)`.
---@param fn function
---@return fun(...): Promise
function Breaker:wrap(fn)
  checkself(self, "wrap")
  if not is_callable(fn) then
    util.argerror(1, "wrap", "function", fn)
  end
  return function(...) return self:call(fn, ...) end
end

--- The current state, computed from the clock: `"closed"`, `"open"` or
--- `"half_open"` (an open circuit whose `resetTimeout` has elapsed).
---@return "closed"|"open"|"half_open"
function Breaker:state()
  checkself(self, "state")
  if self._state == "open" and Promise.now() >= self._openUntil then
    return "half_open"
  end
  return self._state
end

---@class promise.BreakerStats
---@field state string        as `cb:state()`
---@field successes integer
---@field failures integer    timeouts included
---@field timeouts integer
---@field ignored integer     calls `isFailure` excluded
---@field rejected integer    calls turned away by the circuit
---@field calls integer       outcomes in the current window (without `window`: successes + failures)
---@field failureRate number  failures / calls over the same set (0 when empty)
---@field consecutiveFailures integer
---@field timesOpened integer openings since the circuit last closed
---@field retryAfter number   ms until trial calls are let through (0 unless open)

--- Statistics since the circuit last closed (or since creation).
---@return promise.BreakerStats
function Breaker:stats()
  checkself(self, "stats")
  local now = Promise.now()
  local calls, fails
  if self._window then
    calls, fails = rolling.counts(self._window, now)
  else
    calls, fails = self._successes + self._failures, self._failures
  end
  local state = self:state()
  return {
    state = state,
    successes = self._successes, failures = self._failures,
    timeouts = self._timeouts, ignored = self._ignored, rejected = self._rejected,
    calls = calls, failureRate = calls > 0 and fails / calls or 0,
    consecutiveFailures = self._consecutive,
    timesOpened = self._timesOpened,
    retryAfter = state == "open" and self._openUntil - now or 0,
  }
end

--- Subscribes `fn` to `event`; returns a function that unsubscribes it.
---@param event "open"|"close"|"half_open"|"success"|"failure"|"reject"|"timeout"
---@param fn function
---@return fun()
function Breaker:on(event, fn)
  checkself(self, "on")
  if type(event) ~= "string" then
    util.argerror(1, "on", "string", event)
  end
  if not EVENTS[event] then
    util.badarg(1, "on", ("unknown event %q"):format(event))
  end
  if not is_callable(fn) then
    util.argerror(2, "on", "function", fn)
  end
  local list = self._listeners[event]
  if not list then
    list = {}
    self._listeners[event] = list
  end
  local l = { fn = fn, active = true }
  list[#list + 1] = l
  return function()
    if not l.active then return end
    l.active = false
    for i = 1, #list do
      if list[i] == l then
        table.remove(list, i)
        break
      end
    end
  end
end

--- Forces the circuit open now (an opening like a trip: `timesOpened` grows
--- and `resetTimeout` applies). Does nothing when it is already open.
function Breaker:open()
  checkself(self, "open")
  if self:state() == "open" then return end
  local events = {}
  to_open(self, events, nil, Promise.now())
  flush(self, events)
end

--- Forces the circuit closed now (statistics start afresh). Does nothing
--- when it is already closed.
function Breaker:close()
  checkself(self, "close")
  if self._state == "closed" then return end
  local events = {}
  to_closed(self, events)
  flush(self, events)
end

Breaker.__newindex = function(_, key)
  error(("cannot set field '%s' of a circuit breaker"):format(tostring(key)), 2)
end

Breaker.__tostring = function(self)
  return ("CircuitBreaker<%s>"):format(self:state())
end

--- Makes a circuit breaker (see the module documentation for the options).
---@class promise.BreakerOptions
---@field failureThreshold? integer  consecutive failures that open (default 5; not with `window`)
---@field window? {kind: "count"|"time", size: number}
---@field errorRate? number          with `window` (default 0.5)
---@field minimumCalls? integer      with `window` (default 10)
---@field resetTimeout? number|fun(timesOpened: integer): number  ms open (default 30000)
---@field halfOpenMax? integer       trial calls at once (default 1)
---@field successThreshold? integer  trial successes that close (default 1)
---@field timeout? number            ms before a call counts as failed, in (0, 2^31 - 1]; math.huge: none
---@field isFailure? fun(err: any): boolean
---@field fallback? fun(err: any, ...): any

---@param opts? promise.BreakerOptions
---@return promise.Breaker
local function breaker(opts)
  local o = options.check(opts)
  local self = {
    _failureThreshold = o.failureThreshold, _window = o.window,
    _errorRate = o.errorRate, _minimumCalls = o.minimumCalls, _resetTimeout = o.resetTimeout,
    _halfOpenMax = o.halfOpenMax, _successThreshold = o.successThreshold,
    _timeout = o.timeout, _isFailure = o.isFailure, _fallback = o.fallback,
    _listeners = {}, _queue = {}, _flushing = false,
    _state = "closed", _epoch = 0, _period = 0, _openUntil = 0,
    _timesOpened = 0, _consecutive = 0, _trials = 0, _trialSuccesses = 0,
  }
  reset_stats(self)
  return setmetatable(self, Breaker)
end

return breaker
