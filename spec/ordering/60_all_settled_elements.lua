local log, Promise = ...
-- Promise.all / allSettled over elements that are already settled, among
-- other microtasks: when each result settles relative to the chains
local ps = { Promise.resolve(1), 2, Promise.resolve(3) }
Promise.resolve():next(function() log("before A") end)
Promise.all(ps):next(function(vs) log("all A " .. table.concat(vs, ",", 1, vs.n)) end)
Promise.resolve():next(function() log("between 1") end)
  :next(function() log("between 2") end)
  :next(function() log("between 3") end)
Promise.all({ 4, 5 }):next(function(vs) log("all B " .. table.concat(vs, ",", 1, vs.n)) end)
local rejected = Promise.reject("r8")
Promise.allSettled({ Promise.resolve(6), 7, rejected, 9 }):next(function(rs)
  local out = {}
  for i = 1, rs.n do
    local r = rs[i]
    out[i] = r.status .. ":" .. tostring(r.value ~= nil and r.value or r.reason)
  end
  log("settled " .. table.concat(out, ","))
end)
Promise.all({ 10, Promise.reject("r11"), 12 }):catch(function(e) log("all C rejected " .. e) end)
Promise.all({}):next(function(vs) log("all empty " .. vs.n) end)
local pending = Promise.new(function(r) Promise.resolve():next(function() r(14) end) end)
Promise.all({ 13, pending, 15 }):next(function(vs) log("all D " .. table.concat(vs, ",", 1, vs.n)) end)
log("sync end")
