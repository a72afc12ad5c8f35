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
local fsreq = require("promise.fs.request")
local handle = require("promise.fs.handle")

local type, pcall, error, tostring, mtype = type, pcall, error, tostring, math.type
local concat, sort = table.concat, table.sort
local async, await = Promise.async, Promise.await
local checkopts, fromLuv = ioerror.checkopts, ioerror.fromLuv

local M = {}

local request, close, closefd = fsreq.request, fsreq.close, fsreq.closefd
local checkpath, checkdata, optint, optflag = fsreq.checkpath, fsreq.checkdata, fsreq.optint, fsreq.optflag
local writeall = fsreq.writeall
local CHUNK, MAXIO, MAXMODE = fsreq.CHUNK, fsreq.MAXIO, fsreq.MAXMODE

-------------------------------------------------------------- whole files

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
    -- a regular file of known size is read in one request and ends there, as
    -- in Node (no extra request to see the end); anything else (a pipe, a
    -- FIFO, /proc) in chunks until a read returns nothing
    local known = st.type == "file" and st.size > 0 and st.size <= MAXIO and st.size or nil
    local size = known or (st.size > 0 and (st.size < MAXIO and st.size or MAXIO) or CHUNK)
    local parts, total = {}, 0
    while true do  -- from the current position: works for pipes and FIFOs too
      local chunk = await(request(signal, { path = path, syscall = "read" }, uv.fs_read, fd, size, -1))
      if chunk == "" then break end
      parts[#parts + 1] = chunk
      total = total + #chunk
      if total == known then break end
      size = CHUNK
    end
    -- one part is the contents: concat would copy it (and touch as much new
    -- memory again, which costs more than the read itself for large files)
    if #parts == 1 then return parts[1] end
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
  return handle.open(path, flags or "r", mode or 438, opts)
end


return M
