-- Runs the Redis examples (tag #redis): redis_cache.lua with its own
-- redis-server and against the server given by REDIS_URL;
-- distributed_lock.lua (worker processes, one frozen past its lock's ttl);
-- payment.lua's Redis mode (two processes, one charge per key).
local H = require("spec.support.helpers")
local R = require("spec.support.redis")

local EXPECTED = {
  "50 concurrent requests: 50 identical answers, 1 backend call",
  'again: "profile of user:1" from the cache, backend calls: 1',
  'after the TTL: "profile of user:1" from the backend, backend calls: 2',
}

describe("examples #redis", function()
  it("redis_cache.lua answers 50 concurrent misses with one backend call (own server)", function()
    local out, ok, how, code = H.run_example("redis_cache.lua")
    assert.is_true(ok, out)
    assert.same({ "exit", 0 }, { how, code })
    assert.same(EXPECTED, H.lines(out))
  end)

  it("redis_cache.lua uses the server of REDIS_URL", function()
    local srv = R.start()
    local ok1, err = pcall(function()
      local cmd = ("REDIS_URL='unix://%s' %slua5.4 examples/redis_cache.lua 2>&1"):format(srv.path, H.LUA_ENV)
      local out, ok, how, code = H.popen(cmd)
      assert.is_true(ok, out)
      assert.same({ "exit", 0 }, { how, code })
      assert.same(EXPECTED, H.lines(out))
      -- it used this server: its cache hit and its misses were counted here
      -- (the cached value itself expires a second after the example ends, too
      -- soon to be read back on a loaded machine)
      local stats = srv:cli("INFO", "stats")
      assert.is_true(tonumber(stats:match("keyspace_hits:(%d+)")) >= 1, stats)
      assert.is_true(tonumber(stats:match("keyspace_misses:(%d+)")) >= 2, stats)
    end)
    srv:destroy()
    assert(ok1, err)
  end)

  it("distributed_lock.lua: a frozen holder loses its lock, its late fenced write is refused", function()
    local out, ok, how, code = H.run_example("distributed_lock.lua")
    assert.is_true(ok, out)
    assert.same({ "exit", 0 }, { how, code })
    assert.same({
      "worker 1: 5 turns, 5 writes accepted",
      "worker 2: holding fence 1, freezing for 1200 ms",
      "worker 2: woke up; signal aborted: true (LockLostError)",
      "worker 2: late write with fence 1 refused (a newer holder wrote with a higher fence: true)",
      "worker 2: release: false",
      "worker 2: turn 1 ended with LockLostError: lock 'lock:account' lost: its validity passed",
      "worker 2: 5 turns, 4 writes accepted",
      "worker 3: 5 turns, 5 writes accepted",
      "accepted writes: 14, in growing fence order: true",
      "balance: 14 after 15 turns (the frozen turn's write refused)",
      "lock key left behind: 0",
    }, H.lines(out))
  end)

  it("payment.lua redis: two processes, the same requests, one charge per idempotency key", function()
    local out, ok, how, code = H.run_example("payment.lua", "redis")
    assert.is_true(ok, out)
    assert.same({ "exit", 0 }, { how, code })
    assert.same({
      "two processes receive the same 4 requests (order-2001 twice)",
      "order-2001: charge run 1 time(s) for 4 requests; every answer the same: true (paid)",
      "order-2002: charge run 1 time(s) for 2 requests; every answer the same: true (paid)",
      "order-2003: charge run 1 time(s) for 2 requests; every answer the same: true (CARD_DECLINED)",
      "retry path:  order-2002: attempt 1 failed (SERVICE_UNAVAILABLE), retrying in 50 ms",
      "gateway charges: 2 (one per paid key)",
    }, H.lines(out))
  end)
end)
