-- docs/manual/process.md, promise.process: real child processes with stdin input, exit
-- codes, output, timeout, kill by abort, command not found; no handle or
-- descriptor left behind.
local Promise = require("promise")
local process = require("promise.process")
local uv = require("luv")
local H = require("spec.support.helpers")

local await = Promise.await

local run, rejection, count_fds, elapsed_ms = H.run, H.rejection, H.count_fds, H.elapsed_ms

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

  it("opts.timeout kills the child and rejects with a TimeoutError carrying its output", function()
    local t0 = uv.hrtime()
    local err = run(function()
      return rejection(process.exec("sh", { "-c", "echo started; exec sleep 5" }, { timeout = 100 }))
    end)
    local ms = elapsed_ms(t0)
    assert.is_true(Promise.TimeoutError.is(err))
    assert.equal("exec timed out after 100 ms: sh", err.message)
    assert.equal("SIGTERM", err.signal)
    assert.equal("started\n", err.stdout)
    assert.is_true(ms >= 95 and ms < 2000, tostring(ms))
  end)

  it("a child that finishes in time clears its timeout timer", function()
    local r = run(function() return await(process.exec("echo", { "quick" }, { timeout = 5000 })) end)
    assert.equal("quick\n", r.stdout)
  end)

  it("after a kill, output still held by a grandchild does not delay the result", function()
    local t0 = uv.hrtime()
    local err = run(function()
      -- the background sleep keeps stdout open after sh is killed
      return rejection(process.exec("sh", { "-c", "sleep 1 & sleep 1; wait" }, { timeout = 50 }))
    end)
    assert.is_true(Promise.TimeoutError.is(err))
    assert.is_true(elapsed_ms(t0) < 800)
  end)

  it("opts.signal kills the child and rejects with the reason", function()
    local reason = Promise.Error("cancelled by user")
    local t0 = uv.hrtime()
    local err = run(function()
      local ac = Promise.AbortController()
      Promise.setTimeout(function() ac:abort(reason) end, 50)
      return rejection(process.exec("sleep", { "5" }, { signal = ac.signal }))
    end)
    assert.equal(reason, err)
    assert.is_true(elapsed_ms(t0) < 2000)
  end)

  it("opts.killSignal chooses the signal", function()
    local err = run(function()
      return rejection(process.exec("sleep", { "5" }, { timeout = 30, killSignal = "SIGKILL" }))
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
    local t0 = uv.hrtime()
    local results = run(function()
      local list = {}
      for i = 1, 4 do list[i] = process.exec("sh", { "-c", "sleep 0.2; echo " .. i }) end
      return await(Promise.all(list))
    end)
    for i = 1, 4 do assert.equal(i .. "\n", results[i].stdout) end
    assert.is_true(elapsed_ms(t0) < 700)
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
