-- e, floor: workload e on bench/floor.c (see a_floor.lua). N pending
-- promises, each with one reaction kept in its user values and its resolve
-- function kept in a table; then all resolved (each queueing its job), then
-- drained.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/common.lua")
local F = C.floor()
local N = C.n(1000000)

local resolvers = {}
local sum = 0
local t0 = C.clock()
for i = 1, N do
  F.new(function(r) resolvers[i] = r end)
    :next(function(v) sum = sum + v end)
end
for i = 1, N do
  resolvers[i](i)
end
F.drain()
local t1 = C.clock()
C.report(t0, t1, sum)
