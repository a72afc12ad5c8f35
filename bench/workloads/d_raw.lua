-- d, raw Lua: N coroutine yield/resume round trips, the bare mechanism under
-- `await`: the coroutine yields each value and is resumed with it.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/common.lua")
local N = C.n(1000000)
local yield, resume = coroutine.yield, coroutine.resume

local t0 = C.clock()
local co = coroutine.create(function()
  local sum = 0
  for i = 1, N do
    sum = sum + yield(i)
  end
  return sum
end)
local ok, v = resume(co)
while coroutine.status(co) == "suspended" do
  ok, v = resume(co, v)
end
local t1 = C.clock()
assert(ok, v)
C.report(t0, t1, v)
