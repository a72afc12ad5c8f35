local log, Promise = ...
local n = 0
local id
id = Promise.setInterval(function()
  n = n + 1
  log("tick " .. n)
  Promise.resolve():next(function() log("micro " .. n) end)
  if n == 3 then
    Promise.clearInterval(id)
    log("cleared")
  end
end, 5)
local never = Promise.setTimeout(function() log("never") end, 1)
Promise.clearTimeout(never)
local neverImmediate = Promise.setImmediate(function() log("never immediate") end)
Promise.clearImmediate(neverImmediate)
