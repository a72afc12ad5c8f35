--- Fake timers (manual: docs/manual/loop.md, "Fake timers"):
--- `useFakeTimers` and the clock it returns. While a clock is installed
--- (`L.fake` is its scheduler, from loop/heap.lua), new timers, intervals,
--- immediates and sleeps are scheduled on the fake clock (an immediate is a
--- timer due at the current fake time, run when the clock is advanced,
--- `advance(0)` included) and no uv handle is used for them.
--- `clock:restore()` discards the fake timers still pending: they never run
--- (clearing them afterwards is a harmless no-op). Timers created before the
--- clock was installed stay on real time.

local util = require("promise.util")
local heap = require("promise.loop.heap")

local type, error, tostring, setmetatable, getmetatable =
  type, error, tostring, setmetatable, getmetatable

local M = {}

--- Bound on fake clock times and steps: every integer up to 2^53 is exact
--- in a float, and sums of such values cannot wrap around as integers do.
local FAKE_MAX = 2^53
--- Bound on the number of timers `clock:runAll()` fires.
local RUNALL_LIMIT = 100000

local argerror = util.argerror
local unschedule, first, newsched, HEAD = heap.unschedule, heap.first, heap.newsched, heap.HEAD

-- timer slots and states: see loop/heap.lua
local FN <const>, DEADLINE <const>, NEXT <const>, PREV <const>, ARGS <const> = 1, 3, 4, 5, 8
local CLEARED <const> = -1

---@class promise.FakeClock
---@field private sched table  the fake scheduler (see loop/heap.lua newsched)
local Clock = {}
Clock.__index = Clock
Clock.__name = "FakeClock"

-- set once by install: the state, the public module and what the other
-- parts of the loop lend (loop/drain.lua, loop/timers.lua, loop/immediate.lua)
local L, P, invoke, drainnow, runtimer, Immediate

local function checkclock(self, fname)
  if getmetatable(self) ~= Clock then
    util.selferror(fname, "FakeClock", self, 3)
  end
  if self.sched ~= L.fake then
    error(("%s: this fake clock has been restored"):format(fname), 3)
  end
end

--- Runs the earliest fake timer (popped from `s`) at its deadline.
local function firefake(s)
  local t = first(s)
  unschedule(s, t)
  if t[DEADLINE] > s.now then s.now = t[DEADLINE] end
  if getmetatable(t) == Immediate then
    t[PREV] = CLEARED
    invoke(t[FN], t[ARGS])
  else
    runtimer(s, t, s.now)
  end
end

--- The current fake time in ms.
---@return number
function Clock:now()
  if getmetatable(self) ~= Clock then checkclock(self, "now") end
  return self.sched.now
end

--- Moves the fake time forward by `ms`, firing every timer due meanwhile
--- in deadline order (the clock set to each timer's deadline as it runs),
--- draining microtasks after each. Returns the new time.
---@param ms number
---@return number
function Clock:advance(ms)
  checkclock(self, "advance")
  if type(ms) ~= "number" then argerror(1, "advance", "finite non-negative number", ms) end
  if not (ms >= 0 and ms <= FAKE_MAX) then
    util.badarg(1, "advance", "number in [0, 2^53] expected, got " .. tostring(ms))
  end
  local s = self.sched
  local target = s.now + ms
  if target > FAKE_MAX then
    error(("advance: the fake time would pass 2^53 ms (now %s, step %s)")
      :format(tostring(s.now), tostring(ms)), 2)
  end
  drainnow()
  while s == L.fake and s.n > 0 and first(s)[DEADLINE] <= target do
    firefake(s)
  end
  if s.now < target then s.now = target end
  return s.now
end

--- Fires timers until none is left (at most 100000, against endless
--- intervals: more raises an error). Returns the new time.
---@return number
function Clock:runAll()
  checkclock(self, "runAll")
  local s = self.sched
  drainnow()
  local count = 0
  while s == L.fake and s.n > 0 do
    count = count + 1
    if count > RUNALL_LIMIT then
      error(("runAll: aborted after %d timers (endless interval?)"):format(RUNALL_LIMIT), 2)
    end
    firefake(s)
  end
  return s.now
end

--- Number of fake timers and immediates pending.
---@return integer
function Clock:countTimers()
  checkclock(self, "countTimers")
  return self.sched.count
end

--- Returns to real time. Pending fake timers are discarded: they never run.
function Clock:restore()
  if getmetatable(self) ~= Clock then checkclock(self, "restore") end
  local s = self.sched
  if s ~= L.fake then return end
  L.fake = nil
  for i = 1, s.n do
    local l = s.heap[i]
    local t = l[HEAD]
    while t ~= l do
      local nx = t[NEXT]
      t[NEXT], t[PREV] = false, CLEARED
      t = nx
    end
  end
  s.lists, s.heap, s.n, s.count, s.refs = {}, {}, 0, 0, 0
end

--- Installs a fake clock starting at `start_ms` (default 0) as the time
--- source of setTimeout, setInterval, setImmediate, sleep and now.
---@param start_ms? number
---@return promise.FakeClock
function M.useFakeTimers(start_ms)
  if start_ms ~= nil then
    if type(start_ms) ~= "number" then argerror(1, "useFakeTimers", "number", start_ms) end
    if not (start_ms >= -FAKE_MAX and start_ms <= FAKE_MAX) then
      util.badarg(1, "useFakeTimers", "number in [-2^53, 2^53] expected, got " .. tostring(start_ms))
    end
  end
  if L.fake then
    error("useFakeTimers: fake timers are already installed (call clock:restore() first)", 2)
  end
  L.fake = newsched(true, start_ms or 0)
  return setmetatable({ sched = L.fake }, Clock)
end

local PUBLIC = { "useFakeTimers" }

--- Sets `useFakeTimers` in `L.P`; the clock it makes sets `L.fake`.
---@param state table the loop's state
function M.install(state)
  L, P = state, state.P
  invoke, drainnow, runtimer, Immediate = L.invoke, L.drainnow, L.runtimer, L.Immediate
  for _, name in ipairs(PUBLIC) do P[name] = M[name] end
end

return M
