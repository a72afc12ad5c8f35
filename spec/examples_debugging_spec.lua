-- Runs examples/debugging.lua (a hanging payment pipeline) as a real
-- program and checks that the tools it uses find both of its bugs: the
-- payment that never settles under Promise.all, explained down to the
-- socket read it waits for, and the abort-listener leak.
local H = require("spec.support.helpers")

local FILE = "examples/debugging.lua"

-- the line of `FILE` that contains `text` (plain), as "examples/debugging.lua:N"
local function at(text)
  local n = 0
  for l in io.lines(FILE) do
    n = n + 1
    if l:find(text, 1, true) then return FILE .. ":" .. n end
  end
  error("no line with " .. text)
end

describe("examples/debugging.lua", function()
  it("finds the payment stuck under Promise.all, the handles open and the leak", function()
    local out, ok, how, code = H.run_example("debugging.lua")
    assert.is_true(ok, out)
    assert.same({ "exit", 0 }, { how, code })
    local got = H.lines(out)
    assert.equal(9, #got, out)
    assert.equal("warning: MaxListenersExceededWarning: possible AbortSignal leak: 11 abort " ..
      "listeners added to one signal (Promise.debug.maxListeners is 10); unsubscribe the ones " ..
      "you no longer need (at " .. at("shutdown.signal:onAbort(") .. ")", got[1])
    local port = got[2]:match("127%.0%.0%.1:(%d+)$")
    assert.truthy(port, got[2])
    assert.equal("payment 7 is stuck; promise created at " .. at("payments[i] = processPayment") ..
      " awaits (at " .. at("await(Promise.all{") .. ": in function 'processPayment') a promise created at " ..
      at("await(Promise.all{") .. ", which waits in Promise.all for a promise created at " ..
      at("authorizeCard(payment),") .. ", which awaits (at " .. at("local reply = await(sock:readLine())") ..
      ": in function 'authorizeCard') a promise created at " .. at("local reply = await(sock:readLine())") ..
      ", which waits for a read on socket 127.0.0.1:" .. port, got[2])
    assert.equal("handles keeping the process alive:", got[3])
    local listen = at("net.listen(")
    assert.equal("  server 127.0.0.1:" .. port .. ", created at " .. listen .. ", keeps the loop alive", got[4])
    assert.matches("^  socket 127%.0%.0%.1:" .. port .. " %-> 127%.0%.0%.1:%d+, created at " ..
      listen:gsub("%p", "%%%0") .. ", keeps the loop alive$", got[5])
    assert.matches("^  socket 127%.0%.0%.1:%d+ %-> 127%.0%.0%.1:" .. port .. ", created at " ..
      at("net.connect{"):gsub("%p", "%%%0") .. ", keeps the loop alive$", got[6])
    assert.same({
      "closing the gateway to end 1 stuck payment(s)",
      "payment 7 failed: card gateway closed the connection",
      "11 payments authorized, 1 failed",
    }, { got[7], got[8], got[9] })
  end)
end)
