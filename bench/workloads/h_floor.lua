-- h_floor: the floor of h. Each client reads chunks with `sock:read()` and
-- splits them itself, as h_split.lua, then awaits each line through an
-- already fulfilled promise: the least a line reader that returns a
-- promise per line costs in Lua (a coroutine switch per line), with no
-- reader's bookkeeping at all. N (1000) connections each write L
-- (1000) lines of 16 bytes in one write, from the echo server of g in a
-- separate process (g_server.lua). Untimed: starting the server,
-- connecting. Timed: the writes and reading every echo. Check: the lines
-- received equal to those sent.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/io_common.lua")
local Promise = require("promise")
local net = require("promise.net")
local await = Promise.await
local find, sub = string.find, string.sub
local resolved = Promise.resolve
local N, L = C.n(1000), C.n2(1000)

local lines = {}
for i = 1, L do lines[i] = ("line %010d"):format(i) end  -- 15 bytes and "\n"
local payload = table.concat(lines, "\n") .. "\n"

C.main("g_server", function(port)
  local socks = await(Promise.map(C.range(N), function()
    return net.connect{ host = "127.0.0.1", port = port }
  end, { concurrency = 100 }))
  local good = 0
  local client = Promise.async(function(sock)
    local written = sock:write(payload)
    local k, rest = 0, ""
    while k < L do
      local chunk = await(sock:read())
      if chunk == nil then error(("end of stream after %d lines"):format(k)) end
      if rest ~= "" then chunk = rest .. chunk end
      local pos = 1
      while true do
        local i = find(chunk, "\n", pos, true)
        if not i then break end
        k = k + 1
        if await(resolved(sub(chunk, pos, i - 1))) == lines[k] then good = good + 1 end
        pos = i + 1
      end
      rest = sub(chunk, pos)
    end
    await(written)
  end)
  local t0 = C.clock()
  local ps = {}
  for c = 1, N do ps[c] = client(socks[c]) end
  await(Promise.all(ps))
  local t1 = C.clock()
  for c = 1, N do await(socks[c]:close()) end
  return t0, t1, good
end)
