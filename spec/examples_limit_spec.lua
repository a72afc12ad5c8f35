-- Runs examples/concurrency_limit.lua and examples/rate_limit.lua as real
-- programs (lua5.4, real luv loop) and checks their exit status and output.

local H = require("spec.support.helpers")

-- Runs an example from the repository root; returns its output (stdout and
-- stderr), whether it exited normally, and its exit code.
local run_example, lines = H.run_example, H.lines

describe("examples", function()
  it("concurrency_limit.lua runs at most 3 jobs at once and keeps input order", function()
    local t0 = os.time()
    local out, ok, how, code = run_example("concurrency_limit.lua")
    assert.is_true(ok, out)
    assert.same({ "exit", 0 }, { how, code })
    assert.is_true(os.time() - t0 < 3)
    local expected = {}
    local durations = { 60, 20, 40, 30, 50, 20, 70, 30, 40, 20, 50, 30 }
    for i, ms in ipairs(durations) do
      expected[#expected + 1] = ("start job %2d (%2d ms), running: %d"):format(i, ms, math.min(i, 3))
    end
    expected[#expected + 1] = "12 results, in input order:"
    for i, ms in ipairs(durations) do
      expected[#expected + 1] = ("  job %d took %d ms"):format(i, ms)
    end
    expected[#expected + 1] = "at most 3 jobs ran at once (limit 3)"
    expected[#expected + 1] = "faster than sequential: true"
    assert.same(expected, lines(out))
  end)

  it("rate_limit.lua starts at most 3 calls per 200 ms window, FIFO", function()
    local t0 = os.time()
    local out, ok, how, code = run_example("rate_limit.lua")
    assert.is_true(ok, out)
    assert.same({ "exit", 0 }, { how, code })
    assert.is_true(os.time() - t0 < 3)
    assert.same({
      "call  1 started at +0 ms",
      "call  2 started at +0 ms",
      "call  3 started at +0 ms",
      "queued: 7",
      "call  4 started at +200 ms",
      "call  5 started at +200 ms",
      "call  6 started at +200 ms",
      "call  7 started at +400 ms",
      "call  8 started at +400 ms",
      "call  9 started at +400 ms",
      "call 10 started at +600 ms",
      '10 replies, first "reply 1", last "reply 10"',
      "most starts in any 200 ms window: 3 (limit 3)",
    }, lines(out))
  end)
end)
