local log, Promise = ...
local function sleep(ms, value) return Promise.sleep(ms, { value = value }) end
local worker = Promise.async(function(name, delays)
  for _, d in ipairs(delays) do
    local v = Promise.await(sleep(d, name .. d))
    log(v)
  end
  return name
end)
Promise.all({ worker("a", { 40, 10 }), worker("b", { 200, 10 }) }):next(function(vs)
  log("all " .. table.concat(vs, ",", 1, vs.n))
end)
sleep(0):next(function() log("sleep 0") end)
log("sync")
