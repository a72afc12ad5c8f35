-- c: `Promise.all` over N resolved promises (the driver passes N/10, i.e.
-- 100,000 by default), then drain. The list is built before the clock
-- starts; timed: the `all` call and the drain that fulfils it.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/common.lua")
local Promise = C.promise()  -- or bench/floor.c (the driver's floor run)
local N = C.n(100000)

local list = {}
for i = 1, N do list[i] = Promise.resolve(i) end

local result
local t0 = C.clock()
Promise.all(list):next(function(values) result = values end)
Promise.drain()
local t1 = C.clock()

assert(result and result.n == N, "Promise.all did not fulfil with n values")
local sum = 0
for i = 1, N do sum = sum + result[i] end
C.report(t0, t1, sum)
