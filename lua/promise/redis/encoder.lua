--- Command arguments to RESP bytes (a RESP array of bulk strings).
---
--- Arguments are strings (binary safe) or numbers: integers as written,
--- floats as `%.17g` (so they read back exactly). `nil`, booleans and
--- tables are a Lua error for the caller. Large arguments are kept as
--- separate pieces so that a 10 MB value is never copied to be sent.

local util = require("promise.util")

local type, select, concat, mtype, format = type, select, table.concat, math.type, string.format

local M = {}

--- Arguments at least this long are written as their own piece.
local BIG <const> = 8192

--- The string form of argument `v`, or raises `bad argument #argn to 'fname'`.
---@param v any
---@param argn integer
---@param fname string
---@param level integer where to raise, as for `error` from the caller of this function
---@return string
local function tostr(v, argn, fname, level)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then
    if mtype(v) == "integer" then return format("%d", v) end
    return format("%.17g", v)
  end
  util.badarg(argn, fname, "string or number expected, got " .. util.typename(v), level + 1)
end
M.tostr = tostr

--- Encodes `name` and `args[first..last]` into `out` (a list of string
--- pieces, appended from `out.n + 1`); raises a Lua error at `level` for a
--- bad argument, numbering arguments from `argn0 + 1`, before writing.
---@param out table   pieces, with `n`
---@param name string the command name
---@param args table
---@param first integer
---@param last integer
---@param fname string  the public function, for messages
---@param argn0 integer the argument position before args[first]
---@param level integer
function M.encode(out, name, args, first, last, fname, argn0, level)
  local strs = { name }
  for i = first, last do
    strs[#strs + 1] = tostr(args[i], argn0 + i - first + 1, fname, level + 1)
  end
  local n = out.n
  local parts = { "*", #strs, "\r\n" }
  for _, s in ipairs(strs) do
    local len = #s
    if len >= BIG then
      parts[#parts + 1] = format("$%d\r\n", len)
      n = n + 1
      out[n] = concat(parts)
      parts = {}
      n = n + 1
      out[n] = s
      parts[1] = "\r\n"
    else
      parts[#parts + 1] = "$"
      parts[#parts + 1] = len
      parts[#parts + 1] = "\r\n"
      parts[#parts + 1] = s
      parts[#parts + 1] = "\r\n"
    end
  end
  n = n + 1
  out[n] = concat(parts)
  out.n = n
end

--- The bytes of one command, as a single string (for tests and tools).
---@param ... string|number the command and its arguments
---@return string
function M.command(...)
  local out = { n = 0 }
  M.encode(out, tostr((...), 1, "command", 2), { ... }, 2, select("#", ...), "command", 1, 2)
  return concat(out, "", 1, out.n)
end

return M
