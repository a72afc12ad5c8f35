local log, Promise = ...
local resolveIt
local p = Promise.new(function(r) resolveIt = r end)
p:next(function() log("h1") end)
p:next(function() log("h2") end)
local q = Promise.resolve()
q:next(function() log("q1") end)
p:next(function() log("h3") end)
q:next(function() log("q2") end)
log("resolving p")
resolveIt()
p:next(function() log("h4 registered after resolve") end)
log("sync end")
