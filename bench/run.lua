--- The benchmark driver: `make bench`, or `lua5.4 bench/run.lua [options]`.
---
--- Runs every workload of bench/workloads/ in a fresh process (so that peak
--- RSS is per workload), the luv-promise program and, when `node` is found,
--- the same program in JavaScript, alternating the two; reports the median of
--- the runs as markdown tables. Next to them run the baselines of a workload:
--- `raw` (the same closures in plain Lua) and `floor` (the objects and calls
--- the promise API requires, with no promise semantics: bench/floor.c, built
--- to build/bench/floor.so by `make bench`; skipped with a note when absent).
--- Exits non-zero when a run fails or computes a wrong result.
---
--- Options:
---   --runs N      runs per program (default 3; the median is reported)
---   --only a,b    run only these workloads (a b c d e f mem redis_a redis_b redis_c
---                 g100 g500 g1000 h i_net i_fs j k; `io` = all of g..k)
---   --n N         workload size (default 1000000; c and mem use N/10; the
---                 I/O workloads g..k have their full sizes at N >= 1000000
---                 and shrink in proportion below, so a small N is a smoke run)
---   --no-node     skip the JavaScript programs
---   --help        print this help
---
--- The Redis workloads (redis_a, redis_b, redis_c) run against a private
--- redis-server (127.0.0.1, a free port, nothing persisted, stopped at the
--- end), the JavaScript side with ioredis, which is installed into
--- bench/node_modules with npm when missing (skipped, with a note, when npm
--- cannot install it or redis-server is not installed). Next to them,
--- `redis-benchmark -P 16` for the same commands: the machine's limit.
---
--- The I/O workloads (g100 g500 g1000 h i_net i_fs j k) run promise.net,
--- promise.fs and promise.process against node's net, fs/promises and
--- child_process; the network ones start their own server as a child
--- process of the same language.

local USAGE = [[
usage: lua5.4 bench/run.lua [--runs N] [--only a,b,...] [--n N] [--no-node]
  --runs N      runs per program, median reported (default 3)
  --only LIST   comma-separated workloads among a,b,c,d,e,f,mem,redis_a,redis_b,redis_c,
                g100,g500,g1000,h,h_split,i_net,i_fs,j,k, or io for all of g100..k (default all)
  --n N         workload size (default 1000000; c and mem use N/10; g..k have their
                full sizes at N >= 1000000, shrunk in proportion below)
  --no-node     do not run the JavaScript programs even if node is installed
]]

---@class Workload
---@field name string
---@field what string        one-line description
---@field size fun(n: integer): integer  the size passed to the programs
---@field expect fun(m: integer): integer the check value a correct run prints
---@field raw? string        name of the raw-Lua baseline program, if any
---@field rawwhat? string    what the raw baseline does
---@field floor? string      program run with the argument `floor`, on bench/floor.c, if any

local function triangle(m) return m * (m + 1) // 2 end
local function same(n) return n end
local function tenth(n) return math.max(1, n // 10) end

---@type Workload[]
local WORKLOADS = {
  { name = "a", what = "`Promise.new(r(i)):next(fn)` N times, then drain",
    size = same, expect = triangle,
    raw = "a_raw", rawwhat = "create + call executor and handler closures",
    floor = "a" },
  { name = "b", what = "one chain of N `next`s on a resolved promise, awaited",
    size = same, expect = same, floor = "b_floor" },
  { name = "c", what = "`Promise.all` over N/10 resolved promises",
    size = tenth, expect = triangle, floor = "c" },
  { name = "d", what = "N `await`s of plain values in one async function",
    size = same, expect = triangle,
    raw = "d_raw", rawwhat = "coroutine yield/resume round trip" },
  { name = "e", what = "N pending promises with one `next` each, then all resolved",
    size = same, expect = triangle, floor = "e" },
  { name = "f", what = "N `setTimeout(fn, 0)` each resolving a promise",
    size = same, expect = triangle },
}
local MEM = { name = "mem", size = tenth, expect = triangle }

---@class RedisWorkload
---@field name string
---@field what string
---@field size fun(n: integer): integer
---@field expect fun(m: integer): integer
---@field target number   the throughput ratio to ioredis the issue asks for
---@field bench string    redis-benchmark arguments for the same commands (-n is added)
---@field per integer     commands per unit of size (rates are in commands/s)

---@type RedisWorkload[]
local REDIS = {
  { name = "redis_a", what = "SET+GET from 100 coroutines, each awaiting its replies (pipelined)",
    size = tenth, expect = function(m) return m // 200 * 200 end, target = 1.0, per = 1,
    bench = "-t set,get -P 16" },
  { name = "redis_b", what = "sequential awaited GETs (latency-bound)",
    size = function(n) return math.max(1, n // 50) end, expect = same, target = 0.9, per = 1,
    bench = "-t get -c 1 -P 16" },
  { name = "redis_c", what = "a 1 MB value written and read back",
    size = function(n) return math.max(1, n // 5000) end, expect = same, target = 1.0, per = 2,
    bench = "-t set,get -d 1048576 -c 1 -P 16" },
}

---@class IOWorkload
---@field name string
---@field prog string     the program in bench/workloads (without extension)
---@field what string
---@field full integer[]  the program's arguments at full size (N >= 1,000,000)
---@field min integer[]   their least values when a smaller N shrinks them
---@field expect fun(a: integer, b?: integer): integer  the check value a correct run prints
---@field per fun(a: integer, b?: integer): number      units of work per run (rates are units/s)
---@field unit string     what a unit is
---@field label fun(a: integer, b?: integer): string     the size column
---@field target number   the throughput ratio to node the issue asks for
---@field floorarg? string an argument the floor program gets after the sizes
---@field floor? string   a Lua program doing the same work with luv alone (no promise): the
---                       best any library on luv could do

local MiB = 1024 * 1024
local function product(a, b) return a * b end
local function times(a, b) return ("%d × %d"):format(a, b) end
local function echo(name, clients)
  return { name = name, prog = "g", what = "echo: clients × request-reply messages, each awaited",
    full = { clients, 100 }, min = { clients, 1 }, expect = product, per = product,
    unit = "msg", label = times, target = 1.0 }
end

---@type IOWorkload[]
local IO = {
  echo("g100", 100), echo("g500", 500), echo("g1000", 1000),
  { name = "h", prog = "h", what = "connections × lines written at once, each line awaited",
    full = { 1000, 1000 }, min = { 10, 1 }, expect = product, per = product,
    floor = "h_split", floorarg = "await",
    unit = "line", label = times, target = 0.8 },
  { name = "h_split", prog = "h_split", what = "as h, chunks split by hand (no promise per line)",
    full = { 1000, 1000 }, min = { 10, 1 }, expect = product, per = product,
    unit = "line", label = times, target = 0.8 },
  { name = "i_net", prog = "i_net", what = "MiB through one socket in 64 KiB writes",
    full = { 20 }, min = { 1 }, expect = function(a) return a * MiB end, per = same,
    unit = "MiB", label = function(a) return a .. " MiB" end, target = 0.9 },
  { name = "i_fs", prog = "i_fs", what = "`writeFile` of MiB, then `readFile`",
    full = { 50 }, min = { 1 }, expect = function(a) return a * MiB end,
    per = function(a) return 2 * a end, floor = "i_fs_floor",
    unit = "MiB", label = function(a) return a .. " MiB" end, target = 0.9 },
  { name = "j", prog = "j", what = "`readFile` of 100-byte files, 64 at once",
    full = { 10000 }, min = { 64 }, expect = function(a) return a * 100 end, per = same,
    unit = "file", label = function(a) return a .. " files" end, target = 1.0 },
  { name = "k", prog = "k", what = "`exec(\"true\")`, 16 at once",
    full = { 200 }, min = { 16 }, expect = same, per = same,
    unit = "exec", label = function(a) return a .. " runs" end, target = 1.0 },
}

--- The arguments of an I/O workload for --n: full size at N >= 1,000,000,
--- shrunk in proportion below (never under `min`).
---@param w IOWorkload
---@param n integer
---@return integer[]
local function ioargs(w, n)
  local s = math.min(1, n / 1000000)
  local args = {}
  for i, full in ipairs(w.full) do
    args[i] = math.max(w.min[i], math.floor(full * s + 0.5))
  end
  return args
end

---------------------------------------------------------------- utilities

local function die(msg)
  io.stderr:write("bench/run.lua: ", msg, "\n")
  os.exit(2)
end

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Runs a shell command; returns its output and whether it exited with 0.
---@param cmd string
---@return string output, boolean ok, string how
local function capture(cmd)
  local f = assert(io.popen(cmd .. " 2>&1", "r"))
  local out = f:read("a")
  local ok, how, code = f:close()
  return out, ok == true, ("%s %s"):format(how, code)
end

local function median(xs)
  local s = {}
  for i, x in ipairs(xs) do s[i] = x end
  table.sort(s)
  local k = #s
  if k == 0 then return nil end
  if k % 2 == 1 then return s[(k + 1) // 2] end
  return (s[k // 2] + s[k // 2 + 1]) / 2
end

local function readfile(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

--- Formats a rate: 1234567 -> "1.23 M".
local function rate(x)
  if not x then return "—" end
  if x >= 1e6 then return ("%.2f M"):format(x / 1e6) end
  if x >= 1e3 then return ("%.1f k"):format(x / 1e3) end
  return ("%.0f"):format(x)
end

local function mb(kb)
  if not kb then return "—" end
  return ("%.1f MB"):format(kb / 1024)
end

local function ns(x)
  if not x then return "—" end
  return ("%.0f ns"):format(x)
end

--- x / y as "1.23×", or "—" when either is missing.
local function ratio(x, y)
  return (x and y and y > 0) and ("%.2f×"):format(x / y) or "—"
end

--- A rate with its unit: 1234 "msg" -> "1.2 k msg/s".
local function per(x, unit)
  return x and ("%s %s/s"):format(rate(x), unit) or "—"
end

---------------------------------------------------------------- arguments

local opts = { runs = 3, n = 1000000, node = true, only = nil }
do
  local i = 1
  local function value(name)
    i = i + 1
    local v = arg[i]
    if v == nil then die(("option %s needs a value\n%s"):format(name, USAGE)) end
    return v
  end
  local function posint(name, v)
    local x = math.tointeger(tonumber(v))
    if not x or x < 1 then
      die(("option %s: positive integer expected, got '%s'"):format(name, v))
    end
    return x
  end
  while arg[i] do
    local a = arg[i]
    if a == "--runs" then opts.runs = posint(a, value(a))
    elseif a == "--n" then opts.n = posint(a, value(a))
    elseif a == "--no-node" then opts.node = false
    elseif a == "--only" then
      opts.only = {}
      for w in value(a):gmatch("[^,%s]+") do
        if w == "io" then
          for _, x in ipairs(IO) do opts.only[x.name] = true end
        else
          opts.only[w] = true
        end
      end
    elseif a == "--help" or a == "-h" then io.write(USAGE) os.exit(0)
    else die(("unknown option '%s'\n%s"):format(a, USAGE))
    end
    i = i + 1
  end
  if opts.only then
    local known = { mem = true }
    for _, w in ipairs(WORKLOADS) do known[w.name] = true end
    for _, w in ipairs(REDIS) do known[w.name] = true end
    for _, w in ipairs(IO) do known[w.name] = true end
    for w in pairs(opts.only) do
      if not known[w] then die(("--only: unknown workload '%s'"):format(w)) end
    end
  end
end

local function selected(name)
  return opts.only == nil or opts.only[name] == true
end

---------------------------------------------------------------- environment

local HERE = (arg[0]:match("^(.*)[/\\]")) or "."
local DIR = HERE .. "/workloads"

-- the interpreter running this script (arg's lowest index), else lua5.4
local LUA = "lua5.4"
do
  local lo = 0
  while arg[lo - 1] do lo = lo - 1 end
  if lo < 0 and not arg[lo]:match("^%-") then LUA = arg[lo] end
end

local function loadavg()
  local f = io.open("/proc/loadavg", "r")
  if not f then return nil end
  local s = f:read("l")
  f:close()
  return s and s:match("^(%S+ %S+ %S+)")
end
local LOAD_START = loadavg()

local NODE = nil
if opts.node then
  local out, ok = capture("command -v node")
  if ok then NODE = out:match("[^\n]+") end
end

-- the floor programs need the module that `make bench` builds
local FLOOR_SO = HERE .. "/../build/bench/floor.so"
local HAVE_FLOOR = false
do
  local f = io.open(FLOOR_SO, "rb")
  if f then HAVE_FLOOR = true f:close() end
end

-- a hung run (a loop bug, say) must not hang the suite
local TIMEOUT = ""
if select(2, capture("command -v timeout")) then TIMEOUT = "timeout 600 " end

---------------------------------------------------------------- running

--- Runs one program once; returns its parsed result line or nil, message.
---@param lang "lua"|"node"
---@param prog string program name in bench/workloads (without extension)
---@param size integer
---@return table? result, string? err
local function run1(lang, prog, size, extra)
  local cmd
  extra = extra and (" " .. extra) or ""
  if lang == "lua" then
    cmd = ("%s%s %s %d%s"):format(TIMEOUT, quote(LUA), quote(DIR .. "/" .. prog .. ".lua"), size, extra)
  elseif lang == "floor" then  -- the program on bench/floor.c instead of promise
    cmd = ("%s%s %s %d floor"):format(TIMEOUT, quote(LUA), quote(DIR .. "/" .. prog .. ".lua"), size)
  else
    local flags = prog == "mem" and " --expose-gc" or ""
    cmd = ("%s%s%s %s %d%s"):format(TIMEOUT, quote(NODE), flags,
      quote(DIR .. "/" .. prog .. ".js"), size, extra)
  end
  local out, ok, how = capture(cmd)
  if not ok then
    return nil, ("%s exited (%s):\n%s"):format(cmd, how, out)
  end
  local r = {}
  local line = out:match("[^\n]*check=[^\n]*")
  if not line then return nil, ("%s printed no result:\n%s"):format(cmd, out) end
  for k, v in line:gmatch("([%w_]+)=(%S+)") do r[k] = v end
  return r
end

local failures = {}

local function fail(msg)
  failures[#failures + 1] = msg
  io.stderr:write("FAIL: ", msg, "\n")
end

--- Runs a program `opts.runs` times (one call per run), checking each result.
--- Returns the lists of elapsed seconds and peak RSS (kB), or nil on failure.
local function sampler(lang, prog, size, expected, extra)
  local s = { elapsed = {}, rss = {}, bytes = {}, bytes_resolve = {}, failed = false }
  function s.once()
    if s.failed then return end
    local r, err = run1(lang, prog, size, extra)
    if not r then
      s.failed = true
      fail(err)
      return
    end
    if r.check ~= tostring(expected) then
      s.failed = true
      fail(("%s %s (size %d): check=%s, expected %s"):format(lang, prog, size,
        tostring(r.check), tostring(expected)))
      return
    end
    for _, k in ipairs{ "elapsed", "bytes", "bytes_resolve" } do
      if r[k] then table.insert(s[k], tonumber(r[k])) end
    end
    if r.maxrss_kb then table.insert(s.rss, tonumber(r.maxrss_kb)) end
  end
  function s.med(k)
    if s.failed then return nil end
    return median(s[k])
  end
  return s
end

local function progress(fmt, ...)
  io.stderr:write(fmt:format(...))
  io.stderr:flush()
end

--- Runs the samplers `opts.runs` times: `lua` and `node` alternating which
--- goes first (so drifting load hits both alike), then each of `extras`;
--- then prints every sampler's times, so the spread behind each median is
--- visible. `labels` names them in that order (lua, node, extras...).
---@param lua table a sampler
---@param node table|false|nil
---@param extras table[] more samplers (nil entries are skipped: use `n`)
---@param labels string[]
local function rounds(lua, node, extras, labels)
  for r = 1, opts.runs do
    if r % 2 == 1 or not node then
      lua.once(); if node then node.once() end
    else
      node.once(); lua.once()
    end
    for i = 1, extras.n or #extras do
      if extras[i] then extras[i].once() end
    end
    progress(" %d", r)
  end
  progress("\n")
  local all = { lua, node or false }
  for i = 1, extras.n or #extras do all[#all + 1] = extras[i] or false end
  for i, smp in ipairs(all) do
    if smp and #smp.elapsed > 0 then
      local ts = {}
      for k, t in ipairs(smp.elapsed) do ts[k] = ("%.4f"):format(t) end
      progress("  %-7s %s s\n", labels[i], table.concat(ts, " "))
    end
  end
end

local rows, rawrows, floorrows = {}, {}, {}
for _, w in ipairs(WORKLOADS) do
  if selected(w.name) then
    local size = w.size(opts.n)
    local expected = w.expect(size)
    local lua = sampler("lua", w.name, size, expected)
    local node = NODE and sampler("node", w.name, size, expected)
    local raw = w.raw and sampler("lua", w.raw, size, expected)
    local floor = HAVE_FLOOR and w.floor and sampler("floor", w.floor, size, expected)
    progress("%s (size %d):", w.name, size)
    rounds(lua, node, { raw, floor, n = 2 }, { "lua", "node", w.raw, w.name .. "_floor" })
    local function ops(s)
      local t = s and s.med("elapsed")
      return t and t > 0 and size / t or nil
    end
    rows[#rows + 1] = { w = w, size = size, lua = ops(lua), node = ops(node),
      lt = lua.med("elapsed"), nt = node and node.med("elapsed"),
      lrss = lua.med("rss"), nrss = node and node.med("rss") }
    if raw then
      rawrows[#rawrows + 1] = { w = w, size = size, raw = ops(raw), lua = ops(lua) }
    end
    if floor then
      floorrows[#floorrows + 1] = { w = w, size = size, floor = ops(floor),
        node = ops(node), lua = ops(lua) }
    end
  end
end

local memrow
if selected("mem") then
  local size = MEM.size(opts.n)
  local expected = MEM.expect(size)
  local lua = sampler("lua", "mem", size, expected)
  local node = NODE and sampler("node", "mem", size, expected)
  progress("mem (size %d):", size)
  for r = 1, opts.runs do
    lua.once()
    if node then node.once() end
    progress(" %d", r)
  end
  progress("\n")
  memrow = { size = size,
    lua = lua.med("bytes"), lua_r = lua.med("bytes_resolve"),
    node = node and node.med("bytes"), node_r = node and node.med("bytes_resolve") }
end

---------------------------------------------------------------- redis

--- Makes sure ioredis is in bench/node_modules (npm install when missing);
--- returns true, or false and why not.
local function ioredis()
  if readfile(HERE .. "/node_modules/ioredis/package.json") then return true end
  local _, has = capture("command -v npm")
  if not has then return false, "npm not found" end
  progress("installing ioredis into bench/node_modules with npm...\n")
  local out, ok = capture(("cd %s && %snpm install --no-audit --no-fund --loglevel=error")
    :format(quote(HERE), TIMEOUT))
  if ok and readfile(HERE .. "/node_modules/ioredis/package.json") then return true end
  return false, "npm could not install it (" .. (out:match("[^\n]+") or "no output") .. ")"
end

--- redis-benchmark's rate for `args` (several tests: total ops / total time).
local function redisbench(port, args, n)
  local out, ok = capture(("%sredis-benchmark -h 127.0.0.1 -p %d -n %d -q %s")
    :format(TIMEOUT, port, n, args))
  if not ok then return nil end
  local time, count = 0, 0
  for rps in out:gmatch("[%u]+: ([%d.]+) requests per second") do
    time = time + n / tonumber(rps)
    count = count + n
  end
  return count > 0 and count / time or nil
end

local redisrows, redisnote = {}, nil
local anyredis = false
for _, w in ipairs(REDIS) do anyredis = anyredis or selected(w.name) end
if anyredis then
  if not select(2, capture("command -v redis-server")) then
    redisnote = "redis-server not found: Redis workloads not run."
  else
    local R = dofile(HERE .. "/../spec/support/redis.lua")
    local srv = R.start()
    local okrun, err = pcall(function()
      local jsok, why = true, nil
      if NODE then jsok, why = ioredis() end
      if NODE and not jsok then redisnote = "ioredis not installed: " .. why .. "; its programs not run." end
      for _, w in ipairs(REDIS) do
        if selected(w.name) then
          local size = w.size(opts.n)
          local expected = w.expect(size)
          local lua = sampler("lua", w.name, size, expected, srv.port)
          local node = NODE and jsok and sampler("node", w.name, size, expected, srv.port)
          progress("%s (size %d):", w.name, size)
          rounds(lua, node, {}, { "lua", "ioredis" })
          local function ops(smp)
            local t = smp and smp.med("elapsed")
            return t and t > 0 and size * w.per / t or nil
          end
          redisrows[#redisrows + 1] = { w = w, size = size, lua = ops(lua), node = ops(node),
            bench = redisbench(srv.port, w.bench, w.name == "redis_c" and size or math.max(size, 1000)) }
        end
      end
    end)
    srv:destroy()
    if not okrun then error(err, 0) end
  end
end

---------------------------------------------------------------- I/O

local iorows = {}
for _, w in ipairs(IO) do
  if selected(w.name) then
    local a, b = table.unpack(ioargs(w, opts.n))
    local expected = w.expect(a, b)
    local lua = sampler("lua", w.prog, a, expected, b)
    local node = NODE and sampler("node", w.prog, a, expected, b)
    local floor = w.floor and sampler("lua", w.floor, a, expected,
      w.floorarg and ("%s %s"):format(b or "", w.floorarg) or b)
    progress("%s (size %s):", w.name, w.label(a, b))
    rounds(lua, node, { floor, n = 1 }, { "lua", "node", "floor" })
    local function per_s(smp)
      local t = smp and smp.med("elapsed")
      return t and t > 0 and w.per(a, b) / t or nil
    end
    iorows[#iorows + 1] = { w = w, size = w.label(a, b), lua = per_s(lua), node = per_s(node),
      floor = floor and per_s(floor), frss = floor and floor.med("rss"),
      lrss = lua.med("rss"), nrss = node and node.med("rss") }
  end
end

---------------------------------------------------------------- the report

local function machine()
  local info = {}
  local cpuinfo = readfile("/proc/cpuinfo") or ""
  local model = cpuinfo:match("model name%s*:%s*([^\n]+)")
  local cores = 0
  for _ in ("\n" .. cpuinfo):gmatch("\nprocessor%s*:") do cores = cores + 1 end
  if model then info[#info + 1] = model end
  if cores > 0 then info[#info + 1] = ("%d cores"):format(cores) end
  local load = loadavg()
  if load then
    info[#info + 1] = ("load average %s at the start, %s at the end"):format(LOAD_START, load)
  end
  return table.concat(info, ", ")
end

local versions = { _VERSION }
do
  local ok, uv = pcall(require, "luv")
  if ok then versions[#versions + 1] = "luv " .. uv.version_string() end
  if NODE then
    local out, ok2 = capture(quote(NODE) .. " --version")
    if ok2 then versions[#versions + 1] = "node " .. out:match("[^\n]+") end
  end
end

local out = {}
local function p(fmt, ...) out[#out + 1] = fmt:format(...) end

p("## luv-promise benchmarks")
p("")
p("N = %d, median of %d run%s per program, each run a fresh process; %s.",
  opts.n, opts.runs, opts.runs == 1 and "" or "s", table.concat(versions, ", "))
p("Machine: %s.", machine())
p("")
if #rows > 0 then
  p("| workload | what | size | luv-promise ops/s | node ops/s | time lua/node | lua peak RSS | node peak RSS |")
  p("|---|---|---:|---:|---:|---:|---:|---:|")
end
for _, r in ipairs(rows) do
  p("| %s | %s | %d | %s | %s | %s | %s | %s |", r.w.name, r.w.what, r.size,
    rate(r.lua), rate(r.node), ratio(r.lt, r.nt), mb(r.lrss), mb(r.nrss))
end

if #rawrows > 0 then
  p("")
  p("Cost of the promise machinery over the same work in raw Lua:")
  p("")
  p("| workload | raw Lua baseline | raw ops/s | luv-promise ops/s | raw per op"
    .. " | luv-promise per op | machinery per op |")
  p("|---|---|---:|---:|---:|---:|---:|")
  for _, r in ipairs(rawrows) do
    local rawns = r.raw and 1e9 / r.raw
    local luans = r.lua and 1e9 / r.lua
    p("| %s | %s | %s | %s | %s | %s | %s |", r.w.name, r.w.rawwhat,
      rate(r.raw), rate(r.lua), ns(rawns), ns(luans),
      ns(rawns and luans and luans - rawns))
  end
end

if #floorrows > 0 then
  p("")
  p("Floor: the objects and calls the API requires, with no promise semantics (bench/floor.c).")
  p("Throughput ratios to node (> 1: faster than node). floor/node is the best ratio any")
  p("implementation that allocates these objects could reach on this Lua:")
  p("")
  p("| workload | floor ops/s | node ops/s | floor/node | luv-promise/node |")
  p("|---|---:|---:|---:|---:|")
  for _, r in ipairs(floorrows) do
    p("| %s | %s | %s | %s | %s |", r.w.name, rate(r.floor), rate(r.node),
      ratio(r.floor, r.node), ratio(r.lua, r.node))
  end
elseif not HAVE_FLOOR then
  local any = false
  for _, r in ipairs(rows) do any = any or r.w.floor ~= nil end
  if any then
    p("")
    p("Floor programs not run: %s not found (`make bench` builds it).", FLOOR_SO)
  end
end

if memrow then
  local function bytes(x) return x and ("%.0f B"):format(x) or "—" end
  p("")
  p("Memory per pending promise with one handler (the promise, the handler and")
  p("the promise `next` returns; %d of them, from collectgarbage(\"count\") /", memrow.size)
  p("node's heapUsed deltas after full collections):")
  p("")
  p("| | luv-promise | node |")
  p("|---|---:|---:|")
  p("| resolve function dropped | %s | %s |", bytes(memrow.lua), bytes(memrow.node))
  p("| resolve function kept | %s | %s |", bytes(memrow.lua_r), bytes(memrow.node_r))
end

if #redisrows > 0 or redisnote then
  p("")
  p("Redis client (promise.redis) against ioredis on the same redis-server; ratio > 1: faster")
  p("than ioredis. redis-benchmark -P 16 runs the same commands, 16 pipelined per")
  p("connection, as the limit of this machine:")
  p("")
  p("| workload | what | size | luv-promise ops/s | ioredis ops/s | luv-promise/ioredis | target"
    .. " | redis-benchmark -P 16 |")
  p("|---|---|---:|---:|---:|---:|---:|---:|")
  for _, r in ipairs(redisrows) do
    p("| %s | %s | %d | %s | %s | %s | ≥ %.1f× | %s |", r.w.name, r.w.what, r.size, rate(r.lua),
      rate(r.node), ratio(r.lua, r.node), r.w.target, rate(r.bench))
  end
  if redisnote then
    p("")
    p("%s", redisnote)
  end
end

if #iorows > 0 then
  if out[#out] ~= "" then p("") end
  p("I/O (promise.net, promise.fs, promise.process) against node's net, fs/promises and")
  p("child_process (full sizes at N >= 1000000, shrunk in proportion below). Throughput ratio")
  p("luv-promise/node > 1: faster than node. Peak RSS of g, h and i_net is the client's plus")
  p("its server's (two processes):")
  p("")
  p("| workload | what | size | luv-promise | node | luv-promise/node | target | lua peak RSS"
    .. " | node peak RSS |")
  p("|---|---|---:|---:|---:|---:|---:|---:|---:|")
  for _, r in ipairs(iorows) do
    local unit = r.w.unit
    p("| %s | %s | %s | %s | %s | %s | ≥ %.1f× | %s | %s |", r.w.name, r.w.what, r.size,
      per(r.lua, unit), per(r.node, unit), ratio(r.lua, r.node), r.w.target, mb(r.lrss), mb(r.nrss))
  end
  local floors = {}
  for _, r in ipairs(iorows) do
    if r.floor then floors[#floors + 1] = r end
  end
  if #floors > 0 then
    p("")
    p("Floor: the same work with the least any library on luv can do (bench/workloads/<floor>.lua:")
    p("`h_split await` awaits each line through a fulfilled promise, i_fs_floor uses luv's")
    p("synchronous calls); floor/node is the best ratio such a library could reach:")
    p("")
    p("| workload | floor program | floor | node | floor/node | luv-promise/node | floor peak RSS |")
    p("|---|---|---:|---:|---:|---:|---:|")
    for _, r in ipairs(floors) do
      local prog = r.w.floorarg and ("%s %s"):format(r.w.floor, r.w.floorarg) or r.w.floor
      p("| %s | %s | %s | %s | %s | %s | %s |", r.w.name, prog, per(r.floor, r.w.unit),
        per(r.node, r.w.unit),
        ratio(r.floor, r.node), ratio(r.lua, r.node), mb(r.frss))
    end
  end
end

if not NODE then
  p("")
  p(opts.node and "node not found: JavaScript programs not run."
    or "--no-node: JavaScript programs not run.")
end

if #failures > 0 then
  p("")
  p("**%d run%s FAILED** (see stderr).", #failures, #failures == 1 and "" or "s")
end

io.write(table.concat(out, "\n"), "\n")
os.exit(#failures == 0 and 0 or 1)
