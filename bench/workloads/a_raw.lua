-- a, raw Lua: the closures of workload a without the promise machinery.
-- Per item: create the executor closure and call it with a resolve function
-- that stores the value, then create the handler closure and call it.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/common.lua")
local N = C.n(1000000)

local sum = 0
local value
local function resolve(v) value = v end
local t0 = C.clock()
for i = 1, N do
  local executor = function(r) r(i) end
  executor(resolve)
  local handler = function(v) sum = sum + v end
  handler(value)
end
local t1 = C.clock()
C.report(t0, t1, sum)
