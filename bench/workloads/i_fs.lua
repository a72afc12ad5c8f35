-- i_fs: `fs.writeFile` of N MiB (50) to a temporary file (os.tmpname), then
-- `fs.readFile` of it. Untimed: building the data, comparing, removing the
-- file. Timed: the write and the read. Check: the length read.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/io_common.lua")
local fs = require("promise.fs")
local await = require("promise").await
local N = C.n(50)

C.main(nil, function()
  return C.filework(N, function(path, data)
    await(fs.writeFile(path, data))
    return await(fs.readFile(path))
  end)
end)
