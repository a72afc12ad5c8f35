--- One physical connection to a Redis server: the luv stream (TCP or Unix
--- socket), the parser, the write batch and the FIFO of sent commands.
---
--- Bytes flow one way: `send` adds a command record to the batch; the batch
--- is written in ONE write per loop turn (a uv idle handle, started by the
--- first command of the turn, flushes it: everything issued before the
--- loop goes on is pipelined together). Replies go from the parser to the
--- dispatcher (or to `onpush` for push messages).
---
--- The stream is ref'd only while a reply is due or a batch is waiting (or
--- `keepalive` is set, for subscriptions), so an idle client does not keep
--- the loop alive.
---
--- `destroy(err)` is the single way out: it stops the parser, closes the
--- stream and hands `onclose(conn, err, sent, unsent)` the commands that
--- were sent (their fate unknown) and those never written. It runs once.

local Promise = require("promise")
local uv = require("luv")
local ioerror = require("promise.ioerror")
local dns = require("promise.dns")
local parser = require("promise.redis.parser")
local dispatcher = require("promise.redis.dispatcher")

local type, setmetatable = type, setmetatable

local M = {}

-- RESP2 subscriber-mode replies (arrays whose first element is one of these)
local PUBSUB = { message = true, pmessage = true, subscribe = true, unsubscribe = true,
  psubscribe = true, punsubscribe = true, smessage = true, ssubscribe = true, sunsubscribe = true }

---@class promise.redis.Connection
---@field handle userdata
---@field fifo promise.redis.Dispatcher
---@field closed table|boolean  false, or the error that closed it
---@field subscriber boolean     RESP2 pubsub replies go to onpush
---@field keepalive boolean      keep the loop alive even when idle
---@field done Promise           resolves once the stream is closed
local Connection = {}
Connection.__index = Connection
Connection.__name = "RedisConnection"

--- Refs the stream when work is due, unrefs it when idle.
local function updateref(self)
  local want = self.keepalive or self.nbatch > 0 or self.fifo.tail >= self.fifo.head
  if want ~= self.reffed and not self.closed then
    self.reffed = want
    if want then self.handle:ref() else self.handle:unref() end
  end
end
M.updateref = updateref

--- Writes the batch: one write of every command's bytes.
local function flush(self)
  local batch, nb = self.batch, self.nbatch
  if nb == 0 or self.closed then return end
  local out, n, fifo = {}, 0, self.fifo
  for i = 1, nb do
    local cmd = batch[i]
    batch[i] = nil
    if not cmd.dropped then
      local w = cmd.wire
      if type(w) == "string" then
        n = n + 1
        out[n] = w
      else
        for j = 1, w.n do out[n + j] = w[j] end
        n = n + w.n
      end
      cmd.wire = nil
      if not cmd.noreply then fifo:push(cmd) end
    end
  end
  self.nbatch = 0
  if n > 0 then
    local ok, err, name = self.handle:write(out, self.onwrite)
    if not ok then self:destroy(ioerror.fromLuv(err, { syscall = "write" }, name)) end
  end
  updateref(self)
end

--- Handles one reply from the parser.
local function onreply(self, v, kind)
  if kind == "push" or (self.subscriber and type(v) == "table" and PUBSUB[v[1]]) then
    if self.onpush then self.onpush(v) end
    return
  end
  if not self.fifo:reply(v, kind == "error") then
    self:destroy(ioerror.new("EPROTO", "protocol error: a reply came with no command waiting for it"))
  end
end

--- Handles what the stream read: data, end of stream or an error.
local function onread(self, err, data)
  if self.closed then return end
  if err then
    self:destroy(ioerror.fromLuv(err, { syscall = "read" }))
  elseif data == nil then
    self:destroy(ioerror.new("ECONNRESET", "connection closed by the server"))
  else
    local ok, perr = self.parser:feed(data)
    if not ok and not self.closed then
      self:destroy(ioerror.new("EPROTO", perr))
    elseif not self.closed then
      updateref(self)
    end
  end
end

--- Adds a command record to this turn's batch.
---@param cmd table  with `wire` (string or pieces with `n`), `settle`, `noreply`?
function Connection:send(cmd)
  local nb = self.nbatch + 1
  self.nbatch = nb
  self.batch[nb] = cmd
  if not self.scheduled then
    self.scheduled = true
    self.idle:start(self.onidle)
    if not self.reffed then updateref(self) end
  end
end

--- Closes the connection now (once): see the module header.
---@param err table the reason handed to `onclose`
function Connection:destroy(err)
  if self.closed then return end
  self.closed = err
  self.parser:stop("closed")
  if not self.idle:is_closing() then self.idle:close() end
  local sent = self.fifo:drain()
  local unsent = {}
  for i = 1, self.nbatch do
    local cmd = self.batch[i]
    if not cmd.dropped then unsent[#unsent + 1] = cmd end
    self.batch[i] = nil
  end
  self.nbatch = 0
  local h = self.handle
  if not h:is_closing() then
    h:close(ioerror.cb(function()
      ioerror.streamClosed()
      self.resolvedone(nil)
    end))
  end
  if self.rejectready then self.rejectready(err) end
  self.onclose(self, err, sent, unsent)
end

--- Makes the stream handle and starts connecting it; resolves `ready`.
local function start(self, cfg)
  local h
  if cfg.path then
    h = uv.new_pipe(false)
  else
    h = uv.new_tcp()
  end
  self.handle = h
  ioerror.streamOpened()
  local function connected(err)
    if self.closed then return end
    if err then
      local where = cfg.path or (cfg.host .. ":" .. cfg.port)
      return self:destroy(ioerror.fromLuv(err, { syscall = "connect", address = cfg.path or cfg.host,
        port = not cfg.path and cfg.port or nil }, nil, where))
    end
    self.rejectready = nil
    if not cfg.path then h:nodelay(true) end  -- no Nagle delay on small commands
    h:read_start(self.onread)
    self.resolveready(self)
  end
  if cfg.path then
    h:connect(cfg.path, ioerror.cb(connected))
    return
  end
  local function go(addr)
    local ok, err, name = h:connect(addr, cfg.port, ioerror.cb(connected))
    if not ok then connected(name or err) end
  end
  if cfg.host:match("^%d+%.%d+%.%d+%.%d+$") or cfg.host:find(":", 1, true) then
    go(cfg.host)
  else
    dns.lookup(cfg.host):next(function(addrs)
      if not self.closed then go(addrs[1].address) end
    end, function(e)
      self:destroy(e)
    end)
  end
end

---@class promise.redis.ConnectionHandlers
---@field onclose fun(conn: promise.redis.Connection, err: table, sent: table[], unsent: table[])
---@field onpush fun(v: table)?
---@field maxBulk integer?

--- Opens a connection to `cfg.path` or `cfg.host`:`cfg.port`. Returns the
--- connection at once; `conn.ready` resolves when it is connected (and
--- rejects with the error if it fails or is destroyed first).
---@param cfg promise.redis.Config
---@param handlers promise.redis.ConnectionHandlers
---@return promise.redis.Connection
function M.open(cfg, handlers)
  local self = setmetatable({
    fifo = dispatcher.new(), batch = {}, nbatch = 0, scheduled = false, closed = false,
    subscriber = false, keepalive = false, reffed = true,
    onclose = handlers.onclose, onpush = handlers.onpush,
  }, Connection)
  self.ready, self.resolveready, self.rejectready = Promise.withResolvers()
  self.ready:next(nil, function() end)  -- the client reports the failure
  self.done, self.resolvedone = Promise.withResolvers()
  self.parser = parser.new{
    onreply = function(v, kind) onreply(self, v, kind) end,
    makeError = function(text)
      return Promise.RedisError(text, { code = text:match("^(%S+)") or "ERR" })
    end,
    maxBulk = handlers.maxBulk,
  }
  self.idle = uv.new_idle()
  self.onidle = ioerror.cb(function()
    self.idle:stop()
    self.scheduled = false
    flush(self)
  end)
  self.onread = ioerror.cb(function(err, data) onread(self, err, data) end)
  self.onwrite = ioerror.cb(function(err)
    if err and not self.closed then self:destroy(ioerror.fromLuv(err, { syscall = "write" })) end
  end)
  start(self, cfg)
  return self
end

return M
