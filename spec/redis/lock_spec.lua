-- redis.lock: single-server locks against a real redis-server (tag #redis),
-- across processes (mutual exclusion, SIGKILL, SIGSTOP), Redlock over 3
-- and 5 servers, and the library's own time (retry delays, extension
-- timers) on the fake clock with a fake client.
local Promise = require("promise")
local redis = require("promise.redis")
local lockmod = require("promise.redis.lock")
local H = require("spec.support.helpers")
local R = require("spec.support.redis")
local uv = require("luv")

local await = Promise.await

-- the prelude of every child: module paths come from the environment
local PRELUDE = [[
local Promise = require("promise")
local redis = require("promise.redis")
local uv = require("luv")
local await = Promise.await
local function main(fn)
  local ok, err = Promise.run(fn)
  if not ok then io.stderr:write(tostring(err), "\n") os.exit(1) end
end
local function report(fifo, line)
  local f = assert(io.open(fifo, "a"))
  f:write(line, "\n")
  f:close()
end
]]

describe("redis.lock #redis", function()
  local suite = R.suite()
  local with = suite.with

  -- starts `child` (arguments: the port, the FIFO), which writes
  -- "<pid> <fence>" to the FIFO once it holds the lock; returns its run (a
  -- promise of its result), its pid and that fence
  local function holder(child, fifo)
    local run = R.child(child, { suite.srv.port, fifo.path })
    local pid, fence = (await(fifo:line())):match("^(%d+) (%d+)$")
    return run, tonumber(pid), tonumber(fence)
  end

  describe("acquire", function()
    it("takes a free lock: a plain key holding a 128-bit token, with a growing fence", function()
      with(function(c)
        local locks = redis.lock(c, { ttl = 5000, prefix = "app:" })
        local t0 = Promise.now()
        local a = await(locks:acquire("job"))
        assert.equal("app:job", a.key)
        assert.matches("^%x+$", a.token)
        assert.equal(32, #a.token)
        assert.equal(a.token, await(c:get("app:job")))
        local t1 = Promise.now()
        local pttl = await(c:pttl("app:job"))
        assert.is_true(pttl > 4000 and pttl <= 5000)
        -- the try started between t0 and t1; valid for ttl - (0.01 * ttl + 2)
        assert.is_true(a.validUntil >= t0 + 4948 and a.validUntil <= t1 + 4948)
        assert.is_false(a.signal.aborted)
        local err = H.rejection(locks:acquire("job"))
        assert.is_true(Promise.LockError.is(err))
        assert.equal("LOCKED", err.code)
        assert.is_true(await(a:release()))
        local b = await(locks:acquire("job"))
        assert.equal(a.fence + 1, b.fence)
        assert.are_not.equal(a.token, b.token)
        assert.is_true(await(b:release()))
        assert.equal(0, await(c:exists("app:job")))
      end)
    end)

    it("waits with jittered retries until the holder releases, or rejects when the wait runs out", function()
      with(function(c)
        local locks = redis.lock(c, { ttl = 5000, retryDelay = 10, retryJitter = 10 })
        local a = await(locks:acquire("k"))
        local err = H.rejection(locks:acquire("k", { wait = 50 }))
        assert.equal("LOCKED", err.code)
        local waiting = locks:acquire("k", { wait = math.huge })
        await(Promise.sleep(30))
        assert.equal("pending", waiting:state())
        assert.is_true(await(a:release()))
        local b = await(waiting)
        assert.is_true(b.fence > a.fence)
        await(b:release())
      end)
    end)

    it("stops waiting when the signal aborts, and leaves no key behind", function()
      with(function(c)
        local locks = redis.lock(c, { ttl = 5000, retryDelay = 10, retryJitter = 0 })
        local a = await(locks:acquire("k"))
        local ctl = Promise.AbortController()
        local p = locks:acquire("k", { wait = math.huge, signal = ctl.signal })
        Promise.setTimeout(function() ctl:abort("enough") end, 30)
        assert.equal("enough", H.rejection(p))
        assert.equal("enough", H.rejection(locks:acquire("other", { signal = ctl.signal })))
        assert.equal(0, await(c:exists("other")))
        await(a:release())
      end)
    end)

    it("refuses bad arguments with Lua errors naming the caller", function()
      with(function(c)
        assert.has_error(function() redis.lock(nil) end,
          "bad argument #1 to 'lock' (RedisClient or list of RedisClient expected, got nil)")
        assert.has_error(function() redis.lock({ c, 3 }) end,
          "bad argument #1 to 'lock' (element 2: RedisClient expected, got number)")
        assert.has_error(function() redis.lock(c, { ttl = -1 }) end,
          "bad argument #2 to 'lock' (field 'ttl': number in (0, 2147483647] expected, got -1)")
        local locks = redis.lock(c)
        assert.has_error(function() locks:acquire({}) end, "bad argument #1 to 'acquire' (string expected, got table)")
        assert.has_error(function() locks:acquire("k", { wait = "x" }) end,
          "bad argument #2 to 'acquire' (field 'wait': number expected, got string)")
        assert.has_error(function() locks:using("k", 3) end,
          "bad argument #2 to 'using' (function expected, got number)")
        assert.has_error(function() locks.acquire(c, "k") end,
          "calling 'acquire' on bad self (RedisLocks expected, got RedisClient)")
      end)
    end)
  end)

  describe("extend and release", function()
    it("extend moves validUntil and the key's ttl; release is compare-and-delete", function()
      with(function(c)
        local locks = redis.lock(c, { ttl = 1000 })
        local a = await(locks:acquire("k"))
        local before = a.validUntil
        assert.equal(a, await(a:extend(60000)))
        assert.is_true(a.validUntil > before + 50000)
        assert.is_true(await(c:pttl("k")) > 50000)
        -- someone else's lock under the same key is never deleted
        await(c:set("k", "someone-else"))
        assert.is_false(await(a:release()))
        assert.equal("someone-else", await(c:get("k")))
        assert.is_false(await(a:release()))
        local err = H.rejection(a:extend())
        assert.is_true(Promise.LockLostError.is(err))
      end)
    end)

    it("a release racing an extension wins: the key is gone and nothing re-arms", function()
      with(function(c)
        local locks = redis.lock(c, { ttl = 5000 })
        local a = await(locks:acquire("k"))
        local ext = a:extend(60000)          -- in flight when the release is sent
        local rel = a:release()
        assert.is_true(await(rel))
        assert.is_true(Promise.LockLostError.is(H.rejection(ext)))
        assert.equal(0, await(c:exists("k")))
        assert.is_false(a.signal.aborted)    -- released, not lost
        assert.equal("RedisLock<released>: k", tostring(a))
        local b = await(locks:acquire("k"))
        local rel2 = b:release()             -- the other order: release first
        assert.is_true(Promise.LockLostError.is(H.rejection(b:extend())))
        assert.is_true(await(rel2))
        assert.equal(0, await(c:exists("k")))
      end)
    end)

    it("a lock found taken by another on extend is lost: signal aborted, release false", function()
      with(function(c)
        local locks = redis.lock(c, { ttl = 5000 })
        local a = await(locks:acquire("k"))
        await(c:set("k", "thief"))
        local err = H.rejection(a:extend())
        assert.is_true(Promise.LockLostError.is(err))
        assert.is_true(a.signal.aborted)
        assert.is_true(Promise.LockLostError.is(a.signal.reason))
        assert.is_false(await(a:release()))
        assert.equal("thief", await(c:get("k")))
      end)
    end)

    it("a lock past its validity is lost even if the key is still there, and is not extended", function()
      with(function(c)
        local locks = redis.lock(c, { ttl = 200, driftFactor = 0.5 })   -- validity 98 ms, key 200 ms
        local a = await(locks:acquire("k"))
        await(Promise.sleep(150))   -- the validity timer (98 ms) fires first
        assert.is_true(Promise.LockLostError.is(a.signal.reason))
        assert.is_true(Promise.LockLostError.is(H.rejection(a:extend(5000))))
        assert.is_true(await(c:pttl("k")) <= 200)
        assert.is_false(await(a:release()))
        assert.equal(0, await(c:exists("k")))   -- still deleted: it was ours
      end)
    end)
  end)

  describe("a server restarted in the middle", function()
    it("gives clear errors, believes no lost lock held, and hangs nowhere", function()
      H.run(function()
        local c = await(redis.connect{ port = suite.srv.port, reconnect = { minDelay = 10, maxDelay = 50 } })
        await(c:flushall())
        local locks = redis.lock(c, { ttl = 5000, serverTimeout = 300 })
        local a = await(locks:acquire("k"))
        local ok, err = pcall(function()
          suite.srv:stop()
          local down = H.rejection(locks:acquire("other"))
          assert.is_true(Promise.LockError.is(down))
          assert.equal("UNAVAILABLE", down.code)
          assert.is_true(#down.errors >= 1)
          suite.srv:launch()                      -- nothing persisted: the lock is gone
          local lost = H.rejection(a:extend())
          assert.is_true(Promise.LockLostError.is(lost))
          assert.is_true(a.signal.aborted)
          assert.is_false(await(a:release()))
          local b = await(locks:acquire("k"))
          assert.is_true(await(b:release()))
        end)
        if not suite.srv.pid then suite.srv:launch() end
        await(c:destroy())
        if not ok then error(err, 0) end
      end)
      assert.same({}, H.active_handles_after_turn())
    end)
  end)

  describe("using", function()
    it("releases on success, rejection, raise and abort", function()
      with(function(c)
        local locks = redis.lock(c, { ttl = 5000 })
        assert.equal(42, await(locks:using("k", function(signal, lock)
          assert.is_false(signal.aborted)
          assert.equal(lock.token, await(c:get("k")))
          return 42
        end)))
        assert.equal(0, await(c:exists("k")))
        assert.equal("no", H.rejection(locks:using("k", function() return Promise.reject("no") end)))
        assert.equal(0, await(c:exists("k")))
        assert.equal("raised", H.rejection(locks:using("k", function() error("raised", 0) end)))
        assert.equal(0, await(c:exists("k")))
        local ctl = Promise.AbortController()
        local seen
        local p = locks:using("k", function(signal)
          return Promise.new(function(_, reject)
            signal:onAbort(function(r) seen = r; reject(r) end)
          end)
        end, { signal = ctl.signal })
        await(Promise.sleep(10))
        assert.equal(1, await(c:exists("k")))
        ctl:abort("stop")
        assert.equal("stop", H.rejection(p))
        assert.equal("stop", seen)
        assert.equal(0, await(c:exists("k")))
      end)
    end)

    it("keeps the lock through work 5x its ttl, then stops extending (no timer left)", function()
      with(function(c)
        local locks = redis.lock(c, { ttl = 600 })
        local other = redis.lock(c, { ttl = 600 })
        local tries = 0
        local v = await(locks:using("k", function(signal)
          for _ = 1, 15 do
            await(Promise.sleep(200))
            assert.is_false(signal.aborted)
            local err = H.rejection(other:acquire("k"))
            assert.equal("LOCKED", err.code)
            tries = tries + 1
          end
          return "done"
        end))
        assert.equal("done", v)
        assert.equal(15, tries)
        assert.equal(0, await(c:exists("k")))
      end)
    end)

    it("rejects with LockLostError when the lock is taken away, after aborting fn's signal", function()
      with(function(c)
        local locks = redis.lock(c, { ttl = 300 })
        local reason
        local err = H.rejection(locks:using("k", function(signal)
          await(c:set("k", "thief"))
          return Promise.new(function(resolve) signal:onAbort(function(r) reason = r; resolve("ignored") end) end)
        end))
        assert.is_true(Promise.LockLostError.is(err))
        assert.equal(err, reason)
        assert.equal("thief", await(c:get("k")))
      end)
    end)
  end)

  describe("across processes", function()
    it("4 processes x 250 increments of a file under the lock end at exactly 1000, never overlapping", function()
      local dir = (H.popen("mktemp -d /tmp/lock-spec.XXXXXX")):match("[^\n]+")
      local counter = dir .. "/counter"
      local f = assert(io.open(counter, "w"))
      f:write("0")
      f:close()
      local child = PRELUDE .. [[
local port, counter, log, fifo, id = tonumber(arg[1]), arg[2], arg[3], arg[4], arg[5]
main(function()
  local c = await(redis.connect{ port = port })
  local locks = redis.lock(c, { ttl = 10000, wait = math.huge, retryDelay = 1, retryJitter = 3 })
  report(fifo, "ready")
  await(c:blpop("go", 0))
  local out = {}
  for _ = 1, 250 do
    await(locks:using("counter", function(_, lock)
      local t0 = uv.hrtime()
      local fh = assert(io.open(counter))
      local n = assert(tonumber(fh:read("a")))
      fh:close()
      fh = assert(io.open(counter, "w"))
      fh:write(tostring(n + 1))
      fh:close()
      out[#out + 1] = ("%d %d %d %s"):format(t0, uv.hrtime(), lock.fence, id)
    end))
  end
  local fh = assert(io.open(log, "w"))
  fh:write(table.concat(out, "\n"), "\n")
  fh:close()
  await(c:close())
end)
]]
      suite.with_fifo(function(c, fifo)
        local argvs = {}
        for i = 1, 4 do argvs[i] = { suite.srv.port, counter, dir .. "/log" .. i, fifo.path, i } end
        R.together(c, fifo, child, argvs)
      end)
      local fh = assert(io.open(counter))
      local total = fh:read("a")
      fh:close()
      local spans = {}
      for i = 1, 4 do
        for line in io.lines(dir .. "/log" .. i) do
          local a, b, fence, id = line:match("^(%d+) (%d+) (%d+) (%d)$")
          spans[#spans + 1] = { tonumber(a), tonumber(b), tonumber(fence), id }
        end
      end
      os.execute("rm -rf " .. dir)
      assert.equal("1000", total)
      assert.equal(1000, #spans)
      table.sort(spans, function(x, y) return x[1] < y[1] end)
      local switches = 0
      for i = 2, #spans do
        assert.is_true(spans[i][1] > spans[i - 1][2], "critical sections overlap")
        assert.is_true(spans[i][3] > spans[i - 1][3], "fences do not grow with the order of the sections")
        if spans[i][4] ~= spans[i - 1][4] then switches = switches + 1 end
      end
      assert.is_true(switches > 0)
    end)

    it("a holder killed with SIGKILL keeps the lock until its ttl passes, not before", function()
      local child = PRELUDE .. [[
local port, fifo = tonumber(arg[1]), arg[2]
main(function()
  local c = await(redis.connect{ port = port })
  local lock = await(redis.lock(c, { ttl = 1500 }):acquire("k"))
  report(fifo, ("%d %d"):format(uv.os_getpid(), lock.fence))
  await(Promise.sleep(60000))
end)
]]
      suite.with_fifo(function(c, fifo)
        local run, pid, fence = holder(child, fifo)
        uv.kill(pid, "sigkill")
        assert.equal("SIGKILL", await(run).signal)
        local t1 = uv.hrtime()
        local left = await(c:pttl("k"))
        assert.is_true(left > 0, "the killed holder's lock vanished at once")
        local locks = redis.lock(c, { ttl = 5000, retryDelay = 20, retryJitter = 20 })
        assert.equal("LOCKED", H.rejection(locks:acquire("k")).code)
        local lock = await(locks:acquire("k", { wait = 30000 }))
        assert.is_true(H.elapsed_ms(t1) >= left - 1, "acquired before the ttl passed")
        assert.is_true(lock.fence > fence)
        assert.is_true(await(lock:release()))
      end)
    end)

    it("a holder stopped past its ttl: signal aborted, extend/release refused, late fenced write refused", function()
      local child = PRELUDE .. [[
local port, fifo = tonumber(arg[1]), arg[2]
-- fenced storage: a write is kept only with a fence at least the last one
local WRITE = redis.script([=[
local last = tonumber(redis.call("HGET", KEYS[1], "fence") or "0")
if tonumber(ARGV[1]) < last then return 0 end
redis.call("HSET", KEYS[1], "fence", ARGV[1], "value", ARGV[2])
return 1
]=])
main(function()
  local c = await(redis.connect{ port = port })
  local locks = redis.lock(c, { ttl = 600 })
  local ok, err = pcall(await, locks:using("k", function(signal, lock)
    report(fifo, ("%d %d"):format(uv.os_getpid(), lock.fence))
    local _, reason = pcall(await, Promise.sleep(60000, { signal = signal }))
    print("signal", reason.name)
    local eok, eerr = pcall(await, lock:extend())
    print("extend", eok, eerr.name)
    print("release", await(lock:release()))
    print("write", await(c:eval(WRITE, { "storage" }, { lock.fence, "late" })))
  end))
  print("using", ok, err.name)
  await(c:close())
end)
]]
      suite.with_fifo(function(c, fifo)
        local run, pid, fence = holder(child, fifo)
        uv.kill(pid, "sigstop")
        local ok, err = pcall(function()
          local locks = redis.lock(c, { ttl = 10000, retryDelay = 20, retryJitter = 20 })
          local lock = await(locks:acquire("k", { wait = 30000 }))
          assert.is_true(lock.fence > fence)
          await(c:hset("storage", "fence", lock.fence, "value", "new holder"))
          uv.kill(pid, "sigcont")
          local r = await(run)
          assert.equal(0, r.code)
          assert.equal("signal\tLockLostError\nextend\tfalse\tLockLostError\nrelease\tfalse\nwrite\t0\n"
            .. "using\tfalse\tLockLostError\n", r.stdout)
          assert.equal(lock.token, await(c:get("k")))
          assert.equal("new holder", await(c:hget("storage", "value")))
          assert.is_true(await(lock:release()))
        end)
        if not ok then
          uv.kill(pid, "sigcont")
          uv.kill(pid, "sigkill")
          pcall(await, run)
          error(err, 0)
        end
      end)
    end)
  end)
end)

describe("redis.lock: Redlock #redis", function()
  local servers = {}
  setup(function()
    for i = 1, 5 do servers[i] = R.start() end
  end)
  teardown(function()
    for _, s in ipairs(servers) do s:destroy() end
  end)

  --- Runs fn(clients, admin) with clients of the first n servers (admins
  --- over the Unix socket, for checks); restarts stopped servers after.
  local function with(n, fn)
    H.run(function()
      local clients = {}
      for i = 1, n do
        clients[i] = await(redis.connect{ port = servers[i].port, reconnect = { minDelay = 10, maxDelay = 50 } })
        await(clients[i]:flushall())
      end
      local ok, err = pcall(fn, clients)
      for i = 1, n do
        if not servers[i].pid then servers[i]:launch() end
      end
      for i = 1, n do await(clients[i]:destroy()) end
      if not ok then error(err, 0) end
    end)
    assert.same({}, H.active_handles_after_turn())
  end

  local function exists(i, key)
    return servers[i]:cli("EXISTS", key):match("%d+")
  end

  for _, n in ipairs({ 3, 5 }) do
    local majority, minority = n // 2 + 1, n // 2
    it(("locks on %d servers when all or a majority answer"):format(n), function()
      with(n, function(clients)
        local locks = redis.lock(clients, { ttl = 5000, serverTimeout = 1000 })
        local a = await(locks:acquire("k"))
        for i = 1, n do assert.equal("1", exists(i, "k")) end
        assert.equal("LOCKED", H.rejection(locks:acquire("k")).code)
        assert.is_true(await(a:release()))
        for i = 1, n do assert.equal("0", exists(i, "k")) end
        for i = 1, minority do servers[i]:stop() end
        local b = await(locks:acquire("k"))
        assert.is_true(b.fence > a.fence)
        assert.equal(b, await(b:extend()))
        assert.is_true(await(b:release()))
        for i = minority + 1, n do assert.equal("0", exists(i, "k")) end
      end)
    end)

    it(("fails with LockError on %d servers when a majority is down, leaving no key"):format(n), function()
      with(n, function(clients)
        local locks = redis.lock(clients, { ttl = 5000, serverTimeout = 1000 })
        for i = 1, majority do servers[i]:stop() end
        local err = H.rejection(locks:acquire("k"))
        assert.is_true(Promise.LockError.is(err))
        assert.equal("UNAVAILABLE", err.code)
        for i = majority + 1, n do assert.equal("0", exists(i, "k")) end
      end)
    end)

    it(("fails with LOCKED on %d servers when a majority holds another token, leaving no key"):format(n), function()
      with(n, function(clients)
        local locks = redis.lock(clients, { ttl = 5000 })
        for i = 1, majority do await(clients[i]:set("k", "other")) end
        local err = H.rejection(locks:acquire("k"))
        assert.equal("LOCKED", err.code)
        for i = majority + 1, n do assert.equal("0", exists(i, "k")) end
        for i = 1, majority do assert.equal("other", await(clients[i]:get("k"))) end
      end)
    end)
  end

  it("using on 3 servers keeps the lock on all of them past its ttl, then releases everywhere", function()
    with(3, function(clients)
      local locks = redis.lock(clients, { ttl = 600 })
      local v = await(locks:using("k", function(signal, lock)
        await(Promise.sleep(1500))
        assert.is_false(signal.aborted)
        for i = 1, 3 do assert.equal(lock.token, await(clients[i]:get("k"))) end
        return lock.fence
      end))
      assert.is_true(v >= 1)
      for i = 1, 3 do assert.equal("0", exists(i, "k")) end
    end)
  end)

  it("keeps fences growing when the majority changes", function()
    with(3, function(clients)
      local locks = redis.lock(clients, { ttl = 5000, serverTimeout = 1000 })
      await(clients[1]:set("k:fence", 100))   -- one server far ahead
      local a = await(locks:acquire("k"))
      assert.equal(101, a.fence)
      await(a:release())
      servers[1]:stop()
      local b = await(locks:acquire("k"))
      assert.is_true(b.fence > a.fence)
      await(b:release())
    end)
  end)
end)

describe("redis.lock on the fake clock", function()
  local clock
  H.on_fake_clock(before_each, after_each, function(c) clock = c end)

  --- A stand-in client that keeps locks in a table, without expiry.
  local function fake()
    local S = lockmod.scripts
    local c = { keys = {}, fence = 0, log = {}, refuse = false }
    function c.eval(self, s, keys, args)
      local k, v = keys[1], args[1]
      if s == S.ACQUIRE then
        self.log[#self.log + 1] = ("acquire@%d"):format(Promise.now())
        if self.keys[k] then return Promise.resolve(nil) end
        self.keys[k] = v
        self.fence = self.fence + 1
        return Promise.resolve(self.fence)
      elseif s == S.EXTEND then
        self.log[#self.log + 1] = ("extend@%d"):format(Promise.now())
        return Promise.resolve((self.keys[k] == v and not self.refuse) and 1 or 0)
      elseif s == S.RELEASE then
        self.log[#self.log + 1] = ("release@%d"):format(Promise.now())
        if self.keys[k] ~= v then return Promise.resolve(0) end
        self.keys[k] = nil
        return Promise.resolve(1)
      end
      error("unexpected script")
    end
    return c
  end

  it("retries after retryDelay plus jitter from opts.random, until the wait runs out", function()
    local c = fake()
    c.keys.k = "other"
    local locks = redis.lock(c, { retryDelay = 200, retryJitter = 100, random = function() return 0.5 end })
    local p = locks:acquire("k", { wait = 1000 })
    p:catch(function() end)
    Promise.drain()
    for _ = 1, 10 do clock:advance(50) end
    assert.same({ "acquire@0", "acquire@250", "acquire@500" }, c.log)
    clock:advance(500)
    assert.same({ "acquire@0", "acquire@250", "acquire@500", "acquire@750", "acquire@1000" }, c.log)
    local state, err = H.settle(p)
    assert.equal("rejected", state)
    assert.equal("LOCKED", err.code)
  end)

  it("extends when a third of the ttl is left, and stops when fn ends", function()
    local c = fake()
    local locks = redis.lock(c, { ttl = 300, driftFactor = 0 })
    local done = false
    local p = locks:using("k", function()
      return Promise.sleep(1000):next(function() done = true; return "ok" end)
    end)
    Promise.drain()
    clock:advance(1000)
    local state, v = H.settle(p)
    assert.is_true(done)
    assert.equal("fulfilled", state)
    assert.equal("ok", v)
    assert.same({ "acquire@0", "extend@198", "extend@396", "extend@594", "extend@792", "extend@990",
      "release@1000" }, c.log)
    assert.is_nil(c.keys.k)
  end)

  it("a failed extension aborts fn's signal and rejects with LockLostError", function()
    local c = fake()
    local locks = redis.lock(c, { ttl = 300, driftFactor = 0 })
    local p = locks:using("k", function(signal)
      c.refuse = true
      return Promise.sleep(1000, { signal = signal })
    end)
    p:catch(function() end)
    Promise.drain()
    clock:advance(200)
    local state, err = H.settle(p)
    assert.equal("rejected", state)
    assert.is_true(Promise.LockLostError.is(err))
    assert.same({ "acquire@0", "extend@198", "release@198" }, c.log)
  end)
end)
