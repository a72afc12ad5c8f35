rockspec_format = "3.0"
package = "luv-promise"
version = "scm-1"
source = {
  url = "git+https://github.com/luv-promise/luv-promise.git",
}
description = {
  summary = "JavaScript-style promises for Lua 5.4 on luv, with a C core",
  detailed = [[
Promises with exactly ECMAScript's semantics (then/catch/finally, thenables,
all/allSettled/race/any, the microtask queue), async/await over coroutines,
Node-style timers on luv's event loop, cancellation, resilience helpers
(timeout, retry, concurrency and rate limiters, circuit breaker) and
promisified luv I/O.
]],
  homepage = "https://github.com/luv-promise/luv-promise",
  license = "MIT",
  labels = { "promise", "async", "await", "luv", "libuv", "event-loop", "concurrency" },
}
dependencies = {
  "lua >= 5.4, < 5.5",
  "luv >= 1.44",
}
build = {
  type = "builtin",
  modules = {
    ["promise.core"] = {
      sources = {
        "src/core.c", "src/promise.c", "src/queue.c", "src/async.c",
        "src/combinators.c", "src/trace.c",
      },
    },
    ["promise"] = "lua/promise/init.lua",
    ["promise.errors"] = "lua/promise/errors.lua",
    ["promise.debug"] = "lua/promise/debug.lua",
    ["promise.loop"] = "lua/promise/loop/init.lua",
    ["promise.loop.heap"] = "lua/promise/loop/heap.lua",
    ["promise.loop.drain"] = "lua/promise/loop/drain.lua",
    ["promise.loop.timers"] = "lua/promise/loop/timers.lua",
    ["promise.loop.immediate"] = "lua/promise/loop/immediate.lua",
    ["promise.loop.fake"] = "lua/promise/loop/fake.lua",
    ["promise.loop.run"] = "lua/promise/loop/run.lua",
    ["promise.abort"] = "lua/promise/abort.lua",
    ["promise.timeout"] = "lua/promise/timeout.lua",
    ["promise.retry"] = "lua/promise/retry.lua",
    ["promise.backoff"] = "lua/promise/backoff.lua",
    ["promise.limiter"] = "lua/promise/limiter.lua",
    ["promise.map"] = "lua/promise/map.lua",
    ["promise.pool"] = "lua/promise/pool.lua",
    ["promise.ratelimiter"] = "lua/promise/ratelimiter.lua",
    ["promise.breaker"] = "lua/promise/breaker.lua",
    ["promise.breaker.window"] = "lua/promise/breaker/window.lua",
    ["promise.breaker.options"] = "lua/promise/breaker/options.lua",
    ["promise.promisify"] = "lua/promise/promisify.lua",
    ["promise.util"] = "lua/promise/util.lua",
    ["promise.ioerror"] = "lua/promise/ioerror.lua",
    ["promise.fs"] = "lua/promise/fs.lua",
    ["promise.fs.request"] = "lua/promise/fs/request.lua",
    ["promise.fs.handle"] = "lua/promise/fs/handle.lua",
    ["promise.net"] = "lua/promise/net.lua",
    ["promise.net.socket"] = "lua/promise/net/socket.lua",
    ["promise.dns"] = "lua/promise/dns.lua",
    ["promise.process"] = "lua/promise/process.lua",
    ["promise.redis.client"] = "lua/promise/redis/client.lua",
    ["promise.redis.command"] = "lua/promise/redis/command.lua",
    ["promise.redis.commands"] = "lua/promise/redis/commands.lua",
    ["promise.redis.connection"] = "lua/promise/redis/connection.lua",
    ["promise.redis.dispatcher"] = "lua/promise/redis/dispatcher.lua",
    ["promise.redis.encoder"] = "lua/promise/redis/encoder.lua",
    ["promise.redis.events"] = "lua/promise/redis/events.lua",
    ["promise.redis"] = "lua/promise/redis/init.lua",
    ["promise.redis.idempotency"] = "lua/promise/redis/idempotency.lua",
    ["promise.redis.lease"] = "lua/promise/redis/lease.lua",
    ["promise.redis.lifecycle"] = "lua/promise/redis/lifecycle.lua",
    ["promise.redis.lock"] = "lua/promise/redis/lock.lua",
    ["promise.redis.options"] = "lua/promise/redis/options.lua",
    ["promise.redis.parser"] = "lua/promise/redis/parser.lua",
    ["promise.redis.pubsub"] = "lua/promise/redis/pubsub.lua",
    ["promise.redis.quorum"] = "lua/promise/redis/quorum.lua",
    ["promise.redis.replies"] = "lua/promise/redis/replies.lua",
    ["promise.redis.script"] = "lua/promise/redis/script.lua",
    ["promise.redis.semaphore"] = "lua/promise/redis/semaphore.lua",
    ["promise.redis.store"] = "lua/promise/redis/store.lua",
    ["promise.redis.transaction"] = "lua/promise/redis/transaction.lua",
    ["promise.redis.waiters"] = "lua/promise/redis/waiters.lua",
  },
  -- shipped beside the rock: the LuaCATS declarations (add the installed
  -- types/ folder to lua-language-server's workspace.library) and the manual
  copy_directories = { "types", "docs" },
}
-- `luarocks test`: the busted suite, with the C core built in place (.busted
-- looks for it in build/). The busted test type would ask the rock registry
-- for busted; this runs the one that is installed.
test = {
  type = "command",
  command = "make -s && busted --lua=lua5.4",
}
