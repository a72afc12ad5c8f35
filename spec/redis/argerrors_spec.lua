-- Every argument error of the Redis client (and of redis.idempotency) is
-- raised at the user's call and says what is wrong, whichever helper found
-- it (no server needed: a client object that never connected checks its
-- arguments the same way).
local redis = require("promise.redis")
local client = require("promise.redis.client")
local options = require("promise.redis.options")
local parser = require("promise.redis.parser")

local c = client.new(options.resolve(nil, "connect"))
local tx = c:multi()
local s = redis.script("return 1")
local done = c:multi()
done:discard()
local idem = redis.idempotency(c, { encode = tostring, decode = tostring })

local CASES = {
  { function() redis.connect(5) end, "bad argument #1 to 'connect' (table expected, got number)" },
  { function() redis.connect{ prot = 3 } end, "bad argument #1 to 'connect' (unknown option 'prot')" },
  { function() redis.connect{ port = "x" } end,
    "bad argument #1 to 'connect' (field 'port': integer in 1..65535 expected, got string)" },
  { function() redis.connect{ url = "redis://u:pw@h:99999" } end,
    "bad argument #1 to 'connect' (field 'url': bad port in the URL)" },
  { function() redis.connect{ connectTimeout = -1 } end, "bad argument #1 to 'connect' "
    .. "(field 'connectTimeout': number in [0, 2147483647] or math.huge expected, got -1)" },
  { function() redis.connect{ reconnect = { minDelay = -1 } } end,
    "bad argument #1 to 'connect' (field 'reconnect.minDelay': number in [0, 2147483647] expected, got -1)" },
  { function() redis.connect{ reconnect = { min = 1 } } end,
    "bad argument #1 to 'connect' (unknown option 'reconnect.min')" },
  { function() redis.connect{ reconnect = 5 } end,
    "bad argument #1 to 'connect' (field 'reconnect': table or boolean expected, got 5)" },
  { function() redis.connect{ protocol = 4 } end,
    "bad argument #1 to 'connect' (field 'protocol': 2 or 3 expected, got number)" },
  { function() redis.connect{ db = 1.5 } end,
    "bad argument #1 to 'connect' (field 'db': integer >= 0 expected, got 1.5)" },
  { function() redis.connect{ signal = 1 } end,
    "bad argument #1 to 'connect' (field 'signal': AbortSignal expected, got number)" },
  { function() c:duplicate{ maxPending = -1 } end,
    "bad argument #1 to 'duplicate' (field 'maxPending': integer >= 0 expected, got -1)" },
  { function() c:duplicate{ reconnect = { retries = "x" } } end,
    "bad argument #1 to 'duplicate' (field 'reconnect.retries': number expected, got string)" },
  { function() c:call(5) end, "bad argument #1 to 'call' (string expected, got number)" },
  { function() c:call("SET", "k", {}) end, "bad argument #3 to 'call' (string or number expected, got table)" },
  { function() c:set("k", true) end, "bad argument #2 to 'set' (string or number expected, got boolean)" },
  { function() c:send("PING") end, "bad argument #1 to 'send' (table expected, got string)" },
  { function() c:send({}) end, "bad argument #1 to 'send' (command name expected at [1], got nil)" },
  { function() c:send({ "SET", "k", nil, n = 3 }) end,
    "bad argument #1 to 'send' (element 3: string or number expected, got nil)" },
  { function() c:send({ "PING" }, { timeout = -1 }) end,
    "bad argument #2 to 'send' (field 'timeout': number in [0, 2147483647] or math.huge expected, got -1)" },
  { function() c:send({ "PING" }, { signal = true }) end,
    "bad argument #2 to 'send' (field 'signal': AbortSignal expected, got boolean)" },
  { function() c:on("close", print) end, "bad argument #1 to 'on' (unknown event 'close')" },
  { function() c:on("ready", 5) end, "bad argument #2 to 'on' (function expected, got number)" },
  { function() c:subscribe(nil, print) end, "bad argument #1 to 'subscribe' (string expected, got nil)" },
  { function() c:psubscribe("x", 5) end, "bad argument #2 to 'psubscribe' (function expected, got number)" },
  { function() redis.script(5) end, "bad argument #1 to 'script' (string expected, got number)" },
  { function() c:eval(5) end, "bad argument #1 to 'eval' (RedisScript or string expected, got number)" },
  { function() c:eval(s, "k") end, "bad argument #2 to 'eval' (table expected, got string)" },
  { function() c:eval("return 1", {}, 5) end, "bad argument #3 to 'eval' (table expected, got number)" },
  { function() c:eval(s, { true }) end,
    "bad argument #2 to 'eval' (element 1: string or number expected, got boolean)" },
  { function() c:eval(s, {}, {}, { timeout = "1" }) end,
    "bad argument #4 to 'eval' (field 'timeout': number expected, got string)" },
  { function() tx:call(5) end, "bad argument #1 to 'call' (string expected, got number)" },
  { function() tx:set("k", {}) end, "bad argument #2 to 'set' (string or number expected, got table)" },
  { function() tx:exec(5) end, "bad argument #1 to 'exec' (table expected, got number)" },
  { function() tx:exec{ timeout = 2 ^ 31 } end, "bad argument #1 to 'exec' "
    .. "(field 'timeout': number in [0, 2147483647] or math.huge expected, got 2147483648.0)" },
  { function() tx:exec{ signal = 1 } end,
    "bad argument #1 to 'exec' (field 'signal': AbortSignal expected, got number)" },
  { function() done:exec() end, "calling 'exec' on a transaction already executed or discarded" },
  { function() parser.new{} end, "bad argument #1 to 'new' (field 'onreply': function expected, got nil)" },
  { function() redis.idempotency(c, 5) end, "bad argument #2 to 'idempotency' (table expected, got number)" },
  { function() redis.idempotency(c, { ttl = "1d" }) end,
    "bad argument #2 to 'idempotency' (field 'ttl': number expected, got string)" },
  { function() redis.idempotency(c, { lockTtl = 0 }) end,
    "bad argument #2 to 'idempotency' (field 'lockTtl': number in (0, 2147483647] expected, got 0)" },
  { function() redis.idempotency(c, { lockTtl = "30s" }) end,
    "bad argument #2 to 'idempotency' (field 'lockTtl': number expected, got string)" },
  { function() redis.idempotency(c, { encode = 1 }) end,
    "bad argument #2 to 'idempotency' (field 'encode': function expected, got number)" },
  { function() redis.idempotency(c, { decode = true }) end,
    "bad argument #2 to 'idempotency' (field 'decode': function expected, got boolean)" },
  { function() redis.idempotency(c, { cacheErrors = "yes" }) end,
    "bad argument #2 to 'idempotency' (field 'cacheErrors': boolean expected, got string)" },
  { function() idem:run(1, print) end, "bad argument #1 to 'run' (string expected, got number)" },
  { function() idem:run("k", print, { wait = -1 }) end,
    "bad argument #3 to 'run' (field 'wait': number in [0, 2147483647] or math.huge expected, got -1)" },
}

local SELF = {
  { function() c.set(5, "k") end, "calling 'set' on bad self (RedisClient expected, got number)" },
  { function() c.call({}, "PING") end, "calling 'call' on bad self (RedisClient expected, got table)" },
  { function() c.send(nil, { "PING" }) end, "calling 'send' on bad self (RedisClient expected, got nil)" },
  { function() c.on(tx, "ready", print) end, "calling 'on' on bad self (RedisClient expected, got RedisTransaction)" },
  { function() c.subscribe(1, "x", print) end, "calling 'subscribe' on bad self (RedisClient expected, got number)" },
  { function() c.eval(s, s) end, "calling 'eval' on bad self (RedisClient expected, got RedisScript)" },
  { function() c.multi(1) end, "calling 'multi' on bad self (RedisClient expected, got number)" },
  { function() tx.exec(c) end, "calling 'exec' on bad self (RedisTransaction expected, got RedisClient)" },
  { function() tx.set(c, "k", "v") end, "calling 'set' on bad self (RedisTransaction expected, got RedisClient)" },
  { function() c.close(5) end, "calling 'close' on bad self (RedisClient expected, got number)" },
  { function() c.destroy({}) end, "calling 'destroy' on bad self (RedisClient expected, got table)" },
  { function() c.quit(tx) end, "calling 'quit' on bad self (RedisClient expected, got RedisTransaction)" },
  { function() c.duplicate(5) end, "calling 'duplicate' on bad self (RedisClient expected, got number)" },
  { function() idem.run(c, "k", print) end, "calling 'run' on bad self (RedisIdempotency expected, got RedisClient)" },
}

-- every case that does not raise `want` at this file's line, as "got"
local function check(cases)
  local wrong = {}
  for _, case in ipairs(cases) do
    local ok, e = pcall(case[1])
    local msg = not ok and type(e) == "string" and e:match("^spec/redis/argerrors_spec%.lua:%d+: (.*)$")
    if msg ~= case[2] then wrong[#wrong + 1] = tostring(e) end
  end
  assert.same({}, wrong)
end

describe("promise.redis argument errors", function()
  it("point at the call and say what is wrong", function()
    check(CASES)
    -- the bad exec calls above left the transaction usable
    assert.has_no.errors(function() tx:discard() end)
  end)

  it("point at the call for a method called on a bad self", function()
    check(SELF)
  end)

  it("never show a password or a URL", function()
    for _, opts in ipairs({ { password = 12345 }, { password = { "s3cret" } },
      { url = "redis://u:s3cret@h:0" }, { url = "http://u:s3cret@h" }, { url = 12345 } }) do
      local ok, e = pcall(redis.connect, opts)
      assert.is_false(ok)
      assert.is_nil(e:find("s3cret", 1, true), e)
      assert.is_nil(e:find("12345", 1, true), e)
    end
  end)

  it("leave nothing behind", function()
    assert.same({}, require("spec.support.helpers").active_handles_after_turn())
  end)
end)
