-- docs/manual/cancellation.md: AbortController / AbortSignal.
local abort = require("promise.abort")
local errors = require("promise.errors")

local AbortController, AbortSignal = abort.AbortController, abort.AbortSignal

local function full_gc()
  collectgarbage("collect")
  collectgarbage("collect")
end

local function weak_count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

-- Runs fn() with io.stderr replaced; returns what was written to it.
local function capture_stderr(fn)
  local real = io.stderr
  local buf = {}
  local fake = {}
  function fake.write(self, ...)
    for i = 1, select("#", ...) do buf[#buf + 1] = tostring((select(i, ...))) end
    return self
  end
  io.stderr = fake -- luacheck: ignore 122
  local ok, err = pcall(fn)
  io.stderr = real -- luacheck: ignore 122
  assert(ok, err)
  return table.concat(buf)
end

describe("AbortController", function()
  it("starts with a signal that is not aborted", function()
    local c = AbortController()
    assert.is_table(c.signal)
    assert.is_false(c.signal.aborted)
    assert.is_nil(c.signal.reason)
    assert.is_true(AbortSignal.is(c.signal))
    assert.equal("AbortSignal<active>", tostring(c.signal))
  end)

  it("gives each controller its own signal", function()
    local a, b = AbortController(), AbortController()
    assert.are_not.equal(a.signal, b.signal)
    a:abort()
    assert.is_false(b.signal.aborted)
  end)

  it("aborts with a default AbortError 'This operation was aborted'", function()
    local c = AbortController()
    c:abort()
    assert.is_true(c.signal.aborted)
    assert.is_true(errors.AbortError.is(c.signal.reason))
    assert.equal("This operation was aborted", c.signal.reason.message)
    assert.equal("AbortError: This operation was aborted", tostring(c.signal.reason))
    assert.equal("AbortSignal<aborted>", tostring(c.signal))
  end)

  it("keeps the given reason unchanged, whatever its type", function()
    local reason = { custom = true }
    local c = AbortController()
    c:abort(reason)
    assert.equal(reason, c.signal.reason)
    local c2 = AbortController()
    c2:abort(false) -- like JavaScript's null: only nil means "default"
    assert.is_true(c2.signal.aborted)
    assert.equal(false, c2.signal.reason)
  end)

  it("keeps the first reason: later aborts are ignored", function()
    local c = AbortController()
    local calls = {}
    c.signal:onAbort(function(r) calls[#calls + 1] = r end)
    c:abort("first")
    c:abort("second")
    c:abort()
    assert.equal("first", c.signal.reason)
    assert.same({ "first" }, calls)
  end)

  it("raises Lua-style errors when abort is called without the colon", function()
    local c = AbortController()
    assert.has_error(function() c.abort("why") end,
      "calling 'abort' on bad self (AbortController expected, got string)")
    assert.is_false(c.signal.aborted)
  end)
end)

describe("AbortSignal", function()
  describe(":onAbort", function()
    it("calls listeners synchronously, once, in registration order, with the reason", function()
      local c = AbortController()
      local log = {}
      c.signal:onAbort(function(r) log[#log + 1] = "a:" .. r end)
      c.signal:onAbort(function(r) log[#log + 1] = "b:" .. r end)
      c.signal:onAbort(function(r) log[#log + 1] = "c:" .. r end)
      log[#log + 1] = "before"
      c:abort("R")
      log[#log + 1] = "after"
      c:abort("again")
      assert.same({ "before", "a:R", "b:R", "c:R", "after" }, log)
    end)

    it("sees the signal already aborted inside the listener", function()
      local c = AbortController()
      local seen
      c.signal:onAbort(function() seen = { c.signal.aborted, c.signal.reason } end)
      c:abort("x")
      assert.same({ true, "x" }, seen)
    end)

    it("accepts callable tables", function()
      local c = AbortController()
      local got
      local callable = setmetatable({}, { __call = function(_, r) got = r end })
      c.signal:onAbort(callable)
      c:abort("r")
      assert.equal("r", got)
    end)

    it("does not call fn when registered on an already aborted signal", function()
      local c = AbortController()
      c:abort("done")
      local called = false
      local unsubscribe = c.signal:onAbort(function() called = true end)
      assert.is_function(unsubscribe)
      unsubscribe()
      c:abort("again")
      assert.is_false(called)
      local s = AbortSignal.abort()
      s:onAbort(function() called = true end)
      assert.is_false(called)
    end)

    it("returns an unsubscribe function that removes only that listener", function()
      local c = AbortController()
      local log = {}
      c.signal:onAbort(function() log[#log + 1] = "a" end)
      local unsub_b = c.signal:onAbort(function() log[#log + 1] = "b" end)
      c.signal:onAbort(function() log[#log + 1] = "c" end)
      unsub_b()
      unsub_b() -- idempotent
      c:abort()
      assert.same({ "a", "c" }, log)
    end)

    it("can unsubscribe the first, last and only listener", function()
      local c = AbortController()
      local log = {}
      local u1 = c.signal:onAbort(function() log[#log + 1] = 1 end)
      c.signal:onAbort(function() log[#log + 1] = 2 end)
      local u3 = c.signal:onAbort(function() log[#log + 1] = 3 end)
      u1()
      u3()
      local u4 = c.signal:onAbort(function() log[#log + 1] = 4 end)
      c:abort()
      u4() -- after abort: harmless
      assert.same({ 2, 4 }, log)

      local c2 = AbortController()
      local called = false
      local u = c2.signal:onAbort(function() called = true end)
      u()
      c2.signal:onAbort(function() log[#log + 1] = "again" end)
      c2:abort()
      assert.is_false(called)
      assert.same({ 2, 4, "again" }, log)
    end)

    it("skips a later listener unsubscribed by an earlier one during the abort", function()
      local c = AbortController()
      local log = {}
      local unsub_b
      c.signal:onAbort(function() log[#log + 1] = "a"; unsub_b() end)
      unsub_b = c.signal:onAbort(function() log[#log + 1] = "b" end)
      c.signal:onAbort(function() log[#log + 1] = "c" end)
      c:abort()
      assert.same({ "a", "c" }, log)
    end)

    it("does not run a listener registered during the abort", function()
      local c = AbortController()
      local log = {}
      c.signal:onAbort(function()
        log[#log + 1] = "a"
        c.signal:onAbort(function() log[#log + 1] = "late" end)
      end)
      c.signal:onAbort(function() log[#log + 1] = "b" end)
      c:abort()
      assert.same({ "a", "b" }, log)
    end)

    it("runs the same function once per registration", function()
      local c = AbortController()
      local n = 0
      local function fn() n = n + 1 end
      c.signal:onAbort(fn)
      c.signal:onAbort(fn)
      c:abort()
      assert.equal(2, n)
    end)

    it("handles re-entrant aborts from a listener", function()
      local c = AbortController()
      local log = {}
      c.signal:onAbort(function(r) log[#log + 1] = "a:" .. r; c:abort("inner") end)
      c.signal:onAbort(function(r) log[#log + 1] = "b:" .. r end)
      c:abort("outer")
      assert.same({ "a:outer", "b:outer" }, log)
      assert.equal("outer", c.signal.reason)
    end)

    it("releases listeners once aborted", function()
      local c = AbortController()
      local weak = setmetatable({}, { __mode = "k" })
      do
        local fn = function() end
        weak[fn] = true
        c.signal:onAbort(fn)
      end
      full_gc()
      assert.equal(1, weak_count(weak)) -- held while it may still run
      c:abort()
      full_gc()
      assert.equal(0, weak_count(weak))
    end)

    it("releases an unsubscribed listener", function()
      local c = AbortController()
      local weak = setmetatable({}, { __mode = "k" })
      local unsub
      do
        local fn = function() end
        weak[fn] = true
        unsub = c.signal:onAbort(fn)
      end
      unsub()
      full_gc()
      assert.equal(0, weak_count(weak))
    end)

    it("sends a listener's error to Promise.onUncaughtError and runs the others", function()
      local Promise = require("promise")
      local c = AbortController()
      local log = {}
      local boom = errors.Error("boom")
      c.signal:onAbort(function() log[#log + 1] = "a" end)
      c.signal:onAbort(function() error(boom) end)
      c.signal:onAbort(function() log[#log + 1] = "c" end)
      local reports = {}
      Promise.onUncaughtError(function(err, tb) reports[#reports + 1] = { err, tb } end)
      local ok, err = pcall(c.abort, c)
      Promise.onUncaughtError(nil)
      assert(ok, err)
      assert.same({ "a", "c" }, log)
      assert.equal(1, #reports)
      assert.equal(boom, reports[1][1]) -- the raised value itself
      assert.matches("stack traceback:", reports[1][2], 1, true)
      assert.matches("spec/abort_spec.lua", reports[1][2], 1, true)
    end)

    it("writes a listener's error to stderr when Promise.reportError is missing", function()
      local Promise = require("promise")
      local reportError = Promise.reportError
      Promise.reportError = nil
      local c = AbortController()
      local ran = false
      c.signal:onAbort(function() error("plain failure", 0) end)
      c.signal:onAbort(function() ran = true end)
      local ok, out = pcall(capture_stderr, function() c:abort() end)
      Promise.reportError = reportError
      assert(ok, out)
      assert.is_true(ran)
      assert.matches("^Uncaught error in abort listener: plain failure\nstack traceback:", out)
    end)

    it("raises Lua-style errors on bad arguments", function()
      local s = AbortController().signal
      assert.has_error(function() s:onAbort() end,
        "bad argument #1 to 'onAbort' (function expected, got nil)")
      assert.has_error(function() s:onAbort("nope") end,
        "bad argument #1 to 'onAbort' (function expected, got string)")
      assert.has_error(function() s.onAbort(function() end) end,
        "calling 'onAbort' on bad self (AbortSignal expected, got function)")
      -- the messages point at the call
      local _, e = pcall(function() s:onAbort(1) end)
      assert.matches("^spec/abort_spec%.lua:%d+: bad argument #1 to 'onAbort'", e)
      _, e = pcall(function() s.onAbort(1) end)
      assert.matches("^spec/abort_spec%.lua:%d+: calling 'onAbort' on bad self", e)
    end)
  end)

  describe(":throwIfAborted", function()
    it("does nothing before the abort", function()
      local c = AbortController()
      assert.has_no.errors(function() c.signal:throwIfAborted() end)
    end)

    it("raises the reason itself, unchanged", function()
      local c = AbortController()
      local reason = errors.TimeoutError("late")
      c:abort(reason)
      local ok, err = pcall(c.signal.throwIfAborted, c.signal)
      assert.is_false(ok)
      assert.equal(reason, err)
    end)

    it("adds no position to a string reason (error(reason, 0))", function()
      local c = AbortController()
      c:abort("plain")
      local ok, err = pcall(function() c.signal:throwIfAborted() end)
      assert.is_false(ok)
      assert.equal("plain", err)
    end)

    it("raises the default AbortError", function()
      local c = AbortController()
      c:abort()
      local ok, err = pcall(function() c.signal:throwIfAborted() end)
      assert.is_false(ok)
      assert.is_true(errors.AbortError.is(err))
      assert.equal(c.signal.reason, err)
    end)
  end)

  describe(".abort", function()
    it("returns a new, already aborted signal with the default AbortError", function()
      local s = AbortSignal.abort()
      assert.is_true(s.aborted)
      assert.is_true(errors.AbortError.is(s.reason))
      assert.equal("This operation was aborted", s.reason.message)
      assert.are_not.equal(s, AbortSignal.abort())
      assert.are_not.equal(s.reason, AbortSignal.abort().reason)
    end)

    it("uses the given reason", function()
      local r = { why = 1 }
      assert.equal(r, AbortSignal.abort(r).reason)
      assert.equal("why", AbortSignal.abort("why").reason)
    end)
  end)

  describe(".is", function()
    it("recognises only signals of this library", function()
      assert.is_true(AbortSignal.is(AbortSignal.abort()))
      assert.is_false(AbortSignal.is({ aborted = false }))
      assert.is_false(AbortSignal.is(AbortController()))
      assert.is_false(AbortSignal.is(nil))
    end)
  end)

  describe(".any", function()
    it("aborts when any source aborts, with that source's reason", function()
      local a, b = AbortController(), AbortController()
      local s = AbortSignal.any({ a.signal, b.signal })
      assert.is_false(s.aborted)
      local got = {}
      s:onAbort(function(r) got[#got + 1] = r end)
      b:abort("from b")
      assert.is_true(s.aborted)
      assert.equal("from b", s.reason)
      a:abort("from a")
      assert.equal("from b", s.reason)
      assert.same({ "from b" }, got)
    end)

    it("passes the default AbortError of the source through", function()
      local a = AbortController()
      local s = AbortSignal.any({ a.signal })
      a:abort()
      assert.equal(a.signal.reason, s.reason)
    end)

    it("returns an aborted signal with the first aborted input's reason", function()
      local live = AbortController()
      local x = AbortController()
      x:abort("x")
      local s = AbortSignal.any({ live.signal, AbortSignal.abort("first"), x.signal })
      assert.is_true(s.aborted)
      assert.equal("first", s.reason)
      local called = false
      s:onAbort(function() called = true end)
      live:abort("late")
      assert.is_false(called)
      assert.equal("first", s.reason)
    end)

    it("never aborts for an empty list", function()
      local s = AbortSignal.any({})
      assert.is_false(s.aborted)
      local s2 = AbortSignal.any({ s })
      assert.is_false(s2.aborted)
    end)

    it("honours list.n", function()
      local a = AbortController()
      local s = AbortSignal.any(table.pack(a.signal))
      a:abort("n")
      assert.equal("n", s.reason)
      assert.has_error(function() AbortSignal.any({ n = 2, a.signal }) end,
        "bad argument #1 to 'any' (AbortSignal expected at index 2, got nil)")
    end)

    it("marks every dependent aborted before any listener runs, then runs source listeners first", function()
      local c = AbortController()
      local d1 = AbortSignal.any({ c.signal })
      local d2 = AbortSignal.any({ c.signal })
      local log = {}
      d2:onAbort(function(r) log[#log + 1] = "d2:" .. r end)
      d1:onAbort(function(r) log[#log + 1] = "d1:" .. r end)
      c.signal:onAbort(function(r)
        log[#log + 1] = ("src:%s d1=%s d2=%s"):format(r, d1.aborted, d2.aborted)
      end)
      c:abort("R")
      assert.same({ "src:R d1=true d2=true", "d1:R", "d2:R" }, log)
    end)

    it("follows a dependent's sources (any of any)", function()
      local a, b = AbortController(), AbortController()
      local inner = AbortSignal.any({ a.signal })
      local outer = AbortSignal.any({ inner, b.signal })
      local log = {}
      inner:onAbort(function(r) log[#log + 1] = "inner:" .. r end)
      outer:onAbort(function(r) log[#log + 1] = "outer:" .. r end)
      a:abort("A")
      assert.same({ "inner:A", "outer:A" }, log)
      assert.equal("A", outer.reason)

      local c = AbortController()
      local i2 = AbortSignal.any({ c.signal })
      local o2 = AbortSignal.any({ i2 })
      c:abort("C")
      assert.is_true(o2.aborted)
      assert.equal("C", o2.reason)
    end)

    it("aborts a dependent only once when it shares several sources", function()
      local a, b = AbortController(), AbortController()
      local s = AbortSignal.any({ a.signal, b.signal, a.signal })
      local n = 0
      s:onAbort(function() n = n + 1 end)
      a:abort("a")
      b:abort("b")
      assert.equal(1, n)
      assert.equal("a", s.reason)
    end)

    it("raises Lua-style errors on bad arguments", function()
      assert.has_error(function() AbortSignal.any() end,
        "bad argument #1 to 'any' (table expected, got nil)")
      assert.has_error(function() AbortSignal.any({ AbortController().signal, {} }) end,
        "bad argument #1 to 'any' (AbortSignal expected at index 2, got table)")
      local _, e = pcall(function() AbortSignal.any({ 1 }) end)
      assert.matches("^spec/abort_spec%.lua:%d+: bad argument #1 to 'any' "
        .. "%(AbortSignal expected at index 1, got number%)$", e)
    end)

    describe("and garbage collection", function()
      it("does not keep a dependent alive from its sources once nobody references it", function()
        local c = AbortController()
        local weak = setmetatable({}, { __mode = "k" })
        do
          weak[AbortSignal.any({ c.signal })] = true
        end
        assert.equal(1, weak_count(weak))
        full_gc()
        assert.equal(0, weak_count(weak))
        c:abort() -- still works with its dependent gone
        assert.is_true(c.signal.aborted)
      end)

      it("keeps a dependent with listeners alive while a source may still abort it", function()
        local c = AbortController()
        local weak = setmetatable({}, { __mode = "k" })
        local got
        do
          local dep = AbortSignal.any({ c.signal })
          weak[dep] = true
          dep:onAbort(function(r) got = r end)
        end
        full_gc()
        assert.equal(1, weak_count(weak))
        c:abort("fired")
        assert.equal("fired", got)
        full_gc()
        assert.equal(0, weak_count(weak))
      end)

      it("lets a dependent go once its last listener unsubscribes", function()
        local c = AbortController()
        local weak = setmetatable({}, { __mode = "k" })
        do -- one of two listeners left: still pinned by its source
          local dep = AbortSignal.any({ c.signal })
          weak[dep] = "one left"
          local u1 = dep:onAbort(function() end)
          dep:onAbort(function() end)
          u1()
        end
        do -- both gone: collectable
          local dep = AbortSignal.any({ c.signal })
          weak[dep] = "none left"
          local u1 = dep:onAbort(function() end)
          local u2 = dep:onAbort(function() end)
          u2()
          u1()
        end
        full_gc()
        local left = {}
        for _, v in pairs(weak) do left[#left + 1] = v end
        assert.same({ "one left" }, left)
      end)

      it("does not keep its sources alive", function()
        local weak = setmetatable({}, { __mode = "k" })
        local dep
        do
          local c = AbortController()
          weak[c.signal] = true
          dep = AbortSignal.any({ c.signal })
        end
        full_gc()
        assert.equal(0, weak_count(weak))
        assert.is_false(dep.aborted)
      end)
    end)
  end)

  describe(".timeout", function()
    local Promise
    local clock
    before_each(function()
      Promise = require("promise")
    end)
    after_each(function()
      if clock then clock:restore() end
      clock = nil
    end)

    it("raises Lua-style errors on bad arguments", function()
      assert.has_error(function() AbortSignal.timeout() end,
        "bad argument #1 to 'timeout' (number expected, got nil)")
      assert.has_error(function() AbortSignal.timeout("10") end,
        "bad argument #1 to 'timeout' (number expected, got string)")
      assert.has_error(function() AbortSignal.timeout(-1) end,
        "bad argument #1 to 'timeout' (number in [0, 2147483647] expected, got -1)")
      assert.has_error(function() AbortSignal.timeout(0 / 0) end)
      assert.has_error(function() AbortSignal.timeout(math.huge) end)
    end)

    it("aborts with a TimeoutError after exactly ms (fake timers)", function()
      clock = Promise.useFakeTimers()
      local s = AbortSignal.timeout(100)
      local log = {}
      s:onAbort(function(r) log[#log + 1] = { Promise.now(), r } end)
      clock:advance(99)
      assert.is_false(s.aborted)
      assert.same({}, log)
      clock:advance(1)
      assert.is_true(s.aborted)
      assert.is_true(errors.TimeoutError.is(s.reason))
      assert.equal("The operation was aborted due to timeout", s.reason.message)
      assert.equal(1, #log)
      assert.equal(clock:now(), log[1][1])
      assert.equal(s.reason, log[1][2])
    end)

    it("orders with other timers by deadline (fake timers)", function()
      clock = Promise.useFakeTimers()
      local log = {}
      Promise.setTimeout(function() log[#log + 1] = "t20" end, 20)
      AbortSignal.timeout(10):onAbort(function() log[#log + 1] = "abort10" end)
      Promise.setTimeout(function() log[#log + 1] = "t10" end, 10)
      clock:runAll()
      assert.same({ "abort10", "t10", "t20" }, log)
    end)

    it("feeds AbortSignal.any", function()
      clock = Promise.useFakeTimers()
      local c = AbortController()
      local s = AbortSignal.any({ c.signal, AbortSignal.timeout(50) })
      clock:advance(50)
      assert.is_true(s.aborted)
      assert.is_true(errors.TimeoutError.is(s.reason))
    end)

    it("keeps a listened-to dependent of a timeout alive until it fires", function()
      clock = Promise.useFakeTimers()
      local weak = setmetatable({}, { __mode = "k" })
      local got
      do
        local dep = AbortSignal.any({ AbortSignal.timeout(30) })
        weak[dep] = true
        dep:onAbort(function(r) got = r end)
      end
      full_gc()
      assert.equal(1, weak_count(weak))
      clock:advance(30)
      assert.is_true(errors.TimeoutError.is(got))
    end)

    it("does not keep the real loop alive (unref'd timer), yet fires while it runs", function()
      local uv = require("luv")
      local function count_handles()
        local n = 0
        uv.walk(function(h) if not h:is_closing() then n = n + 1 end end)
        return n
      end
      local before = count_handles()
      local s = AbortSignal.timeout(30)
      -- nothing keeps the loop alive, so uv.run() returns without running
      -- any timer: had it waited for the signal's timer, it had aborted
      assert.is_false(uv.loop_alive())
      uv.run("default")
      assert.is_false(s.aborted)
      -- a ref'd sleep due after the signal's timer: deadline order, not
      -- speed, makes the signal's timer fire first
      Promise.sleep(31):wait()
      assert.is_true(s.aborted)
      assert.is_true(errors.TimeoutError.is(s.reason))
      uv.run("nowait") -- let closed handles finish closing
      assert.equal(before, count_handles())
    end)
  end)
end)
