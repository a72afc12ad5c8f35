-- i_net: N MiB (20) through one socket. The client writes them in 64 KiB
-- chunks, awaiting each write, then shuts its side down; the sink server in
-- a separate process (i_server.lua) reads to the end and answers the byte
-- count. Untimed: starting the server, connecting. Timed: the writes until
-- the count is read. Check: that count.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/io_common.lua")
local net = require("promise.net")
local await = require("promise").await
local N, CHUNK = C.n(20), 64 * 1024

local chunk = ("0123456789abcdef"):rep(CHUNK // 16)

C.main("i_server", function(port)
  local sock = await(net.connect{ host = "127.0.0.1", port = port })
  local t0 = C.clock()
  for _ = 1, N * 1024 * 1024 // CHUNK do await(sock:write(chunk)) end
  await(sock:shutdown())
  local count = math.tointeger(tonumber(await(sock:readLine())))
  local t1 = C.clock()
  await(sock:close())
  return t0, t1, count
end)
