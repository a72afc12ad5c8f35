--- Child processes (`require("promise.process")`; manual: docs/manual/process.md).
---
--- ```lua
--- local process = require("promise.process")
--- local r = await(process.exec("sort", {}, { input = "b\na\n" }))
--- -- r.code == 0, r.signal == nil, r.stdout == "a\nb\n", r.stderr == ""
--- ```
---
--- `exec(cmd, args, [opts])` runs `cmd` (looked up in PATH, no shell) with
--- the array `args`, collects its stdout and stderr, and resolves once the
--- child has exited and its output is read, with
--- `{ code = exit status (nil when killed by a signal), signal = "SIGTERM"
--- etc. (nil when it exited), stdout = "...", stderr = "..." }`. A non-zero
--- exit status is a result, not an error (use `r.code`).
---
--- Options: `cwd`; `env` (replaces the environment: a table `{ NAME =
--- "value" }` or an array of `"NAME=value"`); `input` (written to stdin,
--- which is then closed; without it stdin is /dev/null); `timeout` (ms:
--- the child is sent `killSignal` and the call rejects with a
--- `Promise.TimeoutError` carrying `stdout`, `stderr`, `signal`);
--- `killSignal` (default `"SIGTERM"`); `signal` (an AbortSignal: the child is
--- sent `killSignal` and the call rejects with the signal's reason).
---
--- A command that cannot be started rejects with an `IOError` (`code`
--- `"ENOENT"` for a command not found, `syscall = "spawn"`, `path` = cmd).
--- Whatever happens, the promise settles only after the child has exited
--- and every handle (process, pipes) is closed. After a kill, the pipes are
--- closed at the child's exit, even if a grandchild still holds them.

local Promise = require("promise")
local uv = require("luv")
local ioerror = require("promise.ioerror")

local type, error, tostring, pairs, ipairs, math_type =
  type, error, tostring, pairs, ipairs, math.type
local concat, sort = table.concat, table.sort

local M = {}

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

--- The number of a signal given as a number, "SIGTERM", "sigterm" or
--- "TERM" (luv 1.44 takes only lowercase names and silently sends signal 0
--- for anything else, so names are resolved here).
local function signalnumber(sig)
  if math_type(sig) == "integer" then return sig > 0 and sig or nil end
  if type(sig) ~= "string" then return nil end
  local name = sig:upper()
  if not name:match("^SIG") then name = "SIG" .. name end
  local num = uv.constants[name]
  if math_type(num) == "integer" then return num end
  return nil
end

local function newpipe()
  local p = uv.new_pipe(false)
  ioerror.streamOpened()
  return p
end

local function checkopt(cond, fname, field, expected, v)
  if not cond then
    error(("bad argument #3 to '%s' (field '%s': %s expected, got %s)")
      :format(fname, field, expected, ioerror.typename(v)), 3)
  end
end

local function envlist(env)
  local list = {}
  if #env > 0 then
    for i, v in ipairs(env) do
      if type(v) ~= "string" then
        error(("bad argument #3 to 'exec' (field 'env': string expected at index %d, got %s)")
          :format(i, ioerror.typename(v)), 3)
      end
      list[i] = v
    end
    return list
  end
  for k, v in pairs(env) do
    if type(k) ~= "string" or (type(v) ~= "string" and type(v) ~= "number") then
      error(("bad argument #3 to 'exec' (field 'env': string keys and values expected, got %s = %s)")
        :format(ioerror.typename(k), ioerror.typename(v)), 3)
    end
    list[#list + 1] = k .. "=" .. v
  end
  sort(list)
  return list
end

---@class promise.process.ExecOptions
---@field cwd string?
---@field env table?            replaces the environment
---@field input string?         written to stdin, then closed
---@field timeout number?       ms
---@field killSignal string?    default "SIGTERM"
---@field signal promise.AbortSignal?

---@class promise.process.Result
---@field code integer?    exit status, nil when killed by a signal
---@field signal string?   e.g. "SIGTERM", nil when it exited
---@field stdout string
---@field stderr string

--- Runs `cmd` with `args` and collects its output.
---@param cmd string
---@param args? string[]
---@param opts? promise.process.ExecOptions
---@return Promise # of promise.process.Result
function M.exec(cmd, args, opts)
  if type(cmd) ~= "string" then ioerror.argerror(1, "exec", "string", cmd) end
  if args ~= nil and type(args) ~= "table" then ioerror.argerror(2, "exec", "table", args) end
  args = args or {}
  for i = 1, #args do
    local a = args[i]
    if type(a) ~= "string" and type(a) ~= "number" then
      error(("bad argument #2 to 'exec' (string expected at index %d, got %s)")
        :format(i, ioerror.typename(a)), 2)
    end
  end
  opts = ioerror.checkopts(opts, 3, "exec")
  local cwd, env, input, timeout = opts.cwd, opts.env, opts.input, opts.timeout
  local killSignal = opts.killSignal or "SIGTERM"
  checkopt(cwd == nil or type(cwd) == "string", "exec", "cwd", "string", cwd)
  checkopt(env == nil or type(env) == "table", "exec", "env", "table", env)
  checkopt(input == nil or type(input) == "string", "exec", "input", "string", input)
  checkopt(timeout == nil or (type(timeout) == "number" and timeout >= 0), "exec", "timeout",
           "non-negative number", timeout)
  local signum = signalnumber(killSignal)
  checkopt(signum, "exec", "killSignal", "signal name or number", killSignal)
  local signal = opts.signal
  if signal and signal.aborted then return Promise.reject(signal.reason) end

  local p, resolve, reject = Promise.withResolvers()
  local stdin = input and newpipe() or nil
  local stdout, stderr = newpipe(), newpipe()
  local out, err = {}, {}
  local open = 0           -- handles not closed yet
  local exited, status, termsig = false, nil, nil
  local killedBy = nil     -- "timeout" or "abort"
  local reason            -- the abort reason
  local timer, unsubscribe, proc
  local spawnerror

  local function finish()
    if timer then Promise.clearTimeout(timer) end
    if unsubscribe then unsubscribe() end
    if spawnerror then
      reject(spawnerror)
      return
    end
    local sig = termsig and termsig ~= 0 and (SIGNAMES[termsig] or tostring(termsig)) or nil
    local result = {
      code = (not sig) and status or nil, signal = sig,
      stdout = concat(out), stderr = concat(err),
    }
    if killedBy == "abort" then
      reject(reason)
    elseif killedBy == "timeout" then
      reject(Promise.TimeoutError(("exec timed out after %s ms: %s"):format(tostring(timeout), cmd), {
        code = result.code, signal = sig, stdout = result.stdout, stderr = result.stderr, cmd = cmd,
      }))
    else
      resolve(result)
    end
  end

  local closing = {}
  local function close(h)
    if closing[h] then return end
    closing[h] = true
    open = open + 1
    h:close(ioerror.cb(function()
      if h ~= proc then ioerror.streamClosed() end
      open = open - 1
      if open == 0 and (exited or spawnerror) then finish() end
    end))
  end

  local function collect(pipe, into)
    pipe:read_start(ioerror.cb(function(e, data)
      if data then
        into[#into + 1] = data
      else  -- end of stream or error: the output is complete
        if not e then pipe:read_stop() end
        close(pipe)
      end
    end))
  end

  local function kill(why)
    if exited or killedBy then return end
    killedBy = why
    proc:kill(signum)
  end

  local argv = {}
  for i = 1, #args do argv[i] = tostring(args[i]) end
  local spawnerr, errname
  proc, spawnerr, errname = uv.spawn(cmd, {
    args = argv,
    cwd = cwd,
    env = env and envlist(env) or nil,
    stdio = { stdin, stdout, stderr },
  }, ioerror.cb(function(code, sig)
    exited, status, termsig = true, code, sig
    close(proc)
    if killedBy then
      -- a grandchild may hold the pipes: the output ends with the child
      if stdin then close(stdin) end
      close(stdout)
      close(stderr)
    end
  end))

  if not proc then
    spawnerror = ioerror.fromLuv(tostring(spawnerr) .. ": " .. cmd, { path = cmd, syscall = "spawn" }, errname)
    if stdin then close(stdin) end
    close(stdout)
    close(stderr)
    return p
  end

  collect(stdout, out)
  collect(stderr, err)
  if stdin then
    local function done() close(stdin) end
    if input == "" then
      done()
    else
      local req = stdin:write(input, ioerror.cb(function(e)
        if e then done() return end  -- the child did not read it all: nothing more to do
        stdin:shutdown(ioerror.cb(done))
      end))
      if not req then done() end
    end
  end
  if timeout then
    timer = Promise.setTimeout(function() kill("timeout") end, timeout)
  end
  if signal then
    unsubscribe = signal:onAbort(function(r)
      if exited or killedBy then return end
      reason = r
      kill("abort")
    end)
  end
  return p
end

return M
