--- The rolling window of a circuit breaker (manual: docs/manual/breaker.md,
--- `window`): the outcomes of the last `size` calls ("count": a ring
--- buffer) or of the last `size` ms ("time": a FIFO of times), with the
--- number of failures among them. Pure: the caller passes the time, so it
--- is tested without a clock (spec/breaker_window_spec.lua).

local M = {}

--- Empties window `w` (`{ kind = "count"|"time", size = n }`).
---@param w table
function M.clear(w)
  if w.kind == "count" then
    w.buf, w.pos, w.n, w.fails = {}, 0, 0, 0
  else
    w.times, w.failed, w.head, w.tail, w.fails = {}, {}, 1, 0, 0
  end
end

--- Drops the outcomes of a time window that are `size` ms old or older.
---@param w table
---@param now number
local function prune(w, now)
  if w.kind ~= "time" then return end
  local times, failed, head, tail = w.times, w.failed, w.head, w.tail
  local limit = now - w.size
  while head <= tail and times[head] <= limit do
    if failed[head] then w.fails = w.fails - 1 end
    times[head], failed[head] = nil, nil
    head = head + 1
  end
  if head > tail then head, tail = 1, 0 end
  w.head, w.tail = head, tail
end

--- Records one outcome (`failed` or not) at time `now`.
---@param w table
---@param failed boolean
---@param now number
function M.record(w, failed, now)
  if w.kind == "count" then
    local pos = w.pos % w.size + 1
    w.pos = pos
    if w.n == w.size then
      if w.buf[pos] then w.fails = w.fails - 1 end
    else
      w.n = w.n + 1
    end
    w.buf[pos] = failed
  else
    prune(w, now)
    local tail = w.tail + 1
    w.tail = tail
    w.times[tail], w.failed[tail] = now, failed
  end
  if failed then w.fails = w.fails + 1 end
end

--- Calls and failures currently in the window.
---@param w table
---@param now number
---@return integer calls
---@return integer failures
function M.counts(w, now)
  if w.kind == "count" then return w.n, w.fails end
  prune(w, now)
  return w.tail - w.head + 1, w.fails
end

return M
