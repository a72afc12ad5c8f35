--- Pub/Sub: `client:subscribe(channel, fn)` and `client:psubscribe(pattern,
--- fn)` call `fn(message, channel[, pattern])` for each message and
--- resolve, once the server confirmed, to an unsubscribe function (which
--- returns a promise, resolved once the server confirmed that too).
---
--- Subscriptions live on a second connection of the client, made on first
--- use with the same options, so the client keeps serving commands. Its
--- set of channels and patterns is subscribed again after a reconnect.
--- That connection keeps the loop alive while a subscription exists.
--- SUBSCRIBE and its kin get no reply in order: their confirmations come
--- as push messages, matched here by channel.

local Promise = require("promise")
local util = require("promise.util")
local client = require("promise.redis.client")
local command = require("promise.redis.command")
local connection = require("promise.redis.connection")
local events = require("promise.redis.events")

local error, getmetatable, pcall, ipairs, pairs, next = error, getmetatable, pcall, ipairs, pairs, next

local M = {}

local function noop() end

-- push kind -> { set of the state, is a confirmation of a subscribe? }
local KINDS = {
  subscribe = { "channels", true }, unsubscribe = { "channels", false },
  psubscribe = { "patterns", true }, punsubscribe = { "patterns", false },
}

--- Sends a SUBSCRIBE-like command on the subscriber (no reply in order).
local function sendraw(sub, NAME, names)
  local cmd, p = command.new(NAME, names, 1, #names, NAME:lower(), 0, 2)
  p:next(nil, noop)
  cmd.noreply = true
  client.issue(sub, cmd)
end

--- Keeps the loop alive while a subscription exists.
local function updatekeep(state)
  local any = next(state.channels) ~= nil or next(state.patterns) ~= nil
  local sub = state.sub
  sub._keepalive = any
  if sub._conn then
    sub._conn.keepalive = any
    connection.updateref(sub._conn)
  end
end

--- Calls the listeners of a message.
local function deliver(list, ...)
  if not list then return end
  for _, fn in ipairs({ table.unpack(list) }) do
    local ok, err = pcall(fn, ...)
    if not ok then Promise.reject(err) end
  end
end

--- Handles a push message of the subscriber connection.
local function onpush(state, v)
  local kind = v[1]
  if kind == "message" then
    local e = state.channels[v[2]]
    deliver(e and e.listeners, v[3], v[2])
  elseif kind == "pmessage" then
    local e = state.patterns[v[2]]
    deliver(e and e.listeners, v[4], v[3], v[2])
  elseif KINDS[kind] then
    local set, on = KINDS[kind][1], KINDS[kind][2]
    local waiters = on and state.subwait or state.unsubwait
    local key = set .. "\0" .. tostring(v[2])
    local list = waiters[key]
    if list then
      waiters[key] = nil
      for _, w in ipairs(list) do w[1](nil) end
    end
  end
end

--- Subscribes again to everything after a reconnect.
local function resubscribe(state)
  local chans, pats = {}, {}
  for ch in pairs(state.channels) do chans[#chans + 1] = ch end
  for pat in pairs(state.patterns) do pats[#pats + 1] = pat end
  if #chans > 0 then sendraw(state.sub, "SUBSCRIBE", chans) end
  if #pats > 0 then sendraw(state.sub, "PSUBSCRIBE", pats) end
end

--- Waits for the confirmation of `kind` for `name`.
local function waitfor(waiters, key)
  local p, resolve, reject = Promise.withResolvers()
  local list = waiters[key]
  if not list then list = {} waiters[key] = list end
  list[#list + 1] = { resolve, reject }
  return p
end

--- Rejects every wait for a confirmation: the subscriber connection ended.
local function failwaiters(state)
  local err = client.closederror()
  for _, waiters in ipairs({ state.subwait, state.unsubwait }) do
    for key, list in pairs(waiters) do
      waiters[key] = nil
      for _, w in ipairs(list) do w[2](err) end
    end
  end
end

--- The client's subscriber state (its second connection made on first use).
local getstate = Promise.async(function(self)
  if self._pubsub then return Promise.await(self._pubsub) end
  local p, resolve, reject = Promise.withResolvers()
  self._pubsub = p
  local lifecycle = require("promise.redis.lifecycle")
  local ok, sub = pcall(Promise.await, lifecycle.connect(self._cfg))
  if not ok then
    self._pubsub = nil
    reject(sub)
    return Promise.await(p)
  end
  local state = { sub = sub, channels = {}, patterns = {}, subwait = {}, unsubwait = {} }
  sub._issub = true
  sub._conn.subscriber = true
  sub._onpush = function(v) onpush(state, v) end
  events.on(sub._events, "ready", function() resubscribe(state) end, "on")
  events.on(sub._events, "end", function() failwaiters(state) end, "on")
  if self._state == "closing" or self._state == "closed" then
    self._pubsub = nil
    Promise.await(sub:destroy())
    reject(client.closederror())
    return Promise.await(p)
  end
  self._subscriber = sub
  resolve(state)
  return state
end)

--- The unsubscribe function of one listener.
local function unsubscriber(state, set, name, fn, NAME)
  local done = false
  return function()
    if done then return Promise.resolve(nil) end
    done = true
    local e = state[set][name]
    if not e then return Promise.resolve(nil) end
    for i, f in ipairs(e.listeners) do
      if f == fn then table.remove(e.listeners, i) break end
    end
    if #e.listeners > 0 then return Promise.resolve(nil) end
    state[set][name] = nil
    local st = state.sub._state
    if st == "closing" or st == "closed" then  -- nothing left to unsubscribe from
      updatekeep(state)
      return Promise.resolve(nil)
    end
    -- the connection stays ref'd until the server confirmed
    local p = waitfor(state.unsubwait, set .. "\0" .. name)
    sendraw(state.sub, NAME, { name })
    return p:finally(function() updatekeep(state) end)
  end
end

local subscribe = Promise.async(function(self, set, name, fn, NAME, UNNAME)
  if self._state == "closing" or self._state == "closed" then error(client.closederror(), 0) end
  local state = Promise.await(getstate(self))
  if state.sub._state ~= "ready" and state.sub._state ~= "reconnecting" then
    error(client.closederror(), 0)
  end
  local e = state[set][name]
  local p
  if e then
    e.listeners[#e.listeners + 1] = fn
    if not e.confirmed then p = e.confirmedp end
  else
    e = { listeners = { fn }, confirmed = false }
    state[set][name] = e
    updatekeep(state)
    p = waitfor(state.subwait, set .. "\0" .. name)
    e.confirmedp = p
    sendraw(state.sub, NAME, { name })
  end
  if p then
    Promise.await(p)
    e.confirmed = true
  end
  return unsubscriber(state, set, name, fn, UNNAME)
end)

local NAME, LISTENER = util.field({ "name", "string" }), util.field({ "listener", "function" })

-- raises at the caller of the method that calls it (3: here, the method, its caller)
local function checkargs(self, fname, name, fn)
  if getmetatable(self) ~= client.Client then util.selferror(fname, "RedisClient", self, 3) end
  util.checkarg(1, fname, name, NAME, 3)
  util.checkarg(2, fname, fn, LISTENER, 3)
end

--- Calls `fn(message, channel)` for each message on `channel`; resolves to
--- an unsubscribe function once subscribed.
---@param channel string
---@param fn fun(message: string, channel: string)
---@return Promise # of fun(): Promise
function client.methods:subscribe(channel, fn)
  checkargs(self, "subscribe", channel, fn)
  return subscribe(self, "channels", channel, fn, "SUBSCRIBE", "UNSUBSCRIBE")
end

--- Calls `fn(message, channel, pattern)` for each message on a channel
--- matching `pattern`; resolves to an unsubscribe function.
---@param pattern string
---@param fn fun(message: string, channel: string, pattern: string)
---@return Promise # of fun(): Promise
function client.methods:psubscribe(pattern, fn)
  checkargs(self, "psubscribe", pattern, fn)
  return subscribe(self, "patterns", pattern, fn, "PSUBSCRIBE", "PUNSUBSCRIBE")
end

return M
