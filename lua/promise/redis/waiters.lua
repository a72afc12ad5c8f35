--- The waiter queue of a Redis store's rate limiter (store.lua; manual:
--- docs/manual/redis.md, "Shared rate limits").
---
--- The waiters of one process queue FIFO in `st.queue`; only the head
--- asks the server (`st.ask(st, cost, true)`, a promise of { wait ms,
--- server ms }, wait 0 when admitted), one request in flight at most. When
--- the server says wait, the head asks again after that wait (a timer on
--- the library's clock), never by polling. A waiter that leaves (its
--- signal aborted, `clear`) is unlinked at once; if it was the head that
--- waited on the timer, the next one asks at once.
---
--- `st` is the rate limiter's state: `queue`, `count` (#queue), `busy`
--- (a request in flight), `timer`, `maxQueue`, `lastStart` (the server
--- time of the last admitted start) and `ask`.

local Promise = require("promise")

local ipairs, tostring = ipairs, tostring

local M = {}

local function unlink(st, w)
  for i = 1, #st.queue do
    if st.queue[i] == w then table.remove(st.queue, i) break end
  end
  st.count = #st.queue
end

local process

--- Serves the head: asks the server once; admitted -> next head, else a
--- timer for the wait the script reported. One request in flight at most.
function process(st)
  local w = st.queue[1]
  if not w or st.busy or st.timer then return end
  st.busy = true
  st.ask(st, w.cost, true):next(function(r)
    st.busy = false
    if st.queue[1] ~= w then return process(st) end   -- left (abort, clear): its units are spent
    if r[1] == 0 then
      unlink(st, w)
      st.lastStart = r[2]
      w.admit()
      return process(st)
    end
    st.timer = Promise.setTimeout(function()
      st.timer = nil
      process(st)
    end, r[1])
  end, function(err)
    st.busy = false
    if st.queue[1] == w then
      unlink(st, w)
      w.reject(err)
    end
    process(st)
  end)
end

--- Queues a waiter for `cost` units: `admit()` once the server admitted
--- them, `reject(err)` when the queue is full, `signal` aborts (before or
--- while it waits) or the server fails.
---@param st table
---@param cost number
---@param signal promise.AbortSignal?
---@param admit fun()
---@param reject fun(err: any)
function M.enqueue(st, cost, signal, admit, reject)
  if signal and signal.aborted then return reject(signal.reason) end
  if st.count >= st.maxQueue then
    return reject(Promise.QueueFullError(("rate limiter queue is full (maxQueue = %s)")
      :format(tostring(st.maxQueue))))
  end
  local w = { cost = cost, admit = admit, reject = reject }
  if signal then
    local unsub
    unsub = signal:onAbort(function(reason)
      local head = st.queue[1] == w
      unlink(st, w)
      reject(reason)
      if head and st.timer then   -- the next one may start sooner
        Promise.clearTimeout(st.timer)
        st.timer = nil
        process(st)
      end
    end)
    w.admit = function() unsub(); admit() end
    w.reject = function(e) unsub(); reject(e) end
  end
  st.queue[#st.queue + 1] = w
  st.count = #st.queue
  process(st)
end

--- Rejects every waiter with `reason` and stops the timer. A request
--- already at the server may still spend its units.
---@param st table
---@param reason any
function M.clear(st, reason)
  local q = st.queue
  st.queue, st.count = {}, 0
  if st.timer then Promise.clearTimeout(st.timer); st.timer = nil end
  for _, w in ipairs(q) do w.reject(reason) end
end

return M
