--- The options of `Promise.breaker(opts)` (manual: docs/manual/breaker.md):
--- checked with `util.checkopts`, defaults filled in, the window built.
--- The breaker's messages name the offending value with its type
--- (`got number 0`, `got string "2"`).

local util = require("promise.util")
local rolling = require("promise.breaker.window")

local type, tostring = type, tostring
local floor, huge = math.floor, math.huge

local M = {}

local is_callable = util.is_callable

--- `number 0`, `string "x"`, `nil`: a value as the breaker's messages show it.
---@param v any
---@return string
function M.describe(v)
  if type(v) == "number" or type(v) == "string" then
    return ("%s %s"):format(type(v), type(v) == "string" and ("%q"):format(v) or tostring(v))
  end
  return type(v)
end
local describe = M.describe

local function is_int(v, min)
  return type(v) == "number" and v == floor(v) and v >= min and v < huge
end

-- a `check` for util.schema: `ok(v)` or "<what> expected, got <describe(v)>"
local function expect(what, ok) return util.expect(what, ok, describe) end

local function int1(v) return is_int(v, 1) end
local function rate(v) return type(v) == "number" and v > 0 and v <= 1 end
local function reset(v) return is_callable(v) or (type(v) == "number" and v >= 0) end
-- a timer's delay: at most 2^31 - 1 ms; math.huge is no timeout at all
local function timeout(v) return not util.msproblem(v, true, true) end

local OPTIONS = util.schema({
  { "failureThreshold", "any", check = expect("integer >= 1", int1), default = 5 },
  { "halfOpenMax", "any", check = expect("integer >= 1", int1), default = 1 },
  { "successThreshold", "any", check = expect("integer >= 1", int1), default = 1 },
  { "minimumCalls", "any", check = expect("integer >= 1", int1), default = 10 },
  { "errorRate", "any", check = expect("number in (0, 1]", rate), default = 0.5 },
  { "resetTimeout", "any", check = expect("number >= 0 or function", reset), default = 30000 },
  { "timeout", "any", check = expect(("number in (0, %d] or math.huge"):format(util.TIMEOUT_MAX), timeout) },
  { "isFailure", "any", check = expect("function", is_callable) },
  { "fallback", "any", check = expect("function", is_callable) },
  { "window", "any", check = expect("table", function(v) return type(v) == "table" end) },
}, function(k)
  return "unknown option " .. (type(k) == "string" and ("'" .. k .. "'") or tostring(k))
end)

M.DEFAULT_RESET = 30000

-- The window of `o.window` (checked to be a table). Raises at `level`,
-- counted as for `error` in this function (1: here, 2: its caller).
local function build_window(w, level)
  local function bad(field, what, v)
    util.badarg(1, "breaker", ("field '%s': %s expected, got %s"):format(field, what, describe(v)), level + 1)
  end
  if w.kind ~= "count" and w.kind ~= "time" then bad("window.kind", '"count" or "time"', w.kind) end
  local size = w.size
  if w.kind == "count" then
    if not is_int(size, 1) then bad("window.size", "integer >= 1", size) end
  elseif not (type(size) == "number" and size > 0 and size < huge) then
    bad("window.size", "positive number", size)
  end
  local window = { kind = w.kind, size = size }
  rolling.clear(window)
  return window
end

--- Checks `opts` (argument 1 of `breaker`) and returns the configuration:
--- every option with its default, `timeout` nil for none, `window` built,
--- `minimumCalls` capped at a count window's size. Raises at the caller of
--- `breaker` (the function that calls this one).
---@param opts any
---@return table
function M.check(opts)
  local o = util.checkopts("breaker", 1, opts, OPTIONS, 3)
  if o.timeout == huge then o.timeout = nil end
  if o.window then
    o.window = build_window(o.window, 4)  -- here, breaker, its caller
    if opts.failureThreshold ~= nil then
      util.badarg(1, "breaker", "field 'failureThreshold' does not apply with 'window'", 3)
    end
    if o.window.kind == "count" and o.minimumCalls > o.window.size then
      o.minimumCalls = o.window.size
    end
  elseif opts and (opts.errorRate ~= nil or opts.minimumCalls ~= nil) then
    util.badarg(1, "breaker", "fields 'errorRate' and 'minimumCalls' need 'window'", 3)
  end
  return o
end

return M
