-- docs/manual/limiter.md: Promise.limiter, on the fake clock.
local Promise = require("promise")
local H = require("spec.support.helpers")

local clock


H.on_fake_clock(before_each, after_each, function(c) clock = c end)

-- A task that logs its start and end (with the fake time) and takes `ms`.
local function job(log, name, ms, value)
  return function()
    log[#log + 1] = ("start %s @%d"):format(name, Promise.now())
    return Promise.sleep(ms):next(function()
      log[#log + 1] = ("end %s @%d"):format(name, Promise.now())
      return value
    end)
  end
end

-- Marks p handled, drains the microtasks, returns its state.
local state = H.settle_handled

describe("Promise.limiter", function()
  it("never runs more than `concurrency` tasks, and starts queued ones as slots free", function()
    local limit = Promise.limiter(2)
    local log = {}
    local running, peak = 0, 0
    local ps = {}
    local durations = { 100, 30, 50, 10, 40 }
    for i, ms in ipairs(durations) do
      ps[i] = limit(function()
        running = running + 1
        if running > peak then peak = running end
        log[#log + 1] = ("start %d @%d"):format(i, Promise.now())
        return Promise.sleep(ms):next(function()
          running = running - 1
          return i * 10
        end)
      end)
    end
    assert.equal(2, limit.activeCount)
    assert.equal(3, limit.pendingCount)
    clock:runAll()
    assert.equal(2, peak)
    assert.same({
      "start 1 @0", "start 2 @0",
      "start 3 @30",   -- 2 ends at 30
      "start 4 @80",   -- 3 ends at 80
      "start 5 @90",   -- 4 ends at 90
    }, log)
    for i = 1, 5 do
      local s, v = ps[i]:state()
      assert.equal("fulfilled", s)
      assert.equal(i * 10, v)
    end
    assert.equal(0, limit.activeCount)
    assert.equal(0, limit.pendingCount)
  end)

  it("calls the function synchronously when a slot is free", function()
    local limit = Promise.limiter(1)
    local called = false
    limit(function() called = true end)
    assert.is_true(called)
    Promise.drain()
  end)

  it("holds the slot until the task's own promise settles, even when the caller timed out", function()
    local limit = Promise.limiter(2)
    local log = {}
    local outcomes = {}
    for i = 1, 4 do
      local task = limit(job(log, i, 100))
      -- the caller gives up after 10 ms
      Promise.race{ task, Promise.sleep(10):next(function() error("caller timeout", 0) end) }
        :next(function() outcomes[i] = "ok" end, function(e) outcomes[i] = e end)
    end
    clock:advance(10)
    assert.same({ "caller timeout", "caller timeout", "caller timeout", "caller timeout" }, outcomes)
    assert.equal(2, limit.activeCount)
    assert.equal(2, limit.pendingCount)
    assert.same({ "start 1 @0", "start 2 @0" }, log)
    clock:advance(89)
    assert.same({ "start 1 @0", "start 2 @0" }, log)
    clock:advance(1)
    assert.same({ "start 1 @0", "start 2 @0", "end 1 @100", "start 3 @100",
                  "end 2 @100", "start 4 @100" }, log)
    clock:runAll()
    assert.equal(0, limit.activeCount)
  end)

  it("starts queued tasks by priority, FIFO among equal priorities", function()
    local limit = Promise.limiter(1)
    local order = {}
    local function rec(name) return function() order[#order + 1] = name end end
    local gate, open = Promise.withResolvers()
    limit(function() return gate end)
    limit:submit(nil, rec("a0"))
    limit:submit({ priority = 1 }, rec("b1"))
    limit:submit({ priority = 5 }, rec("c5"))
    limit:submit({ priority = 1 }, rec("d1"))
    limit:submit({}, rec("e0"))
    limit:submit({ priority = 5 }, rec("f5"))
    limit:submit({ priority = -2 }, rec("g-2"))
    limit:submit({ priority = 1 }, rec("h1"))
    assert.equal(8, limit.pendingCount)
    open()
    clock:runAll()
    assert.same({ "c5", "f5", "b1", "d1", "h1", "a0", "e0", "g-2" }, order)
  end)

  it("passes arguments, nils included, and fulfils with the function's result", function()
    local limit = Promise.limiter(1)
    local got
    local p = limit(function(...)
      got = table.pack(...)
      return "result", "dropped"
    end, 1, nil, "x", nil)
    assert.same({ n = 4, 1, nil, "x", nil }, got)
    assert.same({ "fulfilled", "result" }, { state(p) })
    local q = limit:submit({ priority = 3 }, function(a, b) return a + b end, 2, 3)
    assert.same({ "fulfilled", 5 }, { state(q) })
  end)

  it("adopts a returned promise: the slot is held until it settles", function()
    local limit = Promise.limiter(1)
    local inner, resolve = Promise.withResolvers()
    local p = limit(function() return inner end)
    local second = false
    limit(function() second = true end)
    Promise.drain()
    assert.equal("pending", p:state())
    assert.is_false(second)
    resolve("v")
    Promise.drain()
    assert.same({ "fulfilled", "v" }, { p:state() })
    assert.is_true(second)
  end)

  it("rejects with what a task raises synchronously, and frees the slot", function()
    local limit = Promise.limiter(1)
    local err = { "boom" }
    local p = limit(function() error(err) end)
    local ran = false
    local q = limit(function() ran = true; return "next" end)
    assert.equal(1, limit.activeCount)
    assert.same({ "rejected", err }, { state(p) })
    assert.is_true(rawequal(err, select(2, p:state())))
    assert.is_true(ran)
    assert.same({ "fulfilled", "next" }, { state(q) })
    assert.equal(0, limit.activeCount)
  end)

  it("frees the slot when the task's promise rejects", function()
    local limit = Promise.limiter(1)
    local p = limit(function() return Promise.sleep(5):next(function() error("late", 0) end) end)
    p:catch(function() end)
    local q = limit(function() return "ok" end)
    clock:advance(5)
    assert.same({ "rejected", "late" }, { state(p) })
    assert.same({ "fulfilled", "ok" }, { q:state() })
  end)

  describe("maxQueue", function()
    it("rejects a submit that would exceed it with a QueueFullError, at once", function()
      local limit = Promise.limiter(1, { maxQueue = 2 })
      local log = {}
      local ps = {}
      for i = 1, 5 do ps[i] = limit(job(log, i, 10)) end
      ps[5]:catch(function() end)
      assert.equal(1, limit.activeCount)
      assert.equal(2, limit.pendingCount)
      for i = 4, 5 do
        local s, e = state(ps[i])
        assert.equal("rejected", s)
        assert.is_true(Promise.QueueFullError.is(e))
        assert.equal("limiter queue is full (maxQueue = 2)", e.message)
      end
      clock:runAll()
      assert.same({ "start 1 @0", "end 1 @10", "start 2 @10", "end 2 @20",
                    "start 3 @20", "end 3 @30" }, log)
      -- room again
      local again = limit(function() return "again" end)
      assert.same({ "fulfilled", "again" }, { state(again) })
    end)

    it("maxQueue = 0 means run now or refuse", function()
      local limit = Promise.limiter(2, { maxQueue = 0 })
      local a = limit(function() return Promise.sleep(10) end)
      local b = limit(function() return Promise.sleep(10) end)
      local c = limit(function() error("never called") end)
      local s, e = state(c)
      assert.equal("rejected", s)
      assert.is_true(Promise.QueueFullError.is(e))
      clock:runAll()
      assert.equal("fulfilled", a:state())
      assert.equal("fulfilled", b:state())
    end)
  end)

  describe("clear", function()
    it("rejects every queued task with an AbortError by default; running ones go on", function()
      local limit = Promise.limiter(1)
      local log = {}
      local running = limit(job(log, "run", 10, "done"))
      local q1 = limit(job(log, "q1", 10))
      local q2 = limit:submit({ priority = 9 }, job(log, "q2", 10))
      limit:clear()
      q2:catch(function() end)
      assert.equal(0, limit.pendingCount)
      assert.equal(1, limit.activeCount)
      for _, q in ipairs{ q1, q2 } do
        local s, e = state(q)
        assert.equal("rejected", s)
        assert.is_true(Promise.AbortError.is(e))
        assert.equal("limiter queue cleared", e.message)
      end
      clock:runAll()
      assert.same({ "fulfilled", "done" }, { running:state() })
      assert.same({ "start run @0", "end run @10" }, log)
    end)

    it("uses the given reason, and the limiter keeps working", function()
      local limit = Promise.limiter(1)
      limit(function() return Promise.sleep(1) end)
      local q = limit(function() end)
      limit:clear("shutdown")
      assert.same({ "rejected", "shutdown" }, { state(q) })
      clock:runAll()
      local r = limit(function() return 7 end)
      assert.same({ "fulfilled", 7 }, { state(r) })
    end)

    it("unsubscribes from the cleared tasks' signals", function()
      local limit = Promise.limiter(1)
      limit(function() return Promise.sleep(1) end)
      local c = Promise.AbortController()
      local q = limit:submit({ signal = c.signal }, function() end)
      limit:clear("cleared")
      c:abort("late abort")
      assert.same({ "rejected", "cleared" }, { state(q) })
      clock:runAll()
    end)
  end)

  describe("onIdle", function()
    it("is already fulfilled when nothing runs or waits", function()
      local limit = Promise.limiter(3)
      assert.equal("fulfilled", limit:onIdle():state())
    end)

    it("fulfils when the last task settles, not before", function()
      local limit = Promise.limiter(1)
      local log = {}
      limit(job(log, "a", 10))
      limit(job(log, "b", 20))
      local idle = limit:onIdle()
      local idle2 = limit:onIdle()
      idle:next(function() log[#log + 1] = "idle @" .. Promise.now() end)
      clock:advance(29)
      assert.equal("pending", idle:state())
      clock:advance(1)
      assert.same({ "fulfilled", nil }, { idle:state() })
      assert.equal("fulfilled", idle2:state())
      assert.same({ "start a @0", "end a @10", "start b @10", "end b @30", "idle @30" }, log)
    end)

    it("fulfils after clear() once the running tasks are done", function()
      local limit = Promise.limiter(1)
      limit(function() return Promise.sleep(10) end)
      limit(function() end):catch(function() end)
      local idle = limit:onIdle()
      limit:clear()
      Promise.drain()
      assert.equal("pending", idle:state())
      clock:advance(10)
      assert.equal("fulfilled", idle:state())
    end)
  end)

  describe("concurrency at run time", function()
    it("raising it starts queued tasks at once, in priority order", function()
      local limit = Promise.limiter(1)
      local log = {}
      limit(job(log, 1, 100))
      limit(job(log, 2, 100))
      limit:submit({ priority = 1 }, job(log, 3, 100))
      limit(job(log, 4, 100))
      clock:advance(10)
      limit.concurrency = 3
      -- synchronously, without waiting for a microtask or a timer
      assert.same({ "start 1 @0", "start 3 @10", "start 2 @10" }, log)
      assert.equal(3, limit.concurrency)
      assert.equal(3, limit.activeCount)
      assert.equal(1, limit.pendingCount)
      clock:runAll()
    end)

    it("lowering it never preempts running tasks", function()
      local limit = Promise.limiter(3)
      local log = {}
      for i = 1, 5 do limit(job(log, i, 10 * i)) end
      limit.concurrency = 1
      assert.equal(3, limit.activeCount)
      clock:advance(30)
      -- 1, 2 and 3 ended; only then is there room under the new limit
      assert.same({ "start 1 @0", "start 2 @0", "start 3 @0", "end 1 @10", "end 2 @20",
                    "end 3 @30", "start 4 @30" }, log)
      assert.equal(1, limit.activeCount)
      clock:runAll()
      assert.same("start 5 @70", log[#log - 1])
    end)

    it("accepts math.huge and rejects bad values", function()
      local limit = Promise.limiter(1)
      limit.concurrency = math.huge
      assert.equal(math.huge, limit.concurrency)
      assert.error_matches(function() limit.concurrency = 0 end,
        "bad value for 'concurrency' %(integer >= 1 or math.huge expected, got 0%)")
      assert.error_matches(function() limit.concurrency = 1.5 end,
        "bad value for 'concurrency' %(integer >= 1 or math.huge expected, got 1.5%)")
      assert.error_matches(function() limit.concurrency = "2" end,
        "bad value for 'concurrency' %(number expected, got string%)")
      assert.error_matches(function() limit.activeCount = 0 end,
        "cannot set field 'activeCount' of a limiter")
      assert.equal(math.huge, limit.concurrency)
    end)
  end)

  describe("taskopts.signal", function()
    it("removes an aborted queued task, which rejects with the reason and never runs", function()
      local limit = Promise.limiter(1)
      local log = {}
      limit(job(log, "a", 10))
      local c = Promise.AbortController()
      local b = limit:submit({ signal = c.signal }, job(log, "b", 10))
      local cc = limit(job(log, "c", 10))
      assert.equal(2, limit.pendingCount)
      c:abort("stop b")
      assert.equal(1, limit.pendingCount)
      assert.same({ "rejected", "stop b" }, { state(b) })
      clock:runAll()
      assert.same({ "start a @0", "end a @10", "start c @10", "end c @20" }, log)
      assert.equal("fulfilled", cc:state())
    end)

    it("rejects at once without calling fn when the signal is already aborted", function()
      local limit = Promise.limiter(1)
      local called = false
      local p = limit:submit({ signal = Promise.AbortSignal.abort() }, function() called = true end)
      local s, e = state(p)
      assert.equal("rejected", s)
      assert.is_true(Promise.AbortError.is(e))
      assert.is_false(called)
      assert.equal(0, limit.activeCount)
    end)

    it("does not affect a task once it runs", function()
      local limit = Promise.limiter(1)
      local c = Promise.AbortController()
      local p = limit:submit({ signal = c.signal }, function() return Promise.sleep(10, { value = "v" }) end)
      c:abort()
      clock:runAll()
      assert.same({ "fulfilled", "v" }, { p:state() })
    end)

    it("removes a task from the middle of a priority queue", function()
      local limit = Promise.limiter(1)
      local order = {}
      limit(function() return Promise.sleep(1) end)
      local cs = {}
      for i = 1, 6 do
        cs[i] = Promise.AbortController()
        limit:submit({ priority = i % 3, signal = cs[i].signal }, function() order[#order + 1] = i end)
          :catch(function() end)
      end
      cs[2]:abort()
      cs[6]:abort()
      cs[1]:abort()
      clock:runAll()
      assert.same({ 5, 4, 3 }, order)
    end)
  end)

  it("lets a running task submit more work (re-entrancy)", function()
    local limit = Promise.limiter(1)
    local order = {}
    limit(function()
      order[#order + 1] = "outer"
      limit(function() order[#order + 1] = "inner" end)
      return Promise.sleep(5)
    end)
    clock:runAll()
    assert.same({ "outer", "inner" }, order)
  end)

  it("tostring shows the counts", function()
    local limit = Promise.limiter(2)
    assert.equal("Limiter<0/2 active, 0 queued>", tostring(limit))
  end)

  it("raises Lua-style errors on bad arguments", function()
    assert.error_matches(function() Promise.limiter() end,
      "bad argument #1 to 'limiter' %(number expected, got nil%)")
    assert.error_matches(function() Promise.limiter(0) end,
      "bad argument #1 to 'limiter' %(integer >= 1 or math.huge expected, got 0%)")
    assert.error_matches(function() Promise.limiter(0 / 0) end,
      "bad argument #1 to 'limiter' %(integer >= 1 or math.huge expected, got")
    assert.error_matches(function() Promise.limiter(1, 5) end,
      "bad argument #2 to 'limiter' %(table expected, got number%)")
    assert.error_matches(function() Promise.limiter(1, { maxQueue = -1 }) end,
      "bad argument #2 to 'limiter' %(field 'maxQueue': integer >= 0 or math.huge expected, got %-1%)")
    local limit = Promise.limiter(1)
    assert.error_matches(function() limit() end,
      "bad argument #1 to 'limit' %(function expected, got nil%)")
    assert.error_matches(function() limit:submit(nil, 42) end,
      "bad argument #2 to 'submit' %(function expected, got number%)")
    assert.error_matches(function() limit:submit(1, print) end,
      "bad argument #1 to 'submit' %(table expected, got number%)")
    assert.error_matches(function() limit:submit({ priority = "high" }, print) end,
      "bad argument #1 to 'submit' %(field 'priority' must be a number, got string%)")
    assert.error_matches(function() limit:submit({ signal = {} }, print) end,
      "bad argument #1 to 'submit' %(field 'signal' must be an AbortSignal, got table%)")
    assert.error_matches(function() limit.submit({}, nil, print) end,
      "calling 'submit' on bad self %(limiter expected, got table%)")
    -- the metamethods too, when reached through the metatable
    local mt = getmetatable(limit)
    assert.error_matches(function() mt.__call(42, print) end,
      "calling '__call' on bad self %(limiter expected, got number%)")
    assert.error_matches(function() mt.__index({}, "activeCount") end,
      "calling '__index' on bad self %(limiter expected, got table%)")
    assert.error_matches(function() mt.__newindex(true, "concurrency", 2) end,
      "calling '__newindex' on bad self %(limiter expected, got boolean%)")
    assert.error_matches(function() mt.__tostring(nil) end,
      "calling '__tostring' on bad self %(limiter expected, got nil%)")
    -- the error points at the caller
    local ok, err = pcall(function() Promise.limiter("x") end)
    assert.is_false(ok)
    assert.matches("^spec/limiter_spec.lua:%d+: bad argument #1 to 'limiter'", err)
    for _, f in ipairs({
      function() Promise.limiter(1, { maxQueue = -1 }) end,
      function() limit:submit({ priority = "high" }, print) end,
    }) do
      ok, err = pcall(f)
      assert.is_false(ok)
      assert.matches("^spec/limiter_spec.lua:%d+: bad argument #%d to '", err)
    end
    assert.equal(0, limit.activeCount)
  end)
end)
