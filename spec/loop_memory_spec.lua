-- The cost of a pending timer, and the timer states that the loop
-- (lua/promise/loop/heap.lua) keeps without a state slot (a timer is
-- pending iff it is linked in a list).
local Promise = require("promise")
local H = require("spec.support.helpers")

describe("a pending setTimeout", function()
  after_each(function()
    assert.same({}, H.active_handles_after_turn())
  end)

  local function bytes_per_timer(ms)
    local N = 20000
    local hold = {}
    for i = 1, N do hold[i] = false end
    local function fn() end
    Promise.clearTimeout(Promise.setTimeout(fn, ms))
    collectgarbage()
    collectgarbage()
    local before = collectgarbage("count")
    for i = 1, N do hold[i] = Promise.setTimeout(fn, ms) end
    collectgarbage()
    collectgarbage()
    local after = collectgarbage("count")
    for i = 1, N do Promise.clearTimeout(hold[i]) end
    return (after - before) * 1024 / N
  end

  it("costs one table with five array slots and nothing else (136 bytes)", function()
    -- a Lua 5.4 table is 56 bytes, an array slot 16
    assert.is_true(bytes_per_timer(0) <= 136.5, "bytes per timer: " .. bytes_per_timer(0))
    assert.is_true(bytes_per_timer(30000) <= 136.5, "bytes per timer: " .. bytes_per_timer(30000))
  end)
end)

describe("timer states without a state slot", function()
  local clock
  H.on_fake_clock(before_each, after_each, function(c) clock = c end)

  local function logger()
    local log = {}
    return log, function(name) return function() log[#log + 1] = name end end
  end

  it("unlinks the first, a middle and the last timer of a list", function()
    local log, add = logger()
    local t = {}
    for i = 1, 5 do t[i] = Promise.setTimeout(add(i), 10) end
    Promise.clearTimeout(t[1])
    Promise.clearTimeout(t[3])
    Promise.clearTimeout(t[5])
    assert.equal(2, clock:countTimers())
    clock:advance(10)
    assert.same({ 2, 4 }, log)
    assert.equal(0, clock:countTimers())
    -- after the last one is cleared, a new one goes after the new last one
    for i = 1, 3 do t[i] = Promise.setTimeout(add(i), 10) end
    Promise.clearTimeout(t[3])
    Promise.setTimeout(add(6), 10)
    Promise.clearTimeout(t[2])
    clock:advance(10)
    assert.same({ 2, 4, 1, 6 }, log)
    -- a list emptied by clearTimeout is made again by the next timer
    for i = 1, 2 do t[i] = Promise.setTimeout(add("again" .. i), 10) end
    Promise.clearTimeout(t[2])
    Promise.clearTimeout(t[1])
    assert.equal(0, clock:countTimers())
    Promise.setTimeout(add("last"), 10)
    clock:advance(10)
    assert.same({ 2, 4, 1, 6, "last" }, log)
  end)

  it("refresh() moves a first or middle timer to the end of its list", function()
    local log, add = logger()
    local t = {}
    for i = 1, 4 do t[i] = Promise.setTimeout(add(i), 10) end
    t[2]:refresh()
    t[1]:refresh()
    t[4]:refresh()  -- already last: stays last
    clock:advance(10)
    assert.same({ 3, 2, 1, 4 }, log)
  end)

  it("a fired timer is idle: refresh() schedules it again, clearTimeout makes it cleared", function()
    local log, add = logger()
    local t = Promise.setTimeout(add("t"), 5)
    clock:advance(5)
    assert.equal(0, clock:countTimers())
    Promise.clearTimeout(t)  -- fired: a no-op but for the state
    t:refresh()              -- cleared: stays cleared
    assert.equal(0, clock:countTimers())
    local u = Promise.setTimeout(add("u"), 5)
    clock:advance(5)
    u:refresh()
    assert.equal(1, clock:countTimers())
    clock:advance(5)
    assert.same({ "t", "u", "u" }, log)
    Promise.clearTimeout(u)
    Promise.clearTimeout(u)
    u:refresh()
    assert.equal(0, clock:countTimers())
  end)

  it("unref() and ref() on pending, fired and cleared timers", function()
    local t = Promise.setTimeout(function() end, 5)
    assert.is_true(t:hasRef())
    t:unref()
    assert.is_false(t:hasRef())
    assert.equal(1, clock:countTimers())
    clock:advance(5)
    t:ref()
    assert.is_true(t:hasRef())
    t:refresh()
    assert.equal(1, clock:countTimers())
    t:unref():close()
    assert.equal(0, clock:countTimers())
    t:ref()
    assert.is_true(t:hasRef())
  end)

  it("an interval cleared or refreshed by its own callback", function()
    local log = {}
    local iv
    iv = Promise.setInterval(function()
      log[#log + 1] = clock:now()
      if #log == 2 then iv:refresh() end
      if #log == 3 then Promise.clearInterval(iv) end
    end, 10)
    clock:advance(100)
    assert.same({ 10, 20, 30 }, log)
    assert.equal(0, clock:countTimers())
  end)

  it("an interval scheduled again goes after the timers its callback made", function()
    -- as Node re-inserts it after its callback (node: iv u iv): it is the
    -- last of its list, due with them
    local log, add = logger()
    local t
    local iv = Promise.setInterval(function()
      log[#log + 1] = "iv" .. clock:now()
      if not t then
        t = Promise.setTimeout(add("t"), 10)
        Promise.setTimeout(add("u"), 10)
      end
    end, 10)
    clock:advance(10)
    Promise.clearTimeout(t)
    assert.equal(2, clock:countTimers())
    clock:advance(10)
    Promise.clearInterval(iv)
    assert.same({ "iv10", "u", "iv20" }, log)
  end)

  it("equal deadlines run in creation order across delays and lists", function()
    local log, add = logger()
    clock:advance(1)
    Promise.setTimeout(add("a30"), 30)
    clock:advance(10)
    Promise.setTimeout(add("b20"), 20)
    local c = Promise.setTimeout(add("c20"), 20)
    Promise.setTimeout(add("d10"), 10)
    clock:advance(10)
    Promise.setTimeout(add("e10"), 10)
    Promise.clearTimeout(c)
    clock:advance(10)
    assert.same({ "d10", "a30", "b20", "e10" }, log)
  end)

  it("fake immediates: cleared, cleared after running, ref / unref while pending", function()
    local log, add = logger()
    local a = Promise.setImmediate(add("a"))
    local b = Promise.setImmediate(add("b"))
    local c = Promise.setImmediate(add("c"))
    b:unref()
    assert.is_false(b:hasRef())
    b:ref()
    Promise.clearImmediate(b)
    Promise.clearImmediate(b)
    assert.equal(2, clock:countTimers())
    clock:advance(0)
    assert.same({ "a", "c" }, log)
    Promise.clearImmediate(a)
    c:unref()
    assert.equal(0, clock:countTimers())
  end)
end)

describe("clock:restore()", function()
  it("leaves the discarded timers cleared", function()
    local clock = Promise.useFakeTimers(0)
    local log = {}
    local function add(name) return function() log[#log + 1] = name end end
    local t = Promise.setTimeout(add("t"), 5)
    local u = Promise.setTimeout(add("u"), 5)
    local im = Promise.setImmediate(add("im"))
    local iv = Promise.setInterval(add("iv"), 5)
    clock:restore()
    t:refresh()
    Promise.clearTimeout(u)
    Promise.clearImmediate(im)
    iv:unref():ref()
    clock = Promise.useFakeTimers(0)
    assert.equal(0, clock:countTimers())
    clock:advance(10)
    clock:restore()
    assert.same({}, log)
    assert.same({}, H.active_handles_after_turn())
  end)
end)

describe("real immediates without a state slot", function()
  after_each(function()
    assert.same({}, H.active_handles_after_turn())
  end)

  it("queued, unref'd, ref'd, cleared, run", function()
    local log = {}
    local a = Promise.setImmediate(function() log[#log + 1] = "a" end)
    local b = Promise.setImmediate(function() log[#log + 1] = "b" end)
    a:unref()
    a:ref()
    b:unref()
    Promise.clearImmediate(b)
    b:ref()
    require("luv").run()
    assert.same({ "a" }, log)
    Promise.clearImmediate(a)  -- ran: a no-op
    a:unref()
    assert.same({ "a" }, log)
  end)
end)
