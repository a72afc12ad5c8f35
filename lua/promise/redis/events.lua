--- The client's events: a listener list per name. A listener that raises
--- does not stop the others; its error is reported as an unhandled
--- rejection (as an error thrown from a Node event listener would surface).

local Promise = require("promise")
local util = require("promise.util")

local error, ipairs, pcall = error, ipairs, pcall

local M = {}

--- The events a client emits.
M.NAMES = { connect = true, ready = true, reconnecting = true, error = true, ["end"] = true }

--- A new, empty listener table.
---@return table
function M.new()
  return {}
end

--- Adds `fn` for `event`; returns the function that removes it.
---@param t table the listener table
---@param event string
---@param fn function
---@param fname string the public function, for messages
---@return fun()
function M.on(t, event, fn, fname)
  if not M.NAMES[event] then
    error(("bad argument #1 to '%s' (unknown event '%s')"):format(fname, tostring(event)), 3)
  end
  if not util.is_callable(fn) then util.argerror(2, fname, "function", fn) end
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
