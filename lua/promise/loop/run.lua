--- Running the event loop (manual: docs/manual/loop.md): `Promise.run`,
--- `p:wait()` and what `await` does outside an async function. Both run
--- the luv loop, draining microtasks after each turn, until their promise
--- settles or nothing is left to do; nothing of ours stays active when
--- there is nothing to do, so `uv.run()` returns when the program is idle.

local uv = require("luv")
local util = require("promise.util")
local dbg = require("promise.debug")

local error, tostring = error, tostring
local floor, huge = math.floor, math.huge

local M = {}

local is_callable, argerror, checkms = util.is_callable, util.argerror, util.checkms

local function noop() end

-- set once by install: the state, the public module, the core and what
-- the other parts of the loop lend (loop/drain.lua, loop/timers.lua)
local L, P, core, drainnow, newtimer, cleartimer

local function checkidle(fname)
  if uv.loop_mode() ~= nil then
    error(("%s: the luv loop is already running (use await inside an async function)")
      :format(fname), 3)
  end
end

--- Where the pending `p` stalled: its await chain while tracking is on
--- (Promise.debug.explain), else how to get it.
local function stalled(p)
  if dbg.tracking then return "; where it stalled: " .. dbg.explain(p) end
  return "; call Promise.debug.enable() before it to see where it stalled"
end

local function neversettled(what, p)
  local msg = what .. ": the event loop has nothing left to do"
  if L.fake then msg = msg .. " (fake timers are installed: advance the clock)" end
  return P.Error(msg .. stalled(p))
end

--- Runs `Promise.async(fn)(...)`, then the luv loop until it has nothing
--- left to do. Returns `true, value` or `false, reason` like pcall.
---@param fn function
---@return boolean ok
---@return any value_or_reason
function M.run(fn, ...)
  if not is_callable(fn) then argerror(1, "run", "function", fn) end
  checkidle("run")
  local p = P.async(fn)(...)
  p:next(nil, noop)  -- its reason is returned: not an unhandled rejection
  drainnow()
  local stopped
  repeat
    -- true only when uv.stop() ended the run with work left: respect it
    stopped = uv.run("default")
    drainnow()
  until stopped or not uv.loop_alive()
  local state, v = p:state()
  if state == "fulfilled" then return true, v end
  if state == "rejected" then return false, v end
  if stopped then
    return false, P.Error("main function never settled: the event loop was stopped (uv.stop)")
  end
  return false, neversettled("main function never settled", p)
end

--- Runs the luv loop until `self` settles; returns its value or raises its
--- reason. Raises a TimeoutError after `timeout_ms`, a number in
--- [0, 2^31 - 1]; `math.huge` (or nil) waits without a time limit.
---@param self Promise
---@param timeout_ms? number
---@return any
local function wait(self, timeout_ms)
  if not P.is(self) then
    util.selferror("wait", "Promise", self)
  end
  -- math.huge: no timeout; nothing out of the timer's range reaches luv
  -- (uv timer_start raised on math.huge and left the uv timer armed: the
  -- next re-arm then raised inside a luv callback and killed the process)
  if timeout_ms ~= nil then checkms(1, "wait", timeout_ms, true) end
  checkidle("wait")
  local state, v = self:state()
  if state == "rejected" then
    self:next(nil, noop)  -- wait handles the rejection
    drainnow()
  elseif state == "pending" then
    self:next(nil, noop)  -- wait handles the rejection
    drainnow()
    state, v = self:state()
    if state == "pending" then
      local timedout, timer = false, nil
      if timeout_ms and timeout_ms ~= huge then
        -- always real time: fake timers do not stop a wait from ending
        timer = newtimer(L.real, function() timedout = true end,
                         timeout_ms, false, nil)
      end
      repeat
        uv.run("once")
        drainnow()
        state, v = self:state()
      until state ~= "pending" or timedout or not uv.loop_alive()
      cleartimer(timer)
      if state == "pending" then
        if timedout then
          error(P.TimeoutError(("wait timed out after %s ms"):format(
            floor(timeout_ms) == timeout_ms and ("%d"):format(timeout_ms) or tostring(timeout_ms))), 0)
        end
        error(neversettled("wait: the promise can never settle", self), 0)
      end
    end
  end
  if state == "rejected" then error(v, 0) end
  return v
end

-- what `await` does outside an async function: wait when the loop is idle
local function awaitoutside(v)
  if uv.loop_mode() == nil then
    return P.resolve(v):wait()
  end
  error("await called outside an async function", 3)
end

local PUBLIC = { "run" }

--- Sets `run` in `L.P` and `wait` in `L.core.methods`, and hands the core
--- the function `await` calls outside an async function.
---@param state table the loop's state
function M.install(state)
  L, P, core = state, state.P, state.core
  drainnow, newtimer, cleartimer = L.drainnow, L.newtimer, L.cleartimer
  core.methods.wait = wait
  core.configure{ awaitOutside = awaitoutside }
  for _, name in ipairs(PUBLIC) do P[name] = M[name] end
end

return M
