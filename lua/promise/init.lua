--- luv-promise: JavaScript-style promises for Lua 5.4 on luv.
--- `local Promise = require("promise")`; the reference manual is
--- docs/manual/README.md (start with docs/manual/core.md).
local core = require("promise.core")
local errors = require("promise.errors")

-- (the methods of promises, generic over their value, are declared in
-- types/promise.lua; these fields repeat them for tools that read only lua/)
---@class Promise<T>
---@field next fun(self: Promise<T>, onFulfilled?: fun(value: T): any, onRejected?: fun(reason: any): any): Promise<any>
---@field catch fun(self: Promise<T>, onRejected?: fun(reason: any): any): Promise<any>
---@field finally fun(self: Promise<T>, onFinally?: fun(): any): Promise<T>
---@field state fun(self: Promise<T>): "pending"|"fulfilled"|"rejected", any
---@field wait fun(self: Promise<T>, timeout_ms?: number): T

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

require("promise.loop").install(M, core)

local abort = require("promise.abort")
M.AbortController = abort.AbortController
M.AbortSignal = abort.AbortSignal

M.timeout = require("promise.timeout")
M.retry = require("promise.retry")
M.limiter = require("promise.limiter")
M.map = require("promise.map")
M.ratelimiter = require("promise.ratelimiter")
M.breaker = require("promise.breaker")
M.promisify = require("promise.promisify")

return M
