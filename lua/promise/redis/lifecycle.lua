--- A client's life: connecting with the handshake (HELLO/AUTH, SELECT,
--- CLIENT SETNAME) under `connectTimeout` and `signal`, losing the
--- connection, reconnecting with full-jitter backoff, `close` and
--- `destroy`.
---
--- When the connection is lost: commands already sent reject with an
--- IOError (their fate is unknown); commands not yet written go back to
--- the front of the offline queue and are sent once the client is ready
--- again (or reject at once when `reconnect` is false).

local Promise = require("promise")
local ioerror = require("promise.ioerror")
local util = require("promise.util")
local connection = require("promise.redis.connection")
local command = require("promise.redis.command")
local client = require("promise.redis.client")
local events = require("promise.redis.events")

local async, await, pcall, ipairs, select = Promise.async, Promise.await, pcall, ipairs, select
local floor, min, random = math.floor, math.min, math.random

local M = {}

local methods, failall, takequeue = client.methods, client.failall, client.takequeue

local function noop() end

--- Emits "end", once in the client's life.
local function ended(self)
  if self._ended then return end
  self._ended = true
  events.emit(self._events, "end")
end

--- Sends one handshake command on `conn`; returns its promise.
local function internal(conn, NAME, ...)
  local cmd, p = command.new(NAME, { ... }, 1, select("#", ...), "connect", 0, 2)
  conn:send(cmd)
  return p
end

--- The handshake's promises, in order.
local function handshake(conn, cfg)
  local ps = {}
  if cfg.protocol == 3 then
    local args = { "3" }
    if cfg.password then
      args[#args + 1], args[#args + 2], args[#args + 3] = "AUTH", cfg.username or "default", cfg.password
    end
    if cfg.name then args[#args + 1], args[#args + 2] = "SETNAME", cfg.name end
    ps[#ps + 1] = internal(conn, "HELLO", table.unpack(args))
  else
    if cfg.password then
      if cfg.username then ps[#ps + 1] = internal(conn, "AUTH", cfg.username, cfg.password)
      else ps[#ps + 1] = internal(conn, "AUTH", cfg.password) end
    end
    if cfg.name then ps[#ps + 1] = internal(conn, "CLIENT", "SETNAME", cfg.name) end
  end
  if cfg.db ~= 0 then ps[#ps + 1] = internal(conn, "SELECT", cfg.db) end
  return ps
end

local onclose

--- Connects and runs the handshake; resolves to the connection. A failure
--- rejects after the stream is closed, with the first cause.
local establish = async(function(self, signal, background)
  local cfg = self._cfg
  local conn = connection.open(cfg, {
    onclose = function(c, err, sent, unsent) onclose(self, c, err, sent, unsent) end,
    onpush = function(v) if self._onpush then self._onpush(v) end end,
    maxBulk = cfg.maxBulk,
  })
  self._opening = conn
  local timer, unsub
  local ct = cfg.connectTimeout
  if ct > 0 and ct < math.huge then
    timer = Promise.setTimeout(function()
      conn:destroy(Promise.TimeoutError(("connect timed out after %s ms"):format(ct)))
    end, ct)
  end
  if background and self._queue.n == 0 and not self._keepalive then
    if timer then timer:unref() end
    conn.handle:unref()
    conn.reffed = false
  end
  self._openingtimer = timer
  if signal then
    if signal.aborted then conn:destroy(signal.reason)
    else unsub = signal:onAbort(function(reason) conn:destroy(reason) end) end
  end
  local ok, err = pcall(function()
    await(conn.ready)
    events.emit(self._events, "connect")
    await(Promise.all(handshake(conn, cfg)))
  end)
  if timer then Promise.clearTimeout(timer) end
  if unsub then unsub() end
  self._opening, self._openingtimer = nil, nil
  if not ok or conn.closed then
    if not conn.closed then conn:destroy(err) end
    await(conn.done)
    error(conn.closed, 0)
  end
  return conn
end)

--- Makes `conn` the client's connection and sends what waited.
local function adopt(self, conn)
  self._conn = conn
  self._state = "ready"
  conn.subscriber = self._issub or false
  conn.keepalive = self._keepalive or false
  connection.updateref(conn)
  for _, cmd in ipairs(takequeue(self)) do
    if not cmd.dropped then conn:send(cmd) end
  end
  events.emit(self._events, "ready")
end

--- Waits `delay` ms before a reconnect attempt (the timer keeps the loop
--- alive only while commands wait).
local function pause(self, delay)
  local p, resolve = Promise.withResolvers()
  local t = Promise.setTimeout(resolve, delay)
  if self._queue.n == 0 and not self._keepalive then t:unref() end
  self._timer, self._resume = t, resolve
  return p
end

--- The delay before reconnect attempt `attempt` (from 1): full jitter, a
--- random whole number of ms in [0, min(maxDelay, minDelay * 2^(attempt-1))),
--- and never more than a timer can hold (2^31 - 1 ms).
---@param attempt integer
---@param rc {minDelay: number, maxDelay: number}
---@param rand fun(): number a random number in [0, 1)
---@return integer
function M.backoff(attempt, rc, rand)
  local cap = min(rc.maxDelay, rc.minDelay * 2 ^ (attempt - 1), util.TIMEOUT_MAX)
  return floor(rand() * cap)
end

--- The reconnect loop: backoff with full jitter, until ready, closed or
--- out of retries.
local reconnect = async(function(self)
  local rc = self._cfg.reconnect
  local attempt, lasterr = 0, nil
  while self._state == "reconnecting" do
    attempt = attempt + 1
    if attempt > rc.retries then break end
    local delay = M.backoff(attempt, rc, random)
    events.emit(self._events, "reconnecting", attempt, delay)
    await(pause(self, delay))
    self._timer, self._resume = nil, nil
    if self._state ~= "reconnecting" then return end
    local ok, res = pcall(await, establish(self, nil, true))
    if self._state ~= "reconnecting" then
      if ok then res:destroy(client.closederror()) end
      return
    end
    if ok then return adopt(self, res) end
    lasterr = res
    events.emit(self._events, "error", res)
  end
  if self._state ~= "reconnecting" then return end
  self._state = "closed"
  failall(takequeue(self), Promise.IOError("reconnecting gave up after " .. (attempt - 1) .. " attempts",
    { code = lasterr and lasterr.code or "ECONNREFUSED", cause = lasterr }))
  ended(self)
end)

--- The error given to commands whose connection was lost after they were sent.
local function losterror(err)
  local msg = type(err) == "table" and err.message or tostring(err)
  return Promise.IOError(("connection lost (%s); the command may or may not have run"):format(msg),
    { code = type(err) == "table" and err.code or "ECONNRESET", cause = err })
end

--- The connection's onclose: see the module header.
function onclose(self, conn, err, sent, unsent)
  if conn ~= self._conn then  -- a connection still in its handshake
    failall(sent, err)
    failall(unsent, err)
    return
  end
  self._conn = nil
  local state = self._state
  if state == "closing" or state == "closed" then
    local e = self._closeerr or losterror(err)
    failall(sent, e)
    failall(unsent, e)
    return
  end
  failall(sent, losterror(err))
  events.emit(self._events, "error", err)
  if self._cfg.reconnect then
    local q = takequeue(self)
    local nq = self._queue
    for _, cmd in ipairs(unsent) do nq.n = nq.n + 1 nq[nq.n] = cmd end
    for _, cmd in ipairs(q) do nq.n = nq.n + 1 nq[nq.n] = cmd end
    self._state = "reconnecting"
    reconnect(self)
  else
    self._state = "closed"
    failall(unsent, err)
    failall(takequeue(self), err)
    ended(self)
  end
end

--- Keeps the pending reconnect timer alive once a command waits.
local function onqueued(self)
  if self._timer then self._timer:ref() end
  if self._openingtimer then self._openingtimer:ref() end
  local c = self._opening
  if c and not c.closed and not c.reffed then
    c.reffed = true
    c.handle:ref()
  end
end

--- Connects a client for `cfg`; resolves to it once ready.
---@param cfg promise.redis.Config
---@param signal table?
---@return Promise
function M.connect(cfg, signal)
  local self = client.new(cfg)
  self._onqueued = function() onqueued(self) end
  return establish(self, signal, false):next(function(conn)
    if self._state ~= "connecting" then
      conn:destroy(client.closederror())
      error(client.closederror(), 0)
    end
    adopt(self, conn)
    return self
  end, function(err)
    self._state = "closed"
    error(err, 0)
  end)
end

--- Stops whatever reconnecting or connecting is under way.
local function stopopening(self, err)
  if self._timer then
    Promise.clearTimeout(self._timer)
    self._resume()
    self._timer = nil
  end
  if self._opening then self._opening:destroy(err) end
end

local closing = async(function(self, state)
  if state == "ready" then
    local conn = self._conn
    local cmd, p = command.new("QUIT", {}, 1, 0, "close", 0, 2)
    conn:send(cmd)
    pcall(await, p)
    if not conn.closed then conn:destroy(client.closederror()) end
    await(conn.done)
  else
    local opening = self._opening
    failall(takequeue(self), client.closederror())
    stopopening(self, client.closederror())
    if opening then await(opening.done) end
  end
  if self._subscriber then await(self._subscriber:close()) end
  self._state = "closed"
  ended(self)
end)

--- Closes the client: the replies already due come in, then QUIT; later
--- commands reject. Resolves once the connection is closed.
---@return Promise # of nil
function methods:close()
  if self._closing then return self._closing end
  local state = self._state
  if state == "closed" then
    self._closing = Promise.resolve(nil)
    return self._closing
  end
  self._state = "closing"
  self._closing = closing(self, state)
  return self._closing
end

--- Closes the client now: pending commands reject with an AbortError.
--- Resolves once the connection is closed.
---@return Promise # of nil
function methods:destroy()
  local err = Promise.AbortError("the Redis client was destroyed")
  local state = self._state
  self._state = "closed"
  self._closeerr = err
  failall(takequeue(self), err)
  stopopening(self, err)
  local ps = {}
  local conn = self._conn
  if conn then
    conn:destroy(err)
    ps[1] = conn.done
  end
  if self._subscriber then ps[#ps + 1] = self._subscriber:destroy() end
  if state ~= "closed" then ended(self) end
  return Promise.all(ps):next(noop)
end

--- Closes the client like `close` (a QUIT sent by hand would only make it
--- reconnect); resolves to "OK".
---@return Promise # of "OK"
function methods:quit()
  return self:close():next(function() return "OK" end)
end

--- A new connection with the same options (`opts` on top); resolves to a
--- ready client.
---@param opts table?
---@return Promise # of a RedisClient
function methods:duplicate(opts)
  local options = require("promise.redis.options")
  local cfg = options.merge(self._cfg, opts, "duplicate")
  return M.connect(cfg, opts and opts.signal)
end

M.losterror = losterror
M.noop = noop
M.ioerror = ioerror
return M
