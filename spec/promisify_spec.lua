-- docs/manual/promisify.md: Promise.promisify, on plain
-- callback functions and on real luv functions driven by the real loop.
local Promise = require("promise")
local uv = require("luv")
local H = require("spec.support.helpers")

local unhandled

-- Handles still active once the loop has had one turn.
local active_handles = H.active_handles_after_turn

local state, settled = H.settle, H.settle_handled

before_each(function()
  unhandled = H.capture_unhandled()
end)

after_each(function()
  assert.same({}, active_handles(), "a handle was left active")
  Promise.drain()
  H.check_reported(unhandled)
end)

describe("Promise.promisify", function()
  describe("with plain callback functions", function()
    it("passes the arguments and appends the callback; fulfils with the first value after err", function()
      local got
      local add = Promise.promisify(function(a, b, cb)
        got = { a, b, cb }
        cb(nil, a + b, "dropped")
      end)
      local p = add(2, 3)
      assert.equal(2, got[1])
      assert.equal(3, got[2])
      assert.is_function(got[3])
      assert.same({ "fulfilled", 5 }, { state(p) })
    end)

    it("rejects with err, unchanged, when it is not nil (false included)", function()
      local e = { code = "EFAIL" }
      local p = Promise.promisify(function(cb) cb(e, "ignored") end)()
      local st, r = settled(p)
      assert.equal("rejected", st)
      assert.equal(e, r)
      local q = Promise.promisify(function(cb) cb(false) end)()
      assert.same({ "rejected", false }, { settled(q) })
    end)

    it("fulfils with nil when the callback gets no value", function()
      local p = Promise.promisify(function(cb) cb() end)()
      assert.same({ "fulfilled" }, { state(p) })
      assert.is_nil(select(2, p:state()))
    end)

    it("opts.multi fulfils with table.pack of every value after err, nils and count kept", function()
      local f = Promise.promisify(function(cb) cb(nil, 1, nil, "three", nil) end, { multi = true })
      local st, v = state(f())
      assert.equal("fulfilled", st)
      assert.same({ 1, nil, "three", nil, n = 4 }, v)
      local g = Promise.promisify(function(cb) cb(nil) end, { multi = true })
      assert.same({ n = 0 }, select(2, state(g())))
      local h = Promise.promisify(function(cb) cb("bad", 1) end, { multi = true })
      assert.same({ "rejected", "bad" }, { settled(h()) })
    end)

    it("puts the callback right after the last argument given, explicit trailing nils included", function()
      local seen
      local f = Promise.promisify(function(...) seen = table.pack(...); seen[seen.n](nil, "x") end)
      state(f(nil, 2, nil))
      assert.equal(4, seen.n)
      assert.is_nil(seen[1])
      assert.equal(2, seen[2])
      assert.is_nil(seen[3])
      assert.is_function(seen[4])
      state(f())
      assert.equal(1, seen.n)
      assert.is_function(seen[1])
    end)

    it("settles later when the callback is called later, and only the first call counts", function()
      local cb
      local f = Promise.promisify(function(c) cb = c end)
      local p = f()
      assert.equal("pending", state(p))
      cb(nil, "first")
      cb("second error")
      cb(nil, "third")
      assert.same({ "fulfilled", "first" }, { state(p) })
    end)

    it("settles through the microtask queue like any promise", function()
      local log = {}
      local f = Promise.promisify(function(cb) cb(nil, "v") end)
      f():next(function(v) log[#log + 1] = "then " .. v end)
      log[#log + 1] = "sync"
      Promise.drain()
      assert.same({ "sync", "then v" }, log)
    end)

    it("rejects with exactly what fn raises", function()
      local boom = { "boom" }
      local p = Promise.promisify(function() error(boom) end)()
      assert.same({ "rejected", boom }, { settled(p) })
    end)

    it("a return of nil, err (luv's failure to start a request) rejects with err", function()
      local p = Promise.promisify(function() return nil, "EINVAL: invalid argument", "EINVAL" end)()
      assert.same({ "rejected", "EINVAL: invalid argument" }, { settled(p) })
      -- other return values are ignored
      local cb
      local q = Promise.promisify(function(c) cb = c; return nil end)()
      assert.equal("pending", state(q))
      cb(nil, 1)
      assert.same({ "fulfilled", 1 }, { state(q) })
      -- a callback called synchronously wins over the return values
      local r = Promise.promisify(function(c) c(nil, "ok"); return nil, "ignored" end)()
      assert.same({ "fulfilled", "ok" }, { state(r) })
    end)

    it("works with a method called with explicit self", function()
      local obj = { base = 10 }
      function obj.add(self, n, cb) cb(nil, self.base + n) end
      local add = Promise.promisify(obj.add)
      assert.same({ "fulfilled", 15 }, { state(add(obj, 5)) })
    end)

    it("accepts a callable table", function()
      local callable = setmetatable({}, { __call = function(_, x, cb) cb(nil, x * 2) end })
      assert.same({ "fulfilled", 8 }, { state(Promise.promisify(callable)(4)) })
    end)

    it("returns a new promise per call", function()
      local f = Promise.promisify(function(x, cb) cb(nil, x) end)
      local a, b = f(1), f(2)
      assert.are_not.equal(a, b)
      assert.same({ "fulfilled", 1 }, { state(a) })
      assert.same({ "fulfilled", 2 }, { state(b) })
    end)
  end)

  describe("with luv functions on the real loop", function()
    local path

    before_each(function()
      path = os.tmpname()
      local f = assert(io.open(path, "w"))
      f:write("hello promisify\n")
      f:close()
    end)

    after_each(function()
      os.remove(path)
    end)

    it("uv.fs_stat fulfils with the stat table of an existing file", function()
      local st = Promise.promisify(uv.fs_stat)(path):wait()
      assert.equal("file", st.type)
      assert.equal(16, st.size)
    end)

    it("uv.fs_stat rejects with luv's error string for a missing file", function()
      local missing = path .. ".missing"
      local ok, err = pcall(function() return Promise.promisify(uv.fs_stat)(missing):wait() end)
      assert.is_false(ok)
      assert.equal("ENOENT: no such file or directory: " .. missing, err)
    end)

    it("uv.fs_open, fs_read and fs_close in sequence", function()
      local open = Promise.promisify(uv.fs_open)
      local read = Promise.promisify(uv.fs_read)
      local close = Promise.promisify(uv.fs_close)
      local fd = open(path, "r", 420):wait()
      assert.is_true(math.type(fd) == "integer" and fd >= 0)
      assert.equal("hello", read(fd, 5, 0):wait())
      assert.is_true(close(fd):wait())
      -- closing again fails: EBADF
      local ok, err = pcall(function() return close(fd):wait() end)
      assert.is_false(ok)
      assert.matches("^EBADF", err)
    end)

    it("opts.multi on a luv function", function()
      local v = Promise.promisify(uv.fs_stat, { multi = true })(path):wait()
      assert.equal(1, v.n)
      assert.equal("file", v[1].type)
    end)

    it("works under Promise.run with await", function()
      local ok, sizes = Promise.run(function()
        local stat = Promise.promisify(uv.fs_stat)
        local all = Promise.await(Promise.all{ stat(path), stat(path) })
        return { all[1].size, all[2].size }
      end)
      assert.is_true(ok)
      assert.same({ 16, 16 }, sizes)
    end)

    it("a luv argument error rejects (the promise never hangs)", function()
      local p = Promise.promisify(uv.fs_open)(path, "no-such-flag", 420)
      local st, err = settled(p)
      assert.equal("rejected", st)
      assert.matches("no%-such%-flag", tostring(err))
    end)
  end)

  describe("bad arguments", function()
    it("raise Lua-style errors pointing at the caller", function()
      local ok, e = pcall(function() Promise.promisify() end)
      assert.is_false(ok)
      assert.matches("^spec/promisify_spec%.lua:%d+: bad argument #1 to 'promisify' %(function expected, got nil%)$", e)
      local function msg(f)
        local ok2, e2 = pcall(f)
        assert.is_false(ok2)
        assert.matches("^spec/promisify_spec%.lua:%d+: ", e2)  -- the call below
        return (e2:gsub("^[^:]*:%d+: ", ""))
      end
      assert.equal("bad argument #1 to 'promisify' (function expected, got string)",
        msg(function() Promise.promisify("fs_stat") end))
      assert.equal("bad argument #2 to 'promisify' (table expected, got boolean)",
        msg(function() Promise.promisify(print, true) end))
      assert.equal("bad argument #2 to 'promisify' (field 'multi': boolean expected, got number)",
        msg(function() Promise.promisify(print, { multi = 1 }) end))
      assert.equal("bad argument #2 to 'promisify' (unknown option mutli)",
        msg(function() Promise.promisify(print, { mutli = true }) end))
    end)
  end)
end)
