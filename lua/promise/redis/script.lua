--- Scripts: `local s = redis.script(source)`, then
--- `await(client:eval(s, keys, args))` runs it with EVALSHA and, on a
--- NOSCRIPT error (after SCRIPT FLUSH, a restart or a failover), once more
--- with EVAL, which also loads it. The SHA-1 is computed here, so the
--- first call costs no extra round trip.

local Promise = require("promise")
local util = require("promise.util")
local client = require("promise.redis.client")

local type, error, getmetatable, setmetatable, ipairs, format, rep, spack, sunpack =
  type, error, getmetatable, setmetatable, ipairs, string.format, string.rep, string.pack, string.unpack

local SOURCE, LIST = util.field({ "source", "string" }), util.field({ "list", "table" })

local M = {}

--- SHA-1 of `s` as 40 hex digits (FIPS 180-4).
---@param s string
---@return string
local function sha1(s)
  local h0, h1, h2, h3, h4 = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0
  local len = #s
  s = s .. "\128" .. rep("\0", (55 - len) % 64) .. spack(">I8", len * 8)
  local w = {}
  local function rol(x, n) return ((x << n) | (x >> (32 - n))) & 0xffffffff end
  for chunk = 1, #s, 64 do
    for i = 0, 15 do w[i] = sunpack(">I4", s, chunk + i * 4) end
    for i = 16, 79 do w[i] = rol(w[i - 3] ~ w[i - 8] ~ w[i - 14] ~ w[i - 16], 1) end
    local a, b, c, d, e = h0, h1, h2, h3, h4
    for i = 0, 79 do
      local f, k
      if i < 20 then f, k = (b & c) | (~b & d), 0x5A827999
      elseif i < 40 then f, k = b ~ c ~ d, 0x6ED9EBA1
      elseif i < 60 then f, k = (b & c) | (b & d) | (c & d), 0x8F1BBCDC
      else f, k = b ~ c ~ d, 0xCA62C1D6 end
      local t = (rol(a, 5) + (f & 0xffffffff) + e + k + w[i]) & 0xffffffff
      a, b, c, d, e = t, a, rol(b, 30), c, d
    end
    h0, h1 = (h0 + a) & 0xffffffff, (h1 + b) & 0xffffffff
    h2, h3, h4 = (h2 + c) & 0xffffffff, (h3 + d) & 0xffffffff, (h4 + e) & 0xffffffff
  end
  return format("%08x%08x%08x%08x%08x", h0, h1, h2, h3, h4)
end
M.sha1 = sha1

---@class promise.redis.Script
---@field source string
---@field sha string  the SHA-1 of source, in hex
local Script = {}
Script.__index = Script
Script.__name = "RedisScript"

function Script:__tostring()
  return "RedisScript<" .. self.sha .. ">"
end

--- A script object for `client:eval`. A bad source raises at the caller
--- of this function: `redis.script` tail-calls it, so that is the user's
--- call (spec/redis/argerrors_spec.lua pins it).
---@param source string
---@return promise.redis.Script
function M.new(source)
  util.checkarg(1, "script", source, SOURCE)
  return setmetatable({ source = source, sha = sha1(source) }, Script)
end

--- Whether `v` is a script object.
---@param v any
---@return boolean
function M.is(v)
  return getmetatable(v) == Script
end

--- The argv of EVAL/EVALSHA: name, body, #keys, keys..., args...
local function argv(name, body, keys, args)
  local t = { name, body, #keys }
  for _, k in ipairs(keys) do t[#t + 1] = k end
  for _, a in ipairs(args) do t[#t + 1] = a end
  t.n = #t
  return t
end

-- keys or args (argument n of eval): nil or a list of strings and numbers;
-- raises at the caller of eval (3: here, eval, its caller)
local function checklist(v, n)
  if v == nil then return {} end
  util.checkarg(n, "eval", v, LIST, 3)
  client.checkelements(v, 1, #v, n, "eval", 3)
  return v
end

--- Runs a script: a script object with EVALSHA (EVAL once on NOSCRIPT),
--- a source string with EVAL.
---@param s promise.redis.Script|string
---@param keys? (string|number)[]
---@param args? (string|number)[]
---@param opts? {timeout: number?, signal: promise.AbortSignal?}
---@return Promise # of the script's reply
function client.methods:eval(s, keys, args, opts)
  if getmetatable(self) ~= client.Client then util.selferror("eval", "RedisClient", self) end
  if type(s) ~= "string" and not M.is(s) then util.argerror(1, "eval", "RedisScript or string", s) end
  keys, args = checklist(keys, 2), checklist(args, 3)
  if opts ~= nil then util.checkopts("eval", 4, opts, client.CMDOPTS) end
  if type(s) == "string" then return self:send(argv("EVAL", s, keys, args), opts) end
  local p = self:send(argv("EVALSHA", s.sha, keys, args), opts)
  return p:next(nil, function(err)
    if Promise.RedisError.is(err) and err.code == "NOSCRIPT" then
      return self:send(argv("EVAL", s.source, keys, args), opts)
    end
    error(err, 0)
  end)
end

return M
