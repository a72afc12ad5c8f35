--- Concurrency limiter (manual: docs/manual/limiter.md).
---
--- ```lua
--- local limit = Promise.limiter(2, { maxQueue = 100 })
--- local p = limit(fetch, url)                      -- runs fetch(url) when a slot is free
--- local q = limit:submit({ priority = 5, signal = s }, fetch, url)
--- ```
---
--- * A task holds its slot until the promise returned by its function
---   settles: a caller that stops waiting (timeout, abort) does not free it,
---   so never more than `concurrency` tasks run at once.
--- * When a slot is free the function is called synchronously inside
---   `limit(...)`/`submit`; otherwise the task is queued. Queued tasks start by
---   priority (higher first), FIFO among equal priorities. A task that frees
---   its slot starts the next one from the settlement's reaction (a microtask).
--- * A function that raises rejects the task's promise with the raised value
---   (and frees the slot), exactly like `Promise.try`.
--- * `limit.concurrency = n` may be set at any time: raising it starts queued
---   tasks at once (synchronously, inside the assignment); lowering it never
---   preempts a running task, it only delays queued ones.
--- * `opts.maxQueue` bounds the queue (tasks waiting for a slot, running ones
---   excluded): a task that would exceed it rejects at once with a
---   `Promise.QueueFullError`. `maxQueue = 0` means "run now or refuse".
--- * `taskopts.signal` only concerns the wait in the queue: an aborted queued
---   task leaves the queue and rejects with the signal's reason; a signal
---   already aborted at submission rejects at once (the function is not
---   called). Once the task runs, cancelling it is the function's business.
--- * `limit:clear([reason])` rejects every queued task with `reason`
---   (default: an `AbortError` "limiter queue cleared"); running ones go on.
--- * `limit:onIdle()` is fulfilled (with nil) when no task is running or
---   queued; at once (already fulfilled) when that is already so.
--- * Bad arguments raise Lua errors (`bad argument #1 to 'limiter' ...`).
---
--- The limiter keeps no timer and no handle.

local Promise = require("promise")
local util = require("promise.util")

local type, error, tostring, setmetatable, pack, unpack =
  type, error, tostring, setmetatable, table.pack, table.unpack
local huge = math.huge

---@class promise.Limiter
---@field concurrency number   maximum number of tasks running at once (settable)
---@field activeCount integer  tasks running now (read-only)
---@field pendingCount integer tasks waiting in the queue (read-only)
---@field maxQueue number      the queue bound (read-only)
---@operator call(function): Promise
local Limiter = {}

---@class promise.LimiterTaskOptions
---@field priority number?            higher starts first; default 0
---@field signal promise.AbortSignal? aborts the wait in the queue

local is_callable = util.is_callable

-- nil when `v` is an integer >= min or math.huge, else what is wrong with it.
-- the concurrency (argument 1, or the field) and opts.maxQueue
local CONCURRENCY = util.field{ "concurrency", "number", integer = true, min = 1, huge = true }
local OPTIONS = util.schema({
  { "maxQueue", "number", integer = true, min = 0, huge = true, default = huge },
})

---------------------------------------------------------------------------
-- Indexed binary heap: higher priority first, then lower sequence number.
---------------------------------------------------------------------------

local function before(a, b)
  if a.priority ~= b.priority then return a.priority > b.priority end
  return a.seq < b.seq
end

local function heap_swap(h, i, j)
  h[i], h[j] = h[j], h[i]
  h[i].index, h[j].index = i, j
end

local function heap_up(h, i)
  while i > 1 do
    local parent = i // 2
    if not before(h[i], h[parent]) then break end
    heap_swap(h, i, parent)
    i = parent
  end
end

local function heap_down(h, i)
  local n = #h
  while true do
    local l, r, best = 2 * i, 2 * i + 1, i
    if l <= n and before(h[l], h[best]) then best = l end
    if r <= n and before(h[r], h[best]) then best = r end
    if best == i then return end
    heap_swap(h, i, best)
    i = best
  end
end

local function heap_push(h, task)
  local i = #h + 1
  h[i] = task
  task.index = i
  heap_up(h, i)
end

local function heap_remove(h, i)
  local n = #h
  local task = h[i]
  if i ~= n then
    h[i] = h[n]
    h[i].index = i
    h[n] = nil
    heap_up(h, i)
    heap_down(h, h[i].index)
  else
    h[n] = nil
  end
  task.index = nil
  return task
end

---------------------------------------------------------------------------
-- Internals. A limiter's state lives in `st` (kept out of the public table so
-- that fields cannot be overwritten by mistake).
---------------------------------------------------------------------------

local states = setmetatable({}, { __mode = "k" })

local function check_self(self, fname)
  local st = states[self]
  if not st then
    util.selferror(fname, "limiter", self, 3)
  end
  return st
end

local function maybe_idle(st)
  if st.active == 0 and #st.heap == 0 and st.idle then
    local waiters = st.idle
    st.idle = nil
    for i = 1, #waiters do waiters[i]() end
  end
end

local pump

-- Runs the task's function. Its promise is linked to the task's, so that
-- an async trace through it reads one line for the limiter (linked now:
-- Promise.try adopts it only a microtask later, too late for an error
-- raised in the meantime).
local function calltask(task)
  local args = task.args
  local res = task.fn(unpack(args, 1, args.n))
  if Promise.is(res) then Promise.debug.awaitedIn(res, task.promise, "a Promise.limiter slot") end
  return res
end

local function start(st, task)
  if task.unsubscribe then
    task.unsubscribe()
    task.unsubscribe = nil
  end
  st.active = st.active + 1
  local p = Promise.try(calltask, task)
  task.fn, task.args = nil, nil
  local resolve = task.resolve
  local function release()
    st.active = st.active - 1
    pump(st)
    maybe_idle(st)
  end
  p:next(function(v)
    resolve(v)
    release()
  end, function()
    resolve(p)  -- its rejection, with its async trace
    release()
  end)
end

-- Starts queued tasks while slots are free. Re-reads the state on every
-- step, so a task function that submits, clears or changes the concurrency
-- is seen at once.
function pump(st)
  local heap = st.heap
  while st.active < st.concurrency and heap[1] do
    start(st, heap_remove(heap, 1))
  end
end

local function submit(st, priority, signal, fn, ...)
  local p, resolve, reject = Promise.withResolvers()
  if signal and signal.aborted then
    reject(signal.reason)
    return p
  end
  local task = { fn = fn, args = pack(...), promise = p, resolve = resolve, reject = reject }
  if st.active < st.concurrency and not st.heap[1] then
    start(st, task)
    return p
  end
  if #st.heap >= st.maxQueue then
    reject(Promise.QueueFullError(("limiter queue is full (maxQueue = %s)"):format(
      tostring(st.maxQueue))))
    return p
  end
  st.seq = st.seq + 1
  task.priority, task.seq = priority, st.seq
  heap_push(st.heap, task)
  if signal then
    task.unsubscribe = signal:onAbort(function(reason)
      task.unsubscribe = nil
      if task.index then
        heap_remove(st.heap, task.index)
        task.fn, task.args = nil, nil
        reject(reason)
        maybe_idle(st)
      end
    end)
  end
  return p
end

---------------------------------------------------------------------------
-- Public methods
---------------------------------------------------------------------------

local methods = {}

--- Runs `fn(...)` when a slot is free, with `taskopts.priority` (higher
--- first, FIFO among equals; default 0) and `taskopts.signal` (aborting it
--- removes the task from the queue and rejects with the reason).
---@param taskopts promise.LimiterTaskOptions?
---@param fn function
---@param ... any arguments for fn
---@return Promise
function methods.submit(self, taskopts, fn, ...)
  local st = check_self(self, "submit")
  local priority, signal = 0, nil
  if taskopts ~= nil then
    if type(taskopts) ~= "table" then
      util.argerror(1, "submit", "table", taskopts)
    end
    if taskopts.priority ~= nil then
      priority = taskopts.priority
      if type(priority) ~= "number" or priority ~= priority then
        util.badarg(1, "submit", "field 'priority' must be a number, got "
          .. (type(priority) == "number" and "nan" or util.typename(priority)))
      end
    end
    signal = taskopts.signal
    if signal ~= nil and not Promise.AbortSignal.is(signal) then
      util.badarg(1, "submit", "field 'signal' must be an AbortSignal, got " .. util.typename(signal))
    end
  end
  if not is_callable(fn) then
    util.argerror(2, "submit", "function", fn)
  end
  return submit(st, priority, signal, fn, ...)
end

--- Rejects every queued task with `reason` (default: an `AbortError`).
--- Running tasks are not touched.
---@param reason any
function methods.clear(self, reason)
  local st = check_self(self, "clear")
  if reason == nil then reason = Promise.AbortError("limiter queue cleared") end
  local heap = st.heap
  st.heap = {}
  -- reject in start order
  table.sort(heap, before)
  for i = 1, #heap do
    local task = heap[i]
    task.index = nil
    if task.unsubscribe then
      task.unsubscribe()
      task.unsubscribe = nil
    end
    task.fn, task.args = nil, nil
    task.reject(reason)
  end
  maybe_idle(st)
end

--- A promise fulfilled (with nil) when no task is running or queued; already
--- fulfilled when that is so now.
---@return Promise
function methods.onIdle(self)
  local st = check_self(self, "onIdle")
  if st.active == 0 and #st.heap == 0 then return Promise.resolve(nil) end
  local p, resolve = Promise.withResolvers()
  st.idle = st.idle or {}
  st.idle[#st.idle + 1] = resolve
  return p
end

Limiter.__index = function(self, key)
  local st = check_self(self, "__index")
  if key == "activeCount" then return st.active end
  if key == "pendingCount" then return #st.heap end
  if key == "concurrency" then return st.concurrency end
  if key == "maxQueue" then return st.maxQueue end
  return methods[key]
end

Limiter.__newindex = function(self, key, value)
  local st = check_self(self, "__newindex")
  if key == "concurrency" then
    local problem = util.problem(CONCURRENCY, value)
    if problem then error("bad value for 'concurrency' (" .. problem .. ")", 2) end
    st.concurrency = value
    pump(st)
    return
  end
  error(("cannot set field '%s' of a limiter"):format(tostring(key)), 2)
end

Limiter.__call = function(self, fn, ...)
  local st = check_self(self, "__call")
  if not is_callable(fn) then
    util.argerror(1, "limit", "function", fn)
  end
  return submit(st, 0, nil, fn, ...)
end

Limiter.__tostring = function(self)
  local st = check_self(self, "__tostring")
  return ("Limiter<%d/%s active, %d queued>"):format(st.active, tostring(st.concurrency), #st.heap)
end

Limiter.__name = "Limiter"

---@class promise.LimiterOptions
---@field maxQueue number? at most this many queued tasks; default math.huge

--- Makes a concurrency limiter running at most `concurrency` tasks at once.
---@param concurrency number integer >= 1, or math.huge
---@param opts promise.LimiterOptions?
---@return promise.Limiter
local function limiter(concurrency, opts)
  util.checkarg(1, "limiter", concurrency, CONCURRENCY)
  local maxQueue = util.checkopts("limiter", 2, opts, OPTIONS).maxQueue
  local self = setmetatable({}, Limiter)
  states[self] = {
    concurrency = concurrency,
    maxQueue = maxQueue,
    active = 0,
    heap = {},
    seq = 0,
    idle = nil,
  }
  return self
end

return limiter
