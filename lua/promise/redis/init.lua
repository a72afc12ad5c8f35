--- `require("promise.redis")`: an async Redis client on luv.
---
--- ```lua
--- local redis = require("promise.redis")
--- local client = await(redis.connect{ host = "127.0.0.1", port = 6379 })
--- await(client:set("greeting", "hello", "PX", 5000))
--- print(await(client:get("greeting")))          --> hello
--- await(client:close())
--- ```
---
--- This file only wires the modules together; see docs/manual/redis.md for the
--- reference and docs/HACKING.md for how the client is built.

local options = require("promise.redis.options")
local lifecycle = require("promise.redis.lifecycle")
local script = require("promise.redis.script")
local lock = require("promise.redis.lock")
local semaphore = require("promise.redis.semaphore")
local idempotency = require("promise.redis.idempotency")
local store = require("promise.redis.store")
require("promise.redis.transaction")
require("promise.redis.pubsub")

local M = {}

--- Connects; resolves to a ready client (after HELLO/AUTH, SELECT and
--- CLIENT SETNAME as the options ask).
---@param opts? table see docs/manual/redis.md for the options
---@return Promise # of a RedisClient
function M.connect(opts)
  local cfg = options.resolve(opts, "connect")
  return lifecycle.connect(cfg, opts and opts.signal)
end

--- A script to run with `client:eval(s, keys, args)` (EVALSHA, falling
--- back to EVAL once on NOSCRIPT).
---@param source string the Lua source
---@return promise.redis.Script
function M.script(source)
  return script.new(source)
end

--- Distributed locks on one server, or Redlock over a list of independent
--- servers' clients: `redis.lock(clients, opts)` gives an object with
--- `acquire(key, [opts])` and `using(key, fn, [opts])`.
---@type fun(clients: any, opts: table?): promise.redis.Locks
M.lock = lock.new

--- Distributed semaphores: up to `limit` holders of `key` at once;
--- `redis.semaphore(clients, key, limit, opts)` gives an object with
--- `acquire([opts])` and `using(fn, [opts])`.
---@type fun(clients: any, key: string, limit: integer, opts: table?): promise.redis.Semaphore
M.semaphore = semaphore.new

--- Run-once with a stored result: `redis.idempotency(client, opts)` gives
--- an object whose `run(key, fn)` runs `fn` once per key across processes.
---@type fun(client: table, opts: table?): promise.redis.Idempotency
M.idempotency = idempotency.new

--- A store for `Promise.ratelimiter{ ..., store = redis.store(client, { prefix }) }`:
--- the limit is counted in Redis and shared by every process using the key.
---@type fun(client: table, opts: table?): promise.redis.Store
M.store = store.new

--- Parses a `redis://` or `unix://` URL into options (nil and a message
--- when it is not one); the message never quotes the URL.
M.parseURL = options.parseURL

return M
