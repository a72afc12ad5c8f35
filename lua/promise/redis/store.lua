--- A Redis store for `Promise.ratelimiter` (manual: docs/manual/redis.md,
--- "Shared rate limits"): `redis.store(client, { prefix })`.
---
--- `Promise.ratelimiter{ limit, interval, strategy, store = store }` hands
--- its options to `store:ratelimiter(opts)`, which makes a rate limiter
--- with the same API that counts in Redis, so every process sharing the
--- key shares the limit. The counting is one script per try, with the
--- server's clock (`TIME`), never a client's:
---
--- * "sliding": a sorted-set log of starts scored in µs; a start is
---   admitted when the starts of the last `interval` plus it fit in
---   `limit`, else the script says when the oldest one that must leave
---   will have left. No fixed window edge, so no double burst.
--- * "token": GCRA (one key holding the theoretical arrival time): O(1),
---   a bucket of `burst` refilled at `limit` per `interval`.
---
--- Both keys expire when the window (or the bucket's refill) is over, so
--- nothing is kept for ever and nobody is locked out. Waiters of one
--- process queue FIFO (waiters.lua); only the head asks the server, and it
--- asks again after the wait the script reported (a timer on the library's
--- clock), never by polling.

local Promise = require("promise")
local util = require("promise.util")
local quorum = require("promise.redis.quorum")
local redis_script = require("promise.redis.script")
local waiters = require("promise.redis.waiters")

local type, error, tostring, setmetatable, getmetatable, rawget, ipairs, pack, unpack, huge =
  type, error, tostring, setmetatable, getmetatable, rawget, ipairs, table.pack, table.unpack, math.huge

--- KEYS[1] the log; ARGV[1] limit, ARGV[2] interval (ms), ARGV[3] cost,
--- ARGV[4] a unique id, ARGV[5] 1 to take. Returns { wait ms, server ms }:
--- wait 0 when admitted (and taken).
local SLIDING = redis_script.new([[
local limit, interval, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local win = interval * 1000
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now - win)
local used = redis.call("ZCARD", KEYS[1])
local ms = math.floor(now / 1000)
if used + cost <= limit then
  if cost > 0 and ARGV[5] == "1" then
    for i = 1, cost do redis.call("ZADD", KEYS[1], now, ARGV[4] .. ":" .. i) end
    redis.call("PEXPIRE", KEYS[1], interval)
  end
  return { 0, ms }
end
local i = used + cost - limit - 1
local oldest = redis.call("ZRANGE", KEYS[1], i, i, "WITHSCORES")
local wait = math.ceil((tonumber(oldest[2]) + win - now) / 1000)
if wait < 1 then wait = 1 end
return { wait, ms }
]])

--- KEYS[1] the theoretical arrival time (µs); ARGV[1] limit, ARGV[2]
--- interval (ms), ARGV[3] burst, ARGV[4] cost, ARGV[5] 1 to take.
--- Returns { wait ms, server ms } as SLIDING.
local GCRA = redis_script.new([[
local limit, interval = tonumber(ARGV[1]), tonumber(ARGV[2])
local burst, cost = tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ms = math.floor(now / 1000)
local emission = interval * 1000 / limit
local tat = tonumber(redis.call("GET", KEYS[1]) or "0")
if tat < now then tat = now end
local new = tat + emission * cost
local allow = new - emission * burst
if allow > now then
  local wait = math.ceil((allow - now) / 1000)
  if wait < 1 then wait = 1 end
  return { wait, ms }
end
if ARGV[5] == "1" then
  redis.call("SET", KEYS[1], string.format("%.0f", new), "PX", math.ceil((new - now) / 1000) + 1)
end
return { 0, ms }
]])

local M = {}
M.scripts = { SLIDING = SLIDING, GCRA = GCRA }

---@class promise.redis.Store
---@field key string the key every process sharing the limit uses
---@field private _client table
local Store = {}
Store.__index = Store
Store.__name = "RedisStore"

---@class promise.redis.RateLimiter
---@field pendingCount integer waiters of this process in the queue
---@field strategy string      "sliding" or "token"
---@field limit number
---@field interval number
---@field burst number?        the bucket's capacity with "token"
---@field maxQueue number
---@field lastStart integer?   the server time (ms) of this process's last admitted start
---@field private _st table
local RL = {}
RL.__name = "RedisRateLimiter"

local FIELDS = { pendingCount = "count", strategy = "strategy", limit = "limit", interval = "interval",
  burst = "burst", maxQueue = "maxQueue", lastStart = "lastStart" }
local methods = {}

local function checkself(self, fname)
  if type(self) ~= "table" or getmetatable(self) ~= RL then
    util.selferror(fname, "rate limiter", self, 3)
  end
  return self._st
end

local function checkcost(st, cost, fname)
  if cost == nil then return 1 end
  if math.type(cost) ~= "integer" and not (st.strategy == "token" and type(cost) == "number") then
    util.badarg(1, fname, (st.strategy == "token" and "number" or "integer") .. " expected, got "
      .. util.typename(cost), 3)
  end
  if cost ~= cost or cost < 0 then
    util.badarg(1, fname, "non-negative cost expected, got " .. tostring(cost), 3)
  end
  if cost > st.capacity then
    util.badarg(1, fname, ("cost %s exceeds the capacity %s"):format(tostring(cost), tostring(st.capacity)), 3)
  end
  return cost
end

--- One try at the server: a promise of { wait, server ms }.
local function ask(st, cost, take)
  st.seq = st.seq + 1
  if st.strategy == "token" then
    return st.client:eval(GCRA, { st.key }, { st.limit, st.interval, st.burst, cost, take and 1 or 0 })
  end
  return st.client:eval(SLIDING, { st.key }, { st.limit, st.interval, cost, st.id .. st.seq, take and 1 or 0 })
end

--- A promise fulfilled (with nil) when `cost` units may start, counted in
--- Redis across every process sharing the key. FIFO within the process.
---@param cost number?
---@param opts { signal: promise.AbortSignal? }?
---@return Promise
function methods.acquire(self, cost, opts)
  local st = checkself(self, "acquire")
  cost = checkcost(st, cost, "acquire")
  local signal
  if opts ~= nil then
    if type(opts) ~= "table" then util.argerror(2, "acquire", "table", opts) end
    signal = opts.signal
    if signal ~= nil and not Promise.AbortSignal.is(signal) then
      util.badarg(2, "acquire", "field 'signal': AbortSignal expected, got " .. util.typename(signal))
    end
  end
  local p, resolve, reject = Promise.withResolvers()
  waiters.enqueue(st, cost, signal, function() resolve(nil) end, reject)
  return p
end

--- A promise of `true` when nobody of this process waits and the server
--- admitted `cost` units now (they are taken), else of `false`.
---@param cost number?
---@return Promise
function methods.tryAcquire(self, cost)
  local st = checkself(self, "tryAcquire")
  cost = checkcost(st, cost, "tryAcquire")
  if st.queue[1] then return Promise.resolve(false) end
  return ask(st, cost, true):next(function(r)
    if r[1] ~= 0 then return false end
    st.lastStart = r[2]
    return true
  end)
end

--- Rejects every waiter with `reason` (default: an `AbortError`) and stops
--- the timer. A request already at the server may still spend its units.
---@param reason any
function methods.clear(self, reason)
  local st = checkself(self, "clear")
  if reason == nil then reason = Promise.AbortError("rate limiter queue cleared") end
  waiters.clear(st, reason)
end

RL.__index = function(self, key)
  local f = FIELDS[key]
  if f then return rawget(self, "_st")[f] end
  return methods[key]
end

RL.__newindex = function(_, key)
  error(("cannot set field '%s' of a rate limiter"):format(tostring(key)), 2)
end

RL.__call = function(self, fn, ...)
  local st = checkself(self, "ratelimiter")
  if not util.is_callable(fn) then util.argerror(1, "ratelimiter", "function", fn) end
  local p, resolve, reject = Promise.withResolvers()
  local args = pack(...)
  waiters.enqueue(st, 1, nil, function() resolve(Promise.try(fn, unpack(args, 1, args.n))) end, reject)
  return p
end

RL.__tostring = function(self)
  local st = self._st
  return ("RedisRateLimiter<%s %s/%s ms, %d waiting>: %s"):format(st.strategy, tostring(st.limit),
    tostring(st.interval), st.count, st.key)
end

local function positive(v) return type(v) == "number" and v > 0 and v < huge end

--- The rate limiter `Promise.ratelimiter{ ..., store = store }` makes:
--- `opts` are its options (already checked there, checked again here).
---@param opts table
---@return promise.redis.RateLimiter
function Store:ratelimiter(opts)
  if type(opts) ~= "table" then util.argerror(1, "ratelimiter", "table", opts) end
  local strategy = opts.strategy or "sliding"
  for _, k in ipairs({ "limit", "interval" }) do
    if not positive(opts[k]) then
      util.badarg(1, "ratelimiter", ("field '%s': positive number expected, got %s"):format(k, util.typename(opts[k])))
    end
  end
  if strategy ~= "sliding" and strategy ~= "token" then
    util.badarg(1, "ratelimiter",
      ("field 'strategy': \"sliding\" or \"token\" expected, got %s"):format(tostring(strategy)))
  end
  if strategy == "sliding" and math.type(opts.limit) ~= "integer" then
    error("bad argument #1 to 'ratelimiter' (field 'limit': integer expected with a Redis store and \"sliding\")",
      2)
  end
  local burst = strategy == "token" and (opts.burst or opts.limit) or nil
  local st = { client = self._client, key = self.key, strategy = strategy, limit = opts.limit,
    interval = opts.interval, burst = burst, capacity = burst or opts.limit, maxQueue = opts.maxQueue or huge,
    queue = {}, count = 0, seq = 0, id = quorum.token() .. ":", busy = false, ask = ask }
  return setmetatable({ _st = st }, RL)
end

function Store:__tostring()
  return "RedisStore<" .. self.key .. ">"
end

--- `redis.store(client, opts)`: a store for `Promise.ratelimiter`.
---@param client table a client (anything with `eval`)
---@param opts? {prefix: string?}
---@return promise.redis.Store
function M.new(client, opts)
  local t = type(client)
  if (t ~= "table" and t ~= "userdata") or not util.is_callable(client.eval) then
    util.argerror(1, "store", "RedisClient", client)
  end
  local cfg = quorum.options(opts, 2, "store", { prefix = "ratelimit" }, { prefix = true })
  return setmetatable({ key = cfg.prefix, _client = client }, Store)
end

--- Whether `v` is a store (what ratelimiter.lua checks before handing over).
---@param v any
---@return boolean
function M.is(v)
  return getmetatable(v) == Store
end

return M
