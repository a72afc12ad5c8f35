-- Runs examples/timeout_fetch.lua and examples/retry_backoff.lua as real
-- programs (lua5.4, real luv loop) and checks their exit status and output.

local H = require("spec.support.helpers")

-- Runs an example from the repository root; returns its output (stdout and
-- stderr), whether it exited normally, how and its exit code, and the wall
-- time it took in ms.
local function run_example(name)
  local out, ok, how, code, secs = H.run_example(name)
  return out, ok, how, code, secs * 1000
end

local lines = H.lines

describe("examples", function()
  it("timeout_fetch.lua: fallback, TimeoutError and abort, with the slow work cancelled", function()
    local out, ok, how, code, ms = run_example("timeout_fetch.lua")
    assert.is_true(ok, out)
    assert.same({ "exit", 0 }, { how, code })
    -- the slow requests take 1000 ms: finishing well before proves they were cancelled
    assert.is_true(ms < 900, ("took %.0f ms"):format(ms))
    assert.same({
      "request 1: started (takes 30 ms)",
      "request 1: answered",
      "user 1: Ada",
      "request 2: started (takes 1000 ms)",
      "request 2: cancelled (TimeoutError: profile service too slow)",
      "user 2: Grace (cached)",
      "request 3: started (takes 1000 ms)",
      "request 3: cancelled (TimeoutError: profile service too slow)",
      "user 3: failed=true, TimeoutError: profile service too slow",
      "user 3: is a TimeoutError: true",
      "request 4: started (takes 1000 ms)",
      "request 4: cancelled (AbortError: user navigated away)",
      "user 4: failed=true, AbortError: user navigated away",
      "all done in under 1000 ms: true",
      "active handles left: 0",
    }, lines(out))
  end)

  it("retry_backoff.lua: each attempt and jittered delay, an attempt timeout, a non-retryable error", function()
    local out, ok, how, code, ms = run_example("retry_backoff.lua")
    assert.is_true(ok, out)
    assert.same({ "exit", 0 }, { how, code })
    assert.is_true(ms < 2000, ("took %.0f ms"):format(ms))
    assert.same({
      "attempt 1: calling the service",
      "attempt 1 failed: Unavailable: 503 from upstream; retry in 3.1 ms (full jitter below 50 ms)",
      "attempt 2: calling the service",
      "attempt 2 failed: Unavailable: 503 from upstream; retry in 32.4 ms (full jitter below 100 ms)",
      "attempt 3: calling the service",
      "  call 3: aborted (TimeoutError: attempt 3 timed out after 80 ms)",
      "attempt 3 failed: TimeoutError: attempt 3 timed out after 80 ms; retry in 14.3 ms (full jitter below 200 ms)",
      "attempt 4: calling the service",
      "success after 4 calls: 200 OK",
      "each wait lasted at least its delay: true",
      "gave up after 1 call: failed=true, BadRequest: 400: malformed order id",
    }, lines(out))
  end)
end)
