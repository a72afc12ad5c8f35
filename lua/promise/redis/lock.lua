--- Distributed locks: `redis.lock(clients, opts)` (manual:
--- docs/manual/redis.md, "Locks").
---
--- A lock is a plain string key holding a random token, set with NX and a
--- PX ttl; every change compares the token inside a script, so a holder
--- whose lock expired can never extend or delete the next holder's lock.
--- Each acquisition also INCRs a fence counter (`<key>:fence`, never
--- expiring) in the same script: `lock.fence` grows with every acquisition,
--- so storage can refuse a late write from a holder that lost its lock.
---
--- With several independent servers this is Redlock: a lock is held when a
--- majority said yes within its validity `ttl - elapsed - drift`; the fence
--- is the largest of theirs, and is then raised to that value on a
--- majority, so that any later majority (which meets this one) counts on.
--- A failed acquisition releases on every server.
---
--- Taking, keeping and giving back a lock (and the lock object itself) is
--- lease.lua's engine, shared with semaphores and idempotency.


local redis_script = require("promise.redis.script")
local quorum = require("promise.redis.quorum")
local lease = require("promise.redis.lease")
local util = require("promise.util")

local type, setmetatable, getmetatable = type, setmetatable, getmetatable

--- KEYS[1] the lock, KEYS[2] its fence counter; ARGV[1] token, ARGV[2] ttl.
--- Returns the new fence, or nil when the lock is held.
local ACQUIRE = redis_script.new([[
if redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then
  return redis.call("INCR", KEYS[2])
end
return false
]])

--- KEYS[1] the lock; ARGV[1] token, ARGV[2] ttl. 1 when extended.
local EXTEND = redis_script.new([[
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0
]])

--- KEYS[1] the lock; ARGV[1] token. 1 when deleted (it was ours).
local RELEASE = redis_script.new([[
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0
]])

--- KEYS[1] a fence counter; ARGV[1] a fence. Raises the counter to it.
local RAISE_FENCE = redis_script.new([[
local cur = tonumber(redis.call("GET", KEYS[1]) or "0")
if cur < tonumber(ARGV[1]) then redis.call("SET", KEYS[1], ARGV[1]) end
return 1
]])

local M = {}
M.scripts = { ACQUIRE = ACQUIRE, EXTEND = EXTEND, RELEASE = RELEASE, RAISE_FENCE = RAISE_FENCE }

local DEFAULTS = { ttl = 30000, wait = 0, retryDelay = 200, retryJitter = 100, driftFactor = 0.01, prefix = "" }
M.DEFAULTS = DEFAULTS

---@class promise.redis.LockOptions
---@field ttl number?            ms the lock lives unless extended (30000)
---@field wait number?           ms `acquire` keeps trying, or math.huge (0)
---@field retryDelay number?     ms between tries (200)
---@field retryJitter number?    up to this many ms added at random (100)
---@field driftFactor number?    clock drift allowance, a fraction of ttl (0.01)
---@field serverTimeout number?  ms a server has to answer (ttl / 10)
---@field autoExtend boolean?    `using` extends while fn runs (true)
---@field prefix string?         put before every key (""; constructor only)
---@field signal promise.AbortSignal? aborts the wait (per call only)
---@field random (fun(): number)? source of U(0, 1) for the jitter (math.random)

---@class promise.redis.Locks
---@field private _owner table
local Locks = {}
Locks.__index = Locks
Locks.__name = "RedisLocks"

local ALLOWED = { ttl = true, wait = true, retryDelay = true, retryJitter = true, driftFactor = true,
  autoExtend = true, signal = true, serverTimeout = true, random = true }

local function checkself(self, fname)
  if type(self) ~= "table" or getmetatable(self) ~= Locks then
    util.selferror(fname, "RedisLocks", self, 3)
  end
end

local function checkkey(key, fname)
  if type(key) ~= "string" and type(key) ~= "number" then
    util.badarg(1, fname, "string expected, got " .. util.typename(key), 3)
  end
end

--- Acquires the lock `key`; resolves to a lock, rejects with
--- `LockError` (`code = "LOCKED"` or `"UNAVAILABLE"`) when the wait runs
--- out, or with the signal's reason.
---@param key string
---@param opts? promise.redis.LockOptions
---@return Promise # of a promise.redis.Lock
function Locks:acquire(key, opts)
  checkself(self, "acquire")
  checkkey(key, "acquire")
  local cfg = quorum.options(opts, 2, "acquire", self._owner.cfg, ALLOWED)
  return lease.acquire(self._owner, self._owner.cfg.prefix .. key, cfg)
end

--- Runs `fn(signal, lock)` (as an async function: it may await) under the
--- lock `key`: acquired first, extended
--- while `fn` runs (unless `autoExtend = false`), released whatever
--- happens. Resolves to `fn`'s result; rejects with its error, with
--- `LockLostError` if the lock was lost, or with `opts.signal`'s reason.
---@param key string
---@param fn fun(signal: promise.AbortSignal, lock: promise.redis.Lock): any
---@param opts? table the options of `acquire`, and `autoExtend`
---@return Promise
function Locks:using(key, fn, opts)
  checkself(self, "using")
  checkkey(key, "using")
  if not util.is_callable(fn) then util.argerror(2, "using", "function", fn) end
  local cfg = quorum.options(opts, 3, "using", self._owner.cfg, ALLOWED)
  return lease.using(self._owner, self._owner.cfg.prefix .. key, fn, cfg)
end

function Locks:__tostring()
  return ("RedisLocks<%d server(s)>"):format(#self._owner.clients)
end


local KIND = {
  what = "lock", class = "RedisLock", busy = "is held by another", fenced = true,
  acquire = ACQUIRE, extend = EXTEND, release = RELEASE, raise = RAISE_FENCE,
  keys = function(key) return { key, key .. ":fence" } end,
  args = function(token, ttl) return { token, ttl } end,
}

--- `redis.lock(clients, opts)`: locks on one server, or Redlock over a
--- list of independent servers.
---@param clients any one client or a list
---@param opts? promise.redis.LockOptions
---@return promise.redis.Locks
function M.new(clients, opts)
  local list = quorum.clients(clients, "lock")
  local cfg = quorum.options(opts, 2, "lock", DEFAULTS)
  cfg.signal = nil
  return setmetatable({ _owner = lease.owner(KIND, list, cfg) }, Locks)
end

return M
