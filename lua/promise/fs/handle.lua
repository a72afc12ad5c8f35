--- Open files of promise.fs (manual: docs/manual/fs.md, `fs.open` and the
--- FileHandle methods): a handle counts its requests in flight so that
--- `close` waits for them, and a handle dropped or leaving a `<close>` scope
--- while open is closed at once.

local Promise = require("promise")
local uv = require("luv")
local ioerror = require("promise.ioerror")
local util = require("promise.util")
local req = require("promise.fs.request")

local type, pcall, error, setmetatable, getmetatable, tostring =
  type, pcall, error, setmetatable, getmetatable, tostring
local async, await = Promise.async, Promise.await
local checkopts, fromLuv = ioerror.checkopts, ioerror.fromLuv
local request, close, closefd = req.request, req.close, req.closefd
local checkdata, optint, writeasync = req.checkdata, req.optint, req.writeasync
local CHUNK, MAXIO, MAXPOS = req.CHUNK, req.MAXIO, req.MAXPOS

local M = {}

local function tonil() return nil end

---@class promise.fs.FileHandle
---@field fd integer?  nil once closed
---@field path string
---@field private busy integer       requests in flight
---@field private closing Promise?   the close in progress or done
---@field private idle function?     resumes a close waiting for busy == 0
local FileHandle = {}
FileHandle.__index = FileHandle
FileHandle.__name = "FileHandle"

local function checkfh(self, fname)
  if type(self) ~= "table" or getmetatable(self) ~= FileHandle then
    util.selferror(fname, "FileHandle", self, 3)
  end
end

local function ebadf(self, syscall)
  return Promise.reject(fromLuv("EBADF", { path = self.path, syscall = syscall }))
end

local function unbusy(self)
  self.busy = self.busy - 1
  if self.busy == 0 and self.idle then self.idle() end
end

--- Returns `start(...)` (a promise), counting it as in flight on the handle
--- until it settles, so that close waits for it. The count must come back
--- down whatever happens: the promise that uncounts is made before
--- counting, and a raise from `start` uncounts at once (and is raised
--- again), else close would never settle and the finalizer would skip the
--- descriptor.
local function inflight(self, syscall, start, ...)
  if self.closing then return ebadf(self, syscall) end
  local p, resolve = Promise.withResolvers()
  local out = p:finally(function() unbusy(self) end)
  self.busy = self.busy + 1
  local ok, res = pcall(start, ...)
  if not ok then
    unbusy(self)
    error(res, 0)
  end
  resolve(res)
  return out
end

--- Runs a request on the handle's fd, counting it as in flight.
local function fhrequest(self, opts, syscall, fn, ...)
  return inflight(self, syscall, request, opts.signal, { path = self.path, syscall = syscall }, fn, self.fd, ...)
end

local function emptytonil(s)
  if s == "" then return nil end
  return s
end

--- Reads up to `n` bytes (default 65536, at most 2^31-1) at `offset`
--- (0..2^53-1; default, or -1: the current file position). Resolves with a
--- string, or nil at end of file; `read(0)` resolves with "".
---@param n? integer
---@param offset? integer
---@param opts? {signal: promise.AbortSignal?}
---@return Promise # of string|nil
function FileHandle:read(n, offset, opts)
  checkfh(self, "read")
  optint(n, 1, "read", "size", 0, MAXIO)
  optint(offset, 2, "read", "offset", -1, MAXPOS)
  opts = checkopts(opts, 3, "read")
  local p = fhrequest(self, opts, "read", uv.fs_read, n or CHUNK, offset or -1)
  if n == 0 then return p end
  return p:next(emptytonil)
end

--- Writes all of `data` at `offset` (0..2^53-1 less the length of `data`;
--- default, or -1: the current file position). Resolves with the number of
--- bytes written.
---@param data string
---@param offset? integer
---@param opts? {signal: promise.AbortSignal?}
---@return Promise # of integer
function FileHandle:write(data, offset, opts)
  checkfh(self, "write")
  checkdata(data, 1, "write")
  optint(offset, 2, "write", "offset", -1, MAXPOS - #data)
  opts = checkopts(opts, 3, "write")
  if offset == -1 then offset = nil end
  return inflight(self, "write", writeasync, opts.signal, self.path, self.fd, data, offset)
end

--- luv's stat table of the open file.
---@param opts? {signal: promise.AbortSignal?}
---@return Promise # of the stat table
function FileHandle:stat(opts)
  checkfh(self, "stat")
  return fhrequest(self, checkopts(opts, 1, "stat"), "fstat", uv.fs_fstat)
end

--- Flushes the file's data and metadata to the disk (fsync).
---@param opts? {signal: promise.AbortSignal?}
---@return Promise # of nil
function FileHandle:sync(opts)
  checkfh(self, "sync")
  return fhrequest(self, checkopts(opts, 1, "sync"), "fsync", uv.fs_fsync):next(tonil)
end

--- Closes the file once the requests in flight are done. Calling it again
--- returns the same promise.
---@return Promise # of nil
function FileHandle:close()
  checkfh(self, "close")
  if self.closing then return self.closing end
  local fd = self.fd
  local p, resolve = Promise.withResolvers()
  self.closing = p
  local function doclose()
    self.idle = nil
    resolve(close(fd):next(function() self.fd = nil end, function(err)
      self.fd = nil
      error(err, 0)
    end))
  end
  if self.busy == 0 then doclose() else self.idle = doclose end
  return p
end

function FileHandle:__tostring()
  return ("FileHandle<%s>: %s"):format(self.fd and tostring(self.fd) or "closed", self.path)
end

-- A handle dropped or leaving a `<close>` scope while open is closed
-- synchronously, so its descriptor never leaks.
local function closenow(self)
  if self.fd and not self.closing then
    self.closing = Promise.resolve(nil)
    uv.fs_close(self.fd)
    self.fd = nil
  end
end
FileHandle.__gc = closenow
FileHandle.__close = closenow

local open = async(function(path, flags, mode, opts)
  local fd = await(request(opts.signal, { path = path, syscall = "open", release = closefd },
                           uv.fs_open, path, flags, mode))
  return setmetatable({ fd = fd, path = path, busy = 0 }, FileHandle)
end)

--- Opens a file: `flags` as luv/Node take them (default `"r"`), `mode` for a
--- new file (default 438 = 0666, less the umask). `fs.open(path, opts)` with
--- `opts.flags`, `opts.mode`, `opts.signal` works too.
---@param path string
---@param flags? string|integer|table
---@param mode? integer

--- Opens `path` (checked arguments) and resolves with its FileHandle.
M.open = open

return M
