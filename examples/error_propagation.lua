-- The seed document's Q13: error propagation across services. Structured
-- errors (a Promise.Error subclass carrying a code, the service and a
-- correlation id), wrapping with `cause` at each boundary, and graceful
-- degradation on partial failure. Simulated services run on timers.
--
-- Run from the repository root:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 examples/error_propagation.lua
local Promise = require("promise")
local async, await = Promise.async, Promise.await

local ServiceError = Promise.Error:extend("ServiceError")
local NotFound = ServiceError:extend("NotFound")

--- A simulated HTTP client: status 200 answers, anything else raises.
local function httpGet(path, status, ms)
  return Promise.sleep(ms):next(function()
    if status ~= 200 then error({ status = status, path = path }, 0) end
    return { path = path }
  end)
end

--- A service call that turns transport errors into structured ones.
local function call(service, path, status, correlationId)
  return async(function()
    local ok, res = pcall(await, httpGet(path, status, 10))
    if ok then return res end
    local cls = res.status == 404 and NotFound or ServiceError
    error(cls(("%s: HTTP %d"):format(service, res.status), {
      code = res.status == 404 and "NOT_FOUND" or "SERVICE_ERROR",
      service = service, correlationId = correlationId, cause = res,
    }), 0)
  end)()
end

--- The patient record: partial failures degrade, a missing patient fails.
local getPatientRecord = async(function(id, statuses, correlationId)
  local settled = await(Promise.allSettled({
    call("demographics", "/demographics/" .. id, statuses[1], correlationId),
    call("medical", "/medical/" .. id, statuses[2], correlationId),
    call("insurance", "/insurance/" .. id, statuses[3], correlationId),
  }))
  local record, errors = { id = id }, {}
  for i, name in ipairs({ "demographics", "medical", "insurance" }) do
    local s = settled[i]
    if s.status == "fulfilled" then
      record[name] = s.value
    elseif NotFound.is(s.reason) and name == "demographics" then
      -- without demographics there is no patient: fail the whole request
      error(ServiceError("patient " .. id .. " not found", {
        code = "PATIENT_NOT_FOUND", service = "patient-service",
        correlationId = correlationId, cause = s.reason,
      }), 0)
    else
      errors[#errors + 1] = s.reason
    end
  end
  record.errors = errors
  return record
end)

local ok, why = Promise.run(function()
  local r = await(getPatientRecord(7, { 200, 200, 200 }, "req-1"))
  print(("req-1: complete record, %d errors"):format(#r.errors))

  r = await(getPatientRecord(8, { 200, 503, 200 }, "req-2"))
  print(("req-2: partial record (medical=%s), %d error: %s [%s, %s]"):format(
    tostring(r.medical), #r.errors, tostring(r.errors[1]), r.errors[1].code, r.errors[1].correlationId))

  local ok2, err = pcall(await, getPatientRecord(9, { 404, 200, 200 }, "req-3"))
  print(("req-3: ok=%s %s [%s]"):format(tostring(ok2), tostring(err), err.code))
  -- the chain of causes leads back to the transport error
  print(("       caused by %s, caused by HTTP %d on %s"):format(
    tostring(err.cause), err.cause.cause.status, err.cause.cause.path))
  print(("       ServiceError.is: %s, NotFound.is(cause): %s"):format(
    tostring(ServiceError.is(err)), tostring(NotFound.is(err.cause))))
end)
if not ok then error(why, 0) end
