local log, Promise = ...
local thenable = { next = function(_, _, rej) rej("T-bad") end }
local delayed = Promise.new(function(r) Promise.resolve():next(function() r("D") end) end)
Promise.allSettled({ Promise.reject("bad"), 1, thenable, delayed, Promise.resolve("ok") }):next(function(rs)
  for i = 1, rs.n do
    local r = rs[i]
    log(r.status .. " " .. (r.status == "fulfilled" and r.value or r.reason))
  end
end)
Promise.allSettled({}):next(function(rs) log("empty " .. rs.n) end)
Promise.resolve()
  :next(function() log(1) end)
  :next(function() log(2) end)
  :next(function() log(3) end)
  :next(function() log(4) end)
