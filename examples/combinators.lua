-- The seed document's Q3: Promise.all (fail fast), Promise.allSettled
-- (always complete), Promise.race (first wins) and Promise.any (first
-- success), with simulated services on timers.
--
-- Run from the repository root:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 examples/combinators.lua
local Promise = require("promise")
local await = Promise.await

local DashboardError = Promise.Error:extend("DashboardError")

--- A simulated service: answers `value` after `ms`, or fails with `err`.
local function service(name, ms, err)
  return Promise.sleep(ms):next(function()
    if err then error(Promise.Error(name .. ": " .. err), 0) end
    return name
  end)
end

local ok, why = Promise.run(function()
  -- Promise.all: every result in input order, or the first failure.
  local r = await(Promise.all({ service("users", 30), service("orders", 10), service("analytics", 20) }))
  print(("all: %s, %s, %s"):format(r[1], r[2], r[3]))

  local ok1, err = pcall(function()
    local ok2, cause = pcall(await, Promise.all({
      service("users", 30), service("orders", 10, "503 Service Unavailable"), service("analytics", 20),
    }))
    if not ok2 then
      -- wrap, keeping the original error as the cause
      error(DashboardError("Failed to load dashboard data", { cause = cause }), 0)
    end
  end)
  print(("all, one failing: ok=%s %s (cause: %s)"):format(tostring(ok1), tostring(err), tostring(err.cause)))

  -- Promise.allSettled: every outcome, so partial data can be shown.
  local results = await(Promise.allSettled({
    service("critical", 10), service("feature1", 20, "timeout"), service("feature2", 15),
  }))
  local critical = results[1].status == "fulfilled" and results[1].value or nil
  local optional = {}
  for i = 2, results.n do
    if results[i].status == "fulfilled" then optional[#optional + 1] = results[i].value end
  end
  print(("allSettled: critical=%s optional={%s}"):format(critical, table.concat(optional, ", ")))

  -- Promise.race with a timeout. Unlike the seed's version, the losing
  -- timer is cleared as soon as the race is decided, and the slow request is
  -- cancelled through its signal (Promise.timeout does both for you).
  local function fetchWithTimeout(name, ms, timeoutMs)
    local controller = Promise.AbortController()
    local timer
    local timeout = Promise.new(function(_, reject)
      timer = Promise.setTimeout(function()
        reject(Promise.TimeoutError("Request timeout"))  -- settles the race first,
        controller:abort()                                 -- then cancels the request
      end, timeoutMs)
    end)
    local request = Promise.sleep(ms, { signal = controller.signal, value = name })
    return Promise.race({ request, timeout }):finally(function() Promise.clearTimeout(timer) end)
  end
  print("race, fast enough: " .. await(fetchWithTimeout("profile", 10, 50)))
  local ok3, err3 = pcall(await, fetchWithTimeout("report", 500, 50))
  print(("race, too slow: ok=%s %s"):format(tostring(ok3), tostring(err3)))

  -- Promise.any: the first mirror that answers; AggregateError if none does.
  local fastest = await(Promise.any({
    service("mirror-eu", 40), service("mirror-us", 5, "connection refused"), service("mirror-asia", 25),
  }))
  print("any: " .. fastest)
  local ok4, err4 = pcall(await, Promise.any({ service("a", 5, "down"), service("b", 10, "down") }))
  print(("any, all failing: ok=%s %s, %d errors"):format(tostring(ok4), tostring(err4), err4.errors.n))
end)
if not ok then error(why, 0) end
