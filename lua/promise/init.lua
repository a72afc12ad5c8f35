--- luv-promise: JavaScript-style promises for Lua 5.4 on luv.
--- `local Promise = require("promise")`; see README.md and API.md.
local core = require("promise.core")
local errors = require("promise.errors")

---@class Promise
---@field next fun(self: Promise, onFulfilled?: function, onRejected?: function): Promise
---@field catch fun(self: Promise, onRejected?: function): Promise
---@field finally fun(self: Promise, onFinally?: function): Promise
---@field state fun(self: Promise): string, any
---@field wait fun(self: Promise, timeout_ms?: number): any

local M = {}

for name, fn in pairs(core) do
  if name ~= "configure" and name ~= "methods" and name ~= "metatable"
    and name ~= "__call" then
    M[name] = fn
  end
end
for name, cls in pairs(errors) do
  M[name] = cls
end

core.configure{
  Error = errors.Error,
  TypeError = errors.TypeError,
  AggregateError = errors.AggregateError,
}

setmetatable(M, { __call = core.__call })

-- Helpers may `require("promise")` at load time: publish M before loading them.
package.loaded.promise = M

local ok_loop, loop = pcall(require, "promise.loop")
if ok_loop then
  loop.install(M, core)
elseif not tostring(loop):find("module 'promise.loop' not found", 1, true) then
  error(loop, 0)
end

local abort = require("promise.abort")
M.AbortController = abort.AbortController
M.AbortSignal = abort.AbortSignal

for _, name in ipairs{ "timeout", "retry", "limiter", "map", "ratelimiter",
                       "breaker", "promisify" } do
  local found, helper = pcall(require, "promise." .. name)
  if found then
    M[name] = helper
  elseif not tostring(helper):find("module 'promise." .. name .. "' not found", 1, true) then
    error(helper, 0)
  end
end

return M
