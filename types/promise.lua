---@meta promise
-- LuaCATS definitions for lua-language-server: the functions of the C core
-- (`promise.core`) have no Lua source to read annotations from, so they are
-- declared here. Add this folder to `workspace.library` to get completion.

---@class Promise
local Promise = {}

---JavaScript's `then`: returns a new promise resolved with what the handler returns.
---@param onFulfilled? fun(value: any): any
---@param onRejected? fun(reason: any): any
---@return Promise
function Promise:next(onFulfilled, onRejected) end

---`p:next(nil, onRejected)`.
---@param onRejected? fun(reason: any): any
---@return Promise
function Promise:catch(onRejected) end

---Runs `onFinally()` when settled; the outcome passes through unless it raises or returns a rejecting promise.
---@param onFinally? fun(): any
---@return Promise
function Promise:finally(onFinally) end

---`"pending"`, or `"fulfilled", value`, or `"rejected", reason`.
---@return "pending"|"fulfilled"|"rejected" state
---@return any value_or_reason
function Promise:state() end

---Runs the luv loop until settled (outside a running loop); returns the value or raises the reason.
---@param timeout_ms? number raise a TimeoutError after this many ms
---@return any
function Promise:wait(timeout_ms) end

---@class PromiseError
---@field name string
---@field message string
---@field cause any

---@class PromiseErrorClass
---@overload fun(message?: string, fields?: table): PromiseError
---@field is fun(v: any): boolean
---@field extend fun(self: PromiseErrorClass, name: string): PromiseErrorClass

---@class PromiseModule
---@overload fun(executor: fun(resolve: fun(value?: any), reject: fun(reason?: any))): Promise
---@field Error PromiseErrorClass
---@field TypeError PromiseErrorClass
---@field AggregateError PromiseErrorClass
---@field TimeoutError PromiseErrorClass
---@field AbortError PromiseErrorClass
---@field CircuitOpenError PromiseErrorClass
---@field QueueFullError PromiseErrorClass
---@field IOError PromiseErrorClass
local M = {}

---Calls `executor(resolve, reject)` at once; an error it raises rejects the promise.
---@param executor fun(resolve: fun(value?: any), reject: fun(reason?: any))
---@return Promise
function M.new(executor) end

---`v` itself when it is a promise of this library, else a new promise resolved with `v`.
---@param v? any
---@return Promise
function M.resolve(v) end

---A new promise rejected with `r`.
---@param r? any
---@return Promise
function M.reject(r) end

---@return Promise p
---@return fun(value?: any) resolve
---@return fun(reason?: any) reject
function M.withResolvers() end

---Calls `fn(...)` at once; a promise of its first result, rejected with what it raised.
---@param fn function
---@param ... any
---@return Promise
function M.try(fn, ...) end

---True only for promises of this library.
---@param v any
---@return boolean
function M.is(v) end

---Fulfils with `{v1, ..., vn, n = n}` in input order, or rejects with the first rejection.
---@param list table array-like; `list.n` is honoured
---@return Promise
function M.all(list) end

---Fulfils with `{ {status = "fulfilled", value = v} | {status = "rejected", reason = r}, ..., n = n }`.
---@param list table
---@return Promise
function M.allSettled(list) end

---Settles like the first element to settle.
---@param list table
---@return Promise
function M.race(list) end

---The first fulfilment, or an AggregateError (`errors`) when every element rejects.
---@param list table
---@return Promise
function M.any(list) end

---Runs `fn()` on the microtask queue.
---@param fn fun()
function M.queueMicrotask(fn) end

---Runs the microtask queue until it is empty; returns the number of jobs run.
---@return integer
function M.drain() end

---Sets the function called when a drain becomes needed (for loops other than luv).
---@param fn? fun()
function M.onDrainNeeded(fn) end

---Returns a function that runs `fn` as an async function and returns a promise of its result.
---@param fn function
---@return fun(...): Promise
function M.async(fn) end

---Inside an async function: waits for `v` and returns its value or raises its reason.
---@param v any
---@return any
function M.await(v) end

---Replaces the unhandled-rejection reporter (nil restores the default).
---@param fn? fun(reason: any, promise: Promise)
function M.onUnhandledRejection(fn) end

---Called when a handler is attached to an already reported promise; nil
---restores the default (a PromiseRejectionHandledWarning, see onWarning).
---@param fn? fun(promise: Promise)
function M.onRejectionHandled(fn) end

---Replaces the reporter of errors raised by microtasks and timer callbacks.
---@param fn? fun(err: any, traceback?: string)
function M.onUncaughtError(fn) end

---Hands an error to the uncaught-error reporter.
---@param err any
---@param traceback? string
function M.reportError(err, traceback) end

---@class PromiseTimer
---@field ref fun(self: PromiseTimer): PromiseTimer
---@field unref fun(self: PromiseTimer): PromiseTimer
---@field close fun(self: PromiseTimer)

---Runs `fn(...)` as an async function, then the luv loop until it has nothing left to do.
---@param fn function
---@param ... any
---@return boolean ok
---@return any value_or_reason
function M.run(fn, ...) end

---@param fn function
---@param ms? number
---@param ... any passed to fn
---@return PromiseTimer
function M.setTimeout(fn, ms, ...) end

---@param t? PromiseTimer
function M.clearTimeout(t) end

---@param fn function
---@param ms? number
---@param ... any
---@return PromiseTimer
function M.setInterval(fn, ms, ...) end

---@param t? PromiseTimer
function M.clearInterval(t) end

---@param fn function
---@param ... any
---@return PromiseTimer
function M.setImmediate(fn, ...) end

---@param t? PromiseTimer
function M.clearImmediate(t) end

---A promise fulfilled with `opts.value` after `ms`; `opts.signal` cancels it.
---@param ms number
---@param opts? {value?: any, signal?: table}
---@return Promise
function M.sleep(ms, opts) end

---The current time in ms, from the real or the fake clock.
---@return number
function M.now() end

---@class PromiseFakeClock
---@field now fun(self: PromiseFakeClock): number
---@field advance fun(self: PromiseFakeClock, ms: number)
---@field runAll fun(self: PromiseFakeClock)
---@field restore fun(self: PromiseFakeClock)

---Switches every timer of the library to a virtual clock.
---@param start_ms? number
---@return PromiseFakeClock
function M.useFakeTimers(start_ms) end

---Sets the function that receives each warning (default: one line on stderr).
---@param fn? fun(warning: PromiseWarning)
function M.onWarning(fn) end

---@class PromiseWarning
---@field name string
---@field message string
---@field site? string

---@type PromiseDebug
M.debug = nil

---`promise.core`, the C module: the internal functions that `promise.debug`
---is built on (not part of the `Promise` table).
---@class PromiseCore
local core = {}

---Sets the debugging hooks; nil turns one off. `create(p, parent)` is called
---for each new promise (`parent`: the promise `next`/`catch`/`finally` was
---called on); `describe(p, first)` returns a line to add to a rejection
---traceback for each promise its async trace goes through (`first`: the
---promise being rejected). A hook never runs inside a hook; errors in it are
---ignored.
---@param create? fun(p: Promise, parent?: Promise)
---@param describe? fun(p: Promise, first: boolean): string?
function core.debughooks(create, describe) end

---An async trace that reaches `from` goes on at `to` with the line
---`--- awaited in: <label>`; kept as long as `from` lives.
---@param from Promise
---@param to Promise
---@param label string|fun(): string
function core.link(from, to, label) end

---@class PromiseReaction
---@field kind "then"|"adopt"|"await"|"all"|"allSettled"|"any"|"race"
---@field target? Promise the promise the reaction settles
---@field index? integer the element index, for a combinator
---@field where? string for an await: the line the async function stands at

---The reactions of a pending promise (an empty list once it has settled).
---@param p Promise
---@return PromiseReaction[]
function core.reactions(p) end

---The traceback kept beside the reason of a rejected promise, or nil.
---@param p Promise
---@return string?
function core.traceback(p) end

return M
