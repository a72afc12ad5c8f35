-- async/await over coroutines (docs/manual/core.md, "async and await"), driven by
-- hand with Promise.drain(): no event loop is running.
-- Orderings marked "node:" were produced by the same program under Node v20.

local Promise = require("promise")
local H = require("spec.support.helpers")
local async, await = Promise.async, Promise.await

local live_handles, settle, ticker = H.live_handles, H.settle, H.ticker

describe("async/await", function()
  before_each(function()
    Promise.onUnhandledRejection(function() end)
    Promise.drain()
  end)

  after_each(function()
    Promise.drain()
    Promise.onUnhandledRejection(nil)
    assert.are.equal(0, live_handles(), "a luv handle was left alive")
  end)

  describe("Promise.async", function()
    it("returns a function that returns exactly one value, a promise", function()
      local f = async(function() return 1 end)
      assert.are.equal("function", type(f))
      local r = table.pack(f())
      assert.are.equal(1, r.n)
      assert.is_true(Promise.is(r[1]))
    end)

    it("runs the body at once, synchronously, in a new coroutine", function()
      local log = {}
      local outer = coroutine.running()
      local inner
      local p = async(function()
        log[#log + 1] = "body"
        inner = coroutine.running()
        return "done"
      end)()
      log[#log + 1] = "after call"
      assert.are.same({ "body", "after call" }, log)
      assert.are_not.equal(outer, inner)
      assert.are.equal("thread", type(inner))
      -- no await: already fulfilled
      assert.are.same({ "fulfilled", "done" }, { p:state() })
    end)

    it("passes all arguments, nil holes included", function()
      local got
      async(function(...) got = table.pack(...) end)(1, nil, "three", nil)
      assert.are.same({ 1, nil, "three", nil, n = 4 }, got)
    end)

    it("fulfils with the first return value only", function()
      local n, v
      async(function() return "a", "b", "c" end)()
        :next(function(...) n, v = select("#", ...), ... end)
      Promise.drain()
      assert.are.equal(1, n)
      assert.are.equal("a", v)
      local st = table.pack(settle(async(function() end)()))
      assert.are.equal("fulfilled", st[1])
      assert.is_nil(st[2])
    end)

    it("gives a rejected promise, not an error, when the body raises synchronously", function()
      local err = { "sync" }
      local p
      assert.has_no.errors(function() p = async(function() error(err) end)() end)
      local state, reason = p:state()
      assert.are.equal("rejected", state)
      assert.are.equal(err, reason)
    end)

    it("rejects with exactly what the body raised after an await", function()
      for _, reason in ipairs({ { "t" }, "str", false }) do
        local p = async(function()
          await(1)
          error(reason, 0)
        end)()
        local state, got = settle(p)
        assert.are.equal("rejected", state)
        assert.are.equal(reason, got)
      end
      local st = table.pack(settle(async(function() await(1); error(nil) end)()))
      assert.are.equal("rejected", st[1])
      assert.is_nil(st[2])
      local _, msg = settle(async(function() await(1); error("positioned") end)())
      assert.matches("async_spec.lua:%d+: positioned$", msg)
    end)

    it("adopts a promise returned by the body", function()
      assert.are.same({ "fulfilled", "inner" },
        { settle(async(function() return Promise.resolve("inner") end)()) })
      assert.are.same({ "rejected", "no" },
        { settle(async(function() return Promise.reject("no") end)()) })
    end)

    it("raises a Lua error for a non-function", function()
      assert.has_error(function() async(nil) end,
        "bad argument #1 to 'async' (function expected, got nil)")
      assert.has_error(function() async(3) end,
        "bad argument #1 to 'async' (function expected, got number)")
    end)

    it("orders returned values and promises like Node", function()
      -- node: a t1 t2 t3   and   t1 t2 a t3 t4 t5
      local log = {}
      async(function() return 1 end)():next(function() log[#log + 1] = "a" end)
      ticker(log, 3)
      Promise.drain()
      assert.are.same({ "a", "t1", "t2", "t3" }, log)
      log = {}
      async(function() return Promise.resolve(1) end)():next(function() log[#log + 1] = "a" end)
      ticker(log, 5)
      Promise.drain()
      assert.are.same({ "t1", "t2", "a", "t3", "t4", "t5" }, log)
    end)
  end)

  describe("Promise.await", function()
    it("returns the fulfilment value, exactly one value", function()
      local n, v, w
      local t = {}
      async(function()
        n = select("#", await(Promise.resolve("x")))
        v = await(Promise.resolve(t))
        w = await({ next = function(_, res) res("from thenable") end })
      end)()
      Promise.drain()
      assert.are.equal(1, n)
      assert.are.equal(t, v)
      assert.are.equal("from thenable", w)
    end)

    it("waits for a pending promise", function()
      local gate, open = Promise.withResolvers()
      local log = {}
      local p = async(function()
        log[#log + 1] = "before"
        local v = await(gate)
        log[#log + 1] = "got " .. v
        return v
      end)()
      Promise.drain()
      assert.are.same({ "before" }, log)
      assert.are.equal("pending", (p:state()))
      open("open")
      assert.are.same({ "fulfilled", "open" }, { settle(p) })
      assert.are.same({ "before", "got open" }, log)
    end)

    it("raises the reason unchanged and works inside pcall", function()
      local reasons = { { "tbl" }, "str", false }
      local results = {}
      local p = async(function()
        for i, r in ipairs(reasons) do
          results[i] = table.pack(pcall(await, Promise.reject(r)))
        end
        results.nil_reason = table.pack(pcall(function() return await(Promise.reject(nil)) end))
        results.thenable = table.pack(pcall(await, { next = function(_, _, rej) rej("th") end }))
        -- the function goes on awaiting after a caught error
        return await(Promise.resolve("still works"))
      end)()
      assert.are.same({ "fulfilled", "still works" }, { settle(p) })
      for i, r in ipairs(reasons) do
        assert.are.equal(2, results[i].n)
        assert.is_false(results[i][1])
        assert.are.equal(r, results[i][2])
      end
      assert.are.equal(2, results.nil_reason.n)
      assert.is_false(results.nil_reason[1])
      assert.is_nil(results.nil_reason[2])
      assert.are.same({ false, "th", n = 2 }, results.thenable)
    end)

    it("lets an uncaught awaited reason reject the async function unchanged", function()
      for _, r in ipairs({ { "tbl" }, "str", false }) do
        local state, reason = settle(async(function() await(Promise.reject(r)) end)())
        assert.are.equal("rejected", state)
        assert.are.equal(r, reason)
      end
      local st = table.pack(settle(async(function() await(Promise.reject(nil)) end)()))
      assert.are.equal(2, st.n)
      assert.are.equal("rejected", st[1])
      assert.is_nil(st[2])
    end)

    it("nested pcalls and error() rethrows keep the reason", function()
      local e = {}
      local state, reason = settle(async(function()
        local ok, err = pcall(function()
          local ok2, err2 = pcall(await, Promise.reject(e))
          assert(not ok2)
          error(err2, 0)
        end)
        assert(not ok)
        error(err, 0)
      end)())
      assert.are.equal("rejected", state)
      assert.are.equal(e, reason)
    end)

    it("takes one microtask for a plain value, like Node", function()
      -- node: a1 sync a2 t1 a3 t2 t3 t4
      local log = {}
      async(function()
        log[#log + 1] = "a1"
        await(1)
        log[#log + 1] = "a2"
        await(nil)
        log[#log + 1] = "a3"
      end)()
      ticker(log, 4)
      log[#log + 1] = "sync"
      assert.are.same({ "a1", "sync" }, log)
      Promise.drain()
      assert.are.same({ "a1", "sync", "a2", "t1", "a3", "t2", "t3", "t4" }, log)
    end)

    it("takes one microtask for a settled promise and two for a thenable, like Node", function()
      -- node: a t1 t2 t3 t4   and   then t1 a t2 t3 t4
      local log = {}
      local p = Promise.resolve(1)
      async(function() await(p); log[#log + 1] = "a" end)()
      ticker(log, 4)
      Promise.drain()
      assert.are.same({ "a", "t1", "t2", "t3", "t4" }, log)
      log = {}
      local th = { next = function(_, r) log[#log + 1] = "then"; r(1) end }
      async(function() await(th); log[#log + 1] = "a" end)()
      ticker(log, 4)
      Promise.drain()
      assert.are.same({ "then", "t1", "a", "t2", "t3", "t4" }, log)
    end)

    it("orders a caught rejection like Node", function()
      -- node: caught r t1 t2 t3
      local log = {}
      async(function()
        local ok, e = pcall(await, Promise.reject("r"))
        if not ok then log[#log + 1] = "caught " .. e end
      end)()
      ticker(log, 3)
      Promise.drain()
      assert.are.same({ "caught r", "t1", "t2", "t3" }, log)
    end)

    it("interleaves concurrent async functions like Node", function()
      -- node: a1 b1 sync a2 b2 caught x c1 a3 b3 after
      local log = {}
      local function L(s) log[#log + 1] = s end
      local f = async(function(n)
        L(n .. "1")
        await(nil)
        L(n .. "2")
        await(Promise.resolve())
        L(n .. "3")
      end)
      f("a")
      f("b")
      L("sync")
      async(function() error("x", 0) end)():catch(function(e) L("caught " .. e) end)
      async(function()
        if not pcall(await, Promise.reject(1)) then L("c1") end
        await(2)
        L("after")
      end)()
      Promise.drain()
      assert.are.same({ "a1", "b1", "sync", "a2", "b2", "caught x", "c1", "a3", "b3", "after" }, log)
    end)
  end)

  describe("await at the edges", function()
    it("outside any async function and any running loop is Promise.resolve(v):wait()", function()
      assert.are.equal(3, await(Promise.resolve(3)))
      assert.are.equal(4, await(4))
      assert.are.equal("th", await({ next = function(_, res) res("th") end }))
      local t = {}
      local ok, err = pcall(await, Promise.reject(t))
      assert.is_false(ok)
      assert.are.equal(t, err)
    end)

    it("across a C boundary (a table.sort comparator) rejects with a clear error, not a crash", function()
      local p = async(function()
        table.sort({ 3, 2, 1 }, function(a, b) await(nil); return a < b end)
      end)()
      local state, reason = settle(p)
      assert.are.equal("rejected", state)
      assert.matches("await", tostring(reason), 1, true)
      -- the async machinery still works afterwards
      assert.are.same({ "fulfilled", 2 }, { settle(async(function() return await(2) end)()) })
    end)

    it("inside an __index metamethod called from the async function works", function()
      local obj = setmetatable({}, { __index = function(_, k) return await(Promise.resolve(k .. "!")) end })
      assert.are.same({ "fulfilled", "key!" }, { settle(async(function() return obj.key end)()) })
    end)
  end)

  describe("nesting", function()
    it("nested async calls run synchronously up to their first await, like Node", function()
      -- node: o1 i1 2 sync i2 2 t1 o2 4 t2 t3 t4 t5
      local log = {}
      local function L(s) log[#log + 1] = s end
      local inner = async(function(x)
        L("i1 " .. x)
        await(nil)
        L("i2 " .. x)
        return x * 2
      end)
      async(function()
        L("o1")
        local v = await(inner(2))
        L("o2 " .. v)
      end)()
      ticker(log, 5)
      L("sync")
      Promise.drain()
      assert.are.same({ "o1", "i1 2", "sync", "i2 2", "t1", "o2 4", "t2", "t3", "t4", "t5" }, log)
    end)

    it("propagates a rejection through nested async functions unchanged", function()
      local e = { "deep" }
      local lvl3 = async(function() await(nil); error(e) end)
      local lvl2 = async(function() return await(lvl3()) end)
      local lvl1 = async(function() return await(lvl2()) end)
      local state, reason = settle(lvl1())
      assert.are.equal("rejected", state)
      assert.are.equal(e, reason)
    end)

    it("a plain coroutine inside an async function still yields normally", function()
      local p = async(function()
        local gen = coroutine.wrap(function()
          for i = 1, 3 do coroutine.yield(i) end
        end)
        local sum = gen() + gen()
        sum = sum + await(Promise.resolve(10))
        return sum + gen()
      end)()
      assert.are.same({ "fulfilled", 16 }, { settle(p) })
    end)

    it("await from a plain coroutine nested in an async function raises", function()
      local results
      local p = async(function()
        local co = coroutine.create(function() return await(Promise.resolve(1)) end)
        results = table.pack(coroutine.resume(co))
        -- the async function itself can still await afterwards
        return await(Promise.resolve("fine"))
      end)()
      assert.are.same({ "fulfilled", "fine" }, { settle(p) })
      assert.is_false(results[1])
      assert.are.equal("string", type(results[2]))
      assert.matches("await called outside an async function", results[2], 1, true)
    end)

    it("await from a plain coroutine wrapped by coroutine.wrap raises through it", function()
      local p = async(function()
        local gen = coroutine.wrap(function() await(1) end)
        gen()
      end)()
      local state, reason = settle(p)
      assert.are.equal("rejected", state)
      assert.matches("await called outside an async function", tostring(reason), 1, true)
    end)
  end)
end)
