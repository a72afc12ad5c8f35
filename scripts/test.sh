#!/bin/sh
# Build luv-promise and run every check: the specs, the LuaRocks build,
# the specs under valgrind, and the linters.
set -e
cd "$(dirname "$0")/.."
. scripts/deps.sh
make -s
echo "== busted"
busted --lua=lua5.4 -o utfTerminal
echo "== luarocks make into a fresh tree"
tree=$(mktemp -d)
luarocks --lua-version=5.4 --tree "$tree" make --deps-mode=none >/dev/null
LUA_PATH="$tree/share/lua/5.4/?.lua;$tree/share/lua/5.4/?/init.lua;;" \
LUA_CPATH="$tree/lib/lua/5.4/?.so;;" \
  lua5.4 -e 'local P = require("promise"); assert(P.resolve(42):wait() == 42); print("rock ok")'
rm -rf "$tree"
echo "== valgrind"
make -s valgrind
echo "== out of memory"; make -s oom
echo "== lint"
make -s lint
echo "all checks passed"
