-- redis.idempotency against a real redis-server (tag #redis): fn runs
-- once per key across concurrent callers and processes, everyone gets the
-- stored result, a failure is retried by the next caller, results expire.
local Promise = require("promise")
local redis = require("promise.redis")
local H = require("spec.support.helpers")
local R = require("spec.support.redis")

local await = Promise.await

describe("redis.idempotency #redis", function()
  local suite = R.suite()
  local with = suite.with

  it("runs fn once and gives every caller decode(encode(result)), the first included", function()
    with(function(c)
      local idem = redis.idempotency(c, { ttl = 60000 })
      local runs = 0
      local function charge()
        runs = runs + 1
        await(Promise.sleep(50))
        return { id = "ch_1", amount = 1250, [3] = "sparse" }
      end
      local callers = {}
      for i = 1, 5 do callers[i] = idem:run("pay:1", charge) end
      local results = await(Promise.all(callers))
      assert.equal(1, runs)
      for i = 1, 5 do
        assert.same({ id = "ch_1", amount = 1250, ["3"] = "sparse" }, results[i])
      end
      assert.same({ id = "ch_1", amount = 1250, ["3"] = "sparse" }, await(idem:run("pay:1", charge)))
      assert.equal(1, runs)
      local left = await(c:pttl("idempotency:pay:1"))
      assert.is_true(left > 50000 and left <= 60000)
      assert.equal(0, await(c:exists("idempotency:pay:1:lock")))
    end)
  end)

  it("stores nothing when fn fails: that caller gets the error, the next runs fn again", function()
    with(function(c)
      local idem = redis.idempotency(c, { retryDelay = 5, retryJitter = 5 })
      local runs = 0
      local function flaky()
        runs = runs + 1
        await(Promise.sleep(20))
        if runs == 1 then error(Promise.Error("card declined", { code = "DECLINED" })) end
        return "charged"
      end
      local first = idem:run("pay:2", flaky)
      local second = idem:run("pay:2", flaky)      -- waits while the first runs
      local err = H.rejection(first)
      assert.equal("DECLINED", err.code)
      assert.equal("charged", await(second))
      assert.equal(2, runs)
      assert.equal("charged", await(idem:run("pay:2", flaky)))
      assert.equal(2, runs)
    end)
  end)

  it("with cacheErrors stores the failure, and later callers get it without running fn", function()
    with(function(c)
      local idem = redis.idempotency(c, { cacheErrors = true })
      local runs = 0
      local function fail() runs = runs + 1; error(Promise.Error("declined", { code = "DECLINED" })) end
      local e1 = H.rejection(idem:run("pay:3", fail))
      local e2 = H.rejection(idem:run("pay:3", fail))
      assert.equal(1, runs)
      assert.equal("DECLINED", e1.code)
      assert.equal("DECLINED", e2.code)
      assert.equal("declined", e2.message)
    end)
  end)

  it("results expire after ttl; custom encode/decode get the bare result", function()
    with(function(c)
      local idem = redis.idempotency(c, { ttl = 100,
        encode = function(v) return "n=" .. v end, decode = function(s) return tonumber(s:sub(3)) end })
      local runs = 0
      local function count() runs = runs + 1; return runs * 10 end
      assert.equal(10, await(idem:run("k", count)))
      assert.equal("rn=10", await(c:get("idempotency:k")))
      assert.equal(10, await(idem:run("k", count)))
      await(Promise.sleep(150))
      assert.equal(0, await(c:exists("idempotency:k")))
      assert.equal(20, await(idem:run("k", count)))
    end)
  end)

  it("a waiting caller gives up with the wait, or with its signal", function()
    with(function(c)
      local idem = redis.idempotency(c, { retryDelay = 5, retryJitter = 0 })
      local release
      local started, running = Promise.withResolvers()
      local slow = idem:run("k", function()
        running()
        return Promise.new(function(resolve) release = resolve end)
      end)
      await(started)                        -- it holds the key's lock
      local err = H.rejection(idem:run("k", function() return "mine" end, { wait = 20 }))
      assert.is_true(Promise.LockError.is(err))
      assert.equal("LOCKED", err.code)
      local ctl = Promise.AbortController()
      Promise.setTimeout(function() ctl:abort("gone") end, 20)
      assert.equal("gone", H.rejection(idem:run("k", function() return "mine" end, { signal = ctl.signal })))
      release("theirs")
      assert.equal("theirs", await(slow))
    end)
  end)

  it("refuses bad arguments", function()
    with(function(c)
      assert.has_error(function() redis.idempotency(nil) end,
        "bad argument #1 to 'idempotency' (RedisClient expected, got nil)")
      assert.has_error(function() redis.idempotency(c, { encode = 1 }) end,
        "bad argument #2 to 'idempotency' (field 'encode': function expected, got number)")
      assert.has_error(function() redis.idempotency(c, { ttl = "1d" }) end,
        "bad argument #2 to 'idempotency' (field 'ttl': number expected, got string)")
      local idem = redis.idempotency(c)
      assert.has_error(function() idem:run(1, print) end, "bad argument #1 to 'run' (string expected, got number)")
      assert.has_error(function() idem:run("k") end, "bad argument #2 to 'run' (function expected, got nil)")
    end)
  end)

  it("20 concurrent calls from 2 processes run fn exactly once, and all get its result", function()
    local child = [[
local Promise = require("promise")
local redis = require("promise.redis")
local await = Promise.await
local port, fifo, id = tonumber(arg[1]), arg[2], arg[3]
local ok, err = Promise.run(function()
  local c = await(redis.connect{ port = port })
  local idem = redis.idempotency(c, { retryDelay = 5, retryJitter = 5 })
  local f = assert(io.open(fifo, "a"))
  f:write("ready\n")
  f:close()
  await(c:blpop("go", 0))
  local calls = {}
  for i = 1, 10 do
    calls[i] = idem:run("order:7", function()
      await(c:incr("runs"))
      await(Promise.sleep(100))
      return { charged = 1250, by = id }
    end)
  end
  for _, r in ipairs(await(Promise.all(calls))) do print(r.charged, r.by) end
  await(c:close())
end)
if not ok then io.stderr:write(tostring(err), "\n") os.exit(1) end
]]
    suite.with_fifo(function(c, fifo)
      local port = suite.srv.port
      local results = R.together(c, fifo, child, { { port, fifo.path, "a" }, { port, fifo.path, "b" } })
      assert.equal("1", await(c:get("runs")))
      local out = results[1].stdout .. results[2].stdout
      local lines = H.lines(out)
      assert.equal(20, #lines)
      for i = 2, 20 do assert.equal(lines[1], lines[i]) end
      assert.matches("^1250%.?0?\t[ab]$", lines[1])   -- lua-cjson decodes numbers as floats
    end)
  end)
end)
