-- a: N times `Promise.new(function(r) r(i) end):next(function(v) ... end)`,
-- then drain. Timed: the creations and the drain that runs every handler.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/common.lua")
local Promise = C.promise()  -- or bench/floor.c (the driver's floor run)
local N = C.n(1000000)

local sum = 0
local t0 = C.clock()
for i = 1, N do
  Promise.new(function(r) r(i) end):next(function(v) sum = sum + v end)
end
Promise.drain()
local t1 = C.clock()
C.report(t0, t1, sum)
