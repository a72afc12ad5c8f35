-- j: `fs.readFile` of N small files (10,000 of 100 bytes, created in a
-- temporary directory first) through `Promise.map` with concurrency 64.
-- Untimed: creating and removing the files. Timed: the reads.
-- Check: the total bytes read.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/io_common.lua")
local Promise = require("promise")
local fs = require("promise.fs")
local await = Promise.await
local N = C.n(10000)

local tmp = os.getenv("TMPDIR") or "/tmp"

C.main(nil, function()
  local dir = await(fs.mkdtemp(tmp .. "/bench-j-"))
  local ok, t0, t1, total = pcall(function()
    local files = {}
    for i = 1, N do
      files[i] = ("%s/%05d.txt"):format(dir, i)
      local f = assert(io.open(files[i], "wb"))
      f:write(("%-99d\n"):format(i))  -- 100 bytes
      f:close()
    end
    local t0 = C.clock()
    local texts = await(Promise.map(files, function(file) return fs.readFile(file) end,
      { concurrency = 64 }))
    local t1 = C.clock()
    local total = 0
    for i = 1, N do total = total + #texts[i] end
    return t0, t1, total
  end)
  await(fs.rm(dir, { recursive = true, force = true }))
  if not ok then error(t0, 0) end
  return t0, t1, total
end)
