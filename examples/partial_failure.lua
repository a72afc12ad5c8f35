-- Partial failure (the seed's healthcare scenario): a patient record is
-- aggregated from several services queried at once with Promise.allSettled,
-- each call limited by its own timeout (Promise.timeout, which also cancels
-- the hung call through its AbortSignal). The record is returned with
-- whatever data arrived and the list of the services that failed, instead
-- of failing as a whole; with Promise.all, one failure loses everything.
--
-- Run from the repository root:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 examples/partial_failure.lua
local Promise = require("promise")
local await = Promise.await

local CALL_TIMEOUT = 100 -- ms per service call

local ServiceError = Promise.Error:extend("ServiceError")

-- Simulated services: { name, ms to answer, data or nil (fails) }.
local SERVICES = {
  { name = "demographics", ms = 20, data = { name = "J. Doe", born = 1975 } },
  { name = "medical", ms = 40, data = { conditions = { "asthma" } } },
  { name = "insurance", ms = 15, fail = "INSURANCE_SERVICE_ERROR" },
  { name = "labs", ms = 600, data = { hba1c = 5.4 } },  -- hangs: will time out
  { name = "allergies", ms = 30, data = { "penicillin" } },
}

-- One service call: answers (or fails) after `svc.ms`, unless cancelled.
local function fetch(svc, patientId, signal)
  return Promise.sleep(svc.ms, { signal = signal }):next(function()
    if svc.fail then
      error(ServiceError(("%s service unavailable"):format(svc.name),
        { code = svc.fail, service = svc.name }), 0)
    end
    return svc.data
  end, function(reason)
    print(("  %s: call for %s cancelled (%s)"):format(svc.name, patientId, tostring(reason)))
    error(reason, 0)
  end)
end

local function query(svc, patientId)
  return Promise.timeout(function(signal)
    return fetch(svc, patientId, signal)
  end, CALL_TIMEOUT)
end

local function getPatientRecord(patientId, correlationId)
  local calls = {}
  for i, svc in ipairs(SERVICES) do calls[i] = query(svc, patientId) end
  local settled = await(Promise.allSettled(calls))
  local record = { patientId = patientId, correlationId = correlationId, data = {}, errors = {} }
  for i, r in ipairs(settled) do
    local name = SERVICES[i].name
    if r.status == "fulfilled" then
      record.data[name] = r.value
    else
      local reason = r.reason
      record.errors[#record.errors + 1] = {
        service = name,
        code = reason.code or reason.name,
        message = reason.message,
      }
    end
  end
  return record
end

local ok, err = Promise.run(function()
  local t0 = Promise.now()
  local record = getPatientRecord("p-42", "corr-7f3a")
  local elapsed = Promise.now() - t0
  print(("patient %s (correlation %s): %d of %d sources"):format(
    record.patientId, record.correlationId, #SERVICES - #record.errors, #SERVICES))
  for _, svc in ipairs(SERVICES) do
    local d = record.data[svc.name]
    if d then print(("  %-12s ok"):format(svc.name)) end
  end
  print(("  demographics: %s, born %d"):format(record.data.demographics.name, record.data.demographics.born))
  print(("errors (%d):"):format(#record.errors))
  for _, e in ipairs(record.errors) do
    print(("  %-12s %s: %s"):format(e.service, e.code, e.message))
  end
  print(("answered within the per-call timeout, not the hung call's 600 ms: %s"):format(
    tostring(elapsed < 300)))

  -- The same query with Promise.all: the first failure rejects everything.
  local calls = {}
  for i, svc in ipairs(SERVICES) do calls[i] = query(svc, "p-42") end
  local allOk, reason = pcall(await, Promise.all(calls))
  print(("with Promise.all: %s, %s"):format(allOk and "ok" or "failed", tostring(reason)))
  await(Promise.allSettled(calls)) -- let the other calls finish before exiting
end)
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
