--- Rate limiter (manual: docs/manual/ratelimiter.md).
---
--- ```lua
--- local rl = Promise.ratelimiter{ limit = 5, interval = 1000 }
--- await(rl:acquire())            -- one unit may start now
--- local p = rl(fetch, url)       -- acquire(), then fetch(url)
--- ```
---
--- Strategies
---
--- * `"sliding"` (default), a sliding log. Every admitted unit is recorded
---   with its start time. A start at time `t` is admitted only when the units
---   started in the window `(t - interval, t]` plus the new ones do not
---   exceed `limit`. Equivalently: every half-open window
---   `[a, a + interval)` contains at most `limit` starts, whatever `a` is.
---   Two starts exactly `interval` ms apart may both be counted against
---   different windows (the older one has just left); closer ones may not.
---   There is no fixed window edge, so there is no double burst.
--- * `"token"`, a token bucket of capacity `burst` (default `limit`), full at
---   creation, refilled continuously at `limit` tokens per `interval` ms.
---   A request of `cost` tokens starts when the bucket holds `cost` tokens.
---   Arithmetic is done in units of 1/interval of a token, so with integer
---   options, costs and times it is exact: no drift. Timers (and so starts)
---   fall on whole ms: a waiter starts at the first whole ms at which its
---   tokens are there. When its cost equals `burst`, the bucket may be full
---   a fraction of a ms before that, and that fraction's refill is lost (the
---   bucket is full): the rate then rounds down, it never rounds up.
---
--- Queueing
---
--- * `rl:acquire([cost], [opts])` resolves (with nil) when `cost` (default 1)
---   units may start; the units are taken at that moment. Waiters are served
---   strictly FIFO: the head is never overtaken, even by a cheaper request.
---   When nobody waits and the units are available, the promise is already
---   fulfilled when `acquire` returns.
--- * A `cost` above the capacity (`limit` for "sliding", `burst` for
---   "token") can never be served: it is a programming error and raises a
---   Lua error (`bad argument #1 to 'acquire' (cost 7 exceeds the capacity
---   5)`), as do a negative or non-number cost. The balance never goes
---   negative.
--- * `opts.signal`: an aborted waiter leaves the queue and rejects with the
---   reason (at once when already aborted; no units are taken).
--- * `maxQueue` (default unlimited): an `acquire` that would have to wait
---   while `maxQueue` waiters are already queued rejects at once with a
---   `Promise.QueueFullError`.
--- * `rl(fn, ...)` acquires one unit, then calls `fn(...)` synchronously at
---   the moment it is admitted; it returns a promise of its result (rejected
---   with what `fn` raised, or with the acquire's rejection).
--- * `rl:tryAcquire([cost])` takes the units and returns true only when no
---   one is waiting and they are available now; else returns false.
--- * `rl.pendingCount`: waiters in the queue. `rl:clear([reason])` rejects
---   every waiter with `reason` (default: an `AbortError`).
---
--- Timers: while waiters are queued there is exactly one timer, due when
--- the head can start (`Promise.setTimeout`, so fake timers apply); with an
--- empty queue there is none. Never polling.

local Promise = require("promise")
local util = require("promise.util")

local type, error, tostring, setmetatable, pack, unpack =
  type, error, tostring, setmetatable, table.pack, table.unpack
local huge, ceil, min = math.huge, math.ceil, math.min

---@class promise.RateLimiter
---@field pendingCount integer waiters in the queue (read-only)
---@field strategy string      "sliding" or "token" (read-only)
---@field limit number         (read-only)
---@field interval number      (read-only)
---@field burst number         token bucket capacity (read-only)
---@field maxQueue number      (read-only)
---@operator call(function): Promise
local RateLimiter = {}

---@class promise.RateLimiterOptions
---@field limit number                  units per interval (> 0)
---@field interval number               ms, in (0, 2^31 - 1]
---@field strategy "sliding"|"token"?   default "sliding"
---@field burst number?                 token bucket capacity, default limit
---@field maxQueue number?              default math.huge
---@field store table?                  a shared store, `redis.store(client, { prefix })`

local is_callable = util.is_callable

local function positive_finite(v)
  return type(v) == "number" and v > 0 and v < huge
end

local function interval_ok(v) return not util.msproblem(v, false, true) end
local function queue_ok(v)
  return type(v) == "number" and v >= 0 and (v == huge or v % 1 == 0)
end

-- options of ratelimiter(opts); unknown ones are ignored
local OPTIONS = util.schema({
  { "limit", "any", required = true, check = util.expect("positive number", positive_finite) },
  -- the interval bounds timer delays: at most 2^31 - 1 ms
  { "interval", "any", required = true,
    check = util.expect(("number in (0, %d]"):format(util.TIMEOUT_MAX), interval_ok) },
  { "strategy", "enum", values = { "sliding", "token" }, default = "sliding" },
  { "burst", "any", check = util.expect("positive number", positive_finite) },
  { "maxQueue", "any", check = util.expect("integer >= 0 or math.huge", queue_ok), default = huge },
  -- a shared store (promise.redis's `redis.store`) makes the limiter itself
  { "store", "any", check = util.expect("rate limiter store",
    function(v) return v == nil or (type(v) == "table" and is_callable(v.ratelimiter)) end, util.typename) },
})

local ACQUIRE = util.schema({ { "signal", "signal" } })

local states = setmetatable({}, { __mode = "k" })

local function check_self(self, fname)
  local st = states[self]
  if not st then
    util.selferror(fname, "rate limiter", self, 3)
  end
  return st
end

-- raises at the caller of the method that calls this (level 3)
local function check_cost(st, cost, argn, fname)
  if cost == nil then return 1 end
  if type(cost) ~= "number" then util.argerror(argn, fname, "number", cost) end
  if cost ~= cost or cost < 0 then
    util.badarg(argn, fname, "non-negative cost expected, got " .. tostring(cost), 3)
  end
  if cost > st.capacity then
    util.badarg(argn, fname, ("cost %s exceeds the capacity %s"):format(
      tostring(cost), tostring(st.capacity)), 3)
  end
  return cost
end

---------------------------------------------------------------------------
-- Strategies: `wait(st, cost, now)` returns 0 when `cost` units may start
-- now, else the ms to wait; `take(st, cost, now)` records the start.
---------------------------------------------------------------------------

-- Sliding log: st.log holds {time, cost} records in start order between
-- st.first and st.last; st.used is the sum of their costs.
local function sliding_prune(st, now)
  local log, first, interval = st.log, st.first, st.interval
  while first <= st.last and now - log[first][1] >= interval do
    st.used = st.used - log[first][2]
    log[first] = nil
    first = first + 1
  end
  if first > st.last then
    -- empty: restart the indices and forget accumulated rounding
    st.first, st.last, st.used = 1, 0, 0
  else
    st.first = first
  end
end

local function sliding_wait(st, cost, now)
  sliding_prune(st, now)
  local excess = st.used + cost - st.limit
  if excess <= 0 then return 0 end
  -- the oldest records leave the window first: find the one whose
  -- departure frees enough
  local log = st.log
  for i = st.first, st.last do
    excess = excess - log[i][2]
    if excess <= 0 then return log[i][1] + st.interval - now end
  end
  return st.interval -- unreachable while cost <= limit
end

local function sliding_take(st, cost, now)
  if cost == 0 then return end
  local last = st.last
  local rec = st.log[last]
  if last >= st.first and rec[1] == now then
    rec[2] = rec[2] + cost
  else
    st.last = last + 1
    st.log[last + 1] = { now, cost }
  end
  st.used = st.used + cost
end

-- Promise.now() counts whole milliseconds, and it may tick while a function
-- just admitted runs: the start that function sees can be a millisecond
-- after the stamp it was admitted with, and a later start then looks 199
-- ms away from it. Moving the last stamp to the later reading keeps "at
-- most `limit` starts in any `interval`" true as the started functions see
-- it, at the cost of at most a millisecond more of waiting. Returns the
-- clock to go on with.
local function sliding_restamp(st, now)
  local later = Promise.now()
  if later <= now then return now end
  local rec = st.log[st.last]
  if st.last >= st.first and rec[1] == now then rec[1] = later end
  return later
end

local function token_restamp(_, now)
  return now
end

-- Token bucket, in units of 1/interval token: refilled by `limit` units per
-- ms, capacity burst * interval, a cost c needs c * interval units. The
-- units are floats (flimit, finterval): products of integer options (a
-- limit of 2^62, say) would wrap around.
local function token_refill(st, now)
  local elapsed = now - st.stamp
  if elapsed > 0 then
    st.units = min(st.maxUnits, st.units + elapsed * st.flimit)
  end
  st.stamp = now -- also when the clock was switched (fake timers) and went back
end

local function token_wait(st, cost, now)
  token_refill(st, now)
  local missing = cost * st.finterval - st.units
  if missing <= 0 then return 0 end
  return ceil(missing / st.flimit)
end

local function token_take(st, cost, now)
  token_refill(st, now)
  st.units = st.units - cost * st.finterval
end

---------------------------------------------------------------------------
-- The queue: a doubly linked list of waiters, served from the head.
---------------------------------------------------------------------------

local function unlink(st, w)
  if w.prev then w.prev.next = w.next else st.head = w.next end
  if w.next then w.next.prev = w.prev else st.tail = w.prev end
  w.prev, w.next, w.queued = nil, nil, false
  st.count = st.count - 1
end

local function stop_timer(st)
  if st.timer then
    Promise.clearTimeout(st.timer)
    st.timer, st.timerAt = nil, nil
  end
end

local function admit(w)
  if w.unsubscribe then
    w.unsubscribe()
    w.unsubscribe = nil
  end
  w.start()
end

local process

-- Serves the head of the queue while it may start, then keeps exactly one
-- timer, due when the new head may start (none when the queue is empty).
-- Re-entrant calls (from a function started by `rl(fn)`) are folded into
-- the running one.
function process(st)
  if st.processing then
    st.again = true
    return
  end
  st.processing = true
  repeat
    st.again = false
    local now = Promise.now()
    while st.head do
      local w = st.head
      local delay = st.wait(st, w.cost, now)
      if delay > 0 then
        local at = now + delay
        if st.timerAt ~= at then
          stop_timer(st)
          st.timerAt = at
          -- a wait longer than a timer holds is served in steps (setTimeout
          -- would clamp it to 1 ms): the timer fires early and re-checks
          st.timer = Promise.setTimeout(function()
            st.timer, st.timerAt = nil, nil
            process(st)
          end, min(delay, util.TIMEOUT_MAX))
        end
        break
      end
      unlink(st, w)
      st.take(st, w.cost, now)
      admit(w)
      now = st.restamp(st, now)
    end
    if not st.head then stop_timer(st) end
  until not st.again
  st.processing = false
end

-- Queues a waiter, or starts it at once. `start()` is called when admitted;
-- returns nil, or an error value to reject with.
local function enqueue(st, cost, signal, start, reject)
  if signal and signal.aborted then return signal.reason, true end
  if not st.head then
    local now = Promise.now()
    if st.wait(st, cost, now) == 0 then
      st.take(st, cost, now)
      start()
      st.restamp(st, now)
      return nil
    end
  end
  if st.count >= st.maxQueue then
    return Promise.QueueFullError(("rate limiter queue is full (maxQueue = %s)"):format(
      tostring(st.maxQueue))), true
  end
  local w = { cost = cost, start = start, reject = reject, queued = true, prev = st.tail }
  if st.tail then st.tail.next = w else st.head = w end
  st.tail = w
  st.count = st.count + 1
  if signal then
    w.unsubscribe = signal:onAbort(function(reason)
      w.unsubscribe = nil
      if not w.queued then return end
      local was_head = st.head == w
      unlink(st, w)
      reject(reason)
      -- a removed head may let the next ones start now
      if was_head then process(st) end
    end)
  end
  if st.head == w then process(st) end
  return nil
end

---------------------------------------------------------------------------
-- Public methods
---------------------------------------------------------------------------

local methods = {}

--- A promise fulfilled (with nil) when `cost` units (default 1) may start.
--- FIFO; `opts.signal` removes the waiter. A cost above the capacity raises.
---@param cost number?
---@param opts { signal: promise.AbortSignal? }?
---@return Promise
function methods.acquire(self, cost, opts)
  local st = check_self(self, "acquire")
  cost = check_cost(st, cost, 1, "acquire")
  local signal = util.checkopts("acquire", 2, opts, ACQUIRE).signal
  local p, resolve, reject = Promise.withResolvers()
  local err, failed = enqueue(st, cost, signal, function() resolve(nil) end, reject)
  if failed then reject(err) end
  return p
end

--- Takes `cost` units (default 1) and returns true only when no one is
--- waiting and they are available now; else returns false.
---@param cost number?
---@return boolean
function methods.tryAcquire(self, cost)
  local st = check_self(self, "tryAcquire")
  cost = check_cost(st, cost, 1, "tryAcquire")
  if st.head then return false end
  local now = Promise.now()
  if st.wait(st, cost, now) > 0 then return false end
  st.take(st, cost, now)
  return true
end

--- Rejects every waiter with `reason` (default: an `AbortError`), in queue
--- order, and stops the timer.
---@param reason any
function methods.clear(self, reason)
  local st = check_self(self, "clear")
  if reason == nil then reason = Promise.AbortError("rate limiter queue cleared") end
  local w = st.head
  st.head, st.tail, st.count = nil, nil, 0
  stop_timer(st)
  while w do
    local nxt = w.next
    w.prev, w.next, w.queued = nil, nil, false
    if w.unsubscribe then
      w.unsubscribe()
      w.unsubscribe = nil
    end
    w.reject(reason)
    w = nxt
  end
end

RateLimiter.__index = function(self, key)
  local st = states[self]
  if key == "pendingCount" then return st.count end
  if key == "strategy" or key == "limit" or key == "interval" or key == "maxQueue" then
    return st[key]
  end
  if key == "burst" then return st.strategy == "token" and st.capacity or nil end
  return methods[key]
end

RateLimiter.__newindex = function(_, key)
  error(("cannot set field '%s' of a rate limiter"):format(tostring(key)), 2)
end

RateLimiter.__call = function(self, fn, ...)
  local st = states[self]
  if not is_callable(fn) then
    util.argerror(1, "ratelimiter", "function", fn)
  end
  local p, resolve, reject = Promise.withResolvers()
  local args = pack(...)
  local err, failed = enqueue(st, 1, nil, function()
    resolve(Promise.try(fn, unpack(args, 1, args.n)))
  end, reject)
  if failed then reject(err) end
  return p
end

RateLimiter.__tostring = function(self)
  local st = states[self]
  return ("RateLimiter<%s %s/%s ms, %d waiting>"):format(
    st.strategy, tostring(st.limit), tostring(st.interval), st.count)
end

RateLimiter.__name = "RateLimiter"

--- Makes a rate limiter (see the module comment for the exact semantics).
---@param opts promise.RateLimiterOptions
---@return promise.RateLimiter
local function ratelimiter(opts)
  if type(opts) ~= "table" then util.argerror(1, "ratelimiter", "table", opts) end
  local o = util.checkopts("ratelimiter", 1, opts, OPTIONS)
  if o.strategy == "sliding" and o.burst ~= nil then
    util.badarg(1, "ratelimiter", "field 'burst' only applies to strategy \"token\"")
  end
  if o.store ~= nil then return o.store:ratelimiter(o) end   -- same API, counted in the store
  local strategy, limit, interval, maxQueue = o.strategy, o.limit, o.interval, o.maxQueue
  local burst = o.burst or limit
  local st = {
    strategy = strategy, limit = limit, interval = interval, maxQueue = maxQueue,
    count = 0, head = nil, tail = nil, timer = nil, timerAt = nil,
  }
  if strategy == "sliding" then
    st.capacity = limit
    st.log, st.first, st.last, st.used = {}, 1, 0, 0
    st.wait, st.take, st.restamp = sliding_wait, sliding_take, sliding_restamp
  else
    st.capacity = burst
    st.flimit, st.finterval = limit + 0.0, interval + 0.0
    st.maxUnits = burst * st.finterval
    st.units = st.maxUnits
    st.stamp = Promise.now()
    st.wait, st.take, st.restamp = token_wait, token_take, token_restamp
  end
  local self = setmetatable({}, RateLimiter)
  states[self] = st
  return self
end

return ratelimiter
