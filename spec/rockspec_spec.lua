-- The rockspecs must install every module of the tree: a module missing from
-- one works in the checkout and fails for LuaRocks users. The release
-- rockspec must say the same as the scm one, plus where its source is.

local ROCKSPECS = { "luv-promise-scm-1.rockspec", "luv-promise-0.1.0-1.rockspec" }

--- Loads a rockspec as LuaRocks does: a chunk that sets globals.
local function load_rockspec(file)
  local env = {}
  local chunk = assert(loadfile(file, "t", env))
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

--- The .lua files below `dir`, at any depth, as paths relative to it.
local function lua_files(dir)
  local files = {}
  local p = assert(io.popen("cd " .. dir .. " && find . -name '*.lua' | sort"))
  for path in p:lines() do files[#files + 1] = path:gsub("^%./", "") end
  p:close()
  return files
end

local function exists(path)
  local fh = io.open(path)
  if fh then fh:close() end
  return fh ~= nil
end

for _, file in ipairs(ROCKSPECS) do
  describe(file, function()
    local spec = load_rockspec(file)
    local modules = spec.build.modules

    it("installs every Lua module under lua/promise, subfolders included", function()
      local n = 0
      for _, f in ipairs(lua_files("lua/promise")) do
        -- loop/init.lua is promise.loop, loop/heap.lua promise.loop.heap
        local name = f:gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
        local module = name == "init" and "promise" or "promise." .. name
        assert.are.equal("lua/promise/" .. f, modules[module], module .. " is not in " .. file)
        n = n + 1
      end
      assert.is_true(n >= 24, "only " .. n .. " Lua files found")
    end)

    it("installs every Lua module under lua/promise/redis", function()
      for _, f in ipairs(list("lua/promise/redis", "%.lua$")) do
        local name = f:gsub("%.lua$", "")
        local module = name == "init" and "promise.redis" or "promise.redis." .. name
        assert.are.equal("lua/promise/redis/" .. f, modules[module], module .. " is not in " .. file)
      end
    end)

    it("builds promise.core from every C file in src", function()
      local sources = {}
      for _, s in ipairs(modules["promise.core"].sources) do sources[s] = true end
      for _, f in ipairs(list("src", "%.c$")) do
        assert.is_true(sources["src/" .. f] == true, "src/" .. f .. " is not in " .. file)
      end
    end)

    it("names only files that exist", function()
      for module, source in pairs(modules) do
        local files = type(source) == "table" and source.sources or { source }
        for _, f in ipairs(files) do
          assert.is_true(exists(f), module .. ": " .. f .. " does not exist")
        end
      end
    end)

    it("ships the LuaCATS types and the manual", function()
      local dirs = {}
      for _, d in ipairs(spec.build.copy_directories or {}) do dirs[d] = true end
      assert.is_true(dirs.types, "types/ is not in copy_directories")
      assert.is_true(dirs.docs, "docs/ is not in copy_directories")
      assert.is_true(exists("types/promise.lua"))
    end)

    it("has a license file, a homepage, labels and a test command", function()
      assert.are.equal("MIT", spec.description.license)
      assert.is_true(exists("LICENSE"), "LICENSE is missing")
      assert.are.equal("https://github.com/luv-promise/luv-promise", spec.description.homepage)
      assert.is_true(#spec.description.labels > 0)
      assert.are.equal("git+https://github.com/luv-promise/luv-promise.git", spec.source.url)
      assert.are.equal("command", spec.test.type)
      assert.truthy(spec.test.command:find("busted --lua=lua5.4", 1, true))
      local deps = {}
      for _, d in ipairs(spec.dependencies) do deps[d] = true end
      assert.is_true(deps["luv >= 1.44"], "luv >= 1.44 is not a dependency")
    end)
  end)
end

describe("release rockspec", function()
  local scm, rel = load_rockspec(ROCKSPECS[1]), load_rockspec(ROCKSPECS[2])

  it("fetches the tag of its version", function()
    local version = rel.version:match("^(.-)%-%d+$")
    assert.are.equal("v" .. version, rel.source.tag)
    assert.is_nil(scm.source.tag)
  end)

  it("differs from the scm rockspec only in its version and source tag", function()
    local function same(a, b, where)
      assert.are.equal(type(a), type(b), where)
      if type(a) ~= "table" then
        assert.are.equal(a, b, where)
        return
      end
      for k, v in pairs(a) do same(v, b[k], where .. "." .. tostring(k)) end
      for k in pairs(b) do assert.is_not_nil(a[k], where .. "." .. tostring(k)) end
    end
    for _, key in ipairs({ "package", "description", "dependencies", "build", "test", "rockspec_format" }) do
      same(scm[key], rel[key], key)
    end
    assert.are.equal(scm.source.url, rel.source.url)
  end)

  it("is in the CHANGELOG", function()
    local fh = assert(io.open("CHANGELOG.md"))
    local text = fh:read("a")
    fh:close()
    local version = rel.version:match("^(.-)%-%d+$")
    assert.truthy(text:find("## " .. version, 1, true), "CHANGELOG.md has no section for " .. version)
  end)
end)
