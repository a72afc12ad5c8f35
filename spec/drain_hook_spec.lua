-- A drain hook (Promise.onDrainNeeded) that queues or runs jobs itself,
-- while Promise.all/allSettled read their elements: the elements already
-- fulfilled share a counting job only while nothing else moved in the queue
-- (src/combinators.c settledelement), and the hook runs inside the queueing
-- of that job. Found by review: with the job's sequence number read after
-- the hook, the count went to another job (the result never settled) or
-- past the start of the job words (a crash at the next collection).
-- Each case runs in a child process: the hook cannot be restored afterwards
-- (there is no getter), and a failure may crash the interpreter.

local H = require("spec.support.helpers")

--- Runs `src` in a child lua5.4; returns its output with "rc=<exit code>"
--- appended, as one string to compare.
local function run_child(src)
  local out, _, _, code = H.run_lua(src)
  return ("%src=%s\n"):format(out, tostring(code))
end

describe("all/allSettled and a drain hook that queues or runs jobs", function()
  it("a drain hook that queues a microtask does not lose the elements of Promise.all", function()
    local out = run_child([[
      local core = require("promise.core")
      local ran = 0
      core.onDrainNeeded(function() core.queueMicrotask(function() ran = ran + 1 end) end)
      local r
      core.all({ 1, 2 }):next(function(v) r = v end)
      core.onDrainNeeded(nil)
      core.drain()
      print(r and (r[1] .. "," .. r[2]) or "NEVER", "microtasks:" .. ran)
    ]])
    assert.are.equal("1,2\tmicrotasks:1\nrc=0\n", out)
  end)

  it("same with allSettled", function()
    local out = run_child([[
      local core = require("promise.core")
      core.onDrainNeeded(function() core.queueMicrotask(function() end) end)
      local r
      core.allSettled({ 1, 2, 3 }):next(function(v) r = v end)
      core.onDrainNeeded(nil)
      core.drain()
      print(r and #r or "NEVER")
    ]])
    assert.are.equal("3\nrc=0\n", out)
  end)

  it("a drain hook that drains at once does not make the core write out of bounds", function()
    -- the hook runs the counting job at once: the queue is empty again, and
    -- the next element must queue a job of its own, not add to a word
    -- before the first one (that crashed the next full collection)
    -- (nor settle the result before a pending element is in)
    local out = run_child([[
      local core = require("promise.core")
      core.onDrainNeeded(function() core.drain() end)
      local p = core.all({ 1, 2, 3 })
      local res
      local q = core.all({ 1, core.new(function(r) res = r end), 3 })
      core.onDrainNeeded(nil)
      core.drain()
      collectgarbage() collectgarbage()
      local s1, v1 = p:state()
      print(s1, table.concat(v1, ",", 1, v1.n), (q:state()))
      res(2)
      core.drain()
      local s2, v2 = q:state()
      print(s2, table.concat(v2, ",", 1, v2.n))
      print("alive")
    ]])
    assert.are.equal("fulfilled\t1,2,3\tpending\nfulfilled\t1,2,3\nalive\nrc=0\n", out)
  end)
end)
