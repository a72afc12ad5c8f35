-- promise.redis against a real redis-server (tag #redis): connect, replies
-- in both protocols, errors, pipelining, transactions, scripts, timeouts
-- and aborts, close/destroy and what they leave behind.
local Promise = require("promise")
local redis = require("promise.redis")
local H = require("spec.support.helpers")
local R = require("spec.support.redis")
local uv = require("luv")

local await = Promise.await

describe("promise.redis client #redis", function()
  local srv
  setup(function() srv = R.start() end)
  teardown(function() if srv then srv:destroy() end end)

  --- Runs `fn(client)` on a fresh client (options `opts`), always destroyed.
  local function with(opts, fn)
    H.run(function()
      local o = { port = srv.port }
      for k, v in pairs(opts or {}) do o[k] = v end
      local c = await(redis.connect(o))
      await(c:flushall())
      local ok, err = pcall(fn, c)
      await(c:destroy())
      if not ok then error(err, 0) end
    end)
  end

  describe("connect", function()
    it("connects over TCP, a Unix socket and URLs, with SELECT and SETNAME", function()
      H.run(function()
        local a = await(redis.connect{ port = srv.port, db = 3, name = "alpha" })
        local b = await(redis.connect{ url = "unix://" .. srv.path .. "?db=3" })
        local c = await(redis.connect{ url = ("redis://127.0.0.1:%d/3"):format(srv.port) })
        await(a:set("where", "db3"))
        assert.equal("db3", await(b:get("where")))
        assert.equal("db3", await(c:get("where")))
        assert.equal("alpha", await(a:client("GETNAME")))
        assert.equal("RedisClient<ready>: 127.0.0.1:" .. srv.port .. " db 3", tostring(a))
        for _, x in ipairs({ a, b, c }) do await(x:close()) end
      end)
    end)

    it("authenticates with a username, and a failed AUTH rejects without the password", function()
      H.run(function()
        local admin = await(redis.connect{ path = srv.path })
        await(admin:acl("SETUSER", "app", "on", ">s3cret-pw", "~*", "+@all"))
        for _, proto in ipairs({ 2, 3 }) do
          local ok = await(redis.connect{ port = srv.port, username = "app", password = "s3cret-pw", protocol = proto })
          assert.equal("app", await(ok:acl("WHOAMI")))
          assert.is_nil(tostring(ok):find("s3cret", 1, true))
          await(ok:close())
          local err = H.rejection(redis.connect{ port = srv.port, username = "app", password = "wrong-pw",
            protocol = proto })
          assert.is_true(Promise.RedisError.is(err))
          assert.equal("WRONGPASS", err.code)
          assert.is_nil(tostring(err):find("wrong-pw", 1, true))
        end
        local err = H.rejection(redis.connect{ url = ("redis://app:wrong-pw@127.0.0.1:%d"):format(srv.port) })
        assert.equal("WRONGPASS", err.code)
        assert.has_error(function() redis.connect{ url = "redis://app:wrong-pw@host:99999" } end,
          "bad argument #1 to 'connect' (field 'url': bad port in the URL)")
        await(admin:acl("DELUSER", "app"))
        await(admin:close())
      end)
    end)

    it("rejects a refused connection with an IOError carrying luv's code", function()
      H.run(function()
        local h = uv.new_tcp()
        h:bind("127.0.0.1", 0)
        local port = h:getsockname().port
        h:close()
        local err = H.rejection(redis.connect{ port = port })
        assert.is_true(Promise.IOError.is(err))
        assert.equal("ECONNREFUSED", err.code)
        err = H.rejection(redis.connect{ port = srv.port, db = 99 })
        assert.is_true(Promise.RedisError.is(err))
        assert.equal("SELECT", err.command)
      end)
    end)

    it("fails with a TimeoutError after connectTimeout (a server that never answers)", function()
      H.run(function()
        local net = require("promise.net")
        local server = await(net.listen({ host = "127.0.0.1", port = 0 }, function(sock)
          await(sock:read())  -- reads HELLO/AUTH but never replies
          await(Promise.sleep(1000))
        end))
        local err = H.rejection(redis.connect{ port = server.port, password = "x", connectTimeout = 50 })
        assert.is_true(Promise.TimeoutError.is(err))
        assert.equal("TimeoutError: connect timed out after 50 ms", tostring(err))
        await(server:close{ force = true })
      end)
    end)

    it("is aborted by its signal", function()
      H.run(function()
        local ac = Promise.AbortController()
        local p = redis.connect{ port = srv.port, signal = ac.signal }
        ac:abort("stop")
        assert.equal("stop", H.rejection(p))
      end)
    end)

    it("checks its options", function()
      assert.has_error(function() redis.connect{ port = "x" } end,
        "bad argument #1 to 'connect' (field 'port': integer in 1..65535 expected, got string)")
      assert.has_error(function() redis.connect{ prot = 3 } end,
        "bad argument #1 to 'connect' (unknown option 'prot')")
      assert.has_error(function() redis.connect{ reconnect = { minDelay = -1 } } end,
        "bad argument #1 to 'connect' (field 'reconnect.minDelay': non-negative number expected, got number)")
      assert.has_error(function() redis.connect(5) end,
        "bad argument #1 to 'connect' (table expected, got number)")
    end)
  end)

  describe("replies", function()
    for _, proto in ipairs({ 2, 3 }) do
      it("maps every reply type in RESP" .. proto, function()
        with({ protocol = proto }, function(c)
          assert.equal("OK", await(c:set("s", "a\0b")))
          assert.equal("a\0b", await(c:get("s")))
          assert.is_nil(await(c:get("missing")))
          assert.equal(2, await(c:incrby("n", 2)))
          assert.same({ "a\0b", nil, n = 2 }, await(c:mget("s", "missing")))
          await(c:rpush("l", "x", "y"))
          assert.same({ "x", "y", n = 2 }, await(c:lrange("l", 0, -1)))
          await(c:hset("h", "f", "1", "g", "2"))
          assert.same({ f = "1", g = "2" }, await(c:hgetall("h")))
          assert.same({}, await(c:hgetall("nohash")))
          local nested = await(c:eval("return {1, {2, {3, 'x'}}, 'y'}"))
          assert.same({ 1, { 2, { 3, "x", n = 2 }, n = 2 }, "y", n = 3 }, nested)
          await(c:sadd("set", "m"))
          assert.same({ "m", n = 1 }, await(c:smembers("set")))
          if proto == 3 then
            assert.equal(3.141, await(c:debug("PROTOCOL", "double")))
            assert.is_true(await(c:debug("PROTOCOL", "true")))
            assert.equal("1234567999999999999999999999999999999", await(c:debug("PROTOCOL", "bignum")))
            assert.equal("This is a verbatim\nstring", await(c:debug("PROTOCOL", "verbatim")))
            assert.same({ [0] = false, [1] = true, [2] = false }, await(c:debug("PROTOCOL", "map")))
            assert.equal(1.5, await(c:zincrby("z", 1.5, "m")))
          end
        end)
      end)
    end

    it("carries a 10 MB value both ways", function()
      with(nil, function(c)
        local big = ("0123456789abcdef"):rep(10 * 65536)
        await(c:set("big", big))
        assert.is_true(await(c:get("big")) == big)
      end)
    end)

    it("rejects an error reply with a RedisError (code, message, command)", function()
      with(nil, function(c)
        await(c:set("str", "x"))
        local err = H.rejection(c:lpush("str", "y"))
        assert.is_true(Promise.RedisError.is(err))
        assert.is_true(Promise.Error.is(err))
        assert.equal("WRONGTYPE", err.code)
        assert.equal("LPUSH", err.command)
        assert.matches("^WRONGTYPE Operation", err.message)
        err = H.rejection(c:call("nosuchcommand"))
        assert.equal("ERR", err.code)
        assert.equal("NOSUCHCOMMAND", err.command)
        assert.equal("x", await(c:get("str")))
      end)
    end)

    it("raises on bad arguments at once, and sends numbers as Redis reads them", function()
      with(nil, function(c)
        assert.has_error(function() c:set("k", nil) end,
          "bad argument #2 to 'set' (string or number expected, got nil)")
        assert.has_error(function() c:set("k", true) end,
          "bad argument #2 to 'set' (string or number expected, got boolean)")
        assert.has_error(function() c:call("SET", "k", {}) end,
          "bad argument #3 to 'call' (string or number expected, got table)")
        assert.has_error(function() c.set(5, "k") end,
          "calling 'set' on bad self (RedisClient expected, got number)")
        await(c:set("f", 0.1))
        assert.equal("0.10000000000000001", await(c:get("f")))
        await(c:set("i", 2 ^ 53 // 1))
        assert.equal("9007199254740992", await(c:get("i")))
        assert.has_error(function() c:send({ "SET", "k", nil, n = 3 }) end,
          "bad argument #1 to 'send' (element 3: string or number expected, got nil)")
        assert.equal("OK", await(c:send({ "SET", "k", 5 })))
        assert.equal("5", await(c:send({ "GET", "k" })))
      end)
    end)

    it("is never a thenable: no next or then method", function()
      with(nil, function(c)
        assert.is_nil(c["next"])
        assert.is_nil(c["then"])
        assert.is_function(c.zadd)
        assert.is_nil(c.nosuchcommand)
      end)
    end)
  end)

  describe("pipelining", function()
    it("gives 10,000 commands from 100 coroutines each its own reply", function()
      with(nil, function(c)
        local ps = {}
        for w = 1, 100 do
          ps[w] = Promise.async(function()
            for i = 1, 50 do
              local k = ("k%d:%d"):format(w, i)
              assert.equal("OK", await(c:set(k, k .. "v")))
              assert.equal(k .. "v", await(c:get(k)))
            end
          end)()
        end
        await(Promise.all(ps))
      end)
    end)

    it("writes the commands of one loop turn in one write", function()
      with(nil, function(c)
        local mt = getmetatable(c._conn.handle)
        local real = mt.__index.write
        local calls = 0
        mt.__index.write = function(...) calls = calls + 1 return real(...) end
        local ps = {}
        for i = 1, 300 do ps[i] = c:incr("counter") end
        local ok, res = pcall(await, Promise.all(ps))
        mt.__index.write = real
        assert.is_true(ok, res)
        assert.equal(1, calls)
        for i = 1, 300 do assert.equal(i, res[i]) end
      end)
    end)
  end)

  describe("transactions", function()
    it("runs the block as one, not interleaved by concurrent commands", function()
      with(nil, function(c)
        local before = {}
        for i = 1, 50 do before[i] = c:set("t", "before" .. i) end
        local tx = c:multi():set("t", 1):incr("t"):hset("th", "a", "b"):hgetall("th"):lpush("t", "x")
        local pexec = tx:exec()
        local others = {}
        for i = 1, 50 do others[i] = c:set("t", "other" .. i) end
        local res = await(pexec)
        assert.equal(5, res.n)
        assert.equal("OK", res[1])
        assert.equal(2, res[2])
        assert.same({ a = "b" }, res[4])
        assert.is_true(Promise.RedisError.is(res[5]))
        assert.equal("WRONGTYPE", res[5].code)
        assert.equal("LPUSH", res[5].command)
        await(Promise.all(before))
        await(Promise.all(others))
        assert.equal("other50", await(c:get("t")))
      end)
    end)

    it("rejects with EXECABORT when a command cannot be queued, and discards", function()
      with(nil, function(c)
        local err = H.rejection(c:multi():set("a", 1):call("NOSUCHCMD"):exec())
        assert.equal("EXECABORT", err.code)
        assert.equal("EXEC", err.command)
        assert.equal("NOSUCHCMD", err.previousErrors[1].command)
        assert.equal("OK", await(c:multi():set("a", 1):discard()))
        assert.is_nil(await(c:get("a")))
      end)
    end)

    it("resolves exec to nil when a WATCHed key changed (on a duplicate)", function()
      with(nil, function(c)
        local d = await(c:duplicate())
        await(d:watch("w"))
        await(c:set("w", "changed"))
        assert.is_nil(await(d:multi():set("w", "mine"):exec()))
        assert.equal("changed", await(c:get("w")))
        await(d:close())
      end)
    end)
  end)

  describe("scripts", function()
    it("uses EVALSHA and falls back to EVAL once after SCRIPT FLUSH", function()
      with(nil, function(c)
        await(c:config("RESETSTAT"))
        local s = redis.script("return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}")
        assert.same({ "sk", "a", 1, n = 3 }, await(c:eval(s, { "sk" }, { "a" })))
        -- not loaded yet: EVALSHA fails with NOSCRIPT, EVAL runs (and loads) it
        local stats = await(c:info("commandstats"))
        assert.matches("cmdstat_evalsha:calls=1,.*failed_calls=1", stats)
        assert.matches("cmdstat_eval:calls=1,", stats)
        assert.same({ "sk", "b", 2, n = 3 }, await(c:eval(s, { "sk" }, { "b" })))
        await(c:script("FLUSH"))
        assert.same({ "sk", "c", 3, n = 3 }, await(c:eval(s, { "sk" }, { "c" })))
        stats = await(c:info("commandstats"))
        assert.matches("cmdstat_eval:calls=2,", stats)
        assert.matches("cmdstat_evalsha:calls=3,.*failed_calls=2", stats)
        local err = H.rejection(c:eval(s, {}, {}))  -- KEYS[1] is nil: the script fails
        assert.equal("ERR", err.code)
      end)
    end)
  end)

  describe("timeouts and aborts", function()
    it("rejects a timed-out command and keeps the connection in step", function()
      with(nil, function(c)
        local err = H.rejection(c:send({ "DEBUG", "SLEEP", "0.2" }, { timeout = 20 }))
        assert.is_true(Promise.TimeoutError.is(err))
        assert.equal("TimeoutError: command DEBUG timed out after 20 ms", tostring(err))
        await(c:set("step", "ok"))
        assert.equal("ok", await(c:get("step")))
      end)
    end)

    it("rejects an aborted command with the reason, and the next gets its own reply", function()
      with(nil, function(c)
        local ac = Promise.AbortController()
        local p1 = c:send({ "DEBUG", "SLEEP", "0.05" }, { signal = ac.signal })
        local p2 = c:echo("second")
        ac:abort("gone")
        assert.equal("gone", H.rejection(p1))
        assert.equal("second", await(p2))
        assert.equal("third", await(c:echo("third")))
        -- aborted before it was written: never sent at all
        local ac2 = Promise.AbortController()
        local p3 = c:send({ "INCR", "never" }, { signal = ac2.signal })
        ac2:abort("early")
        assert.equal("early", H.rejection(p3))
        assert.is_nil(await(c:get("never")))
      end)
    end)

    it("applies commandTimeout to every command", function()
      H.run(function()
        local c = await(redis.connect{ port = srv.port, commandTimeout = 20 })
        local err = H.rejection(c:debug("SLEEP", "0.1"))
        assert.is_true(Promise.TimeoutError.is(err))
        assert.equal("PONG", await(c:send({ "PING" }, { timeout = 10000 })))
        await(c:destroy())
      end)
    end)
  end)

  describe("select and quit", function()
    it("reselects the database last SELECTed after a reconnect; quit closes", function()
      H.run(function()
        local c = await(redis.connect{ port = srv.port, reconnect = { minDelay = 1, maxDelay = 5 } })
        local admin = await(redis.connect{ path = srv.path })
        await(c:select(5))
        await(c:set("in5", "yes"))
        local p, resolve = Promise.withResolvers()
        local off = c:on("ready", function() resolve() end)
        -- an idle client does not keep the loop alive, even reconnecting
        local keep = Promise.setTimeout(function() end, 60000)
        await(admin:client("KILL", "ID", await(c:client("ID"))))
        await(p)
        Promise.clearTimeout(keep)
        off()
        assert.equal("yes", await(c:get("in5")))
        assert.equal("RedisClient<ready>: 127.0.0.1:" .. srv.port .. " db 5", tostring(c))
        assert.equal("OK", await(c:quit()))
        assert.equal("ERR_CLIENT_CLOSED", H.rejection(c:ping()).code)
        await(admin:close())
      end)
    end)

    it("rejects an unknown event name", function()
      H.run(function()
        local c = await(redis.connect{ port = srv.port })
        assert.has_error(function() c:on("close", print) end,
          "bad argument #1 to 'on' (unknown event 'close')")
        await(c:close())
      end)
    end)
  end)

  describe("close and destroy", function()
    it("close waits for the replies due, then later commands reject", function()
      H.run(function()
        local c = await(redis.connect{ port = srv.port })
        local p = c:incr("closing")
        local closed = c:close()
        assert.equal(1, await(p))
        await(closed)
        local err = H.rejection(c:get("closing"))
        assert.equal("ERR_CLIENT_CLOSED", err.code)
        assert.equal(closed, c:close())
      end)
    end)

    it("emits 'end' once when destroy interrupts close", function()
      H.run(function()
        local c = await(redis.connect{ port = srv.port })
        local ends = 0
        c:on("end", function() ends = ends + 1 end)
        local p = c:debug("SLEEP", "0.05"):catch(function(e) return e end)
        local closing = c:close()
        await(c:destroy())
        await(closing)
        assert.is_true(Promise.AbortError.is(await(p)))
        assert.equal(1, ends)
      end)
    end)

    it("destroy rejects pending commands with an AbortError", function()
      H.run(function()
        local c = await(redis.connect{ port = srv.port })
        local p = c:debug("SLEEP", "0.05")
        local perr
        p:next(nil, function(e) perr = e end)
        local ended = 0
        c:on("end", function() ended = ended + 1 end)
        await(c:destroy())
        assert.is_true(Promise.AbortError.is(perr))
        assert.equal(1, ended)
      end)
    end)

    it("leaves no handle and no descriptor behind", function()
      H.run(function() end)
      local fds = H.count_fds()
      H.run(function()
        local cs = {}
        for i = 1, 5 do
          cs[i] = await(redis.connect{ port = srv.port, protocol = i % 2 + 2 })
          await(cs[i]:ping())
        end
        local un = await(cs[1]:subscribe("x", function() end))
        await(un())
        for i = 1, 5 do await(cs[i]:close()) end
      end)
      assert.same({}, H.active_handles_after_turn())
      assert.equal(fds, H.count_fds())
    end)

    it("an idle client does not keep the loop alive", function()
      local c
      local ok = Promise.run(function()
        c = await(redis.connect{ port = srv.port })
        await(c:set("idle", 1))
      end)
      assert.is_true(ok)
      assert.equal("ready", c._state)
      H.run(function() await(c:close()) end)
    end)
  end)
end)
