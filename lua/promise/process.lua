--- Child processes (`require("promise.process")`; manual: docs/manual/process.md).
---
--- ```lua
--- local process = require("promise.process")
--- local r = await(process.exec("sort", {}, { input = "b\na\n" }))
--- -- r.code == 0, r.signal == nil, r.stdout == "a\nb\n", r.stderr == ""
--- ```
---
--- `exec(cmd, args, [opts])` runs `cmd` (looked up in PATH, no shell) with
--- the array `args` (strings; numbers are converted with `tostring`),
--- collects its stdout and stderr, and resolves with
--- `{ code = exit status (nil when killed by a signal), signal = "SIGTERM"
--- etc. (nil when it exited), stdout = "...", stderr = "..." }`. A non-zero
--- exit status is a result, not an error (use `r.code`).
---
--- Options: `cwd`; `env` (replaces the environment: a table `{ NAME =
--- "value" }` or an array of `"NAME=value"`); `input` (written to stdin,
--- which is then closed; without it stdin is /dev/null); `timeout` (ms, an
--- integer: the child is sent `killSignal` and the call rejects with a
--- `Promise.TimeoutError` carrying `code`, `signal`, `stdout`, `stderr`;
--- 0 or `math.huge` means no timeout, as 0 does in Node; values above
--- 2^31 - 1 are honoured, not clamped); `killSignal` (a name such as
--- `"SIGKILL"` or a known signal number; default `"SIGTERM"`); `signal` (an
--- AbortSignal: the child is sent `killSignal` and the call rejects with the
--- signal's reason).
---
--- Bad arguments raise a Lua error at once and start nothing: among them a
--- NUL byte in `cmd`, an argument, `cwd` or `env` (it would silently cut
--- the string short, as Node's ERR_INVALID_ARG_VALUE says), an `args` or
--- array `env` with holes or other keys, and a `timeout` that is negative,
--- NaN or not an integer. A command that cannot be started rejects with an
--- `IOError` (`code` `"ENOENT"` for a command not found, `syscall =
--- "spawn"`, `path` = cmd).
---
--- When it settles: as Node's `exec` (which waits for the child's 'close'),
--- only after the child has exited, every pipe has reached end of stream and
--- every handle (process, pipes) is closed. So output written by a
--- grandchild that inherited stdout counts, and the call waits for it. A
--- timeout or abort bounds that wait: once it fires, the child (if still
--- running) is sent `killSignal`, and at its exit (at once if it had exited
--- already) whatever is in the pipes is read without waiting and the pipes
--- are closed, even if a grandchild still holds them. Output the child wrote
--- before it died is kept; the grandchild's later output is not read. A
--- child that ignores `killSignal` is waited for.

local Promise = require("promise")
local uv = require("luv")
local ioerror = require("promise.ioerror")
local util = require("promise.util")
local dbg = require("promise.debug")

local type, tostring, pairs, ipairs, math_type =
  type, tostring, pairs, ipairs, math.type
local concat, sort = table.concat, table.sort
local floor, huge, tointeger = math.floor, math.huge, math.tointeger
local typename = util.typename

local M = {}

--- Largest delay one timer takes (Node's, 2^31 - 1 ms); longer timeouts are
--- armed in steps of it.
local MAXDELAY = 2147483647
--- After a kill: at most this many reads of up to 64 KiB empty a pipe (a
--- dead child's output is at most a pipe buffer; the bound stops a
--- grandchild that keeps writing from holding us).
local DRAINREADS = 64

-- signal number -> name (SIGABRT rather than SIGIOT, SIGIO rather than SIGPOLL)
local SIGNAMES = {}
do
  local names = {}
  for name in pairs(uv.constants) do
    if name:match("^SIG%u+$") and name ~= "SIGIOT" and name ~= "SIGPOLL" then
      names[#names + 1] = name
    end
  end
  sort(names)
  for _, name in ipairs(names) do
    local num = uv.constants[name]
    if SIGNAMES[num] == nil then SIGNAMES[num] = name end
  end
end

------------------------------------------------------------ argument checks
-- Pure functions: each returns the checked value, or nil and the message
-- (inside "bad argument #n to 'exec' (...)").

--- The number of a signal given as a known number, "SIGTERM", "sigterm" or
--- "TERM" (luv 1.44 takes only lowercase names and silently sends signal 0
--- for anything else, so names are resolved here).
local function signalnumber(sig)
  if math_type(sig) == "integer" then return SIGNAMES[sig] and sig or nil end
  if type(sig) ~= "string" then return nil end
  local name = sig:upper()
  if not name:match("^SIG") then name = "SIG" .. name end
  local num = uv.constants[name]
  if math_type(num) == "integer" and SIGNAMES[num] then return num end
  return nil
end

local function hasnul(s)
  return s:find("\0", 1, true) ~= nil
end

--- The message for a string `s` with a NUL byte (`where`: " at index 2").
local function nulmsg(s, where)
  local q = ("%q"):format(s):gsub("\\\n", "\\n")
  return ("string without NUL bytes expected%s, got %s"):format(where or "", q)
end

--- A key of a table for a message: 3, "name", or its type.
local function keyname(k)
  if math_type(k) == "integer" then return tostring(k) end
  if type(k) == "string" then return ("%q"):format(k) end
  return typename(k)
end

--- Checks that `t` is a sequence 1..#t (a field `n` equal to #t, as
--- table.pack makes, is allowed); returns #t, or nil and a message.
local function seqlen(t)
  local n = #t
  if math_type(n) ~= "integer" then  -- a __len metamethod's odd answer
    return nil, "array expected, got a table whose length is " .. typename(n)
  end
  for k in pairs(t) do
    if not ((math_type(k) == "integer" and k >= 1 and k <= n) or (k == "n" and t.n == n)) then
      return nil, ("array expected, got a table with key %s (its length is %d)"):format(keyname(k), n)
    end
  end
  return n
end

--- `args` as the array of strings handed to luv.
local function checkargv(args)
  if args == nil then return {} end
  if type(args) ~= "table" then return nil, "table expected, got " .. typename(args) end
  local n, msg = seqlen(args)
  if not n then return nil, msg end
  local argv = {}
  for i = 1, n do
    local a = args[i]
    if type(a) == "number" then a = tostring(a) end
    if type(a) ~= "string" then
      return nil, ("string expected at index %d, got %s"):format(i, typename(a))
    end
    if hasnul(a) then return nil, nulmsg(a, " at index " .. i) end
    argv[i] = a
  end
  return argv
end

--- `env` as the sorted array of "NAME=value" handed to luv.
local function checkenv(env)
  local list = {}
  local n = #env
  if math_type(n) ~= "integer" or n > 0 then
    local msg
    n, msg = seqlen(env)
    if not n then return nil, msg end
    for i = 1, n do
      local v = env[i]
      if type(v) ~= "string" then
        return nil, ("string expected at index %d, got %s"):format(i, typename(v))
      end
      if hasnul(v) then return nil, nulmsg(v, " at index " .. i) end
      list[i] = v
    end
    return list
  end
  for k, v in pairs(env) do
    if type(k) ~= "string" or (type(v) ~= "string" and type(v) ~= "number") then
      return nil, ("string keys and values expected, got %s = %s"):format(typename(k), typename(v))
    end
    v = tostring(v)
    if hasnul(k) then return nil, nulmsg(k, " as a name") end
    if hasnul(v) then return nil, nulmsg(v, " as the value of " .. keyname(k)) end
    list[#list + 1] = k .. "=" .. v
  end
  sort(list)
  return list
end

--- The timeout in ms, false for none (nil, 0, math.huge).
local function checktimeout(t)
  if t == nil or t == 0 or t == huge then return false end
  if type(t) ~= "number" or not (t > 0 and t == floor(t)) then
    local got = type(t) ~= "number" and typename(t) or t ~= t and "NaN" or tostring(t)
    return nil, "non-negative integer or math.huge expected, got " .. got
  end
  return tointeger(t) or t
end

local function optmsg(field, msg)
  return nil, ("field '%s': %s"):format(field, msg)
end

--- The options: { cwd, env, input, timeout, signum, killSignal, signal }.
local function checkopts(opts)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then return nil, "table expected, got " .. typename(opts) end
  local cwd, env, input, signal = opts.cwd, opts.env, opts.input, opts.signal
  if cwd ~= nil then
    if type(cwd) ~= "string" then return optmsg("cwd", "string expected, got " .. typename(cwd)) end
    if hasnul(cwd) then return optmsg("cwd", nulmsg(cwd)) end
  end
  local envlist, msg
  if env ~= nil then
    if type(env) ~= "table" then return optmsg("env", "table expected, got " .. typename(env)) end
    envlist, msg = checkenv(env)
    if not envlist then return optmsg("env", msg) end
  end
  if input ~= nil and type(input) ~= "string" then
    return optmsg("input", "string expected, got " .. typename(input))
  end
  local timeout
  timeout, msg = checktimeout(opts.timeout)
  if timeout == nil then return optmsg("timeout", msg) end
  local killSignal = opts.killSignal or "SIGTERM"
  local signum = signalnumber(killSignal)
  if not signum then
    return optmsg("killSignal", "signal name or number expected, got " .. typename(killSignal))
  end
  if signal ~= nil and not Promise.AbortSignal.is(signal) then
    return optmsg("signal", "AbortSignal expected, got " .. typename(signal))
  end
  return { cwd = cwd, env = envlist, input = input, timeout = timeout,
           signum = signum, signal = signal }
end

--- Checks exec's arguments: the job to run, or nil, the position of the
--- bad argument and the problem.
---@return table? job { cmd, argv, cwd, env, input, timeout, signum, signal }
---@return integer? n
---@return string? problem
local function checkjob(cmd, args, opts)
  local function bad(n, msg) return nil, n, msg end
  if type(cmd) ~= "string" then return bad(1, "string expected, got " .. typename(cmd)) end
  if cmd == "" then return bad(1, "non-empty string expected, got empty string") end
  if hasnul(cmd) then return bad(1, nulmsg(cmd)) end
  local argv, msg = checkargv(args)
  if not argv then return bad(2, msg) end
  local job
  job, msg = checkopts(opts)
  if not job then return bad(3, msg) end
  job.cmd, job.argv = cmd, argv
  return job
end

------------------------------------------------------------- a running child
-- One table `run` holds the state the callbacks share: the job, the
-- handles (proc, stdin, stdout, stderr), `opened` / `closed` handle counts,
-- `closing[h]`, the output chunks `out` / `err`, `exited`, `status`,
-- `termsig`, `killedBy` ("timeout" or "abort"), `reason` (the abort's),
-- `spawnerror`, `timer`, `unsubscribe`, `settled`, and `resolve` / `reject`.

--- How a finished run settles: true and the result, or false and the
--- reason. Pure.
local function outcome(run)
  if run.spawnerror then return false, run.spawnerror end
  local sig = run.termsig and run.termsig ~= 0 and (SIGNAMES[run.termsig] or tostring(run.termsig)) or nil
  local code = (not sig) and run.status or nil
  local stdout, stderr = concat(run.out), concat(run.err)
  if run.killedBy == "abort" then return false, run.reason end
  if run.killedBy == "timeout" then
    local ms = run.job.timeout
    ms = math_type(ms) == "integer" and tostring(ms) or ("%.0f"):format(ms)
    return false, Promise.TimeoutError(("exec timed out after %s ms: %s"):format(ms, run.job.cmd), {
      code = code, signal = sig, stdout = stdout, stderr = stderr, cmd = run.job.cmd,
    })
  end
  return true, { code = code, signal = sig, stdout = stdout, stderr = stderr }
end

--- Settles once the child has exited (or never started) and every handle
--- is closed.
local function settle(run)
  if run.settled or run.closed < run.opened or not (run.exited or run.spawnerror) then return end
  run.settled = true
  if run.timer then Promise.clearTimeout(run.timer) end
  if run.unsubscribe then run.unsubscribe() end
  local ok, v = outcome(run)
  if ok then run.resolve(v) else run.reject(v) end
end

local function newpipe(run)
  local p = uv.new_pipe(false)
  ioerror.streamOpened()
  run.opened = run.opened + 1
  return p
end

local function close(run, h)
  if not h or run.closing[h] then return end
  run.closing[h] = true
  h:close(ioerror.cb(function()
    if h ~= run.proc then ioerror.streamClosed() end
    run.closed = run.closed + 1
    settle(run)
  end))
end

local function collect(run, pipe, into)
  pipe:read_start(ioerror.cb(function(_, data)
    if data then
      into[#into + 1] = data
    else  -- end of stream or error: the output is complete
      close(run, pipe)
    end
  end))
end

--- Reads what `pipe` holds now without waiting (its descriptor is
--- non-blocking), then closes it: the end of the output after a kill.
local function cut(run, pipe, into)
  if run.closing[pipe] then return end
  pipe:read_stop()
  local fd = pipe:fileno()
  for _ = 1, fd and DRAINREADS or 0 do
    local data = uv.fs_read(fd, 65536, -1)
    if not data or data == "" then break end  -- nothing more now (EAGAIN), end of stream, error
    into[#into + 1] = data
  end
  close(run, pipe)
end

local function cutpipes(run)
  cut(run, run.stdout, run.out)
  cut(run, run.stderr, run.err)
end

local function onexit(run, code, sig)
  run.exited, run.status, run.termsig = true, code, sig
  close(run, run.proc)
  close(run, run.stdin)  -- as Node: nobody reads it any more
  if run.killedBy then cutpipes(run) end
end

--- The timeout or the abort: kills a running child (its pipes are cut at
--- its exit), or stops waiting for the pipes of one that has exited.
local function kill(run, why, reason)
  if run.settled or run.killedBy then return end
  run.killedBy, run.reason = why, reason
  if run.exited then cutpipes(run) else run.proc:kill(run.job.signum) end
end

--- Arms the timeout, in steps of at most MAXDELAY ms.
local function arm(run, ms)
  if ms > MAXDELAY then
    run.timer = Promise.setTimeout(arm, MAXDELAY, run, ms - MAXDELAY)
  else
    run.timer = Promise.setTimeout(kill, tointeger(ms), run, "timeout")
  end
end

local function feed(run, input)
  local stdin = run.stdin
  local function done() close(run, stdin) end
  if input == "" then return done() end
  local req = stdin:write(input, ioerror.cb(function(e)
    -- the child did not read it all, or has exited (stdin is closing): nothing more to do
    if e or run.closing[stdin] then return done() end
    stdin:shutdown(ioerror.cb(done))
  end))
  if not req then done() end
end

local function spawn(run)
  local job = run.job
  run.stdin = job.input and newpipe(run) or nil
  run.stdout, run.stderr = newpipe(run), newpipe(run)
  local proc, pid, errname = uv.spawn(job.cmd, {
    args = job.argv, cwd = job.cwd, env = job.env,
    stdio = { run.stdin, run.stdout, run.stderr },
  }, ioerror.cb(function(code, sig) onexit(run, code, sig) end))
  if not proc then
    run.spawnerror = ioerror.fromLuv(tostring(pid) .. ": " .. job.cmd,
                                     { path = job.cmd, syscall = "spawn" }, errname)
    close(run, run.stdin)
    close(run, run.stdout)
    close(run, run.stderr)
    return false
  end
  run.proc, run.pid = proc, pid
  run.opened = run.opened + 1
  return true
end

-- for Promise.debug: what a running child is, and its handle's state
local function childname(run)
  return ("`%s` (pid %s)"):format(run.job.cmd, tostring(run.pid))
end

local function childinfo(run)
  local proc = run.proc
  local alive = not run.exited and proc ~= nil and not proc:is_closing() and proc:has_ref()
  return not run.settled, alive, childname(run)
end

---@class promise.process.ExecOptions
---@field cwd string?
---@field env table?            replaces the environment
---@field input string?         written to stdin, then closed
---@field timeout integer?      ms; 0 or math.huge: none
---@field killSignal string|integer?  default "SIGTERM"
---@field signal promise.AbortSignal?

---@class promise.process.Result
---@field code integer?    exit status, nil when killed by a signal
---@field signal string?   e.g. "SIGTERM", nil when it exited
---@field stdout string
---@field stderr string

--- Runs `cmd` with `args` and collects its output.
---@param cmd string
---@param args? (string|number)[]
---@param opts? promise.process.ExecOptions
---@return Promise # of promise.process.Result
function M.exec(cmd, args, opts)
  local job, n, problem = checkjob(cmd, args, opts)
  if not job then util.badarg(n, "exec", problem) end
  local signal = job.signal
  if signal and signal.aborted then return Promise.reject(signal.reason) end
  local p, resolve, reject = Promise.withResolvers()
  local run = { job = job, resolve = resolve, reject = reject, opened = 0, closed = 0,
                closing = {}, out = {}, err = {} }
  if spawn(run) then
    collect(run, run.stdout, run.out)
    collect(run, run.stderr, run.err)
    if job.input then feed(run, job.input) end
    if job.timeout then arm(run, job.timeout) end
    if signal then
      run.unsubscribe = signal:onAbort(function(r) kill(run, "abort", r) end)
    end
    if dbg.tracking then
      dbg.track(run, "child", childinfo)
      dbg.waitingFor(p, "child " .. childname(run))
    end
  end
  return p
end

return M
