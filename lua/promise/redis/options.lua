--- Options of `redis.connect`: URL parsing, defaults and checks, all in
--- one table-driven place (`SCHEMA`). Messages never quote a password or
--- a URL (which may hold one).

local util = require("promise.util")

local type, tostring, pairs, tonumber, tointeger, mtype =
  type, tostring, pairs, tonumber, math.tointeger, math.type

local M = {}

-- `unknown option 'x'`: the key is an option's name, never its value
local function unknown(k)
  return ("unknown option '%s'"):format(tostring(k))
end

-- "field 'url': <problem>": parseURL's message never quotes the URL
local function urlproblem(v)
  local _, err = M.parseURL(v)
  return err
end

local function isport(v) return mtype(v) == "integer" and v > 0 and v < 65536 end
local function isname(v) return type(v) == "string" and not v:find("%s") end
local function isreconnect(v) return type(v) == "boolean" or type(v) == "table" end

-- No defaults here: `resolve` lays them under the URL's fields, and
-- `merge` must not put them over the configuration it copies. A string
-- option is checked by kind "string", whose message names only the type
-- (never a password).
local SCHEMA = util.schema({
  { "url", "string", check = urlproblem },
  { "host", "string" },
  { "port", "any", check = util.expect("integer in 1..65535", isport) },
  { "path", "string" },
  { "username", "string" },
  { "password", "string" },
  { "db", "number", integer = true, min = 0 },
  { "name", "any", check = util.expect("string without spaces", isname, util.typename) },
  { "protocol", "enum", values = { 2, 3 } },
  { "connectTimeout", "ms", never = true },
  { "commandTimeout", "ms", never = true },
  { "reconnect", "any", check = util.expect("table or boolean", isreconnect) },
  { "maxPending", "number", integer = true, min = 0 },
  { "signal", "signal" },
  { "maxBulk", "number", integer = true, min = 0 },
}, unknown)

-- The fields of `reconnect`, named as its messages show them (checked on
-- a copy whose keys carry the prefix: see `reconnectcfg`).
local PREFIX = "reconnect."
local RECONNECT = util.schema({
  { PREFIX .. "minDelay", "ms", default = 50 },
  { PREFIX .. "maxDelay", "number", min = 0, huge = true, default = 2000 },
  { PREFIX .. "retries", "number", min = 0, huge = true, default = math.huge },
}, unknown)

--- The reconnect settings of option `rc` (true or a table: the defaults
--- under its fields). Raises at `level`, counted as for `error` from here.
---@param rc true|table
---@param fname string
---@param level integer
---@return {minDelay: number, maxDelay: number, retries: number}
local function reconnectcfg(rc, fname, level)
  local named = {}
  if type(rc) == "table" then
    for k, v in pairs(rc) do named[PREFIX .. tostring(k)] = v end
  end
  local r = util.checkopts(fname, 1, named, RECONNECT, level)
  return { minDelay = r[PREFIX .. "minDelay"], maxDelay = r[PREFIX .. "maxDelay"],
    retries = r[PREFIX .. "retries"] }
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
--- then the explicit options over them). Raises at the caller of the
--- public function that calls this one.
---@param opts table?
---@param fname string the public function's name, for messages
---@return promise.redis.Config
function M.resolve(opts, fname)
  -- 3: here, the public function, its caller (no tail call: see HACKING)
  local checked = util.checkopts(fname, 1, opts, SCHEMA, 3)
  local cfg = { host = "127.0.0.1", port = 6379, db = 0, protocol = 2, connectTimeout = 10000,
    maxPending = 1000 }
  if checked.url then
    for k, v in pairs(M.parseURL(checked.url)) do cfg[k] = v end
  end
  for k, v in pairs(checked) do
    if k ~= "url" and k ~= "signal" and k ~= "reconnect" then cfg[k] = v end
  end
  local rc = checked.reconnect
  if rc == false then
    cfg.reconnect = false
  else
    cfg.reconnect = reconnectcfg(rc, fname, 4)
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
  if over == nil then return t end
  local checked = util.checkopts(fname, 1, over, SCHEMA, 3)
  if checked.url then
    t.host, t.port, t.path, t.username, t.password, t.db = "127.0.0.1", 6379, nil, nil, nil, 0
    for k, v in pairs(M.parseURL(checked.url)) do t[k] = v end
  end
  for k, v in pairs(checked) do
    if k ~= "url" and k ~= "signal" then t[k] = v end
  end
  local rc = checked.reconnect
  if rc ~= nil and rc ~= false then t.reconnect = reconnectcfg(rc, fname, 4) end
  return t
end

return M
