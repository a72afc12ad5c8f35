-- promise.redis.parser: RESP2/RESP3 replies, whole, split at every byte,
-- and hostile input (no server needed).
local parser = require("promise.redis.parser")

--- Parses `chunks` (a string or a list of strings); returns the replies as
--- { value, kind } pairs and the feed error, if any.
local function parse(chunks, opts)
  if type(chunks) == "string" then chunks = { chunks } end
  local out = {}
  local o = { onreply = function(v, kind) out[#out + 1] = { v, kind } end }
  for k, v in pairs(opts or {}) do o[k] = v end
  local p = parser.new(o)
  local err
  for _, c in ipairs(chunks) do
    local ok, e = p:feed(c)
    if not ok then err = e break end
  end
  return out, err, p
end

--- The replies of `s` fed one way must equal those fed whole.
local function splits(s)
  local whole = parse(s)
  for i = 1, #s - 1 do
    local got, err = parse({ s:sub(1, i), s:sub(i + 1) })
    assert.is_nil(err)
    assert.same(whole, got)
  end
  local bytes = {}
  for i = 1, #s do bytes[i] = s:sub(i, i) end
  assert.same(whole, (parse(bytes)))
  return whole
end

local CASES = {
  { "+OK\r\n", "OK" },
  { ":42\r\n", 42 },
  { ":-7\r\n", -7 },
  { "$5\r\nhello\r\n", "hello" },
  { "$0\r\n\r\n", "" },
  { "$-1\r\n", nil },
  { "*-1\r\n", nil },
  { "$3\r\na\0b\r\n", "a\0b" },
  { "$4\r\na\r\nb\r\n", "a\r\nb" },
  { "*3\r\n$1\r\na\r\n$-1\r\n:3\r\n", { "a", nil, 3, n = 3 } },
  { "*0\r\n", { n = 0 } },
  { "*2\r\n*1\r\n:1\r\n*0\r\n", { { 1, n = 1 }, { n = 0 }, n = 2 } },
  { "_\r\n", nil },
  { "#t\r\n", true },
  { "#f\r\n", false },
  { ",3.5\r\n", 3.5 },
  { ",inf\r\n", math.huge },
  { ",-inf\r\n", -math.huge },
  { ",1e3\r\n", 1000.0 },
  { "(12345678901234567890\r\n", "12345678901234567890" },
  { "=8\r\ntxt:some\r\n", "some" },
  { "%2\r\n+a\r\n:1\r\n$1\r\nb\r\n_\r\n", { a = 1 } },
  { "~2\r\n+x\r\n+y\r\n", { "x", "y", n = 2 } },
  { "|1\r\n+ttl\r\n:3\r\n+after\r\n", "after" },
  { "*2\r\n|1\r\n+k\r\n+v\r\n:1\r\n:2\r\n", { 1, 2, n = 2 } },
}

describe("parser", function()
  describe("every reply type", function()
    for _, c in ipairs(CASES) do
      it(("parses %q whole and split at every byte"):format(c[1]), function()
        local got = splits(c[1])
        assert.equal(1, #got)
        assert.same(c[2], got[1][1])
        assert.is_nil(got[1][2])
      end)
    end

    it("gives NaN for ,nan", function()
      local got = parse(",nan\r\n")
      assert.is_true(got[1][1] ~= got[1][1])
    end)

    it("marks a top-level error reply, through makeError", function()
      local got = splits("-ERR bad thing\r\n")
      assert.equal("error", got[1][2])
      assert.equal("ERR bad thing", got[1][1].message)
      got = parse("!9\r\nSYNTAX no\r\n", { makeError = function(t) return { e = t } end })
      assert.same({ { { e = "SYNTAX no" }, "error" } }, got)
    end)

    it("keeps errors inside arrays as values of a normal reply", function()
      local got = splits("*2\r\n+OK\r\n-WRONGTYPE x\r\n")
      assert.is_nil(got[1][2])
      assert.equal("WRONGTYPE x", got[1][1][2].message)
    end)

    it("marks a top-level push, and only a top-level one", function()
      local got = splits(">3\r\n+message\r\n+ch\r\n+hi\r\n*1\r\n>0\r\n>0\r\n")
      assert.same({ { { "message", "ch", "hi", n = 3 }, "push" },
        { { { n = 0 }, n = 1 } }, { { n = 0 }, "push" } }, got)
    end)

    it("delivers many replies from one chunk, in order", function()
      local s = ("+OK\r\n:1\r\n$1\r\nx\r\n"):rep(1000)
      local got = parse(s)
      assert.equal(3000, #got)
      assert.same("x", got[3000][1])
    end)

    it("joins a 10 MB bulk string sent in 64 KiB chunks", function()
      local big = ("0123456789abcdef"):rep(10 * 65536)
      local s = "$" .. #big .. "\r\n" .. big .. "\r\n:1\r\n"
      local chunks = {}
      for i = 1, #s, 65536 do chunks[#chunks + 1] = s:sub(i, i + 65535) end
      local got, err = parse(chunks)
      assert.is_nil(err)
      assert.equal(2, #got)
      assert.is_true(got[1][1] == big)
      assert.equal(1, got[2][1])
    end)

    it("drops map entries whose key cannot index a table", function()
      local got = splits("%2\r\n_\r\n:1\r\n,nan\r\n:2\r\n")
      assert.same({}, got[1][1])
    end)
  end)

  describe("hostile input", function()
    local BAD = {
      "$-2\r\n", "*-5\r\n", "%-1\r\n", "$abc\r\n", "$99999999999999999999\r\n",
      "$1073741824\r\n", ":12a\r\n", ":0x10\r\n", ": 1\r\n", ":99999999999999999999\r\n",
      "#x\r\n", "_x\r\n", "?3\r\n", "$3\r\nabcXY", "+a\rb\r\n", "=3\r\nabc\r\n",
      "$?\r\n", ",abc\r\n", "\0\r\n", "*1\r\n$2\r\nabcd\r\n",
    }
    for _, s in ipairs(BAD) do
      it(("rejects %q with a protocol error and delivers nothing"):format(s), function()
        local got, err = parse(s)
        assert.same({}, got)
        assert.matches("^protocol error: ", err)
      end)
    end

    it("rejects a huge length at once, before its payload", function()
      local got, err = parse("$600000000\r\n")
      assert.same({}, got)
      assert.matches("longer than the limit", err)
      err = select(2, parse("$2000\r\n", { maxBulk = 1000 }))
      assert.matches("longer than the limit", err)
    end)

    it("rejects nesting deeper than maxDepth without recursing", function()
      local got, err = parse(("*1\r\n"):rep(100000))
      assert.same({}, got)
      assert.matches("nesting", err)
      got, err = parse(("*1\r\n"):rep(5) .. ":1\r\n", { maxDepth = 5 })
      assert.is_nil(err)
      assert.equal(1, #got)
      err = select(2, parse(("*1\r\n"):rep(6) .. ":1\r\n", { maxDepth = 5 }))
      assert.matches("nesting", err)
    end)

    it("does not preallocate for a huge announced array", function()
      local got, err, p = parse("*2147483647\r\n:1\r\n")
      assert.is_nil(err)
      assert.same({}, got)
      assert.is_true(p:busy())
      assert.is_true(collectgarbage("count") < 1024 * 1024)
    end)

    it("joins the chunks of a long line once, not once per chunk", function()
      local p = parser.new{ onreply = function() end }
      local chunk = ("a"):rep(65536)
      assert(p:feed("+"))
      for _ = 1, 10 do assert(p:feed(chunk)) end
      -- nothing was joined: the chunks wait apart until one holds "\n"
      assert.equal(10, p.nparts)
      local got
      p.onreply = function(v) got = v end
      assert(p:feed("b\r\n"))
      assert.equal(655361, #got)
      assert.equal(0, p.nparts)
    end)

    it("rejects a line longer than 16 MiB as it grows", function()
      local p = parser.new{ onreply = function() error("no reply expected") end }
      local chunk = ("a"):rep(1024 * 1024)
      local ok, err
      assert(p:feed("+"))
      for _ = 1, 20 do
        ok, err = p:feed(chunk)
        if not ok then break end
      end
      assert.equal("protocol error: line too long", err)
    end)

    it("stays dead after a protocol error", function()
      local _, err, p = parse("+OK\r\n?\r\n")
      assert.is_string(err)
      local ok, err2 = p:feed("+OK\r\n")
      assert.is_nil(ok)
      assert.equal(err, err2)
    end)

    it("fails or waits on random bytes, never raises or loops", function()
      math.randomseed(12)
      local alphabet = "+-:$*%~>|_#,(!=\r\n0123456789-?abc\0"
      for _ = 1, 3000 do
        local n = math.random(1, 40)
        local t = {}
        for i = 1, n do
          local k = math.random(1, #alphabet)
          t[i] = alphabet:sub(k, k)
        end
        local s = table.concat(t)
        local cut = math.random(0, #s)
        local ok1, got1, err1 = pcall(parse, { s:sub(1, cut), s:sub(cut + 1) })
        assert.is_true(ok1, got1)
        local ok2, got2, err2 = pcall(parse, s)
        assert.is_true(ok2, got2)
        -- the split feed delivers exactly what the whole feed delivers
        assert.same(got2, got1)
        assert.equal(err2 == nil, err1 == nil)
      end
    end)

    it("parses random valid replies identically however they are cut", function()
      math.randomseed(7)
      local function gen(depth)
        local r = math.random(1, depth > 3 and 5 or 8)
        if r == 1 then return ":" .. math.random(-1000, 1000) .. "\r\n"
        elseif r == 2 then
          local s = ("x\0\r\n"):rep(math.random(0, 3))
          return "$" .. #s .. "\r\n" .. s .. "\r\n"
        elseif r == 3 then return "+ok\r\n"
        elseif r == 4 then return "-ERR e\r\n"
        elseif r == 5 then return "_\r\n"
        else
          local n = math.random(0, 3)
          local parts = { (r == 6 and "*" or r == 7 and "~" or "%") .. n .. "\r\n" }
          for k = 1, n do
            -- map keys are scalars: table keys could not be compared
            if r == 8 then parts[#parts + 1] = ":" .. k .. "\r\n" end
            parts[#parts + 1] = gen(depth + 1)
          end
          return table.concat(parts)
        end
      end
      for _ = 1, 300 do
        local s = gen(0) .. gen(0)
        local whole, err = parse(s)
        assert.is_nil(err)
        assert.equal(2, #whole)
        local chunks, i = {}, 1
        while i <= #s do
          local k = math.random(1, 5)
          chunks[#chunks + 1] = s:sub(i, i + k - 1)
          i = i + k
        end
        local got = parse(chunks)
        assert.same(whole, got)
      end
    end)
  end)
end)
