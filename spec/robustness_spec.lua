-- Robustness of the core: re-entrancy, depth, volume, garbage collection and
-- errors raised at every callback position. Driven by hand with
-- Promise.drain(). The million-element tests are tagged #slow (run by default;
-- `busted --exclude-tags=slow` skips them).

local Promise = require("promise")
local H = require("spec.support.helpers")
local async, await = Promise.async, Promise.await

local live_handles, settle = H.live_handles, H.settle

--- CPU seconds taken by fn().
local function timed(fn)
  local t0 = os.clock()
  fn()
  return os.clock() - t0
end

-- Generous bound: these take about a second on a laptop; minutes means a bug.
local MAX_SECONDS = 60

describe("robustness", function()
  local reported, uncaught

  before_each(function()
    Promise.drain()
    reported, uncaught = {}, {}
    Promise.onUnhandledRejection(function(reason, p) reported[#reported + 1] = { reason = reason, promise = p } end)
    Promise.onUncaughtError(function(err) uncaught[#uncaught + 1] = err end)
  end)

  after_each(function()
    Promise.onUnhandledRejection(function() end)
    Promise.drain()
    Promise.onUnhandledRejection(nil)
    Promise.onUncaughtError(nil)
    collectgarbage("incremental", 200, 100) -- Lua 5.4's default pause and step multiplier
    assert.are.equal(0, live_handles(), "a luv handle was left alive")
  end)

  describe("re-entrancy", function()
    it("resolving other promises from inside handlers keeps FIFO order, like Node", function()
      -- node: h1 h1 end h2 p2 2
      local log = {}
      local p2, r2 = Promise.withResolvers()
      Promise.resolve(1):next(function(v)
        log[#log + 1] = "h1"
        r2(v + 1)
        log[#log + 1] = "h1 end"
      end)
      p2:next(function(v) log[#log + 1] = "p2 " .. v end)
      Promise.resolve():next(function() log[#log + 1] = "h2" end)
      Promise.drain()
      assert.are.same({ "h1", "h1 end", "h2", "p2 2" }, log)
    end)

    it("Promise.drain() inside a handler is folded: returns 0, no error, order kept", function()
      local log = {}
      local inner = {}
      Promise.resolve():next(function()
        log[#log + 1] = "h1"
        Promise.queueMicrotask(function() log[#log + 1] = "m" end)
        local ok, n = pcall(Promise.drain)
        inner[#inner + 1] = { ok, n }
        log[#log + 1] = "h1 end"
      end)
      Promise.resolve():next(function() log[#log + 1] = "h2" end)
      Promise.queueMicrotask(function()
        local ok, n = pcall(Promise.drain)
        inner[#inner + 1] = { ok, n }
        log[#log + 1] = "q"
      end)
      Promise.drain()
      assert.are.same({ "h1", "h1 end", "h2", "q", "m" }, log)
      assert.are.same({ { true, 0 }, { true, 0 } }, inner)
    end)

    it("Promise.drain() inside executors, finally callbacks and async functions is folded too", function()
      local log, ns = {}, {}
      Promise.resolve():next(function()
        Promise.new(function(resolve)
          ns[#ns + 1] = Promise.drain()
          resolve("exec")
        end):next(function(v) log[#log + 1] = v end)
      end)
      Promise.resolve():finally(function() ns[#ns + 1] = Promise.drain() end)
        :next(function() log[#log + 1] = "finally" end)
      Promise.resolve():next(function()
        async(function()
          ns[#ns + 1] = Promise.drain()
          await(nil)
          ns[#ns + 1] = Promise.drain()
          log[#log + 1] = "async"
        end)()
      end)
      Promise.drain()
      table.sort(log)
      assert.are.same({ "async", "exec", "finally" }, log)
      assert.are.same({ 0, 0, 0, 0 }, ns)
    end)

    it("handlers attached while draining to settled promises run in the same drain", function()
      local log = {}
      local settled = Promise.resolve("s")
      Promise.resolve():next(function()
        settled:next(function(v) log[#log + 1] = v end)
        Promise.queueMicrotask(function() log[#log + 1] = "m" end)
      end)
      Promise.drain()
      assert.are.same({ "s", "m" }, log)
      assert.are.equal(0, Promise.drain())
    end)
  end)

  describe("depth and volume", function()
    it("an async function takes 300 arguments and may return 300 results", function()
      local t = {}
      for i = 1, 300 do t[i] = i end
      local count = Promise.async(function(...) return select("#", ...) end)
      local many = Promise.async(function() return table.unpack(t, 1, 300) end)
      assert.are.same({ "fulfilled", 300 }, { settle(count(table.unpack(t, 1, 300))) })
      assert.are.same({ "fulfilled", 1 }, { settle(many()) })
    end)

    it("Promise.all waits for pending elements past index 2^23 #slow", function()
      -- a promise keeps its single reaction's job word in 31 bits: the job
      -- of an element past 2^23 goes to a reaction list instead, alone
      -- (a) or after a reaction already there (b)
      local N = (1 << 23) + 2
      local list = { n = N }
      local res = {}
      local a = Promise.new(function(r) res.a = r end)
      local b = Promise.new(function(r) res.b = r end)
      list[N - 1], list[N] = a, b
      local doubled = b:next(function(v) return v * 2 end)  -- b's first reaction
      local result
      Promise.all(list):next(function(vs) result = vs end)
      res.b(20)
      Promise.drain()
      assert.is_nil(result)
      assert.are.same({ "fulfilled", 40 }, { doubled:state() })
      res.a(10)
      Promise.drain()
      assert.are.equal(N, result.n)
      assert.are.equal(10, result[N - 1])
      assert.are.equal(20, result[N])
      assert.is_nil(result[1])
    end)

    it("a chain of 1,000,000 next calls settles #slow", function()
      local inc = function(v) return v + 1 end
      local p = Promise.resolve(0)
      local secs = timed(function()
        for _ = 1, 1000000 do p = p:next(inc) end
        Promise.drain()
      end)
      assert.are.same({ "fulfilled", 1000000 }, { p:state() })
      assert.is_true(secs < MAX_SECONDS, ("took %.1f s"):format(secs))
    end)

    it("a rejection travels through a chain of 100,000 next calls", function()
      local p = Promise.reject("r")
      local pass = function(v) return v end
      for _ = 1, 100000 do p = p:next(pass) end
      p = p:catch(function(r) return "caught " .. r end)
      assert.are.same({ "fulfilled", "caught r" }, { settle(p) })
    end)

    it("a promise resolves through 100,000 nested pending promises", function()
      local innermost, resolve = Promise.withResolvers()
      local cur = innermost
      for _ = 1, 100000 do
        local prev = cur
        cur = Promise.new(function(res) res(prev) end)
      end
      Promise.drain()
      assert.are.equal("pending", (cur:state()))
      resolve("deep")
      assert.are.same({ "fulfilled", "deep" }, { settle(cur) })
    end)

    it("a promise resolves through 100,000 nested settled promises and thenables", function()
      local cur = Promise.resolve("deep")
      for _ = 1, 100000 do
        local prev = cur
        cur = Promise.new(function(res) res(prev) end)
      end
      assert.are.same({ "fulfilled", "deep" }, { settle(cur) })
      -- thenables that resolve with the next thenable, made on demand
      local function th(n)
        return { next = function(_, res) if n == 0 then res("bottom") else res(th(n - 1)) end end }
      end
      assert.are.same({ "fulfilled", "bottom" }, { settle(Promise.resolve(th(100000))) })
    end)

    it("an async function awaits 1,000,000 settled promises in a loop #slow", function()
      local one = Promise.resolve(1)
      local p
      local secs = timed(function()
        p = async(function()
          local sum = 0
          for _ = 1, 1000000 do sum = sum + await(one) end
          return sum
        end)()
        Promise.drain()
      end)
      assert.are.same({ "fulfilled", 1000000 }, { p:state() })
      assert.is_true(secs < MAX_SECONDS, ("took %.1f s"):format(secs))
    end)

    it("Promise.all over 100,000 elements", function()
      local list = {}
      for i = 1, 100000 do list[i] = (i % 2 == 0) and Promise.resolve(i) or i end
      local state, v = settle(Promise.all(list))
      assert.are.equal("fulfilled", state)
      assert.are.equal(100000, v.n)
      assert.are.equal(100000, v[100000])
      assert.are.equal(77777, v[77777])
    end)

    it("async functions calling async functions synchronously 100 deep work", function()
      local f
      f = async(function(n)
        if n == 0 then return "bottom" end
        return await(f(n - 1))
      end)
      assert.are.same({ "fulfilled", "bottom" }, { settle(f(100)) })
    end)

    it("1000 deep synchronous async calls give a clear rejection, not a crash", function()
      local f
      f = async(function(n)
        if n == 0 then return "bottom" end
        return await(f(n - 1))
      end)
      local p
      assert.has_no.errors(function() p = f(1000) end)
      local state, reason = settle(p)
      assert.are.equal("rejected", state)
      assert.matches("stack overflow", tostring(reason):lower(), 1, true)
      -- everything still works afterwards
      assert.are.same({ "fulfilled", "bottom" }, { settle(f(50)) })
    end)

    it("async recursion that awaits before recursing goes 10,000 deep", function()
      local f
      f = async(function(n)
        await(nil)
        if n == 0 then return 0 end
        return await(f(n - 1)) + 1
      end)
      assert.are.same({ "fulfilled", 10000 }, { settle(f(10000)) })
    end)
  end)

  describe("garbage collection", function()
    it("collectgarbage() inside executors, handlers and async functions breaks nothing", function()
      local gc = function() collectgarbage() collectgarbage() end
      local log = {}
      local p = Promise.new(function(resolve)
        gc()
        resolve({ "value" })
        gc()
      end)
        :next(function(v) gc(); return v[1] end)
        :finally(function() gc() end)
        :next(function(v)
          gc()
          return { next = function(_, res) gc(); res(v .. "+thenable") end }
        end)
        :next(function(v) log[#log + 1] = v; gc(); error({ "oops" }) end)
        :catch(function(e) gc(); return e[1] end)
      local a = async(function()
        gc()
        local v = await(p)
        gc()
        local all = await(Promise.all({ Promise.resolve(1), { next = function(_, r) gc(); r(2) end }, 3 }))
        gc()
        return v .. ":" .. all[1] + all[2] + all[3]
      end)()
      gc()
      Promise.drain()
      gc()
      assert.are.same({ "value+thenable" }, log)
      assert.are.same({ "fulfilled", "oops:6" }, { a:state() })
    end)

    it("a busy mix of promises survives an extremely aggressive collector", function()
      collectgarbage("incremental", 1, 1000) -- a full cycle at every allocation, nearly
      local f = async(function(n)
        local acc = {}
        for i = 1, n do
          acc[i] = await(Promise.new(function(res) res(i) end):next(function(v) return { v } end))[1]
        end
        return #acc
      end)
      local results = {}
      for i = 1, 20 do results[i] = f(50) end
      local settled = Promise.allSettled(results)
      Promise.drain()
      collectgarbage("generational")
      local g = Promise.all({ f(100), f(100) })
      Promise.drain()
      collectgarbage("incremental", 200, 100)
      local _, list = settled:state()
      for i = 1, 20 do assert.are.same({ status = "fulfilled", value = 50 }, list[i]) end
      assert.are.same({ "fulfilled", { 100, 100, n = 2 } }, { g:state() })
    end)

    it("a settled promise nobody references is collected", function()
      local weak = setmetatable({}, { __mode = "v" })
      do
        local p = Promise.resolve({ "payload" })
        weak.fulfilled = p
        weak.value = select(2, p:state())
        weak.chained = p:next(function(v) return v end)
        local q = Promise.reject("r")
        q:catch(function() end)
        weak.rejected = q
        weak.pending = Promise.new(function() end)
        local r, resolve = Promise.withResolvers()
        weak.later = r
        resolve(1)
      end
      Promise.drain()
      collectgarbage()
      collectgarbage()
      assert.is_nil(weak.fulfilled)
      assert.is_nil(weak.value)
      assert.is_nil(weak.chained)
      assert.is_nil(weak.rejected)
      assert.is_nil(weak.pending)
      assert.is_nil(weak.later)
    end)

    it("handlers and coroutines of finished work are collected", function()
      local weak = setmetatable({}, { __mode = "k" })
      do
        local h = function(v) return v end
        weak[h] = true
        Promise.resolve(1):next(h)
        local th = { next = function(_, res) res(1) end }
        weak[th] = true
        Promise.resolve(th)
        async(function()
          weak[coroutine.running()] = true
          await(nil)
          return 1
        end)()
      end
      Promise.drain()
      collectgarbage()
      collectgarbage()
      assert.is_nil(next(weak))
    end)
  end)

  describe("errors at every callback position", function()
    --- Asserts that `p` rejects with exactly `e`.
    local function rejects_with(p, e)
      local state, reason = settle(p)
      assert.are.equal("rejected", state)
      assert.are.equal(e, reason)
    end

    it("executor", function()
      local e = {}
      rejects_with(Promise.new(function() error(e) end), e)
    end)

    it("handlers", function()
      local e1, e2 = {}, {}
      rejects_with(Promise.resolve():next(function() error(e1) end), e1)
      rejects_with(Promise.reject():next(nil, function() error(e2) end), e2)
      rejects_with(Promise.reject():catch(function() error(e1) end), e1)
    end)

    it("finally callback", function()
      local e = {}
      rejects_with(Promise.resolve():finally(function() error(e) end), e)
      rejects_with(Promise.reject("x"):finally(function() error(e) end), e)
    end)

    it("thenable's next", function()
      local e = {}
      rejects_with(Promise.resolve({ next = function() error(e) end }), e)
      rejects_with(Promise.resolve():next(function() return { next = function() error(e) end } end), e)
      rejects_with(async(function() return await({ next = function() error(e) end }) end)(), e)
    end)

    it("`next` getter via an __index function", function()
      local e = {}
      local bad = setmetatable({}, { __index = function() error(e) end })
      rejects_with(Promise.resolve(bad), e)
      rejects_with(Promise.new(function(res) res(bad) end), e)
      rejects_with(Promise.resolve():next(function() return bad end), e)
      rejects_with(Promise.resolve():finally(function() return bad end), e)
      rejects_with(async(function() return await(bad) end)(), e)
      rejects_with(async(function() return bad end)(), e)
    end)

    it("combinator element thenables and getters", function()
      local e = {}
      local raising = { next = function() error(e) end }
      local getter = setmetatable({}, { __index = function() error(e) end })
      for _, name in ipairs({ "all", "race" }) do
        rejects_with(Promise[name]({ raising }), e)
        rejects_with(Promise[name]({ getter }), e)
      end
      local _, settled = settle(Promise.allSettled({ raising, getter }))
      assert.are.same({ { status = "rejected", reason = e }, { status = "rejected", reason = e }, n = 2 }, settled)
      local state, agg = settle(Promise.any({ raising, getter }))
      assert.are.equal("rejected", state)
      assert.is_true(Promise.AggregateError.is(agg))
      assert.are.same({ e, e, n = 2 }, agg.errors)
    end)

    it("async function body", function()
      local e = {}
      rejects_with(async(function() error(e) end)(), e)
      rejects_with(async(function() await(nil); error(e) end)(), e)
    end)

    it("coroutine.yield called directly in an async function gives a rejection", function()
      local state = settle(async(function() coroutine.yield(1) end)())
      assert.are.equal("rejected", state)
    end)

    it("queueMicrotask callback goes to the uncaught-error reporter", function()
      local e = {}
      Promise.queueMicrotask(function() error(e) end)
      Promise.drain()
      assert.are.equal(1, #uncaught)
      assert.are.equal(e, uncaught[1])
    end)

    it("nothing is lost: each unhandled one is reported with its exact reason", function()
      local errs = {}
      for i = 1, 8 do errs[i] = { i } end
      local bad = setmetatable({}, { __index = function() error(errs[5]) end })
      Promise.new(function() error(errs[1]) end)
      Promise.resolve():next(function() error(errs[2]) end)
      Promise.resolve():finally(function() error(errs[3]) end)
      Promise.resolve({ next = function() error(errs[4]) end })
      Promise.resolve(bad)
      Promise.all({ { next = function() error(errs[6]) end } })
      async(function() error(errs[7]) end)()
      Promise.queueMicrotask(function() error(errs[8]) end)
      Promise.drain()
      local seen = {}
      for _, r in ipairs(reported) do seen[r.reason] = (seen[r.reason] or 0) + 1 end
      for _, u in ipairs(uncaught) do seen[u] = (seen[u] or 0) + 1 end
      for i = 1, 8 do assert.are.equal(1, seen[errs[i]], "error " .. i) end
      assert.are.equal(7, #reported)
      assert.are.equal(1, #uncaught)
    end)
  end)
end)
