-- Async stack traces through the resilience helpers: retry, timeout, a
-- limiter and a breaker each add one "--- awaited in:" line (not their
-- internals), and the promise they return keeps the attempt's trace.
local Promise = require("promise")
local H = require("spec.support.helpers")

local async, await = Promise.async, Promise.await
local D = Promise.debug
local THIS = "spec/trace_helpers_spec.lua"

local function lines(...)
  return table.concat({ ... }, "\n")
end

-- the traceback of the rejected `p`, paths as in the repository
local function trace(p)
  assert.are.equal("rejected", (p:state()))
  return (D.traceback(p):gsub("%./spec/", "spec/"))
end

-- the caller's line
local function line()
  return debug.getinfo(2, "l").currentline
end

local L = {}
local charge = async(function(card)
  await(nil)
  L.charge = line() + 1
  error("card declined: " .. card, 0)
end)

describe("async traces through the helpers", function()
  local clock, unhandled
  H.on_fake_clock(before_each, after_each, function(c) clock = c end)
  before_each(function() unhandled = H.capture_unhandled() end)
  after_each(function() Promise.onUnhandledRejection(nil) end)

  local function settle(p)
    clock:runAll()
    Promise.drain()
    return p
  end

  it("retry: one line naming the attempt, then whoever awaits the retry", function()
    local pay = async(function(card)
      L.pay = line() + 1
      return await(Promise.retry(function() return charge(card) end, { retries = 2, minDelay = 1 }))
    end)
    local p = settle(pay("4242"))
    assert.are.equal(lines(
      "stack traceback:",
      "\t[C]: in function 'error'",
      "\t" .. THIS .. ":" .. L.charge .. ": in function 'charge'",
      "--- awaited in: Promise.retry (attempt 3 of 3)",
      "--- awaited in: " .. THIS .. ":" .. L.pay .. ": in function 'pay'"
    ), trace(p))
    assert.same({ "card declined: 4242" }, unhandled)
  end)

  it("retry without a limit says so; an attempt that times out starts a new trace", function()
    local n = 0
    local p = settle(Promise.retry(function()
      n = n + 1
      if n < 3 then return charge("x") end
      error("given up", 0)
    end, { retries = math.huge, minDelay = 1, shouldRetry = function(_, k) return k < 2 end }))
    assert.matches("^stack traceback:\n\t%[C%]: in function 'error'\n\t" .. THIS:gsub("%p", "%%%0") ..
      ":" .. L.charge .. ": in function 'charge'\n%-%-%- awaited in: Promise%.retry %(attempt 2 of unlimited%)$",
      trace(p))
  end)

  it("timeout, retry and a limiter in one chain: one line each", function()
    local limit = Promise.limiter(1)
    local main = async(function()
      L.main = line() + 1
      return await(Promise.timeout(limit(function()
        return Promise.retry(function() return charge("1") end, { retries = 0 })
      end), 1000))
    end)
    local p = settle(main())
    assert.are.equal(lines(
      "stack traceback:",
      "\t[C]: in function 'error'",
      "\t" .. THIS .. ":" .. L.charge .. ": in function 'charge'",
      "--- awaited in: Promise.retry (attempt 1 of 1)",
      "--- awaited in: a Promise.limiter slot",
      "--- awaited in: Promise.timeout (1000 ms)",
      "--- awaited in: " .. THIS .. ":" .. L.main .. ": in function 'main'"
    ), trace(p))
  end)

  it("breaker: one line", function()
    local cb = Promise.breaker{}
    local main = async(function()
      L.main = line() + 1
      return await(cb:call(charge, "2"))
    end)
    local p = settle(main())
    assert.are.equal(lines(
      "stack traceback:",
      "\t[C]: in function 'error'",
      "\t" .. THIS .. ":" .. L.charge .. ": in function 'charge'",
      "--- awaited in: a Promise.breaker call",
      "--- awaited in: " .. THIS .. ":" .. L.main .. ": in function 'main'"
    ), trace(p))
  end)
end)
