-- A TCP echo server and its client in one process, with promise.net.
--
-- The server (127.0.0.1, a port chosen by the system) answers each line
-- upper-cased; a line starting with "slow" is answered after 400 ms. The
-- client sends each message on its own connection, all at once, through a
-- rate limiter (at most 3 requests started per 100 ms) and with a timeout of
-- 200 ms per request: the slow request times out, its connection and read
-- are cancelled through the timeout's signal, the others are answered.
--
-- Run from the repository root:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 examples/echo.lua
local Promise = require("promise")
local net = require("promise.net")

local await = Promise.await

local RATE = { limit = 3, interval = 100 }
local TIMEOUT = 200
local MESSAGES = { "hello", "rate", "limited", "slow request", "echo", "world", "bye" }

local connections = 0

-- The server's handler: one coroutine per connection.
local function serve(sock)
  connections = connections + 1
  while true do
    local line = await(sock:readLine())
    if line == nil then return end  -- the client is done
    if line:match("^slow") then await(Promise.sleep(400)) end
    -- the client may have given up meanwhile: then writing fails, quietly
    local ok = pcall(await, sock:write(line:upper() .. "\n"))
    if not ok then return end
  end
end

-- One request on its own connection; `signal` (from Promise.timeout)
-- cancels the connect or the read, closing the socket.
local request = Promise.async(function(port, message, signal)
  local sock = await(net.connect{ host = "127.0.0.1", port = port, signal = signal })
  local ok, reply = pcall(function()
    await(sock:write(message .. "\n"))
    return await(sock:readLine{ signal = signal })
  end)
  await(sock:close())
  if not ok then error(reply, 0) end
  return reply
end)

local ok, err = Promise.run(function()
  local server = await(net.listen({ host = "127.0.0.1", port = 0 }, serve))
  print(("server listening on %s, port %s"):format(server.address,
    math.type(server.port) == "integer" and "chosen by the system" or "?"))

  local rl = Promise.ratelimiter(RATE)
  local t0 = Promise.now()
  local starts = {}
  local calls = {}
  for i, message in ipairs(MESSAGES) do
    calls[i] = rl(function()
      starts[i] = Promise.now() - t0
      print(("request %d %q started at +%d ms"):format(i, message, starts[i]))
      return Promise.timeout(function(signal)
        return request(server.port, message, signal)
      end, TIMEOUT)
    end)
  end
  local results = await(Promise.allSettled(calls))

  local replies, timeouts = 0, 0
  for i, r in ipairs(results) do
    if r.status == "fulfilled" then
      replies = replies + 1
      print(("reply %d: %s"):format(i, r.value))
    else
      timeouts = timeouts + (Promise.TimeoutError.is(r.reason) and 1 or 0)
      print(("reply %d: %s"):format(i, tostring(r.reason)))
    end
  end

  -- the rate limit held: no 4 starts within any 100 ms
  local held = true
  for i = RATE.limit + 1, #starts do
    if starts[i] - starts[i - RATE.limit] < RATE.interval then held = false end
  end
  print(("%d replies, %d timed out; at most %d starts per %d ms: %s"):format(
    replies, timeouts, RATE.limit, RATE.interval, tostring(held)))

  await(server:close())  -- waits for the slow handler to finish
  print(("server closed after %d connections"):format(connections))
end)

if not ok then
  io.stderr:write("error: ", tostring(err), "\n")
  os.exit(1)
end
