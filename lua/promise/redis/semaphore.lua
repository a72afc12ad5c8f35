--- Distributed semaphores: `redis.semaphore(clients, key, limit, opts)`
--- (manual: docs/manual/redis.md, "Semaphores").
---
--- Up to `limit` holders at once. The holders are the members of a sorted
--- set, each scored with the server time (`TIME`, never a client's clock)
--- at which it expires; every script first drops the expired members, so
--- a holder that crashed frees its permit once its ttl passes, and the set
--- itself expires with its last member. Tokens are compared in the
--- scripts as for locks. Acquiring, extending, auto-extension, `using` and
--- Redlock over several servers are lease.lua's engine, with these scripts.

local lock = require("promise.redis.lock")
local lease = require("promise.redis.lease")
local quorum = require("promise.redis.quorum")
local redis_script = require("promise.redis.script")
local util = require("promise.util")

local type, setmetatable, getmetatable, tostring = type, setmetatable, getmetatable, tostring

--- The server's time in ms, then the expired holders dropped. Shared head
--- of the scripts below.
local PRELUDE = [[
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now)
local function keep(ttl)
  local left = redis.call("PTTL", KEYS[1])
  if left < ttl then redis.call("PEXPIRE", KEYS[1], ttl) end
end
]]

--- KEYS[1] the set; ARGV[1] token, ARGV[2] ttl, ARGV[3] limit. 1 when
--- taken, nil when `limit` holders hold it.
local ACQUIRE = redis_script.new(PRELUDE .. [[
if redis.call("ZCARD", KEYS[1]) >= tonumber(ARGV[3]) then return false end
redis.call("ZADD", KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
keep(tonumber(ARGV[2]))
return 1
]])

--- KEYS[1] the set; ARGV[1] token, ARGV[2] ttl. 1 when extended.
local EXTEND = redis_script.new(PRELUDE .. [[
if not redis.call("ZSCORE", KEYS[1], ARGV[1]) then return 0 end
redis.call("ZADD", KEYS[1], "XX", now + tonumber(ARGV[2]), ARGV[1])
keep(tonumber(ARGV[2]))
return 1
]])

--- KEYS[1] the set; ARGV[1] token. 1 when the permit was ours.
local RELEASE = redis_script.new([[
return redis.call("ZREM", KEYS[1], ARGV[1])
]])

local M = {}
M.scripts = { ACQUIRE = ACQUIRE, EXTEND = EXTEND, RELEASE = RELEASE }

---@class promise.redis.Semaphore
---@field key string    the sorted set's key (with the prefix)
---@field limit integer how many holders at once
---@field private _owner table
local Semaphore = {}
Semaphore.__index = Semaphore
Semaphore.__name = "RedisSemaphore"

function Semaphore:__tostring()
  return ("RedisSemaphore<%d>: %s"):format(self.limit, self.key)
end

local ALLOWED = { ttl = true, wait = true, retryDelay = true, retryJitter = true, driftFactor = true,
  autoExtend = true, signal = true, serverTimeout = true, random = true }

local function checkself(self, fname)
  if type(self) ~= "table" or getmetatable(self) ~= Semaphore then
    util.selferror(fname, "RedisSemaphore", self, 3)
  end
end

--- Takes a permit; resolves to it (a lock object: `release`, `extend`,
--- `signal`, `token`, `validUntil`), rejects with `LockError` when the
--- wait runs out (`code = "LOCKED"`: `limit` holders hold it).
---@param opts? promise.redis.LockOptions
---@return Promise # of a promise.redis.Lock
function Semaphore:acquire(opts)
  checkself(self, "acquire")
  local cfg = quorum.options(opts, 1, "acquire", self._owner.cfg, ALLOWED)
  return lease.acquire(self._owner, self.key, cfg)
end

--- Runs `fn(signal, permit)` (as an async function) holding a permit,
--- extended while `fn` runs and released whatever happens; as
--- `locks:using`.
---@param fn fun(signal: promise.AbortSignal, permit: promise.redis.Lock): any
---@param opts? promise.redis.LockOptions
---@return Promise
function Semaphore:using(fn, opts)
  checkself(self, "using")
  if not util.is_callable(fn) then util.argerror(1, "using", "function", fn) end
  local cfg = quorum.options(opts, 2, "using", self._owner.cfg, ALLOWED)
  return lease.using(self._owner, self.key, fn, cfg)
end

--- `redis.semaphore(clients, key, limit, opts)`.
---@param clients any one client or a list of independent servers' clients
---@param key string
---@param limit integer
---@param opts? promise.redis.LockOptions
---@return promise.redis.Semaphore
function M.new(clients, key, limit, opts)
  local list = quorum.clients(clients, "semaphore")
  if type(key) ~= "string" then util.argerror(2, "semaphore", "string", key) end
  if math.type(limit) ~= "integer" or limit < 1 then
    util.badarg(3, "semaphore", "positive integer expected, got "
      .. (type(limit) == "number" and tostring(limit) or util.typename(limit)))
  end
  local cfg = quorum.options(opts, 4, "semaphore", lock.DEFAULTS)
  cfg.signal = nil
  local kind = {
    what = "semaphore", class = "RedisPermit", busy = ("has no free permit (limit %d)"):format(limit),
    fenced = false, acquire = ACQUIRE, extend = EXTEND, release = RELEASE,
    keys = function(k) return { k } end,
    args = function(token, ttl) return { token, ttl, limit } end,
  }
  return setmetatable({ key = cfg.prefix .. key, limit = limit, _owner = lease.owner(kind, list, cfg) }, Semaphore)
end

return M
