-- f: N `setTimeout(fn, 0)` callbacks, each resolving a promise whose `next`
-- handler adds the value; the last one resolves the promise that the main
-- async function awaits. Timed (inside it): scheduling, firing, settling.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/common.lua")
local Promise = require("promise")
local setTimeout = Promise.setTimeout
local N = C.n(1000000)

local ok, err = Promise.run(function()
  local t0 = C.clock()
  local sum, count = 0, 0
  local done, finish = Promise.withResolvers()
  for i = 1, N do
    Promise.new(function(resolve)
      setTimeout(function() resolve(i) end, 0)
    end):next(function(v)
      sum = sum + v
      count = count + 1
      if count == N then finish(sum) end
    end)
  end
  local total = Promise.await(done)
  local t1 = C.clock()
  C.report(t0, t1, total)
end)
assert(ok, err)
