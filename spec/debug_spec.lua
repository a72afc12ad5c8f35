-- Promise.debug (lua/promise/debug.lua): tracking, pending(), long traces,
-- the awaitedIn hook and warnings.
local Promise = require("promise")
local H = require("spec.support.helpers")

local async, await = Promise.async, Promise.await
local D = Promise.debug
local THIS = "spec/debug_spec.lua"

-- the line `n` lines above the caller's
local function line(n)
  return debug.getinfo(2, "l").currentline - (n or 0)
end

local function noop() end

-- bytes that making `n` promises (and a `next` of each) adds, kept alive
local function bytes_per_promise(n)
  local keep = {}
  for i = 1, 2 * n do keep[i] = false end
  collectgarbage()
  collectgarbage()
  collectgarbage("stop")
  local before = collectgarbage("count")
  for i = 1, n do
    local p = Promise.new(noop)
    keep[2 * i - 1] = p
    keep[2 * i] = p:next(noop)
  end
  local after = collectgarbage("count")
  collectgarbage("restart")
  assert(#keep == 2 * n)
  return (after - before) * 1024 / n
end

describe("Promise.debug", function()
  local unhandled
  before_each(function() unhandled = H.capture_unhandled() end)
  after_each(function()
    D.disable()
    D.onWarning(nil)
    D.resetWarnings()
    Promise.onUnhandledRejection(nil)
  end)

  describe("enable", function()
    it("checks its options", function()
      assert.has_error(function() D.enable(5) end,
        "bad argument #1 to 'enable' (table or nil expected, got number)")
      assert.has_error(function() D.enable{ longTraces = "yes" } end,
        "bad field 'longTraces' to 'enable' (boolean expected, got string)")
      assert.is_nil(D.enabled())
    end)

    it("says which options are in force until disable", function()
      D.enable()
      assert.same({ longTraces = false }, D.enabled())
      D.enable{ longTraces = true }
      assert.same({ longTraces = true }, D.enabled())
      D.disable()
      assert.is_nil(D.enabled())
    end)
  end)

  describe("when off", function()
    it("costs no allocation per promise", function()
      local off = bytes_per_promise(20000)
      D.enable()
      local on = bytes_per_promise(20000)
      D.disable()
      local again = bytes_per_promise(20000)
      assert.are.equal(off, again)
      -- the measure can tell: tracking does allocate a record per promise
      assert.is_true(on > off + 50, ("on %g, off %g"):format(on, off))
    end)

    it("does not track promises", function()
      Promise.new(noop)
      assert.same({}, D.pending())
    end)
  end)

  describe("pending", function()
    local clock
    before_each(function() clock = Promise.useFakeTimers(0) end)
    after_each(function() clock:restore() end)

    it("lists the promises still pending, oldest first, with what each waits for", function()
      D.enable()
      local read = Promise.new(noop)                        local l1 = line()
      D.waitingFor(read, "a socket read on 127.0.0.1:6379")
      clock:advance(50)
      local fetch = async(function() return await(read) end)
      local main = async(function()
        return await(Promise.all({ fetch(), Promise.resolve(1) }))  -- l3
      end)                                                  local l3 = line(1)
      local done = main()                                   local l4 = line()
      Promise.resolve(2)  -- settled: not listed
      clock:advance(30)
      local list = D.pending()
      assert.are.equal(4, #list)
      -- in creation order: read, main's promise, fetch's, all's result
      assert.are.equal(read, list[1].promise)
      assert.are.equal(THIS .. ":" .. l1, list[1].site)
      assert.are.equal(80, list[1].age)
      assert.are.equal("a socket read on 127.0.0.1:6379", list[1].waitingFor)
      assert.is_nil(list[1].awaits)
      assert.are.equal(done, list[2].promise)
      assert.are.equal(THIS .. ":" .. l4, list[2].site)
      assert.are.equal(30, list[2].age)
      assert.are.equal(list[4].promise, list[2].awaits)
      assert.are.equal(("promise created at %s:%d, pending for 30 ms, awaiting at %s:%d: in function 'main', "
        .. "waits for a promise (await) created at %s:%d"):format(THIS, l4, THIS, l3, THIS, l3),
        list[2].description)
      assert.are.equal(read, list[3].awaits)
      assert.are.equal("await", list[3].awaitsKind)
      assert.are.equal(THIS .. ":" .. l3, list[3].site)
      assert.matches(":%d+: in function 'fetch'$", list[3].where)
      assert.are.equal(THIS .. ":" .. l3, list[4].site)
      assert.are.equal("all", list[4].awaitsKind)
      assert.are.equal(list[3].promise, list[4].awaits)
      assert.is_nil(list[4].where)
      assert.are.equal(4, select(2, D.report():gsub("[^\n]+", "")))
    end)

    it("explain: the chain of what a hanging promise waits for", function()
      D.enable()
      local read = Promise.new(noop)                                  local l1 = line()
      D.waitingFor(read, "a socket read")
      local fetch = async(function() return await(read) end)          local l2 = line()
      local main = async(function() return await(Promise.all({ fetch() })) end)  local l3 = line()
      local done = main()                                             local l4 = line()
      local at = THIS .. ":"
      assert.are.equal(("promise created at %s%d awaits (at %s%d: in function 'main') a promise created at %s%d, "
        .. "which waits in Promise.all for a promise created at %s%d, "
        .. "which awaits (at %s%d: in function 'fetch') a promise created at %s%d, "
        .. "which waits for a socket read"):format(at, l4, at, l3, at, l3, at, l3, at, l2, at, l1),
        D.explain(done))
      D.disable()
      assert.are.equal("promise created at ?", D.explain(Promise.new(noop)))
      assert.has_error(function() D.explain(1) end,
        "bad argument #1 to 'explain' (promise expected, got number)")
    end)

    it("forgets promises once they settle, and lists none made while off", function()
      D.enable()
      local _, resolve = Promise.withResolvers()
      D.disable()
      Promise.new(noop)
      assert.are.equal(1, #D.pending())
      resolve(1)
      assert.same({}, D.pending())
    end)

    it("is not confused by a waitingFor on an untracked promise or a label that raises", function()
      local p = Promise.new(noop)
      D.waitingFor(p, "ignored")
      D.enable()
      local q = Promise.new(noop)
      D.waitingFor(q, function() error("label") end)
      local list = D.pending()
      assert.are.equal(1, #list)
      assert.are.equal("?", list[1].waitingFor)
    end)
  end)

  describe("long traces", function()
    it("add where each promise of a next chain was created", function()
      D.enable{ longTraces = true }
      local p0 = Promise.resolve(1)                         local l0 = line()
      local p1 = p0:next(function(v) return v + 1 end)      local l1 = line()
      local p2 = p1:next(function() error("step 3", 0) end) local l2 = line()
      local p3 = p2:next(noop)                              local l3 = line()
      Promise.drain()
      local tb = D.traceback(p3):gsub("%./spec/", "spec/")
      local tail = table.concat({
        "--- in a promise created at: " .. THIS .. ":" .. l2,
        "--- which follows a promise created at: " .. THIS .. ":" .. l1,
        "--- which follows a promise created at: " .. THIS .. ":" .. l0,
        "--- passed on to a promise created at: " .. THIS .. ":" .. l3,
      }, "\n")
      assert.are.equal(tail, tb:sub(-#tail))
      assert.matches("^stack traceback:\n\t%[C%]: in function 'error'\n\t" .. THIS .. ":" .. l2, tb)
      assert.are.equal(1, #unhandled)
    end)

    it("give a rejection without a traceback one, made where it was rejected", function()
      D.enable{ longTraces = true }
      local p = Promise.new(function(_, reject) reject("plain") end)   local l = line()
      assert.are.equal(("stack traceback:\n\t%s:%d: in function <%s:%d>"):format(THIS, l, THIS, l),
        D.traceback(p):match("^[^\n]*\n[^\n]*"))
      assert.matches("\n--- in a promise created at: " .. THIS .. ":" .. l .. "$", D.traceback(p))
      D.disable()
      assert.is_nil(D.traceback(Promise.reject("plain")))
      Promise.drain()
    end)

    it("are off with tracking alone", function()
      D.enable()
      local p = Promise.resolve(1):next(function() error("x", 0) end)
      Promise.drain()
      assert.not_matches("created at", D.traceback(p), 1, true)
    end)
  end)

  describe("awaitedIn", function()
    it("adds the line a helper gives, and goes on with who awaits its promise", function()
      local inner = async(function() await(nil); error("attempt failed", 0) end)
      local result, _, reject = Promise.withResolvers()
      local attempt = inner()
      D.awaitedIn(attempt, result, function() return "Promise.retry (attempt 1 of 3)" end)
      attempt:catch(function(e) reject(e) end)
      local caller = async(function() return await(result) end)
      local p = caller()                                    local l = line()
      Promise.drain()
      local tb = D.traceback(attempt):gsub("%./spec/", "spec/")
      assert.are.equal(table.concat({
        "--- awaited in: Promise.retry (attempt 1 of 3)",
        ("--- awaited in: %s:%d: in function 'caller'"):format(THIS, l - 1),
      }, "\n"), tb:match("\n(%-%-%- .*)$"))
      assert.are.equal("rejected", (p:state()))
    end)

    it("checks its arguments", function()
      local p = Promise.resolve()
      assert.has_error(function() D.awaitedIn({}, p, "x") end,
        "bad argument #1 to 'awaitedIn' (promise expected, got table)")
      assert.has_error(function() D.awaitedIn(p, nil, "x") end,
        "bad argument #2 to 'awaitedIn' (promise expected, got nil)")
      assert.has_error(function() D.awaitedIn(p, p, 5) end,
        "bad argument #3 to 'awaitedIn' (string or function expected, got number)")
    end)
  end)

  describe("warnings", function()
    it("go once to onWarning, with their name, message and site", function()
      local got = {}
      Promise.onWarning(function(w) got[#got + 1] = tostring(w) end)
      assert.is_true(D.warn("TestWarning", "something leaks", "a.lua:3"))
      assert.is_false(D.warn("TestWarning", "something leaks", "a.lua:3"))
      assert.is_true(D.warn("TestWarning", "something leaks", "b.lua:4"))
      assert.same({ "TestWarning: something leaks (at a.lua:3)",
                    "TestWarning: something leaks (at b.lua:4)" }, got)
    end)

    it("never raise, even when the handler does", function()
      Promise.onWarning(function() error("handler broke") end)
      local out = H.run_lua([[
        local Promise = require("promise")
        Promise.onWarning(function() error("handler broke") end)
        print(Promise.debug.warn("W", "m", "x.lua:1"))
      ]])
      assert.matches("promise: error in the warning handler: [^\n]*handler broke\ntrue\n$", out)
      local written = {}
      local stderr = io.stderr
      rawset(io, "stderr", { write = function(_, ...) written[#written + 1] = table.concat({ ... }) end,
                             flush = function() end })
      local ok, err = pcall(D.warn, "W", "m")
      rawset(io, "stderr", stderr)
      assert.is_true(ok, err)
      assert.matches("^promise: error in the warning handler: .*handler broke\n$", written[1])
    end)

    it("are written to stderr by default", function()
      local out = H.run_lua([[
        local Promise = require("promise")
        Promise.debug.warn("TestWarning", "once", "x.lua:1")
        Promise.debug.warn("TestWarning", "once", "x.lua:1")
      ]], "2>&1 >/dev/null")
      assert.are.equal("(promise) TestWarning: once (at x.lua:1)\n", out)
    end)

    it("say when a rejection is handled only after it was reported, once per site", function()
      local got = {}
      Promise.onWarning(function(w) got[#got + 1] = w end)
      local ps = {}
      for i = 1, 2 do
        ps[i] = Promise.resolve():next(function() error("late", 0) end)   -- same site
      end
      local l = line(2)
      Promise.drain()
      assert.are.equal(2, #unhandled)
      for i = 1, 2 do ps[i]:catch(noop) end
      Promise.drain()
      assert.are.equal(1, #got)
      assert.are.equal("PromiseRejectionHandledWarning", got[1].name)
      assert.are.equal(THIS .. ":" .. l, got[1].site:gsub("^%./", ""))
    end)

    it("leave onRejectionHandled to the program when it sets one", function()
      local got, handled = {}, {}
      Promise.onWarning(function(w) got[#got + 1] = w end)
      Promise.onRejectionHandled(function(p) handled[#handled + 1] = p end)
      local p = Promise.reject("r")
      Promise.drain()
      p:catch(noop)
      Promise.drain()
      Promise.onRejectionHandled(nil)
      assert.same({ p }, handled)
      assert.same({}, got)
      assert.has_error(function() Promise.onRejectionHandled(5) end,
        "bad argument #1 to 'onRejectionHandled' (function or nil expected, got number)")
    end)

    it("check their arguments", function()
      assert.has_error(function() D.warn(nil, "m") end,
        "bad argument #1 to 'warn' (string expected, got nil)")
      assert.has_error(function() Promise.onWarning(5) end,
        "bad argument #1 to 'onWarning' (function or nil expected, got number)")
    end)
  end)
end)
