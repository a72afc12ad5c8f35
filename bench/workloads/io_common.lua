--- Shared by the I/O workloads (g, h, i_net, i_fs, j, k) on top of common.lua:
--- the server child of the network workloads, and the report line.
---
--- A network workload's client runs its server (`g_server.lua`,
--- `i_server.lua`) as a child lua5.4 whose stdin and stdout are pipes. The
--- server prints `port=<p>` once listening; on a line `quit` or at the end of
--- its stdin it closes everything, prints `maxrss_kb=<kB>` and exits. So a
--- client that dies leaves no server behind: its end of the pipe closes.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/common.lua")
local Promise = require("promise")
local uv = require("luv")

local await = Promise.await
local DIR = (arg[0]:match("^(.*)[/\\]")) or "."

-- the interpreter running this program (arg's lowest index), else lua5.4
local LUA = "lua5.4"
do
  local lo = 0
  while arg[lo - 1] do lo = lo - 1 end
  if lo < 0 then LUA = arg[lo] end
end

---------------------------------------------------------------- client side

---@class ServerChild
---@field port integer
---@field stop fun(self: ServerChild): integer  awaits the exit; returns the server's peak RSS (kB)
---@field kill fun(self: ServerChild)

--- Starts bench/workloads/<name>.lua as a child and waits (inside an async
--- function) until it prints its port.
---@param name string
---@return ServerChild
function C.server(name)
  local stdin, stdout = uv.new_pipe(false), uv.new_pipe(false)
  local ready, port_found, port_failed = Promise.withResolvers()
  local rss, rss_found = Promise.withResolvers()
  local exited, on_exit = Promise.withResolvers()
  local buf = ""
  local proc, err = uv.spawn(LUA, { args = { DIR .. "/" .. name .. ".lua" },
    stdio = { stdin, stdout, 2 } }, function(code, signal)
      on_exit({ code = code, signal = signal })
    end)
  if not proc then
    stdin:close(); stdout:close()
    error(("cannot start %s: %s"):format(name, err), 2)
  end
  stdout:read_start(function(rerr, chunk)
    if chunk then
      buf = buf .. chunk
      local p = buf:match("port=(%d+)\n")
      if p then port_found(math.tointeger(tonumber(p))) end
      local kb = buf:match("maxrss_kb=(%d+)\n")
      if kb then rss_found(math.tointeger(tonumber(kb))) end
    else  -- end of stream or error: whatever was not printed never will be
      stdout:read_stop()
      local why = ("%s printed no port (%s)"):format(name, rerr or "end of stream")
      port_failed(why)
      rss_found(nil)
    end
  end)
  local srv = {}
  local function closeall()
    if not stdin:is_closing() then stdin:close() end
    if not stdout:is_closing() then stdout:close() end
  end
  function srv.stop()
    stdin:write("quit\n")
    local kb = await(rss)
    local st = await(exited)
    closeall()
    proc:close()
    if st.code ~= 0 or st.signal ~= 0 or not kb then
      error(("%s failed (exit code %d, signal %d)"):format(name, st.code, st.signal), 0)
    end
    return kb
  end
  function srv.kill()
    if not proc:is_closing() then
      proc:kill("sigkill")
      exited:next(function() proc:close() end)
    end
    closeall()
  end
  local ok, port = pcall(await, ready)
  if not ok then
    srv.kill()
    error(port, 0)
  end
  srv.port = port
  return srv
end

--- Runs `body(port)` inside Promise.run against the server child `name`
--- (none when nil); `body` returns t0, t1, check. Prints the result line
--- with the peak RSS of this process plus the server's. Any failure kills
--- the server and makes the program exit non-zero.
---@param name string|nil
---@param body fun(port: integer|nil): integer, integer, any
function C.main(name, body)
  local ok, err = Promise.run(function()
    local srv = name and C.server(name)
    local ok2, t0, t1, check = pcall(body, srv and srv.port)
    if not ok2 then
      if srv then srv.kill() end
      error(t0, 0)
    end
    local server_kb = srv and srv.stop() or 0
    C.report(t0, t1, check, server_kb)
  end)
  if not ok then
    io.stderr:write(tostring(err), "\n")
    os.exit(1)
  end
end

local report = C.report
--- As common.lua's report, with `extra_kb` (a child's peak RSS) added.
---@param t0 integer
---@param t1 integer
---@param check any
---@param extra_kb integer
function C.report(t0, t1, check, extra_kb)
  if (extra_kb or 0) == 0 then return report(t0, t1, check) end
  io.write(("elapsed=%.9f check=%s maxrss_kb=%d\n")
    :format((t1 - t0) / 1e9, tostring(check), uv.getrusage().maxrss + extra_kb))
  io.stdout:flush()
end

---------------------------------------------------------------- server side

--- Announces `server` (a promise.net server) on stdout, then waits for
--- `quit` or the end of stdin, closes the server and prints the peak RSS.
--- Run inside an async function; returns once everything is closed.
---@param server table
function C.serve(server)
  local stdin = uv.new_pipe(false)
  assert(stdin:open(0))
  local quit, on_quit = Promise.withResolvers()
  local buf = ""
  stdin:read_start(function(_, chunk)
    if chunk then buf = buf .. chunk end
    if not chunk or buf:find("quit\n", 1, true) then
      stdin:read_stop()
      on_quit()
    end
  end)
  io.write(("port=%d\n"):format(server.port))
  io.stdout:flush()
  await(quit)
  stdin:close()
  await(server:close{ force = true })
  io.write(("maxrss_kb=%d\n"):format(uv.getrusage().maxrss))
  io.stdout:flush()
end

--- A connection handler that runs `fn(sock)` and remembers the first error
--- (the server exits non-zero with it, see C.serve_main).
local first_error
function C.guard(fn)
  return function(sock)
    local ok, err = pcall(fn, sock)
    if not ok and not first_error then first_error = err end
  end
end

--- The whole server program: listens on 127.0.0.1 (a free port) with
--- `handler`, serves until told to quit, exits non-zero on any failure.
---@param handler fun(sock: table)
function C.serve_main(handler)
  local net = require("promise.net")
  local ok, err = Promise.run(function()
    local server = await(net.listen({ host = "127.0.0.1", port = 0, backlog = 1024 }, C.guard(handler)))
    C.serve(server)
  end)
  if ok and first_error then ok, err = false, first_error end
  if not ok then
    io.stderr:write(arg[0], ": ", tostring(err), "\n")
    os.exit(1)
  end
end

--- The second command-line argument (a positive integer), else `default`.
---@param default integer
---@return integer
function C.n2(default)
  local s = arg and arg[2]
  if s == nil then return default end
  local n = math.tointeger(tonumber(s))
  if not n or n < 1 then
    error(("bad argument #2 to '%s' (positive integer expected, got %s)"):format(arg[0], s), 0)
  end
  return n
end

--- The integers 1..n, as an array (Promise.map's list).
---@param n integer
---@return integer[]
function C.range(n)
  local t = {}
  for i = 1, n do t[i] = i end
  return t
end

--- Connects `n` sockets to 127.0.0.1:`port` (100 at a time, untimed), then
--- runs the async function `client(c, sock)` on every one at once and
--- times that; closes them all afterwards. Call it inside an async function.
---@param port integer
---@param n integer
---@param client fun(c: integer, sock: promise.net.Socket): Promise
---@return integer t0, integer t1 the clock around the clients' run
function C.clients(port, n, client)
  local net = require("promise.net")
  local socks = await(Promise.map(C.range(n), function()
    return net.connect{ host = "127.0.0.1", port = port }
  end, { concurrency = 100 }))
  local t0 = C.clock()
  local ps = {}
  for c = 1, n do ps[c] = client(c, socks[c]) end
  await(Promise.all(ps))
  local t1 = C.clock()
  for c = 1, n do await(socks[c]:close()) end
  return t0, t1
end

--- The body of the i_fs workloads: `mib` MiB of data written to a new
--- temporary file and read back by `writeread(path, data)`, which returns
--- what it read; only that call is timed, and the file is removed whatever
--- happens. Returns t0, t1 and the check (the length read, when equal).
---@param mib integer
---@param writeread fun(path: string, data: string): string
---@return integer t0, integer t1, integer|string check
function C.filework(mib, writeread)
  local data = ("0123456789abcdef"):rep(mib * 1024 * 1024 // 16)
  local path = os.tmpname()
  local t0 = C.clock()
  local ok, back = pcall(writeread, path, data)
  local t1 = C.clock()
  os.remove(path)
  if not ok then error(back, 0) end
  return t0, t1, back == data and #back or ("different data, length " .. #back)
end

--- The lines of the h workloads: `l` lines of 15 bytes, and all of them as
--- one payload, each ended by "\n".
---@param l integer
---@return string[] lines, string payload
function C.lines(l)
  local lines = {}
  for i = 1, l do lines[i] = ("line %010d"):format(i) end
  return lines, table.concat(lines, "\n") .. "\n"
end

return C
