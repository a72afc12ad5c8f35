-- Helpers shared by the specs: `local H = require("spec.support.helpers")`
-- (busted runs from the repository root, and Lua's default path has
-- "./?.lua"). Not a spec itself: busted only runs files named *_spec.lua.
local Promise = require("promise")
local uv = require("luv")
local assert = require("luassert")

local H = {}

------------------------------------------------------------------ handles

--- Number of luv handles that are active and referenced (would keep a loop alive).
---@return integer
function H.live_handles()
  local n = 0
  uv.walk(function(h)
    if uv.is_active(h) and uv.has_ref(h) then n = n + 1 end
  end)
  return n
end

--- Descriptions of the luv handles that are active (whatever their ref
--- state), and of those of the types in `kinds` even when inactive.
---@param kinds string[]? handle types to list whatever their state, e.g. { "tcp" }
---@return string[]
function H.active_handles(kinds)
  local also = {}
  for _, kind in ipairs(kinds or {}) do also[kind] = true end
  local list = {}
  uv.walk(function(h)
    if uv.is_active(h) or also[uv.handle_get_type(h)] then list[#list + 1] = tostring(h) end
  end)
  return list
end

--- `H.active_handles()` once the loop has had one turn (so that handles
--- closed by the test have finished closing).
---@return string[]
function H.active_handles_after_turn()
  uv.run("nowait")
  return H.active_handles()
end

--- Number of file descriptors this process has open (/proc/self/fd).
---@return integer
function H.count_fds()
  local req = assert(uv.fs_scandir("/proc/self/fd"))
  local n = 0
  while uv.fs_scandir_next(req) do n = n + 1 end
  return n
end

---@param t0 number a uv.hrtime() reading
---@return number ms since t0
function H.elapsed_ms(t0)
  return (uv.hrtime() - t0) / 1e6
end

------------------------------------------------------ promises by hand

--- Runs the microtask queue and returns the state of `p` (and its value or
--- reason); `p` is not marked handled.
---@param p Promise
function H.settle(p)
  Promise.drain()
  return p:state()
end

--- Marks `p` handled, runs the microtask queue, returns its state.
---@param p Promise
function H.settle_handled(p)
  p:catch(function() end)
  Promise.drain()
  return p:state()
end

--- Queues `n` chained microtasks logging "t1" .. "tn", one per tick.
---@param log string[]
---@param n integer
function H.ticker(log, n)
  local i = 0
  local function step()
    i = i + 1
    log[#log + 1] = "t" .. i
    if i < n then Promise.queueMicrotask(step) end
  end
  Promise.queueMicrotask(step)
end

--------------------------------------------------------------- the loop

--- Runs `fn` as the main async function of the loop; returns its value or
--- raises its error (so a failing await fails the test with its reason).
---@param fn function
function H.run(fn)
  local ok, v = Promise.run(fn)
  if not ok then error(v, 0) end
  return v
end

--- Awaits `p` inside an async function and returns the rejection reason
--- (fails when it fulfils).
---@param p Promise
function H.rejection(p)
  local ok, err = pcall(Promise.await, p)
  assert(not ok, "expected a rejection")
  return err
end

--- Blocks every thread of libuv's pool in open(2) of the FIFO `fifo` (no
--- writer yet), so that the next pool request waits in the queue, where
--- uv.cancel can take it back. Returns `release()`, which opens the FIFO for
--- writing (the blocked opens then return) and returns a promise fulfilled
--- once they have all completed, their descriptors are closed and the FIFO
--- is removed; and that promise's source, pending while the pool is blocked.
H.POOL = tonumber(os.getenv("UV_THREADPOOL_SIZE")) or 4
---@param fifo string
---@return fun(): Promise release
---@return Promise blocked
function H.block_pool(fifo)
  assert.is_true(os.execute("mkfifo " .. fifo))
  local pending = H.POOL
  local p, resolve = Promise.withResolvers()
  for _ = 1, H.POOL do
    uv.fs_open(fifo, "r", 0, function(_, fd)
      if fd then uv.fs_close(fd) end
      pending = pending - 1
      if pending == 0 then resolve() end
    end)
  end
  return function()
    local wfd = assert(uv.fs_open(fifo, "w", 0))  -- readers are waiting: returns at once
    return p:next(function()
      uv.fs_close(wfd)
      os.remove(fifo)
    end)
  end, p
end

------------------------------------------------- reporters and fake time

--- Installs an unhandled-rejection reporter that collects the reasons;
--- returns the list it fills.
---@return any[]
function H.capture_unhandled()
  local list = {}
  Promise.onUnhandledRejection(function(reason) list[#list + 1] = reason end)
  return list
end

--- Installs an uncaught-error reporter that collects the errors; returns the
--- list it fills.
---@return any[]
function H.capture_uncaught()
  local list = {}
  Promise.onUncaughtError(function(err) list[#list + 1] = err end)
  return list
end

--- Removes the reporters installed by `H.capture_unhandled` (and, when
--- `uncaught` is given, `H.capture_uncaught`), then asserts that they
--- collected nothing.
---@param unhandled any[]
---@param uncaught any[]?
function H.check_reported(unhandled, uncaught)
  Promise.onUnhandledRejection(nil)
  if uncaught then Promise.onUncaughtError(nil) end
  assert.same({}, unhandled, "unexpected unhandled rejections")
  if uncaught then assert.same({}, uncaught, "unexpected uncaught errors") end
end

--- Restores real time and asserts that no fake timer was left pending.
---@param clock table the fake clock of Promise.useFakeTimers
function H.restore_clock(clock)
  local left = clock:countTimers()
  clock:restore()
  assert.equal(0, left, "a fake timer was left pending")
end

--- Runs each test of a describe block on a fresh fake clock (start 0) and
--- checks after each that no fake timer, active handle or unhandled
--- rejection is left. `set(clock)` hands the clock to the spec.
---@param before_each function busted's before_each
---@param after_each function busted's after_each
---@param set fun(clock: table)
function H.on_fake_clock(before_each, after_each, set)
  local clock, unhandled
  before_each(function()
    clock = Promise.useFakeTimers(0)
    unhandled = H.capture_unhandled()
    set(clock)
  end)
  after_each(function()
    H.restore_clock(clock)
    assert.same({}, H.active_handles_after_turn())
    H.check_reported(unhandled)
  end)
end

------------------------------------------------------- child processes

--- Environment giving a child lua5.4 this checkout's module paths (the
--- child inherits our working directory, the repository root, as .busted
--- wants).
H.LUA_ENV = "LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' "
  .. "LUA_PATH_5_4='lua/?.lua;lua/?/init.lua;;' LUA_CPATH_5_4='build/?.so;;' "

--- Runs the shell command `cmd`; returns its stdout and how it ended (the
--- three results of `file:close()` on a pipe).
---@param cmd string
---@return string out
---@return boolean? ok
---@return string how "exit" or "signal"
---@return integer code
function H.popen(cmd)
  local f = assert(io.popen(cmd, "r"))
  local out = f:read("a")
  local ok, how, code = f:close()
  return out, ok, how, code
end

--- Runs examples/<file> with `args` (a shell-quoted string, optional) in a
--- child lua5.4; returns its output (stdout and stderr), how it ended (as
--- `H.popen`) and the wall time it took in seconds.
---@param file string e.g. "tour.lua"
---@param args string?
---@return string out
---@return boolean? ok
---@return string how
---@return integer code
---@return number seconds
function H.run_example(file, args)
  local cmd = H.LUA_ENV .. "lua5.4 examples/" .. file .. (args and " " .. args or "") .. " 2>&1"
  local t0 = uv.hrtime()
  local out, ok, how, code = H.popen(cmd)
  return out, ok, how, code, (uv.hrtime() - t0) / 1e9
end

--- Writes `src` to a temporary file, runs `command <file> <redirect>` and
--- removes the file; returns what `H.popen` returns.
---@param command string e.g. "node", or H.LUA_ENV .. "lua5.4"
---@param src string
---@param redirect string? default "2>&1"
function H.run_script(command, src, redirect)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(src)
  f:close()
  local out, ok, how, code = H.popen(("%s '%s' %s"):format(command, path, redirect or "2>&1"))
  os.remove(path)
  return out, ok, how, code
end

--- Runs the Lua chunk `src` in a child lua5.4 with this checkout's paths;
--- returns what `H.popen` returns (stdout and stderr, unless `redirect` says
--- otherwise).
---@param src string
---@param redirect string? default "2>&1"
function H.run_lua(src, redirect)
  return H.run_script(H.LUA_ENV .. "lua5.4", src, redirect)
end

--- A FIFO at a fresh temporary path that this process holds open for
--- reading and writing (so opening it never blocks, in the spec or in a
--- child, and reading it never meets end of file): children report to the
--- spec by writing lines to `f.path`, or wait for it with `read x < path`.
--- `f:line()` is a promise of the next line written to it (without the
--- newline; the FIFO is read only while a line is awaited); `f:write(s)`
--- writes `s` at once; `f:close()` is a promise
--- fulfilled once the FIFO is closed and removed.
---@return table f
function H.fifo()
  local path = os.tmpname()
  os.remove(path)
  assert.is_true(os.execute("mkfifo " .. path))
  local fd = assert(uv.fs_open(path, "r+", 0))
  local pipe = uv.new_pipe(false)
  assert(pipe:open(fd))
  local f, buf, waiting, reading = { path = path }, "", {}, false
  local function deliver()
    while waiting[1] do
      local line, rest = buf:match("^([^\n]*)\n(.*)$")
      if not line then return end
      buf = rest
      table.remove(waiting, 1)(line)
    end
    if reading then  -- nobody waits: stop, so that the FIFO keeps no loop alive
      reading = false
      pipe:read_stop()
    end
  end
  function f.line()
    local p, resolve = Promise.withResolvers()
    waiting[#waiting + 1] = resolve
    if not reading then
      reading = true
      pipe:read_start(function(err, data)
        assert(not err, err)
        buf = buf .. (data or "")
        deliver()
      end)
    end
    deliver()
    return p
  end
  function f.write(_, s)
    assert.equal(#s, pipe:try_write(s))
  end
  function f.close()
    local p, resolve = Promise.withResolvers()
    pipe:close(function()
      os.remove(path)
      resolve()
    end)
    return p
  end
  return f
end

---@return boolean whether node can be run
function H.node_available()
  return os.execute("node --version >/dev/null 2>&1") == true
end

--- The lines of `s`, each ended by "\n" (a last line without one is dropped).
---@param s string
---@return string[]
function H.lines(s)
  local t = {}
  for line in s:gmatch("([^\n]*)\n") do t[#t + 1] = line end
  return t
end

--- The whole content of the file at `path`, or nil when it cannot be
--- opened.
---@param path string
---@return string?
function H.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

--- The names in directory `dir` that match the Lua pattern `pattern`, in
--- `ls` order.
---@param dir string
---@param pattern string
---@return string[]
function H.ls(dir, pattern)
  local files = {}
  local p = assert(io.popen("ls " .. dir))
  for name in p:lines() do
    if name:match(pattern) then files[#files + 1] = name end
  end
  p:close()
  return files
end

return H
