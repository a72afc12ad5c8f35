-- Async stack traces (src/trace.c): the traceback kept beside a rejection
-- goes on through whoever awaited the promise when the error was raised.
local Promise = require("promise")
local core = require("promise.core")
local H = require("spec.support.helpers")
local F = require("spec.support.trace_chain")

local async, await = Promise.async, Promise.await
local S = "spec/support/trace_chain.lua"
local MOD = "spec.support.trace_chain."

-- the traceback of `p` once the queue has drained, paths as in the repository
local function trace(p)
  Promise.drain()
  local state = p:state()
  assert.are.equal("rejected", state)
  return (core.traceback(p):gsub("%./spec/", "spec/"))
end

local function lines(...)
  return table.concat({ ... }, "\n")
end

describe("async stack traces", function()
  local unhandled
  before_each(function() unhandled = H.capture_unhandled() end)
  after_each(function() Promise.onUnhandledRejection(nil) end)

  it("go through a three-level chain of async functions, one line each", function()
    assert.are.equal(lines(
      "stack traceback:",
      "\t[C]: in function 'error'",
      "\t" .. S .. ":11: in function 'chargeCard'",
      "--- awaited in: " .. S .. ":22: in function 'processPayment'",
      "--- awaited in: " .. S .. ":27: in function '" .. MOD .. "handleRequest'"
    ), trace(F.handleRequest("declined")))
    assert.are.equal(1, #unhandled)
  end)

  it("name the combinator and the element: Promise.all", function()
    assert.are.equal(lines(
      "stack traceback:",
      "\t[C]: in function 'error'",
      "\t" .. S .. ":11: in function 'chargeCard'",
      "--- awaited in: " .. S .. ":22: in function 'processPayment'",
      "--- in Promise.all (element 2)",
      "--- awaited in: " .. S .. ":33: in function '" .. MOD .. "handleBatch'"
    ), trace(F.handleBatch({ "ok", "declined" })))
  end)

  it("name the combinator and the element: Promise.race", function()
    assert.are.equal(lines(
      "stack traceback:",
      "\t[C]: in function 'error'",
      "\t" .. S .. ":11: in function 'chargeCard'",
      "--- in Promise.race (element 1)",
      "--- awaited in: " .. S .. ":39: in function '" .. MOD .. "firstOf'"
    ), trace(F.firstOf("race", { "declined", "ok" })))
  end)

  it("give the AggregateError of Promise.any the chain that awaited it", function()
    assert.are.equal(lines(
      "--- in Promise.any (every element rejected)",
      "--- awaited in: " .. S .. ":39: in function '" .. MOD .. "firstOf'"
    ), trace(F.firstOf("any", { "declined", "declined" })))
  end)

  it("keep the element's own trace through Promise.allSettled", function()
    local p = F.firstOf("allSettled", { "declined" })
    Promise.drain()
    assert.are.equal("fulfilled", (p:state()))
  end)

  it("go through a next chain started by an async function", function()
    assert.are.equal(lines(
      "stack traceback:",
      "\t[C]: in function 'error'",
      "\t" .. S .. ":11: in function 'chargeCard'",
      "--- awaited in: " .. S .. ":43: in function '" .. MOD .. "withNext'"
    ), trace(F.withNext("declined")))
  end)

  it("keep where the error was raised when it is caught with pcall and raised again", function()
    assert.are.equal(lines(
      "stack traceback:",
      "\t[C]: in function 'error'",
      "\t" .. S .. ":11: in function 'chargeCard'",
      "--- awaited in: " .. S .. ":47: in function '" .. MOD .. "rethrow'"
    ), trace(F.rethrow("declined")))
  end)

  it("add the awaiting functions to an error raised before the first await", function()
    assert.are.equal(lines(
      "stack traceback:",
      "\t[C]: in function 'error'",
      "\t" .. S .. ":16: in function 'validate'",
      "--- awaited in: " .. S .. ":21: in function 'processPayment'",
      "--- awaited in: " .. S .. ":27: in function '" .. MOD .. "handleRequest'"
    ), trace(F.handleRequest("")))
  end)

  it("go on from an error raised in a handler to the async function awaiting it", function()
    local waiter = async(function()
      return await(Promise.resolve(1):next(function() error("in handler", 0) end))
    end)
    local line = debug.getinfo(1, "l").currentline - 2
    local tb = trace(waiter())
    local where = ("spec/trace_spec.lua:%d: in function 'waiter'"):format(line)
    assert.are.equal("\n--- awaited in: " .. where, tb:sub(-#where - 17))
  end)

  it("raise a fresh error's trace: a new error in a catching function starts over", function()
    local catcher = async(function()
      pcall(await, F.handleRequest("declined"))
      error("another", 0)
    end)
    local tb = trace(catcher())
    assert.not_matches("chargeCard", tb, 1, true)
    assert.matches("^stack traceback:\n\t%[C%]: in function 'error'\n\tspec/trace_spec.lua:", tb)
  end)

  it("stop at a promise nobody waits for", function()
    local lone = async(function() await(nil); error("alone", 0) end)
    local line = debug.getinfo(1, "l").currentline - 1
    assert.are.equal(lines(
      "stack traceback:",
      "\t[C]: in function 'error'",
      ("\tspec/trace_spec.lua:%d: in function 'lone'"):format(line)
    ), trace(lone()))
  end)

  it("end on a cycle of adoptions", function()
    local a, resolveA = Promise.withResolvers()
    local b, resolveB = Promise.withResolvers()
    resolveA(b)
    resolveB(a)
    local waiter = async(function() await(nil); return await(a) end)
    local failing = async(function() await(nil); error("cycle", 0) end)
    local outer = async(function() return await(Promise.all({ failing(), waiter() })) end)
    local tb = trace(outer())
    assert.matches("--- in Promise.all (element 1)", tb, 1, true)
    assert.are.equal("pending", (a:state()))
  end)

  it("are printed by the default unhandled-rejection report", function()
    local out = H.run_lua([[
      package.path = "./?.lua;" .. package.path
      local F = require("spec.support.trace_chain")
      F.handleRequest("declined")
      require("promise").drain()
    ]])
    assert.matches("Unhandled promise rejection: card declined\nstack traceback:\n", out, 1, true)
    assert.matches("\n--- awaited in: [^\n]*trace_chain.lua:22: in function 'processPayment'\n", out)
    assert.matches("\n--- awaited in: [^\n]*trace_chain.lua:27: in function "
      .. "'spec.support.trace_chain.handleRequest'\n", out)
  end)

  it("leave rejections with no traceback alone when debugging is off", function()
    local waiter = async(function() return await(Promise.reject("plain")) end)
    local p = waiter()
    Promise.drain()
    -- the await raised it in the waiter: its own trace, nothing made up
    -- (the C function's name depends on the order pairs() walks the modules)
    assert.matches("^stack traceback:\n\t%[C%]: in function 'promise[%.%a]*await'\n[^\n]*'waiter'$",
      core.traceback(p))
    assert.is_nil(core.traceback(Promise.reject("x")))
  end)
end)

describe("core.traceback", function()
  it("is nil for pending and fulfilled promises, and checks its argument", function()
    assert.is_nil(core.traceback(Promise.new(function() end)))
    assert.is_nil(core.traceback(Promise.resolve(1)))
    assert.has_error(function() core.traceback({}) end,
      "bad argument #1 to 'traceback' (promise expected, got table)")
  end)
end)
