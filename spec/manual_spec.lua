-- The reference manual (docs/manual/*.md) must not drift from the code:
-- every public name of the modules, every method and field of the objects
-- they make, every option and every breaker event has its place in it.
--
-- Conventions the manual follows (docs/manual/README.md) and this spec reads:
-- a function or method has a heading naming it in backticks (`Promise.all(`,
-- `fs.readFile(`, `limit:submit(`, `p:next(`), a field a heading such as
-- `signal.aborted`; an option or event is named in backticks on the page of
-- its module.
local Promise = require("promise")
local H = require("spec.support.helpers")
local fs = require("promise.fs")
local net = require("promise.net")

local MODULES = {
  fs = fs, net = net, dns = require("promise.dns"), process = require("promise.process"),
  redis = require("promise.redis"),
}

-- the manual page of each Lua module whose annotations are checked
local PAGES = {
  init = "core", loop = "loop", errors = "errors", abort = "cancellation",
  timeout = "timeout", retry = "retry", limiter = "limiter", map = "map",
  ratelimiter = "ratelimiter", breaker = "breaker", promisify = "promisify",
  fs = "fs", net = "net", dns = "dns", process = "process",
}

-- annotated classes that are not part of the API
local INTERNAL_CLASSES = { ["promise.fs.ReqInfo"] = true }

-- the objects the modules make, by the name the manual gives them, with the
-- LuaCATS class that declares their fields
local CLASSES = {
  signal = "promise.AbortSignal", controller = "promise.AbortController",
  limit = "promise.Limiter", rl = "promise.RateLimiter", cb = "promise.Breaker",
  fh = "promise.fs.FileHandle", sock = "promise.net.Socket", server = "promise.net.Server",
  clock = "promise.FakeClock", timer = "promise.Timeout", immediate = "promise.Immediate",
}

local function read(path)
  return assert(H.read_file(path), "cannot read " .. path)
end

local ls = H.ls

--- The Lua files of lua/promise at any depth ("loop/timers.lua"), and the
--- module each belongs to for PAGES (its folder: "loop"). The Redis client
--- (lua/promise/redis/) has a walk of its own.
local function lua_files()
  local files = {}
  local p = assert(io.popen("cd lua/promise && find . -name '*.lua' | sort"))
  for path in p:lines() do
    path = path:gsub("^%./", "")
    if not path:match("^redis/") then files[#files + 1] = path end
  end
  p:close()
  return files
end

local function page_module(file)
  return file:match("^([^/]+)/") or file:gsub("%.lua$", "")
end

local function escape(s)
  return (s:gsub("%p", "%%%0"))
end

local pages, headings = {}, {}
for _, file in ipairs(ls("docs/manual", "%.md$")) do
  local name = file:gsub("%.md$", "")
  local text = read("docs/manual/" .. file)
  pages[name] = text
  for line in text:gmatch("[^\n]+") do
    if line:match("^#+ ") then headings[#headings + 1] = line end
  end
end
headings = table.concat(headings, "\n")

--- True when a heading names `name` in backticks, followed by anything but
--- more of a name: "`Promise.all(list)`", "`signal.aborted`", "`limit(fn, ...)`".
local function has_heading(name)
  return headings:find("`" .. escape(name) .. "[^%w_]") ~= nil
end

local function assert_heading(name, what)
  assert.is_true(has_heading(name), ("%s `%s` has no heading in docs/manual"):format(what, name))
end

--- The method table of an object: its metatable's `__index` table, or the
--- `methods` upvalue of an `__index` function.
local function methods_of(obj)
  local mt = getmetatable(obj)
  local idx = mt.__index
  if type(idx) == "table" then return idx end
  for i = 1, math.huge do
    local name, value = debug.getupvalue(idx, i)
    if name == nil then break end
    if name == "methods" then return value end
  end
  error("no method table found for " .. tostring(obj))
end

--- LuaCATS classes of lua/promise/*.lua: name -> { page =, fields = {public names} }.
local function annotated_classes()
  local classes = {}
  for _, file in ipairs(lua_files()) do
    local module = page_module(file)
    local current
    for line in read("lua/promise/" .. file):gmatch("[^\n]*") do
      local class = line:match("^%s*%-%-%-@class%s+([%w_.]+)")
      if class then
        current = { page = PAGES[module], fields = {}, private = {} }
        classes[class] = current
      elseif current then
        local private, field = line:match("^%s*%-%-%-@field%s+(private%s+)([%w_]+)")
        if not field then field = line:match("^%s*%-%-%-@field%s+([%w_]+)") end
        if field then
          if private then
            current.private[field] = true
          else
            current.fields[#current.fields + 1] = field
          end
        elseif not line:match("^%s*%-%-%-") then
          current = nil
        end
      end
    end
  end
  return classes
end

--- Option names from inline annotations: `---@param opts? {a: x, b: y}`.
local function inline_options()
  local found = {}
  for _, file in ipairs(lua_files()) do
    local module = page_module(file)
    for body in read("lua/promise/" .. file):gmatch("%-%-%-@param%s+[%w_]+%??%s+(%b{})") do
      for name in body:gmatch("([%a_][%w_]*)%??%s*:") do
        found[#found + 1] = { page = PAGES[module], name = name, file = file }
      end
    end
  end
  return found
end

describe("the reference manual", function()
  local checked = 0

  --- Fails when a walk found fewer names than it must (a walk over an empty
  --- table would pass without checking anything).
  local function walked(min)
    assert.is_true(checked >= min, ("only %d names checked, %d expected"):format(checked, min))
    checked = 0
  end

  --- Every public method of `obj` has a heading `prefix:name`.
  local function assert_methods(prefix, obj)
    for name, value in pairs(methods_of(obj)) do
      if type(value) == "function" and not name:match("^_") then
        assert_heading(prefix .. ":" .. name, "method")
        checked = checked + 1
      end
    end
  end

  it("has a heading for every name of the main module", function()
    for name, value in pairs(Promise) do
      if name == "AbortSignal" then
        for sub in pairs(value) do
          assert_heading("AbortSignal." .. sub, "Promise.AbortSignal member")
          checked = checked + 1
        end
      else
        assert_heading("Promise." .. name, "Promise." .. name .. " (" .. type(value) .. ")")
        checked = checked + 1
      end
    end
    assert.is_true(has_heading("Promise(executor)") or headings:find("`Promise(", 1, true) ~= nil
      or pages.core:find("`Promise(executor)`", 1, true) ~= nil, "calling the module is not documented")
    walked(45)
  end)

  it("has a heading for the functions of the error classes", function()
    for name, value in pairs(Promise.Error) do
      if type(value) == "function" and not name:match("^__") then
        assert.is_true(has_heading("Error." .. name) or has_heading("Error:" .. name),
          "Error." .. name .. " has no heading in docs/manual")
        checked = checked + 1
      end
    end
    walked(2)
  end)

  it("has a heading for every promise method", function()
    for name in pairs(methods_of(Promise.resolve())) do
      if not name:match("^__") then
        assert.is_true(has_heading("p:" .. name) or has_heading(('p["%s"]'):format(name)),
          "p:" .. name .. " has no heading in docs/manual")
        checked = checked + 1
      end
    end
    walked(6)
  end)

  it("has a heading for every method of a Redis client", function()
    local client = require("promise.redis.client")
    -- a method per command is made on first use and cached in the same
    -- table (specs run before this one may have used some); they are all
    -- one closure, documented together under "A method per command"
    local generated = debug.getinfo(client.Client.__index(nil, "strlen"), "S")
    for name, fn in pairs(client.methods) do
      local info = debug.getinfo(fn, "S")
      if info.source ~= generated.source or info.linedefined ~= generated.linedefined then
        assert_heading("client:" .. name, "Redis client method")
        checked = checked + 1
      end
    end
    walked(11)
  end)

  it("has a heading for every method and field of the Redis coordination objects", function()
    -- a stand-in client: the objects only ever call eval
    local fake = { eval = function() return Promise.resolve(1) end, call = function() return Promise.resolve() end }
    local redis = require("promise.redis")
    local objects = { locks = { redis.lock(fake), "promise.redis.Locks", "lua/promise/redis/lock.lua" } }
    local lock = redis.lock(fake):acquire("k"):wait()
    objects.lock = { lock, "promise.redis.Lock", "lua/promise/redis/lease.lua" }
    objects.idem = { redis.idempotency(fake), "promise.redis.Idempotency", "lua/promise/redis/idempotency.lua" }
    local store = redis.store(fake)
    objects.store = { store, "promise.redis.Store", "lua/promise/redis/store.lua" }
    objects.rl = { store:ratelimiter{ limit = 1, interval = 10 }, "promise.redis.RateLimiter",
      "lua/promise/redis/store.lua" }
    objects.sem = { redis.semaphore(fake, "s", 2), "promise.redis.Semaphore", "lua/promise/redis/semaphore.lua" }
    for prefix, entry in pairs(objects) do
      local obj, class, file = entry[1], entry[2], entry[3]
      assert_methods(prefix, obj)
      local text = read(file)
      local body = text:match("%-%-%-@class " .. escape(class) .. "\n(.-)\nlocal ")
      for field in body:gmatch("%-%-%-@field ([%w_]+)") do
        if field ~= "private" then
          assert_heading(prefix .. "." .. field, "field")
          checked = checked + 1
        end
      end
      for name, value in pairs(obj) do
        if type(name) == "string" and not name:match("^_") and type(value) ~= "function" then
          assert.is_truthy(body:find("@field " .. name .. " ", 1, true), prefix .. "." .. name .. " is not declared")
        end
      end
    end
    lock:release():wait()
    walked(25)
  end)

  it("has a heading for every function of promise.fs, net, dns, process and redis", function()
    for prefix, module in pairs(MODULES) do
      for name in pairs(module) do
        assert_heading(prefix .. "." .. name, "require(\"promise." .. prefix .. "\")." .. name)
        checked = checked + 1
      end
    end
    walked(21)
  end)

  describe("has a heading for every method and field of", function()
    local objects = {}
    local clock, tmp, server, sock, fh

    before_each(function()
      objects.timer = Promise.setTimeout(function() end, 100000):unref()
      objects.immediate = Promise.setImmediate(function() end):unref()
      local controller = Promise.AbortController()
      objects.controller, objects.signal = controller, controller.signal
      objects.limit = Promise.limiter(2)
      objects.rl = Promise.ratelimiter{ limit = 1, interval = 1000 }
      objects.cb = Promise.breaker{}
      tmp = os.tmpname()
      -- (wait, not run: the server would keep run's loop going)
      fh = fs.open(tmp, "w"):wait()
      server = net.listen({ host = "127.0.0.1", port = 0 }, function(s)
        Promise.await(s:read())
      end):wait()
      sock = net.connect{ host = "127.0.0.1", port = server.port }:wait()
      objects.fh, objects.server, objects.sock = fh, server, sock
      clock = Promise.useFakeTimers()
      objects.clock = clock
    end)

    after_each(function()
      clock:restore()
      Promise.clearTimeout(objects.timer)
      Promise.clearImmediate(objects.immediate)
      H.run(function()
        Promise.await(fh:close())
        Promise.await(sock:close())
        Promise.await(server:close())
      end)
      os.remove(tmp)
      assert.are.same({}, H.active_handles_after_turn())
    end)

    it("the objects the modules make", function()
      local classes = annotated_classes()
      for prefix, obj in pairs(objects) do
        local mt = getmetatable(obj)
        if mt.__call then assert_heading(prefix, "calling a " .. prefix) end
        assert_methods(prefix, obj)
        local class = assert(classes[CLASSES[prefix]], "no LuaCATS class " .. CLASSES[prefix])
        local fields = {}
        for _, f in ipairs(class.fields) do fields[f] = true end
        for name, value in pairs(obj) do
          if type(name) == "string" and not name:match("^_") and type(value) ~= "function"
              and not class.private[name] then
            assert.is_true(fields[name] ~= nil, ("%s.%s is not declared by ---@field in %s")
              :format(prefix, name, CLASSES[prefix]))
          end
        end
        for f in pairs(fields) do
          assert_heading(prefix .. "." .. f, "field")
          checked = checked + 1
        end
      end
      walked(50)
    end)
  end)

  it("names every option and result field on its module's page", function()
    for class, info in pairs(annotated_classes()) do
      if info.page and not INTERNAL_CLASSES[class]
          and (class:match("Options$") or class:match("%.Result$") or class:match("Stats$")
               or class:match("%.Address$") or class:match("%.Dirent$")) then
        local page = assert(pages[info.page], "no page docs/manual/" .. info.page .. ".md")
        for _, field in ipairs(info.fields) do
          assert.is_truthy(page:find("`" .. escape(field) .. "[`(]"),
            ("%s.%s is not named on docs/manual/%s.md"):format(class, field, info.page))
          checked = checked + 1
        end
      end
    end
    for _, opt in ipairs(inline_options()) do
      if opt.page then
        assert.is_truthy(pages[opt.page]:find("`" .. escape(opt.name) .. "[`(]")
          or pages[opt.page]:find("opts." .. opt.name, 1, true),
          ("option %s (%s) is not named on docs/manual/%s.md"):format(opt.name, opt.file, opt.page))
        checked = checked + 1
      end
    end
    walked(60)
  end)

  it("lists every module of the rock on the modules page", function()
    local n = 0
    for _, file in ipairs(lua_files()) do
      local name = file:gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
      local module = name == "init" and "promise" or "promise." .. name
      assert.is_truthy(pages.modules:find("`" .. escape(module) .. "`"),
        module .. " is not in docs/manual/modules.md")
      n = n + 1
    end
    assert.is_truthy(pages.modules:find("`promise.core`", 1, true))
    for _, file in ipairs(ls("lua/promise/redis", "%.lua$")) do
      local name = file:gsub("%.lua$", "")
      local long, short = "`promise.redis" .. (name == "init" and "" or "." .. name) .. "`", "`." .. name .. "`"
      assert.is_truthy(pages.modules:find(long, 1, true) or (name ~= "init" and pages.modules:find(short, 1, true)),
        "promise.redis." .. name .. " is not in docs/manual/modules.md")
      n = n + 1
    end
    assert.is_true(n >= 38)
  end)

  it("gives the range of every millisecond argument", function()
    -- each module that checks a duration against a timer's range (util.checkms,
    -- util.msproblem, or an "ms" field of a util.checkopts schema) states
    -- that range on its page
    local n = 0
    for _, file in ipairs(lua_files()) do
      local module = page_module(file)
      local text = read("lua/promise/" .. file)
      if module ~= "util" and (text:find("checkms(", 1, true) or text:find("msproblem(", 1, true)
          or text:find('"ms"', 1, true)) then
        local page = assert(pages[PAGES[module]], "no manual page for " .. file)
        assert.is_truthy(page:find("2^31 - 1", 1, true),
          ("docs/manual/%s.md does not give the range (2^31 - 1) of the durations %s checks")
            :format(PAGES[module], file))
        n = n + 1
      end
    end
    assert.is_true(n >= 6)
    -- and the conventions page's table names every entry point that
    -- spec/durations_spec.lua pins ("retry.minDelay": retry and minDelay)
    local acc = read("spec/durations_spec.lua"):match("\nlocal ACCEPTS = (%b{})")
    local section = assert(pages.README:match("%*%*Milliseconds%.%*%*(.-)\n%- %*%*"),
      "no **Milliseconds.** item in the conventions of docs/manual/README.md")
    local tbl = {}
    for line in section:gmatch("[^\n]+") do
      if line:match("^%s*|") then tbl[#tbl + 1] = line end
    end
    tbl = table.concat(tbl, "\n")
    n = 0
    for key in acc:gmatch('%[?"?([%a][%w.]*)"?%]?%s*=%s*[%a%[]') do
      for part in key:gmatch("[^.]+") do
        assert.is_truthy(tbl:find(part, 1, true),
          ("%s (spec/durations_spec.lua) is not in the durations table of docs/manual/README.md"):format(key))
      end
      n = n + 1
    end
    assert.is_true(n >= 16, "only " .. n .. " entry points read from spec/durations_spec.lua")
  end)

  it("lists every breaker event", function()
    local annotation = read("lua/promise/breaker.lua"):match("%-%-%-@param event ([^\n]+)")
    local n = 0
    for event in annotation:gmatch('"([%w_]+)"') do
      assert.is_truthy(pages.breaker:find('`"' .. event .. '"`', 1, true),
        "breaker event " .. event .. " is not in docs/manual/breaker.md")
      -- and the breaker really accepts it
      local cb = Promise.breaker{}
      cb:on(event, function() end)()
      n = n + 1
    end
    assert.are.equal(7, n)
  end)

  it("links every page from its contents, and every link resolves", function()
    local index = pages.README
    for name in pairs(pages) do
      if name ~= "README" then
        assert.is_truthy(index:find("(" .. name .. ".md)", 1, true),
          "docs/manual/" .. name .. ".md is not linked from docs/manual/README.md")
      end
    end
    local files = { "README.md", "docs/HACKING.md" }
    for _, dir in ipairs({ "docs/manual", "docs/guides" }) do
      for _, f in ipairs(ls(dir, "%.md$")) do files[#files + 1] = dir .. "/" .. f end
    end
    for _, file in ipairs(files) do
      local base = file:match("^(.*)/[^/]*$") or "."
      -- links outside code: fenced blocks and code spans may hold `a[b](c)`
      local text = read(file):gsub("\n```.-\n```", ""):gsub("`[^`\n]*`", "")
      for target in text:gmatch("%]%(([^)#%s]+)[^)]*%)") do
        if not target:match("^%a+:") then
          local fh = io.open(base .. "/" .. target)
          assert.is_truthy(fh, file .. " links to " .. target .. ", which does not exist")
          fh:close()
        end
      end
    end
  end)

  it("names every example in the guides, and only examples that exist", function()
    local guides = read("docs/guides/README.md")
    local examples = ls("examples", "%.lua$")
    assert.is_true(#examples > 0)
    for _, f in ipairs(examples) do
      assert.is_truthy(guides:find("examples/" .. f, 1, true),
        "examples/" .. f .. " is not in docs/guides/README.md")
    end
    local docs = { "README.md" }
    for _, dir in ipairs({ "docs/manual", "docs/guides" }) do
      for _, f in ipairs(ls(dir, "%.md$")) do docs[#docs + 1] = dir .. "/" .. f end
    end
    for _, file in ipairs(docs) do
      for path in read(file):gmatch("examples/[%w_]+%.lua") do
        local fh = io.open(path)
        assert.is_truthy(fh, file .. " names " .. path .. ", which does not exist")
        fh:close()
      end
    end
  end)

  it("is what the README and the module headers point at", function()
    assert.is_truthy(read("README.md"):find("docs/manual/README.md", 1, true))
    -- no repository text sends the reader to the design notes kept outside it
    local names = { "API", "RESILIENCE", "IO", "REDIS" }
    local args = {}
    for _, n in ipairs(names) do args[#args + 1] = "-e '" .. n .. "\\.md'" end
    args[#args + 1] = "-e '\\.\\./" .. "shared'"
    local cmd = "grep -rln " .. table.concat(args, " ")
      .. " README.md docs lua src examples types spec bench 2>/dev/null"
    local p = assert(io.popen(cmd))
    local hits = p:read("a")
    p:close()
    assert.are.equal("", hits, "files pointing outside the repository:\n" .. hits)
  end)
end)
