--- A command record: its name, its bytes, the caller's promise, and the
--- per-command timeout and signal. The dispatcher settles it with the
--- reply; a timeout or an abort drops it (the caller's promise rejects at
--- once, the reply, if one comes, is thrown away).
---
--- Only the name of a command is ever shown (errors carry `command`, the
--- upper-case name): arguments, AUTH's and HELLO's passwords among them,
--- never leave the record.

local Promise = require("promise")
local encoder = require("promise.redis.encoder")

local setmetatable, type = setmetatable, type

local M = {}

---@class promise.redis.Command
---@field name string        upper case, as sent
---@field wire string|table  the bytes (pieces with `n`), until written
---@field resolve function
---@field reject function
---@field transform function?  shapes the reply (see replies.lua)
---@field dropped boolean?     timed out or aborted: the reply is discarded
---@field noreply boolean?     the server sends no reply in order (SUBSCRIBE)
---@field timer table?
---@field unsub function?
local Command = {}
Command.__index = Command
Command.__name = "RedisCommand"

local function cleanup(cmd)
  if cmd.timer then
    Promise.clearTimeout(cmd.timer)
    cmd.timer = nil
  end
  if cmd.unsub then
    cmd.unsub()
    cmd.unsub = nil
  end
end

M.cleanup = cleanup

--- Settles the caller's promise with a reply (the dispatcher calls it).
---@param v any
---@param iserror boolean
function Command:settle(v, iserror)
  if self.timer or self.unsub then cleanup(self) end
  if iserror then
    if type(v) == "table" then v.command = self.name end
    self.reject(v)
  else
    local t = self.transform
    if t then v = t(v) end
    self.resolve(v)
  end
end

--- Rejects the caller's promise without a reply (connection lost, closed).
---@param err any
function Command:fail(err)
  if self.dropped then return end
  self.dropped = true
  cleanup(self)
  self.reject(err)
end

--- Drops the command: rejects with `err`; a reply still due is discarded.
local function drop(cmd, err)
  if cmd.dropped then return end
  cmd.dropped = true
  cleanup(cmd)
  cmd.reject(err)
end

--- Arms the timeout and the signal of `opts` on `cmd`; a timeout of 0 or
--- `math.huge` is none (the options checks keep the rest below 2^31 ms).
---@param cmd promise.redis.Command
---@param timeout number?
---@param signal table?
function M.arm(cmd, timeout, signal)
  if timeout and timeout > 0 and timeout < math.huge then
    cmd.timer = Promise.setTimeout(function()
      cmd.timer = nil
      drop(cmd, Promise.TimeoutError(("command %s timed out after %s ms"):format(cmd.name, timeout)))
    end, timeout)
  end
  if signal then
    if signal.aborted then return drop(cmd, signal.reason) end
    cmd.unsub = signal:onAbort(function(reason)
      cmd.unsub = nil
      drop(cmd, reason)
    end)
  end
end

--- A new command record and the promise of its reply. `args[first..last]`
--- are encoded now: a bad argument raises at `level` (numbered from
--- `argn0 + 1`, in messages about `fname`).
---@param name string upper case
---@param args table
---@param first integer
---@param last integer
---@param fname string
---@param argn0 integer
---@param level integer
---@return promise.redis.Command cmd
---@return Promise p
function M.new(name, args, first, last, fname, argn0, level)
  local out = { n = 0 }
  encoder.encode(out, name, args, first, last, fname, argn0, level + 1)
  local p, resolve, reject = Promise.withResolvers()
  local cmd = setmetatable({ name = name, wire = out.n == 1 and out[1] or out,
    resolve = resolve, reject = reject }, Command)
  return cmd, p
end

M.Command = Command
return M
