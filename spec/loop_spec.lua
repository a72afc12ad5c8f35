-- docs/manual/loop.md: the luv event loop (run, timers, immediates, sleep, now,
-- p:wait, await outside async functions).
local Promise = require("promise")
local uv = require("luv")
local H = require("spec.support.helpers")

local async, await = Promise.async, Promise.await

-- Handles that are active (whatever their ref state).
local active_handles = H.active_handles

-- Busy-waits `ms` milliseconds of real time (so that timers are all due
-- when the loop next looks at them, whatever the machine's load).
local function spin(ms)
  local stop = uv.hrtime() + ms * 1e6
  while uv.hrtime() < stop do end
end

local node_available = H.node_available

-- Runs `js` with node, returns its stdout without the trailing newline.
local function run_node(js)
  local out = H.run_script("node", js)
  return (out:gsub("\n$", ""))
end

-- Runs a Lua script in a fresh lua5.4 process with the project's paths.
local run_lua = H.run_lua

local uncaught
before_each(function()
  uncaught = {}
  Promise.onUncaughtError(function(err, tb)
    uncaught[#uncaught + 1] = { err = err, tb = tb }
  end)
end)

after_each(function()
  Promise.onUncaughtError(nil)
  Promise.onUnhandledRejection(nil)
  assert.are.same({}, active_handles(), "a luv handle was left active")
end)

describe("timers and microtasks ordering", function()
  -- The same program in JavaScript; node prints ORDER_EXPECTED. The spins
  -- make the timing deterministic: every top-level timer is due on the
  -- first pass, and t4 is due before i1.i's iteration reaches its checks.
  local ORDER_JS = [[
const log = [];
const L = (s) => log.push(s);
const spin = (ms) => { const e = performance.now() + ms; while (performance.now() < e); };
L('start');
setTimeout(() => {
  L('t1');
  Promise.resolve().then(() => L('t1.p1')).then(() => L('t1.p2'));
  queueMicrotask(() => L('t1.m'));
  setTimeout(() => L('t4'), 0);
  setImmediate(() => {
    L('i1');
    Promise.resolve().then(() => L('i1.p'));
    setImmediate(() => L('i1.i'));
    spin(3);
  });
  setImmediate(() => L('i2'));
}, 1);
setTimeout(() => {
  L('t2');
  (async () => { L('a0'); await null; L('a1'); })();
  L('t2.end');
}, 0);
setTimeout((a, b) => L('t3:' + a + b), 2, 'x', 'y');
Promise.resolve().then(() => L('p0'));
L('end');
spin(5);
process.on('exit', () => console.log(log.join(' ')));
]]
  local ORDER_EXPECTED =
    "start end p0 t1 t1.p1 t1.m t1.p2 t2 a0 t2.end a1 t3:xy i1 i1.p i2 t4 i1.i"

  local function program(log)
    local function L(s) log[#log + 1] = s end
    L("start")
    Promise.setTimeout(function()
      L("t1")
      Promise.resolve():next(function() L("t1.p1") end):next(function() L("t1.p2") end)
      Promise.queueMicrotask(function() L("t1.m") end)
      Promise.setTimeout(function() L("t4") end, 0)
      Promise.setImmediate(function()
        L("i1")
        Promise.resolve():next(function() L("i1.p") end)
        Promise.setImmediate(function() L("i1.i") end)
        spin(3)
      end)
      Promise.setImmediate(function() L("i2") end)
    end, 1)
    Promise.setTimeout(function()
      L("t2")
      async(function() L("a0"); await(nil); L("a1") end)()
      L("t2.end")
    end, 0)
    Promise.setTimeout(function(a, b) L("t3:" .. a .. b) end, 2, "x", "y")
    Promise.resolve():next(function() L("p0") end)
    L("end")
    spin(5)
  end

  it("matches node under Promise.run", function()
    local log = {}
    local ok, err = Promise.run(program, log)
    assert.is_true(ok, err)
    assert.equal(ORDER_EXPECTED, table.concat(log, " "))
  end)

  it("matches node when top-level code is followed by a bare uv.run()", function()
    local log = {}
    program(log)
    uv.run("default")
    assert.equal(ORDER_EXPECTED, table.concat(log, " "))
  end)

  it("is what node prints for the same program #slow", function()
    if not node_available() then
      pending("node is not installed")
      return
    end
    assert.equal(ORDER_EXPECTED, run_node(ORDER_JS))
  end)

  it("fires equal deadlines in creation order, draining microtasks after each", function()
    local log = {}
    for i = 1, 5 do
      Promise.setTimeout(function()
        log[#log + 1] = "t" .. i
        Promise.resolve():next(function() log[#log + 1] = "p" .. i end)
      end, 3)
    end
    uv.run()
    assert.equal("t1 p1 t2 p2 t3 p3 t4 p4 t5 p5", table.concat(log, " "))
  end)

  it("counts ms < 1, NaN, non-numbers and too large delays as 1 ms", function()
    local log = {}
    local function add(s) return function() log[#log + 1] = s end end
    -- due after every 1 ms timer below (created first: a delay between two
    -- calls moves the later deadlines by that much, and a whole second is
    -- far more than a loaded machine stalls); cleared by the last of them,
    -- so a timer that took its delay literally ("100", 2^31) runs last
    local sentinel = Promise.setTimeout(add("sentinel"), 1000)
    Promise.setTimeout(add("one"), 1)
    Promise.setTimeout(add("zero"), 0)
    Promise.setTimeout(add("neg"), -5)
    Promise.setTimeout(add("nan"), 0 / 0)
    Promise.setTimeout(add("nil"))
    Promise.setTimeout(add("str"), "100")
    Promise.setTimeout(add("big"), 2 ^ 31)
    Promise.setTimeout(function() add("half")(); Promise.clearTimeout(sentinel) end, 0.5)
    spin(3)  -- all of them due: they run in one pass, in creation order
    uv.run()
    assert.equal("one zero neg nan nil str big half", table.concat(log, " "))
  end)

  it("orders by deadline across different delays", function()
    local log = {}
    Promise.setTimeout(function() log[#log + 1] = 30 end, 30)
    Promise.setTimeout(function() log[#log + 1] = 10 end, 10)
    Promise.setTimeout(function() log[#log + 1] = 20 end, 20)
    uv.run()
    assert.same({ 10, 20, 30 }, log)
  end)
end)

describe("setTimeout / clearTimeout", function()
  it("passes extra arguments, nils included", function()
    local got
    Promise.setTimeout(function(...) got = table.pack(...) end, 1, "a", nil, 3, nil)
    uv.run()
    assert.same({ n = 4, "a", nil, 3, nil }, got)
  end)

  it("waits at least ms, measured with Promise.now()", function()
    local t0, t1 = Promise.now(), nil
    Promise.setTimeout(function() t1 = Promise.now() end, 20)
    uv.run()
    assert.is_true(t1 - t0 >= 20, ("fired after %s ms"):format(t1 - t0))
  end)

  it("accepts callable tables and rejects non-callables", function()
    local called = false
    Promise.setTimeout(setmetatable({}, { __call = function() called = true end }), 1)
    uv.run()
    assert.is_true(called)
    assert.has_error(function() Promise.setTimeout(nil, 1) end,
      "bad argument #1 to 'setTimeout' (function expected, got nil)")
    assert.has_error(function() Promise.setInterval(42, 1) end,
      "bad argument #1 to 'setInterval' (function expected, got number)")
    assert.has_error(function() Promise.setImmediate({}) end,
      "bad argument #1 to 'setImmediate' (function expected, got table)")
  end)

  it("does not fire a cleared timer, even from an earlier callback of the same pass", function()
    local log = {}
    local b
    Promise.setTimeout(function() log[#log + 1] = "a"; Promise.clearTimeout(b) end, 1)
    b = Promise.setTimeout(function() log[#log + 1] = "b" end, 1)
    local c = Promise.setTimeout(function() log[#log + 1] = "c" end, 1)
    c:close()
    spin(3)
    uv.run()
    assert.same({ "a" }, log)
  end)

  it("ignores clearTimeout(nil), clearTimeout of a fired timer and other values", function()
    local n = 0
    local t = Promise.setTimeout(function() n = n + 1 end, 1)
    uv.run()
    assert.equal(1, n)
    assert.has_no_error(function()
      Promise.clearTimeout(nil)
      Promise.clearTimeout(t)
      Promise.clearTimeout(t)
      Promise.clearTimeout(42)
      Promise.clearTimeout({})
      Promise.clearInterval(nil)
      Promise.clearImmediate(nil)
      Promise.clearImmediate(t)
    end)
  end)

  it("reports an error raised by a callback and keeps going", function()
    local log = {}
    local errobj = { "boom" }
    Promise.setTimeout(function() error(errobj) end, 1)
    Promise.setTimeout(function() error("plain") end, 1)
    Promise.setTimeout(function() log[#log + 1] = "after" end, 1)
    Promise.setImmediate(function() error("from immediate") end)
    uv.run()
    assert.same({ "after" }, log)
    assert.equal(3, #uncaught)
    local set = {}
    for _, u in ipairs(uncaught) do set[u.err] = true end
    assert.is_true(set[errobj], "the error value is passed unchanged")
    for _, u in ipairs(uncaught) do
      assert.is_string(u.tb)
      assert.matches("stack traceback", u.tb)
    end
  end)

  it("writes an uncaught timer error to stderr by default", function()
    local out = run_lua([[
      local Promise = require("promise")
      Promise.setTimeout(function() error("kaboom") end, 1)
      Promise.setTimeout(function() io.stdout:write("still running\n") end, 1)
      require("luv").run()
    ]])
    assert.matches("Uncaught error: [^\n]*kaboom", out)
    assert.matches("still running", out)
  end)

  it("ref / unref / hasRef / close", function()
    local fired = false
    local t = Promise.setTimeout(function() fired = true end, 1000)
    assert.is_true(t:hasRef())
    assert.equal(1, H.live_handles())
    assert.equal(t, t:unref())
    assert.is_false(t:hasRef())
    -- only an unref'd timer: nothing keeps the loop alive, so uv.run()
    -- returns without waiting for it (had it waited, the timer had fired)
    assert.equal(0, H.live_handles())
    uv.run()
    assert.is_false(fired)
    assert.equal(t, t:ref())
    assert.is_true(t:hasRef())
    assert.equal(t, t:close())
    uv.run()
  end)

  it("an unref'd timer still fires while something else keeps the loop alive", function()
    local fired = false
    Promise.setTimeout(function() fired = true end, 5):unref()
    Promise.setTimeout(function() end, 30)
    uv.run()
    assert.is_true(fired)
  end)

  it("refresh() restarts a pending timer and re-arms a fired one", function()
    local n = 0
    local t = Promise.setTimeout(function() n = n + 1 end, 5)
    uv.run()
    assert.equal(1, n)
    t:refresh()
    uv.run()
    assert.equal(2, n)
    Promise.clearTimeout(t)
    t:refresh()   -- cleared: stays cleared
    uv.run()
    assert.equal(2, n)
  end)

  it("has a name in tostring", function()
    local t = Promise.setTimeout(function() end, 1)
    assert.matches("^Timeout", tostring(t))
    Promise.clearTimeout(t)
  end)
end)

describe("setInterval / clearInterval", function()
  it("repeats until cleared, with its arguments", function()
    local got = {}
    local iv
    iv = Promise.setInterval(function(a, b)
      got[#got + 1] = a .. b
      if #got == 3 then Promise.clearInterval(iv) end
    end, 1, "x", "y")
    uv.run()
    assert.same({ "xy", "xy", "xy" }, got)
  end)

  it("can be cleared with clearTimeout, and stops the loop from staying alive", function()
    local n = 0
    local iv = Promise.setInterval(function() n = n + 1 end, 2)
    Promise.setTimeout(function() Promise.clearTimeout(iv) end, 15)
    uv.run()
    assert.is_true(n >= 1)
  end)

  it("an unref'd interval does not keep the loop alive", function()
    local n = 0
    local iv = Promise.setInterval(function() n = n + 1 end, 1):unref()
    assert.equal(0, H.live_handles())
    uv.run()  -- returns: a loop kept alive by the interval would never end
    assert.equal(0, n)  -- uv.run() of a loop that is not alive runs nothing
    Promise.clearInterval(iv)
  end)
end)

describe("setImmediate / clearImmediate", function()
  it("runs in FIFO order with arguments, microtasks drained after each", function()
    local log = {}
    Promise.setImmediate(function(a)
      log[#log + 1] = a
      Promise.resolve():next(function() log[#log + 1] = a .. ".p" end)
    end, "i1")
    Promise.setImmediate(function(a) log[#log + 1] = a end, "i2")
    uv.run()
    assert.equal("i1 i1.p i2", table.concat(log, " "))
  end)

  it("runs immediates queued by an immediate on the next iteration", function()
    local log = {}
    Promise.setImmediate(function()
      log[#log + 1] = "a"
      Promise.setImmediate(function() log[#log + 1] = "c" end)
    end)
    Promise.setImmediate(function() log[#log + 1] = "b" end)
    uv.run()
    assert.equal("a b c", table.concat(log, " "))
  end)

  it("runs before a 0 ms timer set in the same timer callback, even an overdue one", function()
    -- node prints "immediate timeout" for:
    --   setTimeout(() => { setTimeout(() => log('timeout'), 0);
    --     setImmediate(() => log('immediate')); spin(3); }, 1);
    local log = {}
    Promise.setTimeout(function()
      Promise.setTimeout(function() log[#log + 1] = "timeout" end, 0)
      Promise.setImmediate(function() log[#log + 1] = "immediate" end)
      spin(3)  -- the inner timer is due before the pass ends
    end, 1)
    uv.run()
    assert.equal("immediate timeout", table.concat(log, " "))
  end)

  it("clearImmediate cancels, also from an earlier immediate", function()
    local log = {}
    local b
    Promise.setImmediate(function() log[#log + 1] = "a"; Promise.clearImmediate(b) end)
    b = Promise.setImmediate(function() log[#log + 1] = "b" end)
    local c = Promise.setImmediate(function() log[#log + 1] = "c" end)
    Promise.clearImmediate(c)
    uv.run()
    assert.same({ "a" }, log)
  end)

  it("an unref'd immediate does not keep the loop alive", function()
    local ran = false
    local im = Promise.setImmediate(function() ran = true end)
    assert.is_true(im:hasRef())
    im:unref()
    assert.is_false(im:hasRef())
    uv.run()
    assert.is_false(ran)
    im:ref()
    uv.run()
    assert.is_true(ran)
  end)
end)

describe("microtasks queued by raw luv callbacks", function()
  it("run without help from a raw uv timer", function()
    local log = {}
    local p, resolve = Promise.withResolvers()
    p:next(function(v) log[#log + 1] = "handler " .. v end)
    local t = uv.new_timer()
    t:start(1, 0, function()
      log[#log + 1] = "raw"
      resolve("x")
      t:close()
    end)
    uv.run()
    assert.equal("raw handler x", table.concat(log, " "))
  end)

  it("run before the next raw callback due later", function()
    local log = {}
    local t1, t2 = uv.new_timer(), uv.new_timer()
    -- t2 is started by t1's callback, so it is due in a later loop
    -- iteration however late the loop runs (two timers started together 1
    -- and 20 ms apart both ran in one timers phase on a slow machine, where
    -- no drain can come between two raw callbacks)
    t1:start(1, 0, function()
      Promise.resolve("a"):next(function(v) log[#log + 1] = v end)
      t1:close()
      t2:start(1, 0, function()
        log[#log + 1] = "b"
        t2:close()
      end)
    end)
    uv.run()
    assert.equal("a b", table.concat(log, " "))
  end)

  it("run from a uv.fs_stat callback, chains and async functions included", function()
    local log = {}
    local p, resolve = Promise.withResolvers()
    async(function()
      local st = await(p)
      log[#log + 1] = st.type
      await(Promise.sleep(1))
      log[#log + 1] = "slept"
    end)()
    uv.fs_stat(".", function(err, st)
      assert(not err, err)
      resolve(st)
    end)
    uv.run()
    assert.equal("directory slept", table.concat(log, " "))
  end)

  it("run in a script that only calls uv.run()", function()
    local out, ok = run_lua([[
      local Promise = require("promise")
      local uv = require("luv")
      local p, resolve = Promise.withResolvers()
      p:next(function(v) io.stdout:write("then ", v, "\n") return v .. "!" end)
       :next(function(v) io.stdout:write("then ", v, "\n") end)
      uv.fs_stat(".", function(_, st)
        Promise.resolve(st.type):next(function(v) io.stdout:write("stat ", v, "\n") end)
        local t = uv.new_timer()
        t:start(5, 0, function() t:close(); resolve("timer") end)
      end)
      uv.run()
      local active = 0
      uv.walk(function(h) if uv.is_active(h) then active = active + 1 end end)
      io.stdout:write("active ", active, "\n")
    ]])
    assert.is_true(ok, out)
    assert.equal("stat directory\nthen timer\nthen timer!\nactive 0\n", out)
  end)
end)

describe("the loop exits when idle", function()
  it("uv.run() returns at once when nothing is pending", function()
    local ran = false
    Promise.resolve(1):next(function() ran = true end)
    uv.run()  -- one turn drains the reaction; then nothing keeps the loop alive
    assert.is_true(ran)
    assert.equal(0, H.live_handles())
    assert.is_false(uv.loop_alive())
  end)

  it("leaves no handle active after timers, immediates, sleeps and Promise.run", function()
    local ok = Promise.run(function()
      Promise.setImmediate(function() end)
      local iv
      iv = Promise.setInterval(function() Promise.clearInterval(iv) end, 1)
      Promise.setTimeout(function() end, 2):unref()
      await(Promise.sleep(3))
      return true
    end)
    assert.is_true(ok)
    -- checked by after_each as well
    assert.are.same({}, active_handles())
  end)
end)

describe("Promise.run", function()
  it("returns true and the value of the main function, with its arguments", function()
    local ok, v = Promise.run(function(a, b)
      return await(Promise.sleep(2, { value = a + b }))
    end, 40, 2)
    assert.is_true(ok)
    assert.equal(42, v)
  end)

  it("returns false and the reason, unchanged, without reporting it", function()
    local reported = {}
    Promise.onUnhandledRejection(function(r) reported[#reported + 1] = r end)
    local reason = { code = 7 }
    local ok, r = Promise.run(function()
      await(Promise.sleep(1))
      error(reason)
    end)
    assert.is_false(ok)
    assert.equal(reason, r)
    local ok2, r2 = Promise.run(function() error("sync", 0) end)
    assert.is_false(ok2)
    assert.equal("sync", r2)
    assert.same({}, reported)
  end)

  it("returns false and a Promise.Error when the main function never settles", function()
    local ok, err = Promise.run(function()
      await(Promise.new(function() end))
    end)
    assert.is_false(ok)
    assert.is_true(Promise.Error.is(err))
    assert.matches("main function never settled", err.message)
  end)

  it("keeps running the loop after the main function settles", function()
    local late = false
    local ok, v = Promise.run(function()
      Promise.setTimeout(function() late = true end, 10)
      return "early"
    end)
    assert.is_true(ok)
    assert.equal("early", v)
    assert.is_true(late)
  end)

  it("returns when uv.stop() is called, even with work left", function()
    local t
    local ok, err = Promise.run(function()
      t = Promise.setTimeout(function() end, 10000)
      Promise.setTimeout(function() uv.stop() end, 1)
      await(Promise.new(function() end))
    end)
    assert.is_false(ok)
    assert.is_true(Promise.Error.is(err))
    assert.matches("stopped", err.message)
    Promise.clearTimeout(t)
  end)

  it("can be used many times in one process", function()
    for i = 1, 50 do
      local ok, v = Promise.run(function() return await(Promise.sleep(0, { value = i })) end)
      assert.is_true(ok)
      assert.equal(i, v)
    end
  end)

  it("raises a clear error when called while the loop runs", function()
    local ok, err
    local outer = Promise.run(function()
      await(Promise.sleep(1))
      ok, err = pcall(Promise.run, function() end)
    end)
    assert.is_true(outer)
    assert.is_false(ok)
    assert.matches("already running", err)
    assert.has_error(function() Promise.run(nil) end,
      "bad argument #1 to 'run' (function expected, got nil)")
  end)
end)

describe("p:wait", function()
  it("runs the loop until the promise fulfils and returns its value", function()
    assert.equal("v", Promise.sleep(5, { value = "v" }):wait())
    assert.equal(3, Promise.resolve(3):wait())
    assert.is_nil(Promise.resolve(nil):wait())
  end)

  it("raises the reason unchanged and does not report it as unhandled", function()
    local reported = {}
    Promise.onUnhandledRejection(function(r) reported[#reported + 1] = r end)
    local reason = { "r" }
    local p = Promise.sleep(1):next(function() error(reason) end)
    local ok, err = pcall(p.wait, p)
    assert.is_false(ok)
    assert.equal(reason, err)
    local q = Promise.reject("already")
    ok, err = pcall(q.wait, q)
    assert.is_false(ok)
    assert.equal("already", err)
    Promise.drain()
    assert.same({}, reported)
  end)

  it("raises a TimeoutError after timeout_ms and clears its timer", function()
    local c = Promise.AbortController()
    local p = Promise.sleep(5000, { signal = c.signal })
    local t0 = Promise.now()
    local ok, err = pcall(p.wait, p, 10)
    -- on the loop's clock, which timers use: a timer never fires early (no
    -- upper bound: the 5000 ms sleep is still pending, so the wait's own
    -- timer is what ended it, however slow the machine)
    local took = Promise.now() - t0
    assert.is_false(ok)
    assert.is_true(Promise.TimeoutError.is(err))
    assert.equal("wait timed out after 10 ms", err.message)
    assert.is_true(took >= 10, ("took %s ms"):format(took))
    assert.equal("pending", (p:state()))
    -- the sleep's timer is the only one left: once it is stopped, nothing
    -- keeps the loop alive (wait's own timer is gone)
    assert.equal(1, H.live_handles())
    c:abort("done")
    Promise.drain()
    assert.equal(0, H.live_handles())
    uv.run()
  end)

  it("clears its timeout timer when the promise settles first", function()
    assert.equal(1, Promise.sleep(1, { value = 1 }):wait(5000))
    assert.equal(0, H.live_handles())  -- nothing of wait's keeps the loop alive
    uv.run()
  end)

  it("raises a Promise.Error when the promise can never settle", function()
    local p = Promise.new(function() end)
    local ok, err = pcall(p.wait, p)
    assert.is_false(ok)
    assert.is_true(Promise.Error.is(err))
    assert.matches("can never settle", err.message)
  end)

  it("raises a clear error when called inside the running loop", function()
    local ok, err, ok2, err2
    local t = uv.new_timer()
    t:start(1, 0, function()
      t:close()
      local p = Promise.sleep(1)
      ok, err = pcall(p.wait, p)
      ok2, err2 = pcall(Promise.resolve(1).wait, Promise.resolve(1))
    end)
    uv.run()
    assert.is_false(ok)
    assert.matches("wait: the luv loop is already running", err)
    assert.is_false(ok2, "even for a settled promise")
    assert.matches("already running", err2)
  end)

  it("validates its arguments", function()
    local p = Promise.resolve(1)
    assert.has_error(function() p:wait("x") end,
      "bad argument #1 to 'wait' (number expected, got string)")
    assert.has_error(function() p.wait({}) end,
      "calling 'wait' on bad self (Promise expected, got table)")
  end)
end)

describe("await outside an async function", function()
  it("waits like :wait() when the loop is not running", function()
    assert.equal(5, await(Promise.sleep(1, { value = 5 })))
    assert.equal("plain", await("plain"))
    local ok, err = pcall(await, Promise.reject("no"))
    assert.is_false(ok)
    assert.equal("no", err)
  end)

  it("raises inside the running loop", function()
    local ok, err
    local t = uv.new_timer()
    t:start(1, 0, function()
      t:close()
      ok, err = pcall(await, 1)
    end)
    uv.run()
    assert.is_false(ok)
    assert.matches("await called outside an async function", err)
  end)
end)

describe("Promise.sleep", function()
  it("fulfils with opts.value after ms", function()
    local t0 = Promise.now()
    local v = Promise.sleep(15, { value = "done" }):wait()
    assert.equal("done", v)
    assert.is_true(Promise.now() - t0 >= 15)
  end)

  it("rejects with the signal's reason and stops its timer", function()
    local c = Promise.AbortController()
    local p = Promise.sleep(10000, { signal = c.signal })
    Promise.setTimeout(function() c:abort("stop") end, 1)
    local ok, err = pcall(p.wait, p)
    assert.is_false(ok)
    assert.equal("stop", err)  -- the 10000 ms timer would have fulfilled it
    assert.equal(0, H.live_handles())  -- and it is stopped
  end)

  it("rejects at once with an already aborted signal", function()
    local p = Promise.sleep(10000, { signal = Promise.AbortSignal.abort("early") })
    assert.same({ "rejected", "early" }, { p:state() })
    p:catch(function() end)
    Promise.drain()
  end)

  it("unsubscribes from the signal when it fires", function()
    local subscribed, unsubscribed = 0, 0
    local signal = {
      aborted = false,
      onAbort = function()
        subscribed = subscribed + 1
        return function() unsubscribed = unsubscribed + 1 end
      end,
    }
    assert.equal("ok", Promise.sleep(1, { value = "ok", signal = signal }):wait())
    assert.equal(1, subscribed)
    assert.equal(1, unsubscribed)
  end)

  it("opts.ref = false does not keep the loop alive", function()
    local c = Promise.AbortController()
    local p = Promise.sleep(1000, { ref = false, signal = c.signal })
    assert.equal(0, H.live_handles())
    uv.run()
    assert.equal("pending", (p:state()))  -- uv.run() did not wait for it
    local ok, err = pcall(p.wait, p)
    assert.is_false(ok)
    assert.matches("can never settle", tostring(err))
    c:abort("cleanup")  -- stops the timer: no handle stays active
    assert.same({ "rejected", "cleanup" }, { p:state() })
    Promise.drain()  -- the reactions the rejection queued
  end)

  it("checks its arguments", function()
    assert.has_error(function() Promise.sleep("1") end,
      "bad argument #1 to 'sleep' (number expected, got string)")
    local ok, err = pcall(function() return Promise.sleep(1, 5):wait() end)
    assert.is_false(ok)
    assert.is_true(Promise.TypeError.is(err))
    ok, err = pcall(function() return Promise.sleep(1, { signal = 5 }):wait() end)
    assert.is_false(ok)
    assert.is_true(Promise.TypeError.is(err))
  end)
end)

describe("Promise.now", function()
  it("is a monotonic millisecond clock consistent with timers", function()
    local a = Promise.now()
    assert.is_number(a)
    spin(3)
    local b = Promise.now()
    assert.is_true(b >= a + 2, ("now went from %s to %s"):format(a, b))
    local fired_at
    Promise.setTimeout(function() fired_at = Promise.now() end, 10)
    uv.run()
    assert.is_true(fired_at >= b + 10)
  end)
end)

describe("timer and immediate methods", function()
  it("refuse a self that is not theirs, scheduling nothing", function()
    local t = Promise.setTimeout(function() end, 100000)
    local im = Promise.setImmediate(function() end)
    local fake = { 1, 2, 3 }
    for _, case in ipairs({
      { t, "refresh", "Timeout" }, { t, "ref", "Timeout" }, { t, "unref", "Timeout" },
      { t, "hasRef", "Timeout" }, { t, "close", "Timeout" },
      { im, "ref", "Immediate" }, { im, "unref", "Immediate" }, { im, "hasRef", "Immediate" },
    }) do
      local obj, name, class = case[1], case[2], case[3]
      for _, bad in ipairs({ fake, {}, 5, "x" }) do
        local ok, err = pcall(obj[name], bad)
        assert.is_false(ok, name)
        assert.equal(("calling '%s' on bad self (%s expected, got %s)"):format(name, class, type(bad)), err)
      end
    end
    -- nothing was scheduled: only the two real ones are pending
    assert.same({ 1, 2, 3 }, fake)
    t:close()
    Promise.clearImmediate(im)
    assert.same({}, H.active_handles_after_turn())
  end)
end)
