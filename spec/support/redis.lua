-- A private redis-server for the specs tagged #redis:
--   local R = require("spec.support.redis")
--   local srv = R.start()        -- srv.port, srv.path (Unix socket), srv.url
--   ... srv:stop()               -- always, from a teardown/finally
-- or, inside a describe block, one server for the whole block:
--   local suite = R.suite()      -- suite.srv once the block's setup has run
--   suite.with(function(client) ... end)    -- or suite.with_fifo(fn(client, fifo))
-- Listens only on 127.0.0.1 (a free port) and on a socket in a fresh temp
-- directory, persists nothing (--save "" --appendonly no), and is stopped
-- by pid: no process outlives the spec.
local uv = require("luv")

local R = {}

local Server = {}
Server.__index = Server

local function sh(cmd)
  local f = assert(io.popen(cmd .. " 2>&1", "r"))
  local out = f:read("a")
  f:close()
  return out
end

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

--- A TCP port nobody listens on now (bound to 0, then released).
local function freeport()
  local h = uv.new_tcp()
  assert(h:bind("127.0.0.1", 0))
  local port = h:getsockname().port
  h:close()
  uv.run("nowait")
  return port
end

local function sleep(ms) uv.sleep(ms) end

--- Whether the process `pid` still runs (a zombie waiting to be reaped
--- by an init that may never do it counts as gone).
local function alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if not f then return false end
  local stat = f:read("a")
  f:close()
  return stat:match("^%d+ %b() (%a)") ~= "Z"
end

--- Runs redis-cli against this server; returns its output.
---@param ... string arguments
---@return string
function Server:cli(...)
  local args = {}
  for i, a in ipairs({ ... }) do args[i] = quote(a) end
  return sh(("redis-cli -s %s %s"):format(quote(self.path), table.concat(args, " ")))
end

--- Starts the server process (again, after stop(): same port and socket).
function Server:launch()
  local cmd = ("redis-server --bind 127.0.0.1 --port %d --unixsocket %s --unixsocketperm 700"
    .. " --save '' --appendonly no --enable-debug-command local --daemonize yes --pidfile %s --dir %s --logfile %s")
    :format(self.port, quote(self.path), quote(self.dir .. "/redis.pid"), quote(self.dir),
      quote(self.dir .. "/redis.log"))
  for _, a in ipairs(self.extra or {}) do cmd = cmd .. " " .. quote(a) end
  sh(cmd)
  for _ = 1, 400 do
    local f = io.open(self.dir .. "/redis.pid")
    if f then
      self.pid = tonumber(f:read("a"))
      f:close()
      if self.pid and self:cli("PING"):match("PONG") then return self end
    end
    sleep(25)
  end
  self:stop()
  error("redis-server did not start: " .. sh("cat " .. quote(self.dir .. "/redis.log")))
end

--- Stops the process (SIGKILL after 5 s) and waits until it is gone.
function Server:stop()
  local pid = self.pid
  if not pid then return end
  os.execute("kill " .. pid .. " 2>/dev/null")
  for i = 1, 400 do
    if not alive(pid) then break end
    if i == 200 then os.execute("kill -9 " .. pid .. " 2>/dev/null") end
    sleep(25)
  end
  os.remove(self.dir .. "/redis.pid")
  self.pid = nil
end

--- Stops the server and removes its directory.
function Server:destroy()
  self:stop()
  sh("rm -rf " .. quote(self.dir))
end

--- Runs the Lua chunk `src` in a child lua5.4 with this checkout's module
--- paths and the arguments `args`; a promise (process.exec's) of
--- `{ code, signal, stdout, stderr }`, settled once the child has exited.
--- The chunk is removed afterwards.
---@param src string
---@param args (string|number)[]?
---@return Promise
function R.child(src, args)
  local Promise = require("promise")
  local process = require("promise.process")
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(src)
  f:close()
  local argv = { path }
  for _, a in ipairs(args or {}) do argv[#argv + 1] = tostring(a) end
  local env = { PATH = os.getenv("PATH"), LUA_PATH = "lua/?.lua;lua/?/init.lua;;", LUA_CPATH = "build/?.so;;",
    LUA_PATH_5_4 = "lua/?.lua;lua/?/init.lua;;", LUA_CPATH_5_4 = "build/?.so;;" }
  return process.exec("lua5.4", argv, { env = env }):finally(function() os.remove(path) end)
    :next(function(r)
      if r.code ~= 0 and not r.signal then
        error(Promise.Error(("child exited with %s: %s%s"):format(tostring(r.code), r.stdout, r.stderr)), 0)
      end
      return r
    end)
end

--- Starts a new server; `extra` are more redis-server arguments.
---@param extra string[]?
function R.start(extra)
  local dir = sh("mktemp -d /tmp/luv-promise-redis.XXXXXX"):match("[^\n]+")
  local s = setmetatable({ dir = dir, path = dir .. "/redis.sock", port = freeport(), extra = extra }, Server)
  s.url = ("redis://127.0.0.1:%d"):format(s.port)
  return s:launch()
end

--- Runs the children `src` with the arguments `argvs[i]` (R.child), waits
--- until each has written "ready" to `fifo` (an `H.fifo()`), then pushes
--- one item per child to the list "go", which each child pops (BLPOP) to
--- start: all start together. Resolves to their results, in order.
--- Awaits: call it from an async function.
---@param c table a client
---@param fifo table
---@param src string
---@param argvs (string|number)[][]
---@return table[]
function R.together(c, fifo, src, argvs)
  local Promise = require("promise")
  local await = Promise.await
  local runs, go = {}, {}
  for i, argv in ipairs(argvs) do
    runs[i] = R.child(src, argv)
    go[i] = i
  end
  local assert = require("luassert")
  for _ = 1, #argvs do assert.equal("ready", await(fifo:line())) end
  await(c:rpush("go", table.unpack(go)))
  return await(Promise.all(runs))
end

--- For a describe block: one server for the whole block (started by the
--- block's `setup`, destroyed by its `teardown`), in `S.srv`, and:
--- * `S.with(fn)` runs `fn(client)` in `H.run` with a fresh client of an
---   emptied server (FLUSHALL), closes the client whatever happens, and
---   asserts no luv handle is left alive after the turn;
--- * `S.with_fifo(fn)` runs `fn(client, fifo)` the same way, with a fresh
---   `H.fifo()` for child processes to report on (closed afterwards), and
---   no handle check (the multi-process specs).
---@return { srv: table?, with: fun(fn: fun(client: table)), with_fifo: fun(fn: fun(client: table, fifo: table)) }
function R.suite()
  local busted = require("busted")
  local assert = require("luassert")
  local H = require("spec.support.helpers")
  local S = {}
  busted.setup(function() S.srv = R.start() end)
  busted.teardown(function() if S.srv then S.srv:destroy() end end)
  -- fn(client, fifo?) in H.run; the client (and fifo) closed whatever happens
  local function session(fn, withfifo)
    local Promise = require("promise")
    local redis = require("promise.redis")
    H.run(function()
      local c = Promise.await(redis.connect{ port = S.srv.port })
      Promise.await(c:flushall())
      local fifo = withfifo and H.fifo() or nil
      local ok, err = pcall(fn, c, fifo)
      if fifo then Promise.await(fifo:close()) end
      Promise.await(c:close())
      if not ok then error(err, 0) end
    end)
  end
  function S.with(fn)
    session(fn, false)
    assert.same({}, H.active_handles_after_turn())
  end
  function S.with_fifo(fn) session(fn, true) end
  return S
end

return R
