-- bench/: the benchmark driver and its workloads, run at a tiny size.
local H = require("spec.support.helpers")

local WORKLOADS = { "a", "b", "c", "d", "e", "f" }

--- Runs a shell command; returns its combined output and exit code.
local function sh(cmd)
  local out, _, _, code = H.popen(cmd .. " 2>&1")
  return out, code
end

local node_available = H.node_available

local function triangle(m) return m * (m + 1) // 2 end

describe("bench/run.lua", function()
  local out, code

  setup(function()
    out, code = sh("lua5.4 bench/run.lua --n 2000 --runs 1 --no-node")
  end)

  it("exits 0 at a tiny size", function()
    assert.are.equal(0, code, out)
  end)

  it("prints a row for every workload, with its size and a rate", function()
    for _, w in ipairs(WORKLOADS) do
      local size = w == "c" and 200 or 2000
      local row = out:match("\n| " .. w .. " | [^\n]*")
      assert.is_truthy(row, "no row for workload " .. w .. " in:\n" .. out)
      assert.is_truthy(row:find("| " .. size .. " | [%d.]+ [kM]? ?|"),
        "row without size " .. size .. " and a rate: " .. row)
      assert.is_truthy(row:find("[%d.]+ MB |"), "row without peak RSS: " .. row)
    end
  end)

  it("prints the Redis rows, or says why they were not run", function()
    if out:find("redis-server not found", 1, true) then return end
    for _, w in ipairs{ "redis_a", "redis_b", "redis_c" } do
      local row = out:match("\n| " .. w .. " | [^\n]*")
      assert.is_truthy(row, "no row for " .. w .. " in:\n" .. out)
      assert.is_truthy(row:find("| [%d.]+ [kM]? ?| — |"), "row without a rate: " .. row)
    end
  end)

  it("prints the raw-Lua baselines for a and d", function()
    assert.is_truthy(out:find("\n| a | create %+ call executor and handler closures | [%d.]+ [kM]"), out)
    assert.is_truthy(out:find("\n| d | coroutine yield/resume round trip | [%d.]+ [kM]"), out)
  end)

  it("prints the memory per pending promise, with and without resolve", function()
    local without = tonumber(out:match("| resolve function dropped | (%d+) B |"))
    local with = tonumber(out:match("| resolve function kept | (%d+) B |"))
    assert.is_truthy(without and with, out)
    -- a promise, a handler and a second promise cannot fit in 64 bytes, and
    -- keeping a function alive cannot make them smaller
    assert.is_true(without > 64, out)
    assert.is_true(with >= without, out)
  end)

  it("says that node was not run", function()
    assert.is_truthy(out:find("--no-node: JavaScript programs not run.", 1, true), out)
    assert.is_falsy(out:find("FAILED", 1, true), out)
  end)

  it("runs only the workloads asked for", function()
    local o, c = sh("lua5.4 bench/run.lua --n 100 --runs 1 --no-node --only b,d")
    assert.are.equal(0, c, o)
    assert.is_truthy(o:find("\n| b | "), o)
    assert.is_truthy(o:find("\n| d | "), o)
    for _, w in ipairs{ "a", "c", "e", "f" } do
      assert.is_falsy(o:find("\n| " .. w .. " | "), o)
    end
    assert.is_falsy(o:find("Memory per pending promise", 1, true), o)
  end)

  it("fails with exit code 1 when a workload computes a wrong result", function()
    -- a copy of the driver beside a broken workload a
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir .. "/workloads"))
    assert(os.execute("cp bench/run.lua " .. dir .. "/run.lua"))
    local function write(name, check)
      local f = assert(io.open(dir .. "/workloads/" .. name, "w"))
      f:write(('print("elapsed=0.001 check=%d maxrss_kb=1")\n'):format(check))
      f:close()
    end
    write("a.lua", 0)       -- wrong: the sum of 1..2 is 3
    write("a_raw.lua", 3)   -- right
    local o, c = sh("lua5.4 " .. dir .. "/run.lua --n 2 --runs 1 --no-node --only a")
    os.execute("rm -rf " .. dir)
    assert.are.equal(1, c, o)
    assert.is_truthy(o:find("FAIL: lua a (size 2): check=0, expected 3", 1, true), o)
    assert.is_falsy(o:find("FAIL: lua a_raw", 1, true), o)
    assert.is_truthy(o:find("**1 run FAILED**", 1, true), o)
    -- the failed workload has no rate; its raw baseline still has one
    assert.is_truthy(o:find("| a | create + call executor and handler closures | 2.0 k | — |", 1, true), o)
  end)

  it("rejects bad options with exit code 2", function()
    local o, c = sh("lua5.4 bench/run.lua --only z")
    assert.are.equal(2, c)
    assert.is_truthy(o:find("unknown workload 'z'", 1, true), o)
    o, c = sh("lua5.4 bench/run.lua --runs 0")
    assert.are.equal(2, c)
    assert.is_truthy(o:find("positive integer expected", 1, true), o)
  end)
end)

describe("bench workloads", function()
  local n = 1000

  local function result(out)
    local elapsed = tonumber(out:match("elapsed=(%S+)"))
    local check = out:match("check=(%S+)")
    local rss = tonumber(out:match("maxrss_kb=(%d+)"))
    return elapsed, check, rss
  end

  local function expected(w)
    if w == "b" then return n end
    return triangle(n)
  end

  it("compute the expected result in Lua", function()
    for _, w in ipairs{ "a", "a_raw", "b", "c", "d", "d_raw", "e", "f" } do
      local out, code = sh(("lua5.4 bench/workloads/%s.lua %d"):format(w, n))
      assert.are.equal(0, code, w .. ": " .. out)
      local elapsed, check, rss = result(out)
      assert.are.equal(tostring(expected(w)), check, w .. ": " .. out)
      assert.is_true(elapsed > 0 and elapsed < 10, w .. ": " .. out)
      assert.is_true(rss > 0, w .. ": " .. out)
    end
  end)

  it("compute the same result in JavaScript", function()
    if not node_available() then
      pending("node is not installed")
      return
    end
    for _, w in ipairs(WORKLOADS) do
      local out, code = sh(("node bench/workloads/%s.js %d"):format(w, n))
      assert.are.equal(0, code, w .. ": " .. out)
      local elapsed, check, rss = result(out)
      assert.are.equal(tostring(expected(w)), check, w .. ": " .. out)
      assert.is_true(elapsed > 0 and elapsed < 10, w .. ": " .. out)
      assert.is_true(rss > 0, w .. ": " .. out)
    end
  end)

  it("measure memory with every measured promise fulfilled", function()
    local out, code = sh(("lua5.4 bench/workloads/mem.lua %d"):format(n))
    assert.are.equal(0, code, out)
    assert.is_truthy(out:find("check=" .. triangle(n), 1, true), out)
    if node_available() then
      out, code = sh(("node --expose-gc bench/workloads/mem.js %d"):format(n))
      assert.are.equal(0, code, out)
      assert.is_truthy(out:find("check=" .. triangle(n), 1, true), out)
    end
  end)

  it("reject a bad size", function()
    local out, code = sh("lua5.4 bench/workloads/a.lua zero")
    assert.are_not.equal(0, code)
    assert.is_truthy(out:find("positive integer expected, got zero", 1, true), out)
  end)
end)
