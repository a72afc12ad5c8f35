-- docs/manual/fs.md, promise.fs: real files in a temporary directory created and removed
-- by the spec; luv errors as IOError; cancellation with uv.cancel; no file
-- descriptor left open after an error or an abort.
local Promise = require("promise")
local fs = require("promise.fs")
local uv = require("luv")
local H = require("spec.support.helpers")

local await = Promise.await

local run, rejection = H.run, H.rejection

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local count_fds, active_handles, block_pool = H.count_fds, H.active_handles, H.block_pool

local dir, fds_before

before_each(function()
  fds_before = count_fds()
  dir = fs.mkdtemp(uv.os_tmpdir() .. "/promise-fs-spec-"):wait()
  assert.equal("directory", uv.fs_stat(dir).type)
end)

after_each(function()
  fs.rm(dir, { recursive = true }):wait()
  assert.is_nil(uv.fs_stat(dir))
  assert.equal(fds_before, count_fds())
  assert.same({}, active_handles())
end)

describe("fs.readFile / writeFile / appendFile", function()
  it("round-trips binary data, larger than one read", function()
    local bytes = {}
    for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
    local data = table.concat(bytes):rep(1000)  -- 256000 bytes, all byte values
    local got = run(function()
      await(fs.writeFile(dir .. "/bin", data))
      return await(fs.readFile(dir .. "/bin"))
    end)
    assert.equal(#data, #got)
    assert.is_true(data == got)
  end)

  it("reads an empty file as \"\" and a /proc file whose size is 0", function()
    local empty, proc = table.unpack(run(function()
      await(fs.writeFile(dir .. "/empty", ""))
      return { await(fs.readFile(dir .. "/empty")), await(fs.readFile("/proc/self/status")) }
    end))
    assert.equal("", empty)
    assert.truthy(proc:find("^Name:"))
  end)

  it("writeFile replaces, appendFile appends, opts.mode sets the permissions", function()
    local content, mode = table.unpack(run(function()
      await(fs.writeFile(dir .. "/f", "old contents\n"))
      await(fs.writeFile(dir .. "/f", "one\n", { mode = 384 }))
      await(fs.appendFile(dir .. "/f", "two\n"))
      await(fs.appendFile(dir .. "/g", "created\n", { mode = 384 }))
      return { await(fs.readFile(dir .. "/f")), await(fs.stat(dir .. "/g")).mode & 511 }
    end))
    assert.equal("one\ntwo\n", content)
    assert.equal(384, mode)  -- 0600
    assert.equal("created\n", slurp(dir .. "/g"))
  end)

  it("opts.flag \"wx\" refuses an existing file with EEXIST", function()
    local err = run(function()
      await(fs.writeFile(dir .. "/f", "x", { flag = "wx" }))
      return rejection(fs.writeFile(dir .. "/f", "y", { flag = "wx" }))
    end)
    assert.is_true(Promise.IOError.is(err))
    assert.equal("EEXIST", err.code)
    assert.equal("x", slurp(dir .. "/f"))
  end)

  it("a missing file rejects with an IOError ENOENT carrying path, syscall and luv's text", function()
    local path = dir .. "/missing.txt"
    local err = run(function() return rejection(fs.readFile(path)) end)
    assert.is_true(Promise.IOError.is(err))
    assert.is_true(Promise.Error.is(err))
    assert.equal("IOError", err.name)
    assert.equal("ENOENT", err.code)
    assert.equal(path, err.path)
    assert.equal("open", err.syscall)
    assert.equal("ENOENT: no such file or directory: " .. path, err.message)
    assert.equal("IOError: ENOENT: no such file or directory: " .. path, tostring(err))
  end)

  it("reading a directory fails with EISDIR and closes the descriptor it opened", function()
    local fds = count_fds()
    local err = run(function() return rejection(fs.readFile(dir)) end)
    assert.equal("EISDIR", err.code)
    assert.equal("read", err.syscall)
    assert.equal(fds, count_fds())
  end)

  it("writing into a missing directory fails with ENOENT", function()
    local err = run(function() return rejection(fs.writeFile(dir .. "/no/such/file", "x")) end)
    assert.equal("ENOENT", err.code)
    assert.equal(dir .. "/no/such/file", err.path)
  end)

  it("bad arguments raise Lua errors at once", function()
    assert.has_error(function() fs.readFile(nil) end,
      "bad argument #1 to 'readFile' (string expected, got nil)")
    assert.has_error(function() fs.writeFile("x", 42) end,
      "bad argument #2 to 'writeFile' (string expected, got number)")
    assert.has_error(function() fs.readFile("x", { signal = true }) end,
      "bad argument #2 to 'readFile' (field 'signal': AbortSignal expected, got boolean)")
    assert.has_error(function() fs.writeFile("x", "", { mode = "644" }) end,
      "bad argument #3 to 'writeFile' (field 'mode' must be an integer, got string)")
  end)
end)

describe("fs.stat / lstat / access / readdir", function()
  it("stat follows links, lstat does not", function()
    local st, lst, target = table.unpack(run(function()
      await(fs.writeFile(dir .. "/file", "12345"))
      assert(uv.fs_symlink(dir .. "/file", dir .. "/link"))
      return { await(fs.stat(dir .. "/link")), await(fs.lstat(dir .. "/link")),
               await(fs.stat(dir .. "/file")) }
    end))
    assert.equal("file", st.type)
    assert.equal(5, st.size)
    assert.equal("link", lst.type)
    assert.equal(target.ino, st.ino)
  end)

  it("access resolves true, or rejects with ENOENT", function()
    local ok, err = table.unpack(run(function()
      await(fs.writeFile(dir .. "/f", ""))
      return { await(fs.access(dir .. "/f", "rw")), rejection(fs.access(dir .. "/nope")) }
    end))
    assert.is_true(ok)
    assert.equal("ENOENT", err.code)
    assert.equal("access", err.syscall)
  end)

  it("readdir lists names and types sorted by name", function()
    local list = run(function()
      await(fs.writeFile(dir .. "/b.txt", ""))
      await(fs.mkdir(dir .. "/c"))
      await(fs.writeFile(dir .. "/a.txt", ""))
      assert(uv.fs_symlink("a.txt", dir .. "/d"))
      return await(fs.readdir(dir))
    end)
    assert.same({
      { name = "a.txt", type = "file" }, { name = "b.txt", type = "file" },
      { name = "c", type = "directory" }, { name = "d", type = "link" },
    }, list)
  end)

  it("readdir of a missing directory rejects with ENOENT", function()
    local err = run(function() return rejection(fs.readdir(dir .. "/nope")) end)
    assert.equal("ENOENT", err.code)
    assert.equal("scandir", err.syscall)
  end)
end)

describe("fs.mkdir / rm / rename / unlink / copyFile / mkdtemp", function()
  it("mkdir: ENOENT for missing parents unless recursive; recursive ignores an existing directory", function()
    local e1, e2, e3 = table.unpack(run(function()
      local a = rejection(fs.mkdir(dir .. "/x/y/z"))
      await(fs.mkdir(dir .. "/x/y/z", { recursive = true }))
      await(fs.mkdir(dir .. "/x/y/z", { recursive = true }))
      local b = rejection(fs.mkdir(dir .. "/x/y/z"))
      await(fs.writeFile(dir .. "/file", ""))
      local c = rejection(fs.mkdir(dir .. "/file", { recursive = true }))
      return { a, b, c }
    end))
    assert.equal("ENOENT", e1.code)
    assert.equal("EEXIST", e2.code)
    assert.equal("EEXIST", e3.code)
    assert.equal("directory", uv.fs_stat(dir .. "/x/y/z").type)
  end)

  it("rm: a file; a directory only with recursive; force ignores a missing path", function()
    local eisdir, enoent = table.unpack(run(function()
      await(fs.mkdir(dir .. "/t/u/v", { recursive = true }))
      await(fs.writeFile(dir .. "/t/u/v/f", "x"))
      await(fs.writeFile(dir .. "/t/g", "x"))
      assert(uv.fs_symlink(dir .. "/t/u", dir .. "/t/link"))  -- removed, not followed
      await(fs.rm(dir .. "/t/g"))
      local a = rejection(fs.rm(dir .. "/t"))
      await(fs.rm(dir .. "/t", { recursive = true }))
      local b = rejection(fs.rm(dir .. "/t"))
      assert.is_nil(await(fs.rm(dir .. "/t", { force = true })))
      return { a, b }
    end))
    assert.equal("EISDIR", eisdir.code)
    assert.equal("ENOENT", enoent.code)
    assert.is_nil(uv.fs_stat(dir .. "/t"))
  end)

  it("rename, copyFile and unlink", function()
    local moved, copied, err = table.unpack(run(function()
      await(fs.writeFile(dir .. "/a", "data"))
      await(fs.rename(dir .. "/a", dir .. "/b"))
      await(fs.copyFile(dir .. "/b", dir .. "/c"))
      local m, c = await(fs.readFile(dir .. "/b")), await(fs.readFile(dir .. "/c"))
      await(fs.unlink(dir .. "/b"))
      return { m, c, rejection(fs.unlink(dir .. "/b")) }
    end))
    assert.equal("data", moved)
    assert.equal("data", copied)
    assert.equal("ENOENT", err.code)
    assert.is_nil(uv.fs_stat(dir .. "/a"))
    assert.is_nil(uv.fs_stat(dir .. "/b"))
  end)

  it("mkdtemp appends six random characters to the prefix", function()
    local a, b = table.unpack(run(function()
      return { await(fs.mkdtemp(dir .. "/tmp-")), await(fs.mkdtemp(dir .. "/tmp-")) }
    end))
    assert.truthy(a:match("^" .. dir:gsub("%p", "%%%0") .. "/tmp%-......$"))
    assert.not_equal(a, b)
    assert.equal("directory", uv.fs_stat(a).type)
  end)
end)

describe("fs.open file handles", function()
  it("reads, writes at offsets, stats, syncs and closes", function()
    local log = run(function()
      local out = {}
      local fh = await(fs.open(dir .. "/f", "w+"))
      assert.equal(5, await(fh:write("hello")))
      await(fh:write("J", 0))
      await(fh:sync())
      out[#out + 1] = await(fh:stat()).size
      out[#out + 1] = await(fh:read(3, 1))
      out[#out + 1] = await(fh:read(100, 0))
      out[#out + 1] = tostring(await(fh:read(100, 5)))  -- end of file
      await(fh:close())
      assert.is_nil(fh.fd)
      return out
    end)
    assert.same({ 5, "ell", "Jello", "nil" }, log)
  end)

  it("reads sequentially from the current position by default", function()
    local chunks = run(function()
      await(fs.writeFile(dir .. "/f", "abcdefg"))
      local fh = await(fs.open(dir .. "/f"))
      local list = {}
      while true do
        local s = await(fh:read(3))
        if not s then break end
        list[#list + 1] = s
      end
      await(fh:close())
      return list
    end)
    assert.same({ "abc", "def", "g" }, chunks)
  end)

  it("after close, calls reject with EBADF and close returns the same promise", function()
    local err, same = table.unpack(run(function()
      local fh = await(fs.open(dir .. "/f", "w"))
      local p1 = fh:close()
      local p2 = fh:close()
      await(p1)
      return { rejection(fh:read()), p1 == p2 }
    end))
    assert.equal("EBADF", err.code)
    assert.is_true(same)
  end)

  it("close waits for requests in flight before closing the descriptor", function()
    local got = run(function()
      await(fs.writeFile(dir .. "/f", "content"))
      local fh = await(fs.open(dir .. "/f"))
      local r = fh:read(100, 0)
      local c = fh:close()
      return { await(r), await(c) }
    end)
    assert.same({ "content" }, got)
  end)

  it("opening a missing file rejects with ENOENT; open(path, opts) works too", function()
    local err, fd = table.unpack(run(function()
      local e = rejection(fs.open(dir .. "/nope"))
      local fh = await(fs.open(dir .. "/new", { flags = "wx", mode = 384 }))
      local n = fh.fd
      await(fh:close())
      return { e, n }
    end))
    assert.equal("ENOENT", err.code)
    assert.equal("integer", math.type(fd))
    assert.equal(384, uv.fs_stat(dir .. "/new").mode & 511)
  end)

  it("a handle that is dropped unclosed is closed by the garbage collector", function()
    local fds = count_fds()
    run(function()
      await(fs.open(dir .. "/f", "w"))
    end)
    assert.equal(fds + 1, count_fds())
    collectgarbage()
    collectgarbage()
    assert.equal(fds, count_fds())
  end)

  it("a <close> variable closes the handle at the end of its scope", function()
    local fds = count_fds()
    run(function()
      local fh <close> = await(fs.open(dir .. "/f", "w"))
      assert.is_not_nil(fh.fd)
      assert.equal(fds + 1, count_fds())
    end)
    assert.equal(fds, count_fds())
  end)
end)

describe("fs cancellation with opts.signal", function()
  it("an already aborted signal rejects with its reason and does nothing", function()
    local reason = Promise.Error("stop")
    local err = run(function()
      return rejection(fs.writeFile(dir .. "/f", "x", { signal = Promise.AbortSignal.abort(reason) }))
    end)
    assert.equal(reason, err)
    assert.is_nil(uv.fs_stat(dir .. "/f"))
  end)

  it("a request still queued in the thread pool is cancelled with uv.cancel", function()
    local log = {}
    local err = run(function()
      local release, blocked = block_pool(dir .. "/fifo")
      local ac = Promise.AbortController()
      local p = fs.mkdir(dir .. "/never", { signal = ac.signal })
      p:catch(function() log[#log + 1] = "rejected" end)
      Promise.queueMicrotask(function()
        log[#log + 1] = "abort"
        ac:abort()
      end)
      local e = rejection(p)
      -- the pool is still blocked: the request can only have been cancelled
      log[#log + 1] = "pool " .. blocked:state()
      await(release())
      return e
    end)
    assert.is_true(Promise.AbortError.is(err))
    assert.same({ "abort", "rejected", "pool pending" }, log)
    assert.is_nil(uv.fs_stat(dir .. "/never"))
  end)

  it("an aborted readFile closes its descriptor whatever step it was at", function()
    run(function() await(fs.writeFile(dir .. "/f", ("x"):rep(300000))) end)
    local fds = count_fds()
    local outcomes = {}
    -- abort after 0, 1, 2, ... loop iterations: at open, fstat, one of the reads, or after
    for step = 0, 8 do
      local reason = Promise.Error("abort at step " .. step)
      local got = run(function()
        local ac = Promise.AbortController()
        local p = fs.readFile(dir .. "/f", { signal = ac.signal })
        local n = 0
        local function tick()
          if n == step then ac:abort(reason) return end
          n = n + 1
          Promise.setImmediate(tick)
        end
        tick()
        local ok, e = pcall(await, p)
        assert.equal(fds, count_fds())
        if ok then
          assert.equal(300000, #e)
          return "read"
        end
        assert.equal(reason, e)
        return "aborted"
      end)
      outcomes[#outcomes + 1] = got
      assert.equal(fds, count_fds())
    end
    assert.equal("aborted", outcomes[1])
  end)

  it("a read already running cannot be cancelled: the call waits for it, then closes the file", function()
    local fifo = dir .. "/fifo"
    assert.is_true(os.execute("mkfifo " .. fifo))
    local reason = Promise.Error("enough")
    local log = {}
    local err = run(function()
      local ac = Promise.AbortController()
      local p = fs.readFile(fifo, { signal = ac.signal })
      p:catch(function() log[#log + 1] = "rejected" end)
      -- blocks until readFile's open (in the thread pool) opens the read side
      local wfd = assert(uv.fs_open(fifo, "w", 0))
      await(Promise.sleep(30))  -- readFile is now blocked in read(2)
      local fds = count_fds()
      ac:abort(reason)
      await(Promise.sleep(30))
      log[#log + 1] = p:state()   -- still waiting for the read
      log[#log + 1] = "write"
      uv.fs_write(wfd, "data")    -- the read returns
      local e = rejection(p)
      log[#log + 1] = count_fds() == fds - 1 and "reader closed" or "reader still open"
      uv.fs_close(wfd)
      return e
    end)
    assert.equal(reason, err)
    assert.same({ "pending", "write", "rejected", "reader closed" }, log)
  end)

  it("an open completed after the abort has its descriptor closed", function()
    local fds = count_fds()
    local err = run(function()
      local ac = Promise.AbortController()
      local p = fs.open(dir .. "/f", "w", nil, { signal = ac.signal })
      -- the thread pool is idle: the open runs at once and cannot be
      -- cancelled any more when the abort comes from another thread's
      -- completion; spin until it has surely completed
      local stop = uv.hrtime() + 20e6
      while uv.hrtime() < stop do end
      ac:abort()
      return rejection(p)
    end)
    assert.is_true(Promise.AbortError.is(err))
    assert.equal(fds, count_fds())
    assert.equal("file", uv.fs_stat(dir .. "/f").type)  -- it did run
  end)
end)
