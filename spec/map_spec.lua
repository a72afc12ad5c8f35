-- docs/manual/map.md: Promise.map, on the fake clock.
local Promise = require("promise")
local H = require("spec.support.helpers")

local clock


H.on_fake_clock(before_each, after_each, function(c) clock = c end)

-- Marks p handled, drains the microtasks, returns its state.
local state = H.settle_handled

describe("Promise.map", function()
  it("fulfils with the results in input order, n set, whatever the finishing order", function()
    local delays = { 50, 10, 40, 20, 30 }
    local p = Promise.map(delays, function(ms, i)
      return Promise.sleep(ms, { value = ("%d:%d"):format(i, ms) })
    end)
    clock:advance(49)
    assert.equal("pending", p:state())
    clock:advance(1)
    local s, v = p:state()
    assert.equal("fulfilled", s)
    assert.same({ "1:50", "2:10", "3:40", "4:20", "5:30", n = 5 }, v)
  end)

  it("runs everything at once by default, and at most `concurrency` otherwise", function()
    local function run(opts)
      local running, peak, starts = 0, 0, {}
      local p = Promise.map({ 30, 10, 20, 10, 10, 5 }, function(ms, i)
        running = running + 1
        if running > peak then peak = running end
        starts[#starts + 1] = ("%d@%d"):format(i, Promise.now())
        return Promise.sleep(ms):next(function()
          running = running - 1
          return i
        end)
      end, opts)
      clock:runAll()
      assert.equal("fulfilled", p:state())
      return peak, starts
    end
    local peak, starts = run()
    assert.equal(6, peak)
    assert.same({ "1@0", "2@0", "3@0", "4@0", "5@0", "6@0" }, starts)
    local t0 = Promise.now()
    peak, starts = run{ concurrency = 2 }
    assert.equal(2, peak)
    local rel = {}
    for i, s in ipairs(starts) do
      local idx, at = s:match("(%d+)@(%d+)")
      rel[i] = ("%s@%d"):format(idx, tonumber(at) - t0)
    end
    -- 1 [0,30) 2 [0,10) 3 [10,30) 4 [30,40) 5 [30,40) 6 [40,45)
    assert.same({ "1@0", "2@0", "3@10", "4@30", "5@30", "6@40" }, rel)
  end)

  it("passes value, index and a signal; starts the first calls synchronously", function()
    local calls = {}
    local p = Promise.map({ "a", "b" }, function(v, i, signal)
      calls[#calls + 1] = { v, i, Promise.AbortSignal.is(signal), signal.aborted }
      return v:upper()
    end)
    assert.same({ { "a", 1, true, false }, { "b", 2, true, false } }, calls)
    assert.same({ "fulfilled", { "A", "B", n = 2 } }, { state(p) })
  end)

  it("fulfils an empty list at once with { n = 0 }", function()
    local called = false
    local p = Promise.map({}, function() called = true end)
    assert.same({ "fulfilled", { n = 0 } }, { p:state() })
    local q = Promise.map({ n = 0, "ignored" }, function() called = true end, { concurrency = 1 })
    assert.same({ "fulfilled", { n = 0 } }, { q:state() })
    assert.is_false(called)
  end)

  it("honours n: nil holes are elements, nil results are kept", function()
    local seen = {}
    local list = table.pack(1, nil, 3, nil)
    local p = Promise.map(list, function(v, i)
      seen[#seen + 1] = ("%d=%s"):format(i, tostring(v))
      if v == nil then return nil end
      return v * 2
    end, { concurrency = 1 })
    local s, r = state(p)
    assert.equal("fulfilled", s)
    assert.same({ "1=1", "2=nil", "3=3", "4=nil" }, seen)
    assert.equal(4, r.n)
    assert.same({ 2, nil, 6, nil, n = 4 }, r)
  end)

  it("awaits elements that are promises, inside their slot", function()
    local a, resolveA = Promise.withResolvers()
    local got = {}
    local p = Promise.map({ a, "plain", { next = "not a thenable" } }, function(v, i)
      got[#got + 1] = i
      return v
    end, { concurrency = 2 })
    Promise.drain()
    -- slot 1 waits for a, slot 2 runs "plain", then slot 2 takes the table
    assert.same({ 2, 3 }, got)
    resolveA("A")
    local s, r = state(p)
    assert.equal("fulfilled", s)
    assert.same({ 2, 3, 1 }, got)
    assert.equal("A", r[1])
    assert.equal("plain", r[2])
    assert.same({ next = "not a thenable" }, r[3])
  end)

  it("counts a rejected element as that element's failure", function()
    local called = {}
    local p = Promise.map({ 1, Promise.reject("bad element") }, function(v, i)
      called[#called + 1] = i
      return v
    end)
    assert.same({ "rejected", "bad element" }, { state(p) })
    assert.same({ 1 }, called)
  end)

  describe("fail fast", function()
    it("rejects with the first error, aborts the running calls' signal, starts nothing new", function()
      local started, cancelled = {}, {}
      local signals = {}
      local p = Promise.map({ 30, 10, 50, 40, 20 }, function(ms, i, signal)
        started[#started + 1] = i
        signals[i] = signal
        return Promise.sleep(ms, { signal = signal }):next(function()
          if i == 2 then error("item 2 failed", 0) end
          return i
        end, function(reason)
          cancelled[#cancelled + 1] = { i, Promise.now(), reason }
          error(reason, 0)
        end)
      end, { concurrency = 3 })
      p:catch(function() end)
      clock:advance(10)
      assert.same({ "rejected", "item 2 failed" }, { p:state() })
      assert.same({ 1, 2, 3 }, started)  -- 4 and 5 never start
      -- 1 and 3 were running: their sleeps were cancelled at once (no timer
      -- left: the after_each checks), with an AbortError caused by the error
      assert.equal(2, #cancelled)
      assert.same({ 1, 10 }, { cancelled[1][1], cancelled[1][2] })
      assert.same({ 3, 10 }, { cancelled[2][1], cancelled[2][2] })
      local reason = cancelled[1][3]
      assert.is_true(rawequal(reason, cancelled[2][3]))
      assert.is_true(Promise.AbortError.is(reason))
      assert.equal("map aborted: another call failed", reason.message)
      assert.equal("item 2 failed", reason.cause)
      -- one signal for the whole map
      assert.is_true(rawequal(signals[1], signals[3]))
      assert.is_true(signals[1].aborted)
      assert.equal(0, clock:countTimers())
      assert.same({ "rejected", "item 2 failed" }, { p:state() })
    end)

    it("treats an error raised by fn as a rejection", function()
      local err = setmetatable({}, { __tostring = function() return "custom" end })
      local later = false
      local p = Promise.map({ 1, 2, 3 }, function(v)
        if v == 2 then error(err) end
        if v == 3 then later = true end
        return v
      end, { concurrency = 1 })
      local s, e = state(p)
      assert.equal("rejected", s)
      assert.is_true(rawequal(err, e))
      assert.is_false(later)
    end)

    it("ignores the later failures of calls that were running", function()
      local p = Promise.map({ 10, 20 }, function(ms)
        return Promise.sleep(ms):next(function() error("fail " .. ms, 0) end)
      end)
      p:catch(function() end)
      clock:runAll()
      assert.same({ "rejected", "fail 10" }, { p:state() })
    end)
  end)

  describe("settle = true", function()
    it("runs everything and fulfils with allSettled-shaped results", function()
      local started = {}
      local p = Promise.map({ 1, 2, 3, 4 }, function(v)
        started[#started + 1] = v
        return Promise.sleep(10 * (5 - v)):next(function()
          if v % 2 == 0 then error("even " .. v, 0) end
          return v * 100
        end)
      end, { settle = true, concurrency = 2 })
      clock:runAll()
      assert.same({ 1, 2, 3, 4 }, started)
      assert.same({ "fulfilled", {
        { status = "fulfilled", value = 100 },
        { status = "rejected", reason = "even 2" },
        { status = "fulfilled", value = 300 },
        { status = "rejected", reason = "even 4" },
        n = 4,
      } }, { p:state() })
    end)

    it("still rejects when opts.signal aborts", function()
      local c = Promise.AbortController()
      local p = Promise.map({ 10, 10 }, function(ms, _, signal)
        return Promise.sleep(ms, { signal = signal })
      end, { settle = true, signal = c.signal })
      p:catch(function() end)
      clock:advance(5)
      c:abort("enough")
      assert.same({ "rejected", "enough" }, { state(p) })
      clock:runAll()
    end)
  end)

  describe("opts.signal", function()
    it("aborts the whole map: running calls see the reason, nothing new starts", function()
      local c = Promise.AbortController()
      local started, reasons = {}, {}
      local p = Promise.map({ 1, 2, 3, 4 }, function(v, _, signal)
        started[#started + 1] = v
        signal:onAbort(function(r) reasons[#reasons + 1] = r end)
        return Promise.sleep(100, { signal = signal })
      end, { concurrency = 2, signal = c.signal })
      p:catch(function() end)
      clock:advance(50)
      c:abort("user cancel")
      assert.same({ "rejected", "user cancel" }, { state(p) })
      assert.same({ "user cancel", "user cancel" }, reasons)
      clock:runAll()
      assert.same({ 1, 2 }, started)
    end)

    it("stops starting calls when fn itself aborts it synchronously", function()
      local c = Promise.AbortController()
      local called = {}
      local p = Promise.map({ 1, 2, 3 }, function(v)
        called[#called + 1] = v
        if v == 1 then c:abort("from inside") end
        return v
      end, { signal = c.signal })
      assert.same({ 1 }, called)
      assert.same({ "rejected", "from inside" }, { state(p) })
    end)

    it("rejects at once without calling fn when already aborted", function()
      local called = false
      local p = Promise.map({ 1 }, function() called = true end,
        { signal = Promise.AbortSignal.abort() })
      local s, e = p:state()
      assert.equal("rejected", s)
      assert.is_true(Promise.AbortError.is(e))
      assert.is_false(called)
      state(p)
    end)

    it("unsubscribes from the signal once the map has settled", function()
      local c = Promise.AbortController()
      local aborted = false
      local inner
      local p = Promise.map({ 1 }, function(v, _, signal)
        inner = signal
        signal:onAbort(function() aborted = true end)
        return v
      end, { signal = c.signal })
      assert.same({ "fulfilled", { 1, n = 1 } }, { state(p) })
      c:abort()
      assert.is_false(aborted)
      assert.is_false(inner.aborted)
    end)
  end)

  it("handles a long list with concurrency 1 without deep recursion", function()
    local list = {}
    for i = 1, 20000 do list[i] = i end
    local p = Promise.map(list, function(v) return v + 1 end, { concurrency = 1 })
    local s, r = state(p)
    assert.equal("fulfilled", s)
    assert.equal(20000, r.n)
    assert.equal(20001, r[20000])
  end)

  it("raises Lua-style errors on bad arguments", function()
    assert.error_matches(function() Promise.map(nil, print) end,
      "bad argument #1 to 'map' %(table expected, got nil%)")
    assert.error_matches(function() Promise.map({}, "f") end,
      "bad argument #2 to 'map' %(function expected, got string%)")
    assert.error_matches(function() Promise.map({}, print, 3) end,
      "bad argument #3 to 'map' %(table expected, got number%)")
    assert.error_matches(function() Promise.map({}, print, { concurrency = 0 }) end,
      "bad argument #3 to 'map' %(field 'concurrency': integer >= 1 or math.huge expected, got 0%)")
    assert.error_matches(function() Promise.map({}, print, { concurrency = "2" }) end,
      "bad argument #3 to 'map' %(field 'concurrency': number expected, got string%)")
    assert.error_matches(function() Promise.map({}, print, { signal = true }) end,
      "bad argument #3 to 'map' %(field 'signal': AbortSignal expected, got boolean%)")
    local ok, err = pcall(function() Promise.map(1, print) end)
    assert.is_false(ok)
    assert.matches("^spec/map_spec.lua:%d+: bad argument #1 to 'map'", err)
    ok, err = pcall(function() Promise.map({}, print, { concurrency = 1.5 }) end)
    assert.is_false(ok)
    assert.matches("^spec/map_spec.lua:%d+: bad argument #3 to 'map'", err)
  end)
end)
