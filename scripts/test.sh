#!/bin/sh
# Build luv-promise and run every check: the specs, the LuaRocks build,
# the specs under valgrind, the fuzz harness, the out-of-memory harness
# and the linters.
set -e
cd "$(dirname "$0")/.."
. scripts/deps.sh
make -s
echo "== busted"
log=$(mktemp)
status=0
busted --lua=lua5.4 -o utfTerminal > "$log" 2>&1 || status=$?
cat "$log"
summary=$(grep -a -o -E '[0-9]+ success(es)? / [0-9]+ failures? / [0-9]+ errors?' "$log" | tail -n 1)
rm -f "$log"
[ -n "$summary" ] || summary="0 successes / 0 failures / 1 errors"
if [ "$status" -ne 0 ]; then
  set -- $summary
  echo "busted: $1 passed, $(( $4 + $7 )) failed"
  exit "$status"
fi
for rockspec in luv-promise-scm-1.rockspec luv-promise-0.1.0-1.rockspec; do
echo "== luarocks make $rockspec into a fresh tree"
luarocks lint "$rockspec"
tree=$(mktemp -d)
luarocks --lua-version=5.4 --tree "$tree" make --deps-mode=none "$rockspec" >/dev/null
LUA_PATH="$tree/share/lua/5.4/?.lua;$tree/share/lua/5.4/?/init.lua;;" \
LUA_CPATH="$tree/lib/lua/5.4/?.so;;" \
  lua5.4 -e 'local P = require("promise"); assert(P.resolve(42):wait() == 42); print("rock ok")'
ls "$tree"/lib/luarocks/rocks-5.4/luv-promise/*/types/promise.lua >/dev/null  # the LuaCATS types
rm -rf "$tree"
done
echo "== valgrind"
make -s valgrind
echo "== fuzz (about a minute)"
make -s fuzz
echo "== out of memory"; make -s oom
echo "== lint"
make -s lint
echo "all checks passed"
# the closing line CI reads: tests passed and failed
set -- $summary
echo "busted: $1 passed, $(( $4 + $7 )) failed"
