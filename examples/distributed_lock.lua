-- A distributed lock with renewal, fencing and guaranteed release (the
-- seed's question 16): three worker processes take turns on a shared
-- account kept in Redis, each turn a read-modify-write under
-- `locks:using`, which keeps the lock extended while the turn runs and
-- releases it whatever happens.
--
-- One worker freezes in the middle of a turn (a stop-the-world pause,
-- simulated by blocking its event loop for 3x the lock's ttl). Its lock
-- expires, another worker takes it, and when the frozen one wakes up:
-- * its `signal` is aborted with LockLostError (it learns at once);
-- * its late write carries the old fence, and the storage, which only
--   accepts writes whose fence is at least the last one it saw, refuses it;
-- * its release returns false: it cannot delete the new holder's lock.
-- It then recovers and takes its next turns normally. No write is lost,
-- none is applied twice.
--
-- Uses the server at REDIS_URL when it is set; otherwise starts its own
-- redis-server on a Unix socket in a temporary directory (nothing
-- persisted) and stops it at the end (examples/support/redis_server.lua).
--
-- Run from the repository root:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 examples/distributed_lock.lua
local Promise = require("promise")
local redis = require("promise.redis")
local process = require("promise.process")
local redisServer = require("examples.support.redis_server")
local uv = require("luv")

local await = Promise.await

local TTL = 400          -- ms: the lock's ttl
local TURNS = 5          -- turns per worker
local WORKERS = 3
local FROZEN = 2         -- the worker that freezes, on its first turn

---------------------------------------------------------------- the storage
-- A fenced write: kept only when its fence is at least the last accepted
-- one (a late writer holding an old fence is refused).
local WRITE = redis.script([[
local last = tonumber(redis.call("HGET", KEYS[1], "fence") or "0")
if tonumber(ARGV[1]) < last then return 0 end
redis.call("HSET", KEYS[1], "fence", ARGV[1], "balance", ARGV[2])
redis.call("RPUSH", KEYS[2], ARGV[3] .. " " .. ARGV[1])
return 1
]])

---------------------------------------------------------------- a worker

local function worker(url, id)
  local client = await(redis.connect{ url = url })
  local locks = redis.lock(client, { ttl = TTL, wait = 30000, retryDelay = 20, retryJitter = 20 })
  -- the others start once the frozen one holds the lock, so that they are
  -- waiting for it while it is frozen
  if id ~= FROZEN then await(client:blpop("start", 0)) end
  local accepted = 0
  for turn = 1, TURNS do
    local ok, err = pcall(await, locks:using("lock:account", function(signal, lock)
      local balance = tonumber(await(client:hget("account", "balance")) or "0")
      if id == FROZEN and turn == 1 then
        await(client:rpush("start", 1, 2))
        print(("worker %d: holding fence %d, freezing for %d ms"):format(id, lock.fence, 3 * TTL))
        uv.sleep(3 * TTL)       -- the whole process stalls: no timer, no I/O
        local late = await(client:eval(WRITE, { "account", "writes" }, { lock.fence, balance + 1, id }))
        print(("worker %d: woke up; signal aborted: %s (%s)"):format(id, tostring(signal.aborted),
          signal.reason and signal.reason.name))
        local now = tonumber(await(client:hget("account", "fence")))
        print(("worker %d: late write with fence %d %s (a newer holder wrote with a higher fence: %s)")
          :format(id, lock.fence, late == 1 and "ACCEPTED (bug!)" or "refused", tostring(now > lock.fence)))
        print(("worker %d: release: %s"):format(id, tostring(await(lock:release()))))
        return
      end
      assert(await(client:eval(WRITE, { "account", "writes" }, { lock.fence, balance + 1, id })) == 1)
      accepted = accepted + 1
    end))
    if not ok then
      print(("worker %d: turn %d ended with %s"):format(id, turn, tostring(err)))
    end
  end
  print(("worker %d: %d turns, %d writes accepted"):format(id, TURNS, accepted))
  await(client:close())
end

---------------------------------------------------------------- the demo

local function main()
  local url, stop = redisServer.open()
  local ok, err = Promise.run(function()
    local client = await(redis.connect{ url = url })
    await(client:del("account", "writes", "start", "lock:account", "lock:account:fence"))
    local runs = {}
    for id = 1, WORKERS do
      runs[id] = process.exec("lua5.4", { arg[0], "worker", url, id })
    end
    local results = await(Promise.all(runs))
    for id, r in ipairs(results) do
      if r.code ~= 0 then error(("worker %d failed: %s"):format(id, r.stderr)) end
      io.write(r.stdout)
    end
    local writes = await(client:lrange("writes", 0, -1))
    local last, ordered = 0, true
    for _, w in ipairs(writes) do
      local fence = tonumber(w:match(" (%d+)$"))
      if fence <= last then ordered = false end
      last = fence
    end
    print(("accepted writes: %d, in growing fence order: %s"):format(#writes, tostring(ordered)))
    print(("balance: %s after %d turns (the frozen turn's write refused)"):format(
      await(client:hget("account", "balance")), WORKERS * TURNS))
    print(("lock key left behind: %d"):format(await(client:exists("lock:account"))))
    await(client:del("account", "writes", "start", "lock:account", "lock:account:fence"))
    await(client:close())
  end)
  stop()
  if not ok then
    io.stderr:write(tostring(err), "\n")
    os.exit(1)
  end
end

if arg[1] == "worker" then
  local ok, err = Promise.run(worker, arg[2], tonumber(arg[3]))
  if not ok then
    io.stderr:write(tostring(err), "\n")
    os.exit(1)
  end
else
  main()
end
