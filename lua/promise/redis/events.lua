--- The client's events: a listener list per name. A listener that raises
--- does not stop the others; its error is reported as an unhandled
--- rejection (as an error thrown from a Node event listener would surface).

local Promise = require("promise")
local util = require("promise.util")

local ipairs, pcall, tostring = ipairs, pcall, tostring

local M = {}

--- The events a client emits.
M.NAMES = { connect = true, ready = true, reconnecting = true, error = true, ["end"] = true }

--- A new, empty listener table.
---@return table
function M.new()
  return {}
end

local LISTENER = util.field({ "listener", "function" })

--- Adds `fn` for `event`; returns the function that removes it. A bad
--- argument raises at the caller of the method that calls this (which
--- must not tail-call it).
---@param t table the listener table
---@param event string
---@param fn function
---@param fname string the public function, for messages
---@return fun()
function M.on(t, event, fn, fname)
  if not M.NAMES[event] then util.badarg(1, fname, ("unknown event '%s'"):format(tostring(event)), 3) end
  util.checkarg(2, fname, fn, LISTENER, 3)
  local list = t[event]
  if not list then list = {} t[event] = list end
  local entry = { fn = fn }
  list[#list + 1] = entry
  return function()
    for i, e in ipairs(t[event] or {}) do
      if e == entry then table.remove(t[event], i) break end
    end
  end
end

--- Calls every listener of `event` with the arguments.
---@param t table
---@param event string
function M.emit(t, event, ...)
  local list = t[event]
  if not list or #list == 0 then return end
  local copy = { table.unpack(list) }
  for _, e in ipairs(copy) do
    local ok, err = pcall(e.fn, ...)
    if not ok then Promise.reject(err) end
  end
end

return M
