-- d: N `await`s of plain values in one async function.
-- Timed (inside the async function): the loop of awaits.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/common.lua")
local Promise = require("promise")
local await = Promise.await
local N = C.n(1000000)

local ok, err = Promise.run(function()
  local t0 = C.clock()
  local sum = 0
  for i = 1, N do
    sum = sum + await(i)
  end
  local t1 = C.clock()
  C.report(t0, t1, sum)
end)
assert(ok, err)
