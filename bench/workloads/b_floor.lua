-- b, floor: workload b on bench/floor.c (see there). A chain of N
-- `next`s on a settled promise: N handler closures and N derived promises,
-- each job settling the next promise and queueing its reaction. The end is
-- read after the drain instead of awaited (no coroutine).
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/common.lua")
local F = C.floor()
local N = C.n(1000000)

local t0 = C.clock()
local p = F.resolve(0)
for _ = 1, N do
  p = p:next(function(v) return v + 1 end)
end
F.drain()
local last = F.value(p)
local t1 = C.clock()
C.report(t0, t1, last)
