-- docs/manual/net.md, promise.net: a real TCP echo server and client on 127.0.0.1 (port
-- 0), backpressure, errors with luv's codes, cancellation, and no handle or
-- descriptor left behind.
local Promise = require("promise")
local net = require("promise.net")
local uv = require("luv")
local H = require("spec.support.helpers")

local await = Promise.await

local servers = {}

-- Runs `fn` as the loop's main async function, then closes the servers it
-- opened (a listening server keeps the loop alive); returns fn's value or
-- raises its error.
local function run(fn)
  local ok, v = Promise.run(function()
    local ok2, v2 = pcall(fn)
    for _, s in ipairs(servers) do await(s:close{ force = true }) end
    servers = {}
    if not ok2 then error(v2, 0) end
    return v2
  end)
  if not ok then error(v, 0) end
  return v
end

local rejection, count_fds = H.rejection, H.count_fds

local function handles()
  return H.active_handles({ "tcp" })
end

-- An echo handler: sends every line back, upper-cased, until end of stream.
local function echo(sock)
  while true do
    local line = await(sock:readLine())
    if line == nil then break end
    await(sock:write(line:upper() .. "\n"))
  end
end

-- A port on which nobody listens (bound, then released).
local function free_port()
  local t = uv.new_tcp()
  assert(t:bind("127.0.0.1", 0))
  local port = t:getsockname().port
  t:close()
  uv.run("nowait")
  return port
end

local unhandled, fds_before

setup(function()
  -- first use allocates descriptors that stay (libuv's signal pipe, ...)
  run(function()
    local s = await(net.listen({ host = "127.0.0.1", port = 0 }, echo))
    local c = await(net.connect{ host = "localhost", port = s.port })
    await(c:write("x\n"))
    await(c:readLine())
    await(c:close())
    await(s:close())
  end)
end)

before_each(function()
  unhandled = {}
  Promise.onUnhandledRejection(function(reason) unhandled[#unhandled + 1] = reason end)
  fds_before = count_fds()
end)

after_each(function()
  Promise.onUnhandledRejection(nil)
  assert.same({}, handles())
  assert.equal(fds_before, count_fds())
end)

local function listen(handler, opts)
  local s = await(net.listen(opts or { host = "127.0.0.1", port = 0 }, handler))
  servers[#servers + 1] = s
  return s
end

describe("net echo server and client", function()
  it("listens on port 0, echoes lines, ends on shutdown and closes cleanly", function()
    local log = run(function()
      local out = {}
      local server = listen(echo)
      out[#out + 1] = math.type(server.port) == "integer" and server.port > 0
      out[#out + 1] = server.address
      local c = await(net.connect{ host = "127.0.0.1", port = server.port })
      out[#out + 1] = c.remotePort == server.port
      await(c:write("hello\nwor"))
      await(c:write("ld\r\n"))
      local l1 = await(c:readLine())
      local l2 = await(c:readLine())
      out[#out + 1] = l1
      out[#out + 1] = l2
      await(c:shutdown())
      local l3 = tostring(await(c:readLine()))  -- the server closed after its handler
      local l4 = tostring(await(c:read()))
      out[#out + 1] = l3
      out[#out + 1] = l4
      await(c:close())
      await(server:close())
      return out
    end)
    assert.same({ true, "127.0.0.1", true, "HELLO", "WORLD", "nil", "nil" }, log)
  end)

  it("readLine splits chunks and joins lines across them; read returns what is left", function()
    local lines, rest = table.unpack(run(function()
      local server = listen(function(sock)
        await(sock:write("one\ntwo\nthr"))
        await(Promise.sleep(20))
        await(sock:write("ee\nlast\ntail"))
      end)
      local c = await(net.connect{ port = server.port })
      local got = {}
      for _ = 1, 4 do got[#got + 1] = await(c:readLine()) end
      local raw = { await(c:read()), tostring(await(c:read())) }
      await(c:close())
      return { got, raw }
    end))
    assert.same({ "one", "two", "three", "last" }, lines)
    assert.same({ "tail", "nil" }, rest)
  end)

  it("readLine returns an unterminated last line, then nil", function()
    local lines = run(function()
      local server = listen(function(sock) await(sock:write("a\r\n\nb")) end)
      local c = await(net.connect{ port = server.port })
      local got = {}
      for i = 1, 4 do got[i] = tostring(await(c:readLine())) end
      await(c:close())
      return got
    end)
    assert.same({ "a", "", "b", "nil" }, lines)
  end)

  it("serves several clients at once, each handler in its own coroutine", function()
    local replies = run(function()
      local server = listen(echo)
      local clients = {}
      for i = 1, 5 do clients[i] = await(net.connect{ port = server.port }) end
      for i = 5, 1, -1 do await(clients[i]:write("client " .. i .. "\n")) end
      local got = {}
      for i = 1, 5 do
        got[i] = await(clients[i]:readLine())
        await(clients[i]:close())
      end
      return got
    end)
    assert.same({ "CLIENT 1", "CLIENT 2", "CLIENT 3", "CLIENT 4", "CLIENT 5" }, replies)
  end)

  it("server:close() stops accepting and waits for the running handlers", function()
    local log = run(function()
      local out = {}
      local server = listen(function(sock)
        local line = await(sock:readLine())
        out[#out + 1] = "handler got " .. line
        await(Promise.sleep(20))
        out[#out + 1] = "handler ends"
        await(sock:write("bye\n"))
      end)
      local c = await(net.connect{ port = server.port })
      local closed = server:close()
      closed:next(function() out[#out + 1] = "server closed" end)
      local refused = rejection(net.connect{ port = server.port })
      out[#out + 1] = refused.code
      await(Promise.sleep(20))
      out[#out + 1] = closed:state()
      await(c:write("last words\n"))
      local bye = await(c:readLine())
      await(closed)
      out[#out + 1] = bye
      await(c:close())
      return out
    end)
    assert.same({ "ECONNREFUSED", "pending", "handler got last words", "handler ends", "server closed", "bye" },
                log)
  end)

  it("server:close{force = true} closes the connections; their handlers end quietly", function()
    local log = run(function()
      local out = {}
      local reading, is_reading = Promise.withResolvers()
      local server = listen(function(sock)
        local p = sock:read()
        is_reading()
        local ok, err = pcall(await, p)
        out[#out + 1] = ok and "read" or err.code
        error(err, 0)  -- ERR_SOCKET_CLOSED after a forced close is not reported
      end)
      local c = await(net.connect{ port = server.port })
      await(reading)  -- the connection is accepted and its handler reads
      await(server:close{ force = true })
      local got = tostring(await(c:read()))  -- end of stream
      out[#out + 1] = got
      await(c:close())
      return out
    end)
    assert.same({ "ERR_SOCKET_CLOSED", "nil" }, log)
    assert.same({}, unhandled)
  end)

  it("an error raised by a handler is reported as unhandled and its socket closed", function()
    local boom = Promise.Error("handler failed")
    local eof = run(function()
      local server = listen(function() error(boom) end)
      local c = await(net.connect{ port = server.port })
      local v = await(c:read())
      await(c:close())
      return tostring(v)
    end)
    assert.equal("nil", eof)
    assert.same({ boom }, unhandled)
  end)
end)

describe("net readLine", function()
  -- a server that writes `parts` one by one, each after the client asked
  -- for it with a line "more", then closes
  local function sender(parts)
    return listen(function(sock)
      for _, part in ipairs(parts) do
        await(sock:readLine())
        await(sock:write(part))
      end
    end)
  end

  it("joins lines across chunks, \\r\\n split between two of them included; keeps NUL bytes", function()
    local got = run(function()
      local server = sender({ "a\r", "\nb\0c\n", "lo", "ng", "\r\nrest" })
      local c = await(net.connect{ port = server.port })
      local out = {}
      for _ = 1, 5 do await(c:write("more\n")) end
      for i = 1, 4 do out[i] = tostring(await(c:readLine())) end
      await(c:close())
      return out
    end)
    assert.same({ "a", "b\0c", "long", "rest" }, got)
  end)

  it("strips \\r\\n from lines already buffered, and only a \\r right before the \\n", function()
    local got = run(function()
      local server = sender({ "a\r\nb\r\nc\rd\n\r\n", "plain\nlf\n", "x\r\ny\n" })
      local c = await(net.connect{ port = server.port })
      local out = {}
      await(c:write("more\n"))
      for _ = 1, 4 do out[#out + 1] = await(c:readLine()) end
      await(c:write("more\n"))
      for _ = 1, 2 do out[#out + 1] = await(c:readLine()) end
      await(c:write("more\n"))
      for _ = 1, 2 do out[#out + 1] = await(c:readLine()) end
      out[#out + 1] = tostring(await(c:readLine()))
      await(c:close())
      return out
    end)
    assert.same({ "a", "b", "c\rd", "", "plain", "lf", "x", "y", "nil" }, got)
  end)

  it("serves thousands of lines of one chunk in order, and read then takes the rest", function()
    local n, good, rest = table.unpack(run(function()
      local lines = {}
      for i = 1, 5000 do lines[i] = ("line %d"):format(i) end
      local server = listen(function(sock)
        await(sock:write(table.concat(lines, "\n") .. "\npartial"))
      end)
      local c = await(net.connect{ port = server.port })
      local count, ok = 0, true
      for i = 1, 5000 do
        local line = await(c:readLine())
        count = count + 1
        ok = ok and line == lines[i]
      end
      local tail = await(c:read())
      await(c:close())
      return { count, ok, tail }
    end))
    assert.same({ 5000, true, "partial" }, { n, good, rest })
  end)

  it("a line longer than opts.maxLength closes the socket with ERR_LINE_TOO_LONG", function()
    local got = run(function()
      local out = {}
      -- within one chunk: exactly maxLength bytes is fine, one more is not
      local server = listen(function(sock) await(sock:write("12345678\n123456789\n")) end)
      local c = await(net.connect{ port = server.port })
      out[#out + 1] = await(c:readLine{ maxLength = 8 })
      local err = rejection(c:readLine{ maxLength = 8 })
      out[#out + 1] = err.code
      out[#out + 1] = err.message
      out[#out + 1] = rejection(c:read()) == err  -- the socket is closed with it
      out[#out + 1] = c.handle == nil
      -- across chunks, with the reader waiting
      server = sender({ "12345", "6789" })
      c = await(net.connect{ port = server.port })
      await(c:write("more\nmore\n"))
      out[#out + 1] = rejection(c:readLine{ maxLength = 8 }).code
      return out
    end)
    assert.same({ "12345678", "ERR_LINE_TOO_LONG",
                  "readLine: line longer than 8 bytes (opts.maxLength)", true, true,
                  "ERR_LINE_TOO_LONG" }, got)
  end)

  it("refuses a line longer than 16 MiB by default instead of buffering without end", function()
    local code, wrote = table.unpack(run(function()
      local sent = 0
      local server = listen(function(sock)
        local chunk = ("x"):rep(1024 * 1024)
        -- until the client closes: EPIPE or ECONNRESET
        while pcall(await, sock:write(chunk)) do sent = sent + #chunk end
      end)
      local c = await(net.connect{ port = server.port })
      local err = rejection(c:readLine())
      return { err.code, sent }
    end))
    assert.equal("ERR_LINE_TOO_LONG", code)
    assert.is_true(wrote >= 16 * 1024 * 1024)
  end)

  it("bad options raise Lua errors at once", function()
    run(function()
      local server = listen(echo)
      local c = await(net.connect{ port = server.port })
      assert.has_error(function() c:readLine{ maxLength = 0 } end,
        "bad argument #1 to 'readLine' (field 'maxLength': integer > 0 expected, got 0)")
      assert.has_error(function() c:readLine{ maxLength = 1.5 } end,
        "bad argument #1 to 'readLine' (field 'maxLength': integer > 0 expected, got 1.5)")
      assert.has_error(function() c:readLine(7) end,
        "bad argument #1 to 'readLine' (table expected, got number)")
      assert.has_error(function() c.readLine({}) end,
        "calling 'readLine' on bad self (Socket expected, got table)")
      assert.has_error(function() c.readLine() end,
        "calling 'readLine' on bad self (Socket expected, got nil)")
      assert.has_error(function() c.readLine("x") end,
        "calling 'readLine' on bad self (Socket expected, got string)")
      await(c:close())
    end)
  end)

  it("a socket nobody reads from does not keep the loop alive", function()
    -- the client got its line; both ends stay open and idle: run still ends
    local gate, open = Promise.withResolvers()
    local server
    local ok, v = Promise.run(function()
      server = await(net.listen({ host = "127.0.0.1", port = 0 }, function(sock)
        await(sock:write("hi\n"))
        await(gate)
      end))
      local c = await(net.connect{ port = server.port })
      local line = await(c:readLine())
      server:close()
      return { line, c }
    end)
    assert.is_true(ok)
    assert.equal("hi", v[1])
    run(function()
      open()
      await(server:close())
      assert.is_nil(await(v[2]:read()))  -- the server's end closed after its handler
      await(v[2]:close())
    end)
  end)
end)

describe("net backpressure", function()
  it("stops reading while nobody waits: the writer stalls, at most one chunk is buffered", function()
    local total = 16 * 1024 * 1024
    local chunk = ("x"):rep(65536)
    local log = run(function()
      local written = 0
      local server = listen(function(sock)
        while written < total do
          await(sock:write(chunk))
          written = written + #chunk
        end
      end)
      local c = await(net.connect{ port = server.port })
      -- until the writer has stalled (the kernel's buffers are full): no
      -- progress over 50 ms, however long filling them takes on this machine
      local stalled
      repeat
        stalled = written
        await(Promise.sleep(50))
      until written > 0 and written == stalled
      local first = await(c:read())
      await(Promise.sleep(50))
      local out = {
        stalled < total,              -- the kernel's buffers hold a few MB, not 16
        written - stalled <= 4 * 65536, -- one chunk read: the writer moved a little
        #first <= 65536,
        -- at most one chunk read ahead while nobody waits, and luv stopped
        (c._buf == nil or #c._buf - c._pos + 1 <= 65536) and not c._reading,
      }
      local n = #first
      while true do
        local s = await(c:read())
        if not s then break end
        assert(#s <= 65536)
        n = n + #s
      end
      out[#out + 1] = n
      await(c:close())
      return out
    end)
    assert.same({ true, true, true, true, total }, log)
  end)
end)

describe("net errors", function()
  it("a refused connection rejects with ECONNREFUSED and leaves nothing open", function()
    local port = free_port()
    local err = run(function() return rejection(net.connect{ host = "127.0.0.1", port = port }) end)
    assert.is_true(Promise.IOError.is(err))
    assert.equal("ECONNREFUSED", err.code)
    assert.equal("connect", err.syscall)
    assert.equal("127.0.0.1", err.address)
    assert.equal(port, err.port)
    assert.equal("ECONNREFUSED: connection refused: 127.0.0.1:" .. port, err.message)
  end)

  it("an unknown host rejects with EAI_NONAME", function()
    local err = run(function() return rejection(net.connect{ host = "no-such-host.invalid", port = 80 }) end)
    assert.is_true(Promise.IOError.is(err))
    assert.equal("EAI_NONAME", err.code)
    assert.equal("getaddrinfo", err.syscall)
  end)

  it("listening on a port in use rejects with EADDRINUSE", function()
    local err = run(function()
      local server = listen(echo)
      return rejection(net.listen({ host = "127.0.0.1", port = server.port }, echo))
    end)
    assert.equal("EADDRINUSE", err.code)
    assert.equal("listen", err.syscall)  -- libuv reports it when listening, as Node does
  end)

  it("writing to a peer that went away fails with EPIPE or ECONNRESET (no SIGPIPE) and closes", function()
    local code, after = table.unpack(run(function()
      local closed, on_closed = Promise.withResolvers()
      local server = listen(function(sock) await(sock:close()); on_closed() end)
      local c = await(net.connect{ port = server.port })
      await(closed)  -- the peer has gone away (not "20 ms have passed")
      local err
      for _ = 1, 100 do
        local ok, e = pcall(await, c:write(("y"):rep(65536)))
        if not ok then err = e break end
      end
      return { err and err.code, rejection(c:write("more")) }
    end))
    assert.is_true(code == "EPIPE" or code == "ECONNRESET", tostring(code))
    assert.equal(code, after.code)  -- later calls see the same error
  end)

  it("calls on a closed socket reject with ERR_SOCKET_CLOSED", function()
    local errs = run(function()
      local server = listen(echo)
      local c = await(net.connect{ port = server.port })
      local pending = c:read()
      await(c:close())
      return { rejection(pending), rejection(c:read()), rejection(c:write("x")), rejection(c:readLine()) }
    end)
    for _, e in ipairs(errs) do
      assert.is_true(Promise.IOError.is(e))
      assert.equal("ERR_SOCKET_CLOSED", e.code)
    end
  end)

  it("bad arguments raise Lua errors at once", function()
    assert.has_error(function() net.connect() end, "bad argument #1 to 'connect' (table expected, got nil)")
    assert.has_error(function() net.connect{ port = "80" } end,
      "bad argument #1 to 'connect' (field 'port': integer in 0..65535 expected, got 80)")
    assert.has_error(function() net.listen({ port = 0 }) end,
      "bad argument #2 to 'listen' (function expected, got nil)")
    run(function()
      local server = listen(echo)
      local c = await(net.connect{ port = server.port })
      assert.has_error(function() c:write(42) end, "bad argument #1 to 'write' (string expected, got number)")
      assert.has_error(function() c.read({}) end, "calling 'read' on bad self (Socket expected, got table)")
      await(c:close())
    end)
  end)
end)

describe("net cancellation with opts.signal", function()
  it("an aborted connect closes its handle before rejecting with the reason", function()
    -- a listener that never accepts: once its backlog is full, connects stay pending
    local l = uv.new_tcp()
    assert(l:bind("127.0.0.1", 0))
    assert(l:listen(1, function() end))
    local port = l:getsockname().port
    local reason = Promise.Error("give up")
    local state, err = table.unpack(run(function()
      local done = {}
      local p
      for _ = 1, 8 do  -- fill the backlog until one connect stays pending
        local ac = Promise.AbortController()
        p = net.connect{ port = port, signal = ac.signal }
        await(Promise.sleep(30))
        if p:state() == "pending" then
          ac:abort(reason)
          break
        end
        done[#done + 1] = await(p)
      end
      local st = p:state()
      local e = rejection(p)
      for _, s in ipairs(done) do await(s:close()) end
      l:close()
      return { st, e }
    end))
    assert.equal("pending", state)
    assert.equal(reason, err)
  end)

  it("an already aborted signal rejects before connecting", function()
    local reason = Promise.Error("no")
    local err = run(function()
      return rejection(net.connect{ port = 1, signal = Promise.AbortSignal.abort(reason) })
    end)
    assert.equal(reason, err)
  end)

  it("an aborted read closes the socket, rejects with the reason, and the peer sees the end", function()
    local reason = Promise.Error("stop reading")
    local peer
    local log = run(function()
      local out = {}
      local peer_done, on_peer_done = Promise.withResolvers()
      local server = listen(function(sock)
        peer = "peer read " .. tostring(await(sock:read()))
        on_peer_done()
      end)
      local c = await(net.connect{ port = server.port })
      local ac = Promise.AbortController()
      local p = c:read{ signal = ac.signal }
      await(Promise.sleep(10))
      ac:abort(reason)
      local e = rejection(p)
      out[#out + 1] = e == reason and "rejected with the reason" or tostring(e)
      out[#out + 1] = c.handle == nil and "handle closed" or "handle open"
      out[#out + 1] = rejection(c:read()).code
      await(peer_done)  -- before run() force-closes the server
      return out
    end)
    assert.same({ "rejected with the reason", "handle closed", "ERR_SOCKET_CLOSED" }, log)
    assert.equal("peer read nil", peer)
  end)

  it("AbortSignal.timeout bounds a readLine", function()
    local err = run(function()
      local server = listen(function(sock) await(sock:read()) end)
      local c = await(net.connect{ port = server.port })
      local t0 = Promise.now()
      local e = rejection(c:readLine{ signal = Promise.AbortSignal.timeout(30) })
      -- the loop's clock, which timers use: never early; no upper bound (the
      -- peer never writes, so only the signal can end the read)
      assert.is_true(Promise.now() - t0 >= 30)
      return e
    end)
    assert.is_true(Promise.TimeoutError.is(err))
  end)
end)
