-- Runs examples/circuit_breaker.lua, examples/payment.lua and
-- examples/partial_failure.lua as real programs (lua5.4, real luv loop) and
-- checks their exit status, timing and output.

local H = require("spec.support.helpers")

-- Runs an example from the repository root; returns its output (stdout and
-- stderr), whether it exited normally, how, its exit code and the wall time.
local run_example, lines = H.run_example, H.lines

local function check(name, expected)
  local out, ok, how, code, secs = run_example(name)
  assert.is_true(ok, out)
  assert.same({ "exit", 0 }, { how, code })
  assert.is_true(secs < 3, ("%s took %.2f s"):format(name, secs))
  assert.same(expected, lines(out))
end

describe("breaker examples", function()
  it("circuit_breaker.lua trips open, rejects fast, lets one trial through, closes", function()
    check("circuit_breaker.lua", {
      "service is down",
      "call 1: failed: ServiceError: 503 service unavailable",
      "call 2: failed: ServiceError: 503 service unavailable",
      "  [breaker] closed -> open for 200 ms (last error: ServiceError: 503 service unavailable)",
      "call 3: failed: ServiceError: 503 service unavailable",
      "state: open",
      "call 4: rejected at once, circuit is open, retry after ~200 ms",
      "call 5: rejected at once, circuit is open, retry after ~200 ms",
      "requests that reached the service while open: 0",
      "stats: 3 failures, 2 rejected (not counted as failures)",
      "service recovers",
      "state after retryAfter: half_open",
      "  [breaker] open -> half_open: trial calls allowed",
      "call 7: rejected at once, circuit is half-open: trial calls in progress, retry after ~0 ms",
      "call 6: reply 6 (state half_open)",
      "  [breaker] half_open -> closed",
      "call 8: reply 8 (state closed)",
      "state: closed",
    })
  end)

  it("payment.lua: retries with one charge per key, ignores declines, fails fast while open", function()
    check("payment.lua", {
      "order-1001: the first attempt hangs, the second gets a 503",
      "  order-1001: duplicate request, returning the stored result",
      "  order-1001: attempt 1 failed (TimeoutError), retrying in 50 ms",
      "  order-1001: attempt 2 failed (SERVICE_UNAVAILABLE), retrying in 100 ms",
      "  gateway: slow request for order-1001 completed late: ch_1",
      "order-1001: completed, payment ch_1",
      "duplicate got the same payment: true",
      "  order-1001: duplicate request, returning the stored result",
      "order-1001: completed, payment ch_1",
      "charges made by the gateway: 1",
      "order-1002: card declined (final, and not a gateway failure)",
      "order-1002: failed (CARD_DECLINED)",
      "breaker: closed, 1 ignored",
      "gateway outage",
      "  order-1003: attempt 1 failed (SERVICE_UNAVAILABLE), retrying in 50 ms",
      "  order-1003: attempt 2 failed (SERVICE_UNAVAILABLE), retrying in 100 ms",
      "  [breaker] gateway circuit open for 300 ms",
      "  order-1003: attempt 3 failed (SERVICE_UNAVAILABLE), retrying in 200 ms",
      "order-1003: not charged, gateway circuit open (CircuitOpenError, retry in ~100 ms)",
      "order-1004: not charged, gateway circuit open (CircuitOpenError, retry in ~100 ms)",
      "gateway requests during the outage: 3",
      "gateway back",
      "  [breaker] gateway circuit half-open",
      "  [breaker] gateway circuit closed",
      "order-1005: completed, payment ch_2",
      "charges made by the gateway: 2",
    })
  end)

  it("partial_failure.lua returns the data that arrived and lists the failed services", function()
    check("partial_failure.lua", {
      "  labs: call for p-42 cancelled (TimeoutError: timed out after 100 ms)",
      "patient p-42 (correlation corr-7f3a): 3 of 5 sources",
      "  demographics ok",
      "  medical      ok",
      "  allergies    ok",
      "  demographics: J. Doe, born 1975",
      "errors (2):",
      "  insurance    INSURANCE_SERVICE_ERROR: insurance service unavailable",
      "  labs         TimeoutError: timed out after 100 ms",
      "answered within the per-call timeout, not the hung call's 600 ms: true",
      "with Promise.all: failed, ServiceError: insurance service unavailable",
      "  labs: call for p-42 cancelled (TimeoutError: timed out after 100 ms)",
    })
  end)
end)
