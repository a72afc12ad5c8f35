local log, Promise = ...
-- an interval is scheduled again after its callback returns: a timeout of
-- the same delay that the callback created is due at the same time and
-- runs first
local n, iv = 0, nil
iv = Promise.setInterval(function()
  n = n + 1
  log("A" .. n)
  if n == 1 then Promise.setTimeout(function() log("B") end, 10) end
  if n == 3 then Promise.clearInterval(iv) end
end, 10)
local t, m, iv2 = nil, 0, nil
iv2 = Promise.setInterval(function()
  m = m + 1
  log("iv" .. m)
  if not t then
    t = Promise.setTimeout(function() log("t") end, 7)
    Promise.setTimeout(function() log("u") end, 7)
  else
    Promise.clearInterval(iv2)
  end
end, 7)
Promise.setTimeout(function() Promise.clearTimeout(t) end, 10)
