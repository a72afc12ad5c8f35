--- Shared by the Redis workloads: `lua5.4 bench/workloads/redis_<x>.lua N PORT`
--- connects to a redis-server on 127.0.0.1:PORT (started by bench/run.lua).
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/common.lua")

--- The port: the second command-line argument.
---@return integer
function C.port()
  local p = math.tointeger(tonumber(arg[2]))
  if not p then error(("bad argument #2 to '%s' (port expected, got %s)"):format(arg[0], tostring(arg[2])), 0) end
  return p
end

return C
