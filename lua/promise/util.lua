--- Internal helpers shared by the Lua modules of luv-promise (not part of
--- the public API). This module requires nothing, so any module (even one
--- the core loads) may use it.

local type, error, getmetatable, rawget, tostring, pairs, ipairs =
  type, error, getmetatable, rawget, tostring, pairs, ipairs
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

-- Every argument error goes through here. `level` counts as for `error`
-- from the function that calls `raise` (1: that function; 2: its caller).
-- Callers must not tail-call `raise` (`return raise(...)`): a tail call
-- drops their frame and the message would point one level too far out.
local function raise(n, fname, problem, level)
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, problem), level + 1)
end

--- Raises `bad argument #n to 'fname' (problem)` at the caller of the
--- public function that called it (level 3), or `level` frames further out
--- (`level` as for `error`, counted from the public function: default 2).
---@param n integer
---@param fname string
---@param problem string
---@param level? integer
function M.badarg(n, fname, problem, level)
  raise(n, fname, problem, (level or 2) + 1)
end

--- Raises `bad argument #n to 'fname' (expected expected, got type)` at the
--- caller of the public function that called it (level 3), with the type
--- named by `typename`.
---@param n integer
---@param fname string
---@param expected string
---@param v any
function M.argerror(n, fname, expected, v)
  raise(n, fname, expected .. " expected, got " .. typename(v), 3)
end

--- Raises `calling 'fname' on bad self (expected expected, got type)` at
--- the caller of the method that called it (level 3), or `level` frames
--- further out (as for `badarg`).
---@param fname string
---@param expected string
---@param v any
---@param level? integer
function M.selferror(fname, expected, v, level)
  error(("calling '%s' on bad self (%s expected, got %s)"):format(fname, expected, typename(v)),
    (level or 2) + 1)
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
  if problem then raise(n, fname, problem, 3) end
  return v
end

------------------------------------------------------------ option tables

-- The problem text of a value for one schema field, or nil when it is good.
-- Each kind returns "<expected> expected, got <what>", as Lua's own
-- argument errors do.
local KINDS = {}

function KINDS.number(v, f)
  if type(v) ~= "number" then return "number expected, got " .. typename(v) end
  if v ~= v or (v == huge and not f.huge) or v == -huge
    or (f.min and v < f.min) or (f.above and v <= f.above)
    or (f.integer and v ~= huge and v % 1 ~= 0) then
    return f.expected .. " expected, got " .. tostring(v)
  end
end

function KINDS.ms(v, f)
  return M.msproblem(v, f.never, f.positive)
end

KINDS["function"] = function(v)
  if not M.is_callable(v) then return "function expected, got " .. typename(v) end
end

function KINDS.signal(v)
  -- looked up when used: util loads before promise.abort exists
  local AbortSignal = package.loaded.promise.AbortSignal
  if not AbortSignal.is(v) then return "AbortSignal expected, got " .. typename(v) end
end

function KINDS.enum(v, f)
  if not f.set[v] then
    return f.expected .. " expected, got " ..
      (type(v) == "string" and ("%q"):format(v) or typename(v))
  end
end

local function typekind(name)
  return function(v)
    if type(v) ~= name then return name .. " expected, got " .. typename(v) end
  end
end
KINDS.boolean, KINDS.string, KINDS.table = typekind("boolean"), typekind("string"), typekind("table")

-- "any": no test of its own; the field's `check` says it all
function KINDS.any() end

-- "number >= 0 or math.huge", "integer > 0": what a number field expects
local function numbertext(f)
  local t = f.integer and "integer" or "number"
  if f.min then t = ("%s >= %s"):format(t, f.min) end
  if f.above then t = ("%s > %s"):format(t, f.above) end
  if f.huge then t = t .. " or math.huge" end
  return t
end

-- '"a", "b" or "c"'
local function enumtext(values)
  local q = {}
  for i, v in ipairs(values) do q[i] = type(v) == "string" and ("%q"):format(v) or tostring(v) end
  if #q == 1 then return q[1] end
  return table.concat(q, ", ", 1, #q - 1) .. " or " .. q[#q]
end

--- `number 1.5` shows as `1.5`, anything else as its type name.
local function shownumber(v)
  if type(v) == "number" then return tostring(v) end
  return typename(v)
end

--- A `check` for a schema field (kind "any"): nil when `ok(v)`, else
--- "<what> expected, got <show(v)>" (`show` defaults to the value of a
--- number, the type name of anything else).
---@param what string
---@param ok fun(v: any): boolean
---@param show? fun(v: any): string
---@return fun(v: any): string?
function M.expect(what, ok, show)
  show = show or shownumber
  return function(v)
    if not ok(v) then return what .. " expected, got " .. show(v) end
  end
end

--- Compiles an option schema for `checkopts`. `fields` is an array of field
--- specs `{ name, kind, default = v, check = fn, ... }`, checked in that
--- order; `kind` is one of
---   "number"   flags: `min` (>=), `above` (>), `integer`, `huge` (math.huge
---              allowed; NaN and -math.huge never are), `expected` (the text
---              of the message; built from the flags when absent)
---   "ms"       a timer duration, see `msproblem`; flags `never`, `positive`
---   "function" anything callable; "signal" an AbortSignal;
---   "boolean", "string", "table"
---   "enum"     one of `values` (an array)
---   "any"      no test but `check`
--- `check(v)` (any kind, run after the kind's own test) returns nil or a
--- problem text (see `expect`). `required = true` checks the field even
--- when it is nil (so `check(nil)` must give the problem). `strict` refuses options the schema does not name (to
--- catch typos): `true` says "unknown option <k>", a function `strict(k)`
--- gives the text itself; otherwise unknown options are passed through.
---@param fields table[]
---@param strict? boolean|fun(k: any): string
---@return table schema
function M.schema(fields, strict)
  local byname = {}
  for _, f in ipairs(fields) do
    M.field(f, 3)
    byname[f[1]] = f
  end
  return { fields = fields, byname = byname, strict = strict or false }
end

--- Compiles one field spec (as in `schema`) in place and returns it: for
--- a positional argument, checked with `checkarg` or `problem`.
---@param f table
---@param level? integer where a bad spec is reported (default 2)
---@return table f
function M.field(f, level)
  local kind = f[2]
  f.test = KINDS[kind] or error("schema: unknown kind " .. tostring(kind), level or 2)
  if kind == "number" then
    f.expected = f.expected or numbertext(f)
  elseif kind == "enum" then
    f.set = {}
    for _, v in ipairs(f.values) do f.set[v] = true end
    f.expected = f.expected or enumtext(f.values)
  end
  return f
end

--- The problem text of `v` for the compiled field `f`, or nil when good.
---@param f table
---@param v any
---@return string?
function M.problem(f, v)
  return f.test(v, f) or (f.check and f.check(v))
end

--- Checks argument `n` of `fname` against the compiled field `f` (nil is
--- checked too); raises `bad argument #n to 'fname' (<problem>)` at the
--- caller of the public function, or `level` frames further out (as for
--- `badarg`). Returns `v`.
---@param n integer
---@param fname string
---@param v any
---@param f table
---@param level? integer
---@return any v
function M.checkarg(n, fname, v, f, level)
  local problem = f.test(v, f) or (f.check and f.check(v))
  if problem then raise(n, fname, problem, (level or 2) + 1) end
  return v
end

--- Checks the option table `opts` (argument `argn` of `fname`: nil or a
--- table) against `schema` (from `M.schema`), and returns a new table with
--- every field of the schema set (its value, else its default) and, in a
--- schema that is not strict, the other fields copied. Raises
--- `bad argument #argn to 'fname' (field 'name': <problem>)` at the caller
--- of the public function that called it, or `level` frames further out
--- (`level` as for `error`, counted from that function: default 2).
---@param fname string
---@param argn integer
---@param opts any
---@param schema table
---@param level? integer
---@return table
function M.checkopts(fname, argn, opts, schema, level)
  level = (level or 2) + 1
  local out = {}
  if opts ~= nil then
    if type(opts) ~= "table" then raise(argn, fname, "table expected, got " .. typename(opts), level) end
    local byname = schema.byname
    for k, v in pairs(opts) do
      if not byname[k] then
        local strict = schema.strict
        if strict then
          raise(argn, fname, strict == true and "unknown option " .. tostring(k) or strict(k), level)
        end
        out[k] = v
      end
    end
  end
  for _, f in ipairs(schema.fields) do
    local name = f[1]
    local v = opts and opts[name]
    if v == nil and not f.required then
      v = f.default
    else
      local problem = M.problem(f, v)
      if problem then raise(argn, fname, ("field '%s': %s"):format(name, problem), level) end
    end
    out[name] = v
  end
  return out
end

return M
