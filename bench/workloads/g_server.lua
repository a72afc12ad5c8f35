-- The echo server of g and h (a child of their client, see io_common.lua):
-- every chunk a connection reads is written back as is.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/io_common.lua")
local await = require("promise").await

C.serve_main(function(sock)
  while true do
    local chunk = await(sock:read())
    if chunk == nil then return end
    await(sock:write(chunk))
  end
end)
