-- Memory per pending promise with one handler: the promise, its handler and
-- the promise that `next` returns, measured from collectgarbage("count")
-- deltas over N of them (the holding arrays are allocated before the first
-- reading, so they are not counted). Measured twice: holding only the
-- promises, and also holding the resolve function, as a program that means
-- to settle them later does. Prints
-- `bytes=<without resolve> bytes_resolve=<with resolve> check=<sum>`.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/common.lua")
local Promise = require("promise")
local N = C.n(100000)

local function full_gc()
  collectgarbage("collect")
  collectgarbage("collect")
end

--- Bytes per pending promise (plus handler and derived promise).
---@param keep_resolve boolean also hold each promise's resolve function
---@return number bytes, table derived, table resolvers
local last_resolve  -- the executor stores its resolve function here
local kept = {}     -- everything measured stays reachable until the end

local function measure(keep_resolve)
  local promises, derived, resolvers = {}, {}, {}
  for i = 1, N do promises[i], derived[i], resolvers[i] = false, false, false end
  kept[#kept + 1] = { promises, derived, resolvers }
  full_gc()
  local before = collectgarbage("count")
  for i = 1, N do
    local p = Promise.new(function(r) last_resolve = r end)
    derived[i] = p:next(function(v) return v end)
    promises[i] = p
    if keep_resolve then resolvers[i] = last_resolve end
  end
  last_resolve = nil
  full_gc()
  local after = collectgarbage("count")
  return (after - before) * 1024 / N, derived, resolvers
end

local without = measure(false)
full_gc()
local with, derived, resolvers = measure(true)

-- the promises measured are real: settle them and check every handler ran
for i = 1, N do resolvers[i](i) end
Promise.drain()
local sum = 0
for i = 1, N do
  local state, value = derived[i]:state()
  assert(state == "fulfilled", state)
  sum = sum + value
end
io.write(("bytes=%.1f bytes_resolve=%.1f check=%d\n"):format(without, with, sum))
