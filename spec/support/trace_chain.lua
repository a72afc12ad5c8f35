-- Fixture of spec/trace_spec.lua: the async functions whose errors it
-- traces. Its line numbers are in the traces the spec expects: edit the
-- two together.
local Promise = require("promise")
local async, await = Promise.async, Promise.await

local M = {}

local chargeCard = async(function(card)
  await(Promise.resolve())
  if card == "declined" then error("card declined", 0) end
  return "ch_" .. card
end)

local validate = async(function(card)
  if card == "" then error("no card", 0) end
  return card
end)

local processPayment = async(function(card)
  await(validate(card))
  local charge = await(chargeCard(card))
  return charge
end)

M.handleRequest = async(function(card)
  return await(processPayment(card))
end)

M.handleBatch = async(function(cards)
  local list = {}
  for i, card in ipairs(cards) do list[i] = processPayment(card) end
  return await(Promise.all(list))
end)

M.firstOf = async(function(kind, cards)
  local list = {}
  for i, card in ipairs(cards) do list[i] = chargeCard(card) end
  return await(Promise[kind](list))
end)

M.withNext = async(function(card)
  return await(chargeCard(card):next(function(c) return c end))
end)

M.rethrow = async(function(card)
  local ok, err = pcall(await, chargeCard(card))
  if not ok then
    error(err, 0)
  end
  return err
end)

return M
