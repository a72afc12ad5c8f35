-- Unhandled rejections and uncaught errors (docs/manual/core.md,
-- "Unhandled rejections and uncaught errors"), driven by hand with Promise.drain().

local Promise = require("promise")
local H = require("spec.support.helpers")

local live_handles = H.live_handles

--- Runs `code` in a child lua5.4 process with this checkout's module paths and
--- returns what it wrote to stderr (stdout is discarded); raises if it failed.
local function child_stderr(code)
  local out, ok, how, status = H.run_lua(code, "2>&1 >/dev/null")
  assert(ok, ("child lua5.4 failed (%s %s): %s"):format(how, status, out))
  return out
end

describe("reporting", function()
  local reported, handled, uncaught

  before_each(function()
    Promise.drain()
    reported, handled, uncaught = {}, {}, {}
    Promise.onUnhandledRejection(function(reason, p)
      reported[#reported + 1] = { reason = reason, promise = p }
    end)
    Promise.onRejectionHandled(function(...)
      handled[#handled + 1] = table.pack(...)
    end)
    Promise.onUncaughtError(function(err)
      uncaught[#uncaught + 1] = { err = err }
    end)
  end)

  after_each(function()
    Promise.onUnhandledRejection(function() end)
    Promise.drain()
    Promise.onUnhandledRejection(nil)
    Promise.onRejectionHandled(nil)
    Promise.onUncaughtError(nil)
    assert.are.equal(0, live_handles(), "a luv handle was left alive")
  end)

  describe("unhandled rejections", function()
    it("are reported exactly once, with (reason, promise), when the queue drains", function()
      local reason = { "why" }
      local p = Promise.reject(reason)
      assert.are.same({}, reported)
      Promise.drain()
      assert.are.equal(1, #reported)
      assert.are.equal(reason, reported[1].reason)
      assert.are.equal(p, reported[1].promise)
      Promise.drain()
      Promise.queueMicrotask(function() end)
      Promise.drain()
      assert.are.equal(1, #reported)
    end)

    it("pass the reporter exactly two arguments, even for a nil reason", function()
      local args
      Promise.onUnhandledRejection(function(...) args = table.pack(...) end)
      local p = Promise.reject(nil)
      Promise.drain()
      assert.are.equal(2, args.n)
      assert.is_nil(args[1])
      assert.are.equal(p, args[2])
      Promise.reject(false)
      Promise.drain()
      assert.is_false(args[1])
    end)

    it("are reported only after every queued microtask ran", function()
      local log = {}
      local seen
      Promise.onUnhandledRejection(function() seen = #log end)
      Promise.resolve():next(function() log[#log + 1] = 1; error("in handler", 0) end)
      local i = 0
      local function step()
        i = i + 1
        log[#log + 1] = i
        if i < 10 then Promise.queueMicrotask(step) end
      end
      Promise.queueMicrotask(step)
      Promise.drain()
      assert.are.equal(11, #log)
      assert.are.equal(11, seen)
    end)

    it("are not reported when a handler is attached in the same tick", function()
      local p = Promise.reject("x")
      p:catch(function() end)
      local q = Promise.new(function(_, reject) reject("y") end)
      q:next(nil, function() end)
      local r = Promise.reject("z")
      r:finally(function() end):catch(function() end)
      Promise.drain()
      assert.are.same({}, reported)
      assert.are.same({}, handled)
    end)

    it("are not reported when a handler is attached by a later microtask of the same drain", function()
      -- node: no 'unhandledRejection' for either promise
      local p = Promise.reject(1)
      Promise.queueMicrotask(function()
        Promise.queueMicrotask(function() p:catch(function() end) end)
      end)
      local q = Promise.reject(2)
      Promise.resolve():next(function() end):next(function() end):next(function()
        q:catch(function() end)
      end)
      Promise.drain()
      assert.are.same({}, reported)
    end)

    it("report only the end of a chain", function()
      local root = Promise.reject("r")
      local leaf = root:next(function() end):next(function() end)
      Promise.drain()
      assert.are.equal(1, #reported)
      assert.are.equal(leaf, reported[1].promise)
      assert.are.equal("r", reported[1].reason)
    end)

    it("are reported in rejection order, like Node", function()
      -- node: a c late b
      Promise.reject("a")
      Promise.resolve():next(function() error("b", 0) end)
      Promise.reject("c")
      Promise.reject("late")
      Promise.drain()
      local got = {}
      for i, r in ipairs(reported) do got[i] = r.reason end
      assert.are.same({ "a", "c", "late", "b" }, got)
    end)

    it("call onRejectionHandled(promise) when a handler is attached to a reported promise", function()
      local p = Promise.reject("late")
      local other = Promise.reject("never handled")
      Promise.drain()
      assert.are.equal(2, #reported)
      assert.are.same({}, handled)
      local caught
      p:catch(function(r) caught = r end)
      Promise.drain()
      assert.are.equal("late", caught)
      assert.are.equal(1, #handled)
      assert.are.equal(1, handled[1].n)
      assert.are.equal(p, handled[1][1])
      -- a second handler does not report it again, nor re-report the rejection
      p:catch(function() end)
      Promise.drain()
      assert.are.equal(1, #handled)
      assert.are.equal(2, #reported)
      assert.are.equal(other, reported[2].promise)
    end)

    it("never alter the reason", function()
      local t = setmetatable({}, { __tostring = function() return "custom" end })
      local p1 = Promise.reject(t)
      local p2 = Promise.resolve():next(function() error("exact", 0) end)
      local p3 = Promise.resolve():next(function() error(t) end)
      local p4 = Promise.new(function() error(42) end)
      Promise.drain()
      local by = {}
      for _, r in ipairs(reported) do by[r.promise] = r.reason end
      assert.are.equal(t, by[p1])
      assert.are.equal("exact", by[p2])
      assert.are.equal(t, by[p3])
      assert.are.equal(42, by[p4])
      assert.are.equal(nil, getmetatable(t).__index)
      assert.is_nil(next(t))
      -- the promise's own state carries the same value
      assert.are.same({ "rejected", "exact" }, { p2:state() })
      local _, r3 = p3:state()
      assert.are.equal(t, r3)
    end)

    it("nil restores the default reporter, which writes to stderr", function()
      local out = child_stderr([[
        local Promise = require("promise")
        Promise.onUnhandledRejection(function() io.stdout:write("custom\n") end)
        Promise.onUnhandledRejection(nil)
        Promise.reject("restored")
        Promise.drain()
      ]])
      assert.matches("Unhandled promise rejection: restored", out, 1, true)
      assert.is_nil(out:find("custom", 1, true))
    end)

    it("can be replaced by a function", function()
      assert.has_no.errors(function() Promise.onUnhandledRejection(function() end) end)
      assert.has_error(function() Promise.onUnhandledRejection(42) end)
    end)
  end)

  describe("the default reporter", function()
    it("writes 'Unhandled promise rejection: <tostring(reason)>' to stderr", function()
      local out = child_stderr([[
        local Promise = require("promise")
        Promise.reject("boom")
        Promise.reject(setmetatable({}, { __tostring = function() return "custom reason" end }))
        Promise.reject(Promise.TypeError("typed"))
        Promise.reject(nil)
        Promise.drain()
        io.stderr:write("END\n")
      ]])
      assert.matches("Unhandled promise rejection: boom", out, 1, true)
      assert.matches("Unhandled promise rejection: custom reason", out, 1, true)
      assert.matches("Unhandled promise rejection: TypeError: typed", out, 1, true)
      assert.matches("Unhandled promise rejection: nil", out, 1, true)
      -- written during the drain, before the script goes on
      assert.matches("END\n$", out)
      local _, count = out:gsub("Unhandled promise rejection", "")
      assert.are.equal(4, count)
    end)

    it("adds the traceback of where an error was raised", function()
      local out = child_stderr([[
        local Promise = require("promise")
        local function thrower() error("traced", 0) end
        Promise.resolve():next(function() thrower() end)
        Promise.drain()
      ]])
      assert.matches("Unhandled promise rejection: traced", out, 1, true)
      assert.matches("traceback", out, 1, true)
    end)

    it("says nothing when every rejection is handled", function()
      local out = child_stderr([[
        local Promise = require("promise")
        Promise.reject("x"):catch(function() end)
        Promise.resolve():next(function() error("y") end):catch(function() end)
        Promise.drain()
      ]])
      assert.are.equal("", out)
    end)
  end)

  describe("uncaught errors", function()
    it("go from queueMicrotask to onUncaughtError, and later microtasks still run", function()
      local log = {}
      local e = { "microtask error" }
      Promise.queueMicrotask(function() log[#log + 1] = 1 end)
      Promise.queueMicrotask(function() error(e) end)
      Promise.queueMicrotask(function() log[#log + 1] = 2; error("second", 0) end)
      Promise.queueMicrotask(function() log[#log + 1] = 3 end)
      assert.has_no.errors(function() Promise.drain() end)
      assert.are.same({ 1, 2, 3 }, log)
      assert.are.equal(2, #uncaught)
      assert.are.equal(e, uncaught[1].err)
      assert.are.equal("second", uncaught[2].err)
      assert.are.same({}, reported)
    end)

    it("are written to stderr by default, and the drain goes on", function()
      local out = child_stderr([[
        local Promise = require("promise")
        Promise.queueMicrotask(function() error("uncaught in microtask") end)
        Promise.queueMicrotask(function() io.stderr:write("LATER\n") end)
        Promise.drain()
      ]])
      local at = out:find("uncaught in microtask", 1, true)
      assert.is_truthy(at)
      assert.is_truthy(out:find("LATER", at, true))
    end)
  end)
end)
