-- k: N (200) `process.exec("true", {})`, 16 at a time (`Promise.map` with
-- concurrency 16). Timed: all of them. Check: the exit codes 0.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/io_common.lua")
local Promise = require("promise")
local process = require("promise.process")
local await = Promise.await
local N = C.n(200)

C.main(nil, function()
  local t0 = C.clock()
  local rs = await(Promise.map(C.range(N), function() return process.exec("true", {}) end,
    { concurrency = 16 }))
  local t1 = C.clock()
  local zero = 0
  for i = 1, N do
    if rs[i].code == 0 then zero = zero + 1 end
  end
  return t0, t1, zero
end)
