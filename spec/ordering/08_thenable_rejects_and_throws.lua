local log, Promise = ...
local rejecting = { next = function(_, _, reject) log("rejecting then"); reject("no") end }
local throwing = { next = function() log("throwing then"); error("thrown", 0) end }
local lateThrow = { next = function(_, resolve) log("late then"); resolve("kept"); error("ignored", 0) end }
Promise.new(function(r) r(rejecting) end):next(nil, function(e) log("rejected " .. e) end)
Promise.new(function(r) r(throwing) end):catch(function(e) log("caught " .. e) end)
Promise.new(function(r) r(lateThrow) end):next(function(v) log("fulfilled " .. v) end,
  function(e) log("bad " .. e) end)
Promise.resolve():next(function() log(1) end):next(function() log(2) end):next(function() log(3) end)
