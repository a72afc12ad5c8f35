--- Callbacks and microtask drains of the event loop (manual:
--- docs/manual/loop.md): `invoke` runs a callback of ours (a timer, an
--- immediate) protected, reports what it raises and drains microtasks after
--- it, as Node does after each macrotask; `luvcb` wraps the raw luv
--- callbacks of the I/O modules (through `ioerror.cb`) the same way.
--- Microtasks queued from callbacks this library did not create (a user's
--- own luv callbacks) are drained by a uv prepare + check handle pair,
--- started only when the core asks for a drain and stopped by their own
--- callback.
---
--- State (in the loop's state table `L`, see loop/init.lua): `drainarmed`
--- (our drain handles are started), `incallback` (one of our callbacks
--- runs: we drain right after it, so the core's requests need no handle),
--- `lasttrace` (the traceback of the error being reported).

local uv = require("luv")

local xpcall, tostring, setmetatable = xpcall, tostring, setmetatable
local unpack = table.unpack
local traceback = debug.traceback

local M = {}

-- set once by install: the state, the core's drain, our two uv handles
local L, coredrain, prep, chk

local function msgh(e)
  L.lasttrace = traceback(nil, 2)
  return e
end

local function report(err, tb)
  local reporter = L.P.reportError or L.P._reportUncaught
  if reporter then
    reporter(err, tb)
  else
    io.stderr:write("Uncaught error: ", tostring(err), "\n", tb or "", "\n")
  end
end

local function disarm()
  if L.drainarmed then
    L.drainarmed = false
    prep:stop()
    chk:stop()
  end
end

local function ondrainhandle()
  disarm()
  coredrain()
end

-- the core asks for a drain (its queue was empty)
local function ondrainneeded()
  if L.incallback or L.drainarmed then return end
  L.drainarmed = true
  prep:start(ondrainhandle)
  chk:start(ondrainhandle)
end

--- Drains the microtask queue now; our drain handles are then not needed.
---@return integer jobs run
function M.drainnow()
  local n = coredrain()
  if L.drainarmed then disarm() end
  return n
end
local drainnow = M.drainnow

--- Runs a user callback protected, reports its error, drains microtasks.
--- Returns false when the callback raised.
---@param fn function
---@param args table? table.pack of its arguments
---@return boolean ok
function M.invoke(fn, args)
  -- microtasks queued outside our callbacks (top-level code, raw luv
  -- callbacks) run before this macrotask, as in Node
  if L.drainarmed then drainnow() end
  L.incallback = true
  local ok, err
  if args then
    ok, err = xpcall(fn, msgh, unpack(args, 1, args.n))
  else
    ok, err = xpcall(fn, msgh)
  end
  L.incallback = false
  if not ok then
    local tb = L.lasttrace
    L.lasttrace = nil
    report(err, tb)
  end
  drainnow()
  return ok
end

--- True once Lua is closing the state (the program has ended): luv then
--- closes its handles and gives every request back (ECANCELED) from its
--- loop's finalizer, after the finalizers of our handles have run, so the
--- callbacks must touch nothing. The sentinel is finalized before luv's loop
--- (finalizers run in the reverse order of creation, and luv was loaded
--- first).
local exiting = false
M._sentinel = setmetatable({}, { __gc = function() exiting = true end })

--- Wraps a raw luv callback of the I/O modules: drains the microtask queue
--- before it (what code outside our callbacks queued runs first, as in
--- Node) and after it (as after each macrotask); while it runs, the core's
--- requests for a drain start no handle, since the drain after it does that
--- work. `after()`, when given, runs last. Once the program has ended (see
--- `exiting`), the callback does nothing. An error in `fn` is luv's to
--- report (it ends the process).
---@param fn function
---@param after? function
---@return function
function M.luvcb(fn, after)
  return function(...)
    if exiting then return end
    local was = L.incallback
    L.incallback = true
    coredrain()
    fn(...)
    coredrain()
    L.incallback = was
    if L.drainarmed then disarm() end
    if after then after() end
  end
end

--- Sets `L.invoke` and `L.drainnow`, and replaces `P.drain` with
--- `drainnow` (a drain called by hand also stops our handles).
---@param state table the loop's state
function M.install(state)
  L = state
  coredrain = L.P.drain
  -- created once and inactive while there is nothing to do (so counting
  -- handles before and after some work sees no difference)
  prep, chk = uv.new_prepare(), uv.new_check()
  L.drainarmed, L.incallback = false, false
  L.invoke, L.drainnow = M.invoke, drainnow
  L.P.onDrainNeeded(ondrainneeded)
  L.P.drain = drainnow
end

return M
