--- Transactions: `local tx = client:multi()`, then `tx:set(...)`,
--- `tx:incr(...)` (each returns `tx`), then `await(tx:exec())`.
---
--- Nothing is sent before `exec`. Then MULTI, the queued commands and EXEC
--- go out as ONE command record whose bytes are contiguous in the write,
--- so no other command of the client can land between MULTI and EXEC. The
--- record expects n + 2 replies (OK, QUEUED..., the EXEC array) and is
--- settled once they are all in: a list with `n` of the commands' replies
--- (an error object where a command failed), `nil` when a WATCHed key
--- changed, or a rejection with EXEC's error (EXECABORT, with
--- `previousErrors`) when the server refused to queue a command.

local Promise = require("promise")
local util = require("promise.util")
local command = require("promise.redis.command")
local commands = require("promise.redis.commands")
local replies = require("promise.redis.replies")
local client = require("promise.redis.client")
local encoder = require("promise.redis.encoder")

local setmetatable, getmetatable, select, error, type = setmetatable, getmetatable, select, error, type

local M = {}

local Command = command.Command
local TxCommand = setmetatable({}, { __index = Command })
TxCommand.__index = TxCommand
TxCommand.__name = "RedisTransactionCommand"

--- Settles the whole block (the dispatcher calls it with EXEC's reply).
function TxCommand:settle(v, iserror)
  if self.timer or self.unsub then command.cleanup(self) end
  local got, names, transforms = self.got, self.names, self.transforms
  if iserror then
    local prev = {}
    for i = 1, got.n - 1 do
      if got.errs[i] then
        got[i].command = i == 1 and "MULTI" or names[i - 1]
        prev[#prev + 1] = got[i]
      end
    end
    v.command = "EXEC"
    v.previousErrors = prev
    return self.reject(v)
  end
  if v == nil then return self.resolve(nil) end
  for i = 1, #names do
    local r = v[i]
    if Promise.RedisError.is(r) then
      r.command = names[i]
    elseif transforms[i] then
      v[i] = transforms[i](r)
    end
  end
  self.resolve(v)
end

---@class promise.redis.Transaction
---@field private _client promise.redis.Client
---@field private _out table     the block's bytes so far
---@field private _names string[]
---@field private _transforms table
---@field private _done boolean
local Transaction = {}
local txmethods = {}
Transaction.__name = "RedisTransaction"

local function checktx(self, fname)
  if getmetatable(self) ~= Transaction then
    error(("calling '%s' on bad self (RedisTransaction expected, got %s)"):format(fname, util.typename(self)), 3)
  end
  if self._done then error(("calling '%s' on a transaction already executed or discarded"):format(fname), 3) end
end

--- Queues a command (raw name and arguments) in the block; returns `tx`.
local function queue(self, NAME, args, n, fname, argn0)
  local out = self._out
  encoder.encode(out, NAME, args, 1, n, fname, argn0, 3)
  local k = #self._names + 1
  self._names[k] = NAME
  self._transforms[k] = replies.transform(NAME, self._client._cfg.protocol)
  return self
end

--- Queues any command: `tx:call("SET", "k", "v")`; returns `tx`.
---@param name string
---@return promise.redis.Transaction
function txmethods:call(name, ...)
  checktx(self, "call")
  if type(name) ~= "string" then util.argerror(1, "call", "string", name) end
  return queue(self, name:upper(), { ... }, select("#", ...), "call", 1)
end

--- Sends the block; resolves to the list of replies (see the module header).
---@param opts? {timeout: number?, signal: promise.AbortSignal?}
---@return Promise # of a list with `n`, or nil
function txmethods:exec(opts)
  checktx(self, "exec")
  self._done = true
  local out = self._out
  encoder.encode(out, "EXEC", {}, 1, 0, "exec", 0, 2)
  local p, resolve, reject = Promise.withResolvers()
  local rec = setmetatable({ name = "EXEC", wire = out, resolve = resolve, reject = reject,
    count = #self._names + 2, got = { n = 0, errs = {} }, names = self._names,
    transforms = self._transforms }, TxCommand)
  local cfg = self._client._cfg
  local timeout, signal = cfg.commandTimeout, nil
  if opts ~= nil then
    if type(opts) ~= "table" then util.argerror(1, "exec", "table", opts) end
    local problem = opts.timeout ~= nil and util.msproblem(opts.timeout, true)
    if problem then error(("bad argument #1 to 'exec' (field 'timeout': %s)"):format(problem), 2) end
    timeout, signal = opts.timeout or timeout, opts.signal
  end
  if timeout or signal then command.arm(rec, timeout, signal) end
  client.issue(self._client, rec)
  return p
end

--- Drops the transaction (nothing was sent); resolves to "OK".
---@return Promise # of "OK"
function txmethods:discard()
  checktx(self, "discard")
  self._done = true
  return Promise.resolve("OK")
end

Transaction.__index = commands.indexer(txmethods, function(NAME, name)
  return function(self, ...)
    checktx(self, name)
    return queue(self, NAME, { ... }, select("#", ...), name, 0)
  end
end)

--- Starts a transaction on this client (see the module header).
---@return promise.redis.Transaction
function client.methods:multi()
  if getmetatable(self) ~= client.Client then
    error(("calling 'multi' on bad self (RedisClient expected, got %s)"):format(util.typename(self)), 2)
  end
  local out = { n = 0 }
  encoder.encode(out, "MULTI", {}, 1, 0, "multi", 0, 2)
  return setmetatable({ _client = self, _out = out, _names = {}, _transforms = {}, _done = false }, Transaction)
end

M.Transaction = Transaction
return M
