--- What the coordination objects (lock.lua, semaphore.lua) share: the list
--- of independent servers and its majority, the option checks, random
--- tokens, and running one script on every server at once, where a server
--- that fails or does not answer within its timeout is a "no", never an
--- error. Manual: docs/manual/redis.md ("Locks").
---
--- Everything here talks to a server only through `client:eval`, so a fake
--- client (any table with an `eval` method) stands in for a real one.

local Promise = require("promise")
local util = require("promise.util")
local uv = require("luv")

local type, ipairs, pairs, setmetatable, format, byte, floor, huge =
  type, ipairs, pairs, setmetatable, string.format, string.byte, math.floor, math.huge

local M = {}

local function has_eval(v)
  local t = type(v)
  return (t == "table" or t == "userdata") and util.is_callable(v.eval)
end

--- Checks `clients` (one client, or a non-empty list of independent
--- servers' clients) and returns them as a list.
---@param clients any
---@param fname string
---@return table[]
function M.clients(clients, fname)
  if has_eval(clients) then return { clients } end
  if type(clients) ~= "table" or #clients == 0 then
    util.badarg(1, fname, "RedisClient or list of RedisClient expected, got "
      .. (type(clients) == "table" and "empty table" or util.typename(clients)), 3)
  end
  local list = {}
  for i, c in ipairs(clients) do
    if not has_eval(c) then
      util.badarg(1, fname, ("element %d: RedisClient expected, got %s"):format(i, util.typename(c)), 3)
    end
    list[i] = c
  end
  return list
end

-- every option of the coordination objects, by name (util.schema fields)
local FIELDS = {
  ttl = { "ttl", "ms", positive = true },
  wait = { "wait", "ms", never = true },
  retryDelay = { "retryDelay", "ms" },
  retryJitter = { "retryJitter", "ms" },
  serverTimeout = { "serverTimeout", "ms", positive = true },
  driftFactor = { "driftFactor", "any", check = util.expect("number in [0, 1)",
    function(v) return type(v) == "number" and v >= 0 and v < 1 end) },
  autoExtend = { "autoExtend", "boolean" },
  signal = { "signal", "signal" },
  random = { "random", "function" },
  prefix = { "prefix", "string" },
}

local schemas = setmetatable({}, { __mode = "k" })

--- The schema of the option names `allowed` (a set; nil: all of them).
local function schema(allowed)
  local key = allowed or FIELDS
  local sc = schemas[key]
  if not sc then
    local fields = {}
    for name, f in pairs(FIELDS) do
      if allowed == nil or allowed[name] then fields[#fields + 1] = f end
    end
    table.sort(fields, function(a, b) return a[1] < b[1] end)
    sc = util.schema(fields)
    schemas[key] = sc
  end
  return sc
end

--- Checks the option table `opts` (argument `n` of `fname`) with
--- util.checkopts against the names `allowed` (a set; nil: every option
--- above); returns a new table: `base`'s values overridden by those
--- options of `opts` (other fields of `opts` are ignored). Raises at the
--- caller's caller.
---@param opts any
---@param n integer
---@param fname string
---@param base table
---@param allowed table<string, boolean>?
---@return table
function M.options(opts, n, fname, base, allowed)
  local merged = {}
  for k, v in pairs(base) do merged[k] = v end
  if opts == nil then return merged end
  local sc = schema(allowed)
  local checked = util.checkopts(fname, n, opts, sc, 3)
  for _, f in ipairs(sc.fields) do
    local v = checked[f[1]]
    if v ~= nil then merged[f[1]] = v end
  end
  return merged
end

--- A random token of 128 bits, as 32 hex digits.
---@return string
function M.token()
  local b = uv.random(16)
  return format("%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x", byte(b, 1, 16))
end

--- How many of `n` servers make a majority: floor(n/2) + 1.
---@param n integer
---@return integer
function M.majority(n)
  return floor(n / 2) + 1
end

--- The clock drift allowance of a lock of `ttl` ms (Redlock's
--- `driftFactor * ttl + 2`).
---@param ttl number
---@param factor number
---@return number
function M.drift(ttl, factor)
  return floor(factor * ttl) + 2
end

--- Runs script `s` on every client of `list` (or on those whose index is
--- set in `only`), each with `timeout` ms; resolves (never rejects) to the
--- list of `allSettled` results, in the order of the clients (an entry
--- left out by `only` is nil).
---@param list table[]
---@param s any a promise.redis.Script
---@param keys (string|number)[]
---@param args (string|number)[]
---@param timeout number?
---@param only table<integer, boolean>?
---@return Promise
function M.each(list, s, keys, args, timeout, only)
  local ps, n = {}, #list
  local opts = timeout and timeout ~= huge and { timeout = timeout } or nil
  for i = 1, n do
    if only == nil or only[i] then
      local c = list[i]
      ps[i] = Promise.try(c.eval, c, s, keys, args, opts)
    else
      ps[i] = false
    end
  end
  return Promise.allSettled(ps):next(function(results)
    if only then
      for i = 1, n do if not only[i] then results[i] = nil end end
    end
    return results
  end)
end

--- Counts the results of `each` fulfilled with a value that `yes(value)`
--- accepts. Also returns the set of indexes that said yes and the list of
--- the errors met (rejections).
---@param results table
---@param n integer
---@param yes fun(v: any): boolean
---@return integer count
---@return table<integer, boolean> which
---@return any[] errors
function M.count(results, n, yes)
  local c, which, errs = 0, {}, {}
  for i = 1, n do
    local r = results[i]
    if r then
      if r.status == "fulfilled" then
        if yes(r.value) then
          c = c + 1
          which[i] = true
        end
      else
        errs[#errs + 1] = r.reason
      end
    end
  end
  return c, which, errs
end

return M
