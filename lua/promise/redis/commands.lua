--- The Redis commands that are methods, by their lower-case names
--- (`client:hset(...)` sends `HSET ...`). Redis 7.0's command table, less
--- MONITOR (it takes the connection over, as in ioredis). `next` and `then`
--- are never methods: a client with a callable `next` would be a thenable
--- that a promise resolved with it would try to adopt.

local M = {}

--- The names, in lower case.
---@type string[]
M.names = {
  "acl", "append", "asking", "auth", "bgrewriteaof", "bgsave", "bitcount", "bitfield",
  "bitfield_ro", "bitop", "bitpos", "blmove", "blmpop", "blpop", "brpop", "brpoplpush", "bzmpop",
  "bzpopmax", "bzpopmin", "client", "cluster", "command", "config", "copy", "dbsize", "debug",
  "decr", "decrby", "del", "discard", "dump", "echo", "eval", "eval_ro", "evalsha", "evalsha_ro",
  "exec", "exists", "expire", "expireat", "expiretime", "failover", "fcall", "fcall_ro",
  "flushall", "flushdb", "function", "geoadd", "geodist", "geohash", "geopos", "georadius",
  "georadius_ro", "georadiusbymember", "georadiusbymember_ro", "geosearch", "geosearchstore",
  "get", "getbit", "getdel", "getex", "getrange", "getset", "hdel", "hello", "hexists", "hget",
  "hgetall", "hincrby", "hincrbyfloat", "hkeys", "hlen", "hmget", "hmset", "hrandfield", "hscan",
  "hset", "hsetnx", "hstrlen", "hvals", "incr", "incrby", "incrbyfloat", "info", "keys",
  "lastsave", "latency", "lcs", "lindex", "linsert", "llen", "lmove", "lmpop", "lolwut", "lpop",
  "lpos", "lpush", "lpushx", "lrange", "lrem", "lset", "ltrim", "memory", "mget", "migrate",
  "module", "move", "mset", "msetnx", "multi", "object", "persist", "pexpire", "pexpireat",
  "pexpiretime", "pfadd", "pfcount", "pfdebug", "pfmerge", "pfselftest", "ping", "psetex",
  "psubscribe", "psync", "pttl", "publish", "pubsub", "punsubscribe", "quit", "randomkey",
  "readonly", "readwrite", "rename", "renamenx", "replconf", "replicaof", "reset", "restore",
  "restore-asking", "role", "rpop", "rpoplpush", "rpush", "rpushx", "sadd", "save", "scan",
  "scard", "script", "sdiff", "sdiffstore", "select", "set", "setbit", "setex", "setnx",
  "setrange", "shutdown", "sinter", "sintercard", "sinterstore", "sismember", "slaveof", "slowlog",
  "smembers", "smismember", "smove", "sort", "sort_ro", "spop", "spublish", "srandmember", "srem",
  "sscan", "ssubscribe", "strlen", "subscribe", "substr", "sunion", "sunionstore", "sunsubscribe",
  "swapdb", "sync", "time", "touch", "ttl", "type", "unlink", "unsubscribe", "unwatch", "wait",
  "watch", "xack", "xadd", "xautoclaim", "xclaim", "xdel", "xgroup", "xinfo", "xlen", "xpending",
  "xrange", "xread", "xreadgroup", "xrevrange", "xsetid", "xtrim", "zadd", "zcard", "zcount",
  "zdiff", "zdiffstore", "zincrby", "zinter", "zintercard", "zinterstore", "zlexcount", "zmpop",
  "zmscore", "zpopmax", "zpopmin", "zrandmember", "zrange", "zrangebylex", "zrangebyscore",
  "zrangestore", "zrank", "zrem", "zremrangebylex", "zremrangebyrank", "zremrangebyscore",
  "zrevrange", "zrevrangebylex", "zrevrangebyscore", "zrevrank", "zscan", "zscore", "zunion",
  "zunionstore",
}

--- name -> true
---@type table<string, boolean>
M.set = {}
for _, name in ipairs(M.names) do M.set[name] = true end
M.set["next"], M.set["then"] = nil, nil

--- Adds to `methods` (lazily, through `__index`) a method per command name,
--- each made by `make(NAME, name)`.
---@param methods table the method table (also the `__index` target)
---@param make fun(NAME: string, name: string): function
---@return fun(t: table, k: any): any index the `__index` function
function M.indexer(methods, make)
  return function(_, k)
    local m = methods[k]
    if m ~= nil then return m end
    if M.set[k] then
      m = make(k:upper(), k)
      methods[k] = m
      return m
    end
    return nil
  end
end

return M
