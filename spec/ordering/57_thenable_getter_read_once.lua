local log, Promise = ...
local counted = setmetatable({}, {
  __index = function(_, k)
    if k == "next" then
      log("read then")
      return function(_, resolve) log("call then"); resolve("ok") end
    end
  end,
})
Promise.resolve(counted):next(function(v) log("resolve " .. v) end)
local boom = setmetatable({}, {
  __index = function(_, k)
    if k == "next" then
      log("read boom")
      error("getter boom", 0)
    end
  end,
})
Promise.new(function(r) r(boom) end):catch(function(e) log("rejected " .. e) end)
Promise.async(function()
  local v = Promise.await(counted)
  log("await " .. v)
end)()
log("sync end")
