-- docs/manual/retry.md: Promise.retry, on the fake clock (exact delays,
-- fixed random source) and once on the real loop.
local Promise = require("promise")
local H = require("spec.support.helpers")

local clock
local unhandled

-- Handles still active once the loop has had one turn.
local active_handles = H.active_handles_after_turn

local state, settled = H.settle, H.settle_handled

local function fresh_reporter()
  unhandled = H.capture_unhandled()
end

local function check_reporter()
  Promise.drain()
  H.check_reported(unhandled)
end

-- A `fn` for retry that fails (rejects with "fail <n>") until attempt
-- `okAt`, then fulfils with "ok <n>"; logs each call with the fake time.
local function flaky(log, okAt)
  return function(n, signal)
    assert.is_true(Promise.AbortSignal.is(signal))
    log[#log + 1] = ("attempt %d @%s"):format(n, Promise.now())
    if okAt and n >= okAt then return Promise.resolve("ok " .. n) end
    return Promise.reject("fail " .. n)
  end
end

local function const(r) return function() return r end end

-- Runs retry to the end with jitter `kind` and a constant random `r`;
-- returns the delays onRetry saw and the fake times the attempts started at.
local function delays_for(kind, r, extra)
  local delays, starts = {}, {}
  local opts = {
    retries = 5, minDelay = 100, maxDelay = 1000, factor = 2, jitter = kind, random = const(r),
    onRetry = function(_, _, d) delays[#delays + 1] = d end,
  }
  for k, v in pairs(extra or {}) do opts[k] = v end
  local p = Promise.retry(function()
    starts[#starts + 1] = Promise.now()
    return Promise.reject("x")
  end, opts)
  p:catch(function() end)
  clock:runAll()
  assert.same({ "rejected", "x" }, { state(p) })
  return delays, starts
end

describe("Promise.retry (fake clock)", function()
  before_each(function()
    clock = Promise.useFakeTimers(0)
    fresh_reporter()
  end)

  after_each(function()
    H.restore_clock(clock)
    assert.same({}, active_handles())
    check_reporter()
  end)

  it("calls fn(1, signal) synchronously and fulfils with its value when it succeeds", function()
    local log = {}
    local p = Promise.retry(flaky(log, 1))
    assert.same({ "attempt 1 @0" }, log)
    assert.same({ "fulfilled", "ok 1" }, { state(p) })
    assert.equal(0, clock:countTimers())
  end)

  it("retries after each failure with the delays of the backoff, then fulfils", function()
    local log, seen = {}, {}
    local p = Promise.retry(flaky(log, 3), {
      jitter = "none",
      onRetry = function(err, attempt, delay)
        seen[#seen + 1] = ("%s | %d | %s @%s"):format(err, attempt, delay, Promise.now())
      end,
    })
    clock:runAll()
    assert.same({ "fulfilled", "ok 3" }, { state(p) })
    assert.same({ "attempt 1 @0", "attempt 2 @100", "attempt 3 @300" }, log)
    assert.same({ "fail 1 | 1 | 100 @0", "fail 2 | 2 | 200 @100" }, seen)
  end)

  it("gives up after `retries` retries (default 3: four calls) with the last error, unchanged", function()
    local errs = {}
    local starts = {}
    local p = Promise.retry(function(n)
      starts[#starts + 1] = Promise.now()
      errs[n] = { n = n }
      return Promise.reject(errs[n])
    end, { jitter = "none" })
    p:catch(function() end)
    clock:runAll()
    local st, r = state(p)
    assert.equal("rejected", st)
    assert.equal(errs[4], r)
    assert.same({ 0, 100, 300, 700 }, starts)
    assert.equal(700, clock:now())
  end)

  it("with retries = 0 calls fn once", function()
    local log = {}
    local p = Promise.retry(flaky(log), { retries = 0 })
    assert.same({ "rejected", "fail 1" }, { settled(p) })
    assert.same({ "attempt 1 @0" }, log)
    assert.equal(0, clock:countTimers())
  end)

  it("default options: full jitter over 100 * 2^(n-1), random = math.random", function()
    local delays = {}
    local saved = math.random
    math.random = function() return 0.5 end -- luacheck: ignore 122
    local ok, err = pcall(function()
      local p = Promise.retry(function() return Promise.reject("x") end, {
        onRetry = function(_, _, d) delays[#delays + 1] = d end,
      })
      p:catch(function() end)
      clock:runAll()
    end)
    math.random = saved -- luacheck: ignore 122
    assert(ok, err)
    assert.same({ 50, 100, 200 }, delays)
    assert.equal(350, clock:now())
  end)

  describe("jitter", function()
    it('"none": min(maxDelay, minDelay * factor^(n-1))', function()
      local delays, starts = delays_for("none", 0.25)
      assert.same({ 100, 200, 400, 800, 1000 }, delays)
      assert.same({ 0, 100, 300, 700, 1500, 2500 }, starts)
    end)

    it('"full": U(0, d)', function()
      local delays, starts = delays_for("full", 0.25)
      assert.same({ 25, 50, 100, 200, 250 }, delays)
      assert.same({ 0, 25, 75, 175, 375, 625 }, starts)
      assert.same({ 100, 200, 400, 800, 1000 }, (delays_for("full", 1)))
    end)

    it('"equal": d/2 + U(0, d/2)', function()
      local delays, starts = delays_for("equal", 0.25)
      assert.same({ 62.5, 125, 250, 500, 625 }, delays)
      assert.same({ 0, 62.5, 187.5, 437.5, 937.5, 1562.5 }, starts)
      assert.same({ 50, 100, 200, 400, 500 }, (delays_for("equal", 0)))
    end)

    it('"decorrelated": min(maxDelay, U(minDelay, 3 * previous delay))', function()
      local delays = delays_for("decorrelated", 0.25)
      assert.same({ 150, 187.5, 215.625, 236.71875, 252.5390625 }, delays)
      assert.same({ 300, 900, 1000, 1000, 1000 }, (delays_for("decorrelated", 1)))
      assert.same({ 100, 100, 100, 100, 100 }, (delays_for("decorrelated", 0)))
    end)

    it("takes one random number per retry, in order", function()
      local seq, i = { 0.5, 0.1, 0.9 }, 0
      local delays = delays_for("full", nil, {
        retries = 3,
        random = function() i = i + 1; return seq[i] end,
      })
      assert.same({ 50, 20, 360 }, delays)
      assert.equal(3, i)
    end)

    it("maxDelay and factor shape the curve", function()
      local delays = delays_for("none", 0, { minDelay = 10, factor = 3, maxDelay = 500 })
      assert.same({ 10, 30, 90, 270, 500 }, delays)
    end)

    it("a random source returning something outside [0, 1] rejects with a TypeError", function()
      local calls = 0
      local p = Promise.retry(function() calls = calls + 1; return Promise.reject("x") end,
        { random = const(2) })
      local st, err = settled(p)
      assert.equal("rejected", st)
      assert.is_true(Promise.TypeError.is(err))
      assert.matches("random", err.message)
      assert.equal(1, calls)
    end)
  end)

  it("a function that raises counts as a failed attempt", function()
    local boom = {}
    local calls = 0
    local p = Promise.retry(function(n)
      calls = calls + 1
      if n < 3 then error(boom) end
      return "fine"
    end, { jitter = "none", minDelay = 10 })
    clock:runAll()
    assert.same({ "fulfilled", "fine" }, { state(p) })
    assert.equal(3, calls)
    assert.equal(30, clock:now())
  end)

  describe("shouldRetry", function()
    it("false stops at once and rejects with that error; it sees (err, attempt)", function()
      local seen = {}
      local calls = 0
      local fatal = { fatal = true }
      local p = Promise.retry(function(n)
        calls = calls + 1
        return Promise.reject(n == 2 and fatal or ("soft " .. n))
      end, {
        jitter = "none",
        shouldRetry = function(err, attempt)
          seen[#seen + 1] = { err, attempt }
          return type(err) == "string"
        end,
      })
      p:catch(function() end)
      clock:runAll()
      local st, r = state(p)
      assert.equal("rejected", st)
      assert.equal(fatal, r)
      assert.equal(2, calls)
      assert.same({ { "soft 1", 1 }, { fatal, 2 } }, seen)
    end)

    it("by default an AbortError is not retried, other errors (TimeoutError too) are", function()
      local calls = 0
      local abort = Promise.AbortError("stop")
      local p = Promise.retry(function() calls = calls + 1; return Promise.reject(abort) end)
      assert.same({ "rejected", abort }, { settled(p) })
      assert.equal(1, calls)
      assert.equal(0, clock:countTimers())

      local tcalls = 0
      local q = Promise.retry(function()
        tcalls = tcalls + 1
        return Promise.reject(Promise.TimeoutError("slow"))
      end, { retries = 2 })
      q:catch(function() end)
      clock:runAll()
      assert.equal(3, tcalls)
    end)

    it("an error it raises rejects the result and stops retrying", function()
      local oops = {}
      local calls = 0
      local p = Promise.retry(function() calls = calls + 1; return Promise.reject("x") end, {
        shouldRetry = function() error(oops) end,
      })
      assert.same({ "rejected", oops }, { settled(p) })
      assert.equal(1, calls)
      assert.equal(0, clock:countTimers())
    end)

    it("is not consulted when no retry is left", function()
      local consulted = 0
      local p = Promise.retry(function() return Promise.reject("x") end, {
        retries = 1, jitter = "none",
        shouldRetry = function() consulted = consulted + 1; return true end,
      })
      p:catch(function() end)
      clock:runAll()
      assert.equal(1, consulted)
    end)
  end)

  describe("onRetry", function()
    it("is called before each wait, not after the last failure", function()
      local log = {}
      local p = Promise.retry(function(n)
        log[#log + 1] = "attempt " .. n
        return Promise.reject("e" .. n)
      end, {
        retries = 2, jitter = "none", minDelay = 5,
        onRetry = function(err, attempt, delay)
          log[#log + 1] = ("onRetry %s %d %s (timers: %d)"):format(err, attempt, delay, clock:countTimers())
        end,
      })
      p:catch(function() end)
      clock:runAll()
      assert.same({
        "attempt 1", "onRetry e1 1 5 (timers: 0)",
        "attempt 2", "onRetry e2 2 10 (timers: 0)",
        "attempt 3",
      }, log)
      assert.same({ "rejected", "e3" }, { state(p) })
    end)

    it("an error it raises rejects the result; no further attempt", function()
      local oops = { "oops" }
      local calls = 0
      local p = Promise.retry(function() calls = calls + 1; return Promise.reject("x") end, {
        onRetry = function() error(oops) end,
      })
      assert.same({ "rejected", oops }, { settled(p) })
      clock:runAll()
      assert.equal(1, calls)
    end)
  end)

  describe("attemptTimeout", function()
    it("aborts a slow attempt's signal with a TimeoutError that counts as its failure", function()
      local sigs, seen = {}, {}
      local p = Promise.retry(function(n, signal)
        sigs[n] = signal
        if n == 1 then return Promise.sleep(10000, { signal = signal }) end
        return Promise.sleep(10, { signal = signal, value = "second try" })
      end, {
        attemptTimeout = 50, jitter = "none", minDelay = 20,
        onRetry = function(err, attempt, delay) seen[#seen + 1] = { err, attempt, delay, Promise.now() } end,
      })
      clock:advance(49)
      assert.is_false(sigs[1].aborted)
      clock:advance(1)
      assert.is_true(sigs[1].aborted)
      assert.is_true(Promise.TimeoutError.is(sigs[1].reason))
      assert.equal("attempt 1 timed out after 50 ms", sigs[1].reason.message)
      assert.equal(1, #seen)
      assert.equal(sigs[1].reason, seen[1][1])
      assert.same({ 1, 20, 50 }, { seen[1][2], seen[1][3], seen[1][4] })
      clock:runAll()
      assert.same({ "fulfilled", "second try" }, { state(p) })
      assert.equal(80, clock:now())
      assert.is_false(sigs[2].aborted)
    end)

    it("rejects with the last attempt's TimeoutError when every attempt is too slow", function()
      local p = Promise.retry(function() return Promise.new(function() end) end,
        { attemptTimeout = 30, retries = 1, jitter = "none", minDelay = 10 })
      p:catch(function() end)
      clock:runAll()
      local st, err = state(p)
      assert.equal("rejected", st)
      assert.is_true(Promise.TimeoutError.is(err))
      assert.equal("attempt 2 timed out after 30 ms", err.message)
      assert.equal(70, clock:now())
    end)

    it("ignores the late outcome of a timed-out attempt (a late rejection is not unhandled)", function()
      local resolvers = {}
      local p = Promise.retry(function(n)
        local q, resolve, reject = Promise.withResolvers()
        resolvers[n] = { resolve, reject }
        return q
      end, { attemptTimeout = 10, retries = 1, jitter = "none", minDelay = 5 })
      p:catch(function() end)
      clock:advance(10)         -- attempt 1 timed out, waiting 5 ms
      resolvers[1][1]("late value")
      assert.equal("pending", state(p))
      clock:advance(5)          -- attempt 2 starts
      assert.is_table(resolvers[2])
      resolvers[1][2]("late rejection")
      resolvers[2][1]("on time")
      assert.same({ "fulfilled", "on time" }, { state(p) })
      assert.equal(0, clock:countTimers())
    end)

    it("the attempt's timer is cleared when it settles in time", function()
      local p = Promise.retry(function() return Promise.sleep(5, { value = "v" }) end,
        { attemptTimeout = 1000 })
      assert.equal(2, clock:countTimers())
      clock:advance(5)
      assert.same({ "fulfilled", "v" }, { state(p) })
      assert.equal(0, clock:countTimers())
    end)
  end)

  describe("maxElapsed", function()
    it("starts no attempt past maxElapsed ms: rejects at once with the last error", function()
      local log = {}
      local p = Promise.retry(flaky(log), { jitter = "none", retries = 10, maxElapsed = 500 })
      p:catch(function() end)
      clock:advance(300)
      -- attempt 4 would start at 700 > 500: rejected now, at 300, no timer left
      assert.same({ "rejected", "fail 3" }, { state(p) })
      assert.same({ "attempt 1 @0", "attempt 2 @100", "attempt 3 @300" }, log)
      assert.equal(0, clock:countTimers())
    end)

    it("an attempt may start exactly at maxElapsed", function()
      local log = {}
      local p = Promise.retry(flaky(log), { jitter = "none", retries = 10, maxElapsed = 700 })
      p:catch(function() end)
      clock:runAll()
      assert.same({ "rejected", "fail 4" }, { state(p) })
      assert.same({ "attempt 1 @0", "attempt 2 @100", "attempt 3 @300", "attempt 4 @700" }, log)
    end)

    it("counts the time the attempts themselves take", function()
      local starts = {}
      local p = Promise.retry(function()
        starts[#starts + 1] = Promise.now()
        return Promise.sleep(100):next(function() error("slow failure") end)
      end, { jitter = "none", minDelay = 50, factor = 1, retries = 10, maxElapsed = 300 })
      p:catch(function() end)
      clock:runAll()
      assert.same({ 0, 150, 300 }, starts)
      assert.equal("rejected", state(p))
      assert.equal(400, clock:now())
    end)

    it("with retries = math.huge, bounds the retries by time alone", function()
      local calls = 0
      local p = Promise.retry(function() calls = calls + 1; return Promise.reject("x") end,
        { retries = math.huge, jitter = "none", minDelay = 10, factor = 1, maxElapsed = 1000 })
      p:catch(function() end)
      clock:runAll()
      assert.equal(101, calls)
      assert.equal(1000, clock:now())
    end)
  end)

  describe("opts.signal", function()
    it("an abort during a delay rejects at once, clears the timer, starts no further attempt", function()
      local ctl = Promise.AbortController()
      local log, retried = {}, 0
      local p = Promise.retry(flaky(log), {
        jitter = "none", signal = ctl.signal,
        onRetry = function() retried = retried + 1 end,
      })
      p:catch(function() end)
      clock:advance(150)      -- attempt 2 failed at 100; waiting 200 ms
      assert.equal(1, clock:countTimers())
      local reason = { "shutdown" }
      ctl:abort(reason)
      assert.same({ "rejected", reason }, { state(p) })
      assert.equal(0, clock:countTimers())
      clock:runAll()
      assert.same({ "attempt 1 @0", "attempt 2 @100" }, log)
      assert.equal(2, retried)
    end)

    it("an abort during an attempt rejects at once and aborts that attempt's signal", function()
      local ctl = Promise.AbortController()
      local sig, resolveAttempt
      local p = Promise.retry(function(_, signal)
        sig = signal
        local q, resolve = Promise.withResolvers()
        resolveAttempt = resolve
        return q
      end, { signal = ctl.signal, attemptTimeout = 1000 })
      p:catch(function() end)
      clock:advance(10)
      ctl:abort("user cancelled")
      assert.is_true(sig.aborted)
      assert.equal("user cancelled", sig.reason)
      assert.same({ "rejected", "user cancelled" }, { state(p) })
      assert.equal(0, clock:countTimers())
      resolveAttempt("too late")
      assert.same({ "rejected", "user cancelled" }, { state(p) })
    end)

    it("an attempt that rejects in reaction to the abort does not start a retry", function()
      local ctl = Promise.AbortController()
      local calls = 0
      local p = Promise.retry(function(_, signal)
        calls = calls + 1
        return Promise.sleep(1000, { signal = signal })
      end, { signal = ctl.signal, shouldRetry = function() return true end })
      p:catch(function() end)
      ctl:abort()
      local st, err = state(p)
      assert.equal("rejected", st)
      assert.is_true(Promise.AbortError.is(err))
      clock:runAll()
      assert.equal(1, calls)
    end)

    it("already aborted: rejects at once without calling fn", function()
      local called = false
      local reason = Promise.AbortError("before")
      local p = Promise.retry(function() called = true end,
        { signal = Promise.AbortSignal.abort(reason) })
      assert.same({ "rejected", reason }, { settled(p) })
      assert.is_false(called)
    end)

    it("aborting after success changes nothing", function()
      local ctl = Promise.AbortController()
      local sig
      local p = Promise.retry(function(_, s) sig = s; return "v" end, { signal = ctl.signal })
      assert.same({ "fulfilled", "v" }, { state(p) })
      ctl:abort()
      assert.is_false(sig.aborted)
      assert.same({ "fulfilled", "v" }, { state(p) })
    end)

    it("a long-lived signal keeps no finished retry alive (its listener is removed)", function()
      local ctl = Promise.AbortController()
      local weak = setmetatable({}, { __mode = "v" })
      for i = 1, 3 do
        local p = Promise.retry(function(_, signal)
          weak[i] = signal
          return Promise.sleep(5, { value = i })
        end, { signal = ctl.signal })
        weak[10 + i] = p
        clock:advance(5)
        assert.same({ "fulfilled", i }, { state(p) })
      end
      collectgarbage()
      collectgarbage()
      assert.is_nil(next(weak), "a promise or an attempt's signal is still referenced")
    end)

    it("onRetry may abort the signal: no wait is scheduled", function()
      local ctl = Promise.AbortController()
      local p = Promise.retry(function() return Promise.reject("x") end, {
        signal = ctl.signal,
        onRetry = function() ctl:abort("enough") end,
      })
      assert.same({ "rejected", "enough" }, { settled(p) })
      assert.equal(0, clock:countTimers())
    end)
  end)

  describe("bad arguments", function()
    local function msg(f)
      local ok, e = pcall(f)
      assert.is_false(ok)
      -- every message points at the call in this file
      assert.matches("^spec/retry_spec%.lua:%d+: ", e)
      return (e:gsub("^[^:]*:%d+: ", ""))
    end
    local fn = function() return 1 end

    it("raise Lua-style errors pointing at the caller", function()
      local ok, e = pcall(function() Promise.retry() end)
      assert.is_false(ok)
      assert.matches("^spec/retry_spec%.lua:%d+: bad argument #1 to 'retry' %(function expected, got nil%)$", e)
      assert.equal("bad argument #2 to 'retry' (table expected, got number)",
        msg(function() Promise.retry(fn, 3) end))
      assert.equal("bad argument #2 to 'retry' (unknown option retry)",
        msg(function() Promise.retry(fn, { retry = 3 }) end))
      assert.equal("bad argument #2 to 'retry' (field 'retries': integer >= 0 or math.huge expected, got 1.5)",
        msg(function() Promise.retry(fn, { retries = 1.5 }) end))
      assert.equal("bad argument #2 to 'retry' (field 'retries': number expected, got string)",
        msg(function() Promise.retry(fn, { retries = "3" }) end))
      assert.equal("bad argument #2 to 'retry' (field 'minDelay': number in [0, 2147483647] expected, got -1)",
        msg(function() Promise.retry(fn, { minDelay = -1 }) end))
      assert.equal("bad argument #2 to 'retry' (field 'factor': positive finite number expected, got 0)",
        msg(function() Promise.retry(fn, { factor = 0 }) end))
      assert.equal('bad argument #2 to \'retry\' (field \'jitter\': "full", "equal", "decorrelated" or "none"'
        .. ' expected, got "half")',
        msg(function() Promise.retry(fn, { jitter = "half" }) end))
      assert.equal("bad argument #2 to 'retry' (field 'shouldRetry': function expected, got boolean)",
        msg(function() Promise.retry(fn, { shouldRetry = false }) end))
      assert.equal("bad argument #2 to 'retry' (field 'signal': AbortSignal expected, got table)",
        msg(function() Promise.retry(fn, { signal = {} }) end))
      assert.equal("bad argument #2 to 'retry' (field 'attemptTimeout': "
        .. "number in [0, 2147483647] or math.huge expected, got -5)",
        msg(function() Promise.retry(fn, { attemptTimeout = -5 }) end))
      assert.equal("bad argument #2 to 'retry' (field 'minDelay' (500) exceeds field 'maxDelay' (100))",
        msg(function() Promise.retry(fn, { minDelay = 500, maxDelay = 100 }) end))
      assert.equal(0, clock:countTimers())
    end)
  end)
end)

describe("Promise.retry (real loop)", function()
  before_each(fresh_reporter)
  after_each(function()
    assert.same({}, active_handles(), "a handle was left active")
    check_reporter()
  end)

  it("retries on real time and leaves no active handle", function()
    local t0 = Promise.now()
    local starts = {}
    local v = Promise.retry(function(n)
      starts[n] = Promise.now() - t0
      if n < 3 then return Promise.reject("not yet") end
      return "done"
    end, { minDelay = 10, jitter = "none" }):wait()
    assert.equal("done", v)
    assert.equal(3, #starts)
    -- the loop's clock, which the timers use: a delay is never cut short
    -- (and a slow machine only makes it longer, so no upper bound)
    assert.is_true(starts[2] >= 10 and starts[3] >= starts[2] + 20, table.concat(starts, ", "))
  end)
end)
