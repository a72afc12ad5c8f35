--- The sockets of promise.net (manual: docs/manual/net.md, the socket
--- methods): the TCP handle helpers net.lua shares (`newtcp`, `closehandle`,
--- `closederror`) and the Socket class, made by `wrap` around a connected
--- handle.
---
--- Invariants: luv reads only while a reader waits (`pull` starts reading
--- when it queues one in `_waiters`, `onread` stops once none is left, so a
--- chunk nobody asked for waits in `_buf` and holds the peer back); every
--- handle from `newtcp` is closed through `closehandle`, which keeps
--- ioerror's SIGPIPE count; and `destroy` rejects the waiting readers only
--- after the handle is closed, so no rejection caused by an error or an
--- abort leaves a handle open.

local Promise = require("promise")
local uv = require("luv")
local ioerror = require("promise.ioerror")
local util = require("promise.util")
local dbg = require("promise.debug")

local type, error, setmetatable, getmetatable, tostring, ipairs =
  type, error, setmetatable, getmetatable, tostring, ipairs
local concat, remove = table.concat, table.remove
local async, await = Promise.async, Promise.await
local cb, fromLuv, checkopts, argerror = ioerror.cb, ioerror.fromLuv, ioerror.checkopts, ioerror.argerror

local M = {}

---------------------------------------------------------------- handles

--- A new TCP handle (counted for the SIGPIPE guard).
local function newtcp()
  local h = uv.new_tcp()
  ioerror.streamOpened()
  return h
end

--- Closes a handle; `fn()` runs (and microtasks drain) once it is closed.
local function closehandle(h, fn)
  if h:is_closing() then
    -- someone else is closing it: their callback ends the count
    if fn then Promise.queueMicrotask(fn) end
    return
  end
  h:close(cb(function()
    ioerror.streamClosed()
    if fn then fn() end
  end))
end

local function closederror(syscall)
  return ioerror.new("ERR_SOCKET_CLOSED", "Socket is closed", { syscall = syscall })
end

---------------------------------------------------------------- sockets

---@class promise.net.Socket
---@field handle userdata     the luv uv_tcp_t (nil once closed)
---@field remoteAddress string?
---@field remotePort integer?
---@field localAddress string?
---@field localPort integer?
---@field private _buf string?       data received that nobody has asked for yet
---@field private _waiters table     readers waiting: { resolve, reject, unsubscribe }
---@field private _reading boolean   luv is reading
---@field private _eof boolean
---@field private _err table?        the error that closed the socket
---@field private _closed Promise?   the close in progress or done
local Socket = {}
Socket.__index = Socket
Socket.__name = "Socket"

local function checksock(self, fname)
  if getmetatable(self) ~= Socket then
    util.selferror(fname, "Socket", self, 3)
  end
end

-- for Promise.debug.handles(): active, keeps the loop alive, what
local function sockinfo(s)
  local open = not s._closed
  return open, open and s._reading and s.handle:has_ref(),
    ("%s:%s -> %s:%s"):format(s.localAddress, s.localPort, s.remoteAddress, s.remotePort)
end


local function newsocket(h)
  local s = setmetatable({ handle = h, _waiters = {}, _reading = false, _eof = false }, Socket)
  local peer = h:getpeername()
  if peer then s.remoteAddress, s.remotePort = peer.ip, peer.port end
  local me = h:getsockname()
  if me then s.localAddress, s.localPort = me.ip, me.port end
  return s
end

local function stopreading(self)
  if self._reading then
    self._reading = false
    if not self.handle:is_closing() then self.handle:read_stop() end
  end
end

--- Closes the handle and rejects every waiting reader with `err` (each
--- waiter's own reason when `reasons` maps it). Returns the close promise.
local function destroy(self, err, syscall)
  if self._closed then return self._closed end
  local p, resolve = Promise.withResolvers()
  self._closed = p
  self._err = err
  local waiters = self._waiters
  self._waiters = {}
  self._buf = nil
  self._reading = false
  local h = self.handle
  closehandle(h, function()
    self.handle = nil
    local e = err or closederror(syscall or "read")
    for _, w in ipairs(waiters) do
      if w.unsubscribe then w.unsubscribe() end
      w.reject(e)
    end
    resolve(nil)
  end)
  return p
end

local onread  -- function(self, err, data)

local function startreading(self)
  if not self._reading then
    self._reading = true
    self.handle:read_start(self._onread)
  end
end

function onread(self, err, data)
  if err then
    destroy(self, fromLuv(err, { syscall = "read" }))
    return
  end
  if data == nil then  -- end of stream
    self._eof = true
    stopreading(self)
    local waiters = self._waiters
    self._waiters = {}
    for _, w in ipairs(waiters) do
      if w.unsubscribe then w.unsubscribe() end
      w.resolve(nil)
    end
    return
  end
  local w = remove(self._waiters, 1)
  if w then
    if w.unsubscribe then w.unsubscribe() end
    w.resolve(data)
  else
    self._buf = (self._buf or "") .. data
  end
  if #self._waiters == 0 then stopreading(self) end
end

--- The next chunk: the buffered one, or the next one luv reads.
local function pull(self, signal)
  local buf = self._buf
  if buf then
    self._buf = nil
    return Promise.resolve(buf)
  end
  if self._err then return Promise.reject(self._err) end
  if self._closed then return Promise.reject(closederror("read")) end
  if self._eof then return Promise.resolve(nil) end
  if signal and signal.aborted then
    local reason = signal.reason
    return destroy(self, nil, "read"):next(function() error(reason, 0) end)
  end
  local p, resolve, reject = Promise.withResolvers()
  local w = { resolve = resolve, reject = reject }
  local waiters = self._waiters
  waiters[#waiters + 1] = w
  if signal then
    w.unsubscribe = signal:onAbort(function(reason)
      for i, x in ipairs(self._waiters) do
        if x == w then remove(self._waiters, i) break end
      end
      destroy(self, nil, "read"):next(function() reject(reason) end)
    end)
  end
  startreading(self)
  if dbg.tracking then
    dbg.waitingFor(p, ("a read on socket %s:%s"):format(self.remoteAddress, self.remotePort))
  end
  return p
end

--- The next chunk of data, or nil at the end of the stream.
---@param opts? {signal: promise.AbortSignal?}  aborting closes the socket
---@return Promise # of string|nil
function Socket:read(opts)
  checksock(self, "read")
  opts = checkopts(opts, 1, "read")
  return pull(self, opts.signal)
end

local readline = async(function(self, signal)
  local parts = {}
  while true do
    local chunk = await(pull(self, signal))
    if chunk == nil then
      if #parts == 0 then return nil end
      return concat(parts)
    end
    local i = chunk:find("\n", 1, true)
    if i then
      parts[#parts + 1] = chunk:sub(1, i - 1)
      if i < #chunk then self._buf = chunk:sub(i + 1) .. (self._buf or "") end
      local line = concat(parts)
      if line:byte(-1) == 13 then line = line:sub(1, -2) end
      return line
    end
    parts[#parts + 1] = chunk
  end
end)

--- The next line without its end of line ("\n" or "\r\n"); the last line
--- even when unterminated; then nil.
---@param opts? {signal: promise.AbortSignal?}  aborting closes the socket
---@return Promise # of string|nil
function Socket:readLine(opts)
  checksock(self, "readLine")
  opts = checkopts(opts, 1, "readLine")
  return readline(self, opts.signal)
end

--- Runs one luv stream request (`write`, `shutdown`) as a promise. An error
--- or an abort closes the socket before rejecting.
local function streamreq(self, signal, syscall, fn, ...)
  if self._err then return Promise.reject(self._err) end
  if self._closed then return Promise.reject(closederror(syscall)) end
  if signal and signal.aborted then
    local reason = signal.reason
    return destroy(self, nil, syscall):next(function() error(reason, 0) end)
  end
  local p, resolve, reject = Promise.withResolvers()
  local aborted, unsubscribe = false, nil
  local function fail(err)
    destroy(self, err, syscall):next(function() reject(err) end)
  end
  local args = { ... }
  args[#args + 1] = cb(function(err)
    if unsubscribe then unsubscribe() end
    if aborted then return end
    if err then
      if err == "ECANCELED" and self._closed and not self._err then
        reject(closederror(syscall))  -- the socket was closed meanwhile
      else
        fail(fromLuv(err, { syscall = syscall }))
      end
    else
      resolve(nil)
    end
  end)
  local req, err, name = fn(self.handle, table.unpack(args))
  if not req then
    fail(fromLuv(err, { syscall = syscall }, name))
  elseif signal then
    unsubscribe = signal:onAbort(function(reason)
      aborted = true
      destroy(self, nil, syscall):next(function() reject(reason) end)
    end)
  end
  return p
end

--- Writes `data`; resolves once luv has handed it to the kernel.
---@param data string
---@param opts? {signal: promise.AbortSignal?}  aborting closes the socket
---@return Promise # of nil
function Socket:write(data, opts)
  checksock(self, "write")
  if type(data) ~= "string" then argerror(1, "write", "string", data) end
  opts = checkopts(opts, 2, "write")
  return streamreq(self, opts.signal, "write", uv.write, data)
end

--- Shuts the writing side down (the peer reads end of stream) once the
--- pending writes are done; reading stays possible.
---@param opts? {signal: promise.AbortSignal?}
---@return Promise # of nil
function Socket:shutdown(opts)
  checksock(self, "shutdown")
  opts = checkopts(opts, 1, "shutdown")
  return streamreq(self, opts.signal, "shutdown", uv.shutdown)
end

--- Closes the socket; pending reads reject with ERR_SOCKET_CLOSED. Resolves
--- once the handle is closed. Calling it again returns the same promise.
---@return Promise # of nil
function Socket:close()
  checksock(self, "close")
  return destroy(self, nil, "read")
end

function Socket:__tostring()
  return ("Socket<%s>: %s:%s -> %s:%s"):format(self._closed and "closed" or "open",
    tostring(self.localAddress), tostring(self.localPort),
    tostring(self.remoteAddress), tostring(self.remotePort))
end

local function wrap(h, at)
  local s = newsocket(h)
  s._onread = cb(function(err, data) onread(s, err, data) end)
  if dbg.tracking then dbg.track(s, "socket", sockinfo, at) end
  return s
end

M.newtcp, M.closehandle, M.closederror = newtcp, closehandle, closederror
M.Socket, M.wrap = Socket, wrap

return M
