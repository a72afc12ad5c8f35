local log, Promise = ...
local inner = Promise.resolve("not adopted")
Promise.reject(inner):catch(function(e)
  log("reason is the promise " .. tostring(e == inner))
  return e
end):next(function(v) log("then value " .. v) end)
Promise.new(function(_, rej) rej(inner) end):catch(function(e) log("executor reject " .. tostring(e == inner)) end)
Promise.resolve():next(function() log(1) end):next(function() log(2) end)
  :next(function() log(3) end):next(function() log(4) end)
