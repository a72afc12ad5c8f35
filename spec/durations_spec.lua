-- Every argument that is a duration in milliseconds, against the values a
-- timer cannot hold (issue 10, bug 2: `p:wait(math.huge)` passed the check,
-- uv timer_start raised, the uv timer stayed armed, and the next re-arm
-- raised inside a luv callback: "Uncaught Error", exit 255, even under
-- pcall). One table drives every entry point; the calls run in a child
-- process on the REAL clock (the path that reaches luv), so a crash shows
-- as a dead child rather than a dead busted.
local H = require("spec.support.helpers")

-- Runs in the child: prints "<entry>\t<value>\t<outcome>" per case, then
-- "done". <outcome> is "ok" (accepted) or the argument error's message.
local CHILD = [==[
local Promise = require("promise")
local uv = require("luv")
local VALUES = {
  { "math.huge", math.huge }, { "-math.huge", -math.huge }, { "nan", 0 / 0 },
  { "-1", -1 }, { "0", 0 }, { "0.5", 0.5 }, { "1.5", 1.5 },
  { "2^31-1", 2 ^ 31 - 1 }, { "2^31", 2 ^ 31 }, { "2^53", 2 ^ 53 },
  { "2^53+2", 2 ^ 53 + 2 }, { "2^63-1", math.maxinteger },
}
local function noop() end
local function ok1() return 1 end
local CALLS = {
  { "setTimeout", function(v) Promise.clearTimeout(Promise.setTimeout(noop, v)) end },
  { "setInterval", function(v) Promise.clearInterval(Promise.setInterval(noop, v)) end },
  { "setImmediate", function(v) Promise.clearImmediate(Promise.setImmediate(noop, v)) end },
  { "sleep", function(v)
      local c = Promise.AbortController()
      Promise.sleep(v, { signal = c.signal }):catch(noop)
      c:abort()
    end },
  { "wait", function(v)
      local p, resolve = Promise.withResolvers()
      Promise.setTimeout(resolve, 1)
      local ok, e = pcall(p.wait, p, v)
      if not ok and not Promise.TimeoutError.is(e) then error(e, 0) end
    end },
  { "timeout", function(v)
      local w, resolve = Promise.withResolvers()
      local p = Promise.timeout(w, v)
      resolve(1)
      p:wait()
    end },
  { "AbortSignal.timeout", function(v) Promise.AbortSignal.timeout(v) end },
  { "retry.attemptTimeout", function(v) Promise.retry(ok1, { attemptTimeout = v }):wait() end },
  { "retry.minDelay", function(v) Promise.retry(ok1, { minDelay = v, maxDelay = math.huge }):wait() end },
  { "retry.maxDelay", function(v) Promise.retry(ok1, { minDelay = 0, maxDelay = v }):wait() end },
  { "retry.maxElapsed", function(v) Promise.retry(ok1, { maxElapsed = v }):wait() end },
  { "ratelimiter.interval", function(v) Promise.ratelimiter{ limit = 1, interval = v }(ok1):wait() end },
  { "breaker.timeout", function(v) Promise.breaker{ timeout = v }:call(ok1):wait() end },
  { "breaker.resetTimeout", function(v) Promise.breaker{ resetTimeout = v }:call(ok1):wait() end },
  { "useFakeTimers", function(v) Promise.useFakeTimers(v):restore() end },
  { "advance", function(v)
      local clock = Promise.useFakeTimers()
      local ok, e = pcall(clock.advance, clock, v)
      clock:restore()
      if not ok then error(e, 0) end
    end },
}
for _, c in ipairs(CALLS) do
  for _, v in ipairs(VALUES) do
    local ok, e = pcall(c[2], v[2])
    print(("%s\t%s\t%s"):format(c[1], v[1], ok and "ok" or tostring(e)))
    uv.run("nowait")  -- a timer armed with a bad delay would raise here
  end
end
Promise.sleep(2):wait()  -- and a re-arm of the uv timer here
print("done")
]==]

local ALL = { "math.huge", "-math.huge", "nan", "-1", "0", "0.5", "1.5",
              "2^31-1", "2^31", "2^53", "2^53+2", "2^63-1" }
local function set(list)
  local s = {}
  for _, k in ipairs(list) do s[k] = true end
  return s
end
local TIMER = set{ "0", "0.5", "1.5", "2^31-1" }            -- in [0, 2^31 - 1]
local TIMER_NEVER = set{ "math.huge", "0", "0.5", "1.5", "2^31-1" }
local NON_NEGATIVE = set{ "math.huge", "0", "0.5", "1.5", "2^31-1", "2^31", "2^53", "2^53+2", "2^63-1" }

-- The accepted values of each entry point; any other value is refused with
-- a Lua-style argument error.
local ACCEPTS = {
  setTimeout = set(ALL), setInterval = set(ALL), sleep = set(ALL),  -- Node: clamped to 1 ms
  setImmediate = set(ALL),                                           -- extra arguments: passed through
  wait = TIMER_NEVER, timeout = TIMER_NEVER, ["retry.attemptTimeout"] = TIMER_NEVER,
  ["breaker.timeout"] = set{ "math.huge", "0.5", "1.5", "2^31-1" },
  ["AbortSignal.timeout"] = TIMER, ["retry.minDelay"] = TIMER,
  ["ratelimiter.interval"] = set{ "0.5", "1.5", "2^31-1" },
  -- caps and bounds compared with the clock, never handed to a timer as is
  ["retry.maxDelay"] = NON_NEGATIVE, ["retry.maxElapsed"] = NON_NEGATIVE,
  ["breaker.resetTimeout"] = NON_NEGATIVE,
  useFakeTimers = set{ "-1", "0", "0.5", "1.5", "2^31-1", "2^31", "2^53" },
  advance = set{ "0", "0.5", "1.5", "2^31-1", "2^31", "2^53" },
}

describe("durations in milliseconds", function()
  it("are accepted or refused with an argument error, never crash the process", function()
    local out, _, how, code = H.run_lua(CHILD)
    local lines = H.lines(out)
    assert.same({ "exit", 0 }, { how, code }, out)
    assert.equal("done", lines[#lines])
    local seen = 0
    for i = 1, #lines - 1 do
      local name, value, outcome = lines[i]:match("^([^\t]+)\t([^\t]+)\t(.*)$")
      assert.is_not_nil(name, lines[i])
      local accepts = assert(ACCEPTS[name], name)
      if accepts[value] then
        assert.equal("ok", outcome, name .. "(" .. value .. ")")
      else
        assert.matches("bad argument #%d+ to '[%w.]+' %(.+ expected, got .+%)$", outcome, 1, false,
          name .. "(" .. value .. ")")
      end
      seen = seen + 1
    end
    local n = 0
    for _ in pairs(ACCEPTS) do n = n + 1 end
    assert.equal(n * #ALL, seen)
  end)

  it("p:wait(math.huge) under pcall does not kill the process (the original crash)", function()
    local out, _, how, code = H.run_lua([[
      local Promise = require("promise")
      local p, resolve = Promise.withResolvers()
      Promise.setTimeout(resolve, 5, "value")
      print(pcall(p.wait, p, math.huge))
      print(Promise.sleep(1, { value = "after" }):wait())
    ]])
    assert.same({ "true\tvalue", "after" }, H.lines(out))
    assert.same({ "exit", 0 }, { how, code })
  end)

  it("point at the caller in their messages", function()
    local Promise = require("promise")
    local p = Promise.withResolvers()
    local line = debug.getinfo(1, "l").currentline + 1
    local ok, e = pcall(function() p:wait(-1) end)
    assert.is_false(ok)
    assert.equal(("spec/durations_spec.lua:%d: bad argument #1 to 'wait' "
      .. "(number in [0, 2147483647] or math.huge expected, got -1)"):format(line), e)
    assert.has_error(function() Promise.timeout(p, 2 ^ 31) end,
      "bad argument #2 to 'timeout' (number in [0, 2147483647] or math.huge expected, got 2147483648.0)")
    assert.has_error(function() Promise.AbortSignal.timeout(math.huge) end,
      "bad argument #1 to 'timeout' (number in [0, 2147483647] expected, got inf)")
  end)

  describe("on the fake clock", function()
    local Promise = require("promise")
    local clock
    before_each(function() clock = Promise.useFakeTimers() end)
    after_each(function() clock:restore() end)

    --- How long after the call `start(done)` calls `done` (fake ms).
    local function fires_at(start)
      local t0, t = clock:now(), nil
      start(function() t = clock:now() - t0 end)
      clock:advance(10)
      return t
    end

    it("timer delays outside [1, 2^31 - 1] count as 1 ms, as in Node", function()
      for _, v in ipairs{ math.huge, -math.huge, 0 / 0, -1, 0, 0.5, 2 ^ 31, 2 ^ 53, math.maxinteger } do
        assert.equal(1, fires_at(function(f) Promise.setTimeout(f, v) end), tostring(v))
        assert.equal(1, fires_at(function(f) Promise.sleep(v):next(f) end), tostring(v))
      end
      assert.equal(1.5, fires_at(function(f) Promise.setTimeout(f, 1.5) end))
      local t = Promise.setTimeout(function() end, 2 ^ 31 - 1)
      clock:advance(2 ^ 31 - 2)
      assert.equal(1, clock:countTimers())
      clock:advance(1)
      assert.equal(0, clock:countTimers())
      Promise.clearTimeout(t)
    end)

    it("math.huge is 'never' for timeout, attemptTimeout and the breaker's timeout", function()
      local w = Promise.withResolvers()
      local p1 = Promise.timeout(w, math.huge)
      local p2 = Promise.retry(function() return w end, { attemptTimeout = math.huge })
      local p3 = Promise.breaker{ timeout = math.huge }:call(function() return w end)
      assert.equal(0, clock:countTimers())
      clock:advance(2 ^ 53)
      assert.same({ "pending", "pending", "pending" }, { p1:state(), p2:state(), p3:state() })
    end)

    it("a long retry delay waits 2^31 - 1 ms, not 1 ms", function()
      local attempts, delays = 0, {}
      local p = Promise.retry(function()
        attempts = attempts + 1
        if attempts < 3 then error("failed") end
        return "third"
      end, { minDelay = 2 ^ 30, maxDelay = math.huge, factor = 1e300, jitter = "none",
             onRetry = function(_, _, d) delays[#delays + 1] = d end })
      clock:advance(2 ^ 30)
      assert.equal(2, attempts)
      clock:advance(2 ^ 31 - 2)  -- 2^30 * 1e300 ms, capped at what a timer holds
      assert.equal(2, attempts)
      clock:advance(1)
      assert.equal(3, attempts)
      assert.same({ 2 ^ 30, 2 ^ 31 - 1 }, delays)
      assert.same({ "fulfilled", "third" }, { p:state() })
    end)

    it("a rate limiter wait longer than a timer holds is served in steps, not every 1 ms", function()
      -- one token every 2 * (2^31 - 1) ms
      local rl = Promise.ratelimiter{ limit = 0.5, interval = 2 ^ 31 - 1, strategy = "token", burst = 1 }
      local delays = {}
      local setTimeout = Promise.setTimeout
      Promise.setTimeout = function(fn, ms, ...)
        delays[#delays + 1] = ms
        return setTimeout(fn, ms, ...)
      end
      local started = 0
      local function job() started = started + 1 end
      local ok, e = pcall(function()
        rl(job); rl(job)
        Promise.drain()
        assert.equal(1, started)
        assert.same({ 2 ^ 31 - 1 }, delays)  -- the first step, not the whole wait
        clock:advance(2 ^ 31 - 1)
        assert.equal(1, started)
        clock:advance(2 ^ 31 - 2)
        assert.equal(1, started)
        clock:advance(1)
        assert.equal(2, started)
      end)
      Promise.setTimeout = setTimeout
      assert(ok, e)
      assert.same({ 2 ^ 31 - 1, 2 ^ 31 - 1 }, delays)
    end)
  end)
end)
