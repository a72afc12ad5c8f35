--- The sockets of promise.net (manual: docs/manual/net.md, the socket
--- methods): the TCP handle helpers net.lua shares (`newtcp`, `closehandle`,
--- `closederror`) and the Socket class, made by `wrap` around a connected
--- handle.
---
--- Reading: `pull` serves a read or a line from the buffer at once when it
--- can (no coroutine, no luv call), else queues a reader in `_waiters` and
--- starts luv reading. Once the last reader is served luv keeps reading;
--- if nobody reads again by the end of the callback's microtasks, the handle
--- is unref'd (an idle socket does not keep the loop alive). So request and
--- reply cost no epoll change and no ref/unref; a chunk that arrives with
--- nobody waiting stays in `_buf` (read from `_pos` on, never copied per
--- line) and stops reading until it is taken: at most one chunk is
--- buffered, and a slow reader holds the peer back. A reader of a line
--- gathers the chunks of a line longer than one in its own `parts`, up to
--- its `max` bytes.
---
--- Writing: `uv_try_write` first, as Node does (no request when the kernel
--- takes it all); what is left goes through luv, the writes without a
--- signal sharing one callback and a queue of their settlers (`_wq`).
---
--- Invariants: every handle from `newtcp` is closed through `closehandle`,
--- which keeps ioerror's SIGPIPE count; and `destroy` rejects the waiting
--- readers only after the handle is closed, so no rejection caused by an
--- error or an abort leaves a handle open.

local Promise = require("promise")
local uv = require("luv")
local ioerror = require("promise.ioerror")
local util = require("promise.util")
local dbg = require("promise.debug")

local type, error, setmetatable, getmetatable, tostring, ipairs =
  type, error, setmetatable, getmetatable, tostring, ipairs
local concat, remove = table.concat, table.remove
local sub, find, byte = string.sub, string.find, string.byte
local resolved = Promise.resolve
local cb, fromLuv, checkopts, argerror = ioerror.cb, ioerror.fromLuv, ioerror.checkopts, ioerror.argerror

local M = {}

--- The longest line `readLine` accepts by default: 16 MiB before the "\n".
local MAXLINE = 16 * 1024 * 1024

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
---@field private _buf string?       data received that nobody has taken yet, from `_pos` on
---@field private _pos integer
---@field private _cr boolean        `_buf` may hold a "\r"
---@field private _waiters table     readers waiting: { resolve, reject, unsubscribe, line, max, parts, len }
---@field private _spare table?      a reader's table kept for the next one
---@field private _reading boolean   luv is reading
---@field private _ref boolean       the handle is ref'd (a reader waits, or nothing was read yet)
---@field private _wq table          writes in flight without a signal: resolve, reject, ...
---@field private _whead integer
---@field private _wtail integer
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

-- readLine's options
local LINEOPTS = util.schema({
  { "signal", "signal" },
  { "maxLength", "number", integer = true, above = 0, default = MAXLINE },
})

-- for Promise.debug.handles(): active, keeps the loop alive, what
local function sockinfo(s)
  local open = not s._closed
  return open, open and s._reading and s.handle:has_ref(),
    ("%s:%s -> %s:%s"):format(s.localAddress, s.localPort, s.remoteAddress, s.remotePort)
end


local function newsocket(h)
  local s = setmetatable({ handle = h, _waiters = {}, _pos = 1, _reading = false, _ref = true,
                           _eof = false, _wq = {}, _whead = 1, _wtail = 0 }, Socket)
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

--- Reads, and keeps the loop alive: a reader waits.
local function wantdata(self)
  local h = self.handle
  if not self._reading then
    self._reading = true
    h:read_start(self._onread)
  end
  if not self._ref then
    self._ref = true
    h:ref()
  end
end

--- Settles a reader with `v`.
local function settle(w, v)
  if w.unsubscribe then w.unsubscribe() end
  w.resolve(v)
end

--- Takes the first reader `w` off the queue and fulfils it with `v`. The
--- table of a reader without a signal is kept for the next one (`_spare`):
--- one allocation fewer per message.
local function deliver(self, w, v)
  local waiters = self._waiters
  if waiters[2] == nil then waiters[1] = nil else remove(waiters, 1) end
  local resolve = w.resolve
  if w.unsubscribe then
    w.unsubscribe()
  else
    w.resolve, w.reject, w.parts, w.len = nil, nil, nil, nil
    self._spare = w
  end
  resolve(v)
end

--- Closes the handle and rejects every waiting reader with `err` (default:
--- ERR_SOCKET_CLOSED) once it is closed; every write still in flight gets
--- its own callback from luv (ECANCELED). Returns the close promise.
local function destroy(self, err, syscall)
  if self._closed then return self._closed end
  local p, resolve = Promise.withResolvers()
  self._closed = p
  self._err = err
  local waiters = self._waiters
  self._waiters = {}
  self._buf = nil
  self._reading = false
  closehandle(self.handle, function()
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

local function toolong(self, max)
  local err = ioerror.new("ERR_LINE_TOO_LONG",
    ("readLine: line longer than %d bytes (opts.maxLength)"):format(max), { syscall = "read" })
  return destroy(self, err, "read"), err
end

--- The buffered data from `_pos` on; empties the buffer.
local function takeall(self)
  local buf, pos = self._buf, self._pos
  self._buf = nil
  if pos > 1 then return sub(buf, pos) end
  return buf
end

--- The next complete line in the buffer without its end of line (consumed),
--- or nil when the buffer holds no "\n". `false` when the line is longer
--- than `max`.
local function bufferedline(self, max)
  local buf, pos = self._buf, self._pos
  local i = find(buf, "\n", pos, true)
  if not i then
    if #buf - pos + 1 > max then return false end
    return nil
  end
  if i - pos > max then return false end
  local e = i - 1
  if e >= pos and byte(buf, e) == 13 then e = e - 1 end
  local line = sub(buf, pos, e)
  if i == #buf then self._buf = nil else self._pos = i + 1 end
  return line
end

--- Serves the waiting readers from the buffer, in order, as far as it goes;
--- a reader of a line takes the start of an unterminated one into its
--- `parts`.
local function serve(self)
  local waiters = self._waiters
  while true do
    local w = waiters[1]
    if not w or not self._buf then return end
    if not w.line then
      deliver(self, w, takeall(self))
    elseif not w.parts then
      local line = bufferedline(self, w.max)
      if line == false then toolong(self, w.max) return end
      if line then
        deliver(self, w, line)
      else
        local piece = takeall(self)
        w.parts, w.len = { piece }, #piece
        return
      end
    else  -- the line began in an earlier chunk
      local buf, pos = self._buf, self._pos
      local i = find(buf, "\n", pos, true)
      local len = w.len + (i or #buf + 1) - pos
      if len > w.max then toolong(self, w.max) return end
      local parts = w.parts
      if not i then
        parts[#parts + 1] = takeall(self)
        w.len = len
        return
      end
      parts[#parts + 1] = sub(buf, pos, i - 1)
      if i == #buf then self._buf = nil else self._pos = i + 1 end
      local line = concat(parts)
      if byte(line, -1) == 13 then line = sub(line, 1, -2) end
      deliver(self, w, line)
    end
  end
end

local onread  -- function(self, err, data)

function onread(self, err, data)
  if err then
    destroy(self, fromLuv(err, { syscall = "read" }))
    return
  end
  if data == nil then  -- end of stream: what is left, then nil
    self._eof = true
    stopreading(self)
    serve(self)
    local waiters = self._waiters
    self._waiters = {}
    for _, w in ipairs(waiters) do
      local v = nil
      if w.line then
        local parts = w.parts or {}
        if self._buf then parts[#parts + 1] = takeall(self) end
        if #parts > 0 then v = concat(parts) end
      end
      settle(w, v)
    end
    return
  end
  -- whether the buffer may hold a "\r" (readLine's hot path then looks)
  local cr = find(data, "\r", 1, true) ~= nil
  if self._buf then
    self._buf = takeall(self) .. data
    self._cr = self._cr or cr
  else
    self._buf = data
    self._cr = cr
  end
  self._pos = 1
  serve(self)
  if self._buf and self._waiters[1] == nil and not self._closed then
    stopreading(self)  -- data nobody asked for: hold the peer back
  end
end

--- After a read callback and the microtasks it caused: luv keeps reading
--- (no epoll change when the next read comes), but a socket nobody waits
--- on no longer keeps the loop alive. Checked only now, so a handler that
--- reads again at once (request and reply) costs no ref/unref.
local function onidle(self)
  if self._ref and self._reading and self._waiters[1] == nil and not self._closed then
    self._ref = false
    self.handle:unref()
  end
end

--- A read (`line` false) or a readLine (`line` true, lines up to `max`
--- bytes) as a promise.
local function pull(self, line, max, signal)
  if self._buf and self._waiters[1] == nil then
    if not line then return resolved(takeall(self)) end
    local v = bufferedline(self, max)
    if v then return resolved(v) end
    if v == false then
      local closing, err = toolong(self, max)
      return closing:next(function() error(err, 0) end)
    end
  end
  if self._err then return Promise.reject(self._err) end
  if self._closed then return Promise.reject(closederror("read")) end
  if self._eof then  -- and, for a line, no "\n" in what is left
    return Promise.resolve(self._buf and takeall(self) or nil)
  end
  if signal and signal.aborted then
    local reason = signal.reason
    return destroy(self, nil, "read"):next(function() error(reason, 0) end)
  end
  local p, resolve, reject = Promise.withResolvers()
  local w = self._spare
  if w then
    self._spare = nil
    w.resolve, w.reject, w.line, w.max = resolve, reject, line, max
  else
    w = { resolve = resolve, reject = reject, line = line, max = max }
  end
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
  if self._buf then serve(self) end  -- the start of the line may be buffered
  if not self._closed then wantdata(self) end
  if dbg.tracking then
    dbg.waitingFor(p, ("a read on socket %s:%s"):format(self.remoteAddress, self.remotePort))
  end
  return p
end

--- The next chunk of data, or nil at the end of the stream.
---@param opts? {signal: promise.AbortSignal?}  aborting closes the socket
---@return Promise # of string|nil
function Socket:read(opts)
  if getmetatable(self) ~= Socket then util.selferror("read", "Socket", self) end
  local signal = nil
  if opts ~= nil then signal = checkopts(opts, 1, "read").signal end
  return pull(self, false, MAXLINE, signal)
end

--- The next line without its end of line ("\n" or "\r\n"); the last line
--- even when unterminated; then nil. A line longer than `opts.maxLength`
--- bytes (default 16 MiB) closes the socket: the call rejects with an
--- IOError whose code is `"ERR_LINE_TOO_LONG"`.
---@param opts? {signal: promise.AbortSignal?, maxLength: integer?}  aborting closes the socket
---@return Promise # of string|nil
function Socket:readLine(opts)
  if opts == nil and self ~= nil then
    -- the hot path: `bufferedline` inlined, for a whole line already
    -- buffered with nobody before us. Only a socket has a `_buf`: anything
    -- else is checked below (the metatable test costs a tenth of a line).
    local buf = self._buf
    if buf and self._waiters[1] == nil then
      local pos = self._pos
      local i = find(buf, "\n", pos, true)
      if i and i - pos <= MAXLINE then
        local e = i - 1
        if self._cr and e >= pos and byte(buf, e) == 13 then e = e - 1 end
        if i == #buf then self._buf = nil else self._pos = i + 1 end
        return resolved(sub(buf, pos, e))
      end
    end
  end
  if getmetatable(self) ~= Socket then util.selferror("readLine", "Socket", self) end
  if opts == nil then return pull(self, true, MAXLINE, nil) end
  opts = util.checkopts("readLine", 1, opts, LINEOPTS)
  return pull(self, true, opts.maxLength, opts.signal)
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

--- Settles the oldest write made without a signal: luv completes a
--- stream's writes in the order they were made, so those writes share one
--- callback per socket and a queue of their resolve/reject pairs (`_wq`,
--- from `_whead` to `_wtail`), with no closure or table per write.
local function onwritten(self, err)
  local wq, i = self._wq, self._whead
  local resolve, reject = wq[i], wq[i + 1]
  wq[i], wq[i + 1] = nil, nil
  if i + 1 == self._wtail then
    self._whead, self._wtail = 1, 0
  else
    self._whead = i + 2
  end
  if not err then
    resolve(nil)
  elseif err == "ECANCELED" and self._closed and not self._err then
    reject(closederror("write"))  -- the socket was closed meanwhile
  else
    local e = fromLuv(err, { syscall = "write" })
    destroy(self, e, "write"):next(function() reject(e) end)
  end
end

--- Writes `data`; resolves once luv has handed it to the kernel.
---@param data string
---@param opts? {signal: promise.AbortSignal?}  aborting closes the socket
---@return Promise # of nil
function Socket:write(data, opts)
  if getmetatable(self) ~= Socket then util.selferror("write", "Socket", self) end
  if type(data) ~= "string" then argerror(1, "write", "string", data) end
  if opts ~= nil then
    local signal = checkopts(opts, 2, "write").signal
    if signal then return streamreq(self, signal, "write", uv.write, data) end
  end
  if self._err then return Promise.reject(self._err) end
  if self._closed then return Promise.reject(closederror("write")) end
  -- as Node does: straight to the kernel when nothing is queued before it
  -- (no request, no callback, and no epoll change when it is done)
  local h = self.handle
  local n, err, name = h:try_write(data)
  if n == #data then return resolved(nil) end
  if n then data = sub(data, n + 1) end
  if n or name == "EAGAIN" then
    -- luv never calls back before write returns: settlers queued after it
    n, err, name = h:write(data, self._onwrite)
  end
  if not n then
    local e = fromLuv(err, { syscall = "write" }, name)
    return destroy(self, e, "write"):next(function() error(e, 0) end)
  end
  local p, resolve, reject = Promise.withResolvers()
  local wq, t = self._wq, self._wtail
  wq[t + 1], wq[t + 2] = resolve, reject
  self._wtail = t + 2
  return p
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
  s._onread = cb(function(err, data) onread(s, err, data) end, function() onidle(s) end)
  s._onwrite = cb(function(err) onwritten(s, err) end)
  if dbg.tracking then dbg.track(s, "socket", sockinfo, at) end
  return s
end

M.newtcp, M.closehandle, M.closederror = newtcp, closehandle, closederror
M.Socket, M.wrap = Socket, wrap

return M
