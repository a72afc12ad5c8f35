-- docs/manual/loop.md, "Virtual time": Promise.useFakeTimers.
local Promise = require("promise")
local uv = require("luv")
local H = require("spec.support.helpers")

local async, await = Promise.async, Promise.await

local active_handles = H.active_handles

local clock, uncaught

before_each(function()
  uncaught = H.capture_uncaught()
  clock = Promise.useFakeTimers()
end)

after_each(function()
  if clock then clock:restore() end
  clock = nil
  Promise.drain()
  Promise.onUncaughtError(nil)
  assert.are.same({}, active_handles(), "a luv handle was left active")
end)

describe("useFakeTimers", function()
  it("starts at 0 or at start_ms, and drives Promise.now()", function()
    assert.equal(0, clock:now())
    assert.equal(0, Promise.now())
    clock:restore()
    clock = Promise.useFakeTimers(5000)
    assert.equal(5000, clock:now())
    assert.equal(5000, Promise.now())
    assert.equal(5250, clock:advance(250))
    assert.equal(5250, Promise.now())
  end)

  it("settles sleep(60000) on advance(60000), not on advance(59999), without waiting", function()
    local t0 = uv.hrtime()
    local p = Promise.sleep(60000, { value = "late" })
    clock:advance(59999)
    assert.equal("pending", (p:state()))
    clock:advance(1)
    assert.same({ "fulfilled", "late" }, { p:state() })
    -- a real bound is the point here: waiting for real would take a whole
    -- minute, so even a loaded machine under valgrind stays far below it
    assert.is_true((uv.hrtime() - t0) / 1e6 < 60000, "fake time must not wait for real")
  end)

  it("arms no uv handle while fake timers are pending", function()
    Promise.setTimeout(function() end, 100)
    Promise.setInterval(function() end, 100)
    Promise.setImmediate(function() end)
    Promise.sleep(100)
    assert.same({}, active_handles())
    assert.equal(4, clock:countTimers())
    assert.equal(0, H.live_handles())
    uv.run()  -- fake timers do not keep the real loop alive: returns at once
    assert.equal(4, clock:countTimers())  -- and none of them ran
  end)

  it("fires due timers in deadline order, with the clock at each deadline", function()
    local log = {}
    local function at(name) return function() log[#log + 1] = name .. "@" .. Promise.now() end end
    Promise.setTimeout(at("c"), 300)
    Promise.setTimeout(at("a"), 100)
    Promise.setTimeout(at("b"), 200)
    Promise.setTimeout(at("d"), 400)
    clock:advance(350)
    assert.equal("a@100 b@200 c@300", table.concat(log, " "))
    assert.equal(350, clock:now())
    clock:advance(50)
    assert.equal("a@100 b@200 c@300 d@400", table.concat(log, " "))
  end)

  it("fires equal deadlines in creation order", function()
    local log = {}
    for i = 1, 6 do
      Promise.setTimeout(function() log[#log + 1] = i end, 10)
    end
    clock:advance(10)
    assert.same({ 1, 2, 3, 4, 5, 6 }, log)
  end)

  it("counts ms < 1 (and non-numbers) as 1", function()
    local log = {}
    Promise.setTimeout(function() log[#log + 1] = "zero" end, 0)
    Promise.setTimeout(function() log[#log + 1] = "neg" end, -10)
    Promise.setTimeout(function() log[#log + 1] = "nil" end)
    Promise.setTimeout(function() log[#log + 1] = "nan" end, 0 / 0)
    clock:advance(0)
    assert.same({}, log)
    clock:advance(1)
    assert.same({ "zero", "neg", "nil", "nan" }, log)
  end)

  it("drains microtasks after each timer, as the real loop does", function()
    local log = {}
    Promise.setTimeout(function()
      log[#log + 1] = "t1"
      Promise.resolve():next(function() log[#log + 1] = "t1.p" end)
    end, 5)
    Promise.setTimeout(function() log[#log + 1] = "t2" end, 5)
    clock:advance(5)
    assert.equal("t1 t1.p t2", table.concat(log, " "))
  end)

  it("fires timers created by callbacks when they fall within the window", function()
    local log = {}
    Promise.setTimeout(function()
      log[#log + 1] = "a@" .. Promise.now()
      Promise.setTimeout(function() log[#log + 1] = "b@" .. Promise.now() end, 30)
      Promise.setTimeout(function() log[#log + 1] = "c@" .. Promise.now() end, 100)
    end, 10)
    clock:advance(50)
    assert.equal("a@10 b@40", table.concat(log, " "))
    clock:advance(60)
    assert.equal("a@10 b@40 c@110", table.concat(log, " "))
  end)

  it("runs pending microtasks first, so async code reaches its sleeps", function()
    local log = {}
    async(function()
      await(nil)
      for i = 1, 3 do
        await(Promise.sleep(100))
        log[#log + 1] = i .. "@" .. Promise.now()
      end
    end)()
    clock:advance(100)
    clock:advance(100)
    assert.equal("1@100 2@200", table.concat(log, " "))
    clock:advance(1000)
    assert.equal("1@100 2@200 3@300", table.concat(log, " "))
  end)

  it("passes extra arguments", function()
    local got
    Promise.setTimeout(function(...) got = table.pack(...) end, 1, nil, "b")
    clock:advance(1)
    assert.same({ n = 2, nil, "b" }, got)
  end)

  it("reports errors raised by callbacks and keeps going", function()
    local log = {}
    Promise.setTimeout(function() error("bad", 0) end, 1)
    Promise.setTimeout(function() log[#log + 1] = "next" end, 1)
    clock:advance(1)
    assert.same({ "next" }, log)
    assert.same({ "bad" }, uncaught)
  end)
end)

describe("fake intervals", function()
  it("fire every ms from their scheduled time until cleared", function()
    local at = {}
    local iv = Promise.setInterval(function() at[#at + 1] = Promise.now() end, 100)
    clock:advance(350)
    assert.same({ 100, 200, 300 }, at)
    Promise.clearInterval(iv)
    clock:advance(1000)
    assert.same({ 100, 200, 300 }, at)
    assert.equal(0, clock:countTimers())
  end)

  it("can clear themselves, with their arguments", function()
    local got = {}
    local iv
    iv = Promise.setInterval(function(x)
      got[#got + 1] = x
      if #got == 2 then Promise.clearInterval(iv) end
    end, 10, "x")
    clock:runAll()
    assert.same({ "x", "x" }, got)
    assert.equal(20, clock:now())
  end)

  it("interleave with timeouts in deadline order", function()
    -- node: i t i i (the interval is scheduled again at 10, after the
    -- timeout was created, so on the tie at 20 the timeout goes first)
    local log = {}
    local iv = Promise.setInterval(function() log[#log + 1] = "i" .. Promise.now() end, 10)
    Promise.setTimeout(function() log[#log + 1] = "t" .. Promise.now() end, 20)
    clock:advance(30)
    Promise.clearInterval(iv)
    assert.equal("i10 t20 i20 i30", table.concat(log, " "))
  end)

  it("are scheduled again after their callback: timeouts it made with the same delay go first", function()
    -- node (setInterval(A, 10); A's first run does setTimeout(B, 10); A
    -- clears itself on its third run): A1 B A2 A3
    local log, n, iv = {}, 0, nil
    iv = Promise.setInterval(function()
      n = n + 1
      log[#log + 1] = "A" .. n
      if n == 1 then Promise.setTimeout(function() log[#log + 1] = "B" end, 10) end
      if n == 3 then Promise.clearInterval(iv) end
    end, 10)
    clock:advance(40)
    assert.equal("A1 B A2 A3", table.concat(log, " "))
    -- node (setInterval 7 whose first run makes t and u of 7; t cleared at
    -- 10; the second run clears the interval): iv1 u iv2
    log = {}
    local t, m, iv2 = nil, 0, nil
    iv2 = Promise.setInterval(function()
      m = m + 1
      log[#log + 1] = "iv" .. m
      if not t then
        t = Promise.setTimeout(function() log[#log + 1] = "t" end, 7)
        Promise.setTimeout(function() log[#log + 1] = "u" end, 7)
      else
        Promise.clearInterval(iv2)
      end
    end, 7)
    Promise.setTimeout(function() Promise.clearTimeout(t) end, 10)
    clock:advance(30)
    assert.equal("iv1 u iv2", table.concat(log, " "))
    assert.equal(0, clock:countTimers())
  end)
end)

describe("fake immediates", function()
  it("run when the clock ticks, advance(0) included, before later timers", function()
    local log = {}
    Promise.setTimeout(function() log[#log + 1] = "timeout" end, 0)
    Promise.setImmediate(function(a) log[#log + 1] = a end, "immediate")
    assert.same({}, log)
    clock:advance(0)
    assert.same({ "immediate" }, log)
    clock:advance(1)
    assert.same({ "immediate", "timeout" }, log)
  end)

  it("can be cleared", function()
    local ran = false
    local im = Promise.setImmediate(function() ran = true end)
    Promise.clearImmediate(im)
    clock:runAll()
    assert.is_false(ran)
  end)
end)

describe("clock:runAll", function()
  it("runs every timer, including those created meanwhile", function()
    local log = {}
    Promise.setTimeout(function()
      log[#log + 1] = "a@" .. Promise.now()
      Promise.setTimeout(function() log[#log + 1] = "b@" .. Promise.now() end, 5000)
    end, 1000)
    assert.equal(6000, clock:runAll())
    assert.equal("a@1000 b@6000", table.concat(log, " "))
    assert.equal(0, clock:countTimers())
  end)

  it("stops an endless interval with an error #slow", function()
    local n = 0
    local iv = Promise.setInterval(function() n = n + 1 end, 1)
    assert.has_error(function() clock:runAll() end,
      "runAll: aborted after 100000 timers (endless interval?)")
    assert.equal(100000, n)
    Promise.clearInterval(iv)
  end)
end)

describe("sleep under fake timers", function()
  it("rejects with the signal's reason and frees its timer", function()
    local c = Promise.AbortController()
    local p = Promise.sleep(1000, { signal = c.signal })
    assert.equal(1, clock:countTimers())
    c:abort("why")
    assert.equal(0, clock:countTimers())
    assert.same({ "rejected", "why" }, { p:state() })
    p:catch(function() end)
  end)

  it("makes p:wait() fail fast with a hint when only fake time can settle it", function()
    local p = Promise.sleep(10)
    local ok, err = pcall(p.wait, p)
    assert.is_false(ok)
    assert.is_true(Promise.Error.is(err))
    assert.matches("fake timers are installed", err.message)
    clock:advance(10)
    assert.equal("fulfilled", (p:state()))
  end)
end)

describe("clock:restore", function()
  it("returns to real time and discards pending fake timers", function()
    local ran = false
    local t = Promise.setTimeout(function() ran = true end, 1)
    local before = Promise.now()
    clock:restore()
    clock = nil
    assert.is_true(Promise.now() ~= before or before ~= 0)
    uv.run()
    assert.is_false(ran)
    assert.has_no_error(function() Promise.clearTimeout(t) end)
    -- real timers work again
    assert.equal("real", Promise.sleep(1, { value = "real" }):wait())
  end)

  it("makes the clock unusable and allows a new one", function()
    local old = clock
    clock:restore()
    assert.has_no_error(function() old:restore() end)
    assert.has_error(function() old:advance(1) end,
      "advance: this fake clock has been restored")
    clock = Promise.useFakeTimers(10)
    assert.equal(10, Promise.now())
  end)

  it("leaves real timers created before the clock on real time", function()
    clock:restore()
    local fired = false
    Promise.setTimeout(function() fired = true end, 5)
    clock = Promise.useFakeTimers()
    clock:advance(100000)
    assert.is_false(fired)
    uv.run()
    assert.is_true(fired)
  end)
end)

describe("argument checks", function()
  it("refuses a second clock and bad arguments", function()
    assert.has_error(function() Promise.useFakeTimers() end,
      "useFakeTimers: fake timers are already installed (call clock:restore() first)")
    clock:restore()
    assert.has_error(function() Promise.useFakeTimers("0") end,
      "bad argument #1 to 'useFakeTimers' (number expected, got string)")
    clock = Promise.useFakeTimers()
    assert.has_error(function() clock:advance(-1) end,
      "bad argument #1 to 'advance' (number in [0, 2^53] expected, got -1)")
    assert.has_error(function() clock:advance() end,
      "bad argument #1 to 'advance' (finite non-negative number expected, got nil)")
    assert.has_error(function() clock.advance({}, 1) end,
      "calling 'advance' on bad self (FakeClock expected, got table)")
  end)
end)

describe("fake clock argument errors", function()
  it("point at the call", function()
    -- (the file's before_each installed `clock`)
    local cases = {
      { function() clock:advance(-1) end,
        "bad argument #1 to 'advance' %(number in %[0, 2%^53%] expected, got %-1%)$" },
      { function() clock.advance({}, 1) end, "calling 'advance' on bad self %(FakeClock expected, got table%)$" },
      { function() Promise.useFakeTimers() end, "useFakeTimers: fake timers are already installed" },
    }
    for _, c in ipairs(cases) do
      local ok, e = pcall(c[1])
      assert.is_false(ok)
      assert.matches("^spec/fake_timers_spec%.lua:%d+: " .. c[2], e)
    end
    clock:restore()
    cases = {
      { function() clock:advance(1) end, "advance: this fake clock has been restored$" },
      { function() Promise.useFakeTimers(2 ^ 60) end,
        "bad argument #1 to 'useFakeTimers' %(number in %[%-2%^53, 2%^53%] expected" },
      { function() Promise.resolve().wait(1) end, "calling 'wait' on bad self %(Promise expected, got number%)$" },
    }
    for _, c in ipairs(cases) do
      local ok, e = pcall(c[1])
      assert.is_false(ok)
      assert.matches("^spec/fake_timers_spec%.lua:%d+: " .. c[2], e)
    end
  end)
end)
