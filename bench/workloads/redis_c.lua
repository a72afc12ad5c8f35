-- redis c: a 1 MB value written and read back N times.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/redis_common.lua")
local Promise = require("promise")
local redis = require("promise.redis")
local await = Promise.await
local N, PORT = C.n(200), C.port()

local ok, err = Promise.run(function()
  local c = await(redis.connect{ port = PORT })
  local big = ("0123456789abcdef"):rep(65536)
  local good = 0
  local t0 = C.clock()
  for _ = 1, N do
    await(c:set("bench:c", big))
    if await(c:get("bench:c")) == big then good = good + 1 end
  end
  local t1 = C.clock()
  await(c:close())
  C.report(t0, t1, good)
end)
assert(ok, err)
