-- b: one chain of N `next`s on a resolved promise, awaited.
-- Timed (inside the async function): building the chain and awaiting its end.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/common.lua")
local Promise = require("promise")
local N = C.n(1000000)

local ok, err = Promise.run(function()
  local t0 = C.clock()
  local p = Promise.resolve(0)
  for _ = 1, N do
    p = p:next(function(v) return v + 1 end)
  end
  local last = Promise.await(p)
  local t1 = C.clock()
  C.report(t0, t1, last)
end)
assert(ok, err)
