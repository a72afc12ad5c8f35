-- c, floor: workload c on bench/floor.c (see a_floor.lua). `all` over N
-- settled promises (the driver passes N/10): one element job per element,
-- each storing its value in the result table and counting down; the last
-- one settles the result, whose handler runs. The list is built before the
-- clock starts, as in c.lua.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/common.lua")
local F = C.floor()
local N = C.n(100000)

local list = {}
for i = 1, N do list[i] = F.resolve(i) end

local result
local t0 = C.clock()
F.all(list):next(function(values) result = values end)
F.drain()
local t1 = C.clock()

assert(result and result.n == N, "all did not fulfil with n values")
local sum = 0
for i = 1, N do sum = sum + result[i] end
C.report(t0, t1, sum)
