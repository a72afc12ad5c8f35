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
-- Run from the repository root:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 examples/payment.lua
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

local ok, err = Promise.run(function()
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
end)
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
