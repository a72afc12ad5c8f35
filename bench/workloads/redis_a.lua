-- redis a: N commands, SET then GET of its own key, from 100 coroutines
-- that each await every reply (the commands of a loop turn are pipelined).
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/redis_common.lua")
local Promise = require("promise")
local redis = require("promise.redis")
local await = Promise.await
local N, PORT, W = C.n(100000), C.port(), 100

local ok, err = Promise.run(function()
  local c = await(redis.connect{ port = PORT })
  local pairs_ = N // (2 * W)
  local good = 0
  local worker = Promise.async(function(w)
    for i = 1, pairs_ do
      local k = "bench:a:" .. w .. ":" .. i
      if await(c:set(k, k)) == "OK" then good = good + 1 end
      if await(c:get(k)) == k then good = good + 1 end
    end
  end)
  local t0 = C.clock()
  local ps = {}
  for w = 1, W do ps[w] = worker(w) end
  await(Promise.all(ps))
  local t1 = C.clock()
  await(c:close())
  C.report(t0, t1, good)
end)
assert(ok, err)
