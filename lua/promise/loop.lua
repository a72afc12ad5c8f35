--- luv integration (manual: docs/manual/loop.md): `run`, timers, immediates, `sleep`,
--- `now`, `p:wait()` and virtual time (`useFakeTimers`).
---
--- Design:
--- - Timers are ordered by deadline, then creation order: one sorted list
---   per delay, the lists in a binary min-heap (see "the timer lists");
---   ONE uv timer is armed for the earliest deadline. When it fires, every
---   timer due at that instant runs in that order, with a microtask drain
---   after each callback (as Node does). Only ref'd timers keep the loop
---   alive: the uv timer is ref'd while at least one ref'd timer is pending.
--- - `setImmediate`: a FIFO queue run by one uv check handle (and a uv idle
---   handle while ref'd immediates are queued, so that the poll does not
---   block). Immediates queued while the queue runs wait for the next
---   iteration, as in Node.
--- - Microtasks queued from callbacks this library did not create (raw luv
---   callbacks) are drained by a uv prepare + check handle pair, started only
---   when the core asks for a drain and stopped by their own callback.
--- - Nothing of ours stays active when there is nothing to do, so `uv.run()`
---   returns when the program is idle.
---
--- Fake timers: while a clock from `useFakeTimers` is installed, new timers,
--- intervals, immediates and sleeps are scheduled on the fake clock (an
--- immediate is a timer due at the current fake time, run when the clock is
--- advanced, `advance(0)` included) and no uv handle is used for them.
--- `clock:restore()` discards the fake timers still pending: they never run
--- (clearing them afterwards is a harmless no-op). Timers created before the
--- clock was installed stay on real time.

local uv = require("luv")
local util = require("promise.util")

local type, error, tostring, select, xpcall, setmetatable, getmetatable =
  type, error, tostring, select, xpcall, setmetatable, getmetatable
local pack, unpack = table.pack, table.unpack
local traceback = debug.traceback
local ceil, floor, huge = math.ceil, math.floor, math.huge

local M = {}

--- Largest delay accepted by setTimeout, as in Node (2^31 - 1 ms).
local TIMEOUT_MAX = util.TIMEOUT_MAX
--- Bound on fake clock times and steps: every integer up to 2^53 is exact
--- in a float, and sums of such values cannot wrap around as integers do.
local FAKE_MAX = 2^53
--- Bound on the number of timers `clock:runAll()` fires.
local RUNALL_LIMIT = 100000

local is_callable, typename, argerror = util.is_callable, util.typename, util.argerror
local checkms = util.checkms

--- Timer and immediate objects are arrays with a metatable (a hash part
--- of ten named fields would cost ~450 bytes per timer; five array slots
--- cost 136). Slots 1-5 always exist. Slots 6-9 exist only when needed: a
--- plain `setTimeout(fn, ms)` on the real clock has none of them until
--- unref() is called, and reading one gives nil (the metatables hold only
--- method names).
local FN <const> = 1        -- the callback
local DELAY <const> = 2     -- the (coerced) delay or period in ms; 0 for an immediate
local DEADLINE <const> = 3  -- due time on the scheduler's clock: the sort key
local NEXT <const> = 4      -- while pending: the next timer in its list (the list after the last)
local PREV <const> = 5      -- while pending: the previous timer (the list before the first)
local UNREFED <const> = 6   -- true after unref(): does not keep the loop alive
local REPEAT <const> = 7    -- true for an interval
local ARGS <const> = 8      -- table.pack of the extra arguments, if any
local SCHED <const> = 9     -- the (fake) scheduler; nil for the real one

-- There is no state slot: a timer is pending (in a scheduler's lists) iff
-- t[NEXT] is a table. Otherwise t[NEXT] is false and t[PREV] holds one of:
local IDLE <const> = 0      -- not scheduled (a timeout that fired)
local CLEARED <const> = -1  -- cleared, discarded by clock:restore(), or a fired immediate
local QUEUED <const> = -2   -- an immediate in the real (uv check) queue

--- Node's delay coercion: anything but a number in [1, 2^31-1] counts as 1.
local function delay(ms)
  if type(ms) ~= "number" or not (ms >= 1 and ms <= TIMEOUT_MAX) then
    return 1
  end
  return ms
end

--- Installs the loop functions into the public module table.
---@param P table   the public module table (core functions and error classes)
---@param core table the `promise.core` module (`methods`, `configure`)
function M.install(P, core)
  local drain = P.drain

  ---------------------------------------------------------------- reporting

  local lasttrace
  local function msgh(e)
    lasttrace = traceback(nil, 2)
    return e
  end

  local function report(err, tb)
    local reporter = P.reportError or P._reportUncaught
    if reporter then
      reporter(err, tb)
    else
      io.stderr:write("Uncaught error: ", tostring(err), "\n", tb or "", "\n")
    end
  end

  local drainnow  -- defined below
  local drainarmed = false  -- our drain handles are started

  -- true while one of our callbacks runs: we drain right after it, so the
  -- core's drain requests need no uv handle then
  local incallback = false

  --- Runs a user callback protected, reports its error, drains microtasks.
  local function invoke(fn, args)
    -- microtasks queued outside our callbacks (top-level code, raw luv
    -- callbacks) run before this macrotask, as in Node
    if drainarmed then drainnow() end
    incallback = true
    local ok, err
    if args then
      ok, err = xpcall(fn, msgh, unpack(args, 1, args.n))
    else
      ok, err = xpcall(fn, msgh)
    end
    incallback = false
    if not ok then
      local tb = lasttrace
      lasttrace = nil
      report(err, tb)
    end
    drainnow()
  end

  ------------------------------------------- drains for raw luv callbacks

  -- All our uv handles are created once, here, and stay inactive while
  -- there is nothing to do (so counting handles before and after some work
  -- sees no difference).
  local prep, chk = uv.new_prepare(), uv.new_check()  -- drains for raw callbacks

  local function disarm()
    if drainarmed then
      drainarmed = false
      prep:stop()
      chk:stop()
    end
  end

  local function ondrainhandle()
    disarm()
    drain()
  end

  P.onDrainNeeded(function()
    if incallback or drainarmed then return end
    drainarmed = true
    prep:start(ondrainhandle)
    chk:start(ondrainhandle)
  end)

  --- Drains the microtask queue now; our drain handles are then not needed.
  function drainnow()
    local n = drain()
    disarm()
    return n
  end

  -- Promise.drain() called by hand (a script or spec driving the core) also
  -- stops the drain handles, so none stays active once the queue is empty.
  P.drain = drainnow

  -------------------------------------------------------- the timer lists

  -- A scheduler: { lists = {}, heap = {}, n = 0, count = 0, refs = 0,
  -- fake = bool, now = number }. As in Node, pending timers are kept in one
  -- doubly linked list per delay (`lists[ms]`; fake immediates use 0), each
  -- list in the order the timers were made (or refreshed, or scheduled
  -- again), which is also deadline order: a new timer's deadline is now +
  -- ms, so it goes at the tail, and adding and removing a timer is O(1).
  -- The lists are in a binary min-heap (`heap[1..n]`) keyed by their first
  -- timer (see `before`), so the earliest timer of all is `heap[1][HEAD]`,
  -- and timers run in exactly (deadline, creation) order. `count` is the
  -- number of pending timers, `refs` the number of those that are ref'd.
  -- The list itself stands before its first timer and after its last one
  -- (`first[PREV] == l`, `last[NEXT] == l`): so a pending timer's NEXT and
  -- PREV are always tables, which is what tells it is pending.

  -- slots of a list (an array too)
  local HEAD <const>, TAIL <const>, LPOS <const> = 1, 2, 3  -- LPOS: heap index

  --- True when timer `a` is due before timer `b`, which is in another list.
  --- On equal deadlines the one made first runs first, and that is the one
  --- with the longer delay: a deadline is the clock's time at creation (or
  --- at refresh, or when an interval was due) plus the delay, and that
  --- clock never goes back. So no creation counter is needed.
  local function before(a, b)
    local da, db = a[DEADLINE], b[DEADLINE]
    return da < db or (da == db and a[DELAY] > b[DELAY])
  end

  local function siftup(h, i, l)
    local first = l[HEAD]
    while i > 1 do
      local pi = i // 2
      local parent = h[pi]
      if not before(first, parent[HEAD]) then break end
      h[i] = parent
      parent[LPOS] = i
      i = pi
    end
    h[i] = l
    l[LPOS] = i
  end

  local function siftdown(h, n, i, l)
    local first = l[HEAD]
    while true do
      local c = 2 * i
      if c > n then break end
      local child = h[c]
      if c < n and before(h[c + 1][HEAD], child[HEAD]) then
        c = c + 1
        child = h[c]
      end
      if not before(child[HEAD], first) then break end
      h[i] = child
      child[LPOS] = i
      i = c
    end
    h[i] = l
    l[LPOS] = i
  end

  --- Adds pending timer `t` (IDLE) to scheduler `s`.
  local function schedule(s, t)
    local ms = t[DELAY]
    local l = s.lists[ms]
    if not l then
      l = { t, t, 0 }
      t[NEXT], t[PREV] = l, l
      s.lists[ms] = l
      local n = s.n + 1
      s.n = n
      siftup(s.heap, n, l)
    else
      -- from the tail back to the last timer due no later than `t`
      -- (deadlines only grow, so in practice none is passed over)
      local d = t[DEADLINE]
      local p = l[TAIL]
      while p ~= l and p[DEADLINE] > d do  -- equal: `t` was made after `p`
        p = p[PREV]
      end
      if p ~= l then
        local nx = p[NEXT]
        t[PREV], t[NEXT] = p, nx
        p[NEXT] = t
        if nx == l then l[TAIL] = t else nx[PREV] = t end
      else  -- a new first timer: the list moves up in the heap
        local first = l[HEAD]
        t[NEXT], t[PREV] = first, l
        first[PREV] = t
        l[HEAD] = t
        siftup(s.heap, l[LPOS], l)
      end
    end
    s.count = s.count + 1
    if not t[UNREFED] then s.refs = s.refs + 1 end
  end

  --- Removes pending timer `t` from scheduler `s`; it is IDLE afterwards.
  local function unschedule(s, t)
    local ms = t[DELAY]
    local l = s.lists[ms]
    local p, nx = t[PREV], t[NEXT]
    t[NEXT], t[PREV] = false, IDLE
    s.count = s.count - 1
    if not t[UNREFED] then s.refs = s.refs - 1 end
    if nx ~= l then nx[PREV] = p else l[TAIL] = p end
    if p ~= l then
      p[NEXT] = nx
    elseif nx ~= l then  -- a later first timer: the list moves down in the heap
      l[HEAD] = nx
      siftdown(s.heap, s.n, l[LPOS], l)
    else  -- the list is empty: out of the heap
      s.lists[ms] = nil
      local h, i, n = s.heap, l[LPOS], s.n
      local last = h[n]
      h[n] = nil
      n = n - 1
      s.n = n
      if i <= n then
        if i > 1 and before(last[HEAD], h[i // 2][HEAD]) then
          siftup(h, i, last)
        else
          siftdown(h, n, i, last)
        end
      end
    end
  end

  --- The earliest pending timer of `s`, or nil.
  local function first(s)
    local l = s.heap[1]
    return l and l[HEAD]
  end

  local function newsched(isfake, now)
    return { lists = {}, heap = {}, n = 0, count = 0, refs = 0,
             fake = isfake, now = now }
  end

  ---------------------------------------------------------- real scheduler

  local real = newsched(false, nil)
  local fake = nil      -- the fake scheduler while a clock is installed
  local uvtimer = uv.new_timer()  -- the single uv timer
  local armed = nil     -- deadline the uv timer is armed for
  local uvrefed = false
  uvtimer:unref()
  local firing = false

  local update_time, uvnow = uv.update_time, uv.now
  local function realnow()
    update_time()
    return uvnow()
  end

  local onfire

  --- Makes the uv timer match the heap: armed no later than the earliest
  --- deadline, ref'd only while a ref'd timer is pending, stopped when empty.
  local function rearm()
    if firing then return end
    local top = first(real)
    if not top then
      if armed then
        uvtimer:stop()
        armed = nil
      end
      if uvrefed then
        uvtimer:unref()
        uvrefed = false
      end
      return
    end
    top = top[DEADLINE]
    if not armed or armed > top then
      -- at least 1 ms, as Node's ScheduleTimer: a uv timer started with 0
      -- from inside the timers phase would run in that same phase, before
      -- the immediates queued meanwhile
      local wait = ceil(top - realnow())
      if wait < 1 then wait = 1 end
      uvtimer:start(wait, 0, onfire)
      armed = top
    end
    local want = real.refs > 0
    if want ~= uvrefed then
      if want then uvtimer:ref() else uvtimer:unref() end
      uvrefed = want
    end
  end

  --- Runs timer `t` (already out of the heap) of scheduler `s` at `now`.
  local function runtimer(s, t, now)
    invoke(t[FN], t[ARGS])
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
    armed = nil
    firing = true
    local now = realnow()
    while true do
      local t = first(real)
      if not t or t[DEADLINE] > now then break end
      unschedule(real, t)
      runtimer(real, t, now)
    end
    firing = false
    rearm()
  end

  local function changed(s)
    if not s.fake then rearm() end
  end

  ------------------------------------------------------------ timer objects

  ---@class promise.Timeout  an array: see the slot names FN, DELAY, ... above
  local Timeout = {}
  Timeout.__index = Timeout
  Timeout.__name = "Timeout"

  ---@class promise.Immediate  an array: same slots as promise.Timeout
  local Immediate = {}
  Immediate.__index = Immediate
  Immediate.__name = "Immediate"

  local function schednow(s)
    if s.fake then return s.now end
    return realnow()
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
    if not (armed and armed <= t[DEADLINE] and uvrefed) then changed(s) end
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

  --- Keeps the process alive while this timer is pending (the default).
  ---@return promise.Timeout self
  function Timeout:ref()
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
    return not self[UNREFED]
  end

  --- Same as `clearTimeout(self)`.
  ---@return promise.Timeout self
  function Timeout:close()
    cleartimer(self)
    return self
  end

  --- Restarts the timer from now with its original delay (Node's refresh);
  --- a timer that already fired is scheduled again; a cleared one is not.
  ---@return promise.Timeout self
  function Timeout:refresh()
    if self[PREV] == CLEARED then return self end
    local s = self[SCHED] or real
    if s.fake and s ~= fake then return self end  -- clock restored
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
  function P.setTimeout(fn, ms, ...)
    if type(fn) ~= "function" and not is_callable(fn) then
      argerror(1, "setTimeout", "function", fn)
    end
    local args = nil
    if select("#", ...) > 0 then args = pack(...) end
    return newtimer(fake or real, fn, delay(ms), false, args)
  end

  --- Calls `fn(...)` every `ms` milliseconds until cleared.
  ---@param fn function
  ---@param ms? number
  ---@return promise.Timeout
  function P.setInterval(fn, ms, ...)
    if type(fn) ~= "function" and not is_callable(fn) then
      argerror(1, "setInterval", "function", fn)
    end
    local args = nil
    if select("#", ...) > 0 then args = pack(...) end
    return newtimer(fake or real, fn, delay(ms), true, args)
  end

  --- Cancels a timer; anything else (nil, a fired timer) is ignored.
  ---@param t promise.Timeout?
  function P.clearTimeout(t)
    cleartimer(t)
  end

  --- Cancels an interval (same as clearTimeout).
  ---@param t promise.Timeout?
  function P.clearInterval(t)
    cleartimer(t)
  end

  --------------------------------------------------------------- immediates

  -- real immediates: FIFO queue q[head..tail], lazy removal on clear
  local q, qhead, qtail = {}, 1, 0
  local qlive, qrefs = 0, 0      -- queued, not cleared; of those, ref'd
  local ucheck, uidle = uv.new_check(), uv.new_idle()
  ucheck:unref()  -- only ref'd immediates keep the loop alive (via uidle)
  local checking, idling = false, false
  local qrunning = false          -- onimmediates is walking the queue

  local function noop() end

  local onimmediates

  local function syncimmhandles()
    if qlive > 0 then
      if not checking then
        ucheck:start(onimmediates)
        checking = true
      end
    elseif checking then
      ucheck:stop()
      checking = false
      if not qrunning then q, qhead, qtail = {}, 1, 0 end
    end
    local want = qrefs > 0
    if want ~= idling then
      if want then uidle:start(noop) else uidle:stop() end
      idling = want
    end
  end

  function onimmediates()
    local last = qtail
    qrunning = true
    while qhead <= last do
      local im = q[qhead]
      q[qhead] = nil
      qhead = qhead + 1
      if im[PREV] == QUEUED then
        im[PREV] = CLEARED
        qlive = qlive - 1
        if not im[UNREFED] then qrefs = qrefs - 1 end
        invoke(im[FN], im[ARGS])
      end
    end
    qrunning = false
    syncimmhandles()
    if qlive == 0 then q, qhead, qtail = {}, 1, 0 end
  end

  --- Keeps the loop alive while the immediate is pending (the default).
  ---@return promise.Immediate self
  function Immediate:ref()
    if self[UNREFED] then
      self[UNREFED] = false
      if self[PREV] == QUEUED then
        qrefs = qrefs + 1
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
    if not self[UNREFED] then
      self[UNREFED] = true
      if self[PREV] == QUEUED then
        qrefs = qrefs - 1
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
    return not self[UNREFED]
  end

  --- Calls `fn(...)` in the check phase of the loop (after I/O), or, with
  --- fake timers, when the fake clock next advances.
  ---@param fn function
  ---@return promise.Immediate
  function P.setImmediate(fn, ...)
    if type(fn) ~= "function" and not is_callable(fn) then
      argerror(1, "setImmediate", "function", fn)
    end
    local args = nil
    if select("#", ...) > 0 then args = pack(...) end
    local im
    if fake then
      -- a timer due now on the fake clock
      im = setmetatable({ fn, 0, fake.now, false, IDLE, false, nil, args, fake },
                        Immediate)
      schedule(fake, im)
    else
      if args then
        im = { fn, 0, 0, false, QUEUED, false, nil, args }
      else
        im = { fn, 0, 0, false, QUEUED }
      end
      setmetatable(im, Immediate)
      qtail = qtail + 1
      q[qtail] = im
      qlive = qlive + 1
      qrefs = qrefs + 1
      syncimmhandles()
    end
    return im
  end

  --- Cancels an immediate; anything else is ignored.
  ---@param im promise.Immediate?
  function P.clearImmediate(im)
    if getmetatable(im) ~= Immediate then return end
    if im[PREV] == QUEUED then
      im[PREV] = CLEARED
      qlive = qlive - 1
      if not im[UNREFED] then qrefs = qrefs - 1 end
      syncimmhandles()
    elseif im[NEXT] then
      unschedule(im[SCHED], im)
      im[PREV] = CLEARED
    end
  end

  -------------------------------------------------------------------- sleep

  --- A promise fulfilled with `opts.value` after `ms` milliseconds.
  --- `opts.signal` (an AbortSignal) rejects it with the signal's reason and
  --- stops the timer; `opts.ref = false` lets the loop exit meanwhile.
  ---@param ms? number
  ---@param opts? {value: any, signal: promise.AbortSignal?, ref: boolean?}
  ---@return Promise
  function P.sleep(ms, opts)
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
    local t = newtimer(fake or real, function()
      if unsubscribe then unsubscribe() end
      resolve(value)
    end, delay(ms), false, nil)
    if ref == false then t:unref() end
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
  function P.now()
    if fake then return fake.now end
    return realnow()
  end

  ---------------------------------------------------------------- run/wait

  local function checkidle(fname)
    if uv.loop_mode() ~= nil then
      error(("%s: the luv loop is already running (use await inside an async function)")
        :format(fname), 3)
    end
  end

  local function neversettled(what)
    local msg = what .. ": the event loop has nothing left to do"
    if fake then msg = msg .. " (fake timers are installed: advance the clock)" end
    return P.Error(msg)
  end

  --- Runs `Promise.async(fn)(...)`, then the luv loop until it has nothing
  --- left to do. Returns `true, value` or `false, reason` like pcall.
  ---@param fn function
  ---@return boolean ok
  ---@return any value_or_reason
  function P.run(fn, ...)
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
    return false, neversettled("main function never settled")
  end

  --- Runs the luv loop until `self` settles; returns its value or raises its
  --- reason. Raises a TimeoutError after `timeout_ms`, a number in
  --- [0, 2^31 - 1]; `math.huge` (or nil) waits without a time limit.
  ---@param self Promise
  ---@param timeout_ms? number
  ---@return any
  function core.methods.wait(self, timeout_ms)
    if not P.is(self) then
      error(("calling 'wait' on bad self (Promise expected, got %s)"):format(typename(self)), 2)
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
          timer = newtimer(real, function() timedout = true end,
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
          error(neversettled("wait: the promise can never settle"), 0)
        end
      end
    end
    if state == "rejected" then error(v, 0) end
    return v
  end

  core.configure{
    awaitOutside = function(v)
      if uv.loop_mode() == nil then
        return P.resolve(v):wait()
      end
      error("await called outside an async function", 3)
    end,
  }

  ------------------------------------------------------------- fake timers

  ---@class promise.FakeClock
  ---@field private sched table  the fake scheduler (see newsched)
  local Clock = {}
  Clock.__index = Clock
  Clock.__name = "FakeClock"

  local function checkclock(self, fname)
    if getmetatable(self) ~= Clock then
      error(("calling '%s' on bad self (FakeClock expected, got %s)")
        :format(fname, typename(self)), 3)
    end
    if self.sched ~= fake then
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
      error(("bad argument #1 to 'advance' (number in [0, 2^53] expected, got %s)")
        :format(tostring(ms)), 2)
    end
    local s = self.sched
    local target = s.now + ms
    if target > FAKE_MAX then
      error(("advance: the fake time would pass 2^53 ms (now %s, step %s)")
        :format(tostring(s.now), tostring(ms)), 2)
    end
    drainnow()
    while s == fake and s.n > 0 and first(s)[DEADLINE] <= target do
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
    while s == fake and s.n > 0 do
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
    if s ~= fake then return end
    fake = nil
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
  function P.useFakeTimers(start_ms)
    if start_ms ~= nil then
      if type(start_ms) ~= "number" then argerror(1, "useFakeTimers", "number", start_ms) end
      if not (start_ms >= -FAKE_MAX and start_ms <= FAKE_MAX) then
        error(("bad argument #1 to 'useFakeTimers' (number in [-2^53, 2^53] expected, got %s)")
          :format(tostring(start_ms)), 2)
      end
    end
    if fake then
      error("useFakeTimers: fake timers are already installed (call clock:restore() first)", 2)
    end
    fake = newsched(true, start_ms or 0)
    return setmetatable({ sched = fake }, Clock)
  end
end

return M
