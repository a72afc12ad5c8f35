-- h: pipelined lines. N (1000) connections each write L (1000) lines of 16
-- bytes in one write, and read the echoes with `readLine`, from the echo
-- server of g in a separate process (g_server.lua). Untimed: starting the
-- server, connecting. Timed: the writes and reading every echo.
-- Check: the lines received equal to those sent.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/io_common.lua")
local Promise = require("promise")
local net = require("promise.net")
local await = Promise.await
local N, L = C.n(1000), C.n2(1000)

local lines = {}
for i = 1, L do lines[i] = ("line %010d"):format(i) end  -- 15 bytes and "\n"
local payload = table.concat(lines, "\n") .. "\n"

C.main("g_server", function(port)
  local socks = await(Promise.map(C.range(N), function()
    return net.connect{ host = "127.0.0.1", port = port }
  end, { concurrency = 100 }))
  local good = 0
  local client = Promise.async(function(sock)
    local written = sock:write(payload)
    for i = 1, L do
      if await(sock:readLine()) == lines[i] then good = good + 1 end
    end
    await(written)
  end)
  local t0 = C.clock()
  local ps = {}
  for c = 1, N do ps[c] = client(socks[c]) end
  await(Promise.all(ps))
  local t1 = C.clock()
  for c = 1, N do await(socks[c]:close()) end
  return t0, t1, good
end)
