-- promise.loop.heap: the timer lists of the event loop, alone: plain
-- arrays in the timer layout, no clock, no uv handle. The order it gives is
-- the order timers run in (docs/manual/loop.md: deadline, then creation).
local heap = require("promise.loop.heap")
local S = heap.SLOTS

-- a timer as the loop makes one: { fn, delay, deadline, next, prev }
local function timer(name, delay, deadline)
  return { name, delay, deadline, false, S.IDLE }
end

local function pending(t) return type(t[S.NEXT]) == "table" end

-- pops every timer in order, returning their names
local function drain(s)
  local out = {}
  while true do
    local t = heap.first(s)
    if not t then break end
    heap.unschedule(s, t)
    out[#out + 1] = t[S.FN]
  end
  return out
end

describe("loop.heap", function()
  it("gives timers in deadline order, then creation order on equal deadlines", function()
    local s = heap.newsched(true, 0)
    -- made at times 0, 0, 0, 5, 5: deadline = made + delay
    heap.schedule(s, timer("a", 30, 30))
    heap.schedule(s, timer("b", 10, 10))
    heap.schedule(s, timer("c", 20, 20))
    heap.schedule(s, timer("d", 25, 30))  -- made at 5: after a (made at 0)
    heap.schedule(s, timer("e", 5, 10))   -- made at 5: after b
    assert.equal(5, s.count)
    assert.same({ "b", "e", "c", "a", "d" }, drain(s))
    assert.equal(0, s.count)
    assert.equal(0, s.n)
    assert.same({}, s.lists)
  end)

  it("keeps one list per delay in the heap", function()
    local s = heap.newsched(false)
    for i = 1, 5 do heap.schedule(s, timer("x" .. i, 100, 100 + i)) end
    heap.schedule(s, timer("y", 50, 60))
    assert.equal(2, s.n)
    assert.equal(6, s.count)
    assert.equal("y", heap.first(s)[S.FN])
  end)

  it("removes a timer from the head, the middle and the tail of its list", function()
    local s = heap.newsched(true, 0)
    local t = {}
    for i = 1, 5 do
      t[i] = timer(i, 10, 10 + i)
      heap.schedule(s, t[i])
    end
    heap.schedule(s, timer("other", 3, 12))
    for _, i in ipairs({ 3, 1, 5 }) do
      heap.unschedule(s, t[i])
      assert.is_false(pending(t[i]))
      assert.equal(S.IDLE, t[i][S.PREV])
    end
    assert.same({ 2, "other", 4 }, drain(s))
  end)

  it("counts only ref'd timers in refs", function()
    local s = heap.newsched(true, 0)
    local a, b = timer("a", 1, 1), timer("b", 1, 2)
    b[S.UNREFED] = true
    heap.schedule(s, a)
    heap.schedule(s, b)
    assert.equal(2, s.count)
    assert.equal(1, s.refs)
    heap.unschedule(s, a)
    assert.equal(0, s.refs)
  end)

  it("puts a timer due before the first of its list at the head (refresh)", function()
    local s = heap.newsched(true, 0)
    heap.schedule(s, timer("late", 10, 50))
    heap.schedule(s, timer("mid", 20, 40))
    heap.schedule(s, timer("early", 10, 30))
    assert.same({ "early", "mid", "late" }, drain(s))
  end)

  it("matches a sort over many random timers", function()
    local rng = 12345
    local function rand(n)  -- a fixed LCG: the same timers every run
      rng = (rng * 1103515245 + 12345) % 2147483648
      return rng % n
    end
    local s = heap.newsched(true, 0)
    local all, now = {}, 0
    for i = 1, 2000 do
      now = now + rand(3)
      local d = rand(40) + 1
      local t = timer(i, d, now + d)
      all[#all + 1] = t
      heap.schedule(s, t)
      if rand(4) == 0 then  -- clear a random pending one
        local victim = all[rand(#all) + 1]
        if pending(victim) then heap.unschedule(s, victim); victim.gone = true end
      end
    end
    local want = {}
    for _, t in ipairs(all) do if not t.gone then want[#want + 1] = t end end
    table.sort(want, function(a, b)
      if a[S.DEADLINE] ~= b[S.DEADLINE] then return a[S.DEADLINE] < b[S.DEADLINE] end
      return a[S.FN] < b[S.FN]  -- made first
    end)
    for i, t in ipairs(want) do want[i] = t[S.FN] end
    assert.same(want, drain(s))
  end)
end)
