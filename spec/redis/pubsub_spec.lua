-- promise.redis Pub/Sub (tag #redis): every message delivered in order,
-- patterns, keyspace notifications, unsubscribing, the client still
-- serving commands, and what keeps the loop alive.
local Promise = require("promise")
local redis = require("promise.redis")
local H = require("spec.support.helpers")
local R = require("spec.support.redis")

local await = Promise.await

describe("promise.redis pubsub #redis", function()
  local srv
  setup(function() srv = R.start() end)
  teardown(function() if srv then srv:destroy() end end)

  --- A collector: `fn` to subscribe with, `wait(n)` until n messages came.
  local function collector()
    local got, waiting = {}, nil
    local function fn(msg, ch, pat)
      got[#got + 1] = table.concat({ msg, ch, pat }, "|")
      if waiting and #got >= waiting[1] then waiting[2]() end
    end
    local function wait(n)
      if #got >= n then return end
      local p, resolve = Promise.withResolvers()
      waiting = { n, resolve }
      await(p)
    end
    return got, fn, wait
  end

  for _, proto in ipairs({ 2, 3 }) do
    it("delivers every message, in order, to subscribe and psubscribe (RESP" .. proto .. ")", function()
      H.run(function()
        local c = await(redis.connect{ port = srv.port, protocol = proto })
        local got, fn, wait = collector()
        local un1 = await(c:subscribe("chan", fn))
        local un2 = await(c:psubscribe("ch*", fn))
        -- the client itself keeps serving commands
        local ps = {}
        for i = 1, 500 do ps[i] = c:publish("chan", tostring(i)) end
        for i = 1, 500 do assert.equal(2, await(ps[i])) end
        wait(1000)
        local direct, pattern = {}, {}
        for _, m in ipairs(got) do
          local msg, ch, pat = m:match("^(%d+)|([^|]+)|?(.*)$")
          assert.equal("chan", ch)
          if pat == "ch*" then pattern[#pattern + 1] = tonumber(msg) else direct[#direct + 1] = tonumber(msg) end
        end
        for i = 1, 500 do
          assert.equal(i, direct[i])
          assert.equal(i, pattern[i])
        end
        await(un1())
        await(un2())
        assert.equal(0, await(c:publish("chan", "late")))
        await(c:close())
      end)
    end)
  end

  it("shares one server subscription between listeners of a channel", function()
    H.run(function()
      local c = await(redis.connect{ port = srv.port })
      local got1, fn1, wait1 = collector()
      local got2, fn2, wait2 = collector()
      local un1 = await(c:subscribe("shared", fn1))
      local un2 = await(c:subscribe("shared", fn2))
      assert.equal(1, await(c:publish("shared", "a")))
      wait1(1)
      await(un1())
      assert.equal(1, await(c:publish("shared", "b")))
      wait2(2)
      await(un2())
      assert.equal(0, await(c:publish("shared", "c")))
      assert.same({ "a|shared" }, got1)
      assert.same({ "a|shared", "b|shared" }, got2)
      await(c:close())
    end)
  end)

  it("delivers keyspace notifications", function()
    H.run(function()
      local c = await(redis.connect{ port = srv.port })
      await(c:config("SET", "notify-keyspace-events", "KEA"))
      local got, fn, wait = collector()
      local un = await(c:psubscribe("__keyspace@0__:watched*", fn))
      await(c:set("watched1", "x"))
      await(c:del("watched1"))
      wait(2)
      assert.same({ "set|__keyspace@0__:watched1|__keyspace@0__:watched*",
        "del|__keyspace@0__:watched1|__keyspace@0__:watched*" }, got)
      await(un())
      await(c:config("SET", "notify-keyspace-events", ""))
      await(c:close())
    end)
  end)

  it("keeps the loop alive while subscribed, not after unsubscribing", function()
    local c, order = nil, {}
    local ok, err = Promise.run(function()
      c = await(redis.connect{ port = srv.port })
      local un
      un = await(c:subscribe("alive", function(msg)
        order[#order + 1] = msg
        un()
      end))
      -- published from elsewhere, after the main function has returned
      local pub = await(c:duplicate())
      Promise.setTimeout(function()
        pub:publish("alive", "ping"):finally(function() return pub:close() end)
      end, 10)
    end)
    assert.is_true(ok, err)
    assert.same({ "ping" }, order)
    H.run(function() await(c:close()) end)
    assert.same({}, H.active_handles_after_turn())
  end)

  it("rejects a subscription on a closed client", function()
    H.run(function()
      local c = await(redis.connect{ port = srv.port })
      await(c:close())
      assert.equal("ERR_CLIENT_CLOSED", H.rejection(c:subscribe("x", print)).code)
      -- closed while the subscriber connection was being made
      local d = await(redis.connect{ port = srv.port })
      local p = d:subscribe("y", print):catch(function(e) return e end)
      await(d:close())
      assert.equal("ERR_CLIENT_CLOSED", await(p).code)
      -- unsubscribing after the close resolves at once
      local e = await(redis.connect{ port = srv.port })
      local un = await(e:subscribe("z", print))
      await(e:close())
      assert.is_nil(await(un()))
    end)
    assert.same({}, H.active_handles_after_turn())
  end)

  it("checks its arguments", function()
    H.run(function()
      local c = await(redis.connect{ port = srv.port })
      assert.has_error(function() c:subscribe(nil, print) end,
        "bad argument #1 to 'subscribe' (string expected, got nil)")
      assert.has_error(function() c:psubscribe("x", 5) end,
        "bad argument #2 to 'psubscribe' (function expected, got number)")
      await(c:close())
    end)
  end)
end)
