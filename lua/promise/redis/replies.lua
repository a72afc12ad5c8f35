--- Reply shaping per command: the few commands whose reply is better as
--- another Lua shape than RESP gives it. `HGETALL` is a flat field/value
--- list in RESP2 and a map in RESP3: both become `{ field = value }`.

local M = {}

--- A flat list `{ k1, v1, k2, v2, ..., n = 2m }` as a table `{ k1 = v1, ... }`.
---@param v any
---@return any
local function pairsToMap(v)
  if type(v) ~= "table" or v.n == nil then return v end
  local t = {}
  for i = 1, v.n - 1, 2 do
    local k = v[i]
    if k ~= nil then t[k] = v[i + 1] end
  end
  return t
end
M.pairsToMap = pairsToMap

local TRANSFORMS = { HGETALL = pairsToMap }

--- The transform of command `NAME` (upper case), or nil.
---@param NAME string
---@param protocol integer
---@return (fun(v: any): any)?
function M.transform(NAME, protocol)
  if protocol == 3 and NAME == "HGETALL" then return nil end
  return TRANSFORMS[NAME]
end

return M
