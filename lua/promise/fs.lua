--- Promisified luv file system (`require("promise.fs")`; manual: docs/manual/fs.md).
---
--- ```lua
--- local fs = require("promise.fs")
--- local data = await(fs.readFile("/etc/hostname"))
--- ```
---
--- Every call returns a promise; luv errors reject with a `Promise.IOError`
--- (`code` = luv's name such as `"ENOENT"`, `message` = luv's text, `path`,
--- `syscall`). Every call takes a last `opts` table whose `signal` (an
--- AbortSignal) cancels it: the luv request in flight is cancelled with
--- `uv.cancel` (a request already running in the thread pool is waited
--- for), whatever it produced is released (a file descriptor opened meanwhile
--- is closed) and the call then rejects with the signal's reason. So when the
--- promise settles, no descriptor of the call is left open, abort or error.
---
--- Bad arguments raise Lua errors at once, pointing at the caller: wrong
--- types, a path with a NUL byte (the C library would cut it there and act
--- on another file), a size or offset out of range.

local Promise = require("promise")
local uv = require("luv")
local ioerror = require("promise.ioerror")
local util = require("promise.util")

local type, select, pcall, error, setmetatable, tostring, mtype =
  type, select, pcall, error, setmetatable, tostring, math.type
local unpack, concat, sort = table.unpack, table.concat, table.sort
local async, await = Promise.async, Promise.await
local checkopts, fromLuv, cb = ioerror.checkopts, ioerror.fromLuv, ioerror.cb

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

-------------------------------------------------------------- whole files

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

--- Runs `body(fd)` on the file opened with `flags`/`mode`, closing it
--- afterwards whatever happens.
local function withfile(signal, path, flags, mode, body)
  local fd = await(request(signal, { path = path, syscall = "open", release = closefd },
                           uv.fs_open, path, flags, mode))
  local ok, res = pcall(body, fd)
  local cok, cerr = pcall(await, close(fd))
  if not ok then error(res, 0) end
  if not cok then error(cerr, 0) end
  return res
end

local readFile = async(function(path, opts)
  local signal = opts.signal
  return withfile(signal, path, "r", 0, function(fd)
    local st = await(request(signal, { path = path, syscall = "fstat" }, uv.fs_fstat, fd))
    local size = st.size > 0 and (st.size < MAXIO and st.size or MAXIO) or CHUNK
    local parts = {}
    while true do  -- from the current position: works for pipes and FIFOs too
      local chunk = await(request(signal, { path = path, syscall = "read" }, uv.fs_read, fd, size, -1))
      if chunk == "" then break end
      parts[#parts + 1] = chunk
      size = CHUNK
    end
    return concat(parts)
  end)
end)

--- Reads the whole file.
---@param path string
---@param opts? {signal: promise.AbortSignal?}
---@return Promise # of the contents (a string)
function M.readFile(path, opts)
  checkpath(path, 1, "readFile")
  return readFile(path, checkopts(opts, 2, "readFile"))
end

local writeFile = async(function(path, data, opts, flag)
  local signal = opts.signal
  withfile(signal, path, opts.flag or flag, opts.mode or 420, function(fd)
    writeall(signal, path, fd, data, nil)
  end)
end)

---@class promise.fs.WriteOptions
---@field mode integer?  permissions of a new file (default 420 = 0644)
---@field flag string?   open flags (default "w", appendFile: "a")
---@field signal promise.AbortSignal?

--- Writes `data` to the file, replacing it (or as `opts.flag` says).
---@param path string
---@param data string
---@param opts? promise.fs.WriteOptions
---@return Promise # of nil
function M.writeFile(path, data, opts)
  checkpath(path, 1, "writeFile")
  checkdata(data, 2, "writeFile")
  opts = checkopts(opts, 3, "writeFile")
  optint(opts.mode, 3, "writeFile", "field 'mode'", 0, MAXMODE)
  optflag(opts.flag, 3, "writeFile", "flag")
  return writeFile(path, data, opts, "w")
end

--- Appends `data` to the file (created when missing).
---@param path string
---@param data string
---@param opts? promise.fs.WriteOptions
---@return Promise # of nil
function M.appendFile(path, data, opts)
  checkpath(path, 1, "appendFile")
  checkdata(data, 2, "appendFile")
  opts = checkopts(opts, 3, "appendFile")
  optint(opts.mode, 3, "appendFile", "field 'mode'", 0, MAXMODE)
  optflag(opts.flag, 3, "appendFile", "flag")
  return writeFile(path, data, opts, "a")
end

------------------------------------------------------------ single calls

local function tonil() return nil end

--- One luv request on `path`, with the usual checks (to be tail-called by
--- the public function, so that they point at its caller); `nilresult`: resolve
--- with nil instead of luv's result.
local function pathcall(fname, syscall, fn, path, opts, nilresult)
  checkpath(path, 1, fname)
  opts = checkopts(opts, 2, fname)
  local p = request(opts.signal, { path = path, syscall = syscall }, fn, path)
  if nilresult then return p:next(tonil) end
  return p
end

--- One luv request on the paths `a` and `b`, with the usual checks (to be
--- tail-called, as pathcall).
local function twopaths(fname, syscall, fn, a, b, opts)
  checkpath(a, 1, fname)
  checkpath(b, 2, fname)
  opts = checkopts(opts, 3, fname)
  return request(opts.signal, { path = a, syscall = syscall }, fn, a, b):next(tonil)
end

--- luv's stat table of `path` (symbolic links followed).
---@param path string
---@param opts? {signal: promise.AbortSignal?}
---@return Promise # of the stat table
function M.stat(path, opts)
  return pathcall("stat", "stat", uv.fs_stat, path, opts)
end

--- luv's stat table of `path` itself (a symbolic link is not followed).
---@param path string
---@param opts? {signal: promise.AbortSignal?}
---@return Promise # of the stat table
function M.lstat(path, opts)
  return pathcall("lstat", "lstat", uv.fs_lstat, path, opts)
end

--- Removes a file (not a directory).
---@param path string
---@param opts? {signal: promise.AbortSignal?}
---@return Promise # of nil
function M.unlink(path, opts)
  return pathcall("unlink", "unlink", uv.fs_unlink, path, opts, true)
end

--- Renames (moves) `a` to `b`, replacing `b`.
---@param a string
---@param b string
---@param opts? {signal: promise.AbortSignal?}
---@return Promise # of nil
function M.rename(a, b, opts)
  return twopaths("rename", "rename", uv.fs_rename, a, b, opts)
end

--- Copies the file `a` to `b`, replacing `b`.
---@param a string
---@param b string
---@param opts? {signal: promise.AbortSignal?}
---@return Promise # of nil
function M.copyFile(a, b, opts)
  return twopaths("copyFile", "copyfile", uv.fs_copyfile, a, b, opts)
end

--- Creates a new directory named `prefix` followed by 6 random characters.
---@param prefix string
---@param opts? {signal: promise.AbortSignal?}
---@return Promise # of the directory's path
function M.mkdtemp(prefix, opts)
  checkpath(prefix, 1, "mkdtemp")
  opts = checkopts(opts, 2, "mkdtemp")
  return request(opts.signal, { path = prefix, syscall = "mkdtemp", release = uv.fs_rmdir },
                 uv.fs_mkdtemp, prefix .. "XXXXXX")
end

local access = async(function(path, mode, opts)
  local ok = await(request(opts.signal, { path = path, syscall = "access" }, uv.fs_access, path, mode))
  if ok then return true end
  -- luv's asynchronous access gives only `false`: find out why
  await(request(opts.signal, { path = path, syscall = "access" }, uv.fs_stat, path))
  error(fromLuv("EACCES", { path = path, syscall = "access" }), 0)
end)

--- Checks that `path` exists and, with `mode`, that it is accessible for it
--- (`"r"`, `"w"`, `"x"` or a combination, or luv's integer mode).
---@param path string
---@param mode? string|integer default: existence only
---@param opts? {signal: promise.AbortSignal?}
---@return Promise # of true, or rejects (ENOENT, EACCES)
function M.access(path, mode, opts)
  checkpath(path, 1, "access")
  if type(mode) == "table" and opts == nil then mode, opts = nil, mode end
  if mode ~= nil and not (type(mode) == "string" and mode:find("^[rwxRWX]*$"))
     and not (mtype(mode) == "integer" and mode >= 0 and mode <= 7) then
    util.badarg(2, "access", ('letters of "rwx" or an integer in 0..7 expected, got %s')
      :format(type(mode) == "string" and ("%q"):format(mode) or tostring(mode)))
  end
  opts = checkopts(opts, 3, "access")
  return access(path, mode or 0, opts)
end

---@class promise.fs.Dirent
---@field name string
---@field type string  "file", "directory", "link", ... ("unknown" when the file system does not say)

local function scandir(signal, path)
  local req = await(request(signal, { path = path, syscall = "scandir" }, uv.fs_scandir, path))
  local list = {}
  while true do
    local name, kind = uv.fs_scandir_next(req)
    if not name then break end
    list[#list + 1] = { name = name, type = kind or "unknown" }
  end
  sort(list, function(a, b) return a.name < b.name end)
  return list
end

local readdir = async(scandir)

--- The entries of a directory (without "." and ".."), sorted by name.
---@param path string
---@param opts? {signal: promise.AbortSignal?}
---@return Promise # of promise.fs.Dirent[]
function M.readdir(path, opts)
  checkpath(path, 1, "readdir")
  opts = checkopts(opts, 2, "readdir")
  return readdir(opts.signal, path)
end

------------------------------------------------------- directories, rm

local function dirname(path)
  local parent = path:match("^(.*[^/])/+[^/]+/*$")
  if parent then return parent end
  if path:match("^/") then return "/" end
  return "."
end

local mkdirp
mkdirp = function(signal, path, mode)
  local ok, err = pcall(await, request(signal, { path = path, syscall = "mkdir" }, uv.fs_mkdir, path, mode))
  if ok then return end
  if not Promise.IOError.is(err) then error(err, 0) end
  if err.code == "EEXIST" then
    local st = await(request(signal, { path = path, syscall = "stat" }, uv.fs_stat, path))
    if st.type == "directory" then return end
    error(err, 0)
  elseif err.code == "ENOENT" then
    local parent = dirname(path)
    if parent == path then error(err, 0) end
    mkdirp(signal, parent, mode)
    await(request(signal, { path = path, syscall = "mkdir" }, uv.fs_mkdir, path, mode))
  else
    error(err, 0)
  end
end

local mkdir = async(function(path, opts)
  local mode = opts.mode or 511
  if opts.recursive then
    mkdirp(opts.signal, path, mode)
  else
    await(request(opts.signal, { path = path, syscall = "mkdir" }, uv.fs_mkdir, path, mode))
  end
end)

--- Creates a directory. `opts.recursive` creates the missing parents and
--- ignores an existing directory; `opts.mode` (default 511 = 0777).
---@param path string
---@param opts? {recursive: boolean?, mode: integer?, signal: promise.AbortSignal?}
---@return Promise # of nil
function M.mkdir(path, opts)
  checkpath(path, 1, "mkdir")
  opts = checkopts(opts, 2, "mkdir")
  optint(opts.mode, 2, "mkdir", "field 'mode'", 0, MAXMODE)
  return mkdir(path, opts)
end

local rmtree
rmtree = function(signal, path, recursive)
  local st = await(request(signal, { path = path, syscall = "lstat" }, uv.fs_lstat, path))
  if st.type ~= "directory" then
    await(request(signal, { path = path, syscall = "unlink" }, uv.fs_unlink, path))
    return
  end
  if not recursive then
    error(fromLuv("EISDIR: illegal operation on a directory: " .. path,
                  { path = path, syscall = "rm" }), 0)
  end
  for _, entry in ipairs(scandir(signal, path)) do
    rmtree(signal, path .. "/" .. entry.name, true)
  end
  await(request(signal, { path = path, syscall = "rmdir" }, uv.fs_rmdir, path))
end

local rm = async(function(path, opts)
  local ok, err = pcall(rmtree, opts.signal, path, opts.recursive)
  if ok then return end
  if opts.force and Promise.IOError.is(err) and err.code == "ENOENT" then return end
  error(err, 0)
end)

--- Removes a file, or with `opts.recursive` a directory and its contents
--- (symbolic links are removed, never followed). `opts.force`: a missing
--- path is not an error.
---@param path string
---@param opts? {recursive: boolean?, force: boolean?, signal: promise.AbortSignal?}
---@return Promise # of nil
function M.rm(path, opts)
  checkpath(path, 1, "rm")
  return rm(path, checkopts(opts, 2, "rm"))
end

------------------------------------------------------------ file handles

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
    error(("calling '%s' on bad self (FileHandle expected, got %s)")
      :format(fname, ioerror.typename(self)), 3)
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
---@param opts? {flags: string?, mode: integer?, signal: promise.AbortSignal?}
---@return Promise # of a promise.fs.FileHandle
function M.open(path, flags, mode, opts)
  checkpath(path, 1, "open")
  if type(flags) == "table" and mode == nil and opts == nil then
    opts = flags
    flags, mode = opts.flags, opts.mode
  end
  optflag(flags, 2, "open")
  optint(mode, 3, "open", "mode", 0, MAXMODE)
  opts = checkopts(opts, 4, "open")
  return open(path, flags or "r", mode or 438, opts)
end

return M
