-- a, floor: workload a on bench/floor.c, which allocates and calls what the
-- promise API requires (a userdata promise with a metatable, two resolving
-- closures, the executor run under pcall, the derived promise, one queued
-- job, the handler run under pcall) and nothing else. Same closures, same
-- size, same check as a.lua; no promise can do this work faster.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/common.lua")
local F = C.floor()
local N = C.n(1000000)

local sum = 0
local t0 = C.clock()
for i = 1, N do
  F.new(function(r) r(i) end):next(function(v) sum = sum + v end)
end
F.drain()
local t1 = C.clock()
C.report(t0, t1, sum)
