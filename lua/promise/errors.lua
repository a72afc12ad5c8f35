--- Error classes (manual: docs/manual/errors.md).
---
--- Every class is a table, callable as `Cls(message, [fields])` to make an
--- instance, with `Cls.is(v)` (true for instances of `Cls` and of its
--- subclasses) and `Cls:extend(name)` (a new subclass). Instances are plain
--- tables with `name`, `message` and whatever `fields` held (`cause`,
--- `errors`, `code`, ...); `tostring(err)` gives `"<name>: <message>"`.
--- They are ordinary Lua values: `error(err)` and `pcall` carry them unchanged.
---
--- This module must not require("promise"): the core loads it.

local util = require("promise.util")

local type, tostring, pairs, rawget, getmetatable, setmetatable, error =
  type, tostring, pairs, rawget, getmetatable, setmetatable, error

---@class promise.Error
---@field name string     the class name, e.g. "TypeError"
---@field message string  "" when none was given
---@field cause any       optional
---@operator call(string?): promise.Error

---@class promise.ErrorClass
---@field name string
---@field is fun(v: any): boolean
---@field extend fun(self: promise.ErrorClass, name: string): promise.ErrorClass

local M = {}

-- class table -> parent class table (false for the root). Weak keys, so a
-- user subclass that nobody references any more can be collected.
local parents = setmetatable({}, { __mode = "k" })
-- class table -> its instance initialiser (inherited by subclasses).
local inits = setmetatable({}, { __mode = "k" })

--- JavaScript's Error.prototype.toString.
---@param err promise.Error
---@return string
local function err_tostring(err)
  local name, msg = rawget(err, "name"), rawget(err, "message")
  if name == nil then name = err.name end
  if msg == nil then msg = err.message end
  name = name == nil and "Error" or tostring(name)
  msg = msg == nil and "" or tostring(msg)
  if name == "" then return msg end
  if msg == "" then return name end
  return name .. ": " .. msg
end

local function typename(v)
  if parents[v] ~= nil then return "error class" end
  return type(v)
end

local new_class

--- Builds the constructor of `cls` (the `__call` of its metatable).
---@param cls table
---@param init fun(inst: table, fname: string)? validates/completes a new instance
local function make_constructor(cls, init)
  return function(_, message, fields)
    local fname = rawget(cls, "name")
    local mt = type(message)
    if mt == "number" then
      message = tostring(message)
    elseif mt == "nil" then
      message = ""
    elseif mt ~= "string" then
      util.badarg(1, fname, "string expected, got " .. typename(message))
    end
    local ft = type(fields)
    if ft ~= "nil" and ft ~= "table" then
      util.badarg(2, fname, "table expected, got " .. typename(fields))
    end
    local inst = {}
    if fields then
      for k, v in pairs(fields) do inst[k] = v end
    end
    inst.name = fname
    inst.message = message
    if init then init(inst, fname) end
    return setmetatable(inst, cls)
  end
end

--- Makes a subclass of `parent` (or the root class when `parent` is false).
---@param name string
---@param parent table|false
---@param init fun(inst: table, fname: string)? inherited by subclasses
---@return promise.ErrorClass
function new_class(name, parent, init)
  local cls = { name = name }
  cls.__index = cls
  cls.__tostring = err_tostring
  parents[cls] = parent
  inits[cls] = init

  --- True when `v` is an instance of this class or of one of its subclasses.
  --- Never raises, whatever `v` is.
  ---@param v any
  ---@return boolean
  cls.is = function(v)
    if type(v) ~= "table" then return false end
    local mt = getmetatable(v)
    while mt do
      if mt == cls then return true end
      mt = parents[mt]
    end
    return false
  end

  --- Makes a subclass named `subname`.
  ---@param self promise.ErrorClass
  ---@param subname string
  ---@return promise.ErrorClass
  cls.extend = function(self, subname)
    if type(self) ~= "table" or parents[self] == nil then
      error(("calling 'extend' on bad self (error class expected, got %s)"):format(typename(self)), 2)
    end
    if type(subname) ~= "string" then
      util.badarg(1, "extend", "string expected, got " .. typename(subname))
    end
    if subname == "" then
      util.badarg(1, "extend", "class name must not be empty")
    end
    return new_class(subname, self, inits[self])
  end

  return setmetatable(cls, {
    __index = parent or nil,
    __call = make_constructor(cls, init),
    __tostring = function() return "class " .. name end,
  })
end

-- AggregateError(message, {errors = list}): `errors` must be a table and
-- defaults to an empty list.
local function init_aggregate(inst, fname)
  local errs = inst.errors
  if errs == nil then
    inst.errors = { n = 0 }
  elseif type(errs) ~= "table" then
    util.badarg(2, fname, "field 'errors' must be a table, got " .. typename(errs), 3)
  end
end

M.Error = new_class("Error", false)
M.TypeError = M.Error:extend("TypeError")
M.AggregateError = new_class("AggregateError", M.Error, init_aggregate)
M.TimeoutError = M.Error:extend("TimeoutError")
M.AbortError = M.Error:extend("AbortError")
M.CircuitOpenError = M.Error:extend("CircuitOpenError")
M.QueueFullError = M.Error:extend("QueueFullError")
M.IOError = M.Error:extend("IOError")
-- promise.redis: an error reply (`code` = its first word, `command` = the
-- command's name as sent); a lock not acquired (`code`); a lock lost.
M.RedisError = M.Error:extend("RedisError")
M.LockError = M.Error:extend("LockError")
M.LockLostError = M.Error:extend("LockLostError")

return M
