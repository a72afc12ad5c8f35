--- Shared by the Lua workloads: module paths, wall clock, argument, report.
--- Each workload is run as `lua5.4 bench/workloads/<name>.lua N` and prints
--- one line `elapsed=<seconds> check=<value> maxrss_kb=<peak RSS>`.
local M = {}

local dir = (arg and arg[0] and arg[0]:match("^(.*)[/\\]")) or "."
local root = dir .. "/../.."
-- the repository's own module wins over any installed copy
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
package.cpath = root .. "/build/?.so;" .. package.cpath

local uv = require("luv")

--- The workload size: the first command-line argument, else `default`.
---@param default integer
---@return integer
function M.n(default)
  local s = arg and arg[1]
  if s == nil then return default end
  local n = math.tointeger(tonumber(s))
  if not n or n < 1 then
    error(("bad argument #1 to '%s' (positive integer expected, got %s)")
      :format(arg[0], s), 0)
  end
  return n
end

--- The floor module (bench/floor.c, built to build/bench/floor.so by
--- `make bench`): the objects and calls the promise API requires, with no
--- promise semantics.
---@return table
function M.floor()
  package.cpath = root .. "/build/bench/?.so;" .. package.cpath
  return require("floor")
end

--- The promise module the workload runs on: `require("promise")`, or the
--- floor module when the program's second argument is `floor` (the driver
--- runs a, c and e that way, so the floor runs exactly the same Lua code).
---@return table
function M.promise()
  if arg and arg[2] == "floor" then return M.floor() end
  return require("promise")
end

--- Wall clock in nanoseconds (monotonic).
---@return integer
function M.clock()
  return uv.hrtime()
end

--- Prints the result line: elapsed wall time, the check value, peak RSS.
---@param t0 integer start, from M.clock()
---@param t1 integer end, from M.clock()
---@param check any the value the driver compares with the expected one
function M.report(t0, t1, check)
  if math.type(check) == "float" and check == math.floor(check) then
    check = math.tointeger(check)
  end
  io.write(("elapsed=%.9f check=%s maxrss_kb=%d\n")
    :format((t1 - t0) / 1e9, tostring(check), uv.getrusage().maxrss))
  io.stdout:flush()
end

return M
