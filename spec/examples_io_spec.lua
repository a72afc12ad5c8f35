-- Runs examples/concurrent_files.lua and examples/echo.lua as real programs
-- (lua5.4, real luv loop) and checks their exit status and output.

local H = require("spec.support.helpers")

-- Runs an example from the repository root with `args` (a shell-quoted
-- string); returns its output (stdout and stderr) and how it exited.
local run_example, lines = H.run_example, H.lines

-- zlib's Adler-32, to check the example's sums independently.
local function adler32(s)
  local a, b = 1, 0
  for i = 1, #s do
    a = (a + s:byte(i)) % 65521
    b = (b + a) % 65521
  end
  return ("%08x"):format(b * 65536 + a)
end

describe("examples with promisified I/O", function()
  it("concurrent_files.lua measures 20 files, 4 at most at once, in input order", function()
    local t0 = os.time()
    local out, ok, how, code = run_example("concurrent_files.lua")
    assert.is_true(ok, out)
    assert.same({ "exit", 0 }, { how, code })
    assert.is_true(os.time() - t0 < 4)
    local expected, total_lines, total_bytes = {}, 0, 0
    for i = 1, 20 do
      local l = {}
      for j = 1, i * 50 do l[j] = ("file %d, line %d"):format(i, j) end
      local data = table.concat(l, "\n") .. "\n"
      expected[i] = ("%-14s %6d lines %8d bytes  adler32 %s"):format(
        ("file%02d.txt"):format(i), i * 50, #data, adler32(data))
      total_lines, total_bytes = total_lines + i * 50, total_bytes + #data
    end
    expected[21] = ("20 files, %d lines, %d bytes, 0 failed"):format(total_lines, total_bytes)
    expected[22] = "at most 4 files open at once (limit 4)"
    expected[23] = "temporary directory removed: true"
    assert.same(expected, lines(out))
  end)

  it("concurrent_files.lua reports a missing file with its code and exits with 2", function()
    local out, ok, how, code = run_example("concurrent_files.lua", "README.md /no/such/file")
    assert.is_nil(ok)
    assert.same({ "exit", 2 }, { how, code })
    local f = assert(io.open("README.md", "rb"))
    local readme = f:read("a")
    f:close()
    local _, nl = readme:gsub("\n", "")
    assert.same({
      ("%-14s %6d lines %8d bytes  adler32 %s"):format("README.md", nl, #readme, adler32(readme)),
      "/no/such/file  error: ENOENT: no such file or directory: /no/such/file (ENOENT)",
      ("2 files, %d lines, %d bytes, 1 failed"):format(nl, #readme),
      "at most 2 files open at once (limit 4)",
    }, lines(out))
  end)

  it("echo.lua: rate-limited client, one request timed out, the server closes after all", function()
    local t0 = os.time()
    local out, ok, how, code = run_example("echo.lua")
    assert.is_true(ok, out)
    assert.same({ "exit", 0 }, { how, code })
    assert.is_true(os.time() - t0 < 4)
    local got = lines(out)
    assert.equal(17, #got, out)
    assert.equal("server listening on 127.0.0.1, port chosen by the system", got[1])
    local messages = { "hello", "rate", "limited", "slow request", "echo", "world", "bye" }
    local starts = {}
    for i, m in ipairs(messages) do
      local n, msg, ms = got[1 + i]:match('^request (%d) "(.-)" started at %+(%d+) ms$')
      assert.equal(tostring(i), n, got[1 + i])
      assert.equal(m, msg)
      starts[i] = tonumber(ms)
    end
    -- three at once, then the next three one interval later, then the last
    for i = 1, 3 do assert.is_true(starts[i] < 50) end
    for i = 4, 7 do assert.is_true(starts[i] - starts[i - 3] >= 100) end
    assert.same({
      "reply 1: HELLO", "reply 2: RATE", "reply 3: LIMITED",
      "reply 4: TimeoutError: timed out after 200 ms",
      "reply 5: ECHO", "reply 6: WORLD", "reply 7: BYE",
      "6 replies, 1 timed out; at most 3 starts per 100 ms: true",
      "server closed after 7 connections",
    }, { table.unpack(got, 9, 17) })
  end)
end)
