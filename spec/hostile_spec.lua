-- Hostile callers of the core: finalizers (__gc) that touch promises in the
-- middle of the core's own allocations, to-be-closed variables of async
-- functions, async coroutines resumed by hand, and the order of the
-- reporters. One `it` per problem found by review; each one failed (or
-- crashed) with the core as it was before the fix.
--
-- The finalizer tests make the collector run a finalizer at (almost) every
-- allocation point (see `gc.start`), and let a test run an action once, at
-- the first such point after `gc.arm(action)`: the next allocation the core
-- makes. They restore Lua's default collector parameters afterwards.

local Promise = require("promise")
local H = require("spec.support.helpers")

--------------------------------------------------- a finalizer on demand

local gc = {}
do
  local action, on = nil, false
  local mt = {}
  mt.__gc = function()
    if action then
      local a = action
      action = nil
      a()
    end
    if on then setmetatable({}, mt) end  -- re-arm for the next cycle
  end

  --- Starts a collector that finishes a cycle (and so runs our finalizer)
  --- at every allocation that steps it.
  function gc.start()
    on = true
    setmetatable({}, mt)
    collectgarbage("incremental", 1, 1000, 25)
    collectgarbage()
  end

  --- `fn` runs once, from the finalizer, at the next allocation.
  ---@param fn function
  function gc.arm(fn) action = fn end

  ---@return boolean whether the armed action has run
  function gc.fired() return action == nil end

  --- Stops: no more re-arming, default collector parameters.
  function gc.stop()
    on, action = false, nil
    collectgarbage("incremental", 200, 100, 13)  -- Lua 5.4's defaults
  end
end

-- The job ring shrinks back to at most this capacity at the end of a drain
-- (queue.c's SHRINKCAP), and grows by doubling from 64: queueing this many
-- jobs after a drain leaves it exactly full, so the next job grows it.
local RING_FULL = 4096

local function fill_ring()
  for _ = 1, RING_FULL do Promise.queueMicrotask(function() end) end
end

--- The Lua C path of this process (so a child loads the same core, even
--- when busted was given another --cpath).
local function child_command()
  return ("LUA_PATH_5_4='lua/?.lua;lua/?/init.lua;;' LUA_CPATH_5_4='%s' lua5.4")
    :format(package.cpath)
end

describe("hostile callers", function()
  local reported

  before_each(function()
    Promise.drain()
    reported = {}
    Promise.onUnhandledRejection(function(reason) reported[#reported + 1] = reason end)
  end)

  after_each(function()
    gc.stop()
    Promise.onUnhandledRejection(function() end)
    Promise.drain()
    Promise.onUnhandledRejection(nil)
    Promise.onRejectionHandled(nil)
    Promise.onUncaughtError(nil)
    assert.are.equal(0, H.live_handles(), "a luv handle was left alive")
  end)

  it("a __gc adding a reaction while the settling grows the ring: both reactions run", function()
    -- first reaction a plain handler (review 04)
    local log = {}
    local b, resolve = Promise.withResolvers()
    local d1 = b:next(function(v) log[#log + 1] = "1:" .. tostring(v); return "r1" end)
    local d2
    fill_ring()
    gc.start()
    gc.arm(function()
      d2 = b:next(function(v) log[#log + 1] = "2:" .. tostring(v); return "r2" end)
    end)
    resolve("x")  -- settle: its reactions need ring slots: grows: GC: our finalizer
    local fired = gc.fired()
    gc.stop()
    assert.is_true(fired, "the finalizer did not run during the settling")
    local n = Promise.drain()
    assert.are.same({ "1:x", "2:x" }, log)
    assert.are.equal(RING_FULL + 2, n)
    assert.are.same({ "fulfilled", "r1" }, { d1:state() })
    assert.are.same({ "fulfilled", "r2" }, { d2:state() })

    -- first reaction an await (review 12: the drain took the list for a coroutine)
    log = {}
    local c, resolvec = Promise.withResolvers()
    local pa = Promise.async(function()
      log[#log + 1] = "await:" .. tostring(Promise.await(c))
      return "a"
    end)()
    fill_ring()
    gc.start()
    gc.arm(function()
      c:next(function(v) log[#log + 1] = "next:" .. tostring(v) end)
    end)
    resolvec("y")
    fired = gc.fired()
    gc.stop()
    assert.is_true(fired, "the finalizer did not run during the settling")
    Promise.drain()
    assert.are.same({ "await:y", "next:y" }, log)
    assert.are.same({ "fulfilled", "a" }, { pa:state() })
    assert.are.same({}, reported)
  end)

  it("a __gc settling a promise while then() moves its first reaction to a list", function()
    -- review 03
    local log = {}
    local b, resolve = Promise.withResolvers()
    b:next(function(v) log[#log + 1] = "1:" .. tostring(v) end)  -- b: one reaction
    gc.start()
    Promise.queueMicrotask(function()
      local act = function() resolve("value") end
      gc.arm(act)  -- the next allocation: then()'s list for b's reactions
    end)
    local q = Promise.new(function(res) res(b) end)  -- a job: b:then(adopt q)
    q:next(function(v) log[#log + 1] = "q:" .. tostring(v) end)
    Promise.drain()
    local fired = gc.fired()
    gc.stop()
    assert.is_true(fired, "the finalizer did not run")
    Promise.drain()
    assert.are.same({ "1:value", "q:value" }, log)
    assert.are.same({ "fulfilled", "value" }, { b:state() })
    assert.are.same({ "fulfilled", "value" }, { q:state() })
  end)

  it("a __gc queueing microtasks while the ring grows (nested growth) loses none", function()
    -- review 05
    local ran = {}
    fill_ring()
    gc.start()
    local act = function()
      for i = 1, 3 do Promise.queueMicrotask(function() ran[#ran + 1] = "fin" .. i end) end
    end
    local last = function() ran[#ran + 1] = "last" end
    gc.arm(act)
    Promise.queueMicrotask(last)  -- grows the ring: GC: act grows it again
    local fired = gc.fired()
    gc.stop()
    assert.is_true(fired, "the finalizer did not run during the growth")
    local n = Promise.drain()
    assert.are.same({ "fin1", "fin2", "fin3", "last" }, ran)
    assert.are.equal(RING_FULL + 4, n)
  end)

  it("a rejection made by a __gc while unhandled rejections are checked is still reported", function()
    -- review 06
    local late
    Promise.reject("first")
    gc.start()
    Promise.queueMicrotask(function()
      gc.arm(function() late = Promise.reject("late") end)  -- next: the check's new list
    end)
    Promise.drain()
    local fired = gc.fired()
    gc.stop()
    assert.is_true(fired, "the finalizer did not run")
    Promise.drain()
    Promise.queueMicrotask(function() end)
    Promise.drain()
    assert.are.same({ "rejected", "late" }, { late:state() })
    assert.are.same({ "first", "late" }, reported)
  end)

  it("closes the to-be-closed variables of an async function that raises or yields", function()
    -- review 02 and 02b
    local log = {}
    local function closer(name)
      return setmetatable({}, { __close = function(_, e)
        log[#log + 1] = "closed " .. name .. " " .. tostring(e)
      end })
    end

    -- raises: closed (with the error) before the promise rejects, as pcall does
    Promise.async(function()
      local _x <close> = closer("raise")  -- luacheck: ignore 211
      error("boom", 0)
    end)():catch(function(e) log[#log + 1] = "rejected " .. tostring(e) end)
    Promise.drain()
    assert.are.same({ "closed raise boom", "rejected boom" }, log)

    -- calls coroutine.yield: rejected, and its variables closed (no error)
    log = {}
    local reason
    Promise.async(function()
      local _z <close> = closer("yield")  -- luacheck: ignore 211
      coroutine.yield()
    end)():catch(function(e) reason = e; log[#log + 1] = "rejected" end)
    Promise.drain()
    assert.are.same({ "closed yield nil", "rejected" }, log)
    assert.is_true(Promise.Error.is(reason))
    assert.are.equal("coroutine.yield called in an async function (use await)", reason.message)

    -- a __close that raises replaces the error, as with pcall
    log = {}
    local mt = { __close = function(_, e) log[#log + 1] = "close got " .. tostring(e); error("close-err", 0) end }
    assert.are.same({ false, "close-err" }, { pcall(function()
      local _x <close> = setmetatable({}, mt)  -- luacheck: ignore 211
      error("boom", 0)
    end) })
    assert.are.same({ "close got boom" }, log)
    log = {}
    Promise.async(function()
      local _x <close> = setmetatable({}, mt)  -- luacheck: ignore 211
      error("boom", 0)
    end)():catch(function(e) log[#log + 1] = "rejected " .. tostring(e) end)
    Promise.drain()
    assert.are.same({ "close got boom", "rejected close-err" }, log)
  end)

  it("the default uncaught-error reporter prints the message and the traceback once", function()
    -- review 01 (the old reporter printed the message twice, no traceback)
    local err = H.run_script(child_command(), table.concat({
      'local P = require("promise")',
      'P.queueMicrotask(function() error("boom") end)',
      'P.drain()',
      'io.stderr:write("--8<--\\n")',
      'P.reportError("E", "stack traceback:\\n\\tTHE-TRACEBACK")',
    }, "\n"), "2>&1 >/dev/null")
    local first, second = err:match("^(.-)%-%-8<%-%-\n(.*)$")
    assert.is_string(first, err)
    local lines = H.lines(first)
    assert.matches("^Uncaught error: .-:2: boom$", lines[1])
    assert.are.equal("stack traceback:", lines[2])
    assert.matches("in function 'error'", first, 1, true)
    local _, nboom = first:gsub("boom", "")
    local _, ntrace = first:gsub("stack traceback:", "")
    assert.are.equal(1, nboom, first)
    assert.are.equal(1, ntrace, first)
    assert.are.equal("Uncaught error: E\nstack traceback:\n\tTHE-TRACEBACK\n", second)
  end)

  it("an async function's coroutine resumed by hand: 'async function resumed outside await'", function()
    -- review 08 (self-resume from a drain): resumed by hand, the body goes on
    -- outside any async function; its next await is a wait(), whose drain
    -- runs the reaction meant for this very coroutine.
    local co
    local p0, resolve0 = Promise.withResolvers()
    local first
    local pa = Promise.async(function()
      co = coroutine.running()
      first = Promise.await(p0)
      resolve0("real")
      Promise.await(1)  -- outside: wait(), which drains on this thread
      return "a-done"
    end)()
    local reason
    pa:next(nil, function(e) reason = e end)
    assert.are.same({ true, "a-done" }, { coroutine.resume(co, true, "forged") })
    Promise.drain()
    assert.are.equal("forged", first)
    assert.are.equal("rejected", (pa:state()))
    assert.is_true(Promise.Error.is(reason), tostring(reason))
    assert.are.equal("async function resumed outside await", reason.message)
  end)

  it("onRejectionHandled runs once the queue has drained, in Node's order", function()
    -- review 09. Node v20 prints the expected log for:
    --   process.on('unhandledRejection', (r) => console.log('unhandled', r));
    --   process.on('rejectionHandled', () => console.log('rejectionHandled'));
    --   const p = Promise.reject(1);
    --   setTimeout(() => {
    --     console.log('attach');
    --     p.catch(() => console.log('caught'));
    --     console.log('after attach');
    --     Promise.resolve().then(() => console.log('micro'));
    --   }, 10);
    --   setTimeout(() => console.log('next timer'), 20);
    local log, handled = {}, nil
    Promise.onUnhandledRejection(function(r) log[#log + 1] = "unhandled " .. tostring(r) end)
    Promise.onRejectionHandled(function(p) handled = p; log[#log + 1] = "rejectionHandled" end)
    local p = Promise.reject(1)
    Promise.drain()  -- the end of the main script
    -- the first timer
    log[#log + 1] = "attach"
    p:catch(function() log[#log + 1] = "caught" end)
    log[#log + 1] = "after attach"
    Promise.resolve():next(function() log[#log + 1] = "micro" end)
    Promise.drain()
    -- the second timer
    log[#log + 1] = "next timer"
    assert.are.same({ "unhandled 1", "attach", "after attach", "caught", "micro",
                      "rejectionHandled", "next timer" }, log)
    assert.are.equal(p, handled)
  end)

  it("a __gc rejecting the promise that resolve() is settling: one outcome", function()
    -- resolve() of a promise with a reaction hands over to the state's
    -- settling function (a call, and the job's storage, may allocate): a
    -- finalizer run at the first allocation after resolve() starts rejects
    -- the same promise; exactly one of the two wins, and its handler runs
    -- once
    local log = {}
    for round = 1, 20 do
      local res, rej
      local p = Promise.new(function(a, b) res, rej = a, b end)
      p:next(function(v) log[#log + 1] = v end,
             function(r) log[#log + 1] = r end)
      local mine, theirs = "resolved " .. round, "from __gc " .. round
      gc.start()
      gc.arm(function() rej(theirs) end)
      res(mine)  -- the first allocation after arm() is inside this call
      gc.stop()
      Promise.drain()
    end
    assert.are.equal(20, #log)
    for round = 1, 20 do
      assert.is_truthy(log[round] == "resolved " .. round
                       or log[round] == "from __gc " .. round, log[round])
    end
  end)

  it("a damaged promise metatable makes resolve raise, not crash", function()
    local mt = getmetatable(Promise.resolve())
    local saved = {}
    for k, v in pairs(mt) do
      if type(k) ~= "string" then saved[k] = v; mt[k] = nil end
    end
    assert.is_not_nil(next(saved), "the settling function is in the metatable")
    local res
    local p = Promise.new(function(r) res = r end)
    local q = p:next(function(v) return v end)
    local ok, err = pcall(res, 1)
    for k, v in pairs(saved) do mt[k] = v end
    assert.is_false(ok)
    assert.matches("promise metatable damaged", err, 1, true)
    -- restored: the promise can still be settled
    res(2)
    Promise.drain()
    assert.are.same({ "fulfilled", 2 }, { q:state() })
  end)

  it("a __gc queueing jobs while Promise.all reads settled elements: right values, one outcome", function()
    -- settled elements share a counting job only while nothing else is
    -- queued; a finalizer queueing a microtask at an allocation of the
    -- read must end the sharing, not corrupt the count
    for round = 1, 10 do
      local log = {}
      local items = {}
      for i = 1, 50 do items[i] = (i % 3 == 0) and i or Promise.resolve(i) end
      local list = setmetatable({ n = 50 }, { __index = function(_, i)
        if i == 20 + round then  -- the next allocation is in the middle
          gc.arm(function() Promise.queueMicrotask(function() log[#log + 1] = "micro" end) end)
        end
        return items[i]
      end })
      gc.start()
      local p = Promise.all(list)
      gc.stop()
      p:next(function(vs) log[#log + 1] = vs end)
      Promise.drain()
      assert.are.equal(2, #log, "round " .. round)
      local vs = log[1] == "micro" and log[2] or log[1]
      for i = 1, 50 do assert.are.equal(i, vs[i]) end
    end
  end)

  it("Lua code holding a promise cannot reach the function that settles it", function()
    -- found by review: the settling function sat in the metatable, where any
    -- code could call it on any promise (and it crashed on a non-promise)
    local res
    local p = Promise.new(function(r) res = r end)
    local mt = getmetatable(p)
    for k, v in pairs(mt) do  -- only metamethods are functions there
      if type(v) == "function" then
        assert.is_true(type(k) == "string" and k:sub(1, 2) == "__", tostring(k))
      end
    end
    -- with the debug library it is reachable: it still refuses a non-promise
    local settle = debug.getregistry()[mt[1]]
    assert.are.equal("function", type(settle))
    for _, bad in ipairs({ { nil, 1 }, { {}, 1 }, { io.stdout, 1 } }) do
      local ok, err = pcall(settle, bad[1], bad[2], false, nil)
      assert.is_false(ok)
      assert.matches("cannot settle: not a promise", err, 1, true)
    end
    assert.are.equal("pending", (p:state()))
    res(1)
    assert.are.same({ "fulfilled", 1 }, { p:state() })
  end)

  it("a used resolve function stays used through any number of thenable adoptions", function()
    -- found by review: a wrapping generation counter revived the executor's
    -- resolve after 2^25 adoptions; each pair now has its own flag
    local resolve0
    local p = Promise.new(function(res) resolve0 = res end)
    local count, LIMIT = 0, 20000
    local thenable = {}
    function thenable.next(self, res)
      count = count + 1
      if count < LIMIT then res(self) end  -- adopt again; the last never settles
    end
    resolve0(thenable)
    Promise.drain()
    assert.are.equal(LIMIT, count)
    resolve0("stale")
    assert.are.equal("pending", (p:state()))
  end)

  it("a thenable's pair: the first call wins, a raise after it is ignored", function()
    local p = Promise.resolve({ next = function(_, res, rej)
      res("first")
      rej("second")
      error("third")
    end })
    Promise.drain()
    assert.are.same({ "fulfilled", "first" }, { p:state() })
    local q = Promise.resolve({ next = function() error("raised", 0) end })
    Promise.drain()
    assert.are.same({ "rejected", "raised" }, { q:state() })
  end)
end)
