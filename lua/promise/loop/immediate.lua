--- Immediates on the real loop (manual: docs/manual/loop.md):
--- `setImmediate`, `clearImmediate` and their `Immediate` objects. A FIFO
--- queue run by one uv check handle (and a uv idle handle while ref'd
--- immediates are queued, so that the poll does not block). Immediates
--- queued while the queue runs wait for the next iteration, as in Node.
--- While a fake clock is installed, an immediate is a timer due at the
--- current fake time instead (loop/fake.lua runs it).
---
--- State: `L.immediates`, the queue record `Q`: `list[head..tail]` (lazy
--- removal on clear), `live` (queued, not cleared), `refs` (of those, the
--- ref'd ones), `checking`/`idling` (the uv handles are started),
--- `running` (onimmediates is walking the queue).

local uv = require("luv")
local util = require("promise.util")
local heap = require("promise.loop.heap")
local dbg = require("promise.debug")

local type, select, setmetatable, getmetatable = type, select, setmetatable, getmetatable
local pack = table.pack

local M = {}

local is_callable, argerror = util.is_callable, util.argerror
local schedule, unschedule = heap.schedule, heap.unschedule

-- timer slots and states: see loop/heap.lua
local FN <const>, NEXT <const>, PREV <const>, UNREFED <const>, ARGS <const>, SCHED <const> = 1, 4, 5, 6, 8, 9
local IDLE <const>, CLEARED <const>, QUEUED <const> = 0, -1, -2

---@class promise.Immediate  an array: same slots as promise.Timeout
local Immediate = {}
Immediate.__index = Immediate
Immediate.__name = "Immediate"

local function noop() end

-- set once by install: the state, the public module, the callback
-- runner, the queue record and the two uv handles
local L, P, invoke, Q, ucheck, uidle

local onimmediates

local function syncimmhandles()
  if Q.live > 0 then
    if not Q.checking then
      ucheck:start(onimmediates)
      Q.checking = true
    end
  elseif Q.checking then
    ucheck:stop()
    Q.checking = false
    if not Q.running then Q.list, Q.head, Q.tail = {}, 1, 0 end
  end
  local want = Q.refs > 0
  if want ~= Q.idling then
    if want then uidle:start(noop) else uidle:stop() end
    Q.idling = want
  end
end

function onimmediates()
  local last = Q.tail
  Q.running = true
  while Q.head <= last do
    local im = Q.list[Q.head]
    Q.list[Q.head] = nil
    Q.head = Q.head + 1
    if im[PREV] == QUEUED then
      im[PREV] = CLEARED
      Q.live = Q.live - 1
      if not im[UNREFED] then Q.refs = Q.refs - 1 end
      invoke(im[FN], im[ARGS])
    end
  end
  Q.running = false
  syncimmhandles()
  if Q.live == 0 then Q.list, Q.head, Q.tail = {}, 1, 0 end
end

--- Keeps the loop alive while the immediate is pending (the default).
---@return promise.Immediate self
--- Raises Lua's bad-self error unless `self` is an immediate, at the
--- caller of the method `fname`.
local function checkimmediate(self, fname)
  if getmetatable(self) ~= Immediate then util.selferror(fname, "Immediate", self, 3) end
end

function Immediate:ref()
  checkimmediate(self, "ref")
  if self[UNREFED] then
    self[UNREFED] = false
    if self[PREV] == QUEUED then
      Q.refs = Q.refs + 1
      syncimmhandles()
    elseif self[NEXT] then
      local s = self[SCHED]
      s.refs = s.refs + 1
    end
  end
  return self
end

--- Lets the loop exit while the immediate is pending.
---@return promise.Immediate self
function Immediate:unref()
  checkimmediate(self, "unref")
  if not self[UNREFED] then
    self[UNREFED] = true
    if self[PREV] == QUEUED then
      Q.refs = Q.refs - 1
      syncimmhandles()
    elseif self[NEXT] then
      local s = self[SCHED]
      s.refs = s.refs - 1
    end
  end
  return self
end

--- True when the immediate keeps the loop alive (when pending).
---@return boolean
function Immediate:hasRef()
  checkimmediate(self, "hasRef")
  return not self[UNREFED]
end

-- for Promise.debug.handles(): active, keeps the loop alive, what
local function imminfo(im)
  local queued = im[PREV] == QUEUED
  return queued or im[NEXT] and true or false, queued and not im[UNREFED], ""
end

--- Calls `fn(...)` in the check phase of the loop (after I/O), or, with
--- fake timers, when the fake clock next advances.
---@param fn function
---@return promise.Immediate
function M.setImmediate(fn, ...)
  if type(fn) ~= "function" and not is_callable(fn) then
    argerror(1, "setImmediate", "function", fn)
  end
  local args = nil
  if select("#", ...) > 0 then args = pack(...) end
  local im
  if L.fake then
    -- a timer due now on the fake clock
    im = setmetatable({ fn, 0, L.fake.now, false, IDLE, false, nil, args, L.fake },
                      Immediate)
    schedule(L.fake, im)
  else
    if args then
      im = { fn, 0, 0, false, QUEUED, false, nil, args }
    else
      im = { fn, 0, 0, false, QUEUED }
    end
    setmetatable(im, Immediate)
    Q.tail = Q.tail + 1
    Q.list[Q.tail] = im
    Q.live = Q.live + 1
    Q.refs = Q.refs + 1
    syncimmhandles()
  end
  if dbg.tracking then dbg.track(im, "immediate", imminfo) end
  return im
end

--- Cancels an immediate; anything else is ignored.
---@param im promise.Immediate?
function M.clearImmediate(im)
  if getmetatable(im) ~= Immediate then return end
  if im[PREV] == QUEUED then
    im[PREV] = CLEARED
    Q.live = Q.live - 1
    if not im[UNREFED] then Q.refs = Q.refs - 1 end
    syncimmhandles()
  elseif im[NEXT] then
    unschedule(im[SCHED], im)
    im[PREV] = CLEARED
  end
end

local PUBLIC = { "setImmediate", "clearImmediate" }

--- Makes the queue and its uv handles; sets `L.Immediate`, `L.immediates`
--- (the queue) and `setImmediate`/`clearImmediate` in `L.P`.
---@param state table the loop's state
function M.install(state)
  L, P, invoke = state, state.P, state.invoke
  Q = { list = {}, head = 1, tail = 0, live = 0, refs = 0,
        checking = false, idling = false, running = false }
  L.immediates, L.Immediate = Q, Immediate
  ucheck, uidle = uv.new_check(), uv.new_idle()
  ucheck:unref()  -- only ref'd immediates keep the loop alive (via uidle)
  for _, name in ipairs(PUBLIC) do P[name] = M[name] end
end

return M
