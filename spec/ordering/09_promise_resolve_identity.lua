local log, Promise = ...
local p = Promise.resolve(42)
log(Promise.resolve(p) == p)
local pending = Promise.new(function() end)
log(Promise.resolve(pending) == pending)
local thenable = { next = function(_, r) r(7) end }
log(Promise.resolve(thenable) == thenable)
-- Promise.resolve(p) adds no tick; Promise.new(function(r) r(p) end) adds two.
Promise.resolve(p):next(function(v) log("resolve(p) " .. v) end)
Promise.new(function(r) r(p) end):next(function(v) log("new(p) " .. v) end)
p:next(function(v) log("direct " .. v) end)
Promise.resolve():next(function() log(1) end):next(function() log(2) end):next(function() log(3) end)
