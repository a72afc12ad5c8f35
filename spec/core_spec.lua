-- Core promise semantics (docs/manual/core.md and errors.md), driven by hand with
-- Promise.drain(): no event loop is involved.
-- Orderings marked "node:" were produced by the same program under Node v20.

local Promise = require("promise")
local H = require("spec.support.helpers")

local live_handles, settle, ticker = H.live_handles, H.settle, H.ticker

local function logger()
  local log = {}
  return log, function(s) return function() log[#log + 1] = s end end
end

describe("core", function()
  local silenced = {}

  before_each(function()
    -- Specs below reject promises on purpose; do not spam stderr.
    Promise.onUnhandledRejection(function(reason, p) silenced[#silenced + 1] = { reason, p } end)
    Promise.drain()
  end)

  after_each(function()
    Promise.drain()
    Promise.onUnhandledRejection(nil)
    silenced = {}
    assert.are.equal(0, live_handles(), "a luv handle was left alive")
  end)

  describe("Promise.new / Promise(...)", function()
    it("calls the executor synchronously with resolve and reject", function()
      local called, args = false, nil
      local p = Promise.new(function(...)
        called = true
        args = table.pack(...)
      end)
      assert.is_true(called)
      assert.are.equal(2, args.n)
      assert.are.equal("function", type(args[1]))
      assert.are.equal("function", type(args[2]))
      assert.are.equal("pending", (p:state()))
    end)

    it("is callable as Promise(executor)", function()
      local p = Promise(function(resolve) resolve(42) end)
      assert.is_true(Promise.is(p))
      assert.are.same({ "fulfilled", 42 }, { p:state() })
    end)

    it("accepts a callable table as executor", function()
      local exec = setmetatable({}, { __call = function(_, resolve) resolve("t") end })
      local p = Promise.new(exec)
      assert.are.same({ "fulfilled", "t" }, { p:state() })
    end)

    it("settles synchronously when the executor resolves with a plain value", function()
      local p = Promise.new(function(resolve) resolve("v") end)
      assert.are.same({ "fulfilled", "v" }, { p:state() })
      local q = Promise.new(function(_, reject) reject("r") end)
      assert.are.same({ "rejected", "r" }, { q:state() })
    end)

    it("rejects with exactly the value raised by the executor", function()
      local err = { code = 1 }
      local p = Promise.new(function() error(err) end)
      local state, reason = p:state()
      assert.are.equal("rejected", state)
      assert.are.equal(err, reason)
      local q = Promise.new(function() error("plain", 0) end)
      assert.are.same({ "rejected", "plain" }, { q:state() })
      -- error() with a position keeps Lua's position prefix: the raised value as is
      local r = Promise.new(function() error("at pos") end)
      local _, why = r:state()
      assert.matches("core_spec.lua:%d+: at pos$", why)
    end)

    it("ignores an executor error raised after resolving", function()
      local p = Promise.new(function(resolve)
        resolve(1)
        error("late", 0)
      end)
      assert.are.same({ "fulfilled", 1 }, { p:state() })
      local q = Promise.new(function(_, reject)
        reject("first")
        error("late", 0)
      end)
      assert.are.same({ "rejected", "first" }, { q:state() })
    end)

    it("lets only the first resolve/reject call win", function()
      local res, rej
      local p = Promise.new(function(a, b) res, rej = a, b end)
      res(1)
      res(2)
      rej("no")
      assert.are.same({ "fulfilled", 1 }, { p:state() })
      local q = Promise.new(function(a, b) res, rej = a, b end)
      rej("first")
      res(3)
      rej("second")
      assert.are.same({ "rejected", "first" }, { settle(q) })
    end)

    it("resolves with nil and with false", function()
      local p = Promise.new(function(resolve) resolve() end)
      local st = table.pack(p:state())
      assert.are.equal(2, st.n)
      assert.are.equal("fulfilled", st[1])
      assert.is_nil(st[2])
      assert.are.same({ "fulfilled", false }, { Promise.resolve(false):state() })
    end)

    it("calling resolve from outside the executor settles later", function()
      local resolve
      local p = Promise.new(function(r) resolve = r end)
      assert.are.equal("pending", (p:state()))
      resolve("later")
      assert.are.same({ "fulfilled", "later" }, { p:state() })
    end)

    it("gives every kind of executor both functions it can reach", function()
      -- C functions and callable tables see both: pcall(resolve, reject)
      -- calls resolve(reject), so the value is the reject function
      local p = Promise.new(pcall)
      local state, value = p:state()
      assert.are.equal("fulfilled", state)
      assert.are.equal("function", type(value))
      value("ignored: p is settled")
      local exec = setmetatable({}, { __call = function(_, _, reject) reject("t") end })
      assert.are.same({ "rejected", "t" }, { settle(Promise.new(exec)) })
      -- a vararg executor sees both, a two-parameter one too
      assert.are.same({ "rejected", "v" },
        { settle(Promise.new(function(...) select(2, ...)("v") end)) })
      assert.are.same({ "rejected", "two" },
        { settle(Promise.new(function(_, reject) reject("two") end)) })
      -- executors that declare fewer parameters behave as before
      assert.are.same({ "fulfilled", 1 }, { Promise.new(function(r) r(1) end):state() })
      assert.are.same({ "pending" }, { Promise.new(function() end):state() })
    end)

    it("does not make the resolving functions an executor cannot see", function()
      -- `function(resolve)` cannot reach reject, `function()` neither:
      -- measured as bytes allocated per Promise.new, collector stopped
      local N = 2000
      local function cost(executor)
        collectgarbage()
        collectgarbage("stop")
        local before = collectgarbage("count")
        for _ = 1, N do Promise.new(executor) end
        local bytes = (collectgarbage("count") - before) * 1024 / N
        collectgarbage("restart")
        return bytes
      end
      local two = cost(function(_, _) end)
      local one = cost(function(_) end)
      local none = cost(function() end)
      local vararg = cost(function(...) end) -- luacheck: ignore 212
      -- a resolving function is a C closure of 48 bytes or more
      assert.is_true(two - one >= 48, ("two %.0f B, one %.0f B"):format(two, one))
      assert.is_true(one - none >= 48, ("one %.0f B, none %.0f B"):format(one, none))
      assert.are.equal(two, vararg)
    end)

    it("raises a Lua error for a non-callable executor", function()
      assert.has_error(function() Promise.new(nil) end,
        "bad argument #1 to 'new' (function expected, got nil)")
      assert.has_error(function() Promise.new(42) end,
        "bad argument #1 to 'new' (function expected, got number)")
      assert.has_error(function() Promise.new({}) end,
        "bad argument #1 to 'new' (function expected, got table)")
      local ok, msg = pcall(Promise, nil)
      assert.is_false(ok)
      assert.matches("function expected, got nil", msg, 1, true)
    end)

    it("the error for a bad executor points at the caller", function()
      local ok, msg = pcall(function() Promise.new("x") end)
      assert.is_false(ok)
      assert.are.equal("string", type(msg))
      assert.matches("function expected, got string", msg, 1, true)
    end)
  end)

  describe("the resolution procedure", function()
    it("rejects with a Promise.TypeError when resolved with itself", function()
      local p, resolve = Promise.withResolvers()
      resolve(p)
      local state, reason = p:state()
      assert.are.equal("rejected", state)
      assert.is_true(Promise.TypeError.is(reason))
      assert.is_true(Promise.Error.is(reason))
      assert.are.equal("TypeError", reason.name)
      assert.are.equal("string", type(reason.message))
      assert.matches("^TypeError: ", tostring(reason))
    end)

    it("rejects with a TypeError when a handler returns its own promise", function()
      local q
      q = Promise.resolve(1):next(function() return q end)
      local state, reason = settle(q)
      assert.are.equal("rejected", state)
      assert.is_true(Promise.TypeError.is(reason))
    end)

    it("adopts a promise of this library through a job", function()
      local inner = Promise.resolve("inner")
      local p = Promise.new(function(resolve) resolve(inner) end)
      assert.are.equal("pending", (p:state()))
      assert.are.same({ "fulfilled", "inner" }, { settle(p) })
      local rej = Promise.reject("bad")
      local q = Promise.new(function(resolve) resolve(rej) end)
      assert.are.same({ "rejected", "bad" }, { settle(q) })
    end)

    it("reads `next` once, synchronously, and calls it in a later job as thenable:next(res, rej)", function()
      local reads, calls = 0, {}
      local thenable = setmetatable({}, {
        __index = function(_, k)
          if k == "next" then
            reads = reads + 1
            return function(self, res, rej)
              calls[#calls + 1] = { self = self, res = type(res), rej = type(rej) }
              res("adopted")
            end
          end
        end,
      })
      local p = Promise.new(function(resolve) resolve(thenable) end)
      assert.are.equal(1, reads)
      assert.are.equal(0, #calls)
      assert.are.equal("pending", (p:state()))
      assert.are.same({ "fulfilled", "adopted" }, { settle(p) })
      assert.are.equal(1, reads)
      assert.are.equal(1, #calls)
      assert.are.equal(thenable, calls[1].self)
      assert.are.equal("function", calls[1].res)
      assert.are.equal("function", calls[1].rej)
    end)

    it("orders thenable adoption like Node", function()
      -- node: sync then t1 a t2 t3 t4
      local log = {}
      Promise.new(function(r)
        r({ next = function(_, res) log[#log + 1] = "then"; res(1) end })
      end):next(function() log[#log + 1] = "a" end)
      ticker(log, 4)
      log[#log + 1] = "sync"
      Promise.drain()
      assert.are.same({ "sync", "then", "t1", "a", "t2", "t3", "t4" }, log)
    end)

    it("orders promise adoption like Node (two extra ticks)", function()
      -- node: t1 t2 a t3 t4
      local log = {}
      Promise.new(function(r) r(Promise.resolve(1)) end):next(function() log[#log + 1] = "a" end)
      ticker(log, 4)
      Promise.drain()
      assert.are.same({ "t1", "t2", "a", "t3", "t4" }, log)
    end)

    it("accepts a callable table as a thenable's next", function()
      local thenable = {
        next = setmetatable({}, { __call = function(_, _, res) res("via __call") end }),
      }
      assert.are.same({ "fulfilled", "via __call" }, { settle(Promise.resolve(thenable)) })
    end)

    it("fulfils with a table whose next is not callable", function()
      local t = { next = 5 }
      local state, value = settle(Promise.resolve(t))
      assert.are.equal("fulfilled", state)
      assert.are.equal(t, value)
      local fn = function() end
      local _, v2 = settle(Promise.resolve(fn))
      assert.are.equal(fn, v2)
    end)

    it("rejects, synchronously, when reading `next` raises", function()
      local err = {}
      local t = setmetatable({}, { __index = function() error(err) end })
      local p = Promise.new(function(resolve) resolve(t) end)
      local state, reason = p:state()
      assert.are.equal("rejected", state)
      assert.are.equal(err, reason)
    end)

    it("rejects with what a thenable's next raises, unless it already resolved", function()
      local p = Promise.resolve({ next = function() error("boom", 0) end })
      assert.are.same({ "rejected", "boom" }, { settle(p) })
      local q = Promise.resolve({ next = function(_, res) res(1); error("ignored", 0) end })
      assert.are.same({ "fulfilled", 1 }, { settle(q) })
    end)

    it("ignores later calls of a thenable's callbacks", function()
      local p = Promise.resolve({ next = function(_, res, rej) rej("first"); res(2); rej("x") end })
      assert.are.same({ "rejected", "first" }, { settle(p) })
    end)

    it("adopts thenables recursively", function()
      local inner = { next = function(_, res) res("deep") end }
      local outer = { next = function(_, res) res(inner) end }
      assert.are.same({ "fulfilled", "deep" }, { settle(Promise.resolve(outer)) })
    end)
  end)

  describe("static constructors", function()
    it("Promise.resolve returns a promise of this library itself", function()
      local p = Promise.new(function() end)
      assert.are.equal(p, Promise.resolve(p))
      local q = Promise.resolve(7)
      assert.are_not.equal(q, Promise.resolve(7))
      assert.are.same({ "fulfilled", 7 }, { q:state() })
    end)

    it("Promise.resolve wraps a thenable in a new promise", function()
      local t = { next = function(_, res) res("t") end }
      local p = Promise.resolve(t)
      assert.is_true(Promise.is(p))
      assert.are.same({ "fulfilled", "t" }, { settle(p) })
    end)

    it("Promise.reject does not unwrap promises", function()
      local inner = Promise.resolve(1)
      local state, reason = Promise.reject(inner):state()
      assert.are.equal("rejected", state)
      assert.are.equal(inner, reason)
      local st = table.pack(Promise.reject():state())
      assert.are.equal(2, st.n)
      assert.are.equal("rejected", st[1])
      assert.is_nil(st[2])
    end)

    it("Promise.withResolvers returns p, resolve, reject", function()
      local r = table.pack(Promise.withResolvers())
      assert.are.equal(3, r.n)
      assert.is_true(Promise.is(r[1]))
      r[2]("ok")
      r[3]("ignored")
      assert.are.same({ "fulfilled", "ok" }, { r[1]:state() })
      local p, _, reject = Promise.withResolvers()
      reject("no")
      assert.are.same({ "rejected", "no" }, { p:state() })
    end)

    it("Promise.try calls fn synchronously with its arguments", function()
      local got
      local p = Promise.try(function(...)
        got = table.pack(...)
        return "r1", "r2"
      end, 1, nil, 3, nil)
      assert.are.same({ 1, nil, 3, nil, n = 4 }, got)
      assert.are.same({ "fulfilled", "r1" }, { p:state() })
    end)

    it("Promise.try rejects with exactly what fn raised", function()
      local err = {}
      local state, reason = Promise.try(function() error(err) end):state()
      assert.are.equal("rejected", state)
      assert.are.equal(err, reason)
    end)

    it("Promise.try adopts a returned promise", function()
      local p = Promise.try(function() return Promise.resolve("inner") end)
      assert.are.same({ "fulfilled", "inner" }, { settle(p) })
    end)

    it("Promise.try orders like Node", function()
      -- node: fn sync then t1 t2
      local log = {}
      Promise.try(function() log[#log + 1] = "fn"; return 1 end)
        :next(function() log[#log + 1] = "then" end)
      log[#log + 1] = "sync"
      ticker(log, 2)
      Promise.drain()
      assert.are.same({ "fn", "sync", "then", "t1", "t2" }, log)
    end)

    it("Promise.is is true only for promises of this library", function()
      assert.is_true(Promise.is(Promise.resolve()))
      assert.is_true(Promise.is(Promise.new(function() end)))
      assert.is_false(Promise.is(nil))
      assert.is_false(Promise.is({}))
      assert.is_false(Promise.is({ next = function() end }))
      assert.is_false(Promise.is(Promise))
      assert.is_false(Promise.is("promise"))
      assert.is_false(Promise.is(io.stdout))
      assert.is_false(Promise.is(setmetatable({}, getmetatable(Promise.resolve()))))
    end)
  end)

  describe("p:next", function()
    it("returns a new promise and calls handlers asynchronously", function()
      local called = false
      local p = Promise.resolve(1)
      local q = p:next(function() called = true end)
      assert.is_true(Promise.is(q))
      assert.are_not.equal(p, q)
      assert.is_false(called)
      Promise.drain()
      assert.is_true(called)
    end)

    it("is also reachable as p['then']", function()
      local p = Promise.resolve(2)
      assert.are.equal(p.next, p["then"])
      local q = p["then"](p, function(v) return v * 10 end)
      assert.are.same({ "fulfilled", 20 }, { settle(q) })
    end)

    it("passes exactly one argument to handlers", function()
      local n1, n2
      Promise.resolve(nil):next(function(...) n1 = select("#", ...) end)
      Promise.reject(nil):next(nil, function(...) n2 = select("#", ...) end)
      Promise.drain()
      assert.are.equal(1, n1)
      assert.are.equal(1, n2)
    end)

    it("resolves with the handler's first return value only", function()
      local n, v
      Promise.resolve():next(function() return "a", "b", "c" end)
        :next(function(...) n, v = select("#", ...), ... end)
      Promise.drain()
      assert.are.equal(1, n)
      assert.are.equal("a", v)
      assert.are.same({ "fulfilled" }, { settle(Promise.resolve(1):next(function() end)) })
    end)

    it("ignores non-callable handlers (value and reason pass through)", function()
      assert.are.same({ "fulfilled", 1 }, { settle(Promise.resolve(1):next(42, "x")) })
      assert.are.same({ "fulfilled", 2 }, { settle(Promise.resolve(2):next()) })
      assert.are.same({ "rejected", "r" }, { settle(Promise.reject("r"):next(function() end)) })
      assert.are.same({ "rejected", "r" }, { settle(Promise.reject("r"):next(nil, {})) })
    end)

    it("accepts callable tables as handlers", function()
      local h = setmetatable({}, { __call = function(_, v) return v + 1 end })
      assert.are.same({ "fulfilled", 2 }, { settle(Promise.resolve(1):next(h)) })
    end)

    it("rejects with exactly the value a handler raised", function()
      local err = { "e" }
      local state, reason = settle(Promise.resolve(1):next(function() error(err) end))
      assert.are.equal("rejected", state)
      assert.are.equal(err, reason)
      assert.are.same({ "rejected", false }, { settle(Promise.reject(1):next(nil, function() error(false) end)) })
    end)

    it("recovers from a rejection in onRejected", function()
      assert.are.same({ "fulfilled", "fixed r" },
        { settle(Promise.reject("r"):next(nil, function(r) return "fixed " .. r end)) })
    end)

    it("adopts a promise or thenable returned by a handler", function()
      local p = Promise.resolve(1):next(function() return Promise.resolve("p") end)
      assert.are.same({ "fulfilled", "p" }, { settle(p) })
      local q = Promise.resolve(1):next(function() return { next = function(_, _, rej) rej("t") end } end)
      assert.are.same({ "rejected", "t" }, { settle(q) })
    end)

    it("runs handlers of one promise in registration order, chains interleaved like Node", function()
      -- node: a1 b1 a2 b2 a3 b3
      local log, mark = logger()
      Promise.resolve():next(mark("a1")):next(mark("a2")):next(mark("a3"))
      Promise.resolve():next(mark("b1")):next(mark("b2")):next(mark("b3"))
      Promise.drain()
      assert.are.same({ "a1", "b1", "a2", "b2", "a3", "b3" }, log)
      local log2, mark2 = logger()
      local p, resolve = Promise.withResolvers()
      for i = 1, 5 do p:next(mark2(i)) end
      resolve()
      Promise.drain()
      assert.are.same({ 1, 2, 3, 4, 5 }, log2)
    end)

    it("raises a Lua error on a bad self", function()
      local p = Promise.resolve(1)
      assert.has_error(function() p.next(42) end)
      assert.has_error(function() p.next({}) end)
      assert.has_error(function() p.catch(nil) end)
      assert.has_error(function() p.state("x") end)
    end)
  end)

  describe("p:catch", function()
    it("is p:next(nil, onRejected)", function()
      assert.are.same({ "fulfilled", "c:r" },
        { settle(Promise.reject("r"):catch(function(r) return "c:" .. r end)) })
      local called = false
      local p = Promise.resolve(5):catch(function() called = true end)
      assert.are.same({ "fulfilled", 5 }, { settle(p) })
      assert.is_false(called)
    end)

    it("takes one tick to pass a value through, like Node", function()
      -- node: t1 a t2 t3
      local log, mark = logger()
      Promise.resolve(1):catch(function() return 0 end):next(mark("a"))
      ticker(log, 3)
      Promise.drain()
      assert.are.same({ "t1", "a", "t2", "t3" }, log)
    end)
  end)

  describe("p:finally", function()
    it("calls onFinally with no arguments and passes the value through", function()
      local n
      local p = Promise.resolve("v"):finally(function(...) n = select("#", ...); return "ignored" end)
      assert.are.same({ "fulfilled", "v" }, { settle(p) })
      assert.are.equal(0, n)
    end)

    it("passes the reason through", function()
      local err = {}
      local n
      local state, reason = settle(Promise.reject(err):finally(function(...) n = select("#", ...) end))
      assert.are.equal("rejected", state)
      assert.are.equal(err, reason)
      assert.are.equal(0, n)
    end)

    it("lets an error raised by onFinally win", function()
      local e = {}
      local state, reason = settle(Promise.resolve(1):finally(function() error(e) end))
      assert.are.equal("rejected", state)
      assert.are.equal(e, reason)
      assert.are.same({ "rejected", "second" },
        { settle(Promise.reject("first"):finally(function() error("second", 0) end)) })
    end)

    it("lets a rejected promise or thenable returned by onFinally win", function()
      assert.are.same({ "rejected", "pr" },
        { settle(Promise.resolve(1):finally(function() return Promise.reject("pr") end)) })
      assert.are.same({ "rejected", "th" },
        { settle(Promise.resolve(1):finally(function()
          return { next = function(_, _, rej) rej("th") end }
        end)) })
    end)

    it("waits for a returned promise, keeping the original value", function()
      local gate, open = Promise.withResolvers()
      local p = Promise.resolve("orig"):finally(function() return gate end)
      Promise.drain()
      assert.are.equal("pending", (p:state()))
      open("gate value")
      assert.are.same({ "fulfilled", "orig" }, { settle(p) })
      local q = Promise.reject("why"):finally(function() return Promise.resolve("x") end)
      assert.are.same({ "rejected", "why" }, { settle(q) })
    end)

    it("passes everything through when onFinally is not callable", function()
      assert.are.same({ "fulfilled", 1 }, { settle(Promise.resolve(1):finally(nil)) })
      assert.are.same({ "rejected", 2 }, { settle(Promise.reject(2):finally(42)) })
    end)

    it("orders like Node", function()
      -- node: f t1 t2 t3 a t4 t5   and   f t1 t2 t3 c t4 t5
      local log, mark = logger()
      Promise.resolve(1):finally(mark("f")):next(mark("a"))
      ticker(log, 5)
      Promise.drain()
      assert.are.same({ "f", "t1", "t2", "t3", "a", "t4", "t5" }, log)
      local log2, mark2 = logger()
      Promise.reject(1):finally(mark2("f")):catch(mark2("c"))
      ticker(log2, 5)
      Promise.drain()
      assert.are.same({ "f", "t1", "t2", "t3", "c", "t4", "t5" }, log2)
    end)
  end)

  describe("p:state and tostring", function()
    it("returns only the state while pending", function()
      local p = Promise.new(function() end)
      assert.are.equal(1, select("#", p:state()))
      assert.are.equal("pending", p:state())
    end)

    it("returns state and value or reason once settled", function()
      local t = {}
      local r = table.pack(Promise.resolve(t):state())
      assert.are.equal(2, r.n)
      assert.are.equal("fulfilled", r[1])
      assert.are.equal(t, r[2])
      assert.are.same({ "rejected", "x" }, { Promise.reject("x"):state() })
    end)

    it("shows the state in tostring", function()
      assert.matches("^Promise<pending>: 0?x?%x+$", tostring(Promise.new(function() end)))
      assert.matches("^Promise<fulfilled>: ", tostring(Promise.resolve(1)))
      assert.matches("^Promise<rejected>: ", tostring(Promise.reject(1)))
      local p, resolve = Promise.withResolvers()
      local before = tostring(p)
      resolve()
      assert.are.equal((before:gsub("pending", "fulfilled")), tostring(p))
      assert.are_not.equal(tostring(Promise.resolve(1)), tostring(Promise.resolve(1)))
    end)
  end)

  describe("microtasks and drain", function()
    it("runs queueMicrotask callbacks FIFO with no arguments, including ones queued while draining", function()
      local log = {}
      Promise.queueMicrotask(function(...)
        log[#log + 1] = "a" .. select("#", ...)
        Promise.queueMicrotask(function() log[#log + 1] = "c" end)
      end)
      Promise.queueMicrotask(function() log[#log + 1] = "b" end)
      assert.are.same({}, log)
      Promise.drain()
      assert.are.same({ "a0", "b", "c" }, log)
    end)

    it("drain returns the number of jobs run", function()
      assert.are.equal(0, Promise.drain())
      Promise.queueMicrotask(function() end)
      Promise.queueMicrotask(function() end)
      assert.are.equal(2, Promise.drain())
      assert.are.equal(0, Promise.drain())
    end)

    it("queueMicrotask rejects non-callables with a Lua error", function()
      assert.has_error(function() Promise.queueMicrotask(nil) end,
        "bad argument #1 to 'queueMicrotask' (function expected, got nil)")
    end)
  end)

  describe("error classes (section 3)", function()
    local names = { "Error", "TypeError", "AggregateError", "TimeoutError", "AbortError",
      "CircuitOpenError", "QueueFullError", "IOError", "RedisError", "LockError", "LockLostError" }

    it("exposes every class, each a subclass of Promise.Error", function()
      for _, name in ipairs(names) do
        local cls = Promise[name]
        assert.are.equal("table", type(cls), name)
        local e = cls("msg " .. name, { cause = "c" })
        assert.are.equal(name, e.name)
        assert.are.equal("msg " .. name, e.message)
        assert.are.equal("c", e.cause)
        assert.are.equal(name .. ": msg " .. name, tostring(e))
        assert.is_true(cls.is(e), name)
        assert.is_true(Promise.Error.is(e), name)
      end
      assert.is_false(Promise.TypeError.is(Promise.Error("x")))
      assert.is_false(Promise.TimeoutError.is(Promise.AbortError("x")))
      assert.is_false(Promise.Error.is({ name = "Error", message = "fake" }))
      assert.is_false(Promise.Error.is(nil))
      assert.is_false(Promise.Error.is("Error: x"))
    end)

    it("carries class-specific fields", function()
      local agg = Promise.AggregateError("all failed", { errors = { 1, 2, n = 2 } })
      assert.are.same({ 1, 2, n = 2 }, agg.errors)
      local io = Promise.IOError("ENOENT: no such file", { code = "ENOENT", path = "/x", syscall = "open" })
      assert.are.equal("ENOENT", io.code)
      assert.are.equal("/x", io.path)
      assert.are.equal("open", io.syscall)
    end)

    it("makes user subclasses with extend", function()
      local MyError = Promise.Error:extend("MyError")
      local Sub = MyError:extend("SubError")
      local e = Sub("deep")
      assert.are.equal("SubError: deep", tostring(e))
      assert.is_true(Sub.is(e))
      assert.is_true(MyError.is(e))
      assert.is_true(Promise.Error.is(e))
      assert.is_false(Promise.TypeError.is(e))
      assert.is_false(Sub.is(MyError("x")))
    end)

    it("travels unchanged through error() and rejections", function()
      local e = Promise.TimeoutError("late")
      local ok, got = pcall(error, e)
      assert.is_false(ok)
      assert.are.equal(e, got)
      local _, reason = settle(Promise.resolve():next(function() error(e) end))
      assert.are.equal(e, reason)
      assert.are.equal("late", reason.message)
    end)
  end)

  it("reports a rejection nobody handles to the installed reporter as (reason, promise)", function()
    local p = Promise.reject("lonely")
    Promise.drain()
    local last = silenced[#silenced]
    assert.are.equal("lonely", last[1])
    assert.are.equal(p, last[2])
  end)
end)
