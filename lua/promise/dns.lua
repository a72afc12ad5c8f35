--- Promisified name resolution (`require("promise.dns")`; manual: docs/manual/dns.md).
---
--- ```lua
--- local dns = require("promise.dns")
--- local addrs = await(dns.lookup("localhost"))  -- { {address = "127.0.0.1", family = "inet"}, ... }
--- ```
---
--- `lookup` uses the system resolver (getaddrinfo in libuv's thread pool),
--- like Node's `dns.lookup`, and keeps its order (Node's `verbatim`). An IP
--- address (IPv4 dotted-decimal, IPv6 hex groups) is answered at once
--- without it, as in Node. A name
--- that does not exist rejects with an `IOError` whose `code` is luv's name,
--- `"EAI_NONAME"` (Node calls it ENOTFOUND); `syscall` is `"getaddrinfo"` and
--- `hostname` the name.
---
--- `opts.signal`: the request is cancelled with `uv.cancel` and the promise
--- rejects at once with the signal's reason. A lookup already running in the
--- thread pool cannot be interrupted (the resolver may be waiting for the
--- network): it finishes in the background and its result is dropped.

local Promise = require("promise")
local uv = require("luv")
local ioerror = require("promise.ioerror")
local util = require("promise.util")

local ipairs, tonumber, tostring = ipairs, tonumber, tostring

local M = {}

local FAMILIES = { inet = "inet", inet6 = "inet6", [4] = "inet", [6] = "inet6" }

local find, match, gmatch = string.find, string.match, string.gmatch

--- Whether `s` is an IPv4 address in dotted-decimal form without leading
--- zeros (what Node's `net.isIPv4` accepts).
local function isipv4(s)
  local a, b, c, d = match(s, "^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return false end
  for _, x in ipairs{ a, b, c, d } do
    if #x > 3 or (#x > 1 and x:byte(1) == 48) or tonumber(x) > 255 then return false end
  end
  return true
end

--- The number of 1-4 digit hex groups in the ":"-separated `s` ("" has
--- none), or nil when one is not such a group.
local function hexgroups(s)
  if s == "" then return 0 end
  local n = 0
  for g in gmatch(s .. ":", "([^:]*):") do
    if not find(g, "^%x%x?%x?%x?$") then return nil end
    n = n + 1
  end
  return n
end

--- Whether `s` is an IPv6 address in hex groups (at most one "::"); forms
--- with an embedded IPv4 address or a zone are left to getaddrinfo.
local function isipv6(s)
  if #s > 39 or not find(s, "^[%x:]+$") then return false end
  local head, tail = match(s, "^(.-)::(.*)$")
  if not head then return hexgroups(s) == 8 end
  if find(tail, "::", 1, true) then return false end
  local h, t = hexgroups(head), hexgroups(tail)
  return h ~= nil and t ~= nil and h + t <= 7
end

---@class promise.dns.Address
---@field address string  e.g. "127.0.0.1", "::1"
---@field family string   "inet" or "inet6"

---@class promise.dns.LookupOptions
---@field family ("inet"|"inet6"|4|6)?  only addresses of this family (default: both)
---@field signal promise.AbortSignal?

--- Resolves `host` (a name or an IP address) to its addresses.
---@param host string
---@param opts? promise.dns.LookupOptions
---@return Promise # of promise.dns.Address[] (never empty)
function M.lookup(host, opts)
  ioerror.checkname(host, 1, "lookup")  -- no NUL: getaddrinfo would look up a shorter name
  opts = ioerror.checkopts(opts, 2, "lookup")
  local family = opts.family
  if family ~= nil then
    family = FAMILIES[family]
    if not family then
      util.badarg(2, "lookup", ('field \'family\': "inet", "inet6", 4 or 6 expected, got %s')
        :format(tostring(opts.family)))
    end
  end
  local signal = opts.signal
  if signal and signal.aborted then return Promise.reject(signal.reason) end
  -- an address is its own answer, with no thread-pool round trip (as Node)
  if family ~= "inet6" and isipv4(host) then
    return Promise.resolve({ { address = host, family = "inet" } })
  elseif family ~= "inet" and isipv6(host) then
    return Promise.resolve({ { address = host, family = "inet6" } })
  end

  local p, resolve, reject = Promise.withResolvers()
  local done, unsubscribe = false, nil
  local fields = { syscall = "getaddrinfo", hostname = host }
  local req, err, name = uv.getaddrinfo(host, nil, { socktype = "stream", family = family },
    ioerror.cb(function(e, res)
      if done then return end
      done = true
      if unsubscribe then unsubscribe() end
      if e then
        reject(ioerror.fromLuv(e, fields, nil, host))
        return
      end
      local list, seen = {}, {}
      for _, ai in ipairs(res or {}) do
        if not seen[ai.addr] then
          seen[ai.addr] = true
          list[#list + 1] = { address = ai.addr, family = ai.family }
        end
      end
      if #list == 0 then
        reject(ioerror.fromLuv("EAI_NODATA", fields, nil, host))
      else
        resolve(list)
      end
    end))
  if not req then
    done = true
    reject(ioerror.fromLuv(err, fields, name, host))
  elseif signal then
    unsubscribe = signal:onAbort(function(reason)
      done = true
      uv.cancel(req)
      reject(reason)
    end)
  end
  return p
end

return M
