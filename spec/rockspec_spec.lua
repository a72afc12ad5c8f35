-- The rockspec must install every module of the tree: a module missing from
-- it works in the checkout and fails for LuaRocks users.

--- Loads the rockspec as LuaRocks does: a chunk that sets globals.
local function load_rockspec()
  local env = {}
  local chunk = assert(loadfile("luv-promise-scm-1.rockspec", "t", env))
  chunk()
  return env
end

--- Lists the files in `dir` whose names match `pattern`.
local function list(dir, pattern)
  local files = {}
  local p = assert(io.popen("ls " .. dir))
  for name in p:lines() do
    if name:match(pattern) then files[#files + 1] = name end
  end
  p:close()
  return files
end

describe("rockspec", function()
  local spec = load_rockspec()
  local modules = spec.build.modules

  it("installs every Lua module under lua/promise", function()
    for _, file in ipairs(list("lua/promise", "%.lua$")) do
      local name = file:gsub("%.lua$", "")
      local module = name == "init" and "promise" or "promise." .. name
      assert.are.equal("lua/promise/" .. file, modules[module], module .. " is not in the rockspec")
    end
  end)

  it("installs every Lua module under lua/promise/redis", function()
    for _, file in ipairs(list("lua/promise/redis", "%.lua$")) do
      local name = file:gsub("%.lua$", "")
      local module = name == "init" and "promise.redis" or "promise.redis." .. name
      assert.are.equal("lua/promise/redis/" .. file, modules[module], module .. " is not in the rockspec")
    end
  end)

  it("builds promise.core from every C file in src", function()
    local sources = {}
    for _, s in ipairs(modules["promise.core"].sources) do sources[s] = true end
    for _, file in ipairs(list("src", "%.c$")) do
      assert.is_true(sources["src/" .. file] == true, "src/" .. file .. " is not in the rockspec")
    end
  end)

  it("names only files that exist", function()
    for module, source in pairs(modules) do
      local files = type(source) == "table" and source.sources or { source }
      for _, f in ipairs(files) do
        local fh = io.open(f)
        assert.is_truthy(fh, module .. ": " .. f .. " does not exist")
        fh:close()
      end
    end
  end)
end)
