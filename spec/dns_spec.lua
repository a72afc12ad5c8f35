-- docs/manual/dns.md, promise.dns: lookup through the system resolver. The machine has no
-- network: only loopback names, literal addresses and failures (names under
-- the reserved .invalid TLD) are tested.
local Promise = require("promise")
local dns = require("promise.dns")
local uv = require("luv")
local H = require("spec.support.helpers")

local await = Promise.await

local run, rejection, active_handles, block_pool = H.run, H.rejection, H.active_handles, H.block_pool

after_each(function()
  assert.same({}, active_handles())
end)

describe("dns.lookup", function()
  it("resolves localhost to the loopback address", function()
    local list = run(function() return await(dns.lookup("localhost")) end)
    assert.is_true(#list >= 1)
    local found = false
    for _, a in ipairs(list) do
      assert.is_string(a.address)
      assert.is_true(a.family == "inet" or a.family == "inet6")
      if a.address == "127.0.0.1" and a.family == "inet" then found = true end
    end
    assert.is_true(found)
  end)

  it("returns a literal address as is, once, with its family", function()
    local v4, v6 = table.unpack(run(function()
      return { await(dns.lookup("127.0.0.1")), await(dns.lookup("::1")) }
    end))
    assert.same({ { address = "127.0.0.1", family = "inet" } }, v4)
    assert.same({ { address = "::1", family = "inet6" } }, v6)
  end)

  it("answers a literal address at once, without the resolver's thread pool", function()
    -- settled by a microtask drain alone: no luv request behind it
    local got = {}
    for _, host in ipairs{ "127.0.0.1", "0.0.0.0", "255.255.255.255", "::1", "::",
                           "fe80::1", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::" } do
      local p = dns.lookup(host)
      Promise.drain()
      local state, v = p:state()
      got[#got + 1] = state == "fulfilled" and v[1].address .. " " .. v[1].family or state
    end
    assert.same({ "127.0.0.1 inet", "0.0.0.0 inet", "255.255.255.255 inet", "::1 inet6",
                  ":: inet6", "fe80::1 inet6", "1:2:3:4:5:6:7:8 inet6", "1:2:3:4:5:6:7:: inet6" }, got)
  end)

  it("leaves what only looks like an address to the resolver", function()
    -- not Node's canonical forms: getaddrinfo decides (a name, or no such host)
    local states = run(function()
      local out = {}
      for _, host in ipairs{ "256.1.1.1", "01.2.3.4", "1.2.3", "1:2:3:4:5:6:7:8:9", "1::2::3",
                             ":::1", "12345::" } do
        local p = dns.lookup(host)
        Promise.drain()
        out[#out + 1] = p:state()
        pcall(await, p)
      end
      return out
    end)
    assert.same({ "pending", "pending", "pending", "pending", "pending", "pending", "pending" }, states)
  end)

  it("a program that ends with lookups in flight exits cleanly", function()
    -- luv gives the requests back (ECANCELED) while Lua closes the state:
    -- the callbacks must not run (they crashed the process with SIGSEGV)
    local cmd = "LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 -e '"
      .. "local Promise = require(\"promise\"); local dns = require(\"promise.dns\"); "
      .. "for _, h in ipairs{\"localhost\", \"no-such-host.invalid\", \"1.2.3\"} do "
      .. "dns.lookup(h):catch(print) end; Promise.drain()' 2>&1; echo status=$?"
    local p = assert(io.popen(cmd))
    local out = p:read("a")
    p:close()
    assert.equal("status=0\n", out)
  end)

  it("opts.family keeps one family only", function()
    local list, err = table.unpack(run(function()
      return { await(dns.lookup("localhost", { family = 4 })),
               rejection(dns.lookup("127.0.0.1", { family = "inet6" })) }
    end))
    for _, a in ipairs(list) do assert.equal("inet", a.family) end
    assert.is_true(Promise.IOError.is(err))
    assert.matches("^EAI_", err.code)
  end)

  it("an unknown name rejects with an IOError EAI_NONAME", function()
    local err = run(function() return rejection(dns.lookup("no-such-host.invalid")) end)
    assert.is_true(Promise.IOError.is(err))
    assert.equal("EAI_NONAME", err.code)
    assert.equal("getaddrinfo", err.syscall)
    assert.equal("no-such-host.invalid", err.hostname)
    assert.equal("EAI_NONAME: unknown node or service: no-such-host.invalid", err.message)
  end)

  it("an already aborted signal rejects with its reason", function()
    local reason = Promise.Error("no lookups")
    local err = run(function()
      return rejection(dns.lookup("localhost", { signal = Promise.AbortSignal.abort(reason) }))
    end)
    assert.equal(reason, err)
  end)

  it("aborting a queued lookup cancels it and rejects at once", function()
    local dir = assert(uv.fs_mkdtemp(uv.os_tmpdir() .. "/promise-dns-spec-XXXXXX"))
    local log = {}
    local err = run(function()
      local release = block_pool(dir .. "/fifo")
      local ac = Promise.AbortController()
      local p = dns.lookup("localhost", { signal = ac.signal })
      p:catch(function() log[#log + 1] = "rejected" end)
      Promise.setTimeout(function()
        log[#log + 1] = "abort"
        ac:abort()
        log[#log + 1] = "after abort"
      end, 10)
      local e = rejection(p)
      await(release())
      return e
    end)
    assert(uv.fs_rmdir(dir))
    assert.is_true(Promise.AbortError.is(err))
    assert.same({ "abort", "after abort", "rejected" }, log)
  end)

  it("bad arguments raise Lua errors at once", function()
    assert.has_error(function() dns.lookup(nil) end, "bad argument #1 to 'lookup' (string expected, got nil)")
    assert.has_error(function() dns.lookup("x", { family = "ipx" }) end,
      "bad argument #2 to 'lookup' (field 'family': \"inet\", \"inet6\", 4 or 6 expected, got ipx)")
    assert.has_error(function() dns.lookup("x", 5) end, "bad argument #2 to 'lookup' (table expected, got number)")
  end)
end)

describe("host names with a NUL byte", function()
  -- getaddrinfo reads a name up to its first NUL: "localhost\0.invalid"
  -- would resolve localhost. dns.lookup, and net.connect and net.listen
  -- (which resolve their host with it), refuse such a name at once.
  local net = require("promise.net")

  it("are refused at once by dns.lookup, net.connect and net.listen, pointing at the caller", function()
    local calls = {
      { "^bad argument #1 to 'lookup' %(string without NUL bytes expected, got \"localhost\\0%.invalid\"%)$",
        function() local p = dns.lookup("localhost\0.invalid") return p end },
      { "^bad argument #1 to 'connect' %(field 'host': string without NUL bytes expected, got \"127%.0%.0%.1\\0x\"%)$",
        function() local p = net.connect({ host = "127.0.0.1\0x", port = 9 }) return p end },
      { "^bad argument #1 to 'listen' %(field 'host': string without NUL bytes expected, got \"127%.0%.0%.1\\0x\"%)$",
        function() local p = net.listen({ host = "127.0.0.1\0x", port = 0 }, function() end) return p end },
    }
    local got = run(function()
      local list = {}
      for i, c in ipairs(calls) do
        local ok, res = pcall(c[2])
        if ok and Promise.is(res) then  -- the old behaviour: it went ahead
          local fine, v = pcall(await, res)
          if fine and type(v) == "table" and v.close then await(v:close()) end
          list[i] = "no error; " .. (fine and "fulfilled" or "rejected")
        else
          list[i] = res
        end
      end
      return list
    end)
    for i, c in ipairs(calls) do
      local msg = got[i]:gsub("^spec/dns_spec%.lua:%d+: ", "", 1)
      assert.matches("^spec/dns_spec%.lua:%d+: ", got[i])
      assert.matches(c[1], msg)
    end
  end)
end)
