-- Debugging a payment pipeline that hangs in production, with Promise.debug.
--
-- Each payment runs three checks at once under Promise.all: validate, a
-- risk check, and a card authorization that asks a card gateway over TCP.
-- Two bugs hide in it, as in the classic incident:
--   * the gateway never answers one card, and the authorization has no
--     timeout: that payment's Promise.all never settles, and the batch
--     hangs with it;
--   * the risk check registers an abort listener on the shop's long-lived
--     shutdown signal for every payment and never removes it: a leak.
-- With tracking on (Promise.debug.enable()), a watchdog finds the hanging
-- payment and explains the await chain down to the socket read it stalled
-- on, lists the handles keeping the process alive, and the leak is named by
-- a MaxListenersExceededWarning. The watchdog then closes the gateway so
-- that the batch ends, and the stuck payment fails instead of hanging.
--
-- Run from the repository root:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 examples/debugging.lua
local Promise = require("promise")
local net = require("promise.net")

local async, await = Promise.async, Promise.await

local HANGING_CARD = "4000-0000-0000-0259"  -- the gateway never answers it
local STALL_MS = 500  -- no payment settled for this long, some pending: stuck

Promise.debug.enable()
Promise.onWarning(function(w) print("warning: " .. tostring(w)) end)

------------------------------------------------------------ the card gateway

-- Answers "APPROVED <card>" to each line, except for the hanging card.
local function gateway(sock)
  local card = await(sock:readLine())
  if card == HANGING_CARD then
    await(sock:read())  -- never answers: waits until the connection closes
    return
  end
  await(sock:write("APPROVED " .. card .. "\n"))
end

------------------------------------------------------------ the pipeline

local shutdown = Promise.AbortController()  -- lives as long as the shop
local GATEWAY_PORT

local validatePayment = async(function(payment)
  await(Promise.sleep(1))
  return payment.amount > 0
end)

local performRiskCheck = async(function(payment)
  -- BUG (leak): a listener per payment on a signal that never aborts, and
  -- the unsubscribe function it returns is dropped
  shutdown.signal:onAbort(function() payment.cancelled = true end)
  await(Promise.sleep(2))
  return payment.amount < 10000 and "low" or "high"
end)

local authorizeCard = async(function(payment)
  local sock = await(net.connect{ port = GATEWAY_PORT })
  await(sock:write(payment.card .. "\n"))
  -- BUG (hang): no timeout; Promise.timeout(sock:readLine(), 2000) would do
  local reply = await(sock:readLine())
  sock:close()
  if reply == nil then error("card gateway closed the connection", 0) end
  return reply
end)

local processPayment = async(function(payment)
  local results = await(Promise.all{
    validatePayment(payment),
    performRiskCheck(payment),
    authorizeCard(payment),
  })
  return ("%s: %s, risk %s"):format(payment.id, results[3], results[2])
end)

------------------------------------------------------------ the watchdog

-- What a monitoring alert for hanging transactions would log.
local function alert(payments, server)
  local stuck = 0
  for i, p in ipairs(payments) do
    if p:state() == "pending" then
      stuck = stuck + 1
      print(("payment %d is stuck; %s"):format(i, Promise.debug.explain(p)))
    end
  end
  print("handles keeping the process alive:")
  for _, h in ipairs(Promise.debug.handles()) do
    if h.keepsAlive then print("  " .. h.description) end
  end
  print(("closing the gateway to end %d stuck payment(s)"):format(stuck))
  return server:close{ force = true }
end

-- Checks every 100 ms: when payments are pending but none settled for
-- STALL_MS, raises the alert (once). Resolves when the alert is done.
local function watchdog(payments, server)
  local settled, seen, quiet = 0, -1, 0
  local function count() settled = settled + 1 end
  for _, p in ipairs(payments) do p:next(count, count) end
  local done, finish = Promise.withResolvers()
  local timer
  timer = Promise.setInterval(function()
    quiet = settled == seen and quiet + 100 or 0
    seen = settled
    if settled == #payments then
      Promise.clearInterval(timer)
      finish(nil)
    elseif quiet >= STALL_MS then
      Promise.clearInterval(timer)
      finish(alert(payments, server))
    end
  end, 100)
  return done
end

------------------------------------------------------------ main

local ok, err = Promise.run(function()
  local server = await(net.listen({ host = "127.0.0.1", port = 0 }, gateway))
  GATEWAY_PORT = server.port
  local payments = {}
  for i = 1, 12 do
    local card = i == 7 and HANGING_CARD or ("4242-0000-0000-%04d"):format(i)
    payments[i] = processPayment{ id = "pay-" .. i, card = card, amount = 100 * i }
  end
  local dog = watchdog(payments, server)
  local results = await(Promise.allSettled(payments))
  await(dog)
  local done, failed = 0, 0
  for i, r in ipairs(results) do
    if r.status == "fulfilled" then done = done + 1 else
      failed = failed + 1
      print(("payment %d failed: %s"):format(i, tostring(r.reason)))
    end
  end
  print(("%d payments authorized, %d failed"):format(done, failed))
end)
if not ok then
  print("error: " .. tostring(err))
  os.exit(1)
end
