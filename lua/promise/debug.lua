--- `Promise.debug`: finding what went wrong in async code.
---
--- - Async stack traces cost nothing here: the core extends the traceback
---   of an error raised in an async function or a handler, when it is
---   raised, with whoever awaits the promise it rejects (src/trace.c).
---   `awaitedIn` lets a Lua module add its own line to those traces.
--- - `enable()` turns on tracking: from then on, each new promise is noted
---   (creation site, time) in a weak table, so `pending()` can list the
---   promises still waiting and what each waits for. With
---   `enable{ longTraces = true }`, rejection tracebacks also get the
---   creation sites of the promises on the way (Bluebird's long stack
---   traces), and a rejection given without a traceback gets one. Off by
---   default: then the core only tests one flag per new promise.
--- - Warnings (`warn`, `onWarning`): each is written once, through a
---   handler that never raises into the code that warned.
---
--- Sites are "file:line" of the first Lua frame outside this library.

local core = require("promise.core")
local util = require("promise.util")

local type, pairs, ipairs, pcall, tostring, setmetatable, error =
  type, pairs, ipairs, pcall, tostring, setmetatable, error
local getinfo = debug.getinfo
local sort, concat = table.sort, table.concat

local is_callable, argerror = util.is_callable, util.argerror

---@class PromiseDebug
local M = {}

--- Listeners one AbortSignal may have before a leak warning (as Node's
--- `events.defaultMaxListeners`). Read by the modules that register
--- listeners; changing it affects the next registration.
M.maxListeners = 10

--- True while tracking is on (between `enable()` and `disable()`). The
--- library's modules test it before building what they register
--- (`waitingFor`, `track`), so tracking costs nothing when it is off.
--- Read-only: set it through `enable` / `disable`.
M.tracking = false

------------------------------------------------------------------ sites

-- the directory of this library's Lua files, as a chunk source prefix
local LIBDIR = (getinfo(1, "S").source:match("^(@.*[/\\])debug%.lua$"))

local function internal(source)
  return LIBDIR ~= nil and source:sub(1, #LIBDIR) == LIBDIR
end

--- "file:line" of the first Lua frame above `level` that is not this
--- library's own code, or nil.
---@param level integer
---@return string?
local function site(level)
  for l = level + 1, level + 40 do
    local info = getinfo(l, "Sl")
    if not info then return nil end
    if info.currentline > 0 and not internal(info.source) then
      return info.short_src .. ":" .. info.currentline
    end
  end
  return nil
end

--- "file:line" of the first Lua frame outside this library, from the
--- function that called `site` (`level` 1, the default; 2 its caller, as
--- for `error`) up, or nil.
---@param level integer? a non-negative integer
---@return string?
function M.site(level)
  if level == nil then level = 1 end
  if math.type(level) ~= "integer" or level < 0 then
    argerror(1, "site", "non-negative integer or nil", level)
  end
  if level > 1000000 then return nil end  -- no stack is that deep (and no overflow)
  local at = site(level + 1)  -- not a tail call: this frame counts
  return at
end

------------------------------------------------------------------ tracking

local records = setmetatable({}, { __mode = "k" })  -- promise -> record
local handles = setmetatable({}, { __mode = "k" })  -- timer, socket... -> record
local seq = 0
local options = nil  -- the options of enable(), nil when off

local function now()
  local P = package.loaded.promise
  return P and P.now and P.now() or os.clock() * 1000
end

-- the core's create hook: note the promise (parent: for next/catch/finally)
local function oncreate(p, parent)
  seq = seq + 1
  records[p] = { site = site(2), t = now(), seq = seq, parent = parent }
end

-- the core's describe hook: the lines a rejection trace gets for `p`
local function ondescribe(p, first)
  local rec = records[p]
  if not rec or not rec.site then return nil end
  if not first then return "--- passed on to a promise created at: " .. rec.site end
  local lines = { "--- in a promise created at: " .. rec.site }
  local parent = records[rec.parent]  -- where it came from, up the next chain
  for _ = 1, 20 do
    if not parent then break end
    lines[#lines + 1] = "--- which follows a promise created at: " .. (parent.site or "?")
    parent = records[parent.parent]
  end
  return concat(lines, "\n")
end

---@class PromiseDebugOptions
---@field longTraces boolean? add creation sites to rejection tracebacks

--- Turns tracking on: promises created from now on are listed by
--- `pending()` (those noted before a `disable()` are forgotten).
--- `opts.longTraces` also adds creation sites to rejection tracebacks.
--- Calling it while on replaces the options and forgets nothing.
---@param opts PromiseDebugOptions?
function M.enable(opts)
  if opts ~= nil and type(opts) ~= "table" then argerror(1, "enable", "table or nil", opts) end
  opts = opts or {}
  local long = opts.longTraces
  if long ~= nil and type(long) ~= "boolean" then
    error(("bad field 'longTraces' to 'enable' (boolean expected, got %s)"):format(util.typename(long)), 2)
  end
  if not options then  -- a new session: forget the last one's promises
    records = setmetatable({}, { __mode = "k" })
    handles = setmetatable({}, { __mode = "k" })
  end
  options = { longTraces = long == true }
  M.tracking = true
  core.debughooks(oncreate, options.longTraces and ondescribe or nil)
end

--- Turns tracking and long traces off. What was noted stays listed by
--- `pending()` until the next `enable()` (or until the promises are
--- collected).
function M.disable()
  options = nil
  M.tracking = false
  core.debughooks(nil, nil)
end

--- The options in force, or nil when debugging is off.
---@return PromiseDebugOptions?
function M.enabled()
  return options and { longTraces = options.longTraces } or nil
end

--- Registration hook for modules that make promises wait on something
--- that is not a promise (a timer, a socket read, a child process): says
--- what `p` waits for, shown by `pending()`. Does nothing for a promise
--- that is not tracked, so it costs one table lookup when debugging is off.
---@param p Promise
---@param what string|fun(): string e.g. "a timer of 100 ms"
function M.waitingFor(p, what)
  local rec = records[p]
  if rec then rec.waitingFor = what end
end

--- Hook for the helpers (retry, timeout, ...): a rejection trace that
--- reaches `from` goes on at `to` with the line `--- awaited in: <label>`
--- (a string, or a function called only when a trace is made).
---@param from Promise
---@param to Promise
---@param label string|fun(): string
function M.awaitedIn(from, to, label)
  local P = package.loaded.promise
  if not P.is(from) then argerror(1, "awaitedIn", "promise", from) end
  if not P.is(to) then argerror(2, "awaitedIn", "promise", to) end
  if type(label) ~= "string" and not is_callable(label) then
    argerror(3, "awaitedIn", "string or function", label)
  end
  core.link(from, to, label)
end

--- The traceback kept beside the reason of a rejected promise, or nil.
---@param p Promise
---@return string?
function M.traceback(p)
  return core.traceback(p)
end

------------------------------------------------------------------ pending

local function label(what)
  if type(what) == "function" then
    local ok, s = pcall(what)
    return ok and tostring(s) or "?"
  end
  return what
end

---@class PromisePendingEntry
---@field promise Promise
---@field site string? where it was created
---@field age number ms since it was created
---@field awaits Promise? the promise it waits for, if it waits for one
---@field awaitsKind string? how: "await", "then", "adopt", "all", ...
---@field where string? for an async function: where it stands in its await
---@field waitingFor string? what it waits for when it is not a promise
---@field description string one line saying all of the above

local function describe(e)
  local parts = { ("promise created at %s, pending for %d ms"):format(e.site or "?", e.age) }
  if e.where then parts[#parts + 1] = "awaiting at " .. e.where end
  if e.awaits then
    local rec = records[e.awaits]
    parts[#parts + 1] = ("waits for a promise (%s) created at %s"):format(
      e.awaitsKind, rec and rec.site or "?")
  end
  if e.waitingFor then parts[#parts + 1] = "waits for " .. e.waitingFor end
  return concat(parts, ", ")
end

--- The promises created while tracking was on that are still pending,
--- oldest first, with what each waits for.
---@return PromisePendingEntry[]
-- the tracked pending promises ({promise =, rec =}), and for each promise
-- what it waits for: the first tracked pending promise whose reaction
-- settles it ({promise =, kind =, where =})
local function scan()
  local list, waits = {}, {}
  for p, rec in pairs(records) do
    if p:state() == "pending" then list[#list + 1] = { promise = p, rec = rec } end
  end
  for _, e in ipairs(list) do  -- whom each one's reactions settle
    for _, r in ipairs(core.reactions(e.promise)) do
      if r.target and not waits[r.target] then
        waits[r.target] = { promise = e.promise, kind = r.kind, where = r.where }
      end
    end
  end
  return list, waits
end

function M.pending()
  local list, waits = scan()
  sort(list, function(a, b) return a.rec.seq < b.rec.seq end)
  local t = now()
  for i, e in ipairs(list) do
    local w = waits[e.promise]
    local entry = {
      promise = e.promise, site = e.rec.site, age = t - e.rec.t,
      awaits = w and w.promise, awaitsKind = w and w.kind, where = w and w.where,
      waitingFor = label(e.rec.waitingFor),
    }
    entry.description = describe(entry)
    list[i] = entry
  end
  return list
end

local HOW = {
  await = "awaits", ["then"] = "follows", adopt = "adopts", all = "waits in Promise.all for",
  allSettled = "waits in Promise.allSettled for", any = "waits in Promise.any for",
  race = "waits in Promise.race for",
}

--- The chain of what the pending promise `p` waits for, in one sentence:
--- "promise created at a.lua:3 awaits (at a.lua:5) a promise created at
--- b.lua:10, which waits for a socket read ...". Follows only promises
--- created while tracking was on. For a program that hangs (the report of
--- a main function that never settles).
---@param p Promise
---@return string
function M.explain(p)
  if not package.loaded.promise.is(p) then argerror(1, "explain", "promise", p) end
  local _, waits = scan()
  local rec = records[p]
  local parts = { "promise created at " .. (rec and rec.site or "?") }
  local seen = { [p] = true }
  for _ = 1, 50 do
    local w = waits[p]
    if rec and rec.waitingFor then
      parts[#parts + 1] = " waits for " .. label(rec.waitingFor)
      break
    end
    if not w or seen[w.promise] then break end
    seen[w.promise] = true
    p, rec = w.promise, records[w.promise]
    -- a step inside the library (an await in net's readLine) says nothing
    -- the reader can use: skip it, what it waits for comes next
    if not (w.where and LIBDIR and w.where:sub(1, #LIBDIR - 1) == LIBDIR:sub(2)) then
      parts[#parts + 1] = (" %s%s a promise created at %s"):format(HOW[w.kind] or w.kind,
        w.where and (" (at " .. w.where .. ")") or "", rec and rec.site or "?")
      parts[#parts + 1] = ","
      parts[#parts + 1] = " which"
    end
  end
  if parts[#parts] == " which" then parts[#parts], parts[#parts - 1] = nil, nil end
  return concat(parts)
end

--- One line per pending promise (see `pending`), for a log or a report.
---@return string
function M.report()
  local lines = {}
  for _, e in ipairs(M.pending()) do lines[#lines + 1] = e.description end
  return concat(lines, "\n")
end

------------------------------------------------------------------ handles

--- Registration hook for the modules that make handles (timers,
--- immediates, sockets, servers, child processes): lists `obj` in
--- `handles()` while `info(obj)` says it is active. `info(obj)` returns
--- `active, keepsAlive, description`. Held weakly; does nothing while
--- tracking is off (test `tracking` first to avoid making `info`).
---@param obj table the handle's object
---@param kind string "timeout", "interval", "immediate", "socket", "server", "child"
---@param info fun(obj: table): boolean, boolean, string
---@param at string? the site that made it (default: the caller's)
function M.track(obj, kind, info, at)
  local t = type(obj)
  if t ~= "table" and t ~= "userdata" then argerror(1, "track", "table or userdata", obj) end
  if type(kind) ~= "string" then argerror(2, "track", "string", kind) end
  if not is_callable(info) then argerror(3, "track", "function", info) end
  if at ~= nil and type(at) ~= "string" then argerror(4, "track", "string or nil", at) end
  if not options then return end
  seq = seq + 1
  handles[obj] = { kind = kind, info = info, site = at or site(1), seq = seq, t = now() }
end

---@class PromiseHandleEntry
---@field object table the timer, socket, server or child
---@field kind string "timeout", "interval", "immediate", "socket", "server", "child"
---@field site string? where it was made
---@field age number ms since it was made
---@field keepsAlive boolean true when it keeps the loop (and `Promise.run`) alive
---@field description string one line saying all of the above

--- The library's live handles made while tracking was on (timers,
--- intervals, immediates, sockets, servers, child processes), oldest
--- first, each with the site that made it and whether it keeps the loop
--- alive.
---@return PromiseHandleEntry[]
function M.handles()
  local list, t = {}, now()
  for obj, rec in pairs(handles) do
    local ok, active, alive, what = pcall(rec.info, obj)
    if ok and active then
      list[#list + 1] = { object = obj, kind = rec.kind, site = rec.site, age = t - rec.t,
        keepsAlive = alive and true or false, what = tostring(what), seq = rec.seq }
    elseif ok then
      handles[obj] = nil  -- closed: never listed again
    end
  end
  sort(list, function(a, b) return a.seq < b.seq end)
  for _, e in ipairs(list) do
    local what = e.what ~= "" and (" " .. e.what) or ""
    e.description = ("%s%s, created at %s, %s"):format(e.kind, what, e.site or "?",
      e.keepsAlive and "keeps the loop alive" or "does not keep the loop alive")
    e.what, e.seq = nil, nil
  end
  return list
end

------------------------------------------------------------------ warnings

local warned = {}
local handler = nil

local Warning = {}
Warning.__index = Warning
Warning.__name = "PromiseWarning"
function Warning.__tostring(w)
  return ("%s: %s%s"):format(w.name, w.message, w.site and (" (at " .. w.site .. ")") or "")
end

local function defaultwarning(w)
  io.stderr:write("(promise) ", tostring(w), "\n")
  io.stderr:flush()
end

--- Emits a warning once: the same name at the same site (or with the same
--- message, when there is no site) is not emitted again. The handler runs
--- protected: an error in it is written to stderr, never raised. Returns
--- true when the warning was emitted.
---@param name string e.g. "MaxListenersExceededWarning"
---@param message string
---@param at string? the site, e.g. "a.lua:12"
---@return boolean
function M.warn(name, message, at)
  if type(name) ~= "string" then argerror(1, "warn", "string", name) end
  if type(message) ~= "string" then argerror(2, "warn", "string", message) end
  if at ~= nil and type(at) ~= "string" then argerror(3, "warn", "string or nil", at) end
  local key = name .. "\0" .. (at or message)
  if warned[key] then return false end
  warned[key] = true
  local w = setmetatable({ name = name, message = message, site = at }, Warning)
  local ok, err = pcall(handler or defaultwarning, w)
  if not ok then
    pcall(io.stderr.write, io.stderr, "promise: error in the warning handler: ",
      tostring(err), "\n")
  end
  return true
end

--- `Promise.onWarning(fn)`: `fn(warning)` receives each warning (a table
--- with `name`, `message`, `site`; `tostring` gives one line) instead of
--- stderr; nil restores the default.
---@param fn fun(warning: table)?
function M.onWarning(fn)
  if fn ~= nil and not is_callable(fn) then argerror(1, "onWarning", "function or nil", fn) end
  handler = fn
end

--- Forgets which warnings were emitted (for tests).
function M.resetWarnings()
  warned = {}
end

--- The default `onRejectionHandled`: a rejection that was reported as
--- unhandled got a handler only later (Node's
--- PromiseRejectionHandledWarning). Its site: where the promise was
--- created when tracked, else the first line of its traceback.
---@param p Promise
function M.rejectionHandled(p)
  local rec = records[p]
  local at = rec and rec.site
  if not at then
    local tb = core.traceback(p)
    at = tb and tb:match("\n\t([^\n]-:%d+):") or nil
  end
  M.warn("PromiseRejectionHandledWarning",
    "a rejection was handled only after it had been reported as unhandled", at)
end

return M
