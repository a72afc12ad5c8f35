--- The timer lists of the event loop (manual: docs/manual/loop.md): a pure
--- data structure, no clock and no uv handle, so it can be tested alone
--- (spec/loop_heap_spec.lua). loop/timers.lua and loop/fake.lua keep one
--- scheduler each (real time, fake time) and run what `first` gives.
---
--- Timer and immediate objects are arrays with a metatable (a hash part
--- of ten named fields would cost ~450 bytes per timer; five array slots
--- cost 136). Slots 1-5 always exist. Slots 6-9 exist only when needed: a
--- plain `setTimeout(fn, ms)` on the real clock has none of them until
--- unref() is called, and reading one gives nil (the metatables hold only
--- method names). The loop's files declare the slots they use as
--- constants with these numbers (`M.SLOTS` lists them).
---   1 FN        the callback
---   2 DELAY     the (coerced) delay or period in ms; 0 for an immediate
---   3 DEADLINE  due time on the scheduler's clock: the sort key
---   4 NEXT      while pending: the next timer in its list (the list after the last)
---   5 PREV      while pending: the previous timer (the list before the first)
---   6 UNREFED   true after unref(): does not keep the loop alive
---   7 REPEAT    true for an interval
---   8 ARGS      table.pack of the extra arguments, if any
---   9 SCHED     the (fake) scheduler; nil for the real one
---  10 FAILS     an interval's consecutive failed runs (set after one fails)
--- There is no state slot: a timer is pending (in a scheduler's lists) iff
--- t[NEXT] is a table. Otherwise t[NEXT] is false and t[PREV] holds one of
--- IDLE (0: not scheduled, a timeout that fired), CLEARED (-1: cleared,
--- discarded by clock:restore(), or a fired immediate) or QUEUED (-2: an
--- immediate in the real, uv check, queue).

local M = {}

local DELAY <const>, DEADLINE <const>, NEXT <const>, PREV <const>, UNREFED <const> = 2, 3, 4, 5, 6
local IDLE <const> = 0

M.SLOTS = { FN = 1, DELAY = 2, DEADLINE = 3, NEXT = 4, PREV = 5, UNREFED = 6, REPEAT = 7,
            ARGS = 8, SCHED = 9, FAILS = 10, IDLE = 0, CLEARED = -1, QUEUED = -2 }

-- A scheduler: { lists = {}, heap = {}, n = 0, count = 0, refs = 0,
-- fake = bool, now = number }. As in Node, pending timers are kept in one
-- doubly linked list per delay (`lists[ms]`; fake immediates use 0), each
-- list in the order the timers were made (or refreshed, or scheduled
-- again), which is also deadline order: a new timer's deadline is now +
-- ms, so it goes at the tail, and adding and removing a timer is O(1).
-- The lists are in a binary min-heap (`heap[1..n]`) keyed by their first
-- timer (see `before`), so the earliest timer of all is `heap[1][HEAD]`,
-- and timers run in exactly (deadline, creation) order. `count` is the
-- number of pending timers, `refs` the number of those that are ref'd.
-- The list itself stands before its first timer and after its last one
-- (`first[PREV] == l`, `last[NEXT] == l`): so a pending timer's NEXT and
-- PREV are always tables, which is what tells it is pending.

-- slots of a list (an array too)
local HEAD <const>, TAIL <const>, LPOS <const> = 1, 2, 3  -- LPOS: heap index
M.HEAD = HEAD

--- True when timer `a` is due before timer `b`, which is in another list.
--- On equal deadlines the one made first runs first, and that is the one
--- with the longer delay: a deadline is the clock's time at creation (or
--- at refresh, or when an interval was due) plus the delay, and that
--- clock never goes back. So no creation counter is needed.
local function before(a, b)
  local da, db = a[DEADLINE], b[DEADLINE]
  return da < db or (da == db and a[DELAY] > b[DELAY])
end

-- puts list `l` at index `i` of heap `h`
local function put(h, i, l)
  h[i] = l
  l[LPOS] = i
end

-- moves list `l`, whose place is `i`, up to where its first timer belongs
local function siftup(h, i, l)
  local first = l[HEAD]
  while i > 1 do
    local pi = i // 2
    local parent = h[pi]
    if not before(first, parent[HEAD]) then break end
    put(h, i, parent)
    i = pi
  end
  put(h, i, l)
end

-- moves list `l`, whose place is `i`, down (the heap has `n` lists)
local function siftdown(h, n, i, l)
  local first = l[HEAD]
  while true do
    local c = 2 * i
    if c > n then break end
    local child = h[c]
    if c < n and before(h[c + 1][HEAD], child[HEAD]) then
      c = c + 1
      child = h[c]
    end
    if not before(child[HEAD], first) then break end
    put(h, i, child)
    i = c
  end
  put(h, i, l)
end

--- Adds pending timer `t` (IDLE) to scheduler `s`.
---@param s table
---@param t table
local function schedule(s, t)
  local ms = t[DELAY]
  local l = s.lists[ms]
  if not l then
    l = { t, t, 0 }
    t[NEXT], t[PREV] = l, l
    s.lists[ms] = l
    local n = s.n + 1
    s.n = n
    siftup(s.heap, n, l)
  else
    -- from the tail back to the last timer due no later than `t`
    -- (deadlines only grow, so in practice none is passed over)
    local d = t[DEADLINE]
    local p = l[TAIL]
    while p ~= l and p[DEADLINE] > d do  -- equal: `t` was made after `p`
      p = p[PREV]
    end
    if p ~= l then
      local nx = p[NEXT]
      t[PREV], t[NEXT] = p, nx
      p[NEXT] = t
      if nx == l then l[TAIL] = t else nx[PREV] = t end
    else  -- a new first timer: the list moves up in the heap
      local first = l[HEAD]
      t[NEXT], t[PREV] = first, l
      first[PREV] = t
      l[HEAD] = t
      siftup(s.heap, l[LPOS], l)
    end
  end
  s.count = s.count + 1
  if not t[UNREFED] then s.refs = s.refs + 1 end
end

--- Removes pending timer `t` from scheduler `s`; it is IDLE afterwards.
---@param s table
---@param t table
local function unschedule(s, t)
  local ms = t[DELAY]
  local l = s.lists[ms]
  local p, nx = t[PREV], t[NEXT]
  t[NEXT], t[PREV] = false, IDLE
  s.count = s.count - 1
  if not t[UNREFED] then s.refs = s.refs - 1 end
  if nx ~= l then nx[PREV] = p else l[TAIL] = p end
  if p ~= l then
    p[NEXT] = nx
  elseif nx ~= l then  -- a later first timer: the list moves down in the heap
    l[HEAD] = nx
    siftdown(s.heap, s.n, l[LPOS], l)
  else  -- the list is empty: out of the heap
    s.lists[ms] = nil
    local h, i, n = s.heap, l[LPOS], s.n
    local last = h[n]
    h[n] = nil
    n = n - 1
    s.n = n
    if i <= n then
      if i > 1 and before(last[HEAD], h[i // 2][HEAD]) then
        siftup(h, i, last)
      else
        siftdown(h, n, i, last)
      end
    end
  end
end


--- The earliest pending timer of `s`, or nil.
---@param s table a scheduler
---@return table?
function M.first(s)
  local l = s.heap[1]
  return l and l[HEAD]
end

--- A new empty scheduler: `fake` tells which clock it runs on, `now` is
--- the fake time (nil for the real clock).
---@param isfake boolean
---@param now number?
---@return table
function M.newsched(isfake, now)
  return { lists = {}, heap = {}, n = 0, count = 0, refs = 0,
           fake = isfake, now = now }
end

M.schedule, M.unschedule = schedule, unschedule

return M
