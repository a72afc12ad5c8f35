--- The client object: commands (`call`, `send`, a method per command),
--- the offline queue, events and the public life-cycle calls. Connecting,
--- the handshake and reconnecting live in lifecycle.lua.
---
--- States: "connecting" (first connect), "ready", "reconnecting",
--- "closing" (close() waits for the replies due), "closed".
--- Commands go to the connection when ready; while connecting or
--- reconnecting they wait in the offline queue (at most `maxPending`);
--- once closing or closed they reject at once.

local Promise = require("promise")
local ioerror = require("promise.ioerror")
local util = require("promise.util")
local command = require("promise.redis.command")
local commands = require("promise.redis.commands")
local replies = require("promise.redis.replies")
local events = require("promise.redis.events")

local type, error, select, setmetatable, getmetatable, tostring, ipairs =
  type, error, select, setmetatable, getmetatable, tostring, ipairs

local M = {}

---@class promise.redis.Client
---@field private _cfg promise.redis.Config
---@field private _state string
---@field private _conn promise.redis.Connection?
---@field private _queue table      offline queue (commands with `n`)
---@field private _events table
local Client = {}
local methods = {}
Client.__name = "RedisClient"
M.Client = Client
M.methods = methods

local function checkself(self, fname)
  if getmetatable(self) ~= Client then
    error(("calling '%s' on bad self (RedisClient expected, got %s)"):format(fname, util.typename(self)), 3)
  end
end

--- The error of a command issued on a closed client.
local function closederror()
  return ioerror.new("ERR_CLIENT_CLOSED", "the Redis client is closed")
end
M.closederror = closederror

--- Routes a command record: to the connection, the offline queue, or a
--- rejection (closed, queue full).
---@param self promise.redis.Client
---@param cmd promise.redis.Command
function M.issue(self, cmd)
  local state = self._state
  if state == "ready" then
    self._conn:send(cmd)
  elseif state == "connecting" or state == "reconnecting" then
    local q = self._queue
    if q.n >= self._cfg.maxPending then
      return cmd:fail(Promise.QueueFullError(("offline queue is full (maxPending = %d): %s not queued")
        :format(self._cfg.maxPending, cmd.name)))
    end
    q.n = q.n + 1
    q[q.n] = cmd
    if self._onqueued then self._onqueued() end
  else
    cmd:fail(closederror())
  end
end
local issue = M.issue

--- Makes, arms and issues one command; returns the promise of its reply.
local function run(self, name, args, first, last, fname, argn0, timeout, signal)
  local cmd, p = command.new(name, args, first, last, fname, argn0, 3)
  cmd.transform = replies.transform(name, self._cfg.protocol)
  if name == "SELECT" then
    -- a reconnect selects the database the client last switched to
    local db = math.tointeger(tonumber(args[first]))
    cmd.transform = function(v)
      if db and db >= 0 then self._cfg.db = db end
      return v
    end
  end
  timeout = timeout or self._cfg.commandTimeout
  if timeout or signal then command.arm(cmd, timeout, signal) end
  issue(self, cmd)
  return p
end
M.run = run

--- Sends any command: `client:call("SET", "k", "v")`.
---@param name string
---@param ... string|number
---@return Promise # of the reply
function methods:call(name, ...)
  checkself(self, "call")
  if type(name) ~= "string" then util.argerror(1, "call", "string", name) end
  return run(self, name:upper(), { ... }, 1, select("#", ...), "call", 1)
end

--- Sends `argv` (a list: the command then its arguments) with per-command
--- options.
---@param argv (string|number)[]
---@param opts? {timeout: number?, signal: promise.AbortSignal?}
---@return Promise # of the reply
function methods:send(argv, opts)
  checkself(self, "send")
  if type(argv) ~= "table" then util.argerror(1, "send", "table", argv) end
  if type(argv[1]) ~= "string" then
    error(("bad argument #1 to 'send' (command name expected at [1], got %s)"):format(util.typename(argv[1])), 2)
  end
  local timeout, signal
  if opts ~= nil then
    opts = ioerror.checkopts(opts, 2, "send")
    timeout, signal = opts.timeout, opts.signal
    local problem = timeout ~= nil and util.msproblem(timeout, true)
    if problem then error(("bad argument #2 to 'send' (field 'timeout': %s)"):format(problem), 2) end
  end
  local n = argv.n or #argv
  for i = 2, n do
    local t = type(argv[i])
    if t ~= "string" and t ~= "number" then
      error(("bad argument #1 to 'send' (element %d: string or number expected, got %s)")
        :format(i, util.typename(argv[i])), 2)
    end
  end
  return run(self, argv[1]:upper(), argv, 2, n, "send", 1, timeout, signal)
end

--- Listens to an event: "connect", "ready", "reconnecting" (attempt,
--- delay), "error" (err), "end". Returns a function that stops listening.
---@param event string
---@param fn function
---@return fun() unsubscribe
function methods:on(event, fn)
  checkself(self, "on")
  return events.on(self._events, event, fn, "on")
end

function Client:__tostring()
  local cfg = self._cfg
  local where = cfg.path or (cfg.host .. ":" .. tostring(cfg.port))
  return ("RedisClient<%s>: %s db %d"):format(self._state, where, cfg.db)
end

Client.__index = commands.indexer(methods, function(NAME, name)
  return function(self, ...)
    checkself(self, name)
    return run(self, NAME, { ... }, 1, select("#", ...), name, 0)
  end
end)

--- A new client object (not connected).
---@param cfg promise.redis.Config
---@return promise.redis.Client
function M.new(cfg)
  return setmetatable({ _cfg = cfg, _state = "connecting", _conn = nil,
    _queue = { n = 0 }, _events = events.new() }, Client)
end

--- Empties the offline queue; returns its commands, oldest first.
---@param self promise.redis.Client
---@return promise.redis.Command[]
function M.takequeue(self)
  local q = self._queue
  self._queue = { n = 0 }
  local list = {}
  for i = 1, q.n do list[i] = q[i] end
  return list
end

--- Rejects every command of `list` with `err`.
---@param list promise.redis.Command[]
---@param err any
function M.failall(list, err)
  for _, cmd in ipairs(list) do cmd:fail(err) end
end

return M
