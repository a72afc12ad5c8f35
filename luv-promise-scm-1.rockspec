rockspec_format = "3.0"
package = "luv-promise"
version = "scm-1"
source = {
  url = "git+https://example.invalid/luv-promise.git",
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
  license = "MIT",
}
dependencies = {
  "lua >= 5.4, < 5.5",
  "luv",
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
    ["promise.loop"] = "lua/promise/loop.lua",
    ["promise.abort"] = "lua/promise/abort.lua",
    ["promise.timeout"] = "lua/promise/timeout.lua",
    ["promise.retry"] = "lua/promise/retry.lua",
    ["promise.limiter"] = "lua/promise/limiter.lua",
    ["promise.map"] = "lua/promise/map.lua",
    ["promise.ratelimiter"] = "lua/promise/ratelimiter.lua",
    ["promise.breaker"] = "lua/promise/breaker.lua",
    ["promise.promisify"] = "lua/promise/promisify.lua",
    ["promise.util"] = "lua/promise/util.lua",
    ["promise.ioerror"] = "lua/promise/ioerror.lua",
    ["promise.fs"] = "lua/promise/fs.lua",
    ["promise.net"] = "lua/promise/net.lua",
    ["promise.dns"] = "lua/promise/dns.lua",
    ["promise.process"] = "lua/promise/process.lua",
  },
}
