-- Error classes (docs/manual/errors.md).
local errors = require("promise.errors")

local NAMES = {
  "Error", "TypeError", "AggregateError", "TimeoutError", "AbortError",
  "CircuitOpenError", "QueueFullError", "IOError",
  "RedisError", "LockError", "LockLostError",
}

describe("promise.errors", function()
  it("exports exactly the contract's classes", function()
    local got = {}
    for k in pairs(errors) do got[#got + 1] = k end
    table.sort(got)
    local want = { table.unpack(NAMES) }
    table.sort(want)
    assert.same(want, got)
  end)

  for _, name in ipairs(NAMES) do
    describe(name, function()
      local Cls = errors[name]

      it("makes instances with name, message and tostring '<name>: <message>'", function()
        local e = Cls("something broke")
        assert.equal("table", type(e))
        assert.equal(name, e.name)
        assert.equal(name, Cls.name)
        assert.equal("something broke", e.message)
        assert.is_nil(e.cause)
        assert.equal(name .. ": something broke", tostring(e))
      end)

      it("is an Error subclass and recognised by its own is()", function()
        local e = Cls("x")
        assert.is_true(Cls.is(e))
        assert.is_true(errors.Error.is(e))
      end)

      it("copies fields into the instance", function()
        local cause = errors.Error("root")
        local e = Cls("wrapped", { cause = cause, code = "E1", extra = 42 })
        assert.equal(cause, e.cause)
        assert.equal("E1", e.code)
        assert.equal(42, e.extra)
        assert.equal(name, e.name)
        assert.equal("wrapped", e.message)
      end)
    end)
  end

  describe("tostring", function()
    it("gives just the name when the message is nil or empty", function()
      assert.equal("Error", tostring(errors.Error()))
      assert.equal("TypeError", tostring(errors.TypeError("")))
      assert.equal("", errors.Error().message)
    end)

    it("converts a number message to a string", function()
      local e = errors.Error(42)
      assert.equal("42", e.message)
      assert.equal("Error: 42", tostring(e))
    end)

    it("follows name and message changed on the instance, like JavaScript", function()
      local e = errors.Error("m")
      e.name = "Custom"
      assert.equal("Custom: m", tostring(e))
      e.name = ""
      assert.equal("m", tostring(e))
    end)

    it("names the class when printing the class itself", function()
      assert.equal("class TimeoutError", tostring(errors.TimeoutError))
    end)
  end)

  describe("is()", function()
    it("is false for other classes, plain tables and non-tables, and never raises", function()
      local t = errors.TypeError("x")
      assert.is_false(errors.AbortError.is(t))
      assert.is_false(errors.IOError.is(errors.Error("base")))
      assert.is_false(errors.Error.is({ name = "Error", message = "fake" }))
      assert.is_false(errors.Error.is(errors.Error)) -- the class is not an instance
      for _, v in ipairs({ 1, "Error", true, print, coroutine.create(print) }) do
        assert.is_false(errors.Error.is(v))
      end
      assert.is_false(errors.Error.is(nil))
      assert.is_false(errors.Error.is())
      local protected = setmetatable({}, { __metatable = "locked" })
      assert.is_false(errors.Error.is(protected))
      local hostile = setmetatable({}, { __index = function() error("touched") end })
      assert.is_false(errors.Error.is(hostile))
    end)

    it("is a plain function: Cls.is(v), not Cls:is(v)", function()
      local is = errors.TimeoutError.is
      assert.is_true(is(errors.TimeoutError("t")))
    end)
  end)

  describe("AggregateError", function()
    it("takes the contract form (message, {errors = list})", function()
      local list = { "a", "b", n = 2 }
      local e = errors.AggregateError("All promises were rejected", { errors = list })
      assert.equal(list, e.errors)
      assert.equal("AggregateError: All promises were rejected", tostring(e))
    end)

    it("defaults errors to an empty list", function()
      assert.same({ n = 0 }, errors.AggregateError("none").errors)
      assert.same({ n = 0 }, errors.AggregateError().errors)
    end)

    it("rejects an errors field that is not a table", function()
      assert.has_error(function() errors.AggregateError("m", { errors = 3 }) end,
        "bad argument #2 to 'AggregateError' (field 'errors' must be a table, got number)")
    end)

    it("keeps the default for subclasses", function()
      local Multi = errors.AggregateError:extend("MultiError")
      local e = Multi("m")
      assert.same({ n = 0 }, e.errors)
      assert.is_true(errors.AggregateError.is(e))
    end)
  end)

  describe("IOError", function()
    it("carries code, path and syscall", function()
      local e = errors.IOError("ENOENT: no such file or directory",
        { code = "ENOENT", path = "/nope", syscall = "open" })
      assert.equal("ENOENT", e.code)
      assert.equal("/nope", e.path)
      assert.equal("open", e.syscall)
      assert.equal("IOError: ENOENT: no such file or directory", tostring(e))
    end)
  end)

  describe("Error:extend", function()
    local ValidationError = errors.Error:extend("ValidationError")
    local FieldError = ValidationError:extend("FieldError")

    it("makes a callable subclass with the given name", function()
      local e = ValidationError("bad input", { field = "age" })
      assert.equal("ValidationError", e.name)
      assert.equal("age", e.field)
      assert.equal("ValidationError: bad input", tostring(e))
    end)

    it("recognises instances along the whole chain, and only upwards", function()
      local e = FieldError("x")
      assert.is_true(FieldError.is(e))
      assert.is_true(ValidationError.is(e))
      assert.is_true(errors.Error.is(e))
      assert.is_false(FieldError.is(ValidationError("y")))
      assert.is_false(errors.TypeError.is(e))
      assert.equal("FieldError: x", tostring(e))
    end)

    it("lets subclasses of built-in classes be recognised by the built-in", function()
      local Deadline = errors.TimeoutError:extend("DeadlineError")
      local e = Deadline("late")
      assert.is_true(errors.TimeoutError.is(e))
      assert.is_false(errors.AbortError.is(e))
    end)

    it("shares methods defined on a class with instances of its subclasses", function()
      local Base = errors.Error:extend("Base")
      function Base:describe() return "<" .. self.message .. ">" end
      local Sub = Base:extend("Sub")
      assert.equal("<hi>", Sub("hi"):describe())
    end)

    it("raises Lua-style errors on bad arguments", function()
      assert.has_error(function() errors.Error:extend() end,
        "bad argument #1 to 'extend' (string expected, got nil)")
      assert.has_error(function() errors.Error:extend(12) end,
        "bad argument #1 to 'extend' (string expected, got number)")
      assert.has_error(function() errors.Error:extend("") end,
        "bad argument #1 to 'extend' (class name must not be empty)")
      assert.has_error(function() errors.Error.extend("Oops") end,
        "calling 'extend' on bad self (error class expected, got string)")
    end)
  end)

  describe("constructor arguments", function()
    it("rejects a message that is not a string or number", function()
      assert.has_error(function() errors.Error({}) end,
        "bad argument #1 to 'Error' (string expected, got table)")
      assert.has_error(function() errors.TypeError(true) end,
        "bad argument #1 to 'TypeError' (string expected, got boolean)")
    end)

    it("rejects fields that are not a table", function()
      assert.has_error(function() errors.IOError("m", "ENOENT") end,
        "bad argument #2 to 'IOError' (table expected, got string)")
    end)

    it("points the error at the caller", function()
      local ok, msg = pcall(function() errors.Error({}) end)
      assert.is_false(ok)
      assert.matches("^spec/errors_spec%.lua:%d+: bad argument #1 to 'Error'", msg)
    end)

    it("does not keep the fields table", function()
      local fields = { code = "X" }
      local e = errors.Error("m", fields)
      fields.code = "Y"
      assert.equal("X", e.code)
      assert.is_nil(fields.name)
    end)

    it("does not let fields override name or message", function()
      local e = errors.TypeError("real", { name = "Fake", message = "fake" })
      assert.equal("TypeError", e.name)
      assert.equal("real", e.message)
    end)
  end)

  describe("as error() values", function()
    it("travels through error/pcall unchanged", function()
      local e = errors.TimeoutError("too slow")
      local ok, got = pcall(error, e)
      assert.is_false(ok)
      assert.equal(e, got)
      ok, got = pcall(function() error(e, 2) end)
      assert.is_false(ok)
      assert.equal(e, got)
    end)

    it("keeps plain-table shape: no traceback or extra fields are added", function()
      local e = errors.Error("m")
      pcall(error, e)
      local keys = {}
      for k in pairs(e) do keys[#keys + 1] = k end
      table.sort(keys)
      assert.same({ "message", "name" }, keys)
    end)

    it("is shown with its name by the standalone interpreter", function()
      local cmd = "LUA_PATH='lua/?.lua;;' lua5.4 -e "
        .. "'error(require(\"promise.errors\").IOError(\"boom\"))' 2>&1"
      local p = assert(io.popen(cmd))
      local out = p:read("a")
      p:close()
      assert.matches("IOError: boom", out, 1, true)
    end)

    it("is not a thenable (no 'next' field reachable)", function()
      for _, name in ipairs(NAMES) do
        assert.is_nil(errors[name]("x").next)
      end
    end)
  end)

  describe("via require('promise')", function()
    it("exposes the same classes as Promise.<Name>", function()
      local ok, Promise = pcall(require, "promise")
      assert(ok, "require('promise') failed: " .. tostring(Promise))
      for _, name in ipairs(NAMES) do
        assert.equal(errors[name], Promise[name], name)
      end
    end)
  end)
end)
