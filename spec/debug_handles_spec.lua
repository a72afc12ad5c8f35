-- Promise.debug on the library's handles: what pending() says each promise
-- waits for (a timer, a socket read, a child), handles(), and the report
-- of a Promise.run whose main function never settles.
local Promise = require("promise")
local net = require("promise.net")
local process = require("promise.process")
local H = require("spec.support.helpers")

local async, await = Promise.async, Promise.await
local D = Promise.debug
local THIS = "spec/debug_handles_spec.lua"

-- the caller's line, minus `n`
local function line(n)
  return debug.getinfo(2, "l").currentline - (n or 0)
end

local function noop() end

-- the entries of `list` whose `field` matches `pattern`
local function matching(list, field, pattern)
  local found = {}
  for _, e in ipairs(list) do
    if tostring(e[field]):match(pattern) then found[#found + 1] = e end
  end
  return found
end

describe("Promise.debug with timers, sockets and children", function()
  local unhandled
  before_each(function() unhandled = H.capture_unhandled() end)
  after_each(function()
    D.disable()
    H.check_reported(unhandled)
    assert.same({}, H.active_handles_after_turn())
  end)

  it("pending() and handles() name the timer, the socket read and the child", function()
    D.enable()
    local pend, handles, lines = nil, nil, {}
    H.run(function()
      local server = await(net.listen({ host = "127.0.0.1", port = 0 }, function(s)
        await(s:read())  -- until the client closes
      end))
      lines.server = line(3)
      local sock = await(net.connect{ port = server.port })
      lines.sock = line(1)
      local read = sock:read(); lines.read = line()
      local child = process.exec("sleep", { "0.2" }); lines.child = line()
      local timer = Promise.sleep(1000); lines.timer = line()
      pend, handles = D.pending(), D.handles()
      await(child)
      sock:close()
      await(read:catch(noop))
      await(server:close())
      D.disable()  -- handles() still lists what was noted: clear the sleep's timer
      assert.equal("pending", timer:state())
      for _, h in ipairs(D.handles()) do
        if h.kind == "timeout" then Promise.clearTimeout(h.object) end
      end
    end)
    local function one(pattern)
      local found = matching(pend, "description", pattern)
      assert.equal(1, #found, pattern .. " in\n" .. D.report())
      return found[1]
    end
    assert.equal(THIS .. ":" .. lines.timer,
      one("waits for a timer %(1000 ms%)$").site)
    local port = handles[1].object.port
    assert.equal(THIS .. ":" .. lines.read,
      one("waits for a read on socket 127%.0%.0%.1:" .. port .. "$").site)
    local child = one("waits for child `sleep` %(pid %d+%)$")
    assert.equal(THIS .. ":" .. lines.child, child.site)
    assert.matches("^child `sleep` %(pid %d+%)$", child.waitingFor)

    local kinds, sites, alive = {}, {}, {}
    for _, h in ipairs(handles) do
      kinds[#kinds + 1] = h.kind
      sites[#sites + 1] = h.site
      alive[#alive + 1] = h.keepsAlive
    end
    -- oldest first: the server, the two ends of the connection (the
    -- accepted one is sited at listen), the child, the sleep's timer
    assert.same({ "server", "socket", "socket", "child", "timeout" }, kinds)
    assert.same({ THIS .. ":" .. lines.server, THIS .. ":" .. lines.server,
      THIS .. ":" .. lines.sock, THIS .. ":" .. lines.child, THIS .. ":" .. lines.timer }, sites)
    -- both sockets read: both keep the loop alive, as do the others
    assert.same({ true, true, true, true, true }, alive)
    assert.matches("^timeout %(1000 ms%), created at " .. THIS:gsub("%p", "%%%0") .. ":%d+, keeps the loop alive$",
      handles[5].description)
    assert.matches("^server 127%.0%.0%.1:" .. port .. ", created at", handles[1].description)
    assert.matches("^child `sleep` %(pid %d+%), created at", handles[4].description)
  end)

  it("handles() forgets what is closed and says what does not keep the loop alive", function()
    D.enable()
    local t = Promise.setTimeout(noop, 1000):unref()
    local i = Promise.setInterval(noop, 50)
    local im = Promise.setImmediate(noop)
    local list = D.handles()
    assert.same({ "timeout", "interval", "immediate" },
      { list[1].kind, list[2].kind, list[3].kind })
    assert.same({ false, true, true }, { list[1].keepsAlive, list[2].keepsAlive, list[3].keepsAlive })
    assert.equal("interval (50 ms), created at " .. THIS .. ":" .. line(6) ..
      ", keeps the loop alive", list[2].description)
    Promise.clearTimeout(t)
    Promise.clearInterval(i)
    Promise.clearImmediate(im)
    assert.same({}, D.handles())
  end)

  it("site gives the caller's line, or further up; checks its level", function()
    local function here(level)
      local at = D.site(level); return at
    end
    assert.equal(THIS .. ":" .. line(2), (here():gsub("^%./", "")))
    assert.equal(THIS .. ":" .. line(), (here(2):gsub("^%./", "")))
    assert.is_nil(D.site(math.tointeger(2 ^ 53)))
    assert.is_nil(D.site(math.maxinteger))
    assert.has_error(function() D.site(2 ^ 53) end,
      "bad argument #1 to 'site' (non-negative integer or nil expected, got number)")
    assert.has_error(function() D.site(-1) end,
      "bad argument #1 to 'site' (non-negative integer or nil expected, got number)")
  end)

  it("track checks its arguments, and lists what its info function says is active", function()
    assert.has_error(function() D.track(nil, "x", noop) end,
      "bad argument #1 to 'track' (table or userdata expected, got nil)")
    assert.has_error(function() D.track({}, 5, noop) end,
      "bad argument #2 to 'track' (string expected, got number)")
    assert.has_error(function() D.track({}, "x", "f") end,
      "bad argument #3 to 'track' (function expected, got string)")
    assert.has_error(function() D.track({}, "x", noop, 1) end,
      "bad argument #4 to 'track' (string or nil expected, got number)")
    D.enable()
    local conn = { open = true }
    D.track(conn, "connection", function(c) return c.open, false, "to db" end, "db.lua:3")
    D.track({}, "broken", function() error("boom") end)
    local list = D.handles()
    assert.equal(1, #list)
    assert.equal("connection to db, created at db.lua:3, does not keep the loop alive", list[1].description)
    conn.open = false
    assert.same({}, D.handles())
  end)

  it("registers nothing while tracking is off", function()
    local t = Promise.setTimeout(noop, 10)
    D.enable()
    assert.same({}, D.handles())
    Promise.clearTimeout(t)
  end)

  describe("a run whose main function never settles", function()
    -- a client whose read never ends, unref'd so that the loop runs dry
    local client, at = nil, {}
    local function fetch(port)
      at.fetch = line() + 1
      return async(function()
        client = await(net.connect{ port = port })
        client.handle:unref()
        at.read = line() + 1
        return await(client:read())
      end)()
    end

    local function hang()
      local server
      at.run = line() + 1
      local ok, err = Promise.run(function()
        server = await(net.listen({ host = "127.0.0.1", port = 0 }, function(s)
          s.handle:unref()
          await(s:read())
        end))
        server.handle:unref()
        if D.tracking then  -- the server, unref'd: listed, keeps nothing alive
          local list = D.handles()
          assert.same({ "server", false }, { list[1].kind, list[1].keepsAlive })
        end
        at.all = line() + 1
        await(Promise.all{ fetch(server.port), Promise.resolve(1) })
      end)
      H.run(function()  -- clean up: both ends and the server
        await(client:close())
        await(server:close{ force = true })
      end)
      return ok, err, server.port
    end

    it("says where it stalled, step by step, while tracking is on", function()
      D.enable()
      local ok, err, port = hang()
      assert.is_false(ok)
      local S = THIS .. ":"
      assert.equal("main function never settled: the event loop has nothing left to do; " ..
        "where it stalled: promise created at " .. S .. at.run ..
        " awaits (at " .. S .. at.all .. ": in function <" .. S .. at.run .. ">) a promise created at " ..
        S .. at.all .. ", which waits in Promise.all for a promise created at " .. S .. at.fetch ..
        ", which awaits (at " .. S .. at.read .. ": in function <" .. S .. at.fetch ..
        ">) a promise created at " .. S .. at.read ..
        ", which waits for a read on socket 127.0.0.1:" .. port, err.message)
    end)

    it("says how to see where it stalled while tracking is off", function()
      local ok, err = hang()
      assert.is_false(ok)
      assert.equal("main function never settled: the event loop has nothing left to do; " ..
        "call Promise.debug.enable() before it to see where it stalled", err.message)
    end)
  end)

  it("the timer path allocates nothing more while tracking is off", function()
    local function cost(n)
      local keep = {}
      for k = 1, n do keep[k] = false end
      collectgarbage()
      collectgarbage()
      collectgarbage("stop")
      local before = collectgarbage("count")
      for k = 1, n do keep[k] = Promise.setTimeout(noop, 1000) end
      local after = collectgarbage("count")
      collectgarbage("restart")
      for k = 1, n do Promise.clearTimeout(keep[k]) end
      return (after - before) * 1024 / n
    end
    cost(100)  -- warm up the timer lists
    local off = cost(1000)
    D.enable()
    local on = cost(1000)
    D.disable()
    local again = cost(1000)
    -- tracking adds a record per timer; without it, the same cost as before
    assert.is_true(on > off + 16, ("on %g, off %g"):format(on, off))
    assert.is_true(math.abs(again - off) < 8, ("again %g, off %g"):format(again, off))
  end)
end)
