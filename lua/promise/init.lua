--- luv-promise: JavaScript-style promises for Lua 5.4 on luv.
--- `local Promise = require("promise")`; the reference manual is
--- docs/manual/README.md (start with docs/manual/core.md).
local core = require("promise.core")
local errors = require("promise.errors")
local util = require("promise.util")

-- (the methods of promises, generic over their value, are declared in
-- types/promise.lua; these fields repeat them for tools that read only lua/)
---@class Promise<T>
---@field next fun(self: Promise<T>, onFulfilled?: fun(value: T): any, onRejected?: fun(reason: any): any): Promise<any>
---@field catch fun(self: Promise<T>, onRejected?: fun(reason: any): any): Promise<any>
---@field finally fun(self: Promise<T>, onFinally?: fun(): any): Promise<T>
---@field state fun(self: Promise<T>): "pending"|"fulfilled"|"rejected", any
---@field wait fun(self: Promise<T>, timeout_ms?: number): T

local M = {}

-- the core's internals, not part of the module table
local INTERNAL = {
  configure = true, methods = true, metatable = true, __call = true,
  debughooks = true, link = true, reactions = true, traceback = true,
}
for name, fn in pairs(core) do
  if not INTERNAL[name] then M[name] = fn end
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

-- Promise.debug; a rejection handled after it was reported warns (once per
-- site) unless the program sets its own onRejectionHandled
local dbg = require("promise.debug")
M.debug = dbg
M.onWarning = dbg.onWarning
core.onRejectionHandled(dbg.rejectionHandled)

---@param fn fun(promise: Promise)?
function M.onRejectionHandled(fn)
  if fn ~= nil and not util.is_callable(fn) then
    util.argerror(1, "onRejectionHandled", "function or nil", fn)
  end
  core.onRejectionHandled(fn or dbg.rejectionHandled)
end

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
