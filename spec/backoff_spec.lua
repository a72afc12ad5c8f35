-- promise.backoff: the delays of Promise.retry (docs/manual/retry.md), a
-- pure function of the attempt, the options, the previous delay and the
-- random source: no clock, no timer.
require("promise")
local backoff = require("promise.backoff")

local function cfg(jitter, over)
  local c = { minDelay = 100, maxDelay = 1000, factor = 2, jitter = jitter }
  for k, v in pairs(over or {}) do c[k] = v end
  return c
end

local function fixed(r) return function() return r end end

-- the delays after attempts 1..n, threading `prev` through
local function delays(c, n, random)
  local out, prev = {}, c.minDelay
  for i = 1, n do out[i], prev = backoff.delay_after(i, c, prev, random) end
  return out
end

describe("backoff.delay_after", function()
  it('"none": min(maxDelay, minDelay * factor^(n-1)), as integers', function()
    local d = delays(cfg("none"), 6, fixed(0.5))
    assert.same({ 100, 200, 400, 800, 1000, 1000 }, d)
    assert.equal("integer", math.type(d[1]))
  end)

  it('"full": U(0, d)', function()
    assert.same({ 25, 50, 100, 200, 250 }, delays(cfg("full"), 5, fixed(0.25)))
  end)

  it('"equal": d/2 + U(0, d/2)', function()
    assert.same({ 75, 150, 300, 600, 750 }, delays(cfg("equal"), 5, fixed(0.5)))
  end)

  it('"decorrelated": min(maxDelay, U(minDelay, 3 * prev)), prev threaded through', function()
    -- r = 1: 3 * prev each time, capped
    assert.same({ 300, 900, 1000, 1000 }, delays(cfg("decorrelated"), 4, fixed(1)))
    local d, prev = backoff.delay_after(1, cfg("decorrelated"), 100, fixed(0.5))
    assert.equal(200, d)  -- 100 + 0.5 * (300 - 100)
    assert.equal(200, prev)
  end)

  it("keeps prev unchanged for the other jitters", function()
    local _, prev = backoff.delay_after(3, cfg("full"), 123, fixed(0.5))
    assert.equal(123, prev)
  end)

  it("minDelay 0 gives 0 whatever the factor", function()
    assert.same({ 0, 0, 0 }, delays(cfg("none", { minDelay = 0 }), 3, fixed(0.5)))
  end)

  it("never exceeds 2^31 - 1 ms, even with maxDelay = math.huge", function()
    local d = delays(cfg("none", { maxDelay = math.huge, factor = 10 }), 12, fixed(1))
    assert.equal(2147483647, d[12])
    for _, v in ipairs(delays(cfg("decorrelated", { maxDelay = math.huge }), 40, fixed(1))) do
      assert.is_true(v <= 2147483647)
    end
  end)

  it("does not call random for \"none\"", function()
    assert.equal(200, (backoff.delay_after(2, cfg("none"), 100, function() error("called") end)))
  end)

  it("raises a TypeError when random gives anything but a number in [0, 1]", function()
    for _, bad in ipairs({ 1.5, -0.1, "0.5", 0 / 0 }) do
      local ok, e = pcall(backoff.delay_after, 1, cfg("full"), 100, fixed(bad))
      assert.is_false(ok)
      assert.is_true(require("promise").TypeError.is(e))
      assert.matches("'random' must return a number in %[0, 1%]", tostring(e.message))
    end
  end)
end)
