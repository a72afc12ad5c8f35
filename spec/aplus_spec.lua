-- Promises/A+ 1.1, rules 2.1 to 2.3, translated to luv-promise.
--
-- Modelled on the official suite (npm `promises-aplus-tests`, lib/tests/*.js):
--   * JS `promise.then(f, r)` is `p:next(f, r)` (also reachable as `p["then"]`);
--   * a thenable is a table or full userdata whose `next` field (read once by
--     ordinary indexing, metamethods apply) is callable; it is called as
--     `x:next(resolvePromise, rejectPromise)`;
--   * JS `resolved(v)`, `rejected(r)`, `deferred()` are `Promise.resolve(v)`,
--     `Promise.reject(r)`, `Promise.withResolvers()`;
--   * JS `setTimeout(fn, ms)` is `later(fn, ms)`: a virtual timer list run by
--     `flush()`, which drains the microtask queue (`Promise.drain()`) first and
--     after every timer, as the real loop does. The event loop is never run.
--   * JS `done()` becomes: handlers only record what happened (an assertion
--     raised inside a handler would just reject a promise), and every test
--     checks the record after `flush()`.
-- Lua-specific additions: nil and false as values and reasons, full userdata
-- thenables, `next` reached through __index (table or function) and callable
-- through __call, values of other types never being thenables even when their
-- metatable gives them a `next` method.

local Promise = require("promise")

local dummy = { dummy = "dummy" }          -- a value we do not test against
local sentinel = { sentinel = "sentinel" } -- a value tested by identity
local other = { other = "other" }          -- a value that must not show up
local sentinel2 = { sentinel2 = "sentinel2" }
local sentinel3 = { sentinel3 = "sentinel3" }

--------------------------------------------------------------------------
-- Harness

local timers, clock, seq = {}, 0, 0

--- JS setTimeout on a virtual clock: `fn` runs from `flush()`, in deadline
--- order, creation order for equal deadlines.
local function later(fn, ms)
  seq = seq + 1
  timers[#timers + 1] = { at = clock + (ms or 0), seq = seq, fn = fn }
end

--- Runs microtasks, then every timer (draining microtasks after each one)
--- until nothing is left.
local function flush()
  Promise.drain()
  while #timers > 0 do
    local best = 1
    for i = 2, #timers do
      local a, b = timers[i], timers[best]
      if a.at < b.at or (a.at == b.at and a.seq < b.seq) then best = i end
    end
    local t = table.remove(timers, best)
    clock = t.at
    t.fn()
    Promise.drain()
  end
end

--- A test body: `build()` sets things up and returns `verify`, which runs
--- after everything has settled. `hooks.install/remove` surround build+flush.
local function check(build, hooks)
  return function()
    local verify
    if hooks then hooks.install() end
    local ok, err = pcall(function()
      verify = build()
      flush()
    end)
    if hooks then hooks.remove() end
    if not ok then error(err, 0) end
    verify()
  end
end

--- A full userdata with the given metatable (a closed file handle whose
--- metatable is replaced: pure Lua has no other way to make one).
local function newUserdata(mt)
  local u = io.tmpfile()
  u:close()
  debug.setmetatable(u, mt or {})
  return u
end

local function isCallable(v)
  if type(v) == "function" then return true end
  local mt = debug.getmetatable(v)
  return mt ~= nil and mt.__call ~= nil
end

--- Attaches recording handlers to `p`.
local function watch(p, method)
  local r = { promise = p, calls = {} }
  local function onF(...)
    r.calls[#r.calls + 1] = { how = "fulfilled", value = (...), n = select("#", ...) }
  end
  local function onR(...)
    r.calls[#r.calls + 1] = { how = "rejected", value = (...), n = select("#", ...) }
  end
  if method == "then" then
    p["then"](p, onF, onR)
  else
    p:next(onF, onR)
  end
  return r
end

local function assertSettled(r, how, v)
  assert.are.equal(1, #r.calls, "expected exactly one handler call")
  assert.are.equal(how, r.calls[1].how)
  assert.are.equal(v, r.calls[1].value)
  local state, sv = r.promise:state()
  assert.are.equal(how, state)
  assert.are.equal(v, sv)
end

--- `test(promise)` for "promise fulfils with `v`" (v read lazily if a function
--- is given as `lazy`).
local function fulfillsWith(v)
  return function(promise)
    local r = watch(promise)
    return function() assertSettled(r, "fulfilled", v) end
  end
end

local function rejectsWith(v)
  return function(promise)
    local r = watch(promise)
    return function() assertSettled(r, "rejected", v) end
  end
end

local function stillPending(promise)
  local r = watch(promise)
  return function()
    assert.are.equal(0, #r.calls)
    assert.are.equal("pending", (promise:state()))
  end
end

-- helpers/testThreeCases.js (plus a fourth: settled by the executor)
local function testFulfilled(value, test, hooks)
  it("already-fulfilled", check(function()
    return test(Promise.resolve(value))
  end, hooks))
  it("immediately-fulfilled", check(function()
    local p, resolve = Promise.withResolvers()
    local verify = test(p)
    resolve(value)
    return verify
  end, hooks))
  it("eventually-fulfilled", check(function()
    local p, resolve = Promise.withResolvers()
    local verify = test(p)
    later(function() resolve(value) end, 50)
    return verify
  end, hooks))
  it("fulfilled by the executor", check(function()
    return test(Promise.new(function(resolve) resolve(value) end))
  end, hooks))
end

local function testRejected(reason, test, hooks)
  it("already-rejected", check(function()
    return test(Promise.reject(reason))
  end, hooks))
  it("immediately-rejected", check(function()
    local p, _, reject = Promise.withResolvers()
    local verify = test(p)
    reject(reason)
    return verify
  end, hooks))
  it("eventually-rejected", check(function()
    local p, _, reject = Promise.withResolvers()
    local verify = test(p)
    later(function() reject(reason) end, 50)
    return verify
  end, hooks))
  it("rejected by the executor", check(function()
    return test(Promise.new(function(_, reject) reject(reason) end))
  end, hooks))
end

-- 2.3.x testPromiseResolution: `promise` is resolved with `xFactory()`.
local function testPromiseResolution(xFactory, test)
  it("via return from a fulfilled promise", check(function()
    return test(Promise.resolve(dummy):next(function() return xFactory() end))
  end))
  it("via return from a rejected promise", check(function()
    return test(Promise.reject(dummy):next(nil, function() return xFactory() end))
  end))
  it("via the resolve function of a pending promise", check(function()
    local p, resolve = Promise.withResolvers()
    local verify = test(p)
    resolve(xFactory())
    return verify
  end))
end

-- helpers/reasons.js; nil is a valid reason, hence {name, factory} pairs.
local reasons = {
  { "nil", function() return nil end },
  { "false", function() return false end },
  { "0", function() return 0 end },
  { "a string", function() return "boom" end },
  { "a Promise.Error", function() return Promise.Error("boom") end },
  { "a table", function() return {} end },
  { "a full userdata", function() return newUserdata({}) end },
  { "an always-pending thenable", function() return { next = function() end } end },
  { "a fulfilled promise", function() return Promise.resolve(dummy) end },
  { "a rejected promise", function() return Promise.reject(dummy) end },
}

-- Non-callable handler values (a table with __call IS callable in Lua).
local nonFunctions = {
  { "nil", function() return nil end },
  { "false", function() return false end },
  { "true", function() return true end },
  { "5", function() return 5 end },
  { "a string", function() return "function" end },
  { "a table", function() return {} end },
  { "a table containing a function", function() return { function() return other end } end },
  { "a table with a metatable but no __call", function()
    return setmetatable({}, { __index = function() return function() return other end end })
  end },
  { "a full userdata without __call", function() return newUserdata({}) end },
}

-- helpers/thenables.js, plus Lua shapes of thenables.
local thenables = {}
thenables.fulfilled = {
  { "a synchronously-fulfilled custom thenable", function(value)
    return { next = function(_, onFulfilled) onFulfilled(value) end }
  end },
  { "an asynchronously-fulfilled custom thenable", function(value)
    return { next = function(_, onFulfilled) later(function() onFulfilled(value) end, 0) end }
  end },
  { "a synchronously-fulfilled one-time thenable", function(value)
    local retrieved = 0
    return setmetatable({}, { __index = function(_, k)
      if k == "next" and retrieved == 0 then
        retrieved = retrieved + 1
        return function(_, onFulfilled) onFulfilled(value) end
      end
      return nil
    end })
  end },
  { "a thenable that tries to fulfill twice", function(value)
    return { next = function(_, onFulfilled)
      onFulfilled(value)
      onFulfilled(other)
    end }
  end },
  { "a thenable that fulfills but then throws", function(value)
    return { next = function(_, onFulfilled)
      onFulfilled(value)
      error(other)
    end }
  end },
  { "an already-fulfilled promise", function(value)
    return Promise.resolve(value)
  end },
  { "an eventually-fulfilled promise", function(value)
    local p, resolve = Promise.withResolvers()
    later(function() resolve(value) end, 50)
    return p
  end },
  { "a full userdata thenable (next through an __index table)", function(value)
    return newUserdata({ __index = { next = function(_, onFulfilled) onFulfilled(value) end } })
  end },
  { "a thenable whose next is a table with __call", function(value)
    return { next = setmetatable({}, { __call = function(_, _, onFulfilled) onFulfilled(value) end }) }
  end },
  { "a table inheriting next through an __index table", function(value)
    return setmetatable({}, { __index = { next = function(_, onFulfilled) onFulfilled(value) end } })
  end },
}
thenables.rejected = {
  { "a synchronously-rejected custom thenable", function(reason)
    return { next = function(_, _, onRejected) onRejected(reason) end }
  end },
  { "an asynchronously-rejected custom thenable", function(reason)
    return { next = function(_, _, onRejected) later(function() onRejected(reason) end, 0) end }
  end },
  { "a synchronously-rejected one-time thenable", function(reason)
    local retrieved = 0
    return setmetatable({}, { __index = function(_, k)
      if k == "next" and retrieved == 0 then
        retrieved = retrieved + 1
        return function(_, _, onRejected) onRejected(reason) end
      end
      return nil
    end })
  end },
  { "a thenable that immediately throws in next", function(reason)
    return { next = function() error(reason, 0) end }
  end },
  { "a table with a throwing next getter (__index function)", function(reason)
    return setmetatable({}, { __index = function() error(reason, 0) end })
  end },
  { "an already-rejected promise", function(reason)
    return Promise.reject(reason)
  end },
  { "an eventually-rejected promise", function(reason)
    local p, _, reject = Promise.withResolvers()
    later(function() reject(reason) end, 50)
    return p
  end },
  { "a full userdata thenable that rejects", function(reason)
    return newUserdata({ __index = { next = function(_, _, onRejected) onRejected(reason) end } })
  end },
  { "a full userdata with a throwing next getter", function(reason)
    return newUserdata({ __index = function() error(reason, 0) end })
  end },
  { "a thenable whose next is a table with __call, rejecting", function(reason)
    return { next = setmetatable({}, { __call = function(_, _, _, onRejected) onRejected(reason) end }) }
  end },
}

--------------------------------------------------------------------------

--- Active, referenced luv handles (the ones that would keep a loop alive).
--- Only when luv is already loaded (by the library): these specs never load
--- it themselves (luv 1.44 crashes in uv_walk when it is re-required after
--- busted's per-file insulation unloaded it).
local function aliveHandles()
  local alive = {}
  local uv = package.loaded.luv
  if type(uv) == "table" and uv.walk then
    uv.walk(function(h)
      if uv.is_active(h) and uv.has_ref(h) and not uv.is_closing(h) then alive[tostring(h)] = true end
    end)
  end
  return alive
end

describe("Promises/A+", function()
  local handlesBefore
  setup(function() handlesBefore = aliveHandles() end)

  teardown(function()
    local leaked = {}
    for h in pairs(aliveHandles()) do
      if not handlesBefore[h] then leaked[#leaked + 1] = h end
    end
    assert.are.same({}, leaked)
  end)

  before_each(function()
    timers, clock, seq = {}, 0, 0
    -- the suite attaches handlers late by design: no report, no warning
    Promise.onUnhandledRejection(function() end)
    Promise.onRejectionHandled(function() end)
  end)

  after_each(function()
    -- drain (which reports unhandled rejections) before the reporter is restored
    local left = Promise.drain()
    Promise.onUnhandledRejection(nil)
    Promise.onRejectionHandled(nil)
    assert.are.equal(0, left, "microtasks left after the test")
    assert.are.equal(0, #timers, "virtual timers left after the test")
  end)

  ------------------------------------------------------------------ 2.1
  describe("2.1.1: when pending, a promise may transition to fulfilled or rejected", function()
    it("a new promise is pending, and stays pending when nothing settles it", function()
      local p = Promise.withResolvers()
      assert.are.equal("pending", (p:state()))
      flush()
      assert.are.equal("pending", (p:state()))
    end)

    it("may transition to fulfilled (synchronously, by resolve)", function()
      local p, resolve = Promise.withResolvers()
      resolve(sentinel)
      local state, value = p:state()
      assert.are.equal("fulfilled", state)
      assert.are.equal(sentinel, value)
    end)

    it("may transition to rejected (synchronously, by reject)", function()
      local p, _, reject = Promise.withResolvers()
      reject(sentinel)
      local state, reason = p:state()
      assert.are.equal("rejected", state)
      assert.are.equal(sentinel, reason)
    end)

    it("stays pending while it follows a thenable that has not settled", function()
      local p, resolve = Promise.withResolvers()
      local settle
      resolve({ next = function(_, onFulfilled) settle = onFulfilled end })
      assert.are.equal("pending", (p:state()))
      flush()
      assert.are.equal("pending", (p:state()))
      assert.is_true(isCallable(settle))
      settle(sentinel)
      local state, value = p:state()
      assert.are.equal("fulfilled", state)
      assert.are.equal(sentinel, value)
    end)
  end)

  describe("2.1.2: when fulfilled, a promise", function()
    describe("2.1.2.1: must not transition to any other state", function()
      testFulfilled(dummy, function(promise)
        local fulfilled, rejected = 0, 0
        promise:next(function() fulfilled = fulfilled + 1 end, function() rejected = rejected + 1 end)
        return function()
          assert.are.equal(1, fulfilled)
          assert.are.equal(0, rejected)
          assert.are.equal("fulfilled", (promise:state()))
        end
      end)

      local function attempt(name, act)
        it(name, check(function()
          local p, resolve, reject = Promise.withResolvers()
          local r = watch(p)
          act(resolve, reject)
          return function() assertSettled(r, "fulfilled", dummy) end
        end))
      end
      attempt("trying to fulfill then immediately reject", function(resolve, reject)
        resolve(dummy)
        reject(dummy)
      end)
      attempt("trying to fulfill then reject, delayed", function(resolve, reject)
        later(function()
          resolve(dummy)
          reject(dummy)
        end, 50)
      end)
      attempt("trying to fulfill immediately then reject delayed", function(resolve, reject)
        resolve(dummy)
        later(function() reject(dummy) end, 50)
      end)

      it("fulfilled with nil, a later reject is still ignored", check(function()
        local p, resolve, reject = Promise.withResolvers()
        local r = watch(p)
        resolve(nil)
        reject(other)
        later(function() reject(other) end, 10)
        return function() assertSettled(r, "fulfilled", nil) end
      end))
    end)

    describe("2.1.2.2: must have a value, which must not change", function()
      local values = {
        { "a table", sentinel }, { "nil", nil }, { "false", false }, { "0", 0 }, { "a string", "v" },
      }
      for _, case in ipairs(values) do
        local value = case[2]
        describe("the value is " .. case[1], function()
          testFulfilled(value, function(promise)
            local r1 = watch(promise)
            local r2
            later(function() r2 = watch(promise) end, 100)
            return function()
              assertSettled(r1, "fulfilled", value)
              assertSettled(r2, "fulfilled", value)
            end
          end)
        end)

        it(case[1] .. ": later resolve/reject calls do not change it", check(function()
          local p, resolve, reject = Promise.withResolvers()
          resolve(value)
          resolve(other)
          reject(other)
          local state, v = p:state()
          assert.are.equal("fulfilled", state)
          assert.are.equal(value, v)
          later(function()
            resolve(other)
            reject(other)
          end, 10)
          local r = watch(p)
          return function() assertSettled(r, "fulfilled", value) end
        end))
      end
    end)
  end)

  describe("2.1.3: when rejected, a promise", function()
    describe("2.1.3.1: must not transition to any other state", function()
      testRejected(dummy, function(promise)
        local fulfilled, rejected = 0, 0
        promise:next(function() fulfilled = fulfilled + 1 end, function() rejected = rejected + 1 end)
        return function()
          assert.are.equal(0, fulfilled)
          assert.are.equal(1, rejected)
          assert.are.equal("rejected", (promise:state()))
        end
      end)

      local function attempt(name, act)
        it(name, check(function()
          local p, resolve, reject = Promise.withResolvers()
          local r = watch(p)
          act(resolve, reject)
          return function() assertSettled(r, "rejected", dummy) end
        end))
      end
      attempt("trying to reject then immediately fulfill", function(resolve, reject)
        reject(dummy)
        resolve(dummy)
      end)
      attempt("trying to reject then fulfill, delayed", function(resolve, reject)
        later(function()
          reject(dummy)
          resolve(dummy)
        end, 50)
      end)
      attempt("trying to reject immediately then fulfill delayed", function(resolve, reject)
        reject(dummy)
        later(function() resolve(dummy) end, 50)
      end)

      it("rejected with nil, a later resolve is still ignored", check(function()
        local p, resolve, reject = Promise.withResolvers()
        local r = watch(p)
        reject(nil)
        resolve(other)
        later(function() resolve(other) end, 10)
        return function() assertSettled(r, "rejected", nil) end
      end))

      it("rejected with false, a later resolve is still ignored", check(function()
        local p, resolve, reject = Promise.withResolvers()
        local r = watch(p)
        reject(false)
        resolve(other)
        return function() assertSettled(r, "rejected", false) end
      end))
    end)

    describe("2.1.3.2: must have a reason, which must not change", function()
      local values = {
        { "a table", sentinel }, { "nil", nil }, { "false", false }, { "0", 0 }, { "a string", "r" },
      }
      for _, case in ipairs(values) do
        local reason = case[2]
        describe("the reason is " .. case[1], function()
          testRejected(reason, function(promise)
            local r1 = watch(promise)
            local r2
            later(function() r2 = watch(promise) end, 100)
            return function()
              assertSettled(r1, "rejected", reason)
              assertSettled(r2, "rejected", reason)
            end
          end)
        end)

        it(case[1] .. ": later resolve/reject calls do not change it", check(function()
          local p, resolve, reject = Promise.withResolvers()
          reject(reason)
          reject(other)
          resolve(other)
          local state, v = p:state()
          assert.are.equal("rejected", state)
          assert.are.equal(reason, v)
          local r = watch(p)
          return function() assertSettled(r, "rejected", reason) end
        end))
      end
    end)
  end)

  ------------------------------------------------------------------ 2.2
  describe("2.2.1: both onFulfilled and onRejected are optional arguments", function()
    describe("2.2.1.1: if onFulfilled is not a function, it must be ignored", function()
      describe("applied to a directly-rejected promise", function()
        for _, nf in ipairs(nonFunctions) do
          it("onFulfilled is " .. nf[1], check(function()
            local calls, got = 0, nil
            Promise.reject(dummy):next(nf[2](), function(r) calls, got = calls + 1, r end)
            return function()
              assert.are.equal(1, calls)
              assert.are.equal(dummy, got)
            end
          end))
        end
      end)

      describe("applied to a promise rejected and then chained off of", function()
        for _, nf in ipairs(nonFunctions) do
          it("onFulfilled is " .. nf[1], check(function()
            local calls, got = 0, nil
            Promise.reject(dummy):next(function() end, nil)
              :next(nf[2](), function(r) calls, got = calls + 1, r end)
            return function()
              assert.are.equal(1, calls)
              assert.are.equal(dummy, got)
            end
          end))
        end
      end)
    end)

    describe("2.2.1.2: if onRejected is not a function, it must be ignored", function()
      describe("applied to a directly-fulfilled promise", function()
        for _, nf in ipairs(nonFunctions) do
          it("onRejected is " .. nf[1], check(function()
            local calls, got = 0, nil
            Promise.resolve(dummy):next(function(v) calls, got = calls + 1, v end, nf[2]())
            return function()
              assert.are.equal(1, calls)
              assert.are.equal(dummy, got)
            end
          end))
        end
      end)

      describe("applied to a promise fulfilled and then chained off of", function()
        for _, nf in ipairs(nonFunctions) do
          it("onRejected is " .. nf[1], check(function()
            local calls, got = 0, "untouched"
            Promise.resolve(dummy):next(nil, function() end)
              :next(function(v) calls, got = calls + 1, v end, nf[2]())
            return function()
              assert.are.equal(1, calls)
              assert.are.equal(dummy, got)
            end
          end))
        end
      end)
    end)
  end)

  describe("2.2.2: if onFulfilled is a function", function()
    describe("2.2.2.1: it is called after promise is fulfilled, with its value as first argument", function()
      local values = {
        { "a table", sentinel }, { "nil", nil }, { "false", false }, { "0", 0 }, { "a string", "v" },
      }
      for _, case in ipairs(values) do
        describe("the value is " .. case[1], function()
          testFulfilled(case[2], fulfillsWith(case[2]))
        end)
      end

      describe("through p[\"then\"] (the JavaScript name)", function()
        testFulfilled(sentinel, function(promise)
          local r = watch(promise, "then")
          return function() assertSettled(r, "fulfilled", sentinel) end
        end)
      end)

      describe("a table with a __call metamethod is a function here", function()
        testFulfilled(sentinel, function(promise)
          local got, calls = nil, 0
          local handler = setmetatable({}, { __call = function(_, v) calls, got = calls + 1, v end })
          local p2 = promise:next(handler)
          local r2 = watch(p2)
          return function()
            assert.are.equal(1, calls)
            assert.are.equal(sentinel, got)
            assertSettled(r2, "fulfilled", nil)
          end
        end)
      end)
    end)

    describe("2.2.2.2: it must not be called before promise is fulfilled", function()
      it("fulfilled after a delay", check(function()
        local p, resolve = Promise.withResolvers()
        local isFulfilled, seen = false, {}
        p:next(function() seen[#seen + 1] = isFulfilled end)
        later(function()
          resolve(dummy)
          isFulfilled = true
        end, 50)
        return function() assert.are.same({ true }, seen) end
      end))

      it("never fulfilled", check(function()
        local p = Promise.withResolvers()
        local called = false
        p:next(function() called = true end)
        later(function() end, 150)
        return function() assert.is_false(called) end
      end))
    end)

    describe("2.2.2.3: it must not be called more than once", function()
      it("already-fulfilled", check(function()
        local times = 0
        Promise.resolve(dummy):next(function() times = times + 1 end)
        return function() assert.are.equal(1, times) end
      end))

      local function twice(name, act)
        it(name, check(function()
          local p, resolve = Promise.withResolvers()
          local times = 0
          p:next(function() times = times + 1 end)
          act(resolve)
          return function() assert.are.equal(1, times) end
        end))
      end
      twice("trying to fulfill a pending promise more than once, immediately", function(resolve)
        resolve(dummy)
        resolve(dummy)
      end)
      twice("trying to fulfill a pending promise more than once, delayed", function(resolve)
        later(function()
          resolve(dummy)
          resolve(dummy)
        end, 50)
      end)
      twice("trying to fulfill a pending promise more than once, immediately then delayed", function(resolve)
        resolve(dummy)
        later(function() resolve(dummy) end, 50)
      end)
      twice("trying to fulfill with nil more than once", function(resolve)
        resolve(nil)
        resolve(nil)
        later(function() resolve(nil) end, 50)
      end)

      it("when multiple next calls are made, spaced apart in time", check(function()
        local p, resolve = Promise.withResolvers()
        local times = { 0, 0, 0 }
        p:next(function() times[1] = times[1] + 1 end)
        later(function() p:next(function() times[2] = times[2] + 1 end) end, 50)
        later(function() p:next(function() times[3] = times[3] + 1 end) end, 100)
        later(function() resolve(dummy) end, 150)
        return function() assert.are.same({ 1, 1, 1 }, times) end
      end))

      it("when next is interleaved with fulfillment", check(function()
        local p, resolve = Promise.withResolvers()
        local times = { 0, 0 }
        p:next(function() times[1] = times[1] + 1 end)
        resolve(dummy)
        p:next(function() times[2] = times[2] + 1 end)
        return function() assert.are.same({ 1, 1 }, times) end
      end))
    end)
  end)

  describe("2.2.3: if onRejected is a function", function()
    describe("2.2.3.1: it is called after promise is rejected, with its reason as first argument", function()
      local values = {
        { "a table", sentinel }, { "nil", nil }, { "false", false }, { "0", 0 }, { "a string", "r" },
      }
      for _, case in ipairs(values) do
        describe("the reason is " .. case[1], function()
          testRejected(case[2], rejectsWith(case[2]))
        end)
      end

      describe("through p[\"then\"] (the JavaScript name)", function()
        testRejected(sentinel, function(promise)
          local r = watch(promise, "then")
          return function() assertSettled(r, "rejected", sentinel) end
        end)
      end)

      describe("a table with a __call metamethod is a function here", function()
        testRejected(sentinel, function(promise)
          local got, calls = nil, 0
          local handler = setmetatable({}, { __call = function(_, r) calls, got = calls + 1, r end })
          local r2 = watch(promise:next(nil, handler))
          return function()
            assert.are.equal(1, calls)
            assert.are.equal(sentinel, got)
            assertSettled(r2, "fulfilled", nil)
          end
        end)
      end)
    end)

    describe("2.2.3.2: it must not be called before promise is rejected", function()
      it("rejected after a delay", check(function()
        local p, _, reject = Promise.withResolvers()
        local isRejected, seen = false, {}
        p:next(nil, function() seen[#seen + 1] = isRejected end)
        later(function()
          reject(dummy)
          isRejected = true
        end, 50)
        return function() assert.are.same({ true }, seen) end
      end))

      it("never rejected", check(function()
        local p = Promise.withResolvers()
        local called = false
        p:next(nil, function() called = true end)
        later(function() end, 150)
        return function() assert.is_false(called) end
      end))
    end)

    describe("2.2.3.3: it must not be called more than once", function()
      it("already-rejected", check(function()
        local times = 0
        Promise.reject(dummy):next(nil, function() times = times + 1 end)
        return function() assert.are.equal(1, times) end
      end))

      local function twice(name, act)
        it(name, check(function()
          local p, _, reject = Promise.withResolvers()
          local times = 0
          p:next(nil, function() times = times + 1 end)
          act(reject)
          return function() assert.are.equal(1, times) end
        end))
      end
      twice("trying to reject a pending promise more than once, immediately", function(reject)
        reject(dummy)
        reject(dummy)
      end)
      twice("trying to reject a pending promise more than once, delayed", function(reject)
        later(function()
          reject(dummy)
          reject(dummy)
        end, 50)
      end)
      twice("trying to reject a pending promise more than once, immediately then delayed", function(reject)
        reject(dummy)
        later(function() reject(dummy) end, 50)
      end)
      twice("trying to reject with nil more than once", function(reject)
        reject(nil)
        reject(nil)
        later(function() reject(false) end, 50)
      end)

      it("when multiple next calls are made, spaced apart in time", check(function()
        local p, _, reject = Promise.withResolvers()
        local times = { 0, 0, 0 }
        p:next(nil, function() times[1] = times[1] + 1 end)
        later(function() p:next(nil, function() times[2] = times[2] + 1 end) end, 50)
        later(function() p:next(nil, function() times[3] = times[3] + 1 end) end, 100)
        later(function() reject(dummy) end, 150)
        return function() assert.are.same({ 1, 1, 1 }, times) end
      end))

      it("when next is interleaved with rejection", check(function()
        local p, _, reject = Promise.withResolvers()
        local times = { 0, 0 }
        p:next(nil, function() times[1] = times[1] + 1 end)
        reject(dummy)
        p:next(nil, function() times[2] = times[2] + 1 end)
        return function() assert.are.same({ 1, 1 }, times) end
      end))
    end)
  end)

  describe("2.2.4: handlers are not called until the execution context stack contains only platform code",
    function()
    describe("next returns before the promise becomes fulfilled or rejected", function()
      testFulfilled(dummy, function(promise)
        local nextHasReturned, seen = false, {}
        promise:next(function() seen[#seen + 1] = nextHasReturned end)
        nextHasReturned = true
        return function() assert.are.same({ true }, seen) end
      end)
      testRejected(dummy, function(promise)
        local nextHasReturned, seen = false, {}
        promise:next(nil, function() seen[#seen + 1] = nextHasReturned end)
        nextHasReturned = true
        return function() assert.are.same({ true }, seen) end
      end)
    end)

    describe("clean-stack execution ordering tests (fulfillment case)", function()
      it("when onFulfilled is added immediately before the promise is fulfilled", function()
        local p, resolve = Promise.withResolvers()
        local called = false
        p:next(function() called = true end)
        resolve(dummy)
        assert.is_false(called)
        flush()
        assert.is_true(called)
      end)

      it("when onFulfilled is added immediately after the promise is fulfilled", function()
        local p, resolve = Promise.withResolvers()
        local called = false
        resolve(dummy)
        p:next(function() called = true end)
        assert.is_false(called)
        flush()
        assert.is_true(called)
      end)

      it("when onFulfilled is added to an already-fulfilled promise (nil value)", function()
        local called = false
        local p2 = Promise.resolve(nil):next(function() called = true end)
        assert.is_false(called)
        assert.are.equal("pending", (p2:state()))
        flush()
        assert.is_true(called)
      end)

      it("when one onFulfilled is added inside another onFulfilled", check(function()
        local promise = Promise.resolve()
        local firstFinished, seen = false, {}
        promise:next(function()
          promise:next(function() seen[#seen + 1] = firstFinished end)
          firstFinished = true
        end)
        return function() assert.are.same({ true }, seen) end
      end))

      it("when onFulfilled is added inside an onRejected", check(function()
        local promise, promise2 = Promise.reject(), Promise.resolve()
        local firstFinished, seen = false, {}
        promise:next(nil, function()
          promise2:next(function() seen[#seen + 1] = firstFinished end)
          firstFinished = true
        end)
        return function() assert.are.same({ true }, seen) end
      end))

      it("when the promise is fulfilled asynchronously", check(function()
        local p, resolve = Promise.withResolvers()
        local firstStackFinished, seen = false, {}
        later(function()
          resolve(dummy)
          firstStackFinished = true
        end, 0)
        p:next(function() seen[#seen + 1] = firstStackFinished end)
        return function() assert.are.same({ true }, seen) end
      end))
    end)

    describe("clean-stack execution ordering tests (rejection case)", function()
      it("when onRejected is added immediately before the promise is rejected", function()
        local p, _, reject = Promise.withResolvers()
        local called = false
        p:next(nil, function() called = true end)
        reject(dummy)
        assert.is_false(called)
        flush()
        assert.is_true(called)
      end)

      it("when onRejected is added immediately after the promise is rejected", function()
        local p, _, reject = Promise.withResolvers()
        local called = false
        reject(dummy)
        p:next(nil, function() called = true end)
        assert.is_false(called)
        flush()
        assert.is_true(called)
      end)

      it("when onRejected is added to an already-rejected promise (false reason)", function()
        local called = false
        Promise.reject(false):next(nil, function() called = true end)
        assert.is_false(called)
        flush()
        assert.is_true(called)
      end)

      it("when onRejected is added inside an onFulfilled", check(function()
        local promise, promise2 = Promise.resolve(), Promise.reject()
        local firstFinished, seen = false, {}
        promise:next(function()
          promise2:next(nil, function() seen[#seen + 1] = firstFinished end)
          firstFinished = true
        end)
        return function() assert.are.same({ true }, seen) end
      end))

      it("when one onRejected is added inside another onRejected", check(function()
        local promise = Promise.reject()
        local firstFinished, seen = false, {}
        promise:next(nil, function()
          promise:next(nil, function() seen[#seen + 1] = firstFinished end)
          firstFinished = true
        end)
        return function() assert.are.same({ true }, seen) end
      end))

      it("when the promise is rejected asynchronously", check(function()
        local p, _, reject = Promise.withResolvers()
        local firstStackFinished, seen = false, {}
        later(function()
          reject(dummy)
          firstStackFinished = true
        end, 0)
        p:next(nil, function() seen[#seen + 1] = firstStackFinished end)
        return function() assert.are.same({ true }, seen) end
      end))
    end)
  end)

  describe("2.2.5: onFulfilled and onRejected are called as functions (no self: the value is the only argument)",
    function()
    it("fulfilled", check(function()
      local p = Promise.resolve(sentinel)
      local r = watch(p)
      return function()
        assertSettled(r, "fulfilled", sentinel)
        assert.are.equal(1, r.calls[1].n)
      end
    end))

    it("rejected", check(function()
      local p = Promise.reject(sentinel)
      local r = watch(p)
      return function()
        assertSettled(r, "rejected", sentinel)
        assert.are.equal(1, r.calls[1].n)
      end
    end))

    it("fulfilled with nil: the handler still gets nil as its argument, not the promise", check(function()
      local args = {}
      local p = Promise.resolve(nil)
      p:next(function(...) args = table.pack(...) end)
      return function()
        assert.are.equal(1, args.n)
        assert.is_nil(args[1])
      end
    end))

    it("rejected with nil: the handler still gets nil as its argument, not the promise", check(function()
      local args = {}
      local p = Promise.reject(nil)
      p:next(nil, function(...) args = table.pack(...) end)
      return function()
        assert.are.equal(1, args.n)
        assert.is_nil(args[1])
      end
    end))
  end)

  describe("2.2.6: next may be called multiple times on the same promise", function()
    describe("2.2.6.1: all onFulfilled callbacks execute in the order of their originating calls to next",
      function()
      describe("multiple boring fulfillment handlers", function()
        testFulfilled(sentinel, function(promise)
          local got, spy = {}, 0
          for i = 1, 3 do
            promise:next(function(v) got[i] = v; return other end, function() spy = spy + 1 end)
          end
          local r = watch(promise)
          return function()
            assertSettled(r, "fulfilled", sentinel)
            assert.are.same({ sentinel, sentinel, sentinel }, got)
            assert.are.equal(sentinel, got[2])
            assert.are.equal(0, spy)
          end
        end)
      end)

      describe("multiple fulfillment handlers, one of which throws", function()
        testFulfilled(sentinel, function(promise)
          local got, spy = {}, 0
          promise:next(function(v) got[1] = v; return other end, function() spy = spy + 1 end)
          promise:next(function(v) got[2] = v; error(other) end, function() spy = spy + 1 end)
          promise:next(function(v) got[3] = v; return other end, function() spy = spy + 1 end)
          local r = watch(promise)
          return function()
            assertSettled(r, "fulfilled", sentinel)
            assert.are.equal(sentinel, got[1])
            assert.are.equal(sentinel, got[2])
            assert.are.equal(sentinel, got[3])
            assert.are.equal(0, spy)
          end
        end)
      end)

      describe("results in multiple branching chains with their own fulfillment values", function()
        testFulfilled(dummy, function(promise)
          local r1 = watch(promise:next(function() return sentinel end))
          local r2 = watch(promise:next(function() error(sentinel2) end))
          local r3 = watch(promise:next(function() return sentinel3 end))
          return function()
            assertSettled(r1, "fulfilled", sentinel)
            assertSettled(r2, "rejected", sentinel2)
            assertSettled(r3, "fulfilled", sentinel3)
          end
        end)
      end)

      describe("onFulfilled handlers are called in the original order", function()
        testFulfilled(dummy, function(promise)
          local order = {}
          promise:next(function() order[#order + 1] = 1 end)
          promise:next(function() order[#order + 1] = 2 end)
          promise:next(function() order[#order + 1] = 3 end)
          return function() assert.are.same({ 1, 2, 3 }, order) end
        end)

        describe("even when one handler is added inside another handler", function()
          testFulfilled(dummy, function(promise)
            local order = {}
            promise:next(function()
              order[#order + 1] = 1
              promise:next(function() order[#order + 1] = 3 end)
            end)
            promise:next(function() order[#order + 1] = 2 end)
            return function() assert.are.same({ 1, 2, 3 }, order) end
          end)
        end)
      end)
    end)

    describe("2.2.6.2: all onRejected callbacks execute in the order of their originating calls to next",
      function()
      describe("multiple boring rejection handlers", function()
        testRejected(sentinel, function(promise)
          local got, spy = {}, 0
          for i = 1, 3 do
            promise:next(function() spy = spy + 1 end, function(r) got[i] = r; return other end)
          end
          local r = watch(promise)
          return function()
            assertSettled(r, "rejected", sentinel)
            assert.are.equal(sentinel, got[1])
            assert.are.equal(sentinel, got[2])
            assert.are.equal(sentinel, got[3])
            assert.are.equal(0, spy)
          end
        end)
      end)

      describe("multiple rejection handlers, one of which throws", function()
        testRejected(sentinel, function(promise)
          local got, spy = {}, 0
          promise:next(function() spy = spy + 1 end, function(r) got[1] = r; return other end)
          promise:next(function() spy = spy + 1 end, function(r) got[2] = r; error(other) end)
          promise:next(function() spy = spy + 1 end, function(r) got[3] = r; return other end)
          local r = watch(promise)
          return function()
            assertSettled(r, "rejected", sentinel)
            assert.are.equal(sentinel, got[1])
            assert.are.equal(sentinel, got[2])
            assert.are.equal(sentinel, got[3])
            assert.are.equal(0, spy)
          end
        end)
      end)

      describe("results in multiple branching chains with their own fulfillment values", function()
        testRejected(sentinel, function(promise)
          local r1 = watch(promise:next(nil, function() return sentinel end))
          local r2 = watch(promise:next(nil, function() error(sentinel2) end))
          local r3 = watch(promise:next(nil, function() return sentinel3 end))
          return function()
            assertSettled(r1, "fulfilled", sentinel)
            assertSettled(r2, "rejected", sentinel2)
            assertSettled(r3, "fulfilled", sentinel3)
          end
        end)
      end)

      describe("onRejected handlers are called in the original order", function()
        testRejected(dummy, function(promise)
          local order = {}
          promise:next(nil, function() order[#order + 1] = 1 end)
          promise:next(nil, function() order[#order + 1] = 2 end)
          promise:next(nil, function() order[#order + 1] = 3 end)
          return function() assert.are.same({ 1, 2, 3 }, order) end
        end)

        describe("even when one handler is added inside another handler", function()
          testRejected(dummy, function(promise)
            local order = {}
            promise:next(nil, function()
              order[#order + 1] = 1
              promise:next(nil, function() order[#order + 1] = 3 end)
            end)
            promise:next(nil, function() order[#order + 1] = 2 end)
            return function() assert.are.same({ 1, 2, 3 }, order) end
          end)
        end)
      end)
    end)
  end)

  describe("2.2.7: next must return a promise: promise2 = promise1:next(onFulfilled, onRejected)", function()
    it("is a promise", function()
      local promise1 = Promise.withResolvers()
      local promise2 = promise1:next()
      assert.is_true(Promise.is(promise2))
      assert.are_not.equal(promise1, promise2)
      assert.is_true(isCallable(promise2.next))
      assert.are.equal("pending", (promise2:state()))
    end)

    it("p[\"then\"] also returns a new promise", function()
      local promise1 = Promise.withResolvers()
      local promise2 = promise1["then"](promise1, function() end)
      assert.is_true(Promise.is(promise2))
      assert.are_not.equal(promise1, promise2)
      assert.is_true(isCallable(promise2["then"]))
    end)

    describe("2.2.7.1: a value x returned by a handler runs [[Resolve]](promise2, x) (see 2.3)", function()
      testFulfilled(dummy, function(promise1)
        local r = watch(promise1:next(function() return sentinel end))
        return function() assertSettled(r, "fulfilled", sentinel) end
      end)
      testRejected(dummy, function(promise1)
        local r = watch(promise1:next(nil, function() return sentinel end))
        return function() assertSettled(r, "fulfilled", sentinel) end
      end)

      it("only the first return value counts", check(function()
        local r = watch(Promise.resolve(dummy):next(function() return sentinel, other end))
        return function()
          assertSettled(r, "fulfilled", sentinel)
          assert.are.equal(1, r.calls[1].n)
        end
      end))

      it("returning nothing fulfils promise2 with nil", check(function()
        local r = watch(Promise.resolve(dummy):next(function() end))
        return function() assertSettled(r, "fulfilled", nil) end
      end))

      it("a returned thenable is adopted", check(function()
        local r = watch(Promise.resolve(dummy):next(function()
          return { next = function(_, onFulfilled) onFulfilled(sentinel) end }
        end))
        return function() assertSettled(r, "fulfilled", sentinel) end
      end))

      it("a returned rejected promise is adopted", check(function()
        local r = watch(Promise.reject(dummy):next(nil, function() return Promise.reject(sentinel) end))
        return function() assertSettled(r, "rejected", sentinel) end
      end))
    end)

    describe("2.2.7.2: if a handler throws e, promise2 must be rejected with e as the reason", function()
      for _, reason in ipairs(reasons) do
        describe("the reason is " .. reason[1], function()
          local expected
          before_each(function() expected = reason[2]() end)

          testFulfilled(dummy, function(promise1)
            local e = expected
            local r = watch(promise1:next(function() error(e, 0) end))
            return function() assertSettled(r, "rejected", e) end
          end)
          testRejected(dummy, function(promise1)
            local e = expected
            local r = watch(promise1:next(nil, function() error(e, 0) end))
            return function() assertSettled(r, "rejected", e) end
          end)
        end)
      end

      it("a string raised at level 1 keeps Lua's position prefix, nothing else", check(function()
        local r = watch(Promise.resolve(dummy):next(function() error("boom") end))
        return function()
          assert.are.equal(1, #r.calls)
          assert.are.equal("rejected", r.calls[1].how)
          assert.are.equal("string", type(r.calls[1].value))
          assert.is_truthy(r.calls[1].value:find("^[^\n]*aplus_spec%.lua:%d+: boom$"))
        end
      end))

      it("a runtime error rejects with Lua's message", check(function()
        local r = watch(Promise.resolve(nil):next(function(v) return v.field end))
        return function()
          assert.are.equal("rejected", r.calls[1].how)
          assert.is_truthy(tostring(r.calls[1].value):find("attempt to index", 1, true))
        end
      end))
    end)

    describe("2.2.7.3: if onFulfilled is not a function and promise1 is fulfilled, "
      .. "promise2 is fulfilled with the same value", function()
      for _, nf in ipairs(nonFunctions) do
        describe("onFulfilled is " .. nf[1], function()
          testFulfilled(sentinel, function(promise1)
            local r = watch(promise1:next(nf[2]()))
            return function() assertSettled(r, "fulfilled", sentinel) end
          end)
        end)
      end
      describe("the value is nil, onFulfilled is nil", function()
        testFulfilled(nil, function(promise1)
          local r = watch(promise1:next(nil))
          return function() assertSettled(r, "fulfilled", nil) end
        end)
      end)
      describe("the value is false, onFulfilled is false", function()
        testFulfilled(false, function(promise1)
          local r = watch(promise1:next(false))
          return function() assertSettled(r, "fulfilled", false) end
        end)
      end)
    end)

    describe("2.2.7.4: if onRejected is not a function and promise1 is rejected, "
      .. "promise2 is rejected with the same reason", function()
      for _, nf in ipairs(nonFunctions) do
        describe("onRejected is " .. nf[1], function()
          testRejected(sentinel, function(promise1)
            local r = watch(promise1:next(nil, nf[2]()))
            return function() assertSettled(r, "rejected", sentinel) end
          end)
        end)
      end
      describe("the reason is nil, onRejected is nil", function()
        testRejected(nil, function(promise1)
          local r = watch(promise1:next(function() end, nil))
          return function() assertSettled(r, "rejected", nil) end
        end)
      end)
      describe("the reason is false, onRejected is false", function()
        testRejected(false, function(promise1)
          local r = watch(promise1:next(nil, false))
          return function() assertSettled(r, "rejected", false) end
        end)
      end)
    end)
  end)

  ------------------------------------------------------------------ 2.3
  describe("2.3.1: if promise and x are the same object, reject promise with a Promise.TypeError", function()
    local function assertTypeError(r)
      assert.are.equal(1, #r.calls)
      assert.are.equal("rejected", r.calls[1].how)
      assert.is_true(Promise.TypeError.is(r.calls[1].value))
      assert.are.equal("rejected", (r.promise:state()))
    end

    it("via return from a fulfilled promise", check(function()
      local promise
      promise = Promise.resolve(dummy):next(function() return promise end)
      local r = watch(promise)
      return function() assertTypeError(r) end
    end))

    it("via return from a rejected promise", check(function()
      local promise
      promise = Promise.reject(dummy):next(nil, function() return promise end)
      local r = watch(promise)
      return function() assertTypeError(r) end
    end))

    it("via the resolve function (rejects at once, synchronously)", check(function()
      local p, resolve = Promise.withResolvers()
      resolve(p)
      local state, reason = p:state()
      assert.are.equal("rejected", state)
      assert.is_true(Promise.TypeError.is(reason))
      assert.are.equal("TypeError", reason.name)
      local r = watch(p)
      return function() assertTypeError(r) end
    end))

    it("via the executor's resolve, called later", check(function()
      local saved
      local p = Promise.new(function(resolve) saved = resolve end)
      local r = watch(p)
      later(function() saved(p) end, 10)
      return function() assertTypeError(r) end
    end))

    it("via a thenable that resolves with the promise that adopts it", check(function()
      local p, resolve = Promise.withResolvers()
      resolve({ next = function(_, onFulfilled) onFulfilled(p) end })
      local r = watch(p)
      return function() assertTypeError(r) end
    end))
  end)

  describe("2.3.2: if x is a promise, adopt its state", function()
    describe("2.3.2.1: if x is pending, promise must remain pending until x is fulfilled or rejected", function()
      testPromiseResolution(function()
        local p = Promise.withResolvers()
        return p
      end, stillPending)
    end)

    local values = { { "a table", sentinel }, { "nil", nil }, { "false", false } }

    describe("2.3.2.2: if/when x is fulfilled, fulfill promise with the same value", function()
      for _, case in ipairs(values) do
        local value = case[2]
        describe("x is already-fulfilled with " .. case[1], function()
          testPromiseResolution(function() return Promise.resolve(value) end, fulfillsWith(value))
        end)
        describe("x is eventually-fulfilled with " .. case[1], function()
          testPromiseResolution(function()
            local p, resolve = Promise.withResolvers()
            later(function() resolve(value) end, 50)
            return p
          end, fulfillsWith(value))
        end)
      end
    end)

    describe("2.3.2.3: if/when x is rejected, reject promise with the same reason", function()
      for _, case in ipairs(values) do
        local reason = case[2]
        describe("x is already-rejected with " .. case[1], function()
          testPromiseResolution(function() return Promise.reject(reason) end, rejectsWith(reason))
        end)
        describe("x is eventually-rejected with " .. case[1], function()
          testPromiseResolution(function()
            local p, _, reject = Promise.withResolvers()
            later(function() reject(reason) end, 50)
            return p
          end, rejectsWith(reason))
        end)
      end
    end)
  end)

  describe("2.3.3: otherwise, if x is a table or full userdata", function()
    describe("2.3.3.1: let next be x.next (read once, by ordinary indexing)", function()
      local retrieved
      before_each(function() retrieved = 0 end)

      local function getter(_, k)
        if k == "next" then
          retrieved = retrieved + 1
          return function(_, onFulfilled) onFulfilled() end
        end
      end

      local function readOnce(promise)
        local r = watch(promise)
        return function()
          assertSettled(r, "fulfilled", nil)
          assert.are.equal(1, retrieved)
        end
      end

      describe("x is a table whose metatable has an __index function", function()
        testPromiseResolution(function() return setmetatable({}, { __index = getter }) end, readOnce)
      end)

      describe("x is a table inheriting from a table whose metatable has an __index function", function()
        testPromiseResolution(function()
          return setmetatable({}, { __index = setmetatable({}, { __index = getter }) })
        end, readOnce)
      end)

      describe("x is a full userdata whose metatable has an __index function", function()
        testPromiseResolution(function() return newUserdata({ __index = getter }) end, readOnce)
      end)

      describe("x is a plain table with a next field", function()
        testPromiseResolution(function()
          return { next = function(_, onFulfilled) retrieved = retrieved + 1; onFulfilled(sentinel) end }
        end, function(promise)
          local r = watch(promise)
          return function()
            assertSettled(r, "fulfilled", sentinel)
            assert.are.equal(1, retrieved)
          end
        end)
      end)
    end)

    describe("2.3.3.2: if retrieving x.next raises e, reject promise with e as the reason", function()
      for _, reason in ipairs(reasons) do
        describe("e is " .. reason[1], function()
          local e
          before_each(function() e = reason[2]() end)
          local function rejectsWithE(promise)
            local r = watch(promise)
            return function() assertSettled(r, "rejected", e) end
          end
          describe("x is a table", function()
            testPromiseResolution(function()
              return setmetatable({}, { __index = function() error(e, 0) end })
            end, rejectsWithE)
          end)
          describe("x is a full userdata", function()
            testPromiseResolution(function()
              return newUserdata({ __index = function() error(e, 0) end })
            end, rejectsWithE)
          end)
        end)
      end
    end)

    describe("2.3.3.3: if next is callable, call it as x:next(resolvePromise, rejectPromise)", function()
      describe("calls with x as self and two callable arguments", function()
        local seen
        before_each(function() seen = nil end)
        local function xFactory()
          local x = {}
          x.next = function(self, onFulfilled, onRejected, ...)
            seen = { self = self, x = x, f = onFulfilled, r = onRejected, extra = select("#", ...) }
            onFulfilled()
          end
          return x
        end
        testPromiseResolution(xFactory, function(promise)
          local r = watch(promise)
          return function()
            assertSettled(r, "fulfilled", nil)
            assert.is_table(seen)
            assert.are.equal(seen.x, seen.self)
            assert.is_true(isCallable(seen.f))
            assert.is_true(isCallable(seen.r))
            assert.are.equal(0, seen.extra)
          end
        end)
      end)

      describe("next as a table with __call is called as next(x, resolvePromise, rejectPromise)", function()
        local seen
        before_each(function() seen = nil end)
        local function xFactory()
          local x, callable = {}, {}
          setmetatable(callable, { __call = function(obj, self, onFulfilled, onRejected)
            seen = { obj = obj, callable = callable, self = self, x = x, f = onFulfilled, r = onRejected }
            onFulfilled(sentinel)
          end })
          x.next = callable
          return x
        end
        testPromiseResolution(xFactory, function(promise)
          local r = watch(promise)
          return function()
            assertSettled(r, "fulfilled", sentinel)
            assert.is_table(seen)
            assert.are.equal(seen.callable, seen.obj)
            assert.are.equal(seen.x, seen.self)
            assert.is_true(isCallable(seen.f))
            assert.is_true(isCallable(seen.r))
          end
        end)
      end)

      describe("x is a full userdata", function()
        local seen
        before_each(function() seen = nil end)
        local function xFactory()
          local x
          x = newUserdata({ __index = { next = function(self, onFulfilled)
            seen = { self = self, x = x }
            onFulfilled(sentinel)
          end } })
          return x
        end
        testPromiseResolution(xFactory, function(promise)
          local r = watch(promise)
          return function()
            assertSettled(r, "fulfilled", sentinel)
            assert.are.equal(seen.x, seen.self)
          end
        end)
      end)

      describe("uses the original value of next", function()
        local retrieved
        before_each(function() retrieved = 0 end)
        testPromiseResolution(function()
          return setmetatable({}, { __index = function(_, k)
            if k ~= "next" then return nil end
            retrieved = retrieved + 1
            if retrieved == 1 then
              return function(_, onFulfilled) onFulfilled(sentinel) end
            end
            return nil
          end })
        end, fulfillsWith(sentinel))
      end)

      it("next is called from a microtask job, not during resolve (NewPromiseResolveThenableJob)", function()
        local log = {}
        Promise.resolve():next(function() log[#log + 1] = "a" end)
        local p, resolve = Promise.withResolvers()
        resolve({ next = function(_, onFulfilled)
          log[#log + 1] = "next"
          onFulfilled(1)
        end })
        assert.are.same({}, log)
        Promise.queueMicrotask(function() log[#log + 1] = "b" end)
        p:next(function() log[#log + 1] = "p" end)
        flush()
        -- node: a next b p
        assert.are.same({ "a", "next", "b", "p" }, log)
      end)

      describe("2.3.3.3.1: if/when resolvePromise is called with y, run [[Resolve]](promise, y)", function()
        local function testCallingResolvePromise(yFactory, name, test)
          describe("y is " .. name, function()
            describe("next calls resolvePromise synchronously", function()
              testPromiseResolution(function()
                return { next = function(_, resolvePromise) resolvePromise(yFactory()) end }
              end, test)
            end)
            describe("next calls resolvePromise asynchronously", function()
              testPromiseResolution(function()
                return { next = function(_, resolvePromise)
                  later(function() resolvePromise(yFactory()) end, 0)
                end }
              end, test)
            end)
          end)
        end

        describe("y is not a thenable", function()
          local sentinelArray = { sentinel }
          local plain = {
            { "nil", nil }, { "false", false }, { "5", 5 }, { "a string", "y" },
            { "a table", sentinel }, { "an array", sentinelArray },
            { "a table with a non-callable next", { next = 5 } },
            { "a function", print },
          }
          for _, case in ipairs(plain) do
            testCallingResolvePromise(function() return case[2] end, case[1], fulfillsWith(case[2]))
          end
          it("resolvePromise() with no argument fulfils with nil", check(function()
            local p, resolve = Promise.withResolvers()
            resolve({ next = function(_, resolvePromise) resolvePromise() end })
            local r = watch(p)
            return function() assertSettled(r, "fulfilled", nil) end
          end))
        end)

        describe("y is a thenable", function()
          for _, f in ipairs(thenables.fulfilled) do
            testCallingResolvePromise(function() return f[2](sentinel) end, f[1], fulfillsWith(sentinel))
          end
          for _, f in ipairs(thenables.rejected) do
            testCallingResolvePromise(function() return f[2](sentinel) end, f[1], rejectsWith(sentinel))
          end
        end)

        describe("y is a thenable for nil or false (Lua: these values pass through unchanged)", function()
          for _, v in ipairs({ { "nil", nil }, { "false", false } }) do
            for _, f in ipairs(thenables.fulfilled) do
              testCallingResolvePromise(function() return f[2](v[2]) end,
                f[1] .. " fulfilling with " .. v[1], fulfillsWith(v[2]))
            end
            for _, f in ipairs(thenables.rejected) do
              testCallingResolvePromise(function() return f[2](v[2]) end,
                f[1] .. " rejecting with " .. v[1], rejectsWith(v[2]))
            end
          end
        end)

        describe("y is a thenable for a thenable", function()
          for _, outer in ipairs(thenables.fulfilled) do
            for _, inner in ipairs(thenables.fulfilled) do
              testCallingResolvePromise(function() return outer[2](inner[2](sentinel)) end,
                outer[1] .. " for " .. inner[1], fulfillsWith(sentinel))
            end
            for _, inner in ipairs(thenables.rejected) do
              testCallingResolvePromise(function() return outer[2](inner[2](sentinel)) end,
                outer[1] .. " for " .. inner[1], rejectsWith(sentinel))
            end
          end
        end)

        it("a deep chain of thenables (100 levels) resolves to the innermost value", check(function()
          local function nest(depth)
            if depth == 0 then return sentinel end
            return { next = function(_, resolvePromise) resolvePromise(nest(depth - 1)) end }
          end
          local p, resolve = Promise.withResolvers()
          resolve(nest(100))
          local r = watch(p)
          return function() assertSettled(r, "fulfilled", sentinel) end
        end))
      end)

      describe("2.3.3.3.2: if/when rejectPromise is called with r, reject promise with r", function()
        for _, reason in ipairs(reasons) do
          describe("r is " .. reason[1], function()
            local r
            before_each(function() r = reason[2]() end)
            local function rejectsWithR(promise)
              local rec = watch(promise)
              return function() assertSettled(rec, "rejected", r) end
            end
            describe("next calls rejectPromise synchronously", function()
              testPromiseResolution(function()
                return { next = function(_, _, rejectPromise) rejectPromise(r) end }
              end, rejectsWithR)
            end)
            describe("next calls rejectPromise asynchronously", function()
              testPromiseResolution(function()
                return { next = function(_, _, rejectPromise)
                  later(function() rejectPromise(r) end, 0)
                end }
              end, rejectsWithR)
            end)
          end)
        end
      end)

      describe("2.3.3.3.3: if both resolvePromise and rejectPromise are called, or the same one several times, "
        .. "the first call takes precedence", function()
        local function case(name, nextFn, test)
          describe(name, function()
            testPromiseResolution(function() return { next = nextFn() } end, test)
          end)
        end
        local function eventually(how, value)
          local p, resolve, reject = Promise.withResolvers()
          later(function()
            if how == "fulfill" then resolve(value) else reject(value) end
          end, 50)
          return p
        end

        case("calling resolvePromise then rejectPromise, both synchronously", function()
          return function(_, res, rej) res(sentinel); rej(other) end
        end, fulfillsWith(sentinel))
        case("calling resolvePromise synchronously then rejectPromise asynchronously", function()
          return function(_, res, rej)
            res(sentinel)
            later(function() rej(other) end, 0)
          end
        end, fulfillsWith(sentinel))
        case("calling resolvePromise then rejectPromise, both asynchronously", function()
          return function(_, res, rej)
            later(function() res(sentinel) end, 0)
            later(function() rej(other) end, 0)
          end
        end, fulfillsWith(sentinel))
        case("calling resolvePromise with an asynchronously-fulfilled promise, then rejectPromise, "
          .. "both synchronously", function()
          local d = eventually("fulfill", sentinel)
          return function(_, res, rej) res(d); rej(other) end
        end, fulfillsWith(sentinel))
        case("calling resolvePromise with an asynchronously-rejected promise, then rejectPromise, "
          .. "both synchronously", function()
          local d = eventually("reject", sentinel)
          return function(_, res, rej) res(d); rej(other) end
        end, rejectsWith(sentinel))
        case("calling rejectPromise then resolvePromise, both synchronously", function()
          return function(_, res, rej) rej(sentinel); res(other) end
        end, rejectsWith(sentinel))
        case("calling rejectPromise synchronously then resolvePromise asynchronously", function()
          return function(_, res, rej)
            rej(sentinel)
            later(function() res(other) end, 0)
          end
        end, rejectsWith(sentinel))
        case("calling rejectPromise then resolvePromise, both asynchronously", function()
          return function(_, res, rej)
            later(function() rej(sentinel) end, 0)
            later(function() res(other) end, 0)
          end
        end, rejectsWith(sentinel))
        case("calling resolvePromise twice synchronously", function()
          return function(_, res) res(sentinel); res(other) end
        end, fulfillsWith(sentinel))
        case("calling resolvePromise twice, first synchronously then asynchronously", function()
          return function(_, res)
            res(sentinel)
            later(function() res(other) end, 0)
          end
        end, fulfillsWith(sentinel))
        case("calling resolvePromise twice, both times asynchronously", function()
          return function(_, res)
            later(function() res(sentinel) end, 0)
            later(function() res(other) end, 0)
          end
        end, fulfillsWith(sentinel))
        case("calling resolvePromise with an asynchronously-fulfilled promise, then again, "
          .. "both synchronously", function()
          local d = eventually("fulfill", sentinel)
          return function(_, res) res(d); res(other) end
        end, fulfillsWith(sentinel))
        case("calling resolvePromise with an asynchronously-rejected promise, then again, "
          .. "both synchronously", function()
          local d = eventually("reject", sentinel)
          return function(_, res) res(d); res(other) end
        end, rejectsWith(sentinel))
        case("calling rejectPromise twice synchronously", function()
          return function(_, _, rej) rej(sentinel); rej(other) end
        end, rejectsWith(sentinel))
        case("calling rejectPromise twice, first synchronously then asynchronously", function()
          return function(_, _, rej)
            rej(sentinel)
            later(function() rej(other) end, 0)
          end
        end, rejectsWith(sentinel))
        case("calling rejectPromise twice, both times asynchronously", function()
          return function(_, _, rej)
            later(function() rej(sentinel) end, 0)
            later(function() rej(other) end, 0)
          end
        end, rejectsWith(sentinel))
        case("calling resolvePromise(nil) then resolvePromise(other)", function()
          return function(_, res) res(nil); res(other) end
        end, fulfillsWith(nil))
        case("calling rejectPromise(false) then resolvePromise(other)", function()
          return function(_, res, rej) rej(false); res(other) end
        end, rejectsWith(false))
        case("calling rejectPromise(nil) then rejectPromise(other)", function()
          return function(_, _, rej) rej(nil); rej(other) end
        end, rejectsWith(nil))

        describe("saving and abusing resolvePromise and rejectPromise", function()
          local savedResolve, savedReject
          before_each(function() savedResolve, savedReject = nil, nil end)
          testPromiseResolution(function()
            return { next = function(_, res, rej) savedResolve, savedReject = res, rej end }
          end, function(promise)
            local fulfilled, rejected = 0, 0
            promise:next(function() fulfilled = fulfilled + 1 end, function() rejected = rejected + 1 end)
            later(function()
              savedResolve(dummy)
              savedResolve(dummy)
              savedReject(dummy)
              savedReject(dummy)
            end, 50)
            later(function()
              savedResolve(other)
              savedReject(other)
            end, 60)
            return function()
              assert.are.equal(1, fulfilled)
              assert.are.equal(0, rejected)
              local state, value = promise:state()
              assert.are.equal("fulfilled", state)
              assert.are.equal(dummy, value)
            end
          end)
        end)
      end)

      describe("2.3.3.3.4: if calling next raises e", function()
        local function case(name, xFactory, test)
          describe(name, function() testPromiseResolution(xFactory, test) end)
        end
        local function eventually(how, value)
          local p, resolve, reject = Promise.withResolvers()
          later(function()
            if how == "fulfill" then resolve(value) else reject(value) end
          end, 50)
          return p
        end

        describe("2.3.3.3.4.1: if resolvePromise or rejectPromise have been called, ignore it", function()
          case("resolvePromise was called with a non-thenable", function()
            return { next = function(_, res) res(sentinel); error(other) end }
          end, fulfillsWith(sentinel))
          case("resolvePromise was called with nil", function()
            return { next = function(_, res) res(nil); error(other) end }
          end, fulfillsWith(nil))
          case("resolvePromise was called with an asynchronously-fulfilled promise", function()
            local d = eventually("fulfill", sentinel)
            return { next = function(_, res) res(d); error(other) end }
          end, fulfillsWith(sentinel))
          case("resolvePromise was called with an asynchronously-rejected promise", function()
            local d = eventually("reject", sentinel)
            return { next = function(_, res) res(d); error(other) end }
          end, rejectsWith(sentinel))
          case("rejectPromise was called", function()
            return { next = function(_, _, rej) rej(sentinel); error(other) end }
          end, rejectsWith(sentinel))
          case("rejectPromise was called with false", function()
            return { next = function(_, _, rej) rej(false); error(other) end }
          end, rejectsWith(false))
          case("resolvePromise then rejectPromise were called", function()
            return { next = function(_, res, rej) res(sentinel); rej(other); error(other) end }
          end, fulfillsWith(sentinel))
          case("rejectPromise then resolvePromise were called", function()
            return { next = function(_, res, rej) rej(sentinel); res(other); error(other) end }
          end, rejectsWith(sentinel))
        end)

        describe("2.3.3.3.4.2: otherwise, reject promise with e as the reason", function()
          case("straightforward case", function()
            return { next = function() error(sentinel) end }
          end, rejectsWith(sentinel))
          case("e is nil", function()
            return { next = function() error(nil) end }
          end, rejectsWith(nil))
          case("e is false", function()
            return { next = function() error(false) end }
          end, rejectsWith(false))
          case("next is a __call table that raises", function()
            return { next = setmetatable({}, { __call = function() error(sentinel) end }) }
          end, rejectsWith(sentinel))
          case("resolvePromise is called asynchronously before the raise", function()
            return { next = function(_, res)
              later(function() res(other) end, 0)
              error(sentinel)
            end }
          end, rejectsWith(sentinel))
          case("rejectPromise is called asynchronously before the raise", function()
            return { next = function(_, _, rej)
              later(function() rej(other) end, 0)
              error(sentinel)
            end }
          end, rejectsWith(sentinel))
        end)
      end)
    end)

    describe("2.3.3.4: if next is not callable, fulfill promise with x", function()
      local shapes = {
        { "next is 5", function() return { next = 5 } end },
        { "next is a string", function() return { next = "next" } end },
        { "next is true", function() return { next = true } end },
        { "next is false", function() return { next = false } end },
        { "next is a table", function() return { next = {} } end },
        { "next is a table containing a function", function() return { next = { function() end } } end },
        { "next is a table with a metatable but no __call", function()
          return { next = setmetatable({}, { __index = { __call = function() end } }) }
        end },
        { "next is a full userdata without __call", function() return { next = newUserdata({}) } end },
        { "x has no next (plain table)", function() return { 1, 2, 3 } end },
        { "x is callable (__call) but has no next", function()
          return setmetatable({}, { __call = function() end })
        end },
        { "x has a JavaScript-style then function but no next", function()
          return { ["then"] = function(_, onFulfilled) onFulfilled(other) end }
        end },
        { "x is a full userdata without next", function() return newUserdata({ __index = {} }) end },
        { "x's __index function gives a non-callable next", function()
          return setmetatable({}, { __index = function() return 42 end })
        end },
      }
      for _, shape in ipairs(shapes) do
        describe(shape[1], function()
          local x
          before_each(function() x = shape[2]() end)
          testPromiseResolution(function() return x end, function(promise)
            local r = watch(promise)
            return function()
              assert.is_not_nil(x)
              assertSettled(r, "fulfilled", x)
            end
          end)
        end)
      end

      it("the then function of a JavaScript-style object is never called", check(function()
        local called = false
        local x = { ["then"] = function() called = true end }
        local r = watch(Promise.resolve(x))
        return function()
          assert.is_false(called)
          assertSettled(r, "fulfilled", x)
        end
      end))
    end)
  end)

  describe("2.3.4: if x is not a table or full userdata, fulfill promise with x", function()
    local function testValue(expected, name, hooks)
      describe("the value is " .. name, function()
        testFulfilled(dummy, function(promise1)
          local r = watch(promise1:next(function() return expected end))
          return function() assertSettled(r, "fulfilled", expected) end
        end, hooks)
        testRejected(dummy, function(promise1)
          local r = watch(promise1:next(nil, function() return expected end))
          return function() assertSettled(r, "fulfilled", expected) end
        end, hooks)
        it("via the resolve function", check(function()
          local p, resolve = Promise.withResolvers()
          resolve(expected)
          local state, v = p:state()
          assert.are.equal("fulfilled", state)
          assert.are.equal(expected, v)
          local r = watch(p)
          return function() assertSettled(r, "fulfilled", expected) end
        end, hooks))
      end)
    end

    testValue(nil, "nil")
    testValue(false, "false")
    testValue(true, "true")
    testValue(0, "0")
    testValue(1.5, "1.5")
    testValue("next", "a string")
    testValue(print, "a function (functions are not thenables)")
    local co = coroutine.create(function() end)
    testValue(co, "a coroutine")

    -- Boolean.prototype.then / Number.prototype.then analogues: give the type
    -- a `next` method through its metatable; the value still is not a thenable.
    local nextCalls = 0
    local function fakeNext(_, onFulfilled)
      nextCalls = nextCalls + 1
      if type(onFulfilled) == "function" then onFulfilled(other) end
    end
    local function metaHooks(sample)
      local saved
      return {
        install = function()
          nextCalls = 0
          saved = debug.getmetatable(sample)
          debug.setmetatable(sample, { __index = { next = fakeNext } })
        end,
        remove = function()
          debug.setmetatable(sample, saved)
          assert.are.equal(0, nextCalls, "a next method reached through a type metatable was called")
        end,
      }
    end
    local stringHooks = {
      install = function() nextCalls = 0; rawset(string, "next", fakeNext) end,
      remove = function()
        rawset(string, "next", nil)
        assert.are.equal(0, nextCalls, "string.next was called")
      end,
    }

    testValue(true, "true, with booleans given a next method", metaHooks(true))
    testValue(false, "false, with booleans given a next method", metaHooks(false))
    testValue(1, "1, with numbers given a next method", metaHooks(1))
    testValue("abc", "a string, with string.next defined", stringHooks)
    testValue(print, "a function, with functions given a next method", metaHooks(print))
    testValue(nil, "nil, with nil given a next method", metaHooks(nil))
    testValue(co, "a coroutine, with coroutines given a next method", metaHooks(co))
  end)
end)
