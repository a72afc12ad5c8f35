-- promise.pool: the order and the bound of Promise.map's calls
-- (docs/manual/map.md), without promises.
local pool = require("promise.pool")

local function takeall(q)
  local got = {}
  while true do
    local i = pool.take(q)
    if not i then break end
    got[#got + 1] = i
  end
  return got
end

describe("pool", function()
  it("hands out indices in order, at most limit at once", function()
    local q = pool.new(5, 2)
    assert.same({ 1, 2 }, takeall(q))
    assert.is_false(pool.finish(q))
    assert.same({ 3 }, takeall(q))
    assert.is_false(pool.finish(q))
    assert.is_false(pool.finish(q))
    assert.same({ 4, 5 }, takeall(q))
    assert.same({}, takeall(q))
    assert.is_false(pool.finish(q))
    assert.is_true(pool.finish(q))  -- the fifth
  end)

  it("has no bound with math.huge", function()
    assert.same({ 1, 2, 3, 4 }, takeall(pool.new(4, math.huge)))
  end)

  it("gives nothing when empty", function()
    assert.is_nil(pool.take(pool.new(0, 3)))
  end)

  it("starts nothing after stop; drop frees a slot without a result", function()
    local q = pool.new(4, 1)
    assert.equal(1, pool.take(q))
    pool.stop(q)
    pool.drop(q)
    assert.equal(0, q.running)
    assert.equal(0, q.finished)
    assert.is_nil(pool.take(q))
  end)
end)
