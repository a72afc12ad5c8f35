--- Internal helpers shared by the Lua modules of luv-promise (not part of
--- the public API). This module requires nothing, so any module (even one
--- the core loads) may use it.

local type, error, getmetatable, rawget, tostring = type, error, getmetatable, rawget, tostring
local huge = math.huge

local M = {}

--- Whether `v` can be called: a function, or a value whose metatable has a
--- `__call` field.
---@param v any
---@return boolean
function M.is_callable(v)
  if type(v) == "function" then return true end
  local mt = getmetatable(v)
  return type(mt) == "table" and rawget(mt, "__call") ~= nil
end

--- The name of `v`'s type for error messages: its metatable's `__name`
--- when that is a string (e.g. "AbortSignal", "Timeout"), else `type(v)`.
---@param v any
---@return string
function M.typename(v)
  local mt = getmetatable(v)
  if type(mt) == "table" and type(rawget(mt, "__name")) == "string" then
    return rawget(mt, "__name")
  end
  return type(v)
end
local typename = M.typename

--- Raises `bad argument #n to 'fname' (expected expected, got type)` at the
--- caller of the public function that called it (level 3), with the type
--- named by `typename`.
---@param n integer
---@param fname string
---@param expected string
---@param v any
function M.argerror(n, fname, expected, v)
  error(("bad argument #%d to '%s' (%s expected, got %s)"):format(n, fname, expected, typename(v)), 3)
end

--- Largest delay a timer accepts (Node's TIMEOUT_MAX): 2^31 - 1 ms.
M.TIMEOUT_MAX = 2147483647
local TIMEOUT_MAX = M.TIMEOUT_MAX

--- Checks a duration in milliseconds that ends up in a timer: a number in
--- [0, TIMEOUT_MAX] (`(0, TIMEOUT_MAX]` when `positive`), or `math.huge`
--- ("never") when `never` is true. NaN, negative numbers, -math.huge and
--- finite numbers above TIMEOUT_MAX (2^53, 2^63 - 1, ...) are refused, so
--- nothing out of range reaches a uv timer. Returns nil when `v` is good,
--- else the text `<expected> expected, got <what>` for an argument error
--- (`number expected, got <type>` when `v` is not a number).
---@param v any
---@param never? boolean  accept math.huge
---@param positive? boolean refuse 0
---@return string? problem
function M.msproblem(v, never, positive)
  if type(v) ~= "number" then return "number expected, got " .. typename(v) end
  if (v > 0 or (v == 0 and not positive)) and v <= TIMEOUT_MAX then return nil end
  if never and v == huge then return nil end
  return ("number in %s0, %d]%s expected, got %s"):format(positive and "(" or "[",
    TIMEOUT_MAX, never and " or math.huge" or "", tostring(v))
end

--- Raises `bad argument #n to 'fname' (<problem>)` at the caller of the
--- public function that called it (level 3) when `msproblem(v, never,
--- positive)` finds a problem; returns `v` otherwise.
---@param n integer
---@param fname string
---@param v any
---@param never? boolean
---@param positive? boolean
---@return number
function M.checkms(n, fname, v, never, positive)
  local problem = M.msproblem(v, never, positive)
  if problem then error(("bad argument #%d to '%s' (%s)"):format(n, fname, problem), 3) end
  return v
end

return M
