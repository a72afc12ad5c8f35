-- i_fs_floor: the floor of i_fs. The same write and read with luv's
-- synchronous calls (no promise, no thread pool): open, write, close; open,
-- fstat, one read of the whole size, close. A Lua string can only be made
-- by copying: luv reads into a buffer it allocates and copies that into the
-- string, so every byte read lands in two fresh allocations where node's
-- readFile fills one Buffer. On a machine where touching new memory is slow
-- (page faults in a VM) that, not the library, sets the pace.
-- Untimed: building the data, comparing, removing the file. Timed: the
-- write and the read. Check: the length read.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/io_common.lua")
local uv = require("luv")
local N = C.n(50)

C.main(nil, function()
  return C.filework(N, function(path, data)
    local fd = assert(uv.fs_open(path, "w", 420))
    assert(uv.fs_write(fd, data, -1) == #data)
    assert(uv.fs_close(fd))
    fd = assert(uv.fs_open(path, "r", 0))
    local st = assert(uv.fs_fstat(fd))
    local back = assert(uv.fs_read(fd, st.size, -1))
    assert(uv.fs_close(fd))
    return back
  end)
end)
