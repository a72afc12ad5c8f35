--- The scheduling of `Promise.map` (manual: docs/manual/map.md): which index
--- starts next, with at most `limit` running at once. Pure bookkeeping, no
--- promise and no clock, so it can be tested alone (spec/pool_spec.lua).
---
--- A pool is `{ n, limit, next, running, finished, stopped }`: indices
--- 1..n start in order; `take` hands out the next one while fewer than
--- `limit` run; `finish` frees a slot with a result; `drop` frees one
--- without (a call that no longer counts); `stop` starts nothing more.

local M = {}

--- A pool of `n` indices, at most `limit` (an integer >= 1, or math.huge)
--- running at once.
---@param n integer
---@param limit number
---@return table
function M.new(n, limit)
  return { n = n, limit = limit, next = 1, running = 0, finished = 0, stopped = false }
end

--- The next index to start, or nil (stopped, `limit` running, none left).
---@param q table
---@return integer?
function M.take(q)
  local i = q.next
  if q.stopped or q.running >= q.limit or i > q.n then return nil end
  q.next = i + 1
  q.running = q.running + 1
  return i
end

--- Frees the slot of an index that finished; true when all `n` have.
---@param q table
---@return boolean
function M.finish(q)
  q.running = q.running - 1
  q.finished = q.finished + 1
  return q.finished == q.n
end

--- Frees the slot of an index that will never finish.
---@param q table
function M.drop(q)
  q.running = q.running - 1
end

--- Starts nothing more: `take` gives nil from now on.
---@param q table
function M.stop(q)
  q.stopped = true
end

return M
