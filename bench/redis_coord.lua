-- Figures for the Redis coordination objects (not part of `make bench`):
-- lock acquire/release round trips per second on one server and with
-- Redlock on 3, and what a shared rate limiter costs per acquire compared
-- with the in-process one and a bare PING. Starts its own redis-servers
-- (spec/support/redis.lua's: TCP on 127.0.0.1, nothing persisted) and
-- stops them.
--
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 bench/redis_coord.lua [n]
local Promise = require("promise")
local redis = require("promise.redis")
local uv = require("luv")

local await = Promise.await
local N = tonumber(arg[1]) or 2000

-- the specs' private redis-servers (127.0.0.1 and a Unix socket, nothing
-- persisted), stopped by pid at the end
local HERE = (arg[0]:match("^(.*)[/\\]")) or "."
local R = dofile(HERE .. "/../spec/support/redis.lua")
local servers = {}
local function start()
  servers[#servers + 1] = R.start()
  return servers[#servers].port
end

local function stopall()
  for _, s in ipairs(servers) do s:destroy() end
end

local function timed(label, n, unit, fn)
  local t0 = uv.hrtime()
  fn()
  local secs = (uv.hrtime() - t0) / 1e9
  print(("%-52s %9.0f %s/s   %7.1f us each"):format(label, n / secs, unit, secs / n * 1e6))
end

local function main()
  local ports = { start(), start(), start() }
  local clients = {}
  for i, p in ipairs(ports) do clients[i] = await(redis.connect{ port = p }) end
  local one = clients[1]

  timed("PING, one at a time", N, "round trips", function()
    for _ = 1, N do await(one:ping()) end
  end)

  local locks = redis.lock(one, { ttl = 10000 })
  timed("lock acquire + release, one server, one at a time", N, "cycles", function()
    for _ = 1, N do await(await(locks:acquire("bench")):release()) end
  end)

  timed("lock acquire + release, one server, 50 keys at once", N, "cycles", function()
    local work = {}
    for k = 1, 50 do
      work[k] = Promise.async(function()
        for _ = 1, N // 50 do await(await(locks:acquire("bench:" .. k)):release()) end
      end)()
    end
    await(Promise.all(work))
  end)

  local red = redis.lock(clients, { ttl = 10000 })
  timed("Redlock on 3 servers, acquire + release, one at a time", N, "cycles", function()
    for _ = 1, N do await(await(red:acquire("bench")):release()) end
  end)

  timed("Redlock on 3 servers, 50 keys at once", N, "cycles", function()
    local work = {}
    for k = 1, 50 do
      work[k] = Promise.async(function()
        for _ = 1, N // 50 do await(await(red:acquire("bench:" .. k)):release()) end
      end)()
    end
    await(Promise.all(work))
  end)

  local loc = Promise.ratelimiter{ limit = 1e9, interval = 1000 }
  timed("in-process rate limiter acquire", N, "acquires", function()
    for _ = 1, N do await(loc:acquire()) end
  end)
  local store = redis.store(one, { prefix = "bench:rl" })
  for _, strategy in ipairs({ "sliding", "token" }) do
    local rl = store:ratelimiter{ limit = 1000000000, interval = 1000, strategy = strategy }
    await(one:del("bench:rl"))
    timed(("Redis store rate limiter acquire (%s)"):format(strategy), N, "acquires", function()
      for _ = 1, N do await(rl:acquire()) end
    end)
  end
  for _, c in ipairs(clients) do await(c:close()) end
end

local ok, err = Promise.run(main)
stopall()
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
