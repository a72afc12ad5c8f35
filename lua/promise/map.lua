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

local type, error, tostring = type, error, tostring
local huge, floor = math.huge, math.floor

local is_callable = util.is_callable

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
  if type(list) ~= "table" then
    error("bad argument #1 to 'map' (table expected, got " .. type(list) .. ")", 2)
  end
  if not is_callable(fn) then
    error("bad argument #2 to 'map' (function expected, got " .. type(fn) .. ")", 2)
  end
  local concurrency, settle, outer = huge, false, nil
  if opts ~= nil then
    if type(opts) ~= "table" then
      error("bad argument #3 to 'map' (table expected, got " .. type(opts) .. ")", 2)
    end
    if opts.concurrency ~= nil then
      concurrency = opts.concurrency
      if type(concurrency) ~= "number" then
        error("bad argument #3 to 'map' (field 'concurrency': number expected, got "
          .. type(concurrency) .. ")", 2)
      end
      if concurrency ~= huge and (concurrency ~= floor(concurrency) or concurrency < 1) then
        error("bad argument #3 to 'map' (field 'concurrency': integer >= 1 or math.huge expected, got "
          .. tostring(concurrency) .. ")", 2)
      end
    end
    settle = opts.settle and true or false
    outer = opts.signal
    if outer ~= nil and not Promise.AbortSignal.is(outer) then
      error("bad argument #3 to 'map' (field 'signal': AbortSignal expected, got "
        .. type(outer) .. ")", 2)
    end
  end
  local n = list.n
  if type(n) ~= "number" then n = #list end

  local result, resolve, reject = Promise.withResolvers()
  if outer and outer.aborted then
    reject(outer.reason)
    return result
  end
  local results = { n = n }
  if n == 0 then
    resolve(results)
    return result
  end

  local controller = Promise.AbortController()
  local signal = controller.signal
  local done = false        -- the map has settled
  local nextIndex, running, finished = 1, 0, 0
  local unsubscribe

  local function finish()
    done = true
    if unsubscribe then
      unsubscribe()
      unsubscribe = nil
    end
  end

  local function fail(err, abortReason)
    if done then return end
    finish()
    reject(err)
    controller:abort(abortReason)
  end

  local launch

  local function settled(i, ok, v)
    running = running - 1
    finished = finished + 1
    if done then return end
    if settle then
      results[i] = ok and { status = "fulfilled", value = v } or { status = "rejected", reason = v }
    elseif ok then
      results[i] = v
    else
      fail(v, Promise.AbortError("map aborted: another call failed", { cause = v }))
      return
    end
    if finished == n then
      finish()
      resolve(results)
    else
      launch()
    end
  end

  local function call(i, value)
    return Promise.try(fn, value, i, signal):next(function(v)
      settled(i, true, v)
    end, function(e)
      settled(i, false, e)
    end)
  end

  function launch()
    while not done and running < concurrency and nextIndex <= n do
      local i = nextIndex
      nextIndex = i + 1
      running = running + 1
      local value = list[i]
      if Promise.is(value) then
        value:next(function(v)
          if done then
            running = running - 1
            return
          end
          call(i, v)
        end, function(e)
          settled(i, false, e)
        end)
      else
        call(i, value)
      end
    end
  end

  if outer then
    unsubscribe = outer:onAbort(function(reason)
      unsubscribe = nil
      fail(reason, reason)
    end)
  end
  launch()
  return result
end

return map
