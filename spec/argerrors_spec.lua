-- Every argument error is raised at the user's call, whatever helper of
-- the module (or of promise.util) found the problem: one case per kind of
-- check in the I/O modules, the error classes and process.exec. (The
-- helpers' own specs pin theirs: retry_spec, timeout_spec, map_spec, ...)
local Promise = require("promise")
local fs, net = require("promise.fs"), require("promise.net")
local dns, process = require("promise.dns"), require("promise.process")

local CASES = {
  { function() Promise.AggregateError("x", { errors = 1 }) end,
    "bad argument #2 to 'AggregateError' (field 'errors' must be a table, got number)" },
  { function() Promise.Error(true) end, "bad argument #1 to 'Error' (string expected, got boolean)" },
  { function() Promise.Error:extend("") end, "bad argument #1 to 'extend' (class name must not be empty)" },
  { function() fs.readFile("a\0b") end,
    "bad argument #1 to 'readFile' (string without NUL bytes expected, got \"a\\0b\")" },
  { function() fs.writeFile("a", 1) end, "bad argument #2 to 'writeFile' (string expected, got number)" },
  { function() fs.open("a", "zz") end, "bad argument #2 to 'open' (unknown open flags \"zz\")" },
  { function() fs.open("a", "r", 1.5) end, "bad argument #3 to 'open' (mode must be an integer, got 1.5)" },
  { function() fs.access("a", "q") end,
    "bad argument #2 to 'access' (letters of \"rwx\" or an integer in 0..7 expected, got \"q\")" },
  { function() fs.readFile("a", { signal = 1 }) end,
    "bad argument #2 to 'readFile' (field 'signal': AbortSignal expected, got number)" },
  { function() net.connect{ port = 0 } end,
    "bad argument #1 to 'connect' (field 'port': integer in 1..65535 expected, got 0)" },
  { function() net.connect{ port = 70000 } end,
    "bad argument #1 to 'connect' (field 'port': integer in 0..65535 expected, got 70000)" },
  { function() net.listen({ backlog = "x" }, print) end,
    "bad argument #1 to 'listen' (field 'backlog': integer expected, got string)" },
  { function() dns.lookup("x", { family = 5 }) end,
    "bad argument #2 to 'lookup' (field 'family': \"inet\", \"inet6\", 4 or 6 expected, got 5)" },
  { function() process.exec("") end, "bad argument #1 to 'exec' (non-empty string expected, got empty string)" },
  { function() process.exec("ls", {}, { timeout = -1 }) end,
    "bad argument #3 to 'exec' (field 'timeout': non-negative integer or math.huge expected, got -1)" },
}

describe("argument errors", function()
  it("point at the call and say what is wrong", function()
    for _, c in ipairs(CASES) do
      local ok, e = pcall(c[1])
      assert.is_false(ok)
      assert.equal("string", type(e))
      local where, msg = e:match("^(spec/argerrors_spec%.lua:%d+): (.*)$")
      assert.is_truthy(where, e)
      assert.equal(c[2], msg)
    end
    assert.same({}, require("spec.support.helpers").active_handles_after_turn())
  end)
end)

describe("bad self errors of the I/O objects", function()
  it("point at the call", function()
    local function check(f, want)
      local ok, e = pcall(f)
      assert.is_false(ok)
      assert.matches("^spec/argerrors_spec%.lua:%d+: " .. want, e)
    end
    local server = net.listen({ host = "127.0.0.1", port = 0 }, function() end):wait()
    local sock = net.connect{ port = server.port }:wait()
    local fh = fs.open("spec/argerrors_spec.lua"):wait()
    check(function() server.close({}) end, "calling 'close' on bad self %(Server expected, got table%)$")
    check(function() sock.read({}) end, "calling 'read' on bad self %(Socket expected, got table%)$")
    check(function() fh.read({}) end, "calling 'read' on bad self %(FileHandle expected, got table%)$")
    fh:close():wait()
    sock:close():wait()
    server:close():wait()
    assert.same({}, require("spec.support.helpers").active_handles_after_turn())
  end)
end)
