-- The core examples run as users run them: a separate lua5.4 process from
-- the repository root. Each must exit 0 and print what it promises.

local H = require("spec.support.helpers")

--- Runs examples/<name>.lua; returns its exit status and output lines.
local function run_example(name)
  local out, _, _, code = H.run_example(name .. ".lua")
  local lines = {}
  for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
  return code, lines, out
end

describe("examples", function()
  it("event_loop.lua prints the seed document's two orders", function()
    local code, lines, out = run_example("event_loop")
    assert.are.equal(0, code, out)
    assert.are.same({
      "1: Synchronous", "5: Synchronous", "3: Microtask", "4: Microtask", "2: Macrotask",
      "Start", "End", "After await", "Done", "Timeout 1", "Timeout 2",
    }, lines)
  end)

  it("tour.lua walks through promises, async/await, combinators, timers and cancellation", function()
    local code, lines, out = run_example("tour")
    assert.are.equal(0, code, out)
    local text = {}
    for i, line in ipairs(lines) do text[i] = line:gsub("^%[%s*%d+ ms%] ", "") end
    assert.are.same({
      "1. promises",
      "   (handlers have not run yet)",
      "   doubled: 42",
      "2. async/await",
      "   got user7",
      "   caught: ok=false code=404",
      "3. Promise.all / Promise.race",
      "   all: user1, user2, user3 (n = 3)",
      "   race: fast",
      "4. timers",
      "   tick 1",
      "   tick 2",
      "   tick 3",
      "5. cancellation",
      "   sleep(10000) ended early: ok=false reason=user pressed cancel",
      "   with AbortSignal.timeout(25): ok=false TimeoutError: The operation was aborted due to timeout",
      "Promise.run returned true, tour finished",
    }, text)
    -- the cancelled sleep(10000) did not keep the process waiting
    local last = tonumber(lines[#lines]:match("^%[%s*(%d+) ms%]"))
    assert.is_true(last < 2000, "took " .. tostring(last) .. " ms")
  end)
end)

describe("seed scenario examples", function()
  it("combinators.lua: all fails fast, allSettled keeps partial data, race times out, any finds a mirror", function()
    local code, lines, out = run_example("combinators")
    assert.are.equal(0, code, out)
    assert.are.same({
      "all: users, orders, analytics",
      "all, one failing: ok=false DashboardError: Failed to load dashboard data"
        .. " (cause: Error: orders: 503 Service Unavailable)",
      "allSettled: critical=critical optional={feature2}",
      "race, fast enough: profile",
      "race, too slow: ok=false TimeoutError: Request timeout",
      "any: mirror-asia",
      "any, all failing: ok=false AggregateError: All promises were rejected, 2 errors",
    }, lines)
  end)

  it("error_propagation.lua: structured errors with causes and correlation ids across services", function()
    local code, lines, out = run_example("error_propagation")
    assert.are.equal(0, code, out)
    assert.are.same({
      "req-1: complete record, 0 errors",
      "req-2: partial record (medical=nil), 1 error: ServiceError: medical: HTTP 503 [SERVICE_ERROR, req-2]",
      "req-3: ok=false ServiceError: patient 9 not found [PATIENT_NOT_FOUND]",
      "       caused by NotFound: demographics: HTTP 404, caused by HTTP 404 on /demographics/9",
      "       ServiceError.is: true, NotFound.is(cause): true",
    }, lines)
  end)
end)
