-- The ECMAScript ordering corpus: every spec/ordering/NN_name.lua program must
-- log exactly what the JavaScript twin NN_name.js logged under node v20
-- (stored in NN_name.expected by spec/ordering/gen.sh).
--
-- A program is a chunk called with (log, Promise). Programs whose name contains
-- "_timers" use the event loop and are run with Promise.run(chunk, log, Promise);
-- the others are run synchronously and then driven with Promise.drain().
local uv = require("luv")
local Promise = require("promise")

local DIR = "spec/ordering/"

---@return string[] names sorted, without extension, of every .js or .lua program
local function program_names()
  local seen, names = {}, {}
  local req = assert(uv.fs_scandir(DIR))
  while true do
    local entry = uv.fs_scandir_next(req)
    if not entry then break end
    local name = entry:match("^(.+)%.js$") or entry:match("^(.+)%.lua$")
    if name and not seen[name] then
      seen[name] = true
      names[#names + 1] = name
    end
  end
  table.sort(names)
  return names
end

---@param path string
---@return boolean
local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end

---@param path string
---@return string[]
local function read_lines(path)
  local lines = {}
  for line in io.lines(path) do
    lines[#lines + 1] = line
  end
  return lines
end

---@param expected string[]
---@param actual string[]
---@return string
local function describe_mismatch(expected, actual)
  local first
  for i = 1, math.max(#expected, #actual) do
    if expected[i] ~= actual[i] then first = i break end
  end
  local out = { ("first difference at line %d: expected %q, got %q"):format(
    first, tostring(expected[first]), tostring(actual[first])) }
  out[#out + 1] = "  expected (node)        | actual (lua)"
  for i = 1, math.max(#expected, #actual) do
    out[#out + 1] = ("%s %-22s | %s"):format(expected[i] == actual[i] and " " or "*",
      tostring(expected[i]), tostring(actual[i]))
  end
  return table.concat(out, "\n")
end

---@return string[] descriptions of handles that are active and referenced
local function live_handles()
  local live = {}
  uv.walk(function(h)
    if uv.is_active(h) and uv.has_ref(h) and not uv.is_closing(h) then
      live[#live + 1] = tostring(h)
    end
  end)
  return live
end

local has_run = type(Promise.run) == "function"

describe("ordering corpus (same log as node)", function()
  local unhandled, uncaught

  before_each(function()
    unhandled, uncaught = {}, {}
    Promise.onUnhandledRejection(function(reason)
      unhandled[#unhandled + 1] = tostring(reason)
    end)
    Promise.onUncaughtError(function(err)
      uncaught[#uncaught + 1] = tostring(err)
    end)
  end)

  after_each(function()
    Promise.onUnhandledRejection(nil)
    Promise.onUncaughtError(nil)
  end)

  for _, name in ipairs(program_names()) do
    local base = DIR .. name
    local timers = name:find("_timers", 1, true) ~= nil
    local title = name .. (timers and " (event loop)" or "")

    if timers and not has_run then
      pending(title .. ": Promise.run is not available (lua/promise/loop/ missing)")
    else
      it(title, function()
        assert(exists(base .. ".js"), base .. ".js is missing")
        assert(exists(base .. ".lua"), base .. ".lua is missing")
        assert(exists(base .. ".expected"),
          base .. ".expected is missing: run sh spec/ordering/gen.sh")
        local expected = read_lines(base .. ".expected")
        assert(#expected > 0, base .. ".expected is empty")

        local chunk = assert(loadfile(base .. ".lua"))
        local actual = {}
        local function log(x)
          actual[#actual + 1] = tostring(x)
        end

        if timers then
          local ok, err = Promise.run(chunk, log, Promise)
          assert(ok, "main function failed: " .. tostring(err))
        else
          local ok, err = pcall(chunk, log, Promise)
          assert(ok, "program raised: " .. tostring(err))
          Promise.drain()
          -- let a loop integration that was told a drain was needed settle down;
          -- it must not run anything the drain did not already run
          uv.run("nowait")
        end

        local same = #expected == #actual
          and table.concat(expected, "\n") == table.concat(actual, "\n")
        assert.is_true(same, not same and describe_mismatch(expected, actual) or nil)
        assert.are.same({}, unhandled, "unhandled rejections reported")
        assert.are.same({}, uncaught, "uncaught errors reported")
        assert.are.same({}, live_handles(), "handles left alive")
      end)
    end
  end
end)
