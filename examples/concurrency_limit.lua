-- Concurrency-limited processing with Promise.map: 12 simulated jobs, at
-- most 3 running at once. Results come back in input order whatever the
-- order in which the jobs finish.
--
-- Run from the repository root:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 examples/concurrency_limit.lua
local Promise = require("promise")

local CONCURRENCY = 3
local durations = { 60, 20, 40, 30, 50, 20, 70, 30, 40, 20, 50, 30 } -- ms

local running, peak = 0, 0

-- A simulated job: takes `ms` milliseconds, honours cancellation.
local function job(ms, index, signal)
  running = running + 1
  if running > peak then peak = running end
  print(("start job %2d (%2d ms), running: %d"):format(index, ms, running))
  return Promise.sleep(ms, { signal = signal }):finally(function()
    running = running - 1
  end):next(function()
    return ("job %d took %d ms"):format(index, ms)
  end)
end

local ok, err = Promise.run(function()
  local t0 = Promise.now()
  local results = Promise.await(Promise.map(durations, job, { concurrency = CONCURRENCY }))
  local elapsed = Promise.now() - t0
  print(("%d results, in input order:"):format(results.n))
  for i = 1, results.n do print("  " .. results[i]) end
  print(("at most %d jobs ran at once (limit %d)"):format(peak, CONCURRENCY))
  -- sequentially it would take the sum of the durations
  local total = 0
  for _, ms in ipairs(durations) do total = total + ms end
  print(("faster than sequential: %s"):format(tostring(elapsed < total)))
end)
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
