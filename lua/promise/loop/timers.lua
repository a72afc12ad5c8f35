--- Timers on the real clock (manual: docs/manual/loop.md): `setTimeout`,
--- `setInterval`, their `Timeout` objects, `sleep` and `now`.
---
--- Timers are ordered by deadline, then creation order, in the lists of
--- loop/heap.lua; ONE uv timer is armed for the earliest deadline. When it
--- fires, every timer due at that instant runs in that order, with a
--- microtask drain after each callback (as Node does). Only ref'd timers
--- keep the loop alive: the uv timer is ref'd while at least one ref'd
--- timer is pending. While a fake clock is installed (`L.fake`, see
--- loop/fake.lua), new timers go to its scheduler instead and no uv handle
--- is used for them.
---
--- State (in `L`, see loop/init.lua): `real` (the real scheduler), `fake`,
--- `armed` (the deadline the uv timer is armed for, or nil), `uvrefed`,
--- `firing` (onfire is running: no re-arm until it is done).

local uv = require("luv")
local util = require("promise.util")
local heap = require("promise.loop.heap")
local dbg = require("promise.debug")

local type, select, setmetatable, getmetatable = type, select, setmetatable, getmetatable
local pack = table.pack
local ceil = math.ceil

local M = {}

local TIMEOUT_MAX = util.TIMEOUT_MAX
local is_callable, typename, argerror = util.is_callable, util.typename, util.argerror
local schedule, unschedule, first = heap.schedule, heap.unschedule, heap.first

-- timer slots and states: see loop/heap.lua
local FN <const>, DELAY <const>, DEADLINE <const>, NEXT <const>, PREV <const> = 1, 2, 3, 4, 5
local UNREFED <const>, REPEAT <const>, ARGS <const>, SCHED <const>, FAILS <const> = 6, 7, 8, 9, 10
local IDLE <const>, CLEARED <const> = 0, -1

--- Node's delay coercion: anything but a number in [1, 2^31-1] counts as 1.
local function delay(ms)
  if type(ms) ~= "number" or not (ms >= 1 and ms <= TIMEOUT_MAX) then
    return 1
  end
  return ms
end

---@class promise.Timeout  an array: see the slots in loop/heap.lua
local Timeout = {}
Timeout.__index = Timeout
Timeout.__name = "Timeout"

-- set once by install: the state, the public module, the callback runner,
-- the real scheduler and the single uv timer
local L, P, invoke, real, uvtimer

local update_time, uvnow = uv.update_time, uv.now
local function realnow()
  update_time()
  return uvnow()
end

local onfire

--- Makes the uv timer match the heap: armed no later than the earliest
--- deadline, ref'd only while a ref'd timer is pending, stopped when empty.
local function rearm()
  if L.firing then return end
  local top = first(real)
  if not top then
    if L.armed then
      uvtimer:stop()
      L.armed = nil
    end
    if L.uvrefed then
      uvtimer:unref()
      L.uvrefed = false
    end
    return
  end
  top = top[DEADLINE]
  if not L.armed or L.armed > top then
    -- at least 1 ms, as Node's ScheduleTimer: a uv timer started with 0
    -- from inside the timers phase would run in that same phase, before
    -- the immediates queued meanwhile
    local wait = ceil(top - realnow())
    if wait < 1 then wait = 1 end
    uvtimer:start(wait, 0, onfire)
    L.armed = top
  end
  local want = real.refs > 0
  if want ~= L.uvrefed then
    if want then uvtimer:ref() else uvtimer:unref() end
    L.uvrefed = want
  end
end

--- Failed runs in a row after which an interval still scheduled warns.
M.FAILING = 3

--- Counts an interval's consecutive failures; warns (once per callback
--- site) when it reaches M.FAILING and the interval was not cleared.
local function countfailure(t, ok)
  if ok then
    t[FAILS] = 0
    return
  end
  local n = (t[FAILS] or 0) + 1
  t[FAILS] = n
  if n == M.FAILING and t[PREV] ~= CLEARED then
    local info = type(t[FN]) == "function" and debug.getinfo(t[FN], "S")
    dbg.warn("FailingIntervalWarning", ("an interval (every %s ms) was never cleared and its " ..
      "callback failed %d times in a row; clear it (Promise.clearInterval) or catch its errors")
      :format(t[DELAY], n), info and (info.short_src .. ":" .. info.linedefined) or nil)
  end
end

--- Runs timer `t` (already out of the heap) of scheduler `s` at `now`.
local function runtimer(s, t, now)
  local ok = invoke(t[FN], t[ARGS])
  if t[REPEAT] and (not ok or t[FAILS]) then countfailure(t, ok) end
  -- an interval not cleared nor refreshed by its callback, and whose
  -- fake clock (if any) is still installed, is scheduled again
  if t[REPEAT] and t[PREV] == IDLE and (t[SCHED] or real) == s then
    -- scheduled again after its callback, as Node re-inserts it: a timer
    -- its callback created with the same delay and the same deadline
    -- runs first (it is before the interval in their list)
    t[DEADLINE] = now + t[DELAY]
    schedule(s, t)
  end
end

function onfire()
  L.armed = nil
  L.firing = true
  local now = realnow()
  while true do
    local t = first(real)
    if not t or t[DEADLINE] > now then break end
    unschedule(real, t)
    runtimer(real, t, now)
  end
  L.firing = false
  rearm()
end

local function changed(s)
  if not s.fake then rearm() end
end

local function schednow(s)
  if s.fake then return s.now end
  return realnow()
end

-- for Promise.debug.handles(): active, keeps the loop alive, what
local function timerinfo(t)
  return t[NEXT] and true or false, not t[UNREFED] and not t[SCHED],
    ("(%s ms%s)"):format(t[DELAY], t[SCHED] and ", fake clock" or "")
end

--- A new pending timer of scheduler `s`; `rep` is true for an interval.
local function newtimer(s, fn, ms, rep, args)
  local t
  if s == real and not rep and not args then
    t = { fn, ms, realnow() + ms, false, IDLE }  -- the common case
  else
    t = { fn, ms, schednow(s) + ms, false, IDLE, false, rep or nil, args,
          s ~= real and s or nil }
  end
  setmetatable(t, Timeout)
  schedule(s, t)
  -- (the uv timer needs no change when it is armed no later than `t` and
  -- already ref'd: the usual case when timers are created in a row)
  local armed = L.armed
  if not (armed and armed <= t[DEADLINE] and L.uvrefed) then changed(s) end
  if dbg.tracking then dbg.track(t, rep and "interval" or "timeout", timerinfo) end
  return t
end

local function cleartimer(t)
  if getmetatable(t) ~= Timeout then return end
  if t[NEXT] then
    local s = t[SCHED] or real
    unschedule(s, t)
    t[PREV] = CLEARED
    changed(s)
  else
    t[PREV] = CLEARED
  end
end

--- Raises Lua's bad-self error unless `self` is a timer, at the caller of
--- the method `fname`.
local function checktimer(self, fname)
  if getmetatable(self) ~= Timeout then util.selferror(fname, "Timeout", self, 3) end
end

function Timeout:ref()
  checktimer(self, "ref")
  if self[UNREFED] then
    self[UNREFED] = false
    if self[NEXT] then
      local s = self[SCHED] or real
      s.refs = s.refs + 1
      changed(s)
    end
  end
  return self
end

--- Lets the loop exit while this timer is pending.
---@return promise.Timeout self
function Timeout:unref()
  checktimer(self, "unref")
  if not self[UNREFED] then
    self[UNREFED] = true
    if self[NEXT] then
      local s = self[SCHED] or real
      s.refs = s.refs - 1
      changed(s)
    end
  end
  return self
end

--- True when the timer keeps the loop alive (when pending).
---@return boolean
function Timeout:hasRef()
  checktimer(self, "hasRef")
  return not self[UNREFED]
end

--- Same as `clearTimeout(self)`.
---@return promise.Timeout self
function Timeout:close()
  checktimer(self, "close")
  cleartimer(self)
  return self
end

--- Restarts the timer from now with its original delay (Node's refresh);
--- a timer that already fired is scheduled again; a cleared one is not.
---@return promise.Timeout self
function Timeout:refresh()
  checktimer(self, "refresh")
  if self[PREV] == CLEARED then return self end
  local s = self[SCHED] or real
  if s.fake and s ~= L.fake then return self end  -- clock restored
  if self[NEXT] then unschedule(s, self) end
  self[DEADLINE] = schednow(s) + self[DELAY]
  schedule(s, self)
  changed(s)
  return self
end

--- Calls `fn(...)` once after `ms` milliseconds (Node semantics: `ms < 1`
--- or not a number counts as 1; equal deadlines fire in creation order).
---@param fn function
---@param ms? number
---@return promise.Timeout
function M.setTimeout(fn, ms, ...)
  if type(fn) ~= "function" and not is_callable(fn) then argerror(1, "setTimeout", "function", fn) end
  local args = select("#", ...) > 0 and pack(...) or nil
  return newtimer(L.fake or real, fn, delay(ms), false, args)
end

--- Calls `fn(...)` every `ms` milliseconds until cleared.
---@param fn function
---@param ms? number
---@return promise.Timeout
function M.setInterval(fn, ms, ...)
  if type(fn) ~= "function" and not is_callable(fn) then argerror(1, "setInterval", "function", fn) end
  local args = select("#", ...) > 0 and pack(...) or nil
  return newtimer(L.fake or real, fn, delay(ms), true, args)
end

--- Cancels a timer; anything else (nil, a fired timer) is ignored.
---@param t promise.Timeout?
function M.clearTimeout(t)
  cleartimer(t)
end

--- Cancels an interval (same as clearTimeout).
---@param t promise.Timeout?
function M.clearInterval(t)
  cleartimer(t)
end

--- A promise fulfilled with `opts.value` after `ms` milliseconds.
--- `opts.signal` (an AbortSignal) rejects it with the signal's reason and
--- stops the timer; `opts.ref = false` lets the loop exit meanwhile.
---@param ms? number
---@param opts? {value: any, signal: promise.AbortSignal?, ref: boolean?}
---@return Promise
function M.sleep(ms, opts)
  if ms ~= nil and type(ms) ~= "number" then argerror(1, "sleep", "number", ms) end
  if opts ~= nil and type(opts) ~= "table" then
    return P.reject(P.TypeError(("bad argument #2 to 'sleep' (table expected, got %s)")
      :format(typename(opts))))
  end
  local value, signal, ref
  if opts then value, signal, ref = opts.value, opts.signal, opts.ref end
  if signal ~= nil then
    local AbortSignal = P.AbortSignal
    local ok = AbortSignal and AbortSignal.is and AbortSignal.is(signal)
    if not ok and (type(signal) ~= "table" or type(signal.onAbort) ~= "function") then
      return P.reject(P.TypeError(("bad field 'signal' to 'sleep' (AbortSignal expected, got %s)")
        :format(typename(signal))))
    end
    if signal.aborted then return P.reject(signal.reason) end
  end
  if ref ~= nil and type(ref) ~= "boolean" then
    return P.reject(P.TypeError(("bad field 'ref' to 'sleep' (boolean expected, got %s)")
      :format(typename(ref))))
  end
  local p, resolve, reject = P.withResolvers()
  local unsubscribe
  local t = newtimer(L.fake or real, function()
    if unsubscribe then unsubscribe() end
    resolve(value)
  end, delay(ms), false, nil)
  if ref == false then t:unref() end
  if dbg.tracking then dbg.waitingFor(p, ("a timer (%s ms)"):format(t[DELAY])) end
  if signal then
    unsubscribe = signal:onAbort(function(reason)
      cleartimer(t)
      reject(reason)
    end)
  end
  return p
end

--------------------------------------------------------------------- now

--- Milliseconds from the clock in use: the loop's monotonic clock (the
--- one timer deadlines use), or the fake clock while installed.
---@return number
function M.now()
  if L.fake then return L.fake.now end
  return realnow()
end

local PUBLIC = { "setTimeout", "setInterval", "clearTimeout", "clearInterval", "sleep", "now" }

--- Makes the real scheduler and the uv timer; sets in `L` what the other
--- parts use (`real`, `fake`, `realnow`, `schednow`, `newtimer`,
--- `cleartimer`, `runtimer`, `changed`, `Timeout`) and in `L.P` the timer
--- functions, `sleep` and `now`.
---@param state table the loop's state
function M.install(state)
  L, P, invoke = state, state.P, state.invoke
  real = heap.newsched(false, nil)
  uvtimer = uv.new_timer()
  uvtimer:unref()
  L.real, L.fake, L.armed, L.uvrefed, L.firing = real, nil, nil, false, false
  L.Timeout, L.realnow, L.schednow = Timeout, realnow, schednow
  L.newtimer, L.cleartimer, L.runtimer, L.changed = newtimer, cleartimer, runtimer, changed
  for _, name in ipairs(PUBLIC) do P[name] = M[name] end
end

return M
