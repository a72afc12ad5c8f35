-- The leak warnings of Promise.debug: too many listeners on one
-- AbortSignal, an interval never cleared whose callback keeps failing;
-- each once, through Promise.onWarning.
local Promise = require("promise")
local H = require("spec.support.helpers")

local D = Promise.debug
local THIS = "spec/debug_warnings_spec.lua"

local function noop() end

-- the caller's line, minus `n`
local function line(n)
  return debug.getinfo(2, "l").currentline - (n or 0)
end

describe("leak warnings", function()
  local got
  before_each(function()
    got = {}
    Promise.onWarning(function(w) got[#got + 1] = w end)
  end)
  after_each(function()
    Promise.onWarning(nil)
    D.resetWarnings()
    D.maxListeners = 10
  end)

  describe("MaxListenersExceededWarning", function()
    it("warns once when a signal gets its 11th listener, at the site that added it", function()
      assert.equal(10, D.maxListeners)
      local offs = {}
      local function listen(signal, n)
        for _ = 1, n do offs[#offs + 1] = signal:onAbort(noop) end
      end
      local l = line(2)
      local c = Promise.AbortController()
      listen(c.signal, 10)
      assert.same({}, got)
      listen(c.signal, 10)
      assert.equal(1, #got)
      assert.equal("MaxListenersExceededWarning", got[1].name)
      assert.equal("possible AbortSignal leak: 11 abort listeners added to one signal " ..
        "(Promise.debug.maxListeners is 10); unsubscribe the ones you no longer need", got[1].message)
      assert.equal(THIS .. ":" .. l, got[1].site)
      -- a second signal leaking at the same site is the same leak: no new warning
      listen(Promise.AbortController().signal, 11)
      assert.equal(1, #got)
      for _, off in ipairs(offs) do off() end
    end)

    it("does not count listeners that were removed", function()
      local c = Promise.AbortController()
      for _ = 1, 30 do c.signal:onAbort(noop)() end
      assert.same({}, got)
    end)

    it("follows Promise.debug.maxListeners; 0 turns it off; sited at the library call", function()
      D.maxListeners = 2
      local c = Promise.AbortController()
      local sleeps = {}
      for i = 1, 3 do sleeps[i] = Promise.sleep(100, { signal = c.signal }):catch(noop) end
      local l = line(1)
      assert.equal(1, #got)
      assert.equal(THIS .. ":" .. l, got[1].site)
      assert.matches("3 abort listeners", got[1].message)
      D.maxListeners = 0
      local c2 = Promise.AbortController()
      for _ = 1, 30 do c2.signal:onAbort(noop) end
      assert.equal(1, #got)
      c:abort()
      Promise.drain()
      for i = 1, 3 do assert.equal("fulfilled", (sleeps[i]:state())) end
    end)
  end)

  describe("FailingIntervalWarning", function()
    local clock
    H.on_fake_clock(before_each, after_each, function(c) clock = c end)

    local uncaught
    before_each(function() uncaught = H.capture_uncaught() end)
    after_each(function() Promise.onUncaughtError(nil) end)

    it("warns once when an interval's callback fails 3 times in a row", function()
      local n = 0
      local function tick() n = n + 1; error("tick " .. n, 0) end
      local l = line(1)
      local t = Promise.setInterval(tick, 100)
      clock:advance(200)
      assert.same({}, got)
      clock:advance(100)
      assert.equal(1, #got)
      assert.equal("FailingIntervalWarning", got[1].name)
      assert.equal("an interval (every 100 ms) was never cleared and its callback failed 3 " ..
        "times in a row; clear it (Promise.clearInterval) or catch its errors", got[1].message)
      assert.equal(THIS .. ":" .. l, got[1].site)
      clock:advance(1000)
      assert.equal(1, #got)
      assert.equal(13, #uncaught)  -- every error is still reported
      Promise.clearInterval(t)
    end)

    it("counts only failures in a row, and not an interval its callback clears", function()
      local n = 0
      local t = Promise.setInterval(function()
        n = n + 1
        if n % 3 == 0 then return end  -- every third run succeeds
        error("flaky", 0)
      end, 10)
      clock:advance(200)
      assert.same({}, got)
      Promise.clearInterval(t)
      local m = 0
      local t2
      t2 = Promise.setInterval(function()
        m = m + 1
        if m == 3 then Promise.clearInterval(t2) end
        error("last", 0)
      end, 10)
      clock:advance(100)
      assert.equal(3, m)
      assert.same({}, got)
      assert.equal(14 + 3, #uncaught)  -- 20 runs, every third fine; then 3
    end)
  end)
end)
