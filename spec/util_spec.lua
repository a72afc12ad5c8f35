-- promise.util: the argument and option checks every module uses. Each
-- message names the user's call site, whatever stands between.
local util = require("promise.util")
local Promise = require("promise")

-- the error of f(), and whether it points at this file
local function err(f)
  local ok, e = pcall(f)
  assert.is_false(ok)
  return (e:gsub("^spec/util_spec%.lua:%d+: ", "")), e:match("^spec/util_spec%.lua:%d+: ") ~= nil
end

local SCHEMA = util.schema({
  { "count", "number", integer = true, min = 1, huge = true, default = 1 },
  { "rate", "number", above = 0 },
  { "delay", "ms", never = true },
  { "period", "ms", positive = true },
  { "on", "function" },
  { "flag", "boolean", default = false },
  { "mode", "enum", values = { "a", "b", "c" }, default = "a" },
  { "signal", "signal" },
  { "name", "string", check = function(v) if v == "" then return "non-empty string expected" end end },
}, true)

-- a public function as a module writes it (not `return util.checkopts(...)`:
-- a tail call would take the public function's frame off the stack)
local function public(opts)
  local o = util.checkopts("public", 1, opts, SCHEMA)
  return o
end
-- one with a local checker between: it passes the extra level
local function inner(opts)
  local o = util.checkopts("outer", 2, opts, SCHEMA, 3)
  return o
end
local function outer(_, opts)
  local o = inner(opts)
  return o
end

describe("util.checkopts", function()
  it("returns a new table with the defaults filled in", function()
    local opts = { count = 3 }
    local o = public(opts)
    assert.are_not.equal(opts, o)
    assert.same({ count = 3, flag = false, mode = "a" }, o)
    assert.same({ count = 1, flag = false, mode = "a" }, public(nil))
  end)

  it("keeps false and accepts every good value", function()
    local sig = Promise.AbortController().signal
    local o = public{ count = math.huge, rate = 0.5, delay = math.huge, period = 1, on = print,
                      flag = false, mode = "c", signal = sig, name = "x" }
    assert.equal(math.huge, o.count)
    assert.equal(false, o.flag)
    assert.equal(sig, o.signal)
  end)

  it("raises Lua-style messages at the caller of the public function", function()
    local cases = {
      { 5, "table expected, got number" },
      { { cnt = 1 }, "unknown option cnt" },
      { { count = "1" }, "field 'count': number expected, got string" },
      { { count = 1.5 }, "field 'count': integer >= 1 or math.huge expected, got 1.5" },
      { { count = 0 / 0 }, "field 'count': integer >= 1 or math.huge expected, got " .. tostring(0 / 0) },
      { { rate = 0 }, "field 'rate': number > 0 expected, got 0" },
      { { rate = math.huge }, "field 'rate': number > 0 expected, got inf" },
      { { delay = -1 }, "field 'delay': number in [0, 2147483647] or math.huge expected, got -1" },
      { { period = 0 }, "field 'period': number in (0, 2147483647] expected, got 0" },
      { { on = true }, "field 'on': function expected, got boolean" },
      { { flag = 1 }, "field 'flag': boolean expected, got number" },
      { { mode = "d" }, "field 'mode': \"a\", \"b\" or \"c\" expected, got \"d\"" },
      { { mode = 1 }, "field 'mode': \"a\", \"b\" or \"c\" expected, got number" },
      { { signal = {} }, "field 'signal': AbortSignal expected, got table" },
      { { signal = Promise.resolve() }, "field 'signal': AbortSignal expected, got Promise" },
      { { name = "" }, "field 'name': non-empty string expected" },
    }
    for _, c in ipairs(cases) do
      local msg, here = err(function() public(c[1]) end)
      assert.equal("bad argument #1 to 'public' (" .. c[2] .. ")", msg)
      assert.is_true(here, msg)
      msg, here = err(function() outer(nil, c[1]) end)
      assert.equal("bad argument #2 to 'outer' (" .. c[2] .. ")", msg)
      assert.is_true(here, msg)
    end
  end)

  it("passes unknown options through in a schema that is not strict", function()
    local open = util.schema({ { "n", "number", default = 2 } })
    assert.same({ n = 2, extra = "x" }, util.checkopts("f", 1, { extra = "x" }, open))
  end)

  it("refuses a schema with an unknown kind", function()
    assert.has_error(function() util.schema({ { "x", "float" } }) end)
  end)
end)

describe("util.argerror, util.badarg, util.checkms", function()
  local function pub(v) util.argerror(2, "pub", "string", v) end
  local function bad(v) util.badarg(1, "bad", "odd " .. v) end
  local function ms(v)
    local r = util.checkms(1, "ms", v)
    return r
  end

  it("point at the caller of the public function", function()
    local msg, here = err(function() pub(Promise.resolve()) end)
    assert.equal("bad argument #2 to 'pub' (string expected, got Promise)", msg)
    assert.is_true(here)
    msg, here = err(function() bad(3) end)
    assert.equal("bad argument #1 to 'bad' (odd 3)", msg)
    assert.is_true(here)
    msg, here = err(function() ms(-1) end)
    assert.equal("bad argument #1 to 'ms' (number in [0, 2147483647] expected, got -1)", msg)
    assert.is_true(here)
    assert.equal(5, ms(5))
  end)
end)
