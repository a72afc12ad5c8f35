--- Shared plumbing of the promisified luv I/O modules (manual:
--- docs/manual/fs.md, net.md, dns.md, process.md): luv errors turned into
--- `Promise.IOError`, argument checks, callbacks that drain the
--- microtask queue, and the SIGPIPE guard of streams.
---
--- luv reports errors in two shapes:
--- * fs calls and synchronous failures: a string `"ENOENT: no such file or
---   directory: /x"` (name, text, and for fs calls the path), plus the bare
---   name as an extra value in synchronous calls;
--- * stream, connect and getaddrinfo callbacks: the bare name, `"ECONNREFUSED"`.
--- Both become an IOError with `code` = the name and `message` = luv's text
--- (for a bare name, the name and libuv's text for it, as luv would print it).

local Promise = require("promise")
local uv = require("luv")
local util = require("promise.util")

local type, tostring = type, tostring

local M = {}

-- libuv's strerror texts for the names that luv reports bare (luv 1.44 has
-- no uv.strerror).
local TEXTS = {
  E2BIG = "argument list too long",
  EACCES = "permission denied",
  EADDRINUSE = "address already in use",
  EADDRNOTAVAIL = "address not available",
  EAFNOSUPPORT = "address family not supported",
  EAGAIN = "resource temporarily unavailable",
  EAI_ADDRFAMILY = "address family not supported",
  EAI_AGAIN = "temporary failure",
  EAI_BADFLAGS = "bad ai_flags value",
  EAI_CANCELED = "request canceled",
  EAI_FAIL = "permanent failure",
  EAI_FAMILY = "ai_family not supported",
  EAI_MEMORY = "out of memory",
  EAI_NODATA = "no address",
  EAI_NONAME = "unknown node or service",
  EAI_SERVICE = "service not available for socket type",
  EAI_SOCKTYPE = "socket type not supported",
  EBADF = "bad file descriptor",
  EBUSY = "resource busy or locked",
  ECANCELED = "operation canceled",
  ECONNABORTED = "software caused connection abort",
  ECONNREFUSED = "connection refused",
  ECONNRESET = "connection reset by peer",
  EHOSTUNREACH = "host is unreachable",
  EINVAL = "invalid argument",
  EISCONN = "socket is already connected",
  EMFILE = "too many open files",
  ENETDOWN = "network is down",
  ENETUNREACH = "network is unreachable",
  ENOBUFS = "no buffer space available",
  ENOENT = "no such file or directory",
  ENOMEM = "not enough memory",
  ENOTCONN = "socket is not connected",
  ENOTSOCK = "socket operation on non-socket",
  EPERM = "operation not permitted",
  EPIPE = "broken pipe",
  ETIMEDOUT = "connection timed out",
  EOF = "end of file",
}

---@class promise.IOErrorFields
---@field path string?     the file the call was about
---@field syscall string?  the luv/libuv operation, e.g. "open", "connect"
---@field address string?  for sockets
---@field port integer?    for sockets

--- Turns a luv error (`"CODE: text[: path]"` or a bare `"CODE"`) into a
--- `Promise.IOError` with `code`, `message` and the given fields. A bare name
--- gets libuv's text for it and `": " .. where` (default `fields.path`), as
--- luv's own messages have.
---@param err string|any luv's error value
---@param fields promise.IOErrorFields?
---@param name string? the error name when luv gave it separately
---@param where string? appended to a bare name's message
---@return table err a Promise.IOError
function M.fromLuv(err, fields, name, where)
  local message = tostring(err)
  local code = name
  if not code then
    code = message:match("^([%u][%u%d_]*):") or message:match("^([%u][%u%d_]*)$")
  end
  if message == code then
    local text = TEXTS[code]
    if text then message = code .. ": " .. text end
    where = where or (fields and fields.path)
    if where then message = message .. ": " .. where end
  end
  local f = { code = code or "EIO" }
  if fields then
    for k, v in pairs(fields) do f[k] = v end
  end
  return Promise.IOError(message, f)
end

--- An IOError of our own (no luv error behind it), e.g. `ERR_SOCKET_CLOSED`.
---@param code string
---@param message string
---@param fields table?
---@return table err
function M.new(code, message, fields)
  local f = { code = code }
  if fields then
    for k, v in pairs(fields) do f[k] = v end
  end
  return Promise.IOError(message, f)
end

--- The name of `v`'s type for error messages (its metatable's `__name`, else
--- `type(v)`): `promise.util.typename`.
local typename = util.typename
M.typename = typename

--- Raises `bad argument #n to 'fname' (expected expected, got type)` at the
--- caller of the public function: `promise.util.argerror`.
M.argerror = util.argerror

--- Checks that `v` is a string the C library can take whole: a file path,
--- a host name. A NUL byte would end the C string there, so
--- `"report.txt\0.png"` would name `report.txt`: refused, as Node refuses
--- it (ERR_INVALID_ARG_VALUE), before anything is touched. Raises
--- `bad argument #n to 'fname' ([field 'field': ]...)` at `level`, counted
--- as for `error` in the function that calls this one (default 2: its caller).
---@param v any
---@param n integer the argument position
---@param fname string
---@param field string? the option field holding `v`, when it is one
---@param level integer?
---@return string v
function M.checkname(v, n, fname, field, level)
  local problem
  if type(v) ~= "string" then
    problem = "string expected, got " .. typename(v)
  elseif v:find("\0", 1, true) then
    problem = ("string without NUL bytes expected, got %q"):format(v):gsub("\\\n", "\\n")
  else
    return v
  end
  if field then problem = ("field '%s': %s"):format(field, problem) end
  util.badarg(n, fname, problem, (level or 2) + 1)
end

-- every I/O call's options: `signal`, and the call's own fields
local IOOPTS = util.schema({ { "signal", "signal" } })

--- Checks `opts` (nil or a table) and its `signal` field (nil or an
--- AbortSignal); raises a Lua error pointing at the caller otherwise.
---@param opts any
---@param n integer the argument position of opts
---@param fname string
---@return table opts never nil
function M.checkopts(opts, n, fname)
  util.checkopts(fname, n, opts, IOOPTS, 3)  -- here, the public function, its caller
  return opts or {}
end

--- Wraps a luv callback: drains the microtask queue before and after it
--- (as the loop does around each of its own callbacks, like Node after a
--- macrotask), then runs `after()` when given; does nothing once the
--- program has ended. See `promise.loop.drain`'s `luvcb`.
---@param fn function
---@param after? function
---@return function
M.cb = require("promise.loop.drain").luvcb

-- SIGPIPE: libuv writes to sockets and pipes with write(2), so writing to a
-- peer that went away would kill the process (Node ignores SIGPIPE). While
-- a stream of ours is open, an unref'd signal handle catches SIGPIPE, and
-- the write fails with EPIPE instead. Stopped when the last stream closes,
-- so no handle stays active when idle.
local sigpipe, streams = nil, 0
local function noop() end

--- Counts one more open stream (starts the SIGPIPE guard).
function M.streamOpened()
  streams = streams + 1
  if streams == 1 then
    if not sigpipe then
      sigpipe = uv.new_signal()
      sigpipe:unref()
    end
    sigpipe:start("sigpipe", noop)
  end
end

--- Counts one stream less (stops the SIGPIPE guard after the last).
function M.streamClosed()
  streams = streams - 1
  if streams == 0 and sigpipe then
    sigpipe:stop()
  end
end

return M
