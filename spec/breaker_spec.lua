-- docs/manual/breaker.md: Promise.breaker, on the fake clock.
local Promise = require("promise")
local H = require("spec.support.helpers")

local clock
local unhandled, uncaught

-- Handles of ours still active once the loop has had one turn.
local active_handles = H.active_handles_after_turn

before_each(function()
  clock = Promise.useFakeTimers(0)
  unhandled, uncaught = H.capture_unhandled(), {}
  -- not H.capture_uncaught(): some tests clear the list by replacing it
  Promise.onUncaughtError(function(err) uncaught[#uncaught + 1] = err end)
end)

after_each(function()
  Promise.drain()
  if clock then -- nil when the test went back to real time
    H.restore_clock(clock)
  end
  assert.same({}, active_handles())
  H.check_reported(unhandled, uncaught)
end)

-- Marks p handled, drains the microtasks, returns its state.
local state = H.settle_handled

local function fails(err) return function() return Promise.reject(err) end end
local function succeeds(v) return function() return v end end

-- Marks p handled (it may reject before the test looks at it); returns p.
local function handled(p)
  p:catch(function() end)
  return p
end

-- Runs one call to completion; returns its state and value.
local function run(cb, fn, ...)
  return state(cb:call(fn, ...))
end

-- Subscribes to every event; returns the log ("name arg1 arg2 ...").
local EVENTS = { "open", "close", "half_open", "success", "failure", "reject", "timeout" }
local function record(cb)
  local log = {}
  for _, name in ipairs(EVENTS) do
    cb:on(name, function(...)
      local parts = { name }
      local args = table.pack(...)
      for i = 1, args.n do
        local a = args[i]
        if type(a) == "table" and a.name then
          parts[#parts + 1] = a.name .. (a.retryAfter and ("(" .. a.retryAfter .. ")") or "")
        else
          parts[#parts + 1] = tostring(a)
        end
      end
      log[#log + 1] = table.concat(parts, " ")
    end)
  end
  return log
end

-- A call whose outcome the test decides: returns fn, resolve, reject.
local function pending()
  local p, resolve, reject = Promise.withResolvers()
  local calls = 0
  return function() calls = calls + 1; return p end, resolve, reject, function() return calls end
end

describe("Promise.breaker", function()
  describe("consecutive failures (no window)", function()
    it("opens after failureThreshold (default 5) consecutive failures", function()
      local cb = Promise.breaker()
      for _ = 1, 4 do assert.equal("rejected", (run(cb, fails("x")))) end
      assert.equal("closed", cb:state())
      assert.equal("rejected", (run(cb, fails("x"))))
      assert.equal("open", cb:state())
      local s = cb:stats()
      assert.equal(5, s.failures)
      assert.equal(1, s.timesOpened)
    end)

    it("a success resets the run; an ignored error neither resets nor extends it", function()
      local cb = Promise.breaker{
        failureThreshold = 3,
        isFailure = function(e) return e ~= "ignore me" end,
      }
      run(cb, fails("x")); run(cb, fails("x"))
      run(cb, succeeds(1))
      assert.equal(0, cb:stats().consecutiveFailures)
      run(cb, fails("x")); run(cb, fails("x"))
      run(cb, fails("ignore me"))
      assert.equal(2, cb:stats().consecutiveFailures)
      assert.equal("closed", cb:state())
      run(cb, fails("x"))
      assert.equal("open", cb:state())
      local s = cb:stats()
      assert.same({ 1, 5, 1 }, { s.successes, s.failures, s.ignored })
    end)

    it("counts an error raised synchronously by fn as a failure, rejecting with it", function()
      local cb = Promise.breaker{ failureThreshold = 1 }
      local err = { "raised" }
      local st, v = run(cb, function() error(err) end)
      assert.equal("rejected", st)
      assert.equal(err, v)
      assert.equal("open", cb:state())
    end)

    it("passes the arguments to fn and fulfils with its first result", function()
      local cb = Promise.breaker()
      local st, v = run(cb, function(a, b, c) return a + b + c, "dropped" end, 1, 2, 3)
      assert.same({ "fulfilled", 6 }, { st, v })
      -- a returned promise is adopted
      st, v = run(cb, function(x) return Promise.resolve(x * 2) end, 21)
      assert.same({ "fulfilled", 42 }, { st, v })
    end)
  end)

  describe("windows", function()
    it("count window: the failure rate over the last `size` calls", function()
      local cb = Promise.breaker{ window = { kind = "count", size = 4 }, minimumCalls = 4 }
      local log = record(cb)
      run(cb, succeeds(1)); run(cb, succeeds(1)); run(cb, succeeds(1))
      run(cb, fails("e1"))                 -- S S S F: 1/4
      assert.equal("closed", cb:state())
      assert.equal(0.25, cb:stats().failureRate)
      run(cb, fails("e2"))                 -- oldest S leaves: S S F F: 2/4 >= 0.5
      assert.equal("open", cb:state())
      assert.equal("open 30000 e2", log[#log])
      local s = cb:stats()
      assert.same({ 4, 0.5 }, { s.calls, s.failureRate })
    end)

    it("no verdict on fewer than minimumCalls calls; the verdict is taken after a success too", function()
      local cb = Promise.breaker{ window = { kind = "count", size = 10 }, minimumCalls = 4 }
      local log = record(cb)
      run(cb, fails("a")); run(cb, fails("b")); run(cb, fails("c"))
      assert.equal("closed", cb:state())   -- 3/3 failed, but only 3 calls
      assert.equal(1, cb:stats().failureRate)
      run(cb, succeeds("ok"))             -- 4 calls, 3/4 >= 0.5
      assert.equal("open", cb:state())
      assert.same({ "failure a 0", "failure b 0", "failure c 0", "success ok 0", "open 30000 nil" }, log)
    end)

    it("errorRate is the threshold (reached, not exceeded)", function()
      local function trip(rate, outcomes)
        local cb = Promise.breaker{ window = { kind = "count", size = 4 }, minimumCalls = 4, errorRate = rate }
        for c in outcomes:gmatch(".") do
          run(cb, c == "F" and fails("x") or succeeds(1))
        end
        return cb:state()
      end
      assert.equal("open", trip(0.75, "FFSF"))
      assert.equal("closed", trip(0.75, "FFSS"))
      assert.equal("open", trip(0.25, "SSSF"))
      assert.equal("closed", trip(1, "FFSF"))
      assert.equal("open", trip(1, "FFFF"))
    end)

    it("count window: minimumCalls above size is capped at size", function()
      local cb = Promise.breaker{ window = { kind = "count", size = 3 } } -- minimumCalls 10
      run(cb, fails("x")); run(cb, fails("x"))
      assert.equal("closed", cb:state())
      run(cb, fails("x"))
      assert.equal("open", cb:state())
    end)

    it("time window: outcomes count for `size` ms", function()
      local cb = Promise.breaker{ window = { kind = "time", size = 1000 }, minimumCalls = 3 }
      run(cb, fails("x"))                  -- F@0
      clock:advance(500)
      run(cb, fails("x"))                  -- F@500
      clock:advance(500)
      assert.equal(1, cb:stats().calls)    -- F@0 left at 1000
      run(cb, succeeds(1))                 -- S@1000: [F@500, S@1000]
      assert.equal("closed", cb:state())
      assert.same({ 2, 0.5 }, { cb:stats().calls, cb:stats().failureRate })
      clock:advance(200)
      run(cb, succeeds(1))                 -- S@1200: 3 calls, 1/3
      assert.equal("closed", cb:state())
      run(cb, fails("x"))                  -- F@1200: 4 calls, 2/4
      assert.equal("open", cb:state())
      clock:advance(300)                   -- F@500 leaves at 1500
      local s = cb:stats()
      assert.same({ 3, 1 / 3 }, { s.calls, s.failureRate })
      clock:advance(10000)
      s = cb:stats()
      assert.same({ 0, 0 }, { s.calls, s.failureRate })
    end)

    it("time window: old failures age out and no longer count", function()
      local cb = Promise.breaker{ window = { kind = "time", size = 100 }, minimumCalls = 2, errorRate = 0.5 }
      run(cb, fails("x"))
      clock:advance(100)
      run(cb, succeeds(1))                 -- the failure is gone: 1 call
      run(cb, succeeds(1))
      run(cb, fails("x"))                  -- 1/3
      assert.equal("closed", cb:state())
    end)
  end)

  describe("open", function()
    it("rejects at once with CircuitOpenError (retryAfter exact), without calling fn or counting", function()
      local cb = Promise.breaker{ failureThreshold = 1, resetTimeout = 1000 }
      run(cb, fails("x"))
      clock:advance(250)
      local called = false
      local p = cb:call(function() called = true end)
      local st, err = p:state()            -- no drain needed: rejected at once
      assert.equal("rejected", st)
      assert.is_false(called)
      assert.is_true(Promise.CircuitOpenError.is(err))
      assert.equal(750, err.retryAfter)
      assert.equal("CircuitOpenError: circuit is open", tostring(err))
      state(p)
      clock:advance(749)
      local st2, err2 = state(cb:call(succeeds(1)))
      assert.equal("rejected", st2)
      assert.equal(1, err2.retryAfter)
      local s = cb:stats()
      assert.same({ 0, 1, 2, 1, 1 }, { s.successes, s.failures, s.rejected, s.calls, s.retryAfter })
    end)

    it("keeps no timer while open; becomes half-open on the first call after resetTimeout", function()
      local cb = Promise.breaker{ failureThreshold = 1, resetTimeout = 1000 }
      local log = record(cb)
      run(cb, fails("x"))
      assert.equal(0, clock:countTimers())
      clock:advance(999)
      assert.equal("open", cb:state())
      clock:advance(1)
      assert.equal("half_open", cb:state()) -- truthful, from the clock
      assert.same({ "failure x 0", "open 1000 x" }, log)  -- but no event before a call
      assert.equal(0, cb:stats().retryAfter)
      clock:advance(5000)
      local fn, resolve = pending()
      local p = cb:call(fn)
      assert.same({ "failure x 0", "open 1000 x", "half_open" }, log)
      resolve("back")
      assert.same({ "fulfilled", "back" }, { state(p) })
      assert.equal("closed", cb:state())
      assert.same({ "failure x 0", "open 1000 x", "half_open", "success back 0", "close" }, log)
    end)

    it("in-flight calls that end after the circuit opened do not move it; their events still fire", function()
      local cb = Promise.breaker{ failureThreshold = 2, resetTimeout = 100 }
      local log = record(cb)
      local f1, _, rej1 = pending()
      local f2, _, rej2 = pending()
      local f3, res3 = pending()
      local p1, p2, p3 = handled(cb:call(f1)), handled(cb:call(f2)), cb:call(f3)
      rej1("a"); rej2("b")
      Promise.drain()
      assert.equal("open", cb:state())
      clock:advance(100)
      assert.equal("half_open", cb:state())
      res3("late")                          -- admitted while closed: not a trial
      Promise.drain()
      assert.equal("half_open", cb:state())
      assert.same({ "failure a 0", "failure b 0", "open 100 b", "success late 100" }, log)
      assert.equal("rejected", state(p1)); assert.equal("rejected", state(p2))
      assert.equal("fulfilled", state(p3))
      -- the half-open trial is still available
      assert.equal("fulfilled", (run(cb, succeeds(1))))
      assert.equal("closed", cb:state())
    end)
  end)

  describe("half-open", function()
    local function opened(opts)
      opts.failureThreshold = 1
      opts.resetTimeout = opts.resetTimeout or 100
      local cb = Promise.breaker(opts)
      run(cb, fails("trip"))
      clock:advance(opts.resetTimeout)
      return cb
    end

    it("admits exactly halfOpenMax trial calls at once; the others are rejected at once", function()
      local cb = opened{ halfOpenMax = 2, successThreshold = 2 }
      local log = record(cb)
      local f1, r1, _, n1 = pending()
      local f2, r2, _, n2 = pending()
      local called = 0
      local p1, p2 = cb:call(f1), cb:call(f2)
      local p3 = handled(cb:call(function() called = called + 1 end))
      local p4 = handled(cb:call(function() called = called + 1 end))
      assert.same({ 1, 1, 0 }, { n1(), n2(), called })
      local st, err = p3:state()
      assert.equal("rejected", st)
      assert.is_true(Promise.CircuitOpenError.is(err))
      assert.equal(0, err.retryAfter)
      assert.equal("rejected", (p4:state()))
      state(p3); state(p4)
      assert.same({ "half_open", "reject CircuitOpenError(0)", "reject CircuitOpenError(0)" }, log)
      -- a finished trial frees its permit
      r1(1)
      Promise.drain()
      assert.equal("half_open", cb:state())
      local f5, r5, _, n5 = pending()
      local p5 = cb:call(f5)
      assert.equal(1, n5())
      assert.equal("rejected", state(cb:call(succeeds(1))))
      r2(2); r5(5)
      Promise.drain()
      assert.equal("closed", cb:state())
      assert.same({ "fulfilled", 1 }, { state(p1) })
      assert.same({ "fulfilled", 2 }, { state(p2) })
      assert.same({ "fulfilled", 5 }, { state(p5) })
      assert.same({ "half_open", "reject CircuitOpenError(0)", "reject CircuitOpenError(0)",
        "success 1 0", "reject CircuitOpenError(0)", "success 2 0", "close", "success 5 0" }, log)
    end)

    it("one trial failure re-opens at once; the other trial's later success does not close it", function()
      local cb = opened{ halfOpenMax = 2 }
      local log = record(cb)
      local f1, _, rej1 = pending()
      local f2, res2 = pending()
      cb:call(f1):catch(function() end)
      local p2 = cb:call(f2)
      rej1("still down")
      Promise.drain()
      assert.equal("open", cb:state())
      assert.equal(2, cb:stats().timesOpened)
      res2("ok")
      Promise.drain()
      assert.equal("open", cb:state())
      assert.equal("fulfilled", state(p2))
      assert.same({ "half_open", "failure still down 0", "open 100 still down", "success ok 0" }, log)
    end)

    it("needs successThreshold trial successes to close", function()
      local cb = opened{ successThreshold = 3 }
      local log = record(cb)
      run(cb, succeeds("a"))
      assert.equal("half_open", cb:state())
      run(cb, succeeds("b"))
      assert.equal("half_open", cb:state())
      run(cb, succeeds("c"))
      assert.equal("closed", cb:state())
      assert.same({ "half_open", "success a 0", "success b 0", "success c 0", "close" }, log)
    end)

    it("an ignored trial error frees the permit and counts as nothing", function()
      local cb = opened{ isFailure = function(e) return e ~= "meh" end }
      local log = record(cb)
      local st, v = run(cb, fails("meh"))
      assert.same({ "rejected", "meh" }, { st, v })
      assert.equal("half_open", cb:state())
      assert.equal(1, cb:stats().ignored)
      assert.equal("fulfilled", (run(cb, succeeds(1))))
      assert.equal("closed", cb:state())
      assert.same({ "half_open", "success 1 0", "close" }, log)
    end)
  end)

  describe("statistics", function()
    it("start afresh when the circuit closes; late calls from before do not count", function()
      local cb = Promise.breaker{ failureThreshold = 2, resetTimeout = 10,
        isFailure = function(e) return e ~= "ign" end }
      local slow, resolveSlow = pending()
      local pslow = cb:call(slow)
      run(cb, succeeds(1)); run(cb, fails("ign"))
      run(cb, fails("x")); run(cb, fails("x"))
      state(cb:call(succeeds(1)))           -- rejected
      local s = cb:stats()
      assert.same({ "open", 1, 2, 1, 1, 0 },
        { s.state, s.successes, s.failures, s.ignored, s.rejected, s.timeouts })
      clock:advance(10)
      run(cb, succeeds(1))                 -- trial: closes
      s = cb:stats()
      assert.same({ "closed", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
        { s.state, s.successes, s.failures, s.ignored, s.rejected, s.timeouts,
          s.calls, s.failureRate, s.consecutiveFailures, s.timesOpened })
      resolveSlow("late")
      assert.equal("fulfilled", state(pslow))
      assert.equal(0, cb:stats().successes)
      assert.equal(0, cb:stats().calls)
    end)

    it("without a window, failureRate is failures / (successes + failures)", function()
      local cb = Promise.breaker()
      assert.equal(0, cb:stats().failureRate)
      run(cb, succeeds(1)); run(cb, succeeds(1)); run(cb, succeeds(1)); run(cb, fails("x"))
      assert.same({ 4, 0.25 }, { cb:stats().calls, cb:stats().failureRate })
    end)
  end)

  describe("events", function()
    it("pass their arguments, in order: outcome first, then the state change", function()
      local cb = Promise.breaker{ failureThreshold = 1, resetTimeout = 50, timeout = 30 }
      local log = record(cb)
      local slow = pending()
      local p = cb:call(function() return Promise.sleep(20, { value = "v" }) end)
      clock:advance(20)
      assert.same({ "fulfilled", "v" }, { state(p) })
      p = handled(cb:call(slow))
      clock:advance(30)
      assert.equal("rejected", state(p))
      state(cb:call(succeeds(1)))
      clock:advance(50)
      run(cb, succeeds("w"))
      assert.same({
        "success v 20",
        "timeout TimeoutError 30", "failure TimeoutError 30", "open 50 TimeoutError",
        "reject CircuitOpenError(50)",
        "half_open", "success w 0", "close",
      }, log)
    end)

    it("on() returns an unsubscribe function (idempotent, safe during an emit)", function()
      local cb = Promise.breaker()
      local seen = {}
      local off1, off2
      off1 = cb:on("success", function(v) seen[#seen + 1] = "1:" .. v; off2() end)
      off2 = cb:on("success", function(v) seen[#seen + 1] = "2:" .. v end)
      cb:on("success", function(v) seen[#seen + 1] = "3:" .. v end)
      run(cb, succeeds("a"))               -- 2 was removed by 1 before its turn
      off1(); off1()
      run(cb, succeeds("b"))
      assert.same({ "1:a", "3:a", "3:b" }, seen)
    end)

    it("an error raised by a listener is reported as uncaught and does not disturb the breaker", function()
      local cb = Promise.breaker{ failureThreshold = 1 }
      local opened = false
      cb:on("failure", function() error("listener broke", 0) end)
      cb:on("open", function() opened = true end)
      local st, v = run(cb, fails("x"))
      assert.same({ "rejected", "x" }, { st, v })
      assert.is_true(opened)
      assert.equal("open", cb:state())
      assert.same({ "listener broke" }, uncaught)
      uncaught = {}
    end)

    it("a listener may call into the breaker", function()
      local cb = Promise.breaker{ failureThreshold = 1 }
      cb:on("open", function() cb:close() end)
      local log = record(cb)
      run(cb, fails("x"))
      assert.equal("closed", cb:state())
      assert.same({ "failure x 0", "open 30000 x", "close" }, log)
    end)
  end)

  describe("resetTimeout", function()
    it("may be a function of timesOpened (backoff), counted since the last close", function()
      local seen = {}
      local cb = Promise.breaker{ failureThreshold = 1,
        resetTimeout = function(n) seen[#seen + 1] = n; return 100 << (n - 1) end }
      local log = record(cb)
      run(cb, fails("x"))                  -- opens for 100
      assert.equal(100, select(2, state(cb:call(succeeds(1)))).retryAfter)
      clock:advance(100)
      run(cb, fails("x"))                  -- trial fails: opens for 200
      assert.equal(200, select(2, state(cb:call(succeeds(1)))).retryAfter)
      clock:advance(199)
      assert.equal("open", cb:state())
      clock:advance(1)
      run(cb, fails("x"))                  -- 400
      clock:advance(400)
      run(cb, succeeds(1))                 -- closes
      run(cb, fails("x"))                  -- back to 100
      assert.same({ 1, 2, 3, 1 }, seen)
      local opens = {}
      for _, l in ipairs(log) do if l:match("^open") then opens[#opens + 1] = l end end
      assert.same({ "open 100 x", "open 200 x", "open 400 x", "open 100 x" }, opens)
    end)

    it("a resetTimeout function that fails is reported; the default period is used", function()
      local cb = Promise.breaker{ failureThreshold = 1, resetTimeout = function() return "soon" end }
      run(cb, fails("x"))
      assert.equal(30000, cb:stats().retryAfter)
      assert.equal(1, #uncaught)
      assert.matches("resetTimeout%(1%) returned string \"soon\"", uncaught[1])
      uncaught = {}
    end)

    it("math.huge keeps the circuit open until cb:close()", function()
      local cb = Promise.breaker{ failureThreshold = 1, resetTimeout = math.huge }
      run(cb, fails("x"))
      clock:advance(1e9)
      assert.equal("open", cb:state())
      cb:close()
      assert.equal("fulfilled", (run(cb, succeeds(1))))
    end)
  end)

  describe("timeout", function()
    it("rejects the caller with TimeoutError, counts a failure, and ignores the late settlement", function()
      local cb = Promise.breaker{ timeout = 100 }
      local log = record(cb)
      local fn, resolve = pending()
      local p = handled(cb:call(fn))
      assert.equal(1, clock:countTimers())
      clock:advance(99)
      assert.equal("pending", (p:state()))
      clock:advance(1)
      local st, err = state(p)
      assert.equal("rejected", st)
      assert.is_true(Promise.TimeoutError.is(err))
      assert.equal("TimeoutError: timed out after 100 ms", tostring(err))
      local s = cb:stats()
      assert.same({ 1, 1, 0 }, { s.failures, s.timeouts, s.successes })
      resolve("too late")
      Promise.drain()
      assert.same({ "rejected", err }, { state(p) })
      s = cb:stats()
      assert.same({ 1, 1, 0 }, { s.failures, s.timeouts, s.successes })
      assert.same({ "timeout TimeoutError 100", "failure TimeoutError 100" }, log)
    end)

    it("stops its timer when the call settles first", function()
      local cb = Promise.breaker{ timeout = 100 }
      local p = cb:call(function() return Promise.sleep(10, { value = 1 }) end)
      assert.equal(2, clock:countTimers())
      clock:advance(10)
      assert.equal(0, clock:countTimers())
      assert.same({ "fulfilled", 1 }, { state(p) })
    end)

    it("frees the trial permit: a stuck trial does not block the next one", function()
      local cb = Promise.breaker{ failureThreshold = 1, resetTimeout = 100, timeout = 50 }
      run(cb, fails("x"))
      clock:advance(100)
      local stuck, _, _, nstuck = pending()
      local p = handled(cb:call(stuck))    -- the trial never settles
      assert.equal(1, nstuck())
      clock:advance(50)                    -- times out: a failure, re-opens
      assert.equal("rejected", state(p))
      assert.equal("open", cb:state())
      clock:advance(100)
      assert.same({ "fulfilled", "ok" }, { run(cb, succeeds("ok")) })
      assert.equal("closed", cb:state())
    end)

    it("is always a failure, whatever isFailure says", function()
      local cb = Promise.breaker{ failureThreshold = 1, timeout = 10, isFailure = function() return false end }
      local p = handled(cb:call(pending()))
      clock:advance(10)
      assert.equal("rejected", state(p))
      assert.equal("open", cb:state())
    end)
  end)

  describe("fallback", function()
    it("replaces failures, timeouts and open-circuit rejections, with the call's arguments", function()
      local got = {}
      local cb = Promise.breaker{ failureThreshold = 2, timeout = 10,
        fallback = function(err, a, b)
          got[#got + 1] = { type(err) == "table" and err.name or err, a, b }
          return "cached " .. a
        end }
      assert.same({ "fulfilled", "cached 1" }, { run(cb, fails("boom"), 1, 2) })
      local p = cb:call(pending(), 3, 4)
      clock:advance(10)
      assert.same({ "fulfilled", "cached 3" }, { state(p) })
      assert.equal("open", cb:state())
      p = cb:call(error, 5, 6)             -- rejected by the circuit: fallback at once
      assert.same({ "fulfilled", "cached 5" }, { p:state() })
      assert.same({ { "boom", 1, 2 }, { "TimeoutError", 3, 4 }, { "CircuitOpenError", 5, 6 } }, got)
      assert.equal(1, cb:stats().rejected)
    end)

    it("does not apply to successes or ignored errors; its own failure rejects the caller", function()
      local calls = 0
      local cb = Promise.breaker{
        isFailure = function(e) return e ~= "ign" end,
        fallback = function(err)
          calls = calls + 1
          if err == "raise" then error("fallback failed", 0) end
          if err == "reject" then return Promise.reject("fallback rejected") end
          return Promise.resolve("adopted")
        end }
      assert.same({ "fulfilled", 1 }, { run(cb, succeeds(1)) })
      assert.same({ "rejected", "ign" }, { run(cb, fails("ign")) })
      assert.equal(0, calls)
      assert.same({ "rejected", "fallback failed" }, { run(cb, fails("raise")) })
      assert.same({ "rejected", "fallback rejected" }, { run(cb, fails("reject")) })
      assert.same({ "fulfilled", "adopted" }, { run(cb, fails("other")) })
      assert.equal(3, calls)
    end)
  end)

  describe("wrap, open, close", function()
    it("cb:wrap(fn) returns the protected function", function()
      local cb = Promise.breaker{ failureThreshold = 1 }
      local add = cb:wrap(function(a, b) return a + b end)
      assert.same({ "fulfilled", 5 }, { state(add(2, 3)) })
      local bad = cb:wrap(function() error("nope", 0) end)
      assert.same({ "rejected", "nope" }, { state(bad()) })
      local st, err = handled(add(1, 1)):state()
      assert.equal("rejected", st)
      assert.is_true(Promise.CircuitOpenError.is(err))
      state(add(1, 1))
    end)

    it("cb:open() and cb:close() force a state, with their events", function()
      local cb = Promise.breaker{ resetTimeout = 100 }
      local log = record(cb)
      cb:close()                           -- already closed: nothing
      run(cb, fails("x"))
      cb:open()
      assert.equal("open", cb:state())
      assert.equal(1, cb:stats().failures)
      cb:open()                            -- already open: nothing
      assert.equal(100, cb:stats().retryAfter)
      clock:advance(100)
      assert.equal("half_open", cb:state())
      cb:open()                            -- half-open: opens again
      assert.equal(2, cb:stats().timesOpened)
      assert.equal("open", cb:state())
      cb:close()
      assert.equal("closed", cb:state())
      local s = cb:stats()
      assert.same({ 0, 0 }, { s.failures, s.timesOpened })
      assert.same({ "failure x 0", "open 100 nil", "open 100 nil", "close" }, log)
      assert.equal("CircuitBreaker<closed>", tostring(cb))
    end)
  end)

  describe("bad arguments", function()
    local function msg(f, ...)
      local ok, err = pcall(f, ...)
      assert.is_false(ok)
      return err
    end

    it("raise Lua-style errors", function()
      local B = Promise.breaker
      local cases = {
        { 5, "bad argument #1 to 'breaker' (table expected, got number)" },
        { { failureTreshold = 3 }, "bad argument #1 to 'breaker' (unknown option 'failureTreshold')" },
        { { failureThreshold = 0 },
          "bad argument #1 to 'breaker' (field 'failureThreshold': integer >= 1 expected, got number 0)" },
        { { failureThreshold = 1.5 },
          "bad argument #1 to 'breaker' (field 'failureThreshold': integer >= 1 expected, got number 1.5)" },
        { { halfOpenMax = "2" },
          "bad argument #1 to 'breaker' (field 'halfOpenMax': integer >= 1 expected, got string \"2\")" },
        { { successThreshold = 0 },
          "bad argument #1 to 'breaker' (field 'successThreshold': integer >= 1 expected, got number 0)" },
        { { resetTimeout = -1 },
          "bad argument #1 to 'breaker' (field 'resetTimeout': number >= 0 or function expected, got number -1)" },
        { { timeout = 0 }, "bad argument #1 to 'breaker' (field 'timeout': "
          .. "number in (0, 2147483647] or math.huge expected, got number 0)" },
        { { isFailure = true }, "bad argument #1 to 'breaker' (field 'isFailure': function expected, got boolean)" },
        { { fallback = "x" }, "bad argument #1 to 'breaker' (field 'fallback': function expected, got string \"x\")" },
        { { window = 10 }, "bad argument #1 to 'breaker' (field 'window': table expected, got number 10)" },
        { { window = { kind = "sliding", size = 3 } },
          "bad argument #1 to 'breaker' (field 'window.kind': \"count\" or \"time\" expected, "
            .. "got string \"sliding\")" },
        { { window = { kind = "count", size = 2.5 } },
          "bad argument #1 to 'breaker' (field 'window.size': integer >= 1 expected, got number 2.5)" },
        { { window = { kind = "time" } },
          "bad argument #1 to 'breaker' (field 'window.size': positive number expected, got nil)" },
        { { window = { kind = "time", size = 10 }, errorRate = 0 },
          "bad argument #1 to 'breaker' (field 'errorRate': number in (0, 1] expected, got number 0)" },
        { { window = { kind = "time", size = 10 }, errorRate = 1.5 },
          "bad argument #1 to 'breaker' (field 'errorRate': number in (0, 1] expected, got number 1.5)" },
        { { window = { kind = "time", size = 10 }, minimumCalls = 0 },
          "bad argument #1 to 'breaker' (field 'minimumCalls': integer >= 1 expected, got number 0)" },
        { { errorRate = 0.3 }, "bad argument #1 to 'breaker' (fields 'errorRate' and 'minimumCalls' need 'window')" },
        { { window = { kind = "count", size = 5 }, failureThreshold = 3 },
          "bad argument #1 to 'breaker' (field 'failureThreshold' does not apply with 'window')" },
      }
      for _, c in ipairs(cases) do
        assert.equal(c[2], msg(B, c[1]))
      end
      -- level 2: the error points at the caller
      local ok, err = pcall(function() local cb = B{ halfOpenMax = 0 }; return cb end)
      assert.is_false(ok)
      assert.matches("^spec/breaker_spec%.lua:%d+: bad argument #1 to 'breaker'", err)
      -- also for the checks of the window and between fields
      for _, opts in ipairs({ { window = { kind = "x" } }, { errorRate = 0.5 },
                              { window = { kind = "count", size = 2 }, failureThreshold = 1 } }) do
        ok, err = pcall(function() local cb = B(opts); return cb end)
        assert.is_false(ok)
        assert.matches("^spec/breaker_spec%.lua:%d+: bad argument #1 to 'breaker'", err)
      end
    end)

    it("raise for bad method arguments and bad self", function()
      local cb = Promise.breaker()
      assert.equal("bad argument #1 to 'call' (function expected, got nil)", msg(cb.call, cb))
      assert.equal("bad argument #1 to 'wrap' (function expected, got number)", msg(cb.wrap, cb, 1))
      assert.equal("bad argument #1 to 'on' (unknown event \"opened\")", msg(cb.on, cb, "opened", print))
      assert.equal("bad argument #1 to 'on' (string expected, got nil)", msg(cb.on, cb))
      assert.equal("bad argument #2 to 'on' (function expected, got nil)", msg(cb.on, cb, "open"))
      assert.equal("calling 'call' on bad self (breaker expected, got table)", msg(cb.call, {}, print))
      assert.equal("calling 'state' on bad self (breaker expected, got nil)", msg(cb.state))
      assert.matches("cannot set field 'foo' of a circuit breaker", msg(function() cb.foo = 1 end))
      assert.matches("^spec/breaker_spec%.lua:%d+: bad argument #1 to 'call'",
        msg(function() local p = cb:call(42); return p end))
    end)
  end)
end)

describe("Promise.breaker on the real loop", function()
  it("leaves no timer or handle alive", function()
    clock:restore()                       -- real time for this one
    clock = nil
    local cb = Promise.breaker{ timeout = 1000, failureThreshold = 1, resetTimeout = 60000 }
    local ok, v = Promise.run(function()
      local a = Promise.await(cb:call(function() return Promise.sleep(5, { value = "a" }) end))
      local _, err = pcall(Promise.await, cb:call(function() error("down", 0) end))
      local st = cb:state()
      local _, rej = pcall(Promise.await, cb:call(print))
      return a .. " " .. err .. " " .. st .. " " .. rej.name
    end)
    assert.same({ true, "a down open CircuitOpenError" }, { ok, v })
    assert.same({}, active_handles())
  end)
end)
