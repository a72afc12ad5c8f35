--- Run-once with a stored result: `redis.idempotency(client, opts)`
--- (manual: docs/manual/redis.md, "Idempotency").
---
--- `idem:run(key, fn)`: the first caller with a key takes a lock
--- (`<prefix><key>:lock`, a plain key with a token and a ttl, kept alive
--- while `fn` runs by lease.lua's engine), checks the result again under
--- the lock, runs `fn` and stores its encoded result (`<prefix><key>`,
--- with a ttl) and frees the lock in one script. Callers that find the
--- lock taken, in any process, retry after a jittered delay until the
--- result is there or the lock is free again (then they run `fn`
--- themselves: a failed `fn` stores nothing). Every caller returns
--- `decode(stored)`, so all see the same value. Nothing here keeps a key
--- for ever: the result and the lock both expire.

local Promise = require("promise")
local lock = require("promise.redis.lock")
local lease = require("promise.redis.lease")
local quorum = require("promise.redis.quorum")
local redis_script = require("promise.redis.script")
local util = require("promise.util")

local type, error, setmetatable, getmetatable, tostring, pcall, ipairs, huge, random, sub =
  type, error, setmetatable, getmetatable, tostring, pcall, ipairs, math.huge, math.random, string.sub
local await = Promise.await

--- KEYS[1] the lock; ARGV[1] token, ARGV[2] ttl. 1 when taken.
local CLAIM = redis_script.new([[
if redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then return 1 end
return false
]])

--- KEYS[1] the result, KEYS[2] the lock; ARGV[1] token, ARGV[2] the
--- encoded result, ARGV[3] its ttl. Stores the result unless one is
--- already there, frees the lock if it is still ours, returns what is
--- stored.
local FINISH = redis_script.new([[
redis.call("SET", KEYS[1], ARGV[2], "NX", "PX", ARGV[3])
if redis.call("GET", KEYS[2]) == ARGV[1] then redis.call("DEL", KEYS[2]) end
return redis.call("GET", KEYS[1])
]])

local M = {}
M.scripts = { CLAIM = CLAIM, FINISH = FINISH }

-- the options every coordination object has (checked by quorum.options)
local DEFAULTS = { ttl = 86400000, wait = huge, retryDelay = 50, retryJitter = 50,
  driftFactor = 0.01, prefix = "idempotency:" }

-- the options only idempotency has
local OWN = util.schema({
  { "lockTtl", "ms", positive = true, default = 30000 },
  { "encode", "function" },
  { "decode", "function" },
  { "cacheErrors", "boolean", default = false },
})

local KIND = {
  what = "idempotency key", class = "RedisLock", busy = "is being run by another caller", fenced = false,
  acquire = CLAIM, extend = lock.scripts.EXTEND, release = lock.scripts.RELEASE,
  keys = function(key) return { key } end,
  args = function(token, ttl) return { token, ttl } end,
}

---@class promise.redis.IdempotencyOptions
---@field ttl number?          ms a result is kept (24 h)
---@field lockTtl number?      ms the lock lives while fn runs, extended as it runs (30000)
---@field wait number?         ms a caller waits while another runs fn (math.huge)
---@field retryDelay number?   ms between looks while waiting (50)
---@field retryJitter number?  up to this many ms added at random (50)
---@field prefix string?       put before every key ("idempotency:")
---@field encode (fun(v: any): string)? default cjson.encode
---@field decode (fun(s: string): any)? default cjson.decode
---@field cacheErrors boolean? store a failure too (false)

---@class promise.redis.Idempotency
---@field private _client table
---@field private _cfg table
---@field private _owner table
local Idempotency = {}
Idempotency.__index = Idempotency
Idempotency.__name = "RedisIdempotency"

function Idempotency:__tostring()
  return "RedisIdempotency<" .. self._cfg.prefix .. ">"
end

-- the stored value: "r" .. encode(result), or "e" .. encode(error) with cacheErrors
local function unpack_stored(cfg, raw)
  local tag, body = sub(raw, 1, 1), sub(raw, 2)
  local v = cfg.decode(body)
  if tag == "e" then
    local fields = type(v) == "table" and v or { message = tostring(v) }
    error(Promise.Error(tostring(fields.message or ""), { code = fields.code, cause = fields }), 0)
  end
  return v
end

local function error_record(err)
  if type(err) == "table" then
    return { name = err.name and tostring(err.name), message = tostring(err.message or err), code = err.code }
  end
  return { message = tostring(err) }
end

-- marks an error raised by fn (not by the lock), to tell it from LOCKED
local FnError = {}

--- Under the lock: the result again (a caller before us may just have
--- stored it), else fn, then FINISH.
local function under_lock(self, key, fn)
  local cfg, client = self._cfg, self._client
  local rkey = cfg.prefix .. key
  return function(signal, lk)
    local raw = await(client:call("GET", rkey))
    if raw then return { raw = raw } end
    local ok, v = pcall(await, Promise.async(fn)(signal))
    local stored
    if ok then
      stored = "r" .. cfg.encode(v)
    elseif cfg.cacheErrors then
      stored = "e" .. cfg.encode(error_record(v))
    else
      error(setmetatable({ err = v }, FnError), 0)
    end
    return { raw = await(client:eval(FINISH, { rkey, lk.key }, { lk.token, stored, cfg.ttl })) }
  end
end

local run = Promise.async(function(self, key, fn, cfg)
  local client, signal = self._client, cfg.signal
  local deadline = cfg.wait == huge and huge or Promise.now() + cfg.wait
  local rnd = cfg.random or random
  local lcfg = { ttl = cfg.lockTtl, wait = 0, driftFactor = cfg.driftFactor, signal = signal,
    serverTimeout = cfg.serverTimeout }
  local body = under_lock(self, key, fn)
  while true do
    if signal then signal:throwIfAborted() end
    local raw = await(client:call("GET", cfg.prefix .. key))
    if raw then return unpack_stored(cfg, raw) end
    local ok, res = pcall(await, lease.using(self._owner, cfg.prefix .. key .. ":lock", body, lcfg))
    if ok then return unpack_stored(cfg, res.raw) end
    if getmetatable(res) == FnError then error(res.err, 0) end
    if not (Promise.LockError.is(res) and res.code == "LOCKED") then error(res, 0) end
    local now = Promise.now()
    if now >= deadline then error(res, 0) end
    local delay = cfg.retryDelay + rnd() * cfg.retryJitter
    await(Promise.sleep(math.min(delay, deadline - now), { signal = signal }))
  end
end)

--- Runs `fn(signal)` once for `key` across every caller and process
--- sharing the server, and resolves every caller to its stored result
--- (`decode(encode(result))`). Rejects with `fn`'s error for the caller
--- whose `fn` failed (the next caller runs it again), with a `LockError`
--- when `opts.wait` runs out while another caller runs it, or with
--- `opts.signal`'s reason.
---@param key string
---@param fn fun(signal: promise.AbortSignal): any
---@param opts? {wait: number?, signal: promise.AbortSignal?}
---@return Promise
function Idempotency:run(key, fn, opts)
  if type(self) ~= "table" or getmetatable(self) ~= Idempotency then
    util.selferror("run", "RedisIdempotency", self)
  end
  if type(key) ~= "string" then util.argerror(1, "run", "string", key) end
  if not util.is_callable(fn) then util.argerror(2, "run", "function", fn) end
  local cfg = self._cfg
  if opts ~= nil then
    cfg = quorum.options(opts, 3, "run", self._cfg, { wait = true, signal = true })
  end
  return run(self, key, fn, cfg)
end

--- `redis.idempotency(client, opts)`.
---@param client table a client (anything with `call` and `eval`)
---@param opts? promise.redis.IdempotencyOptions
---@return promise.redis.Idempotency
function M.new(client, opts)
  local t = type(client)
  if (t ~= "table" and t ~= "userdata") or not util.is_callable(client.eval) or not util.is_callable(client.call) then
    util.argerror(1, "idempotency", "RedisClient", client)
  end
  local cfg = quorum.options(opts, 2, "idempotency", DEFAULTS)
  cfg.signal = nil
  local own = util.checkopts("idempotency", 2, opts, OWN)
  for _, f in ipairs(OWN.fields) do cfg[f[1]] = own[f[1]] end
  if not (cfg.encode and cfg.decode) then
    local ok, cjson = pcall(require, "cjson")
    if not ok then
      error("idempotency: lua-cjson is not installed (install it, or give opts.encode and opts.decode)", 2)
    end
    cfg.encode, cfg.decode = cfg.encode or cjson.encode, cfg.decode or cjson.decode
  end
  return setmetatable({ _client = client, _cfg = cfg, _owner = lease.owner(KIND, { client }, cfg) }, Idempotency)
end

return M
