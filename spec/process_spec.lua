-- docs/manual/process.md, promise.process: real child processes with stdin input, exit
-- codes, output, timeout, kill by abort, command not found; no handle or
-- descriptor left behind.
local Promise = require("promise")
local process = require("promise.process")
local uv = require("luv")
local H = require("spec.support.helpers")

local await = Promise.await

local run, rejection, count_fds = H.run, H.rejection, H.count_fds

--- Runs `fn(clock)` as the main async function on a fake clock (exec's
--- timeout timer is then under the spec's control); restores real time.
local function with_clock(fn)
  local clock = Promise.useFakeTimers(0)
  local ok, v = pcall(run, function() return fn(clock) end)
  clock:restore()
  if not ok then error(v, 0) end
  return v
end

local function handles()
  return H.active_handles({ "process", "pipe" })
end

local fds_before

setup(function()
  -- the first child allocates descriptors that stay (libuv's signal pipe)
  run(function() await(process.exec("true")) end)
end)

before_each(function()
  fds_before = count_fds()
end)

after_each(function()
  assert.same({}, handles())
  assert.equal(fds_before, count_fds())
end)

describe("process.exec", function()
  it("feeds opts.input to stdin and collects stdout", function()
    local r = run(function() return await(process.exec("sort", {}, { input = "pear\napple\nfig\n" })) end)
    assert.same({ code = 0, stdout = "apple\nfig\npear\n", stderr = "" }, r)
    assert.is_nil(r.signal)
  end)

  it("stdin is at end of file without input", function()
    local r = run(function() return await(process.exec("wc", { "-c" })) end)
    assert.equal(0, r.code)
    assert.equal("0", r.stdout:match("%d+"))
  end)

  it("a large input is written in full", function()
    local input = ("0123456789abcdef"):rep(65536)  -- 1 MiB
    local r = run(function() return await(process.exec("wc", { "-c" }, { input = input })) end)
    assert.equal(tostring(#input), r.stdout:match("%d+"))
  end)

  it("a child that exits without reading its input does not kill us (EPIPE, no SIGPIPE)", function()
    local r = run(function()
      return await(process.exec("true", nil, { input = ("x"):rep(4 * 1024 * 1024) }))
    end)
    assert.equal(0, r.code)
  end)

  it("resolves with a non-zero exit code, stderr, cwd and env", function()
    local r = run(function()
      return await(process.exec("sh", { "-c", 'echo "$GREETING from $(pwd)"; echo oops >&2; exit 3' },
                                { cwd = "/", env = { GREETING = "hi", PATH = os.getenv("PATH") } }))
    end)
    assert.same({ code = 3, stdout = "hi from /\n", stderr = "oops\n" }, r)
  end)

  it("reports a child killed by a signal with code nil and the signal's name", function()
    local r = run(function() return await(process.exec("sh", { "-c", "kill -KILL $$" })) end)
    assert.is_nil(r.code)
    assert.equal("SIGKILL", r.signal)
  end)

  it("a command that is not found rejects with an IOError ENOENT", function()
    local err = run(function() return rejection(process.exec("no-such-command-here", { "x" })) end)
    assert.is_true(Promise.IOError.is(err))
    assert.equal("ENOENT", err.code)
    assert.equal("spawn", err.syscall)
    assert.equal("no-such-command-here", err.path)
    assert.equal("ENOENT: no such file or directory: no-such-command-here", err.message)
  end)

  it("a directory that does not exist as cwd rejects with ENOENT", function()
    local err = run(function() return rejection(process.exec("true", nil, { cwd = "/no/such/dir" })) end)
    assert.equal("ENOENT", err.code)
  end)

  it("opts.timeout kills the child when it is due and rejects with a TimeoutError carrying its output", function()
    local r = H.fifo()
    local err, pid, left = table.unpack(with_clock(function(clock)
      local p = process.exec("sh", { "-c", "echo started; echo $$ > " .. r.path .. "; exec sleep 60" },
                             { timeout = 100 })
      local pid = tonumber(await(r:line()))  -- the child is running
      clock:advance(99)
      local left = clock:countTimers()  -- not due yet: still armed
      clock:advance(1)
      return { rejection(p), pid, left }
    end))
    run(function() await(r:close()) end)
    assert.equal(1, left)
    assert.is_true(Promise.TimeoutError.is(err))
    assert.equal("exec timed out after 100 ms: sh", err.message)
    assert.equal("SIGTERM", err.signal)
    assert.is_nil(err.code)
    assert.equal("started\n", err.stdout)
    assert.equal("", err.stderr)
    assert.is_nil(uv.kill(pid, 0))  -- gone (and reaped) before the promise settled
  end)

  it("a child that finishes in time clears its timeout timer", function()
    local r, left = table.unpack(with_clock(function(clock)
      return { await(process.exec("echo", { "quick" }, { timeout = 5000 })), clock:countTimers() }
    end))
    assert.equal("quick\n", r.stdout)
    assert.equal(0, left)
  end)

  it("after a kill, output still held by a grandchild does not delay the result", function()
    local ready, go = H.fifo(), H.fifo()
    local err = with_clock(function(clock)
      -- the background read keeps stdout open after sh is killed, until we write to go
      local p = process.exec("sh", { "-c", "(read x < " .. go.path .. ") & echo $$ > " .. ready.path
                                           .. "; exec sleep 60" }, { timeout = 50 })
      await(ready:line())
      clock:advance(50)
      return rejection(p)
    end)
    -- the result came while the grandchild still held stdout: release it only now
    go:write("go\n")
    run(function() await(ready:close()); await(go:close()) end)
    assert.is_true(Promise.TimeoutError.is(err))
    assert.equal("SIGTERM", err.signal)
  end)

  it("opts.signal kills the child and rejects with the reason", function()
    local reason = Promise.Error("cancelled by user")
    local r = H.fifo()
    local err, pid = table.unpack(run(function()
      local ac = Promise.AbortController()
      local p = process.exec("sh", { "-c", "echo $$ > " .. r.path .. "; exec sleep 60" }, { signal = ac.signal })
      local pid = tonumber(await(r:line()))
      ac:abort(reason)
      local e = rejection(p)
      await(r:close())
      return { e, pid }
    end))
    assert.equal(reason, err)
    assert.is_nil(uv.kill(pid, 0))  -- killed (and reaped) before the promise settled
  end)

  it("opts.killSignal chooses the signal", function()
    local err = run(function()
      return rejection(process.exec("sleep", { "60" }, { timeout = 30, killSignal = "SIGKILL" }))
    end)
    assert.equal("SIGKILL", err.signal)
    err = run(function()
      return rejection(process.exec("sleep", { "60" }, { timeout = 30, killSignal = 9 }))
    end)
    assert.equal("SIGKILL", err.signal)
  end)

  it("an already aborted signal starts nothing", function()
    local reason = Promise.Error("never")
    local err = run(function()
      return rejection(process.exec("touch", { "/tmp/promise-process-spec-never" },
                                    { signal = Promise.AbortSignal.abort(reason) }))
    end)
    assert.equal(reason, err)
    assert.is_nil(uv.fs_stat("/tmp/promise-process-spec-never"))
  end)

  it("runs children concurrently", function()
    -- each child reports that it runs, then waits for go: all four report
    -- only if they run at the same time
    local ready, go = H.fifo(), H.fifo()
    local started, results = table.unpack(run(function()
      local list = {}
      for i = 1, 4 do
        list[i] = process.exec("sh", { "-c", ("echo %d > %s; read x < %s; echo %d"):format(i, ready.path, go.path, i) })
      end
      local started = {}
      for i = 1, 4 do started[i] = await(ready:line()) end
      go:write(("go\n"):rep(4))
      local results = await(Promise.all(list))
      await(ready:close())
      await(go:close())
      return { started, results }
    end))
    table.sort(started)
    assert.same({ "1", "2", "3", "4" }, started)
    for i = 1, 4 do assert.equal(i .. "\n", results[i].stdout) end
  end)

  it("bad arguments raise Lua errors at once", function()
    assert.has_error(function() process.exec(nil) end, "bad argument #1 to 'exec' (string expected, got nil)")
    assert.has_error(function() process.exec("ls", "-l") end, "bad argument #2 to 'exec' (table expected, got string)")
    assert.has_error(function() process.exec("ls", {}, { input = 5 }) end,
      "bad argument #3 to 'exec' (field 'input': string expected, got number)")
    assert.has_error(function() process.exec("ls", {}, { killSignal = "SIGNOPE" }) end,
      "bad argument #3 to 'exec' (field 'killSignal': signal name or number expected, got string)")
  end)
end)

describe("process.exec settles only after the output has ended", function()
  it("waits for output a grandchild writes to the inherited stdout after the child exited", function()
    -- sh holds the write end of the FIFO on fd 4, the grandchild reads it:
    -- the grandchild writes "late" only once sh has exited
    local fifo = os.tmpname()
    os.remove(fifo)
    assert.is_true(os.execute("mkfifo " .. fifo))
    local r = run(function()
      return await(process.exec("sh", { "-c", ('(cat "%s" > /dev/null; echo late) & exec 4> "%s"; echo early')
                                                 :format(fifo, fifo) }))
    end)
    os.remove(fifo)
    assert.same({ code = 0, stdout = "early\nlate\n", stderr = "" }, r)
  end)

  it("waits for a background writer as Node's exec does", function()
    local r = run(function()
      return await(process.exec("sh", { "-c", "(sleep 0.3; echo late) & echo early" }))
    end)
    assert.equal("early\nlate\n", r.stdout)
  end)

  it("40 children at once each get their whole output", function()
    local results = run(function()
      local list = {}
      for i = 1, 40 do list[i] = process.exec("sh", { "-c", "echo " .. i .. "; echo e" .. i .. " >&2" }) end
      return await(Promise.all(list))
    end)
    for i = 1, 40 do
      assert.same({ code = 0, stdout = i .. "\n", stderr = "e" .. i .. "\n" }, results[i])
    end
  end)

  it("8 children writing 100 kB each on stdout and stderr get all of it", function()
    local results = run(function()
      local list = {}
      for i = 1, 8 do
        list[i] = process.exec("sh", { "-c", "head -c 102400 /dev/zero; head -c 102400 /dev/zero >&2" })
      end
      return await(Promise.all(list))
    end)
    for i = 1, 8 do
      assert.equal(102400, #results[i].stdout)
      assert.equal(102400, #results[i].stderr)
    end
  end)

  it("a timeout after the child exited stops the wait for a grandchild that holds stdout", function()
    local ready, go = H.fifo(), H.fifo()
    local err = with_clock(function(clock)
      local p = process.exec("sh", { "-c", ("(read x < %s; echo late) & echo early; echo done > %s")
                                              :format(go.path, ready.path) }, { timeout = 100 })
      await(ready:line())
      clock:advance(100)
      return rejection(p)
    end)
    go:write("go\n")  -- only now: the result did not wait for the grandchild
    run(function() await(ready:close()); await(go:close()) end)
    assert.is_true(Promise.TimeoutError.is(err))
    assert.equal("early\n", err.stdout)
  end)

  it("an abort after the child exited stops the wait for a grandchild that holds stdout", function()
    local ready, go = H.fifo(), H.fifo()
    local reason = Promise.Error("enough")
    local err = run(function()
      local ac = Promise.AbortController()
      local p = process.exec("sh", { "-c", ("(read x < %s) & echo done > %s"):format(go.path, ready.path) },
                             { signal = ac.signal })
      await(ready:line())
      ac:abort(reason)
      return rejection(p)
    end)
    go:write("go\n")
    run(function() await(ready:close()); await(go:close()) end)
    assert.equal(reason, err)
  end)

  it("after a kill, keeps what the child wrote while dying, and its exit code", function()
    local ready = H.fifo()
    local err = with_clock(function(clock)
      -- ready once the trap and the background sleep ($!) are in place
      local p = process.exec("sh", { "-c", "trap 'kill $!; echo bye; echo eb >&2; exit 7' TERM; sleep 60 & echo $$ > "
                                           .. ready.path .. "; wait" }, { timeout = 100 })
      await(ready:line())
      clock:advance(100)
      return rejection(p)
    end)
    run(function() await(ready:close()) end)
    assert.is_true(Promise.TimeoutError.is(err))
    assert.equal(7, err.code)
    assert.is_nil(err.signal)
    assert.equal("bye\n", err.stdout)
    assert.equal("eb\n", err.stderr)
  end)
end)

describe("process.exec refuses bad input at once, starting nothing", function()
  local marker
  before_each(function()
    marker = os.tmpname()
    os.remove(marker)
  end)
  after_each(function()
    assert.is_nil(uv.fs_stat(marker))
  end)

  local function refused(msg, ...)
    local args = table.pack(...)
    assert.has_error(function() process.exec(table.unpack(args, 1, args.n)) end, msg)
  end

  it("a NUL byte in the command, an argument, cwd or env, as Node does", function()
    local function q(v) return ("%q"):format(v) end
    refused("bad argument #1 to 'exec' (string without NUL bytes expected, got \"touch\\0x\")", "touch\0x",
            { marker })
    refused("bad argument #2 to 'exec' (string without NUL bytes expected at index 2, got "
            .. q(marker .. "\0x") .. ")",
            "touch", { "-c", marker .. "\0x" })
    refused("bad argument #2 to 'exec' (string without NUL bytes expected at index 1, got "
            .. q(marker .. "\0x") .. ")",
            "touch", { marker .. "\0x" })
    refused("bad argument #3 to 'exec' (field 'cwd': string without NUL bytes expected, got \"/tmp\\0/nowhere\")",
            "touch", { marker }, { cwd = "/tmp\0/nowhere" })
    refused("bad argument #3 to 'exec' (field 'env': string without NUL bytes expected as a name, got \"A\\0B\")",
            "touch", { marker }, { env = { ["A\0B"] = "x" } })
    refused("bad argument #3 to 'exec' (field 'env': string without NUL bytes expected as the value of \"A\", "
            .. "got \"x\\0y\")", "touch", { marker }, { env = { A = "x\0y" } })
    refused("bad argument #3 to 'exec' (field 'env': string without NUL bytes expected at index 2, got \"B=\\0\")",
            "touch", { marker }, { env = { "A=1", "B=\0" } })
    -- the input is data: NUL bytes go through
    local r = run(function() return await(process.exec("od", { "-An", "-c" }, { input = "a\0b" })) end)
    assert.equal("a \\0 b", r.stdout:gsub("%s+", " "):match("^%s*(.-)%s*$"))
  end)

  it("an args or env array with a hole or other keys (the rest would be silently dropped)", function()
    local args = { "-c" }
    args[3] = marker  -- #args is 1
    refused("bad argument #2 to 'exec' (array expected, got a table with key 3 (its length is 1))", "touch", args)
    refused('bad argument #2 to \'exec\' (array expected, got a table with key "x" (its length is 1))', "touch",
            { marker, x = 1 })
    refused("bad argument #2 to 'exec' (string expected at index 1, got boolean)", "touch", { true })
    local env = { "A=1" }
    env.B = "2"
    refused('bad argument #3 to \'exec\' (field \'env\': array expected, got a table with key "B" (its length is 1))',
            "touch", { marker }, { env = env })
    refused("bad argument #3 to 'exec' (field 'env': string keys and values expected, got string = table)",
            "touch", { marker }, { env = { A = {} } })
    refused("bad argument #1 to 'exec' (non-empty string expected, got empty string)", "", { marker })
    -- table.pack's field n is fine, and numbers are arguments too
    local r = run(function() return await(process.exec("echo", table.pack("a", 1, 2.5))) end)
    assert.equal("a 1 2.5\n", r.stdout)
  end)

  it("a timeout that is NaN, negative, not an integer or not a number; an unknown signal number", function()
    local bad = { { 0 / 0, "NaN" }, { -1, "-1" }, { -math.huge, "-inf" }, { 1.5, "1.5" }, { "100", "string" } }
    for _, t in ipairs(bad) do
      refused(("bad argument #3 to 'exec' (field 'timeout': non-negative integer or math.huge expected, got %s)")
              :format(t[2]), "touch", { marker }, { timeout = t[1] })
    end
    refused("bad argument #3 to 'exec' (field 'killSignal': signal name or number expected, got number)",
            "touch", { marker }, { killSignal = 99 })
    refused("bad argument #3 to 'exec' (field 'killSignal': signal name or number expected, got number)",
            "touch", { marker }, { killSignal = 0 })
    refused("bad argument #3 to 'exec' (field 'signal': AbortSignal expected, got table)",
            "touch", { marker }, { signal = {} })
  end)

  it("the error points at the caller", function()
    local ok, err = pcall(process.exec, "x\0")
    assert.is_false(ok)
    local msg = "bad argument #1 to 'exec' (string without NUL bytes expected, got \"x\\0\")"
    assert.equal(msg, err)  -- pcall: no position
    local line = debug.getinfo(1, "l").currentline + 1
    ok, err = pcall(function() process.exec("x\0") end)
    assert.is_false(ok)
    assert.equal(("spec/process_spec.lua:%d: %s"):format(line, msg), err)
  end)
end)

describe("process.exec timeout values", function()
  local clock
  before_each(function() clock = Promise.useFakeTimers(0) end)
  after_each(function() clock:restore() end)

  it("0 and math.huge mean no timeout (Node: 0 is none)", function()
    for _, t in ipairs({ 0, math.huge }) do
      local r, left = table.unpack(run(function()
        local p = process.exec("echo", { "ok" }, { timeout = t })
        local n = clock:countTimers()
        clock:advance(1e6)
        return { await(p), n }
      end))
      assert.equal(0, left)
      assert.same({ code = 0, stdout = "ok\n", stderr = "" }, r)
    end
  end)

  it("a timeout above 2^31 - 1 ms is honoured, not clamped to 1 ms as Node's timers do", function()
    local ready = H.fifo()
    local err, left = table.unpack(run(function()
      local p = process.exec("sh", { "-c", "echo $$ > " .. ready.path .. "; exec sleep 60" },
                             { timeout = 2 ^ 31 + 5 })
      await(ready:line())
      clock:advance(2 ^ 31 + 4)
      local n = clock:countTimers()
      clock:advance(1)
      local e = rejection(p)
      await(ready:close())
      return { e, n }
    end))
    assert.equal(1, left)
    assert.is_true(Promise.TimeoutError.is(err))
    assert.equal("exec timed out after 2147483653 ms: sh", err.message)
    assert.equal("SIGTERM", err.signal)
  end)

  it("2^53 and 2^63 are accepted (and cleared when the child ends first)", function()
    for _, t in ipairs({ 2 ^ 53, 2 ^ 63, math.maxinteger }) do
      local r, n = table.unpack(run(function()
        local p = process.exec("echo", { "ok" }, { timeout = t })
        local n = clock:countTimers()
        return { await(p), n }
      end))
      assert.equal(1, n)
      assert.equal("ok\n", r.stdout)
      assert.equal(0, clock:countTimers())
    end
  end)
end)

describe("process.exec with tables whose length metamethod misbehaves", function()
  it("refuses them with a clear error", function()
    local odd = setmetatable({}, { __len = function() return "many" end })
    assert.has_error(function() process.exec("true", odd) end,
      "bad argument #2 to 'exec' (array expected, got a table whose length is string)")
    assert.has_error(function() process.exec("true", {}, { env = odd }) end,
      "bad argument #3 to 'exec' (field 'env': array expected, got a table whose length is string)")
    local nan = setmetatable({}, { __len = function() return 0 / 0 end })
    assert.has_error(function() process.exec("true", nan) end,
      "bad argument #2 to 'exec' (array expected, got a table whose length is number)")
  end)
end)
