local log, Promise = ...
local function chain(name, start)
  return Promise.resolve(start)
    :next(function(v) log(name .. v); return v + 1 end)
    :next(function(v) log(name .. v); return v + 1 end)
    :next(function(v) log(name .. v); return v + 1 end)
    :next(function(v) log(name .. "end " .. v) end)
end
chain("a", 1)
chain("b", 10)
chain("c", 100)
