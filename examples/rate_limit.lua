-- A simulated API called through a sliding-window rate limiter: at most 3
-- calls may start in any 200 ms window. Ten calls are made at once; the
-- limiter spaces their starts (FIFO). A sliding log has no fixed window
-- edge, so there is never a double burst around one.
--
-- Run from the repository root:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 examples/rate_limit.lua
local Promise = require("promise")

local LIMIT, INTERVAL = 3, 200

local rl = Promise.ratelimiter{ limit = LIMIT, interval = INTERVAL }
local t0
local starts = {}

-- The simulated API: answers after 15 ms.
local function api(id)
  local t = Promise.now() - t0
  starts[#starts + 1] = t
  -- real timers fire a few ms late: show the start rounded down to 100 ms
  print(("call %2d started at +%d ms"):format(id, t // 100 * 100))
  return Promise.sleep(15, { value = ("reply %d"):format(id) })
end

local ok, err = Promise.run(function()
  t0 = Promise.now()
  local calls = {}
  for id = 1, 10 do calls[id] = rl(api, id) end
  print(("queued: %d"):format(rl.pendingCount))
  local replies = Promise.await(Promise.all(calls))
  print(("%d replies, first %q, last %q"):format(replies.n, replies[1], replies[replies.n]))

  -- the busiest window [a, a + INTERVAL) over the recorded start times
  local busiest = 0
  for _, a in ipairs(starts) do
    local count = 0
    for _, t in ipairs(starts) do
      if t >= a and t < a + INTERVAL then count = count + 1 end
    end
    if count > busiest then busiest = count end
  end
  print(("most starts in any %d ms window: %d (limit %d)"):format(INTERVAL, busiest, LIMIT))
end)
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
