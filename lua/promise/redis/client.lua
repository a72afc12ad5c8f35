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

local type, select, setmetatable, getmetatable, tostring, ipairs =
  type, select, setmetatable, getmetatable, tostring, ipairs

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

-- Levels: the checks below raise at the caller of the method that called
-- them (3: here, the method, its caller), so a method never tail-calls
-- `run` (its frame would go, and the message would point one level out).
local function checkself(self, fname)
  if getmetatable(self) ~= Client then util.selferror(fname, "RedisClient", self, 3) end
end
M.checkself = checkself

--- The per-command options of `send`, `exec` and `eval` (others pass).
M.CMDOPTS = util.schema({ { "timeout", "ms", never = true }, { "signal", "signal" } })
local CMDOPTS = M.CMDOPTS

--- Raises `bad argument #n to 'fname' (element i: ...)` unless
--- `list[first..last]` are strings or numbers: at the caller of the method
--- that called it, or `level` frames further out (as for `util.badarg`).
---@param list table
---@param first integer
---@param last integer
---@param n integer
---@param fname string
---@param level? integer
function M.checkelements(list, first, last, n, fname, level)
  for i = first, last do
    local t = type(list[i])
    if t ~= "string" and t ~= "number" then
      util.badarg(n, fname, ("element %d: string or number expected, got %s"):format(i, util.typename(list[i])),
        (level or 2) + 1)
    end
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
  local p = run(self, name:upper(), { ... }, 1, select("#", ...), "call", 1)
  return p
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
    util.badarg(1, "send", "command name expected at [1], got " .. util.typename(argv[1]))
  end
  local timeout, signal
  if opts ~= nil then
    opts = util.checkopts("send", 2, opts, CMDOPTS)
    timeout, signal = opts.timeout, opts.signal
  end
  local n = argv.n or #argv
  M.checkelements(argv, 2, n, 1, "send")
  local p = run(self, argv[1]:upper(), argv, 2, n, "send", 1, timeout, signal)
  return p
end

--- Listens to an event: "connect", "ready", "reconnecting" (attempt,
--- delay), "error" (err), "end". Returns a function that stops listening.
---@param event string
---@param fn function
---@return fun() unsubscribe
function methods:on(event, fn)
  checkself(self, "on")
  local off = events.on(self._events, event, fn, "on")
  return off
end

function Client:__tostring()
  local cfg = self._cfg
  local where = cfg.path or (cfg.host .. ":" .. tostring(cfg.port))
  return ("RedisClient<%s>: %s db %d"):format(self._state, where, cfg.db)
end

Client.__index = commands.indexer(methods, function(NAME, name)
  return function(self, ...)
    checkself(self, name)
    local p = run(self, NAME, { ... }, 1, select("#", ...), name, 0)
    return p
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
