-- The sink server of i_net (a child of its client, see io_common.lua): reads
-- a connection to its end, then writes back the number of bytes and "\n".
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/io_common.lua")
local await = require("promise").await

C.serve_main(function(sock)
  local count = 0
  while true do
    local chunk = await(sock:read())
    if chunk == nil then break end
    count = count + #chunk
  end
  await(sock:write(count .. "\n"))
end)
