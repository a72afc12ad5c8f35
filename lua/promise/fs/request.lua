--- The requests and argument checks of promise.fs (manual: docs/manual/fs.md),
--- shared by fs.lua (whole files, paths, directories) and fs/handle.lua
--- (open files): one cancellable luv request, the writes that continue
--- after a partial one, and the checks of paths, sizes, offsets, modes and
--- open flags.

local Promise = require("promise")
local uv = require("luv")
local ioerror = require("promise.ioerror")
local util = require("promise.util")

local type, pcall, error, tostring, mtype = type, pcall, error, tostring, math.type
local unpack = table.unpack
local async, await = Promise.async, Promise.await
local fromLuv, cb = ioerror.fromLuv, ioerror.cb

local M = {}

--- Size of the reads of readFile when the file's size is unknown (0).
local CHUNK = 65536

--- Largest size of one read or write (INT32_MAX, Node's limit too): luv
--- allocates the whole buffer of a read up front and keeps its length in an
--- unsigned int.
local MAXIO = 0x7fffffff

--- Largest offset (Number.MAX_SAFE_INTEGER, as Node): room to add a length
--- without overflowing.
local MAXPOS = (1 << 53) - 1
M.CHUNK, M.MAXIO, M.MAXPOS = CHUNK, MAXIO, MAXPOS

---------------------------------------------------------------- requests

---@class promise.fs.ReqInfo
---@field path string?              reported in errors
---@field syscall string            reported in errors
---@field release fun(result: any)? frees what a request completed after an abort produced

--- Runs `fn(..., callback)` (a luv fs function) as a cancellable request.
--- Resolves with the callback's result, rejects with an IOError or, after an
--- abort, with the signal's reason once luv has given the request back.
---@param signal promise.AbortSignal?
---@param info promise.fs.ReqInfo
---@param fn function
---@return Promise
local function request(signal, info, fn, ...)
  if signal and signal.aborted then return Promise.reject(signal.reason) end
  local p, resolve, reject = Promise.withResolvers()
  local aborted, unsubscribe = false, nil
  local n = select("#", ...)
  local args = { ... }
  local fields = { path = info.path, syscall = info.syscall }
  args[n + 1] = cb(function(err, res)
    if unsubscribe then unsubscribe() end
    if aborted then
      if not err and info.release then info.release(res) end
      reject(signal.reason)
    elseif err then
      reject(fromLuv(err, fields))
    else
      resolve(res)
    end
  end)
  local ok, req, err, name = pcall(fn, unpack(args, 1, n + 1))
  if not ok then
    -- luv raises when it cannot allocate a read's buffer; the arguments were
    -- checked before, so that is the only raise expected here
    if tostring(req):find("allocate", 1, true) then err, name = "ENOMEM", nil else error(req, 0) end
    req = nil
  end
  if not req then
    reject(fromLuv(err, fields, name))
  elseif signal then
    unsubscribe = signal:onAbort(function()
      aborted = true
      uv.cancel(req)  -- EBUSY when already running: its callback comes soon
    end)
  end
  return p
end

local function closefd(fd)
  uv.fs_close(fd)  -- synchronous: used only to release after an abort
end

--- Closes `fd`; never cancelled (cleanup must complete).
local function close(fd)
  return request(nil, { syscall = "close" }, uv.fs_close, fd)
end
M.request, M.closefd, M.close = request, closefd, close

-- Argument checks. Each raises at the caller of the function calling it,
-- which is the public function or a helper it tail-calls.

--- A string without NUL bytes.
local function checkpath(v, n, fname)
  ioerror.checkname(v, n, fname, nil, 3)
end

local function checkdata(v, n, fname)
  if type(v) ~= "string" then
    util.badarg(n, fname, "string expected, got " .. util.typename(v), 3)
  end
end

--- nil, or an integer in `lo..hi`.
local function optint(v, n, fname, what, lo, hi)
  if v == nil then return end
  if mtype(v) ~= "integer" then
    util.badarg(n, fname, ("%s must be an integer, got %s")
      :format(what, mtype(v) == "float" and tostring(v) or util.typename(v)), 3)
  end
  if lo and (v < lo or v > hi) then
    util.badarg(n, fname, ("%s must be in %d..%d, got %d"):format(what, lo, hi, v), 3)
  end
end

--- Largest permissions argument (Node's limit; the kernel keeps the low 12 bits).
local MAXMODE = 0xffffffff

--- The open flags luv knows (Node's set).
local FLAGS = {}
for f in ("r rs sr r+ rs+ sr+ w wx xw w+ wx+ xw+ a ax xa a+ ax+ xa+"):gmatch("%S+") do FLAGS[f] = true end

--- nil, one of FLAGS, or an integer (O_* bits); `field` names the option
--- field holding it, if any.
local function optflag(v, n, fname, field)
  if v == nil or FLAGS[v] or (mtype(v) == "integer" and v >= 0 and v <= 0x7fffffff) then return end
  local problem
  if type(v) == "string" then
    problem = ("unknown open flags %q"):format(v)
  else
    problem = "string or integer in 0..2147483647 expected, got " ..
      (mtype(v) and tostring(v) or ioerror.typename(v))
  end
  if field then problem = ("field '%s': %s"):format(field, problem) end
  util.badarg(n, fname, problem, 3)
end
M.MAXMODE, M.checkpath, M.checkdata, M.optint, M.optflag = MAXMODE, checkpath, checkdata, optint, optflag

--- Writes all of `data` to `fd` at `pos` onwards (default: the current
--- position; partial writes continue). Writing to a pipe whose reader is
--- gone fails with EPIPE instead of killing the process (SIGPIPE guard).
local function writeall(signal, path, fd, data, pos)
  local done, len = 0, #data
  ioerror.streamOpened()
  local ok, err = pcall(function()
    while done < len do
      local chunk = (done == 0 and len <= MAXIO) and data or data:sub(done + 1, done + MAXIO)
      local n = await(request(signal, { path = path, syscall = "write" }, uv.fs_write, fd, chunk,
                              pos and pos + done or -1))
      done = done + n
    end
  end)
  ioerror.streamClosed()
  if not ok then error(err, 0) end
  return done
end

local writeasync = async(writeall)
M.writeall, M.writeasync = writeall, writeasync

return M
