#!/bin/sh
# Regenerates spec/ordering/*.expected: runs every spec/ordering/*.js with node
# (v20, the reference) and stores what it printed, one log entry per line.
# Usage: sh spec/ordering/gen.sh   (from anywhere)
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null 2>&1 || { echo "gen.sh: node not found" >&2; exit 1; }
version=$(node --version)
case "$version" in
  v20.*) ;;
  *) echo "gen.sh: warning: expected node v20, found $version" >&2 ;;
esac
count=0
for js in "$dir"/*.js; do
  expected="${js%.js}.expected"
  tmp="$expected.tmp"
  if ! node "$js" >"$tmp"; then
    rm -f "$tmp"
    echo "gen.sh: $js failed" >&2
    exit 1
  fi
  mv "$tmp" "$expected"
  count=$((count + 1))
done
echo "gen.sh: wrote $count .expected files with node $version"
