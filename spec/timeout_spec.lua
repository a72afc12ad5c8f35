-- docs/manual/timeout.md: Promise.timeout, on the fake clock (and a few
-- checks on the real loop).
local Promise = require("promise")
local H = require("spec.support.helpers")

local clock
local unhandled

-- Handles still active once the loop has had one turn.
local active_handles = H.active_handles_after_turn

-- state(p): drains the microtasks and returns p's state (p is not marked
-- handled); settled(p): marks p handled, drains, returns its state.
local state, settled = H.settle, H.settle_handled

local function fresh_reporter()
  unhandled = H.capture_unhandled()
end

local function check_reporter()
  Promise.drain()
  H.check_reported(unhandled)
end

describe("Promise.timeout (fake clock)", function()
  before_each(function()
    clock = Promise.useFakeTimers(0)
    fresh_reporter()
  end)

  after_each(function()
    H.restore_clock(clock)
    assert.same({}, active_handles())
    check_reporter()
  end)

  describe("with a promise", function()
    it("fulfils with the work's value and clears its timer as soon as the work settles", function()
      local work, resolve = Promise.withResolvers()
      local p = Promise.timeout(work, 100)
      assert.equal(1, clock:countTimers())
      clock:advance(40)
      assert.equal("pending", state(p))
      resolve("done")
      assert.same({ "fulfilled", "done" }, { state(p) })
      assert.equal(0, clock:countTimers())
      clock:runAll()
      assert.equal(40, clock:now(), "runAll found a timer to run")
    end)

    it("rejects with the work's own reason (unchanged) and clears its timer", function()
      local work, _, reject = Promise.withResolvers()
      local p = Promise.timeout(work, 100)
      local reason = { code = "EBOOM" }
      clock:advance(99)
      reject(reason)
      local st, r = settled(p)
      assert.equal("rejected", st)
      assert.equal(reason, r)
      assert.equal(0, clock:countTimers())
    end)

    it("rejects with a TimeoutError exactly at the deadline, not before", function()
      local work = Promise.new(function() end)
      local p = Promise.timeout(work, 100)
      p:catch(function() end)
      clock:advance(99)
      assert.equal("pending", state(p))
      clock:advance(1)
      local st, err = state(p)
      assert.equal("rejected", st)
      assert.is_true(Promise.TimeoutError.is(err))
      assert.equal("TimeoutError", err.name)
      assert.equal("timed out after 100 ms", err.message)
      assert.equal("TimeoutError: timed out after 100 ms", tostring(err))
      assert.equal(0, clock:countTimers())
    end)

    it("ignores a late outcome of the work, and a late rejection is not reported as unhandled", function()
      local work, _, reject = Promise.withResolvers()
      local p = Promise.timeout(work, 10)
      p:catch(function() end)
      clock:advance(10)
      reject("too late")
      local st, err = state(p)
      assert.equal("rejected", st)
      assert.is_true(Promise.TimeoutError.is(err))
    end)

    it("uses opts.message", function()
      local p = Promise.timeout(Promise.new(function() end), 250, { message = "payment gateway too slow" })
      p:catch(function() end)
      clock:advance(250)
      local _, err = state(p)
      assert.is_true(Promise.TimeoutError.is(err))
      assert.equal("payment gateway too slow", err.message)
    end)

    it("formats a fractional delay as given", function()
      local p = Promise.timeout(Promise.new(function() end), 2.5)
      p:catch(function() end)
      clock:runAll()
      local _, err = state(p)
      assert.equal("timed out after 2.5 ms", err.message)
    end)

    it("creates no timer at all for work that has already settled", function()
      local p = Promise.timeout(Promise.resolve(7), 100)
      assert.equal(0, clock:countTimers())
      assert.same({ "fulfilled", 7 }, { state(p) })
      local q = Promise.timeout(Promise.reject("no"), 100)
      assert.equal(0, clock:countTimers())
      assert.same({ "rejected", "no" }, { settled(q) })
    end)

    it("always returns a new promise", function()
      local work = Promise.resolve(1)
      local p = Promise.timeout(work, 5)
      assert.is_true(Promise.is(p))
      assert.are_not.equal(work, p)
      state(p)
    end)

    it("with ms = 0 still lets an already resolved promise win (the timer counts as 1 ms)", function()
      local work, resolve = Promise.withResolvers()
      local p = Promise.timeout(work, 0)
      resolve("quick")
      assert.same({ "fulfilled", "quick" }, { state(p) })
      assert.equal(0, clock:countTimers())
      local q = Promise.timeout(Promise.new(function() end), 0)
      q:catch(function() end)
      clock:advance(0)
      assert.equal("pending", state(q))
      clock:advance(1)
      assert.equal("rejected", state(q))
    end)

    it("with ms = math.huge never times out and holds no timer", function()
      local work, resolve = Promise.withResolvers()
      local p = Promise.timeout(work, math.huge)
      assert.equal(0, clock:countTimers())
      clock:advance(1e9)
      assert.equal("pending", state(p))
      resolve("eventually")
      assert.same({ "fulfilled", "eventually" }, { state(p) })
    end)

    it("adopts a thenable", function()
      local cb
      local thenable = { next = function(_, onF) cb = onF end }
      local p = Promise.timeout(thenable, 100)
      Promise.drain()
      assert.is_function(cb)
      cb("from thenable")
      assert.same({ "fulfilled", "from thenable" }, { state(p) })
      assert.equal(0, clock:countTimers())
    end)
  end)

  describe("with a function", function()
    it("calls it at once with an AbortSignal, and aborts that signal with the TimeoutError at the deadline", function()
      local calls, sig, seen = 0, nil, nil
      local p = Promise.timeout(function(signal)
        calls = calls + 1
        sig = signal
        signal:onAbort(function(reason) seen = reason end)
        return Promise.new(function() end)
      end, 50)
      p:catch(function() end)
      assert.equal(1, calls)
      assert.is_true(Promise.AbortSignal.is(sig))
      assert.is_false(sig.aborted)
      clock:advance(50)
      local st, err = state(p)
      assert.equal("rejected", st)
      assert.is_true(Promise.TimeoutError.is(err))
      assert.is_true(sig.aborted)
      assert.equal(err, sig.reason)
      assert.equal(err, seen)
    end)

    it("really cancels the work: a sleep given the signal stops its timer", function()
      local p = Promise.timeout(function(signal)
        return Promise.sleep(10000, { signal = signal })
      end, 100)
      p:catch(function() end)
      assert.equal(2, clock:countTimers())
      clock:advance(100)
      assert.equal("rejected", state(p))
      assert.equal(0, clock:countTimers())
    end)

    it("does not abort the signal when the work wins", function()
      local sig
      local p = Promise.timeout(function(signal)
        sig = signal
        return Promise.sleep(30, { value = "fast" })
      end, 100)
      clock:advance(30)
      assert.same({ "fulfilled", "fast" }, { state(p) })
      assert.is_false(sig.aborted)
      assert.equal(0, clock:countTimers())
    end)

    it("fulfils with a plain value the function returns", function()
      local p = Promise.timeout(function() return 42 end, 100)
      assert.equal(0, clock:countTimers())
      assert.same({ "fulfilled", 42 }, { state(p) })
    end)

    it("rejects with exactly what the function raises", function()
      local boom = { msg = "boom" }
      local p = Promise.timeout(function() error(boom) end, 100)
      local st, r = settled(p)
      assert.equal("rejected", st)
      assert.equal(boom, r)
      assert.equal(0, clock:countTimers())
    end)
  end)

  describe("opts.fallback", function()
    it("is called with the TimeoutError at the deadline and its result is used", function()
      local got
      local p = Promise.timeout(function(signal)
        return Promise.sleep(1000, { signal = signal, value = "fresh" })
      end, 100, { fallback = function(err) got = err; return "cached" end })
      clock:advance(100)
      assert.same({ "fulfilled", "cached" }, { state(p) })
      assert.is_true(Promise.TimeoutError.is(got))
      assert.equal(0, clock:countTimers())
    end)

    it("may return a promise, which is adopted", function()
      local p = Promise.timeout(Promise.new(function() end), 10, {
        fallback = function() return Promise.sleep(5, { value = "slow cache" }) end,
      })
      clock:advance(10)
      assert.equal("pending", state(p))
      clock:advance(5)
      assert.same({ "fulfilled", "slow cache" }, { state(p) })
    end)

    it("rejects with what the fallback raises", function()
      local oops = { "oops" }
      local p = Promise.timeout(Promise.new(function() end), 10, {
        fallback = function() error(oops) end,
      })
      p:catch(function() end)
      clock:advance(10)
      local st, r = state(p)
      assert.equal("rejected", st)
      assert.equal(oops, r)
    end)

    it("is not called when the work wins, nor for a rejection of the work", function()
      local called = false
      local fb = function() called = true end
      local a = Promise.timeout(Promise.sleep(5, { value = "ok" }), 10, { fallback = fb })
      local b = Promise.timeout(Promise.reject("bad"), 10, { fallback = fb })
      b:catch(function() end)
      clock:runAll()
      assert.same({ "fulfilled", "ok" }, { state(a) })
      assert.same({ "rejected", "bad" }, { settled(b) })
      assert.is_false(called)
    end)
  end)

  describe("opts.signal", function()
    it("aborts the wait with its reason, aborts the work's signal and clears the timer", function()
      local ctl = Promise.AbortController()
      local worksig
      local p = Promise.timeout(function(signal)
        worksig = signal
        return Promise.sleep(1000, { signal = signal })
      end, 500, { signal = ctl.signal, fallback = function() return "not for aborts" end })
      p:catch(function() end)
      clock:advance(20)
      local reason = { "user left" }
      ctl:abort(reason)
      local st, r = state(p)
      assert.equal("rejected", st)
      assert.equal(reason, r)
      assert.is_true(worksig.aborted)
      assert.equal(reason, worksig.reason)
      assert.equal(0, clock:countTimers())
      assert.equal(20, clock:now())
    end)

    it("already aborted: rejects at once and does not call the function", function()
      local called = false
      local reason = Promise.AbortError("gone")
      local p = Promise.timeout(function() called = true end, 100,
        { signal = Promise.AbortSignal.abort(reason) })
      local st, r = settled(p)
      assert.is_false(called)
      assert.equal("rejected", st)
      assert.equal(reason, r)
      assert.equal(0, clock:countTimers())
    end)

    it("aborting after the work settled changes nothing", function()
      local ctl = Promise.AbortController()
      local worksig
      local p = Promise.timeout(function(signal)
        worksig = signal
        return "v"
      end, 100, { signal = ctl.signal })
      assert.same({ "fulfilled", "v" }, { state(p) })
      ctl:abort()
      assert.is_false(worksig.aborted)
      assert.same({ "fulfilled", "v" }, { state(p) })
    end)

    it("a long-lived signal does not keep the finished work alive (its listener is removed)", function()
      local ctl = Promise.AbortController()
      local weak = setmetatable({}, { __mode = "v" })
      for i = 1, 3 do
        local p = Promise.timeout(function(signal)
          weak[i] = signal
          return Promise.sleep(5, { value = i })
        end, 100, { signal = ctl.signal })
        clock:advance(5)
        assert.same({ "fulfilled", i }, { state(p) })
      end
      collectgarbage()
      collectgarbage()
      assert.is_nil(next(weak), "a work signal is still referenced")
    end)

    it("works with ms = math.huge: no timer, but the abort still cancels the work", function()
      local ctl = Promise.AbortController()
      local worksig
      local p = Promise.timeout(function(signal)
        worksig = signal
        return Promise.new(function() end)
      end, math.huge, { signal = ctl.signal })
      p:catch(function() end)
      assert.equal(0, clock:countTimers())
      ctl:abort("stop")
      assert.same({ "rejected", "stop" }, { state(p) })
      assert.equal("stop", worksig.reason)
    end)

    it("aborting after the deadline changes nothing", function()
      local ctl = Promise.AbortController()
      local p = Promise.timeout(Promise.new(function() end), 10, { signal = ctl.signal })
      p:catch(function() end)
      clock:advance(10)
      ctl:abort("late")
      local _, err = state(p)
      assert.is_true(Promise.TimeoutError.is(err))
    end)
  end)

  describe("bad arguments", function()
    -- the error message, without its "file:line: " prefix
    local function msg(f)
      local ok, e = pcall(f)
      assert.is_false(ok)
      -- every message points at the call in this file
      assert.matches("^spec/timeout_spec%.lua:%d+: ", e)
      return (e:gsub("^[^:]*:%d+: ", ""))
    end

    it("raises Lua-style errors pointing at the caller", function()
      local never = Promise.new(function() end)
      local ok, e = pcall(function() Promise.timeout(never) end)
      assert.is_false(ok)
      assert.matches("^spec/timeout_spec%.lua:%d+: bad argument #2 to 'timeout' %(number expected, got nil%)$", e)
      assert.equal("bad argument #1 to 'timeout' (promise or function expected, got nil)",
        msg(function() Promise.timeout(nil, 10) end))
      assert.equal("bad argument #1 to 'timeout' (promise or function expected, got number)",
        msg(function() Promise.timeout(5, 10) end))
      assert.equal("bad argument #2 to 'timeout' (number in [0, 2147483647] or math.huge expected, got -1)",
        msg(function() Promise.timeout(never, -1) end))
      assert.matches("number in %[0, 2147483647%] or math.huge expected, got %-?nan%)$",
        msg(function() Promise.timeout(never, 0 / 0) end))
      assert.equal("bad argument #3 to 'timeout' (table expected, got string)",
        msg(function() Promise.timeout(never, 10, "x") end))
      assert.equal("bad argument #3 to 'timeout' (field 'fallback': function expected, got string)",
        msg(function() Promise.timeout(never, 10, { fallback = "x" }) end))
      assert.equal("bad argument #3 to 'timeout' (field 'signal': AbortSignal expected, got table)",
        msg(function() Promise.timeout(never, 10, { signal = {} }) end))
      assert.equal("bad argument #3 to 'timeout' (field 'message': string expected, got number)",
        msg(function() Promise.timeout(never, 10, { message = 1 }) end))
      assert.equal("bad argument #3 to 'timeout' (unknown option messgae)",
        msg(function() Promise.timeout(never, 10, { messgae = "typo" }) end))
      assert.equal(0, clock:countTimers())
    end)
  end)
end)

describe("Promise.timeout (real loop)", function()
  before_each(fresh_reporter)
  after_each(function()
    assert.same({}, active_handles(), "a handle was left active")
    check_reporter()
  end)

  it("leaves no active handle once the work has won", function()
    local v = Promise.timeout(Promise.sleep(10, { value = "won" }), 5000):wait()
    assert.equal("won", v)  -- the 5000 ms timer had rejected it
    assert.same({}, active_handles())
  end)

  it("times out on real time, cancels the work, and leaves no active handle", function()
    local t0 = Promise.now()
    local work_signal
    local ok, err = pcall(function()
      return Promise.timeout(function(signal)
        work_signal = signal
        return Promise.sleep(5000, { signal = signal })
      end, 20):wait()
    end)
    -- on the loop's clock, which timers use: never early. No upper bound:
    -- the work's 5000 ms sleep would have fulfilled, so the TimeoutError
    -- shows that the 20 ms timer ended it, however slow the machine.
    local elapsed = Promise.now() - t0
    assert.is_false(ok)
    assert.is_true(Promise.TimeoutError.is(err))
    assert.is_true(elapsed >= 20, "took " .. elapsed .. " ms")
    assert.is_true(work_signal.aborted)
    assert.equal(err, work_signal.reason)
  end)

  it("does not keep the loop alive after the work settled (Promise.run returns at once)", function()
    local t0 = Promise.now()
    local ok, v = Promise.run(function()
      return Promise.await(Promise.timeout(Promise.sleep(5, { value = 1 }), 60000))
    end)
    assert.same({ true, 1 }, { ok, v })
    -- a real bound is the point: a timer left behind would hold the loop for
    -- the whole minute, far more than any slow machine takes for 5 ms
    assert.is_true(Promise.now() - t0 < 60000)
  end)
end)
