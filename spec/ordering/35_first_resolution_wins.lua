local log, Promise = ...
local res, rej
local p = Promise.new(function(resolve, reject) res = resolve; rej = reject end)
p:next(function(v) log("fulfilled " .. v) end, function(e) log("rejected " .. e) end)
log("pending")
res("first")
res("second")
rej("third")
log("after calls")
-- resolving with a pending promise locks the outer one in, even before it settles
local resInner
local inner = Promise.new(function(r) resInner = r end)
local resOuter, rejOuter
local outer = Promise.new(function(r, j) resOuter = r; rejOuter = j end)
resOuter(inner)
rejOuter("too late")
outer:next(function(v) log("outer " .. v) end)
Promise.resolve():next(function() log("settling inner"); resInner("inner value") end)
