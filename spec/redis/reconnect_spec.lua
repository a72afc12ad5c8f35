-- promise.redis when the connection is lost (tag #redis): CLIENT KILL and a
-- server restart mid-traffic, the offline queue and maxPending, reconnect
-- = false, and malformed replies from a scripted fake server.
local Promise = require("promise")
local redis = require("promise.redis")
local net = require("promise.net")
local H = require("spec.support.helpers")
local R = require("spec.support.redis")

local await = Promise.await

--- A promise of the next `event` of client `c` (its arguments packed).
local function nextevent(c, event)
  local p, resolve = Promise.withResolvers()
  local off
  off = c:on(event, function(...)
    off()
    resolve(table.pack(...))
  end)
  return p
end

describe("promise.redis reconnects #redis", function()
  local srv
  setup(function() srv = R.start() end)
  teardown(function() if srv then srv:destroy() end end)

  local FAST = { minDelay = 5, maxDelay = 20 }

  it("after CLIENT KILL: in-flight commands reject with an IOError, later ones go through", function()
    H.run(function()
      local c = await(redis.connect{ port = srv.port, reconnect = FAST })
      local admin = await(redis.connect{ path = srv.path })
      local log = {}
      for _, ev in ipairs({ "error", "reconnecting", "connect", "ready" }) do
        c:on(ev, function(a, b)
          log[#log + 1] = ev
          if ev == "reconnecting" then
            assert.equal(1, a)
            assert.is_true(b >= 0 and b < 5)
          end
        end)
      end
      local id = await(c:client("ID"))
      local blocked = c:blpop("empty-list", 0)
      local caught = blocked:catch(function(e) return e end)
      await(admin:client("KILL", "ID", id))
      local err = await(caught)
      assert.is_true(Promise.IOError.is(err))
      assert.matches("may or may not have run", err.message)
      local after = c:set("after-kill", "yes")
      assert.equal("OK", await(after))
      assert.equal("yes", await(admin:get("after-kill")))
      assert.same({ "error", "reconnecting", "connect", "ready" }, log)
      assert.is_true(await(c:client("ID")) ~= id)
      await(c:close())
      await(admin:close())
    end)
  end)

  it("survives a server restart: queued commands wait, maxPending overflows with QueueFullError", function()
    H.run(function()
      local c = await(redis.connect{ port = srv.port, reconnect = FAST, maxPending = 5 })
      await(c:set("before", "1"))
      local inflight = c:blpop("restart-list", 0):catch(function(e) return e end)
      local lost = nextevent(c, "error")
      srv:stop()
      await(lost)
      local err = await(inflight)
      assert.is_true(Promise.IOError.is(err))
      -- the server is down: commands wait in the offline queue, up to 5
      local queued = {}
      for i = 1, 7 do queued[i] = c:incr("restart-counter") end
      for i = 6, 7 do
        local e = H.rejection(queued[i])
        assert.is_true(Promise.QueueFullError.is(e))
      end
      -- let a few attempts fail while it is down
      await(nextevent(c, "error"))
      local ready = nextevent(c, "ready")
      srv:launch()
      await(ready)
      for i = 1, 5 do assert.equal(i, await(queued[i])) end
      assert.is_nil(await(c:get("before")))  -- a fresh server: nothing persisted
      await(c:close())
    end)
  end)

  it("gives up after reconnect.retries failed attempts: queued commands reject, the client ends", function()
    H.run(function()
      local c = await(redis.connect{ port = srv.port, reconnect = { minDelay = 1, maxDelay = 2, retries = 2 } })
      local attempts = {}
      c:on("reconnecting", function(n) attempts[#attempts + 1] = n end)
      local ended = nextevent(c, "end")
      local lost = nextevent(c, "error")
      local inflight = c:blpop("gone-list", 0):catch(function(e) return e end)
      srv:stop()
      await(lost)
      await(inflight)
      local queued = c:get("x"):catch(function(e) return e end)
      await(ended)
      local err = await(queued)
      assert.is_true(Promise.IOError.is(err))
      assert.equal("reconnecting gave up after 2 attempts", err.message)
      assert.equal("ECONNREFUSED", err.code)
      assert.same({ 1, 2 }, attempts)
      assert.equal("RedisClient<closed>: 127.0.0.1:" .. srv.port .. " db 0", tostring(c))
      srv:launch()
    end)
  end)

  it("with reconnect = false, rejects queued commands and ends", function()
    H.run(function()
      local c = await(redis.connect{ port = srv.port, reconnect = false })
      local admin = await(redis.connect{ path = srv.path })
      local ended = nextevent(c, "end")
      local id = await(c:client("ID"))
      local blocked = c:blpop("empty-list", 0):catch(function(e) return e end)
      await(admin:client("KILL", "ID", id))
      assert.is_true(Promise.IOError.is(await(blocked)))
      await(ended)
      local err = H.rejection(c:get("x"))
      assert.equal("ERR_CLIENT_CLOSED", err.code)
      await(c:close())
      await(admin:close())
    end)
  end)

  it("keeps subscriptions across a reconnect", function()
    H.run(function()
      local c = await(redis.connect{ port = srv.port, reconnect = FAST })
      local admin = await(redis.connect{ path = srv.path })
      local got = {}
      local waiting
      local function on(msg, ch, pat)
        got[#got + 1] = table.concat({ msg, ch, pat }, "|")
        if waiting and #got >= waiting[1] then waiting[2]() end
      end
      local function expect(n)
        if #got >= n then return end
        local p, resolve = Promise.withResolvers()
        waiting = { n, resolve }
        await(p)
      end
      await(c:subscribe("news", on))
      await(c:psubscribe("sport.*", on))
      await(admin:publish("news", "1"))
      await(admin:publish("sport.ski", "2"))
      expect(2)
      local ready = nextevent(c._subscriber, "ready")
      await(admin:client("KILL", "TYPE", "pubsub"))
      await(ready)
      -- resubscribed once the server counts the subscriber again
      while await(admin:pubsub("NUMSUB", "news"))[2] ~= 1
        or await(admin:pubsub("NUMPAT")) ~= 1 do
        await(Promise.sleep(5))
      end
      await(admin:publish("news", "3"))
      await(admin:publish("sport.golf", "4"))
      expect(4)
      assert.same({ "1|news", "2|sport.ski|sport.*", "3|news", "4|sport.golf|sport.*" }, got)
      await(c:close())
      await(admin:close())
    end)
  end)
end)

describe("promise.redis against a misbehaving server", function()
  --- A fake server answering every chunk it reads with `reply`.
  local function fake(reply)
    return net.listen({ host = "127.0.0.1", port = 0 }, function(sock)
      while true do
        local data = await(sock:read())
        if not data then return end
        await(sock:write(reply))
      end
    end)
  end

  --- Runs `fn(client)` against a fake server replying `reply`; always
  --- closes both.
  local function against(reply, fn)
    H.run(function()
      local server = await(fake(reply))
      local c = await(redis.connect{ port = server.port, reconnect = false })
      local ok, err = pcall(fn, c)
      await(c:destroy())
      await(server:close{ force = true })
      if not ok then error(err, 0) end
    end)
  end

  for _, case in ipairs({
    { "garbage", "?what\r\n" },
    { "a huge bulk length", "$99999999999\r\n" },
    { "a negative size", "*-7\r\n" },
    { "deep nesting", ("*1\r\n"):rep(2000) },
  }) do
    it("closes the connection on " .. case[1] .. ", rejecting with EPROTO", function()
      against(case[2], function(c)
        local ended = nextevent(c, "end")
        local p1, p2 = c:get("a"), c:get("b")
        local e1, e2 = H.rejection(p1), H.rejection(p2)
        assert.is_true(Promise.IOError.is(e1))
        assert.equal("EPROTO", e1.code)
        assert.matches("protocol error", e2.message)
        await(ended)
      end)
    end)
  end

  it("closes the connection on a reply nobody asked for, never handing it out", function()
    against("+OK\r\n+EXTRA\r\n", function(c)
      local ended = nextevent(c, "end")
      assert.equal("OK", await(c:get("a")))
      await(ended)
      assert.equal("ERR_CLIENT_CLOSED", H.rejection(c:get("b")).code)
    end)
  end)
end)
