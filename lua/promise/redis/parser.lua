--- Incremental RESP2/RESP3 reply parser (pure Lua, no socket, no promise).
---
--- ```lua
--- local parser = require("promise.redis.parser")
--- local p = parser.new{ onreply = function(value, kind) ... end }
--- local ok, err = p:feed(bytes)   -- nil, "protocol error: ..." on bad input
--- ```
---
--- `feed` takes bytes as they arrive, cut anywhere, and calls
--- `onreply(value, kind)` once per complete top-level reply, in order:
--- `kind` is nil for a value, `"error"` for an error reply (value =
--- `makeError(text)`), `"push"` for a RESP3 push (value = list with `n`).
---
--- Invariants a reader needs first:
--- * The parser never recurses: containers being filled are frames on an
---   explicit stack, so a partial reply survives between feeds and deep
---   nesting costs no C stack; depth is capped by `maxDepth`.
--- * A scalar (a line, or a bulk header with its payload) is consumed only
---   once it is complete; until then its first byte stays at `pos` and the
---   parser waits until at least `need` bytes are buffered, so a large bulk
---   string arriving in many chunks is joined once, not once per chunk.
--- * Lengths are checked before anything is waited for: a bulk or line
---   longer than `maxBulk` or a negative size other than -1 is a protocol
---   error, so hostile input never makes the parser buffer without bound.
--- * After a protocol error the parser is dead: every later `feed` returns
---   the same error and no reply is ever delivered again.

local util = require("promise.util")

local tonumber, setmetatable, concat, sub, byte, find, tointeger =
  tonumber, setmetatable, table.concat, string.sub, string.byte, string.find, math.tointeger
local huge = math.huge

local M = {}

--- Default limits: Redis's own proto-max-bulk-len (512 MiB) and a nesting
--- depth far beyond anything a server sends.
M.MAX_BULK = 512 * 1024 * 1024
M.MAX_DEPTH = 1000
--- Longest simple line (simple string, error, number) accepted.
local MAX_LINE <const> = 16 * 1024 * 1024

---@class promise.redis.ErrorReply
---@field message string

--- The default error-reply value: `{ message = text }` with a marker metatable.
local ErrorReply = { __name = "ErrorReply" }
ErrorReply.__index = ErrorReply

---@param text string
---@return promise.redis.ErrorReply
local function defaultError(text)
  return setmetatable({ message = text }, ErrorReply)
end
M.ErrorReply = ErrorReply

-- container kinds (frame[3])
local ARRAY <const>, MAP <const>, SET <const>, PUSH <const>, ATTR <const> = 1, 2, 3, 4, 5
local KIND = { [42] = ARRAY, [37] = MAP, [126] = SET, [62] = PUSH, [124] = ATTR } -- * % ~ > |
-- + : - _ # , (
local SCALAR = { [43] = true, [58] = true, [45] = true, [95] = true, [35] = true, [44] = true, [40] = true }

---@class promise.redis.Parser
---@field private buf string      bytes not yet consumed start at pos
---@field private pos integer
---@field private parts table     chunks received while waiting for `need` bytes
---@field private nparts integer
---@field private plen integer    total length of parts
---@field private need integer    bytes (from pos) needed before parsing again
---@field private waitline boolean waiting for the end of a line: for a chunk with "\n"
---@field private stack table     frames { table, expected, kind, count, key }
---@field private depth integer
---@field private dead string?    the protocol error that stopped the parser
local Parser = {}
Parser.__index = Parser
Parser.__name = "RespParser"

--- Reads a length from a header line: an integer >= -1, or nil.
local function length(s)
  if #s > 18 or not find(s, "^%-?%d+$") then return nil end
  local n = tointeger(tonumber(s))
  if n < -1 then return nil end
  return n
end

local DOUBLES = { inf = huge, ["+inf"] = huge, ["-inf"] = -huge, nan = 0 / 0, ["-nan"] = 0 / 0 }

--- Converts a scalar line (type byte `t`, text `s`); returns ok, value, iserror.
local function scalar(t, s, makeError)
  if t == 43 then return true, s                    -- + simple string
  elseif t == 58 then                                -- : integer
    if not find(s, "^%-?%d+$") then return false end
    local n = tointeger(tonumber(s))
    return n ~= nil, n
  elseif t == 45 then return true, makeError(s), true -- - error
  elseif t == 95 then return s == "", nil            -- _ null
  elseif t == 35 then                                -- # boolean
    if s == "t" then return true, true elseif s == "f" then return true, false end
    return false
  elseif t == 44 then                                -- , double
    local d = DOUBLES[s]
    if d then return true, d end
    if not find(s, "^[%-+]?[%d.]+[eE]?[%-+]?%d*$") then return false end
    d = tonumber(s)
    return d ~= nil, d and d + 0.0
  elseif t == 40 then                                -- ( big number
    return find(s, "^%-?%d+$") ~= nil, s
  end
  return false
end

--- Parses one element at `pos`. Returns:
--- * "v", value, newpos, iserror      a complete scalar
--- * "c", kind, count, newpos         a container header (count may be -1: null)
--- * "w", need, isline                incomplete: `need` bytes from pos required
---                                    (isline: a line without its CRLF yet)
--- * "e", message                     protocol error
local function element(buf, pos, maxBulk, makeError)
  local t = byte(buf, pos)
  if t == nil then return "w", 1 end
  if not (SCALAR[t] or KIND[t] or t == 36 or t == 33 or t == 61) then
    return "e", ("unknown reply type byte %d"):format(t)
  end
  local e = find(buf, "\r\n", pos + 1, true)
  if not e then
    local have = #buf - pos + 1
    if have > MAX_LINE then return "e", "line too long" end
    return "w", have + 1, true
  end
  local s = sub(buf, pos + 1, e - 1)
  if t == 36 or t == 33 or t == 61 then              -- $ bulk, ! blob error, = verbatim
    local n = length(s)
    if not n then return "e", "bad bulk length" end
    if n == -1 then
      if t ~= 36 then return "e", "bad bulk length" end
      return "v", nil, e + 2
    end
    if n > maxBulk then return "e", "bulk string longer than the limit" end
    local stop = e + 2 + n
    if #buf < stop + 1 then return "w", stop + 2 - pos end
    if sub(buf, stop, stop + 1) ~= "\r\n" then return "e", "bulk string not terminated by CRLF" end
    local v = sub(buf, e + 2, stop - 1)
    if t == 33 then return "v", makeError(v), stop + 2, true end
    if t == 61 then
      if n < 4 or byte(v, 4) ~= 58 then return "e", "bad verbatim string" end
      v = sub(v, 5)
    end
    return "v", v, stop + 2
  end
  local kind = KIND[t]
  if kind then
    local n = length(s)
    if not n or (n == -1 and kind ~= ARRAY) then return "e", "bad aggregate length" end
    return "c", kind, n, e + 2
  end
  if find(s, "[\r\n]") then return "e", "bad line" end
  local ok, v, iserr = scalar(t, s, makeError)
  if not ok then return "e", "bad value" end
  return "v", v, e + 2, iserr
end

--- Stores `v` into the top frame; returns true when that frame is complete.
local function store(f, v)
  local count = f[4] + 1
  f[4] = count
  local kind, t = f[3], f[1]
  if kind == MAP or kind == ATTR then
    if count % 2 == 1 then
      f[5] = v
    else
      local k = f[5]
      f[5] = nil
      -- a nil or NaN key cannot index a Lua table: such an entry is dropped
      if k ~= nil and k == k and kind == MAP then t[k] = v end
    end
  else
    t[count] = v
  end
  return count == f[2]
end

--- Completes the value `v` up the stack; returns the finished top-level
--- value and its kind, or nothing when the stack is still open.
local function complete(self, v, kind)
  local stack = self.stack
  while true do
    local d = self.depth
    if d == 0 then return true, v, kind end
    local f = stack[d]
    if not store(f, v) then return false end
    stack[d] = nil
    self.depth = d - 1
    v = f[1]
    if f[3] == ATTR then return false end  -- attributes are read and dropped
    kind = f[3] == PUSH and d == 1 and "push" or nil
  end
end

--- Opens a container; returns whether it is complete at once (empty or null)
--- and its value.
local function open(self, kind, n)
  if n == -1 then return true, nil end
  local t = (kind ~= MAP) and { n = n } or {}
  local expected = (kind == MAP or kind == ATTR) and 2 * n or n
  if expected == 0 then
    if kind == ATTR then return false end
    return true, t
  end
  if self.depth >= self.maxDepth then return nil end
  local d = self.depth + 1
  self.depth = d
  self.stack[d] = { t, expected, kind, 0, nil }
  return false
end

--- Marks the parser dead with a protocol error; returns nil, message.
local function die(self, msg)
  self.dead = "protocol error: " .. msg
  self.buf, self.parts, self.stack = "", {}, {}
  return nil, self.dead
end

--- Parses what is buffered; delivers complete replies.
local function run(self)
  local buf, pos, maxBulk, makeError, onreply = self.buf, self.pos, self.maxBulk, self.makeError, self.onreply
  while true do
    local r, a, b, c = element(buf, pos, maxBulk, makeError)
    local done, v, kind
    if r == "v" then       -- a = value, b = next position, c = is an error
      pos = b
      done, v, kind = complete(self, a, c and "error" or nil)
    elseif r == "c" then   -- a = kind, b = count, c = next position
      pos = c
      local top = self.depth == 0 and a == PUSH
      done, v = open(self, a, b)
      if done == nil then return die(self, "nesting deeper than the limit") end
      if done then done, v, kind = complete(self, v, top and "push" or nil) end
    elseif r == "w" then
      self.buf, self.pos, self.need, self.waitline = buf, pos, a, b or false
      return true
    else
      return die(self, a)
    end
    if done then
      onreply(v, kind)
      if self.dead then return nil, self.dead end
    end
  end
end

--- Feeds bytes; delivers every reply they complete. Returns true, or nil and
--- a "protocol error: ..." message (then and ever after).
---@param data string
---@return true|nil ok
---@return string? err
function Parser:feed(data)
  if self.dead then return nil, self.dead end
  local plen = self.plen + #data
  local avail = #self.buf - self.pos + 1 + plen
  local wait
  if self.waitline then
    -- a line ends only with a chunk that holds "\n": until then, keep the
    -- chunks apart (joining them at every chunk would be quadratic)
    wait = not find(data, "\n", 1, true)
    if wait and avail > MAX_LINE then return die(self, "line too long") end
  else
    wait = avail < self.need
  end
  if wait then
    local np = self.nparts + 1
    self.parts[np], self.nparts, self.plen = data, np, plen
    return true
  end
  local buf = self.buf
  if self.nparts > 0 then
    self.parts[self.nparts + 1] = data
    data = concat(self.parts, "", 1, self.nparts + 1)
    self.parts, self.nparts = {}, 0
  end
  self.plen = 0
  if self.pos > #buf then buf = data
  else buf = sub(buf, self.pos) .. data end
  self.buf, self.pos, self.need, self.waitline = buf, 1, 0, false
  return run(self)
end

--- Stops the parser: no reply is delivered any more, not even from the
--- chunk being fed (call it from `onreply`).
---@param msg string? the error later feeds return
function Parser:stop(msg)
  if not self.dead then
    self.dead = msg or "parser stopped"
    self.buf, self.parts, self.nparts, self.stack = "", {}, 0, {}
  end
end

--- Whether the parser holds part of a reply (bytes or open containers).
---@return boolean
function Parser:busy()
  return self.depth > 0 or self.pos <= #self.buf or self.nparts > 0
end

---@class promise.redis.ParserOptions
---@field onreply fun(value: any, kind: "error"|"push"|nil)
---@field makeError fun(text: string): any  turns an error reply into a value (default: an ErrorReply)
---@field maxBulk integer?   longest bulk string or line (default 512 MiB)
---@field maxDepth integer?  deepest nesting (default 1000)

local OPTIONS = util.schema({
  { "onreply", "function", required = true },
  { "makeError", "function" },
  { "maxBulk", "number", integer = true, min = 0 },
  { "maxDepth", "number", integer = true, min = 0 },
})

--- A new parser.
---@param opts promise.redis.ParserOptions
---@return promise.redis.Parser
function M.new(opts)
  util.checkopts("new", 1, opts, OPTIONS)
  return setmetatable({
    buf = "", pos = 1, parts = {}, nparts = 0, plen = 0, need = 0, waitline = false,
    stack = {}, depth = 0, dead = nil,
    onreply = opts.onreply, makeError = opts.makeError or defaultError,
    maxBulk = opts.maxBulk or M.MAX_BULK, maxDepth = opts.maxDepth or M.MAX_DEPTH,
  }, Parser)
end

return M
