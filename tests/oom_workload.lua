--- Workload of the out-of-memory harness (tests/oom.c).
---
--- Loading this chunk returns `run`, a function that drives every path of
--- the C core (construction, resolution with promises and thenables,
--- reactions, finally, the combinators, microtasks, drains, rejection
--- reporting, async/await, async traces and the debugging hooks) through
--- `require("promise.core")` alone, so it needs neither luv nor
--- promise.loop. `run()` returns a log of what
--- happened, one event a line; the harness compares the log of a run after
--- an out-of-memory failure with the log of a clean run, and a clean run
--- with EXPECTED below. The chunk's second result returns (and forgets)
--- the first invariant that a run, even a failing one, found broken.

local core = require("promise.core")
local errors = require("promise.errors")

local P = core
local async, await = core.async, core.await

local EXPECTED = [[
new(42) bad argument #1 to 'new' (function expected, got number)
sync-state fulfilled 1
sync-state pending
sync-state rejected r2
tostring true
is true false
next-bad bad argument #1 to '?' (promise expected, got table)
qm-bad bad argument #1 to 'promise.core.queueMicrotask' (function expected, got number)
async-bad bad argument #1 to 'promise.core.async' (function expected, got number)
outside 7
drains 1
p1 ok 1
p2 err r2
p3 err boom
p4 ok first
p5 ok call
try ok 5
try err table
try err TypeError: bad argument #1 to 'try' (function expected, got nil)
th4 err getter
th8 ok table
settled-f ok 1
settled-r err r2
p6 err TypeError: Chaining cycle detected for promise
th1 ok th1
th2 err th2
th3 ok th3
th6 ok callnext
th7 err thrown
try ok tp
adopt ok 1
th5 ok nested
ran 1
h1 D
h2 D
same D
then-alias D
finally-cb
list 1 D
list 2 D
list 3 D
list 4 D
list 5 D
fin-reject
passthrough D
fin-raise err finerr
fin-value ok 3
fin-none-r err r
after-finally D
fin-reject-out err fr
fin-promise err finrej
fin-thenable ok 2
ran 2
race-empty pending
all-empty ok n=0
any-empty err AggregateError: All promises were rejected n=0
all-bad err TypeError: bad argument #1 to 'all' (table expected, got number)
all-index err idx
race-bad err TypeError: bad argument #1 to 'race' (table expected, got nil)
all-holes ok nil,2,nil n=3
race ok r1
any ok b
any-none err AggregateError: All promises were rejected a,b n=2
all-rej err allrej
all-mixed ok 1,2,th n=3
allSettled ok fulfilled:1,rejected:x,fulfilled:th n=3
ran 3
m1
uncaught merr string
nested-drain 0
m2
burst 600 600
reported uncaught rep tb
ran 4
unhandled unh1 true
unhandled-count 20
late-catch unh1
handled-late true
ran 5
async-start x y
outside-coroutine await called outside an async function
c-boundary await cannot suspend here (a C function or metamethod is between it and its async function)
awaited 1
aerr err aerr
yield err Error: coroutine.yield called in an async function (use await)
noresult ok nil
awaited 2
pcall-await false are
awaited thenable
awaited later
awaited inner
loop 55
async-done ok done
ran 6
reactions 1 then
created 5
ran 8
trace-all true 2
trace-link true 2
trace-rethrow true
trace-hooks true true
default-hooks 1
drains-total 9
]]

-- a short, deterministic text for a value
local function show(v)
  local t = type(v)
  if t == "string" then return v end
  if t == "table" then
    if getmetatable(v) and getmetatable(v).__tostring then
      return tostring(v)
    end
    return "table"
  end
  return tostring(v)
end

-- "v1,v2,... n=N" for an array with an n field (nil holes shown as nil)
local function showlist(list, each)
  local parts = {}
  for i = 1, list.n do parts[#parts + 1] = (each or show)(list[i]) end
  local s = table.concat(parts, ",")
  if s ~= "" then s = s .. " " end
  return s .. "n=" .. tostring(list.n)
end

-- the first invariant found broken, even in a run that failed: the
-- harness reads it through the second function this chunk returns
local violation

local function broken(msg)
  violation = violation or msg
end

local function run()
  local log = {}
  local function say(...)
    local parts = table.pack(...)
    for i = 1, parts.n do parts[i] = show(parts[i]) end
    log[#log + 1] = table.concat(parts, " ", 1, parts.n)
  end
  -- handlers that log the outcome of a promise under a name; a promise
  -- settles once, so one of them runs, once, even when allocations fail
  local function watch(name, p, fmt)
    local ran = false
    local function once()
      if ran then broken("a handler of " .. name .. " ran twice") end
      ran = true
    end
    return p:next(function(v) once(); say(name, "ok", (fmt or show)(v)) end,
                  function(r) once(); say(name, "err", show(r)) end)
  end

  local drains = 0
  core.onDrainNeeded(function() drains = drains + 1 end)
  local reported = setmetatable({}, { __mode = "k" })
  core.onUnhandledRejection(function(reason, p)
    if reported[p] then broken("a rejection was reported twice") end
    reported[p] = true
    if type(reason) == "string" and reason:match("^u%d+$") then
      log.unhandled = (log.unhandled or 0) + 1
    else
      say("unhandled", reason, P.is(p))
    end
  end)
  core.onRejectionHandled(function(p) say("handled-late", P.is(p)) end)
  core.onUncaughtError(function(err, tb)
    say("uncaught", err, type(tb))
  end)
  core.configure{
    Error = errors.Error, TypeError = errors.TypeError,
    AggregateError = errors.AggregateError,
    awaitOutside = function(v) return v end,
  }

  -- 1. construction, thenables, settled promises ---------------------------
  local p1 = P.new(function(res) res(1) end)
  local p2 = P.new(function(_, rej) rej("r2") end)
  local p3 = P.new(function() error("boom", 0) end)
  local p4 = P.new(function(res) res("first"); error("ignored", 0) end)
  local p5 = core.__call(core, function(res, rej)
    res("call"); rej("no"); res("no")
  end)
  local p6
  p6 = P.new(function(res) P.queueMicrotask(function() res(p6) end) end)
  say("new(42)", select(2, pcall(P.new, 42)))
  say("sync-state", p1:state())
  say("sync-state", P.new(function() end):state())
  say("sync-state", p2:state())
  say("tostring", tostring(p1):match("^Promise<fulfilled>: ") ~= nil)
  say("is", P.is(p1), P.is({}))
  say("next-bad", select(2, pcall(p1.next, {})))
  say("qm-bad", select(2, pcall(P.queueMicrotask, 5)))
  say("async-bad", select(2, pcall(P.async, 5)))
  say("outside", await(7))
  watch("p1", p1); watch("p2", p2); watch("p3", p3); watch("p4", p4)
  watch("p5", p5); watch("p6", p6)
  watch("try", P.try(function(a, b) return a + b end, 2, 3))
  watch("try", P.try(function() error({ code = 1 }) end))
  watch("try", P.try(nil))
  watch("try", P.try(function() return P.resolve("tp") end))
  local thenables = {
    th1 = { next = function(_, res) res("th1") end },
    th2 = { next = function(_, res, rej) rej("th2"); res("x") end },
    th3 = { next = function(_, res) res("th3"); error("late", 0) end },
    th4 = setmetatable({}, { __index = function(_, k)
      if k == "next" then error("getter", 0) end
    end }),
    th5 = setmetatable({}, { __index = {
      next = function(_, res) res(P.resolve("nested")) end } }),
    th6 = { next = setmetatable({}, {
      __call = function(_, _, res) res("callnext") end }) },
    th7 = { next = function() error("thrown", 0) end },
    th8 = { next = 5 },
  }
  for i = 1, 8 do
    local name = "th" .. i
    watch(name, P.resolve(thenables[name]))
  end
  say("drains", drains)
  watch("settled-f", P.resolve(p1))
  watch("settled-r", p2)
  watch("adopt", P.new(function(res) res(p1) end))
  say("ran", P.drain() > 0 and 1 or 0)

  -- 2. reactions on a pending promise, finally ------------------------------
  local d, resolve, reject = P.withResolvers()
  d:next(function(v) say("h1", v) end)
  d:next(function(v) say("h2", v) end, function() end)
  local same = function(v) say("same", v) end
  d:next(same, same)
  d:catch(function() say("never") end)
  d["then"](d, function(v) say("then-alias", v) end)
  d:next(5, "x"):next(function(v) say("passthrough", v) end)
  d:finally(function() say("finally-cb") end)
    :next(function(v) say("after-finally", v) end)
  for i = 1, 5 do d:next(function(v) say("list", i, v) end) end
  resolve("D"); resolve("again"); reject("no")
  P.reject("fr"):finally(function() say("fin-reject") end)
    :catch(function(r) say("fin-reject-out", "err", r) end)
  watch("fin-raise", P.resolve(1):finally(function() error("finerr", 0) end))
  watch("fin-promise", P.resolve(1):finally(function()
    return P.reject("finrej")
  end))
  watch("fin-thenable", P.resolve(2):finally(function()
    return { next = function(_, res) res("ignored") end }
  end))
  watch("fin-value", P.resolve(3):finally(42))
  watch("fin-none-r", P.reject("r"):finally(nil))
  say("ran", P.drain() > 0 and 2 or 0)

  -- 3. combinators ------------------------------------------------------------
  local th = { next = function(_, res) res("th") end }
  local function vals(l) return showlist(l) end
  local function settled(l)
    return showlist(l, function(e)
      return e.status .. ":" .. show(e.value or e.reason)
    end)
  end
  watch("all-mixed", P.all({ 1, P.resolve(2), th, 3, n = 3 }), vals)
  watch("all-holes", P.all(table.pack(nil, 2, nil)), vals)
  watch("all-empty", P.all({}), vals)
  watch("allSettled", P.allSettled({ 1, P.reject("x"), th }), settled)
  local r = P.race({})
  watch("race", P.race({ P.new(function() end), P.resolve("r1"),
                         P.reject("r2") }))
  watch("any", P.any({ P.reject("a"), P.resolve("b") }))
  P.any({ P.reject("a"), P.reject("b") }):catch(function(e)
    say("any-none", "err", tostring(e), showlist(e.errors))
  end)
  P.any({}):catch(function(e)
    say("any-empty", "err", tostring(e), showlist(e.errors))
  end)
  watch("all-rej", P.all({ P.resolve(1), P.reject("allrej") }))
  watch("all-bad", P.all(5))
  watch("all-index", P.all(setmetatable({ n = 2 }, { __index = function(_, i)
    if i == 2 then error("idx", 0) end
    return i
  end })))
  watch("race-bad", P.race(nil))
  say("race-empty", r:state())
  say("ran", P.drain() > 0 and 3 or 0)

  -- 4. microtasks, nested drains, growing the queue ---------------------------
  local burst, queued = 0, 0
  P.queueMicrotask(function() say("m1") end)
  P.queueMicrotask(function() error("merr", 0) end)
  P.queueMicrotask(function() say("nested-drain", P.drain()) end)
  for _ = 1, 3 do P.queueMicrotask(function() end) end
  -- queued while the head chunk is part used: crosses chunk boundaries
  P.queueMicrotask(function()
    for i = 1, 600 do
      P.queueMicrotask(function()
        -- FIFO, none lost, none twice: holds even when an allocation fails
        if i ~= burst + 1 then
          broken("burst microtask " .. i .. " ran after " .. burst)
        end
        burst = i
      end)
      queued = i
    end
  end)
  P.queueMicrotask(function() say("m2") end)
  P.queueMicrotask(function()
    P.queueMicrotask(function()
      -- runs after the burst (FIFO)
      say("burst", burst, queued)
      if burst ~= queued then
        broken(queued .. " burst microtasks queued, " .. burst .. " ran")
      end
      P.reportError("rep", "tb")
    end)
  end)
  core.onUncaughtError(function(err, tb)
    if err == "rep" then say("reported", "uncaught", err, tb)
    else say("uncaught", err, type(tb)) end
  end)
  say("ran", P.drain() > 0 and 4 or 0)

  -- 5. unhandled rejections, handled late, many at once -----------------------
  local u = P.reject("unh1")
  for i = 1, 20 do P.reject("u" .. i) end
  P.drain()
  say("unhandled-count", log.unhandled)
  u:catch(function(e) say("late-catch", e) end)  -- reports "handled" at once
  say("ran", P.drain() > 0 and 5 or 0)

  -- 6. async / await -----------------------------------------------------------
  local f = async(function(a, b)
    say("async-start", a, b)
    say("awaited", await(1))                      -- a plain value
    say("awaited", await(P.resolve(2)))           -- a fulfilled promise
    say("pcall-await", pcall(await, P.reject("are")))
    say("awaited", await({ next = function(_, res) res("thenable") end }))
    say("awaited", await(P.new(function(res)
      P.queueMicrotask(function() res("later") end)
    end)))
    local inner = async(function() await(nil); return "inner" end)
    say("awaited", await(inner()))
    local sum = 0
    for i = 1, 10 do sum = sum + await(i) end
    say("loop", sum)
    return "done", "extra"
  end)
  local done = f("x", "y")
  async(function()
    local co = coroutine.wrap(function() return select(2, pcall(await, 1)) end)
    say("outside-coroutine", co())
  end)()
  async(function()
    local _, e = pcall(table.sort, { 3, 2, 1 }, function(x, y)
      await(1)
      return x < y
    end)
    say("c-boundary", (tostring(e):match("await cannot .*")))
  end)()
  watch("aerr", async(function() error("aerr", 0) end)())
  watch("yield", async(function() coroutine.yield(1) end)())
  watch("noresult", async(function() end)())
  watch("async-done", done)
  say("ran", P.drain() > 0 and 6 or 0)

  -- 8. async traces, links, the debugging hooks -------------------------------
  local function has(p, text)
    local tb = core.traceback(p)
    return tb ~= nil and tb:find(text, 1, true) ~= nil
  end
  local deep = async(function() await(nil); error("deep", 0) end)
  local mid = async(function() return await(P.all({ 1, deep() })) end)
  local top = async(function() return await(mid()) end)
  local traced = top()
  local src = async(function() await(nil); error("linked", 0) end)()
  local target, settarget = P.withResolvers()
  core.link(src, target, function() return "helper" end)
  local linkwaiter = async(function() return await(target) end)()
  src:catch(function(e) settarget(P.reject(e)) end)
  local rethrown = async(function()
    local ok, e = pcall(await, deep())
    if not ok then error(e, 0) end
  end)()
  local created = 0
  core.debughooks(function(_, parent)
    created = created + 1
    P.resolve(parent)              -- re-entry: no hook inside a hook
    collectgarbage("step")
  end, function(_, first)
    if not first then error("describe raises", 0) end
    return "described"
  end)
  local pend = P.new(function() end)
  pend:next(function() end)
  say("reactions", #core.reactions(pend), core.reactions(pend)[1].kind)
  local handled = P.resolve(1):next(function() error("h", 0) end)
  local noted = P.reject("noted")
  say("created", created)
  for _, p in ipairs({ traced, linkwaiter, rethrown, handled, noted }) do
    p:catch(function() end)
  end
  say("ran", P.drain() > 0 and 8 or 0)
  core.debughooks(nil, nil)
  say("trace-all", has(traced, "--- in Promise.all (element 2)"),
      select(2, core.traceback(traced):gsub("--- awaited in:", "")))
  say("trace-link", has(src, "--- awaited in: helper"),
      select(2, core.traceback(src):gsub("--- awaited in:", "")))
  say("trace-rethrow", has(rethrown, "--- awaited in:"))
  say("trace-hooks", has(handled, "described"), has(noted, "stack traceback"))

  -- 7. the default reporters (they write to stderr) ---------------------------
  core.onUnhandledRejection(nil)
  core.onUncaughtError(nil)
  core.onRejectionHandled(nil)
  P.new(function() error("default-unhandled") end)
  P.queueMicrotask(function() error("default-uncaught") end)
  P.reportError("default-report")
  say("default-hooks", P.drain())
  say("drains-total", drains)

  -- checks that the log cannot express
  assert(P.is(d) and d:state() == "fulfilled")
  return table.concat(log, "\n") .. "\n"
end

return function()
  local got = run()
  return got, EXPECTED
end, function()
  local v = violation
  violation = nil
  return v
end
