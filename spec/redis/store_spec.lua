-- redis.store: the shared rate limiter, against a real redis-server (tag
-- #redis) for the sliding log and GCRA, across 3 processes, and on the fake
-- clock with a fake client for its own timer (it asks again after the
-- wait the script reported, never by polling).
local Promise = require("promise")
local redis = require("promise.redis")
local storemod = require("promise.redis.store")
local H = require("spec.support.helpers")
local R = require("spec.support.redis")

local await = Promise.await

-- Promise.ratelimiter{ ..., store = store }
local function limiter(store, opts)
  local o = { store = store }
  for k, v in pairs(opts) do o[k] = v end
  return Promise.ratelimiter(o)
end

describe("redis.store #redis", function()
  local suite = R.suite()
  local with = suite.with

  it("sliding: admits limit starts per interval, FIFO, then lets the key expire", function()
    with(function(c)
      local rl = limiter(redis.store(c, { prefix = "rl:api" }), { limit = 3, interval = 1000 })
      -- a window of a second: the three tries below fit in it even under valgrind
      assert.equal("sliding", rl.strategy)
      assert.is_true(await(rl:tryAcquire()))
      local first = rl.lastStart
      assert.is_true(await(rl:tryAcquire(2)))
      assert.is_false(await(rl:tryAcquire()))
      local order, starts = {}, {}
      local all = {}
      for i = 1, 4 do
        all[i] = rl(function() order[#order + 1] = i; starts[i] = rl.lastStart end)
      end
      assert.equal(4, rl.pendingCount)
      await(Promise.all(all))
      assert.same({ 1, 2, 3, 4 }, order)
      for i = 1, 3 do assert.is_true(starts[i] >= first + 1000) end
      assert.is_true(starts[4] >= starts[1] + 1000)
      local left = await(c:pttl("rl:api"))
      assert.is_true(left > 0 and left <= 1000)
      await(Promise.sleep(1050))
      assert.equal(0, await(c:exists("rl:api")))
    end)
  end)

  it("token: GCRA admits a burst, then one start per limit/interval", function()
    with(function(c)
      -- one start per 400 ms: the fourth try comes well within that even
      -- under valgrind, so the bucket is surely still empty then
      local rl = limiter(redis.store(c, { prefix = "rl:gcra" }), { strategy = "token", limit = 5, interval = 2000,
        burst = 3 })
      assert.equal(3, rl.burst)
      assert.is_true(await(rl:tryAcquire()))
      local first = rl.lastStart                -- the bucket counts from here
      for _ = 1, 2 do assert.is_true(await(rl:tryAcquire())) end
      assert.is_false(await(rl:tryAcquire()))
      await(rl:acquire())
      assert.is_true(rl.lastStart >= first + 400 - 1)
      await(rl:acquire(2))
      assert.is_true(rl.lastStart >= first + 1200 - 1)
      local left = await(c:pttl("rl:gcra"))
      assert.is_true(left > 0 and left <= 2800)
    end)
  end)

  it("an aborted waiter leaves the queue, clear rejects the rest, QueueFullError past maxQueue", function()
    with(function(c)
      local rl = limiter(redis.store(c), { limit = 1, interval = 200, maxQueue = 2 })
      await(rl:acquire())
      local ctl = Promise.AbortController()
      local a = rl:acquire(1, { signal = ctl.signal })
      local b = rl:acquire()
      local full = H.rejection(rl:acquire())
      assert.is_true(Promise.QueueFullError.is(full))
      ctl:abort("no longer")
      assert.equal("no longer", H.rejection(a))
      await(b)
      local d = rl:acquire()
      rl:clear("closing")
      assert.equal("closing", H.rejection(d))
      assert.equal(0, rl.pendingCount)
    end)
  end)

  it("refuses bad arguments", function()
    with(function(c)
      local store = redis.store(c)
      assert.has_error(function() redis.store(nil) end, "bad argument #1 to 'store' (RedisClient expected, got nil)")
      assert.has_error(function() redis.store(c, { prefix = 1 }) end,
        "bad argument #2 to 'store' (field 'prefix': string expected, got number)")
      local rl = limiter(store, { limit = 2, interval = 100 })
      assert.has_error(function() rl:acquire(3) end, "bad argument #1 to 'acquire' (cost 3 exceeds the capacity 2)")
      assert.has_error(function() rl:acquire(0.5) end, "bad argument #1 to 'acquire' (integer expected, got number)")
      assert.has_error(function() limiter(store, { limit = 2.5, interval = 100 }) end,
        "bad argument #1 to 'ratelimiter' (field 'limit': integer expected with a Redis store and \"sliding\")")
      assert.has_error(function() Promise.ratelimiter{ limit = 1, interval = 10, store = {} } end,
        "bad argument #1 to 'ratelimiter' (field 'store': rate limiter store expected, got table)")
      assert.has_error(function() Promise.ratelimiter{ limit = 1, interval = 10, store = store, burst = 2 } end,
        "bad argument #1 to 'ratelimiter' (field 'burst' only applies to strategy \"token\")")
    end)
  end)

  it("3 processes sharing 10 per 1000 ms for 5 s: never more than 10 starts in any window", function()
    local child = [[
local Promise = require("promise")
local redis = require("promise.redis")
local await = Promise.await
local port, fifo = tonumber(arg[1]), arg[2]
local ok, err = Promise.run(function()
  local c = await(redis.connect{ port = port })
  local rl = Promise.ratelimiter{ limit = 10, interval = 1000, store = redis.store(c, { prefix = "shared" }) }
  local f = assert(io.open(fifo, "a"))
  f:write("ready\n")
  f:close()
  await(c:blpop("go", 0))
  local calls = {}
  for i = 1, 40 do
    calls[i] = rl(function() print(i, rl.lastStart) end)
  end
  await(Promise.sleep(5000))
  rl:clear()
  await(Promise.allSettled(calls))
  await(c:close())
end)
if not ok then io.stderr:write(tostring(err), "\n") os.exit(1) end
]]
    local outs
    suite.with_fifo(function(c, fifo)
      local argv = { suite.srv.port, fifo.path }
      outs = R.together(c, fifo, child, { argv, argv, argv })
      local left = await(c:pttl("shared"))
      assert.is_true(left <= 1000)
      await(Promise.sleep(1100))
      assert.equal(0, await(c:exists("shared")))
    end)
    local times = {}
    for _, r in ipairs(outs) do
      local last = 0
      for _, line in ipairs(H.lines(r.stdout)) do
        local i, t = line:match("^(%d+)\t(%d+)$")
        i, t = tonumber(i), tonumber(t)
        assert.equal(last + 1, i, "not FIFO within a process")
        last = i
        times[#times + 1] = t
      end
    end
    table.sort(times)
    assert.is_true(#times >= 20, "only " .. #times .. " starts in 5 s")
    assert.is_true(#times <= 60)
    for i = 1, #times do
      local n = 0
      for j = i, #times do
        if times[j] < times[i] + 1000 then n = n + 1 end
      end
      assert.is_true(n <= 10, ("%d starts in the window from %d"):format(n, times[i]))
    end
  end)
end)

describe("redis.store on the fake clock", function()
  local clock
  H.on_fake_clock(before_each, after_each, function(c) clock = c end)

  it("asks the server again after the wait it reported, not before, and never polls", function()
    local replies = { { 250, 1000 }, { 100, 1250 }, { 0, 1350 }, { 0, 1351 } }
    local asked = {}
    local fake = { eval = function(_, s)
      asked[#asked + 1] = ("%s@%d"):format(s == storemod.scripts.SLIDING and "sliding" or "?", Promise.now())
      return Promise.resolve(table.remove(replies, 1))
    end }
    local rl = limiter(redis.store(fake), { limit = 1, interval = 1000 })
    local log = {}
    local a = rl:acquire():next(function() log[#log + 1] = "a@" .. Promise.now() end)
    local b = rl:acquire():next(function() log[#log + 1] = "b@" .. Promise.now() end)
    Promise.drain()
    assert.same({ "sliding@0" }, asked)
    clock:advance(249)
    assert.same({ "sliding@0" }, asked)
    clock:advance(1)
    assert.same({ "sliding@0", "sliding@250" }, asked)
    clock:advance(100)
    assert.same({ "sliding@0", "sliding@250", "sliding@350", "sliding@350" }, asked)
    Promise.drain()
    assert.equal("fulfilled", H.settle(a))
    assert.equal("fulfilled", H.settle(b))
    assert.same({ "a@350", "b@350" }, log)
    assert.equal(1351, rl.lastStart)
  end)
end)
