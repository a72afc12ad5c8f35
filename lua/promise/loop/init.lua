--- luv integration (manual: docs/manual/loop.md): `run`, timers, immediates,
--- `sleep`, `now`, `p:wait()` and virtual time (`useFakeTimers`). This file
--- only wires the parts together; each concept has its file:
---
---   loop/heap.lua       the timer lists: a pure data structure (no clock)
---   loop/drain.lua      running callbacks; microtask drains for raw luv callbacks
---   loop/timers.lua     the real scheduler (one uv timer), Timeout, sleep, now
---   loop/immediate.lua  the setImmediate queue (a uv check handle)
---   loop/fake.lua       the fake clock
---   loop/run.lua        Promise.run, p:wait(), await outside async functions
---
--- They share one explicit state table, `L`, made here; each file's header
--- lists the fields it owns. What they read from each other:
---   P, core            the public module table and `promise.core`
---   invoke, drainnow   loop/drain.lua
---   real, fake         the real scheduler and, while a fake clock is
---                      installed, the fake one (loop/heap.lua newsched)
---   realnow, schednow, newtimer, cleartimer, runtimer, changed, Timeout
---                      loop/timers.lua
---   Immediate          loop/immediate.lua (the fake clock runs immediates)
--- All uv handles are created once, at install, and stay inactive while
--- there is nothing to do, so `uv.run()` returns when the program is idle.

local M = {}

--- Installs the loop functions into the public module table.
---@param P table   the public module table (core functions and error classes)
---@param core table the `promise.core` module (`methods`, `configure`)
---@return table L the loop's state
function M.install(P, core)
  local L = { P = P, core = core }
  -- in this order: each part reads what the ones before it set in L
  require("promise.loop.drain").install(L)
  require("promise.loop.timers").install(L)
  require("promise.loop.immediate").install(L)
  require("promise.loop.fake").install(L)
  require("promise.loop.run").install(L)
  return L
end

return M
