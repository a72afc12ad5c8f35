-- Counts the lines, bytes and Adler-32 checksum of many files with
-- promise.fs and Promise.map, at most 4 files open at once.
--
-- With file names as arguments, it reports on those files; without, it
-- creates 20 files in a temporary directory, reports on them and removes
-- the directory.
--
-- Run from the repository root:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 examples/concurrent_files.lua [file...]
local Promise = require("promise")
local fs = require("promise.fs")
local uv = require("luv")

local await = Promise.await

local CONCURRENCY = 4

--- Adler-32 of a string (as zlib computes it), as 8 hex digits.
local function adler32(s)
  local a, b = 1, 0
  for i = 1, #s do
    a = (a + s:byte(i)) % 65521
    b = (b + a) % 65521
  end
  return ("%08x"):format((b << 16) | a)
end

local function count_lines(s)
  local _, n = s:gsub("\n", "")
  if #s > 0 and s:sub(-1) ~= "\n" then n = n + 1 end  -- a last unterminated line
  return n
end

local open_now, peak = 0, 0

-- One file: read it (the only moment a descriptor is open), then measure.
local function report(path, _, signal)
  open_now = open_now + 1
  if open_now > peak then peak = open_now end
  return fs.readFile(path, { signal = signal }):finally(function()
    open_now = open_now - 1
  end):next(function(data)
    return { path = path, lines = count_lines(data), bytes = #data, adler = adler32(data) }
  end)
end

-- Makes `n` files of different sizes in a new temporary directory.
local function make_files(n)
  local dir = await(fs.mkdtemp(uv.os_tmpdir() .. "/concurrent-files-"))
  local paths = {}
  for i = 1, n do
    local lines = {}
    for j = 1, i * 50 do lines[j] = ("file %d, line %d"):format(i, j) end
    paths[i] = ("%s/file%02d.txt"):format(dir, i)
    await(fs.writeFile(paths[i], table.concat(lines, "\n") .. "\n"))
  end
  return dir, paths
end

local args = { ... }

local ok, err = Promise.run(function()
  local dir, paths = nil, args
  if #paths == 0 then dir, paths = make_files(20) end

  -- settle = true: a missing or unreadable file is reported, not fatal
  local results = await(Promise.map(paths, report, { concurrency = CONCURRENCY, settle = true }))

  local total_lines, total_bytes, failed = 0, 0, 0
  for i, r in ipairs(results) do
    local name = dir and paths[i]:match("[^/]+$") or paths[i]
    if r.status == "fulfilled" then
      local v = r.value
      print(("%-14s %6d lines %8d bytes  adler32 %s"):format(name, v.lines, v.bytes, v.adler))
      total_lines, total_bytes = total_lines + v.lines, total_bytes + v.bytes
    else
      failed = failed + 1
      print(("%-14s error: %s (%s)"):format(name, r.reason.message, tostring(r.reason.code)))
    end
  end
  print(("%d files, %d lines, %d bytes, %d failed"):format(#paths, total_lines, total_bytes, failed))
  print(("at most %d files open at once (limit %d)"):format(peak, CONCURRENCY))

  if dir then
    await(fs.rm(dir, { recursive = true }))
    print("temporary directory removed: " .. tostring(not uv.fs_stat(dir)))
  end
  return failed
end)

if not ok then
  io.stderr:write("error: ", tostring(err), "\n")
  os.exit(1)
end
os.exit(err == 0 and 0 or 2)
