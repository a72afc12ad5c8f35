---@meta promise
-- LuaCATS definitions for lua-language-server: the functions of the C core
-- (`promise.core`) and of the event loop have no annotated Lua source, so
-- they are declared here, generic over the value of a promise
-- (`Promise<T>`). The helpers and the I/O modules carry their own
-- annotations in lua/promise/*.lua. Add this folder (the rock installs it
-- beside itself) to `workspace.library` to get completion and type checks.
-- The reference manual is docs/manual/README.md.

---A promise of a value of type `T`.
---@class Promise<T>
local Promise = {}

---JavaScript's `then`: returns a new promise resolved with what the handler returns.
---@generic T, U
---@param self Promise<T>
---@param onFulfilled? fun(value: T): U|Promise<U>
---@param onRejected? fun(reason: any): any
---@return Promise<U>
function Promise:next(onFulfilled, onRejected) end

---`p:next(nil, onRejected)`.
---@generic T
---@param self Promise<T>
---@param onRejected? fun(reason: any): any
---@return Promise<T|any>
function Promise:catch(onRejected) end

---Runs `onFinally()` when settled; the outcome passes through unless it raises or returns a rejecting promise.
---@generic T
---@param self Promise<T>
---@param onFinally? fun(): any
---@return Promise<T>
function Promise:finally(onFinally) end

---`"pending"`, or `"fulfilled", value`, or `"rejected", reason`.
---@return "pending"|"fulfilled"|"rejected" state
---@return any value_or_reason
function Promise:state() end

---Runs the luv loop until settled (outside a running loop); returns the value or raises the reason.
---@generic T
---@param self Promise<T>
---@param timeout_ms? number raise a TimeoutError after this many ms
---@return T
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
---@overload fun(executor: fun(resolve: fun(value?: any), reject: fun(reason?: any))): Promise<any>
---@field AbortController fun(): promise.AbortController
---@field AbortSignal {abort: (fun(reason?: any): promise.AbortSignal), timeout: (fun(ms: number): promise.AbortSignal), any: (fun(signals: promise.AbortSignal[]): promise.AbortSignal), is: (fun(v: any): boolean)}
---@field timeout fun(work: Promise<any>|fun(signal: promise.AbortSignal): any, ms: number, opts?: promise.TimeoutOptions): Promise<any>
---@field retry fun(fn: fun(attempt: integer, signal: promise.AbortSignal): any, opts?: promise.RetryOptions): Promise<any>
---@field limiter fun(concurrency: number, opts?: promise.LimiterOptions): promise.Limiter
---@field map fun(list: table, fn: fun(value: any, index: integer, signal: promise.AbortSignal): any, opts?: promise.MapOptions): Promise<table>
---@field ratelimiter fun(opts: promise.RateLimiterOptions): promise.RateLimiter
---@field breaker fun(opts?: promise.BreakerOptions): promise.Breaker
---@field promisify fun(fn: function, opts?: promise.PromisifyOptions): fun(...): Promise<any>
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
---@generic T
---@param executor fun(resolve: fun(value?: T|Promise<T>), reject: fun(reason?: any))
---@return Promise<T>
function M.new(executor) end

---`v` itself when it is a promise of this library, else a new promise resolved with `v`.
---@generic T
---@param v? T|Promise<T>
---@return Promise<T>
function M.resolve(v) end

---A new promise rejected with `r`.
---@param r? any
---@return Promise<any>
function M.reject(r) end

---@generic T
---@return Promise<T> p
---@return fun(value?: T|Promise<T>) resolve
---@return fun(reason?: any) reject
function M.withResolvers() end

---Calls `fn(...)` at once; a promise of its first result, rejected with what it raised.
---@generic R
---@param fn fun(...): R|Promise<R>
---@param ... any
---@return Promise<R>
function M.try(fn, ...) end

---True only for promises of this library.
---@param v any
---@return boolean
function M.is(v) end

---Fulfils with `{v1, ..., vn, n = n}` in input order, or rejects with the first rejection.
---@generic T
---@param list (T|Promise<T>)[] array-like; `list.n` is honoured
---@return Promise<T[]>
function M.all(list) end

---@class PromiseSettled
---@field status "fulfilled"|"rejected"
---@field value any   when fulfilled
---@field reason any  when rejected

---Fulfils with `{ {status = "fulfilled", value = v} | {status = "rejected", reason = r}, ..., n = n }`.
---@param list table
---@return Promise<PromiseSettled[]>
function M.allSettled(list) end

---Settles like the first element to settle.
---@generic T
---@param list (T|Promise<T>)[]
---@return Promise<T>
function M.race(list) end

---The first fulfilment, or an AggregateError (`errors`) when every element rejects.
---@generic T
---@param list (T|Promise<T>)[]
---@return Promise<T>
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
---@generic R
---@param fn fun(...): R
---@return fun(...): Promise<R>
function M.async(fn) end

---Inside an async function: waits for `v` and returns its value or raises its reason.
---@generic T
---@param v Promise<T>|T
---@return T
function M.await(v) end

---Replaces the unhandled-rejection reporter (nil restores the default).
---@param fn? fun(reason: any, promise: Promise<any>)
function M.onUnhandledRejection(fn) end

---Called when a handler is attached to an already reported promise; nil
---restores the default (a PromiseRejectionHandledWarning, see onWarning).
---@param fn? fun(promise: Promise<any>)
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
---@field hasRef fun(self: PromiseTimer): boolean
---@field refresh fun(self: PromiseTimer): PromiseTimer  (timeouts and intervals)
---@field close fun(self: PromiseTimer): PromiseTimer  (timeouts and intervals)

---Runs `fn(...)` as an async function, then the luv loop until it has nothing left to do.
---@generic R
---@param fn fun(...): R
---@param ... any
---@return boolean ok
---@return R|any value_or_reason
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

---A promise fulfilled with `opts.value` after `ms`; `opts.signal` cancels it; `opts.ref = false` lets the loop exit.
---@generic T
---@param ms? number
---@param opts? {value?: T, signal?: promise.AbortSignal, ref?: boolean}
---@return Promise<T>
function M.sleep(ms, opts) end

---The current time in ms, from the real or the fake clock.
---@return number
function M.now() end

---@class PromiseFakeClock
---@field now fun(self: PromiseFakeClock): number
---@field advance fun(self: PromiseFakeClock, ms: number): number
---@field runAll fun(self: PromiseFakeClock): number
---@field countTimers fun(self: PromiseFakeClock): integer
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
---@param create? fun(p: Promise<any>, parent?: Promise<any>)
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
