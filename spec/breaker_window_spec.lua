-- promise.breaker.window: the rolling window of Promise.breaker
-- (docs/manual/breaker.md, `window`), with the time passed in.
local window = require("promise.breaker.window")

local function new(kind, size)
  local w = { kind = kind, size = size }
  window.clear(w)
  return w
end

describe("breaker window", function()
  it('"count" keeps the last size outcomes', function()
    local w = new("count", 3)
    window.record(w, true, 0)
    window.record(w, false, 0)
    assert.same({ 2, 1 }, { window.counts(w, 0) })
    window.record(w, true, 0)
    window.record(w, false, 0)  -- the first failure leaves
    assert.same({ 3, 1 }, { window.counts(w, 0) })
    window.record(w, false, 0)
    window.record(w, false, 0)
    assert.same({ 3, 0 }, { window.counts(w, 0) })
  end)

  it('"time" drops outcomes size ms old or older', function()
    local w = new("time", 100)
    for _, o in ipairs({ { true, 0 }, { false, 50 }, { true, 99 } }) do window.record(w, o[1], o[2]) end
    assert.same({ 3, 2 }, { window.counts(w, 99) })
    assert.same({ 2, 1 }, { window.counts(w, 100) })  -- the one at 0 is 100 ms old
    assert.same({ 1, 1 }, { window.counts(w, 150) })
    assert.same({ 0, 0 }, { window.counts(w, 199) })
    window.record(w, true, 500)
    assert.same({ 1, 1 }, { window.counts(w, 500) })
  end)

  it("clear empties it", function()
    local w = new("count", 2)
    window.record(w, true, 0)
    window.clear(w)
    assert.same({ 0, 0 }, { window.counts(w, 0) })
  end)
end)
