-- g: echo. N clients (100, 500, 1000) each send M (100) messages (32 bytes
-- and "\n"), one at a time, awaiting the whole echo (`readLine`) of
-- each, to an echo server in a separate process (g_server.lua). Untimed:
-- starting the server and connecting every client. Timed: all the messaging.
-- Check: the messages echoed correctly.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/io_common.lua")
local Promise = require("promise")
local await = Promise.await
local N, M = C.n(100), C.n2(100)

C.main("g_server", function(port)
  local good = 0
  local t0, t1 = C.clients(port, N, Promise.async(function(c, sock)
    for i = 1, M do
      local msg = ("client %05d message %05d ....."):format(c, i)  -- 32 bytes
      await(sock:write(msg .. "\n"))
      if await(sock:readLine()) == msg then good = good + 1 end
    end
  end))
  return t0, t1, good
end)
