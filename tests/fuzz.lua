--- The fuzz harness (`make fuzz`): calls every public function and method of
--- luv-promise with wrong-typed and extreme arguments, one case per child
--- process, and fails on any crash, hang or uncaught error.
---
--- The targets are found by walking the module tables (`promise`,
--- `promise.fs`, `.net`, `.dns`, `.process`) and the method tables of the
--- objects the harness makes (promises, signals, timers, limiters, file
--- handles, sockets ...), so new functions are covered without editing this
--- file. A case is a target and a variant number; its arguments come from a
--- random generator seeded with FUZZ_SEED, the target and the variant, so
--- any case can be replayed alone.
---
--- Each child runs in a fresh temporary directory as its working directory,
--- in its own process group (killed after the case); names are resolved and
--- sockets bound only on 127.0.0.1; paths are relative names.
---
--- A Lua error or a rejected promise is a correct answer. A failure is:
---   crash     the child died of a signal or exited abnormally
---   hang      the child did not finish within FUZZ_CASE_TIMEOUT ms
---   uncaught  an error reached Promise.onUncaughtError that no fuzz callback
---             raised, or a luv callback raised ("Uncaught Error", exit 255)
---
--- Environment:
---   FUZZ_SEED          seed (default 1); printed at the start
---   FUZZ_TIME          seconds spent starting cases (default 45)
---   FUZZ_JOBS          children at once (default 2)
---   FUZZ_CASE_TIMEOUT  ms before a case counts as hung (default 5000)
---   FUZZ_CASE          run one case, e.g. "fs.open#17", and show its output
---   FUZZ_ONLY          fuzz only the targets whose name matches this Lua pattern
---   FUZZ_LUA           the children's interpreter (default lua5.4)
---   FUZZ_ALLOW         comma-separated targets whose failures are listed but
---                      do not fail the run (known bugs being fixed elsewhere)
---
--- Usage: lua5.4 tests/fuzz.lua   (from the repository root, after `make`)

local uv = require("luv")

local MARK = "fuzz-marker"          -- what the harness's raising callbacks raise
local SETTLE_MS = 30                -- a case's loop runs at most this long after the call
--- Messages of Lua errors that are correct answers but read like a bug inside
--- the library rather than a clear refusal: listed, not counted as failures.
local UNCLEAR = { "attempt to ", "no integer representation", "Failure to allocate", "stack overflow" }
local RANDOM_VARIANTS = 200         -- random argument lists per target (the budget stops first)

local getenv = os.getenv
local SEED = math.tointeger(tonumber(getenv("FUZZ_SEED") or "1")) or 1

--- A hash of a string, for seeding.
---@param s string
---@return integer
local function hash(s)
  local h = 5381
  for i = 1, #s do h = (h * 33 + s:byte(i)) & 0x7fffffff end
  return h
end

-- {===================================================================
-- The child: one case
-- ====================================================================

--- Makes luv resolve, bind and connect only on the loopback address: a host
--- string other than these becomes 127.0.0.1 (non-strings pass, so luv's own
--- checks are still reached).
local function confine_network()
  local allowed = { ["127.0.0.1"] = true, ["localhost"] = true, ["::1"] = true }
  local function fix(host)
    if type(host) == "string" and not allowed[host] then return "127.0.0.1" end
    return host
  end
  local getaddrinfo = uv.getaddrinfo
  uv.getaddrinfo = function(host, ...) return getaddrinfo(fix(host), ...) end
  local bind, connect = uv.tcp_bind, uv.tcp_connect
  uv.tcp_bind = function(h, host, ...) return bind(h, fix(host), ...) end
  uv.tcp_connect = function(h, host, ...) return connect(h, fix(host), ...) end
  local t = uv.new_tcp()
  local index = getmetatable(t).__index
  t:close()
  if type(index) == "table" then
    index.bind = uv.tcp_bind
    index.connect = uv.tcp_connect
  end
end

--- The option names the library's modules read (`opts.x`, `cfg.x` ...), found
--- in their source, so that new options are fuzzed too.
---@param root string
---@return string[]
local function option_names(root)
  local seen, names = {}, {}
  local dir = root .. "/lua/promise"
  for name in uv.fs_scandir_next, uv.fs_scandir(dir) do
    if name:match("%.lua$") then
      local f = assert(io.open(dir .. "/" .. name))
      local src = f:read("a")
      f:close()
      for key in src:gmatch("%f[%w_]%a*opts%.([%a_][%w_]*)") do
        if not seen[key] then seen[key] = true; names[#names + 1] = key end
      end
    end
  end
  table.sort(names)
  return names
end

--- Runs the loop until `done()` or `ms` have passed.
local function run_loop(ms, done)
  if not uv.loop_alive() then return end
  local start = uv.now()
  local t = uv.new_timer()
  t:start(1, 1, function()
    if done() or uv.now() - start >= ms then uv.stop() end
  end)
  uv.run("default")
  t:close()
  uv.run("nowait")
end

--- Ends the child, closing the Lua state (so that finalizers run) once no
--- luv request is in flight: luv may crash when the state is closed under
--- a thread-pool request (a uv.fs_scandir of a too-long name, then
--- os.exit(0, true), crashes one time in ten). Handles are unreferenced so
--- that only requests keep the loop alive; after a second with requests
--- still in flight, exits without closing the state.
local function finish()
  uv.walk(function(h) if not h:is_closing() then h:unref() end end)
  local tick = uv.new_timer()
  tick:start(10, 10, function() end)
  tick:unref()
  local start = uv.now()
  while uv.loop_alive() and uv.now() - start < 1000 do uv.run("once") end
  tick:close()
  uv.run("nowait")  -- runs the close callbacks
  os.exit(0, not uv.loop_alive())
end

--- The objects whose methods are fuzzed, made on demand; each maker returns
--- the object (may wait on the loop).
---@param P table the promise module
local function object_makers(P, mods)
  local makers = {}
  -- fulfilled after 30 ms: a wait with a long timeout is not a hang
  makers.promise = function()
    local p, resolve = P.withResolvers()
    P.setTimeout(resolve, 30, "late")
    return p
  end
  makers.controller = function() return P.AbortController() end
  makers.signal = function() return P.AbortController().signal end
  makers.error = function() return P.Error("fuzz") end
  makers.clock = function() return P.useFakeTimers() end
  makers.timeout = function() return P.setTimeout(function() end, 100000) end
  makers.interval = function() return P.setInterval(function() end, 100000) end
  makers.immediate = function() return P.setImmediate(function() end) end
  makers.limiter = function() return P.limiter(2) end
  makers.ratelimiter = function() return P.ratelimiter{ limit = 2, interval = 1000 } end
  makers.breaker = function() return P.breaker{} end
  makers.fh = function() return mods.fs.open("fz-object.txt", "w+"):wait(5000) end
  makers.server = function()
    return mods.net.listen({ host = "127.0.0.1", port = 0 }, function() end):wait(5000)
  end
  makers.socket = function()
    local server = makers.server()
    return mods.net.connect{ host = "127.0.0.1", port = server.port }:wait(5000)
  end
  return makers
end

--- Every function reachable from `t` (depth-limited), added to `out` as
--- `prefix.name`.
local function walk_module(t, prefix, out, seen, depth)
  if seen[t] or depth > 2 then return end
  seen[t] = true
  local keys = {}
  for k in pairs(t) do if type(k) == "string" then keys[#keys + 1] = k end end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = rawget(t, k)
    if type(v) == "function" then
      out[#out + 1] = { name = prefix .. "." .. k, fn = v }
    elseif type(v) == "table" and not k:match("^_") then
      walk_module(v, prefix .. "." .. k, out, seen, depth + 1)
    end
  end
end

--- The methods of `obj`: its own function fields and those of its
--- metatable's `__index` chain, as `{ name = kind:method, method = name }`.
local function walk_methods(obj, kind, out)
  local names, seen = {}, {}
  local function add(t)
    if type(t) ~= "table" then return end
    for k, v in pairs(t) do
      -- "_x" is private by convention; "__gc" is the collector's to call
      if type(k) == "string" and type(v) == "function" and not seen[k]
        and not k:match("^_%w") and k ~= "__gc" then
        seen[k] = v; names[#names + 1] = k
      end
    end
  end
  if type(obj) == "table" then add(obj) end
  local mt, depth = getmetatable(obj), 0
  while type(mt) == "table" and depth < 4 do
    add(mt)
    add(rawget(mt, "__index"))
    local idx = rawget(mt, "__index")
    mt = type(idx) == "table" and getmetatable(idx) or nil
    depth = depth + 1
  end
  table.sort(names)
  for _, k in ipairs(names) do
    out[#out + 1] = { name = kind .. ":" .. k, kind = kind, method = k, fn = seen[k] }
  end
end

--- How many arguments are worth fuzzing one by one: the parameters of a Lua
--- function (one more for a vararg one; self not counted), from 1 to 3; 3
--- for a C function.
---@param fn function
---@param is_method boolean
---@return integer
local function arity(fn, is_method)
  local info = debug.getinfo(fn, "Su")
  if info.what == "C" then return 3 end
  local n = info.nparams - (is_method and 1 or 0) + (info.isvararg and 1 or 0)
  return math.max(1, math.min(3, n))
end

--- All targets, in a fixed order. Makes every object once.
local function all_targets(P, mods, makers)
  local out, seen = {}, {}
  walk_module(P, "Promise", out, seen, 0)
  for _, m in ipairs({ "fs", "net", "dns", "process" }) do
    walk_module(mods[m], m, out, seen, 0)
  end
  local kinds = {}
  for k in pairs(makers) do kinds[#kinds + 1] = k end
  table.sort(kinds)
  for _, kind in ipairs(kinds) do
    local ok, obj = pcall(makers[kind])
    if not ok then error("fuzz: cannot make a " .. kind .. ": " .. tostring(obj)) end
    walk_methods(obj, kind, out)
  end
  return out
end

--- The argument pool: a fresh set of hostile and plausible values.
local function value_pool(P, opt_keys)
  local nan = 0 / 0
  local function raiser() error(MARK) end
  local extremes = {
    { "nil", nil }, { "true", true }, { "false", false },
    { "0", 0 }, { "-1", -1 }, { "0.5", 0.5 }, { "1", 1 }, { "2^53", 2 ^ 53 }, { "2^63", 2 ^ 63 },
    { "math.mininteger", math.mininteger }, { "math.maxinteger", math.maxinteger },
    { "NaN", nan }, { "math.huge", math.huge }, { "-math.huge", -math.huge }, { "-0.0", -0.0 },
    { "''", "" }, { "'fz.txt'", "fz.txt" }, { "'fz\\0.txt'", "fz\0.txt" }, { "'echo'", "echo" },
    { "('a'):rep(5000)", ("a"):rep(5000) },
    { "{}", {} }, { "{n=-1}", { n = -1 } }, { "{n=0.5}", { n = 0.5 } }, { "{n=2^53}", { n = 2 ^ 53 } },
    { "{n=math.maxinteger}", { n = math.maxinteger } },
    { "{n=NaN}", { n = nan } }, { "{1,2,3}", { 1, 2, 3 } },
    { "function() end", function() end },
    { "function() error(MARK) end", raiser },
    { "function() return NaN, math.huge, -1 end", function() return nan, math.huge, -1 end },
    { "function() return a pending promise end", function() return P.new(function() end) end },
    { "function() coroutine.yield() end (raises when it cannot yield)", function()
      if coroutine.isyieldable() then coroutine.yield(MARK) end
      error(MARK)
    end },
    { "a luv timer (userdata)", uv.new_timer() },
    { "io.tmpfile()", io.tmpfile() },
    { "coroutine.create(...)", coroutine.create(function() end) },
    { "a pending promise", P.new(function() end) },
    { "a rejected promise", P.reject(MARK) },
    { "a thenable that raises", { next = raiser } },
    { "a table whose __index raises", setmetatable({}, { __index = raiser, __len = raiser }) },
    { "an aborted signal", P.AbortSignal.abort(MARK) },
  }
  local plausible = {
    { "10", 10 }, { "100", 100 }, { "3", 3 }, { "'fz.txt'", "fz.txt" }, { "'127.0.0.1'", "127.0.0.1" },
    { "function() return 1 end", function() return 1 end }, { "{}", {} },
  }
  --- A table of options: a few of the known option names, each an
  --- extreme or a plausible value.
  local function options(rand)
    local t, shown = {}, {}
    for _ = 1, rand(1, 3) do
      local key = opt_keys[rand(1, #opt_keys)]
      local pool = rand(1, 3) == 1 and plausible or extremes
      local e = pool[rand(1, #pool)]
      t[key] = e[2]
      shown[#shown + 1] = key .. "=" .. e[1]
    end
    table.sort(shown)
    return { "{" .. table.concat(shown, ", ") .. "}", t }
  end
  return extremes, plausible, options
end

--- Runs one case and prints its outcome: FUZZ-RESULT <ok|error|rejected>
--- and a FUZZ-UNCAUGHT line for each unexpected uncaught error.
local function child(root, case)
  local target_name, variant = case:match("^(.-)#(%d+)$")
  variant = assert(math.tointeger(tonumber(variant)), "FUZZ_CASE: expected target#variant")
  confine_network()
  local P = require("promise")
  local mods = {
    fs = require("promise.fs"), net = require("promise.net"),
    dns = require("promise.dns"), process = require("promise.process"),
  }
  local uncaught, rejections, args, nargs = {}, 0, {}, 0
  --- Whether `e`, reported as uncaught, is the harness's own doing: raised
  --- by a fuzz callback, or one of the arguments (Promise.reportError(x)).
  local function expected(e)
    if type(e) == "string" and e:find(MARK, 1, true) then return true end
    for i = 1, nargs + 1 do  -- nargs + 1: a missing argument is a nil
      if rawequal(args[i], e) or (e ~= e and args[i] ~= args[i]) then return true end
    end
    return false
  end
  P.onUncaughtError(function(e)
    if not expected(e) then uncaught[#uncaught + 1] = tostring(e) end
  end)
  P.onUnhandledRejection(function() rejections = rejections + 1 end)
  local makers = object_makers(P, mods)
  if target_name == "--list" then  -- the pool's size, its numbers, the targets and their arities
    local extremes = value_pool(P, option_names(root))
    local numbers = {}
    for j, e in ipairs(extremes) do
      if type(e[2]) == "number" then numbers[#numbers + 1] = j end
    end
    print(("extremes\t%d\t%s"):format(#extremes, table.concat(numbers, ",")))
    for _, t in ipairs(all_targets(P, mods, makers)) do
      print(("%s\t%d"):format(t.name, arity(t.fn, t.method ~= nil)))
    end
    os.exit(0)
  end
  local target
  for _, t in ipairs(all_targets(P, mods, {})) do
    if t.name == target_name then target = t end
  end
  local self_obj
  if not target then  -- a method: make only its object
    local kind, method = target_name:match("^(%w+):(.+)$")
    assert(kind and makers[kind], "FUZZ_CASE: unknown target " .. target_name)
    self_obj = makers[kind]()
    local methods = {}
    walk_methods(self_obj, kind, methods)
    for _, t in ipairs(methods) do
      if t.method == method then target = t end
    end
    assert(target, "FUZZ_CASE: unknown method " .. target_name)
  end

  local extremes, plausible, options = value_pool(P, option_names(root))
  math.randomseed(SEED, hash(target_name) * 1000 + variant)
  local rand = math.random
  local shown = {}
  local E = #extremes
  if variant <= 3 * E then
    -- variant (k - 1) * E + j: extreme j as argument #k, the arguments
    -- before it plausible (so deeper checks are reached); 0: no argument
    local k, j = (variant - 1) // E + 1, (variant - 1) % E + 1
    nargs = variant == 0 and 0 or k
    for i = 1, nargs - 1 do
      local e = rand(1, 3) == 1 and options(rand) or plausible[rand(1, #plausible)]
      args[i], shown[i] = e[2], e[1]
    end
    if nargs > 0 then args[k], shown[k] = extremes[j][2], extremes[j][1] end
  else  -- random arguments
    nargs = rand(1, 4)
    for i = 1, nargs do
      local r = rand(1, 10)
      local pool = r <= 5 and extremes or r <= 8 and plausible or nil
      local e = pool and pool[rand(1, #pool)] or options(rand)
      args[i], shown[i] = e[2], e[1]
    end
  end
  local fn, self_shown = target.fn, nil
  if target.method then
    if variant > 3 * E and rand(1, 10) == 1 then  -- a wrong self
      local e = extremes[rand(1, #extremes)]
      self_obj, self_shown = e[2], e[1]
    end
    table.insert(args, 1, self_obj)
    nargs = nargs + 1
  end
  local call = ("%s(%s%s)"):format(target_name, self_shown and ("self=" .. self_shown .. ", ") or "",
    table.concat(shown, ", "))
  io.stdout:write("FUZZ-CALL\t", call, "\n")
  io.stdout:flush()

  local results = table.pack(pcall(fn, table.unpack(args, 1, nargs)))
  local outcome = results[1] and "ok" or "error"
  local detail = results[1] and "" or tostring(results[2])
  local pending = {}
  if results[1] then
    for i = 2, results.n do
      if P.is(results[i]) then
        local p = results[i]
        pending[#pending + 1] = p
        p:next(nil, function(e)
          outcome = "rejected"; detail = tostring(e)
        end)
      end
    end
  end
  local function settled()
    for _, p in ipairs(pending) do if p:state() == "pending" then return false end end
    return true
  end
  if not settled() or #pending == 0 then run_loop(SETTLE_MS, settled) end
  run_loop(1, function() return true end)
  for _, u in ipairs(uncaught) do io.stdout:write("FUZZ-UNCAUGHT\t", (u:gsub("\n", "\\n")), "\n") end
  io.stdout:write("FUZZ-RESULT\t", outcome, "\t", (detail:gsub("\n", "\\n")), "\n")
  io.stdout:flush()
  finish()
end

-- }===================================================================


-- {===================================================================
-- The parent: runs the cases, classifies, reports
-- ====================================================================

--- Removes the directory tree at `path` (never follows a symlink).
local function rmtree(path)
  local st = uv.fs_lstat(path)
  if not st then return end
  if st.type == "directory" then
    local req = uv.fs_scandir(path)
    if req then
      for name in uv.fs_scandir_next, req do rmtree(path .. "/" .. name) end
    end
    uv.fs_rmdir(path)
  else
    uv.fs_unlink(path)
  end
end

--- Starts one child on `case` in a fresh directory under `base`; calls
--- `done(result)` with { case, status, signal, out, err, hung }.
local function spawn_case(root, base, case, timeout_ms, done)
  local dir = assert(uv.fs_mkdtemp(base .. "/case-XXXXXX"))
  local stdout, stderr = uv.new_pipe(false), uv.new_pipe(false)
  local out, err, open, result = {}, {}, 3, { case = case }
  local handle, pid, timer
  local function closed()
    open = open - 1
    if open > 0 then return end
    if pid then uv.kill(-pid, "sigkill") end  -- leftover grandchildren
    timer:close()
    rmtree(dir)
    result.out, result.err = table.concat(out), table.concat(err)
    done(result)
  end
  local env = {
    "FUZZ_SEED=" .. SEED, "FUZZ_CHILD=" .. case, "FUZZ_ROOT=" .. root,
    "LUA_PATH=" .. root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;;",
    "LUA_CPATH=" .. root .. "/build/?.so;;",
    "PATH=" .. (getenv("PATH") or "/usr/bin:/bin"), "HOME=" .. dir, "LC_ALL=C",
  }
  handle, pid = uv.spawn(getenv("FUZZ_LUA") or "lua5.4", {
    args = { root .. "/tests/fuzz.lua" }, cwd = dir, env = env,
    stdio = { nil, stdout, stderr }, detached = true,
  }, function(code, signal)
    result.status, result.signal = code, signal
    handle:close()
    closed()
  end)
  timer = uv.new_timer()
  if not handle then
    result.status, result.out, result.err = -1, "", "spawn failed: " .. tostring(pid)
    stdout:close(); stderr:close(); timer:close(); rmtree(dir)
    done(result)
    return
  end
  timer:start(timeout_ms, 0, function()
    result.hung = true
    uv.kill(-pid, "sigkill")
  end)
  for _, pipe in ipairs({ { stdout, out }, { stderr, err } }) do
    pipe[1]:read_start(function(_, data)
      if data then
        local buf = pipe[2]
        if #table.concat(buf) < 65536 then buf[#buf + 1] = data end
      else
        pipe[1]:close()
        closed()
      end
    end)
  end
end

--- Classifies a child's result: "ok" | "error" | "rejected" | a failure kind
--- ("crash", "hang", "uncaught"), and a detail.
local function classify(r)
  local call = r.out:match("FUZZ%-CALL\t([^\n]*)") or r.case
  if r.hung then return "hang", call, "no answer within the case timeout" end
  if r.signal and r.signal ~= 0 then return "crash", call, "killed by signal " .. r.signal end
  local uncaught = r.out:match("FUZZ%-UNCAUGHT\t([^\n]*)")
  if r.err:find("Uncaught Error", 1, true) or r.status == 255 then
    return "uncaught", call, (r.err:match("Uncaught Error[^\n]*") or "exit 255")
  end
  if uncaught then return "uncaught", call, uncaught end
  local outcome, detail = r.out:match("FUZZ%-RESULT\t(%a+)\t([^\n]*)")
  if r.status ~= 0 or not outcome then
    return "crash", call, ("exit %s, stderr: %s"):format(r.status, r.err:sub(1, 300))
  end
  return outcome, call, detail
end

local function parent(root)
  local jobs = math.tointeger(tonumber(getenv("FUZZ_JOBS") or "2")) or 2
  local budget = tonumber(getenv("FUZZ_TIME") or "45") or 45
  local case_timeout = tonumber(getenv("FUZZ_CASE_TIMEOUT") or "5000") or 5000
  local allow = {}
  for name in (getenv("FUZZ_ALLOW") or ""):gmatch("[^,%s]+") do allow[name] = true end
  local base = assert(uv.fs_mkdtemp((getenv("TMPDIR") or "/tmp") .. "/luv-promise-fuzz-XXXXXX"))

  local one = getenv("FUZZ_CASE")
  if one then
    spawn_case(root, base, one, case_timeout, function(r)
      io.write(r.out, r.err)
      local kind, call, detail = classify(r)
      print(("%s: %s -> %s"):format(kind, call, detail))
      rmtree(base)
      os.exit(kind == "ok" or kind == "error" or kind == "rejected")
    end)
    uv.run()
    return
  end

  -- the targets, listed by a child
  local targets, pool
  spawn_case(root, base, "--list#0", 30000, function(r)
    if r.status ~= 0 then
      io.stderr:write("fuzz: listing the targets failed:\n", r.out, r.err, "\n")
      os.exit(1)
    end
    targets = {}
    local only = getenv("FUZZ_ONLY")
    for line in r.out:gmatch("[^\n]+") do
      local name, a, b = line:match("^([^\t]+)\t([^\t]+)\t?(.*)$")
      if name == "extremes" then
        pool = { size = math.tointeger(tonumber(a)), numbers = {} }
        for j in b:gmatch("%d+") do pool.numbers[math.tointeger(tonumber(j))] = true end
      elseif not only or name:find(only) then
        targets[#targets + 1] = { name = name, arity = math.tointeger(tonumber(a)) }
      end
    end
  end)
  uv.run()
  if #targets == 0 then
    io.stderr:write("fuzz: no target (FUZZ_ONLY matches none)\n")
    os.exit(1)
  end
  print(("fuzz: seed %d (FUZZ_SEED), %d targets, %d jobs, budget %gs, case timeout %d ms")
    :format(SEED, #targets, jobs, budget, case_timeout))

  -- each target's variants, in three shuffled queues taken in turn: an
  -- extreme number as one of its arguments, another extreme, random
  -- argument lists; the cases go in rounds, one variant of every target,
  -- then the next (so a short run touches every target, and numbers early)
  local cases = {}
  local orders, longest = {}, 0
  for i, t in ipairs(targets) do
    math.randomseed(SEED, hash(t.name))
    local queues = { {}, { 0 }, {} }
    for k = 1, t.arity do
      for j = 1, pool.size do
        local q = pool.numbers[j] and queues[1] or queues[2]
        q[#q + 1] = (k - 1) * pool.size + j
      end
    end
    for v = 3 * pool.size + 1, 3 * pool.size + RANDOM_VARIANTS do queues[3][#queues[3] + 1] = v end
    local order = {}
    for _, q in ipairs(queues) do
      for j = #q, 2, -1 do
        local k = math.random(1, j)
        q[j], q[k] = q[k], q[j]
      end
    end
    for n = 1, math.max(#queues[1], #queues[2], #queues[3]) do
      for _, q in ipairs(queues) do order[#order + 1] = q[n] end
    end
    orders[i] = order
    longest = math.max(longest, #order)
  end
  for n = 1, longest do
    for i, t in ipairs(targets) do
      if orders[i][n] then cases[#cases + 1] = t.name .. "#" .. orders[i][n] end
    end
  end
  local next_case, total = 0, #cases
  local function case_at(i) return cases[i + 1] end
  local counts = { calls = 0, ok = 0, error = 0, rejected = 0, crash = 0, hang = 0, uncaught = 0 }
  local failures, allowed, unclear = {}, {}, {}
  local deadline = uv.now() + budget * 1000
  local running = 0
  local function launch()
    while running < jobs and next_case < total and uv.now() < deadline do
      local case = case_at(next_case)
      next_case = next_case + 1
      running = running + 1
      spawn_case(root, base, case, case_timeout, function(r)
        running = running - 1
        local kind, call, detail = classify(r)
        counts.calls = counts.calls + 1
        counts[kind] = counts[kind] + 1
        if (kind == "error" or kind == "rejected") and not call:find("(self=", 1, true) then
          for _, pattern in ipairs(UNCLEAR) do
            local key = r.case:match("^(.-)#") .. detail
            if detail:find(pattern, 1, true) and #unclear < 40 and not unclear[key] then
              unclear[key] = true
              unclear[#unclear + 1] = ("%s\n    %s\n    reproduce: FUZZ_SEED=%d FUZZ_CASE='%s' make fuzz")
                :format(call, detail, SEED, r.case)
              break
            end
          end
        elseif kind == "crash" or kind == "hang" or kind == "uncaught" then
          local target = r.case:match("^(.-)#")
          local list = allow[target] and allowed or failures
          list[#list + 1] = ("%s %s\n    %s\n    reproduce: FUZZ_SEED=%d FUZZ_CASE='%s' make fuzz")
            :format(kind, call, detail, SEED, r.case)
        end
        uv.update_time()
        launch()
      end)
    end
  end
  launch()
  uv.run()
  rmtree(base)

  local function show(title, list)
    if #list == 0 then return end
    print(title)
    for _, f in ipairs(list) do print("  " .. f) end
  end
  show("errors that read like a bug inside the library (not failures; the first 40):", unclear)
  show("allowed failures (FUZZ_ALLOW):", allowed)
  show("FAILURES:", failures)
  print(("fuzz: %d calls (%d of %d cases), %d returned, %d Lua errors, %d rejections, "
    .. "crashes = %d, hangs = %d, uncaught = %d%s")
    :format(counts.calls, next_case, total, counts.ok, counts.error, counts.rejected,
      counts.crash, counts.hang, counts.uncaught, #allowed > 0 and (" (" .. #allowed .. " allowed)") or ""))
  os.exit(#failures == 0)
end

-- }===================================================================

local case = getenv("FUZZ_CHILD")
if case then
  child(getenv("FUZZ_ROOT"), case)
else
  local script = arg and arg[0] or "tests/fuzz.lua"
  if script:sub(1, 1) ~= "/" then script = uv.cwd() .. "/" .. script end
  parent((script:gsub("/tests/fuzz%.lua$", "")))
end
