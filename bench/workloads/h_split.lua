-- h_split: pipelined lines as in h.lua, but each client reads chunks with
-- `sock:read()` and splits them itself, with no promise per line (as
-- node's 'data' handler in h_split.js). With a third argument `await`, the
-- floor of h: each line is then awaited through an already fulfilled
-- promise, the least a line reader that returns a promise per line costs in
-- Lua (a coroutine switch per line), with no reader's bookkeeping at all. N (1000) connections each write L
-- (1000) lines of 16 bytes in one write, from the echo server of g in a
-- separate process (g_server.lua). Untimed: starting the server,
-- connecting. Timed: the writes and reading every echo. Check: the lines
-- received equal to those sent.
local C = dofile(((arg[0]:match("^(.*)[/\\]")) or ".") .. "/io_common.lua")
local Promise = require("promise")
local await = Promise.await
local find, sub = string.find, string.sub
local resolved = Promise.resolve
local N, L = C.n(1000), C.n2(1000)
local AWAIT = arg[3] == "await"

local lines, payload = C.lines(L)

C.main("g_server", function(port)
  local good = 0
  local t0, t1 = C.clients(port, N, Promise.async(function(_, sock)
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
        local line = sub(chunk, pos, i - 1)
        if AWAIT then line = await(resolved(line)) end
        if line == lines[k] then good = good + 1 end
        pos = i + 1
      end
      rest = sub(chunk, pos)
    end
    await(written)
  end))
  return t0, t1, good
end)
