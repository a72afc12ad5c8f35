--- Promisified TCP (`require("promise.net")`; manual: docs/manual/net.md).
---
--- ```lua
--- local net = require("promise.net")
--- local server = await(net.listen({ host = "127.0.0.1", port = 0 }, function(sock)
---   local line = await(sock:readLine())
--- end))
--- local sock = await(net.connect{ host = "127.0.0.1", port = server.port })
--- await(sock:write("hello\n"))
--- ```
---
--- Sockets
--- * Reading is pull-based, with backpressure: it starts with the first
---   `read`/`readLine`; a chunk that arrives with nobody waiting is kept (at
---   most one chunk, luv's read size, 64 KiB) and reading stops until it is
---   taken. A slow reader so slows the peer down through TCP. A socket
---   nobody waits on does not keep the loop alive.
--- * `read` resolves with the next chunk, or nil once the peer has shut its
---   side down (end of stream). `readLine` resolves with the next line
---   without its "\n" (and a "\r" before it), the last unterminated line at
---   the end, then nil; a line longer than `opts.maxLength` (16 MiB) closes
---   the socket with ERR_LINE_TOO_LONG. Use one reader at a time.
--- * `write` resolves once luv has handed the data to the kernel.
--- * No handle outlives an error: a read or write error closes the socket
---   (later calls reject with that error); so does aborting a read or a
---   write through `opts.signal`, which rejects with the signal's reason.
---   Calls on a socket closed by `close()` reject with an IOError whose code
---   is `"ERR_SOCKET_CLOSED"` (as in Node). Every rejection caused by an
---   error or an abort happens after the handle is closed.
--- * Each socket handed to a server's handler is closed when the handler
---   (an async function) returns or fails; an error it raises is reported
---   as an unhandled rejection.
---
--- `connect` resolves names first (`dns.lookup`), tries each address in
--- turn and rejects with the last error (`code` e.g. `"ECONNREFUSED"`,
--- `syscall = "connect"`, `address`, `port`). Aborting it closes the handle.
--- `listen` resolves with a server once bound (`server.port`, the actual
--- port, also when 0 was asked for); `server:close()` stops accepting and
--- resolves when the listening handle is closed and every connection's
--- handler has finished (`server:close{ force = true }` closes the
--- connections too).

local Promise = require("promise")
local ioerror = require("promise.ioerror")
local util = require("promise.util")
local dns = require("promise.dns")
local dbg = require("promise.debug")
local socket = require("promise.net.socket")

local type, error, setmetatable, getmetatable, tostring, pcall, ipairs, pairs, rawget =
  type, error, setmetatable, getmetatable, tostring, pcall, ipairs, pairs, rawget
local async, await = Promise.async, Promise.await
local cb, fromLuv, checkopts, argerror = ioerror.cb, ioerror.fromLuv, ioerror.checkopts, ioerror.argerror
local newtcp, closehandle, wrap = socket.newtcp, socket.closehandle, socket.wrap

local M = {}

---------------------------------------------------------------- connect

--- Connects a new handle to one address.
local function connectone(address, port, signal, site)
  if signal and signal.aborted then return Promise.reject(signal.reason) end
  local p, resolve, reject = Promise.withResolvers()
  local h = newtcp()
  local fields = { syscall = "connect", address = address, port = port }
  local where = address .. ":" .. port
  local aborted, unsubscribe = false, nil
  local ok, err, name = h:connect(address, port, cb(function(e)
    if unsubscribe then unsubscribe() end
    if aborted then return end
    if e then
      closehandle(h, function() reject(fromLuv(e, fields, nil, where)) end)
    else
      resolve(wrap(h, site))
    end
  end))
  if not ok then
    closehandle(h, function() reject(fromLuv(err, fields, name, where)) end)
  elseif signal then
    unsubscribe = signal:onAbort(function(reason)
      aborted = true
      closehandle(h, function() reject(reason) end)
    end)
  end
  return p
end

local connect = async(function(host, port, signal, family, site)
  local addrs = await(dns.lookup(host, { signal = signal, family = family }))
  local lasterr
  for _, a in ipairs(addrs) do
    local ok, res = pcall(await, connectone(a.address, port, signal, site))
    if ok then return res end
    if signal and signal.aborted or not Promise.IOError.is(res) then error(res, 0) end
    lasterr = res
  end
  error(lasterr, 0)
end)

local function checkport(opts, fname, default)
  local port = opts.port
  if port == nil then port = default end
  if math.type(port) ~= "integer" or port < 0 or port > 65535 then
    util.badarg(1, fname, ("field 'port': integer in 0..65535 expected, got %s")
      :format(port == nil and "nil" or tostring(port)), 3)
  end
  return port
end

---@class promise.net.ConnectOptions
---@field host string?   a name or an address (default "127.0.0.1")
---@field port integer
---@field family ("inet"|"inet6"|4|6)?
---@field signal promise.AbortSignal?

--- Connects to `opts.host`:`opts.port`.
---@param opts promise.net.ConnectOptions
---@return Promise # of a promise.net.Socket, once connected
function M.connect(opts)
  if type(opts) ~= "table" then argerror(1, "connect", "table", opts) end
  checkopts(opts, 1, "connect")
  local host = opts.host or "127.0.0.1"
  ioerror.checkname(host, 1, "connect", "host")
  local port = checkport(opts, "connect")
  if port == 0 then
    util.badarg(1, "connect", "field 'port': integer in 1..65535 expected, got 0")
  end
  return connect(host, port, opts.signal, opts.family, dbg.tracking and dbg.site(1) or nil)
end

---------------------------------------------------------------- servers

---@class promise.net.Server
---@field handle userdata   the listening luv uv_tcp_t
---@field address string   the bound address
---@field port integer     the bound port
---@field private _conns table      sockets whose handler is running or closing
---@field private _nconns integer
---@field private _closing Promise?
---@field private _forced boolean
---@field private _site string?    where listen was called (while debugging)
---@field private _onidle function? resolves close once the last connection is done
local Server = {}
Server.__index = Server
Server.__name = "Server"

--- Stops accepting; resolves when the listening handle is closed and every
--- connection is done. `opts.force` closes the open connections too (their
--- pending reads then reject with ERR_SOCKET_CLOSED, which is not reported).
---@param opts? {force: boolean?}
---@return Promise # of nil
function Server:close(opts)
  if getmetatable(self) ~= Server then
    util.selferror("close", "Server", self)
  end
  if opts ~= nil and type(opts) ~= "table" then argerror(1, "close", "table", opts) end
  if opts and opts.force then
    self._forced = true
    for s in pairs(self._conns) do s:close() end
  end
  if self._closing then return self._closing end
  local p, resolve = Promise.withResolvers()
  self._closing = p
  closehandle(self.handle, function()
    if self._nconns == 0 then
      resolve(nil)
    else
      self._onidle = function() resolve(nil) end
    end
  end)
  return p
end

function Server:__tostring()
  return ("Server<%s>: %s:%d"):format(self._closing and "closed" or "listening", self.address, self.port)
end

-- for Promise.debug.handles(): active, keeps the loop alive, what
local function serverinfo(server)
  local open = not server._closing
  return open, open and server.handle:has_ref(), ("%s:%s"):format(server.address, server.port)
end

local function isclosederror(err)
  return Promise.IOError.is(err) and rawget(err, "code") == "ERR_SOCKET_CLOSED"
end

--- Accepts one connection and runs the handler on it.
local function accept(server, handler)
  local h = newtcp()
  local ok, err = pcall(server.handle.accept, server.handle, h)
  if not ok or err == nil then
    closehandle(h)
    return
  end
  local sock = wrap(h, server._site)
  server._conns[sock] = true
  server._nconns = server._nconns + 1
  handler(sock)
    :finally(function() return sock:close() end)
    :next(nil, function(e)
      if server._forced and isclosederror(e) then return end
      error(e, 0)  -- left unhandled: reported by the unhandled-rejection reporter
    end)
    :finally(function()
      server._conns[sock] = nil
      server._nconns = server._nconns - 1
      if server._nconns == 0 and server._onidle then server._onidle() end
    end)
end

local listen = async(function(host, port, backlog, handler, site)
  local addr = await(dns.lookup(host))[1].address
  local h = newtcp()
  local function fail(err, name, syscall)
    local e = fromLuv(err, { syscall = syscall, address = addr, port = port }, name, addr .. ":" .. port)
    local p, resolve = Promise.withResolvers()
    closehandle(h, resolve)
    await(p)
    error(e, 0)
  end
  local ok, err, name = h:bind(addr, port)
  if not ok then fail(err, name, "bind") end
  local server = setmetatable({ handle = h, address = addr, _conns = {}, _nconns = 0, _forced = false }, Server)
  ok, err, name = h:listen(backlog, cb(function(e)
    if e or server._closing then return end
    accept(server, handler)
  end))
  if not ok then fail(err, name, "listen") end
  local me = h:getsockname()
  server.address, server.port = me.ip, me.port
  if dbg.tracking then
    dbg.track(server, "server", serverinfo, site)
    server._site = site
  end
  return server
end)

---@class promise.net.ListenOptions
---@field host string?     default "0.0.0.0"
---@field port integer?    default 0: any free port (see `server.port`)
---@field backlog integer? default 511

--- Listens for TCP connections; `handler(socket)` runs as an async
--- function for each of them.
---@param opts promise.net.ListenOptions
---@param handler fun(socket: promise.net.Socket)
---@return Promise # of a promise.net.Server, once listening
function M.listen(opts, handler)
  if type(opts) ~= "table" then argerror(1, "listen", "table", opts) end
  local host = opts.host or "0.0.0.0"
  ioerror.checkname(host, 1, "listen", "host")
  local port = checkport(opts, "listen", 0)
  local backlog = opts.backlog or 511
  if math.type(backlog) ~= "integer" then
    util.badarg(1, "listen", "field 'backlog': integer expected, got " .. util.typename(backlog))
  end
  local callable = type(handler) == "function"
  if not callable then
    local mt = getmetatable(handler)
    callable = type(mt) == "table" and rawget(mt, "__call") ~= nil
  end
  if not callable then argerror(2, "listen", "function", handler) end
  return listen(host, port, backlog, async(handler), dbg.tracking and dbg.site(1) or nil)
end

return M
