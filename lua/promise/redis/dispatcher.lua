--- The FIFO of commands sent on one connection, matched to replies in
--- order. A command that timed out or was aborted stays in the FIFO
--- (`dropped`): its reply is read and thrown away, so every later reply
--- still reaches its own command. A record may expect several replies
--- (`count`, a transaction block); it is settled once they are all in.
---
--- A command record (see client.lua) has: `name`, `wire` (its bytes),
--- a `settle(cmd, value, iserror)` method, and optionally `count`, `dropped`.

local setmetatable = setmetatable

local M = {}

---@class promise.redis.Dispatcher
---@field head integer
---@field tail integer
local Dispatcher = {}
Dispatcher.__index = Dispatcher

--- A new, empty FIFO.
---@return promise.redis.Dispatcher
function M.new()
  return setmetatable({ head = 1, tail = 0 }, Dispatcher)
end

--- Appends a sent command.
---@param cmd table
function Dispatcher:push(cmd)
  local t = self.tail + 1
  self.tail = t
  self[t] = cmd
end

--- The number of commands waiting for replies.
---@return integer
function Dispatcher:size()
  return self.tail - self.head + 1
end

--- Hands one reply to the oldest command. Returns false when no command
--- waits for a reply (the server sent one too many: a protocol error).
---@param value any
---@param iserror boolean
---@return boolean
function Dispatcher:reply(value, iserror)
  local h = self.head
  local cmd = self[h]
  if cmd == nil then return false end
  local count = cmd.count
  if count then
    local got = cmd.got
    got.n = got.n + 1
    got[got.n] = value
    got.errs[got.n] = iserror or nil
    if got.n < count then return true end
  end
  self[h] = nil
  self.head = h + 1
  if not cmd.dropped then cmd:settle(value, iserror) end
  return true
end

--- Empties the FIFO; returns the commands that were waiting, oldest first.
---@return table[]
function Dispatcher:drain()
  local list = {}
  for i = self.head, self.tail do
    list[#list + 1] = self[i]
    self[i] = nil
  end
  self.head, self.tail = 1, 0
  return list
end

return M
