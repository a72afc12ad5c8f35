-- A read-through cache in Redis, with a TTL, in front of a slow backend.
-- Fifty concurrent requests for the same key are answered by ONE backend
-- call: the first miss starts the call, the others wait for it (a
-- "single flight" per key); the value then stays in Redis for the TTL.
--
-- Uses the server at REDIS_URL when it is set; otherwise starts its own
-- redis-server on a Unix socket in a temporary directory (nothing
-- persisted) and stops it at the end.
--
-- Run from the repository root:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 examples/redis_cache.lua
local Promise = require("promise")
local redis = require("promise.redis")

local async, await = Promise.async, Promise.await
local TTL = 300  -- ms

---------------------------------------------------------------- the backend

local backendCalls = 0

-- The slow backend: 100 ms per call.
local function slowBackend(key)
  backendCalls = backendCalls + 1
  return Promise.sleep(100, { value = "profile of " .. key })
end

---------------------------------------------------------------- the cache

local inflight = {}  -- key -> the promise of the backend call under way

local function clear(key) return function() inflight[key] = nil end end

--- `{ value, from }`: the value of `key` and where it came from ("cache"
--- or "backend").
local cached = async(function(client, key)
  local value = await(client:get("cache:" .. key))
  if value then return { value, "cache" } end
  local p = inflight[key]
  if not p then
    p = async(function()
      local v = await(slowBackend(key))
      await(client:set("cache:" .. key, v, "PX", TTL))
      return v
    end)()
    inflight[key] = p
    p:next(clear(key), clear(key))
  end
  return { await(p), "backend" }
end)

---------------------------------------------------------------- a server

--- Starts a private redis-server; returns its socket path and a stop function.
local function startServer()
  local dir = io.popen("mktemp -d"):read("l")
  local sock, pidfile = dir .. "/redis.sock", dir .. "/redis.pid"
  assert(os.execute(("redis-server --port 0 --unixsocket %s --save '' --appendonly no"
    .. " --daemonize yes --pidfile %s --dir %s --logfile %s/log"):format(sock, pidfile, dir, dir)))
  local function stop()
    local f = io.open(pidfile)
    if f then
      local pid = f:read("n")
      f:close()
      os.execute("kill " .. pid)
      -- redis-server removes its pid file when it has shut down
      for _ = 1, 500 do
        local still = io.open(pidfile)
        if not still then break end
        still:close()
        Promise.sleep(10):wait()
      end
    end
    os.execute("rm -rf " .. dir)
  end
  return sock, stop
end

--- `{ client, stop }`: a client of REDIS_URL, or of a server of our own.
local connect = async(function()
  if os.getenv("REDIS_URL") then return { await(redis.connect{ url = os.getenv("REDIS_URL") }) } end
  local sock, stop = startServer()
  for _ = 1, 200 do  -- until the server listens
    local ok, client = pcall(await, redis.connect{ path = sock })
    if ok then return { client, stop } end
    await(Promise.sleep(10))
  end
  stop()
  error("redis-server did not start")
end)

---------------------------------------------------------------- the demo

local stopServer
local ok, err = Promise.run(function()
  local c = await(connect())
  local client = c[1]
  stopServer = c[2]
  await(client:del("cache:user:1"))

  local requests = {}
  for i = 1, 50 do requests[i] = cached(client, "user:1") end
  local answers = await(Promise.all(requests))
  local same = 0
  for i = 1, answers.n do
    if answers[i][1] == "profile of user:1" then same = same + 1 end
  end
  print(("50 concurrent requests: %d identical answers, %d backend call"):format(same, backendCalls))

  local r = await(cached(client, "user:1"))
  print(("again: %q from the %s, backend calls: %d"):format(r[1], r[2], backendCalls))

  await(Promise.sleep(TTL + 50))
  r = await(cached(client, "user:1"))
  print(("after the TTL: %q from the %s, backend calls: %d"):format(r[1], r[2], backendCalls))
  await(client:close())
end)
if stopServer then stopServer() end
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
