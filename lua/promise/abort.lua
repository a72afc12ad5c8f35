--- AbortController / AbortSignal (manual: docs/manual/cancellation.md), with the WHATWG DOM
--- semantics translated into Lua:
---
--- * `AbortController()` -> controller with `.signal` and `:abort([reason])`;
--- * a signal has `.aborted`, `.reason`, `:throwIfAborted()` and
---   `:onAbort(fn)` (returns an unsubscribe function; `fn(reason)` runs once,
---   never when registered on an already aborted signal);
--- * `AbortSignal.abort([reason])`, `AbortSignal.timeout(ms)`,
---   `AbortSignal.any(signals)`.
---
--- Abort listeners run synchronously inside `abort()`, in registration order;
--- an error raised by one goes to the uncaught-error reporter
--- (`Promise.reportError`) and does not stop the others.
---
--- `AbortSignal.any` follows the DOM's "dependent signals": a source signal
--- holds its dependents weakly, so a dependent nobody references can be
--- collected, except while it has abort listeners (it must then still fire).

local errors = require("promise.errors")
local util = require("promise.util")
local dbg = require("promise.debug")

local type, error, setmetatable, getmetatable, rawget, pairs, xpcall, tostring, sort =
  type, error, setmetatable, getmetatable, rawget, pairs, xpcall, tostring, table.sort

local M = {}

---@class promise.AbortSignal
---@field aborted boolean
---@field reason any           nil until aborted
---@field private _head table?  first listener record (doubly linked list)
---@field private _tail table?
---@field private _nlisteners integer
---@field private _dependents table? weak-keyed set of dependent signals
---@field private _pinned table?     strong set: dependents that have listeners
---@field private _sources table?    weak-keyed set of source signals (dependents only)
---@field private _seq integer       creation order, to abort dependents in order
---@field private _warned boolean?   MaxListenersExceededWarning was emitted for it
local Signal = {}
Signal.__index = Signal
Signal.__name = "AbortSignal"

---@class promise.AbortController
---@field signal promise.AbortSignal
local Controller = {}
Controller.__index = Controller
Controller.__name = "AbortController"

local seq = 0

local function is_signal(v)
  return type(v) == "table" and getmetatable(v) == Signal
end

local function is_callable(fn)
  if type(fn) == "function" then return true end
  local mt = getmetatable(fn)
  return type(mt) == "table" and type(rawget(mt, "__call")) == "function"
end

local function new_signal()
  seq = seq + 1
  return setmetatable({ aborted = false, reason = nil, _nlisteners = 0, _seq = seq }, Signal)
end

local function default_reason()
  return errors.AbortError("This operation was aborted")
end

-- Sends an error raised by an abort listener to the uncaught-error reporter.
local function report(err, tb)
  local ok, P = pcall(require, "promise")
  if ok and type(P) == "table" and type(P.reportError) == "function" then
    P.reportError(err, tb)
    return
  end
  io.stderr:write("Uncaught error in abort listener: ", tostring(err), "\n", tb or "", "\n")
end

local traceback_of
local function handler(err)
  traceback_of = debug.traceback(nil, 2)
  return err
end

-- Pins/unpins a dependent signal in its sources while it has listeners, so
-- that the sources keep it (and its listeners) alive.
local function set_pinned(sig, on)
  local sources = sig._sources
  if not sources then return end
  for src in pairs(sources) do
    if not src.aborted then
      if on then
        src._pinned = src._pinned or {}
        src._pinned[sig] = true
      elseif src._pinned then
        src._pinned[sig] = nil
      end
    end
  end
end

-- The DOM's "run the abort steps": run the listeners, in registration order.
local function run_abort_steps(sig)
  local rec = sig._head
  sig._head, sig._tail, sig._nlisteners = nil, nil, 0
  local reason = sig.reason
  while rec do
    local nxt = rec.nxt
    if not rec.removed then
      rec.removed = true
      local fn = rec.fn
      rec.fn, rec.nxt, rec.prv = nil, nil, nil
      local ok, err = xpcall(fn, handler, reason)
      if not ok then report(err, traceback_of) end
    end
    rec = nxt
  end
end

-- The DOM's "signal abort".
local function signal_abort(sig, reason)
  if sig.aborted then return end
  if reason == nil then reason = default_reason() end
  sig.aborted, sig.reason = true, reason
  -- every dependent is marked aborted before any listener runs
  local deps = {}
  if sig._dependents then
    for dep in pairs(sig._dependents) do
      if not dep.aborted then
        dep.aborted, dep.reason = true, reason
        deps[#deps + 1] = dep
      end
    end
    sig._dependents, sig._pinned = nil, nil
    sort(deps, function(a, b) return a._seq < b._seq end)
  end
  run_abort_steps(sig)
  for i = 1, #deps do
    local dep = deps[i]
    set_pinned(dep, false)
    dep._sources = nil
    run_abort_steps(dep)
  end
end

--- Raises the signal's reason (`error(reason, 0)`) when it is aborted.
---@param self promise.AbortSignal
function Signal.throwIfAborted(self)
  if not is_signal(self) then
    util.selferror("throwIfAborted", "AbortSignal", self)
  end
  if self.aborted then error(self.reason, 0) end
end

local function noop() end

-- Node's MaxListenersExceededWarning, once per signal (and per site)
local function toomany(sig)
  sig._warned = true
  dbg.warn("MaxListenersExceededWarning", ("possible AbortSignal leak: %d abort listeners " ..
    "added to one signal (Promise.debug.maxListeners is %d); unsubscribe the ones you no " ..
    "longer need"):format(sig._nlisteners, dbg.maxListeners), dbg.site(2))
end

--- Registers `fn(reason)` to run once when the signal aborts. Does nothing
--- on an already aborted signal. Returns a function that unsubscribes `fn`.
---@param self promise.AbortSignal
---@param fn fun(reason: any)
---@return fun() unsubscribe
function Signal.onAbort(self, fn)
  if not is_signal(self) then
    util.selferror("onAbort", "AbortSignal", self)
  end
  if not is_callable(fn) then
    util.argerror(1, "onAbort", "function", fn)
  end
  if self.aborted then return noop end
  local rec = { fn = fn, prv = self._tail }
  if self._tail then self._tail.nxt = rec else self._head = rec end
  self._tail = rec
  self._nlisteners = self._nlisteners + 1
  if self._nlisteners == 1 then set_pinned(self, true) end
  local max = dbg.maxListeners
  if type(max) == "number" and self._nlisteners > max and max > 0 and not self._warned then
    toomany(self)
  end
  return function()
    if rec.removed then return end
    rec.removed = true
    if self.aborted then return end -- the list belongs to the running abort
    if rec.prv then rec.prv.nxt = rec.nxt else self._head = rec.nxt end
    if rec.nxt then rec.nxt.prv = rec.prv else self._tail = rec.prv end
    rec.fn, rec.prv, rec.nxt = nil, nil, nil
    self._nlisteners = self._nlisteners - 1
    if self._nlisteners == 0 then set_pinned(self, false) end
  end
end

function Signal.__tostring(self)
  return ("AbortSignal<%s>"):format(self.aborted and "aborted" or "active")
end

--- Aborts the controller's signal with `reason` (default: an `AbortError`
--- "This operation was aborted"). Only the first call has an effect.
---@param self promise.AbortController
---@param reason any
function Controller.abort(self, reason)
  if type(self) ~= "table" or getmetatable(self) ~= Controller then
    util.selferror("abort", "AbortController", self)
  end
  signal_abort(self.signal, reason)
end

--- Makes a new controller with a fresh `.signal`.
---@return promise.AbortController
function M.AbortController()
  return setmetatable({ signal = new_signal() }, Controller)
end

M.AbortSignal = {}

--- True when `v` is an AbortSignal of this library.
---@param v any
---@return boolean
function M.AbortSignal.is(v)
  return is_signal(v)
end

--- A signal that is already aborted with `reason` (default: an `AbortError`).
---@param reason any
---@return promise.AbortSignal
function M.AbortSignal.abort(reason)
  local sig = new_signal()
  signal_abort(sig, reason)
  return sig
end

--- A signal that aborts with a `TimeoutError` after `ms` milliseconds. Its
--- timer (`Promise.setTimeout`, so fake timers apply) is unref'd: it does not
--- keep the loop alive.
---@param ms number in [0, 2^31 - 1]
---@return promise.AbortSignal
function M.AbortSignal.timeout(ms)
  -- as in Node, no "never" (math.huge) here; and a delay the timer cannot
  -- hold is refused rather than clamped to 1 ms
  util.checkms(1, "timeout", ms)
  local Promise = require("promise")
  local sig = new_signal()
  local timer = Promise.setTimeout(function()
    signal_abort(sig, errors.TimeoutError("The operation was aborted due to timeout"))
  end, ms)
  timer:unref()
  return sig
end

--- A signal that aborts as soon as any of `signals` does, with its reason.
--- When one is already aborted, the result is too, with the reason of the
--- first aborted one in list order. `signals.n` is honoured when present.
---@param signals promise.AbortSignal[]
---@return promise.AbortSignal
function M.AbortSignal.any(signals)
  if type(signals) ~= "table" then
    util.argerror(1, "any", "table", signals)
  end
  local n = signals.n
  if type(n) ~= "number" then n = #signals end
  for i = 1, n do
    if not is_signal(signals[i]) then
      util.badarg(1, "any", ("AbortSignal expected at index %d, got %s"):format(
        i, util.typename(signals[i])))
    end
  end
  local result = new_signal()
  for i = 1, n do
    local s = signals[i]
    if s.aborted then
      result.aborted, result.reason = true, s.reason
      return result
    end
  end
  local sources = setmetatable({}, { __mode = "k" })
  result._sources = sources
  local function attach(src)
    sources[src] = true
    local deps = src._dependents
    if not deps then
      deps = setmetatable({}, { __mode = "k" })
      src._dependents = deps
    end
    deps[result] = true
  end
  for i = 1, n do
    local s = signals[i]
    if s._sources then
      -- a dependent signal: depend on its sources instead (they are not aborted)
      for src in pairs(s._sources) do attach(src) end
    else
      attach(s)
    end
  end
  return result
end

return M
