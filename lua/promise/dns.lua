--- Promisified name resolution (`require("promise.dns")`; manual: docs/manual/dns.md).
---
--- ```lua
--- local dns = require("promise.dns")
--- local addrs = await(dns.lookup("localhost"))  -- { {address = "127.0.0.1", family = "inet"}, ... }
--- ```
---
--- `lookup` uses the system resolver (getaddrinfo in libuv's thread pool),
--- like Node's `dns.lookup`, and keeps its order (Node's `verbatim`). A name
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

local M = {}

local FAMILIES = { inet = "inet", inet6 = "inet6", [4] = "inet", [6] = "inet6" }

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
