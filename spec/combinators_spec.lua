-- Promise.all / allSettled / race / any (docs/manual/core.md, "Combinators"),
-- driven by hand with Promise.drain().
-- Orderings marked "node:" were produced by the same program under Node v20.

local Promise = require("promise")
local H = require("spec.support.helpers")

local live_handles, settle, ticker = H.live_handles, H.settle, H.ticker

--- A thenable that fulfils (or rejects) with `v` when its next is called.
local function thenable(v, reject)
  return {
    next = function(_, res, rej)
      if reject then rej(v) else res(v) end
    end,
  }
end

local combinators = { "all", "allSettled", "race", "any" }

describe("combinators", function()
  before_each(function()
    Promise.onUnhandledRejection(function() end)
    Promise.drain()
  end)

  after_each(function()
    Promise.drain()
    Promise.onUnhandledRejection(nil)
    assert.are.equal(0, live_handles(), "a luv handle was left alive")
  end)

  describe("common behaviour", function()
    for _, name in ipairs(combinators) do
      it(name .. " rejects a non-table list with a Promise.TypeError, without raising", function()
        for _, bad in ipairs({ 42, "abc", true, print }) do
          local p
          assert.has_no.errors(function() p = Promise[name](bad) end)
          assert.is_true(Promise.is(p))
          local state, reason = settle(p)
          assert.are.equal("rejected", state)
          assert.is_true(Promise.TypeError.is(reason), name .. " with " .. type(bad))
          assert.is_false(Promise.AggregateError.is(reason))
        end
        local state, reason = settle(Promise[name](nil))
        assert.are.equal("rejected", state)
        assert.is_true(Promise.TypeError.is(reason))
        local s2, r2 = settle(Promise[name]())
        assert.are.equal("rejected", s2)
        assert.is_true(Promise.TypeError.is(r2))
      end)

      it(name .. " rejects a list whose n is not an integer from 0 to 2^31-1, reading no element", function()
        local bads = { 1.5, -1, 0 / 0, math.huge, -math.huge, 2 ^ 53, 2 ^ 63, math.mininteger, "2", true, {} }
        for _, n in ipairs(bads) do
          local read = false
          local list = setmetatable({ n = n }, { __index = function() read = true end })
          local p
          assert.has_no.errors(function() p = Promise[name](list) end)
          local state, reason = settle(p)
          local shown = ("%s n = %s"):format(name, tostring(n))
          assert.are.equal("rejected", state, shown)
          assert.is_true(Promise.TypeError.is(reason), shown)
          assert.matches("bad argument #1 to '" .. name .. "' (field 'n' must be an integer", reason.message, 1, true)
          assert.is_false(read, shown .. " read an element")
        end
        -- a float with an integral value is that integer
        local state, v = settle(Promise[name]({ "a", "b", "c", n = 2.0 }))
        if name == "all" then
          assert.are.same({ "fulfilled", { "a", "b", n = 2 } }, { state, v })
          assert.is_true(math.type(v.n) == "integer")
        elseif name ~= "allSettled" then
          assert.are.same({ "fulfilled", "a" }, { state, v })
        else
          assert.are.equal(2, #v)
        end
      end)

      it(name .. " returns a new promise, never the input", function()
        local list = { Promise.resolve(1) }
        local p = Promise[name](list)
        assert.is_true(Promise.is(p))
        assert.are_not.equal(list[1], p)
        Promise.drain()
      end)
    end
  end)

  describe("Promise.all", function()
    it("fulfils at once with {n = 0} for an empty list", function()
      local p = Promise.all({})
      local state, v = p:state()
      assert.are.equal("fulfilled", state)
      assert.are.same({ n = 0 }, v)
    end)

    it("fulfils with plain values in order, with n", function()
      local _, v = settle(Promise.all({ 1, "two", false, { 4 } }))
      assert.are.same({ 1, "two", false, { 4 }, n = 4 }, v)
    end)

    it("honours n, so table.pack with nil holes works", function()
      local _, v = settle(Promise.all(table.pack(1, nil, 3, nil)))
      assert.are.equal(4, v.n)
      assert.are.equal(1, v[1])
      assert.is_nil(v[2])
      assert.are.equal(3, v[3])
      assert.is_nil(v[4])
      local _, w = settle(Promise.all(table.pack(nil)))
      assert.are.same({ n = 1 }, w)
      -- n shorter than the array part wins too
      local _, x = settle(Promise.all({ 1, 2, 3, n = 2 }))
      assert.are.same({ 1, 2, n = 2 }, x)
      local _, y = settle(Promise.all({ n = 0, "ignored" }))
      assert.are.same({ n = 0 }, y)
    end)

    it("keeps input order whatever the settlement order", function()
      local p1, r1 = Promise.withResolvers()
      local p2, r2 = Promise.withResolvers()
      local p3, r3 = Promise.withResolvers()
      local all = Promise.all({ p1, p2, p3 })
      r3("c")
      Promise.drain()
      r1("a")
      Promise.drain()
      assert.are.equal("pending", (all:state()))
      r2("b")
      local _, v = settle(all)
      assert.are.same({ "a", "b", "c", n = 3 }, v)
    end)

    it("mixes pending, settled and plain values and thenables", function()
      local pending, resolve = Promise.withResolvers()
      local all = Promise.all({ pending, Promise.resolve("settled"), "plain", thenable("th"), nil, n = 5 })
      Promise.drain()
      assert.are.equal("pending", (all:state()))
      resolve("late")
      local _, v = settle(all)
      assert.are.same({ "late", "settled", "plain", "th", nil, n = 5 }, v)
    end)

    it("rejects with the first rejection", function()
      local a, _, rejA = Promise.withResolvers()
      local b, _, rejB = Promise.withResolvers()
      local all = Promise.all({ a, b })
      rejB("b")
      rejA("a")
      assert.are.same({ "rejected", "b" }, { settle(all) })
      local err = {}
      local state, reason = settle(Promise.all({ 1, Promise.reject(err), thenable("x", true) }))
      assert.are.equal("rejected", state)
      assert.are.equal(err, reason)
    end)

    it("accepts the same promise twice", function()
      local p = Promise.resolve("same")
      local _, v = settle(Promise.all({ p, p }))
      assert.are.same({ "same", "same", n = 2 }, v)
    end)

    it("returns a fresh result table", function()
      local list = { 1, 2 }
      local _, v = settle(Promise.all(list))
      assert.are_not.equal(list, v)
      assert.are.same({ 1, 2 }, list)
    end)

    it("orders like Node", function()
      -- node: t1 all t2 t3 t4 | t1 all t2 t3 t4 | then t1 t2 all t3 t4 t5 | all t1 t2 t3
      local log = {}
      Promise.all({ 1, 2 }):next(function() log[#log + 1] = "all" end)
      ticker(log, 4)
      Promise.drain()
      assert.are.same({ "t1", "all", "t2", "t3", "t4" }, log)

      log = {}
      Promise.all({ Promise.resolve(1), Promise.resolve(2) }):next(function() log[#log + 1] = "all" end)
      ticker(log, 4)
      Promise.drain()
      assert.are.same({ "t1", "all", "t2", "t3", "t4" }, log)

      log = {}
      Promise.all({ { next = function(_, r) log[#log + 1] = "then"; r(1) end } })
        :next(function() log[#log + 1] = "all" end)
      ticker(log, 5)
      Promise.drain()
      assert.are.same({ "then", "t1", "t2", "all", "t3", "t4", "t5" }, log)

      log = {}
      Promise.all({}):next(function() log[#log + 1] = "all" end)
      ticker(log, 3)
      Promise.drain()
      assert.are.same({ "all", "t1", "t2", "t3" }, log)
    end)

    -- Elements already fulfilled when read share one counting job in the
    -- queue (see settledelement in src/combinators.c): these check that
    -- nothing anyone can see changes with it.
    describe("over elements already fulfilled", function()
      it("settles when the elements' own jobs would have, around pending ones", function()
        -- node: [1, P(2), pending, 4, P(5)] where pending resolves in a
        -- microtask queued before the call: t1 t2 all t3
        local log = {}
        local res
        local pending = Promise.new(function(r) res = r end)
        Promise.resolve():next(function() res(3) end)
        Promise.all({ 1, Promise.resolve(2), pending, 4, Promise.resolve(5) })
          :next(function(vs) log[#log + 1] = "all " .. table.concat(vs, ",", 1, vs.n) end)
        ticker(log, 3)
        Promise.drain()
        assert.are.same({ "t1", "t2", "all 1,2,3,4,5", "t3" }, log)
      end)

      it("stores every value, nil holes and a large list included", function()
        local list = { n = 20000 }
        for i = 1, list.n do
          if i % 7 ~= 0 then list[i] = (i % 2 == 0) and Promise.resolve(i) or i end
        end
        local state, vs = settle(Promise.all(list))
        assert.are.equal("fulfilled", state)
        assert.are.equal(20000, vs.n)
        for i = 1, list.n do
          assert.are.equal(i % 7 ~= 0 and i or nil, vs[i])
        end
      end)

      it("a list whose reading runs the queue (Promise.drain in __index) still counts right", function()
        local log = {}
        local list = setmetatable({ n = 6 }, { __index = function(_, i)
          if i == 3 or i == 5 then Promise.drain() end
          return Promise.resolve(i * 10)
        end })
        Promise.all(list):next(function(vs) log[#log + 1] = table.concat(vs, ",", 1, vs.n) end)
        assert.are.same({}, log)  -- not before the last element was read
        Promise.drain()
        assert.are.same({ "10,20,30,40,50,60" }, log)
      end)

      it("a list whose reading raises: rejected, and the counting job harms nothing", function()
        local list = setmetatable({ n = 4 }, { __index = function(_, i)
          if i == 3 then error("boom", 0) end
          return i
        end })
        assert.are.same({ "rejected", "boom" }, { settle(Promise.all(list)) })
      end)

      it("allSettled mixes them with rejected ones in input order", function()
        local state, rs = settle(Promise.allSettled({ 1, Promise.reject("x"), Promise.resolve(3) }))
        assert.are.equal("fulfilled", state)
        assert.are.same({ n = 3, { status = "fulfilled", value = 1 },
          { status = "rejected", reason = "x" }, { status = "fulfilled", value = 3 } }, rs)
      end)

      it("a rejection among them rejects at its own turn", function()
        -- node: t1 caught t2
        local log = {}
        Promise.all({ 1, Promise.reject("no"), 3 })
          :catch(function(e) log[#log + 1] = "caught " .. e end)
        ticker(log, 2)
        Promise.drain()
        assert.are.same({ "t1", "caught no", "t2" }, log)
      end)
    end)
  end)

  describe("Promise.allSettled", function()
    it("fulfils at once with {n = 0} for an empty list", function()
      assert.are.same({ "fulfilled", { n = 0 } }, { Promise.allSettled({}):state() })
    end)

    it("describes every outcome in input order, with n", function()
      local err = {}
      local pending, _, reject = Promise.withResolvers()
      local p = Promise.allSettled({ pending, Promise.resolve("ok"), "plain", Promise.reject(err),
        thenable("th"), thenable("tr", true) })
      Promise.drain()
      assert.are.equal("pending", (p:state()))
      reject("late")
      local state, v = settle(p)
      assert.are.equal("fulfilled", state)
      assert.are.same({
        { status = "rejected", reason = "late" },
        { status = "fulfilled", value = "ok" },
        { status = "fulfilled", value = "plain" },
        { status = "rejected", reason = err },
        { status = "fulfilled", value = "th" },
        { status = "rejected", reason = "tr" },
        n = 6,
      }, v)
      assert.are.equal(err, v[4].reason)
    end)

    it("honours n with nil holes and nil reasons", function()
      local _, v = settle(Promise.allSettled(table.pack(nil, Promise.reject(nil), false)))
      assert.are.same({
        { status = "fulfilled" },
        { status = "rejected" },
        { status = "fulfilled", value = false },
        n = 3,
      }, v)
      assert.are.equal("fulfilled", v[1].status)
      assert.are.equal("rejected", v[2].status)
    end)

    it("orders like Node", function()
      -- node: t1 as t2 t3 t4
      local log = {}
      Promise.allSettled({ 1, Promise.reject(2) }):next(function() log[#log + 1] = "as" end)
      ticker(log, 4)
      Promise.drain()
      assert.are.same({ "t1", "as", "t2", "t3", "t4" }, log)
    end)
  end)

  describe("Promise.race", function()
    it("stays pending forever on an empty list", function()
      local p = Promise.race({})
      Promise.drain()
      assert.are.equal("pending", (p:state()))
      local q = Promise.race({ n = 0, Promise.resolve(1) })
      Promise.drain()
      assert.are.equal("pending", (q:state()))
    end)

    it("settles like the first element to settle", function()
      local a, _, rejA = Promise.withResolvers()
      local b, resB = Promise.withResolvers()
      local r = Promise.race({ a, b })
      resB("b")
      rejA("a")
      assert.are.same({ "fulfilled", "b" }, { settle(r) })
      local c, _, rejC = Promise.withResolvers()
      local d, resD = Promise.withResolvers()
      local r2 = Promise.race({ c, d })
      rejC("c")
      Promise.drain()
      resD("d")
      assert.are.same({ "rejected", "c" }, { settle(r2) })
    end)

    it("takes the first element when several are already settled or plain", function()
      assert.are.same({ "fulfilled", 1 }, { settle(Promise.race({ 1, 2 })) })
      assert.are.same({ "rejected", "x" }, { settle(Promise.race({ Promise.reject("x"), Promise.resolve(2) })) })
      assert.are.same({ "fulfilled", "th" }, { settle(Promise.race({ Promise.new(function() end), thenable("th") })) })
    end)

    it("honours n (a nil hole is a plain nil value)", function()
      local st = table.pack(settle(Promise.race(table.pack(nil, 2))))
      assert.are.equal("fulfilled", st[1])
      assert.is_nil(st[2])
    end)

    it("orders like Node", function()
      -- node: t1 race t2 t3 t4
      local log = {}
      Promise.race({ 1, 2 }):next(function() log[#log + 1] = "race" end)
      ticker(log, 4)
      Promise.drain()
      assert.are.same({ "t1", "race", "t2", "t3", "t4" }, log)
    end)
  end)

  describe("Promise.any", function()
    it("rejects at once with an AggregateError with errors = {n = 0} for an empty list", function()
      local p = Promise.any({})
      local state, reason = p:state()
      assert.are.equal("rejected", state)
      assert.is_true(Promise.AggregateError.is(reason))
      assert.is_true(Promise.Error.is(reason))
      assert.are.equal("AggregateError", reason.name)
      assert.are.equal("string", type(reason.message))
      assert.are.same({ n = 0 }, reason.errors)
    end)

    it("fulfils with the first fulfilment, ignoring rejections", function()
      local a, _, rejA = Promise.withResolvers()
      local b, resB = Promise.withResolvers()
      local c, resC = Promise.withResolvers()
      local p = Promise.any({ a, b, c })
      rejA("a")
      Promise.drain()
      assert.are.equal("pending", (p:state()))
      resC("c")
      resB("b")
      assert.are.same({ "fulfilled", "c" }, { settle(p) })
      assert.are.same({ "fulfilled", "plain" }, { settle(Promise.any({ Promise.reject(1), "plain" })) })
      assert.are.same({ "fulfilled", "th" }, { settle(Promise.any({ thenable("x", true), thenable("th") })) })
    end)

    it("rejects with an AggregateError whose errors are in input order, with n", function()
      local a, _, rejA = Promise.withResolvers()
      local b, _, rejB = Promise.withResolvers()
      local err = {}
      local p = Promise.any({ a, b, Promise.reject(err), thenable("th", true) })
      rejB("b")
      Promise.drain()
      assert.are.equal("pending", (p:state()))
      rejA("a")
      local state, reason = settle(p)
      assert.are.equal("rejected", state)
      assert.is_true(Promise.AggregateError.is(reason))
      assert.are.same({ "a", "b", err, "th", n = 4 }, reason.errors)
      assert.are.equal(err, reason.errors[3])
    end)

    it("keeps nil and false reasons in errors, honouring n", function()
      local _, reason = settle(Promise.any(table.pack(Promise.reject(nil), Promise.reject(false))))
      assert.is_true(Promise.AggregateError.is(reason))
      assert.are.equal(2, reason.errors.n)
      assert.is_nil(reason.errors[1])
      assert.is_false(reason.errors[2])
      -- a nil hole is a plain nil value: it fulfils
      local st = table.pack(settle(Promise.any(table.pack(Promise.reject(1), nil))))
      assert.are.equal(2, st.n)
      assert.are.equal("fulfilled", st[1])
      assert.is_nil(st[2])
    end)

    it("orders like Node", function()
      -- node: t1 any t2 t3 t4 | any t1 t2 t3
      local log = {}
      Promise.any({ Promise.reject(1), 2 }):next(function() log[#log + 1] = "any" end)
      ticker(log, 4)
      Promise.drain()
      assert.are.same({ "t1", "any", "t2", "t3", "t4" }, log)
      log = {}
      Promise.any({}):catch(function() log[#log + 1] = "any" end)
      ticker(log, 3)
      Promise.drain()
      assert.are.same({ "any", "t1", "t2", "t3" }, log)
    end)
  end)
end)
