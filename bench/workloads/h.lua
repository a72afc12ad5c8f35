-- h: pipelined lines. N (1000) connections each write L (1000) lines of 16
-- bytes in one write, and read the echoes with `readLine`, from the echo
-- server of g in a separate process (g_server.lua). Untimed: starting the
-- server, connecting. Timed: the writes and reading every echo.
-- Check: the lines received equal to those sent.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/io_common.lua")
local Promise = require("promise")
local await = Promise.await
local N, L = C.n(1000), C.n2(1000)

local lines, payload = C.lines(L)

C.main("g_server", function(port)
  local good = 0
  local t0, t1 = C.clients(port, N, Promise.async(function(_, sock)
    local written = sock:write(payload)
    for i = 1, L do
      if await(sock:readLine()) == lines[i] then good = good + 1 end
    end
    await(written)
  end))
  return t0, t1, good
end)
