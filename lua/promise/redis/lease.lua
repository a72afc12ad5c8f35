--- A lease: a held lock or semaphore permit, and the engine that takes,
--- keeps and gives them back, shared by lock.lua, semaphore.lua and
--- idempotency.lua (manual: docs/manual/redis.md, "Locks").
---
--- An owner is `{ kind, clients, cfg, majority }`; its kind gives the
--- scripts. A try runs the acquire script on every server at once and
--- holds when a majority said yes before the validity
--- (`ttl - elapsed - drift`) passed; otherwise it gives back what it got.
--- The holder never trusts a lease past its validity on our clock: a timer
--- aborts `lease.signal` with `LockLostError` then, and `extend` refuses
--- after it, even when the event loop stalled (a SIGSTOP, a long GC) and
--- the timer is late. `using` extends while fn runs and releases whatever
--- happens; a release that races an extension wins.

local Promise = require("promise")
local quorum = require("promise.redis.quorum")
local util = require("promise.util")

local type, error, setmetatable, getmetatable, pairs, ipairs, tostring, max, huge, random =
  type, error, setmetatable, getmetatable, pairs, ipairs, tostring, math.max, math.huge, math.random
local await = Promise.await

local M = {}

local function isone(v) return v == 1 end
local function isint(v) return math.type(v) == "integer" end

---@class promise.redis.Lock
---@field key string          the lock's key (with the prefix)
---@field token string        random, 128 bits in hex
---@field fence integer?      grows with every acquisition of the key (nil for a semaphore permit)
---@field validUntil number   `Promise.now()` time until which the lock is trusted
---@field signal promise.AbortSignal aborted with `LockLostError` when the lock is lost
---@field private _owner table
---@field private _ctl promise.AbortController
---@field private _timer any
---@field private _released boolean
---@field private _lost boolean
local Lock = {}
Lock.__index = Lock
Lock.__name = "RedisLock"

function Lock:__tostring()
  local state = self._released and "released" or self._lost and "lost" or "held"
  return ("%s<%s>: %s"):format(self._owner.kind.class, state, self.key)
end

local function checklock(self, fname)
  if type(self) ~= "table" or getmetatable(self) ~= Lock then
    util.selferror(fname, "RedisLock", self, 3)
  end
end

--- Marks the lock lost (once) and aborts its signal with `LockLostError`.
local function lose(lock, why)
  if lock._lost or lock._released then return end
  lock._lost = true
  if lock._timer then Promise.clearTimeout(lock._timer); lock._timer = nil end
  lock._ctl:abort(Promise.LockLostError(("%s '%s' lost: %s"):format(lock._owner.kind.what, lock.key, why),
    { key = lock.key }))
end

--- (Re)arms the timer that declares the lock lost when its validity passes.
local function arm(lock)
  if lock._timer then Promise.clearTimeout(lock._timer) end
  lock._timer = Promise.setTimeout(function()
    lock._timer = nil
    lose(lock, "its validity passed")
  end, max(0, lock.validUntil - Promise.now()))
  lock._timer:unref()
end

local function newlock(owner, key, token, fence, validUntil, ttl)
  local lock = setmetatable({ key = key, token = token, fence = fence, validUntil = validUntil,
    _owner = owner, _ctl = Promise.AbortController(), _released = false, _lost = false, _ttl = ttl }, Lock)
  lock.signal = lock._ctl.signal
  arm(lock)
  return lock
end

--- Deletes the lock (by token) on the servers of `which` (all when nil);
--- resolves to how many deleted it. Never waits for a reconnecting client
--- longer than `timeout`.
local function unlock(owner, key, token, which, timeout)
  local kind = owner.kind
  return quorum.each(owner.clients, kind.release, kind.keys(key), { token }, timeout, which)
    :next(function(results) return (quorum.count(results, #owner.clients, isone)) end)
end

--- One attempt: resolves to `{ lock = }` or `{ held = whether the key was
--- held, errs = the errors met }`.
local try_once = Promise.async(function(owner, key, cfg)
  local kind, list, n = owner.kind, owner.clients, #owner.clients
  local token, ttl, t0 = quorum.token(), cfg.ttl, Promise.now()
  local timeout = cfg.serverTimeout or ttl / 10
  local keys = kind.keys(key)
  local results = await(quorum.each(list, kind.acquire, keys, kind.args(token, ttl), timeout))
  local yes, which, errs = quorum.count(results, n, isint)
  local validUntil = t0 + ttl - quorum.drift(ttl, cfg.driftFactor)
  local fence
  if kind.fenced then
    for i in pairs(which) do fence = max(fence or 0, results[i].value) end
  end
  local ok = yes >= owner.majority and Promise.now() < validUntil
  if ok and kind.fenced and n > 1 then
    local raised = await(quorum.each(list, kind.raise, { keys[2] }, { fence }, timeout, which))
    ok = quorum.count(raised, n, isone) >= owner.majority and Promise.now() < validUntil
  end
  if ok then return { lock = newlock(owner, key, token, fence, validUntil, ttl) } end
  if yes > 0 then await(unlock(owner, key, token, which, timeout)) end
  local held = false
  for i = 1, n do
    local r = results[i]
    if r.status == "fulfilled" and not isint(r.value) then held = true end
  end
  return { held = held, errs = errs }
end)

local function lockerror(owner, key, held, errs)
  local what = owner.kind.what
  if held then
    return Promise.LockError(("%s '%s' %s"):format(what, key, owner.kind.busy),
      { code = "LOCKED", key = key, errors = errs })
  end
  local msg = ("%s '%s' not acquired: no majority of the %d server(s) answered"):format(what, key, #owner.clients)
  if errs[1] ~= nil then msg = msg .. " (" .. tostring(errs[1]) .. ")" end
  return Promise.LockError(msg, { code = "UNAVAILABLE", key = key, errors = errs })
end

--- Tries until acquired or the wait runs out (jittered delays between tries).
local acquire = Promise.async(function(owner, key, cfg)
  local signal = cfg.signal
  if signal then signal:throwIfAborted() end
  local deadline = cfg.wait == huge and huge or Promise.now() + cfg.wait
  local rnd = cfg.random or random
  while true do
    local try = await(try_once(owner, key, cfg))
    local lock = try.lock
    if signal and signal.aborted then
      if lock then await(lock:release()) end
      error(signal.reason, 0)
    end
    if lock then return lock end
    local now = Promise.now()
    if now >= deadline then error(lockerror(owner, key, try.held, try.errs), 0) end
    local delay = cfg.retryDelay + rnd() * cfg.retryJitter
    await(Promise.sleep(math.min(delay, deadline - now), { signal = signal }))
  end
end)

--- Extends the lock to `ttl` ms from now (default: its ttl). Resolves to
--- the lock, with `validUntil` moved; rejects with `LockLostError` (and
--- aborts `lock.signal`) if the lock is no longer ours.
---@param ttl? number
---@return Promise # of the lock
function Lock:extend(ttl)
  checklock(self, "extend")
  if ttl ~= nil then util.checkms(1, "extend", ttl, false, true) end
  ttl = ttl or self._ttl
  local owner = self._owner
  local function lost(why)
    lose(self, why)
    return Promise.reject(Promise.LockLostError(("%s '%s' is no longer held (%s)")
      :format(owner.kind.what, self.key, why), { key = self.key }))
  end
  if self._released then return lost("released") end
  if self._lost or Promise.now() >= self.validUntil then return lost("its validity passed") end
  local t0, cfg = Promise.now(), owner.cfg
  return quorum.each(owner.clients, owner.kind.extend, owner.kind.keys(self.key), { self.token, ttl },
    cfg.serverTimeout or ttl / 10):next(function(results)
    local yes = quorum.count(results, #owner.clients, isone)
    if self._released then return lost("released") end
    if self._lost then return lost("its validity passed") end
    local validUntil = t0 + ttl - quorum.drift(ttl, cfg.driftFactor)
    if yes < owner.majority then return lost("the server(s) no longer hold it") end
    if Promise.now() >= validUntil then return lost("the extension came too late") end
    self.validUntil, self._ttl = validUntil, ttl
    arm(self)
    return self
  end)
end

--- Releases the lock (compare-and-delete by token on every server).
--- Resolves `true`, or `false` when it was already lost (or released);
--- never rejects.
---@return Promise # of a boolean
function Lock:release()
  checklock(self, "release")
  if self._released then return Promise.resolve(false) end
  self._released = true
  if self._timer then Promise.clearTimeout(self._timer); self._timer = nil end
  local owner = self._owner
  return unlock(owner, self.key, self.token, nil, owner.cfg.serverTimeout or self._ttl / 10)
    :next(function(n) return n >= owner.majority and not self._lost end)
end

--- Keeps `lock` extended while `fn` runs: extends when a third of the ttl
--- is left. Returns a function that stops it. The timer keeps the loop
--- alive (work is in progress), unlike the validity timer of a bare lock.
local function autoextend(lock)
  local stopped, timer = false, nil
  local function schedule()
    if stopped or lock._lost then return end
    local at = lock.validUntil - lock._ttl / 3
    timer = Promise.setTimeout(function()
      timer = nil
      lock:extend():next(schedule, function() end)
    end, max(0, at - Promise.now()))
  end
  schedule()
  return function()
    stopped = true
    if timer then Promise.clearTimeout(timer); timer = nil end
  end
end

--- Acquires, runs `fn(signal, lock)`, keeps the lock extended while it
--- runs and releases it whatever happens.
local using = Promise.async(function(owner, key, fn, cfg)
  local lock = await(acquire(owner, key, cfg))
  local ctl = Promise.AbortController()
  local unsubs = {}
  local function link(signal)
    if signal.aborted then ctl:abort(signal.reason) return end
    unsubs[#unsubs + 1] = signal:onAbort(function(reason) ctl:abort(reason) end)
  end
  link(lock.signal)
  if cfg.signal then link(cfg.signal) end
  local stop = cfg.autoExtend ~= false and autoextend(lock) or function() end
  local ok, v = pcall(await, Promise.async(fn)(ctl.signal, lock))
  stop()
  for _, u in ipairs(unsubs) do u() end
  await(lock:release())
  if lock._lost then error(lock.signal.reason, 0) end
  if cfg.signal and cfg.signal.aborted then error(cfg.signal.reason, 0) end
  if not ok then error(v, 0) end
  return v
end)


--- The engine for a kind of lock: `kind` gives `what`, `class` and `busy`
--- (for messages), the
--- scripts `acquire`, `extend`, `release` (and `raise` when `fenced`:
--- the fence counter raised to a value), `keys(key)` (their KEYS),
--- `args(token, ttl)` (the acquire script's ARGV) and `fenced`.
---@param kind table
---@param clients table[]
---@param cfg table checked options
---@return table owner
function M.owner(kind, clients, cfg)
  return { kind = kind, clients = clients, cfg = cfg, majority = quorum.majority(#clients) }
end
M.acquire, M.using = acquire, using
M.Lock = Lock

return M
