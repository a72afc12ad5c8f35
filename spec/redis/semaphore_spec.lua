-- redis.semaphore against a real redis-server (tag #redis): permits up to
-- the limit, expired holders cleaned up on the server's clock, the key
-- expiring by itself, and never more than `limit` holders across processes.
local Promise = require("promise")
local redis = require("promise.redis")
local H = require("spec.support.helpers")
local R = require("spec.support.redis")

local await = Promise.await

describe("redis.semaphore #redis", function()
  local suite = R.suite()
  local with = suite.with

  it("gives up to limit permits, refuses more, and frees one on release", function()
    with(function(c)
      local sem = redis.semaphore(c, "pool", 2, { ttl = 5000, prefix = "app:" })
      assert.equal("app:pool", sem.key)
      assert.equal(2, sem.limit)
      local a = await(sem:acquire())
      local b = await(sem:acquire())
      assert.are_not.equal(a.token, b.token)
      assert.is_nil(a.fence)
      assert.equal(2, await(c:zcard("app:pool")))
      local err = H.rejection(sem:acquire())
      assert.is_true(Promise.LockError.is(err))
      assert.equal("LOCKED", err.code)
      assert.equal("semaphore 'app:pool' has no free permit (limit 2)", err.message)
      local waiting = sem:acquire({ wait = math.huge, retryDelay = 10, retryJitter = 5 })
      assert.is_true(await(a:release()))
      local d = await(waiting)
      assert.is_false(await(a:release()))
      assert.equal(d, await(d:extend(8000)))
      assert.is_true(await(c:pttl("app:pool")) > 7000)
      assert.is_true(await(b:release()))
      assert.is_true(await(d:release()))
      assert.equal(0, await(c:exists("app:pool")))
    end)
  end)

  it("cleans up an expired holder, and the set expires with its last member", function()
    with(function(c)
      local sem = redis.semaphore(c, "pool", 1, { ttl = 300 })
      local crashed = await(sem:acquire())         -- never released, never extended
      local left = await(c:pttl("pool"))
      assert.is_true(left > 0 and left <= 300)
      local next = await(sem:acquire({ wait = 5000, retryDelay = 20, retryJitter = 10 }))
      assert.is_true(crashed.signal.aborted)
      assert.same({ next.token, n = 1 }, await(c:zrange("pool", 0, -1)))
      assert.is_false(await(crashed:release()))
      assert.is_true(Promise.LockLostError.is(H.rejection(crashed:extend())))
      await(Promise.sleep(400))
      assert.equal(0, await(c:exists("pool")))     -- expired by itself
      assert.is_false(await(next:release()))
    end)
  end)

  it("using holds a permit while fn runs, extending it past its ttl", function()
    with(function(c)
      local sem = redis.semaphore(c, "pool", 1, { ttl = 500 })
      local v = await(sem:using(function(signal, permit)
        await(Promise.sleep(1600))
        assert.is_false(signal.aborted)
        assert.equal(1, await(c:zcard("pool")))
        assert.equal("LOCKED", H.rejection(sem:acquire()).code)
        return permit.token
      end))
      assert.equal(32, #v)
      assert.equal(0, await(c:exists("pool")))
    end)
  end)

  it("refuses bad arguments", function()
    with(function(c)
      assert.has_error(function() redis.semaphore(c, 1, 2) end,
        "bad argument #2 to 'semaphore' (string expected, got number)")
      assert.has_error(function() redis.semaphore(c, "k", 0) end,
        "bad argument #3 to 'semaphore' (positive integer expected, got 0)")
      local sem = redis.semaphore(c, "k", 1)
      assert.has_error(function() sem:using() end, "bad argument #1 to 'using' (function expected, got nil)")
      assert.has_error(function() sem:acquire({ ttl = 0 }) end,
        "bad argument #1 to 'acquire' (field 'ttl': number in (0, 2147483647] expected, got 0)")
    end)
  end)

  it("never has more than limit holders across 3 processes", function()
    local dir = (H.popen("mktemp -d /tmp/sem-spec.XXXXXX")):match("[^\n]+")
    local child = [[
local Promise = require("promise")
local redis = require("promise.redis")
local uv = require("luv")
local await = Promise.await
local port, log, fifo = tonumber(arg[1]), arg[2], arg[3]
local ok, err = Promise.run(function()
  local c = await(redis.connect{ port = port })
  local sem = redis.semaphore(c, "pool", 2, { ttl = 10000, wait = math.huge, retryDelay = 2, retryJitter = 3 })
  local f = assert(io.open(fifo, "a"))
  f:write("ready\n")
  f:close()
  await(c:blpop("go", 0))
  local out = {}
  for _ = 1, 40 do
    await(sem:using(function()
      local t0 = uv.hrtime()
      await(Promise.sleep(2))
      out[#out + 1] = ("%d %d"):format(t0, uv.hrtime())
    end))
  end
  f = assert(io.open(log, "w"))
  f:write(table.concat(out, "\n"), "\n")
  f:close()
  await(c:close())
end)
if not ok then io.stderr:write(tostring(err), "\n") os.exit(1) end
]]
    suite.with_fifo(function(c, fifo)
      local argvs = {}
      for i = 1, 3 do argvs[i] = { suite.srv.port, dir .. "/log" .. i, fifo.path } end
      R.together(c, fifo, child, argvs)
      assert.equal(0, await(c:exists("pool")))
    end)
    local events = {}
    for i = 1, 3 do
      for line in io.lines(dir .. "/log" .. i) do
        local a, b = line:match("^(%d+) (%d+)$")
        events[#events + 1] = { tonumber(a), 1 }
        events[#events + 1] = { tonumber(b), -1 }
      end
    end
    os.execute("rm -rf " .. dir)
    assert.equal(240, #events)
    table.sort(events, function(x, y) return x[1] < y[1] or (x[1] == y[1] and x[2] < y[2]) end)
    local holders, most = 0, 0
    for _, e in ipairs(events) do
      holders = holders + e[2]
      most = math.max(most, holders)
    end
    assert.is_true(most <= 2, "more than 2 holders at once: " .. most)
  end)
end)
