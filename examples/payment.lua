-- Payment processing (the seed's fintech scenario): an idempotent charge,
-- retried with exponential backoff, each attempt limited by a timeout and
-- made through a circuit breaker that guards the payment gateway.
--
-- * Idempotency: a payment is keyed by its idempotency key. The promise of
--   its result is stored at once, so a duplicate request (even a concurrent
--   one) shares it instead of charging again; the gateway also deduplicates
--   by key, so a retry after a timed-out attempt that in fact went through
--   returns the same charge instead of charging twice.
-- * Retry (Promise.retry): only retryable errors (network errors, 503s,
--   timeouts); a declined card is final at once.
-- * Breaker (Promise.breaker): `timeout` turns a hung attempt into a
--   failure; a declined card says nothing about the gateway's health
--   (isFailure = false); consecutive gateway failures open the circuit, and
--   then payments fail fast (no request reaches the gateway) until a trial
--   call succeeds.
--
-- Redis mode (`lua5.4 examples/payment.lua redis`): two processes receive
-- the same payment requests at the same moment. Each request goes through
-- `redis.idempotency` (a lock per idempotency key, the result stored in
-- Redis), so the card is charged once per key across both processes: the
-- first process to take a key's lock runs the charge (with the same retry
-- and breaker path), the other waits for its stored result. Uses the server
-- at REDIS_URL when it is set; otherwise starts its own redis-server
-- (examples/support/redis_server.lua).
--
-- Run from the repository root:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 examples/payment.lua [redis]
local Promise = require("promise")
local await = Promise.await

local PaymentError = Promise.Error:extend("PaymentError")

---------------------------------------------------------------- the gateway
-- A simulated gateway. `script` lists what the next requests do:
-- "ok" (charged after 20 ms), "slow" (charged, but only after 200 ms),
-- "503" (fails after 10 ms), "decline" (card declined after 10 ms).
-- Charges are deduplicated by idempotency key, as real gateways do.
local gateway = { script = {}, requests = 0, charges = {}, byKey = {}, default = "ok" }

function gateway.charge(key, amount)
  if gateway.shared then return gateway.shared(key, amount) end   -- Redis mode
  gateway.requests = gateway.requests + 1
  local behaviour = table.remove(gateway.script, 1) or gateway.default
  local function charge()
    local existing = gateway.byKey[key]
    if existing then return existing end
    local c = { id = ("ch_%d"):format(#gateway.charges + 1), key = key, amount = amount }
    gateway.charges[#gateway.charges + 1] = c
    gateway.byKey[key] = c
    return c
  end
  if behaviour == "ok" then
    return Promise.sleep(20):next(charge)
  elseif behaviour == "slow" then
    return Promise.sleep(200):next(function()
      local c = charge()
      print(("  gateway: slow request for %s completed late: %s"):format(key, c.id))
      return c
    end)
  elseif behaviour == "503" then
    return Promise.sleep(10):next(function()
      error(PaymentError("gateway unavailable", { code = "SERVICE_UNAVAILABLE" }), 0)
    end)
  else
    return Promise.sleep(10):next(function()
      error(PaymentError("card declined", { code = "CARD_DECLINED" }), 0)
    end)
  end
end

---------------------------------------------------------------- resilience
local RETRYABLE = { NETWORK_ERROR = true, GATEWAY_TIMEOUT = true, SERVICE_UNAVAILABLE = true }

local function errname(err)
  if type(err) == "table" then return err.code or err.name end
  return tostring(err)
end

local gatewayBreaker = Promise.breaker{
  failureThreshold = 3,
  resetTimeout = 300,
  timeout = 100,   -- an attempt not answered in 100 ms is a failure
  -- a declined card is the customer's problem, not the gateway's
  isFailure = function(err) return errname(err) ~= "CARD_DECLINED" end,
}
gatewayBreaker:on("open", function(ms)
  print(("  [breaker] gateway circuit open for %d ms"):format(ms))
end)
gatewayBreaker:on("half_open", function() print("  [breaker] gateway circuit half-open") end)
gatewayBreaker:on("close", function() print("  [breaker] gateway circuit closed") end)

local chargeGateway = gatewayBreaker:wrap(gateway.charge)

local function charge(req)
  return Promise.retry(function()
    return chargeGateway(req.key, req.amount)
  end, {
    retries = 3, minDelay = 50, factor = 2, jitter = "none",
    shouldRetry = function(err)
      return RETRYABLE[errname(err)] or Promise.TimeoutError.is(err)
    end,
    onRetry = function(err, attempt, delay)
      print(("  %s: attempt %d failed (%s), retrying in %d ms"):format(req.key, attempt, errname(err), delay))
    end,
  })
end

---------------------------------------------------------------- payments
local results = {} -- idempotency key -> promise of the result

local function processPayment(req)
  local stored = results[req.key]
  if stored then
    print(("  %s: duplicate request, returning the stored result"):format(req.key))
    return stored
  end
  local p = charge(req):next(function(c)
    return { success = true, paymentId = c.id, status = "completed" }
  end, function(err)
    local res = { success = false, errorCode = errname(err) }
    if Promise.CircuitOpenError.is(err) then
      res.retryAfter = err.retryAfter
    end
    return res
  end)
  results[req.key] = p
  return p
end

local function show(key, res)
  if res.success then
    print(("%s: %s, payment %s"):format(key, res.status, res.paymentId))
  elseif res.retryAfter then
    print(("%s: not charged, gateway circuit open (%s, retry in ~%d ms)"):format(
      key, res.errorCode, math.ceil(res.retryAfter / 100) * 100))
  else
    print(("%s: failed (%s)"):format(key, res.errorCode))
  end
end

local function demo()
  print("order-1001: the first attempt hangs, the second gets a 503")
  gateway.script = { "slow", "503" }
  local first = processPayment{ key = "order-1001", amount = 49.99 }
  local dup = processPayment{ key = "order-1001", amount = 49.99 } -- concurrent duplicate
  local r1, r2 = await(first), await(dup)
  show("order-1001", r1)
  print(("duplicate got the same payment: %s"):format(tostring(r1.paymentId == r2.paymentId)))
  show("order-1001", await(processPayment{ key = "order-1001", amount = 49.99 }))
  print(("charges made by the gateway: %d"):format(#gateway.charges))

  print("order-1002: card declined (final, and not a gateway failure)")
  gateway.script = { "decline" }
  show("order-1002", await(processPayment{ key = "order-1002", amount = 15.00 }))
  print(("breaker: %s, %d ignored"):format(gatewayBreaker:state(), gatewayBreaker:stats().ignored))

  print("gateway outage")
  gateway.default = "503"
  local before = gateway.requests
  show("order-1003", await(processPayment{ key = "order-1003", amount = 120.00 }))
  show("order-1004", await(processPayment{ key = "order-1004", amount = 8.50 }))
  print(("gateway requests during the outage: %d"):format(gateway.requests - before))

  print("gateway back")
  gateway.default = "ok"
  local wait = await(results["order-1004"]).retryAfter
  await(Promise.sleep(wait))
  show("order-1005", await(processPayment{ key = "order-1005", amount = 33.00 }))
  print(("charges made by the gateway: %d"):format(#gateway.charges))
end

---------------------------------------------------------------- Redis mode
-- The same requests reach two processes. The gateway is shared: charges
-- are recorded in Redis (`gateway:charges`), and order-2002's first
-- attempt gets a 503 in whichever process runs it.
local REQUESTS = {
  { key = "order-2001", amount = 49.99 }, { key = "order-2002", amount = 15.00 },
  { key = "order-2003", amount = 7.50 }, { key = "order-2001", amount = 49.99 },   -- a duplicate
}

local function redisWorker(url, name)
  local redis = require("promise.redis")
  local client = await(redis.connect{ url = url })
  local attempts = {}
  gateway.shared = function(key, amount)
    attempts[key] = (attempts[key] or 0) + 1
    return Promise.sleep(10):next(function()
      if key == "order-2002" and attempts[key] == 1 then
        error(PaymentError("gateway unavailable", { code = "SERVICE_UNAVAILABLE" }), 0)
      elseif key == "order-2003" then
        error(PaymentError("card declined", { code = "CARD_DECLINED" }), 0)
      end
      return client:rpush("gateway:charges", key .. " " .. amount):next(function(n)
        return { id = ("ch_%d"):format(n), key = key, amount = amount }
      end)
    end)
  end
  local idem = redis.idempotency(client, { ttl = 60000, prefix = "payment:" })
  await(client:blpop("payment:start", 0))   -- both processes start together
  local answers = {}
  for i, req in ipairs(REQUESTS) do
    answers[i] = idem:run(req.key, function()
      print(("%s %s: runs the charge under the key's lock"):format(name, req.key))
      return charge(req):next(function(c)
        return { success = true, paymentId = c.id, status = "completed" }
      end, function(e)
        return { success = false, errorCode = errname(e) }   -- a final answer: stored too
      end)
    end)
  end
  for i, res in ipairs(await(Promise.all(answers))) do
    print(("RESULT %s %s"):format(REQUESTS[i].key, res.success and res.paymentId or res.errorCode))
  end
  await(client:close())
end

local function redisDemo(url)
  local redis = require("promise.redis")
  local process = require("promise.process")
  local client = await(redis.connect{ url = url })
  local function cleanup()
    local keys = { "gateway:charges", "payment:start" }
    for _, r in ipairs(REQUESTS) do keys[#keys + 1] = "payment:" .. r.key end
    await(client:del(table.unpack(keys)))
  end
  cleanup()
  print("two processes receive the same 4 requests (order-2001 twice)")
  local runs = { process.exec("lua5.4", { arg[0], "redis-worker", url, "A" }),
                 process.exec("lua5.4", { arg[0], "redis-worker", url, "B" }) }
  await(client:rpush("payment:start", 1, 2))
  local outcomes = await(Promise.all(runs))
  local runsOf, answers, retries = {}, {}, {}
  for _, r in ipairs(outcomes) do
    if r.code ~= 0 then error("a worker failed: " .. r.stderr) end
    for line in r.stdout:gmatch("[^\n]+") do
      local key = line:match("^%a (order%-%d+): runs the charge")
      local rkey, answer = line:match("^RESULT (%S+) (%S+)$")
      if key then runsOf[key] = (runsOf[key] or 0) + 1 end
      if rkey then
        answers[rkey] = answers[rkey] or {}
        table.insert(answers[rkey], answer)
      end
      if line:match("retrying in") then retries[#retries + 1] = line end
    end
  end
  for _, key in ipairs({ "order-2001", "order-2002", "order-2003" }) do
    local list, same = answers[key], true
    for _, a in ipairs(list) do same = same and a == list[1] end
    print(("%s: charge run %d time(s) for %d requests; every answer the same: %s (%s)"):format(key,
      runsOf[key] or 0, #list, tostring(same), list[1]:match("^ch_") and "paid" or list[1]))
  end
  for _, line in ipairs(retries) do print("retry path:" .. line) end
  print(("gateway charges: %d (one per paid key)"):format(await(client:llen("gateway:charges"))))
  cleanup()
  await(client:close())
end

local ok, err
if arg[1] == "redis-worker" then
  ok, err = Promise.run(redisWorker, arg[2], arg[3])
elseif arg[1] == "redis" then
  local url, stop = require("examples.support.redis_server").open()
  ok, err = Promise.run(redisDemo, url)
  stop()
else
  ok, err = Promise.run(demo)
end
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
