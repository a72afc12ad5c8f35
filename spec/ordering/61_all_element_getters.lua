local log, Promise = ...
-- reading the elements queues microtasks between the elements' own jobs
local arr = setmetatable({ n = 4 }, { __index = function(_, k)
  local i = k - 1
  Promise.queueMicrotask(function() log("micro " .. i) end)
  if i == 2 then return i end
  return Promise.resolve(i)
end })
Promise.all(arr):next(function(vs) log("all " .. table.concat(vs, ",", 1, vs.n)) end)
Promise.resolve():next(function() log("after 1") end):next(function() log("after 2") end)
log("sync end")
