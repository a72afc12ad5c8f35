-- i_fs: `fs.writeFile` of N MiB (50) to a temporary file (os.tmpname), then
-- `fs.readFile` of it. Untimed: building the data, comparing, removing the
-- file. Timed: the write and the read. Check: the length read.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/io_common.lua")
local fs = require("promise.fs")
local await = require("promise").await
local N = C.n(50)

local data = ("0123456789abcdef"):rep(N * 1024 * 1024 // 16)
local path = os.tmpname()

C.main(nil, function()
  local ok, t0, t1, back = pcall(function()
    local t0 = C.clock()
    await(fs.writeFile(path, data))
    local back = await(fs.readFile(path))
    return t0, C.clock(), back
  end)
  os.remove(path)
  if not ok then error(t0, 0) end
  return t0, t1, back == data and #back or ("different data, length " .. #back)
end)
