--- `Promise.map(list, fn, [opts])` (manual: docs/manual/map.md).
---
--- Calls `fn(value, index, signal)` for every element of `list` (`list.n`
--- honoured, so nil holes are elements too) with at most `opts.concurrency`
--- calls running at once (default: unlimited), and fulfils with the results
--- in input order, `n` set.
---
--- * Calls start in index order; a call that settles frees its slot and the
---   next index starts from that settlement's reaction (a microtask). The
---   first calls start synchronously inside `Promise.map`.
--- * An element that is a promise of this library is awaited first, inside
---   its slot, and `fn` gets its value (a rejected element counts as that
---   element's failure). Any other value, tables included, is passed as is.
--- * A call "settles" when the value or promise `fn` returned settles; an
---   error raised by `fn` is a rejection.
--- * Fail fast (default): on the first rejection no new call starts, the
---   `signal` given to the calls still running (one signal for the whole
---   map) is aborted with an
---   `AbortError` ("map aborted: another call failed", `cause` = the error),
---   and the map rejects with that first error (without waiting for the
---   running calls).
--- * `opts.settle = true`: every call runs, and the map fulfils with
---   `allSettled`-shaped results `{ {status = "fulfilled", value = v} |
---   {status = "rejected", reason = r}, ..., n = n }`.
--- * `opts.signal` aborts the whole map: nothing new starts, the running
---   calls' signal is aborted with the same reason, and the map rejects with
---   that reason (at once, and without calling `fn`, when already aborted).
--- * Bad arguments raise Lua errors (`bad argument #1 to 'map' ...`).

local Promise = require("promise")
local util = require("promise.util")
local pool = require("promise.pool")

local type = type

local OPTIONS = util.schema({
  { "concurrency", "number", integer = true, min = 1, huge = true, default = math.huge },
  { "signal", "signal" },
  -- settle is read as a truth value: any value is accepted
})

-- A map in progress: `q` (its pool, see promise.pool; `q.stopped` once the
-- map has settled), `list`, `fn`, `settle`, `results`, `resolve`/`reject`,
-- `controller` (its `signal` goes to every call), `unsubscribe` (from the
-- caller's signal).

local function finish(r)
  pool.stop(r.q)
  if r.unsubscribe then
    r.unsubscribe()
    r.unsubscribe = nil
  end
end

local function fail(r, err, abortReason)
  if r.q.stopped then return end
  finish(r)
  r.reject(err)
  r.controller:abort(abortReason)
end

local launch

-- Call `i` settled with (ok, v).
local function settled(r, i, ok, v)
  local all = pool.finish(r.q)
  if r.q.stopped then return end
  if r.settle then
    r.results[i] = ok and { status = "fulfilled", value = v } or { status = "rejected", reason = v }
  elseif ok then
    r.results[i] = v
  else
    return fail(r, v, Promise.AbortError("map aborted: another call failed", { cause = v }))
  end
  if all then
    finish(r)
    r.resolve(r.results)
  else
    launch(r)
  end
end

local function call(r, i, value)
  Promise.try(r.fn, value, i, r.controller.signal):next(function(v)
    settled(r, i, true, v)
  end, function(e)
    settled(r, i, false, e)
  end)
end

-- Starts calls while the pool has room. An element that is a promise is
-- awaited inside its slot first.
function launch(r)
  for i in pool.take, r.q do
    local value = r.list[i]
    if Promise.is(value) then
      value:next(function(v)
        if r.q.stopped then return pool.drop(r.q) end
        call(r, i, v)
      end, function(e)
        settled(r, i, false, e)
      end)
    else
      call(r, i, value)
    end
  end
end

---@class promise.MapOptions
---@field concurrency number?         at most this many calls at once; default math.huge
---@field settle boolean?             run everything, fulfil with allSettled-shaped results
---@field signal promise.AbortSignal? aborts the whole map

--- Maps `list` through `fn(value, index, signal)` with bounded concurrency.
---@param list table              array-like; `list.n` honoured
---@param fn fun(value: any, index: integer, signal: promise.AbortSignal): any
---@param opts promise.MapOptions?
---@return Promise                results in input order, `n` set
local function map(list, fn, opts)
  if type(list) ~= "table" then util.argerror(1, "map", "table", list) end
  if not util.is_callable(fn) then util.argerror(2, "map", "function", fn) end
  local cfg = util.checkopts("map", 3, opts, OPTIONS)
  local n = list.n
  if type(n) ~= "number" then n = #list end

  local result, resolve, reject = Promise.withResolvers()
  local outer = cfg.signal
  if outer and outer.aborted then
    reject(outer.reason)
    return result
  end
  local r = { q = pool.new(n, cfg.concurrency), list = list, fn = fn, settle = cfg.settle and true or false,
              results = { n = n }, resolve = resolve, reject = reject }
  if n == 0 then
    resolve(r.results)
    return result
  end
  r.controller = Promise.AbortController()
  if outer then
    r.unsubscribe = outer:onAbort(function(reason)
      r.unsubscribe = nil
      fail(r, reason, reason)
    end)
  end
  launch(r)
  return result
end

return map
