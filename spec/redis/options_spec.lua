-- promise.redis.options, encoder and script: URL parsing, option checks,
-- argument encoding and SHA-1 (no server needed).
local options = require("promise.redis.options")
local encoder = require("promise.redis.encoder")
local script = require("promise.redis.script")

describe("promise.redis.options", function()
  describe("parseURL", function()
    it("reads redis:// URLs with credentials, port and database", function()
      assert.same({ host = "h", port = 7000, username = "u", password = "p@ss:w", db = 4 },
        options.parseURL("redis://u:p%40ss:w@h:7000/4"))
      assert.same({ password = "only" }, options.parseURL("redis://:only@"))
      assert.same({ host = "::1", port = 6380 }, options.parseURL("redis://[::1]:6380"))
      assert.same({ host = "h" }, options.parseURL("redis://h"))
    end)

    it("reads unix:// URLs with a db query", function()
      assert.same({ path = "/tmp/r.sock", db = 2 }, options.parseURL("unix:///tmp/r.sock?db=2"))
    end)

    it("rejects bad URLs without quoting them", function()
      for _, url in ipairs({ "http://u:secret@h", "redis://u:secret@h:0", "redis://u:secret@h/x",
        "nonsense-secret", "unix://" }) do
        local o, err = options.parseURL(url)
        assert.is_nil(o)
        assert.is_nil(err:find("secret", 1, true))
      end
    end)
  end)

  describe("resolve", function()
    it("fills the defaults", function()
      local cfg = options.resolve(nil, "connect")
      assert.same({ host = "127.0.0.1", port = 6379, db = 0, protocol = 2, connectTimeout = 10000,
        maxPending = 1000, reconnect = { minDelay = 50, maxDelay = 2000, retries = math.huge } }, cfg)
    end)

    it("puts explicit options over the URL's", function()
      local cfg = options.resolve({ url = "redis://a:b@h:1/2", db = 5, reconnect = false }, "connect")
      assert.equal("h", cfg.host)
      assert.equal(5, cfg.db)
      assert.equal("b", cfg.password)
      assert.is_false(cfg.reconnect)
    end)

    it("checks every duration: [0, 2^31 - 1], or math.huge where it means none", function()
      local function problem(opts)
        local ok, err = pcall(options.resolve, opts, "connect")
        return not ok and err:match("%((.*)%)$") or nil
      end
      for _, field in ipairs({ "connectTimeout", "commandTimeout" }) do
        assert.is_nil(problem({ [field] = 0 }))
        assert.is_nil(problem({ [field] = 2 ^ 31 - 1 }))
        assert.is_nil(problem({ [field] = math.huge }))
        for _, bad in ipairs({ -1, 0 / 0, -math.huge, 2 ^ 31, 2 ^ 53, math.maxinteger }) do
          assert.equal(("field '%s': number in [0, 2147483647] or math.huge expected, got %s")
            :format(field, tostring(bad)), problem({ [field] = bad }))
        end
      end
      assert.is_nil(problem({ reconnect = { maxDelay = math.huge } }))
      for _, bad in ipairs({ math.huge, 2 ^ 31, 0 / 0, -1 }) do
        assert.equal("field 'reconnect.minDelay': number in [0, 2147483647] expected, got " .. tostring(bad),
          problem({ reconnect = { minDelay = bad } }))
      end
    end)

    it("never shows a password in its errors", function()
      local ok, err = pcall(options.resolve, { password = 12345 }, "connect")
      assert.is_false(ok)
      assert.is_nil(err:find("12345", 1, true))
      assert.matches("field 'password': string expected, got number", err)
    end)
  end)
end)

describe("promise.redis.encoder", function()
  it("encodes a command as a RESP array of bulk strings", function()
    assert.equal("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\0b\r\n", encoder.command("SET", "k", "a\0b"))
    assert.equal("*3\r\n$3\r\nSET\r\n$2\r\n42\r\n$3\r\n0.5\r\n", encoder.command("SET", 42, 0.5))
    assert.equal("*2\r\n$1\r\nX\r\n$19\r\n0.10000000000000001\r\n", encoder.command("X", 0.1))
  end)

  it("keeps a large argument as its own piece", function()
    local big = ("x"):rep(100000)
    local out = { n = 0 }
    encoder.encode(out, "SET", { "k", big }, 1, 2, "set", 0, 1)
    assert.equal(3, out.n)
    assert.is_true(out[2] == big)
    assert.equal("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n" .. big .. "\r\n", table.concat(out))
  end)

  it("refuses nil, booleans and tables", function()
    assert.has_error(function() encoder.command("SET", "k", true) end,
      "bad argument #3 to 'command' (string or number expected, got boolean)")
    assert.has_error(function() encoder.command("SET", {}) end,
      "bad argument #2 to 'command' (string or number expected, got table)")
  end)
end)

describe("promise.redis.script", function()
  it("computes the SHA-1 Redis uses", function()
    assert.equal("da39a3ee5e6b4b0d3255bfef95601890afd80709", script.sha1(""))
    assert.equal("a9993e364706816aba3e25717850c26c9cd0d89d", script.sha1("abc"))
    assert.equal("84983e441c3bd26ebaae4aa1f95129e5e54670f1",
      script.sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))
    assert.equal("34aa973cd4c4daa4f61eeb2bdbad27316534016f", script.sha1(("a"):rep(1000000)))
  end)
end)

describe("promise.redis reconnect backoff", function()
  local backoff = require("promise.redis.lifecycle").backoff
  local rc = { minDelay = 50, maxDelay = 2000 }

  it("doubles the cap per attempt up to maxDelay (full jitter below it)", function()
    local almost = function() return 0.999999 end
    local caps = {}
    for attempt = 1, 8 do caps[attempt] = backoff(attempt, rc, almost) end
    assert.same({ 49, 99, 199, 399, 799, 1599, 1999, 1999 }, caps)
  end)

  it("never asks a timer for more than 2^31 - 1 ms, whatever maxDelay and the attempt", function()
    local huge = { minDelay = 1000, maxDelay = math.huge }
    local almost = function() return 0.999999 end
    for _, attempt in ipairs({ 30, 100, 2000 }) do
      local d = backoff(attempt, huge, almost)
      assert.is_true(math.type(d) == "integer" and d >= 0 and d < 2 ^ 31, tostring(d))
    end
  end)

  it("can wait 0 ms, and never the cap itself", function()
    assert.equal(0, backoff(3, rc, function() return 0 end))
    assert.equal(100, backoff(3, rc, function() return 0.5 end))
  end)
end)
