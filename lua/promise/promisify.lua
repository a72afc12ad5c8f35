--- Callbacks to promises (manual: docs/manual/promisify.md).
---
--- ```lua
--- local stat = Promise.promisify(uv.fs_stat)
--- local st = Promise.await(stat("/etc/hostname"))
--- ```
---
--- `Promise.promisify(fn, [opts])` returns a function that calls
--- `fn(..., callback)` and returns a promise:
---
--- * `callback(err, ...)` rejects with `err` when it is not nil, else fulfils
---   with the first value after `err` (with `opts.multi`, with
---   `table.pack` of all of them, so nils and the count are kept).
--- * Only the first call of the callback counts (as in Node's
---   `util.promisify`); later calls are ignored.
--- * An error raised by `fn` rejects the promise with the raised value.
--- * luv reports a request that could not even be started by returning
---   `nil, err` instead of calling the callback: such a return (nil, then a
---   non-nil value) rejects the promise with `err`, so the promise is never
---   left pending. Any other return value is ignored.
--- * The callback is always the argument after the last one given (trailing
---   nils count when passed explicitly: `f(a, nil)` calls `fn(a, nil, cb)`).
--- * Bad arguments raise Lua errors (`bad argument #1 to 'promisify' ...`).

local Promise = require("promise")
local util = require("promise.util")

local pcall, select = pcall, select
local pack, unpack = table.pack, table.unpack

local is_callable = util.is_callable

---@class promise.PromisifyOptions
---@field multi boolean? fulfil with `table.pack` of every value after `err`

local OPTIONS = util.schema({ { "multi", "boolean", default = false } }, true)

--- Turns a callback-last function (`callback(err, ...)`) into one that
--- returns a promise.
---@param fn function
---@param opts? promise.PromisifyOptions
---@return fun(...): Promise
local function promisify(fn, opts)
  if not is_callable(fn) then util.argerror(1, "promisify", "function", fn) end
  local multi = util.checkopts("promisify", 2, opts, OPTIONS).multi

  return function(...)
    local p, resolve, reject = Promise.withResolvers()
    local n = select("#", ...)
    local args = pack(...)
    args[n + 1] = function(err, ...)
      if err ~= nil then
        reject(err)
      elseif multi then
        resolve(pack(...))
      else
        resolve((...))
      end
    end
    local ok, r1, r2 = pcall(fn, unpack(args, 1, n + 1))
    if not ok then
      reject(r1)
    elseif r1 == nil and r2 ~= nil then
      reject(r2)
    end
    return p
  end
end

return promisify
