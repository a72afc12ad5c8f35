--- Internal helpers shared by the Lua modules of luv-promise (not part of
--- the public API). This module requires nothing, so any module (even one
--- the core loads) may use it.

local type, error, getmetatable, rawget = type, error, getmetatable, rawget

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

return M
