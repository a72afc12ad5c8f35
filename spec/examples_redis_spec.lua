-- Runs examples/redis_cache.lua (tag #redis): with its own redis-server,
-- and against the server given by REDIS_URL.
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
      -- the value it cached is in this server
      assert.matches("profile of user:1", srv:cli("GET", "cache:user:1"))
    end)
    srv:destroy()
    assert(ok1, err)
  end)
end)
