-- e: N pending promises each with one `next` handler, then all resolved,
-- then drain. Timed: creating the promises and handlers, resolving them all,
-- and the drain that runs every handler.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/common.lua")
local Promise = C.promise()  -- or bench/floor.c (the driver's floor run)
local N = C.n(1000000)

local resolvers = {}
local sum = 0
local t0 = C.clock()
for i = 1, N do
  Promise.new(function(r) resolvers[i] = r end)
    :next(function(v) sum = sum + v end)
end
for i = 1, N do
  resolvers[i](i)
end
Promise.drain()
local t1 = C.clock()
C.report(t0, t1, sum)
