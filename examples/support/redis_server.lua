-- What the Redis examples share, and nothing they are about: a Redis
-- server to talk to. `open()` gives the URL of the server at REDIS_URL
-- when it is set; otherwise it starts a private redis-server on a Unix
-- socket in a fresh temporary directory (no TCP port, nothing persisted)
-- and gives its URL and a function that stops it and removes the
-- directory. Called outside Promise.run, before the example's own code.
--
-- The examples require it as "examples.support.redis_server": run from the
-- repository root, Lua's default path ("./?.lua", kept by the ";;" in
-- LUA_PATH) finds it.
local redis = require("promise.redis")
local uv = require("luv")

local M = {}

--- Stops the server whose pid file is `pidfile`, waits until it has shut
--- down (redis-server removes its pid file then), removes `dir`.
local function stopper(dir, pidfile)
  return function()
    local f = io.open(pidfile)
    if f then
      local pid = f:read("n")
      f:close()
      os.execute("kill " .. pid)
      for _ = 1, 500 do
        local still = io.open(pidfile)
        if not still then break end
        still:close()
        uv.sleep(10)
      end
    end
    os.execute("rm -rf " .. dir)
  end
end

--- Starts a private redis-server; returns its URL and a stop function.
---@return string url
---@return fun() stop
function M.start()
  local dir = io.popen("mktemp -d"):read("l")
  local sock, pidfile = dir .. "/redis.sock", dir .. "/redis.pid"
  assert(os.execute(("redis-server --port 0 --unixsocket %s --save '' --appendonly no"
    .. " --daemonize yes --pidfile %s --dir %s --logfile %s/log"):format(sock, pidfile, dir, dir)))
  local stop = stopper(dir, pidfile)
  for _ = 1, 200 do       -- until the server listens
    local ok, c = pcall(function() return redis.connect{ path = sock }:wait() end)
    if ok then
      c:close():wait()
      return "unix://" .. sock, stop
    end
    uv.sleep(10)
  end
  stop()
  error("redis-server did not start")
end

--- The server at REDIS_URL (stop does nothing) or a private one (`start`).
---@return string url
---@return fun() stop
function M.open()
  local url = os.getenv("REDIS_URL")
  if url then return url, function() end end
  return M.start()
end

return M
