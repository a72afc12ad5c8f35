-- A read-through cache in Redis, with a TTL, in front of a slow backend.
-- Fifty concurrent requests for the same key are answered by ONE backend
-- call: the first miss starts the call, the others wait for it (a
-- "single flight" per key); the value then stays in Redis for the TTL.
--
-- Uses the server at REDIS_URL when it is set; otherwise starts its own
-- redis-server on a Unix socket in a temporary directory (nothing
-- persisted) and stops it at the end (examples/support/redis_server.lua).
--
-- Run from the repository root:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 examples/redis_cache.lua
local Promise = require("promise")
local redis = require("promise.redis")
local redisServer = require("examples.support.redis_server")

local async, await = Promise.async, Promise.await
local TTL = 1000  -- ms (long enough that the second request is a hit even on a loaded machine)

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

---------------------------------------------------------------- the demo

local url, stopServer = redisServer.open()
local ok, err = Promise.run(function()
  local client = await(redis.connect{ url = url })
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
stopServer()
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
