--- Options of `redis.connect`: URL parsing, defaults and checks, all in
--- one table-driven place (`SCHEMA`). Messages never quote a password or
--- a URL (which may hold one).

local util = require("promise.util")

local type, error, tostring, pairs, tonumber, tointeger, mtype =
  type, error, tostring, pairs, tonumber, math.tointeger, math.type

local M = {}

local function posint(v) return mtype(v) == "integer" and v >= 0 end
-- durations: a rule answers true, or false and the whole problem
local function timeout(v)
  local problem = util.msproblem(v, true)
  return problem == nil, problem
end
local function delay(v)
  local problem = util.msproblem(v)
  return problem == nil, problem
end
local function ceiling(v) return type(v) == "number" and v >= 0 end
local function str(v) return type(v) == "string" end
local function signal(v)
  local Promise = require("promise")
  return Promise.AbortSignal.is(v)
end

-- option -> { check, expected }
local SCHEMA = {
  url = { str, "string" },
  host = { str, "string" },
  port = { function(v) return mtype(v) == "integer" and v > 0 and v < 65536 end, "integer in 1..65535" },
  path = { str, "string" },
  username = { str, "string" },
  password = { str, "string" },
  db = { posint, "non-negative integer" },
  name = { function(v) return str(v) and not v:find("[%s]") end, "string without spaces" },
  protocol = { function(v) return v == 2 or v == 3 end, "2 or 3" },
  connectTimeout = { timeout },
  commandTimeout = { timeout },
  reconnect = { function(v) return v == false or v == true or type(v) == "table" end, "table or boolean" },
  maxPending = { posint, "non-negative integer" },
  signal = { signal, "AbortSignal" },
  maxBulk = { posint, "non-negative integer" },
}

local RECONNECT = {
  minDelay = { delay },
  maxDelay = { ceiling, "non-negative number" },
  retries = { function(v) return type(v) == "number" and v >= 0 end, "non-negative number" },
}

local function badfield(fname, field, problem)
  error(("bad argument #1 to '%s' (field '%s': %s)"):format(fname, field, problem), 5)
end

--- Checks `t` against `schema` (unknown fields included).
local function check(t, schema, fname, prefix)
  for k, v in pairs(t) do
    local rule = schema[k]
    if not rule then
      error(("bad argument #1 to '%s' (unknown option '%s%s')"):format(fname, prefix, tostring(k)), 4)
    end
    local ok, problem = rule[1](v)
    if not ok then
      badfield(fname, prefix .. k, problem or ("%s expected, got %s"):format(rule[2], util.typename(v)))
    end
  end
end

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

--- Parses `redis://[user:password@]host[:port][/db]` or
--- `unix:///path[?db=N]`, `redis+unix` likewise; returns a table of
--- options, or nil and a message that does not quote the URL.
---@param url string
---@return table? opts
---@return string? err
function M.parseURL(url)
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil, "not a redis:// or unix:// URL" end
  local o = {}
  if scheme == "unix" or scheme == "redis+unix" then
    local path, query = rest:match("^([^?]*)%??(.*)$")
    if path == "" then return nil, "the unix:// URL has no path" end
    o.path = unescape(path)
    local db = query:match("db=(%d+)")
    if db then o.db = tointeger(tonumber(db)) end
    return o
  end
  if scheme ~= "redis" then return nil, "unsupported URL scheme" end
  local authority, dbpart = rest:match("^([^/?]*)/?(.*)$")
  local cred, hostport = authority:match("^(.*)@([^@]*)$")
  if not cred then hostport = authority end
  if cred then
    local user, pass = cred:match("^([^:]*):(.*)$")
    if user then
      if user ~= "" then o.username = unescape(user) end
      o.password = unescape(pass)
    elseif cred ~= "" then
      o.password = unescape(cred)
    end
  end
  local host, port = hostport:match("^%[(.-)%]:?(%d*)$")
  if not host then host, port = hostport:match("^([^:]*):?(%d*)$") end
  if not host then return nil, "bad host or port in the URL" end
  if host ~= "" then o.host = host end
  if port ~= "" then
    o.port = tointeger(tonumber(port))
    if o.port < 1 or o.port > 65535 then return nil, "bad port in the URL" end
  end
  dbpart = dbpart:match("^([^?]*)")
  if dbpart ~= "" then
    if not dbpart:match("^%d+$") then return nil, "bad database number in the URL" end
    o.db = tointeger(tonumber(dbpart))
  end
  return o
end

---@class promise.redis.Config
---@field host string
---@field port integer
---@field path string?
---@field username string?
---@field password string?
---@field db integer
---@field name string?
---@field protocol 2|3
---@field connectTimeout number
---@field commandTimeout number?
---@field reconnect {minDelay: number, maxDelay: number, retries: number}|false
---@field maxPending integer
---@field maxBulk integer?

--- Checks `opts` and returns the complete configuration (URL fields first,
--- then the explicit options over them). Raises a Lua error at level 3.
---@param opts table?
---@param fname string the public function's name, for messages
---@return promise.redis.Config
function M.resolve(opts, fname)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then
    error(("bad argument #1 to '%s' (table expected, got %s)"):format(fname, util.typename(opts)), 3)
  end
  check(opts, SCHEMA, fname, "")
  local cfg = { host = "127.0.0.1", port = 6379, db = 0, protocol = 2, connectTimeout = 10000,
    maxPending = 1000 }
  if opts.url then
    local u, err = M.parseURL(opts.url)
    if not u then
      error(("bad argument #1 to '%s' (field 'url': %s)"):format(fname, err), 3)
    end
    for k, v in pairs(u) do cfg[k] = v end
  end
  for k, v in pairs(opts) do
    if k ~= "url" and k ~= "signal" and k ~= "reconnect" then cfg[k] = v end
  end
  local rc = opts.reconnect
  if rc == false then
    cfg.reconnect = false
  else
    local r = { minDelay = 50, maxDelay = 2000, retries = math.huge }
    if type(rc) == "table" then
      check(rc, RECONNECT, fname, "reconnect.")
      for k, v in pairs(rc) do r[k] = v end
    end
    cfg.reconnect = r
  end
  return cfg
end

--- A copy of `cfg` with `over` (checked like `resolve`'s options) on top.
---@param cfg promise.redis.Config
---@param over table?
---@param fname string
---@return promise.redis.Config
function M.merge(cfg, over, fname)
  local t = {}
  for k, v in pairs(cfg) do t[k] = v end
  if over ~= nil then
    if type(over) ~= "table" then
      error(("bad argument #1 to '%s' (table expected, got %s)"):format(fname, util.typename(over)), 3)
    end
    check(over, SCHEMA, fname, "")
    if over.url then
      t.host, t.port, t.path, t.username, t.password, t.db = "127.0.0.1", 6379, nil, nil, nil, 0
      local u, err = M.parseURL(over.url)
      if not u then error(("bad argument #1 to '%s' (field 'url': %s)"):format(fname, err), 3) end
      for k, v in pairs(u) do t[k] = v end
    end
    for k, v in pairs(over) do
      if k ~= "url" and k ~= "signal" then t[k] = v end
    end
    if over.reconnect ~= nil and over.reconnect ~= false then
      local r = { minDelay = 50, maxDelay = 2000, retries = math.huge }
      if type(over.reconnect) == "table" then
        check(over.reconnect, RECONNECT, fname, "reconnect.")
        for k, v in pairs(over.reconnect) do r[k] = v end
      end
      t.reconnect = r
    end
  end
  return t
end

return M
