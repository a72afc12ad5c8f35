-- redis b: N sequential GETs, each awaited before the next (latency-bound).
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/redis_common.lua")
local Promise = require("promise")
local redis = require("promise.redis")
local await = Promise.await
local N, PORT = C.n(20000), C.port()

local ok, err = Promise.run(function()
  local c = await(redis.connect{ port = PORT })
  await(c:set("bench:b", "value"))
  local good = 0
  local t0 = C.clock()
  for _ = 1, N do
    if await(c:get("bench:b")) == "value" then good = good + 1 end
  end
  local t1 = C.clock()
  await(c:close())
  C.report(t0, t1, good)
end)
assert(ok, err)
